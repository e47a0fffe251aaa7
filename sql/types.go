package sql

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/shopspring/decimal"

	"github.com/lakesql/lakesql/internal/base"
)

// Values cross between go-mysql-server and storage here. go-mysql-server
// holds a row as []any with one Go type per SQL type (int8..uint64,
// float32/64, decimal.Decimal, string, []byte, time.Time, types.Timespan,
// a JSON wrapper; BOOLEAN is TINYINT(1), an int8). Storage holds the
// MemTable's normalized values (see memwal/memtable) and Arrow arrays.

// sqlType is the go-mysql-server type of a stored column type.
func sqlType(t base.Type) (sql.Type, error) {
	switch t.Kind {
	case base.TypeInt8:
		return types.Int8, nil
	case base.TypeInt16:
		return types.Int16, nil
	case base.TypeInt32:
		return types.Int32, nil
	case base.TypeInt64:
		return types.Int64, nil
	case base.TypeUint8:
		return types.Uint8, nil
	case base.TypeUint16:
		return types.Uint16, nil
	case base.TypeUint32:
		return types.Uint32, nil
	case base.TypeUint64:
		return types.Uint64, nil
	case base.TypeFloat32:
		return types.Float32, nil
	case base.TypeFloat64:
		return types.Float64, nil
	case base.TypeDecimal:
		return types.CreateColumnDecimalType(uint8(t.Precision), uint8(t.Scale))
	case base.TypeChar:
		return types.CreateStringWithDefaults(sqltypes.Char, int64(t.Length))
	case base.TypeVarchar:
		return types.CreateStringWithDefaults(sqltypes.VarChar, int64(t.Length))
	case base.TypeText:
		return types.LongText, nil
	case base.TypeBinary:
		return types.CreateBinary(sqltypes.Binary, int64(t.Length))
	case base.TypeVarbinary:
		return types.CreateBinary(sqltypes.VarBinary, int64(t.Length))
	case base.TypeBlob:
		return types.LongBlob, nil
	case base.TypeDate:
		return types.Date, nil
	case base.TypeDatetime:
		return types.CreateDatetimeType(sqltypes.Datetime, t.Precision)
	case base.TypeTimestamp:
		return types.CreateDatetimeType(sqltypes.Timestamp, t.Precision)
	case base.TypeTime:
		return types.Time, nil
	case base.TypeBool:
		return types.Boolean, nil
	case base.TypeJSON:
		return types.JSON, nil
	}
	return nil, fmt.Errorf("%w: %s", base.ErrUnsupportedType, t)
}

// baseType is the stored column type of a go-mysql-server type, or an
// error naming the type lakesql does not store.
func baseType(t sql.Type) (base.Type, error) {
	unsupported := func() (base.Type, error) {
		return base.Type{}, fmt.Errorf("%w: %s (lakesql stores integers, FLOAT, DOUBLE, DECIMAL, CHAR, VARCHAR, TEXT, BINARY, VARBINARY, BLOB, DATE, DATETIME, TIMESTAMP, TIME, BOOLEAN and JSON)",
			base.ErrUnsupportedType, strings.ToUpper(t.String()))
	}
	switch t.Type() {
	case sqltypes.Int8:
		if nt, ok := t.(sql.NumberType); ok && nt.DisplayWidth() == 1 {
			return base.Type{Kind: base.TypeBool}, nil
		}
		return base.Type{Kind: base.TypeInt8}, nil
	case sqltypes.Int16:
		return base.Type{Kind: base.TypeInt16}, nil
	case sqltypes.Int24, sqltypes.Int32:
		return base.Type{Kind: base.TypeInt32}, nil
	case sqltypes.Int64:
		return base.Type{Kind: base.TypeInt64}, nil
	case sqltypes.Uint8:
		return base.Type{Kind: base.TypeUint8}, nil
	case sqltypes.Uint16:
		return base.Type{Kind: base.TypeUint16}, nil
	case sqltypes.Uint24, sqltypes.Uint32:
		return base.Type{Kind: base.TypeUint32}, nil
	case sqltypes.Uint64:
		return base.Type{Kind: base.TypeUint64}, nil
	case sqltypes.Float32:
		return base.Type{Kind: base.TypeFloat32}, nil
	case sqltypes.Float64:
		return base.Type{Kind: base.TypeFloat64}, nil
	case sqltypes.Decimal:
		dt := t.(sql.DecimalType)
		return base.Type{Kind: base.TypeDecimal, Precision: int(dt.Precision()), Scale: int(dt.Scale())}, nil
	case sqltypes.Char:
		return base.Type{Kind: base.TypeChar, Length: int(t.(sql.StringType).MaxCharacterLength())}, nil
	case sqltypes.VarChar:
		return base.Type{Kind: base.TypeVarchar, Length: int(t.(sql.StringType).MaxCharacterLength())}, nil
	case sqltypes.Text:
		return base.Type{Kind: base.TypeText}, nil
	case sqltypes.Binary:
		return base.Type{Kind: base.TypeBinary, Length: int(t.(sql.StringType).MaxByteLength())}, nil
	case sqltypes.VarBinary:
		return base.Type{Kind: base.TypeVarbinary, Length: int(t.(sql.StringType).MaxByteLength())}, nil
	case sqltypes.Blob:
		return base.Type{Kind: base.TypeBlob}, nil
	case sqltypes.Date:
		return base.Type{Kind: base.TypeDate}, nil
	case sqltypes.Datetime:
		return base.Type{Kind: base.TypeDatetime, Precision: t.(sql.DatetimeType).Precision()}, nil
	case sqltypes.Timestamp:
		return base.Type{Kind: base.TypeTimestamp, Precision: t.(sql.DatetimeType).Precision()}, nil
	case sqltypes.Time:
		return base.Type{Kind: base.TypeTime, Precision: 6}, nil
	case sqltypes.TypeJSON:
		return base.Type{Kind: base.TypeJSON}, nil
	}
	return unsupported()
}

// toStored converts a go-mysql-server value to what the MemTable's
// normalizer accepts for a column of type t.
func toStored(t base.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t.Kind {
	case base.TypeDecimal:
		switch d := v.(type) {
		case decimal.Decimal:
			return d.StringFixed(int32(t.Scale)), nil
		case decimal.NullDecimal:
			if !d.Valid {
				return nil, nil
			}
			return d.Decimal.StringFixed(int32(t.Scale)), nil
		}
	case base.TypeTime:
		switch d := v.(type) {
		case types.Timespan:
			return arrow.Duration(d.AsMicroseconds()), nil
		}
	case base.TypeBool:
		if n, ok := base.AsInt64(v); ok {
			return n != 0, nil
		}
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case base.TypeJSON:
		switch d := v.(type) {
		case string:
			return d, nil
		case sql.JSONWrapper:
			// Stored as MySQL prints JSON ({"a": 1}), so reads show it so.
			return types.JsonToMySqlString(d)
		default:
			b, err := json.Marshal(d)
			if err != nil {
				return nil, err
			}
			return string(b), nil
		}
	case base.TypeFloat32, base.TypeFloat64:
		if d, ok := v.(decimal.Decimal); ok {
			f, _ := d.Float64()
			return f, nil
		}
	}
	return v, nil
}

// fromStored converts a normalized stored value (as memwal returns rows)
// to go-mysql-server's value of a column of type t.
func fromStored(t base.Type, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case decimal128.Num:
		return decimal.NewFromBigInt(x.BigInt(), -int32(t.Scale))
	case decimal256.Num:
		return decimal.NewFromBigInt(x.BigInt(), -int32(t.Scale))
	case arrow.Date32:
		return x.ToTime()
	case arrow.Timestamp:
		return time.UnixMicro(int64(x)).UTC()
	case arrow.Duration:
		return types.Timespan(int64(x))
	case bool:
		if x {
			return int8(1)
		}
		return int8(0)
	case string:
		if t.Kind == base.TypeJSON {
			return types.NewLazyJSONDocument([]byte(x))
		}
	}
	return v
}

// columnReader reads one Arrow column into go-mysql-server values.
type columnReader func(i int) any

// newColumnReader returns a reader of arr, a column of type t.
func newColumnReader(t base.Type, arr arrow.Array) columnReader {
	valid := func(i int) bool { return !arr.IsNull(i) }
	wrap := func(f func(i int) any) columnReader {
		if arr.NullN() == 0 {
			return f
		}
		return func(i int) any {
			if !valid(i) {
				return nil
			}
			return f(i)
		}
	}
	switch a := arr.(type) {
	case *array.Int8:
		return wrap(func(i int) any { return a.Value(i) })
	case *array.Int16:
		return wrap(func(i int) any { return a.Value(i) })
	case *array.Int32:
		return wrap(func(i int) any { return a.Value(i) })
	case *array.Int64:
		return wrap(func(i int) any { return a.Value(i) })
	case *array.Uint8:
		return wrap(func(i int) any { return a.Value(i) })
	case *array.Uint16:
		return wrap(func(i int) any { return a.Value(i) })
	case *array.Uint32:
		return wrap(func(i int) any { return a.Value(i) })
	case *array.Uint64:
		return wrap(func(i int) any { return a.Value(i) })
	case *array.Float32:
		return wrap(func(i int) any { return a.Value(i) })
	case *array.Float64:
		return wrap(func(i int) any { return a.Value(i) })
	case *array.Decimal128:
		scale := -int32(t.Scale)
		return wrap(func(i int) any {
			n := a.Value(i)
			if n.HighBits() == 0 && n.LowBits() < 1<<63 || n.HighBits() == -1 && n.LowBits() >= 1<<63 {
				return decimal.New(int64(n.LowBits()), scale)
			}
			return decimal.NewFromBigInt(n.BigInt(), scale)
		})
	case *array.Decimal256:
		scale := -int32(t.Scale)
		return wrap(func(i int) any { return decimal.NewFromBigInt(a.Value(i).BigInt(), scale) })
	case *array.String:
		if t.Kind == base.TypeJSON {
			return wrap(func(i int) any { return types.NewLazyJSONDocument([]byte(a.Value(i))) })
		}
		return wrap(func(i int) any { return a.Value(i) })
	case *array.Binary:
		return wrap(func(i int) any { return append([]byte{}, a.Value(i)...) })
	case *array.Date32:
		return wrap(func(i int) any { return a.Value(i).ToTime() })
	case *array.Timestamp:
		return wrap(func(i int) any { return time.UnixMicro(int64(a.Value(i))).UTC() })
	case *array.Duration:
		return wrap(func(i int) any { return types.Timespan(int64(a.Value(i))) })
	case *array.Boolean:
		return wrap(func(i int) any {
			if a.Value(i) {
				return int8(1)
			}
			return int8(0)
		})
	}
	return func(int) any { return nil }
}
