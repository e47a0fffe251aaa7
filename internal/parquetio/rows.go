package parquetio

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/parquet-go/parquet-go"
)

// DefaultPageCacheBytes is the default budget of a File's cache of decoded
// pages (ReaderOptions.PageCacheBytes).
const DefaultPageCacheBytes = 64 << 20

// syncRowsMax is the largest number of positions ReadRows reads on the
// calling goroutine, page by page through the page cache; more go through
// the parallel read pipeline.
const syncRowsMax = 64

// pageKey names one data page: row group, Parquet leaf, page of the
// offset index.
type pageKey struct{ rg, leaf, page int32 }

// cachedPage is a whole data page decoded into an Arrow array (Go memory,
// never released: dropped from the cache it is garbage collected, so a
// reader still holding it is safe).
type cachedPage struct {
	key  pageKey
	arr  arrow.Array
	size int64
}

// pageCache is an LRU cache of decoded pages bounded by bytes.
type pageCache struct {
	mu     sync.Mutex
	budget int64
	used   int64
	lru    list.List // of *cachedPage, most recent first
	m      map[pageKey]*list.Element
}

func newPageCache(budget int64) *pageCache {
	return &pageCache{budget: budget, m: map[pageKey]*list.Element{}}
}

func (c *pageCache) get(k pageKey) arrow.Array {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[k]
	if e == nil {
		return nil
	}
	c.lru.MoveToFront(e)
	return e.Value.(*cachedPage).arr
}

// put caches arr under k (unless the page is larger than the budget) and
// returns the cached array of k.
func (c *pageCache) put(k pageKey, arr arrow.Array) arrow.Array {
	if c == nil {
		return arr
	}
	var size int64
	for _, b := range arr.Data().Buffers() {
		if b != nil {
			size += int64(b.Len())
		}
	}
	size += 128 // bookkeeping
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[k]; e != nil { // decoded concurrently
		c.lru.MoveToFront(e)
		return e.Value.(*cachedPage).arr
	}
	if size > c.budget {
		return arr
	}
	for c.used+size > c.budget {
		e := c.lru.Back()
		old := e.Value.(*cachedPage)
		c.lru.Remove(e)
		delete(c.m, old.key)
		c.used -= old.size
	}
	c.m[k] = c.lru.PushFront(&cachedPage{key: k, arr: arr, size: size})
	c.used += size
	return arr
}

// cachedPlan returns the plan of reading columns through the table schema,
// planned once per column list and kept; the copy returned has its own
// statistics and alloc.
func (f *File) cachedPlan(columns []int, alloc memory.Allocator) (*readPlan, error) {
	var sb strings.Builder
	if columns == nil {
		sb.WriteString("*")
	}
	for _, id := range columns {
		sb.WriteString(strconv.Itoa(id))
		sb.WriteByte(',')
	}
	key := sb.String()
	var p *readPlan
	if v, ok := f.plans.Load(key); ok {
		p = v.(*readPlan)
	} else {
		var err error
		if p, err = f.plan(ReadOptions{Columns: columns, BatchSize: 1 << 30}); err != nil {
			return nil, err
		}
		f.plans.Store(key, p)
	}
	q := *p
	q.alloc, q.opts.Alloc, q.stats = alloc, alloc, new(ReadStats)
	if q.alloc == nil {
		q.alloc = memory.DefaultAllocator
	}
	return &q, nil
}

// readRowsSync reads the rows at pos (sorted, distinct, inside the file)
// page by page on the calling goroutine: each page is taken from the
// File's page cache or read, decoded whole and cached. ok is false when
// the file lacks an offset index (the caller then uses the pipeline).
func (f *File) readRowsSync(ctx context.Context, p *readPlan, pos []int64) (rec arrow.Record, ok bool, err error) {
	md := f.pf.Metadata()
	for i := range p.decode {
		for g := range md.RowGroups {
			if oi, _ := f.pageIndex(g, f.leaf[p.decode[i].col.ID]); oi == nil {
				return nil, false, nil
			}
		}
	}
	bs := make([]array.Builder, len(p.out))
	defer func() {
		for _, b := range bs {
			if b != nil {
				b.Release()
			}
		}
		if r := recover(); r != nil {
			if rec != nil {
				rec.Release()
			}
			rec, ok, err = nil, true, base.Corruptf(f.name, "decoding: %v", r)
		}
	}()
	for j := range p.out {
		bs[j] = array.NewBuilder(p.alloc, p.out[j].arrow)
		bs[j].Reserve(len(pos))
	}
	for _, x := range pos {
		if err := ctx.Err(); err != nil {
			return nil, true, err
		}
		g := sort.Search(len(f.rgFirst), func(i int) bool { return f.rgFirst[i] > x }) - 1
		r := x - f.rgFirst[g]
		for j := range p.out {
			c := &p.out[j]
			if v, ok := p.defs[c.col.ID]; ok {
				appendScalar(bs[j], v)
				continue
			}
			arr, lo, err := f.page(ctx, p, g, c, r)
			if err != nil {
				return nil, true, err
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
	return rec, true, nil
}

// page returns the decoded page of column c holding row r of row group g,
// and the row group row of its first row.
func (f *File) page(ctx context.Context, p *readPlan, g int, c *column, r int64) (arrow.Array, int64, error) {
	leaf := f.leaf[c.col.ID]
	oi, _ := f.pageIndex(g, leaf)
	locs := oi.PageLocations
	i := sort.Search(len(locs), func(i int) bool { return locs[i].FirstRowIndex > r }) - 1
	if i < 0 {
		return nil, 0, base.Corruptf(f.name, "column %q row group %d: no page holds row %d", c.col.Name, g, r)
	}
	lo := locs[i].FirstRowIndex
	key := pageKey{int32(g), int32(leaf), int32(i)}
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
	ranges, err := fetch(ctx, f.obj, spans, p.stats)
	if err != nil {
		return nil, 0, fmt.Errorf("parquetio: reading %s: %w", f.name, err)
	}
	fc, ok := f.pf.RowGroups()[g].ColumnChunks()[leaf].(*parquet.FileColumnChunk)
	if !ok {
		return nil, 0, errors.New("parquetio: not a file column chunk")
	}
	fp := fc.PagesFrom(&rangeReaderAt{obj: f.obj, ranges: ranges, stats: p.stats})
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
