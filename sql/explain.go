package sql

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"

	"github.com/lakesql/lakesql/planner"
)

// explainRows answers EXPLAIN in MySQL's tabular format (go-mysql-server
// v0.20.0 returns one placeholder row whose "NULL" strings do not even fit
// its own numeric columns): one row per table the plan reads, in plan
// order, with its access type, the index used, the row count (exact for
// lakesql tables) and what is done with it (including "Using vectorized
// aggregation" or "top-N" when a vectorized node reads the table on Arrow
// batches). EXPLAIN PLAN and EXPLAIN
// FORMAT=TREE give go-mysql-server's plan tree.
func explainRows(ctx *sql.Context, n sql.Node) []sql.Row {
	var rows []sql.Row
	filtered := map[sql.Node]bool{} // table nodes directly under a Filter
	hashed := map[sql.Node]bool{}   // table nodes a hash join builds on
	vector := map[sql.Node]string{} // table nodes a vectorized node reads
	selectType := "SIMPLE"
	transform.Inspect(n, func(n sql.Node) bool {
		switch n := n.(type) {
		case *plan.Filter:
			if t := tableUnder(n.Child); t != nil {
				filtered[t] = true
			}
		case *plan.HashLookup:
			under := n.Child
			if f, ok := under.(*plan.Filter); ok {
				under = f.Child
			}
			if t := tableUnder(under); t != nil {
				hashed[t] = true
			}
		case *plan.SubqueryAlias, *plan.SetOp:
			selectType = "PRIMARY"
		case planner.Vectorized:
			// The outermost vectorized node names what runs on batches
			// (an aggregation over a vectorized filter is "aggregation").
			if t := tableUnder(n.Children()[0]); t != nil && vector[t] == "" {
				vector[t] = "Using vectorized " + n.Vectorized()
			}
			if t := tableUnder(n.Children()[0]); t != nil && n.Vectorized() == "filter" {
				filtered[t] = true
			}
		}
		return true
	})
	var alias string
	transform.Inspect(n, func(n sql.Node) bool {
		var (
			table   sql.Node
			access  = "ALL"
			keyName any
			extra   string
		)
		switch n := n.(type) {
		case *plan.TableAlias:
			alias = n.Name()
			return true
		case *plan.ResolvedTable:
			table = n
		case *plan.IndexedTableAccess:
			table = n
			if ix := n.Index(); ix != nil && ix.ID() != pushdownIndex {
				keyName = ix.ID()
				switch {
				case !n.IsStatic() && n.IsStrictLookup():
					access = "eq_ref"
				case !n.IsStatic():
					access = "ref"
				case pointOnUnique(ctx, n, ix):
					access = "const"
				default:
					access = "range"
				}
			} else {
				extra = "Using pushed condition"
			}
		default:
			return true
		}
		name := table.(sql.Nameable).Name()
		if alias != "" {
			name, alias = alias, ""
		}
		var count any
		if access == "const" {
			count = uint64(1)
		} else if st, ok := table.(sql.TableNode).UnderlyingTable().(sql.StatisticsTable); ok {
			if c, _, err := st.RowCount(ctx); err == nil {
				count = c
			}
		}
		if filtered[table] {
			extra = join(extra, "Using where")
		}
		if hashed[table] {
			extra = join(extra, "Using join buffer (hash join)")
		}
		if v := vector[table]; v != "" {
			extra = join(extra, v)
		}
		rows = append(rows, sql.Row{uint64(1), selectType, name, nil, access, keyName, keyName, nil, nil, count, 100.0, extra})
		return false
	})
	if len(rows) == 0 {
		// No table read: a constant SELECT, or COUNT(*) answered from the
		// exact row count.
		rows = append(rows, sql.Row{uint64(1), selectType, nil, nil, nil, nil, nil, nil, nil, nil, nil, "No tables used"})
	}
	return rows
}

// pointOnUnique reports whether a static lookup is one point on every
// column of a unique index: at most one row, MySQL's "const".
func pointOnUnique(ctx *sql.Context, n *plan.IndexedTableAccess, ix sql.Index) bool {
	if !ix.IsUnique() {
		return false
	}
	l, err := n.GetLookup(ctx, nil)
	if err != nil {
		return false
	}
	ranges, ok := l.Ranges.(sql.MySQLRangeCollection)
	if !ok || len(ranges) != 1 || len(ranges[0]) != len(ix.Expressions()) {
		return false
	}
	for _, ce := range ranges[0] {
		lo, ok1 := ce.LowerBound.(sql.Below)
		hi, ok2 := ce.UpperBound.(sql.Above)
		if !ok1 || !ok2 || lo.Key == nil {
			return false
		}
		if c, err := ce.Typ.Compare(ctx, lo.Key, hi.Key); err != nil || c != 0 {
			return false
		}
	}
	return true
}

// tableUnder returns the table scan n is (under an alias too), or nil.
func tableUnder(n sql.Node) sql.Node {
	if v, ok := n.(planner.Vectorized); ok {
		n = v.Children()[0]
	}
	if ta, ok := n.(*plan.TableAlias); ok {
		n = ta.Child
	}
	switch n.(type) {
	case *plan.ResolvedTable, *plan.IndexedTableAccess:
		return n
	}
	return nil
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
