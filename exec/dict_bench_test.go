package exec

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/store/mem"
)

// BenchmarkDictionaryGroupBy reads, through parquetio, a string column of 1,000 distinct
// values (1Mi rows, written with a dictionary) and groups by it, the shape
// of SELECT s, COUNT(*), MIN(v) FROM t GROUP BY s, with
// ReadOptions.Dictionaries off (plain strings: every row's bytes copied
// out of the dictionary, then hashed) and on (int32 indexes; HashAggregate
// hashes each dictionary entry once per record). "decode" only reads;
// "cached" reads whole chunks from the chunk cache, which holds them in
// dictionary form (plain reads gather the strings out of it).
func BenchmarkDictionaryGroupBy(b *testing.B) {
	s := &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "k", Type: "BIGINT"},
		{ID: 2, Name: "s", Type: "VARCHAR(32)"},
		{ID: 3, Name: "v", Type: "INT"},
	}, NextColumnID: 4}
	as, _ := parquetio.ArrowSchema(s, nil)
	const rows = 1 << 20
	var recs []arrow.Record
	for lo := 0; lo < rows; lo += 1 << 16 {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, as)
		for i := lo; i < lo+1<<16; i++ {
			bld.Field(0).(*array.Int64Builder).Append(int64(i))
			bld.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("customer-%06d", i*7919%1000))
			bld.Field(2).(*array.Int32Builder).Append(int32(i % 997))
		}
		recs = append(recs, bld.NewRecord())
		bld.Release()
	}
	st := mem.New()
	if _, err := parquetio.WriteFile(context.Background(), st, "g.parquet", s, recs, parquetio.WriterOptions{KeyColumns: []int{1}, RowGroupRows: 128 << 10}); err != nil {
		b.Fatal(err)
	}
	for _, r := range recs {
		r.Release()
	}
	for _, cached := range []bool{false, true} {
		ro := parquetio.ReaderOptions{PageCacheBytes: -1}
		if cached {
			ro = parquetio.ReaderOptions{PageCache: parquetio.NewPageCache(256 << 20), CacheChunks: true}
		}
		f, err := parquetio.OpenFile(context.Background(), st, "g.parquet", ro)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		for _, work := range []string{"decode", "groupby"} {
			for _, dicts := range []bool{false, true} {
				name := fmt.Sprintf("%s/cached=%v/dictionaries=%v", work, cached, dicts)
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						rr, err := f.Read(context.Background(), parquetio.ReadOptions{Columns: []int{2, 3}, Dictionaries: dicts})
						if err != nil {
							b.Fatal(err)
						}
						var h *HashAggregate
						if work == "groupby" {
							if h, err = NewHashAggregate(rr.Schema(), []int{0}, []Aggregate{{Func: CountStar}, {Func: Min, Col: 1}}); err != nil {
								b.Fatal(err)
							}
						}
						n := 0
						for rr.Next() {
							n += int(rr.Record().NumRows())
							if h != nil {
								if err := h.Add(rr.Record()); err != nil {
									b.Fatal(err)
								}
							}
						}
						if err := rr.Err(); err != nil {
							b.Fatal(err)
						}
						rr.Close()
						if n != rows || (h != nil && h.Len() != 1000) {
							b.Fatalf("%d rows", n)
						}
					}
					b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrows/s")
				})
			}
		}
	}
}
