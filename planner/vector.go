package planner

import (
	"container/heap"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/shopspring/decimal"

	"github.com/lakesql/lakesql/exec"
)

// vectorRuns counts the executions of vectorized nodes on batches (not
// those that fell back to the row path), for tests: VectorizedRuns.
var vectorRuns atomic.Int64

// VectorizedRuns returns how many times, in this process, a vectorized
// aggregation or top-N has run on Arrow batches. Tests use it to prove
// which path answered.
func VectorizedRuns() int64 { return vectorRuns.Load() }

// VectorizeRule is the id of the rule that replaces aggregations and top-N
// sorts over lakesql tables by nodes that execute on Arrow batches.
const VectorizeRule analyzer.RuleId = 10003

// BatchTable is a table that vectorized nodes read as Arrow record batches
// rather than rows. sql.Table implements it for lakesql tables.
type BatchTable interface {
	sql.Table
	// BatchScan opens a read of the columns cols (indexes into the schema
	// of the table node, as projected) with lookup's filters (nil: every
	// row), in partitions that can be read concurrently. ok false means
	// the table cannot be read in batches now (for example, the session's
	// transaction has uncommitted writes to it): the row path answers.
	BatchScan(ctx *sql.Context, lookup *sql.IndexLookup, cols []int) (s BatchScan, ok bool, err error)
}

// BatchScan is an open batch read of a BatchTable.
type BatchScan interface {
	// Schema describes the records: a field per requested column, in the
	// order asked for.
	Schema() *arrow.Schema
	// Partitions is the number of partitions.
	Partitions() int
	// Open returns the records of partition i. It may be called
	// concurrently for different partitions.
	Open(ctx context.Context, i int) (RecordIter, error)
	// Value converts v, an Arrow Go value of requested column c as exec
	// returns them (nil for NULL), to go-mysql-server's value of the
	// column.
	Value(c int, v any) any
	// Close ends the read.
	Close()
}

// RecordIter yields the records of one partition; a record is valid until
// the next call of Next.
type RecordIter interface {
	Next() bool
	Record() arrow.Record
	Err() error
	Close()
}

// Vectorized is implemented by the nodes of vectorized execution; EXPLAIN
// shows What of each in its Extra column.
type Vectorized interface {
	sql.Node
	// Vectorized describes what runs on batches ("aggregation", "top-N").
	Vectorized() string
}

// VectorizeBatch returns the analyzer batch that replaces GroupBy and TopN
// nodes directly over lakesql tables (BatchTable) by vectorized nodes when
// every expression they evaluate is one the exec package computes with
// MySQL's semantics; anything else keeps the row path. Append it to the
// analyzer's batches: it runs after go-mysql-server has assigned the
// expressions' indexes, so the replaced node's expressions index the
// table node's schema, and the new node keeps the replaced node's schema.
func VectorizeBatch() *analyzer.Batch {
	return &analyzer.Batch{
		Desc:       "lakesql-vectorize",
		Iterations: 1,
		Rules:      []analyzer.Rule{{Id: VectorizeRule, Apply: vectorize}},
	}
}

func vectorize(ctx *sql.Context, _ *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	// Into opaque nodes too: a derived table (SubqueryAlias) was analyzed
	// on its own before go-mysql-server assigned the expressions' final
	// indexes, which undid any vectorized node made then (their
	// WithExpressions returns the replaced node); now they are final.
	return transform.NodeWithOpaque(n, func(n sql.Node) (sql.Node, transform.TreeIdentity, error) {
		switch n := n.(type) {
		case *plan.Filter:
			if v := newVecFilter(ctx, n); v != nil {
				return v, transform.NewTree, nil
			}
		case *plan.GroupBy:
			if v := newVecGroupBy(ctx, n); v != nil {
				return v, transform.NewTree, nil
			}
		case *plan.TopN:
			if v := newVecTopN(ctx, n); v != nil {
				return v, transform.NewTree, nil
			}
		case *plan.Limit:
			if v := vectorizeLimit(ctx, n); v != nil {
				return v, transform.NewTree, nil
			}
		}
		return n, transform.SameTree, nil
	})
}

// batchSource returns the BatchTable under a table node and the node's
// static lookup (nil for a plain table), or false.
func batchSource(ctx *sql.Context, n sql.Node) (BatchTable, *sql.IndexLookup, bool) {
	switch n := n.(type) {
	case *plan.TableAlias:
		return batchSource(ctx, n.Child)
	case *plan.ResolvedTable:
		bt, ok := unwrapTable(n.Table).(BatchTable)
		return bt, nil, ok
	case *plan.IndexedTableAccess:
		if !n.IsStatic() {
			return nil, nil, false
		}
		l, err := n.GetLookup(ctx, nil)
		if err != nil {
			return nil, nil, false
		}
		bt, ok := unwrapTable(n.Table).(BatchTable)
		return bt, &l, ok
	}
	return nil, nil, false
}

// unwrapTable removes go-mysql-server's wrappers (process tracking).
func unwrapTable(t sql.Table) sql.Table {
	for {
		w, ok := t.(sql.TableWrapper)
		if !ok {
			return t
		}
		t = w.Underlying()
	}
}

// columnRef returns the table column e reads (its index in the table
// node's schema sch), or false when e is not a plain column reference of
// that node. The column's name and table must match too: a field that
// indexes a row with an outer scope's columns in front (in a subquery),
// or reads another table's column, is not one.
func columnRef(e sql.Expression, sch sql.Schema) (int, bool) {
	gf, ok := e.(*expression.GetField)
	if !ok || gf.Index() < 0 || gf.Index() >= len(sch) {
		return 0, false
	}
	c := sch[gf.Index()]
	if !strings.EqualFold(c.Name, gf.Name()) || (gf.Table() != "" && !strings.EqualFold(c.Source, gf.Table())) {
		return 0, false
	}
	return gf.Index(), true
}

// comparable reports whether the exec package orders and groups values of
// t as go-mysql-server does: numbers, dates and times, and strings of a
// binary collation (exec compares bytes).
func comparable(t sql.Type) bool {
	switch {
	case types.IsJSON(t), types.IsEnum(t), types.IsSet(t), types.IsBit(t), types.IsYear(t):
		return false
	case types.IsText(t) || types.IsBinaryType(t):
		st, ok := t.(sql.StringType)
		if !ok {
			return false
		}
		c := st.Collation()
		return c == sql.Collation_binary || c == sql.Collation_utf8mb4_0900_bin
	}
	return types.IsNumber(t) || types.IsTime(t) || types.IsDateType(t) || types.IsTimespan(t)
}

// numeric reports whether SUM and AVG of t are computed by exec: integers,
// DECIMAL and floating point.
func numeric(t sql.Type) bool {
	return (types.IsInteger(t) || types.IsFloat(t) || types.IsDecimal(t)) && !types.IsBit(t) && !types.IsYear(t)
}

// columns collects the distinct table columns a vectorized node reads;
// add returns a column's index among them.
type columns struct {
	cols []int
	at   map[int]int
}

func (c *columns) add(col int) int {
	if c.at == nil {
		c.at = map[int]int{}
	}
	if i, ok := c.at[col]; ok {
		return i
	}
	c.at[col] = len(c.cols)
	c.cols = append(c.cols, col)
	return len(c.cols) - 1
}

// outValue says where a vectorized GroupBy's output column comes from:
// the key or aggregate at index of exec's result row, converted by conv.
type outValue struct {
	index int
	conv  func(s BatchScan, v any) any
}

// vecGroupBy is a GroupBy over a BatchTable computed by exec.HashAggregate
// over the table's partitions in parallel.
type vecGroupBy struct {
	gb     *plan.GroupBy
	table  BatchTable
	lookup *sql.IndexLookup
	cond   *exec.Cond // a vectorized Filter's, over the columns read
	cols   []int      // table columns read
	keys   []int      // indexes into cols
	aggs   []exec.Aggregate
	out    []outValue // one per selected expression
}

var (
	_ sql.ExecSourceRel      = (*vecGroupBy)(nil)
	_ sql.Projector          = (*vecGroupBy)(nil)
	_ sql.Expressioner       = (*vecGroupBy)(nil)
	_ sql.DebugStringer      = (*vecGroupBy)(nil)
	_ Vectorized             = (*vecGroupBy)(nil)
	_ sql.CollationCoercible = (*vecGroupBy)(nil)
)

// newVecGroupBy returns the vectorized form of gb, or nil when gb does not
// read a BatchTable directly or computes something exec does not.
func newVecGroupBy(ctx *sql.Context, gb *plan.GroupBy) *vecGroupBy {
	src, ok := sourceOf(ctx, gb.Child)
	if !ok {
		return nil
	}
	sch := gb.Child.Schema()
	v := &vecGroupBy{gb: gb, table: src.table, lookup: src.lookup}
	var cs columns
	keyOf := map[int]int{} // table column -> position among the keys
	for _, e := range gb.GroupByExprs {
		c, ok := columnRef(e, sch)
		if !ok || !comparable(sch[c].Type) {
			return nil
		}
		if _, dup := keyOf[c]; !dup {
			keyOf[c] = len(v.keys)
			v.keys = append(v.keys, cs.add(c))
		}
	}
	var aggOut []func(int) outValue // resolved once the key count is known
	for _, e := range gb.SelectedExprs {
		if a, ok := e.(*expression.Alias); ok {
			e = a.Child
		}
		if c, ok := columnRef(e, sch); ok {
			k, isKey := keyOf[c]
			if !isKey {
				return nil // a column outside GROUP BY: any row's value
			}
			col := cs.at[c]
			aggOut = append(aggOut, func(int) outValue {
				return outValue{index: k, conv: func(s BatchScan, x any) any { return s.Value(col, x) }}
			})
			continue
		}
		agg, conv, ok := aggregateOf(e, sch, &cs)
		if !ok {
			return nil
		}
		j := len(v.aggs)
		v.aggs = append(v.aggs, agg)
		aggOut = append(aggOut, func(nkeys int) outValue { return outValue{index: nkeys + j, conv: conv} })
	}
	for _, f := range aggOut {
		v.out = append(v.out, f(len(v.keys)))
	}
	if src.cond != nil {
		// The filter's columns come after the ones the aggregates read.
		c := remap(*src.cond, &cs)
		v.cond = &c
	}
	v.cols = cs.cols
	return v
}

// aggregateOf translates the aggregate e into exec's, with the conversion
// of exec's result to go-mysql-server's value of e's type.
func aggregateOf(e sql.Expression, sch sql.Schema, cs *columns) (exec.Aggregate, func(BatchScan, any) any, bool) {
	same := func(_ BatchScan, x any) any { return x }
	arg := func(child sql.Expression, ok func(sql.Type) bool) (int, bool) {
		c, isCol := columnRef(child, sch)
		if !isCol || !ok(sch[c].Type) {
			return 0, false
		}
		return cs.add(c), true
	}
	anyType := func(sql.Type) bool { return true }
	switch e := e.(type) {
	case *aggregation.Count:
		if e.Window() != nil {
			break
		}
		switch child := e.Child.(type) {
		case *expression.Star:
			return exec.Aggregate{Func: exec.CountStar}, same, true
		case *expression.Literal:
			if child.Value() != nil {
				return exec.Aggregate{Func: exec.CountStar}, same, true
			}
		default:
			if c, ok := arg(child, anyType); ok {
				return exec.Aggregate{Func: exec.Count, Col: c}, same, true
			}
		}
	case *aggregation.CountDistinct:
		if e.Window() != nil || len(e.Children()) != 1 {
			break
		}
		if c, ok := arg(e.Children()[0], comparable); ok {
			return exec.Aggregate{Func: exec.CountDistinct, Col: c}, same, true
		}
	case *aggregation.Sum, *aggregation.Avg:
		// GMS's own SUM and AVG remain only over floating point
		// arguments (exactAggregates took the others).
		f, child := exec.Sum, e.Children()[0]
		if _, isAvg := e.(*aggregation.Avg); isAvg {
			f = exec.Avg
		}
		if e.(sql.WindowAdaptableExpression).Window() != nil {
			break
		}
		if c, ok := arg(child, types.IsFloat); ok {
			return exec.Aggregate{Func: f, Col: c}, same, true
		}
	case *exactAgg:
		c, ok := arg(e.child, numeric)
		if !ok {
			break
		}
		scale := int32(e.typ.Scale())
		if e.fn == aggAvg {
			return exec.Aggregate{Func: exec.Avg, Col: c, AvgScale: scale}, same, true
		}
		return exec.Aggregate{Func: exec.Sum, Col: c}, func(_ BatchScan, x any) any {
			if d, ok := x.(decimal.Decimal); ok {
				return d.Round(scale)
			}
			return x
		}, true
	case *aggregation.Min, *aggregation.Max:
		f, child := exec.Min, e.Children()[0]
		if _, isMax := e.(*aggregation.Max); isMax {
			f = exec.Max
		}
		if e.(sql.WindowAdaptableExpression).Window() != nil {
			break
		}
		if c, ok := arg(child, comparable); ok {
			return exec.Aggregate{Func: f, Col: c}, func(s BatchScan, x any) any { return s.Value(c, x) }, true
		}
	}
	return exec.Aggregate{}, nil, false
}

// Schema implements sql.Node: the replaced GroupBy's.
func (v *vecGroupBy) Schema() sql.Schema { return v.gb.Schema() }

// Resolved implements sql.Node.
func (v *vecGroupBy) Resolved() bool { return v.gb.Resolved() }

// IsReadOnly implements sql.Node.
func (v *vecGroupBy) IsReadOnly() bool { return true }

// Children implements sql.Node: the table node, so that the plan's
// inspections (EXPLAIN, privileges) still see the table.
func (v *vecGroupBy) Children() []sql.Node { return v.gb.Children() }

// WithChildren implements sql.Node.
func (v *vecGroupBy) WithChildren(children ...sql.Node) (sql.Node, error) {
	gb, err := v.gb.WithChildren(children...)
	if err != nil {
		return nil, err
	}
	nv := *v
	nv.gb = gb.(*plan.GroupBy)
	return &nv, nil
}

// Expressions implements sql.Expressioner.
func (v *vecGroupBy) Expressions() []sql.Expression { return v.gb.Expressions() }

// WithExpressions implements sql.Expressioner. Changed expressions end
// the vectorized form: the GroupBy is what remains.
func (v *vecGroupBy) WithExpressions(exprs ...sql.Expression) (sql.Node, error) {
	return v.gb.WithExpressions(exprs...)
}

// ProjectedExprs implements sql.Projector.
func (v *vecGroupBy) ProjectedExprs() []sql.Expression { return v.gb.ProjectedExprs() }

// CollationCoercibility implements sql.CollationCoercible.
func (v *vecGroupBy) CollationCoercibility(ctx *sql.Context) (sql.CollationID, byte) {
	return v.gb.CollationCoercibility(ctx)
}

// Vectorized implements Vectorized.
func (v *vecGroupBy) Vectorized() string { return "aggregation" }

// String implements sql.Node.
func (v *vecGroupBy) String() string {
	return "Vectorized" + v.gb.String()
}

// DebugString implements sql.DebugStringer.
func (v *vecGroupBy) DebugString() string {
	return "Vectorized" + sql.DebugString(v.gb)
}

// RowIter implements sql.ExecSourceRel: the groups, computed from the
// table's partitions on up to GOMAXPROCS goroutines, one HashAggregate
// per partition, merged. When the table cannot be read in batches now
// the replaced GroupBy runs instead.
func (v *vecGroupBy) RowIter(ctx *sql.Context, row sql.Row) (sql.RowIter, error) {
	s, res, ok, err := runBatches(ctx, v.table, v.lookup, v.cols, v.cond, func(schema *arrow.Schema) (*exec.HashAggregate, error) {
		return exec.NewHashAggregate(schema, v.keys, v.aggs)
	})
	if err != nil || !ok {
		if err == nil {
			return rowexec.DefaultBuilder.Build(ctx, v.gb, row)
		}
		return nil, err
	}
	defer s.Close()
	rows := make([]sql.Row, len(res))
	for i, r := range res {
		out := make(sql.Row, len(v.out))
		for j, o := range v.out {
			if x := r[o.index]; x != nil {
				out[j] = o.conv(s, x)
			}
		}
		rows[i] = out
	}
	return sql.RowsToRowIter(rows...), nil
}

// operator is an exec operator a vectorized node runs, one per partition.
type operator[T any] interface {
	Add(rec arrow.Record) error
	Merge(other T) error
	Results() [][]any
}

// runBatches reads columns cols of table (with lookup's filters) in
// partitions on up to GOMAXPROCS goroutines, feeding each partition's
// records to an operator of its own made by newOp, merges the operators
// and returns their results, with the open scan for converting them
// (the caller closes it). ok is false, with a nil error, when the row
// path must answer instead: the table cannot be read in batches now, or
// exec does not take its column types.
func runBatches[T operator[T]](ctx *sql.Context, table BatchTable, lookup *sql.IndexLookup, cols []int, cond *exec.Cond, newOp func(*arrow.Schema) (T, error)) (BatchScan, [][]any, bool, error) {
	s, ok, err := table.BatchScan(ctx, lookup, cols)
	if err != nil || !ok {
		return nil, nil, false, err
	}
	n := s.Partitions()
	parts := make([]T, max(n, 1))
	filters := make([]*exec.Filter, max(n, 1))
	for i := range parts {
		if parts[i], err = newOp(s.Schema()); err == nil && cond != nil {
			filters[i], err = exec.NewFilter(s.Schema(), *cond)
		}
		if err != nil {
			s.Close()
			return nil, nil, false, nil
		}
	}
	vectorRuns.Add(1)
	err = exec.Parallel(ctx, n, runtime.GOMAXPROCS(0), func(ctx context.Context, i int) error {
		it, err := s.Open(ctx, i)
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Next() {
			rec := it.Record()
			if f := filters[i]; f != nil {
				if rec, err = f.Apply(rec); err != nil {
					return err
				}
				if rec == nil {
					continue
				}
			} else {
				rec.Retain()
			}
			err := parts[i].Add(rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
		return it.Err()
	})
	if err == nil {
		for _, p := range parts[1:] {
			if err = parts[0].Merge(p); err != nil {
				break
			}
		}
	}
	if err != nil {
		s.Close()
		return nil, nil, false, err
	}
	return s, parts[0].Results(), true, nil
}

// vecTopN is a TopN, or a Sort under a LIMIT, over a BatchTable, computed
// by exec.TopN over the table's partitions in parallel.
type vecTopN struct {
	orig   sql.Node // the *plan.TopN or *plan.Sort replaced
	table  BatchTable
	lookup *sql.IndexLookup
	cond   *exec.Cond // a vectorized Filter's
	limit  int64
	cols   []int // every column of the table node, in order
	keys   []exec.SortKey
}

var (
	_ sql.ExecSourceRel = (*vecTopN)(nil)
	_ sql.Expressioner  = (*vecTopN)(nil)
	_ Vectorized        = (*vecTopN)(nil)
)

// newVecTopN returns the vectorized form of t, or nil.
func newVecTopN(ctx *sql.Context, t *plan.TopN) *vecTopN {
	if t.CalcFoundRows {
		return nil
	}
	limit, ok := literalCount(t.Limit)
	if !ok {
		return nil
	}
	return newVecSort(ctx, t, t.Fields, t.Child, limit)
}

// literalCount returns the value of a LIMIT or OFFSET that is a literal.
func literalCount(e sql.Expression) (int64, bool) {
	lit, ok := e.(*expression.Literal)
	if !ok {
		return 0, false
	}
	n, ok := types.CoalesceInt(lit.Value())
	return int64(n), ok && n >= 0
}

// vectorizeLimit vectorizes a Sort under l (through an Offset and a
// Project, which go-mysql-server leaves between them instead of making a
// TopN) as a top-N of the limit plus the offset; nil when l has no such
// Sort over a BatchTable.
func vectorizeLimit(ctx *sql.Context, l *plan.Limit) sql.Node {
	if l.CalcFoundRows {
		return nil
	}
	limit, ok := literalCount(l.Limit)
	if !ok {
		return nil
	}
	var rebuild func(n sql.Node, extra int64) sql.Node
	rebuild = func(n sql.Node, extra int64) sql.Node {
		var child sql.Node
		switch n := n.(type) {
		case *plan.Offset:
			off, ok := literalCount(n.Offset)
			if !ok {
				return nil
			}
			child = rebuild(n.Child, extra+off)
		case *plan.Project:
			child = rebuild(n.Child, extra)
		case *plan.Sort:
			if v := newVecSort(ctx, n, n.SortFields, n.Child, limit+extra); v != nil {
				return v
			}
			return &rowTopN{sort: n, limit: limit + extra}
		default:
			return nil
		}
		if child == nil {
			return nil
		}
		nn, err := n.WithChildren(child)
		if err != nil {
			return nil
		}
		return nn
	}
	child := rebuild(l.Child, 0)
	if child == nil {
		return nil
	}
	nl, err := l.WithChildren(child)
	if err != nil {
		return nil
	}
	return nl
}

// newVecSort returns the top-N of limit rows by fields of child, a
// BatchTable, replacing orig; or nil.
func newVecSort(ctx *sql.Context, orig sql.Node, fields sql.SortFields, child sql.Node, limit int64) *vecTopN {
	src, ok := sourceOf(ctx, child)
	if !ok {
		return nil
	}
	sch := child.Schema()
	v := &vecTopN{orig: orig, table: src.table, lookup: src.lookup, cond: src.cond, limit: limit}
	for i := range sch {
		v.cols = append(v.cols, i)
	}
	for _, f := range fields {
		c, ok := columnRef(f.Column, sch)
		if !ok || !comparable(sch[c].Type) || f.NullOrdering != sql.NullsFirst {
			return nil
		}
		v.keys = append(v.keys, exec.SortKey{Col: c, Desc: f.Order == sql.Descending})
	}
	return v
}

// Schema implements sql.Node.
func (v *vecTopN) Schema() sql.Schema { return v.orig.Schema() }

// Resolved implements sql.Node.
func (v *vecTopN) Resolved() bool { return v.orig.Resolved() }

// IsReadOnly implements sql.Node.
func (v *vecTopN) IsReadOnly() bool { return true }

// Children implements sql.Node.
func (v *vecTopN) Children() []sql.Node { return v.orig.Children() }

// WithChildren implements sql.Node.
func (v *vecTopN) WithChildren(children ...sql.Node) (sql.Node, error) {
	o, err := v.orig.WithChildren(children...)
	if err != nil {
		return nil, err
	}
	nv := *v
	nv.orig = o
	return &nv, nil
}

// Expressions implements sql.Expressioner.
func (v *vecTopN) Expressions() []sql.Expression { return v.orig.(sql.Expressioner).Expressions() }

// WithExpressions implements sql.Expressioner: the replaced node remains.
func (v *vecTopN) WithExpressions(exprs ...sql.Expression) (sql.Node, error) {
	return v.orig.(sql.Expressioner).WithExpressions(exprs...)
}

// Vectorized implements Vectorized.
func (v *vecTopN) Vectorized() string { return "top-N" }

// String implements sql.Node.
func (v *vecTopN) String() string {
	sort, ok := v.orig.(*plan.Sort)
	if !ok {
		return "Vectorized" + v.orig.String()
	}
	p := sql.NewTreePrinter()
	_ = p.WriteNode("VectorizedTopN(Limit: [%d]; %s)", v.limit, sortFieldsString(sort.SortFields))
	_ = p.WriteChildren(sort.Child.String())
	return p.String()
}

// RowIter implements sql.ExecSourceRel.
func (v *vecTopN) RowIter(ctx *sql.Context, row sql.Row) (sql.RowIter, error) {
	s, res, ok, err := runBatches(ctx, v.table, v.lookup, v.cols, v.cond, func(schema *arrow.Schema) (*exec.TopN, error) {
		return exec.NewTopN(schema, v.keys, v.limit, v.cols)
	})
	if err != nil || !ok {
		if err == nil {
			return rowexec.DefaultBuilder.Build(ctx, v.orig, row)
		}
		return nil, err
	}
	defer s.Close()
	rows := make([]sql.Row, len(res))
	for i, r := range res {
		out := make(sql.Row, len(r))
		for c, x := range r {
			if x != nil {
				out[c] = s.Value(c, x)
			}
		}
		rows[i] = out
	}
	return sql.RowsToRowIter(rows...), nil
}

// rowTopN is a Sort under a LIMIT whose input is not a table read in
// batches (typically a vectorized aggregation's groups): it keeps the
// first limit rows as the stable sort followed by the LIMIT would, in a
// heap ordered by the sort fields and then by arrival, so that n input
// rows cost about n comparisons with the heap's worst row instead of a
// sort of all of them.
type rowTopN struct {
	sort  *plan.Sort
	limit int64
}

var (
	_ sql.ExecSourceRel = (*rowTopN)(nil)
	_ sql.Expressioner  = (*rowTopN)(nil)
)

func (v *rowTopN) Schema() sql.Schema            { return v.sort.Schema() }
func (v *rowTopN) Resolved() bool                { return v.sort.Resolved() }
func (v *rowTopN) IsReadOnly() bool              { return v.sort.IsReadOnly() }
func (v *rowTopN) Children() []sql.Node          { return v.sort.Children() }
func (v *rowTopN) Expressions() []sql.Expression { return v.sort.Expressions() }

// WithChildren implements sql.Node.
func (v *rowTopN) WithChildren(children ...sql.Node) (sql.Node, error) {
	s, err := v.sort.WithChildren(children...)
	if err != nil {
		return nil, err
	}
	return &rowTopN{sort: s.(*plan.Sort), limit: v.limit}, nil
}

// WithExpressions implements sql.Expressioner: the Sort remains.
func (v *rowTopN) WithExpressions(exprs ...sql.Expression) (sql.Node, error) {
	return v.sort.WithExpressions(exprs...)
}

// String implements sql.Node.
func (v *rowTopN) String() string {
	p := sql.NewTreePrinter()
	_ = p.WriteNode("TopNRows(Limit: [%d]; %s)", v.limit, sortFieldsString(v.sort.SortFields))
	_ = p.WriteChildren(v.sort.Child.String())
	return p.String()
}

// RowIter implements sql.ExecSourceRel.
func (v *rowTopN) RowIter(ctx *sql.Context, row sql.Row) (sql.RowIter, error) {
	it, err := rowexec.DefaultBuilder.Build(ctx, v.sort.Child, row)
	if err != nil {
		return nil, err
	}
	h := &rowHeap{ctx: ctx, fields: v.sort.SortFields}
	var seq int64
	for {
		r, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			it.Close(ctx)
			return nil, err
		}
		e := seqRow{row: r, seq: seq}
		seq++
		switch {
		case int64(len(h.rows)) < v.limit:
			heap.Push(h, e)
		case v.limit > 0 && h.less(e, h.rows[0]):
			h.rows[0] = e
			heap.Fix(h, 0)
		}
		if h.err != nil {
			it.Close(ctx)
			return nil, h.err
		}
	}
	if err := it.Close(ctx); err != nil {
		return nil, err
	}
	// The heap's root is its worst row: pop from the end.
	out := make([]sql.Row, len(h.rows))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(seqRow).row
	}
	if h.err != nil {
		return nil, h.err
	}
	return sql.RowsToRowIter(out...), nil
}

// sortFieldsString spells sort fields for the plan printers.
func sortFieldsString(fields sql.SortFields) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = fmt.Sprintf("%s %s", f.Column, f.Order)
	}
	return strings.Join(parts, ", ")
}

// seqRow is a row and its position in the input.
type seqRow struct {
	row sql.Row
	seq int64
}

// rowHeap is a max-heap of rows by (sort fields, arrival): its root is
// the row a better one replaces.
type rowHeap struct {
	ctx    *sql.Context
	fields sql.SortFields
	rows   []seqRow
	err    error
}

func (h *rowHeap) Len() int           { return len(h.rows) }
func (h *rowHeap) Less(i, j int) bool { return h.less(h.rows[j], h.rows[i]) }
func (h *rowHeap) Swap(i, j int)      { h.rows[i], h.rows[j] = h.rows[j], h.rows[i] }
func (h *rowHeap) Push(x any)         { h.rows = append(h.rows, x.(seqRow)) }
func (h *rowHeap) Pop() any {
	x := h.rows[len(h.rows)-1]
	h.rows = h.rows[:len(h.rows)-1]
	return x
}

// less orders a before b as go-mysql-server's stable sort does: by the
// fields (NULL per the field's null ordering, after swapping for
// descending ones, as expression.Sorter does), then by arrival.
func (h *rowHeap) less(a, b seqRow) bool {
	for _, f := range h.fields {
		av, err := f.Column.Eval(h.ctx, a.row)
		if err != nil {
			h.err = err
			return false
		}
		bv, err := f.Column.Eval(h.ctx, b.row)
		if err != nil {
			h.err = err
			return false
		}
		if f.Order == sql.Descending {
			av, bv = bv, av
		}
		switch {
		case av == nil && bv == nil:
			continue
		case av == nil:
			return f.NullOrdering == sql.NullsFirst
		case bv == nil:
			return f.NullOrdering != sql.NullsFirst
		}
		c, err := f.Column.Type().Compare(h.ctx, av, bv)
		if err != nil {
			h.err = err
			return false
		}
		if c != 0 {
			return c < 0
		}
	}
	return a.seq < b.seq
}
