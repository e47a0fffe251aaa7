package memtable

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func benchRows(b *testing.B, n int) []Change {
	enc := mustEncoder(b, smallSchema(), 1)
	out := make([]Change, n)
	for i := range out {
		id := int64(i)
		out[i] = Change{Key: mustKey(b, enc, id), Row: []any{id, int32(i % 1000), "value"}}
	}
	return out
}

// BenchmarkApply applies 1,000-row transactions (rows/s).
func BenchmarkApply(b *testing.B) {
	rows := benchRows(b, 1_000_000)
	m := New(Options{})
	if err := m.AddTable("t", smallSchema()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var seq uint64
	for i := 0; b.Loop(); i++ {
		seq++
		off := (i * 1000) % len(rows)
		if err := m.Apply(seq, "t", rows[off:off+1000]...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(m.Bytes())/float64(m.Len()), "bytes/version")
}

// BenchmarkRecords reads a 1M-row MemTable into Arrow records (rows/s).
func BenchmarkRecords(b *testing.B) {
	rows := benchRows(b, 1_000_000)
	m := New(Options{})
	if err := m.AddTable("t", smallSchema()); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < len(rows); i += 1000 {
		if err := m.Apply(uint64(i/1000+1), "t", rows[i:i+1000]...); err != nil {
			b.Fatal(err)
		}
	}
	v, _ := m.Snapshot(m.LastSeq())
	defer v.Release()
	src := v.Table("t")
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		it, err := src.Records(ctx, nil, memory.DefaultAllocator)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for it.Next() {
			n += int(it.Record().NumRows())
		}
		it.Close()
		if n != len(rows) {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(rows))/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkGet looks single keys up in a 1M-row MemTable.
func BenchmarkGet(b *testing.B) {
	rows := benchRows(b, 1_000_000)
	m := New(Options{})
	if err := m.AddTable("t", smallSchema()); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < len(rows); i += 1000 {
		if err := m.Apply(uint64(i/1000+1), "t", rows[i:i+1000]...); err != nil {
			b.Fatal(err)
		}
	}
	v, _ := m.Snapshot(m.LastSeq())
	defer v.Release()
	src := v.Table("t")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		rec, _, found, err := src.Get(ctx, rows[(i*7919)%len(rows)].Key, nil, memory.DefaultAllocator)
		if err != nil || !found {
			b.Fatal(err, found)
		}
		rec.Release()
	}
}
