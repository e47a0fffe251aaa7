package parquetio

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go/format"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store/mem"
)

// TestIncompressibleColumnsUncompressed: columns whose first values zstd
// cannot shrink (random doubles, random hex strings written PLAIN) are
// stored uncompressed, the others zstd, and every value reads back.
func TestIncompressibleColumnsUncompressed(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	s := &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "id", Type: "BIGINT"},
		{ID: 2, Name: "noise", Type: "DOUBLE", Nullable: true},
		{ID: 3, Name: "hash", Type: "VARCHAR(40)"},
		{ID: 4, Name: "cat", Type: "INT"},
		{ID: 5, Name: "few", Type: "DOUBLE"},
	}}
	r := rand.New(rand.NewPCG(1, 2))
	rows := make([][]any, 20000)
	for i := range rows {
		var noise any = r.Float64()
		if i%97 == 0 {
			noise = nil
		}
		rows[i] = []any{int64(i), noise, fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64()), int32(i % 7), float64(i%3) / 2}
	}
	st := mem.New()
	writeFile(t, st, "a.parquet", s, alloc, rows, 5000, WriterOptions{KeyColumns: []int{1}})
	f, err := OpenFile(context.Background(), st, "a.parquet", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]format.CompressionCodec{
		"id": format.Zstd, "noise": format.Uncompressed, "hash": format.Uncompressed,
		"cat": format.Zstd, "few": format.Zstd,
	}
	for _, rg := range f.pf.Metadata().RowGroups {
		for _, c := range rg.Columns {
			name := c.MetaData.PathInSchema[0]
			if got := c.MetaData.Codec; got != want[name] {
				t.Errorf("column %s: codec %v, want %v", name, got, want[name])
			}
		}
	}
	got, _ := readAll(t, f, ReadOptions{Alloc: alloc})
	if len(got) != len(rows) {
		t.Fatalf("read %d rows, want %d", len(got), len(rows))
	}
	for i, row := range got {
		if row[1].null != (rows[i][1] == nil) || (!row[1].null && row[1].f != rows[i][1].(float64)) || row[2].s != rows[i][2].(string) {
			t.Fatalf("row %d: read %+v, wrote %v", i, row, rows[i])
		}
	}
}
