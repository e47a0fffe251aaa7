package parquetio

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/store/mem"
	"github.com/parquet-go/parquet-go/format"
)

// TestDeletedRowsRuns checks reads with deleted (and masked) rows, which
// without a predicate decode every column run by run, skipping the deleted
// rows, against the model: every type, with NULLs and strings, small pages,
// deletions at row group and page boundaries, first and last rows, whole
// row groups, everything; with a predicate too (the selection path).
func TestDeletedRowsRuns(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	ctx := context.Background()
	s := allTypesSchema()
	const n, groupRows = 5000, 1000
	rows := allTypesRows(n)
	st := mem.New()
	writeFile(t, st, "d.parquet", s, alloc, rows, 700, WriterOptions{RowGroupRows: groupRows, PageSize: 512, KeyColumns: []int{1}})
	model := modelScalars(t, s, rows)
	cols, _ := tableColumns(s)
	f, err := OpenFile(ctx, st, "d.parquet", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	rnd := rand.New(rand.NewPCG(1, 2))
	random := func(frac float64) *roaring.Bitmap {
		bm := roaring.New()
		for i := range n {
			if rnd.Float64() < frac {
				bm.Add(uint32(i))
			}
		}
		return bm
	}
	boundaries := roaring.New()
	for g := 0; g <= n; g += groupRows {
		if g > 0 {
			boundaries.Add(uint32(g - 1))
		}
		if g < n {
			boundaries.Add(uint32(g))
		}
	}
	blocks := roaring.New()
	for lo := uint64(37); lo < n; lo += 611 {
		blocks.AddRange(lo, lo+150) // across pages and row groups
	}
	wholeGroup := roaring.New()
	wholeGroup.AddRange(groupRows, 2*groupRows)
	all := roaring.New()
	all.AddRange(0, n)
	allButOne := all.Clone()
	allButOne.Remove(2500)
	cases := []struct {
		name          string
		deleted, mask *roaring.Bitmap
	}{
		{"random-8pct", random(0.08), nil},
		{"random-60pct", random(0.6), nil},
		{"random-and-mask", random(0.05), random(0.05)},
		{"group-boundaries", boundaries, nil},
		{"first-last", roaring.BitmapOf(0, n-1), nil},
		{"first-last-mask", nil, roaring.BitmapOf(0, n-1)},
		{"blocks", blocks, nil},
		{"whole-group", wholeGroup, nil},
		{"all", all, nil},
		{"all-but-one", allButOne, nil},
		{"empty", roaring.New(), nil},
	}
	gone := func(bm *roaring.Bitmap, i int) bool { return bm != nil && bm.Contains(uint32(i)) }
	for _, c := range cases {
		for _, withPred := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/pred=%v", c.name, withPred), func(t *testing.T) {
				opts := ReadOptions{Alloc: alloc, Deleted: c.deleted, Mask: c.mask, WithPositions: true}
				keep := func(int) bool { return true }
				if withPred {
					// c2 (INT, with NULLs) IS NOT NULL: most rows, in runs.
					opts.Predicate = IsNotNull(4)
					keep = func(i int) bool { return !model[i][3].null }
				}
				got, stats := readAll(t, f, opts)
				var want []int
				for i := range n {
					if keep(i) && !gone(c.deleted, i) && !gone(c.mask, i) {
						want = append(want, i)
					}
				}
				if len(got) != len(want) {
					t.Fatalf("%d rows, want %d", len(got), len(want))
				}
				if stats.RowsReturned != int64(len(want)) {
					t.Errorf("RowsReturned %d, want %d", stats.RowsReturned, len(want))
				}
				for k, i := range want {
					row := got[k]
					if pos := row[len(row)-1].i; pos != int64(i) {
						t.Fatalf("row %d: position %d, want %d", k, pos, i)
					}
					for j := range cols {
						if !sameScalar(cols[j].class(), row[j], model[i][j]) {
							t.Fatalf("row %d (position %d) column %s (%s): %+v, want %+v", k, i, cols[j].col.Name, cols[j].col.Type, row[j], model[i][j])
						}
					}
				}
			})
		}
	}
}

func TestSubtractBitmapAndRuns(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for iter := range 300 {
		n := 1 + rnd.IntN(300)
		first := int64(rnd.IntN(1000))
		// Random disjoint ranges of [0, n).
		var ranges []rng
		for lo := int64(rnd.IntN(3)); lo < int64(n); {
			hi := min(int64(n), lo+1+int64(rnd.IntN(40)))
			ranges = append(ranges, rng{lo, hi})
			lo = hi + 1 + int64(rnd.IntN(4)) // ranges are never adjacent (union merges them)
		}
		bm := roaring.New()
		for range rnd.IntN(n) {
			bm.Add(uint32(first) + uint32(rnd.IntN(n+10)))
		}
		if iter%7 == 0 {
			bm.AddRange(uint64(first), uint64(first)+uint64(n)) // everything
		}
		var want []bool // per row of [0, n): selected
		want = make([]bool, n)
		for _, r := range ranges {
			for x := r.lo; x < r.hi; x++ {
				want[x] = !bm.Contains(uint32(first + x))
			}
		}
		got := make([]bool, n)
		runs := subtractBitmap(ranges, first, bm)
		for i, r := range runs {
			if r.lo >= r.hi || i > 0 && runs[i-1].hi > r.lo {
				t.Fatalf("iter %d: runs %v not sorted, disjoint and non-empty", iter, runs)
			}
			for x := r.lo; x < r.hi; x++ {
				got[x] = true
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("iter %d: subtractBitmap(%v, %d, %v) = %v", iter, ranges, first, bm, runs)
		}
		// The same selection through a []bool: clearBitmap, countTrue,
		// runsOf.
		var sel []bool
		for _, r := range ranges {
			for x := r.lo; x < r.hi; x++ {
				sel = append(sel, rnd.IntN(4) != 0)
			}
		}
		clearBitmap(sel, ranges, first, bm)
		var wantRuns []rng
		k, count := 0, 0
		for _, r := range ranges {
			for x := r.lo; x < r.hi; x, k = x+1, k+1 {
				if sel[k] != (sel[k] && want[x]) {
					t.Fatalf("iter %d: clearBitmap left row %d selected", iter, x)
				}
				if !sel[k] {
					continue
				}
				count++
				if m := len(wantRuns); m > 0 && wantRuns[m-1].hi == x {
					wantRuns[m-1].hi++
				} else {
					wantRuns = append(wantRuns, rng{x, x + 1})
				}
			}
		}
		if c := countTrue(sel); c != count {
			t.Fatalf("iter %d: countTrue = %d, want %d", iter, c, count)
		}
		if r := runsOf(sel, ranges, len(sel)); !slices.Equal(r, wantRuns) {
			t.Fatalf("iter %d: runsOf = %v, want %v", iter, r, wantRuns)
		}
		if len(wantRuns) > 0 {
			if r := runsOf(sel, ranges, len(wantRuns)-1); r != nil {
				t.Fatalf("iter %d: runsOf over the limit = %v, want nil", iter, r)
			}
		}
	}
}

// TestCmpFloatLoop checks the float comparison loops against cmpFloat's
// order (NaN above every number) for every operator.
func TestCmpFloatLoop(t *testing.T) {
	vals := []float64{math.NaN(), math.Inf(-1), -1, math.Copysign(0, -1), 0, 0.5, 1, math.Inf(1), math.MaxFloat64, math.SmallestNonzeroFloat64}
	for _, op := range []Op{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe} {
		for _, c := range vals[1:] {
			got := make([]bool, len(vals))
			cmpFloatLoop(vals, c, op, got)
			got32 := make([]bool, len(vals))
			v32 := make([]float32, len(vals))
			for i, v := range vals {
				v32[i] = float32(v)
			}
			cmpFloatLoop(v32, float32(c), op, got32)
			for i, x := range vals {
				if want := opHolds(op, cmpFloat(x, c)); got[i] != want {
					t.Errorf("%v %v %v: got %v, want %v", x, op, c, got[i], want)
				}
				if want := opHolds(op, cmpFloat(float64(v32[i]), float64(float32(c)))); got32[i] != want {
					t.Errorf("float32 %v %v %v: got %v, want %v", v32[i], op, float32(c), got32[i], want)
				}
			}
		}
	}
}

// TestKeyPagesAndDelta checks the writer's defaults for a keyed file: the
// first key column (an integer) DELTA_BINARY_PACKED in pages of
// DefaultKeyedPageSize, the other columns in pages of DefaultPageSize.
func TestKeyPagesAndDelta(t *testing.T) {
	ctx := context.Background()
	s := allTypesSchema()
	const n = 20000
	rows := allTypesRows(n)
	st := mem.New()
	writeFile(t, st, "k.parquet", s, memory.DefaultAllocator, rows, 4096, WriterOptions{KeyColumns: []int{1}})
	f, err := OpenFile(ctx, st, "k.parquet", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	md := f.pf.Metadata()
	pages := func(id int) int {
		oi, _ := f.pageIndex(0, f.leaf[id])
		return len(oi.PageLocations)
	}
	key := md.RowGroups[0].Columns[f.leaf[1]].MetaData
	if !slices.Contains(key.Encoding, format.DeltaBinaryPacked) {
		t.Errorf("key column encodings %v, want DELTA_BINARY_PACKED", key.Encoding)
	}
	// 20000 BIGINTs: 160000 bytes, about 10 pages of 16 KiB, 3 of 64 KiB.
	if kp, vp := pages(1), pages(5); kp < 8 || vp > 4 {
		t.Errorf("key column in %d pages, BIGINT column in %d; want about 10 and 3", kp, vp)
	}
	v := md.RowGroups[0].Columns[f.leaf[5]].MetaData
	if slices.Contains(v.Encoding, format.DeltaBinaryPacked) {
		t.Errorf("non-key column encodings %v", v.Encoding)
	}
	// And the key column reads back, by scan and by lookup.
	got, _ := readAll(t, f, ReadOptions{Columns: []int{1}})
	for i, r := range got {
		if r[0].i != int64(i) {
			t.Fatalf("row %d: key %d", i, r[0].i)
		}
	}
	rec, err := f.ReadRows(ctx, []int64{0, 12345, n - 1}, []int{1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if s := fmt.Sprint(rec.Column(0)); s != "[0 12345 19999]" {
		t.Errorf("ReadRows: %s", s)
	}
}
