package scan

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/mergeplan"
)

// Location columns a scan appends on request.
const (
	// FileColumn is the int32 index of a row's file in Table.Files (-1 for
	// a row of a source).
	FileColumn = "_file"
	// PositionColumn is the row's position in its file (-1 for a source).
	PositionColumn = parquetio.PositionColumn
)

// Request is what a scan returns.
type Request struct {
	// Columns are the ids of the columns to return, in order.
	Columns []int
	// Predicate keeps only the rows for which it is true. It is pushed
	// into the file readers (row-group and page pruning, evaluation on
	// Arrow arrays) and applied to the sources' rows: correct, because
	// deletion vectors and masks leave at most one live row per key.
	Predicate *parquetio.Predicate
	// WithLocation appends FileColumn and PositionColumn.
	WithLocation bool
	// Index, when set, reads through a secondary index (see IndexQuery).
	Index *IndexQuery
	// BatchSize bounds the rows of one record (0: the reader's default).
	BatchSize int
	// Alloc allocates Arrow memory (nil: memory.DefaultAllocator).
	Alloc memory.Allocator
	// Dictionaries lets string and binary columns of file rows come as
	// dictionary arrays (parquetio.ReadOptions.Dictionaries): per record
	// and column, a column chunk whose pages are dictionary-encoded is an
	// *array.Dictionary over the chunk's dictionary, anything else (PLAIN
	// chunks, the sources' rows, rows read through an index) a plain
	// array. Such a record's schema differs from Iterator.Schema in those
	// columns' types; consumers take the column's kind from Schema and
	// accept either form in every record.
	Dictionaries bool
}

// Partition is a part of a scan: files (or row groups of a file) and, in
// one partition, the sources.
type Partition struct {
	Parts []Part
}

// Part is one file (Files[File]) or some of its row groups; File -1 stands
// for the table's sources.
type Part struct {
	File      int
	RowGroups []int // nil: all
}

// Plan splits a scan of t into about parallelism partitions of similar cost
// (mergeplan.PlanScan), skipping files whose rows are all deleted.
func Plan(t *Table, parallelism int) []Partition {
	files := make([]mergeplan.File, len(t.Files))
	for i, a := range t.Files {
		files[i] = mergeplan.File{Path: a.Path, Rows: a.Rows, Bytes: a.Bytes, Generation: a.Generation}
		if a.DV != nil {
			files[i].Deleted = a.DV.Cardinality
		}
	}
	var mems []mergeplan.MemTable
	if len(t.Sources) > 0 {
		var rows int64
		for _, s := range t.Sources {
			rows += s.LiveRows()
		}
		mems = []mergeplan.MemTable{{Name: "sources", Rows: rows, Bytes: rows * 64}}
	}
	plan := mergeplan.PlanScan(files, mergeplan.ScanOptions{Parallelism: max(parallelism, 1), MemTables: mems})
	index := map[string]int{}
	for i, a := range t.Files {
		index[a.Path] = i
	}
	var out []Partition
	for _, p := range plan.Partitions {
		var part Partition
		for _, pp := range p.Parts {
			if pp.Mem {
				part.Parts = append(part.Parts, Part{File: -1})
				continue
			}
			fp := Part{File: index[pp.Path]}
			if pp.RowGroupEnd > pp.RowGroupStart {
				for g := pp.RowGroupStart; g < pp.RowGroupEnd; g++ {
					fp.RowGroups = append(fp.RowGroups, g)
				}
			}
			part.Parts = append(part.Parts, fp)
		}
		out = append(out, part)
	}
	return out
}

// Scan returns an iterator over the rows of t that req asks for: the live
// rows of its files (minus deletion vectors and the sources' masks), then
// the sources' rows. part, when not nil, limits it to one partition of
// Plan.
func (r *Reader) Scan(ctx context.Context, t *Table, req Request, part *Partition) (*Iterator, error) {
	if req.Alloc == nil {
		req.Alloc = memory.DefaultAllocator
	}
	schema, err := parquetio.ArrowSchema(t.Schema, req.Columns)
	if err != nil {
		return nil, err
	}
	fields := slices.Clone(schema.Fields())
	if req.WithLocation {
		fields = append(fields,
			arrow.Field{Name: FileColumn, Type: arrow.PrimitiveTypes.Int32},
			arrow.Field{Name: PositionColumn, Type: arrow.PrimitiveTypes.Int64})
	}
	it := &Iterator{ctx: ctx, r: r, t: t, req: req, schema: arrow.NewSchema(fields, nil)}
	if part == nil {
		for i := range t.Files {
			it.parts = append(it.parts, Part{File: i})
		}
		if len(t.Sources) > 0 {
			it.parts = append(it.parts, Part{File: -1})
		}
	} else {
		it.parts = part.Parts
	}
	if len(t.Sources) > 0 || req.Index != nil {
		if it.filter, err = parquetio.CompileFilter(t.Schema, req.Predicate); err != nil {
			return nil, err
		}
	}
	return it, nil
}

// Iterator yields a scan's records. It is used by one goroutine; Record is
// valid until the next Next.
type Iterator struct {
	ctx    context.Context
	r      *Reader
	t      *Table
	req    Request
	schema *arrow.Schema
	parts  []Part
	filter *parquetio.Filter

	next    int // the next part
	file    int // the part being read (index into t.Files, or -1)
	rr      *parquetio.RecordReader
	release func()
	src     int // the source being read
	si      RecordIterator
	siCols  []int // the columns si yields
	rec     arrow.Record
	err     error
	// ready is a record read through an index, for the next Next.
	ready arrow.Record
	// check delivers the check of the virtual file being read, which
	// runs while it is read; the file's last record waits for it.
	check chan error
	// Stats accumulate over the files read.
	stats parquetio.ReadStats
}

// Schema is the schema of the records; with Request.Dictionaries a
// record's string and binary columns may be dictionary arrays of the
// field's type instead (see Request.Dictionaries).
func (it *Iterator) Schema() *arrow.Schema { return it.schema }

// Record is the current record.
func (it *Iterator) Record() arrow.Record { return it.rec }

// Err is the error that ended the iteration, if any.
func (it *Iterator) Err() error { return it.err }

// Stats are the file-read statistics so far.
func (it *Iterator) Stats() parquetio.ReadStats { return it.stats }

// Next advances to the next non-empty record.
func (it *Iterator) Next() bool {
	if it.rec != nil {
		it.rec.Release()
		it.rec = nil
	}
	for it.err == nil {
		switch {
		case it.ready != nil:
			it.rec, it.ready = it.ready, nil
			return true
		case it.rr != nil:
			if it.rr.Next() {
				rec := it.rr.Record()
				if rec.NumRows() == 0 {
					continue
				}
				it.rec = it.fileRecord(rec)
				return true
			}
			err := it.rr.Err()
			if err == nil && it.check != nil {
				err = <-it.check
			}
			it.check = nil
			if err != nil {
				it.err = fileError(it.t.Files[it.parts[it.next-1].File], err)
			}
			it.closeFile()
		case it.si != nil:
			if it.si.Next() {
				rec, err := it.sourceRecord(it.si.Record())
				if err != nil {
					it.err = err
					break
				}
				if rec.NumRows() == 0 {
					rec.Release()
					continue
				}
				it.rec = rec
				return true
			}
			it.err = it.si.Err()
			it.si.Close()
			it.si = nil
			it.src++
			it.err = firstErr(it.err, it.openSource())
		case it.next < len(it.parts):
			p := it.parts[it.next]
			it.next++
			if p.File < 0 {
				it.src = 0
				it.err = it.openSource()
			} else {
				it.err = it.openFile(p)
			}
		default:
			return false
		}
	}
	return false
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (it *Iterator) openFile(p Part) error {
	a := it.t.Files[p.File]
	if it.req.Index != nil {
		if ixf := a.IndexFile(it.req.Index.Columns); ixf != nil {
			it.file = p.File
			return it.openIndexedFile(p, a, ixf)
		}
	}
	f, e, err := it.r.file(it.ctx, a, it.t.Schema)
	if err != nil {
		return err
	}
	release := func() { it.r.release(e) }
	deleted, err := it.r.deleted(it.ctx, a, it.t.Sources)
	if err != nil {
		release()
		return err
	}
	rr, err := f.Read(it.ctx, parquetio.ReadOptions{
		Columns: it.req.Columns, RowGroups: p.RowGroups, Predicate: it.req.Predicate,
		Deleted: deleted, Alloc: it.req.Alloc, BatchSize: it.req.BatchSize, WithPositions: it.req.WithLocation,
		Dictionaries: it.req.Dictionaries,
	})
	if err != nil {
		release()
		return fmt.Errorf("scan: reading %s: %w", a.Path, err)
	}
	it.file, it.rr, it.release = p.File, rr, release
	if a.Virtual != nil {
		ch := make(chan error, 1)
		go func() { ch <- it.r.recheck(it.ctx, a, e, 0) }()
		it.check = ch
	}
	return nil
}

func (it *Iterator) closeFile() {
	st := it.rr.Stats()
	it.stats.RowGroupsRead += st.RowGroupsRead
	it.stats.RowGroupsSkipped += st.RowGroupsSkipped
	it.stats.PagesRead += st.PagesRead
	it.stats.PagesSkipped += st.PagesSkipped
	it.stats.RowsRead += st.RowsRead
	it.stats.RowsReturned += st.RowsReturned
	it.stats.BytesRead += st.BytesRead
	it.rr.Close()
	it.release()
	it.rr, it.release = nil, nil
}

// fileRecord adds the file index to a record of a file read.
func (it *Iterator) fileRecord(rec arrow.Record) arrow.Record {
	if !it.req.WithLocation {
		rec.Retain()
		return rec
	}
	n := int(rec.NumRows())
	b := array.NewInt32Builder(it.req.Alloc)
	defer b.Release()
	b.Reserve(n)
	for range n {
		b.UnsafeAppend(int32(it.file))
	}
	files := b.NewArray()
	defer files.Release()
	cols := make([]arrow.Array, 0, rec.NumCols()+1)
	cols = append(cols, rec.Columns()[:rec.NumCols()-1]...)
	cols = append(cols, files, rec.Column(int(rec.NumCols())-1))
	return array.NewRecord(parquetio.RecordSchema(it.schema, cols), cols, rec.NumRows())
}

// openSource opens the next source with rows, or none.
func (it *Iterator) openSource() error {
	for ; it.src < len(it.t.Sources); it.src++ {
		cols := slices.Clone(it.req.Columns)
		for _, id := range it.filter.Columns() {
			if !slices.Contains(cols, id) {
				cols = append(cols, id)
			}
		}
		var si RecordIterator
		var err error
		if is, ok := it.t.Sources[it.src].(IndexSource); ok && it.req.Index != nil {
			q := it.req.Index
			si, err = is.IndexLookup(it.ctx, q.Name, q.Lo, q.Hi, cols, it.req.Alloc)
			it.r.sourceLookups.Add(1)
		} else {
			si, err = it.t.Sources[it.src].Records(it.ctx, cols, it.req.Alloc)
		}
		if err != nil {
			return err
		}
		it.si, it.siCols = si, cols
		return nil
	}
	return nil
}

// sourceRecord filters a source's record by the predicate and projects it
// to the requested columns.
func (it *Iterator) sourceRecord(rec arrow.Record) (arrow.Record, error) {
	filtered, err := it.filter.Apply(it.req.Alloc, rec, it.siCols)
	if err != nil {
		return nil, err
	}
	defer filtered.Release()
	n := filtered.NumRows()
	cols := make([]arrow.Array, 0, len(it.schema.Fields()))
	for i := range it.req.Columns {
		cols = append(cols, filtered.Column(i))
	}
	if it.req.WithLocation {
		fb := array.NewInt32Builder(it.req.Alloc)
		pb := array.NewInt64Builder(it.req.Alloc)
		for range n {
			fb.Append(-1)
			pb.Append(-1)
		}
		fa, pa := fb.NewArray(), pb.NewArray()
		fb.Release()
		pb.Release()
		defer fa.Release()
		defer pa.Release()
		cols = append(cols, fa, pa)
	}
	return array.NewRecord(it.schema, cols, n), nil
}

// Close releases the iterator.
func (it *Iterator) Close() {
	if it.ready != nil {
		it.ready.Release()
		it.ready = nil
	}
	if it.rec != nil {
		it.rec.Release()
		it.rec = nil
	}
	if it.rr != nil {
		it.closeFile()
	}
	if it.si != nil {
		it.si.Close()
		it.si = nil
	}
}
