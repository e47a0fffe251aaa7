package planner

import (
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// aggregates counts the exact and the GMS SUM and AVG in n, subqueries and
// opaque nodes included.
func aggregates(n sql.Node) (exact, gms int) {
	var inspectNode func(sql.Node)
	inspectExpr := func(e sql.Expression) bool {
		switch e := e.(type) {
		case *exactAgg:
			exact++
		case *aggregation.Sum, *aggregation.Avg:
			gms++
		case *plan.Subquery:
			inspectNode(e.Query)
		}
		return true
	}
	inspectNode = func(n sql.Node) {
		if ex, ok := n.(sql.Expressioner); ok {
			for _, e := range ex.Expressions() {
				sql.Inspect(e, inspectExpr)
			}
		}
		for _, c := range n.Children() {
			inspectNode(c)
		}
	}
	inspectNode(n)
	return exact, gms
}

// TestRuleReplaces checks which aggregates of analyzed plans are replaced.
func TestRuleReplaces(t *testing.T) {
	te := newTestEngine(t, true)
	testData(te)
	for _, tc := range []struct {
		query      string
		exact, gms int
	}{
		{`SELECT SUM(d), AVG(d), SUM(f), AVG(f) FROM decs`, 2, 2},
		{`SELECT g, SUM(DISTINCT v) FROM ints GROUP BY g HAVING AVG(u) > 0`, 2, 0},
		{`SELECT (SELECT SUM(v) FROM ints), s FROM (SELECT SUM(u) AS s FROM ints) AS x`, 2, 0},
		{`SELECT SUM(v) FROM ints UNION SELECT SUM(f) FROM decs`, 1, 1},
		{`SELECT COUNT(*), MIN(v), MAX(u) FROM ints`, 0, 0},
		// Window aggregates are left to GMS; see TestWindowAggregatesAreGMS.
		{`SELECT SUM(v) OVER (PARTITION BY g), AVG(u) OVER () FROM ints`, 0, 2},
	} {
		t.Run(tc.query, func(t *testing.T) {
			exact, gms := aggregates(te.analyze(tc.query))
			if exact != tc.exact || gms != tc.gms {
				t.Errorf("%d exact and %d GMS aggregates, want %d and %d", exact, gms, tc.exact, tc.gms)
			}
		})
	}
}

// TestWindowAggregatesAreGMS pins the decision to leave SUM and AVG used as
// window functions to GMS: their frames would need exact window functions
// (sql.WindowFunction), and GMS types them inconsistently (BIGINT columns
// holding float64 values) in a way the rule would have to untangle. They
// keep GMS's float64 results, rounded beyond 2^53.
func TestWindowAggregatesAreGMS(t *testing.T) {
	te := newTestEngine(t, true)
	testData(te)
	_, rows := te.run(`SELECT SUM(v) OVER () FROM ints WHERE g = 'big'`)
	if len(rows) != 2 {
		t.Fatalf("rows %v", rows)
	}
	for _, r := range rows {
		if f, ok := r[0].(float64); !ok || f != 9007199254740992 {
			t.Errorf("SUM OVER () = %T %v, want GMS's float64 9007199254740992", r[0], r[0])
		}
	}
}

// TestRuleIsIdempotent applies the rule again to analyzed plans: the
// analyzer runs it on subqueries and then on the query around them.
func TestRuleIsIdempotent(t *testing.T) {
	te := newTestEngine(t, true)
	testData(te)
	for _, q := range []string{
		`SELECT g, SUM(u) AS s, AVG(v) FROM ints GROUP BY g HAVING s > 1 ORDER BY s`,
		`SELECT SUM(s) FROM (SELECT g, SUM(u) AS s FROM ints GROUP BY g) AS x`,
		`SELECT SUM(v) FROM ints UNION ALL SELECT SUM(d) FROM decs`,
		`SELECT SUM(v) FROM ints UNION ALL SELECT SUM(f) FROM decs`,
	} {
		t.Run(q, func(t *testing.T) {
			n := te.analyze(q)
			before := sql.DebugString(n)
			n2, same, err := exactAggregates(te.ctx, te.eng.Analyzer, n, nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !same || sql.DebugString(n2) != before {
				t.Errorf("second application changed the plan:\n%s\nto\n%s", before, sql.DebugString(n2))
			}
		})
	}
}

// TestMapExprKeepsAliasIds checks the retyping of a reference under an
// alias: GMS's Alias.WithChildren drops the id the plan refers to it by.
func TestMapExprKeepsAliasIds(t *testing.T) {
	r := rewriter{cols: map[sql.ColumnId]exactCol{7: {typ: types.MustCreateDecimalType(41, 0), nullable: true}}}
	gf := expression.NewGetFieldWithTable(0, 1, types.Float64, "", "", "sum(t.v)", false).WithId(7)
	a := expression.NewAlias("s", gf).WithId(8)
	e, changed, err := mapExpr(a, r.retype)
	if err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	na, ok := e.(*expression.Alias)
	if !ok || na.Id() != 8 || na.Name() != "s" {
		t.Fatalf("got %s, want alias s with id 8", sql.DebugString(e))
	}
	if got := na.Type().String(); got != "decimal(41,0)" {
		t.Errorf("alias type %s, want decimal(41,0)", got)
	}
	if !na.Child.IsNullable() {
		t.Error("the reference to a SUM must be nullable")
	}
	// A reference that was not DOUBLE is not the planner's SUM: left alone.
	gi := expression.NewGetFieldWithTable(0, 1, types.Int64, "", "", "x", false).WithId(7)
	if _, changed, _ := mapExpr(gi, r.retype); changed {
		t.Error("retyped a BIGINT reference")
	}
}

// TestExactArgType covers the argument types that are exact and those that
// are left to GMS.
func TestExactArgType(t *testing.T) {
	for _, tc := range []struct {
		typ              sql.Type
		ok               bool
		precision, scale uint8
	}{
		{types.Int8, true, 3, 0},
		{types.Uint24, true, 8, 0},
		{types.Int64, true, 19, 0},
		{types.Uint64, true, 20, 0},
		{types.Boolean, true, 3, 0},
		{types.MustCreateDecimalType(10, 2), true, 10, 2},
		{types.MustCreateColumnDecimalType(65, 30), true, 65, 30},
		{types.Float32, false, 0, 0},
		{types.Float64, false, 0, 0},
		{types.Year, false, 0, 0},
		{types.MustCreateBitType(8), false, 0, 0},
		{types.Text, false, 0, 0},
	} {
		p, s, ok := exactArgType(tc.typ)
		if ok != tc.ok || p != tc.precision || s != tc.scale {
			t.Errorf("%s: (%d, %d, %v), want (%d, %d, %v)", tc.typ, p, s, ok, tc.precision, tc.scale, tc.ok)
		}
	}
}
