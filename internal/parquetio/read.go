package parquetio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/parquet-go/parquet-go"
)

// ReadOptions configure one File.Read.
type ReadOptions struct {
	// Columns are the ids of the columns to return, in that order, from
	// the File's table schema; nil means every column of it.
	Columns []int
	// RowGroups are the row groups to read, in file order; nil means all.
	RowGroups []int
	// Predicate filters the rows; only rows for which it is true are
	// returned. Its columns need not be among Columns.
	Predicate *Predicate
	// Deleted and Mask hold file positions of rows to leave out (the
	// deletion vector, and rows masked by the caller).
	Deleted, Mask *roaring.Bitmap
	// Alloc allocates the Arrow buffers; nil means memory.DefaultAllocator.
	Alloc memory.Allocator
	// BatchSize is the largest number of rows per record; 0 means 64Ki.
	BatchSize int
	// WithPositions appends an int64 column PositionColumn holding each
	// row's file position.
	WithPositions bool
	// Dictionaries returns a string or binary column chunk whose pages
	// read are all dictionary-encoded as an *array.Dictionary (int32
	// indexes into the chunk's dictionary, of the column's String or
	// Binary type), shared by the chunk's records; other chunks, and other
	// columns, are plain. A record's schema then differs from
	// RecordReader.Schema in those columns' types (see RecordSchema).
	Dictionaries bool
}

// ReadStats count the work of a read. They are updated atomically while
// the read runs; RecordReader.Stats returns a snapshot.
type ReadStats struct {
	RowGroupsRead, RowGroupsSkipped int64
	// PagesRead and PagesSkipped count data pages of the columns decoded
	// in row groups that were read.
	PagesRead, PagesSkipped int64
	// RowsRead are rows decoded, RowsReturned rows in the records.
	RowsRead, RowsReturned int64
	// BytesRead and RangedReads count ReadAt calls on the object;
	// UnplannedReads those outside the prefetched ranges.
	BytesRead, RangedReads, UnplannedReads int64
	// ChunksCached counts column chunks read from the page cache instead
	// of the object.
	ChunksCached int64
}

func (s *ReadStats) add(d *ReadStats) {
	if s == nil {
		return
	}
	atomic.AddInt64(&s.RowGroupsRead, d.RowGroupsRead)
	atomic.AddInt64(&s.RowGroupsSkipped, d.RowGroupsSkipped)
	atomic.AddInt64(&s.PagesRead, d.PagesRead)
	atomic.AddInt64(&s.PagesSkipped, d.PagesSkipped)
	atomic.AddInt64(&s.RowsRead, d.RowsRead)
	atomic.AddInt64(&s.RowsReturned, d.RowsReturned)
	atomic.AddInt64(&s.BytesRead, d.BytesRead)
	atomic.AddInt64(&s.RangedReads, d.RangedReads)
	atomic.AddInt64(&s.UnplannedReads, d.UnplannedReads)
	atomic.AddInt64(&s.ChunksCached, d.ChunksCached)
}

func (s *ReadStats) snapshot() ReadStats {
	return ReadStats{
		RowGroupsRead: atomic.LoadInt64(&s.RowGroupsRead), RowGroupsSkipped: atomic.LoadInt64(&s.RowGroupsSkipped),
		PagesRead: atomic.LoadInt64(&s.PagesRead), PagesSkipped: atomic.LoadInt64(&s.PagesSkipped),
		RowsRead: atomic.LoadInt64(&s.RowsRead), RowsReturned: atomic.LoadInt64(&s.RowsReturned),
		BytesRead: atomic.LoadInt64(&s.BytesRead), RangedReads: atomic.LoadInt64(&s.RangedReads),
		UnplannedReads: atomic.LoadInt64(&s.UnplannedReads), ChunksCached: atomic.LoadInt64(&s.ChunksCached),
	}
}

// RecordReader iterates the records of a read in file order. It is not
// safe for concurrent use. Record is valid until the next call of Next or
// Close; Retain it to keep it longer. Close must be called.
type RecordReader struct {
	schema  *arrow.Schema
	cancel  context.CancelFunc
	results []chan taskResult
	tokens  chan struct{}
	wg      sync.WaitGroup
	next    int
	pending []arrow.Record
	rec     arrow.Record
	err     error
	stats   *ReadStats
	closed  bool
}

type taskResult struct {
	recs  []arrow.Record
	err   error
	token bool // the task held a token, released when the result is taken
}

// Schema is the schema of the records.
func (rr *RecordReader) Schema() *arrow.Schema { return rr.schema }

// Next advances to the next record, reporting whether there is one.
func (rr *RecordReader) Next() bool {
	if rr.rec != nil {
		rr.rec.Release()
		rr.rec = nil
	}
	for len(rr.pending) == 0 {
		if rr.err != nil || rr.next >= len(rr.results) {
			return false
		}
		res := <-rr.results[rr.next]
		rr.next++
		if res.token {
			<-rr.tokens
		}
		if res.err != nil {
			rr.err = res.err
			return false
		}
		rr.pending = res.recs
	}
	rr.rec, rr.pending = rr.pending[0], rr.pending[1:]
	return true
}

// Record is the current record.
func (rr *RecordReader) Record() arrow.Record { return rr.rec }

// Err is the error that ended the iteration, if any.
func (rr *RecordReader) Err() error { return rr.err }

// Stats returns the read's statistics so far.
func (rr *RecordReader) Stats() ReadStats { return rr.stats.snapshot() }

// Close stops the read and releases every record it holds.
func (rr *RecordReader) Close() {
	if rr.closed {
		return
	}
	rr.closed = true
	rr.cancel()
	if rr.rec != nil {
		rr.rec.Release()
		rr.rec = nil
	}
	for _, r := range rr.pending {
		r.Release()
	}
	rr.pending = nil
	for ; rr.next < len(rr.results); rr.next++ {
		res := <-rr.results[rr.next]
		if res.token {
			<-rr.tokens
		}
		for _, r := range res.recs {
			r.Release()
		}
	}
	rr.wg.Wait()
}

// readPlan is what one read needs, shared by its row group tasks.
type readPlan struct {
	f       *File
	table   *base.Schema
	out     []column // requested columns, in output order
	decode  []column // file columns to decode (output and predicate), by id
	defs    map[int]scalar
	pred    *pnode
	opts    ReadOptions
	alloc   memory.Allocator
	schema  *arrow.Schema
	stats   *ReadStats
	exactly bool // rows are given exactly by ranges (ReadRows): no predicate
}

// Read starts reading the file with opts. Row groups are pruned by their
// statistics, pages by the page index, and the remaining rows filtered by
// the predicate and the deleted positions; row groups are decoded in
// parallel and returned in file order.
func (f *File) Read(ctx context.Context, opts ReadOptions) (*RecordReader, error) {
	p, err := f.plan(opts)
	if err != nil {
		return nil, err
	}
	md := f.pf.Metadata()
	groups := opts.RowGroups
	if groups == nil {
		groups = make([]int, len(md.RowGroups))
		for i := range groups {
			groups[i] = i
		}
	}
	infos := f.RowGroups()
	var tasks []func(context.Context) ([]arrow.Record, error)
	for _, g := range groups {
		if g < 0 || g >= len(md.RowGroups) {
			return nil, fmt.Errorf("parquetio: %s has no row group %d", f.name, g)
		}
		if !p.rowGroupMayMatch(g) {
			p.stats.add(&ReadStats{RowGroupsSkipped: 1})
			continue
		}
		info := infos[g]
		tasks = append(tasks, func(ctx context.Context) ([]arrow.Record, error) {
			return p.readRowGroup(ctx, g, info.FirstRow, nil)
		})
	}
	return p.start(ctx, tasks), nil
}

func (f *File) plan(opts ReadOptions) (*readPlan, error) { return f.planFor(f.table, opts) }

// planFor plans a read through the table schema.
func (f *File) planFor(table *base.Schema, opts ReadOptions) (*readPlan, error) {
	p := &readPlan{f: f, table: table, opts: opts, alloc: opts.Alloc, defs: map[int]scalar{}, stats: new(ReadStats)}
	if p.alloc == nil {
		p.alloc = memory.DefaultAllocator
	}
	if p.opts.BatchSize <= 0 {
		p.opts.BatchSize = 64 << 10
	}
	out, err := selectColumns(table, opts.Columns)
	if err != nil {
		return nil, err
	}
	p.out = out
	tableCols, err := tableColumns(table)
	if err != nil {
		return nil, err
	}
	byID := func(id int) *column {
		for i := range tableCols {
			if tableCols[i].col.ID == id {
				return &tableCols[i]
			}
		}
		return nil
	}
	p.pred, err = compile(opts.Predicate, byID, false)
	if err != nil {
		return nil, err
	}
	need := make([]int, 0, len(out))
	for i := range out {
		need = append(need, out[i].col.ID)
	}
	need = p.pred.columns(need)
	for _, id := range need {
		tc := byID(id)
		if f.isRowID(id) {
			continue // synthesized from the positions
		}
		fc := f.fileColumn(id)
		if fc == nil {
			v := scalar{null: true}
			if tc.col.Default != nil {
				if v, err = parseLiteral(tc, *tc.col.Default); err != nil {
					return nil, err
				}
			}
			p.defs[id] = v
			continue
		}
		if !arrow.TypeEqual(fc.arrow, tc.arrow) || fc.phys != tc.phys {
			return nil, fmt.Errorf("parquetio: column %q is %s in %s and %s in the table schema: type changes are not supported",
				tc.col.Name, fc.typ, f.name, tc.typ)
		}
		dc := *fc
		dc.col.Name, dc.col.Nullable = tc.col.Name, tc.col.Nullable || fc.col.Nullable
		p.decode = append(p.decode, dc)
	}
	for i := range p.out {
		if fc := f.fileColumn(p.out[i].col.ID); fc != nil && fc.col.Nullable {
			p.out[i].col.Nullable = true
		}
	}
	p.schema = arrowSchemaOf(p.out, opts.WithPositions)
	return p, nil
}

// start runs tasks on up to Parallelism goroutines, delivering results in
// order.
func (p *readPlan) start(ctx context.Context, tasks []func(context.Context) ([]arrow.Record, error)) *RecordReader {
	ctx, cancel := context.WithCancel(ctx)
	workers := p.f.opts.Parallelism
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	rr := &RecordReader{schema: p.schema, cancel: cancel, tokens: make(chan struct{}, workers), stats: p.stats}
	rr.results = make([]chan taskResult, len(tasks))
	for i := range rr.results {
		rr.results[i] = make(chan taskResult, 1)
	}
	rr.wg.Add(1)
	go func() {
		defer rr.wg.Done()
		for i, t := range tasks {
			select {
			case rr.tokens <- struct{}{}:
			case <-ctx.Done():
				for _, ch := range rr.results[i:] {
					ch <- taskResult{err: ctx.Err()}
				}
				return
			}
			rr.wg.Add(1)
			go func() {
				defer rr.wg.Done()
				recs, err := runTask(ctx, p.f.name, t)
				rr.results[i] <- taskResult{recs: recs, err: err, token: true}
			}()
		}
	}()
	return rr
}

// runTask runs t, turning a parquet-go panic on corrupt data into a
// corruption error.
func runTask(ctx context.Context, name string, t func(context.Context) ([]arrow.Record, error)) (recs []arrow.Record, err error) {
	defer func() {
		if r := recover(); r != nil {
			for _, rec := range recs {
				rec.Release()
			}
			recs, err = nil, base.Corruptf(name, "decoding: %v", r)
		}
	}()
	return t(ctx)
}

// rowGroupMayMatch prunes row group g by its column chunk statistics.
func (p *readPlan) rowGroupMayMatch(g int) bool {
	if p.pred.op == opTrue {
		return true
	}
	rg := &p.f.pf.Metadata().RowGroups[g]
	return p.pred.mayMatch(func(c *column) (bounds, bool) {
		if p.f.isRowID(c.col.ID) {
			return p.f.rowIDBounds(g), true
		}
		leaf, ok := p.f.leaf[c.col.ID]
		if !ok {
			return bounds{}, false
		}
		st := &rg.Columns[leaf].MetaData.Statistics
		b := bounds{rows: rg.NumRows, nulls: st.NullCount}
		if !hasStats(st, rg.NumRows) {
			b.nulls = -1 // no statistics (another writer's file)
		}
		if st.MinValue != nil && st.MaxValue != nil {
			mn, ok1 := decodeStat(c, st.MinValue, false)
			mx, ok2 := decodeStat(c, st.MaxValue, true)
			b.min, b.max, b.hasMinMax = mn, mx, ok1 && ok2
		}
		return b, true
	})
}

// rng is a half-open range of rows of a row group.
type rng struct{ lo, hi int64 }

func intersect(a, b []rng) []rng {
	var out []rng
	for i, j := 0, 0; i < len(a) && j < len(b); {
		lo, hi := max(a[i].lo, b[j].lo), min(a[i].hi, b[j].hi)
		if lo < hi {
			out = append(out, rng{lo, hi})
		}
		if a[i].hi < b[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
}

func union(a, b []rng) []rng {
	all := append(append([]rng(nil), a...), b...)
	sort.Slice(all, func(i, j int) bool { return all[i].lo < all[j].lo })
	var out []rng
	for _, r := range all {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// pageRanges returns the rows of row group g whose pages may match n by
// the page index.
func (p *readPlan) pageRanges(n *pnode, g int, rows int64) []rng {
	all := []rng{{0, rows}}
	switch n.op {
	case opTrue:
		return all
	case opFalse:
		return nil
	case OpAnd:
		out := all
		for _, k := range n.kids {
			out = intersect(out, p.pageRanges(k, g, rows))
		}
		return out
	case OpOr:
		var out []rng
		for _, k := range n.kids {
			out = union(out, p.pageRanges(k, g, rows))
		}
		return out
	}
	leaf, ok := p.f.leaf[n.col.col.ID]
	if !ok {
		return all
	}
	oi, ci := p.f.pageIndex(g, leaf)
	if oi == nil || ci == nil {
		return all
	}
	var out []rng
	locs := oi.PageLocations
	for i := range locs {
		lo, hi := locs[i].FirstRowIndex, rows
		if i+1 < len(locs) {
			hi = locs[i+1].FirstRowIndex
		}
		b := bounds{rows: hi - lo, nulls: -1}
		if len(ci.NullCounts) == len(locs) {
			b.nulls = ci.NullCounts[i]
		}
		if ci.NullPages[i] {
			b.nulls = hi - lo
		} else {
			mn, ok1 := decodeStat(n.col, ci.MinValues[i], false)
			mx, ok2 := decodeStat(n.col, ci.MaxValues[i], true)
			b.min, b.max, b.hasMinMax = mn, mx, ok1 && ok2
		}
		if n.mayMatch(func(*column) (bounds, bool) { return b, true }) {
			out = union(out, []rng{{lo, hi}})
		}
	}
	return out
}

// readRowGroup decodes the selected rows of row group g (first is its
// first file position) and returns them as records. ranges, when not nil,
// are the rows to read (ReadRows); otherwise they come from page pruning.
func (p *readPlan) readRowGroup(ctx context.Context, g int, first int64, ranges []rng) (recs []arrow.Record, err error) {
	rg := p.f.pf.RowGroups()[g]
	rows := rg.NumRows()
	if ranges == nil {
		ranges = p.pageRanges(p.pred, g, rows)
	}
	if len(ranges) == 0 {
		p.stats.add(&ReadStats{RowGroupsSkipped: 1})
		return nil, nil
	}
	p.stats.add(&ReadStats{RowGroupsRead: 1})
	var n int64
	for _, r := range ranges {
		n += r.hi - r.lo
	}
	p.stats.add(&ReadStats{RowsRead: n})
	arrs := make(map[int]arrow.Array, len(p.decode)) // over ranges (n rows)
	outs := make(map[int]arrow.Array, len(p.out))    // over the selection (count rows)
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
		for _, a := range outs {
			a.Release()
		}
	}()
	decodeCol := func(id int, rs []rng) (arrow.Array, error) {
		if p.f.isRowID(id) {
			return p.f.rowIDArray(p.alloc, first, rs), nil
		}
		if v, ok := p.defs[id]; ok {
			tc := p.table.ColumnByID(id)
			rc, _ := resolveColumn(*tc)
			var m int64
			for _, r := range rs {
				m += r.hi - r.lo
			}
			return constArray(p.alloc, &rc, v, int(m)), nil
		}
		for i := range p.decode {
			if c := &p.decode[i]; c.col.ID == id {
				return p.chunk(ctx, rg.ColumnChunks()[p.f.leaf[id]], g, c, rs)
			}
		}
		return nil, fmt.Errorf("parquetio: column %d not planned", id)
	}
	// The predicate's columns first: the others are decoded only for the
	// rows that match.
	for _, id := range p.pred.columns(nil) {
		a, err := decodeCol(id, ranges)
		if err != nil {
			return nil, err
		}
		arrs[id] = a
	}
	var bitmaps []*roaring.Bitmap
	for _, bm := range []*roaring.Bitmap{p.opts.Deleted, p.opts.Mask} {
		if bm != nil && !bm.IsEmpty() {
			bitmaps = append(bitmaps, bm)
		}
	}
	// The selection, as sel (one bool per row of ranges: the predicate,
	// minus deleted and masked rows) or, when there is no predicate, as
	// runs of rows (ranges minus deleted and masked rows); sel nil means
	// every row of selRanges.
	var sel []bool
	selRanges := ranges
	count := int(n)
	if p.pred.op == opTrue {
		for _, bm := range bitmaps {
			selRanges = subtractBitmap(selRanges, first, bm)
		}
		count = 0
		for _, r := range selRanges {
			count += int(r.hi - r.lo)
		}
	} else {
		sel = getBools(int(n))
		defer putBools(sel)
		p.pred.eval(arrs, sel)
		// Walk each bitmap's members inside the ranges: the cost is the
		// deleted rows, not a lookup per row.
		for _, bm := range bitmaps {
			clearBitmap(sel, ranges, first, bm)
		}
		count = countTrue(sel)
		selRanges = nil
	}
	if count == 0 {
		return nil, nil
	}
	if sel != nil && count == int(n) {
		sel, selRanges = nil, ranges
	}
	// With a predicate, the selected rows as ranges of the row group when
	// they are few enough runs to decode the other columns run by run (only
	// when some column remains to decode).
	if sel != nil {
		for i := range p.out {
			if id := p.out[i].col.ID; arrs[id] == nil {
				selRanges = runsOf(sel, ranges, int(n)/8)
				break
			}
		}
	}
	for i := range p.out {
		id := p.out[i].col.ID
		if outs[id] != nil {
			continue
		}
		if a := arrs[id]; a != nil {
			outs[id] = filterArray(p.alloc, a, sel, count)
			continue
		}
		if selRanges != nil {
			a, err := decodeCol(id, selRanges)
			if err != nil {
				return nil, err
			}
			outs[id] = a
			continue
		}
		a, err := decodeCol(id, ranges)
		if err != nil {
			return nil, err
		}
		arrs[id] = a
		outs[id] = filterArray(p.alloc, a, sel, count)
	}
	cols := make([]arrow.Array, 0, len(p.out)+1)
	defer func() {
		for _, a := range cols {
			a.Release()
		}
	}()
	for i := range p.out {
		a := outs[p.out[i].col.ID]
		a.Retain()
		cols = append(cols, a)
	}
	if p.opts.WithPositions {
		b := array.NewInt64Builder(p.alloc)
		b.Reserve(count)
		if sel == nil {
			for _, r := range selRanges {
				for x := r.lo; x < r.hi; x++ {
					b.UnsafeAppend(first + x)
				}
			}
		} else {
			i := 0
			for _, r := range ranges {
				for x := r.lo; x < r.hi; x, i = x+1, i+1 {
					if sel[i] {
						b.UnsafeAppend(first + x)
					}
				}
			}
		}
		cols = append(cols, b.NewArray())
		b.Release()
	}
	rec := array.NewRecord(RecordSchema(p.schema, cols), cols, int64(count))
	defer rec.Release()
	for lo := 0; lo < count; lo += p.opts.BatchSize {
		hi := min(count, lo+p.opts.BatchSize)
		if lo == 0 && hi == count {
			rec.Retain()
			recs = append(recs, rec)
		} else {
			recs = append(recs, rec.NewSlice(int64(lo), int64(hi)))
		}
	}
	p.stats.add(&ReadStats{RowsReturned: int64(count)})
	return recs, nil
}

// decodeChunk decodes the rows in ranges of one column chunk into an
// array, reading only the pages that hold them (and the dictionary). With
// dict, a BYTE_ARRAY chunk whose pages read are all dictionary-encoded
// is returned as a dictionary array.
func (p *readPlan) decodeChunk(ctx context.Context, cc parquet.ColumnChunk, g int, c *column, ranges []rng, dict bool) (arrow.Array, error) {
	fc, ok := cc.(*parquet.FileColumnChunk)
	if !ok {
		return nil, errors.New("parquetio: not a file column chunk")
	}
	leaf := p.f.leaf[c.col.ID]
	meta := &p.f.pf.Metadata().RowGroups[g].Columns[leaf].MetaData
	oi, _ := p.f.pageIndex(g, leaf)
	rows := p.f.pf.Metadata().RowGroups[g].NumRows
	type page struct{ lo, hi int64 }
	var pages []page
	var spans [][2]int64
	dataOff := meta.DataPageOffset
	if meta.DictionaryPageOffset > 0 && meta.DictionaryPageOffset < dataOff {
		spans = append(spans, [2]int64{meta.DictionaryPageOffset, dataOff})
	}
	skipped := 0
	if oi != nil {
		locs := oi.PageLocations
		k := 0
		for i := range locs {
			lo, hi := locs[i].FirstRowIndex, rows
			if i+1 < len(locs) {
				hi = locs[i+1].FirstRowIndex
			}
			for k < len(ranges) && ranges[k].hi <= lo {
				k++
			}
			if k == len(ranges) || ranges[k].lo >= hi {
				skipped++
				continue
			}
			pages = append(pages, page{lo, hi})
			spans = append(spans, [2]int64{locs[i].Offset, locs[i].Offset + int64(locs[i].CompressedPageSize)})
		}
	} else {
		start := dataOff
		if meta.DictionaryPageOffset > 0 {
			start = min(start, meta.DictionaryPageOffset)
		}
		spans = [][2]int64{{start, start + meta.TotalCompressedSize}}
	}
	p.stats.add(&ReadStats{PagesSkipped: int64(skipped)})
	// parquet-go copies the pages out of the fetched buffers: they go back
	// to the pool when the chunk is decoded.
	fetchedRanges, err := fetchPooled(ctx, p.f.obj, spans, p.stats)
	if err != nil {
		return nil, fmt.Errorf("parquetio: reading %s: %w", p.f.name, err)
	}
	defer releaseFetched(fetchedRanges)
	ra := &rangeReaderAt{obj: p.f.obj, ranges: fetchedRanges, stats: p.stats}
	fp := fc.PagesFrom(ra)
	defer fp.Close()
	var want int64
	for _, r := range ranges {
		want += r.hi - r.lo
	}
	var d *decoder
	if dict && c.phys == physBytes {
		d = newDictDecoder(p.alloc, c, int(want))
	} else {
		d = newDecoderN(p.alloc, c, int(want))
	}
	defer d.release()
	k := 0 // the first range that may overlap the next page
	var runs []rng
	appendPage := func(pg parquet.Page, lo int64) error {
		hi := lo + pg.NumRows()
		d.newPage()
		for k < len(ranges) && ranges[k].hi <= lo {
			k++
		}
		runs = runs[:0]
		for j := k; j < len(ranges) && ranges[j].lo < hi; j++ {
			runs = append(runs, rng{max(ranges[j].lo, lo) - lo, min(ranges[j].hi, hi) - lo})
		}
		return d.appendRuns(pg, runs)
	}
	corrupt := func(err error) error {
		return base.Corruptf(p.f.name, "column %q row group %d: %v", c.col.Name, g, err)
	}
	if oi != nil {
		for _, pgInfo := range pages {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := fp.SeekToRow(pgInfo.lo); err != nil {
				return nil, corrupt(err)
			}
			pg, err := fp.ReadPage()
			if err != nil {
				return nil, corrupt(err)
			}
			if pg.NumRows() != pgInfo.hi-pgInfo.lo {
				parquet.Release(pg)
				return nil, corrupt(fmt.Errorf("page has %d rows, the offset index says %d", pg.NumRows(), pgInfo.hi-pgInfo.lo))
			}
			err = appendPage(pg, pgInfo.lo)
			parquet.Release(pg)
			if err != nil {
				return nil, corrupt(err)
			}
			p.stats.add(&ReadStats{PagesRead: 1})
		}
	} else {
		var lo int64
		for lo < rows {
			pg, err := fp.ReadPage()
			if err != nil {
				if err == io.EOF {
					break
				}
				return nil, corrupt(err)
			}
			err = appendPage(pg, lo)
			lo += pg.NumRows()
			parquet.Release(pg)
			if err != nil {
				return nil, corrupt(err)
			}
			p.stats.add(&ReadStats{PagesRead: 1})
		}
	}
	a := d.finish()
	if int64(a.Len()) != want {
		a.Release()
		return nil, corrupt(fmt.Errorf("decoded %d rows, want %d", a.Len(), want))
	}
	return a, nil
}

// ConcatRecords concatenates recs (of schema) into one record of alloc's
// memory; one record is returned as it is, retained. The caller releases
// recs and the result.
func ConcatRecords(alloc memory.Allocator, schema *arrow.Schema, recs []arrow.Record) (arrow.Record, error) {
	if len(recs) == 1 {
		recs[0].Retain()
		return recs[0], nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	for j := range cols {
		if len(recs) == 0 {
			b := array.NewBuilder(alloc, schema.Field(j).Type)
			cols[j] = b.NewArray()
			b.Release()
			continue
		}
		parts := make([]arrow.Array, len(recs))
		for i, r := range recs {
			parts[i] = r.Column(j)
		}
		c, err := array.Concatenate(parts, alloc)
		if err != nil {
			return nil, err
		}
		cols[j] = c
	}
	return array.NewRecord(schema, cols, rows), nil
}

// chunk returns the rows ranges of column c of row group g, through the
// page cache: a scan that decodes a whole column chunk keeps it there
// (under page -1 of its leaf), and later reads of any of its rows slice
// it instead of fetching, decompressing and decoding it again, as a
// database's buffer pool keeps hot data. Chunks are cached only when
// decoded into Go memory (the default allocator), which the cache may
// keep for as long as it likes.
//
// A dictionary-encoded string or binary chunk is cached as a dictionary
// array, whether or not this read asked for dictionaries (smaller, and a
// plain copy is one gather away); each read gets the form it asked for
// (see served), so what a read returns never depends on the cache.
func (p *readPlan) chunk(ctx context.Context, cc parquet.ColumnChunk, g int, c *column, ranges []rng) (arrow.Array, error) {
	dict := p.opts.Dictionaries
	cache := p.f.cache
	if cache == nil || !p.f.opts.CacheChunks || p.alloc != memory.DefaultAllocator {
		return p.decodeChunk(ctx, cc, g, c, ranges, dict)
	}
	key := pageKey{p.f.id, int32(g), int32(p.f.leaf[c.col.ID]), -1}
	if arr := cache.get(key); arr != nil {
		p.stats.add(&ReadStats{ChunksCached: 1})
		return served(p.alloc, arr, ranges, dict)
	}
	rows := p.f.pf.Metadata().RowGroups[g].NumRows
	if len(ranges) != 1 || ranges[0].lo != 0 || ranges[0].hi != rows {
		return p.decodeChunk(ctx, cc, g, c, ranges, dict)
	}
	arr, err := p.decodeChunk(ctx, cc, g, c, ranges, true)
	if err != nil {
		return nil, err
	}
	// The cache holds arr's reference when it keeps arr; the caller gets
	// a new array (a slice, or a plain copy) either way.
	kept, cached := cache.keep(key, arr)
	if !cached || kept != arr {
		defer arr.Release()
	}
	return served(p.alloc, kept, ranges, dict)
}

// served returns the rows ranges of a chunk from the cache (or decoded
// for it) in the form a read asked for: a dictionary array as it is only
// when dict is set, else gathered into a plain array.
func served(alloc memory.Allocator, arr arrow.Array, ranges []rng, dict bool) (arrow.Array, error) {
	if d, ok := arr.(*array.Dictionary); ok && !dict {
		return plainRanges(alloc, d, ranges), nil
	}
	return sliceRanges(alloc, arr, ranges)
}

// sliceRanges returns the rows ranges of arr: a slice of it for one
// range, else the slices concatenated (for a dictionary array, its
// indexes, over the same dictionary).
func sliceRanges(alloc memory.Allocator, arr arrow.Array, ranges []rng) (arrow.Array, error) {
	if len(ranges) == 1 {
		return array.NewSlice(arr, ranges[0].lo, ranges[0].hi), nil
	}
	if d, ok := arr.(*array.Dictionary); ok {
		idx, err := sliceRanges(alloc, d.Indices(), ranges)
		if err != nil {
			return nil, err
		}
		defer idx.Release()
		return withIndices(d.DataType(), d.Data().Dictionary(), idx), nil
	}
	parts := make([]arrow.Array, len(ranges))
	for i, r := range ranges {
		parts[i] = array.NewSlice(arr, r.lo, r.hi)
	}
	defer func() {
		for _, a := range parts {
			a.Release()
		}
	}()
	if len(parts) == 0 {
		return array.MakeArrayOfNull(alloc, arr.DataType(), 0), nil
	}
	return array.Concatenate(parts, alloc)
}
