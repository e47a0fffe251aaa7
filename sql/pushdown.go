package sql

import (
	"fmt"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/shopspring/decimal"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
)

// Predicate pushdown. A filter's conjuncts that translate become a
// parquetio.Predicate that the file readers use for row-group and page
// pruning and evaluate on Arrow arrays before any row is built. The
// predicate only ever keeps a superset of the matching rows (a comparison
// with NULL is false, as in SQL, and NOT of it true); a conjunct whose
// predicate keeps exactly the rows SQL keeps leaves the filter above the
// scan, the others stay in it, so results never depend on what was pushed.
//
// The push happens in an analyzer rule after go-mysql-server has planned
// the joins (pushFilters), not through sql.IndexSearchableTable: the join
// planner costs every table answered by LookupForExpressions as a one-row
// table, and so plans many-table joins as nested loops over cross joins
// instead of hash joins. Conditions on the primary key are still left to
// go-mysql-server's own range analysis (point lookups and key ranges,
// through GetIndexes): the rule only rewrites a filter that is still
// directly over a table scan.

// PushFiltersRule is the analyzer rule id of pushFilters.
const PushFiltersRule analyzer.RuleId = 10002

// pushFilters replaces every Filter directly over a lakesql table scan
// (under an alias too) with a scan that carries the filter's translated
// conjuncts, keeping above it the conjuncts that the readers do not decide
// exactly. Opaque nodes (subqueries) are left alone: go-mysql-server runs
// this rule on them when it finalizes them.
func pushFilters(ctx *sql.Context, _ *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	return transform.Node(n, func(n sql.Node) (sql.Node, transform.TreeIdentity, error) {
		f, ok := n.(*plan.Filter)
		if !ok {
			return n, transform.SameTree, nil
		}
		alias, _ := f.Child.(*plan.TableAlias)
		var rt *plan.ResolvedTable
		if alias != nil {
			rt, _ = alias.Child.(*plan.ResolvedTable)
		} else {
			rt, _ = f.Child.(*plan.ResolvedTable)
		}
		if rt == nil {
			return n, transform.SameTree, nil
		}
		tbl := rt.Table
		if pt, ok := tbl.(*plan.ProcessTable); ok {
			tbl = pt.Underlying() // the plan of a simple UPDATE or DELETE (pushDML)
		}
		t, ok := tbl.(*Table)
		if !ok {
			return n, transform.SameTree, nil
		}
		name := rt.Name()
		if alias != nil {
			name = alias.Name()
		}
		lookup, rest, ok := t.pushdown(name, expression.SplitConjunction(f.Expression))
		if !ok {
			return n, transform.SameTree, nil
		}
		ita, err := plan.NewStaticIndexedAccessForTableNode(ctx, rt, lookup)
		if err != nil {
			return nil, transform.SameTree, err
		}
		var out sql.Node = ita
		if alias != nil {
			if out, err = alias.WithChildren(ita); err != nil {
				return nil, transform.SameTree, err
			}
		}
		if rest != nil {
			out = plan.NewFilter(rest, out)
		}
		return out, transform.NewTree, nil
	})
}

// pushdown translates the conjuncts of a filter over t, which the query
// names name (its alias, if any), into a lookup whose pushRanges carry the
// predicate, and returns the conjuncts the readers do not decide exactly
// (nil if none); ok is false when nothing translates. A conjunct that reads
// a column of another table (an outer scope's) is never pushed.
func (t *Table) pushdown(name string, exprs []sql.Expression) (lookup sql.IndexLookup, rest sql.Expression, ok bool) {
	var preds []*parquetio.Predicate
	var residual []sql.Expression
	for _, e := range exprs {
		if onlyTable(e, name) {
			if p := t.predicate(e); p != nil && t.compiles(p) {
				preds = append(preds, p)
				if t.exactly(e) {
					continue // the readers decide it exactly as SQL would
				}
			}
		}
		residual = append(residual, e)
	}
	if len(preds) == 0 {
		return sql.IndexLookup{}, nil, false
	}
	ix := &index{t: t, name: pushdownIndex}
	pr := pushRanges{pred: parquetio.And(preds...), text: exprsString(exprs)}
	if len(residual) > 0 {
		rest = expression.JoinAnd(residual...)
	}
	return sql.IndexLookup{Index: ix, Ranges: pr}, rest, true
}

// onlyTable reports whether every column e reads belongs to the table the
// query names name.
func onlyTable(e sql.Expression, name string) bool {
	ok := true
	sql.Inspect(e, func(x sql.Expression) bool {
		if gf, isGF := x.(*expression.GetField); isGF && !strings.EqualFold(gf.Table(), name) {
			ok = false
		}
		return ok
	})
	return ok
}

// exactly reports whether the pushed predicate of e keeps exactly the rows
// SQL keeps, so that the filter above the scan can leave e out: every leaf
// translated, comparisons of numbers and strings (a comparison with NULL
// is false in both), IS [NOT] NULL, IN, AND and OR of such; no other NOT.
func (t *Table) exactly(e sql.Expression) bool {
	switch x := e.(type) {
	case *expression.HashInTuple:
		return t.exactly(expression.NewInTuple(x.Left(), x.Right()))
	case *expression.And:
		return t.exactly(x.LeftChild) && t.exactly(x.RightChild)
	case *expression.Or:
		return t.exactly(x.LeftChild) && t.exactly(x.RightChild)
	case *expression.Not:
		if n, ok := x.Child.(*expression.IsNull); ok {
			return t.exactly(n)
		}
		return false
	case *expression.IsNull:
		_, ok := t.field(x.Child)
		return ok
	case *expression.Equals, *expression.GreaterThan, *expression.LessThan,
		*expression.GreaterThanOrEqual, *expression.LessThanOrEqual:
		b := x.(expression.Comparer)
		return t.exactLeaf(b.Left(), b.Right()) || t.exactLeaf(b.Right(), b.Left())
	case *expression.InTuple:
		tup, ok := x.Right().(expression.Tuple)
		if !ok {
			return false
		}
		for _, el := range tup {
			if !t.exactLeaf(x.Left(), el) {
				return false
			}
		}
		return true
	}
	return false
}

// exactLeaf: a column of a number or string type against a literal that
// translates.
func (t *Table) exactLeaf(col, lit sql.Expression) bool {
	c, ok := t.field(col)
	if !ok {
		return false
	}
	switch {
	case c.typ.IsInteger(), c.typ.Kind == base.TypeFloat64, c.typ.Kind == base.TypeDecimal,
		c.typ.Kind == base.TypeVarchar, c.typ.Kind == base.TypeText:
	default:
		return false
	}
	_, ok = literalFor(c, lit)
	return ok
}

// pushdownIndex names the pseudo-index of a pushed-down filter.
const pushdownIndex = "lakesql_pushdown"

func exprsString(exprs []sql.Expression) string {
	parts := make([]string, len(exprs))
	for i, e := range exprs {
		parts[i] = e.String()
	}
	return strings.Join(parts, " AND ")
}

// pushRanges carries a pushed predicate through go-mysql-server's index
// lookup.
type pushRanges struct {
	pred *parquetio.Predicate
	text string
}

var _ sql.RangeCollection = pushRanges{}

func (r pushRanges) String() string      { return "pushed[" + r.text + "]" }
func (r pushRanges) DebugString() string { return r.String() }
func (r pushRanges) Len() int            { return 1 }
func (r pushRanges) ToRanges() []sql.Range {
	return []sql.Range{pushRange(r)}
}
func (r pushRanges) Equals(o sql.RangeCollection) (bool, error) {
	p, ok := o.(pushRanges)
	return ok && p.text == r.text, nil
}

type pushRange pushRanges

func (r pushRange) String() string      { return "pushed[" + r.text + "]" }
func (r pushRange) DebugString() string { return r.String() }
func (r pushRange) Equals(o sql.Range) (bool, error) {
	p, ok := o.(pushRange)
	return ok && p.text == r.text, nil
}

func (t *Table) column(name string) (colInfo, bool) {
	if i := t.colIndex(name); i >= 0 {
		return t.cols[i], true
	}
	return colInfo{}, false
}

// compiles reports whether the file readers accept p.
func (t *Table) compiles(p *parquetio.Predicate) bool {
	_, err := parquetio.CompileFilter(&t.meta.Schema, p)
	return err == nil
}

// predicate translates e, or returns nil.
func (t *Table) predicate(e sql.Expression) *parquetio.Predicate {
	switch x := e.(type) {
	case *expression.HashInTuple:
		return t.predicate(expression.NewInTuple(x.Left(), x.Right()))
	case *expression.And:
		l, r := t.predicate(x.LeftChild), t.predicate(x.RightChild)
		switch {
		case l == nil:
			return r // dropping a conjunct keeps a superset
		case r == nil:
			return l
		}
		return parquetio.And(l, r)
	case *expression.Or:
		l, r := t.predicate(x.LeftChild), t.predicate(x.RightChild)
		if l == nil || r == nil {
			return nil
		}
		return parquetio.Or(l, r)
	case *expression.Not:
		// NOT of a superset would be a subset: only an exact inner
		// predicate (every leaf translated) may be negated.
		if in := t.predicate(x.Child); in != nil && t.exactly(x.Child) {
			return parquetio.Not(in)
		}
		return nil
	case *expression.IsNull:
		if c, ok := t.field(x.Child); ok {
			return parquetio.IsNull(c.col.ID)
		}
	case *expression.Equals:
		return t.comparison(x.Left(), x.Right(), parquetio.OpEq, parquetio.OpEq)
	case *expression.GreaterThan:
		return t.comparison(x.Left(), x.Right(), parquetio.OpGt, parquetio.OpLt)
	case *expression.LessThan:
		return t.comparison(x.Left(), x.Right(), parquetio.OpLt, parquetio.OpGt)
	case *expression.GreaterThanOrEqual:
		return t.comparison(x.Left(), x.Right(), parquetio.OpGe, parquetio.OpLe)
	case *expression.LessThanOrEqual:
		return t.comparison(x.Left(), x.Right(), parquetio.OpLe, parquetio.OpGe)
	case *expression.InTuple:
		c, ok := t.field(x.Left())
		if !ok {
			return nil
		}
		tup, ok := x.Right().(expression.Tuple)
		if !ok {
			return nil
		}
		var vals []any
		for _, el := range tup {
			v, ok := literalFor(c, el)
			if !ok {
				return nil
			}
			vals = append(vals, v)
		}
		return parquetio.In(c.col.ID, vals...)
	}
	return nil
}

// field returns the column a GetField reads.
func (t *Table) field(e sql.Expression) (colInfo, bool) {
	gf, ok := e.(*expression.GetField)
	if !ok {
		return colInfo{}, false
	}
	// go-mysql-server passes only the filters over this table (under an
	// alias too), so the name is enough.
	return t.column(gf.Name())
}

// comparison translates `col op literal` or `literal op col` (flipped).
func (t *Table) comparison(l, r sql.Expression, op, flipped parquetio.Op) *parquetio.Predicate {
	if c, ok := t.field(l); ok {
		if v, ok := literalFor(c, r); ok {
			return parquetio.Cmp(c.col.ID, op, v)
		}
		return nil
	}
	if c, ok := t.field(r); ok {
		if v, ok := literalFor(c, l); ok {
			return parquetio.Cmp(c.col.ID, flipped, v)
		}
	}
	return nil
}

// literalFor returns a literal as a constant of the column's stored type,
// when the comparison means the same in SQL and in the file readers: an
// integer against an integer column, a number against a FLOAT or DOUBLE,
// a number against a DECIMAL, a string against a string column, a time
// against a date or time column. Anything else is not pushed.
func literalFor(c colInfo, e sql.Expression) (any, bool) {
	lit, ok := e.(*expression.Literal)
	if !ok {
		return nil, false
	}
	v := lit.Value()
	if v == nil {
		return nil, false // col = NULL is never true; leave it to SQL
	}
	switch {
	case c.typ.IsInteger():
		if n, ok := base.AsInt64(v); ok {
			if c.typ.IsUnsigned() && n < 0 {
				return nil, false
			}
			return n, true
		}
		if n, ok := base.AsUint64(v); ok {
			return n, true
		}
	case c.typ.Kind == base.TypeFloat64:
		switch x := v.(type) {
		case float64:
			return x, true
		case float32:
			return float64(x), true
		case decimal.Decimal:
			f, _ := x.Float64()
			return f, true
		}
		if n, ok := base.AsInt64(v); ok && n > -1<<53 && n < 1<<53 {
			return float64(n), true
		}
	case c.typ.Kind == base.TypeDecimal:
		switch x := v.(type) {
		case decimal.Decimal:
			if x.Exponent() >= -int32(c.typ.Scale) {
				return x.StringFixed(int32(c.typ.Scale)), true
			}
		}
		if n, ok := base.AsInt64(v); ok {
			return fmt.Sprint(n), true
		}
	case c.typ.Kind == base.TypeVarchar || c.typ.Kind == base.TypeText:
		if s, ok := v.(string); ok {
			return s, true
		}
	case c.typ.Kind == base.TypeDate || c.typ.Kind == base.TypeDatetime:
		if tm, ok := v.(time.Time); ok {
			return tm, true
		}
	}
	return nil, false
}
