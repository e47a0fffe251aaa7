package scan

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/txn"
)

// IndexQuery makes a scan go through a secondary index: files that have an
// index file for Columns read the positions of the matching rows from it
// and then only those rows; sources that are IndexSources look the keys up
// in their own indexes. Files without an index file (written before the
// index, virtual files) and other sources are scanned with the predicate as
// usual. The answer is the same either way: Request.Predicate (which must
// imply Match) is applied to every row.
type IndexQuery struct {
	// Name is the index's name (for IndexSources), Columns its column ids.
	Name    string
	Columns []int
	// Match is a predicate on the index columns alone; the index files
	// answer exactly the rows it selects.
	Match *parquetio.Predicate
	// Points, when set, are all the values of the first index column the
	// lookup matches (an equality or an IN list): an index file whose
	// bloom filters rule them all out is not read.
	Points []any
	// Lo and Hi bound the encoded index keys (parquetio.KeyEncoder over
	// Columns) of the rows Match may select, for IndexSources: Lo
	// inclusive (empty: unbounded), Hi inclusive and as a prefix (empty:
	// unbounded).
	Lo, Hi parquetio.Key
}

// IndexSource is a Source that answers index lookups from its own indexes
// (a MemTable's B-tree indexes).
type IndexSource interface {
	Source
	// IndexLookup returns the source's live rows whose key of index lies
	// in [lo, hi] (see IndexQuery), in columns, as Records does (a
	// superset of what the scan's predicate keeps is fine).
	IndexLookup(ctx context.Context, index string, lo, hi parquetio.Key, columns []int, alloc memory.Allocator) (RecordIterator, error)
}

// indexPositions returns the positions of the rows of data file a whose
// index values match q, from its index file ixf, without the deleted ones,
// ascending.
func (it *Iterator) indexPositions(a *txn.Add, ixf *txn.IndexFile) ([]int64, error) {
	f, e, err := it.r.fileFor(it.ctx, &txn.Add{Path: ixf.Path}, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("scan: index file %s of %s: %w", ixf.Path, a.Path, err)
	}
	defer it.r.release(e)
	if q := it.req.Index; len(q.Points) > 0 {
		may := false
		for _, p := range q.Points {
			ok, err := f.MayContainValue(it.ctx, q.Columns[0], p)
			if err != nil {
				return nil, fmt.Errorf("scan: index file %s of %s: %w", ixf.Path, a.Path, err)
			}
			if may = ok; may {
				break
			}
		}
		if !may {
			return nil, nil
		}
		pos, ok, err := f.IndexPositions(it.ctx, q.Columns[0], q.Points)
		if err != nil {
			return nil, fmt.Errorf("scan: index file %s of %s: %w", ixf.Path, a.Path, err)
		}
		if ok {
			return it.live(a, pos)
		}
	}
	rr, err := f.Read(it.ctx, parquetio.ReadOptions{Columns: []int{parquetio.IndexPositionColumn}, Predicate: it.req.Index.Match, Alloc: it.req.Alloc})
	if err != nil {
		return nil, fmt.Errorf("scan: index file %s of %s: %w", ixf.Path, a.Path, err)
	}
	defer rr.Close()
	var pos []int64
	for rr.Next() {
		pos = append(pos, rr.Record().Column(0).(*array.Int64).Int64Values()...)
	}
	if err := rr.Err(); err != nil {
		return nil, fmt.Errorf("scan: index file %s of %s: %w", ixf.Path, a.Path, err)
	}
	slices.Sort(pos)
	return it.live(a, slices.Compact(pos))
}

// live drops from pos (ascending) the rows of file a that its deletion
// vector or a source's mask hides.
func (it *Iterator) live(a *txn.Add, pos []int64) ([]int64, error) {
	if len(pos) == 0 {
		return nil, nil
	}
	deleted, err := it.r.deleted(it.ctx, a, it.t.Sources)
	if err != nil || deleted == nil {
		return pos, err
	}
	return slices.DeleteFunc(pos, func(p int64) bool { return deleted.Contains(uint32(p)) }), nil
}

// openIndexedFile reads the rows of part p's file that its index file
// selects, filtered by the predicate, into it.ready.
func (it *Iterator) openIndexedFile(p Part, a *txn.Add, ixf *txn.IndexFile) error {
	pos, err := it.indexPositions(a, ixf)
	if err != nil {
		return err
	}
	it.r.indexReads.Add(1)

	if len(p.RowGroups) > 0 {
		pos = it.inRowGroups(a, p, pos)
	}
	if len(pos) == 0 {
		return nil
	}
	f, e, err := it.r.file(it.ctx, a, it.t.Schema)
	if err != nil {
		return err
	}
	defer it.r.release(e)
	cols := it.withFilterColumns()
	rec, err := f.ReadRows(it.ctx, pos, cols, it.req.Alloc)
	if err != nil {
		return fileError(a, fmt.Errorf("scan: reading %s: %w", a.Path, err))
	}
	defer rec.Release()
	keep, err := it.filter.Mask(rec, cols)
	if err != nil {
		return err
	}
	var kept []int64
	var idx []int
	for i, p := range pos {
		if keep == nil || keep[i] {
			kept = append(kept, p)
			idx = append(idx, i)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	out := make([]arrow.Array, 0, len(it.schema.Fields()))
	defer func() {
		for _, a := range out {
			a.Release()
		}
	}()
	for i := range it.req.Columns {
		out = append(out, takeRows(it.req.Alloc, rec.Column(i), idx))
	}
	if it.req.WithLocation {
		fb := array.NewInt32Builder(it.req.Alloc)
		pb := array.NewInt64Builder(it.req.Alloc)
		for _, p := range kept {
			fb.Append(int32(it.file))
			pb.Append(p)
		}
		out = append(out, fb.NewArray(), pb.NewArray())
		fb.Release()
		pb.Release()
	}
	it.ready = array.NewRecord(parquetio.RecordSchema(it.schema, out), out, int64(len(kept)))
	return nil
}

// inRowGroups keeps the positions inside part p's row groups.
func (it *Iterator) inRowGroups(a *txn.Add, p Part, pos []int64) []int64 {
	f, e, err := it.r.file(it.ctx, a, it.t.Schema)
	if err != nil {
		return pos // openIndexedFile fails on it next
	}
	defer it.r.release(e)
	rgs := f.RowGroups()
	var out []int64
	for _, x := range pos {
		for _, g := range p.RowGroups {
			if g < len(rgs) && x >= rgs[g].FirstRow && x < rgs[g].FirstRow+rgs[g].NumRows {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

// withFilterColumns is the requested columns plus those the predicate
// needs.
func (it *Iterator) withFilterColumns() []int {
	cols := slices.Clone(it.req.Columns)
	for _, id := range it.filter.Columns() {
		if !slices.Contains(cols, id) {
			cols = append(cols, id)
		}
	}
	return cols
}

// takeRows returns the rows idx (ascending) of arr: slices of its runs of
// consecutive rows, concatenated. A dictionary array keeps its dictionary:
// the rows' indexes are taken.
func takeRows(alloc memory.Allocator, arr arrow.Array, idx []int) arrow.Array {
	if len(idx) == arr.Len() {
		arr.Retain()
		return arr
	}
	if d, ok := arr.(*array.Dictionary); ok {
		// array.Concatenate would compare the slices' dictionaries, entry
		// by entry, to find them equal.
		ix := takeRows(alloc, d.Indices(), idx)
		defer ix.Release()
		data := array.NewData(d.DataType(), ix.Len(), ix.Data().Buffers(), nil, ix.NullN(), ix.Data().Offset())
		defer data.Release()
		data.SetDictionary(d.Data().Dictionary())
		return array.MakeFromData(data)
	}
	var parts []arrow.Array
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && idx[j] == idx[j-1]+1 {
			j++
		}
		parts = append(parts, array.NewSlice(arr, int64(idx[i]), int64(idx[j-1]+1)))
		i = j
	}
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	if len(parts) == 1 {
		parts[0].Retain()
		return parts[0]
	}
	out, err := array.Concatenate(parts, alloc)
	if err != nil {
		panic(fmt.Sprintf("scan: concatenating slices of one array: %v", err)) // same type: cannot fail
	}
	return out
}

// FileRecords reads the columns of every row of file a, deleted ones
// included, in file order (what an index file of it is built from).
func (r *Reader) FileRecords(ctx context.Context, a *txn.Add, schema *base.Schema, columns []int, alloc memory.Allocator) ([]arrow.Record, error) {
	f, e, err := r.file(ctx, a, schema)
	if err != nil {
		return nil, err
	}
	defer r.release(e)
	rr, err := f.Read(ctx, parquetio.ReadOptions{Columns: columns, Alloc: alloc})
	if err != nil {
		return nil, fileError(a, fmt.Errorf("scan: reading %s: %w", a.Path, err))
	}
	defer rr.Close()
	var out []arrow.Record
	for rr.Next() {
		rec := rr.Record()
		rec.Retain()
		out = append(out, rec)
	}
	if err := rr.Err(); err != nil {
		for _, rec := range out {
			rec.Release()
		}
		return nil, fileError(a, err)
	}
	return out, nil
}

// Warm decodes every column chunk of the data file a into the page cache,
// as a buffer pool holds the pages a database has just written: the first
// lookups and scans of freshly flushed or merged data then find it
// decoded. It does nothing when the Reader keeps no decoded chunks, and
// stops early when ctx ends. The cache's bound still holds: warming evicts
// the least recently used entries.
func (r *Reader) Warm(ctx context.Context, a *txn.Add, schema *base.Schema) error {
	if r.pages == nil || r.opts.NoChunkCache || a.Virtual != nil {
		return nil
	}
	f, e, err := r.file(ctx, a, schema)
	if err != nil {
		return err
	}
	defer r.release(e)
	var cols []int
	for _, c := range schema.Columns {
		cols = append(cols, c.ID)
	}
	rr, err := f.Read(ctx, parquetio.ReadOptions{Columns: cols})
	if err != nil {
		return fileError(a, fmt.Errorf("scan: warming %s: %w", a.Path, err))
	}
	defer rr.Close()
	for rr.Next() {
	}
	if err := rr.Err(); err != nil {
		return fileError(a, err)
	}
	return nil
}
