package planner

import (
	"context"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/shopspring/decimal"

	"github.com/lakesql/lakesql/exec"
	"github.com/lakesql/lakesql/internal/base"
)

// source is what a vectorized node reads: a BatchTable with the static
// lookup of its table node (nil for a plain scan) and, when a Filter the
// pushdown could not take was vectorized above it, that filter's
// condition over the table node's columns.
type source struct {
	table  BatchTable
	lookup *sql.IndexLookup
	cond   *exec.Cond
}

// sourceOf returns the source under n: a table node, or a vecFilter.
func sourceOf(ctx *sql.Context, n sql.Node) (source, bool) {
	if f, ok := n.(*vecFilter); ok {
		return source{table: f.table, lookup: f.lookup, cond: &f.cond}, true
	}
	t, l, ok := batchSource(ctx, n)
	return source{table: t, lookup: l}, ok
}

// remap returns the condition with its columns (of the table node) renumbered
// as columns of a record of the columns cs reads, adding those missing.
func remap(c exec.Cond, cs *columns) exec.Cond {
	out := c
	switch c.Op {
	case exec.CondAnd, exec.CondOr, exec.CondNot:
		out.Args = make([]exec.Cond, len(c.Args))
		for i, a := range c.Args {
			out.Args[i] = remap(a, cs)
		}
		return out
	}
	if !c.L.IsConst {
		out.L.Col = cs.add(c.L.Col)
	}
	if c.Op != exec.CondIsNull && c.Op != exec.CondLike && !c.R.IsConst {
		out.R.Col = cs.add(c.R.Col)
	}
	return out
}

// vecFilter is a Filter over a BatchTable whose condition exec evaluates:
// the table's partitions are read in parallel, the condition is evaluated
// on each record's arrays, and rows are built only for the rows it keeps,
// in the order the row path would return them (partition after
// partition).
type vecFilter struct {
	filter *plan.Filter
	table  BatchTable
	lookup *sql.IndexLookup
	cond   exec.Cond
}

var (
	_ sql.ExecSourceRel = (*vecFilter)(nil)
	_ sql.Expressioner  = (*vecFilter)(nil)
	_ Vectorized        = (*vecFilter)(nil)
)

// newVecFilter returns the vectorized form of f, or nil: a vecFilter of
// the conjuncts exec evaluates, under a Filter of the others if any.
func newVecFilter(ctx *sql.Context, f *plan.Filter) sql.Node {
	table, lookup, ok := batchSource(ctx, f.Child)
	if !ok {
		return nil
	}
	sch := f.Child.Schema()
	var conds []exec.Cond
	var taken, rest []sql.Expression
	for _, e := range expression.SplitConjunction(f.Expression) {
		if c, ok := condOf(e, sch); ok {
			conds = append(conds, c)
			taken = append(taken, e)
		} else {
			rest = append(rest, e)
		}
	}
	if len(conds) == 0 {
		return nil
	}
	cond := conds[0]
	if len(conds) > 1 {
		cond = exec.Cond{Op: exec.CondAnd, Args: conds}
	}
	v := &vecFilter{filter: plan.NewFilter(expression.JoinAnd(taken...), f.Child), table: table, lookup: lookup, cond: cond}
	if len(rest) > 0 {
		return plan.NewFilter(expression.JoinAnd(rest...), v)
	}
	return v
}

func (v *vecFilter) Schema() sql.Schema            { return v.filter.Schema() }
func (v *vecFilter) Resolved() bool                { return v.filter.Resolved() }
func (v *vecFilter) IsReadOnly() bool              { return true }
func (v *vecFilter) Children() []sql.Node          { return v.filter.Children() }
func (v *vecFilter) Expressions() []sql.Expression { return v.filter.Expressions() }

// WithChildren implements sql.Node.
func (v *vecFilter) WithChildren(children ...sql.Node) (sql.Node, error) {
	f, err := v.filter.WithChildren(children...)
	if err != nil {
		return nil, err
	}
	nv := *v
	nv.filter = f.(*plan.Filter)
	return &nv, nil
}

// WithExpressions implements sql.Expressioner: the Filter remains.
func (v *vecFilter) WithExpressions(exprs ...sql.Expression) (sql.Node, error) {
	return v.filter.WithExpressions(exprs...)
}

// Vectorized implements Vectorized.
func (v *vecFilter) Vectorized() string { return "filter" }

// String implements sql.Node.
func (v *vecFilter) String() string { return "Vectorized" + v.filter.String() }

// DebugString implements sql.DebugStringer.
func (v *vecFilter) DebugString() string { return "Vectorized" + sql.DebugString(v.filter) }

// rowChunk is the number of rows a partition's reader hands over at once.
const rowChunk = 1024

// RowIter implements sql.ExecSourceRel.
func (v *vecFilter) RowIter(ctx *sql.Context, row sql.Row) (sql.RowIter, error) {
	width := len(v.filter.Child.Schema())
	cols := make([]int, width)
	for i := range cols {
		cols[i] = i
	}
	s, ok, err := v.table.BatchScan(ctx, v.lookup, cols)
	if err != nil {
		return nil, err
	}
	if ok {
		_, err = exec.NewFilter(s.Schema(), v.cond)
	}
	if !ok || err != nil {
		if ok {
			s.Close()
		}
		return rowexec.DefaultBuilder.Build(ctx, v.filter, row)
	}
	vectorRuns.Add(1)
	return startFilterIter(ctx, s, v.cond), nil
}

// filterPart is one partition's output: chunks of rows, then its error.
type filterPart struct {
	rows chan []sql.Row
	err  error
}

// filterIter returns the rows of a vecFilter partition by partition while
// up to GOMAXPROCS goroutines read the partitions ahead, in order, each
// with a few chunks of buffered rows at most.
type filterIter struct {
	cancel context.CancelFunc
	s      BatchScan
	parts  []*filterPart
	cur    int
	chunk  []sql.Row
	wg     sync.WaitGroup
}

func startFilterIter(ctx *sql.Context, s BatchScan, cond exec.Cond) *filterIter {
	cctx, cancel := context.WithCancel(ctx)
	it := &filterIter{cancel: cancel, s: s, parts: make([]*filterPart, s.Partitions())}
	for i := range it.parts {
		it.parts[i] = &filterPart{rows: make(chan []sql.Row, 4)}
	}
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	it.wg.Add(1)
	go func() {
		defer it.wg.Done()
		for i, p := range it.parts {
			select {
			case slots <- struct{}{}:
			case <-cctx.Done():
				for _, q := range it.parts[i:] {
					q.err = cctx.Err()
					close(q.rows)
				}
				return
			}
			it.wg.Add(1)
			go func() {
				defer it.wg.Done()
				p.err = readFilterPart(cctx, s, i, cond, p.rows)
				close(p.rows)
				<-slots
			}()
		}
	}()
	return it
}

// readFilterPart sends the kept rows of partition i in chunks.
func readFilterPart(ctx context.Context, s BatchScan, i int, cond exec.Cond, out chan<- []sql.Row) error {
	f, err := exec.NewFilter(s.Schema(), cond)
	if err != nil {
		return err
	}
	it, err := s.Open(ctx, i)
	if err != nil {
		return err
	}
	defer it.Close()
	var chunk []sql.Row
	send := func() error {
		select {
		case out <- chunk:
			chunk = nil
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for it.Next() {
		rec, err := f.Apply(it.Record())
		if err != nil {
			return err
		}
		if rec == nil {
			continue
		}
		appendRows(s, rec, &chunk)
		rec.Release()
		if len(chunk) >= rowChunk {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	if len(chunk) > 0 {
		return send()
	}
	return nil
}

// appendRows appends the rows of rec as go-mysql-server rows.
func appendRows(s BatchScan, rec arrow.Record, rows *[]sql.Row) {
	n, width := int(rec.NumRows()), int(rec.NumCols())
	vals := make([]any, n*width) // one allocation for the record's rows
	for i := range n {
		r := sql.Row(vals[i*width : (i+1)*width : (i+1)*width])
		for c := range width {
			if x := exec.Value(rec.Column(c), i); x != nil {
				r[c] = s.Value(c, x)
			}
		}
		*rows = append(*rows, r)
	}
}

// Next implements sql.RowIter.
func (it *filterIter) Next(ctx *sql.Context) (sql.Row, error) {
	for len(it.chunk) == 0 {
		if it.cur == len(it.parts) {
			return nil, io.EOF
		}
		p := it.parts[it.cur]
		select {
		case chunk, ok := <-p.rows:
			if !ok {
				if p.err != nil {
					return nil, p.err
				}
				it.cur++
				continue
			}
			it.chunk = chunk
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r := it.chunk[0]
	it.chunk = it.chunk[1:]
	return r, nil
}

// Close implements sql.RowIter: the readers still running stop.
func (it *filterIter) Close(*sql.Context) error {
	it.cancel()
	for _, p := range it.parts[it.cur:] {
		for range p.rows { // unblock and drain
		}
	}
	it.wg.Wait()
	it.s.Close()
	return nil
}

// condOf translates a filter expression over a table node whose schema is
// sch into exec's condition, or returns false when some part of it is not
// one exec evaluates exactly as go-mysql-server would.
func condOf(e sql.Expression, sch sql.Schema) (exec.Cond, bool) {
	switch e := e.(type) {
	case *expression.And:
		return logicOf(exec.CondAnd, sch, e.LeftChild, e.RightChild)
	case *expression.Or:
		return logicOf(exec.CondOr, sch, e.LeftChild, e.RightChild)
	case *expression.Not:
		c, ok := condOf(e.Child, sch)
		return exec.Cond{Op: exec.CondNot, Args: []exec.Cond{c}}, ok
	case *expression.IsNull:
		c, ok := columnRef(e.Child, sch)
		return exec.Cond{Op: exec.CondIsNull, L: exec.ColOperand(c)}, ok
	case *expression.Equals:
		return compareOf(exec.CondEq, sch, e.Left(), e.Right())
	case *expression.NullSafeEquals:
		return compareOf(exec.CondNullSafeEq, sch, e.Left(), e.Right())
	case *expression.LessThan:
		return compareOf(exec.CondLt, sch, e.Left(), e.Right())
	case *expression.LessThanOrEqual:
		return compareOf(exec.CondLe, sch, e.Left(), e.Right())
	case *expression.GreaterThan:
		return compareOf(exec.CondGt, sch, e.Left(), e.Right())
	case *expression.GreaterThanOrEqual:
		return compareOf(exec.CondGe, sch, e.Left(), e.Right())
	case *expression.Between:
		lo, ok1 := compareOf(exec.CondGe, sch, e.Val, e.Lower)
		hi, ok2 := compareOf(exec.CondLe, sch, e.Val, e.Upper)
		return exec.Cond{Op: exec.CondAnd, Args: []exec.Cond{lo, hi}}, ok1 && ok2
	case *expression.HashInTuple:
		return inOf(sch, e.Left(), e.Right())
	case *expression.InTuple:
		return inOf(sch, e.Left(), e.Right())
	case *expression.Like:
		return likeOf(sch, e)
	}
	return exec.Cond{}, false
}

func logicOf(op exec.CondOp, sch sql.Schema, l, r sql.Expression) (exec.Cond, bool) {
	lc, ok1 := condOf(l, sch)
	rc, ok2 := condOf(r, sch)
	return exec.Cond{Op: op, Args: []exec.Cond{lc, rc}}, ok1 && ok2
}

// inOf translates col IN (constants) into ORs of equalities, which SQL's
// three-valued logic makes the same.
func inOf(sch sql.Schema, left, right sql.Expression) (exec.Cond, bool) {
	tup, ok := right.(expression.Tuple)
	if !ok || len(tup) == 0 {
		return exec.Cond{}, false
	}
	if c, ok := columnRef(left, sch); !ok || cmpClass(sch[c].Type) == "float" {
		// IN compares a floating-point column with decimal elements as
		// decimals: leave it to the row path.
		return exec.Cond{}, false
	}
	var args []exec.Cond
	for _, el := range tup {
		c, ok := compareOf(exec.CondEq, sch, left, el)
		if !ok {
			return exec.Cond{}, false
		}
		args = append(args, c)
	}
	if len(args) == 1 {
		return args[0], true
	}
	return exec.Cond{Op: exec.CondOr, Args: args}, true
}

// likeOf translates col LIKE 'constant' over a string column of a binary
// collation (the pattern is then matched character by character, case and
// accents significant, as exec does).
func likeOf(sch sql.Schema, e *expression.Like) (exec.Cond, bool) {
	c, ok := columnRef(e.LeftChild, sch)
	if !ok || !types.IsText(sch[c].Type) || !comparable(sch[c].Type) {
		return exec.Cond{}, false
	}
	if st, ok := sch[c].Type.(sql.StringType); !ok || st.Collation() != sql.Collation_utf8mb4_0900_bin {
		return exec.Cond{}, false
	}
	lit, ok := e.RightChild.(*expression.Literal)
	if !ok {
		return exec.Cond{}, false
	}
	pattern, ok := lit.Value().(string)
	if !ok {
		return exec.Cond{}, false
	}
	escape := '\\'
	if e.Escape != nil {
		el, ok := e.Escape.(*expression.Literal)
		if !ok {
			return exec.Cond{}, false
		}
		s, ok := el.Value().(string)
		rs := []rune(s)
		if !ok || len(rs) != 1 || rs[0] == '%' || rs[0] == '_' {
			return exec.Cond{}, false
		}
		escape = rs[0]
	}
	if strings.HasSuffix(pattern, string(escape)) {
		return exec.Cond{}, false // go-mysql-server's error, from the row path
	}
	return exec.Cond{Op: exec.CondLike, L: exec.ColOperand(c), Pattern: pattern, Escape: escape}, true
}

// cmpClass is the class in which a column's values compare.
func cmpClass(t sql.Type) string {
	switch {
	case !comparable(t):
		return ""
	case types.IsInteger(t) && types.IsUnsigned(t):
		return "unsigned"
	case types.IsInteger(t):
		return "signed"
	case types.IsFloat(t):
		return "float"
	case types.IsDecimal(t):
		return "decimal"
	case types.IsText(t) || types.IsBinaryType(t):
		return "bytes"
	}
	return "temporal"
}

// compareOf translates `a op b` where each side is a column of the table
// node or a literal, in one comparison class.
func compareOf(op exec.CondOp, sch sql.Schema, a, b sql.Expression) (exec.Cond, bool) {
	ca, aCol := columnRef(a, sch)
	cb, bCol := columnRef(b, sch)
	switch {
	case aCol && bCol:
		ta, tb := sch[ca].Type, sch[cb].Type
		class := cmpClass(ta)
		if class == "" || class != cmpClass(tb) {
			return exec.Cond{}, false
		}
		if class == "temporal" && !ta.Equals(tb) {
			return exec.Cond{}, false
		}
		if class == "bytes" && ta.(sql.StringType).Collation() != tb.(sql.StringType).Collation() {
			return exec.Cond{}, false
		}
		if class == "decimal" && ta.(sql.DecimalType).Scale() != tb.(sql.DecimalType).Scale() {
			return exec.Cond{}, false
		}
		return exec.Cond{Op: op, L: exec.ColOperand(ca), R: exec.ColOperand(cb)}, true
	case aCol:
		v, ok := constantFor(sch[ca].Type, b)
		return exec.Cond{Op: op, L: exec.ColOperand(ca), R: exec.ConstOperand(v)}, ok
	case bCol:
		v, ok := constantFor(sch[cb].Type, a)
		return exec.Cond{Op: op, L: exec.ConstOperand(v), R: exec.ColOperand(cb)}, ok
	}
	return exec.Cond{}, false
}

// constantFor returns a literal as exec's constant for a comparison with a
// column of type t (see exec.Operand), when it compares there as MySQL
// compares it: integers with integer columns, numbers with floating-point
// ones, integers and decimals no finer than the scale with DECIMAL ones,
// strings with string ones; NULL with any.
func constantFor(t sql.Type, e sql.Expression) (any, bool) {
	lit, ok := e.(*expression.Literal)
	if !ok {
		return nil, false
	}
	v := lit.Value()
	if v == nil {
		return nil, cmpClass(t) != ""
	}
	i64, isInt := base.AsInt64(v)
	u64, isUint := v.(uint64)
	switch cmpClass(t) {
	case "signed":
		return i64, isInt
	case "unsigned":
		switch {
		case isUint:
			return u64, true
		case isInt && i64 >= 0:
			return i64, true
		}
	case "float":
		if types.IsFloat(t) && t.Type() == sqltypes.Float32 && !isInt {
			// FLOAT against a fraction: leave the conversions to the
			// row path.
			return nil, false
		}
		switch x := v.(type) {
		case float64:
			return x, true
		case float32:
			return float64(x), true
		case decimal.Decimal:
			f, _ := x.Float64()
			return f, true
		}
		if isInt && i64 > -1<<53 && i64 < 1<<53 {
			return float64(i64), true
		}
	case "decimal":
		scale := int32(t.(sql.DecimalType).Scale())
		if d, ok := v.(decimal.Decimal); ok && d.Exponent() >= -scale {
			return d, true
		}
		if isInt {
			return decimal.NewFromInt(i64), true
		}
	case "bytes":
		if s, ok := v.(string); ok && types.IsText(t) {
			return s, true
		}
	}
	return nil, false
}
