package txn

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/mem"
)

const day = 24 * time.Hour

// testClock is a clock for tests: it moves by tick every time it is read
// (zero: only when advanced). Peek reads it without moving it, for a store
// that shares the clock.
type testClock struct {
	mu   sync.Mutex
	t    time.Time
	tick time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.tick)
	return c.t
}

func (c *testClock) Peek() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type vacuumEnv struct {
	t     *testing.T
	ctx   context.Context
	clock *testClock
	st    *mem.Store
	db    *DB
}

func newVacuumEnv(t *testing.T) *vacuumEnv {
	clock := &testClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	st := mem.New()
	st.SetClock(clock.Now)
	db := mustCreate(t, st, Options{HeadRefresh: -1, SyncCheckpoints: true, CheckpointInterval: -1, Now: clock.Now})
	return &vacuumEnv{t: t, ctx: context.Background(), clock: clock, st: st, db: db}
}

// file writes a data file into the store, as a writer does before it
// commits, and returns an Add for it.
func (e *vacuumEnv) file(name string) Add {
	e.t.Helper()
	if _, err := store.PutBytes(e.ctx, e.st, "db/"+name, []byte("parquet:"+name)); err != nil {
		e.t.Fatal(err)
	}
	return Add{Table: "t1", Path: name, Kind: KindFlushed, Rows: 1, Bytes: int64(len(name) + 8)}
}

func (e *vacuumEnv) commit(branch string, c *Commit) *Snapshot {
	e.t.Helper()
	return mustCommit(e.t, e.db, mustHead(e.t, e.db, branch), c)
}

func (e *vacuumEnv) exists(name string) bool {
	_, err := e.st.Stat(e.ctx, "db/"+name)
	return err == nil
}

func (e *vacuumEnv) vacuum(o VacuumOptions) *VacuumReport {
	e.t.Helper()
	rep, err := e.db.Vacuum(e.ctx, o)
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

func deletedPaths(rep *VacuumReport) []string {
	var out []string
	for _, f := range rep.Files {
		out = append(out, strings.TrimPrefix(f.Path, "db/")+" ("+f.Reason+")")
	}
	slices.Sort(out)
	return out
}

// TestVacuum follows a branch through ten days and vacuums with a
// retention of a week (the cutoff is day 3).
func TestVacuum(t *testing.T) {
	e := newVacuumEnv(t)
	e.commit("main", createTable("t1", "t")) // v1, day 0
	f1, f2 := e.file("data/t1/f1.parquet"), e.file("data/t1/f2.parquet")
	e.file("data/t1/orphan-old.parquet")                                                     // written, never committed
	e.commit("main", &Commit{Operation: "WRITE", CreatesVersion: true, Adds: []Add{f1, f2}}) // v2
	e.clock.Advance(day)
	e.commit("main", &Commit{Operation: "DELETE", CreatesVersion: true, // v3, day 1
		Removes: []Remove{{Table: "t1", Path: f1.Path}}})
	e.clock.Advance(day)
	m1 := e.file("data/t1/m1.parquet")
	e.commit("main", &Commit{Operation: "MERGE", Preserve: true, // day 2, no version
		Removes: []Remove{{Table: "t1", Path: f2.Path}}, Adds: []Add{m1}})
	e.clock.Advance(7 * day)
	e.file("data/t1/orphan-new.parquet") // day 9: maybe a commit in progress
	f3 := e.file("data/t1/f3.parquet")
	e.commit("main", &Commit{Operation: "WRITE", CreatesVersion: true, Adds: []Add{f3}}) // v4, day 9
	e.clock.Advance(day)                                                                 // day 10

	dry := e.vacuum(VacuumOptions{Retention: 7 * day, DryRun: true})
	want := []string{"data/t1/f1.parquet (removed)", "data/t1/orphan-old.parquet (unreferenced)"}
	if got := deletedPaths(dry); !slices.Equal(got, want) {
		t.Fatalf("dry run would delete %q, want %q", got, want)
	}
	if !e.exists(f1.Path) || len(dry.LogObjects) == 0 {
		t.Fatalf("dry run deleted a file, or plans no log deletes (%d)", len(dry.LogObjects))
	}
	if dry.Bytes != int64(len("parquet:data/t1/f1.parquet")+len("parquet:data/t1/orphan-old.parquet")) {
		t.Fatalf("dry run counts %d bytes", dry.Bytes)
	}

	rep := e.vacuum(VacuumOptions{Retention: 7 * day})
	if got := deletedPaths(rep); !slices.Equal(got, want) {
		t.Fatalf("vacuum deleted %q, want %q", got, want)
	}
	if e.exists(f1.Path) || !e.exists(f2.Path) || !e.exists(m1.Path) || !e.exists("data/t1/orphan-new.parquet") {
		t.Fatal("vacuum deleted the wrong files")
	}
	// v3 (day 1) is the newest version at the cutoff: retained, with f2
	// which the later merge removed. v1 and v2 are gone.
	db2, err := Open(e.ctx, e.st, "db", Options{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	s, err := db2.AtVersion(e.ctx, "main", 3)
	if err != nil {
		t.Fatalf("AS OF 3 after vacuum: %v", err)
	}
	if s.State.Table("t1").File(f2.Path) == nil {
		t.Fatal("version 3 lost f2")
	}
	if _, err := db2.AtVersion(e.ctx, "main", 2); !errors.Is(err, ErrRetention) {
		t.Fatalf("AS OF 2 after vacuum: %v, want ErrRetention", err)
	}
	h := mustHead(t, db2, "main")
	if h.Version() != 4 || h.State.Table("t1").FileCount() != 2 {
		t.Fatalf("head after vacuum: version %d, %d files", h.Version(), h.State.Table("t1").FileCount())
	}
	// The log still lists every version, and a second vacuum finds nothing.
	if len(h.State.Versions) != 4 {
		t.Fatalf("%d versions listed", len(h.State.Versions))
	}
	if again := e.vacuum(VacuumOptions{Retention: 7 * day}); len(again.Files) != 0 || len(again.LogObjects) != 0 {
		t.Fatalf("second vacuum deletes %v and %v", deletedPaths(again), again.LogObjects)
	}
}

// TestVacuumKeepsRefs: tags, forks and deleted branches.
func TestVacuumKeepsRefs(t *testing.T) {
	e := newVacuumEnv(t)
	e.commit("main", createTable("t1", "t")) // v1
	f1 := e.file("data/t1/f1.parquet")
	e.commit("main", &Commit{Operation: "WRITE", CreatesVersion: true, Adds: []Add{f1}}) // v2
	if _, err := e.db.CreateTag(e.ctx, "release", "main", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateBranch(e.ctx, "dev", "main", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateBranch(e.ctx, "gone", "main", 2); err != nil {
		t.Fatal(err)
	}
	g1 := e.file("data/t1/g1.parquet")
	e.commit("gone", &Commit{Operation: "WRITE", CreatesVersion: true, Adds: []Add{g1}})
	if _, err := store.PutBytes(e.ctx, e.st, "db/_lakesql_wal/"+mustHead(t, e.db, "gone").Branch.ID+"/1/00000001.wal", []byte("wal")); err != nil {
		t.Fatal(err)
	}
	if err := e.db.DeleteBranch(e.ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(day)
	e.commit("main", &Commit{Operation: "DELETE", CreatesVersion: true, Removes: []Remove{{Table: "t1", Path: f1.Path}}}) // v3
	e.clock.Advance(day)
	e.commit("main", &Commit{Operation: "COMMIT", CreatesVersion: true, Tables: []Table{{ID: "t1", Name: "renamed"}}}) // v4
	e.clock.Advance(10 * day)

	rep := e.vacuum(VacuumOptions{Retention: 7 * day})
	got := deletedPaths(rep)
	if len(got) != 2 || got[1] != "data/t1/g1.parquet (unreferenced)" ||
		!strings.HasPrefix(got[0], "_lakesql_wal/") || !strings.HasSuffix(got[0], "(deleted branch WAL)") {
		t.Fatalf("vacuum deleted %q", got)
	}
	if !e.exists(f1.Path) {
		t.Fatal("the tagged version lost its file")
	}
	for _, ref := range []string{"release", "dev", "main@4"} {
		r, _ := ParseRef(ref, time.UTC)
		if _, err := e.db.Resolve(e.ctx, "main", r); err != nil {
			t.Fatalf("AS OF %s after vacuum: %v", ref, err)
		}
	}
	// The log is kept from the oldest retained entry (the tag's and dev's
	// fork, entry 2): version 3 stays readable, version 1 does not.
	if _, err := e.db.Resolve(e.ctx, "main", Ref{Kind: RefVersion, Version: 3}); err != nil {
		t.Fatalf("AS OF 3 after vacuum: %v", err)
	}
	if _, err := e.db.Resolve(e.ctx, "main", Ref{Kind: RefVersion, Version: 1}); !errors.Is(err, ErrRetention) {
		t.Fatalf("AS OF 1 after vacuum: %v", err)
	}
	// main's entries 1 and 2 and the deleted branch's whole log go.
	if len(rep.LogObjects) != 3 {
		t.Fatalf("vacuum deleted log objects %q", rep.LogObjects)
	}
	for _, name := range rep.LogObjects {
		if strings.Contains(name, "/_meta/") {
			t.Fatalf("vacuum deletes the _meta log: %s", name)
		}
	}
}

// TestVacuumRules: short retentions need force; refs only at retained
// versions; writers refuse files older than half the retention.
func TestVacuumRules(t *testing.T) {
	e := newVacuumEnv(t)
	if _, err := e.db.Vacuum(e.ctx, VacuumOptions{Retention: 30 * time.Minute}); !errors.Is(err, ErrRetention) {
		t.Fatalf("vacuum with a 30 minute retention: %v", err)
	}
	if _, err := e.db.Vacuum(e.ctx, VacuumOptions{Retention: 30 * time.Minute, Force: true}); err != nil {
		t.Fatalf("forced vacuum: %v", err)
	}
	e.commit("main", createTable("t1", "t")) // v1
	e.clock.Advance(day)
	e.commit("main", &Commit{Operation: "COMMIT", CreatesVersion: true, Tables: []Table{{ID: "t1", Name: "u"}}}) // v2
	e.clock.Advance(day)
	e.commit("main", &Commit{Operation: "COMMIT", CreatesVersion: true, Tables: []Table{{ID: "t1", Name: "v"}}}) // v3
	e.clock.Advance(8 * day)
	e.commit("main", &Commit{Operation: "COMMIT", CreatesVersion: true, Tables: []Table{{ID: "t1", Name: "w"}}}) // v4
	if _, err := e.db.CreateTag(e.ctx, "old", "main", 1); !errors.Is(err, ErrRetention) {
		t.Fatalf("tag at an expired version: %v", err)
	}
	if _, err := e.db.CreateBranch(e.ctx, "old", "main", 2); !errors.Is(err, ErrRetention) {
		t.Fatalf("branch at an expired version: %v", err)
	}
	if _, err := e.db.CreateTag(e.ctx, "cut", "main", 3); err != nil {
		t.Fatalf("tag at the newest version before the cutoff: %v", err)
	}
	f := e.file("data/t1/slow.parquet")
	written := e.clock.Now()
	e.clock.Advance(4 * day)
	_, err := e.db.Commit(e.ctx, mustHead(t, e.db, "main"), &Commit{Operation: "WRITE", Adds: []Add{f}, OldestFile: written})
	if !errors.Is(err, ErrRetention) {
		t.Fatalf("commit of a file older than half the retention: %v", err)
	}
}

// TestVacuumKeepsExternalFiles: a virtual file removed long ago is never
// among what vacuum deletes (it is not the database's), while managed
// files removed with it are.
func TestVacuumKeepsExternalFiles(t *testing.T) {
	e := newVacuumEnv(t)
	e.commit("main", createTable("t1", "t"))
	ext := virtualAdd("t1", "s3://other/sales/a.parquet", "archive", 3)
	managed := e.file("data/t1/m.parquet")
	e.commit("main", &Commit{Operation: "ADD FILES", CreatesVersion: true, Adds: []Add{ext, managed}})
	e.clock.Advance(day)
	e.commit("main", &Commit{Operation: "TRUNCATE", CreatesVersion: true,
		Removes: []Remove{{Table: "t1", Path: ext.Path}, {Table: "t1", Path: managed.Path}}})
	e.clock.Advance(30 * day)
	e.commit("main", &Commit{Operation: "WRITE", CreatesVersion: true})
	rep := e.vacuum(VacuumOptions{Retention: 7 * day})
	if got, want := deletedPaths(rep), []string{"data/t1/m.parquet (removed)"}; !slices.Equal(got, want) {
		t.Fatalf("vacuum deleted %q, want %q", got, want)
	}
	files, err := e.db.ExternalFiles(e.ctx)
	if err != nil || len(files) != 0 {
		t.Fatalf("no retained version reads the external file any more: %v %+v", err, files)
	}
}
