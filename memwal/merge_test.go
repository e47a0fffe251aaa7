package memwal

import (
	"cmp"
	"context"
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
		// Wait for the background flush and merge to finish: a Flush
		// takes the commit mutex after them.
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
