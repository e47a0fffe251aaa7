package parquetio

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// ReaderOptions configure OpenFile.
type ReaderOptions struct {
	// Schema is the table schema that reads go through, matched to the
	// file's columns by column id; nil means the file's own schema.
	Schema *base.Schema
	// Parallelism is the number of row groups decoded at once; 0 means
	// GOMAXPROCS.
	Parallelism int
	// PageCache is the cache of decoded pages that ReadRows of a few
	// positions (point lookups) reads through, shared with other Files;
	// nil gives the File a cache of its own of PageCacheBytes.
	PageCache *PageCache
	// PageCacheBytes bounds the File's own page cache when PageCache is
	// nil; 0 means DefaultPageCacheBytes, a negative value disables the
	// cache.
	PageCacheBytes int64
	// CacheChunks makes reads keep the column chunks they decode whole in
	// the page cache, and read cached chunks from there (see
	// readPlan.chunk): repeated scans of hot data then cost no fetch,
	// decompression or decoding.
	CacheChunks bool
	// Foreign, when set, opens a file that lakesql did not write (no
	// lakesql metadata, no field ids): its columns are matched to the
	// table schema (Schema, required then) by name through
	// Foreign.Columns.
	Foreign *ForeignOptions
}

// tailSize is how much of the end of an object OpenFile reads at once: the
// footer and, usually, the page index.
const tailSize = 256 << 10

// File is an open Parquet data file. Its footer, page index and schema
// mapping are kept in memory; the key index and bloom filters are loaded on
// first use and kept. A File is safe for concurrent use: any number of
// Reads, ReadRows and key lookups may run at once. Close it after the last
// read is closed.
type File struct {
	name   string
	obj    store.Object
	pf     *parquet.File
	schema *base.Schema // the file's own schema
	table  *base.Schema // the schema reads go through
	cols   []column     // the file's columns, by schema order
	leaf   map[int]int  // column id -> Parquet leaf index
	nleaf  int          // Parquet leaves (column chunks per row group)
	keyIDs []int
	stats  FileStats
	keyLo  Key // the encoded key range, when the file has a key
	keyHi  Key
	opts   ReaderOptions

	// rowID, when not 0, is the id of the synthesized row-id column of a
	// foreign file: the row at file position x has rowIDStart + x.
	rowID      int
	rowIDStart int64

	keyMu  sync.Mutex                  // serializes loading the key index
	keyIdx atomic.Pointer[KeyIndex]    // set once loaded
	blooms []atomic.Pointer[bloomSlot] // by row group * columns + leaf, once read

	id      uint64     // names the File's pages in the page cache
	rgFirst []int64    // the file position of each row group's first row
	cache   *PageCache // decoded pages for ReadRows; nil when disabled

	plansMu sync.RWMutex
	plans   map[string]*syncPlan // column list -> plan, for ReadRows
}

// tailReaderAt serves reads inside the cached end of the object from
// memory and the rest from the object.
type tailReaderAt struct {
	obj  io.ReaderAt
	off  int64
	tail []byte
}

func (t *tailReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= t.off && off+int64(len(p)) <= t.off+int64(len(t.tail)) {
		return copy(p, t.tail[off-t.off:]), nil
	}
	return t.obj.ReadAt(p, off)
}

// OpenFile opens the Parquet object name of r and reads its footer and
// page index (usually one ranged read). A truncated, empty or otherwise
// corrupt file gives an error matching base.ErrCorruption that names it.
//
// With opts.Foreign the file is one that another tool wrote (see
// ForeignOptions).
func OpenFile(ctx context.Context, r store.Reader, name string, opts ReaderOptions) (f *File, err error) {
	obj, pf, err := openParquet(ctx, r, name)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			obj.Close()
		}
	}()
	f = &File{name: name, obj: obj, pf: pf, opts: opts, leaf: map[int]int{}}
	if opts.Foreign != nil {
		if err := f.initForeign(ctx); err != nil {
			return nil, err
		}
		return f, nil
	}
	if err := f.init(); err != nil {
		return nil, base.Corruptf(name, "%v", err)
	}
	return f, nil
}

// openParquet opens the object name of r and reads its footer and page
// index (usually one ranged read of the object's tail).
func openParquet(ctx context.Context, r store.Reader, name string) (_ store.Object, _ *parquet.File, err error) {
	obj, err := r.Open(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			obj.Close()
		}
	}()
	size := obj.Size()
	if size < 12 {
		return nil, nil, base.Corruptf(name, "parquet file of %d bytes is too short", size)
	}
	n := min(size, tailSize)
	tail := make([]byte, n)
	if _, err := obj.ReadAt(tail, size-n); err != nil && !(errors.Is(err, io.EOF)) {
		return nil, nil, fmt.Errorf("parquetio: reading the footer of %s: %w", name, err)
	}
	if string(tail[n-4:]) != "PAR1" {
		return nil, nil, base.Corruptf(name, "no parquet magic at the end")
	}
	ra := &tailReaderAt{obj: obj, off: size - n, tail: tail}
	pf, err := safeOpen(ra, size)
	if err != nil {
		return nil, nil, base.Corruptf(name, "%v", err)
	}
	return obj, pf, nil
}

func safeOpen(ra io.ReaderAt, size int64) (pf *parquet.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			pf, err = nil, fmt.Errorf("parquet footer: %v", r)
		}
	}()
	return parquet.OpenFile(ra, size, parquet.SkipBloomFilters(true), parquet.ReadBufferSize(64<<10))
}

// init validates the footer against lakesql's metadata.
func (f *File) init() error {
	md := f.pf.Metadata()
	kv := func(k string) (string, bool) {
		for _, e := range md.KeyValueMetadata {
			if e.Key == k {
				return e.Value, true
			}
		}
		return "", false
	}
	sj, ok := kv(metaSchema)
	if !ok {
		return errors.New("no lakesql schema in the footer")
	}
	f.schema = new(base.Schema)
	if err := json.Unmarshal([]byte(sj), f.schema); err != nil {
		return fmt.Errorf("lakesql schema: %w", err)
	}
	cols, err := tableColumns(f.schema)
	if err != nil {
		return err
	}
	f.cols = cols
	if len(md.Schema) != len(cols)+1 {
		return fmt.Errorf("parquet schema has %d elements for %d columns", len(md.Schema), len(cols))
	}
	for i, el := range md.Schema[1:] {
		c := f.fileColumn(int(el.FieldID))
		if c == nil {
			return fmt.Errorf("parquet column %q has field id %d, not in the schema", el.Name, el.FieldID)
		}
		want := map[phys]format.Type{physBool: format.Boolean, physInt32: format.Int32, physInt64: format.Int64,
			physFloat: format.Float, physDouble: format.Double, physBytes: format.ByteArray, physFLBA: format.FixedLenByteArray}[c.phys]
		if !el.Type.Valid || el.Type.V != want {
			return fmt.Errorf("parquet column %q has type %v, want %v", el.Name, el.Type.V, want)
		}
		if c.phys == physFLBA && int(el.TypeLength.V) != c.size {
			return fmt.Errorf("parquet column %q has length %d, want %d", el.Name, el.TypeLength.V, c.size)
		}
		f.leaf[c.col.ID] = i
	}
	var rows int64
	for i, rg := range md.RowGroups {
		if len(rg.Columns) != len(cols) {
			return fmt.Errorf("row group %d has %d columns, want %d", i, len(rg.Columns), len(cols))
		}
		for j := range rg.Columns {
			m := &rg.Columns[j].MetaData
			if m.DataPageOffset < 4 || m.TotalCompressedSize < 0 || chunkStart(m)+m.TotalCompressedSize > f.obj.Size() {
				return fmt.Errorf("row group %d column %d lies outside the file", i, j)
			}
		}
		rows += rg.NumRows
	}
	if rows != md.NumRows {
		return fmt.Errorf("row groups hold %d rows, the footer says %d", rows, md.NumRows)
	}
	if ks, _ := kv(metaKey); ks != "" {
		for _, s := range strings.Split(ks, ",") {
			id, err := strconv.Atoi(s)
			if err != nil || f.fileColumn(id) == nil {
				return fmt.Errorf("bad key column %q", s)
			}
			f.keyIDs = append(f.keyIDs, id)
		}
	}
	if st, ok := kv(metaStats); ok {
		if err := json.Unmarshal([]byte(st), &f.stats); err != nil {
			return fmt.Errorf("lakesql stats: %w", err)
		}
	}
	f.stats.Bytes = f.obj.Size()
	if kr, ok := kv(metaKeyRange); ok {
		lo, hi, _ := strings.Cut(kr, ",")
		l, err1 := hex.DecodeString(lo)
		h, err2 := hex.DecodeString(hi)
		if err1 != nil || err2 != nil {
			return errors.New("bad key range")
		}
		f.keyLo, f.keyHi = Key(l), Key(h)
	}
	f.nleaf = len(cols)
	f.setup()
	return nil
}

// setup prepares what every File has once its columns, leaves and key
// are known: row group positions, bloom filter slots, the page cache and
// the schema reads go through.
func (f *File) setup() {
	md := f.pf.Metadata()
	f.rgFirst = make([]int64, len(md.RowGroups))
	var rows int64
	for i, rg := range md.RowGroups {
		f.rgFirst[i] = rows
		rows += rg.NumRows
	}
	f.id = fileIDs.Add(1)
	f.blooms = make([]atomic.Pointer[bloomSlot], len(md.RowGroups)*f.nleaf)
	switch {
	case f.opts.PageCache != nil:
		f.cache = f.opts.PageCache
	case f.opts.PageCacheBytes == 0:
		f.cache = NewPageCache(DefaultPageCacheBytes)
	case f.opts.PageCacheBytes > 0:
		f.cache = NewPageCache(f.opts.PageCacheBytes)
	}
	f.table = f.schema
	if f.opts.Schema != nil {
		f.table = f.opts.Schema
	}
}

// chunkStart is where a column chunk begins: at its dictionary page when it
// has one (TotalCompressedSize counts from there), else at its first data
// page.
func chunkStart(m *format.ColumnMetaData) int64 {
	if m.DictionaryPageOffset > 0 && m.DictionaryPageOffset < m.DataPageOffset {
		return m.DictionaryPageOffset
	}
	return m.DataPageOffset
}

func (f *File) fileColumn(id int) *column {
	for i := range f.cols {
		if f.cols[i].col.ID == id {
			return &f.cols[i]
		}
	}
	return nil
}

// Name is the object's name.
func (f *File) Name() string { return f.name }

// Schema is the schema the file was written with; for a foreign file,
// its mapped columns under their table ids, names and types (nullable as
// in the file), and the synthesized row-id column when there is one.
func (f *File) Schema() *base.Schema { return f.schema }

// Stats are the statistics the writer recorded (for a foreign file,
// ForeignOptions.Stats); Bytes is the object size.
func (f *File) Stats() FileStats { return f.stats }

// NumRows is the number of rows in the file.
func (f *File) NumRows() int64 { return f.pf.NumRows() }

// KeyRange is the file's range of encoded keys (both ends included), or
// empty Keys when the file has no key.
func (f *File) KeyRange() (lo, hi Key) { return f.keyLo, f.keyHi }

// KeyColumns are the ids of the file's key columns, or nil.
func (f *File) KeyColumns() []int { return f.keyIDs }

// RowGroupInfo describes one row group.
type RowGroupInfo struct {
	// FirstRow is the file position of its first row.
	FirstRow int64
	NumRows  int64
	// Bytes is the compressed size of its column chunks.
	Bytes int64
}

// RowGroups describes the file's row groups in file order.
func (f *File) RowGroups() []RowGroupInfo {
	md := f.pf.Metadata()
	out := make([]RowGroupInfo, len(md.RowGroups))
	var first int64
	for i, rg := range md.RowGroups {
		out[i] = RowGroupInfo{FirstRow: first, NumRows: rg.NumRows, Bytes: rg.TotalCompressedSize}
		first += rg.NumRows
	}
	return out
}

// Close releases the object. Reads must be closed first.
func (f *File) Close() error { return f.obj.Close() }

// pageIndex returns the offset and column index of a chunk, or nil.
func (f *File) pageIndex(rg, leaf int) (*format.OffsetIndex, *format.ColumnIndex) {
	k := rg*f.nleaf + leaf
	var oi *format.OffsetIndex
	var ci *format.ColumnIndex
	if ois := f.pf.OffsetIndexes(); k < len(ois) && len(ois[k].PageLocations) > 0 {
		oi = &ois[k]
	}
	if cis := f.pf.ColumnIndexes(); k < len(cis) && len(cis[k].NullPages) > 0 {
		ci = &cis[k]
	}
	if oi != nil && ci != nil && len(ci.NullPages) != len(oi.PageLocations) {
		ci = nil
	}
	return oi, ci
}

// rangeReaderAt serves reads from prefetched ranges of the object. A read
// that starts inside a range but runs past its end returns the part inside
// and io.EOF (parquet-go's buffered page reader reads ahead; it never
// consumes those bytes); a read outside every range goes to the object.
type rangeReaderAt struct {
	obj    io.ReaderAt
	ranges []fetched
	stats  *ReadStats
}

type fetched struct {
	off  int64
	data []byte
}

func (r *rangeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	i := sort.Search(len(r.ranges), func(i int) bool { return r.ranges[i].off+int64(len(r.ranges[i].data)) > off })
	if i < len(r.ranges) && r.ranges[i].off <= off {
		n := copy(p, r.ranges[i].data[off-r.ranges[i].off:])
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	r.stats.add(&ReadStats{UnplannedReads: 1, BytesRead: int64(len(p))})
	return r.obj.ReadAt(p, off)
}

// fetch reads the byte ranges (sorted, merged when closer than gap) from
// the object.
func fetch(ctx context.Context, obj io.ReaderAt, spans [][2]int64, stats *ReadStats) ([]fetched, error) {
	return fetchInto(ctx, obj, spans, stats, func(n int64) []byte { return make([]byte, n) })
}

// fetchPooled is fetch into buffers of fetchPool; releaseFetched returns
// them once nothing refers to them any more.
func fetchPooled(ctx context.Context, obj io.ReaderAt, spans [][2]int64, stats *ReadStats) ([]fetched, error) {
	out, err := fetchInto(ctx, obj, spans, stats, getFetchBuf)
	if err != nil {
		releaseFetched(out)
	}
	return out, err
}

func releaseFetched(fs []fetched) {
	for _, f := range fs {
		putFetchBuf(f.data)
	}
}

// fetchPool holds read buffers by size class: class c holds buffers of
// capacity 1<<c.
var fetchPool [48]sync.Pool

func getFetchBuf(n int64) []byte {
	c := bits.Len64(uint64(max(n, 4096) - 1))
	if c >= len(fetchPool) {
		return make([]byte, n)
	}
	if b, ok := fetchPool[c].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, 1<<c)
}

func putFetchBuf(b []byte) {
	c := bits.Len64(uint64(cap(b))) - 1
	if c < 0 || c >= len(fetchPool) || cap(b) != 1<<c {
		return
	}
	b = b[:cap(b)]
	fetchPool[c].Put(&b)
}

func fetchInto(ctx context.Context, obj io.ReaderAt, spans [][2]int64, stats *ReadStats, alloc func(int64) []byte) ([]fetched, error) {
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	const gap = 64 << 10
	var merged [][2]int64
	for _, s := range spans {
		if n := len(merged); n > 0 && s[0] <= merged[n-1][1]+gap {
			merged[n-1][1] = max(merged[n-1][1], s[1])
			continue
		}
		merged = append(merged, s)
	}
	out := make([]fetched, 0, len(merged))
	for _, s := range merged {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		buf := alloc(s[1] - s[0])
		n, err := obj.ReadAt(buf, s[0])
		if err != nil && !(errors.Is(err, io.EOF)) {
			putFetchBuf(buf)
			return out, err
		}
		clear(buf[n:]) // a pooled buffer holds old bytes
		stats.add(&ReadStats{BytesRead: int64(len(buf)), RangedReads: 1})
		out = append(out, fetched{off: s[0], data: buf})
	}
	return out, nil
}
