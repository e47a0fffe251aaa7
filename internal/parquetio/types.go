package parquetio

import (
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/parquet-go/parquet-go"
)

// Arrow field metadata keys.
const (
	// FieldIDKey holds a column's id in Arrow field metadata, as Arrow's
	// Parquet readers spell it.
	FieldIDKey = "PARQUET:field_id"
	// SQLTypeKey holds the column's SQL type (base.Type.String) in Arrow
	// field metadata; JSON and TIME columns are told apart by it.
	SQLTypeKey = "lakesql:type"
	// PositionColumn is the name of the int64 column of file-relative row
	// positions that ReadOptions.WithPositions appends.
	PositionColumn = "_pos"
)

// phys is the Parquet physical type a column is stored as.
type phys uint8

const (
	physBool phys = iota
	physInt32
	physInt64
	physFloat
	physDouble
	physBytes
	physFLBA
)

// column is one column of a base.Schema resolved to its Arrow and Parquet
// types.
type column struct {
	col   base.Column
	typ   base.Type
	arrow arrow.DataType
	phys  phys
	// size is the byte width of a FIXED_LEN_BYTE_ARRAY decimal.
	size int
}

// resolveColumn maps one schema column to its Arrow and Parquet types.
func resolveColumn(c base.Column) (column, error) {
	t, err := base.ParseType(c.Type)
	if err != nil {
		return column{}, fmt.Errorf("parquetio: column %q (id %d): %w", c.Name, c.ID, err)
	}
	rc := column{col: c, typ: t}
	switch t.Kind {
	case base.TypeInt8:
		rc.arrow, rc.phys = arrow.PrimitiveTypes.Int8, physInt32
	case base.TypeInt16:
		rc.arrow, rc.phys = arrow.PrimitiveTypes.Int16, physInt32
	case base.TypeInt32:
		rc.arrow, rc.phys = arrow.PrimitiveTypes.Int32, physInt32
	case base.TypeInt64:
		rc.arrow, rc.phys = arrow.PrimitiveTypes.Int64, physInt64
	case base.TypeUint8:
		rc.arrow, rc.phys = arrow.PrimitiveTypes.Uint8, physInt32
	case base.TypeUint16:
		rc.arrow, rc.phys = arrow.PrimitiveTypes.Uint16, physInt32
	case base.TypeUint32:
		rc.arrow, rc.phys = arrow.PrimitiveTypes.Uint32, physInt32
	case base.TypeUint64:
		rc.arrow, rc.phys = arrow.PrimitiveTypes.Uint64, physInt64
	case base.TypeFloat32:
		rc.arrow, rc.phys = arrow.PrimitiveTypes.Float32, physFloat
	case base.TypeFloat64:
		rc.arrow, rc.phys = arrow.PrimitiveTypes.Float64, physDouble
	case base.TypeDecimal:
		switch {
		case t.Precision <= 9:
			rc.arrow, rc.phys = &arrow.Decimal128Type{Precision: int32(t.Precision), Scale: int32(t.Scale)}, physInt32
		case t.Precision <= 18:
			rc.arrow, rc.phys = &arrow.Decimal128Type{Precision: int32(t.Precision), Scale: int32(t.Scale)}, physInt64
		case t.Precision <= 38:
			rc.arrow, rc.phys, rc.size = &arrow.Decimal128Type{Precision: int32(t.Precision), Scale: int32(t.Scale)}, physFLBA, 16
		default:
			rc.arrow, rc.phys, rc.size = &arrow.Decimal256Type{Precision: int32(t.Precision), Scale: int32(t.Scale)}, physFLBA, 32
		}
	case base.TypeChar, base.TypeVarchar, base.TypeText, base.TypeJSON:
		rc.arrow, rc.phys = arrow.BinaryTypes.String, physBytes
	case base.TypeBinary, base.TypeVarbinary, base.TypeBlob:
		rc.arrow, rc.phys = arrow.BinaryTypes.Binary, physBytes
	case base.TypeDate:
		rc.arrow, rc.phys = arrow.FixedWidthTypes.Date32, physInt32
	case base.TypeDatetime:
		rc.arrow, rc.phys = &arrow.TimestampType{Unit: arrow.Microsecond}, physInt64
	case base.TypeTimestamp:
		rc.arrow, rc.phys = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, physInt64
	case base.TypeTime:
		rc.arrow, rc.phys = &arrow.DurationType{Unit: arrow.Microsecond}, physInt64
	case base.TypeBool:
		rc.arrow, rc.phys = arrow.FixedWidthTypes.Boolean, physBool
	default:
		return column{}, fmt.Errorf("parquetio: column %q (id %d): %w: %s", c.Name, c.ID, base.ErrUnsupportedType, c.Type)
	}
	return rc, nil
}

// field is the column's Arrow field, with its id and SQL type in the
// metadata.
func (c *column) field() arrow.Field {
	return arrow.Field{
		Name:     c.col.Name,
		Type:     c.arrow,
		Nullable: c.col.Nullable,
		Metadata: arrow.NewMetadata(
			[]string{FieldIDKey, SQLTypeKey},
			[]string{strconv.Itoa(c.col.ID), c.typ.String()},
		),
	}
}

// node is the column's Parquet node, with its field id.
func (c *column) node() parquet.Node {
	n := c.leafNode()
	if c.col.Nullable {
		n = parquet.Optional(n)
	}
	return parquet.FieldID(n, c.col.ID)
}

// leafNode is c's Parquet leaf, neither optional nor with a field id.
func (c *column) leafNode() parquet.Node {
	var n parquet.Node
	t := c.typ
	switch t.Kind {
	case base.TypeInt8:
		n = parquet.Int(8)
	case base.TypeInt16:
		n = parquet.Int(16)
	case base.TypeInt32:
		n = parquet.Int(32)
	case base.TypeInt64:
		n = parquet.Int(64)
	case base.TypeUint8:
		n = parquet.Uint(8)
	case base.TypeUint16:
		n = parquet.Uint(16)
	case base.TypeUint32:
		n = parquet.Uint(32)
	case base.TypeUint64:
		n = parquet.Uint(64)
	case base.TypeFloat32:
		n = parquet.Leaf(parquet.FloatType)
	case base.TypeFloat64:
		n = parquet.Leaf(parquet.DoubleType)
	case base.TypeDecimal:
		switch c.phys {
		case physInt32:
			n = parquet.Decimal(t.Scale, t.Precision, parquet.Int32Type)
		case physInt64:
			n = parquet.Decimal(t.Scale, t.Precision, parquet.Int64Type)
		default:
			n = parquet.Decimal(t.Scale, t.Precision, parquet.FixedLenByteArrayType(c.size))
		}
	case base.TypeChar, base.TypeVarchar, base.TypeText:
		n = parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
	case base.TypeJSON:
		n = parquet.JSON()
	case base.TypeBinary, base.TypeVarbinary, base.TypeBlob:
		n = parquet.Encoded(parquet.Leaf(parquet.ByteArrayType), &parquet.RLEDictionary)
	case base.TypeDate:
		n = parquet.Date()
	case base.TypeDatetime:
		n = parquet.TimestampAdjusted(parquet.Microsecond, false)
	case base.TypeTimestamp:
		n = parquet.TimestampAdjusted(parquet.Microsecond, true)
	case base.TypeTime:
		n = parquet.Leaf(parquet.Int64Type)
	case base.TypeBool:
		n = parquet.Leaf(parquet.BooleanType)
	}
	return n
}

// tableColumns resolves every column of s.
func tableColumns(s *base.Schema) ([]column, error) {
	out := make([]column, 0, len(s.Columns))
	seen := make(map[int]bool, len(s.Columns))
	names := make(map[string]bool, len(s.Columns))
	for _, c := range s.Columns {
		if seen[c.ID] {
			return nil, fmt.Errorf("parquetio: duplicate column id %d", c.ID)
		}
		if names[c.Name] {
			return nil, fmt.Errorf("parquetio: duplicate column name %q", c.Name)
		}
		seen[c.ID], names[c.Name] = true, true
		rc, err := resolveColumn(c)
		if err != nil {
			return nil, err
		}
		out = append(out, rc)
	}
	return out, nil
}

// selectColumns returns the columns of s with the given ids in that order,
// or every column (hidden ones included) when ids is nil.
func selectColumns(s *base.Schema, ids []int) ([]column, error) {
	all, err := tableColumns(s)
	if err != nil {
		return nil, err
	}
	if ids == nil {
		return all, nil
	}
	out := make([]column, 0, len(ids))
	for _, id := range ids {
		found := false
		for i := range all {
			if all[i].col.ID == id {
				out = append(out, all[i])
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("parquetio: no column with id %d in the schema", id)
		}
	}
	return out, nil
}

// ArrowSchema returns the Arrow schema of the columns of s with the given
// ids, in that order; nil ids means every column of s, hidden ones included,
// in schema order. Each field carries the column id (FieldIDKey) and the SQL
// type (SQLTypeKey) in its metadata.
func ArrowSchema(s *base.Schema, ids []int) (*arrow.Schema, error) {
	cols, err := selectColumns(s, ids)
	if err != nil {
		return nil, err
	}
	return arrowSchemaOf(cols, false), nil
}

func arrowSchemaOf(cols []column, withPos bool) *arrow.Schema {
	fields := make([]arrow.Field, 0, len(cols)+1)
	for i := range cols {
		fields = append(fields, cols[i].field())
	}
	if withPos {
		fields = append(fields, arrow.Field{Name: PositionColumn, Type: arrow.PrimitiveTypes.Int64})
	}
	return arrow.NewSchema(fields, nil)
}

// ParquetSchema returns the Parquet schema lakesql writes for s: one leaf
// per column (hidden ones included), carrying the column id as field_id.
// parquet-go orders the leaves by name; readers match them by id.
func ParquetSchema(s *base.Schema) (*parquet.Schema, error) {
	cols, err := tableColumns(s)
	if err != nil {
		return nil, err
	}
	return parquetSchemaOf(cols), nil
}

func parquetSchemaOf(cols []column) *parquet.Schema {
	g := parquet.Group{}
	for i := range cols {
		g[cols[i].col.Name] = cols[i].node()
	}
	return parquet.NewSchema("lakesql", g)
}
