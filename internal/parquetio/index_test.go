package parquetio

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store/mem"
)

// TestIndexFile writes the index file of (s, a) of a small data file and
// checks its rows (sorted by value, NULL first, with positions), the
// bloom filter of its first column, and the index key encoding.
func TestIndexFile(t *testing.T) {
	ctx := context.Background()
	schema := &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "id", Type: "BIGINT"},
		{ID: 2, Name: "a", Type: "INT", Nullable: true},
		{ID: 3, Name: "s", Type: "VARCHAR(8)", Nullable: true},
	}, NextColumnID: 4}
	as, err := ArrowSchema(schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, as)
	type in struct {
		a *int32
		s *string
	}
	i32 := func(v int32) *int32 { return &v }
	str := func(v string) *string { return &v }
	rows := []in{{i32(5), str("pear")}, {nil, str("fig")}, {i32(1), nil}, {i32(2), str("fig")}, {nil, nil}, {i32(9), str("apple")}}
	for i, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if r.a == nil {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Int32Builder).Append(*r.a)
		}
		if r.s == nil {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.StringBuilder).Append(*r.s)
		}
	}
	rec := b.NewRecord()
	b.Release()
	defer rec.Release()
	st := mem.New()
	if _, err := WriteIndexFile(ctx, st, "ix.parquet", schema, []int{3, 2}, nil, []arrow.Record{rec}, WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(ctx, st, "ix.parquet", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr, err := f.Read(ctx, ReadOptions{Columns: []int{3, 2, IndexPositionColumn}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rr.Next() {
		r := rr.Record()
		for i := range int(r.NumRows()) {
			got = append(got, r.Column(0).ValueStr(i)+"/"+r.Column(1).ValueStr(i)+"/"+r.Column(2).ValueStr(i))
		}
	}
	rr.Close()
	want := "(null)/(null)/4 (null)/1/2 apple/9/5 fig/(null)/1 fig/2/3 pear/5/0"
	if strings.Join(got, " ") != want {
		t.Fatalf("index rows %q, want %q", strings.Join(got, " "), want)
	}
	for v, may := range map[string]bool{"fig": true, "pear": true, "apple": true, "kiwi": false, "figs": false} {
		ok, err := f.MayContainValue(ctx, 3, v)
		if err != nil {
			t.Fatal(err)
		}
		if ok != may && may { // a bloom filter may say yes to an absent value, never no to a present one
			t.Errorf("MayContainValue(%q) = %v", v, ok)
		}
	}
	ruled := 0
	for i := range 20 {
		if ok, _ := f.MayContainValue(ctx, 3, fmt.Sprintf("absent%d", i)); !ok {
			ruled++
		}
	}
	if ruled < 15 {
		t.Fatalf("the bloom filter ruled out %d of 20 absent values", ruled)
	}
	for _, tc := range []struct {
		vals []any
		want string
	}{{[]any{"fig"}, "[1 3]"}, {[]any{"pear", "apple"}, "[0 5]"}, {[]any{"kiwi"}, "[]"}, {[]any{"f"}, "[]"}} {
		pos, ok, err := f.IndexPositions(ctx, 3, tc.vals)
		if err != nil || !ok || fmt.Sprint(pos) != tc.want {
			t.Errorf("IndexPositions(%v) = %v, %v, %v; want %s", tc.vals, pos, ok, err, tc.want)
		}
	}
	enc, err := NewIndexKeyEncoder(schema, []int{3, 2})
	if err != nil {
		t.Fatal(err)
	}
	key := func(vals ...any) string {
		k, err := enc.Encode(vals...)
		if err != nil {
			t.Fatal(err)
		}
		return string(k)
	}
	if !(key(nil) < key("", nil) && key("", nil) < key("a") && key("fig", nil) < key("fig", 2) && strings.HasPrefix(key("fig", 2), key("fig"))) {
		t.Fatal("index keys: NULL must sort first and a tuple's encoding begin with its prefix's")
	}
	if _, err := enc.Encode("a", 1, 2); err == nil {
		t.Fatal("more values than columns encoded")
	}
}

// TestLargeStringChunks: a string column whose dictionary outgrows
// parquet-go's limit (1 MiB) and falls back to PLAIN, over several row
// groups: the file opens (a chunk's extent counts from its dictionary
// page), and a bloom-filtered column (an index file's first column) keeps
// every value in its filter.
func TestLargeStringChunks(t *testing.T) {
	ctx := context.Background()
	schema := &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "id", Type: "BIGINT"},
		{ID: 2, Name: "s", Type: "VARCHAR(32)"},
	}, NextColumnID: 3}
	as, err := ArrowSchema(schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 300_000
	val := func(i int) string { return fmt.Sprintf("value-%06d-%08x", i%120_000, uint32(i%120_000)*2654435761) }
	b := array.NewRecordBuilder(memory.DefaultAllocator, as)
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(val(i))
	}
	rec := b.NewRecord()
	b.Release()
	defer rec.Release()
	st := mem.New()
	if _, err := WriteFile(ctx, st, "data.parquet", schema, []arrow.Record{rec}, WriterOptions{KeyColumns: []int{1}, RowGroupRows: 100_000}); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(ctx, st, "data.parquet", ReaderOptions{})
	if err != nil {
		t.Fatalf("a file whose last chunk has a large dictionary: %v", err)
	}
	f.Close()
	if _, err := WriteIndexFile(ctx, st, "ix.parquet", schema, []int{2}, nil, []arrow.Record{rec}, WriterOptions{RowGroupRows: 100_000}); err != nil {
		t.Fatal(err)
	}
	ix, err := OpenFile(ctx, st, "ix.parquet", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	for i := 0; i < 120_000; i += 997 {
		ok, err := ix.MayContainValue(ctx, 2, val(i))
		if err != nil || !ok {
			t.Fatalf("the index file's bloom filter rules out %q, which it holds (%v)", val(i), err)
		}
		pos, found, err := ix.IndexPositions(ctx, 2, []any{val(i)})
		if err != nil || !found || len(pos) < 2 {
			t.Fatalf("IndexPositions(%q) = %v, %v, %v", val(i), pos, found, err)
		}
	}
}

// TestIndexPositionsPages: IndexPositions over index files of many small
// pages and several row groups, with runs of equal values crossing page
// and row-group boundaries and NULLs, against a model; and a lookup
// decodes only the pages the column index admits (a handful, not one per
// binary-search probe).
func TestIndexPositionsPages(t *testing.T) {
	ctx := context.Background()
	for _, typ := range []string{"INT", "VARCHAR(12)"} {
		t.Run(typ, func(t *testing.T) {
			schema := &base.Schema{Columns: []base.Column{
				{ID: 1, Name: "id", Type: "BIGINT"},
				{ID: 2, Name: "x", Type: typ, Nullable: true},
			}, NextColumnID: 3}
			as, err := ArrowSchema(schema, nil)
			if err != nil {
				t.Fatal(err)
			}
			rnd := rand.New(rand.NewPCG(7, uint64(len(typ))))
			const n = 20000
			val := func(v int) any {
				if typ == "INT" {
					return int32(v)
				}
				return fmt.Sprintf("v%07d", v)
			}
			model := map[int][]int64{} // value -> positions
			b := array.NewRecordBuilder(memory.DefaultAllocator, as)
			for i := range n {
				b.Field(0).(*array.Int64Builder).Append(int64(i))
				// Values 0..999, some repeated hundreds of times (runs
				// over pages), one in 50 NULL.
				if rnd.IntN(50) == 0 {
					b.Field(1).AppendNull()
					continue
				}
				v := rnd.IntN(1000)
				if rnd.IntN(4) == 0 {
					v = 500 + rnd.IntN(3)
				}
				model[v] = append(model[v], int64(i))
				switch x := val(v).(type) {
				case int32:
					b.Field(1).(*array.Int32Builder).Append(x)
				case string:
					b.Field(1).(*array.StringBuilder).Append(x)
				}
			}
			rec := b.NewRecord()
			b.Release()
			defer rec.Release()
			st := mem.New()
			if _, err := WriteIndexFile(ctx, st, "ix.parquet", schema, []int{2}, nil, []arrow.Record{rec},
				WriterOptions{PageSize: 512, RowGroupRows: 7000}); err != nil {
				t.Fatal(err)
			}
			cache := NewPageCache(64 << 20)
			f, err := OpenFile(ctx, st, "ix.parquet", ReaderOptions{PageCache: cache})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for v := -1; v <= 1000; v++ {
				before := cache.Stats().Misses
				pos, ok, err := f.IndexPositions(ctx, 2, []any{val(v)})
				if err != nil || !ok {
					t.Fatalf("IndexPositions(%v): %v, %v", val(v), ok, err)
				}
				if fmt.Sprint(pos) != fmt.Sprint(model[v]) && len(pos)+len(model[v]) > 0 {
					t.Fatalf("IndexPositions(%v) = %v, want %v", val(v), pos, model[v])
				}
				// A cold lookup of a short run reads a page or two of the
				// value column per row group, and the position pages.
				if misses := cache.Stats().Misses - before; len(model[v]) < 30 && misses > 12 {
					t.Errorf("IndexPositions(%v) decoded %d pages", val(v), misses)
				}
			}
		})
	}
}
