package parquetio

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	kzstd "github.com/klauspost/compress/zstd"
)

// Key-value metadata keys of the files lakesql writes.
const (
	metaSchema = "lakesql.schema" // the base.Schema, JSON
	metaKey    = "lakesql.key"    // the key column ids, comma-separated
	metaStats  = "lakesql.stats"  // FileStats without Bytes, JSON
	// metaKeyRange is the first and last rows' encoded keys, in hex,
	// separated by a comma.
	metaKeyRange = "lakesql.keyrange"
)

// Defaults of WriterOptions.
const (
	DefaultRowGroupRows = 512 * 1024
	DefaultPageSize     = 64 * 1024
	// DefaultKeyedPageSize is the default page size of the key columns of
	// files with key columns: small pages keep a key lookup's page decode
	// cheap. The other columns keep DefaultPageSize: a point read of a
	// row decodes a page of each (BenchmarkPageSize: 100 us cold at 16 KiB
	// against 290 us at 64 KiB, four columns) but scans are some 30 %
	// faster with them, and the page cache holds the pages lookups reuse.
	DefaultKeyedPageSize = 16 * 1024
	// DefaultIndexPageSize is the default page size of index files
	// (WriteIndexFile), which serve point lookups only: a lookup binary
	// searches the pages of the first column.
	DefaultIndexPageSize     = 8 * 1024
	DefaultBloomBitsPerValue = 10
	// dictionaryMaxRatio: a string column is written with PLAIN encoding
	// when more than this fraction of a sample of its first values are
	// distinct (a dictionary would hold most values and only add a page
	// to decode).
	dictionaryMaxRatio = 0.5
	dictionarySample   = 16 << 10
)

// WriterOptions configure a Writer.
type WriterOptions struct {
	// RowGroupRows is the number of rows per row group (the last one may
	// hold fewer); 0 means DefaultRowGroupRows.
	RowGroupRows int
	// PageSize is the uncompressed size in bytes at which a data page is
	// cut; 0 means DefaultPageSize.
	PageSize int
	// KeyPageSize is the page size of the key columns; 0 means PageSize
	// when that is set, else DefaultKeyedPageSize. Small key pages make
	// page pruning on the key and key lookups cheap; the other columns'
	// larger pages make scans cheaper (fewer pages to decompress and
	// decode).
	KeyPageSize int
	// KeyColumns are the ids of the key columns, in key order. The caller
	// writes rows sorted by key; the key columns get bloom filters and
	// FileStats gets the key range (the first and the last row's key).
	KeyColumns []int
	// BloomBitsPerValue sizes the key columns' bloom filters; 0 means
	// DefaultBloomBitsPerValue.
	BloomBitsPerValue uint
	// BloomColumns are other columns (ids) that get bloom filters too.
	BloomColumns []int
	// CheckKeyOrder makes Write fail when a row's key is not greater than
	// the previous row's (a debugging aid: it encodes every key).
	CheckKeyOrder bool
}

// FileStats describes a written file, as the commit log's add action
// records it. Values are JSON-friendly (see jsonValue).
type FileStats struct {
	Rows  int64 `json:"rows"`
	Bytes int64 `json:"bytes"`
	// Columns holds the statistics of each column by column id.
	Columns map[int]ColumnStats `json:"columns"`
	// KeyMin and KeyMax are the first and last rows' keys, one value per
	// key column; nil without key columns or rows.
	KeyMin []any `json:"keyMin,omitempty"`
	KeyMax []any `json:"keyMax,omitempty"`
}

// ColumnStats are one column's statistics; Min and Max are nil when every
// value is NULL.
type ColumnStats struct {
	Min       any   `json:"min"`
	Max       any   `json:"max"`
	NullCount int64 `json:"nullCount"`
}

// Writer writes Arrow record batches of one schema as a Parquet file. It is
// not safe for concurrent use.
//
// The Parquet writer is created on the first Write: string and byte string
// columns whose first values are mostly distinct are written PLAIN rather
// than dictionary-encoded. A large enough write encodes its columns on
// parallel goroutines (one per column, at most GOMAXPROCS at once).
type Writer struct {
	schema *base.Schema
	cols   []column
	leaf   []int // leaf[i]: the Parquet leaf index of cols[i]
	keyIdx []int // indexes into cols of the key columns
	opts   WriterOptions
	out    *countingWriter
	pw     *parquet.Writer
	pwOpts []parquet.WriterOption // options of pw but the schema

	inGroup int // rows in the current row group
	rows    int64
	acc     []colAcc
	keyMin  []scalar
	keyMax  []scalar
	lastKey []byte
	keyBuf  []byte
	scratch []colScratch // per column, so columns encode in parallel
	piece   int          // rows per WriteRowValues call
	// Key columns with pages smaller than PageSize (isKey) are written in
	// pieces of keyPiece rows, and their pages cut by a Flush of the
	// column writer when pageBytes, the bytes written since the last cut,
	// reach KeyPageSize (parquet-go cuts every column's pages at
	// PageSize).
	keyPiece  int
	isKey     []bool
	pageBytes []int
	closed    bool
	err       error
	// Large records are written by one goroutine per column (once the
	// first one comes): queues[i] feeds column i's, in order; pending
	// counts the pieces not yet written, colErr the columns' errors. A
	// Write returns before its record is encoded, so the slowest column
	// does not hold up the others nor the caller; row group ends and
	// Close wait for every column (barrier). parquet-go's ColumnWriters
	// of one row group are independent of each other.
	queues  []chan colPiece
	pending sync.WaitGroup
	colErr  []error
}

// colPiece is rows [lo, hi) of a record, for one column's goroutine; the
// record is retained for it.
type colPiece struct {
	rec    arrow.Record
	lo, hi int
}

type colScratch struct {
	vals  []parquet.Value
	fixed []byte
}

type colAcc struct {
	min, max scalar
	has      bool
	nulls    int64
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// NewWriter returns a Writer of schema to w. Every column of schema
// (hidden ones included) is written; records passed to Write have the
// columns of ArrowSchema(schema, nil) in that order.
func NewWriter(w io.Writer, schema *base.Schema, opts WriterOptions) (*Writer, error) {
	cols, err := tableColumns(schema)
	if err != nil {
		return nil, err
	}
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = DefaultRowGroupRows
	}
	if opts.KeyPageSize <= 0 {
		opts.KeyPageSize = opts.PageSize
		if opts.KeyPageSize <= 0 {
			opts.KeyPageSize = DefaultKeyedPageSize
		}
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.BloomBitsPerValue == 0 {
		opts.BloomBitsPerValue = DefaultBloomBitsPerValue
	}
	wr := &Writer{schema: schema, cols: cols, opts: opts, out: &countingWriter{w: w}, acc: make([]colAcc, len(cols)),
		scratch: make([]colScratch, len(cols)), piece: min(max(opts.PageSize/16, 64), 8192),
		keyPiece: min(max(opts.KeyPageSize/16, 64), 8192), pageBytes: make([]int, len(cols)), isKey: make([]bool, len(cols))}
	var filters []parquet.BloomFilterColumn
	for _, id := range opts.KeyColumns {
		found := false
		for i := range cols {
			if cols[i].col.ID == id {
				wr.keyIdx = append(wr.keyIdx, i)
				wr.isKey[i] = opts.KeyPageSize < opts.PageSize
				filters = append(filters, parquet.SplitBlockFilter(opts.BloomBitsPerValue, cols[i].col.Name))
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("parquetio: key column id %d is not in the schema", id)
		}
	}
	for _, id := range opts.BloomColumns {
		i := slices.IndexFunc(cols, func(c column) bool { return c.col.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("parquetio: bloom filter column id %d is not in the schema", id)
		}
		if !slices.Contains(opts.KeyColumns, id) {
			filters = append(filters, parquet.SplitBlockFilter(opts.BloomBitsPerValue, cols[i].col.Name))
		}
	}
	ps := parquetSchemaOf(cols)
	wr.leaf = make([]int, len(cols))
	for i := range cols {
		leaf, ok := ps.Lookup(cols[i].col.Name)
		if !ok {
			return nil, fmt.Errorf("parquetio: column %q missing from the Parquet schema", cols[i].col.Name)
		}
		wr.leaf[i] = leaf.ColumnIndex
	}
	schemaJSON, err := json.Marshal(schema)
	if err != nil {
		return nil, err
	}
	keyIDs := make([]string, len(opts.KeyColumns))
	for i, id := range opts.KeyColumns {
		keyIDs[i] = strconv.Itoa(id)
	}
	wr.pwOpts = []parquet.WriterOption{
		// The fastest zstd level: about as dense on these pages as the
		// default and much cheaper to encode.
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}),
		parquet.PageBufferSize(opts.PageSize),
		parquet.MaxRowsPerRowGroup(int64(opts.RowGroupRows)),
		parquet.DataPageStatistics(true),
		parquet.ColumnIndexSizeLimit(func([]string) int { return 64 }),
		parquet.DictionaryMaxBytes(1 << 20),
		parquet.KeyValueMetadata(metaSchema, string(schemaJSON)),
		parquet.KeyValueMetadata(metaKey, strings.Join(keyIDs, ",")),
		parquet.CreatedBy("lakesql", "", ""),
	}
	if len(filters) > 0 {
		wr.pwOpts = append(wr.pwOpts, parquet.BloomFilters(filters...))
	}
	return wr, nil
}

// start creates the Parquet writer, choosing each dictionary-encodable
// column's encoding from its first values in rec (nil: dictionary).
func (w *Writer) start(rec arrow.Record) {
	plain := make([]bool, len(w.cols))
	for i := range w.cols {
		if w.cols[i].phys != physBytes {
			continue
		}
		// A column with a bloom filter is written PLAIN: parquet-go builds
		// a dictionary column's filter from the dictionary alone, which
		// loses the values written after a fallback to PLAIN (a full
		// dictionary), and lookups would then skip rows that exist.
		id := w.cols[i].col.ID
		if slices.Contains(w.opts.KeyColumns, id) || slices.Contains(w.opts.BloomColumns, id) {
			plain[i] = true
		} else if rec != nil && w.cols[i].typ.Kind != base.TypeJSON {
			plain[i] = mostlyDistinct(rec.Column(i))
		}
	}
	// The first key column, when it is an integer, is written
	// DELTA_BINARY_PACKED: sorted integers take a few bits each (none for
	// consecutive ones), and decoding deltas is much cheaper than
	// decompressing the zstd matches that PLAIN sorted integers make.
	delta := -1
	if len(w.keyIdx) > 0 {
		if k := w.keyIdx[0]; w.cols[k].phys == physInt32 || w.cols[k].phys == physInt64 {
			delta = k
		}
	}
	g := parquet.Group{}
	for i := range w.cols {
		// So is an integer column whose first values ascend in small
		// steps (ids, times in order): encoding deltas is much cheaper
		// than compressing PLAIN values, and denser.
		ascending := i != delta && rec != nil && (w.cols[i].phys == physInt32 || w.cols[i].phys == physInt64) && smallSteps(rec.Column(i))
		// Columns written without a dictionary whose first values zstd
		// barely shrinks (random doubles, hashes, UUIDs) are stored
		// uncompressed: compressing them costs writes and reads CPU for
		// a few percent of bytes.
		raw := rec != nil && i != delta && !ascending && (w.cols[i].phys != physBytes || plain[i]) && incompressible(rec.Column(i))
		n := w.cols[i].node()
		if i == delta || ascending {
			n = parquet.Encoded(w.cols[i].leafNode(), &parquet.DeltaBinaryPacked)
			if w.cols[i].col.Nullable {
				n = parquet.Optional(n)
			}
			n = parquet.FieldID(n, w.cols[i].col.ID)
		}
		if plain[i] {
			c := w.cols[i]
			c.col.Nullable = false
			n = plainNode(&c)
			if w.cols[i].col.Nullable {
				n = parquet.Optional(n)
			}
			n = parquet.FieldID(n, c.col.ID)
		}
		if raw {
			n = parquet.Compressed(n, &parquet.Uncompressed)
		}
		g[w.cols[i].col.Name] = n
	}
	w.pw = parquet.NewWriter(w.out, append([]parquet.WriterOption{parquet.NewSchema("lakesql", g)}, w.pwOpts...)...)
}

// incompressibleRatio: a column whose sample zstd leaves above this
// fraction of its size is written uncompressed.
const incompressibleRatio = 0.9

// sampleEncoder compresses samples for incompressible (EncodeAll is safe
// for concurrent use).
var sampleEncoder, _ = kzstd.NewWriter(nil, kzstd.WithEncoderLevel(kzstd.SpeedFastest), kzstd.WithEncoderConcurrency(1))

// incompressible reports whether zstd shrinks the values of arr's first
// 64 KiB (a fixed-width array's values, a binary array's bytes) by less
// than a tenth.
func incompressible(arr arrow.Array) bool {
	const sample = 64 << 10
	var raw []byte
	switch a := arr.(type) {
	case *array.String:
		raw = a.ValueBytes()
	case *array.Binary:
		raw = a.ValueBytes()
	default:
		fw, ok := a.DataType().(arrow.FixedWidthDataType)
		if !ok || fw.BitWidth() < 8 || len(a.Data().Buffers()) < 2 || a.Data().Buffers()[1] == nil {
			return false
		}
		w := fw.BitWidth() / 8
		raw = a.Data().Buffers()[1].Bytes()[a.Data().Offset()*w:]
		raw = raw[:min(len(raw), a.Len()*w)]
	}
	raw = raw[:min(len(raw), sample)]
	if len(raw) < 4<<10 {
		return false // too little to judge
	}
	out := sampleEncoder.EncodeAll(raw, make([]byte, 0, len(raw)))
	return float64(len(out)) > incompressibleRatio*float64(len(raw))
}

// smallSteps reports whether the first values of an integer array (up to
// 4,096, at least 64, none NULL) never descend and rise by less than 4,096
// at a time.
func smallSteps(arr arrow.Array) bool {
	n := min(arr.Len(), 4096)
	if n < 64 || arr.NullN() > 0 {
		return false
	}
	switch a := arr.(type) {
	case *array.Int64:
		return ascendsSlowly(a.Int64Values()[:n])
	case *array.Int32:
		return ascendsSlowly(a.Int32Values()[:n])
	}
	return false
}

func ascendsSlowly[T int32 | int64](v []T) bool {
	for i := 1; i < len(v); i++ {
		if d := int64(v[i]) - int64(v[i-1]); d < 0 || d >= 4096 {
			return false
		}
	}
	return true
}

// plainNode is the PLAIN-encoded node of a string or byte string column
// (not optional, without field id).
func plainNode(c *column) parquet.Node {
	if c.typ.IsString() {
		return parquet.Encoded(parquet.String(), &parquet.Plain)
	}
	return parquet.Encoded(parquet.Leaf(parquet.ByteArrayType), &parquet.Plain)
}

// mostlyDistinct reports whether more than dictionaryMaxRatio of the first
// dictionarySample non-null values of a string or binary array differ.
func mostlyDistinct(arr arrow.Array) bool {
	n := min(arr.Len(), dictionarySample)
	seen := make(map[string]struct{}, n)
	valid := 0
	for i := 0; i < n; i++ {
		if arr.IsNull(i) {
			continue
		}
		valid++
		switch a := arr.(type) {
		case *array.String:
			seen[a.Value(i)] = struct{}{}
		case *array.Binary:
			seen[unsafeString(a.Value(i))] = struct{}{}
		}
	}
	return valid >= 64 && float64(len(seen)) > dictionaryMaxRatio*float64(valid)
}

// Write appends the rows of rec, whose columns must be those of
// ArrowSchema(schema, nil). Key columns must not hold NULLs.
func (w *Writer) Write(rec arrow.Record) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("parquetio: write to a closed Writer")
	}
	if int(rec.NumCols()) != len(w.cols) {
		return fmt.Errorf("parquetio: record has %d columns, the schema %d", rec.NumCols(), len(w.cols))
	}
	for i := range w.cols {
		if !arrow.TypeEqual(rec.Column(i).DataType(), w.cols[i].arrow) {
			return fmt.Errorf("parquetio: column %q is %s in the record, want %s", w.cols[i].col.Name, rec.Column(i).DataType(), w.cols[i].arrow)
		}
		if !w.cols[i].col.Nullable && rec.Column(i).NullN() > 0 {
			return fmt.Errorf("parquetio: column %q is NOT NULL but the record holds NULLs", w.cols[i].col.Name)
		}
	}
	for _, k := range w.keyIdx {
		if rec.Column(k).NullN() > 0 {
			return fmt.Errorf("parquetio: key column %q holds NULLs", w.cols[k].col.Name)
		}
	}
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	if err := w.trackKeys(rec); err != nil {
		return err
	}
	if w.pw == nil {
		w.start(rec)
	}
	for lo := 0; lo < n; {
		hi := min(n, lo+w.opts.RowGroupRows-w.inGroup)
		if w.queues != nil || hi-lo >= parallelWriteRows && runtime.GOMAXPROCS(0) > 1 && len(w.cols) > 1 {
			w.enqueue(rec, lo, hi)
		} else if err := w.writeColumns(rec, lo, hi); err != nil {
			w.err = err
			return err
		}
		w.inGroup += hi - lo
		w.rows += int64(hi - lo)
		lo = hi
		if w.inGroup >= w.opts.RowGroupRows {
			if err := w.barrier(); err != nil {
				return err
			}
			if err := w.pw.Flush(); err != nil {
				w.err = fmt.Errorf("parquetio: writing row group: %w", err)
				return w.err
			}
			w.inGroup = 0
			clear(w.pageBytes)
		}
	}
	return nil
}

// parallelWriteRows is the least number of rows written with one goroutine
// per column.
const parallelWriteRows = 4096

// enqueue hands rows [lo, hi) of rec to the columns' goroutines, starting
// them at the first call.
func (w *Writer) enqueue(rec arrow.Record, lo, hi int) {
	if w.queues == nil {
		w.queues = make([]chan colPiece, len(w.cols))
		w.colErr = make([]error, len(w.cols))
		for i := range w.queues {
			q := make(chan colPiece, 2)
			w.queues[i] = q
			go func() {
				for p := range q {
					if w.colErr[i] == nil {
						w.colErr[i] = w.writeColumn(i, p.rec.Column(i), p.lo, p.hi)
					}
					p.rec.Release()
					w.pending.Done()
				}
			}()
		}
	}
	for _, q := range w.queues {
		rec.Retain()
		w.pending.Add(1)
		q <- colPiece{rec: rec, lo: lo, hi: hi}
	}
}

// barrier waits until every column has written what it was handed, and
// returns (and keeps) the first error.
func (w *Writer) barrier() error {
	if w.queues == nil {
		return w.err
	}
	w.pending.Wait()
	if w.err == nil {
		if err := errors.Join(w.colErr...); err != nil {
			w.err = err
		}
	}
	return w.err
}

// stop waits for the columns' goroutines and ends them.
func (w *Writer) stop() error {
	err := w.barrier()
	for _, q := range w.queues {
		close(q)
	}
	w.queues = nil
	return err
}

// writeColumns writes rows [lo, hi) of every column of rec on the
// caller's goroutine: records too small for the columns' goroutines
// (enqueue), or a writer with one column or one processor.
func (w *Writer) writeColumns(rec arrow.Record, lo, hi int) error {
	for i := range w.cols {
		if err := w.writeColumn(i, rec.Column(i), lo, hi); err != nil {
			return err
		}
	}
	return nil
}

// writeColumn writes rows [lo, hi) of arr, column i.
func (w *Writer) writeColumn(i int, arr arrow.Array, lo, hi int) error {
	w.accumulate(i, arr, lo, hi)
	cw := w.pw.ColumnWriters()[w.leaf[i]]
	// parquet-go cuts a page after a WriteRowValues call that fills the
	// page buffer: write in pieces so pages stay near PageSize.
	piece := w.piece
	if w.isKey[i] {
		piece = w.keyPiece
	}
	for plo := lo; plo < hi; plo += piece {
		phi := min(hi, plo+piece)
		vals := w.values(i, arr, plo, phi)
		if _, err := cw.WriteRowValues(vals); err != nil {
			return fmt.Errorf("parquetio: writing column %q: %w", w.cols[i].col.Name, err)
		}
		if !w.isKey[i] {
			continue
		}
		if w.pageBytes[i] += valueBytes(arr, plo, phi); w.pageBytes[i] >= w.opts.KeyPageSize {
			if err := cw.Flush(); err != nil {
				return fmt.Errorf("parquetio: writing column %q: %w", w.cols[i].col.Name, err)
			}
			w.pageBytes[i] = 0
		}
	}
	return nil
}

// valueBytes estimates the uncompressed size of rows [lo, hi) of arr in a
// page: fixed-width values, or the bytes and lengths of byte strings.
func valueBytes(arr arrow.Array, lo, hi int) int {
	switch a := arr.(type) {
	case *array.String:
		offs := a.ValueOffsets()
		return int(offs[hi]-offs[lo]) + 4*(hi-lo)
	case *array.Binary:
		offs := a.ValueOffsets()
		return int(offs[hi]-offs[lo]) + 4*(hi-lo)
	}
	if fw, ok := arr.DataType().(arrow.FixedWidthDataType); ok {
		return max(fw.BitWidth()/8, 1) * (hi - lo)
	}
	return 8 * (hi - lo)
}

// trackKeys records the key range and, with CheckKeyOrder, checks order.
func (w *Writer) trackKeys(rec arrow.Record) error {
	if len(w.keyIdx) == 0 {
		return nil
	}
	n := int(rec.NumRows())
	row := func(i int) []scalar {
		out := make([]scalar, len(w.keyIdx))
		for j, k := range w.keyIdx {
			out[j] = scalarAt(&w.cols[k], rec.Column(k), i)
			if w.cols[k].class() == clsBytes {
				out[j].s = strings.Clone(out[j].s)
			}
		}
		return out
	}
	if w.keyMin == nil {
		w.keyMin = row(0)
	}
	w.keyMax = row(n - 1)
	if !w.opts.CheckKeyOrder {
		return nil
	}
	for i := range n {
		w.keyBuf = w.keyBuf[:0]
		for _, k := range w.keyIdx {
			w.keyBuf = appendKey(w.keyBuf, &w.cols[k], scalarAt(&w.cols[k], rec.Column(k), i))
		}
		if w.lastKey != nil && string(w.keyBuf) <= string(w.lastKey) {
			return fmt.Errorf("parquetio: row %d: key is not greater than the previous row's (rows must arrive sorted by key)", w.rows+int64(i))
		}
		w.lastKey = append(w.lastKey[:0], w.keyBuf...)
	}
	return nil
}

// values converts rows [lo, hi) of arr, column i, to Parquet values.
func (w *Writer) values(i int, arr arrow.Array, lo, hi int) []parquet.Value {
	c := &w.cols[i]
	leaf := w.leaf[i]
	n := hi - lo
	sc := &w.scratch[i]
	if cap(sc.vals) < n {
		sc.vals = make([]parquet.Value, n)
	}
	vals := sc.vals[:n]
	var def int
	if c.col.Nullable {
		def = 1
	}
	hasNulls := arr.NullN() > 0
	switch a := arr.(type) {
	case *array.Int8:
		fill(vals, a.Int8Values()[lo:hi], func(v int8) parquet.Value { return parquet.Int32Value(int32(v)) }, def, leaf)
	case *array.Int16:
		fill(vals, a.Int16Values()[lo:hi], func(v int16) parquet.Value { return parquet.Int32Value(int32(v)) }, def, leaf)
	case *array.Int32:
		fill(vals, a.Int32Values()[lo:hi], parquet.Int32Value, def, leaf)
	case *array.Int64:
		fill(vals, a.Int64Values()[lo:hi], parquet.Int64Value, def, leaf)
	case *array.Uint8:
		fill(vals, a.Uint8Values()[lo:hi], func(v uint8) parquet.Value { return parquet.Int32Value(int32(v)) }, def, leaf)
	case *array.Uint16:
		fill(vals, a.Uint16Values()[lo:hi], func(v uint16) parquet.Value { return parquet.Int32Value(int32(v)) }, def, leaf)
	case *array.Uint32:
		fill(vals, a.Uint32Values()[lo:hi], func(v uint32) parquet.Value { return parquet.Int32Value(int32(v)) }, def, leaf)
	case *array.Uint64:
		fill(vals, a.Uint64Values()[lo:hi], func(v uint64) parquet.Value { return parquet.Int64Value(int64(v)) }, def, leaf)
	case *array.Float32:
		fill(vals, a.Float32Values()[lo:hi], parquet.FloatValue, def, leaf)
	case *array.Float64:
		fill(vals, a.Float64Values()[lo:hi], parquet.DoubleValue, def, leaf)
	case *array.Date32:
		fill(vals, a.Date32Values()[lo:hi], func(v arrow.Date32) parquet.Value { return parquet.Int32Value(int32(v)) }, def, leaf)
	case *array.Timestamp:
		fill(vals, a.TimestampValues()[lo:hi], func(v arrow.Timestamp) parquet.Value { return parquet.Int64Value(int64(v)) }, def, leaf)
	case *array.Duration:
		fill(vals, a.DurationValues()[lo:hi], func(v arrow.Duration) parquet.Value { return parquet.Int64Value(int64(v)) }, def, leaf)
	case *array.Boolean:
		for j := range vals {
			vals[j] = parquet.BooleanValue(a.Value(lo+j)).Level(0, def, leaf)
		}
	case *array.String, *array.Binary:
		offs, data := byteStrings(a)
		for j := range vals {
			vals[j] = parquet.ByteArrayValue(data[offs[lo+j]:offs[lo+j+1]:offs[lo+j+1]]).Level(0, def, leaf)
		}
	case *array.Decimal128:
		nums := a.Values()[lo:hi]
		switch c.phys {
		case physInt32:
			fill(vals, nums, func(v decimal128.Num) parquet.Value { return parquet.Int32Value(int32(v.LowBits())) }, def, leaf)
		case physInt64:
			fill(vals, nums, func(v decimal128.Num) parquet.Value { return parquet.Int64Value(int64(v.LowBits())) }, def, leaf)
		default:
			if cap(sc.fixed) < 16*n {
				sc.fixed = make([]byte, 16*n)
			}
			buf := sc.fixed[:16*n]
			for j, v := range nums {
				b := buf[16*j : 16*j+16 : 16*j+16]
				binary.BigEndian.PutUint64(b, uint64(v.HighBits()))
				binary.BigEndian.PutUint64(b[8:], v.LowBits())
				vals[j] = parquet.FixedLenByteArrayValue(b).Level(0, def, leaf)
			}
		}
	case *array.Decimal256:
		nums := a.Values()[lo:hi]
		if cap(sc.fixed) < 32*n {
			sc.fixed = make([]byte, 32*n)
		}
		buf := sc.fixed[:32*n]
		for j, v := range nums {
			b := buf[32*j : 32*j+32 : 32*j+32]
			x := v.Array()
			binary.BigEndian.PutUint64(b, x[3])
			binary.BigEndian.PutUint64(b[8:], x[2])
			binary.BigEndian.PutUint64(b[16:], x[1])
			binary.BigEndian.PutUint64(b[24:], x[0])
			vals[j] = parquet.FixedLenByteArrayValue(b).Level(0, def, leaf)
		}
	default:
		panic(fmt.Sprintf("parquetio: unexpected array %T", arr))
	}
	if hasNulls {
		for j := range vals {
			if arr.IsNull(lo + j) {
				vals[j] = parquet.NullValue().Level(0, 0, leaf)
			}
		}
	}
	return vals
}

// fill converts src into dst, with the definition level def of a value
// that is there (required columns' buffers ignore the levels: they are
// set only for optional ones, def 1).
func fill[T any](dst []parquet.Value, src []T, conv func(T) parquet.Value, def, leaf int) {
	if def == 0 {
		for j, v := range src {
			dst[j] = conv(v)
		}
		return
	}
	for j, v := range src {
		dst[j] = conv(v).Level(0, def, leaf)
	}
}

// accumulate folds rows [lo, hi) of arr into column i's statistics.
func (w *Writer) accumulate(i int, arr arrow.Array, lo, hi int) {
	c := &w.cols[i]
	acc := &w.acc[i]
	cls := c.class()
	fold := func(mn, mx scalar) {
		if !acc.has {
			acc.min, acc.max, acc.has = mn, mx, true
			return
		}
		if cmpScalar(cls, mn, acc.min) < 0 {
			acc.min = mn
		}
		if cmpScalar(cls, mx, acc.max) > 0 {
			acc.max = mx
		}
	}
	nulls := 0
	if arr.NullN() > 0 {
		for j := lo; j < hi; j++ {
			if arr.IsNull(j) {
				nulls++
			}
		}
	}
	acc.nulls += int64(nulls)
	if nulls == hi-lo {
		return
	}
	if nulls == 0 {
		switch a := arr.(type) {
		case *array.Int64:
			mn, mx := minMax(a.Int64Values()[lo:hi])
			fold(scalar{i: mn}, scalar{i: mx})
			return
		case *array.Int32:
			mn, mx := minMax(a.Int32Values()[lo:hi])
			fold(scalar{i: int64(mn)}, scalar{i: int64(mx)})
			return
		case *array.Timestamp:
			mn, mx := minMax(a.TimestampValues()[lo:hi])
			fold(scalar{i: int64(mn)}, scalar{i: int64(mx)})
			return
		case *array.Float64:
			mn, mx := minMaxFloat(a.Float64Values()[lo:hi])
			fold(scalar{f: mn}, scalar{f: mx})
			return
		case *array.Float32:
			mn, mx := minMaxFloat(a.Float32Values()[lo:hi])
			fold(scalar{f: mn}, scalar{f: mx})
			return
		case *array.String:
			mn, mx := minMaxString(a, lo, hi)
			fold(scalar{s: strings.Clone(mn)}, scalar{s: strings.Clone(mx)})
			return
		}
	}
	var mn, mx scalar
	first := true
	for j := lo; j < hi; j++ {
		if arr.IsNull(j) {
			continue
		}
		v := scalarAt(c, arr, j)
		if first {
			mn, mx, first = v, v, false
			continue
		}
		if cmpScalar(cls, v, mn) < 0 {
			mn = v
		}
		if cmpScalar(cls, v, mx) > 0 {
			mx = v
		}
	}
	if cls == clsBytes {
		mn.s, mx.s = strings.Clone(mn.s), strings.Clone(mx.s)
	}
	fold(mn, mx)
}

func minMax[T int32 | int64 | arrow.Timestamp](v []T) (T, T) {
	mn, mx := v[0], v[0]
	for _, x := range v[1:] {
		mn = min(mn, x)
		mx = max(mx, x)
	}
	return mn, mx
}

// minMaxFloat is minMax in cmpFloat's order: NaN above every number (the
// maximum when there is one, the minimum only when every value is NaN).
func minMaxFloat[T float32 | float64](v []T) (float64, float64) {
	mn, mx := math.Inf(1), math.Inf(-1)
	nan, num := false, false
	for _, x := range v {
		f := float64(x)
		if f != f {
			nan = true
			continue
		}
		num = true
		if f < mn {
			mn = f
		}
		if f > mx {
			mx = f
		}
	}
	switch {
	case !num:
		return math.NaN(), math.NaN()
	case nan:
		return mn, math.NaN()
	}
	return mn, mx
}

func minMaxString(a *array.String, lo, hi int) (string, string) {
	mn, mx := a.Value(lo), a.Value(lo)
	for j := lo + 1; j < hi; j++ {
		v := a.Value(j)
		if v < mn {
			mn = v
		}
		if v > mx {
			mx = v
		}
	}
	return mn, mx
}

// Close finishes the file (the last row group and the footer) and returns
// its statistics. The underlying io.Writer is not closed.
func (w *Writer) Close() (FileStats, error) {
	if w.closed {
		return FileStats{}, errors.New("parquetio: Writer closed twice")
	}
	w.closed = true
	if err := w.stop(); err != nil {
		return FileStats{}, err
	}
	if w.pw == nil {
		w.start(nil)
	}
	st := w.stats()
	js, err := json.Marshal(st)
	if err != nil {
		return FileStats{}, err
	}
	w.pw.SetKeyValueMetadata(metaStats, string(js))
	if len(w.keyIdx) > 0 && w.rows > 0 {
		var lo, hi []byte
		for j, k := range w.keyIdx {
			lo = appendKey(lo, &w.cols[k], w.keyMin[j])
			hi = appendKey(hi, &w.cols[k], w.keyMax[j])
		}
		w.pw.SetKeyValueMetadata(metaKeyRange, hex.EncodeToString(lo)+","+hex.EncodeToString(hi))
	}
	if err := w.pw.Close(); err != nil {
		return FileStats{}, fmt.Errorf("parquetio: closing the Parquet writer: %w", err)
	}
	st.Bytes = w.out.n
	return st, nil
}

func (w *Writer) stats() FileStats {
	st := FileStats{Rows: w.rows, Columns: make(map[int]ColumnStats, len(w.cols))}
	for i := range w.cols {
		acc := &w.acc[i]
		cs := ColumnStats{NullCount: acc.nulls}
		if acc.has {
			cs.Min, cs.Max = jsonValue(&w.cols[i], acc.min), jsonValue(&w.cols[i], acc.max)
		}
		st.Columns[w.cols[i].col.ID] = cs
	}
	if len(w.keyIdx) > 0 && w.rows > 0 {
		keyCols := make([]column, len(w.keyIdx))
		for j, k := range w.keyIdx {
			keyCols[j] = w.cols[k]
		}
		st.KeyMin, st.KeyMax = keyJSON(keyCols, w.keyMin), keyJSON(keyCols, w.keyMax)
	}
	return st
}

// WriteFile writes batches (columns of ArrowSchema(schema, nil)) as the
// Parquet object name of st, created with put-if-absent: data files are
// immutable, so an existing object fails with store.ErrPreconditionFailed.
// It is CreateFile, a Write of each batch and Close.
func WriteFile(ctx context.Context, st store.Writer, name string, schema *base.Schema, batches []arrow.Record, opts WriterOptions) (FileStats, error) {
	fw, err := CreateFile(ctx, st, name, schema, opts)
	if err != nil {
		return FileStats{}, err
	}
	for _, b := range batches {
		if err := fw.Write(b); err != nil {
			fw.Abort(err)
			return FileStats{}, err
		}
	}
	return fw.Close()
}

// FileWriter writes a Parquet file into a store as its records arrive:
// the store receives the bytes while they are encoded (Put of a pipe), so
// a file need not be held whole in memory. Use it from one goroutine.
type FileWriter struct {
	name string
	w    *Writer
	pw   *io.PipeWriter
	done chan error
}

// CreateFile starts writing the Parquet file name of st (put-if-absent;
// nothing is stored until Close succeeds).
func CreateFile(ctx context.Context, st store.Writer, name string, schema *base.Schema, opts WriterOptions) (*FileWriter, error) {
	pr, pw := io.Pipe()
	w, err := NewWriter(pw, schema, opts)
	if err != nil {
		return nil, err
	}
	f := &FileWriter{name: name, w: w, pw: pw, done: make(chan error, 1)}
	go func() {
		_, err := st.Put(ctx, name, pr, store.IfAbsent())
		pr.CloseWithError(err) // unblock the writer when Put fails early
		f.done <- err
	}()
	return f, nil
}

// Write writes a record (see Writer.Write).
func (f *FileWriter) Write(rec arrow.Record) error { return f.w.Write(rec) }

// Close finishes the file, waits until the store has it and returns its
// statistics. On an error nothing is stored.
func (f *FileWriter) Close() (FileStats, error) {
	stats, err := f.w.Close()
	if err != nil {
		f.Abort(err)
		return FileStats{}, err
	}
	f.pw.Close()
	if err := <-f.done; err != nil {
		return FileStats{}, fmt.Errorf("parquetio: storing %s: %w", f.name, err)
	}
	return stats, nil
}

// Abort abandons the file (the store's Put fails with err) and waits for
// the Put to end.
func (f *FileWriter) Abort(err error) {
	f.w.stop()
	f.pw.CloseWithError(err)
	<-f.done
}
