package txn

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store/mem"
)

// TestVersions runs testdata/versions: user versions across branches, tags
// and the resolution of refs, through a DB on a mem store with a clock that
// ticks one second per reading (from 2026-01-01 00:00:00 UTC).
//
//	new                                    a fresh database
//	commit branch=B [version] [op=..] [msg=..]   entry actions as in the replay DSL
//	branch name=N from=B version=V
//	delete-branch name=N | tag name=N branch=B version=V | delete-tag name=N
//	resolve session=B      with the ref as input
//	log branch=B                            the lineage's versions
func TestVersions(t *testing.T) {
	ctx := context.Background()
	var db *DB
	datadriven.RunTest(t, "testdata/versions", func(t *testing.T, d *datadriven.TestData) string {
		arg := func(key string) string {
			var v string
			d.ScanArgs(t, key, &v)
			return v
		}
		branchName := func(id string) string {
			m, err := db.Meta(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if b := m.BranchByID(id); b != nil {
				return b.Name
			}
			return id
		}
		describe := func(s *Snapshot) string {
			var tables []string
			for _, tb := range s.State.Tables() {
				tables = append(tables, fmt.Sprintf("%s(%d files)", tb.Meta.Name, tb.FileCount()))
			}
			pending := ""
			if s.State.Pending {
				pending = " (changes pending)"
			}
			return fmt.Sprintf("%s entry %d, version %d%s: %s\n", s.Branch.Name, s.Entry(), s.Version(), pending, strings.Join(tables, " "))
		}
		errOut := func(err error) string { return fmt.Sprintf("error: %v\n", err) }
		switch d.Cmd {
		case "new":
			clock := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), tick: time.Second}
			st := mem.New()
			st.SetClock(clock.Peek)
			var err error
			db, err = Create(ctx, st, "db", Options{HeadRefresh: -1, SyncCheckpoints: true, CheckpointInterval: 3, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return ""
		case "commit":
			br := arg("branch")
			head, err := db.Head(ctx, br)
			if err != nil {
				return errOut(err)
			}
			words := []string{"entry"}
			for _, a := range d.CmdArgs {
				words = append(words, a.String())
			}
			e, vals, flags := parseEntry(t, dslBlock{head: words, lines: parseLines(d.Input)}, 0)
			c := commitFromEntry(e, flags)
			c.Message = vals["msg"]
			s, err := db.Commit(ctx, head, c)
			if err != nil {
				return errOut(err)
			}
			return describe(s)
		case "branch":
			var v int64
			d.ScanArgs(t, "version", &v)
			b, err := db.CreateBranch(ctx, arg("name"), arg("from"), v)
			if err != nil {
				return errOut(err)
			}
			return fmt.Sprintf("%s: from %s entry %d, version %d\n", b.Name, branchName(b.FromID), b.FromEntry, b.FromVersion)
		case "delete-branch":
			if err := db.DeleteBranch(ctx, arg("name")); err != nil {
				return errOut(err)
			}
			return "ok\n"
		case "tag":
			var v int64
			d.ScanArgs(t, "version", &v)
			tg, err := db.CreateTag(ctx, arg("name"), arg("branch"), v)
			if err != nil {
				return errOut(err)
			}
			return fmt.Sprintf("%s: %s version %d\n", tg.Name, branchName(tg.BranchID), tg.Version)
		case "delete-tag":
			if err := db.DeleteTag(ctx, arg("name")); err != nil {
				return errOut(err)
			}
			return "ok\n"
		case "resolve":
			ref, err := ParseRef(strings.TrimSpace(d.Input), time.UTC)
			if err != nil {
				return errOut(err)
			}
			s, err := db.Resolve(ctx, arg("session"), ref)
			if err != nil {
				return errOut(err)
			}
			return describe(s)
		case "log":
			h, err := db.Head(ctx, arg("branch"))
			if err != nil {
				return errOut(err)
			}
			var b strings.Builder
			for _, v := range h.State.Versions {
				fmt.Fprintf(&b, "v%d %s entry %d %s %s %q\n", v.Version, branchName(v.BranchID), v.Entry,
					time.UnixMilli(v.Timestamp).UTC().Format("15:04:05"), v.Operation, v.Message)
			}
			return b.String()
		default:
			t.Fatalf("unknown command %q", d.Cmd)
			return ""
		}
	})
}

func parseLines(input string) [][]string {
	var out [][]string
	for _, ln := range strings.Split(input, "\n") {
		if w := strings.Fields(ln); len(w) > 0 {
			out = append(out, w)
		}
	}
	return out
}

// TestAmendsVersion: a later entry of one statement joins the version the
// statement created; the version then reads that entry, also after a
// checkpoint, and a branch cannot amend a version it inherited.
func TestAmendsVersion(t *testing.T) {
	ctx := context.Background()
	db := mustCreate(t, mem.New(), testOptions())
	h := mustCommit(t, db, mustHead(t, db, "main"), createTable("t1", "t"))
	idx := Table{ID: "t1", Name: "t", SchemaID: 2, Indexes: []base.Index{{Name: "i", Columns: []int{1}}}}
	h = mustCommit(t, db, h, &Commit{Operation: "CREATE INDEX", AmendsVersion: true, Tables: []Table{idx}})
	if h.Version() != 1 || h.State.Pending {
		t.Fatalf("after the amend: version %d, pending %v", h.Version(), h.State.Pending)
	}
	v1, err := db.AtVersion(ctx, "main", 1)
	if err != nil {
		t.Fatal(err)
	}
	if ts := v1.State.Table("t1"); ts == nil || len(ts.Meta.Indexes) != 1 || v1.Entry() != h.Entry() {
		t.Fatalf("version 1 reads entry %d (head %d) without the amended index", v1.Entry(), h.Entry())
	}
	if _, err := db.Checkpoint(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(ctx, db.st, "db", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if v1, err = db2.AtVersion(ctx, "main", 1); err != nil || len(v1.State.Table("t1").Meta.Indexes) != 1 {
		t.Fatalf("after a checkpoint: %v", err)
	}
	if _, err := db.CreateBranch(ctx, "dev", "main", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(ctx, mustHead(t, db, "dev"), &Commit{Operation: "X", AmendsVersion: true, Tables: []Table{idx}}); err == nil {
		t.Fatal("a branch amended a version it inherited")
	}
}
