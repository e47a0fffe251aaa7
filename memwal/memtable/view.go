package memtable

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/scan"
)

// View is a MemTable at one sequence number: it sees exactly the versions
// at or below it. A view holds a reference to its MemTable, which stays
// alive (even frozen, flushed and released by its owner) until the view is
// released. A View is safe for concurrent use; Retain and Release may be
// called from any goroutine.
type View struct {
	m    *MemTable
	seq  uint64
	refs atomic.Int32
}

// Seq is the view's sequence number.
func (v *View) Seq() uint64 { return v.seq }

// Retain adds a reference; each needs a Release.
func (v *View) Retain() {
	if v.refs.Add(1) <= 1 {
		panic("memtable: Retain of a released view")
	}
}

// Release drops a reference; the last one unpins the MemTable.
func (v *View) Release() {
	switch n := v.refs.Add(-1); {
	case n == 0:
		v.m.releaseView(v)
	case n < 0:
		panic("memtable: view released too many times")
	}
}

// Table returns the view of one table, a scan.Source. It is valid while
// the view is retained. A table the MemTable does not hold is an empty
// source.
func (v *View) Table(tableID string) *TableView {
	return &TableView{v: v, t: v.m.table(tableID)}
}

// TableView is one table of a View: the scan.Source of a MemTable at a
// snapshot.
type TableView struct {
	v *View
	t *table // nil: no such table, an empty source
}

var _ scan.Source = (*TableView)(nil)

// Mask returns the positions of the rows of the data file at path that
// keys with a version at or below the view's seq supersede (locations with
// ValidFrom at or below it), or nil. The bitmap is shared and immutable.
func (tv *TableView) Mask(path string) *roaring.Bitmap {
	if tv.t == nil {
		return nil
	}
	m := tv.v.m
	m.mu.RLock()
	pm := tv.t.masks[path]
	m.mu.RUnlock()
	if pm == nil {
		return nil
	}
	return pm.at(tv.v.seq)
}

// LiveRows is the number of keys whose newest version at or below the
// view's seq is a row.
func (tv *TableView) LiveRows() int64 {
	if tv.t == nil {
		return 0
	}
	m := tv.v.m
	m.mu.RLock()
	defer m.mu.RUnlock()
	live := tv.t.live
	i := sort.Search(len(live), func(j int) bool { return live[j].seq > tv.v.seq })
	if i == 0 {
		return 0
	}
	return live[i-1].n
}

// Get returns the newest version at or below the view's seq of key: found
// says whether there is one, deleted whether it is a delete marker;
// otherwise rec is a one-row record of columns (ids; nil for all), which
// the caller releases.
func (tv *TableView) Get(ctx context.Context, key parquetio.Key, columns []int, alloc memory.Allocator) (rec arrow.Record, deleted, found bool, err error) {
	if tv.t == nil {
		return nil, false, false, nil
	}
	schema, idx, err := tv.t.project(columns)
	if err != nil {
		return nil, false, false, err
	}
	m := tv.v.m
	m.mu.RLock()
	var row []any
	if c := tv.t.get(key); c != nil {
		if v := c.at(tv.v.seq); v != nil {
			found, deleted, row = true, v.deleted, v.row
		}
	}
	m.mu.RUnlock()
	if !found || deleted {
		return nil, deleted, found, nil
	}
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	return buildRecord(alloc, schema, idx, [][]any{row}), false, true, nil
}

// GetRow is Get without building a record: the newest version's row (all
// columns, normalized; shared, so the caller must not modify it).
func (tv *TableView) GetRow(key parquetio.Key) (row []any, deleted, found bool) {
	if tv.t == nil {
		return nil, false, false
	}
	m := tv.v.m
	m.mu.RLock()
	defer m.mu.RUnlock()
	if c := tv.t.get(key); c != nil {
		if v := c.at(tv.v.seq); v != nil {
			return v.row, v.deleted, true
		}
	}
	return nil, false, false
}

// Has reports whether the view holds a version of key (a row or a delete
// marker) at or below its seq: a newer MemTable that has the key shadows
// every older source's row of it.
func (tv *TableView) Has(key parquetio.Key) bool {
	if tv.t == nil {
		return false
	}
	m := tv.v.m
	m.mu.RLock()
	defer m.mu.RUnlock()
	c := tv.t.get(key)
	return c != nil && c.at(tv.v.seq) != nil
}

// project returns the Arrow schema of columns (ids; nil for all) and their
// positions in the table's rows.
func (t *table) project(columns []int) (*arrow.Schema, []int, error) {
	if columns == nil {
		idx := make([]int, len(t.cols))
		fields := make([]arrow.Field, len(t.cols))
		for i := range t.cols {
			idx[i], fields[i] = i, t.cols[i].field
		}
		return arrow.NewSchema(fields, nil), idx, nil
	}
	idx := make([]int, len(columns))
	fields := make([]arrow.Field, len(columns))
	for i, id := range columns {
		j, ok := t.index[id]
		if !ok {
			return nil, nil, fmt.Errorf("memtable: table %q has no column with id %d", t.id, id)
		}
		idx[i], fields[i] = j, t.cols[j].field
	}
	return arrow.NewSchema(fields, nil), idx, nil
}

// buildRecord builds a record of rows' columns idx, one typed loop per
// column.
func buildRecord(alloc memory.Allocator, schema *arrow.Schema, idx []int, rows [][]any) arrow.Record {
	arrs := make([]arrow.Array, len(idx))
	for i, j := range idx {
		b := array.NewBuilder(alloc, schema.Field(i).Type)
		appendColumn(b, rows, j)
		arrs[i] = b.NewArray()
		b.Release()
	}
	rec := array.NewRecord(schema, arrs, int64(len(rows)))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

// Records returns the view's live rows of the table in key order — the
// newest version at or below its seq of each key, no delete markers — in
// columns (ids; nil for all), in records of up to Options.BatchSize rows.
// Each batch's rows are gathered under the read lock; the arrays are built
// outside it. The iterator retains the view until Close.
func (tv *TableView) Records(ctx context.Context, columns []int, alloc memory.Allocator) (scan.RecordIterator, error) {
	return tv.RecordsExcept(ctx, columns, alloc, nil)
}

// RecordsExcept is Records without the keys for which skip returns true
// (the keys a newer MemTable shadows). skip runs under this MemTable's read
// lock; it may take other MemTables' read locks, never this one's.
func (tv *TableView) RecordsExcept(ctx context.Context, columns []int, alloc memory.Allocator, skip func(parquetio.Key) bool) (scan.RecordIterator, error) {
	it := &recordIter{batches: batches{ctx: ctx, tv: tv, alloc: alloc}, skip: skip}
	if tv.t == nil {
		it.done = true
		return it, nil
	}
	schema, idx, err := tv.t.project(columns)
	if err != nil {
		return nil, err
	}
	if it.alloc == nil {
		it.alloc = memory.DefaultAllocator
	}
	it.schema, it.idx = schema, idx
	tv.v.Retain()
	it.retained = true
	return it, nil
}

// recordIter is a scan.RecordIterator over a TableView.
type recordIter struct {
	batches
	after item // the last chain visited (c nil: none yet)
	skip  func(parquetio.Key) bool
}

// batches is what a view's record iterators share: the view they pin
// (retained until Close), the record being built, the current one.
type batches struct {
	ctx      context.Context
	tv       *TableView
	alloc    memory.Allocator
	schema   *arrow.Schema
	idx      []int
	rows     [][]any
	rec      arrow.Record
	err      error
	done     bool
	retained bool
}

// begin releases the current record and reports whether Next may read
// another batch (not done, no error, the context alive).
func (it *batches) begin() bool {
	if it.rec != nil {
		it.rec.Release()
		it.rec = nil
	}
	if it.done || it.err != nil {
		return false
	}
	if err := it.ctx.Err(); err != nil {
		it.err = err
		return false
	}
	return true
}

func (it *batches) Record() arrow.Record { return it.rec }

func (it *batches) Err() error { return it.err }

func (it *batches) Close() {
	if it.rec != nil {
		it.rec.Release()
		it.rec = nil
	}
	it.done = true
	if it.retained {
		it.retained = false
		it.tv.v.Release()
	}
}

func (it *recordIter) Next() bool {
	if !it.begin() {
		return false
	}
	batch := it.tv.v.m.opts.BatchSize
	seq := it.tv.v.seq
	rows := it.rows[:0]
	complete := true
	resumed := it.after.c != nil // the batch starts at after, seen already
	visit := func(e item) bool {
		if resumed {
			resumed = false
			if e.key == it.after.key {
				return true
			}
		}
		it.after = e
		c := e.c
		if v := c.at(seq); v != nil && !v.deleted && (it.skip == nil || !it.skip(c.key)) {
			rows = append(rows, v.row)
			if len(rows) == batch {
				complete = false
				return false
			}
		}
		return true
	}
	m := it.tv.v.m
	m.mu.RLock()
	if it.after.c == nil {
		it.tv.t.tree.Ascend(visit)
	} else {
		it.tv.t.tree.AscendGreaterOrEqual(it.after, visit)
	}
	m.mu.RUnlock()
	it.done = complete
	if len(rows) == 0 {
		return false
	}
	it.rec = buildRecord(it.alloc, it.schema, it.idx, rows)
	clear(rows)
	it.rows = rows
	return true
}

// BuildRecord builds an Arrow record of schema (every column, the Arrow
// types of parquetio.ArrowSchema) from normalized rows (see NormalizeRow).
func BuildRecord(alloc memory.Allocator, schema *base.Schema, rows [][]any) (arrow.Record, error) {
	as, err := parquetio.ArrowSchema(schema, nil)
	if err != nil {
		return nil, err
	}
	idx := make([]int, len(schema.Columns))
	for i := range idx {
		idx[i] = i
	}
	return buildRecord(alloc, as, idx, rows), nil
}
