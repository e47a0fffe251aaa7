package parquetio

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/store/mem"
)

// BenchmarkPageSize measures what the data page size costs a full scan and
// gains a cold point read (no page cache), on 1Mi rows of four columns.
func BenchmarkPageSize(b *testing.B) {
	ctx := context.Background()
	batches := benchBatches(0, benchRows)
	for _, ps := range []int{4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10} {
		st := mem.New()
		name := fmt.Sprintf("p%d.parquet", ps)
		if _, err := WriteFile(ctx, st, name, benchSchema, batches, WriterOptions{KeyColumns: []int{1}, PageSize: ps, KeyPageSize: ps}); err != nil {
			b.Fatal(err)
		}
		info, _ := st.Stat(ctx, name)
		b.Run(fmt.Sprintf("scan/%dk", ps>>10), func(b *testing.B) {
			f, err := OpenFile(ctx, st, name, ReaderOptions{PageCacheBytes: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			for b.Loop() {
				rr, err := f.Read(ctx, ReadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rr.Next() {
					n += int(rr.Record().NumRows())
				}
				rr.Close()
				if n != benchRows {
					b.Fatal(n)
				}
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrows/s")
			b.ReportMetric(float64(info.Size), "file-bytes")
		})
		b.Run(fmt.Sprintf("point/%dk", ps>>10), func(b *testing.B) {
			f, err := OpenFile(ctx, st, name, ReaderOptions{PageCacheBytes: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			rnd := rand.New(rand.NewPCG(1, 2))
			for b.Loop() {
				rec, err := f.ReadRows(ctx, []int64{rnd.Int64N(benchRows)}, nil, memory.DefaultAllocator)
				if err != nil {
					b.Fatal(err)
				}
				rec.Release()
			}
		})
	}
}
