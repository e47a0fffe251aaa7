package parquetio

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
)

// decoder appends rows of decoded Parquet pages to an Arrow builder, from
// the pages' typed value buffers (plain or dictionary-indexed) and their
// definition levels: never one parquet.Value at a time.
type decoder struct {
	c     *column
	b     array.Builder
	valid []bool
	i32   []int32
	i64   []int64
	f32   []float32
	f64   []float64
	bools []bool
	d128  []decimal128.Num
	d256  []decimal256.Num
	conv  any // scratch of the converted Go type

	// The end row of the last appendRows on the current page (lastOK) and
	// the number of values before it, so that many ranges of one page
	// count the definition levels once. newPage resets it.
	lastOK  bool
	lastRow int
	lastVal int

	// direct: values of a fixed-width column whose Arrow values are the
	// Parquet values reinterpreted are copied straight into a values
	// buffer sized for the rows expected, and the validity bitmap is set
	// from the definition levels; no builder.
	direct *directBuf

	// dict, for a BYTE_ARRAY column read as a dictionary array, collects
	// the dictionary indexes of the rows while the pages are
	// dictionary-encoded (see dict.go).
	dict *dictDecoder
}

type directBuf struct {
	alloc memory.Allocator
	width int // bytes per value
	cap   int // rows allocated
	n     int // rows written
	nulls int
	vals  *memory.Buffer
	valid *memory.Buffer // nil until the first NULL
}

func newDecoder(alloc memory.Allocator, c *column) *decoder {
	return &decoder{c: c, b: array.NewBuilder(alloc, c.arrow)}
}

// newDecoderN returns a decoder of n rows: fixed-width columns stored as
// their Parquet values decode straight into Arrow buffers.
func newDecoderN(alloc memory.Allocator, c *column, n int) *decoder {
	w := directWidth(c)
	if w == 0 {
		d := newDecoder(alloc, c)
		d.b.Reserve(n)
		return d
	}
	db := &directBuf{alloc: alloc, width: w, cap: n, vals: memory.NewResizableBuffer(alloc)}
	db.vals.Resize(n * w)
	return &decoder{c: c, direct: db}
}

// directWidth is the byte width of c's values when its Arrow values are
// its Parquet values reinterpreted, else 0.
func directWidth(c *column) int {
	switch c.arrow.ID() {
	case arrow.INT32, arrow.UINT32, arrow.DATE32:
		if c.phys == physInt32 {
			return 4
		}
	case arrow.INT64, arrow.UINT64, arrow.TIMESTAMP, arrow.DURATION:
		if c.phys == physInt64 {
			return 8
		}
	case arrow.FLOAT32:
		return 4
	case arrow.FLOAT64:
		return 8
	}
	return 0
}

func (d *decoder) finish() arrow.Array {
	if db := d.direct; db != nil {
		return db.array(d.c.arrow)
	}
	if d.dict != nil {
		if a := d.finishDict(); a != nil {
			return a
		}
	}
	return d.b.NewArray()
}

// array returns the values written as an array of type dt; the buffers
// stay the directBuf's too (release them).
func (db *directBuf) array(dt arrow.DataType) arrow.Array {
	db.vals.Resize(db.n * db.width)
	var valid *memory.Buffer
	if db.nulls > 0 {
		valid = db.valid
		valid.Resize(int(bitutil.BytesForBits(int64(db.n))))
	}
	data := array.NewData(dt, db.n, []*memory.Buffer{valid, db.vals}, nil, db.nulls, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

func (d *decoder) release() {
	if d.dict != nil {
		d.dict.release()
	}
	if db := d.direct; db != nil {
		db.vals.Release()
		if db.valid != nil {
			db.valid.Release()
		}
		return
	}
	d.b.Release()
}

// appendDirect appends vals (the defined values, as raw bytes of width
// db.width each) with the validity of defs (nil: all valid).
func (db *directBuf) appendDirect(raw []byte, defs []byte) error {
	rows := len(raw) / db.width
	if defs != nil {
		rows = len(defs)
	}
	if db.n+rows > db.cap {
		return fmt.Errorf("decoded more than the %d rows expected", db.cap)
	}
	dst := db.vals.Bytes()[db.n*db.width:]
	if defs == nil {
		copy(dst, raw)
		if db.valid != nil {
			bitutil.SetBitsTo(db.valid.Bytes(), int64(db.n), int64(rows), true)
		}
		db.n += rows
		return nil
	}
	if db.valid == nil {
		db.valid = memory.NewResizableBuffer(db.alloc)
		db.valid.Resize(int(bitutil.BytesForBits(int64(db.cap))))
		bm := db.valid.Bytes()
		clear(bm)
		bitutil.SetBitsTo(bm, 0, int64(db.n), true)
	}
	bm := db.valid.Bytes()
	w := db.width
	j := 0
	for i, x := range defs {
		if x != 0 {
			copy(dst[i*w:(i+1)*w], raw[j*w:(j+1)*w])
			j++
			bitutil.SetBit(bm, db.n+i)
		} else {
			clear(dst[i*w : (i+1)*w])
			bitutil.ClearBit(bm, db.n+i)
			db.nulls++
		}
	}
	db.n += rows
	return nil
}

func asBytes[T any](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*int(unsafe.Sizeof(v[0])))
}

func countDefined(defs []byte) int {
	n := 0
	for _, x := range defs {
		if x != 0 {
			n++
		}
	}
	return n
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// newPage tells the decoder that the next appendRows is of another page.
func (d *decoder) newPage() { d.lastOK = false }

// appendRows appends rows [lo, hi) of pg.
func (d *decoder) appendRows(pg parquet.Page, lo, hi int) error {
	defs := pg.DefinitionLevels()
	vlo, vhi := lo, hi
	if defs != nil {
		if hi > len(defs) {
			return fmt.Errorf("page has %d levels, want %d", len(defs), hi)
		}
		if d.lastOK && lo >= d.lastRow {
			vlo = d.lastVal + countDefined(defs[d.lastRow:lo])
		} else {
			vlo = countDefined(defs[:lo])
		}
		vhi = vlo + countDefined(defs[lo:hi])
		d.lastOK, d.lastRow, d.lastVal = true, hi, vhi
		defs = defs[lo:hi]
		if countDefined(defs) == len(defs) {
			defs = nil
		}
	}
	if d.dict != nil && !d.dict.plain {
		if ok, err := d.appendIndexes(pg, vlo, vhi, defs); ok || err != nil {
			return err
		}
	}
	data := pg.Data()
	var dict encoding.Values
	hasDict := pg.Dictionary() != nil
	if hasDict {
		dict = pg.Dictionary().Page().Data()
	}
	c := d.c
	if d.direct != nil {
		raw, err := d.directRaw(data, dict, hasDict, vlo, vhi)
		if err != nil {
			return err
		}
		return d.direct.appendDirect(raw, defs)
	}
	switch c.phys {
	case physInt32:
		v, err := d.int32s(data, dict, hasDict, vlo, vhi)
		if err != nil {
			return err
		}
		switch b := d.b.(type) {
		case *array.Int32Builder:
			appendFixed(b.AppendValues, v, defs, &d.i32, &d.valid)
		case *array.Int8Builder:
			appendFixed(b.AppendValues, convert[int32, int8](v, &d.conv), defs, nil, &d.valid)
		case *array.Int16Builder:
			appendFixed(b.AppendValues, convert[int32, int16](v, &d.conv), defs, nil, &d.valid)
		case *array.Uint8Builder:
			appendFixed(b.AppendValues, convert[int32, uint8](v, &d.conv), defs, nil, &d.valid)
		case *array.Uint16Builder:
			appendFixed(b.AppendValues, convert[int32, uint16](v, &d.conv), defs, nil, &d.valid)
		case *array.Uint32Builder:
			appendFixed(b.AppendValues, cast[int32, uint32](v), defs, nil, &d.valid)
		case *array.Date32Builder:
			appendFixed(b.AppendValues, cast[int32, arrow.Date32](v), defs, nil, &d.valid)
		case *array.Decimal128Builder:
			out := grow(d.d128, len(v))
			for i, x := range v {
				out[i] = decimal128.FromI64(int64(x))
			}
			d.d128 = out
			appendFixed(b.AppendValues, out, defs, nil, &d.valid)
		default:
			return fmt.Errorf("unexpected builder %T for INT32", d.b)
		}
	case physInt64:
		v, err := d.int64s(data, dict, hasDict, vlo, vhi)
		if err != nil {
			return err
		}
		switch b := d.b.(type) {
		case *array.Int64Builder:
			appendFixed(b.AppendValues, v, defs, nil, &d.valid)
		case *array.Uint64Builder:
			appendFixed(b.AppendValues, cast[int64, uint64](v), defs, nil, &d.valid)
		case *array.TimestampBuilder:
			appendFixed(b.AppendValues, cast[int64, arrow.Timestamp](v), defs, nil, &d.valid)
		case *array.DurationBuilder:
			appendFixed(b.AppendValues, cast[int64, arrow.Duration](v), defs, nil, &d.valid)
		case *array.Decimal128Builder:
			out := grow(d.d128, len(v))
			for i, x := range v {
				out[i] = decimal128.FromI64(x)
			}
			d.d128 = out
			appendFixed(b.AppendValues, out, defs, nil, &d.valid)
		default:
			return fmt.Errorf("unexpected builder %T for INT64", d.b)
		}
	case physFloat:
		var v []float32
		if hasDict {
			idx, err := indexes(data, vlo, vhi)
			if err != nil {
				return err
			}
			d.f32 = gather(dict.Float(), idx, d.f32)
			v = d.f32
		} else {
			v = data.Float()[vlo:vhi]
		}
		appendFixed(d.b.(*array.Float32Builder).AppendValues, v, defs, nil, &d.valid)
	case physDouble:
		var v []float64
		if hasDict {
			idx, err := indexes(data, vlo, vhi)
			if err != nil {
				return err
			}
			d.f64 = gather(dict.Double(), idx, d.f64)
			v = d.f64
		} else {
			v = data.Double()[vlo:vhi]
		}
		appendFixed(d.b.(*array.Float64Builder).AppendValues, v, defs, nil, &d.valid)
	case physBool:
		bits := data.Boolean()
		if len(bits)*8 < vhi {
			return fmt.Errorf("boolean page too short")
		}
		out := grow(d.bools, vhi-vlo)
		for i := range out {
			out[i] = bitutil.BitIsSet(bits, vlo+i)
		}
		d.bools = out
		appendFixed(d.b.(*array.BooleanBuilder).AppendValues, out, defs, nil, &d.valid)
	case physBytes:
		return d.appendBytes(data, dict, hasDict, vlo, vhi, defs)
	case physFLBA:
		return d.appendFLBA(data, dict, hasDict, vlo, vhi, defs)
	}
	return nil
}

// directRaw returns values [vlo, vhi) of a page of a direct column as the
// raw bytes of its Arrow values.
func (d *decoder) directRaw(data, dict encoding.Values, hasDict bool, vlo, vhi int) ([]byte, error) {
	var raw []byte
	switch d.c.phys {
	case physInt32:
		v, err := d.int32s(data, dict, hasDict, vlo, vhi)
		if err != nil {
			return nil, err
		}
		raw = asBytes(v)
	case physInt64:
		v, err := d.int64s(data, dict, hasDict, vlo, vhi)
		if err != nil {
			return nil, err
		}
		raw = asBytes(v)
	case physFloat:
		if hasDict {
			idx, err := indexes(data, vlo, vhi)
			if err != nil {
				return nil, err
			}
			d.f32 = gather(dict.Float(), idx, d.f32)
			raw = asBytes(d.f32)
		} else {
			v := data.Float()
			if vhi > len(v) {
				return nil, fmt.Errorf("page has %d values, want %d", len(v), vhi)
			}
			raw = asBytes(v[vlo:vhi])
		}
	case physDouble:
		if hasDict {
			idx, err := indexes(data, vlo, vhi)
			if err != nil {
				return nil, err
			}
			d.f64 = gather(dict.Double(), idx, d.f64)
			raw = asBytes(d.f64)
		} else {
			v := data.Double()
			if vhi > len(v) {
				return nil, fmt.Errorf("page has %d values, want %d", len(v), vhi)
			}
			raw = asBytes(v[vlo:vhi])
		}
	}
	if len(raw) != (vhi-vlo)*d.direct.width {
		return nil, fmt.Errorf("page values of %d bytes, want %d", len(raw), (vhi-vlo)*d.direct.width)
	}
	return raw, nil
}

// appendRuns appends the rows of runs (rows of the page: sorted, disjoint,
// non-empty) of pg. A direct column takes the page's values once and
// copies run after run into its buffer, skipping the rows between runs;
// other columns append run by run.
func (d *decoder) appendRuns(pg parquet.Page, runs []rng) error {
	if len(runs) == 0 {
		return nil
	}
	if d.direct == nil || len(runs) == 1 {
		for _, r := range runs {
			if err := d.appendRows(pg, int(r.lo), int(r.hi)); err != nil {
				return err
			}
		}
		return nil
	}
	db := d.direct
	w := db.width
	last := int(runs[len(runs)-1].hi)
	defs := pg.DefinitionLevels()
	nvals := last
	if defs != nil {
		if last > len(defs) {
			return fmt.Errorf("page has %d levels, want %d", len(defs), last)
		}
		defs = defs[:last]
		if nvals = countDefined(defs); nvals == last {
			defs = nil // no NULL in the rows wanted
		}
	}
	var dict encoding.Values
	hasDict := pg.Dictionary() != nil
	if hasDict {
		dict = pg.Dictionary().Page().Data()
	}
	raw, err := d.directRaw(pg.Data(), dict, hasDict, 0, nvals)
	if err != nil {
		return err
	}
	if defs != nil {
		row, val := 0, 0
		for _, r := range runs {
			lo, hi := int(r.lo), int(r.hi)
			val += countDefined(defs[row:lo])
			sub := defs[lo:hi]
			k := countDefined(sub)
			if k == len(sub) {
				sub = nil
			}
			if err := db.appendDirect(raw[val*w:(val+k)*w], sub); err != nil {
				return err
			}
			val, row = val+k, hi
		}
		return nil
	}
	total := 0
	for _, r := range runs {
		total += int(r.hi - r.lo)
	}
	if db.n+total > db.cap {
		return fmt.Errorf("decoded more than the %d rows expected", db.cap)
	}
	dst := db.vals.Bytes()[db.n*w : (db.n+total)*w]
	k := 0
	for _, r := range runs {
		k += copy(dst[k:], raw[int(r.lo)*w:int(r.hi)*w])
	}
	if db.valid != nil {
		bitutil.SetBitsTo(db.valid.Bytes(), int64(db.n), int64(total), true)
	}
	db.n += total
	return nil
}

func (d *decoder) int32s(data, dict encoding.Values, hasDict bool, vlo, vhi int) ([]int32, error) {
	if hasDict {
		idx, err := indexes(data, vlo, vhi)
		if err != nil {
			return nil, err
		}
		d.i32 = gather(dict.Int32(), idx, d.i32)
		return d.i32, nil
	}
	v := data.Int32()
	if vhi > len(v) {
		return nil, fmt.Errorf("page has %d values, want %d", len(v), vhi)
	}
	return v[vlo:vhi], nil
}

func (d *decoder) int64s(data, dict encoding.Values, hasDict bool, vlo, vhi int) ([]int64, error) {
	if hasDict {
		idx, err := indexes(data, vlo, vhi)
		if err != nil {
			return nil, err
		}
		d.i64 = gather(dict.Int64(), idx, d.i64)
		return d.i64, nil
	}
	v := data.Int64()
	if vhi > len(v) {
		return nil, fmt.Errorf("page has %d values, want %d", len(v), vhi)
	}
	return v[vlo:vhi], nil
}

func indexes(data encoding.Values, vlo, vhi int) ([]int32, error) {
	idx := data.Int32()
	if vhi > len(idx) {
		return nil, fmt.Errorf("page has %d values, want %d", len(idx), vhi)
	}
	return idx[vlo:vhi], nil
}

// gather returns dict[idx[i]] for each i; an index out of range panics
// and is reported as corruption by the task's recover.
func gather[T any](dict []T, idx []int32, scratch []T) []T {
	out := grow(scratch, len(idx))
	for i, x := range idx {
		out[i] = dict[x]
	}
	return out
}

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

func convert[S, T integer](src []S, scratch *any) []T {
	out, _ := (*scratch).([]T)
	out = grow(out, len(src))
	for i, x := range src {
		out[i] = T(x)
	}
	*scratch = out
	return out
}

// cast reinterprets a slice as another type of the same size.
func cast[S, T integer](src []S) []T {
	if len(src) == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&src[0])), len(src))
}

// appendFixed appends vals (the defined values) with the validity of defs
// (nil: all valid).
func appendFixed[T any](app func([]T, []bool), vals []T, defs []byte, _ *[]int32, valid *[]bool) {
	if defs == nil {
		app(vals, nil)
		return
	}
	out := make([]T, len(defs))
	v := grow(*valid, len(defs))
	j := 0
	for i, x := range defs {
		if x != 0 {
			out[i] = vals[j]
			j++
			v[i] = true
		} else {
			v[i] = false
		}
	}
	*valid = v
	app(out, v)
}

func (d *decoder) appendBytes(data, dict encoding.Values, hasDict bool, vlo, vhi int, defs []byte) error {
	var bb *array.BinaryBuilder
	switch b := d.b.(type) {
	case *array.StringBuilder:
		bb = b.BinaryBuilder
	case *array.BinaryBuilder:
		bb = b
	default:
		return fmt.Errorf("unexpected builder %T for BYTE_ARRAY", d.b)
	}
	var buf []byte
	var offs []uint32
	var idx []int32
	if hasDict {
		buf, offs = dict.ByteArray()
		var err error
		if idx, err = indexes(data, vlo, vhi); err != nil {
			return err
		}
	} else {
		buf, offs = data.ByteArray()
		if vhi+1 > len(offs) {
			return fmt.Errorf("page has %d values, want %d", len(offs)-1, vhi)
		}
	}
	value := func(j int) []byte {
		if idx != nil {
			k := idx[j-vlo]
			return buf[offs[k]:offs[k+1]]
		}
		return buf[offs[j]:offs[j+1]]
	}
	n := vhi - vlo
	if defs != nil {
		n = len(defs)
	}
	bb.Reserve(n)
	if idx == nil {
		// ReserveData grows the buffer to exactly what is asked: ask for
		// at least double, or a read of many short runs (rows between
		// deleted ones) copies the buffer once per run.
		if need := int(offs[vhi] - offs[vlo]); bb.DataLen()+need > bb.DataCap() {
			bb.ReserveData(max(need, bb.DataCap()))
		}
	}
	j := vlo
	if defs == nil {
		for ; j < vhi; j++ {
			bb.Append(value(j))
		}
		return nil
	}
	for _, x := range defs {
		if x == 0 {
			bb.AppendNull()
			continue
		}
		bb.Append(value(j))
		j++
	}
	return nil
}

func (d *decoder) appendFLBA(data, dict encoding.Values, hasDict bool, vlo, vhi int, defs []byte) error {
	var buf []byte
	var size int
	var idx []int32
	if hasDict {
		buf, size = dict.FixedLenByteArray()
		var err error
		if idx, err = indexes(data, vlo, vhi); err != nil {
			return err
		}
	} else {
		buf, size = data.FixedLenByteArray()
		if vhi*size > len(buf) {
			return fmt.Errorf("page has %d values, want %d", len(buf)/max(size, 1), vhi)
		}
	}
	if size != d.c.size {
		return fmt.Errorf("fixed-length values of %d bytes, want %d", size, d.c.size)
	}
	value := func(j int) []byte {
		k := j
		if idx != nil {
			k = int(idx[j-vlo])
		}
		return buf[k*size : (k+1)*size]
	}
	switch b := d.b.(type) {
	case *array.Decimal128Builder:
		out := grow(d.d128, vhi-vlo)
		for j := vlo; j < vhi; j++ {
			v := value(j)
			out[j-vlo] = decimal128.New(int64(binary.BigEndian.Uint64(v)), binary.BigEndian.Uint64(v[8:]))
		}
		d.d128 = out
		appendFixed(b.AppendValues, out, defs, nil, &d.valid)
	case *array.Decimal256Builder:
		out := grow(d.d256, vhi-vlo)
		for j := vlo; j < vhi; j++ {
			v := value(j)
			out[j-vlo] = decimal256.New(binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:]),
				binary.BigEndian.Uint64(v[16:]), binary.BigEndian.Uint64(v[24:]))
		}
		d.d256 = out
		appendFixed(b.AppendValues, out, defs, nil, &d.valid)
	default:
		return fmt.Errorf("unexpected builder %T for FIXED_LEN_BYTE_ARRAY", d.b)
	}
	return nil
}

// filterArray returns the rows of arr where sel is true (count of them).
func filterArray(alloc memory.Allocator, arr arrow.Array, sel []bool, count int) arrow.Array {
	if count == arr.Len() {
		arr.Retain()
		return arr
	}
	if d, ok := arr.(*array.Dictionary); ok {
		// The rows' indexes; the dictionary is shared.
		idx := filterArray(alloc, d.Indices(), sel, count)
		defer idx.Release()
		return withIndices(d.DataType(), d.Data().Dictionary(), idx)
	}
	data := arr.Data()
	n := arr.Len()
	nulls := arr.NullN() > 0
	switch dt := arr.DataType(); dt.(type) {
	case *arrow.StringType, *arrow.BinaryType:
		offs, bytes := byteStrings(arr)
		bld := array.NewBuilder(alloc, dt)
		defer bld.Release()
		var b *array.BinaryBuilder
		switch x := bld.(type) {
		case *array.StringBuilder:
			b = x.BinaryBuilder
		case *array.BinaryBuilder:
			b = x
		}
		b.Reserve(count)
		for i := 0; i < n; i++ {
			if !sel[i] {
				continue
			}
			if nulls && arr.IsNull(i) {
				b.AppendNull()
			} else {
				b.Append(bytes[offs[i]:offs[i+1]])
			}
		}
		return bld.NewArray()
	case *arrow.BooleanType:
		a := arr.(*array.Boolean)
		b := array.NewBooleanBuilder(alloc)
		defer b.Release()
		b.Reserve(count)
		for i := 0; i < n; i++ {
			if !sel[i] {
				continue
			}
			if nulls && arr.IsNull(i) {
				b.AppendNull()
			} else {
				b.UnsafeAppend(a.Value(i))
			}
		}
		return b.NewArray()
	}
	// Fixed width: gather bytes of the values buffer.
	w := arr.DataType().(arrow.FixedWidthDataType).BitWidth() / 8
	src := data.Buffers()[1].Bytes()[data.Offset()*w:]
	vals := memory.NewResizableBuffer(alloc)
	vals.Resize(count * w)
	dst := vals.Bytes()
	var bitmap *memory.Buffer
	var outNulls int
	if nulls {
		bitmap = memory.NewResizableBuffer(alloc)
		bitmap.Resize(int(bitutil.BytesForBits(int64(count))))
		clear(bitmap.Bytes())
	}
	k := 0
	for i := 0; i < n; i++ {
		if !sel[i] {
			continue
		}
		copy(dst[k*w:(k+1)*w], src[i*w:(i+1)*w])
		if nulls {
			if arr.IsValid(i) {
				bitutil.SetBit(bitmap.Bytes(), k)
			} else {
				outNulls++
			}
		}
		k++
	}
	out := array.NewData(arr.DataType(), count, []*memory.Buffer{bitmap, vals}, nil, outNulls, 0)
	defer out.Release()
	vals.Release()
	if bitmap != nil {
		bitmap.Release()
	}
	return array.MakeFromData(out)
}
