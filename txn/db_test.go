package txn

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/mem"
)

func testOptions() Options {
	return Options{HeadRefresh: -1, SyncCheckpoints: true, CheckpointInterval: 5}
}

func mustCreate(t testing.TB, st store.Store, opts Options) *DB {
	t.Helper()
	db, err := Create(context.Background(), st, "db", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustHead(t testing.TB, db *DB, branch string) *Snapshot {
	t.Helper()
	h, err := db.Head(context.Background(), branch)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustCommit(t testing.TB, db *DB, read *Snapshot, c *Commit) *Snapshot {
	t.Helper()
	s, err := db.Commit(context.Background(), read, c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func createTable(id, name string) *Commit {
	return &Commit{Operation: "CREATE TABLE", CreatesVersion: true, Tables: []Table{{ID: id, Name: name}}}
}

func appendFile(table, path string, rows int64) *Commit {
	return &Commit{Operation: "WRITE", Adds: []Add{{Table: table, Path: path, Kind: KindFlushed, Rows: rows, Bytes: rows * 10}}}
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	db := mustCreate(t, st, testOptions())
	if _, err := Create(ctx, st, "db", testOptions()); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	h := mustHead(t, db, "main")
	if h.Entry() != 0 || h.Version() != 0 {
		t.Fatalf("new main at entry %d version %d", h.Entry(), h.Version())
	}
	h = mustCommit(t, db, h, createTable("t1", "stock"))
	for i := range 7 {
		h = mustCommit(t, db, h, appendFile("t1", fmt.Sprintf("data/t1/%d.parquet", i), 10))
	}
	h = mustCommit(t, db, h, &Commit{Operation: "COMMIT", CreatesVersion: true, Message: "load"})
	if h.Entry() != 9 || h.Version() != 2 {
		t.Fatalf("main at entry %d version %d, want 9 and 2", h.Entry(), h.Version())
	}
	if n := h.State.Table("t1").FileCount(); n != 7 {
		t.Fatalf("%d files", n)
	}

	dev, err := db.CreateBranch(ctx, "dev", "main", 2)
	if err != nil {
		t.Fatal(err)
	}
	d := mustHead(t, db, "dev")
	if d.Version() != 2 || d.Entry() != 0 || d.State.Table("t1").FileCount() != 7 {
		t.Fatalf("dev starts at version %d entry %d", d.Version(), d.Entry())
	}
	d = mustCommit(t, db, d, &Commit{Operation: "DELETE", CreatesVersion: true,
		Removes: []Remove{{Table: "t1", Path: "data/t1/0.parquet"}}})
	if d.Version() != 3 {
		t.Fatalf("dev's first own version is %d", d.Version())
	}
	if _, err := db.CreateTag(ctx, "v1", "main", 1); err != nil {
		t.Fatal(err)
	}

	// Reopen: everything comes back from checkpoints and entries.
	db2, err := Open(ctx, st, "db", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	for _, tc := range []struct {
		session, ref string
		files        int
		version      int64
	}{
		{"main", "1", 0, 1},
		{"main", "2", 7, 2},
		{"main", "main", 7, 2},
		{"main", "dev", 6, 3},
		{"dev", "2", 7, 2},
		{"dev", "3", 6, 3},
		{"main", "dev@2", 7, 2},
		{"main", "v1", 0, 1},
	} {
		ref, err := ParseRef(tc.ref, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		s, err := db2.Resolve(ctx, tc.session, ref)
		if err != nil {
			t.Fatalf("%s AS OF %s: %v", tc.session, tc.ref, err)
		}
		if s.Version() != tc.version || s.State.Table("t1").FileCount() != tc.files {
			t.Fatalf("%s AS OF %s: version %d, %d files; want %d, %d", tc.session, tc.ref,
				s.Version(), s.State.Table("t1").FileCount(), tc.version, tc.files)
		}
	}
	for _, ref := range []string{"4", "nope", "dev@9", "main@3"} {
		r, _ := ParseRef(ref, time.UTC)
		if _, err := db2.Resolve(ctx, "main", r); !errors.Is(err, ErrNotFound) {
			t.Fatalf("AS OF %s: %v", ref, err)
		}
	}
	_ = dev
}
