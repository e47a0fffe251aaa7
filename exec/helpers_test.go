package exec

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/shopspring/decimal"
)

// The Arrow types the tests use.
var (
	tInt8    = arrow.PrimitiveTypes.Int8
	tInt16   = arrow.PrimitiveTypes.Int16
	tInt32   = arrow.PrimitiveTypes.Int32
	tInt64   = arrow.PrimitiveTypes.Int64
	tUint8   = arrow.PrimitiveTypes.Uint8
	tUint16  = arrow.PrimitiveTypes.Uint16
	tUint32  = arrow.PrimitiveTypes.Uint32
	tUint64  = arrow.PrimitiveTypes.Uint64
	tFloat32 = arrow.PrimitiveTypes.Float32
	tFloat64 = arrow.PrimitiveTypes.Float64
	tString  = arrow.BinaryTypes.String
	tBinary  = arrow.BinaryTypes.Binary
	tDate32  = arrow.FixedWidthTypes.Date32
	tTS      = &arrow.TimestampType{Unit: arrow.Microsecond}
	tTSUTC   = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	tDur     = &arrow.DurationType{Unit: arrow.Microsecond}
	tBool    = arrow.FixedWidthTypes.Boolean
	tDictStr = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}
	tDictBin = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Uint8, ValueType: arrow.BinaryTypes.Binary}
)

func tDec128(prec, scale int32) arrow.DataType {
	return &arrow.Decimal128Type{Precision: prec, Scale: scale}
}

func tDec256(prec, scale int32) arrow.DataType {
	return &arrow.Decimal256Type{Precision: prec, Scale: scale}
}

// newAllocator returns a checked allocator that fails t if memory is still
// allocated when t ends.
func newAllocator(t testing.TB) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// schemaOf returns a schema with columns c0, c1, ... of the given types.
func schemaOf(types ...arrow.DataType) *arrow.Schema {
	fields := make([]arrow.Field, len(types))
	for i, t := range types {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: t, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// buildRecord builds a record of schema from columns of Go values (nil for
// NULL); every column has the same length.
func buildRecord(mem memory.Allocator, schema *arrow.Schema, cols ...[]any) arrow.Record {
	arrs := make([]arrow.Array, len(cols))
	for i, vals := range cols {
		arrs[i] = buildArray(mem, schema.Field(i).Type, vals)
		defer arrs[i].Release()
	}
	n := 0
	if len(cols) > 0 {
		n = len(cols[0])
	}
	return array.NewRecordBatch(schema, arrs, int64(n))
}

// rowsToCols transposes rows into columns.
func rowsToCols(ncols int, rows [][]any) [][]any {
	cols := make([][]any, ncols)
	for c := range cols {
		cols[c] = make([]any, len(rows))
		for r, row := range rows {
			cols[c][r] = row[c]
		}
	}
	return cols
}

// buildArray builds an array of type t from Go values (nil for NULL). A
// dictionary array gets a dictionary of the distinct values in order of
// appearance; see buildDict for other dictionaries.
func buildArray(mem memory.Allocator, t arrow.DataType, vals []any) arrow.Array {
	if dt, ok := t.(*arrow.DictionaryType); ok {
		var dict []any
		seen := map[string]int{}
		idx := make([]any, len(vals))
		for i, v := range vals {
			if v == nil {
				continue
			}
			k := fmt.Sprint(v)
			j, ok := seen[k]
			if !ok {
				j = len(dict)
				seen[k] = j
				dict = append(dict, v)
			}
			idx[i] = j
		}
		return buildDict(mem, dt, dict, idx)
	}
	b := array.NewBuilder(mem, t)
	defer b.Release()
	for _, v := range vals {
		AppendValue(b, v)
	}
	return b.NewArray()
}

// buildDict builds a dictionary array with the given dictionary entries
// (nil for a NULL entry) and indexes (nil for a NULL row).
func buildDict(mem memory.Allocator, t *arrow.DictionaryType, dict []any, idx []any) arrow.Array {
	d := buildArray(mem, t.ValueType, dict)
	defer d.Release()
	ib := array.NewBuilder(mem, t.IndexType)
	defer ib.Release()
	for _, v := range idx {
		if v == nil {
			ib.AppendNull()
			continue
		}
		j := v.(int)
		switch ib := ib.(type) {
		case *array.Int8Builder:
			ib.Append(int8(j))
		case *array.Uint8Builder:
			ib.Append(uint8(j))
		case *array.Int16Builder:
			ib.Append(int16(j))
		case *array.Uint16Builder:
			ib.Append(uint16(j))
		case *array.Int32Builder:
			ib.Append(int32(j))
		case *array.Uint32Builder:
			ib.Append(uint32(j))
		case *array.Int64Builder:
			ib.Append(int64(j))
		case *array.Uint64Builder:
			ib.Append(uint64(j))
		}
	}
	indices := ib.NewArray()
	defer indices.Release()
	return array.NewDictionaryArray(t, indices, d)
}

// dec128 returns the decimal128 coefficient of the decimal string s.
func dec128(s string) decimal128.Num {
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return decimal128.FromBigInt(b)
}

// dec256 returns the decimal256 coefficient of the decimal string s.
func dec256(s string) decimal256.Num {
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return decimal256.FromBigInt(b)
}

// dec returns the shopspring decimal of s, which has exactly the scale
// spelled out.
func dec(s string) decimal.Decimal {
	return decimal.RequireFromString(s)
}

// sameValue reports whether two result values are equal: decimals by value
// and exponent, floats by == (so -0 equals +0), byte slices by content,
// everything else by type and ==.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case decimal.Decimal:
		b, ok := b.(decimal.Decimal)
		return ok && a.Equal(b) && a.Exponent() == b.Exponent()
	case []byte:
		b, ok := b.([]byte)
		return ok && bytes.Equal(a, b)
	case float64:
		b, ok := b.(float64)
		return ok && (a == b || math.IsNaN(a) && math.IsNaN(b))
	case float32:
		b, ok := b.(float32)
		return ok && a == b
	}
	return a == b
}

// sameRow reports whether two result rows are equal by sameValue.
func sameRow(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameValue(a[i], b[i]) {
			return false
		}
	}
	return true
}

// formatRow prints a row with the types of its values.
func formatRow(row []any) string {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, v := range row {
		if i > 0 {
			buf.WriteString(", ")
		}
		switch v := v.(type) {
		case nil:
			buf.WriteString("NULL")
		case decimal.Decimal:
			fmt.Fprintf(&buf, "decimal(%s, exp %d)", v, v.Exponent())
		case decimal128.Num:
			fmt.Fprintf(&buf, "dec128(%s)", v.BigInt())
		case decimal256.Num:
			fmt.Fprintf(&buf, "dec256(%s)", v.BigInt())
		default:
			fmt.Fprintf(&buf, "%T(%v)", v, v)
		}
	}
	buf.WriteByte(']')
	return buf.String()
}

// formatRows prints rows one a line.
func formatRows(rows [][]any) string {
	var buf bytes.Buffer
	for _, r := range rows {
		buf.WriteString(formatRow(r))
		buf.WriteByte('\n')
	}
	return buf.String()
}
