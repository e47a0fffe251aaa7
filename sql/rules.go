package sql

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/lakesql/lakesql/planner"
)

// registerRules adds lakesql's analyzer rules to the builder.
func registerRules(b *analyzer.Builder, p *Provider) *analyzer.Builder {
	return planner.Register(b).AddPostAnalyzeRule(PushFiltersRule, pushFilters)
}

// maxStatementRetries bounds how often an autocommit statement that lost a
// write-write race is re-run before the client gets 1213.
const maxStatementRetries = 20

// retryBuilder builds write statements (INSERT, UPDATE, DELETE, REPLACE)
// into a retryIter: in autocommit mode the statement commits inside it,
// and a statement whose commit loses a write-write race against a
// concurrent one is re-run at a newer snapshot (DESIGN.md section 4), so
// concurrent single-statement n = n + 1 updates lose nothing.
// (go-mysql-server analyzes simple INSERTs and UPDATEs with fixed rule
// batches, so this hooks the executor instead of the analyzer.)
type retryBuilder struct{}

func (retryBuilder) Build(ctx *sql.Context, n sql.Node, row sql.Row) (sql.RowIter, error) {
	switch nn := n.(type) {
	case *plan.DescribeQuery:
		child, err := pushDML(ctx, nn.Child)
		if err != nil {
			return nil, err
		}
		if !nn.Format.Plan && !nn.Format.Analyze {
			return sql.RowsToRowIter(explainRows(ctx, child)...), nil
		}
		if child == nn.Child {
			return nil, nil
		}
		return rowexec.DefaultBuilder.Build(ctx, plan.NewDescribeQuery(nn.Format, child), row)
	case *plan.AnalyzeTable:
		return analyzeTables(ctx, nn, row)
	case *plan.InsertInto:
		if ld := loadDataOf(nn.Source); ld != nil {
			if it, bulk, err := loadBulk(ctx, nn, ld); bulk || err != nil {
				return it, err
			}
			n = nn.WithSource(withLoadSource(nn.Source))
		}
	case *plan.Update, *plan.DeleteFrom:
	default:
		return nil, nil
	}
	n, err := pushDML(ctx, n)
	if err != nil {
		return nil, err
	}
	s, err := sessionOf(ctx)
	if err != nil || s.inRetry || !autocommit(ctx) {
		return rowexec.DefaultBuilder.Build(ctx, n, row)
	}
	child, err := rowexec.DefaultBuilder.Build(ctx, n, row)
	if err != nil {
		return nil, err
	}
	return &retryIter{s: s, node: n, row: row, child: child}, nil
}

// analyzeTables runs ANALYZE TABLE one table at a time, answering "OK"
// for an empty table itself: go-mysql-server's statistics of an empty
// table with an index divide by zero (v0.20.0).
func analyzeTables(ctx *sql.Context, n *plan.AnalyzeTable, row sql.Row) (sql.RowIter, error) {
	var rows []sql.Row
	for _, t := range n.Tables {
		if st, ok := t.(sql.StatisticsTable); ok {
			if c, _, err := st.RowCount(ctx); err == nil && c == 0 {
				rows = append(rows, sql.Row{t.Name(), "analyze", "status", "OK"})
				continue
			}
		}
		one := *n
		one.Tables = []sql.Table{t}
		it, err := rowexec.DefaultBuilder.Build(ctx, &one, row)
		if err != nil {
			return nil, err
		}
		got, err := sql.RowIterToRows(ctx, it)
		if err != nil {
			return nil, err
		}
		rows = append(rows, got...)
	}
	return sql.RowsToRowIter(rows...), nil
}

// pushDML pushes the filters of a single-table UPDATE or DELETE (under
// EXPLAIN too): go-mysql-server analyzes those with a fixed set of rules
// that leaves out lakesql's analyzer rules, so pushFilters runs here, on
// the analyzed plan, before it is built. Other nodes are returned as they
// are (SELECTs and the rest went through the rule already).
func pushDML(ctx *sql.Context, n sql.Node) (sql.Node, error) {
	switch n.(type) {
	case *plan.Update, *plan.DeleteFrom:
		pushed, _, err := pushFilters(ctx, nil, trackKeyless(n), nil, nil, nil)
		return pushed, err
	}
	return n, nil
}

// retryIter is a write statement's iterator; see retryBuilder. It is a
// MutableRowIter, so that go-mysql-server puts its row-count accumulator
// below it.
type retryIter struct {
	s     *Session
	node  sql.Node
	row   sql.Row
	child sql.RowIter
	rows  []sql.Row
	done  bool
}

var _ sql.MutableRowIter = (*retryIter)(nil)

func (r *retryIter) GetChildIter() sql.RowIter { return r.child }

func (r *retryIter) WithChildIter(c sql.RowIter) sql.RowIter {
	n := *r
	n.child = c
	return &n
}

func (r *retryIter) Next(ctx *sql.Context) (sql.Row, error) {
	if !r.done {
		r.done = true
		rows, err := r.run(ctx)
		if err != nil {
			return nil, err
		}
		r.rows = rows
	}
	if len(r.rows) == 0 {
		return nil, io.EOF
	}
	row := r.rows[0]
	r.rows = r.rows[1:]
	return row, nil
}

func (r *retryIter) Close(ctx *sql.Context) error {
	if r.child != nil {
		return r.child.Close(ctx)
	}
	return nil
}

// run drains the statement and commits it; a lost race re-runs it.
func (r *retryIter) run(ctx *sql.Context) ([]sql.Row, error) {
	r.s.inRetry = true
	defer func() { r.s.inRetry = false }()
	for attempt := 0; ; attempt++ {
		rows, err := drainIter(ctx, r.child)
		r.child = nil
		if err == nil {
			if err = r.s.commitStatement(ctx); err == nil {
				return rows, nil
			}
		} else {
			r.s.rollbackStatement(ctx)
		}
		var se *mysql.SQLError
		if !errors.As(err, &se) || se.Num != mysql.ERLockDeadlock || attempt >= maxStatementRetries {
			return nil, err
		}
		r.s.p.log.Debug("statement lost a write race; running it again", "attempt", attempt+1)
		time.Sleep(time.Duration(attempt+1) * 200 * time.Microsecond)
		child, err := rowexec.DefaultBuilder.Build(ctx, r.node, r.row)
		if err != nil {
			return nil, err
		}
		r.child, _ = rowexec.AddAccumulatorIter(ctx, child)
	}
}

func drainIter(ctx *sql.Context, iter sql.RowIter) ([]sql.Row, error) {
	var rows []sql.Row
	for {
		r, err := iter.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			iter.Close(ctx)
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, iter.Close(ctx)
}

// autocommit reports whether the statement commits when it ends.
func autocommit(ctx *sql.Context) bool {
	if ctx.GetIgnoreAutoCommit() {
		return false
	}
	v, err := ctx.GetSessionVariable(ctx, "autocommit")
	if err != nil {
		return false
	}
	on, _, err := sqlBool(v)
	return err == nil && on
}

func sqlBool(v any) (bool, bool, error) {
	switch x := v.(type) {
	case bool:
		return x, true, nil
	case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x) != "0", true, nil
	case string:
		return x == "1" || x == "ON" || x == "on" || x == "true", true, nil
	}
	return false, false, fmt.Errorf("not a boolean: %v", v)
}

// commitStatement commits the open transaction's branches now, keeping
// the transaction object for go-mysql-server (its own commit at the end
// of the statement then has nothing left to do).
func (s *Session) commitStatement(ctx *sql.Context) error {
	t, ok := ctx.GetTransaction().(*Transaction)
	if !ok || t == nil {
		return nil
	}
	err := s.commitBranches(ctx, t)
	s.end(t)
	return err
}

// rollbackStatement drops the open transaction's branches (a failed
// autocommit statement).
func (s *Session) rollbackStatement(ctx *sql.Context) {
	if t, ok := ctx.GetTransaction().(*Transaction); ok && t != nil {
		s.end(t)
	}
}
