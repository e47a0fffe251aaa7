package parquetio

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store/mem"
)

var benchSchema = &base.Schema{Columns: []base.Column{
	{ID: 1, Name: "k", Type: "BIGINT"},
	{ID: 2, Name: "v", Type: "INT"},
	{ID: 3, Name: "d", Type: "DOUBLE"},
	{ID: 4, Name: "s", Type: "VARCHAR(16)"},
}}

// benchBatches builds n rows in batches of 64Ki directly with builders.
func benchBatches(n int) []arrow.Record {
	as, _ := ArrowSchema(benchSchema, nil)
	var out []arrow.Record
	for lo := 0; lo < n; lo += 1 << 16 {
		hi := min(n, lo+1<<16)
		b := array.NewRecordBuilder(memory.DefaultAllocator, as)
		for i := lo; i < hi; i++ {
			b.Field(0).(*array.Int64Builder).Append(int64(i))
			b.Field(1).(*array.Int32Builder).Append(int32(i % 1000))
			b.Field(2).(*array.Float64Builder).Append(float64(i) * 0.5)
			b.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("v%015d", i*7919%1000003))
		}
		out = append(out, b.NewRecord())
		b.Release()
	}
	return out
}

const benchRows = 1 << 20

func BenchmarkWrite(b *testing.B) {
	batches := benchBatches(benchRows)
	var size int64
	b.ResetTimer()
	for b.Loop() {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, benchSchema, WriterOptions{KeyColumns: []int{1}, RowGroupRows: 256 << 10, PageSize: 16 << 10})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range batches {
			if err := w.Write(r); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := w.Close(); err != nil {
			b.Fatal(err)
		}
		size = int64(buf.Len())
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(size), "file-bytes")
	b.SetBytes(benchRows * (8 + 4 + 8 + 16))
}

func benchFile(b *testing.B) *File {
	st := mem.New()
	if _, err := WriteFile(context.Background(), st, "b.parquet", benchSchema, benchBatches(benchRows),
		WriterOptions{KeyColumns: []int{1}, RowGroupRows: 128 << 10, PageSize: 8 << 10}); err != nil {
		b.Fatal(err)
	}
	f, err := OpenFile(context.Background(), st, "b.parquet", ReaderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func BenchmarkScan2Columns(b *testing.B) {
	f := benchFile(b)
	defer f.Close()
	b.ResetTimer()
	for b.Loop() {
		rr, err := f.Read(context.Background(), ReadOptions{Columns: []int{1, 3}})
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
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkFilteredCount(b *testing.B) {
	f := benchFile(b)
	defer f.Close()
	b.ResetTimer()
	for b.Loop() {
		rr, err := f.Read(context.Background(), ReadOptions{Columns: []int{1}, Predicate: Cmp(2, OpLt, 10)})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for rr.Next() {
			n += int(rr.Record().NumRows())
		}
		rr.Close()
		if n != benchRows/100+48 && n == 0 {
			b.Fatal(n)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkPointLookup(b *testing.B) {
	f := benchFile(b)
	defer f.Close()
	ctx := context.Background()
	ki, err := f.KeyIndex(ctx)
	if err != nil {
		b.Fatal(err)
	}
	enc, _ := NewKeyEncoder(benchSchema, []int{1})
	i := 0
	b.ResetTimer()
	for b.Loop() {
		i = (i + 7919) % benchRows
		key, _ := enc.Encode(int64(i))
		pos, ok := ki.Lookup(key)
		if !ok {
			b.Fatal("missing")
		}
		rec, err := f.ReadRows(ctx, []int64{pos}, nil, memory.DefaultAllocator)
		if err != nil {
			b.Fatal(err)
		}
		rec.Release()
	}
}
