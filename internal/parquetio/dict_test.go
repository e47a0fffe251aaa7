package parquetio

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store/mem"
)

// dictSchema: a key, two low-cardinality columns written with dictionaries
// (a string and a binary one, with NULLs), a mostly distinct string
// column written PLAIN, and an integer.
func dictSchema() *base.Schema {
	return &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "k", Type: "BIGINT"},
		{ID: 2, Name: "s", Type: "VARCHAR(16)", Nullable: true},
		{ID: 3, Name: "b", Type: "VARBINARY(16)", Nullable: true},
		{ID: 4, Name: "u", Type: "VARCHAR(24)", Nullable: true},
		{ID: 5, Name: "i", Type: "INT"},
	}, NextColumnID: 6}
}

func dictRows(n int) [][]any {
	rows := make([][]any, n)
	for x := range rows {
		var s, b, u any = fmt.Sprintf("v%02d", x*7%40), []byte{byte(x % 5), 0xFF}, fmt.Sprintf("u%09d", x*7919%1000003)
		if x%7 == 3 {
			s = nil
		}
		if x%11 == 0 {
			b = nil
		}
		if x%13 == 0 {
			u = nil
		}
		rows[x] = []any{int64(x), s, b, u, int32(x % 100)}
	}
	return rows
}

// dictRead is what readDict saw: the rows (values of the output columns
// and the position last) and, per output column, how many records held
// it as a dictionary array and plain, and the distinct dictionaries.
type dictRead struct {
	rows         [][]scalar
	dict, plain  []int
	dictionaries []map[arrow.ArrayData]bool
	stats        ReadStats
}

// readDict reads f with opts (positions added) and checks every record's
// schema against its columns and the read's declared schema.
func readDict(t *testing.T, f *File, opts ReadOptions) dictRead {
	t.Helper()
	opts.WithPositions = true
	rr, err := f.Read(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	p, err := f.plan(opts)
	if err != nil {
		t.Fatal(err)
	}
	n := len(p.out)
	res := dictRead{dict: make([]int, n), plain: make([]int, n), dictionaries: make([]map[arrow.ArrayData]bool, n)}
	for j := range n {
		res.dictionaries[j] = map[arrow.ArrayData]bool{}
	}
	declared := rr.Schema()
	for rr.Next() {
		rec := rr.Record()
		for j := range n {
			col := rec.Column(j)
			want := declared.Field(j).Type
			if !arrow.TypeEqual(rec.Schema().Field(j).Type, col.DataType()) {
				t.Fatalf("record field %d is %s, its column %s", j, rec.Schema().Field(j).Type, col.DataType())
			}
			if d, ok := col.(*array.Dictionary); ok {
				if !arrow.TypeEqual(col.DataType(), dictType(want)) {
					t.Fatalf("column %d: dictionary %s, want one of %s", j, col.DataType(), want)
				}
				res.dict[j]++
				res.dictionaries[j][d.Data().Dictionary()] = true
				continue
			}
			if !arrow.TypeEqual(col.DataType(), want) {
				t.Fatalf("column %d: %s, want %s", j, col.DataType(), want)
			}
			res.plain[j]++
		}
		for i := range int(rec.NumRows()) {
			row := make([]scalar, n+1)
			for j := range n {
				row[j] = scalarAt(&p.out[j], rec.Column(j), i)
			}
			row[n] = scalar{i: rec.Column(n).(*array.Int64).Value(i)}
			res.rows = append(res.rows, row)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	res.stats = rr.Stats()
	return res
}

// checkModel compares a read's rows with the model rows at their
// positions, and the positions with want.
func checkModel(t *testing.T, what string, got [][]scalar, cols []column, ids []int, model [][]scalar, want []int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for i, x := range want {
		row := got[i]
		if pos := row[len(row)-1].i; pos != int64(x) {
			t.Fatalf("%s: row %d at position %d, want %d", what, i, pos, x)
		}
		for j, id := range ids {
			k := id - 1
			if !sameScalar(cols[k].class(), row[j], model[x][k]) {
				t.Fatalf("%s: position %d column %s: %+v, want %+v", what, x, cols[k].col.Name, row[j], model[x][k])
			}
		}
	}
}

// dictQuery is a read and the model's answer to its predicate.
type dictQuery struct {
	name string
	pred *Predicate
	keep func(row []any) bool
}

func strOf(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	}
	return "", false
}

func dictQueries() []dictQuery {
	cmp := func(j int, op Op, c string) func([]any) bool {
		return func(r []any) bool {
			s, ok := strOf(r[j])
			return ok && opHolds(op, strings.Compare(s, c))
		}
	}
	return []dictQuery{
		{"all", nil, func([]any) bool { return true }},
		{"s = v07", Eq(2, "v07"), cmp(1, OpEq, "v07")},
		{"s <> v07", Cmp(2, OpNe, "v07"), cmp(1, OpNe, "v07")},
		{"s < v05", Cmp(2, OpLt, "v05"), cmp(1, OpLt, "v05")},
		{"s >= v30", Cmp(2, OpGe, "v30"), cmp(1, OpGe, "v30")},
		{"s = absent", Eq(2, "zzz"), cmp(1, OpEq, "zzz")},
		{"s IN", In(2, "v01", "v13", nil, "v39"), func(r []any) bool {
			return cmp(1, OpEq, "v01")(r) || cmp(1, OpEq, "v13")(r) || cmp(1, OpEq, "v39")(r)
		}},
		{"s IS NULL", IsNull(2), func(r []any) bool { return r[1] == nil }},
		{"NOT s >= v20", Not(Cmp(2, OpGe, "v20")), cmp(1, OpLt, "v20")},
		{"b = 03FF", Eq(3, []byte{3, 0xFF}), cmp(2, OpEq, "\x03\xff")},
		{"b IS NOT NULL AND s > v10", And(IsNotNull(3), Cmp(2, OpGt, "v10")), func(r []any) bool {
			return r[2] != nil && cmp(1, OpGt, "v10")(r)
		}},
		{"k range", And(Cmp(1, OpGe, int64(4100)), Cmp(1, OpLt, int64(4300))), func(r []any) bool {
			return r[0].(int64) >= 4100 && r[0].(int64) < 4300
		}},
		{"k range OR s = v00", Or(And(Cmp(1, OpGe, int64(9000)), Cmp(1, OpLt, int64(9100))), Eq(2, "v00")), func(r []any) bool {
			k := r[0].(int64)
			return (k >= 9000 && k < 9100) || cmp(1, OpEq, "v00")(r)
		}},
		{"i < 3", Cmp(5, OpLt, int32(3)), func(r []any) bool { return r[4].(int32) < 3 }},
	}
}

// TestDictionaryReads: with ReadOptions.Dictionaries the dictionary-encoded
// string and binary chunks come back as dictionary arrays, one dictionary
// per chunk shared by its records, the PLAIN string column and the others
// plain; without it every column is plain as before. Both answer every
// predicate (on the dictionary columns and others, pruning pages or not),
// with deleted and masked rows, projections and batch sizes, as the model.
func TestDictionaryReads(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	ctx := context.Background()
	s := dictSchema()
	rows := dictRows(20000)
	st := mem.New()
	writeFile(t, st, "d.parquet", s, alloc, rows, 5000, WriterOptions{KeyColumns: []int{1}, RowGroupRows: 6000, PageSize: 1024})
	f, err := OpenFile(ctx, st, "d.parquet", ReaderOptions{PageCacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, rg := range f.pf.Metadata().RowGroups {
		for id, dict := range map[int]bool{2: true, 3: true, 4: false} {
			if got := rg.Columns[f.leaf[id]].MetaData.DictionaryPageOffset > 0; got != dict {
				t.Fatalf("column %d: dictionary page %v, want %v", id, got, dict)
			}
		}
	}
	cols, _ := tableColumns(s)
	model := modelScalars(t, s, rows)
	deleted := roaring.New()
	deleted.AddRange(100, 900)
	deleted.AddRange(6000, 6100)
	for x := uint32(0); x < 20000; x += 17 {
		deleted.Add(x)
	}
	mask := roaring.BitmapOf(4150, 4151, 9050, 19999)
	projections := [][]int{nil, {2}, {4, 2, 3}, {3, 5}}
	for _, q := range dictQueries() {
		for pi, ids := range projections {
			for _, dicts := range []bool{false, true} {
				for _, hide := range []bool{false, true} {
					opts := ReadOptions{Alloc: alloc, Columns: ids, Predicate: q.pred, Dictionaries: dicts, BatchSize: 1000 + 500*pi}
					if hide {
						opts.Deleted, opts.Mask = deleted, mask
					}
					var want []int
					for x, r := range rows {
						if q.keep(r) && !(hide && (deleted.Contains(uint32(x)) || mask.Contains(uint32(x)))) {
							want = append(want, x)
						}
					}
					what := fmt.Sprintf("%s columns %v dictionaries %v hidden %v", q.name, ids, dicts, hide)
					got := readDict(t, f, opts)
					out := ids
					if out == nil {
						out = []int{1, 2, 3, 4, 5}
					}
					checkModel(t, what, got.rows, cols, out, model, want)
					for j, id := range out {
						switch {
						case got.dict[j]+got.plain[j] == 0:
						case !dicts || id == 1 || id == 4 || id == 5:
							if got.dict[j] != 0 {
								t.Fatalf("%s: column %d a dictionary in %d records", what, id, got.dict[j])
							}
						default:
							if got.plain[j] != 0 {
								t.Fatalf("%s: column %d plain in %d records", what, id, got.plain[j])
							}
							if n := len(got.dictionaries[j]); n > 4 {
								t.Fatalf("%s: column %d: %d dictionaries in 4 row groups", what, id, n)
							}
						}
					}
					if q.pred == nil && !hide && dicts && ids == nil {
						// Records of 1,000 rows: a chunk's dictionary is shared.
						if got.dict[1] < 20 || len(got.dictionaries[1]) != 4 {
							t.Fatalf("%s: %d records of %d dictionaries", what, got.dict[1], len(got.dictionaries[1]))
						}
					}
				}
			}
		}
	}
}

// TestDictionaryChunkCache: the chunk cache keeps a dictionary-encoded
// chunk as a dictionary array whichever read decoded it; a read with
// Dictionaries gets it so, a read without gets plain arrays, and point
// reads take plain values from it; the answers equal the model and no
// byte is read once the chunks are cached, in either order of reads.
func TestDictionaryChunkCache(t *testing.T) {
	ctx := context.Background()
	s := dictSchema()
	rows := dictRows(20000)
	st := mem.New()
	writeFile(t, st, "d.parquet", s, memory.DefaultAllocator, rows, 5000, WriterOptions{KeyColumns: []int{1}, RowGroupRows: 6000, PageSize: 1024})
	cols, _ := tableColumns(s)
	model := modelScalars(t, s, rows)
	all := make([]int, len(rows))
	for i := range all {
		all[i] = i
	}
	deleted := roaring.BitmapOf(5, 6, 7, 6001, 12000, 19998)
	for _, firstDicts := range []bool{true, false} {
		t.Run(fmt.Sprintf("first-dictionaries-%v", firstDicts), func(t *testing.T) {
			cache := NewPageCache(64 << 20)
			f, err := OpenFile(ctx, st, "d.parquet", ReaderOptions{PageCache: cache, CacheChunks: true})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// The first read decodes whole chunks and caches them.
			first := readDict(t, f, ReadOptions{Dictionaries: firstDicts})
			checkModel(t, "first read", first.rows, cols, []int{1, 2, 3, 4, 5}, model, all)
			if first.stats.ChunksCached != 0 || first.stats.BytesRead == 0 {
				t.Fatalf("first read: %+v", first.stats)
			}
			for round, dicts := range []bool{!firstDicts, firstDicts, !firstDicts} {
				for _, q := range dictQueries() {
					var want []int
					for x, r := range rows {
						if q.keep(r) && !deleted.Contains(uint32(x)) {
							want = append(want, x)
						}
					}
					what := fmt.Sprintf("round %d %s dictionaries %v", round, q.name, dicts)
					got := readDict(t, f, ReadOptions{Predicate: q.pred, Deleted: deleted, Dictionaries: dicts, BatchSize: 3000})
					checkModel(t, what, got.rows, cols, []int{1, 2, 3, 4, 5}, model, want)
					if got.stats.BytesRead != 0 || (len(want) > 0 && got.stats.ChunksCached == 0) {
						t.Fatalf("%s: %+v, want every chunk from the cache", what, got.stats)
					}
					for j := range cols {
						isDict := dicts && (j == 1 || j == 2)
						if (isDict && got.plain[j] != 0) || (!isDict && got.dict[j] != 0) {
							t.Fatalf("%s: column %d in %d dictionary and %d plain records", what, j+1, got.dict[j], got.plain[j])
						}
					}
				}
			}
			// Point reads: one position (slices of cached chunks) and
			// several, plain whatever the cache holds.
			for _, pos := range [][]int64{{0}, {3}, {6001}, {3, 4, 7000, 19999}} {
				rec, err := f.ReadRows(ctx, pos, nil, memory.DefaultAllocator)
				if err != nil {
					t.Fatal(err)
				}
				as, _ := ArrowSchema(s, nil)
				for j := range cols {
					if !arrow.TypeEqual(rec.Column(j).DataType(), as.Field(j).Type) {
						t.Fatalf("ReadRows %v column %d: %s", pos, j, rec.Column(j).DataType())
					}
					for i, x := range pos {
						if g := scalarAt(&cols[j], rec.Column(j), i); !sameScalar(cols[j].class(), g, model[x][j]) {
							t.Fatalf("ReadRows %v: position %d column %d: %+v", pos, x, j, g)
						}
					}
				}
				rec.Release()
			}
			// A dictionary chunk costs the cache its indexes and one
			// dictionary, less than the strings.
			key := pageKey{f.id, 0, int32(f.leaf[2]), -1}
			arr := cache.peek(key)
			d, ok := arr.(*array.Dictionary)
			if !ok {
				t.Fatalf("cached chunk of s: %T, want a dictionary array", arr)
			}
			plain := plainRanges(memory.DefaultAllocator, d, []rng{{0, int64(d.Len())}})
			defer plain.Release()
			if ds, ps := arraySize(d.Data()), arraySize(plain.Data()); ds <= int64(d.Len())*4 || ds >= ps {
				t.Fatalf("cached dictionary chunk counted as %d bytes, plain %d", ds, ps)
			}
		})
	}
}

// TestDictionaryPlainPages: a chunk whose dictionary outgrew the writer's
// limit has dictionary-encoded pages and then PLAIN ones. A read of the
// whole chunk returns it plain; a read of only its first pages (pruned by
// the key) returns those as a dictionary array; both with the model's
// values, with and without the chunk cache.
func TestDictionaryPlainPages(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	ctx := context.Background()
	s := &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "k", Type: "BIGINT"},
		{ID: 2, Name: "s", Type: "TEXT", Nullable: true},
	}, NextColumnID: 3}
	// Low cardinality first (so the writer chooses a dictionary), then
	// long distinct values whose dictionary passes 1 MiB.
	rows := make([][]any, 40000)
	for x := range rows {
		var v any = fmt.Sprintf("low%d", x%10)
		if x >= 20000 {
			v = fmt.Sprintf("%0200d", x)
		}
		if x%9 == 0 {
			v = nil
		}
		rows[x] = []any{int64(x), v}
	}
	st := mem.New()
	writeFile(t, st, "m.parquet", s, alloc, rows, 20000, WriterOptions{KeyColumns: []int{1}, RowGroupRows: 40000, PageSize: 16 << 10})
	cols, _ := tableColumns(s)
	model := modelScalars(t, s, rows)
	for _, cached := range []bool{false, true} {
		ro := ReaderOptions{PageCacheBytes: -1}
		readAlloc := memory.Allocator(alloc)
		if cached {
			ro = ReaderOptions{PageCache: NewPageCache(64 << 20), CacheChunks: true}
			readAlloc = memory.DefaultAllocator
		}
		f, err := OpenFile(ctx, st, "m.parquet", ro)
		if err != nil {
			t.Fatal(err)
		}
		head := And(Cmp(1, OpGe, int64(10)), Cmp(1, OpLt, int64(2000)))
		for _, read := range []struct {
			pred     *Predicate
			lo, hi   int
			wantDict bool
		}{
			{head, 10, 2000, true},
			{nil, 0, 40000, false},
			{head, 10, 2000, !cached}, // the whole chunk was cached, plain
			// The page index rules out the long values' pages (all below
			// "low"): only dictionary-encoded pages are read.
			{Cmp(2, OpGe, "low5"), 0, 40000, !cached},
		} {
			var want []int
			for x := read.lo; x < read.hi; x++ {
				if read.pred != nil && read.pred.Op == OpGe && !(rows[x][1] != nil && rows[x][1].(string) >= "low5") {
					continue
				}
				want = append(want, x)
			}
			what := fmt.Sprintf("cached %v rows [%d, %d) predicate %s", cached, read.lo, read.hi, fmtPred(read.pred))
			got := readDict(t, f, ReadOptions{Alloc: readAlloc, Predicate: read.pred, Dictionaries: true})
			checkModel(t, what, got.rows, cols, []int{1, 2}, model, want)
			if (got.dict[1] > 0) != read.wantDict || (got.plain[1] > 0) == read.wantDict {
				t.Fatalf("%s: s in %d dictionary and %d plain records", what, got.dict[1], got.plain[1])
			}
		}
		f.Close()
	}
}

// TestDictionaryFilterArrays: Filter (the sources' predicate) and the
// array helpers take dictionary arrays with NULL rows and NULL or unused
// entries, and with int32 and narrower indexes.
func TestDictionaryFilterArrays(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	s := &base.Schema{Columns: []base.Column{{ID: 1, Name: "s", Type: "VARCHAR(8)", Nullable: true}}}
	sb := array.NewStringBuilder(alloc)
	sb.AppendValues([]string{"b", "", "a", "zz", "a"}, []bool{true, true, true, false, true})
	dict := sb.NewArray()
	sb.Release()
	defer dict.Release()
	// Rows: "a", NULL (row), "b", NULL (entry), "", "a", "b".
	vals := []string{"a", "", "b", "", "", "a", "b"}
	null := []bool{false, true, false, true, false, false, false}
	for _, it := range []arrow.DataType{arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int8} {
		ib := array.NewBuilder(alloc, it)
		for _, x := range []int{2, -1, 0, 3, 1, 4, 0} {
			switch b := ib.(type) {
			case *array.Int32Builder:
				if x < 0 {
					b.AppendNull()
				} else {
					b.Append(int32(x))
				}
			case *array.Int8Builder:
				if x < 0 {
					b.AppendNull()
				} else {
					b.Append(int8(x))
				}
			}
		}
		idx := ib.NewArray()
		ib.Release()
		arr := array.NewDictionaryArray(&arrow.DictionaryType{IndexType: it, ValueType: arrow.BinaryTypes.String}, idx, dict)
		idx.Release()
		rs := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arr.DataType(), Nullable: true}}, nil)
		rec := array.NewRecord(rs, []arrow.Array{arr}, int64(arr.Len()))
		arr.Release()
		for _, q := range []struct {
			p    *Predicate
			keep func(v string, null bool) bool
		}{
			{Eq(1, "a"), func(v string, n bool) bool { return !n && v == "a" }},
			{Cmp(1, OpLe, "a"), func(v string, n bool) bool { return !n && v <= "a" }},
			{Cmp(1, OpNe, "zz"), func(v string, n bool) bool { return !n && v != "zz" }},
			{IsNull(1), func(_ string, n bool) bool { return n }},
			{IsNotNull(1), func(_ string, n bool) bool { return !n }},
			{In(1, "b", ""), func(v string, n bool) bool { return !n && (v == "b" || v == "") }},
		} {
			flt, err := CompileFilter(s, q.p)
			if err != nil {
				t.Fatal(err)
			}
			out, err := flt.Apply(alloc, rec, []int{1})
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for i, v := range vals {
				switch {
				case !q.keep(v, null[i]):
				case null[i]:
					want = append(want, "NULL")
				default:
					want = append(want, fmt.Sprintf("%q", v))
				}
			}
			c := &column{col: s.Columns[0], arrow: arrow.BinaryTypes.String, phys: physBytes}
			for i := range int(out.NumRows()) {
				v := scalarAt(c, out.Column(0), i)
				if v.null {
					got = append(got, "NULL")
				} else {
					got = append(got, fmt.Sprintf("%q", v.s))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s over %s indexes: %v, want %v", fmtPred(q.p), it, got, want)
			}
			out.Release()
		}
		// plainRanges gathers the rows; NULL entries become NULL rows.
		d := rec.Column(0).(*array.Dictionary)
		p := plainRanges(alloc, d, []rng{{0, 2}, {3, 7}}).(*array.String)
		var got []string
		for i := range p.Len() {
			if p.IsNull(i) {
				got = append(got, "NULL")
			} else {
				got = append(got, p.Value(i))
			}
		}
		if want := []string{"a", "NULL", "NULL", "", "a", "b"}; !slices.Equal(got, want) {
			t.Errorf("plainRanges: %q, want %q", got, want)
		}
		p.Release()
		rec.Release()
	}
}

// TestDictionaryCacheConcurrent: goroutines reading one file through the
// chunk cache at once, with and without dictionaries, scans and point
// reads, share the cached dictionary chunks (run with -race).
func TestDictionaryCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	s := dictSchema()
	rows := dictRows(12000)
	st := mem.New()
	writeFile(t, st, "d.parquet", s, memory.DefaultAllocator, rows, 4000, WriterOptions{KeyColumns: []int{1}, RowGroupRows: 3000, PageSize: 1024})
	cols, _ := tableColumns(s)
	model := modelScalars(t, s, rows)
	f, err := OpenFile(ctx, st, "d.parquet", ReaderOptions{PageCache: NewPageCache(64 << 20), CacheChunks: true, Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	queries := dictQueries()
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 3))
			for iter := 0; iter < 20 && !t.Failed(); iter++ {
				if rnd.IntN(4) == 0 {
					x := rnd.Int64N(int64(len(rows)))
					rec, err := f.ReadRows(ctx, []int64{x}, nil, memory.DefaultAllocator)
					if err != nil {
						t.Error(err)
						return
					}
					for j := range cols {
						if g := scalarAt(&cols[j], rec.Column(j), 0); !sameScalar(cols[j].class(), g, model[x][j]) {
							t.Errorf("ReadRows %d column %d: %+v", x, j, g)
						}
					}
					rec.Release()
					continue
				}
				q := queries[rnd.IntN(len(queries))]
				opts := ReadOptions{Predicate: q.pred, Dictionaries: rnd.IntN(2) == 0, BatchSize: 500 + rnd.IntN(3000), WithPositions: true}
				rr, err := f.Read(ctx, opts)
				if err != nil {
					t.Error(err)
					return
				}
				var want []int
				for x, r := range rows {
					if q.keep(r) {
						want = append(want, x)
					}
				}
				n := 0
				for rr.Next() && !t.Failed() {
					rec := rr.Record()
					for i := range int(rec.NumRows()) {
						x := int(rec.Column(len(cols)).(*array.Int64).Value(i))
						if n >= len(want) || x != want[n] {
							t.Errorf("%s: row %d at position %d", q.name, n, x)
							break
						}
						for j := range cols {
							if g := scalarAt(&cols[j], rec.Column(j), i); !sameScalar(cols[j].class(), g, model[x][j]) {
								t.Errorf("%s: position %d column %d: %+v", q.name, x, j, g)
							}
						}
						n++
					}
				}
				if err := rr.Err(); err != nil {
					t.Error(err)
				}
				rr.Close()
				if !t.Failed() && n != len(want) {
					t.Errorf("%s: %d rows, want %d", q.name, n, len(want))
				}
			}
		}()
	}
	wg.Wait()
}
