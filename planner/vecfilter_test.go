package planner

import (
	"github.com/apache/arrow-go/v18/arrow"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/shopspring/decimal"

	"github.com/lakesql/lakesql/exec"
)

// TestCondOf checks which filter expressions become exec conditions: only
// those exec evaluates as go-mysql-server does; the rest keep the row
// path.
func TestCondOf(t *testing.T) {
	bin := types.MustCreateString(sqltypes.VarChar, 10, sql.Collation_utf8mb4_0900_bin)
	ci := types.MustCreateString(sqltypes.VarChar, 10, sql.Collation_utf8mb4_0900_ai_ci)
	sch := sql.Schema{
		{Name: "id", Source: "t", Type: types.Int64},
		{Name: "a", Source: "t", Type: types.Int32},
		{Name: "u", Source: "t", Type: types.Uint64},
		{Name: "f", Source: "t", Type: types.Float32},
		{Name: "d", Source: "t", Type: types.Float64},
		{Name: "c", Source: "t", Type: types.MustCreateDecimalType(10, 2)},
		{Name: "s", Source: "t", Type: bin},
		{Name: "ci", Source: "t", Type: ci},
		{Name: "dt", Source: "t", Type: types.Date},
		{Name: "ts", Source: "t", Type: types.DatetimeMaxPrecision},
	}
	col := func(name string) sql.Expression {
		for i, c := range sch {
			if c.Name == name {
				return expression.NewGetFieldWithTable(i, 1, c.Type, "db", "t", name, true)
			}
		}
		t.Fatalf("no column %s", name)
		return nil
	}
	lit := func(v any, typ sql.Type) sql.Expression { return expression.NewLiteral(v, typ) }
	i64 := func(n int64) sql.Expression { return lit(n, types.Int64) }
	dec := func(s string) sql.Expression {
		return lit(decimal.RequireFromString(s), types.MustCreateDecimalType(10, 4))
	}
	str := func(s string) sql.Expression { return lit(s, types.LongText) }
	like := func(c sql.Expression, p string) sql.Expression { return expression.NewLike(c, str(p), nil) }

	for _, tc := range []struct {
		name string
		e    sql.Expression
		ok   bool
	}{
		{"int = int", expression.NewEquals(col("a"), i64(5)), true},
		{"int = fraction", expression.NewEquals(col("a"), dec("5.5")), false},
		{"int = string", expression.NewEquals(col("a"), str("5")), false},
		{"unsigned = negative", expression.NewEquals(col("u"), i64(-1)), false},
		{"unsigned = int", expression.NewEquals(col("u"), i64(7)), true},
		{"FLOAT = fraction", expression.NewEquals(col("f"), dec("0.5")), false},
		{"FLOAT = int", expression.NewEquals(col("f"), i64(1)), true},
		{"DOUBLE = fraction", expression.NewEquals(col("d"), dec("0.5")), true},
		{"DECIMAL = finer", expression.NewEquals(col("c"), dec("1.234")), false},
		{"DECIMAL = same scale", expression.NewEquals(col("c"), dec("1.5")), true},
		{"DECIMAL = int", expression.NewEquals(col("c"), i64(3)), true},
		{"date = date column", expression.NewEquals(col("dt"), col("dt")), true},
		{"date = datetime column", expression.NewEquals(col("dt"), col("ts")), false},
		{"date = string", expression.NewEquals(col("dt"), str("2024-01-01")), false},
		{"int = unsigned column", expression.NewEquals(col("a"), col("u")), false},
		{"int < bigint column", expression.NewLessThan(col("a"), col("id")), true},
		{"bin = ci column", expression.NewEquals(col("s"), col("ci")), false},
		{"LIKE bin", like(col("s"), "a%"), true},
		{"LIKE ci", like(col("ci"), "a%"), false},
		{"LIKE ending with escape", like(col("s"), `a\`), false},
		{"LIKE of int", like(col("a"), "1%"), false},
		{"IN ints and NULL", expression.NewInTuple(col("a"), expression.NewTuple(i64(1), lit(nil, types.Null))), true},
		{"IN of FLOAT", expression.NewInTuple(col("d"), expression.NewTuple(i64(1), i64(2))), false},
		{"arithmetic", expression.NewEquals(expression.NewPlus(col("a"), i64(1)), i64(2)), false},
		{"NOT, OR, IS NULL", expression.NewNot(expression.NewOr(expression.NewIsNull(col("s")), like(col("s"), "%x"))), true},
		{"AND with one untranslatable side", expression.NewAnd(like(col("s"), "%x"), like(col("ci"), "%x")), false},
		{"wrong name at the index", expression.NewEquals(expression.NewGetFieldWithTable(1, 1, types.Int32, "db", "t", "b", true), i64(1)), false},
		{"outer table's column", expression.NewEquals(expression.NewGetFieldWithTable(1, 2, types.Int32, "db", "x", "a", true), i64(1)), false},
		{"index past the table", expression.NewEquals(expression.NewGetFieldWithTable(12, 1, types.Int32, "db", "t", "a", true), i64(1)), false},
	} {
		c, ok := condOf(tc.e, sch)
		if ok != tc.ok {
			t.Errorf("%s: %s: translated %v, want %v", tc.name, tc.e, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		// What translates, exec accepts.
		if _, err := exec.NewFilter(arrowSchemaFor(t, sch), c); err != nil {
			t.Errorf("%s: %s: exec refuses %+v: %v", tc.name, tc.e, c, err)
		}
	}
}

// arrowSchemaFor maps the test schema's types to the Arrow types lakesql's
// scans give them.
func arrowSchemaFor(t *testing.T, sch sql.Schema) *arrow.Schema {
	fields := make([]arrow.Field, len(sch))
	for i, c := range sch {
		var at arrow.DataType
		switch {
		case c.Type == types.Int64:
			at = arrow.PrimitiveTypes.Int64
		case c.Type == types.Int32:
			at = arrow.PrimitiveTypes.Int32
		case c.Type == types.Uint64:
			at = arrow.PrimitiveTypes.Uint64
		case c.Type == types.Float32:
			at = arrow.PrimitiveTypes.Float32
		case c.Type == types.Float64:
			at = arrow.PrimitiveTypes.Float64
		case types.IsDecimal(c.Type):
			dt := c.Type.(sql.DecimalType)
			at = &arrow.Decimal128Type{Precision: int32(dt.Precision()), Scale: int32(dt.Scale())}
		case types.IsText(c.Type):
			at = arrow.BinaryTypes.String
		case c.Type == types.Date:
			at = arrow.FixedWidthTypes.Date32
		case types.IsDatetimeType(c.Type):
			at = &arrow.TimestampType{Unit: arrow.Microsecond}
		default:
			t.Fatalf("no Arrow type for %s", c.Type)
		}
		fields[i] = arrow.Field{Name: c.Name, Type: at, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}
