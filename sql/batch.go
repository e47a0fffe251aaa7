package sql

import (
	"context"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/planner"
	"github.com/lakesql/lakesql/scan"
)

var _ planner.BatchTable = (*Table)(nil)

// BatchScan implements planner.BatchTable: the vectorized nodes read the
// table's live rows at the session's snapshot (or AS OF) as Arrow records
// from scan partitions of similar cost, several per core so that uneven
// partitions even out. A pushed filter is the scan's predicate, and so are
// ranges of the primary key when it has one column (its files are sorted
// by it: row groups and pages outside the ranges are skipped); point
// lookups, lookups on secondary indexes (their index files serve them),
// and a transaction's own uncommitted writes to the table (laid over the
// rows by the row path only) leave the read to the row path.
func (t *Table) BatchScan(ctx *sql.Context, lookup *sql.IndexLookup, cols []int) (planner.BatchScan, bool, error) {
	if t.db.p.cfg.NoVectorize {
		return nil, false, nil
	}
	var pred *parquetio.Predicate
	if lookup != nil {
		if pred = lookupPredicate(lookup); pred == nil {
			return nil, false, nil
		}
	}
	v, err := t.view(ctx)
	if err != nil {
		return nil, false, err
	}
	if len(v.pending) > 0 {
		return nil, false, nil
	}
	out := t.outCols()
	ids := make([]int, len(cols))
	typs := make([]colInfo, len(cols))
	for i, c := range cols {
		ids[i], typs[i] = out[c].col.ID, out[c]
	}
	schema, err := parquetio.ArrowSchema(v.table.Schema, ids)
	if err != nil {
		return nil, false, err
	}
	return &batchScan{
		v:      v,
		req:    scan.Request{Columns: ids, Predicate: pred, Dictionaries: true},
		parts:  scan.Plan(v.table, 4*runtime.GOMAXPROCS(0)),
		schema: schema,
		cols:   typs,
	}, true, nil
}

// batchScan is an open planner.BatchScan of a table.
type batchScan struct {
	v      *readView
	req    scan.Request
	parts  []scan.Partition
	schema *arrow.Schema
	cols   []colInfo
}

func (b *batchScan) Schema() *arrow.Schema { return b.schema }

func (b *batchScan) Partitions() int { return len(b.parts) }

func (b *batchScan) Open(ctx context.Context, i int) (planner.RecordIter, error) {
	it, err := b.v.reader.Scan(ctx, b.v.table, b.req, &b.parts[i])
	if err != nil {
		return nil, translate(err)
	}
	return &batchIter{it: it}, nil
}

func (b *batchScan) Value(c int, v any) any { return fromStored(b.cols[c].typ, v) }

func (b *batchScan) Close() {}

// batchIter translates a scan's error for clients.
type batchIter struct{ it *scan.Iterator }

func (i *batchIter) Next() bool           { return i.it.Next() }
func (i *batchIter) Record() arrow.Record { return i.it.Record() }
func (i *batchIter) Close()               { i.it.Close() }

func (i *batchIter) Err() error {
	if err := i.it.Err(); err != nil {
		return translate(err)
	}
	return nil
}

// lookupPredicate returns the predicate that selects exactly the rows of
// a pushed filter or of ranges on a one-column primary key, or nil.
func lookupPredicate(l *sql.IndexLookup) *parquetio.Predicate {
	if pr, ok := l.Ranges.(pushRanges); ok {
		return pr.pred
	}
	ix, _ := l.Index.(*index)
	ranges, ok := l.Ranges.(sql.MySQLRangeCollection)
	if ix == nil || !ok || !ix.primary || len(ix.cols) != 1 || l.IsEmptyRange {
		return nil
	}
	if _, point := pointKeys(ix, ranges); point {
		return nil
	}
	for _, r := range ranges {
		if len(r) != 1 {
			return nil
		}
	}
	return rangePredicate(ix.cols[0], ranges)
}
