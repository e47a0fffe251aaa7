package exec

import (
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
)

// kind is the shape of a column as the operators see it: the Arrow type with
// the details that do not change how values compare (timestamp unit and time
// zone, decimal precision, dictionary encoding) left out.
type kind uint8

const (
	kindInvalid kind = iota
	kindInt8
	kindInt16
	kindInt32
	kindInt64
	kindUint8
	kindUint16
	kindUint32
	kindUint64
	kindFloat32
	kindFloat64
	kindDecimal128
	kindDecimal256
	kindString
	kindBinary
	kindDate32
	kindTimestamp
	kindDuration
	kindBool
)

// colType is what the operators know about one input column.
type colType struct {
	kind kind
	// dict is set for a dictionary-encoded String or Binary column.
	dict bool
	// scale is a decimal column's scale.
	scale int32
}

// classify returns the colType of t, or an error when the operators do not
// handle t.
func classify(t arrow.DataType) (colType, error) {
	switch t := t.(type) {
	case *arrow.Int8Type:
		return colType{kind: kindInt8}, nil
	case *arrow.Int16Type:
		return colType{kind: kindInt16}, nil
	case *arrow.Int32Type:
		return colType{kind: kindInt32}, nil
	case *arrow.Int64Type:
		return colType{kind: kindInt64}, nil
	case *arrow.Uint8Type:
		return colType{kind: kindUint8}, nil
	case *arrow.Uint16Type:
		return colType{kind: kindUint16}, nil
	case *arrow.Uint32Type:
		return colType{kind: kindUint32}, nil
	case *arrow.Uint64Type:
		return colType{kind: kindUint64}, nil
	case *arrow.Float32Type:
		return colType{kind: kindFloat32}, nil
	case *arrow.Float64Type:
		return colType{kind: kindFloat64}, nil
	case *arrow.Decimal128Type:
		return colType{kind: kindDecimal128, scale: t.Scale}, nil
	case *arrow.Decimal256Type:
		return colType{kind: kindDecimal256, scale: t.Scale}, nil
	case *arrow.StringType:
		return colType{kind: kindString}, nil
	case *arrow.BinaryType:
		return colType{kind: kindBinary}, nil
	case *arrow.Date32Type:
		return colType{kind: kindDate32}, nil
	case *arrow.TimestampType:
		return colType{kind: kindTimestamp}, nil
	case *arrow.DurationType:
		return colType{kind: kindDuration}, nil
	case *arrow.BooleanType:
		return colType{kind: kindBool}, nil
	case *arrow.DictionaryType:
		if !arrow.IsInteger(t.IndexType.ID()) {
			break
		}
		switch t.ValueType.(type) {
		case *arrow.StringType:
			return colType{kind: kindString, dict: true}, nil
		case *arrow.BinaryType:
			return colType{kind: kindBinary, dict: true}, nil
		}
	}
	return colType{}, fmt.Errorf("%w: column type %s", ErrUnsupported, t)
}

// isBytes reports whether values of k are byte strings.
func (k kind) isBytes() bool { return k == kindString || k == kindBinary }

// isExactNumber reports whether SUM and AVG over k are exact decimals.
func (k kind) isExactNumber() bool {
	switch k {
	case kindInt8, kindInt16, kindInt32, kindInt64,
		kindUint8, kindUint16, kindUint32, kindUint64,
		kindDecimal128, kindDecimal256:
		return true
	}
	return false
}

// isFloat reports whether k is a floating-point kind.
func (k kind) isFloat() bool { return k == kindFloat32 || k == kindFloat64 }

// fixedWidth returns the number of bytes that encode one value of k in a
// composite group key; byte strings are encoded as a 4-byte intern id.
func (k kind) fixedWidth() int {
	switch k {
	case kindInt8, kindUint8, kindBool:
		return 1
	case kindInt16, kindUint16:
		return 2
	case kindInt32, kindUint32, kindFloat32, kindDate32, kindString, kindBinary:
		return 4
	case kindInt64, kindUint64, kindFloat64, kindTimestamp, kindDuration:
		return 8
	case kindDecimal128:
		return 16
	case kindDecimal256:
		return 32
	}
	panic("exec: no fixed width for kind")
}

// fitsUint64 reports whether a value of k maps one-to-one onto a uint64 by
// toBits, so that a single-column group key can live in a uint64 table.
func (k kind) fitsUint64() bool {
	switch k {
	case kindDecimal128, kindDecimal256, kindString, kindBinary, kindInvalid:
		return false
	}
	return true
}

// values returns the typed value slice of a fixed-width array; the slice
// already accounts for the array's offset.
func values[T any](a arrow.Array) []T {
	return a.(interface{ Values() []T }).Values()
}

// normFloat64 maps -0 to +0 so that both zeros group, deduplicate and compare
// as one value.
func normFloat64(f float64) float64 {
	if f == 0 {
		return 0
	}
	return f
}

// normFloat32 is normFloat64 for float32.
func normFloat32(f float32) float32 {
	if f == 0 {
		return 0
	}
	return f
}

// toBits writes the key bits of every row of a (whose kind satisfies
// fitsUint64) into dst[:a.Len()]. Equal values give equal bits: integers are
// sign- or zero-extended and floats have -0 folded into +0. NULL rows get
// arbitrary bits; callers look at the validity bitmap.
func toBits(k kind, a arrow.Array, dst []uint64) {
	switch k {
	case kindInt8:
		signedBits(values[int8](a), dst)
	case kindInt16:
		signedBits(values[int16](a), dst)
	case kindInt32:
		signedBits(values[int32](a), dst)
	case kindInt64:
		signedBits(values[int64](a), dst)
	case kindDate32:
		signedBits(values[arrow.Date32](a), dst)
	case kindTimestamp:
		signedBits(values[arrow.Timestamp](a), dst)
	case kindDuration:
		signedBits(values[arrow.Duration](a), dst)
	case kindUint8:
		unsignedBits(values[uint8](a), dst)
	case kindUint16:
		unsignedBits(values[uint16](a), dst)
	case kindUint32:
		unsignedBits(values[uint32](a), dst)
	case kindUint64:
		unsignedBits(values[uint64](a), dst)
	case kindFloat32:
		for i, v := range values[float32](a) {
			dst[i] = uint64(math.Float32bits(normFloat32(v)))
		}
	case kindFloat64:
		for i, v := range values[float64](a) {
			dst[i] = math.Float64bits(normFloat64(v))
		}
	case kindBool:
		b := a.(*array.Boolean)
		for i := range b.Len() {
			dst[i] = 0
			if b.Value(i) {
				dst[i] = 1
			}
		}
	default:
		panic("exec: toBits on a kind without a uint64 form")
	}
}

// signedInt lists the Go types of signed fixed-width Arrow values.
type signedInt interface {
	~int8 | ~int16 | ~int32 | ~int64
}

// unsignedInt lists the Go types of unsigned fixed-width Arrow values.
type unsignedInt interface {
	~uint8 | ~uint16 | ~uint32 | ~uint64
}

// signedBits sign-extends signed integers into key bits.
func signedBits[T signedInt](vals []T, dst []uint64) {
	dst = dst[:len(vals)]
	for i, v := range vals {
		dst[i] = uint64(int64(v))
	}
}

// unsignedBits zero-extends unsigned integers into key bits.
func unsignedBits[T unsignedInt](vals []T, dst []uint64) {
	dst = dst[:len(vals)]
	for i, v := range vals {
		dst[i] = uint64(v)
	}
}

// fromBits is the inverse of toBits for one value: the Arrow Go value whose
// key bits are b.
func fromBits(k kind, b uint64) any {
	switch k {
	case kindInt8:
		return int8(b)
	case kindInt16:
		return int16(b)
	case kindInt32:
		return int32(b)
	case kindInt64:
		return int64(b)
	case kindDate32:
		return arrow.Date32(b)
	case kindTimestamp:
		return arrow.Timestamp(b)
	case kindDuration:
		return arrow.Duration(b)
	case kindUint8:
		return uint8(b)
	case kindUint16:
		return uint16(b)
	case kindUint32:
		return uint32(b)
	case kindUint64:
		return b
	case kindFloat32:
		return math.Float32frombits(uint32(b))
	case kindFloat64:
		return math.Float64frombits(b)
	case kindBool:
		return b != 0
	}
	panic("exec: fromBits on a kind without a uint64 form")
}

// bytesValue returns the Arrow Go value of a byte string of kind k, copying b.
func bytesValue(k kind, b []byte) any {
	if k == kindString {
		return string(b)
	}
	return append([]byte{}, b...)
}

// byteColumn views a String, Binary or dictionary-of-either array as byte
// strings without copying them.
type byteColumn struct {
	// rows is the array itself; its validity bitmap says which rows are NULL.
	rows arrow.Array
	// offs and data hold the byte strings: one per row of a plain array,
	// one per dictionary entry of a dictionary array.
	offs []int32
	data []byte
	// idx is the dictionary index of every row, nil for a plain array.
	idx []int32
	// dict is the dictionary of a dictionary array.
	dict arrow.Array
	// dictNulls says whether some dictionary entries are NULL.
	dictNulls bool
}

// newByteColumn returns a view of a, using scratch for the dictionary
// indexes when a is dictionary-encoded.
func newByteColumn(a arrow.Array, scratch []int32) byteColumn {
	c := byteColumn{rows: a}
	src := a
	if d, ok := a.(*array.Dictionary); ok {
		c.idx = dictIndexes(d, scratch)
		c.dict = d.Dictionary()
		c.dictNulls = c.dict.NullN() > 0
		src = c.dict
	}
	c.offs, c.data = offsetsAndData(src)
	return c
}

// offsetsAndData returns the offset-adjusted value offsets of a String or
// Binary array and its whole value buffer.
func offsetsAndData(a arrow.Array) ([]int32, []byte) {
	if a.Len() == 0 {
		return []int32{0}, nil
	}
	var offs []int32
	switch a := a.(type) {
	case *array.String:
		offs = a.ValueOffsets()
	case *array.Binary:
		offs = a.ValueOffsets()
	default:
		panic(fmt.Sprintf("exec: %s is not a byte string array", a.DataType()))
	}
	var data []byte
	if buf := a.Data().Buffers()[2]; buf != nil {
		data = buf.Bytes()
	}
	return offs, data
}

// dictIndexes returns the dictionary index of every row of d as int32s,
// reusing scratch. A NULL row's index is whatever the buffer holds: callers
// check validity before using it.
func dictIndexes(d *array.Dictionary, scratch []int32) []int32 {
	n := d.Len()
	if cap(scratch) < n {
		scratch = make([]int32, n)
	}
	dst := scratch[:n]
	switch ix := d.Indices().(type) {
	case *array.Int8:
		widenIndexes(ix.Values(), dst)
	case *array.Uint8:
		widenIndexes(ix.Values(), dst)
	case *array.Int16:
		widenIndexes(ix.Values(), dst)
	case *array.Uint16:
		widenIndexes(ix.Values(), dst)
	case *array.Int32:
		copy(dst, ix.Values())
	case *array.Uint32:
		widenIndexes(ix.Values(), dst)
	case *array.Int64:
		widenIndexes(ix.Values(), dst)
	case *array.Uint64:
		widenIndexes(ix.Values(), dst)
	default:
		panic(fmt.Sprintf("exec: dictionary index type %s", d.Indices().DataType()))
	}
	return dst
}

// widenIndexes converts dictionary indexes to int32.
func widenIndexes[T signedInt | unsignedInt](src []T, dst []int32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = int32(v)
	}
}

// null reports whether row i is NULL, either in the array or because its
// dictionary entry is NULL.
func (c *byteColumn) null(i int) bool {
	if c.rows.IsNull(i) {
		return true
	}
	return c.dictNulls && c.dict.IsNull(int(c.idx[i]))
}

// at returns row i's bytes; they alias the array's buffers.
func (c *byteColumn) at(i int) []byte {
	if c.idx != nil {
		j := c.idx[i]
		return c.data[c.offs[j]:c.offs[j+1]]
	}
	return c.data[c.offs[i]:c.offs[i+1]]
}

// entry returns dictionary entry j's bytes.
func (c *byteColumn) entry(j int32) []byte {
	return c.data[c.offs[j]:c.offs[j+1]]
}

// entries returns the number of dictionary entries.
func (c *byteColumn) entries() int { return len(c.offs) - 1 }

// goValue returns the Arrow Go value of row i of a, whose type classify
// accepted: a copy for strings and binary, nil for NULL.
func goValue(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int8:
		return a.Value(i)
	case *array.Int16:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Uint8:
		return a.Value(i)
	case *array.Uint16:
		return a.Value(i)
	case *array.Uint32:
		return a.Value(i)
	case *array.Uint64:
		return a.Value(i)
	case *array.Float32:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Decimal128:
		return a.Value(i)
	case *array.Decimal256:
		return a.Value(i)
	case *array.String:
		return strings.Clone(a.Value(i))
	case *array.Binary:
		return append([]byte{}, a.Value(i)...)
	case *array.Date32:
		return a.Value(i)
	case *array.Timestamp:
		return a.Value(i)
	case *array.Duration:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Dictionary:
		j := a.GetValueIndex(i)
		return goValue(a.Dictionary(), j)
	}
	panic(fmt.Sprintf("exec: no Go value for %s", a.DataType()))
}

// AppendValue appends v to b, a builder of a type the operators take: the
// inverse of Value for the plain types (nil for NULL; v of the builder's
// Go type: int32 for an Int32Builder, arrow.Date32 for a Date32Builder,
// the forms MemTables store).
func AppendValue(b array.Builder, v any) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.Int8Builder:
		b.Append(v.(int8))
	case *array.Int16Builder:
		b.Append(v.(int16))
	case *array.Int32Builder:
		b.Append(v.(int32))
	case *array.Int64Builder:
		b.Append(v.(int64))
	case *array.Uint8Builder:
		b.Append(v.(uint8))
	case *array.Uint16Builder:
		b.Append(v.(uint16))
	case *array.Uint32Builder:
		b.Append(v.(uint32))
	case *array.Uint64Builder:
		b.Append(v.(uint64))
	case *array.Float32Builder:
		b.Append(v.(float32))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.Decimal128Builder:
		b.Append(v.(decimal128.Num))
	case *array.Decimal256Builder:
		b.Append(v.(decimal256.Num))
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.BinaryBuilder:
		b.Append(v.([]byte))
	case *array.Date32Builder:
		b.Append(v.(arrow.Date32))
	case *array.TimestampBuilder:
		b.Append(v.(arrow.Timestamp))
	case *array.DurationBuilder:
		b.Append(v.(arrow.Duration))
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	default:
		panic(fmt.Sprintf("exec: AppendValue to %T", b))
	}
}
