package parquetio

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/parquet-go/parquet-go"
)

// syncRowsMax is the largest number of positions ReadRows reads on the
// calling goroutine, page by page through the page cache; more go through
// the parallel read pipeline.
const syncRowsMax = 64

// syncPlan is a plan of ReadRows kept per column list: the plan (shared;
// never modified) and whether every decoded column has an offset index in
// every row group (else the pipeline reads the rows).
type syncPlan struct {
	p        *readPlan
	hasIndex bool
}

// cachedPlan returns the plan of reading columns through the table schema,
// planned once per column list and kept. It is shared: callers pass their
// own allocator and statistics.
func (f *File) cachedPlan(columns []int) (*syncPlan, error) {
	var buf [64]byte
	key := buf[:0]
	if columns == nil {
		key = append(key, '*')
	}
	for _, id := range columns {
		key = strconv.AppendInt(key, int64(id), 10)
		key = append(key, ',')
	}
	f.plansMu.RLock()
	sp := f.plans[string(key)]
	f.plansMu.RUnlock()
	if sp != nil {
		return sp, nil
	}
	p, err := f.plan(ReadOptions{Columns: columns, BatchSize: 1 << 30})
	if err != nil {
		return nil, err
	}
	sp = &syncPlan{p: p, hasIndex: true}
	for i := range p.decode {
		for g := range f.rgFirst {
			if oi, _ := f.pageIndex(g, f.leaf[p.decode[i].col.ID]); oi == nil {
				sp.hasIndex = false
			}
		}
	}
	f.plansMu.Lock()
	defer f.plansMu.Unlock()
	if old := f.plans[string(key)]; old != nil {
		return old, nil
	}
	if f.plans == nil {
		f.plans = map[string]*syncPlan{}
	}
	f.plans[string(key)] = sp
	return sp, nil
}

// readRowsSync reads the rows at pos (sorted, distinct, inside the file)
// page by page on the calling goroutine: each page is taken from the page
// cache or read, decoded whole and cached. One row is returned as
// zero-copy slices of the cached pages (no copy, a few small allocations);
// more are copied into new arrays of alloc.
func (f *File) readRowsSync(ctx context.Context, p *readPlan, alloc memory.Allocator, pos []int64) (rec arrow.Record, err error) {
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	defer func() {
		if r := recover(); r != nil {
			if rec != nil {
				rec.Release()
			}
			rec, err = nil, base.Corruptf(f.name, "decoding: %v", r)
		}
	}()
	if len(pos) == 1 {
		return f.readRowSync(ctx, p, alloc, pos[0])
	}
	bs := make([]array.Builder, len(p.out))
	defer func() {
		for _, b := range bs {
			if b != nil {
				b.Release()
			}
		}
	}()
	for j := range p.out {
		bs[j] = array.NewBuilder(alloc, p.out[j].arrow)
		bs[j].Reserve(len(pos))
	}
	for _, x := range pos {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		g, r := f.rowGroupOf(x)
		for j := range p.out {
			c := &p.out[j]
			if f.isRowID(c.col.ID) {
				appendScalar(bs[j], scalar{i: f.rowIDStart + x})
				continue
			}
			if v, ok := p.defs[c.col.ID]; ok {
				appendScalar(bs[j], v)
				continue
			}
			arr, lo, err := f.page(ctx, g, c, r)
			if err != nil {
				return nil, err
			}
			appendScalar(bs[j], scalarAt(c, arr, int(r-lo)))
		}
	}
	cols := make([]arrow.Array, len(bs))
	for j, b := range bs {
		cols[j] = b.NewArray()
	}
	rec = array.NewRecord(p.schema, cols, int64(len(pos)))
	for _, a := range cols {
		a.Release()
	}
	return rec, nil
}

// readRowSync reads the row at x as one-row slices of its cached pages.
func (f *File) readRowSync(ctx context.Context, p *readPlan, alloc memory.Allocator, x int64) (arrow.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g, r := f.rowGroupOf(x)
	var stack [8]arrow.Array
	cols := stack[:0]
	defer func() {
		for _, a := range cols {
			a.Release()
		}
	}()
	for j := range p.out {
		arr, i, owned, err := f.rowCell(ctx, p, alloc, g, r, x, &p.out[j])
		if err != nil {
			return nil, err
		}
		if !owned {
			arr = array.NewSlice(arr, i, i+1)
		}
		cols = append(cols, arr)
	}
	return array.NewRecord(p.schema, cols, 1), nil
}

// rowGroupOf returns the row group holding file position x and x's row in
// it.
func (f *File) rowGroupOf(x int64) (g int, r int64) {
	g = sort.Search(len(f.rgFirst), func(i int) bool { return f.rgFirst[i] > x }) - 1
	return g, x - f.rgFirst[g]
}

// rowCell returns where the value of output column c of the row at file
// position x (row r of row group g) is: array arr at index i. A cached
// page is returned as it is; a row id, a default or a value of a chunk
// cached as a dictionary comes as a one-value array of alloc's memory
// (owned: the caller releases it).
func (f *File) rowCell(ctx context.Context, p *readPlan, alloc memory.Allocator, g int, r, x int64, c *column) (arr arrow.Array, i int64, owned bool, err error) {
	if f.isRowID(c.col.ID) {
		return f.rowIDArray(alloc, x, []rng{{0, 1}}), 0, true, nil
	}
	if v, ok := p.defs[c.col.ID]; ok {
		b := array.NewBuilder(alloc, c.arrow)
		defer b.Release()
		appendScalar(b, v)
		return b.NewArray(), 0, true, nil
	}
	arr, lo, err := f.page(ctx, g, c, r)
	if err != nil {
		return nil, 0, false, err
	}
	if d, ok := arr.(*array.Dictionary); ok { // a chunk a scan cached
		return plainRanges(alloc, d, []rng{{r - lo, r - lo + 1}}), 0, true, nil
	}
	return arr, r - lo, false, nil
}

// page returns the decoded page of column c holding row r of row group g,
// and the row group row of its first row.
func (f *File) page(ctx context.Context, g int, c *column, r int64) (arrow.Array, int64, error) {
	leaf := f.leaf[c.col.ID]
	oi, _ := f.pageIndex(g, leaf)
	locs := oi.PageLocations
	i := sort.Search(len(locs), func(i int) bool { return locs[i].FirstRowIndex > r }) - 1
	if i < 0 {
		return nil, 0, base.Corruptf(f.name, "column %q row group %d: no page holds row %d", c.col.Name, g, r)
	}
	// A column chunk a scan cached whole holds the row too.
	if arr := f.cache.peek(pageKey{f.id, int32(g), int32(leaf), -1}); arr != nil {
		return arr, 0, nil
	}
	lo := locs[i].FirstRowIndex
	key := pageKey{f.id, int32(g), int32(leaf), int32(i)}
	if arr := f.cache.get(key); arr != nil {
		return arr, lo, nil
	}
	hi := f.pf.Metadata().RowGroups[g].NumRows
	if i+1 < len(locs) {
		hi = locs[i+1].FirstRowIndex
	}
	corrupt := func(err error) error {
		return base.Corruptf(f.name, "column %q row group %d: %v", c.col.Name, g, err)
	}
	meta := &f.pf.Metadata().RowGroups[g].Columns[leaf].MetaData
	var spans [][2]int64
	if meta.DictionaryPageOffset > 0 && meta.DictionaryPageOffset < meta.DataPageOffset {
		spans = append(spans, [2]int64{meta.DictionaryPageOffset, meta.DataPageOffset})
	}
	spans = append(spans, [2]int64{locs[i].Offset, locs[i].Offset + int64(locs[i].CompressedPageSize)})
	ranges, err := fetch(ctx, f.obj, spans, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("parquetio: reading %s: %w", f.name, err)
	}
	fc, ok := f.pf.RowGroups()[g].ColumnChunks()[leaf].(*parquet.FileColumnChunk)
	if !ok {
		return nil, 0, errors.New("parquetio: not a file column chunk")
	}
	fp := fc.PagesFrom(&rangeReaderAt{obj: f.obj, ranges: ranges})
	defer fp.Close()
	if err := fp.SeekToRow(lo); err != nil {
		return nil, 0, corrupt(err)
	}
	pg, err := fp.ReadPage()
	if err != nil {
		return nil, 0, corrupt(err)
	}
	defer parquet.Release(pg)
	if pg.NumRows() != hi-lo {
		return nil, 0, corrupt(fmt.Errorf("page has %d rows, the offset index says %d", pg.NumRows(), hi-lo))
	}
	d := newDecoder(memory.DefaultAllocator, c)
	defer d.release()
	if err := d.appendRows(pg, 0, int(hi-lo)); err != nil {
		return nil, 0, corrupt(err)
	}
	arr := d.finish()
	if int64(arr.Len()) != hi-lo {
		arr.Release()
		return nil, 0, corrupt(fmt.Errorf("decoded %d rows, want %d", arr.Len(), hi-lo))
	}
	if arr.NullN() == 0 && arr.Data().Buffers()[0] != nil {
		// No NULLs: drop the validity bitmap, one memory access less per
		// value read.
		data := arr.Data()
		bufs := append([]*memory.Buffer{nil}, data.Buffers()[1:]...)
		nd := array.NewData(data.DataType(), data.Len(), bufs, nil, 0, data.Offset())
		arr.Release()
		arr = array.MakeFromData(nd)
		nd.Release()
	}
	return f.cache.put(key, arr), lo, nil
}
