package memtable

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
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

// BenchmarkApplyRandom applies 1,000-row transactions of random keys, as a
// branch's upserts do, to MemTables that grow to 150,000 rows (what a
// 32 MiB flush holds of the memwal benchmark's rows) and are replaced
// then; BIGINT keys, and VARCHAR keys sharing their first 9 bytes (the
// tree's prefix ties: keys are compared whole); by B-tree degree (ns/row).
func BenchmarkApplyRandom(b *testing.B) {
	varchar := &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "id", Type: "VARCHAR(32)"},
		{ID: 2, Name: "a", Type: "INT", Nullable: true},
		{ID: 3, Name: "s", Type: "VARCHAR(8)", Nullable: true},
	}, NextColumnID: 4}
	for _, kind := range []string{"bigint", "varchar"} {
		schema := smallSchema()
		if kind == "varchar" {
			schema = varchar
		}
		enc := mustEncoder(b, schema, 1)
		rnd := rand.New(rand.NewPCG(1, 2))
		rows := make([]Change, 1_000_000)
		for i := range rows {
			var id any = rnd.Int64N(1 << 40)
			if kind == "varchar" {
				id = fmt.Sprintf("customer-%013d", id)
			}
			rows[i] = Change{Key: mustKey(b, enc, id), Row: []any{id, int32(i % 1000), "value"}}
		}
		for _, degree := range []int{32, 64} {
			b.Run(fmt.Sprintf("key=%s/degree=%d", kind, degree), func(b *testing.B) {
				var m *MemTable
				var seq uint64
				for i := 0; b.Loop(); i++ {
					if i%150 == 0 {
						m = New(Options{Degree: degree})
						if err := m.AddTable("t", schema); err != nil {
							b.Fatal(err)
						}
					}
					seq++
					off := (i * 1000) % len(rows)
					if err := m.ApplyNormalized(seq, "t", rows[off:off+1000]...); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/row")
			})
		}
	}
}
