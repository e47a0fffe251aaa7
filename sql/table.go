package sql

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/memwal"
	"github.com/lakesql/lakesql/memwal/memtable"
	"github.com/lakesql/lakesql/scan"
	"github.com/lakesql/lakesql/txn"
)

// Table is a lakesql table as go-mysql-server sees it: its metadata as
// resolved, read either live (the session's transaction on the branch) or
// AS OF a version.
type Table struct {
	db   *Database
	meta txn.Table
	// asOf is the version read, nil for the branch's live state.
	asOf *txn.Snapshot
	// cols are the visible columns, in schema order; proj, when set, the
	// projected ones (indexes into cols).
	cols []colInfo
	proj []int
	// keyIdx are the key columns as indexes into meta.Schema.Columns.
	keyIdx []int
	sch    sql.Schema
	pkSch  sql.PrimaryKeySchema
	// enc encodes keys (nil for a table without one).
	enc *parquetio.KeyEncoder
	// track, set on the table node an UPDATE or DELETE of a keyless table
	// changes (trackKeyless), receives every row its scans return with
	// the row's hidden id, which the statement's editor then takes.
	track *keylessTrack
	// shapes caches the fast path's point select shapes (pointShape).
	shapes *pointShapes
}

// colInfo is a visible column.
type colInfo struct {
	col base.Column
	typ base.Type
	sql sql.Type
	// pos is the column's index in meta.Schema.Columns.
	pos int
}

var (
	_ sql.Table                 = (*Table)(nil)
	_ sql.TemporaryTable        = (*Table)(nil)
	_ sql.PrimaryKeyTable       = (*Table)(nil)
	_ sql.ProjectedTable        = (*Table)(nil)
	_ sql.IndexAddressableTable = (*Table)(nil)
	_ sql.IndexedTable          = (*Table)(nil)
	_ sql.StatisticsTable       = (*Table)(nil)
	_ sql.InsertableTable       = (*Table)(nil)
	_ sql.UpdatableTable        = (*Table)(nil)
	_ sql.DeletableTable        = (*Table)(nil)
	_ sql.ReplaceableTable      = (*Table)(nil)
	_ sql.TruncateableTable     = (*Table)(nil)
	_ sql.CommentedTable        = (*Table)(nil)
	_ sql.AlterableTable        = (*Table)(nil)
	_ sql.IndexAlterableTable   = (*Table)(nil)
)

// newTable builds the go-mysql-server view of a table's metadata.
func newTable(ctx *sql.Context, db *Database, meta txn.Table, asOf *txn.Snapshot) (*Table, error) {
	t := &Table{db: db, meta: meta, asOf: asOf, shapes: &pointShapes{}}
	pk := map[int]int{}
	for i, id := range meta.Key {
		pk[id] = i
	}
	var pkOrdinals []int
	for i, c := range meta.Schema.Columns {
		typ, err := base.ParseType(c.Type)
		if err != nil {
			return nil, err
		}
		if c.Hidden {
			continue
		}
		st, err := sqlType(typ)
		if err != nil {
			return nil, err
		}
		t.cols = append(t.cols, colInfo{col: c, typ: typ, sql: st, pos: i})
	}
	for _, id := range meta.Key {
		for i, c := range meta.Schema.Columns {
			if c.ID == id {
				t.keyIdx = append(t.keyIdx, i)
			}
		}
	}
	full := make(sql.Schema, len(t.cols))
	ordinal := map[int]int{}
	for i, c := range t.cols {
		full[i] = t.sqlColumn(c, pk)
		ordinal[c.col.ID] = i
	}
	for _, id := range meta.Key {
		if o, ok := ordinal[id]; ok {
			pkOrdinals = append(pkOrdinals, o)
		}
	}
	t.sch = full
	t.pkSch = sql.NewPrimaryKeySchema(full, pkOrdinals...)
	if len(meta.Key) > 0 {
		enc, err := parquetio.NewKeyEncoder(&t.meta.Schema, t.meta.Key)
		if err != nil {
			return nil, err
		}
		t.enc = enc
	}
	return t, nil
}

func (t *Table) sqlColumn(c colInfo, pk map[int]int) *sql.Column {
	_, isPK := pk[c.col.ID]
	col := &sql.Column{
		Name:           c.col.Name,
		Type:           c.sql,
		Nullable:       c.col.Nullable,
		Source:         t.meta.Name,
		DatabaseSource: t.db.name,
		PrimaryKey:     isPK,
	}
	if expr, ok := t.meta.Properties[defaultProperty(c.col.ID)]; ok {
		col.Default = sql.NewUnresolvedColumnDefaultValue(expr)
	} else if c.col.Default != nil {
		col.Default = sql.NewUnresolvedColumnDefaultValue(*c.col.Default)
	}
	if t.meta.Properties[autoIncProperty] == fmt.Sprint(c.col.ID) {
		col.AutoIncrement = true
		col.Extra = "auto_increment"
	}
	return col
}

// Properties of a table's metadata that only the SQL layer reads.
const (
	commentProperty = "comment"
	autoIncProperty = "auto_increment_column"
)

// defaultProperty holds a column's DEFAULT expression when it is not a
// literal (the literal, which files of older schemas are read with, is in
// the column itself).
func defaultProperty(id int) string { return fmt.Sprintf("default.%d", id) }

// Name implements sql.Table.
func (t *Table) Name() string { return t.meta.Name }

func (t *Table) String() string { return t.meta.Name }

// Comment implements sql.CommentedTable.
func (t *Table) Comment() string { return t.meta.Properties[commentProperty] }

// Schema implements sql.Table: the projected columns.
func (t *Table) Schema() sql.Schema {
	if t.proj == nil {
		return t.sch
	}
	out := make(sql.Schema, len(t.proj))
	for i, p := range t.proj {
		out[i] = t.sch[p]
	}
	return out
}

// PrimaryKeySchema implements sql.PrimaryKeyTable.
func (t *Table) PrimaryKeySchema() sql.PrimaryKeySchema { return t.pkSch }

// Collation implements sql.Table.
func (t *Table) Collation() sql.CollationID { return sql.Collation_Default }

// IsTemporary implements sql.TemporaryTable.
func (t *Table) IsTemporary() bool { return false }

// WithProjections implements sql.ProjectedTable.
func (t *Table) WithProjections(names []string) sql.Table {
	if names == nil {
		c := *t
		c.proj = nil
		return &c
	}
	proj := make([]int, 0, len(names))
	for _, n := range names {
		for i, c := range t.cols {
			if strings.EqualFold(c.col.Name, n) {
				proj = append(proj, i)
				break
			}
		}
	}
	c := *t
	c.proj = proj
	return &c
}

// Projections implements sql.ProjectedTable.
func (t *Table) Projections() []string {
	if t.proj == nil {
		return nil
	}
	out := make([]string, len(t.proj))
	for i, p := range t.proj {
		out[i] = t.cols[p].col.Name
	}
	return out
}

// outCols are the columns a read returns.
func (t *Table) outCols() []colInfo {
	if t.proj == nil {
		return t.cols
	}
	out := make([]colInfo, len(t.proj))
	for i, p := range t.proj {
		out[i] = t.cols[p]
	}
	return out
}

// partition is the one partition of a scan, or a lookup.
type partition struct {
	lookup *sql.IndexLookup
}

func (p *partition) Key() []byte { return []byte("p") }

// Partitions implements sql.Table: one partition; the scan decodes in
// parallel inside it (go-mysql-server reads partitions one by one).
func (t *Table) Partitions(ctx *sql.Context) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(&partition{}), nil
}

// LookupPartitions implements sql.IndexedTable.
func (t *Table) LookupPartitions(ctx *sql.Context, l sql.IndexLookup) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(&partition{lookup: &l}), nil
}

// IndexedAccess implements sql.IndexAddressable.
func (t *Table) IndexedAccess(ctx *sql.Context, l sql.IndexLookup) sql.IndexedTable { return t }

// PreciseMatch implements sql.IndexAddressable: lookups return exactly
// the rows in their ranges.
func (t *Table) PreciseMatch() bool { return true }

// readView is what a read sees of the table: a scan.Table with the reader
// of its files, and the session transaction's own writes to lay over it.
type readView struct {
	reader  *scan.Reader
	table   *scan.Table
	snap    *memwal.Snapshot // the writer's snapshot (lookups), or nil
	meta    *txn.Table       // the table's metadata at the view
	pending []memwal.Pending
	tx      *memwal.Txn
	// txn is the session's transaction (its scan cache), snapID what
	// identifies the snapshot read.
	txn    *Transaction
	snapID any
}

// view returns the table as the session's transaction reads it.
func (t *Table) view(ctx *sql.Context) (*readView, error) {
	s, err := sessionOf(ctx)
	if err != nil {
		return nil, err
	}
	if t.asOf != nil {
		v, err := fileView(t.db.st.reader, t.asOf, t.meta.ID)
		if err == nil {
			v.txn, v.snapID = s.transaction(ctx), t.asOf
		}
		return v, err
	}
	bt, err := s.branchTxn(ctx, t.db.st, t.db.branch, false)
	if err != nil {
		return nil, translate(err)
	}
	if bt.tx == nil {
		v, err := fileView(t.db.st.reader, bt.head, t.meta.ID)
		if err == nil {
			v.txn, v.snapID = s.transaction(ctx), bt.head
		}
		return v, err
	}
	snap := bt.tx.Snapshot()
	ts := snap.Log.State.Table(t.meta.ID)
	if ts == nil {
		return nil, sql.ErrTableNotFound.New(t.meta.Name)
	}
	st, err := snap.Table(t.meta.ID)
	if err != nil {
		return nil, translate(err)
	}
	return &readView{reader: snap.Reader(), table: st, snap: snap, meta: &ts.Meta, pending: bt.tx.Pending(t.meta.ID), tx: bt.tx,
		txn: s.transaction(ctx), snapID: snap}, nil
}

func fileView(r *scan.Reader, s *txn.Snapshot, tableID string) (*readView, error) {
	ts := s.State.Table(tableID)
	if ts == nil {
		return nil, fmt.Errorf("table %s does not exist at version %d", tableID, s.Version())
	}
	st := &scan.Table{Schema: &ts.Meta.Schema}
	ts.Files(func(a *txn.Add) bool {
		st.Files = append(st.Files, a)
		return true
	})
	return &readView{reader: r, table: st, meta: &ts.Meta}, nil
}

// PartitionRows implements sql.Table.
func (t *Table) PartitionRows(ctx *sql.Context, p sql.Partition) (sql.RowIter, error) {
	v, err := t.view(ctx)
	if err != nil {
		return nil, err
	}
	part, _ := p.(*partition)
	if t.track != nil {
		var pred *parquetio.Predicate
		var lookup bool
		if part != nil && part.lookup != nil {
			pr, ok := part.lookup.Ranges.(pushRanges)
			pred, lookup = pr.pred, !ok
		}
		if !lookup { // index lookups: the editor matches rows by value
			it, err := t.scanRowsWithKeys(ctx, v, pred, nil)
			if err != nil {
				return nil, err
			}
			return &trackIter{it: it, track: t.track}, nil
		}
	}
	if part != nil && part.lookup != nil {
		if pr, ok := part.lookup.Ranges.(pushRanges); ok {
			return t.cachedScan(ctx, v, pr.pred, pr.text)
		}
		return t.lookupRows(ctx, v, part.lookup)
	}
	return t.cachedScan(ctx, v, nil, "")
}

// smallTable is the most rows a scan of which a transaction keeps: joins
// without usable keys scan their inner tables once per outer row, and a
// scan costs more to start than a small table has rows.
const smallTable = 4096

// cachedScan scans the view, keeping the rows of a small table in the
// session's transaction for the next identical scan (same snapshot,
// columns and pushed filter, no write since).
func (t *Table) cachedScan(ctx *sql.Context, v *readView, pred *parquetio.Predicate, predText string) (sql.RowIter, error) {
	rows, _, ok, err := t.cachedRows(ctx, v, pred, predText)
	if err != nil {
		return nil, err
	}
	if !ok {
		return t.scanRows(ctx, v, pred, nil)
	}
	return sql.RowsToRowIter(rows...), nil
}

// cachedRows returns the rows of the scan of a small table, from the
// transaction's cache or scanned into it, and their cache key; ok is false
// when the scan is not cached (a large table, the transaction's own writes
// in the view).
func (t *Table) cachedRows(ctx *sql.Context, v *readView, pred *parquetio.Predicate, predText string) (rows []sql.Row, key string, ok bool, err error) {
	tx := v.txn
	if tx == nil || len(v.pending) > 0 || v.snapID == nil {
		return nil, "", false, nil
	}
	var n int64
	for _, f := range v.table.Files {
		n += f.LiveRows()
	}
	for _, src := range v.table.Sources {
		if n > smallTable {
			break
		}
		n += src.LiveRows()
	}
	if n > smallTable {
		return nil, "", false, nil
	}
	key = fmt.Sprintf("%p|%s|%v|%s|%d", v.snapID, t.meta.ID, t.proj, predText, tx.writes())
	if rows, ok := tx.scans[key]; ok {
		return rows, key, true, nil
	}
	iter, err := t.scanRows(ctx, v, pred, nil)
	if err != nil {
		return nil, "", false, err
	}
	for {
		r, err := iter.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			iter.Close(ctx)
			return nil, "", false, err
		}
		rows = append(rows, r)
	}
	if err := iter.Close(ctx); err != nil {
		return nil, "", false, err
	}
	if tx.scans == nil {
		tx.scans = map[string][]sql.Row{}
	}
	tx.scans[key] = rows
	return rows, key, true, nil
}

// scanRows scans the view: file and MemTable rows (minus the keys the
// transaction wrote), then the transaction's own rows. pred prunes;
// keep, when set, decides exactly which rows are returned.
func (t *Table) scanRows(ctx *sql.Context, v *readView, pred *parquetio.Predicate, keep func(sql.Row) (bool, error)) (sql.RowIter, error) {
	return t.scan(ctx, v, pred, keep, false, nil)
}

// indexRows is scanRows through a secondary index (ixq).
func (t *Table) indexRows(ctx *sql.Context, v *readView, pred *parquetio.Predicate, keep func(sql.Row) (bool, error), ixq *scan.IndexQuery) (sql.RowIter, error) {
	return t.scan(ctx, v, pred, keep, false, ixq)
}

// scanRowsWithKeys is scanRows whose iterator also gives each row's key.
func (t *Table) scanRowsWithKeys(ctx *sql.Context, v *readView, pred *parquetio.Predicate, keep func(sql.Row) (bool, error)) (*rowIter, error) {
	return t.scan(ctx, v, pred, keep, true, nil)
}

// indexRowsWithKeys is scanRowsWithKeys through a secondary index.
func (t *Table) indexRowsWithKeys(ctx *sql.Context, v *readView, pred *parquetio.Predicate, keep func(sql.Row) (bool, error), ixq *scan.IndexQuery) (*rowIter, error) {
	return t.scan(ctx, v, pred, keep, true, ixq)
}

func (t *Table) scan(ctx *sql.Context, v *readView, pred *parquetio.Predicate, keep func(sql.Row) (bool, error), withKeys bool, ixq *scan.IndexQuery) (*rowIter, error) {
	out := t.outCols()
	ids := make([]int, len(out))
	for i, c := range out {
		ids[i] = c.col.ID
	}
	// The transaction's own writes shadow the snapshot's rows of their
	// keys, which the scan then needs.
	var shadow map[parquetio.Key]bool
	var keyPos []int
	if len(v.pending) > 0 {
		shadow = make(map[parquetio.Key]bool, len(v.pending))
		for _, p := range v.pending {
			shadow[p.Key] = true
		}
	}
	var enc *parquetio.KeyEncoder
	var keyTypes []base.Type
	if shadow != nil || withKeys {
		if enc = t.enc; enc == nil {
			return nil, fmt.Errorf("lakesql: table %s has no key", t.meta.Name)
		}
		for _, ki := range t.keyIdx {
			keyPos = append(keyPos, len(ids))
			ids = append(ids, t.meta.Schema.Columns[ki].ID)
			typ, err := base.ParseType(t.meta.Schema.Columns[ki].Type)
			if err != nil {
				return nil, err
			}
			keyTypes = append(keyTypes, typ)
		}
	}
	it, err := v.reader.Scan(ctx, v.table, scan.Request{Columns: ids, Predicate: pred, Index: ixq}, nil)
	if err != nil {
		return nil, translate(err)
	}
	ri := &rowIter{t: t, it: it, out: out, keep: keep, enc: enc, shadow: shadow, keyPos: keyPos, keyTypes: keyTypes}
	match, err := pendingMatch(&t.meta.Schema, pred, v.pending)
	if err != nil {
		it.Close()
		return nil, err
	}
	for i, p := range v.pending {
		if p.Deleted || match != nil && !match[i] {
			continue
		}
		row := make(sql.Row, len(out))
		for i, c := range out {
			row[i] = fromStored(c.typ, p.Row[c.pos])
		}
		ri.extra = append(ri.extra, row)
		ri.extraKeys = append(ri.extraKeys, p.Key)
	}
	return ri, nil
}

// pendingMatch reports which of the transaction's own written rows pred
// keeps (nil: all), as the scan's readers decide it for file rows: a
// pushed filter may have left the plan.
func pendingMatch(schema *base.Schema, pred *parquetio.Predicate, pending []memwal.Pending) ([]bool, error) {
	if pred == nil || len(pending) == 0 {
		return nil, nil
	}
	f, err := parquetio.CompileFilter(schema, pred)
	if err != nil {
		return nil, err
	}
	rows := make([][]any, 0, len(pending))
	var at []int
	for i, p := range pending {
		if !p.Deleted {
			rows = append(rows, p.Row)
			at = append(at, i)
		}
	}
	if len(rows) == 0 {
		return nil, nil
	}
	rec, err := memtable.BuildRecord(memory.DefaultAllocator, schema, rows)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	ids := make([]int, len(schema.Columns))
	for i, c := range schema.Columns {
		ids[i] = c.ID
	}
	sel, err := f.Mask(rec, ids)
	if err != nil || sel == nil {
		return nil, err
	}
	out := make([]bool, len(pending))
	for j, i := range at {
		out[i] = sel[j]
	}
	return out, nil
}

// rowIter turns scan records into go-mysql-server rows.
type rowIter struct {
	t        *Table
	it       *scan.Iterator
	out      []colInfo
	keep     func(sql.Row) (bool, error)
	enc      *parquetio.KeyEncoder
	shadow   map[parquetio.Key]bool
	keyPos   []int
	keyTypes []base.Type

	rec       arrow.Record
	readers   []columnReader
	keyRead   []columnReader
	i, n      int
	extra     []sql.Row
	extraKeys []parquetio.Key
	done      bool
}

// kept reports whether the iterator returns row.
func (r *rowIter) kept(row sql.Row) (bool, error) {
	if r.keep == nil {
		return true, nil
	}
	return r.keep(row)
}

func (r *rowIter) Next(ctx *sql.Context) (sql.Row, error) {
	row, _, err := r.nextWithKey(ctx)
	return row, err
}

// nextWithKey returns the next row and, when the iterator reads keys, its
// key.
func (r *rowIter) nextWithKey(ctx *sql.Context) (sql.Row, parquetio.Key, error) {
	for {
		if r.rec != nil && r.i < r.n {
			i := r.i
			r.i++
			var key parquetio.Key
			if r.enc != nil {
				kv := make([]any, len(r.keyRead))
				for k, read := range r.keyRead {
					v, err := toStored(r.keyTypes[k], read(i))
					if err != nil {
						return nil, "", err
					}
					kv[k] = v
				}
				var err error
				if key, err = r.enc.Encode(kv...); err != nil {
					return nil, "", err
				}
				if r.shadow[key] {
					continue
				}
			}
			row := make(sql.Row, len(r.readers))
			for c, read := range r.readers {
				row[c] = read(i)
			}
			if ok, err := r.kept(row); err != nil || !ok {
				if err != nil {
					return nil, "", err
				}
				continue
			}
			return row, key, nil
		}
		if !r.done && r.it.Next() {
			r.rec = r.it.Record()
			r.i, r.n = 0, int(r.rec.NumRows())
			r.readers = r.readers[:0]
			for c, col := range r.out {
				r.readers = append(r.readers, newColumnReader(col.typ, r.rec.Column(c)))
			}
			r.keyRead = r.keyRead[:0]
			for k, pos := range r.keyPos {
				r.keyRead = append(r.keyRead, newColumnReader(r.keyTypes[k], r.rec.Column(pos)))
			}
			continue
		}
		if !r.done {
			r.done = true
			r.rec = nil
			if err := r.it.Err(); err != nil {
				return nil, "", translate(err)
			}
		}
		for len(r.extra) > 0 {
			row, key := r.extra[0], r.extraKeys[0]
			r.extra, r.extraKeys = r.extra[1:], r.extraKeys[1:]
			if ok, err := r.kept(row); err != nil || !ok {
				if err != nil {
					return nil, "", err
				}
				continue
			}
			return row, key, nil
		}
		return nil, "", io.EOF
	}
}

func (r *rowIter) Close(*sql.Context) error {
	r.it.Close()
	return nil
}

// DataLength implements sql.StatisticsTable.
func (t *Table) DataLength(ctx *sql.Context) (uint64, error) {
	v, err := t.view(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, f := range v.table.Files {
		n += f.Bytes
	}
	return uint64(n), nil
}

// RowCount implements sql.StatisticsTable: exact (files minus deletion
// vectors, plus the MemTables' net change, plus the transaction's own).
func (t *Table) RowCount(ctx *sql.Context) (uint64, bool, error) {
	v, err := t.view(ctx)
	if err != nil {
		return 0, false, err
	}
	n, err := v.reader.Count(ctx, v.table)
	if err != nil {
		return 0, false, translate(err)
	}
	for _, p := range v.pending {
		_, had, err := t.lookupRow(ctx, v, p.Key, false)
		if err != nil {
			return 0, false, err
		}
		switch {
		case had && p.Deleted:
			n--
		case !had && !p.Deleted:
			n++
		}
	}
	return uint64(n), true, nil
}

// lookupRow returns the visible row of key in the view; withPending lays
// the transaction's own writes over it.
func (t *Table) lookupRow(ctx context.Context, v *readView, key parquetio.Key, withPending bool) (sql.Row, bool, error) {
	if withPending {
		for _, p := range v.pending {
			if p.Key == key {
				if p.Deleted {
					return nil, false, nil
				}
				return t.sqlRow(p.Row), true, nil
			}
		}
	}
	if v.snap != nil {
		row, ok, err := v.snap.Lookup(ctx, t.meta.ID, key)
		if err != nil || !ok {
			return nil, false, translate(err)
		}
		return t.sqlRow(row), true, nil
	}
	ids := make([]int, len(t.cols))
	for i, c := range t.cols {
		ids[i] = c.col.ID
	}
	rec, _, found, err := v.reader.Lookup(ctx, v.table, key, ids, nil)
	if err != nil || !found {
		return nil, false, translate(err)
	}
	defer rec.Release()
	row := make(sql.Row, len(t.cols))
	for i, c := range t.cols {
		row[i] = newColumnReader(c.typ, rec.Column(i))(0)
	}
	return row, true, nil
}

// sqlRow converts a stored row (all columns) to the table's visible row.
func (t *Table) sqlRow(stored []any) sql.Row {
	row := make(sql.Row, len(t.cols))
	for i, c := range t.cols {
		row[i] = fromStored(c.typ, stored[c.pos])
	}
	return row
}
