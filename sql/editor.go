package sql

import (
	"fmt"
	"io"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/memwal"
	"github.com/lakesql/lakesql/scan"
)

// editor applies a statement's row changes to the session transaction's
// memwal transaction on the table's branch. go-mysql-server brackets each
// statement (each row, for INSERT IGNORE) with StatementBegin and
// StatementComplete or DiscardChanges; a discarded statement is undone
// through a savepoint, so a failed statement leaves no trace.
type editor struct {
	t  *Table
	bt *branchTxn
	sp int // the savepoint of the running statement, -1 before its first write
	// byValue: for UPDATE and DELETE of a table without a primary key,
	// the hidden ids of the rows the statement has not changed yet, by
	// row signature.
	byValue map[string][]parquetio.Key
}

var (
	_ sql.RowInserter = (*editor)(nil)
	_ sql.RowUpdater  = (*editor)(nil)
	_ sql.RowDeleter  = (*editor)(nil)
	_ sql.RowReplacer = (*editor)(nil)
)

func (t *Table) newEditor() *editor { return &editor{t: t, sp: -1} }

// Inserter implements sql.InsertableTable.
func (t *Table) Inserter(*sql.Context) sql.RowInserter { return t.newEditor() }

// Updater implements sql.UpdatableTable.
func (t *Table) Updater(*sql.Context) sql.RowUpdater { return t.newEditor() }

// Deleter implements sql.DeletableTable.
func (t *Table) Deleter(*sql.Context) sql.RowDeleter { return t.newEditor() }

// Replacer implements sql.ReplaceableTable.
func (t *Table) Replacer(*sql.Context) sql.RowReplacer { return t.newEditor() }

// StatementBegin implements sql.EditOpenerCloser.
func (e *editor) StatementBegin(ctx *sql.Context) {
	e.sp = -1
	e.byValue = nil
	if e.t.track != nil {
		e.t.track.reset()
	}
}

// DiscardChanges implements sql.EditOpenerCloser.
func (e *editor) DiscardChanges(ctx *sql.Context, cause error) error {
	if e.bt != nil && e.bt.tx != nil && e.sp >= 0 {
		e.bt.tx.RollbackTo(e.sp)
	}
	e.sp = -1
	return nil
}

// StatementComplete implements sql.EditOpenerCloser. The rows of a LOAD
// DATA take the bulk path (DESIGN.md section 4): the transaction commits
// them straight into data files, with no WAL record, and makes a version.
func (e *editor) StatementComplete(ctx *sql.Context) error {
	e.sp = -1
	if e.t.asOf != nil {
		return errReadOnlyAsOf // also when no row matched
	}
	if e.bt != nil && e.bt.tx != nil && isLoadData(ctx) && e.bt.tx.Wrote(e.t.meta.ID) {
		e.bt.tx.SetBulk(memwal.BulkOptions{Operation: "LOAD DATA", Version: true, User: userOf(ctx)})
	}
	return nil
}

// isLoadData reports whether the running statement is a LOAD DATA.
func isLoadData(ctx *sql.Context) bool {
	q := strings.TrimSpace(ctx.Query())
	return len(q) >= 9 && strings.EqualFold(q[:9], "LOAD DATA")
}

// Close implements sql.Closer.
func (e *editor) Close(*sql.Context) error { return nil }

// begin returns the branch transaction, marking the statement's savepoint
// before its first write.
func (e *editor) begin(ctx *sql.Context) (*branchTxn, error) {
	if e.t.asOf != nil {
		return nil, errReadOnlyAsOf
	}
	if e.bt == nil {
		s, err := sessionOf(ctx)
		if err != nil {
			return nil, err
		}
		bt, err := s.branchTxn(ctx, e.t.db.st, e.t.db.branch, true)
		if err != nil {
			return nil, translate(err)
		}
		e.bt = bt
	}
	if e.sp < 0 {
		e.sp = e.bt.tx.Savepoint()
	}
	return e.bt, nil
}

// stored converts a visible row to a stored one (all columns, schema
// order; a keyless table's hidden row id is left nil for the writer).
func (e *editor) stored(row sql.Row) ([]any, error) {
	t := e.t
	out := make([]any, len(t.meta.Schema.Columns))
	for i, c := range t.cols {
		if i >= len(row) {
			break
		}
		v, err := toStored(c.typ, row[i])
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.col.Name, err)
		}
		if v == nil && !c.col.Nullable {
			return nil, sql.ErrInsertIntoNonNullableProvidedNull.New(c.col.Name)
		}
		out[c.pos] = v
	}
	return out, nil
}

// key encodes the key of a stored row.
func (e *editor) key(bt *branchTxn, stored []any) (parquetio.Key, error) {
	kv := make([]any, len(e.t.keyIdx))
	for i, ki := range e.t.keyIdx {
		kv[i] = stored[ki]
	}
	return bt.tx.Key(e.t.meta.ID, kv...)
}

// keyString spells a key for a duplicate-key message: 'a-b'.
func (e *editor) keyString(row sql.Row) string {
	var parts []string
	for _, ki := range e.t.keyIdx {
		for i, c := range e.t.cols {
			if c.pos == ki {
				parts = append(parts, fmt.Sprint(row[i]))
			}
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// existing returns the live row of key as the transaction sees it.
func (e *editor) existing(ctx *sql.Context, bt *branchTxn, key parquetio.Key) (sql.Row, bool, error) {
	stored, ok, err := bt.tx.Get(ctx, e.t.meta.ID, key)
	if err != nil || !ok {
		return nil, false, translate(err)
	}
	return e.t.sqlRow(stored), true, nil
}

// put writes a stored row after checking the table's UNIQUE indexes.
func (e *editor) put(ctx *sql.Context, bt *branchTxn, stored []any, replacing parquetio.Key) error {
	if err := e.checkUnique(ctx, bt, stored, replacing); err != nil {
		return err
	}
	_, err := bt.tx.Put(e.t.meta.ID, stored)
	return translate(err)
}

// Insert implements sql.RowInserter: a key that exists is the unique-key
// error carrying the existing row (go-mysql-server then runs ON DUPLICATE
// KEY UPDATE, REPLACE or INSERT IGNORE with it).
func (e *editor) Insert(ctx *sql.Context, row sql.Row) error {
	bt, err := e.begin(ctx)
	if err != nil {
		return err
	}
	stored, err := e.stored(row)
	if err != nil {
		return err
	}
	if e.t.keyless() {
		if err := e.put(ctx, bt, stored, ""); err != nil {
			return err
		}
		e.t.inserted(ctx, row)
		return nil
	}
	key, err := e.key(bt, stored)
	if err != nil {
		return err
	}
	if old, ok, err := e.existing(ctx, bt, key); err != nil {
		return err
	} else if ok {
		return dupKeyError(e.keyString(row), old)
	}
	if err := e.put(ctx, bt, stored, ""); err != nil {
		return err
	}
	e.t.inserted(ctx, row)
	return nil
}

// Update implements sql.RowUpdater.
func (e *editor) Update(ctx *sql.Context, old, new sql.Row) error {
	bt, err := e.begin(ctx)
	if err != nil {
		return err
	}
	if e.t.keyless() {
		return e.keylessUpdate(ctx, bt, old, new)
	}
	oldStored, err := e.stored(old)
	if err != nil {
		return err
	}
	newStored, err := e.stored(new)
	if err != nil {
		return err
	}
	oldKey, err := e.key(bt, oldStored)
	if err != nil {
		return err
	}
	newKey, err := e.key(bt, newStored)
	if err != nil {
		return err
	}
	if newKey != oldKey {
		if other, ok, err := e.existing(ctx, bt, newKey); err != nil {
			return err
		} else if ok {
			return dupKeyError(e.keyString(new), other)
		}
		if err := bt.tx.Delete(e.t.meta.ID, oldKey); err != nil {
			return translate(err)
		}
	}
	return e.put(ctx, bt, newStored, oldKey)
}

// Delete implements sql.RowDeleter.
func (e *editor) Delete(ctx *sql.Context, row sql.Row) error {
	bt, err := e.begin(ctx)
	if err != nil {
		return err
	}
	if e.t.keyless() {
		key, ok, err := e.matchKeyless(ctx, bt, row)
		if err != nil || !ok {
			return err
		}
		return translate(bt.tx.Delete(e.t.meta.ID, key))
	}
	stored, err := e.stored(row)
	if err != nil {
		return err
	}
	key, err := e.key(bt, stored)
	if err != nil {
		return err
	}
	return translate(bt.tx.Delete(e.t.meta.ID, key))
}

// keylessUpdate updates one row equal to old (rows of a table without a
// primary key that are equal in every column are indistinguishable, so any
// one of them not yet changed by the statement is the row).
func (e *editor) keylessUpdate(ctx *sql.Context, bt *branchTxn, old, new sql.Row) error {
	key, ok, err := e.matchKeyless(ctx, bt, old)
	if err != nil || !ok {
		return err
	}
	stored, err := e.stored(new)
	if err != nil {
		return err
	}
	cur, _, err := bt.tx.Get(ctx, e.t.meta.ID, key)
	if err != nil {
		return translate(err)
	}
	for _, ki := range e.t.keyIdx {
		stored[ki] = cur[ki]
	}
	return e.put(ctx, bt, stored, key)
}

// matchKeyless finds the hidden row id of a row equal to row that the
// statement has not matched yet. The first call of a statement reads the
// table once (with the hidden ids, and the transaction's own rows over
// it) into a map from row values to ids; later calls take from it.
func (e *editor) matchKeyless(ctx *sql.Context, bt *branchTxn, row sql.Row) (parquetio.Key, bool, error) {
	tr := e.t.track
	if tr != nil {
		if key, ok := tr.take(row); ok {
			return key, true, nil
		}
	}
	if e.byValue == nil {
		idx, err := e.keylessIndex(ctx)
		if err != nil {
			return "", false, err
		}
		e.byValue = idx
	}
	sig := rowSignature(row)
	keys := e.byValue[sig]
	for len(keys) > 0 && tr != nil && tr.taken(keys[0]) {
		keys = keys[1:] // taken through the tracker
	}
	if len(keys) == 0 {
		e.byValue[sig] = nil
		return "", false, nil
	}
	e.byValue[sig] = keys[1:]
	if tr != nil {
		tr.mark(keys[0])
	}
	return keys[0], true, nil
}

// keylessIndex maps the signature of each live row to its hidden ids.
func (e *editor) keylessIndex(ctx *sql.Context) (map[string][]parquetio.Key, error) {
	keylessScans.Add(1)
	full := e.t.WithProjections(nil).(*Table)
	v, err := full.view(ctx)
	if err != nil {
		return nil, err
	}
	it, err := full.scanRowsWithKeys(ctx, v, nil, nil)
	if err != nil {
		return nil, err
	}
	defer it.Close(ctx)
	idx := map[string][]parquetio.Key{}
	for {
		r, key, err := it.nextWithKey(ctx)
		if err == io.EOF {
			return idx, nil
		}
		if err != nil {
			return nil, err
		}
		sig := rowSignature(r)
		idx[sig] = append(idx[sig], key)
	}
}

// rowSignature spells a row's values with their Go types: go-mysql-server
// hands UPDATE and DELETE the rows the table's scan gave it, so equal rows
// have equal signatures.
func rowSignature(row sql.Row) string {
	var sb strings.Builder
	for _, v := range row {
		fmt.Fprintf(&sb, "%T:%v\x00", v, v)
	}
	return sb.String()
}

// uniqueQuery is the lookup of vals (every column of ix, none NULL) through
// the index ix itself, or nil when lookups through indexes are off.
func (e *editor) uniqueQuery(ix base.Index, vals []any, match *parquetio.Predicate) (*scan.IndexQuery, error) {
	if e.t.db.p.cfg.NoIndexLookups {
		return nil, nil
	}
	enc, err := parquetio.NewIndexKeyEncoder(&e.t.meta.Schema, ix.Columns)
	if err != nil {
		return nil, err
	}
	k, err := enc.Encode(vals...)
	if err != nil {
		return nil, err
	}
	return &scan.IndexQuery{Name: ix.Name, Columns: ix.Columns, Match: match, Lo: k, Hi: k, Points: vals[:1]}, nil
}

// checkUnique refuses a row whose values of a UNIQUE index another live
// row has (1062). NULLs never collide, as in MySQL. The search is a scan
// pruned by the values; the writer-side value map is the secondary-index
// issue's.
func (e *editor) checkUnique(ctx *sql.Context, bt *branchTxn, stored []any, replacing parquetio.Key) error {
	if len(e.t.meta.Indexes) == 0 {
		return nil
	}
	self, err := e.key(bt, stored)
	if err != nil && !e.t.keyless() {
		return err
	}
	for _, ix := range e.t.meta.Indexes {
		if !ix.Unique {
			continue
		}
		cols, ok := e.t.colsByID(ix.Columns)
		if !ok {
			continue
		}
		var ands []*parquetio.Predicate
		vals := make([]any, len(cols))
		null := false
		for i, c := range cols {
			vals[i] = stored[c.pos]
			if vals[i] == nil {
				null = true
			}
			ands = append(ands, parquetio.Eq(c.col.ID, vals[i]))
		}
		if null {
			continue
		}
		full := e.t.WithProjections(nil).(*Table)
		v, err := full.view(ctx)
		if err != nil {
			return err
		}
		ordinals := make([]int, len(cols))
		for i, c := range cols {
			for j, vc := range full.cols {
				if vc.col.ID == c.col.ID {
					ordinals[i] = j
				}
			}
		}
		want := make(sql.Row, len(cols))
		for i, c := range cols {
			want[i] = fromStored(c.typ, vals[i])
		}
		match := func(row sql.Row) (bool, error) {
			for i, o := range ordinals {
				if row[o] == nil {
					return false, nil
				}
				n, err := cols[i].sql.Compare(ctx, row[o], want[i])
				if err != nil || n != 0 {
					return false, err
				}
			}
			return true, nil
		}
		var iter *rowIter
		if ixq, err := e.uniqueQuery(ix, vals, parquetio.And(ands...)); err != nil {
			return err
		} else if ixq != nil {
			iter, err = full.indexRowsWithKeys(ctx, v, ixq.Match, match, ixq)
			if err != nil {
				return err
			}
		} else if iter, err = full.scanRowsWithKeys(ctx, v, parquetio.And(ands...), match); err != nil {
			return err
		}
		for {
			row, key, err := iter.nextWithKey(ctx)
			if err != nil {
				iter.Close(ctx)
				if err == io.EOF {
					break
				}
				return err
			}
			if key == self || key == replacing {
				continue
			}
			iter.Close(ctx)
			var parts []string
			for _, w := range want {
				parts = append(parts, fmt.Sprint(w))
			}
			return sql.NewUniqueKeyErr("["+strings.Join(parts, ",")+"]", false, row)
		}
	}
	return nil
}
