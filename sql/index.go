package sql

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/scan"
)

// index is the primary key or a secondary index of a table as
// go-mysql-server plans lookups with. Lookups on the primary key go to the
// scan's key path (point lookups through footers, bloom filters and key
// pages); others scan with the ranges as a filter, so that results never
// depend on secondary indexes (those are a later issue).
type index struct {
	t       *Table
	name    string
	cols    []colInfo
	unique  bool
	primary bool
}

var _ sql.OrderedIndex = (*index)(nil)

// Order implements sql.OrderedIndex: a lookup returns rows in no
// particular order (files, then MemTable rows), so go-mysql-server keeps
// its sorts.
func (ix *index) Order() sql.IndexOrder { return sql.IndexOrderNone }

// Reversible implements sql.OrderedIndex.
func (ix *index) Reversible() bool { return false }

// GetIndexes implements sql.IndexAddressable.
func (t *Table) GetIndexes(ctx *sql.Context) ([]sql.Index, error) {
	var out []sql.Index
	if pk := t.primaryIndex(); pk != nil {
		out = append(out, pk)
	}
	for _, ix := range t.meta.Indexes {
		cols, ok := t.colsByID(ix.Columns)
		if !ok {
			continue
		}
		out = append(out, &index{t: t, name: ix.Name, cols: cols, unique: ix.Unique})
	}
	return out, nil
}

func (t *Table) primaryIndex() *index {
	if len(t.keyIdx) == 0 || t.keyless() {
		return nil
	}
	cols, ok := t.colsByID(t.meta.Key)
	if !ok {
		return nil
	}
	return &index{t: t, name: "PRIMARY", cols: cols, unique: true, primary: true}
}

// keyless reports whether the table is keyed by the hidden row id.
func (t *Table) keyless() bool {
	for _, ki := range t.keyIdx {
		if t.meta.Schema.Columns[ki].Hidden {
			return true
		}
	}
	return false
}

func (t *Table) colsByID(ids []int) ([]colInfo, bool) {
	var out []colInfo
	for _, id := range ids {
		found := false
		for _, c := range t.cols {
			if c.col.ID == id {
				out = append(out, c)
				found = true
			}
		}
		if !found {
			return nil, false
		}
	}
	return out, true
}

func (ix *index) ID() string       { return ix.name }
func (ix *index) Database() string { return ix.t.db.name }
func (ix *index) Table() string    { return ix.t.meta.Name }
func (ix *index) Expressions() []string {
	out := make([]string, len(ix.cols))
	for i, c := range ix.cols {
		out[i] = strings.ToLower(ix.t.meta.Name) + "." + strings.ToLower(c.col.Name)
	}
	return out
}
func (ix *index) IsUnique() bool                             { return ix.unique }
func (ix *index) IsSpatial() bool                            { return false }
func (ix *index) IsFullText() bool                           { return false }
func (ix *index) IsVector() bool                             { return false }
func (ix *index) Comment() string                            { return "" }
func (ix *index) IndexType() string                          { return "BTREE" }
func (ix *index) IsGenerated() bool                          { return false }
func (ix *index) CanSupport(*sql.Context, ...sql.Range) bool { return true }
func (ix *index) CanSupportOrderBy(sql.Expression) bool      { return false }
func (ix *index) PrefixLengths() []uint16                    { return nil }
func (ix *index) ColumnExpressionTypes() []sql.ColumnExpressionType {
	exprs := ix.Expressions()
	out := make([]sql.ColumnExpressionType, len(ix.cols))
	for i, c := range ix.cols {
		out[i] = sql.ColumnExpressionType{Expression: exprs[i], Type: c.sql}
	}
	return out
}

// lookupRows answers an index lookup: point lookups on the whole primary
// key go to the key path; anything else is a scan that keeps the rows
// inside the ranges (pruned by the ranges of the index's first column).
func (t *Table) lookupRows(ctx *sql.Context, v *readView, l *sql.IndexLookup) (sql.RowIter, error) {
	if pr, ok := l.Ranges.(pushRanges); ok {
		return t.scanRows(ctx, v, pr.pred, nil)
	}
	ix, _ := l.Index.(*index)
	ranges, ok := l.Ranges.(sql.MySQLRangeCollection)
	if ix == nil || !ok {
		return nil, fmt.Errorf("lakesql: unexpected index lookup %T on %s", l.Ranges, t.meta.Name)
	}
	if l.IsEmptyRange {
		return sql.RowsToRowIter(), nil
	}
	if ix.primary {
		if keys, ok := pointKeys(ix, ranges); ok {
			return t.pointRows(ctx, v, keys)
		}
	}
	// Map each range column to the visible row's ordinal.
	ordinals := make([]int, len(ix.cols))
	for i, c := range ix.cols {
		for j, vc := range t.cols {
			if vc.col.ID == c.col.ID {
				ordinals[i] = j
			}
		}
	}
	full := t.WithProjections(nil).(*Table)
	// The keep function sees full rows; project afterwards.
	keep := func(row sql.Row) (bool, error) { return inRanges(ctx, row, ordinals, ranges) }
	var iter sql.RowIter
	if rows, key, ok, err := full.cachedRows(ctx, v, nil, ""); err != nil {
		return nil, err
	} else if ok {
		// A small table: a join's lookups into it search its cached rows
		// instead of each scanning the files.
		if iter, err = lookupSorted(ctx, v.txn, key, rows, ordinals[0], ranges, keep); err != nil {
			return nil, err
		}
	} else if pred := rangePredicate(ix.cols[0], ranges); pred != nil && !ix.primary && !t.db.p.cfg.NoIndexLookups {
		ixq, err := t.indexQuery(ix, pred, ranges)
		if err != nil {
			return nil, err
		}
		if iter, err = full.indexRows(ctx, v, pred, keep, ixq); err != nil {
			return nil, err
		}
	} else if iter, err = full.scanRows(ctx, v, pred, keep); err != nil {
		return nil, err
	}
	if t.proj == nil {
		return iter, nil
	}
	return &projectIter{in: iter, proj: t.proj}, nil
}

// lookupSorted answers an index lookup from the cached rows of a small
// table (cached under key in tx): it sorts them by the index's first column
// (ordinal ord; the sorted copy is cached too), finds each range's window
// of first-column values by binary search over the range's cuts, and keeps
// the rows of the windows that keep keeps, each once.
func lookupSorted(ctx *sql.Context, tx *Transaction, key string, rows []sql.Row, ord int,
	ranges sql.MySQLRangeCollection, keep func(sql.Row) (bool, error)) (sql.RowIter, error) {
	if len(ranges) == 0 || len(ranges[0]) == 0 {
		return sql.RowsToRowIter(), nil
	}
	typ := ranges[0][0].Typ
	skey := fmt.Sprintf("%s|sorted by %d", key, ord)
	sorted, ok := tx.scans[skey]
	if !ok {
		sorted = slices.Clone(rows)
		var err error
		slices.SortStableFunc(sorted, func(a, b sql.Row) int {
			c, cerr := compareNullsFirst(ctx, typ, a[ord], b[ord])
			if cerr != nil && err == nil {
				err = cerr
			}
			return c
		})
		if err != nil {
			return nil, err
		}
		tx.scans[skey] = sorted
	}
	var firstErr error
	note := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	var hits []int
	for _, r := range ranges {
		ce := r[0]
		// Rows whose first value lies above the lower cut form a suffix,
		// those below the upper cut a prefix.
		lo := sort.Search(len(sorted), func(i int) bool {
			below, _ := cuts(sorted[i][ord])
			c, err := ce.LowerBound.Compare(below, typ)
			note(err)
			return c <= 0
		})
		hi := sort.Search(len(sorted), func(i int) bool {
			_, above := cuts(sorted[i][ord])
			c, err := above.Compare(ce.UpperBound, typ)
			note(err)
			return c > 0
		})
		for i := lo; i < hi; i++ {
			ok, err := keep(sorted[i])
			if err != nil {
				return nil, err
			}
			if ok {
				hits = append(hits, i)
			}
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if len(ranges) > 1 {
		slices.Sort(hits)
		hits = slices.Compact(hits)
	}
	out := make([]sql.Row, len(hits))
	for i, h := range hits {
		out[i] = sorted[h]
	}
	return sql.RowsToRowIter(out...), nil
}

// compareNullsFirst orders values of typ with NULL first.
func compareNullsFirst(ctx *sql.Context, typ sql.Type, a, b any) (int, error) {
	switch {
	case a == nil && b == nil:
		return 0, nil
	case a == nil:
		return -1, nil
	case b == nil:
		return 1, nil
	}
	return typ.Compare(ctx, a, b)
}

// projectIter projects full rows to the table's projection.
type projectIter struct {
	in   sql.RowIter
	proj []int
}

func (p *projectIter) Next(ctx *sql.Context) (sql.Row, error) {
	row, err := p.in.Next(ctx)
	if err != nil {
		return nil, err
	}
	out := make(sql.Row, len(p.proj))
	for i, j := range p.proj {
		out[i] = row[j]
	}
	return out, nil
}

func (p *projectIter) Close(ctx *sql.Context) error { return p.in.Close(ctx) }

// pointKeys returns the key tuples when every range is one point on every
// key column.
func pointKeys(ix *index, ranges sql.MySQLRangeCollection) ([][]any, bool) {
	var keys [][]any
	for _, r := range ranges {
		if len(r) != len(ix.cols) {
			return nil, false
		}
		key := make([]any, len(r))
		for i, ce := range r {
			lo, ok1 := ce.LowerBound.(sql.Below)
			hi, ok2 := ce.UpperBound.(sql.Above)
			if !ok1 || !ok2 || lo.Key == nil {
				return nil, false
			}
			if c, err := ce.Typ.Compare(context.Background(), lo.Key, hi.Key); err != nil || c != 0 {
				return nil, false
			}
			key[i] = lo.Key
		}
		keys = append(keys, key)
	}
	return keys, true
}

// pointRows looks the keys up.
func (t *Table) pointRows(ctx *sql.Context, v *readView, keys [][]any) (sql.RowIter, error) {
	enc := t.enc
	if enc == nil {
		return nil, fmt.Errorf("lakesql: table %s has no key", t.meta.Name)
	}
	var rows []sql.Row
	seen := map[parquetio.Key]bool{}
	for _, kv := range keys {
		stored := make([]any, len(kv))
		ok := true
		for i, x := range kv {
			c := t.meta.Schema.Columns[t.keyIdx[i]]
			typ, _ := base.ParseType(c.Type)
			s, err := keyValue(typ, x)
			if err != nil {
				ok = false // a value no key can hold matches nothing
				break
			}
			stored[i] = s
		}
		if !ok {
			continue
		}
		key, err := enc.Encode(stored...)
		if err != nil {
			continue
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		row, found, err := t.lookupRow(ctx, v, key, true)
		if err != nil {
			return nil, err
		}
		if found {
			if t.proj != nil {
				out := make(sql.Row, len(t.proj))
				for i, j := range t.proj {
					out[i] = row[j]
				}
				row = out
			}
			rows = append(rows, row)
		}
	}
	return sql.RowsToRowIter(rows...), nil
}

// keyValue converts a go-mysql-server value to the stored form of a key
// column, refusing values the column cannot hold.
func keyValue(typ base.Type, v any) (any, error) {
	sqlT, err := sqlType(typ)
	if err != nil {
		return nil, err
	}
	cv, inRange, err := sqlT.Convert(context.Background(), v)
	if err != nil {
		return nil, err
	}
	if inRange != sql.InRange {
		return nil, fmt.Errorf("out of range")
	}
	return toStored(typ, cv)
}

// inRanges reports whether a row lies in one of the ranges.
func inRanges(ctx *sql.Context, row sql.Row, ordinals []int, ranges sql.MySQLRangeCollection) (bool, error) {
	for _, r := range ranges {
		in := true
		for i, ce := range r {
			if i >= len(ordinals) {
				break
			}
			ok, err := inColumnRange(row[ordinals[i]], ce)
			if err != nil {
				return false, err
			}
			if !ok {
				in = false
				break
			}
		}
		if in {
			return true, nil
		}
	}
	return false, nil
}

// cuts returns the cuts just below and just above value x.
func cuts(x any) (below, above sql.MySQLRangeCut) {
	if x == nil {
		return sql.BelowNull{}, sql.AboveNull{}
	}
	return sql.Below{Key: x}, sql.Above{Key: x}
}

// inColumnRange: x lies above the lower cut and below the upper one. A
// value x is above cut L exactly when L <= Below(x), and below U when
// Above(x) <= U (NULL sits between BelowNull and AboveNull).
func inColumnRange(x any, ce sql.MySQLRangeColumnExpr) (bool, error) {
	below, above := cuts(x)
	c, err := ce.LowerBound.Compare(below, ce.Typ)
	if err != nil || c > 0 {
		return false, err
	}
	c, err = above.Compare(ce.UpperBound, ce.Typ)
	if err != nil || c > 0 {
		return false, err
	}
	return true, nil
}

// rangePredicate prunes a scan by the ranges of one column: the OR of each
// range's bounds on it. Values the column cannot hold prune nothing.
// indexQuery is the lookup of ranges (over the index's first column, whose
// predicate is match) through secondary index ix: the index files answer
// match, the MemTables the encoded bounds of the ranges.
func (t *Table) indexQuery(ix *index, match *parquetio.Predicate, ranges sql.MySQLRangeCollection) (*scan.IndexQuery, error) {
	q := &scan.IndexQuery{Name: ix.name, Match: match}
	for _, c := range ix.cols {
		q.Columns = append(q.Columns, c.col.ID)
	}
	enc, err := parquetio.NewIndexKeyEncoder(&t.meta.Schema, q.Columns[:1])
	if err != nil {
		return nil, err
	}
	bound := func(cut sql.MySQLRangeCut, upper bool) (parquetio.Key, bool) {
		switch b := cut.(type) {
		case sql.Below:
			v, err := keyValue(ix.cols[0].typ, b.Key)
			if err != nil {
				return "", false
			}
			k, err := enc.Encode(v)
			return k, err == nil
		case sql.Above:
			v, err := keyValue(ix.cols[0].typ, b.Key)
			if err != nil {
				return "", false
			}
			k, err := enc.Encode(v)
			return k, err == nil
		case sql.AboveNull:
			if upper {
				return "\x00", true // NULL: every key that begins with the NULL marker
			}
			return "\x01", true // the first non-NULL value
		}
		return "", false // unbounded
	}
	// Points: every range a single non-NULL value of the first column.
	for _, r := range ranges {
		lo, ok1 := r[0].LowerBound.(sql.Below)
		hi, ok2 := r[0].UpperBound.(sql.Above)
		if !ok1 || !ok2 {
			q.Points = nil
			break
		}
		lv, err1 := keyValue(ix.cols[0].typ, lo.Key)
		hv, err2 := keyValue(ix.cols[0].typ, hi.Key)
		if err1 != nil || err2 != nil || lv == nil || fmt.Sprint(lv) != fmt.Sprint(hv) {
			q.Points = nil
			break
		}
		q.Points = append(q.Points, lv)
	}
	lo, hi := parquetio.Key("\xff"), parquetio.Key("")
	loOpen, hiOpen := false, false
	for _, r := range ranges {
		l, ok := bound(r[0].LowerBound, false)
		if !ok {
			loOpen = true
		} else if l < lo {
			lo = l
		}
		h, ok := bound(r[0].UpperBound, true)
		if !ok {
			hiOpen = true
		} else if h > hi {
			hi = h
		}
	}
	if !loOpen {
		q.Lo = lo
	}
	if !hiOpen {
		q.Hi = hi
	}
	return q, nil
}

func rangePredicate(c colInfo, ranges sql.MySQLRangeCollection) *parquetio.Predicate {
	var ors []*parquetio.Predicate
	for _, r := range ranges {
		if len(r) == 0 {
			return nil
		}
		ce := r[0]
		var ands []*parquetio.Predicate
		switch lo := ce.LowerBound.(type) {
		case sql.Below:
			v, err := keyValue(c.typ, lo.Key)
			if err != nil {
				return nil
			}
			ands = append(ands, parquetio.Cmp(c.col.ID, parquetio.OpGe, v))
		case sql.Above:
			v, err := keyValue(c.typ, lo.Key)
			if err != nil {
				return nil
			}
			ands = append(ands, parquetio.Cmp(c.col.ID, parquetio.OpGt, v))
		case sql.AboveNull:
			ands = append(ands, parquetio.IsNotNull(c.col.ID))
		case sql.BelowNull:
		default:
			return nil
		}
		switch hi := ce.UpperBound.(type) {
		case sql.Above:
			v, err := keyValue(c.typ, hi.Key)
			if err != nil {
				return nil
			}
			ands = append(ands, parquetio.Cmp(c.col.ID, parquetio.OpLe, v))
		case sql.Below:
			v, err := keyValue(c.typ, hi.Key)
			if err != nil {
				return nil
			}
			ands = append(ands, parquetio.Cmp(c.col.ID, parquetio.OpLt, v))
		case sql.AboveNull:
			ands = append(ands, parquetio.IsNull(c.col.ID))
		case sql.AboveAll:
		default:
			return nil
		}
		ors = append(ors, parquetio.And(ands...))
	}
	if len(ors) == 0 {
		return nil
	}
	return parquetio.Or(ors...)
}
