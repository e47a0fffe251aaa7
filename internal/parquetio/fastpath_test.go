package parquetio

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store/mem"
)

// TestReadRowsPageCache checks ReadRows of a few positions (the page cache
// path) against the model over every type with NULLs, with a cache small
// enough to evict constantly, a large one and none, through a table
// schema with an added column (its default) and a renamed one.
func TestReadRowsPageCache(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	ctx := context.Background()
	s := allTypesSchema()
	rows := allTypesRows(6000)
	st := mem.New()
	writeFile(t, st, "c.parquet", s, alloc, rows, 1000, WriterOptions{RowGroupRows: 2500, PageSize: 512, KeyColumns: []int{1}})
	model := modelScalars(t, s, rows)
	table := *s
	table.Columns = slices.Clone(s.Columns)
	table.Columns[3].Name = "renamed"
	table.Columns = append(table.Columns, base.Column{ID: 100, Name: "added", Type: "INT", Default: strp("42")})
	cols, _ := tableColumns(&table)
	for _, budget := range []int64{-1, 4 << 10, 0} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			f, err := OpenFile(ctx, st, "c.parquet", ReaderOptions{Schema: &table, PageCacheBytes: budget})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rnd := rand.New(rand.NewPCG(uint64(budget), 7))
			for iter := 0; iter < 300; iter++ {
				var pos []int64
				for range 1 + rnd.IntN(4) {
					pos = append(pos, rnd.Int64N(int64(len(rows))))
				}
				var ids []int
				if iter%3 != 0 {
					ids = []int{100, 1 + rnd.IntN(len(s.Columns)), 1}
				}
				rec, err := f.ReadRows(ctx, pos, ids, alloc)
				if err != nil {
					t.Fatal(err)
				}
				slices.Sort(pos)
				pos = slices.Compact(pos)
				if int(rec.NumRows()) != len(pos) {
					t.Fatalf("%d rows for %d positions", rec.NumRows(), len(pos))
				}
				out := cols
				if ids != nil {
					out, _ = selectColumns(&table, ids)
				}
				for i, x := range pos {
					for j := range out {
						got := scalarAt(&out[j], rec.Column(j), i)
						want := scalar{i: 42}
						if id := out[j].col.ID; id != 100 {
							want = model[x][id-1]
						}
						if !sameScalar(out[j].class(), got, want) {
							t.Fatalf("row %d column %q: got %+v, want %+v", x, out[j].col.Name, got, want)
						}
					}
				}
				rec.Release()
				for _, x := range pos {
					checkRowValues(t, f, x, ids)
				}
			}
			if f.cache != nil && f.cache.used > f.cache.budget {
				t.Fatalf("cache holds %d bytes over its budget %d", f.cache.used, f.cache.budget)
			}
		})
	}
}

// TestPlainFallback checks that a high-cardinality string column is
// written PLAIN (no dictionary page) and a low-cardinality one with a
// dictionary, and that both read back, NULLs included, by scans, filters
// and point lookups.
func TestPlainFallback(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	ctx := context.Background()
	s := &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "k", Type: "BIGINT"},
		{ID: 2, Name: "hi", Type: "VARCHAR(32)", Nullable: true},
		{ID: 3, Name: "lo", Type: "VARCHAR(32)", Nullable: true},
		{ID: 4, Name: "bin", Type: "VARBINARY(32)", Nullable: true},
	}}
	rows := make([][]any, 20000)
	for i := range rows {
		var hi, lo, bin any = fmt.Sprintf("h%07d", i*31%20011), fmt.Sprintf("l%d", i%7), []byte(fmt.Sprintf("b%d", i))
		if i%13 == 0 {
			hi, lo, bin = nil, nil, nil
		}
		rows[i] = []any{int64(i), hi, lo, bin}
	}
	st := mem.New()
	writeFile(t, st, "f.parquet", s, alloc, rows, 5000, WriterOptions{KeyColumns: []int{1}, RowGroupRows: 8000})
	f, err := OpenFile(ctx, st, "f.parquet", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, rg := range f.pf.Metadata().RowGroups {
		for _, id := range []int{2, 3, 4} {
			m := rg.Columns[f.leaf[id]].MetaData
			if dict := m.DictionaryPageOffset > 0; dict != (id == 3) {
				t.Fatalf("column %d: dictionary page %v", id, dict)
			}
		}
	}
	model := modelScalars(t, s, rows)
	got, _ := readAll(t, f, ReadOptions{Alloc: alloc})
	if len(got) != len(rows) {
		t.Fatalf("%d rows", len(got))
	}
	cols, _ := tableColumns(s)
	for i := range got {
		for j := range cols {
			if !sameScalar(cols[j].class(), got[i][j], model[i][j]) {
				t.Fatalf("row %d column %d: %+v, want %+v", i, j, got[i][j], model[i][j])
			}
		}
	}
	// A filter on one string column returning the others, minus deleted
	// rows, with positions.
	del := roaring.BitmapOf(5, 6, 7, 8000, 19999)
	got, _ = readAll(t, f, ReadOptions{Alloc: alloc, Columns: []int{4, 2}, Predicate: Cmp(3, OpGe, "l5"), Deleted: del, WithPositions: true})
	n := 0
	for i := range rows {
		if lo, ok := rows[i][2].(string); !ok || lo < "l5" || del.Contains(uint32(i)) {
			continue
		}
		r := got[n]
		if r[2].i != int64(i) || !sameScalar(clsBytes, r[0], model[i][3]) || !sameScalar(clsBytes, r[1], model[i][1]) {
			t.Fatalf("filtered row %d: %+v", i, r)
		}
		n++
	}
	if n != len(got) {
		t.Fatalf("%d filtered rows, want %d", len(got), n)
	}
	for _, x := range []int64{0, 13, 7777, 19999} {
		rec, err := f.ReadRows(ctx, []int64{x}, nil, alloc)
		if err != nil {
			t.Fatal(err)
		}
		for j := range cols {
			if g := scalarAt(&cols[j], rec.Column(j), 0); !sameScalar(cols[j].class(), g, model[x][j]) {
				t.Fatalf("lookup %d column %d: %+v", x, j, g)
			}
		}
		rec.Release()
		checkRowValues(t, f, x, nil)
		checkRowValues(t, f, x, []int{3, 1})
	}
}

// checkRowValues checks that ReadRowValues gives the Go values of the
// record ReadRows gives.
func checkRowValues(t *testing.T, f *File, x int64, ids []int) {
	t.Helper()
	ctx := context.Background()
	rec, err := f.ReadRows(ctx, []int64{x}, ids, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	want, err := RecordRow(rec, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.ReadRowValues(ctx, x, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("ReadRowValues(%d, %v): %d values, want %d", x, ids, len(got), len(want))
	}
	for j := range got {
		// %#v tells the Go types apart, and a NaN equals itself.
		if g, w := fmt.Sprintf("%#v", got[j]), fmt.Sprintf("%#v", want[j]); g != w {
			t.Fatalf("ReadRowValues(%d, %v) value %d = %s, want %s", x, ids, j, g, w)
		}
	}
}

// TestSparseFilterNullable checks the predicate-first read on a nullable
// fixed-width output column with many short runs of matches per page (the
// run-by-run decode) and with dense matches (decode and filter).
func TestSparseFilterNullable(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	st, _, rows := pruneFile(t, alloc)
	f, err := OpenFile(context.Background(), st, "p.parquet", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, bound := range []int{3, 600} {
		got, _ := readAll(t, f, ReadOptions{Alloc: alloc, Columns: []int{4, 2}, Predicate: Cmp(2, OpLt, bound), WithPositions: true})
		n := 0
		for i, r := range rows {
			v, ok := r[1].(int)
			if !ok || v >= bound {
				continue
			}
			g := got[n]
			if g[2].i != int64(i) || g[0].f != r[3].(float64) || g[1].i != int64(v) {
				t.Fatalf("row %d: %+v", i, g)
			}
			n++
		}
		if n != len(got) {
			t.Fatalf("%d rows, want %d", len(got), n)
		}
	}
}

// TestKeyIndexVariableWidth checks lookups in a key index of string keys
// (offsets kept) next to the fixed-width one.
func TestKeyIndexVariableWidth(t *testing.T) {
	s := &base.Schema{Columns: []base.Column{{ID: 1, Name: "k", Type: "VARCHAR(8)"}, {ID: 2, Name: "n", Type: "INT"}}}
	enc, _ := NewKeyEncoder(s, []int{1})
	k := &KeyIndex{offs: []uint32{0}}
	for _, v := range []string{"", "a", "ab", "b", "bcd"} {
		key, _ := enc.Encode(v)
		k.data = append(k.data, key...)
		k.offs = append(k.offs, uint32(len(k.data)))
	}
	k.compact()
	if k.offs == nil {
		t.Fatal("variable-width keys compacted")
	}
	for i, v := range []string{"", "a", "ab", "b", "bcd"} {
		key, _ := enc.Encode(v)
		if p, ok := k.Lookup(key); !ok || p != int64(i) {
			t.Fatalf("%q: %d %v", v, p, ok)
		}
	}
	key, _ := enc.Encode("abc")
	if _, ok := k.Lookup(key); ok {
		t.Fatal("found abc")
	}
}

// TestKeyIndexWords checks lookups in a key index of one 8-byte column
// (words) against a plain search: every key, the gaps between
// them, both ends, and duplicates across a stride's edge (the first one's
// position, as a search of all the keys gives).
func TestKeyIndexWords(t *testing.T) {
	s := &base.Schema{Columns: []base.Column{{ID: 1, Name: "k", Type: "BIGINT"}}}
	enc, _ := NewKeyEncoder(s, []int{1})
	for _, n := range []int{1, interpWindow - 1, interpWindow, interpWindow + 1, 5*interpWindow + 17} {
		var vals []int64
		for i := range n {
			v := int64(3*i - n)
			if i == interpWindow && n > interpWindow+1 {
				v = vals[i-1] // a duplicate across the first stride's edge
			}
			vals = append(vals, v)
		}
		k := &KeyIndex{offs: []uint32{0}}
		for _, v := range vals {
			key, _ := enc.Encode(v)
			k.data = append(k.data, key...)
			k.offs = append(k.offs, uint32(len(k.data)))
		}
		k.compact()
		if k.words == nil {
			t.Fatalf("n=%d: no words", n)
		}
		for v := int64(-n - 2); v <= int64(2*n+2); v++ {
			want, found := slices.BinarySearch(vals, v)
			key, _ := enc.Encode(v)
			p, ok := k.Lookup(key)
			if ok != found || ok && p != int64(want) {
				t.Fatalf("n=%d, key %d: got %d %v, want %d %v", n, v, p, ok, want, found)
			}
		}
		if _, ok := k.Lookup(Key("short")); ok {
			t.Fatalf("n=%d: found a 5-byte key", n)
		}
	}
}

// TestLookupWordDistributions checks the interpolating lookup of an index
// of words against a plain search, over key spreads that make its guess
// exact, near, or far off (sparse then dense, clusters, an outlier, which
// take several guesses or end in a binary search), with runs of duplicates: every key, its neighbours,
// and both ends.
func TestLookupWordDistributions(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	spreads := map[string]func(i int) uint64{
		"dense":    func(i int) uint64 { return uint64(i) },
		"stride":   func(i int) uint64 { return 1<<63 + uint64(i)*1000 },
		"random":   func(i int) uint64 { return rnd.Uint64() },
		"clusters": func(i int) uint64 { return uint64(i%7)<<40 + uint64(i) },
		"outlier": func(i int) uint64 {
			if i == 0 {
				return math.MaxUint64
			}
			return uint64(i)
		},
		"dups": func(i int) uint64 { return uint64(i / 9) },
		"sparse-dense": func(i int) uint64 {
			if i%2 == 0 {
				return uint64(i) << 20
			}
			return 1<<50 + uint64(i)
		},
		"top": func(i int) uint64 { return math.MaxUint64 - uint64(i) },
	}
	for name, spread := range spreads {
		for _, n := range []int{1, 2, interpWindow + 1, 3000, 100_000} {
			words := make([]uint64, n)
			for i := range words {
				words[i] = spread(i)
			}
			slices.Sort(words)
			k := newWordIndex(words)
			if n >= 3000 && (name == "dense" || name == "stride") && !k.even {
				t.Fatalf("%s n=%d: not evenly spread", name, n)
			}
			if (name == "outlier" || name == "sparse-dense") && k.even {
				t.Fatalf("%s n=%d: evenly spread", name, n)
			}
			var wants []uint64
			check := func(want uint64) {
				wants = append(wants, want)
				p, found := slices.BinarySearch(words, want)
				got, ok := k.lookupWord(want)
				if ok != found || ok && got != int64(p) {
					t.Fatalf("%s n=%d: lookup %d = %d %v, want %d %v", name, n, want, got, ok, p, found)
				}
			}
			for i := 0; i < n; i += 1 + n/2000 {
				check(words[i])
				check(words[i] - 1)
				check(words[i] + 1)
			}
			check(0)
			check(math.MaxUint64)
			for range 200 {
				check(rnd.Uint64())
			}
			// LookupSorted gives the same answers, in batches.
			slices.Sort(wants)
			keys := make([]Key, len(wants))
			for i, want := range wants {
				keys[i] = Key(binary.BigEndian.AppendUint64(nil, want))
			}
			keys = append(keys, Key("\xff\xff\xff\xff\xff\xff\xff\xff\xff")) // not a word
			pos, found := make([]int64, len(keys)), make([]bool, len(keys))
			k.LookupSorted(keys, pos, found)
			for i, want := range wants {
				p, ok := slices.BinarySearch(words, want)
				if found[i] != ok || ok && pos[i] != int64(p) {
					t.Fatalf("%s n=%d: LookupSorted %d = %d %v, want %d %v", name, n, want, pos[i], found[i], p, ok)
				}
			}
			if found[len(wants)] {
				t.Fatalf("%s n=%d: LookupSorted found a 9-byte key", name, n)
			}
		}
	}
}
