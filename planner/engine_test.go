package planner

import (
	"context"
	"fmt"
	"strings"
	"testing"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"
)

// testEngine is a GMS engine over GMS's memory tables, with or without
// lakesql's rules.
type testEngine struct {
	tb  testing.TB
	eng *sqle.Engine
	ctx *sql.Context
	db  *memory.Database
}

func newTestEngine(tb testing.TB, withRules bool) *testEngine {
	tb.Helper()
	db := memory.NewDatabase("db")
	pro := memory.NewDBProvider(db)
	b := analyzer.NewBuilder(pro)
	if withRules {
		b = Register(b)
	}
	eng := sqle.New(b.Build(), nil)
	tb.Cleanup(func() { _ = eng.Close() })
	ctx := sql.NewContext(context.Background(), sql.WithSession(memory.NewSession(sql.NewBaseSession(), pro)))
	ctx.SetCurrentDatabase("db")
	return &testEngine{tb: tb, eng: eng, ctx: ctx, db: db}
}

// run runs q and returns its schema and rows.
func (te *testEngine) run(q string) (sql.Schema, []sql.Row) {
	te.tb.Helper()
	sch, iter, _, err := te.eng.Query(te.ctx, q)
	if err != nil {
		te.tb.Fatalf("%s: %v", q, err)
	}
	rows, err := sql.RowIterToRows(te.ctx, iter)
	if err != nil {
		te.tb.Fatalf("%s: %v", q, err)
	}
	return sch, rows
}

// exec runs statements.
func (te *testEngine) exec(stmts ...string) {
	te.tb.Helper()
	for _, s := range stmts {
		te.run(s)
	}
}

// analyze returns the analyzed plan of q.
func (te *testEngine) analyze(q string) sql.Node {
	te.tb.Helper()
	n, err := te.eng.AnalyzeQuery(te.ctx, q)
	if err != nil {
		te.tb.Fatalf("%s: %v", q, err)
	}
	return n
}

// wire returns v as a MySQL client receives it in a column of type t.
func (te *testEngine) wire(t sql.Type, v interface{}) string {
	te.tb.Helper()
	if v == nil {
		return "NULL"
	}
	sv, err := t.SQL(te.ctx, nil, v)
	if err != nil {
		te.tb.Fatalf("%s of %T %v: %v", t, v, v, err)
	}
	return sv.ToString()
}

// testData creates the tables of the engine tests:
//
//	ints   signed and unsigned BIGINT in groups: beyond 2^53, int64 overflow
//	       both ways, near 2^64, all NULL
//	decs   DECIMAL(10,2) and DOUBLE
//	avgr   AVG rounding: thirds and exact halves at the last digit
//	none   no rows
//	widths every integer width and two extreme DECIMALs, one row of ones
func testData(te *testEngine) {
	te.exec(
		`CREATE TABLE ints (id INT PRIMARY KEY, g VARCHAR(8), v BIGINT, u BIGINT UNSIGNED)`,
		`INSERT INTO ints VALUES
			(1, 'big', 9007199254740993, 9007199254740993),
			(2, 'big', 1, 1),
			(3, 'max', 9223372036854775807, 18446744073709551615),
			(4, 'max', 9223372036854775807, 18446744073709551615),
			(5, 'min', -9223372036854775808, 0),
			(6, 'min', -9223372036854775808, 0),
			(7, 'min', -1, 0),
			(8, 'null', NULL, NULL),
			(9, 'mix', 9223372036854775807, 18446744073709551615),
			(10, 'mix', -9223372036854775808, 1),
			(11, 'mix', 5, 18446744073709551615)`,
		`CREATE TABLE decs (id INT PRIMARY KEY, g VARCHAR(8), d DECIMAL(10,2), f DOUBLE)`,
		`INSERT INTO decs VALUES
			(1, 'a', 0.10, 0.1), (2, 'a', 0.20, 0.2),
			(3, 'b', 12345678.91, 1), (4, 'b', 12345678.91, 1), (5, 'b', -0.01, 1),
			(6, 'c', 99999999.99, 1), (7, 'c', 99999999.99, 1), (8, 'c', 99999999.99, 1)`,
		`CREATE TABLE avgr (id INT PRIMARY KEY, g VARCHAR(8), i INT, d DECIMAL(10,2))`,
		`INSERT INTO avgr VALUES
			(1, 'third', 1, 0.01), (2, 'third', 2, 0.01), (3, 'third', 2, 0.00),
			(4, 'negthird', -1, -0.01), (5, 'negthird', -2, -0.01), (6, 'negthird', -2, 0.00),
			(7, 'exact', 1, 1.25), (8, 'exact', 2, 2.50),
			(9, 'half', 1, 0.01), (10, 'neghalf', -1, -0.01)`,
		`CREATE TABLE none (id INT PRIMARY KEY, v BIGINT, d DECIMAL(10,2))`,
		`CREATE TABLE widths (id INT PRIMARY KEY,
			ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,
			mi MEDIUMINT, mu MEDIUMINT UNSIGNED, ii INT, iu INT UNSIGNED,
			bi BIGINT, bu BIGINT UNSIGNED, d1 DECIMAL(65,30), d2 DECIMAL(60,0), b BOOL)`,
		`INSERT INTO widths VALUES (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, TRUE)`,
	)
	// 'half' and 'neghalf' average over 32 rows: one of ±1 (±0.01) and 31
	// zeros, so that the digit after the last kept one is exactly 5.
	var zeros []string
	for id := 100; id < 162; id++ {
		g := "half"
		if id%2 == 1 {
			g = "neghalf"
		}
		zeros = append(zeros, fmt.Sprintf("(%d, '%s', 0, 0.00)", id, g))
	}
	te.exec("INSERT INTO avgr VALUES " + strings.Join(zeros, ", "))
}

// aggCase is a query with its result as MySQL 8 returns it.
type aggCase struct {
	name  string
	query string
	// types are the result column types; "" skips a column.
	types []string
	rows  [][]string
	// gms marks a case whose result GMS gets right without the rules.
	gms bool
}

// aggCases run over testData. Each fails on GMS's own SUM and AVG (a DOUBLE
// type, a value rounded to 53 bits) unless marked gms;
// TestAggCasesNeedTheRules checks that.
var aggCases = []aggCase{
	{
		name:  "beyond 2^53",
		query: `SELECT SUM(v), SUM(u), AVG(v) FROM ints WHERE g = 'big'`,
		types: []string{"decimal(41,0)", "decimal(42,0)", "decimal(23,4)"},
		rows:  [][]string{{"9007199254740994", "9007199254740994", "4503599627370497.0000"}},
	},
	{
		name:  "int64 overflow",
		query: `SELECT SUM(v), AVG(v) FROM ints WHERE g = 'max'`,
		types: []string{"decimal(41,0)", "decimal(23,4)"},
		rows:  [][]string{{"18446744073709551614", "9223372036854775807.0000"}},
	},
	{
		name:  "int64 negative overflow",
		query: `SELECT SUM(v), AVG(v) FROM ints WHERE g = 'min'`,
		types: []string{"decimal(41,0)", "decimal(23,4)"},
		rows:  [][]string{{"-18446744073709551617", "-6148914691236517205.6667"}},
	},
	{
		name:  "unsigned near 2^64",
		query: `SELECT SUM(u), AVG(u) FROM ints WHERE g IN ('max', 'mix')`,
		types: []string{"decimal(42,0)", "decimal(24,4)"},
		rows:  [][]string{{"73786976294838206461", "14757395258967641292.2000"}},
	},
	{
		name:  "overflow cancelling out",
		query: `SELECT SUM(v), AVG(v) FROM ints WHERE g = 'mix'`,
		types: []string{"decimal(41,0)", "decimal(23,4)"},
		rows:  [][]string{{"4", "1.3333"}},
	},
	{
		name:  "whole table",
		query: `SELECT SUM(v), SUM(u), AVG(v), AVG(u), COUNT(v) FROM ints`,
		types: []string{"decimal(41,0)", "decimal(42,0)", "decimal(23,4)", "decimal(24,4)", "bigint"},
		rows: [][]string{{"9007199254740995", "73795983494092947455", "900719925474099.5000",
			"7379598349409294745.5000", "10"}},
	},
	{
		name:  "group by",
		query: `SELECT g, SUM(v), SUM(u), AVG(v), AVG(u) FROM ints GROUP BY g ORDER BY g`,
		types: []string{"varchar(8)", "decimal(41,0)", "decimal(42,0)", "decimal(23,4)", "decimal(24,4)"},
		rows: [][]string{
			{"big", "9007199254740994", "9007199254740994", "4503599627370497.0000", "4503599627370497.0000"},
			{"max", "18446744073709551614", "36893488147419103230", "9223372036854775807.0000", "18446744073709551615.0000"},
			{"min", "-18446744073709551617", "0", "-6148914691236517205.6667", "0.0000"},
			{"mix", "4", "36893488147419103231", "1.3333", "12297829382473034410.3333"},
			{"null", "NULL", "NULL", "NULL", "NULL"},
		},
	},
	{
		// A float SUM of 'big' is 2^53, not above the bound.
		name:  "having on the sum",
		query: `SELECT g FROM ints GROUP BY g HAVING SUM(v) > 9007199254740993 ORDER BY g`,
		types: []string{"varchar(8)"},
		rows:  [][]string{{"big"}, {"max"}},
	},
	{
		// A float AVG of 'max' rounds to 2^64, above the bound.
		name:  "having on an average not selected",
		query: `SELECT g FROM ints GROUP BY g HAVING AVG(u) < 18446744073709551615.5 ORDER BY g`,
		types: []string{"varchar(8)"},
		rows:  [][]string{{"big"}, {"max"}, {"min"}, {"mix"}},
	},
	{
		name:  "having and order by on an alias",
		query: `SELECT g, SUM(u) AS s FROM ints GROUP BY g HAVING s > 1 ORDER BY s DESC`,
		types: []string{"varchar(8)", "decimal(42,0)"},
		rows: [][]string{
			{"mix", "36893488147419103231"},
			{"max", "36893488147419103230"},
			{"big", "9007199254740994"},
		},
	},
	{
		name:  "distinct",
		query: `SELECT SUM(DISTINCT v), AVG(DISTINCT v), COUNT(DISTINCT v) FROM ints`,
		types: []string{"decimal(41,0)", "decimal(23,4)", "bigint"},
		rows:  [][]string{{"9007199254740997", "1501199875790166.1667", "6"}},
	},
	{
		// Each group has its own set of seen values.
		name:  "distinct per group",
		query: `SELECT g, SUM(DISTINCT u) FROM ints GROUP BY g ORDER BY g`,
		types: []string{"varchar(8)", "decimal(42,0)"},
		rows: [][]string{
			{"big", "9007199254740994"}, {"max", "18446744073709551615"}, {"min", "0"},
			{"mix", "18446744073709551616"}, {"null", "NULL"},
		},
	},
	{
		name:  "decimal group by",
		query: `SELECT g, SUM(d), AVG(d) FROM decs GROUP BY g ORDER BY g`,
		types: []string{"varchar(8)", "decimal(32,2)", "decimal(14,6)"},
		rows: [][]string{
			{"a", "0.30", "0.150000"},
			{"b", "24691357.81", "8230452.603333"},
			{"c", "299999999.97", "99999999.990000"},
		},
	},
	{
		name:  "decimal whole table",
		query: `SELECT SUM(d), AVG(d) FROM decs`,
		types: []string{"decimal(32,2)", "decimal(14,6)"},
		rows:  [][]string{{"324691358.08", "40586419.760000"}},
	},
	{
		// Round half away from zero, at scale 4 for INT and 6 for
		// DECIMAL(10,2): not truncated, not to even.
		name:  "avg rounding",
		query: `SELECT g, AVG(i), AVG(d) FROM avgr GROUP BY g ORDER BY g`,
		types: []string{"varchar(8)", "decimal(14,4)", "decimal(14,6)"},
		rows: [][]string{
			{"exact", "1.5000", "1.875000"},
			{"half", "0.0313", "0.000313"},
			{"neghalf", "-0.0313", "-0.000313"},
			{"negthird", "-1.6667", "-0.006667"},
			{"third", "1.6667", "0.006667"},
		},
	},
	{
		name:  "no rows",
		query: `SELECT SUM(v), AVG(v), SUM(d), AVG(d), COUNT(*) FROM none`,
		types: []string{"decimal(41,0)", "decimal(23,4)", "decimal(32,2)", "decimal(14,6)", "bigint"},
		rows:  [][]string{{"NULL", "NULL", "NULL", "NULL", "0"}},
	},
	{
		name:  "no rows grouped",
		query: `SELECT v, SUM(v) FROM none GROUP BY v`,
		types: []string{"bigint", "decimal(41,0)"},
		rows:  nil,
	},
	{
		name:  "all NULL",
		query: `SELECT SUM(v), AVG(u) FROM ints WHERE g = 'null'`,
		types: []string{"decimal(41,0)", "decimal(24,4)"},
		rows:  [][]string{{"NULL", "NULL"}},
	},
	{
		name: "result types of every width",
		query: `SELECT SUM(ti), SUM(tu), SUM(si), SUM(su), SUM(mi), SUM(mu), SUM(ii), SUM(iu),
			SUM(bi), SUM(bu), SUM(d1), SUM(d2) FROM widths`,
		types: []string{"decimal(25,0)", "decimal(25,0)", "decimal(27,0)", "decimal(27,0)",
			"decimal(30,0)", "decimal(30,0)", "decimal(32,0)", "decimal(32,0)",
			"decimal(41,0)", "decimal(42,0)", "decimal(65,30)", "decimal(65,0)"},
		rows: [][]string{{"1", "1", "1", "1", "1", "1", "1", "1", "1", "1",
			"1.000000000000000000000000000000", "1"}},
	},
	{
		name: "avg types of every width",
		query: `SELECT AVG(ti), AVG(tu), AVG(si), AVG(su), AVG(mi), AVG(mu), AVG(ii), AVG(iu),
			AVG(bi), AVG(bu), AVG(d1), AVG(d2) FROM widths`,
		types: []string{"decimal(7,4)", "decimal(7,4)", "decimal(9,4)", "decimal(9,4)",
			"decimal(12,4)", "decimal(12,4)", "decimal(14,4)", "decimal(14,4)",
			"decimal(23,4)", "decimal(24,4)", "decimal(65,30)", "decimal(64,4)"},
		rows: [][]string{{"1.0000", "1.0000", "1.0000", "1.0000", "1.0000", "1.0000", "1.0000", "1.0000",
			"1.0000", "1.0000", "1.000000000000000000000000000000", "1.0000"}},
	},
	{
		// BOOL is TINYINT(1), whose display length is TINYINT's. A
		// comparison is a BOOL to GMS; MySQL gives it a length of 1.
		name:  "booleans",
		query: `SELECT SUM(b), SUM(v > 0) FROM widths, ints`,
		types: []string{"decimal(25,0)", ""},
		rows:  [][]string{{"11", "6"}},
	},
	{
		// MySQL types the literal DECIMAL(38,0) from its length; GMS
		// only knows it is a BIGINT.
		name:  "literal",
		query: `SELECT SUM(9007199254740993)`,
		types: []string{""},
		rows:  [][]string{{"9007199254740993"}},
	},
	{
		name:  "arithmetic on the sum",
		query: `SELECT SUM(v) + 1, SUM(v) - SUM(u) FROM ints WHERE g = 'big'`,
		types: []string{"", ""},
		rows:  [][]string{{"9007199254740995", "0"}},
	},
	{
		name:  "derived table",
		query: `SELECT g, s FROM (SELECT g, SUM(u) AS s FROM ints GROUP BY g) AS x WHERE s > 18446744073709551615 ORDER BY s`,
		types: []string{"varchar(8)", "decimal(42,0)"},
		rows:  [][]string{{"max", "36893488147419103230"}, {"mix", "36893488147419103231"}},
	},
	{
		name:  "sum of a derived sum",
		query: `SELECT SUM(s), AVG(s) FROM (SELECT g, SUM(u) AS s FROM ints GROUP BY g) AS x`,
		types: []string{"decimal(64,0)", "decimal(46,4)"},
		rows:  [][]string{{"73795983494092947455", "18448995873523236863.7500"}},
	},
	{
		// MAX of an exact column is typed as its argument.
		name:  "max of a derived sum",
		query: `WITH c AS (SELECT g, SUM(v) AS s FROM ints GROUP BY g) SELECT SUM(s), MAX(s), COUNT(s) FROM c`,
		types: []string{"decimal(63,0)", "decimal(41,0)", "bigint"},
		rows:  [][]string{{"9007199254740995", "18446744073709551614", "4"}},
	},
	{
		name:  "order by a sum not selected",
		query: `SELECT g FROM ints GROUP BY g ORDER BY SUM(u) DESC, g`,
		types: []string{"varchar(8)"},
		rows:  [][]string{{"mix"}, {"max"}, {"big"}, {"min"}, {"null"}},
	},
	{
		name:  "correlated subquery",
		query: `SELECT g, (SELECT SUM(u) FROM ints AS i2 WHERE i2.g = ints.g) FROM ints GROUP BY g ORDER BY g`,
		types: []string{"varchar(8)", "decimal(42,0)"},
		rows: [][]string{
			{"big", "9007199254740994"}, {"max", "36893488147419103230"}, {"min", "0"},
			{"mix", "36893488147419103231"}, {"null", "NULL"},
		},
	},
	{
		name:  "scalar subquery",
		query: `SELECT (SELECT SUM(v) FROM ints WHERE g = 'big') + 0`,
		types: []string{""},
		rows:  [][]string{{"9007199254740994"}},
	},
	{
		name:  "union of exact sums",
		query: `SELECT SUM(v) FROM ints UNION ALL SELECT SUM(d) FROM decs`,
		types: []string{"decimal(43,2)"},
		rows:  [][]string{{"9007199254740995.00"}, {"324691358.08"}},
	},
	{
		// DECIMAL against DOUBLE is DOUBLE in MySQL too.
		name:  "union with a double",
		query: `SELECT SUM(v) FROM ints WHERE g = 'mix' UNION ALL SELECT SUM(f) FROM decs`,
		types: []string{"double"},
		rows:  [][]string{{"4"}, {"6.3"}},
	},
	{
		name:  "double untouched",
		gms:   true,
		query: `SELECT SUM(f), AVG(f) FROM decs WHERE g = 'a'`,
		types: []string{"double", "double"},
		rows:  [][]string{{"0.30000000000000004", "0.15000000000000002"}},
	},
}

// check runs c and returns how its result differs from the expected one.
func (te *testEngine) check(c aggCase) []string {
	sch, iter, _, err := te.eng.Query(te.ctx, c.query)
	if err != nil {
		return []string{err.Error()}
	}
	rows, err := sql.RowIterToRows(te.ctx, iter)
	if err != nil {
		return []string{err.Error()}
	}
	if len(sch) != len(c.types) {
		return []string{fmt.Sprintf("%d columns, want %d", len(sch), len(c.types))}
	}
	var diffs []string
	for i, col := range sch {
		if c.types[i] != "" && col.Type.String() != c.types[i] {
			diffs = append(diffs, fmt.Sprintf("column %d (%s) is %s, want %s", i, col.Name, col.Type, c.types[i]))
		}
	}
	if len(rows) != len(c.rows) {
		return append(diffs, fmt.Sprintf("%d rows %v, want %d", len(rows), rows, len(c.rows)))
	}
	for r, row := range rows {
		for i, v := range row {
			if _, isDec := v.(decimal.Decimal); types.IsDecimal(sch[i].Type) && v != nil && !isDec {
				diffs = append(diffs, fmt.Sprintf("row %d column %d is a %T in a DECIMAL column", r, i, v))
			}
			if got := te.wire(sch[i].Type, v); got != c.rows[r][i] {
				diffs = append(diffs, fmt.Sprintf("row %d column %d = %s, want %s", r, i, got, c.rows[r][i]))
			}
		}
	}
	return diffs
}

// TestExactAggregates runs aggCases through an engine with the rules and
// checks the result types and the values as a client receives them.
func TestExactAggregates(t *testing.T) {
	te := newTestEngine(t, true)
	testData(te)
	for _, c := range aggCases {
		t.Run(c.name, func(t *testing.T) {
			for _, d := range te.check(c) {
				t.Error(d)
			}
		})
	}
}

// TestAggCasesNeedTheRules runs aggCases through GMS alone: the cases not
// marked gms must fail, or they would not test the rules.
func TestAggCasesNeedTheRules(t *testing.T) {
	te := newTestEngine(t, false)
	testData(te)
	for _, c := range aggCases {
		t.Run(c.name, func(t *testing.T) {
			diffs := te.check(c)
			if c.gms && len(diffs) > 0 {
				t.Errorf("GMS alone differs: %v", diffs)
			}
			if !c.gms && len(diffs) == 0 {
				t.Error("GMS alone passes")
			}
		})
	}
}
