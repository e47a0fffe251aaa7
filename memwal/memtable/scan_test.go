package memtable

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/scan"
	"github.com/lakesql/lakesql/store/mem"
	"github.com/lakesql/lakesql/txn"
)

// TestScanWithFiles reads data files and a MemTable view together through
// scan.Reader: the MemTable supersedes file rows (locations set as memwal
// sets them, from the key's first write) and adds its own; Scan, Lookup and
// Count at several snapshots agree with the model.
func TestScanWithFiles(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 3))
	ctx := context.Background()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	schema := smallSchema()
	enc := mustEncoder(t, schema, 1)
	as, err := parquetio.ArrowSchema(schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	randRow := func(id int64) []any {
		row := []any{id, nil, nil}
		if r.IntN(5) > 0 {
			row[1] = int32(r.IntN(100))
		}
		if r.IntN(5) > 0 {
			row[2] = []string{"", "apple", "fig", "kiwi"}[r.IntN(4)]
		}
		return row
	}
	for trial := range 6 {
		st := mem.New()
		// Two files with disjoint keys, sorted by key.
		const keySpace = 150
		fileOf := map[int64]Location{}
		base := map[int64][]any{}
		var files []*txn.Add
		var ids [2][]int64
		for id := range int64(keySpace - 30) {
			if r.IntN(4) > 0 {
				f := r.IntN(2)
				ids[f] = append(ids[f], id)
			}
		}
		for f := range 2 {
			path := fmt.Sprintf("data/t/f%d.parquet", f)
			b := array.NewRecordBuilder(alloc, as)
			for pos, id := range ids[f] {
				row := randRow(id)
				base[id] = row
				fileOf[id] = Location{Path: path, Position: int64(pos)}
				b.Field(0).(*array.Int64Builder).Append(id)
				if row[1] == nil {
					b.Field(1).AppendNull()
				} else {
					b.Field(1).(*array.Int32Builder).Append(row[1].(int32))
				}
				if row[2] == nil {
					b.Field(2).AppendNull()
				} else {
					b.Field(2).(*array.StringBuilder).Append(row[2].(string))
				}
			}
			rec := b.NewRecord()
			b.Release()
			stats, err := parquetio.WriteFile(ctx, st, "db/"+path, schema, []arrow.Record{rec},
				parquetio.WriterOptions{KeyColumns: []int{1}, RowGroupRows: 1 + r.IntN(40)})
			rec.Release()
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, &txn.Add{Table: "t", Path: path, Rows: stats.Rows, Bytes: stats.Bytes, Generation: int64(f + 1)})
		}
		// The MemTable: random writes; the first write of a key in a file
		// records its location, valid from that write.
		m := New(Options{BatchSize: 1 + r.IntN(50)})
		must(t, m.AddTable("t", schema))
		history := map[int64][]modelVersion{}
		var seq uint64
		for range 60 {
			seq++
			for range 1 + r.IntN(5) {
				id := r.Int64N(keySpace)
				key := mustKey(t, enc, id)
				ch := Change{Key: key}
				var row []any
				if r.IntN(3) == 0 {
					ch.Deleted = true
				} else {
					row = randRow(id)
					ch.Row = row
				}
				if loc, ok := fileOf[id]; ok && len(history[id]) == 0 {
					must(t, m.SetLocation("t", key, loc, seq))
				}
				must(t, m.Apply(seq, "t", ch))
				h := history[id]
				if n := len(h); n > 0 && h[n-1].seq == seq {
					h[n-1].row = row
				} else {
					history[id] = append(h, modelVersion{seq: seq, row: row})
				}
			}
		}
		reader := scan.NewReader(st, "db", scan.Options{})
		for _, s := range []uint64{0, 1 + r.Uint64N(seq), 1 + r.Uint64N(seq), seq} {
			v, err := m.Snapshot(s)
			if err != nil {
				t.Fatal(err)
			}
			model := map[int64][]any{}
			for id, row := range base {
				model[id] = row
			}
			for id, h := range history {
				for i := len(h) - 1; i >= 0; i-- {
					if h[i].seq <= s {
						if h[i].row == nil {
							delete(model, id)
						} else {
							model[id] = h[i].row
						}
						break
					}
				}
			}
			tbl := &scan.Table{Schema: schema, Files: files, Sources: []scan.Source{v.Table("t")}}
			n, err := reader.Count(ctx, tbl)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(model)) {
				t.Fatalf("seed %d trial %d seq %d: Count %d, model %d", seed, trial, s, n, len(model))
			}
			// A scan with a predicate on a non-key column.
			lim := int32(r.IntN(100))
			it, err := reader.Scan(ctx, tbl, scan.Request{Columns: []int{1, 2, 3}, Alloc: alloc, BatchSize: 1 + r.IntN(30),
				Predicate: parquetio.Cmp(2, parquetio.OpLt, lim)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got, want []string
			for it.Next() {
				got = append(got, recordRows(it.Record())...)
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			it.Close()
			for _, row := range model {
				if row[1] != nil && row[1].(int32) < lim {
					want = append(want, fmtVals(row))
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d trial %d seq %d: scan where a < %d:\n got %q\nwant %q", seed, trial, s, lim, got, want)
			}
			for range 40 {
				id := r.Int64N(keySpace + 5)
				rec, _, found, err := reader.Lookup(ctx, tbl, mustKey(t, enc, id), []int{1, 2, 3}, alloc)
				if err != nil {
					t.Fatal(err)
				}
				row, ok := model[id]
				if found != ok {
					t.Fatalf("seed %d trial %d seq %d: Lookup(%d) found %v, model %v", seed, trial, s, id, found, ok)
				}
				if found {
					if got := recordRows(rec)[0]; got != fmtVals(row) {
						t.Fatalf("seed %d trial %d seq %d: Lookup(%d) = %s, want %s", seed, trial, s, id, got, fmtVals(row))
					}
					rec.Release()
				}
			}
			v.Release()
		}
		reader.Close()
		must(t, m.Close())
	}
}
