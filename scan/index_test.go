package scan

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/txn"
)

// indexWorld gives most of w's files index files on (a) and on (s, a), as
// the writer does; some files keep none (written before the index), so
// index scans mix index reads and filtered scans.
func indexWorld(t *testing.T, r *rand.Rand, w *world) {
	ctx := context.Background()
	for i, a := range w.table.Files {
		if r.IntN(4) == 0 {
			continue
		}
		f, err := parquetio.OpenFile(ctx, w.st, "db/"+a.Path, parquetio.ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rr, err := f.Read(ctx, parquetio.ReadOptions{Columns: []int{colID, colA, colS}})
		if err != nil {
			t.Fatal(err)
		}
		var recs []arrow.Record
		for rr.Next() {
			rec := rr.Record()
			rec.Retain()
			recs = append(recs, rec)
		}
		if err := rr.Err(); err != nil {
			t.Fatal(err)
		}
		rr.Close()
		f.Close()
		for j, cols := range [][]int{{colA}, {colS, colA}} {
			name := fmt.Sprintf("data/t1/idx/f%d-%d.parquet", i, j)
			stats, err := parquetio.WriteIndexFile(ctx, w.st, "db/"+name, w.table.Schema, cols, nil, recs,
				parquetio.WriterOptions{RowGroupRows: 1 + r.IntN(40), PageSize: 64 + r.IntN(256)})
			if err != nil {
				t.Fatal(err)
			}
			a.Indexes = append(a.Indexes, txn.IndexFile{Index: fmt.Sprint(j), Columns: cols, Path: name, Bytes: stats.Bytes})
		}
		for _, rec := range recs {
			rec.Release()
		}
	}
}

// TestIndexScans compares scans through the index files with plain scans
// and the model: the same rows, for equality, IN-like ORs and ranges on the
// index columns combined with other predicates.
func TestIndexScans(t *testing.T) {
	seed := rand.Uint64()
	if s := os.Getenv("LAKESQL_TEST_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (LAKESQL_TEST_SEED=%[1]d repeats it)", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	ctx := context.Background()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	indexed, plain := 0, 0
	for trial := range 10 {
		w := newWorld(t, r, alloc, 1+r.IntN(6))
		indexWorld(t, r, w)
		for range 20 {
			var q IndexQuery
			var keep func(row) bool
			var desc string
			switch r.IntN(4) {
			case 0:
				v := int32(r.IntN(80) - 20)
				q = IndexQuery{Columns: []int{colA}, Match: parquetio.Eq(colA, v), Points: []any{v}}
				keep, desc = func(w row) bool { return w.a != nil && *w.a == v }, fmt.Sprintf("a = %d", v)
			case 1:
				lo, hi := int32(r.IntN(80)-20), int32(r.IntN(80)-20)
				q = IndexQuery{Columns: []int{colA}, Match: parquetio.And(parquetio.Cmp(colA, parquetio.OpGe, lo), parquetio.Cmp(colA, parquetio.OpLe, hi))}
				keep, desc = func(w row) bool { return w.a != nil && *w.a >= lo && *w.a <= hi }, fmt.Sprintf("a BETWEEN %d AND %d", lo, hi)
			case 2:
				v1, v2 := int32(r.IntN(80)-20), int32(r.IntN(80)-20)
				q = IndexQuery{Columns: []int{colA}, Match: parquetio.Or(parquetio.Eq(colA, v1), parquetio.Eq(colA, v2)), Points: []any{v1, v2}}
				keep, desc = func(w row) bool { return w.a != nil && (*w.a == v1 || *w.a == v2) }, fmt.Sprintf("a IN (%d, %d)", v1, v2)
			default:
				s := []string{"", "apple", "pear", "plum", "fig", "kiwi"}[r.IntN(6)]
				q = IndexQuery{Columns: []int{colS, colA}, Match: parquetio.Eq(colS, s), Points: []any{s}}
				keep, desc = func(w row) bool { return w.s != nil && *w.s == s }, fmt.Sprintf("s = %q", s)
			}
			pred := q.Match
			extra, keep2, desc2 := randomPredicate(r)
			if extra != nil {
				pred = parquetio.And(pred, extra)
			}
			cols := [][]int{{colID, colA, colS}, {colS}, {colA, colID}}[r.IntN(3)]
			var want []string
			for _, rw := range w.model {
				if keep(rw) && keep2(rw) {
					want = append(want, format(rw, cols))
				}
			}
			slices.Sort(want)
			dicts := r.IntN(2) == 0
			read := func(q *IndexQuery, loc bool) []string {
				it, err := w.reader.Scan(ctx, w.table, Request{Columns: cols, Predicate: pred, Alloc: alloc, Index: q, WithLocation: loc, Dictionaries: dicts}, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer it.Close()
				var got []string
				for it.Next() {
					rec := it.Record()
					checkTypes(t, it, rec, dicts)
					for i := range int(rec.NumRows()) {
						got = append(got, formatRecord(rec, i, len(cols)))
					}
				}
				if err := it.Err(); err != nil {
					t.Fatalf("seed %d: %s AND %s: %v", seed, desc, desc2, err)
				}
				slices.Sort(got)
				return got
			}
			got := read(&q, r.IntN(2) == 0)
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d trial %d: %s AND %s through the index:\n got %q\nwant %q", seed, trial, desc, desc2, got, want)
			}
			if got := read(nil, false); !slices.Equal(got, want) {
				t.Fatalf("seed %d trial %d: %s AND %s without the index:\n got %q\nwant %q", seed, trial, desc, desc2, got, want)
			}
			for _, a := range w.table.Files {
				if a.IndexFile(q.Columns) != nil {
					indexed++
				} else {
					plain++
				}
			}
		}
		w.reader.Close()
	}
	if indexed == 0 || plain == 0 {
		t.Fatalf("the trials read %d files through index files and %d without: both paths must run", indexed, plain)
	}
}

// TestTakeRowsDictionary: takeRows of a dictionary array takes the rows'
// indexes over the same dictionary, NULL rows included.
func TestTakeRowsDictionary(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	sb := array.NewStringBuilder(alloc)
	sb.AppendValues([]string{"x", "y", "z"}, nil)
	dict := sb.NewArray()
	sb.Release()
	ib := array.NewInt32Builder(alloc)
	ib.AppendValues([]int32{2, 0, 0, 1, 2, 1, 0}, []bool{true, true, false, true, true, true, true})
	idx := ib.NewArray()
	ib.Release()
	arr := array.NewDictionaryArray(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, idx, dict)
	idx.Release()
	dict.Release()
	defer arr.Release()
	for _, rows := range [][]int{{0, 1, 2, 3, 4, 5, 6}, {1, 2, 3}, {0, 2, 5, 6}, {4}} {
		got := takeRows(alloc, arr, rows)
		d, ok := got.(*array.Dictionary)
		if !ok || d.Data().Dictionary() != arr.Data().Dictionary() {
			t.Fatalf("rows %v: %T, want a dictionary array over the same dictionary", rows, got)
		}
		for i, x := range rows {
			if got.IsNull(i) != arr.IsNull(x) || (!got.IsNull(i) && d.GetValueIndex(i) != arr.GetValueIndex(x)) {
				t.Fatalf("rows %v: row %d differs from row %d", rows, i, x)
			}
		}
		got.Release()
	}
}
