package memwal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/memwal/memtable"
	"github.com/lakesql/lakesql/memwal/wal"
	"github.com/lakesql/lakesql/txn"
)

// Txn is a transaction on the branch: snapshot isolation with
// first-committer-wins. It reads at the snapshot it began with, sees its own
// writes, buffers them, and commits them as one WAL record. A Txn is used by
// one goroutine.
type Txn struct {
	b      *Branch
	snap   *Snapshot
	gen    uint64 // the branch's ddlGen when the transaction began
	begun  bool   // counted in the branch's open transactions
	staged bool   // Stage was used: Commit goes through the bulk path
	writes map[string]*tableWrites
	undo   []undoWrite  // what write replaced, for RollbackTo
	last   *tableWrites // the writes of the table written last
	bulk   *BulkOptions
	// located holds, per table and key, where Get found the key's row in
	// the files of the snapshot's log state (nil: in none).
	located map[string]map[parquetio.Key]*memtable.Location
	done    bool
}

// undoWrite is what one write to w.changes[i] replaced: the key's earlier
// write in the transaction (prev), or none (prev nil: the write appended
// the key).
type undoWrite struct {
	w    *tableWrites
	i    int
	prev *memtable.Change
}

// tableWrites is a transaction's writes to one table: each key's last
// write, in the order the keys were first written.
type tableWrites struct {
	table   string
	changes []memtable.Change
	at      map[parquetio.Key]int // key -> its write in changes
}

// newTableWrites returns empty writes to table tableID (t), sized like
// the table's last committed transaction's.
func newTableWrites(tableID string, t *tableInfo) *tableWrites {
	n := int(min(t.writes.Load(), maxWritesHint))
	return &tableWrites{table: tableID, changes: make([]memtable.Change, 0, n), at: make(map[parquetio.Key]int, n)}
}

// maxWritesHint bounds the writes a transaction's buffers are sized for:
// a small transaction after a large one allocates little in vain.
const maxWritesHint = 1024

// get returns the transaction's write of key, or nil.
func (w *tableWrites) get(key parquetio.Key) *memtable.Change {
	if i, ok := w.at[key]; ok {
		return &w.changes[i]
	}
	return nil
}

// Begin starts a transaction at everything acknowledged so far.
func (b *Branch) Begin() (*Txn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mu.err; err != nil {
		return nil, err
	}
	s, err := b.snapshotLocked(b.mu.published)
	if err != nil {
		return nil, err
	}
	b.mu.open[s.Seq]++
	return &Txn{b: b, snap: s, gen: b.mu.ddlGen, begun: true, writes: map[string]*tableWrites{}}, nil
}

// Snapshot is the transaction's read snapshot (without its own writes).
func (tx *Txn) Snapshot() *Snapshot { return tx.snap }

func (tx *Txn) table(tableID string) (*tableInfo, error) {
	t := tx.b.tableInfos()[tableID]
	if t == nil {
		return nil, fmt.Errorf("memwal: table %s does not exist", tableID)
	}
	if t.enc == nil {
		return nil, fmt.Errorf("memwal: table %s has no primary key; keyless tables are written through the bulk path", t.meta.Name)
	}
	return t, nil
}

// Key encodes a key tuple of a table.
func (tx *Txn) Key(tableID string, keyValues ...any) (parquetio.Key, error) {
	t, err := tx.table(tableID)
	if err != nil {
		return "", err
	}
	return t.enc.Encode(keyValues...)
}

// Get returns the row of key: the transaction's own write if it made one,
// else the row at its snapshot.
func (tx *Txn) Get(ctx context.Context, tableID string, key parquetio.Key) ([]any, bool, error) {
	if w := tx.writes[tableID]; w != nil {
		if c := w.get(key); c != nil {
			if c.Deleted {
				return nil, false, nil
			}
			return slices.Clone(c.Row), true, nil
		}
	}
	row, ok, fl, err := tx.snap.lookup(ctx, tableID, key)
	if err == nil && fl != nil {
		// Commit need not look the key up in the files again while they
		// are the snapshot's.
		if tx.located == nil {
			tx.located = map[string]map[parquetio.Key]*memtable.Location{}
		}
		m := tx.located[tableID]
		if m == nil {
			m = map[parquetio.Key]*memtable.Location{}
			tx.located[tableID] = m
		}
		m[key] = fl.loc
	}
	return slices.Clone(row), ok, err
}

// Put writes a row (every column of the table, in schema order).
func (tx *Txn) Put(tableID string, row []any) (parquetio.Key, error) {
	t, err := tx.table(tableID)
	if err != nil {
		return "", err
	}
	if i := t.rowIDPos; i >= 0 && len(row) == len(t.meta.Schema.Columns) && row[i] == nil {
		row = slices.Clone(row)
		row[i] = tx.b.newRowID()
	}
	norm, err := t.norm.Row(row)
	if err != nil {
		return "", err
	}
	key, err := tx.keyOf(t, norm)
	if err != nil {
		return "", err
	}
	tx.write(tableID, t, memtable.Change{Key: key, Row: norm})
	return key, nil
}

// keyOf encodes the key of a normalized row.
func (tx *Txn) keyOf(t *tableInfo, norm []any) (parquetio.Key, error) {
	if len(t.keyPos) == 1 {
		return t.enc.Encode(norm[t.keyPos[0]])
	}
	vals := make([]any, len(t.keyPos))
	for i, p := range t.keyPos {
		vals[i] = norm[p]
	}
	return t.enc.Encode(vals...)
}

// newRowID returns a row id no other row of the branch has: ids of one
// writer count up, and each writer has its own epoch.
func (b *Branch) newRowID() int64 {
	return b.epoch<<40 | b.rowIDs.Add(1)
}

// Delete deletes the row of key (a no-op when there is none).
func (tx *Txn) Delete(tableID string, key parquetio.Key) error {
	t, err := tx.table(tableID)
	if err != nil {
		return err
	}
	tx.write(tableID, t, memtable.Change{Key: key, Deleted: true})
	return nil
}

// write records c as the transaction's write to table tableID (t).
func (tx *Txn) write(tableID string, t *tableInfo, c memtable.Change) {
	w := tx.last
	if w == nil || w.table != tableID {
		w = tx.writes[tableID]
		if w == nil {
			w = newTableWrites(tableID, t)
			tx.writes[tableID] = w
			if tx.undo == nil {
				tx.undo = make([]undoWrite, 0, cap(w.changes))
			}
		}
		tx.last = w
	}
	if i, ok := w.at[c.Key]; ok {
		prev := w.changes[i]
		w.changes[i] = c
		tx.undo = append(tx.undo, undoWrite{w: w, i: i, prev: &prev})
		return
	}
	w.at[c.Key] = len(w.changes)
	w.changes = append(w.changes, c)
	tx.undo = append(tx.undo, undoWrite{w: w, i: len(w.changes) - 1})
}

// SetBulk makes the transaction commit through the bulk path (as Stage
// does) in an entry described by o: LOAD DATA names its operation and
// makes a version.
func (tx *Txn) SetBulk(o BulkOptions) {
	tx.staged = true
	tx.bulk = &o
}

// Savepoint marks the transaction's writes so far; RollbackTo returns to
// the mark. The SQL layer marks every statement, so that a failed one
// leaves no trace, and implements SAVEPOINT with it.
func (tx *Txn) Savepoint() int { return len(tx.undo) }

// RollbackTo undoes the writes made after Savepoint returned sp.
func (tx *Txn) RollbackTo(sp int) {
	for len(tx.undo) > sp {
		u := tx.undo[len(tx.undo)-1]
		tx.undo = tx.undo[:len(tx.undo)-1]
		w := u.w
		if u.prev != nil {
			w.changes[u.i] = *u.prev
			continue
		}
		// The write appended the key: it is the last one in changes
		// (later writes of other keys were undone first).
		delete(w.at, w.changes[u.i].Key)
		w.changes = w.changes[:u.i]
		if u.i == 0 {
			delete(tx.writes, w.table)
			tx.last = nil
		}
	}
}

// Pending is one of the transaction's own writes: the row (all columns, as
// the MemTable's normalized values), or a delete.
type Pending struct {
	Key     parquetio.Key
	Row     []any
	Deleted bool
}

// Pending returns the transaction's own writes to a table, in the order
// their keys were first written; reads inside the transaction lay them over
// its snapshot.
func (tx *Txn) Pending(tableID string) []Pending {
	w := tx.writes[tableID]
	if w == nil {
		return nil
	}
	out := make([]Pending, 0, len(w.changes))
	for _, c := range w.changes {
		out = append(out, Pending{Key: c.Key, Row: c.Row, Deleted: c.Deleted})
	}
	return out
}

// Wrote reports whether the transaction wrote to a table.
func (tx *Txn) Wrote(tableID string) bool { return tx.writes[tableID] != nil }

// Empty reports whether the transaction has no writes.
func (tx *Txn) Empty() bool { return len(tx.writes) == 0 }

// Stage writes rows (every column, schema order) through the bulk path:
// nothing goes to the WAL; at Commit every write of the transaction is
// written straight into data files and committed in one log entry (see
// Bulk), so a large load inside a transaction stays atomic with the
// transaction's other writes.
func (tx *Txn) Stage(tableID string, rows [][]any) error {
	for _, row := range rows {
		if _, err := tx.Put(tableID, row); err != nil {
			return err
		}
	}
	tx.staged = true
	return nil
}

// conflictsLocked checks the transaction's writes against the commits
// since its snapshot; b.mu is held.
func (tx *Txn) conflictsLocked(tables []string) error {
	b := tx.b
	for _, id := range tables {
		t := b.tableInfos()[id]
		if t == nil {
			return fmt.Errorf("memwal: table %s was dropped", id)
		}
		if b.mu.tableGen[id] > tx.gen {
			return fmt.Errorf("%w: table %s was rewritten since the transaction began", ErrConflict, t.meta.Name)
		}
		if b.mu.conflicts.conflicts(id, tx.writes[id], tx.snap.Seq) {
			return fmt.Errorf("%w: a row of table %s", ErrConflict, t.meta.Name)
		}
	}
	return nil
}

// commitBulk commits a transaction with staged rows: writers pause, the
// MemTable is flushed, and every write of the transaction becomes data
// files and deletion vectors in one entry. Open transactions that touched
// these tables conflict with it at table level.
func (tx *Txn) commitBulk(ctx context.Context) (uint64, error) {
	b := tx.b
	tables := make([]string, 0, len(tx.writes))
	changes := map[string][]memtable.Change{}
	for id, w := range tx.writes {
		tables = append(tables, id)
		changes[id] = slices.Clone(w.changes)
		slices.SortFunc(changes[id], func(a, b memtable.Change) int { return strings.Compare(string(a.Key), string(b.Key)) })
	}
	slices.Sort(tables)
	head, done, err := b.exclusive(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	b.mu.Lock()
	err = tx.conflictsLocked(tables)
	infos := b.tableInfos()
	b.mu.Unlock()
	if err != nil {
		return 0, err
	}
	c := &txn.Commit{Operation: "WRITE", Epoch: b.epoch}
	if o := tx.bulk; o != nil {
		c.Operation, c.Message, c.User, c.CreatesVersion = o.Operation, o.Message, o.User, o.Version
	}
	for _, id := range tables {
		if err := b.writeChanges(ctx, head, infos[id], changes[id], c); err != nil {
			return 0, err
		}
	}
	if _, err := b.commitTables(ctx, head, c, tables...); err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mu.published, nil
}

// Rollback drops the transaction's writes.
func (tx *Txn) Rollback() {
	if tx.done {
		return
	}
	tx.done = true
	tx.snap.Close()
	if !tx.begun {
		return
	}
	tx.b.mu.Lock()
	if tx.b.mu.open[tx.snap.Seq]--; tx.b.mu.open[tx.snap.Seq] <= 0 {
		delete(tx.b.mu.open, tx.snap.Seq)
	}
	tx.b.mu.Unlock()
}

// Commit makes the transaction's writes durable and visible, and returns
// their sequence number. File locations of the written keys are looked up
// before the write lock and revalidated under it (a flush that published
// meanwhile makes it look again). A key written by a transaction that
// committed after this one's snapshot is a conflict (ErrConflict).
func (tx *Txn) Commit(ctx context.Context) (uint64, error) {
	if tx.done {
		return 0, fmt.Errorf("memwal: transaction already ended")
	}
	defer tx.Rollback()
	if len(tx.writes) == 0 {
		return tx.snap.Seq, nil
	}
	if tx.staged {
		return tx.commitBulk(ctx)
	}
	b := tx.b
	tables := make([]string, 0, len(tx.writes))
	for id := range tx.writes {
		tables = append(tables, id)
	}
	slices.Sort(tables)
	changes := make(map[string][]memtable.Change, len(tables))
	for _, id := range tables {
		changes[id] = tx.writes[id].changes
		if t := b.tableInfos()[id]; t != nil {
			t.writes.Store(int64(len(changes[id])))
		}
	}
	body, err := tx.walRecord(tables)
	if err != nil {
		return 0, err
	}
	for attempt := 0; ; attempt++ {
		b.mu.Lock()
		for b.mu.paused && b.mu.err == nil {
			b.mu.published2.Wait()
		}
		head, gen, err := b.mu.head, b.mu.filesGen, b.mu.err
		b.mu.Unlock()
		if err != nil {
			return 0, err
		}
		locs := map[string][]*memtable.Location{}
		for _, id := range tables {
			var known map[parquetio.Key]*memtable.Location
			if head == tx.snap.Log {
				known = tx.located[id]
			}
			l, err := b.locate(ctx, head, id, changes[id], known)
			if err != nil {
				return 0, err
			}
			locs[id] = l
		}
		b.mu.Lock()
		// Backpressure: while a flush runs, the live MemTable may grow to
		// twice the flush size, no further.
		for b.mu.flushing && b.mu.live.Bytes() > 2*b.opts.FlushBytes && b.mu.err == nil {
			b.mu.published2.Wait()
		}
		if b.mu.filesGen != gen || b.mu.paused {
			b.mu.Unlock()
			continue // a flush published files meanwhile: look again
		}
		seq, wait, err := tx.applyLocked(tables, changes, body, locs)
		b.mu.Unlock()
		if err != nil {
			return 0, err
		}
		if err := wait(ctx); err != nil {
			if errors.Is(err, wal.ErrFenced) || errors.Is(err, wal.ErrWriterFailed) {
				b.fail(fmt.Errorf("%w: %v", ErrFailed, err))
			}
			return 0, err
		}
		// A writer whose lease ran out acknowledges nothing more (the WAL
		// fence keeps a zombie's records out of any takeover anyway).
		if err := b.held.Check(); err != nil {
			b.fail(fmt.Errorf("%w: %v", ErrFailed, err))
			return 0, err
		}
		b.publish(seq)
		return seq, nil
	}
}

// walRecord encodes the transaction's writes to tables as the body of its
// WAL record, before the write lock is taken. The schema ids are the
// tables' now: a table changed since the transaction began is a conflict
// under the lock.
func (tx *Txn) walRecord(tables []string) (wal.Body, error) {
	n, size := 0, 0
	for _, id := range tables {
		w := tx.writes[id]
		n += len(w.changes)
		size += len(w.changes) * (len(id) + walChangeBytes)
	}
	rb := wal.NewBuilder(n, size)
	var row []byte // reused: the builder copies it
	for _, id := range tables {
		t := tx.b.tableInfos()[id]
		if t == nil {
			return wal.Body{}, fmt.Errorf("memwal: table %s was dropped", id)
		}
		for _, c := range tx.writes[id].changes {
			if c.Deleted {
				rb.Delete(id, t.meta.SchemaID, string(c.Key))
				continue
			}
			var err error
			if row, err = encodeRow(row[:0], c.Row); err != nil {
				return wal.Body{}, err
			}
			rb.Put(id, t.meta.SchemaID, string(c.Key), row)
		}
	}
	return rb.Body()
}

// walChangeBytes is a guess of one change's WAL bytes besides its table
// id, to size a record's buffer.
const walChangeBytes = 64

// applyLocked checks conflicts, submits the WAL record and applies it to the
// live MemTable, under the write lock.
func (tx *Txn) applyLocked(tables []string, changes map[string][]memtable.Change, body wal.Body, locs map[string][]*memtable.Location) (uint64, func(context.Context) error, error) {
	b := tx.b
	if err := b.mu.err; err != nil {
		return 0, nil, err
	}
	if err := tx.conflictsLocked(tables); err != nil {
		return 0, nil, err
	}
	seq, wait, err := b.w.SubmitBody(body)
	if err != nil {
		if errors.Is(err, wal.ErrFenced) || errors.Is(err, wal.ErrWriterFailed) {
			b.mu.err = fmt.Errorf("%w: %v", ErrFailed, err)
		}
		return 0, nil, err
	}
	b.mu.submitted = seq
	for _, id := range tables {
		cs := changes[id]
		for i := range cs {
			cs[i].Loc = locs[id][i]
		}
		if err := b.mu.live.ApplyNormalized(seq, id, cs...); err != nil {
			// The record is in the WAL but not in memory: stop.
			b.mu.err = fmt.Errorf("%w: applying record %d: %v", ErrFailed, seq, err)
			return 0, nil, b.mu.err
		}
		b.noteWritesLocked(id, cs, seq)
	}
	return seq, wait, nil
}

// publish makes seq (and everything before it, durable too) visible, and
// starts a background flush when the live MemTable is full.
func (b *Branch) publish(seq uint64) {
	b.mu.Lock()
	if seq > b.mu.published {
		b.mu.published = seq
		b.mu.published2.Broadcast()
	}
	flush := b.flushDueLocked()
	b.mu.Unlock()
	if flush {
		b.flushInBackground()
	}
}
