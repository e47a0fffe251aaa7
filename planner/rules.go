package planner

import (
	"fmt"
	"slices"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// ExactAggregatesRule is the id of the rule that replaces GMS's float64 SUM
// and AVG over integer and DECIMAL arguments by exact ones. lakesql's rule ids
// start at 10001, above GMS's.
const ExactAggregatesRule analyzer.RuleId = 10001

// Register adds lakesql's analyzer rules to b and returns b:
//
//	a := planner.Register(analyzer.NewBuilder(pro)).Build()
//
// The rules run in the post-analyzer batch: after GMS's optimizations have
// settled the shape of the plan and before validation and after-all, whose
// assignExecIndexes then indexes the replaced expressions like any other.
func Register(b *analyzer.Builder) *analyzer.Builder {
	return b.AddPostAnalyzeRule(ExactAggregatesRule, exactAggregates)
}

// exactAggregates is the analyzer.RuleFunc of ExactAggregatesRule. See the
// package documentation.
func exactAggregates(_ *sql.Context, a *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	r := rewriter{cols: map[sql.ColumnId]exactCol{}, formatter: a.SchemaFormatter}
	return r.node(n)
}

// exactCol is the type, now DECIMAL or derived from one, of a column whose
// references the planner built when SUM and AVG were DOUBLE.
type exactCol struct {
	typ      sql.Type
	nullable bool
}

// rewriter is the state of one application of exactAggregates to a plan.
type rewriter struct {
	// cols holds the ids of the columns that carry exact aggregates, or
	// expressions of them, from the part of the plan seen so far. Column ids
	// are unique within a statement, subqueries included.
	cols      map[sql.ColumnId]exactCol
	formatter sql.SchemaFormatter
}

// node rewrites n bottom-up. Unlike transform.Node it enters opaque nodes
// (derived tables, unions): their insides have been analyzed, and rewritten,
// on their own, but the references to their columns from outside have not
// been retyped yet. The rewrite of a rewritten plan changes nothing.
func (r *rewriter) node(n sql.Node) (sql.Node, transform.TreeIdentity, error) {
	children := n.Children()
	var newChildren []sql.Node
	for i, c := range children {
		nc, same, err := r.node(c)
		if err != nil {
			return nil, transform.SameTree, err
		}
		if !same {
			if newChildren == nil {
				newChildren = slices.Clone(children)
			}
			newChildren[i] = nc
		}
	}
	same := transform.SameTree
	if newChildren != nil {
		var err error
		if n, err = n.WithChildren(newChildren...); err != nil {
			return nil, transform.SameTree, err
		}
		same = transform.NewTree
	}
	n, sameN, err := r.visit(n)
	if err != nil {
		return nil, transform.SameTree, err
	}
	return n, same && sameN, nil
}

// visit rewrites n, whose children have been rewritten.
func (r *rewriter) visit(n sql.Node) (sql.Node, transform.TreeIdentity, error) {
	same := transform.SameTree
	// Columns of opaque children first: n's expressions may refer to them.
	switch nn := n.(type) {
	case *plan.SubqueryAlias:
		r.subqueryAlias(nn)
	case *plan.SetOp:
		so, sameSO, err := r.setOp(nn)
		if err != nil {
			return nil, transform.SameTree, err
		}
		n, same = so, sameSO
	}
	if len(r.cols) > 0 {
		// References to exact columns of the children, including the
		// arguments of aggregates over them.
		nn, sameR, err := r.mapNodeExprs(n, r.retype)
		if err != nil {
			return nil, transform.SameTree, err
		}
		n, same = nn, same && sameR
	}
	if gb, ok := n.(*plan.GroupBy); ok {
		nn, sameGB, err := r.groupBy(gb)
		if err != nil {
			return nil, transform.SameTree, err
		}
		n, same = nn, same && sameGB
	}
	if p, ok := n.(sql.Projector); ok {
		r.projections(p.ProjectedExprs())
	}
	return n, same, nil
}

// groupBy replaces the SUM and AVG of gb's selected expressions that can be
// exact and records the columns of all its exact aggregates.
func (r *rewriter) groupBy(gb *plan.GroupBy) (sql.Node, transform.TreeIdentity, error) {
	var sel []sql.Expression
	for i, e := range gb.SelectedExprs {
		ne, changed, err := mapExpr(e, r.replaceAggregate)
		if err != nil {
			return nil, transform.SameTree, err
		}
		if changed {
			if sel == nil {
				sel = slices.Clone(gb.SelectedExprs)
			}
			sel[i] = ne
		}
	}
	if sel == nil {
		return gb, transform.SameTree, nil
	}
	return plan.NewGroupBy(sel, gb.GroupByExprs, gb.Child), transform.NewTree, nil
}

// replaceAggregate replaces an aggregate by its exact version if it has one
// and records the exact ones' columns.
func (r *rewriter) replaceAggregate(e sql.Expression) (sql.Expression, bool) {
	switch agg := e.(type) {
	case *exactAgg:
		r.cols[agg.id] = exactCol{typ: agg.typ, nullable: true}
	case sql.Aggregation:
		// Without an id the references to the aggregate could not be
		// retyped: leave it.
		if agg.Id() == 0 {
			return e, false
		}
		if x, ok := newExactAgg(agg); ok {
			r.cols[x.id] = exactCol{typ: x.typ, nullable: true}
			return x, true
		}
	}
	return e, false
}

// retype gives a reference to an exact column its new type. The planner typed
// SUM and AVG, and what it derived from them, as DOUBLE: a reference of
// another type is left as it is.
func (r *rewriter) retype(e sql.Expression) (sql.Expression, bool) {
	gf, ok := e.(*expression.GetField)
	if !ok {
		return e, false
	}
	col, ok := r.cols[gf.Id()]
	if !ok || !types.IsFloat(gf.Type()) || col.typ.Equals(gf.Type()) {
		return e, false
	}
	n := expression.NewGetFieldWithTable(gf.Index(), int(gf.TableId()), col.typ, gf.Database(), gf.Table(), gf.Name(), col.nullable).
		WithId(gf.Id()).(*expression.GetField)
	if gf.IsQuotedIdentifier() {
		n = n.WithQuotedNames(r.formatter, true)
	}
	return n, true
}

// projections records the expressions among exprs, the output of a node,
// that are computed from exact columns, under their ids: aliases, and
// aggregates such as MAX whose type is their argument's.
func (r *rewriter) projections(exprs []sql.Expression) {
	for _, e := range exprs {
		ide, ok := e.(sql.IdExpression)
		if !ok || ide.Id() == 0 {
			continue
		}
		if _, done := r.cols[ide.Id()]; done {
			continue
		}
		switch e.(type) {
		case *expression.GetField, *exactAgg:
			continue // a column already recorded, or not exact
		}
		for _, c := range e.Children() {
			if r.derivesFromExact(c) {
				r.cols[ide.Id()] = exactCol{typ: e.Type(), nullable: e.IsNullable()}
				break
			}
		}
	}
}

// derivesFromExact reports whether e contains an exact aggregate or a
// reference to an exact column.
func (r *rewriter) derivesFromExact(e sql.Expression) bool {
	found := false
	sql.Inspect(e, func(e sql.Expression) bool {
		switch e := e.(type) {
		case *exactAgg:
			found = true
		case *expression.GetField:
			_, found = r.cols[e.Id()]
		}
		return !found
	})
	return found
}

// subqueryAlias records the columns of a derived table that come from exact
// columns of its query. They have ids of their own.
func (r *rewriter) subqueryAlias(sq *plan.SubqueryAlias) {
	inner := outputIDs(sq.Child)
	outer := columnIDs(sq)
	sch := sq.Schema()
	if len(inner) != len(outer) || len(outer) != len(sch) {
		return // unexpected shape: leave the references
	}
	for i, id := range inner {
		if _, ok := r.cols[id]; ok && outer[i] != 0 {
			r.cols[outer[i]] = exactCol{typ: sch[i].Type, nullable: sch[i].Nullable}
		}
	}
}

// columnIDs returns the ids of n's columns in the order of its schema.
func columnIDs(n plan.TableIdNode) []sql.ColumnId {
	var ids []sql.ColumnId
	n.Columns().ForEach(func(id sql.ColumnId) { ids = append(ids, id) })
	return ids
}

// outputIDs returns the column ids of n's output, 0 for a column without
// one, or nil if it cannot tell.
func outputIDs(n sql.Node) []sql.ColumnId {
	switch n := n.(type) {
	case sql.Projector:
		exprs := n.ProjectedExprs()
		ids := make([]sql.ColumnId, len(exprs))
		for i, e := range exprs {
			if ide, ok := e.(sql.IdExpression); ok {
				ids[i] = ide.Id()
			}
		}
		return ids
	case plan.TableIdNode:
		return columnIDs(n)
	}
	if ch := n.Children(); len(ch) == 1 {
		return outputIDs(ch[0])
	}
	return nil
}

// mapNodeExprs applies f to n's expressions with mapExpr.
func (r *rewriter) mapNodeExprs(n sql.Node, f func(sql.Expression) (sql.Expression, bool)) (sql.Node, transform.TreeIdentity, error) {
	ex, ok := n.(sql.Expressioner)
	if !ok {
		return n, transform.SameTree, nil
	}
	exprs := ex.Expressions()
	var newExprs []sql.Expression
	for i, e := range exprs {
		ne, changed, err := mapExpr(e, f)
		if err != nil {
			return nil, transform.SameTree, err
		}
		if changed {
			if newExprs == nil {
				newExprs = slices.Clone(exprs)
			}
			newExprs[i] = ne
		}
	}
	if newExprs == nil {
		return n, transform.SameTree, nil
	}
	nn, err := ex.WithExpressions(newExprs...)
	if err != nil {
		return nil, transform.SameTree, err
	}
	return nn, transform.NewTree, nil
}

// mapExpr applies f to e and its descendants bottom-up, like transform.Expr,
// but keeps the id of an Alias whose child changes: Alias.WithChildren drops
// it, and the plan refers to aliases by id until exec indexes are assigned.
// It does not enter subqueries, which are analyzed on their own.
func mapExpr(e sql.Expression, f func(sql.Expression) (sql.Expression, bool)) (sql.Expression, bool, error) {
	children := e.Children()
	var newChildren []sql.Expression
	for i, c := range children {
		nc, changed, err := mapExpr(c, f)
		if err != nil {
			return nil, false, err
		}
		if changed {
			if newChildren == nil {
				newChildren = slices.Clone(children)
			}
			newChildren[i] = nc
		}
	}
	changed := false
	if newChildren != nil {
		ne, err := e.WithChildren(newChildren...)
		if err != nil {
			return nil, false, err
		}
		if a, ok := e.(*expression.Alias); ok {
			na, ok := ne.(*expression.Alias)
			if !ok {
				return nil, false, fmt.Errorf("planner: Alias.WithChildren returned %T", ne)
			}
			if a.Unreferencable() {
				na = na.AsUnreferencable()
			}
			ne = na.WithId(a.Id())
		}
		e, changed = ne, true
	}
	e, changedF := f(e)
	return e, changed || changedF, nil
}
