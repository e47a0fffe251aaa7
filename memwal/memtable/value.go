package memtable

import (
	"fmt"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
)

// Values are stored normalized to one Go type per column, the element type
// of the column's Arrow builder, so that building records is a typed loop:
//
//	TINYINT..BIGINT      int8, int16, int32, int64
//	... UNSIGNED         uint8, uint16, uint32, uint64
//	FLOAT / DOUBLE       float32 / float64
//	DECIMAL(p<=38)       decimal128.Num (unscaled)
//	DECIMAL(p>38)        decimal256.Num (unscaled)
//	strings, JSON        string
//	byte strings         []byte (a private copy)
//	DATE                 arrow.Date32
//	DATETIME, TIMESTAMP  arrow.Timestamp (µs)
//	TIME                 arrow.Duration (µs)
//	BOOLEAN              bool
//
// normalize accepts what parquetio's Predicate constants accept (see
// parquetio.Cmp): any Go integer for integer columns, integers and floats
// for float columns, string / decimal128.Num / decimal256.Num / integers for
// DECIMAL, string or []byte for strings and byte strings, arrow.Date32 or
// time.Time for DATE, arrow.Timestamp or time.Time for DATETIME (wall clock)
// and TIMESTAMP (instant), arrow.Duration or time.Duration for TIME, bool
// for BOOLEAN. nil is NULL.

// column is one column of a table's schema with its Arrow type.
type column struct {
	col   base.Column
	typ   base.Type
	arrow arrow.DataType
	field arrow.Field
}

// normalize converts v to c's stored Go type.
func normalize(c *column, v any) (any, error) {
	if v == nil {
		if !c.col.Nullable {
			return nil, fmt.Errorf("memtable: column %q is NOT NULL", c.col.Name)
		}
		return nil, nil
	}
	if alreadyNormal(c.typ.Kind, v) {
		return v, nil // no conversion, and no new boxing
	}
	bad := func() (any, error) {
		return nil, fmt.Errorf("memtable: value %v (%T) does not fit column %q %s", v, v, c.col.Name, c.typ)
	}
	signed, isSigned := base.AsInt64(v)
	unsigned, isUnsigned := base.AsUint64(v)
	switch k := c.typ.Kind; k {
	case base.TypeInt8, base.TypeInt16, base.TypeInt32, base.TypeInt64:
		if !isSigned {
			return bad()
		}
		switch k {
		case base.TypeInt8:
			if signed < math.MinInt8 || signed > math.MaxInt8 {
				return bad()
			}
			return int8(signed), nil
		case base.TypeInt16:
			if signed < math.MinInt16 || signed > math.MaxInt16 {
				return bad()
			}
			return int16(signed), nil
		case base.TypeInt32:
			if signed < math.MinInt32 || signed > math.MaxInt32 {
				return bad()
			}
			return int32(signed), nil
		}
		return signed, nil
	case base.TypeUint8, base.TypeUint16, base.TypeUint32, base.TypeUint64:
		if !isUnsigned {
			return bad()
		}
		switch k {
		case base.TypeUint8:
			if unsigned > math.MaxUint8 {
				return bad()
			}
			return uint8(unsigned), nil
		case base.TypeUint16:
			if unsigned > math.MaxUint16 {
				return bad()
			}
			return uint16(unsigned), nil
		case base.TypeUint32:
			if unsigned > math.MaxUint32 {
				return bad()
			}
			return uint32(unsigned), nil
		}
		return unsigned, nil
	case base.TypeFloat32, base.TypeFloat64:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		default:
			switch {
			case isSigned:
				f = float64(signed)
			case isUnsigned:
				f = float64(unsigned)
			default:
				return bad()
			}
		}
		if k == base.TypeFloat32 {
			return float32(f), nil
		}
		return f, nil
	case base.TypeDecimal:
		n, ok, err := parquetio.DecimalValue(v, c.typ)
		if err != nil {
			return nil, fmt.Errorf("memtable: column %q: %w", c.col.Name, err)
		}
		if !ok {
			return bad()
		}
		if c.typ.Precision <= 38 {
			a := n.Array()
			return decimal128.New(int64(a[1]), a[0]), nil
		}
		return n, nil
	case base.TypeChar, base.TypeVarchar, base.TypeText, base.TypeJSON:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
		return bad()
	case base.TypeBinary, base.TypeVarbinary, base.TypeBlob:
		switch x := v.(type) {
		case string:
			return []byte(x), nil
		case []byte:
			return append([]byte{}, x...), nil
		}
		return bad()
	case base.TypeDate:
		switch x := v.(type) {
		case arrow.Date32:
			return x, nil
		case time.Time:
			return arrow.Date32FromTime(x), nil
		}
		return bad()
	case base.TypeDatetime, base.TypeTimestamp:
		switch x := v.(type) {
		case arrow.Timestamp:
			return x, nil
		case time.Time:
			if k == base.TypeDatetime {
				// Wall clock: the fields as written, whatever the zone.
				x = time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC)
			}
			return arrow.Timestamp(x.UnixMicro()), nil
		}
		return bad()
	case base.TypeTime:
		switch x := v.(type) {
		case arrow.Duration:
			return x, nil
		case time.Duration:
			return arrow.Duration(x.Microseconds()), nil
		}
		return bad()
	case base.TypeBool:
		if x, ok := v.(bool); ok {
			return x, nil
		}
		return bad()
	}
	return bad()
}

// valueBytes estimates the memory of a stored value beyond its interface
// word pair.
func valueBytes(v any) int64 {
	switch x := v.(type) {
	case nil, bool, int8, uint8:
		return 0
	case string:
		return int64(len(x)) + 16
	case []byte:
		return int64(len(x)) + 24
	case decimal128.Num:
		return 16
	case decimal256.Num:
		return 32
	}
	return 8
}

// appendColumn appends column idx of rows to b, a builder of the column's
// Arrow type; the values are normalized, so each case is one typed loop.
func appendColumn(b array.Builder, rows [][]any, idx int) {
	b.Reserve(len(rows))
	switch b := b.(type) {
	case *array.Int8Builder:
		fill[int8](b, rows, idx)
	case *array.Int16Builder:
		fill[int16](b, rows, idx)
	case *array.Int32Builder:
		fill[int32](b, rows, idx)
	case *array.Int64Builder:
		fill[int64](b, rows, idx)
	case *array.Uint8Builder:
		fill[uint8](b, rows, idx)
	case *array.Uint16Builder:
		fill[uint16](b, rows, idx)
	case *array.Uint32Builder:
		fill[uint32](b, rows, idx)
	case *array.Uint64Builder:
		fill[uint64](b, rows, idx)
	case *array.Float32Builder:
		fill[float32](b, rows, idx)
	case *array.Float64Builder:
		fill[float64](b, rows, idx)
	case *array.Decimal128Builder:
		fill[decimal128.Num](b, rows, idx)
	case *array.Decimal256Builder:
		fill[decimal256.Num](b, rows, idx)
	case *array.StringBuilder:
		fill[string](b, rows, idx)
	case *array.BinaryBuilder:
		fill[[]byte](b, rows, idx)
	case *array.Date32Builder:
		fill[arrow.Date32](b, rows, idx)
	case *array.TimestampBuilder:
		fill[arrow.Timestamp](b, rows, idx)
	case *array.DurationBuilder:
		fill[arrow.Duration](b, rows, idx)
	case *array.BooleanBuilder:
		fill[bool](b, rows, idx)
	default:
		// Unreachable: AddTable resolves every column through
		// parquetio.ArrowSchema, whose types are the cases above.
		panic(fmt.Sprintf("memtable: unexpected builder %T", b))
	}
}

func fill[T any, B interface {
	Append(T)
	AppendNull()
}](b B, rows [][]any, idx int) {
	for _, r := range rows {
		if v := r[idx]; v == nil {
			b.AppendNull()
		} else {
			b.Append(v.(T))
		}
	}
}

// NormalizeRow converts row (every column of schema, in order) to the Go
// types the MemTable stores (see above), checking that each value fits its
// column. The WAL stores rows in this form.
func NormalizeRow(schema *base.Schema, row []any) ([]any, error) {
	n, err := NewNormalizer(schema)
	if err != nil {
		return nil, err
	}
	return n.Row(row)
}

// Normalizer is NormalizeRow with the schema's types parsed once. It is
// safe for concurrent use.
type Normalizer struct {
	cols []column
}

// NewNormalizer returns a Normalizer of schema's rows.
func NewNormalizer(schema *base.Schema) (*Normalizer, error) {
	n := &Normalizer{cols: make([]column, len(schema.Columns))}
	for i, c := range schema.Columns {
		typ, err := base.ParseType(c.Type)
		if err != nil {
			return nil, err
		}
		n.cols[i] = column{col: c, typ: typ}
	}
	return n, nil
}

// Row normalizes one row; see NormalizeRow.
func (n *Normalizer) Row(row []any) ([]any, error) {
	if len(row) != len(n.cols) {
		return nil, fmt.Errorf("memtable: a row of %d values for %d columns", len(row), len(n.cols))
	}
	out := make([]any, len(row))
	for i := range n.cols {
		v, err := normalize(&n.cols[i], row[i])
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// alreadyNormal reports whether v has the stored Go type of its column
// kind already, with nothing to check (a string column has no length limit
// here).
func alreadyNormal(k base.TypeKind, v any) bool {
	switch k {
	case base.TypeInt64:
		_, ok := v.(int64)
		return ok
	case base.TypeInt32:
		_, ok := v.(int32)
		return ok
	case base.TypeInt16:
		_, ok := v.(int16)
		return ok
	case base.TypeInt8:
		_, ok := v.(int8)
		return ok
	case base.TypeUint64:
		_, ok := v.(uint64)
		return ok
	case base.TypeFloat64:
		_, ok := v.(float64)
		return ok
	case base.TypeChar, base.TypeVarchar, base.TypeText, base.TypeJSON:
		_, ok := v.(string)
		return ok
	case base.TypeBool:
		_, ok := v.(bool)
		return ok
	}
	return false
}
