package parquetio

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
)

// Dictionary arrays.
//
// With ReadOptions.Dictionaries a string or binary column chunk whose
// decoded pages are all dictionary-encoded comes back as an
// *array.Dictionary: int32 indexes into the chunk's dictionary page, which
// is turned into one String or Binary array per chunk and shared by every
// record cut from the chunk. A page that is not dictionary-encoded (the
// writer fell back to PLAIN, or wrote the column PLAIN because it is
// mostly distinct) turns the whole chunk plain. Nothing else changes: the
// predicate, deletion vectors and masks select rows of the indexes, and
// the dictionary is never copied.
//
// The chunk cache keeps a dictionary-encoded chunk in dictionary form
// whichever read decoded it (the indexes are 4 bytes a row, usually far
// less than the strings); a read without the option gets the rows it asks
// for gathered into a plain array, so its answer never depends on what
// the cache holds.
//
// arrow-go's (*array.Dictionary).Dictionary builds the dictionary array on
// first use and stores it in the array: a cached array is shared by
// goroutines, so this package reads dictionaries through dictView, from
// the buffers, and never calls it.

// dictType is the Arrow type of a dictionary-encoded column of type vt.
func dictType(vt arrow.DataType) *arrow.DictionaryType {
	return &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: vt}
}

// dictDecoder is the part of a decoder that returns a BYTE_ARRAY chunk as
// a dictionary array.
type dictDecoder struct {
	// idx holds the rows' dictionary indexes and their validity.
	idx *directBuf
	// values is the chunk's dictionary; nil until the first
	// dictionary-encoded page.
	values arrow.Array
	// plain is set once a page was not dictionary-encoded: the rows so far
	// were moved into the decoder's builder, which takes the rest.
	plain bool
}

// newDictDecoder returns a decoder of up to n rows of the BYTE_ARRAY
// column c that builds a dictionary array while the pages allow.
func newDictDecoder(alloc memory.Allocator, c *column, n int) *decoder {
	db := &directBuf{alloc: alloc, width: 4, cap: n, vals: memory.NewResizableBuffer(alloc)}
	db.vals.Resize(n * 4)
	return &decoder{c: c, b: array.NewBuilder(alloc, c.arrow), dict: &dictDecoder{idx: db}}
}

// appendIndexes appends values [vlo, vhi) of pg, with the validity of defs,
// as dictionary indexes. ok is false when pg is not dictionary-encoded:
// the decoder has then turned plain, and the caller decodes pg as usual.
func (d *decoder) appendIndexes(pg parquet.Page, vlo, vhi int, defs []byte) (ok bool, err error) {
	dd := d.dict
	pd := pg.Dictionary()
	if pd == nil {
		return false, d.toPlain()
	}
	if dd.values == nil {
		if dd.values, err = dictionaryArray(dd.idx.alloc, d.c, pd.Page().Data()); err != nil {
			return false, err
		}
	} else if pd.Len() != dd.values.Len() {
		return false, fmt.Errorf("pages of one column chunk with dictionaries of %d and %d entries", dd.values.Len(), pd.Len())
	}
	idx, err := indexes(pg.Data(), vlo, vhi)
	if err != nil {
		return false, err
	}
	// The indexes become an Arrow array that others read without checks.
	n := uint32(dd.values.Len())
	for _, x := range idx {
		if uint32(x) >= n {
			return false, fmt.Errorf("dictionary index %d out of %d entries", x, n)
		}
	}
	return true, dd.idx.appendDirect(asBytes(idx), defs)
}

// dictionaryArray copies a dictionary page's values into a String or
// Binary array of c's type.
func dictionaryArray(alloc memory.Allocator, c *column, vals encoding.Values) (arrow.Array, error) {
	buf, offs := vals.ByteArray()
	if len(offs) == 0 {
		offs = []uint32{0}
	}
	n := len(offs) - 1
	base, end := offs[0], offs[n]
	if end < base || int(end) > len(buf) || end-base > math.MaxInt32 {
		return nil, fmt.Errorf("dictionary of %d bytes with offsets up to %d", len(buf), end)
	}
	offBuf := memory.NewResizableBuffer(alloc)
	defer offBuf.Release()
	offBuf.Resize((n + 1) * 4)
	dst := arrow.Int32Traits.CastFromBytes(offBuf.Bytes())
	for i, o := range offs {
		dst[i] = int32(o - base)
	}
	data := memory.NewResizableBuffer(alloc)
	defer data.Release()
	data.Resize(int(end - base))
	copy(data.Bytes(), buf[base:end])
	ad := array.NewData(c.arrow, n, []*memory.Buffer{nil, offBuf, data}, nil, 0, 0)
	defer ad.Release()
	return array.MakeFromData(ad), nil
}

// toPlain moves the rows decoded as indexes so far into the builder and
// makes the decoder decode plain from now on.
func (d *decoder) toPlain() error {
	dd := d.dict
	dd.plain = true
	db := dd.idx
	defer func() {
		db.vals.Release()
		if db.valid != nil {
			db.valid.Release()
		}
		if dd.values != nil {
			dd.values.Release()
			dd.values = nil
		}
	}()
	d.b.Reserve(db.cap)
	if db.n == 0 {
		return nil
	}
	bb := binaryBuilder(d.b)
	if bb == nil {
		return fmt.Errorf("unexpected builder %T for BYTE_ARRAY", d.b)
	}
	v := newDictView(dd.values.Data())
	idx := arrow.Int32Traits.CastFromBytes(db.vals.Bytes())[:db.n]
	var valid []byte
	if db.valid != nil {
		valid = db.valid.Bytes()
	}
	for i, j := range idx {
		if valid != nil && !bitutil.BitIsSet(valid, i) {
			bb.AppendNull()
			continue
		}
		bb.Append(v.at(int(j)))
	}
	return nil
}

// finishDict returns the dictionary array of the rows decoded, or nil when
// the decoder turned plain or decoded nothing.
func (d *decoder) finishDict() arrow.Array {
	dd := d.dict
	if dd.plain {
		return nil
	}
	if dd.values == nil { // no row decoded: an empty plain array
		return nil
	}
	idx := dd.idx.array(arrow.PrimitiveTypes.Int32)
	defer idx.Release()
	return withIndices(dictType(d.c.arrow), dd.values.Data(), idx)
}

func (dd *dictDecoder) release() {
	if dd.plain {
		return
	}
	dd.idx.vals.Release()
	if dd.idx.valid != nil {
		dd.idx.valid.Release()
	}
	if dd.values != nil {
		dd.values.Release()
	}
}

// binaryBuilder returns the BinaryBuilder of a String or Binary builder.
func binaryBuilder(b array.Builder) *array.BinaryBuilder {
	switch b := b.(type) {
	case *array.StringBuilder:
		return b.BinaryBuilder
	case *array.BinaryBuilder:
		return b
	}
	return nil
}

// withIndices returns the dictionary array of type dt whose indexes are
// idx (an Int32 array) over dictionary dict.
func withIndices(dt arrow.DataType, dict arrow.ArrayData, idx arrow.Array) arrow.Array {
	id := idx.Data()
	data := array.NewData(dt, id.Len(), id.Buffers(), nil, idx.NullN(), id.Offset())
	defer data.Release()
	data.SetDictionary(dict)
	return array.MakeFromData(data)
}

// dictView reads the entries of a String or Binary dictionary from its
// buffers.
type dictView struct {
	offs  []int32 // from the dictionary's offset on
	data  []byte
	valid []byte // nil when no entry is NULL
	off   int
	n     int
}

func newDictView(d arrow.ArrayData) dictView {
	v := dictView{off: d.Offset(), n: d.Len()}
	bufs := d.Buffers()
	if v.n > 0 {
		v.offs = arrow.Int32Traits.CastFromBytes(bufs[1].Bytes())[v.off : v.off+v.n+1]
	}
	if len(bufs) > 2 && bufs[2] != nil {
		v.data = bufs[2].Bytes()
	}
	if bufs[0] != nil && d.NullN() != 0 {
		v.valid = bufs[0].Bytes()
	}
	return v
}

// null reports whether entry j is NULL.
func (v *dictView) null(j int) bool {
	return v.valid != nil && !bitutil.BitIsSet(v.valid, v.off+j)
}

// at returns entry j's bytes.
func (v *dictView) at(j int) []byte { return v.data[v.offs[j]:v.offs[j+1]] }

// dictIndex returns a function giving the dictionary index of row i of d,
// and d's indexes when they are int32 (as this package's are).
func dictIndex(d *array.Dictionary) (func(i int) int, []int32) {
	if ix, ok := d.Indices().(*array.Int32); ok {
		vals := ix.Int32Values()
		return func(i int) int { return int(vals[i]) }, vals
	}
	return d.GetValueIndex, nil
}

// dictNullFunc returns the test of whether row i of arr is NULL: the row's
// own validity or, for a dictionary array, its entry's.
func dictNullFunc(arr arrow.Array) func(i int) bool {
	d, ok := arr.(*array.Dictionary)
	if !ok {
		return arr.IsNull
	}
	v := newDictView(d.Data().Dictionary())
	if v.valid == nil {
		return arr.IsNull
	}
	at, _ := dictIndex(d)
	return func(i int) bool { return arr.IsNull(i) || v.null(at(i)) }
}

// plainRanges returns the rows ranges of the dictionary array d as a plain
// array of its value type, written straight into the buffers (a read of a
// chunk cached in dictionary form without Dictionaries pays this gather).
func plainRanges(alloc memory.Allocator, d *array.Dictionary, ranges []rng) arrow.Array {
	dt := d.DataType().(*arrow.DictionaryType)
	v := newDictView(d.Data().Dictionary())
	at, idx := dictIndex(d)
	null := dictNullFunc(d)
	hasNulls := d.NullN() > 0 || v.valid != nil
	var rows, size int
	for _, r := range ranges {
		rows += int(r.hi - r.lo)
		if !hasNulls && idx != nil {
			for _, j := range idx[r.lo:r.hi] {
				size += int(v.offs[j+1] - v.offs[j])
			}
			continue
		}
		for i := int(r.lo); i < int(r.hi); i++ {
			if !hasNulls || !null(i) {
				j := at(i)
				size += int(v.offs[j+1] - v.offs[j])
			}
		}
	}
	offBuf := memory.NewResizableBuffer(alloc)
	defer offBuf.Release()
	offBuf.Resize((rows + 1) * 4)
	offs := arrow.Int32Traits.CastFromBytes(offBuf.Bytes())
	dataBuf := memory.NewResizableBuffer(alloc)
	defer dataBuf.Release()
	dataBuf.Resize(size)
	data := dataBuf.Bytes()
	var validBuf *memory.Buffer
	var valid []byte
	if hasNulls {
		validBuf = memory.NewResizableBuffer(alloc)
		defer validBuf.Release()
		validBuf.Resize(int(bitutil.BytesForBits(int64(rows))))
		valid = validBuf.Bytes()
		clear(valid)
	}
	k, pos, nulls := 0, 0, 0
	for _, r := range ranges {
		if !hasNulls && idx != nil {
			for _, j := range idx[r.lo:r.hi] {
				offs[k] = int32(pos)
				pos += copy(data[pos:], v.data[v.offs[j]:v.offs[j+1]])
				k++
			}
			continue
		}
		for i := int(r.lo); i < int(r.hi); i, k = i+1, k+1 {
			offs[k] = int32(pos)
			if hasNulls {
				if null(i) {
					nulls++
					continue
				}
				bitutil.SetBit(valid, k)
			}
			j := at(i)
			pos += copy(data[pos:], v.data[v.offs[j]:v.offs[j+1]])
		}
	}
	offs[rows] = int32(pos)
	if nulls == 0 {
		validBuf = nil
	}
	ad := array.NewData(dt.ValueType, rows, []*memory.Buffer{validBuf, offBuf, dataBuf}, nil, nulls, 0)
	defer ad.Release()
	return array.MakeFromData(ad)
}

// RecordSchema returns s, the declared schema of a read, or, when some of
// cols (a record's columns, in s's order) have another type than their
// field, a copy of s with those fields of the columns' types: a string or
// binary column read with ReadOptions.Dictionaries is a dictionary array
// in some records and plain in others.
func RecordSchema(s *arrow.Schema, cols []arrow.Array) *arrow.Schema {
	var fields []arrow.Field
	for i, a := range cols {
		if arrow.TypeEqual(a.DataType(), s.Field(i).Type) {
			continue
		}
		if fields == nil {
			fields = append([]arrow.Field(nil), s.Fields()...)
		}
		fields[i].Type = a.DataType()
	}
	if fields == nil {
		return s
	}
	md := s.Metadata()
	return arrow.NewSchema(fields, &md)
}

// evalDictCmp sets out[i] to d[i] op v (false for NULLs) for a dictionary
// array of byte strings: when the dictionary has no more entries than
// there are rows, the comparison runs once per entry and the rows take
// their entry's result; otherwise each row compares its entry's bytes.
func evalDictCmp(d *array.Dictionary, op Op, v scalar, out []bool) {
	dv := newDictView(d.Data().Dictionary())
	at, idx := dictIndex(d)
	null := dictNullFunc(d)
	rowNulls := d.NullN() > 0 || dv.valid != nil
	if dv.n <= len(out) {
		truth := getBools(dv.n)
		defer putBools(truth)
		for j := range truth {
			truth[j] = !dv.null(j) && opHolds(op, compareBytes(dv.at(j), v.s))
		}
		switch {
		case rowNulls:
			for i := range out {
				out[i] = !null(i) && truth[at(i)]
			}
		case idx != nil:
			for i, j := range idx[:len(out)] {
				out[i] = truth[j]
			}
		default:
			for i := range out {
				out[i] = truth[at(i)]
			}
		}
		return
	}
	for i := range out {
		out[i] = !null(i) && opHolds(op, compareBytes(dv.at(at(i)), v.s))
	}
}
