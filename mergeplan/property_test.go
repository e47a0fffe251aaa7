package mergeplan

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// randomFiles returns a random file set: flushed and base files with random
// key ranges over a small alphabet (so they overlap), deletions, sizes and
// some keyless files.
func randomFiles(rng *rand.Rand) []File {
	n := rng.IntN(40)
	files := make([]File, n)
	for i := range files {
		rows := int64(1 + rng.IntN(1000))
		f := File{
			Path:       fmt.Sprintf("f%03d", i),
			Rows:       rows,
			Bytes:      rows * int64(1+rng.IntN(100)),
			Generation: int64(i),
			Kind:       Flushed,
		}
		switch rng.IntN(10) {
		case 0:
			f.Deleted = rows
		case 1, 2, 3:
			f.Deleted = rng.Int64N(rows)
		}
		if rng.IntN(5) == 0 {
			f.Kind = Base
		}
		if rng.IntN(10) != 0 {
			a, b := rng.IntN(100), rng.IntN(100)
			a, b = min(a, b), max(a, b)
			f.Keys = &Range{Min: Key(fmt.Sprintf("k%02d", a)), Max: Key(fmt.Sprintf("k%02d", b))}
		}
		files[i] = f
	}
	return files
}

func liveRows(files []File) int64 {
	var n int64
	for _, f := range files {
		n += f.Live()
	}
	return n
}

// TestMergeProperties: for random file sets, applying the planned merges
// never raises the probe depth, preserves the live rows, leaves no file with
// no live rows, and reaches the depth limit when the cap does not bind and
// only flushed files overlap; merges never share inputs; plans are
// deterministic and independent of the files' order.
func TestMergeProperties(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for iter := range 2000 {
		files := randomFiles(rng)
		opts := MergeOptions{
			MaxProbeDepth: 1 + rng.IntN(5),
			MaxInputBytes: []int64{0, 5000, 50000}[rng.IntN(3)],
		}
		merges := PlanMerges(files, opts)
		if again := PlanMerges(files, opts); !reflect.DeepEqual(merges, again) {
			t.Fatalf("iteration %d: two plans of one input differ", iter)
		}
		shuffled := append([]File(nil), files...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if other := PlanMerges(shuffled, opts); !reflect.DeepEqual(overlapOnly(merges), overlapOnly(other)) {
			t.Fatalf("iteration %d: the overlap merges depend on the files' order", iter)
		}
		seen := map[string]bool{}
		for _, m := range merges {
			for _, p := range m.Inputs {
				if seen[p] {
					t.Fatalf("iteration %d: %s is the input of two merges", iter, p)
				}
				seen[p] = true
			}
			if m.InputBytes > opts.withDefaults().MaxInputBytes {
				t.Fatalf("iteration %d: a merge reads %d bytes, cap %d", iter, m.InputBytes, opts.MaxInputBytes)
			}
		}
		after := Apply(files, merges)
		if before, got := ProbeDepth(files), ProbeDepth(after); got > before {
			t.Fatalf("iteration %d: probe depth %d -> %d", iter, before, got)
		}
		if liveRows(after) != liveRows(files) {
			t.Fatalf("iteration %d: live rows %d -> %d", iter, liveRows(files), liveRows(after))
		}
		for _, f := range after {
			if f.Live() == 0 {
				t.Fatalf("iteration %d: %s has no live rows after the plan", iter, f.Path)
			}
		}
		if opts.MaxInputBytes == 0 {
			// Without a binding cap, only base files can keep the
			// depth above the limit: the flushed ones alone
			// reach it.
			var flushed []File
			for _, f := range after {
				if f.Kind == Flushed {
					flushed = append(flushed, f)
				}
			}
			if d := ProbeDepth(flushed); d > opts.MaxProbeDepth && ProbeDepth(after) > opts.MaxProbeDepth {
				t.Fatalf("iteration %d: flushed files still %d deep, limit %d", iter, d, opts.MaxProbeDepth)
			}
		}
	}
}

func overlapOnly(ms []Merge) []Merge {
	var out []Merge
	for _, m := range ms {
		if m.Reason == ReasonOverlap {
			out = append(out, m)
		}
	}
	return out
}

// TestScanProperties: every live file in range is read exactly once (whole or
// as consecutive row-group ranges covering it), in input order, and the plan
// is deterministic.
func TestScanProperties(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for iter := range 1000 {
		files := randomFiles(rng)
		for i := range files {
			if rng.IntN(3) == 0 {
				var left = files[i].Rows
				for left > 0 {
					r := min(left, int64(1+rng.IntN(300)))
					files[i].RowGroups = append(files[i].RowGroups, RowGroup{Rows: r, Bytes: r * 10})
					left -= r
				}
			}
		}
		opts := ScanOptions{
			Parallelism:          1 + rng.IntN(8),
			TargetPartitionBytes: int64(1 + rng.IntN(20000)),
			FileOverhead:         int64(rng.IntN(200)) - 10,
		}
		if rng.IntN(2) == 0 {
			opts.KeyRange = &Range{Min: Key(fmt.Sprintf("k%02d", rng.IntN(100))), NoMax: rng.IntN(2) == 0}
			opts.KeyRange.Max = Key(fmt.Sprintf("k%02d", rng.IntN(100)))
		}
		plan := PlanScan(files, opts)
		if again := PlanScan(files, opts); !reflect.DeepEqual(plan, again) {
			t.Fatalf("iteration %d: two plans differ", iter)
		}
		var want []string
		for _, f := range files {
			if f.Live() > 0 && (opts.KeyRange == nil || f.Keys == nil || f.Keys.intersects(opts.KeyRange)) {
				want = append(want, f.Path)
			}
		}
		var got []string
		nextRG := map[string]int{}
		for _, p := range plan.Partitions {
			if len(p.Parts) == 0 {
				t.Fatalf("iteration %d: empty partition", iter)
			}
			for _, pt := range p.Parts {
				if pt.Whole() || pt.RowGroupStart == 0 {
					got = append(got, pt.Path)
				}
				if !pt.Whole() {
					if pt.RowGroupStart != nextRG[pt.Path] {
						t.Fatalf("iteration %d: %s row groups from %d, want %d", iter, pt.Path, pt.RowGroupStart, nextRG[pt.Path])
					}
					nextRG[pt.Path] = pt.RowGroupEnd
				}
			}
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("iteration %d: read %v, want %v", iter, got, want)
		}
		for _, f := range files {
			if n, ok := nextRG[f.Path]; ok && n != len(f.RowGroups) {
				t.Fatalf("iteration %d: %s read up to row group %d of %d", iter, f.Path, n, len(f.RowGroups))
			}
		}
	}
}
