package memwal

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lakesql/lakesql/mergeplan"
	"github.com/lakesql/lakesql/store/mem"
	"github.com/lakesql/lakesql/txn"
)

// TestMergeRuns: rows that come as sorted runs are merged into sorted
// order, however many runs (more than 16 are sorted outright).
func TestMergeRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 300 {
		var rows []int
		for range rng.IntN(40) {
			run := make([]int, rng.IntN(20))
			for i := range run {
				run[i] = rng.IntN(1000)
			}
			slices.Sort(run)
			rows = append(rows, run...)
		}
		want := slices.Sorted(slices.Values(rows))
		got := mergeRuns(slices.Clone(rows), func(a, b *int) int { return cmp.Compare(*a, *b) })
		if !slices.Equal(got, want) {
			t.Fatalf("iteration %d: %v", iter, got)
		}
	}
}

// TestBackgroundMerge: size-triggered flushes of overlapping keys are
// followed by the merge job, which keeps the probe depth of the table's
// files bounded without anyone calling Compact; every row stays, and with
// NoBackgroundMerge the files pile up.
func TestBackgroundMerge(t *testing.T) {
	for _, noMerge := range []bool{false, true} {
		ctx := context.Background()
		br, err := Open(ctx, newDB(t, mem.New()), "main", Options{FlushBytes: 64 << 10, Logger: quiet(), NoBackgroundMerge: noMerge})
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]int64{}
		rng := rand.New(rand.NewPCG(3, 4))
		for v := range int64(120) {
			ids := make([]int64, 200)
			for i := range ids {
				ids[i] = rng.Int64N(5000)
				want[ids[i]] = v
			}
			if err := benchPut(ctx, br, ids, v); err != nil {
				t.Fatal(err)
			}
		}
		// Wait for the background flushes and merges to finish.
		br.bg.Wait()
		if err := br.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		var files []mergeplan.File
		ts := br.Head().State.Table("t1")
		ts.Files(func(a *txn.Add) bool {
			files = append(files, planFile(a, &ts.Meta, br.tableInfos()["t1"].enc))
			return true
		})
		depth := mergeplan.ProbeDepth(files)
		t.Logf("NoBackgroundMerge=%v: %d files, probe depth %d", noMerge, len(files), depth)
		if noMerge != (depth > mergeplan.DefaultMaxProbeDepth+1) {
			t.Fatalf("NoBackgroundMerge=%v: probe depth %d over %d files", noMerge, depth, len(files))
		}
		s, err := br.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		got := scanAll(t, s)
		s.Close()
		if len(got) != len(want) {
			t.Fatalf("%d rows, want %d", len(got), len(want))
		}
		for id, v := range want {
			if got[id].v != v {
				t.Fatalf("row %d: v %d, want %d", id, got[id].v, v)
			}
		}
		if err := br.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMergeDuringFlush: a merge is written while a flush commits rows that
// supersede rows of its inputs, and deletes others: the merge commits
// after it with a deletion vector for those rows in its output, so every
// key reads once, with its newest value, before and after a reopen. A
// truncate during a merge drops the merge.
func TestMergeDuringFlush(t *testing.T) {
	ctx := context.Background()
	for _, truncate := range []bool{false, true} {
		written, resume := make(chan struct{}), make(chan struct{})
		st := mem.New()
		db := newDB(t, st)
		opts := Options{Logger: quiet(), NoBackgroundMerge: true, Hook: func(p string) {
			if p == "merge-written" {
				close(written)
				<-resume
			}
		}}
		br, err := Open(ctx, db, "main", opts)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]int64{}
		put := func(ids []int64, v int64) {
			t.Helper()
			if err := benchPut(ctx, br, ids, v); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				want[id] = v
			}
		}
		var all, even []int64
		for id := range int64(1000) {
			all = append(all, id)
			if id%2 == 0 {
				even = append(even, id)
			}
		}
		put(all, 0)
		if err := br.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		put(even, 1)
		if err := br.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		merged := make(chan error, 1)
		go func() {
			n, err := br.Compact(ctx, "t1", mergeplan.MergeOptions{MaxProbeDepth: 1})
			if err == nil && n != map[bool]int{false: 1, true: 0}[truncate] {
				err = fmt.Errorf("%d merges committed", n)
			}
			merged <- err
		}()
		<-written
		if truncate {
			if _, err := br.CommitDDL(ctx, &txn.Commit{Operation: "TRUNCATE", Truncates: []txn.Truncate{{ID: "t1"}}}); err != nil {
				t.Fatal(err)
			}
			clear(want)
		} else {
			put(all[:100], 2) // rows of both inputs
			tx, err := br.Begin()
			if err != nil {
				t.Fatal(err)
			}
			for id := int64(100); id < 110; id++ {
				key, err := tx.Key("t1", id)
				if err != nil {
					t.Fatal(err)
				}
				if err := tx.Delete("t1", key); err != nil {
					t.Fatal(err)
				}
				delete(want, id)
			}
			if _, err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := br.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		close(resume)
		if err := <-merged; err != nil {
			t.Fatalf("truncate=%v: %v", truncate, err)
		}
		check := func(when string) {
			t.Helper()
			s, err := br.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			got := scanAll(t, s) // fails on a key read twice
			s.Close()
			if len(got) != len(want) {
				t.Fatalf("truncate=%v, %s: %d rows, want %d", truncate, when, len(got), len(want))
			}
			for id, v := range want {
				if got[id].v != v {
					t.Fatalf("truncate=%v, %s: row %d has v %d, want %d", truncate, when, id, got[id].v, v)
				}
			}
		}
		check("after the merge")
		if !truncate {
			var dvRows int64
			br.Head().State.Table("t1").Files(func(a *txn.Add) bool {
				if a.Rows == 1000 && a.DV != nil {
					dvRows = a.DV.Cardinality
				}
				return true
			})
			if dvRows != 110 {
				t.Fatalf("the merge's output hides %d rows, want the 110 that the flush superseded", dvRows)
			}
		}
		if err := br.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if br, err = Open(ctx, db, "main", Options{Logger: quiet()}); err != nil {
			t.Fatal(err)
		}
		check("after a reopen")
		if err := br.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
