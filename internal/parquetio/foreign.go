package parquetio

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"
)

// Foreign files are Parquet files that another tool wrote (DuckDB,
// pyarrow, Spark, parquet-go, ...) and that a table references in place.
// They carry no lakesql metadata and no field ids: InspectForeign maps
// their top-level columns to table columns by name and checks the types,
// the key order and the key's NULLs once, when the file is added; OpenFile
// with ReaderOptions.Foreign then reads them through that mapping like
// any lakesql file.

// ForeignColumn maps one top-level column of a foreign file, by its name
// in the file, to a table column id.
type ForeignColumn struct {
	Name string `json:"name"`
	ID   int    `json:"id"`
}

// ForeignInfo is what InspectForeign learns about a foreign file.
type ForeignInfo struct {
	// Columns are the file's columns, each mapped to a table column, in
	// file order.
	Columns []ForeignColumn
	// Stats has Rows and Bytes, and per mapped column (by table column
	// id) the min, max and null count of the footer's column chunk
	// statistics (bounds: another writer may truncate long strings). A
	// column whose chunks lack usable statistics (none written, NaN
	// bounds, FIXED_LEN_BYTE_ARRAY decimals) is left out of Columns, and
	// so are the table columns the file does not have and the hidden row
	// id. KeyMin and KeyMax are the first and the last row's key when
	// the key columns are read from the file.
	Stats FileStats
	// Keys are the encoded keys of every row in file order (strictly
	// increasing), when the table's key columns are read from the file;
	// nil for a table keyed by its hidden row id.
	Keys []Key
}

// ForeignOptions describe a foreign file to OpenFile (ReaderOptions.
// Foreign), as InspectForeign found it when the file was added.
type ForeignOptions struct {
	// Columns map the file's columns to table columns; file columns not
	// listed are never read, table columns not mapped read as their
	// Default (or NULL).
	Columns []ForeignColumn
	// RowID, when not 0, is the id of the table's hidden row-id column:
	// reads produce it as RowIDStart + the row's file position (the file
	// does not have it).
	RowID      int
	RowIDStart int64
	// Key lists the table's key column ids (possibly just RowID); the
	// file's rows are sorted by it.
	Key []int
	// Stats are the statistics recorded when the file was added
	// (returned by File.Stats, used for the key range: KeyRange gives
	// the encoded KeyMin/KeyMax). Rows, when not 0, must be the file's
	// row count. For a RowID key the range is
	// RowIDStart .. RowIDStart+rows-1 and KeyMin/KeyMax are not used.
	// When KeyMin/KeyMax are missing or do not give the key exactly
	// (a BIGINT beyond 2^53 decoded from JSON as a float64), OpenFile
	// reads the first and the last row's key from the file instead.
	Stats FileStats
}

// ErrForeign matches every error saying that a foreign file does not fit
// a table, or cannot be read by lakesql: an unknown, nested, repeated or
// mistyped column, a missing key column, keys out of order, duplicated or
// NULL. These are *ForeignError values.
var ErrForeign = errors.New("foreign parquet file does not fit")

// ForeignError says why a foreign file does not fit a table, naming the
// file and, when it is about one, the file's column.
type ForeignError struct {
	// File is the object's name.
	File string
	// Column is the file's column, or "" when the reason is about the
	// whole file.
	Column string
	// Reason says what is wrong and, when it can, what would fit.
	Reason string
}

// Error implements error.
func (e *ForeignError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("parquetio: foreign file %s: %s", e.File, e.Reason)
	}
	return fmt.Sprintf("parquetio: foreign file %s: column %q: %s", e.File, e.Column, e.Reason)
}

// Is makes errors.Is(err, ErrForeign) hold.
func (e *ForeignError) Is(target error) bool { return target == ErrForeign }

// InspectForeign reads the footer of the foreign Parquet file name of r
// and checks it against table, whose key columns are keyColumns (nil for
// none): each top-level file column must map to exactly one non-hidden
// table column of the same name (case-insensitively) and decode to its
// SQL type exactly as lakesql's own files do (see the package doc); a
// table column the file lacks is allowed unless it is a key column. A
// key that is just the hidden row id (base.RowIDColumn) is not read from
// the file; any other key is, in full: the rows must be strictly
// increasing by key, without NULLs. A file that does not fit gives a
// *ForeignError (matching ErrForeign).
func InspectForeign(ctx context.Context, r store.Reader, name string, table *base.Schema, keyColumns []int) (*ForeignInfo, error) {
	if table == nil {
		return nil, fmt.Errorf("parquetio: inspecting %s: no table schema", name)
	}
	tcols, err := tableColumns(table)
	if err != nil {
		return nil, err
	}
	obj, pf, err := openParquet(ctx, r, name)
	if err != nil {
		return nil, err
	}
	f := &File{name: name, obj: obj, pf: pf, leaf: map[int]int{}}
	defer f.Close()
	top, _, err := topLevelColumns(pf.Metadata())
	if err != nil {
		return nil, base.Corruptf(name, "%v", err)
	}
	bad := func(col, format string, args ...any) error {
		return &ForeignError{File: name, Column: col, Reason: fmt.Sprintf(format, args...)}
	}
	info := &ForeignInfo{}
	fileName := map[int]string{} // table column id -> the file's column
	for i := range top {
		fl := &top[i]
		if fl.why != "" {
			return nil, bad(fl.name, "%s (%s): lakesql reads only flat columns", fl.why, describeType(fl.el))
		}
		var tc *column
		for j := range tcols {
			if c := &tcols[j]; !c.col.Hidden && strings.EqualFold(c.col.Name, fl.name) {
				if tc != nil {
					return nil, bad(fl.name, "matches both table columns %q and %q", tc.col.Name, c.col.Name)
				}
				tc = c
			}
		}
		if tc == nil {
			return nil, bad(fl.name, "the table has no column of that name (add it to the table, or write the file without it)")
		}
		if other, dup := fileName[tc.col.ID]; dup {
			return nil, bad(fl.name, "maps to table column %q, as file column %q does", tc.col.Name, other)
		}
		if err := typeFits(fl.el, tc); err != nil {
			return nil, bad(fl.name, "the file's %s does not match the table's %s (column %q): %v",
				describeType(fl.el), tc.typ, tc.col.Name, err)
		}
		fileName[tc.col.ID] = fl.name
		info.Columns = append(info.Columns, ForeignColumn{Name: fl.name, ID: tc.col.ID})
	}
	readKey := len(keyColumns) > 0 && !isRowIDKey(table, keyColumns)
	if readKey {
		for _, id := range keyColumns {
			kc := table.ColumnByID(id)
			if kc == nil {
				return nil, fmt.Errorf("parquetio: inspecting %s: key column id %d is not in the table schema", name, id)
			}
			if _, ok := fileName[id]; !ok {
				return nil, bad("", "the table's key column %q is missing from the file", kc.Name)
			}
		}
	}
	f.opts = ReaderOptions{Schema: table, PageCacheBytes: -1, Foreign: &ForeignOptions{Columns: info.Columns}}
	if err := f.initForeign(ctx); err != nil {
		return nil, err
	}
	info.Stats = FileStats{Rows: f.NumRows(), Bytes: obj.Size(), Columns: f.footerStats()}
	if readKey {
		if err := f.readKeys(ctx, keyColumns, fileName, info); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// isRowIDKey reports whether keyColumns is just the table's hidden row id.
func isRowIDKey(table *base.Schema, keyColumns []int) bool {
	if len(keyColumns) != 1 {
		return false
	}
	c := table.ColumnByID(keyColumns[0])
	return c != nil && c.Hidden && c.Name == base.RowIDColumn
}

// readKeys reads the key columns of every row into info.Keys, checking
// that they are not NULL and strictly increasing, and sets the key range
// of info.Stats.
func (f *File) readKeys(ctx context.Context, keyColumns []int, fileName map[int]string, info *ForeignInfo) error {
	cols, err := selectColumns(f.table, keyColumns)
	if err != nil {
		return err
	}
	rr, err := f.Read(ctx, ReadOptions{Columns: keyColumns})
	if err != nil {
		return err
	}
	defer rr.Close()
	var data []byte
	offs := make([]int, 1, f.NumRows()+1)
	render := func(k []byte) string {
		vals, err := decodeKey(cols, Key(k))
		if err != nil {
			return fmt.Sprintf("%x", k)
		}
		js, _ := json.Marshal(keyJSON(cols, vals))
		return string(js)
	}
	var pos int64
	for rr.Next() {
		rec := rr.Record()
		for i := 0; i < int(rec.NumRows()); i, pos = i+1, pos+1 {
			start := len(data)
			for j := range cols {
				v := scalarAt(&cols[j], rec.Column(j), i)
				if v.null {
					return &ForeignError{File: f.name, Column: fileName[cols[j].col.ID],
						Reason: fmt.Sprintf("row %d: the key column is NULL", pos)}
				}
				data = appendKey(data, &cols[j], v)
			}
			if pos > 0 {
				prev, cur := data[offs[len(offs)-2]:start], data[start:]
				if c := bytes.Compare(cur, prev); c <= 0 {
					what := "is less than"
					if c == 0 {
						what = "duplicates"
					}
					return &ForeignError{File: f.name, Reason: fmt.Sprintf(
						"row %d: key %s %s the previous row's key %s: a keyed table's rows must be sorted by key, without duplicates",
						pos, render(cur), what, render(prev))}
				}
			}
			offs = append(offs, len(data))
		}
	}
	if err := rr.Err(); err != nil {
		return err
	}
	if pos != f.NumRows() {
		return base.Corruptf(f.name, "read %d keys of %d rows", pos, f.NumRows())
	}
	all := string(data) // one allocation; the Keys are substrings of it
	info.Keys = make([]Key, pos)
	for i := range info.Keys {
		info.Keys[i] = Key(all[offs[i]:offs[i+1]])
	}
	if pos > 0 {
		lo, _ := decodeKey(cols, info.Keys[0])
		hi, _ := decodeKey(cols, info.Keys[pos-1])
		info.Stats.KeyMin, info.Stats.KeyMax = keyJSON(cols, lo), keyJSON(cols, hi)
	}
	return nil
}

// InferSchema returns the columns (names and SQL types, ids numbered from
// 1, Nullable as in the file) a table would need to hold the foreign
// file's rows: the types that lakesql reads from the file's physical and
// logical types (see the package doc). A column lakesql cannot read
// (nested, repeated, INT96, timestamps in milliseconds, ...) gives a
// *ForeignError naming it.
func InferSchema(ctx context.Context, r store.Reader, name string) ([]base.Column, error) {
	obj, pf, err := openParquet(ctx, r, name)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	top, _, err := topLevelColumns(pf.Metadata())
	if err != nil {
		return nil, base.Corruptf(name, "%v", err)
	}
	if len(top) == 0 {
		return nil, &ForeignError{File: name, Reason: "the file has no columns"}
	}
	cols := make([]base.Column, 0, len(top))
	seen := map[string]string{}
	for i := range top {
		fl := &top[i]
		if fl.why != "" {
			return nil, &ForeignError{File: name, Column: fl.name,
				Reason: fmt.Sprintf("%s (%s): lakesql reads only flat columns", fl.why, describeType(fl.el))}
		}
		if other, dup := seen[strings.ToLower(fl.name)]; dup {
			return nil, &ForeignError{File: name, Column: fl.name,
				Reason: fmt.Sprintf("differs from column %q only in case: SQL column names are case-insensitive", other)}
		}
		seen[strings.ToLower(fl.name)] = fl.name
		t, err := sqlTypeOf(fl.el)
		if err != nil {
			return nil, &ForeignError{File: name, Column: fl.name,
				Reason: fmt.Sprintf("the file's %s: %v", describeType(fl.el), err)}
		}
		cols = append(cols, base.Column{ID: i + 1, Name: fl.name, Type: t.String(), Nullable: fl.optional})
	}
	return cols, nil
}

// fileColumnInfo is one top-level column of a Parquet file.
type fileColumnInfo struct {
	name     string
	el       *format.SchemaElement
	leaf     int // its (first) Parquet leaf
	optional bool
	// why is not empty when lakesql cannot read the column: it is a
	// group or repeated.
	why string
}

// topLevelColumns lists the top-level columns of a file's schema and
// counts its Parquet leaves.
func topLevelColumns(md *format.FileMetaData) ([]fileColumnInfo, int, error) {
	els := md.Schema
	if len(els) == 0 {
		return nil, 0, errors.New("empty parquet schema")
	}
	// walk returns the index after the subtree at i and its leaves.
	var walk func(i, depth int) (int, int, error)
	walk = func(i, depth int) (int, int, error) {
		if i >= len(els) || depth > 64 {
			return 0, 0, errors.New("malformed parquet schema")
		}
		el := &els[i]
		if el.Type.Valid {
			return i + 1, 1, nil
		}
		next, leaves := i+1, 0
		for range el.NumChildren.V {
			n, k, err := walk(next, depth+1)
			if err != nil {
				return 0, 0, err
			}
			next, leaves = n, leaves+k
		}
		return next, leaves, nil
	}
	var out []fileColumnInfo
	i, leaf := 1, 0
	for range els[0].NumChildren.V {
		if i >= len(els) {
			return nil, 0, errors.New("malformed parquet schema")
		}
		el := &els[i]
		next, k, err := walk(i, 0)
		if err != nil {
			return nil, 0, err
		}
		c := fileColumnInfo{name: el.Name, el: el, leaf: leaf, optional: el.RepetitionType.V == format.Optional}
		switch {
		case !el.Type.Valid:
			c.why = "a nested column"
		case el.RepetitionType.V == format.Repeated:
			c.why = "a repeated column"
		}
		out = append(out, c)
		i, leaf = next, leaf+k
	}
	if i != len(els) {
		return nil, 0, fmt.Errorf("parquet schema has %d elements, the root's children %d", len(els), i)
	}
	return out, leaf, nil
}

// logicalKind is a Parquet logical (or converted) type annotation.
type logicalKind uint8

const (
	logNone logicalKind = iota
	logString
	logEnum
	logJSON
	logBSON
	logInt
	logDecimal
	logDate
	logTime
	logTimestamp
	logOther
)

// logical is a leaf's logical type, from LogicalType or, when a writer
// set only that, ConvertedType.
type logical struct {
	kind             logicalKind
	bits             int
	signed           bool
	precision, scale int
	unit             string // MILLIS, MICROS or NANOS
	utc              bool
}

func logicalOf(el *format.SchemaElement) logical {
	switch v := el.LogicalType.Value.(type) {
	case nil:
	case *format.StringType:
		return logical{kind: logString}
	case *format.EnumType:
		return logical{kind: logEnum}
	case *format.JsonType:
		return logical{kind: logJSON}
	case *format.BsonType:
		return logical{kind: logBSON}
	case *format.IntType:
		return logical{kind: logInt, bits: int(v.BitWidth), signed: v.IsSigned}
	case *format.DecimalType:
		return logical{kind: logDecimal, precision: int(v.Precision), scale: int(v.Scale)}
	case *format.DateType:
		return logical{kind: logDate}
	case *format.TimeType:
		return logical{kind: logTime, unit: v.Unit.String(), utc: v.IsAdjustedToUTC}
	case *format.TimestampType:
		return logical{kind: logTimestamp, unit: v.Unit.String(), utc: v.IsAdjustedToUTC}
	default:
		return logical{kind: logOther}
	}
	if !el.ConvertedType.Valid {
		return logical{}
	}
	switch ct := el.ConvertedType.V; ct {
	case deprecated.UTF8:
		return logical{kind: logString}
	case deprecated.Enum:
		return logical{kind: logEnum}
	case deprecated.Json:
		return logical{kind: logJSON}
	case deprecated.Bson:
		return logical{kind: logBSON}
	case deprecated.Decimal:
		return logical{kind: logDecimal, precision: int(el.Precision.V), scale: int(el.Scale.V)}
	case deprecated.Date:
		return logical{kind: logDate}
	case deprecated.TimeMillis:
		return logical{kind: logTime, unit: "MILLIS", utc: true}
	case deprecated.TimeMicros:
		return logical{kind: logTime, unit: "MICROS", utc: true}
	case deprecated.TimestampMillis:
		return logical{kind: logTimestamp, unit: "MILLIS", utc: true}
	case deprecated.TimestampMicros:
		return logical{kind: logTimestamp, unit: "MICROS", utc: true}
	case deprecated.Int8, deprecated.Int16, deprecated.Int32, deprecated.Int64:
		return logical{kind: logInt, bits: 8 << (ct - deprecated.Int8), signed: true}
	case deprecated.Uint8, deprecated.Uint16, deprecated.Uint32, deprecated.Uint64:
		return logical{kind: logInt, bits: 8 << (ct - deprecated.Uint8)}
	}
	return logical{kind: logOther}
}

var convertedNames = map[deprecated.ConvertedType]string{
	deprecated.UTF8: "UTF8", deprecated.Map: "MAP", deprecated.MapKeyValue: "MAP_KEY_VALUE", deprecated.List: "LIST",
	deprecated.Enum: "ENUM", deprecated.Decimal: "DECIMAL", deprecated.Date: "DATE", deprecated.TimeMillis: "TIME_MILLIS",
	deprecated.TimeMicros: "TIME_MICROS", deprecated.TimestampMillis: "TIMESTAMP_MILLIS",
	deprecated.TimestampMicros: "TIMESTAMP_MICROS", deprecated.Uint8: "UINT_8", deprecated.Uint16: "UINT_16",
	deprecated.Uint32: "UINT_32", deprecated.Uint64: "UINT_64", deprecated.Int8: "INT_8", deprecated.Int16: "INT_16",
	deprecated.Int32: "INT_32", deprecated.Int64: "INT_64", deprecated.Json: "JSON", deprecated.Bson: "BSON",
	deprecated.Interval: "INTERVAL",
}

// describeType spells a file column's Parquet type: the physical type and
// its annotation, e.g. "INT64 TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS)".
func describeType(el *format.SchemaElement) string {
	if !el.Type.Valid {
		if el.LogicalType.Value != nil {
			return "group " + el.LogicalType.Value.String()
		}
		return "group"
	}
	s := el.Type.V.String()
	if el.Type.V == format.FixedLenByteArray {
		s += fmt.Sprintf("(%d)", el.TypeLength.V)
	}
	switch {
	case el.LogicalType.Value != nil:
		s += " " + el.LogicalType.Value.String()
	case el.ConvertedType.Valid:
		n := convertedNames[el.ConvertedType.V]
		if n == "" {
			n = fmt.Sprintf("ConvertedType(%d)", el.ConvertedType.V)
		}
		if el.ConvertedType.V == deprecated.Decimal {
			n += fmt.Sprintf("(%d,%d)", el.Precision.V, el.Scale.V)
		}
		s += " " + n
	}
	if el.RepetitionType.V == format.Optional {
		s += " (optional)"
	}
	return s
}

// sqlTypeOf is the SQL type lakesql reads a file column's values as: the
// one whose own Parquet type (resolveColumn) is the column's physical
// type with the same meaning. Columns lakesql cannot read exactly give
// an error saying why.
func sqlTypeOf(el *format.SchemaElement) (base.Type, error) {
	lt := logicalOf(el)
	t := func(k base.TypeKind) (base.Type, error) { return base.Type{Kind: k}, nil }
	unsupported := func(format string, args ...any) (base.Type, error) {
		return base.Type{}, fmt.Errorf(format, args...)
	}
	if !el.Type.Valid {
		return unsupported("a nested column")
	}
	switch phys := el.Type.V; phys {
	case format.Boolean:
		if lt.kind == logNone {
			return t(base.TypeBool)
		}
	case format.Int32:
		switch lt.kind {
		case logNone:
			return t(base.TypeInt32)
		case logInt:
			kinds := map[int]base.TypeKind{8: base.TypeInt8, 16: base.TypeInt16, 32: base.TypeInt32}
			if k, ok := kinds[lt.bits]; ok {
				if !lt.signed {
					k += base.TypeUint8 - base.TypeInt8
				}
				return t(k)
			}
		case logDate:
			return t(base.TypeDate)
		case logTime:
			return unsupported("TIME in %s: lakesql reads TIME as INT64 microseconds (TIME(MICROS))", strings.ToLower(lt.unit))
		case logDecimal:
			if lt.precision >= 1 && lt.precision <= 9 && lt.scale >= 0 && lt.scale <= lt.precision {
				return base.Type{Kind: base.TypeDecimal, Precision: lt.precision, Scale: lt.scale}, nil
			}
		}
	case format.Int64:
		switch lt.kind {
		case logNone:
			return t(base.TypeInt64)
		case logInt:
			if lt.bits == 64 {
				if lt.signed {
					return t(base.TypeInt64)
				}
				return t(base.TypeUint64)
			}
		case logTimestamp:
			if lt.unit != "MICROS" {
				return unsupported("timestamps in %s: lakesql reads DATETIME and TIMESTAMP only as INT64 microseconds; write them as TIMESTAMP(MICROS)",
					unitName(lt.unit))
			}
			if lt.utc {
				return base.Type{Kind: base.TypeTimestamp, Precision: 6}, nil
			}
			return base.Type{Kind: base.TypeDatetime, Precision: 6}, nil
		case logTime:
			if lt.unit != "MICROS" {
				return unsupported("TIME in %s: lakesql reads TIME only as INT64 microseconds (TIME(MICROS))", unitName(lt.unit))
			}
			return base.Type{Kind: base.TypeTime, Precision: 6}, nil
		case logDecimal:
			if lt.precision >= 10 && lt.precision <= 18 && lt.scale >= 0 && lt.scale <= lt.precision {
				return base.Type{Kind: base.TypeDecimal, Precision: lt.precision, Scale: lt.scale}, nil
			}
			if lt.precision <= 9 {
				return unsupported("lakesql reads DECIMAL(%d,%d) only as INT32", lt.precision, lt.scale)
			}
		}
	case format.Float:
		if lt.kind == logNone {
			return t(base.TypeFloat32)
		}
	case format.Double:
		if lt.kind == logNone {
			return t(base.TypeFloat64)
		}
	case format.ByteArray:
		switch lt.kind {
		case logNone, logBSON:
			return t(base.TypeBlob)
		case logString, logEnum:
			return t(base.TypeText)
		case logJSON:
			return t(base.TypeJSON)
		case logDecimal:
			return unsupported("lakesql reads DECIMAL(%d,%d) only as %s", lt.precision, lt.scale, decimalStorage(lt.precision))
		}
	case format.FixedLenByteArray:
		if lt.kind == logDecimal && lt.scale >= 0 && lt.scale <= 30 && lt.scale <= lt.precision {
			n := int(el.TypeLength.V)
			if (lt.precision >= 19 && lt.precision <= 38 && n == 16) || (lt.precision >= 39 && lt.precision <= base.MaxDecimalPrecision && n == 32) {
				return base.Type{Kind: base.TypeDecimal, Precision: lt.precision, Scale: lt.scale}, nil
			}
			if lt.precision <= base.MaxDecimalPrecision {
				return unsupported("lakesql reads DECIMAL(%d,%d) only as %s", lt.precision, lt.scale, decimalStorage(lt.precision))
			}
		}
	case format.Int96:
		return unsupported("INT96 timestamps are not read: write timestamps as INT64 TIMESTAMP(MICROS)")
	}
	return unsupported("not a type lakesql reads (see the type table of the parquetio package)")
}

func unitName(u string) string {
	switch u {
	case "MILLIS":
		return "milliseconds"
	case "NANOS":
		return "nanoseconds"
	}
	return strings.ToLower(u)
}

// decimalStorage spells the Parquet storage resolveColumn gives a DECIMAL
// of precision p.
func decimalStorage(p int) string {
	switch {
	case p <= 9:
		return "INT32"
	case p <= 18:
		return "INT64"
	case p <= 38:
		return "FIXED_LEN_BYTE_ARRAY(16)"
	}
	return "FIXED_LEN_BYTE_ARRAY(32)"
}

// typeFits checks that the file column el decodes to tc's type exactly as
// lakesql's own files of tc do: the same SQL type (any fractional-seconds
// precision of DATETIME, TIMESTAMP and TIME, any length of CHAR, VARCHAR,
// BINARY and VARBINARY), a narrower integer stored as INT32 for an INT32
// integer column that holds all of its values, or byte strings whose
// annotation the column's type accepts.
func typeFits(el *format.SchemaElement, tc *column) error {
	ft, err := sqlTypeOf(el)
	if err != nil {
		return err
	}
	t := tc.typ
	ok := false
	switch lt := logicalOf(el); {
	case el.Type.V == format.ByteArray && (t.IsString() || t.IsBinary()):
		switch {
		case t.Kind == base.TypeJSON:
			ok = lt.kind == logJSON || lt.kind == logString
		case t.IsString():
			ok = lt.kind == logNone || lt.kind == logString || lt.kind == logEnum || lt.kind == logJSON
		default:
			ok = lt.kind == logNone || lt.kind == logBSON || lt.kind == logString
		}
	case ft.IsInteger() && t.IsInteger() && tc.phys == physInt32 && el.Type.V == format.Int32:
		flo, fhi := kindRange(ft.Kind)
		tlo, thi := kindRange(t.Kind)
		ok = flo >= tlo && fhi <= thi
	case ft.Kind == t.Kind && t.Kind == base.TypeDecimal:
		ok = ft.Precision == t.Precision && ft.Scale == t.Scale
	case ft.Kind == t.Kind:
		ok = true
	}
	if !ok {
		return fmt.Errorf("lakesql reads it as %s", ft)
	}
	want := map[phys]format.Type{physBool: format.Boolean, physInt32: format.Int32, physInt64: format.Int64,
		physFloat: format.Float, physDouble: format.Double, physBytes: format.ByteArray, physFLBA: format.FixedLenByteArray}[tc.phys]
	if el.Type.V != want || (tc.phys == physFLBA && int(el.TypeLength.V) != tc.size) {
		return fmt.Errorf("lakesql stores %s as %s", t, want)
	}
	return nil
}

// kindRange is the range of an INT32-stored integer kind.
func kindRange(k base.TypeKind) (int64, int64) {
	if k >= base.TypeUint8 && k <= base.TypeUint64 {
		return 0, int64(min(uintMax(k), math.MaxInt64))
	}
	return intRange(k)
}

// initForeign sets f up from ReaderOptions.Foreign: its schema from the
// mapping, its leaves by name, its key and key range.
func (f *File) initForeign(ctx context.Context) error {
	fo := f.opts.Foreign
	table := f.opts.Schema
	if table == nil {
		return fmt.Errorf("parquetio: opening foreign file %s: ReaderOptions.Schema is required", f.name)
	}
	tcols, err := tableColumns(table)
	if err != nil {
		return err
	}
	byID := func(id int) *column {
		for i := range tcols {
			if tcols[i].col.ID == id {
				return &tcols[i]
			}
		}
		return nil
	}
	corrupt := func(format string, args ...any) error { return base.Corruptf(f.name, format, args...) }
	md := f.pf.Metadata()
	top, nleaf, err := topLevelColumns(md)
	if err != nil {
		return corrupt("%v", err)
	}
	byName := make(map[string]*fileColumnInfo, len(top))
	for i := range top {
		byName[top[i].name] = &top[i]
	}
	f.schema = &base.Schema{NextColumnID: table.NextColumnID}
	for _, m := range fo.Columns {
		tc := byID(m.ID)
		if tc == nil {
			return fmt.Errorf("parquetio: opening foreign file %s: column %q maps to column id %d, not in the table schema", f.name, m.Name, m.ID)
		}
		if _, dup := f.leaf[m.ID]; dup || m.ID == fo.RowID {
			return fmt.Errorf("parquetio: opening foreign file %s: column id %d is mapped twice", f.name, m.ID)
		}
		fl := byName[m.Name]
		switch {
		case fl == nil:
			return corrupt("no column %q (mapped to table column %q)", m.Name, tc.col.Name)
		case fl.why != "":
			return corrupt("column %q is %s", m.Name, fl.why)
		}
		if err := typeFits(fl.el, tc); err != nil {
			return corrupt("column %q: the file's %s does not match the table's %s: %v", m.Name, describeType(fl.el), tc.typ, err)
		}
		c := tc.col
		c.Nullable, c.Default = fl.optional, nil
		f.schema.Columns = append(f.schema.Columns, c)
		f.leaf[c.ID] = fl.leaf
	}
	if fo.RowID != 0 {
		tc := byID(fo.RowID)
		if tc == nil || tc.typ.Kind != base.TypeInt64 {
			return fmt.Errorf("parquetio: opening foreign file %s: the row-id column %d is not a BIGINT column of the table", f.name, fo.RowID)
		}
		c := tc.col
		c.Nullable, c.Default = false, nil
		f.schema.Columns = append(f.schema.Columns, c)
		f.rowID, f.rowIDStart = fo.RowID, fo.RowIDStart
	}
	if f.cols, err = tableColumns(f.schema); err != nil {
		return err
	}
	f.nleaf = nleaf
	var rows int64
	for i, rg := range md.RowGroups {
		if len(rg.Columns) != nleaf {
			return corrupt("row group %d has %d columns, the schema %d leaves", i, len(rg.Columns), nleaf)
		}
		for _, leaf := range f.leaf {
			m := &rg.Columns[leaf].MetaData
			if m.DataPageOffset < 4 || m.TotalCompressedSize < 0 || chunkStart(m)+m.TotalCompressedSize > f.obj.Size() {
				return corrupt("row group %d column %d lies outside the file", i, leaf)
			}
		}
		rows += rg.NumRows
	}
	if rows != md.NumRows {
		return corrupt("row groups hold %d rows, the footer says %d", rows, md.NumRows)
	}
	if fo.Stats.Rows != 0 && fo.Stats.Rows != rows {
		return corrupt("the file has %d rows, %d when it was added", rows, fo.Stats.Rows)
	}
	for _, id := range fo.Key {
		if f.fileColumn(id) == nil {
			return fmt.Errorf("parquetio: opening foreign file %s: key column id %d is neither mapped nor the row id", f.name, id)
		}
	}
	f.keyIDs = slices.Clone(fo.Key)
	f.stats = fo.Stats
	f.stats.Bytes = f.obj.Size()
	f.setup()
	return f.foreignKeyRange(ctx)
}

// foreignKeyRange sets the encoded key range of a foreign file: from the
// row ids, else from Stats.KeyMin/KeyMax, else from the first and the
// last row.
func (f *File) foreignKeyRange(ctx context.Context) error {
	n := f.NumRows()
	if len(f.keyIDs) == 0 || n == 0 {
		return nil
	}
	cols := make([]column, len(f.keyIDs))
	for i, id := range f.keyIDs {
		cols[i] = *f.fileColumn(id)
	}
	if len(cols) == 1 && f.isRowID(f.keyIDs[0]) {
		f.keyLo = Key(appendKey(nil, &cols[0], scalar{i: f.rowIDStart}))
		f.keyHi = Key(appendKey(nil, &cols[0], scalar{i: f.rowIDStart + n - 1}))
		return nil
	}
	lo, ok1 := keyFromJSON(cols, f.stats.KeyMin)
	hi, ok2 := keyFromJSON(cols, f.stats.KeyMax)
	if ok1 && ok2 {
		f.keyLo, f.keyHi = lo, hi
		return nil
	}
	rec, err := f.ReadRows(ctx, []int64{0, n - 1}, f.keyIDs, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("parquetio: reading the key range of %s: %w", f.name, err)
	}
	defer rec.Release()
	row := func(i int) (Key, error) {
		var b []byte
		for j := range cols {
			v := scalarAt(&cols[j], rec.Column(j), i)
			if v.null {
				return "", base.Corruptf(f.name, "key column %q is NULL", cols[j].col.Name)
			}
			b = appendKey(b, &cols[j], v)
		}
		return Key(b), nil
	}
	if f.keyLo, err = row(0); err != nil {
		return err
	}
	f.keyHi, err = row(int(rec.NumRows()) - 1)
	return err
}

// keyFromJSON encodes a key given as JSON-friendly values (FileStats.
// KeyMin); ok is false when they do not give it exactly.
func keyFromJSON(cols []column, vals []any) (Key, bool) {
	if len(vals) != len(cols) {
		return "", false
	}
	var b []byte
	for i := range cols {
		v, ok := scalarFromJSON(&cols[i], vals[i])
		if !ok || v.null {
			return "", false
		}
		b = appendKey(b, &cols[i], v)
	}
	return Key(b), true
}

// scalarFromJSON is the inverse of jsonValue, also taking the values
// encoding/json decodes JSON into (float64, json.Number): ok is false
// when v is not a value of c or does not give it exactly (an integer
// beyond 2^53 as a float64).
func scalarFromJSON(c *column, v any) (scalar, bool) {
	if v == nil {
		return scalar{null: true}, true
	}
	exactInt := func() (int64, bool) {
		switch x := v.(type) {
		case json.Number:
			i, err := x.Int64()
			return i, err == nil
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return 0, false
			}
			return int64(x), true
		}
		return base.AsInt64(v)
	}
	s, isString := v.(string)
	switch t := c.typ; {
	case t.IsUnsigned():
		switch x := v.(type) {
		case json.Number:
			u, err := strconv.ParseUint(x.String(), 10, 64)
			return scalar{u: u}, err == nil
		case float64:
			if x < 0 || x != math.Trunc(x) || x > 1<<53 {
				return scalar{}, false
			}
			return scalar{u: uint64(x)}, true
		}
		u, ok := base.AsUint64(v)
		return scalar{u: u}, ok
	case t.IsInteger():
		i, ok := exactInt()
		return scalar{i: i}, ok
	case t.Kind == base.TypeFloat32 || t.Kind == base.TypeFloat64:
		switch x := v.(type) {
		case float64:
			return scalar{f: x}, true
		case float32:
			return scalar{f: float64(x)}, true
		case json.Number:
			f, err := x.Float64()
			return scalar{f: f}, err == nil
		case string:
			switch x {
			case "NaN":
				return scalar{f: math.NaN()}, true
			case "+Inf":
				return scalar{f: math.Inf(1)}, true
			case "-Inf":
				return scalar{f: math.Inf(-1)}, true
			}
			return scalar{}, false
		}
		i, ok := exactInt()
		return scalar{f: float64(i)}, ok
	case t.Kind == base.TypeBool:
		b, ok := v.(bool)
		if b {
			return scalar{i: 1}, ok
		}
		return scalar{}, ok
	case !isString:
		return scalar{}, false
	case t.Kind == base.TypeDecimal:
		d, err := ParseDecimal(s, t.Precision, t.Scale)
		return scalar{d: d}, err == nil
	case t.IsBinary():
		b, err := base64.StdEncoding.DecodeString(s)
		return scalar{s: string(b)}, err == nil
	case t.IsString():
		// encoding/json replaces invalid UTF-8 with U+FFFD: such a string
		// may not be the key that was recorded.
		return scalar{s: s}, !strings.ContainsRune(s, utf8.RuneError)
	case t.Kind == base.TypeDate:
		d, err := time.Parse(dateLayout, s)
		return scalar{i: int64(arrow.Date32FromTime(d))}, err == nil
	case t.Kind == base.TypeDatetime || t.Kind == base.TypeTimestamp:
		d, err := time.Parse(datetimeLayout, s)
		return scalar{i: d.UnixMicro()}, err == nil
	case t.Kind == base.TypeTime:
		us, err := parseTime(s)
		return scalar{i: us}, err == nil
	}
	return scalar{}, false
}

// isRowID reports whether id is the synthesized row-id column.
func (f *File) isRowID(id int) bool { return f.rowID != 0 && id == f.rowID }

// rowIDArray returns the row ids of the rows of ranges of the row group
// whose first row is at file position first.
func (f *File) rowIDArray(alloc memory.Allocator, first int64, ranges []rng) arrow.Array {
	b := array.NewInt64Builder(alloc)
	defer b.Release()
	var n int64
	for _, r := range ranges {
		n += r.hi - r.lo
	}
	b.Reserve(int(n))
	for _, r := range ranges {
		for x := r.lo; x < r.hi; x++ {
			b.UnsafeAppend(f.rowIDStart + first + x)
		}
	}
	return b.NewArray()
}

// rowIDBounds are the row ids of row group g.
func (f *File) rowIDBounds(g int) bounds {
	rows := f.pf.Metadata().RowGroups[g].NumRows
	lo := f.rowIDStart + f.rgFirst[g]
	return bounds{rows: rows, hasMinMax: rows > 0, min: scalar{i: lo}, max: scalar{i: lo + rows - 1}}
}

// findRowID finds key in a file keyed by its synthesized row id (isRowID
// false otherwise): the row ids are consecutive, so the position is the
// key minus RowIDStart.
func (f *File) findRowID(key Key) (pos int64, ok, isRowID bool) {
	if len(f.keyIDs) != 1 || !f.isRowID(f.keyIDs[0]) {
		return 0, false, false
	}
	if len(key) != 8 {
		return 0, false, true
	}
	var u uint64
	for i := range 8 {
		u = u<<8 | uint64(key[i])
	}
	pos = int64(u^(1<<63)) - f.rowIDStart
	if pos < 0 || pos >= f.NumRows() {
		return 0, false, true
	}
	return pos, true, true
}

// hasStats reports whether a column chunk's statistics say anything:
// writers may leave them out, and then the zero null count means
// "unknown", not "no NULLs".
func hasStats(st *format.Statistics, rows int64) bool {
	return rows == 0 || st.NullCount != 0 || st.MinValue != nil || st.MaxValue != nil || st.Min != nil || st.Max != nil
}

// footerStats folds the column chunk statistics of the mapped columns of
// a foreign file, leaving out the columns whose statistics are missing or
// unusable in some row group.
func (f *File) footerStats() map[int]ColumnStats {
	md := f.pf.Metadata()
	out := make(map[int]ColumnStats, len(f.leaf))
	for i := range f.cols {
		c := &f.cols[i]
		leaf, ok := f.leaf[c.col.ID]
		if !ok {
			continue
		}
		cls := c.class()
		var acc colAcc
		known := true
		for g := range md.RowGroups {
			rg := &md.RowGroups[g]
			st := &rg.Columns[leaf].MetaData.Statistics
			if !hasStats(st, rg.NumRows) {
				known = false
				break
			}
			acc.nulls += st.NullCount
			if st.NullCount >= rg.NumRows {
				continue // no values
			}
			mn, ok1 := decodeStat(c, st.MinValue, false)
			mx, ok2 := decodeStat(c, st.MaxValue, true)
			if st.MinValue == nil || st.MaxValue == nil || !ok1 || !ok2 {
				known = false
				break
			}
			if !acc.has || cmpScalar(cls, mn, acc.min) < 0 {
				acc.min = mn
			}
			if !acc.has || cmpScalar(cls, mx, acc.max) > 0 {
				acc.max = mx
			}
			acc.has = true
		}
		if !known {
			continue
		}
		cs := ColumnStats{NullCount: acc.nulls}
		if acc.has {
			cs.Min, cs.Max = jsonValue(c, acc.min), jsonValue(c, acc.max)
		}
		out[c.col.ID] = cs
	}
	return out
}
