package scan

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/scan/dv"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/mem"
	"github.com/lakesql/lakesql/txn"
)

// The model: a table (id BIGINT key, a INT NULL, s VARCHAR(8) NULL) kept as
// a map, and the same table as files with deletion vectors plus an
// in-memory source with masks. Every scan and lookup must agree.

const (
	colID = 1
	colA  = 2
	colS  = 3
)

type row struct {
	id int64
	a  *int32
	s  *string
}

func testSchema() *base.Schema {
	return &base.Schema{Columns: []base.Column{
		{ID: colID, Name: "id", Type: "BIGINT"},
		{ID: colA, Name: "a", Type: "INT", Nullable: true},
		{ID: colS, Name: "s", Type: "VARCHAR(8)", Nullable: true},
	}, NextColumnID: 4}
}

func randomRow(r *rand.Rand, id int64) row {
	rw := row{id: id}
	if r.IntN(8) > 0 {
		v := int32(r.IntN(100) - 20)
		rw.a = &v
	}
	if r.IntN(8) > 0 {
		v := []string{"", "apple", "pear", "plum", "fig", "kiwi"}[r.IntN(6)]
		rw.s = &v
	}
	return rw
}

// buildRecord makes a record of rows in all three columns.
func buildRecord(alloc memory.Allocator, schema *arrow.Schema, rows []row, cols []int) arrow.Record {
	b := array.NewRecordBuilder(alloc, schema)
	defer b.Release()
	for _, rw := range rows {
		for i, c := range cols {
			switch c {
			case colID:
				b.Field(i).(*array.Int64Builder).Append(rw.id)
			case colA:
				if rw.a == nil {
					b.Field(i).AppendNull()
				} else {
					b.Field(i).(*array.Int32Builder).Append(*rw.a)
				}
			case colS:
				if rw.s == nil {
					b.Field(i).AppendNull()
				} else {
					b.Field(i).(*array.StringBuilder).Append(*rw.s)
				}
			}
		}
	}
	return b.NewRecord()
}

// fakeSource is an in-memory source: rows by key, delete markers, and masks
// of the file rows it supersedes.
type fakeSource struct {
	t      *testing.T
	schema *base.Schema
	rows   map[int64]*row // nil: a delete marker
	masks  map[string]*roaring.Bitmap
	enc    *parquetio.KeyEncoder
}

func (s *fakeSource) Mask(path string) *roaring.Bitmap { return s.masks[path] }

func (s *fakeSource) live() []row {
	var out []row
	for _, r := range s.rows {
		if r != nil {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (s *fakeSource) LiveRows() int64 { return int64(len(s.live())) }

func (s *fakeSource) Records(ctx context.Context, columns []int, alloc memory.Allocator) (RecordIterator, error) {
	as, err := parquetio.ArrowSchema(s.schema, columns)
	if err != nil {
		return nil, err
	}
	live := s.live()
	var recs []arrow.Record
	for i := 0; i < len(live); i += 7 { // several small records
		recs = append(recs, buildRecord(alloc, as, live[i:min(i+7, len(live))], columns))
	}
	return &sliceIter{recs: recs, i: -1}, nil
}

func (s *fakeSource) Get(ctx context.Context, key parquetio.Key, columns []int, alloc memory.Allocator) (arrow.Record, bool, bool, error) {
	for id, r := range s.rows {
		k, err := s.enc.Encode(id)
		if err != nil {
			return nil, false, false, err
		}
		if k != key {
			continue
		}
		if r == nil {
			return nil, true, true, nil
		}
		as, err := parquetio.ArrowSchema(s.schema, columns)
		if err != nil {
			return nil, false, false, err
		}
		return buildRecord(alloc, as, []row{*r}, columns), false, true, nil
	}
	return nil, false, false, nil
}

type sliceIter struct {
	recs []arrow.Record
	i    int
}

func (it *sliceIter) Next() bool           { it.i++; return it.i < len(it.recs) }
func (it *sliceIter) Record() arrow.Record { return it.recs[it.i] }
func (it *sliceIter) Err() error           { return nil }
func (it *sliceIter) Close() {
	for _, r := range it.recs {
		r.Release()
	}
	it.recs = nil
}

// world is one random table: the model, the files, the source.
type world struct {
	st     store.Store
	model  map[int64]row
	table  *Table
	reader *Reader
	enc    *parquetio.KeyEncoder
	// inFiles is where each key's live file row is (under the deletion
	// vectors, not the source's masks): what LocateAll finds.
	inFiles map[int64]Location
}

// newWorld writes gens generations of files: each generation upserts random
// keys (older files' rows of those keys are deleted by deletion vectors, as
// a flush does) and deletes some; then a source upserts and deletes more.
func newWorld(t *testing.T, r *rand.Rand, alloc memory.Allocator, gens int) *world {
	ctx := context.Background()
	st := mem.New()
	schema := testSchema()
	as, err := parquetio.ArrowSchema(schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := parquetio.NewKeyEncoder(schema, []int{colID})
	if err != nil {
		t.Fatal(err)
	}
	model := map[int64]row{}
	type fileRows struct {
		add     *txn.Add
		pos     map[int64]int64 // key -> position
		deleted *roaring.Bitmap
	}
	var files []*fileRows
	where := map[int64]*fileRows{} // the file holding a key's live row
	kill := func(id int64) {
		if f := where[id]; f != nil {
			f.deleted.Add(uint32(f.pos[id]))
			delete(where, id)
		}
		delete(model, id)
	}
	keySpace := int64(50 + r.IntN(400))
	for g := range gens {
		n := 1 + r.IntN(int(keySpace))
		ids := map[int64]bool{}
		for range n {
			ids[r.Int64N(keySpace)] = true
		}
		sorted := slices.Sorted(func(yield func(int64) bool) {
			for id := range ids {
				if !yield(id) {
					return
				}
			}
		})
		var rows []row
		for _, id := range sorted {
			kill(id)
			rows = append(rows, randomRow(r, id))
		}
		rec := buildRecord(alloc, as, rows, []int{colID, colA, colS})
		path := fmt.Sprintf("data/t1/g%03d.parquet", g)
		stats, err := parquetio.WriteFile(ctx, st, "db/"+path, schema, []arrow.Record{rec},
			parquetio.WriterOptions{KeyColumns: []int{colID}, RowGroupRows: 1 + r.IntN(64), PageSize: 64 + r.IntN(512)})
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		f := &fileRows{add: &txn.Add{Table: "t1", Path: path, Rows: stats.Rows, Bytes: stats.Bytes, Generation: int64(g + 1)},
			pos: map[int64]int64{}, deleted: roaring.New()}
		for i, rw := range rows {
			f.pos[rw.id] = int64(i)
			where[rw.id] = f
			model[rw.id] = rw
		}
		files = append(files, f)
		// Some deletes.
		for range r.IntN(5) {
			kill(r.Int64N(keySpace))
		}
	}
	// Deletion vectors: some inline, some in a DV file.
	w := dv.NewWriter("db", "t1", dv.WriterOptions{InlineLimit: 16 + r.IntN(64)})
	for _, f := range files {
		if f.deleted.IsEmpty() {
			continue
		}
		d, err := w.Add(f.add.Path, f.deleted)
		if err != nil {
			t.Fatal(err)
		}
		f.add.DV = &d
	}
	if err := w.Finish(ctx, st); err != nil {
		t.Fatal(err)
	}
	inFiles := map[int64]Location{}
	for id, f := range where {
		inFiles[id] = Location{Path: f.add.Path, Position: f.pos[id]}
	}
	// The source: upserts and deletes on top, masking the file rows.
	src := &fakeSource{t: t, schema: schema, rows: map[int64]*row{}, masks: map[string]*roaring.Bitmap{}, enc: enc}
	for range r.IntN(int(keySpace)) {
		id := r.Int64N(keySpace + 10)
		if f := where[id]; f != nil {
			m := src.masks[f.add.Path]
			if m == nil {
				m = roaring.New()
				src.masks[f.add.Path] = m
			}
			m.Add(uint32(f.pos[id]))
			delete(where, id)
		}
		if r.IntN(3) == 0 {
			src.rows[id] = nil
			delete(model, id)
		} else {
			rw := randomRow(r, id)
			src.rows[id] = &rw
			model[id] = rw
		}
	}
	tbl := &Table{Schema: schema, Sources: []Source{src}}
	for _, f := range files {
		tbl.Files = append(tbl.Files, f.add)
	}
	return &world{st: st, model: model, table: tbl, reader: NewReader(st, "db", Options{OpenFiles: 1 + r.IntN(4)}), enc: enc, inFiles: inFiles}
}

// randomPredicate returns a predicate and the same test in Go (SQL
// three-valued logic: only true keeps a row).
func randomPredicate(r *rand.Rand) (*parquetio.Predicate, func(row) bool, string) {
	switch r.IntN(7) {
	case 0:
		return nil, func(row) bool { return true }, "true"
	case 1:
		v := int64(r.IntN(300))
		return parquetio.Cmp(colID, parquetio.OpGe, v), func(w row) bool { return w.id >= v }, fmt.Sprintf("id >= %d", v)
	case 2:
		v := int32(r.IntN(80) - 20)
		return parquetio.Cmp(colA, parquetio.OpLt, v), func(w row) bool { return w.a != nil && *w.a < v }, fmt.Sprintf("a < %d", v)
	case 3:
		return parquetio.IsNull(colS), func(w row) bool { return w.s == nil }, "s IS NULL"
	case 4:
		v := []string{"apple", "fig", ""}[r.IntN(3)]
		return parquetio.Eq(colS, v), func(w row) bool { return w.s != nil && *w.s == v }, fmt.Sprintf("s = %q", v)
	case 5:
		lo, hi := int64(r.IntN(200)), int64(r.IntN(200))+50
		return parquetio.And(parquetio.Cmp(colID, parquetio.OpGt, lo), parquetio.Cmp(colID, parquetio.OpLe, hi)),
			func(w row) bool { return w.id > lo && w.id <= hi }, fmt.Sprintf("id > %d AND id <= %d", lo, hi)
	default:
		v := int32(r.IntN(50))
		return parquetio.Or(parquetio.Cmp(colA, parquetio.OpGt, v), parquetio.Not(parquetio.IsNotNull(colS))),
			func(w row) bool { return (w.a != nil && *w.a > v) || w.s == nil }, fmt.Sprintf("a > %d OR NOT s IS NOT NULL", v)
	}
}

// format renders a row's values in columns for comparison.
func format(w row, cols []int) string {
	out := ""
	for _, c := range cols {
		switch c {
		case colID:
			out += fmt.Sprintf("%d|", w.id)
		case colA:
			if w.a == nil {
				out += "NULL|"
			} else {
				out += fmt.Sprintf("%d|", *w.a)
			}
		case colS:
			if w.s == nil {
				out += "NULL|"
			} else {
				out += fmt.Sprintf("%q|", *w.s)
			}
		}
	}
	return out
}

func formatRecord(rec arrow.Record, i int, ncols int) string {
	out := ""
	for c := range ncols {
		col := rec.Column(c)
		if col.IsNull(i) {
			out += "NULL|"
			continue
		}
		switch a := col.(type) {
		case *array.Int64:
			out += fmt.Sprintf("%d|", a.Value(i))
		case *array.Int32:
			out += fmt.Sprintf("%d|", a.Value(i))
		case *array.String:
			out += fmt.Sprintf("%q|", a.Value(i))
		case *array.Dictionary:
			out += fmt.Sprintf("%q|", a.Dictionary().(*array.String).Value(a.GetValueIndex(i)))
		}
	}
	return out
}

// checkTypes fails t unless rec's columns have the types of the scan's
// schema, or, with dicts, are dictionary arrays of those types; it
// returns the number of dictionary columns.
func checkTypes(t *testing.T, it *Iterator, rec arrow.Record, dicts bool) int {
	t.Helper()
	n := 0
	for j, col := range rec.Columns() {
		want := it.Schema().Field(j).Type
		if !arrow.TypeEqual(rec.Schema().Field(j).Type, col.DataType()) {
			t.Fatalf("record field %d is %s, its column %s", j, rec.Schema().Field(j).Type, col.DataType())
		}
		if arrow.TypeEqual(col.DataType(), want) {
			continue
		}
		dt, ok := col.DataType().(*arrow.DictionaryType)
		if !dicts || !ok || !arrow.TypeEqual(dt.ValueType, want) {
			t.Fatalf("column %d is %s, want %s (dictionaries %v)", j, col.DataType(), want, dicts)
		}
		n++
	}
	return n
}

// TestRandomScans compares scans, lookups and counts of random tables with
// the model, with string columns read plain or as dictionary arrays (file
// rows of dictionary-encoded chunks; the source's rows stay plain).
func TestRandomScans(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	ctx := context.Background()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	dictRecords := 0
	defer func() {
		if !t.Failed() && dictRecords == 0 {
			t.Errorf("seed %d: no scan returned a dictionary array", seed)
		}
	}()
	for trial := range 12 {
		w := newWorld(t, r, alloc, 1+r.IntN(8))
		n, err := w.reader.Count(ctx, w.table)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(w.model)) {
			t.Fatalf("seed %d trial %d: count %d, model has %d", seed, trial, n, len(w.model))
		}
		for range 10 {
			cols := [][]int{{colID, colA, colS}, {colS}, {colA, colID}, {colID}}[r.IntN(4)]
			pred, keep, desc := randomPredicate(r)
			var want []string
			for _, rw := range w.model {
				if keep(rw) {
					want = append(want, format(rw, cols))
				}
			}
			req := Request{Columns: cols, Predicate: pred, Alloc: alloc, BatchSize: 1 + r.IntN(100), WithLocation: r.IntN(2) == 0,
				Dictionaries: r.IntN(2) == 0}
			if r.IntN(3) == 0 {
				// Go memory: the reader's chunk cache serves the reads,
				// with and without dictionaries.
				req.Alloc = memory.DefaultAllocator
			}
			var got []string
			var parts []*Partition
			if r.IntN(2) == 0 {
				for _, p := range Plan(w.table, 1+r.IntN(3)) {
					parts = append(parts, &p)
				}
			} else {
				parts = []*Partition{nil}
			}
			for _, p := range parts {
				it, err := w.reader.Scan(ctx, w.table, req, p)
				if err != nil {
					t.Fatal(err)
				}
				for it.Next() {
					rec := it.Record()
					if checkTypes(t, it, rec, req.Dictionaries) > 0 {
						dictRecords++
					}
					for i := range int(rec.NumRows()) {
						got = append(got, formatRecord(rec, i, len(cols)))
					}
				}
				if err := it.Err(); err != nil {
					t.Fatalf("seed %d: scan: %v", seed, err)
				}
				it.Close()
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d trial %d: scan of %v where %s:\n got %d rows %v\nwant %d rows %v", seed, trial, cols, desc, len(got), got, len(want), want)
			}
		}
		for range 30 {
			id := r.Int64N(500)
			key, err := w.enc.Encode(id)
			if err != nil {
				t.Fatal(err)
			}
			rec, loc, found, err := w.reader.Lookup(ctx, w.table, key, []int{colID, colA, colS}, alloc)
			if err != nil {
				t.Fatal(err)
			}
			want, ok := w.model[id]
			if found != ok {
				t.Fatalf("seed %d: lookup %d found=%v, model %v", seed, id, found, ok)
			}
			if found {
				if got := formatRecord(rec, 0, 3); got != format(want, []int{colID, colA, colS}) {
					t.Fatalf("seed %d: lookup %d = %s, want %s (at %+v)", seed, id, got, format(want, []int{colID, colA, colS}), loc)
				}
				rec.Release()
			}
		}
		w.reader.Close()
	}
}

var _ store.Store = (*mem.Store)(nil)
