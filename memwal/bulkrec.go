package memwal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lakesql/lakesql/exec"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/memwal/memtable"
	"github.com/lakesql/lakesql/txn"
)

// BulkRecordsOptions configure BulkRecords beyond BulkOptions.
type BulkRecordsOptions struct {
	BulkOptions
	// SchemaID is the table's schema id the records were built for
	// (txn.Table.SchemaID): a table altered since fails the write and
	// nothing is written.
	SchemaID int64
	// Refuse makes a key twice in the records, or a key the table already
	// holds, fail the write (a *BulkDuplicateError) instead of the last
	// row of the key winning.
	Refuse bool
	// Skip keeps, of a key twice in the records, its first row, and of a
	// key the table holds, the table's row: the other rows are dropped
	// (LOAD DATA ... IGNORE). Refuse takes precedence.
	Skip bool
}

// BulkCounts say what a committed bulk write did with its rows.
type BulkCounts struct {
	// Rows were given, Written went into the data file (the others
	// repeated a key: with Skip the later ones, else the earlier ones).
	Rows, Written int
	// Replaced counts the table's rows the written rows superseded.
	Replaced int
}

// BulkDuplicateError is a BulkRecords with Refuse finding a key twice.
// Rows count the rows of the records in order, from 0.
type BulkDuplicateError struct {
	// Row holds the key; FirstRow is the earlier row with the same key,
	// or -1 when the table holds it.
	Row, FirstRow int
	// Key holds the key's values in key order (as exec.Value gives them).
	Key []any
}

func (e *BulkDuplicateError) Error() string {
	if e.FirstRow < 0 {
		return fmt.Sprintf("memwal: bulk write: row %d has a key the table holds", e.Row+1)
	}
	return fmt.Sprintf("memwal: bulk write: rows %d and %d have the same key", e.FirstRow+1, e.Row+1)
}

// BulkRecords writes rows in Arrow records of the table's schema (every
// column, hidden ones included, in the types of parquetio.ArrowSchema;
// values valid for their columns: the caller converted and checked them)
// straight into a data file, bypassing the WAL and the MemTable, and
// commits it in one entry: the bulk path of imports (Bulk takes Go rows
// to it). It is BeginBulk, a Write of each record and Commit. The records
// are not released.
func (b *Branch) BulkRecords(ctx context.Context, tableID string, recs []arrow.Record, o BulkRecordsOptions) (*txn.Snapshot, error) {
	w, err := b.BeginBulk(ctx, tableID, o)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if err := w.Write(ctx, r); err != nil {
			w.Abort()
			return nil, err
		}
	}
	return w.Commit(ctx)
}

// BulkWriter is a bulk write in progress (BeginBulk). From BeginBulk to
// Commit or Abort the branch's writers are paused (the table lock of the
// bulk path): the MemTable was flushed, and nothing else commits.
//
// A table without a primary key takes its hidden row ids here: each
// record's hidden column is replaced by fresh, increasing ids and the
// record is encoded into the data file as it arrives (the file streams
// into the store), so a load's reading and writing overlap. A table with a
// key collects the records; Commit sorts them by key (stably: the last row
// of a key wins, unless Refuse) and gives the file rows their keys
// supersede deletion vectors.
type BulkWriter struct {
	b     *Branch
	head  *txn.Snapshot
	t     *tableInfo
	o     BulkRecordsOptions
	as    *arrow.Schema
	done  func()
	keyed bool
	rowID int // keyless: the position of the hidden row id column
	// recs are the records to sort (keyed), or the records written when
	// the table's index files need them (keyless).
	recs  []arrow.Record
	total int
	file  *dataFile // keyless: the file being written
	ended bool
	// counts are set by a successful Commit.
	counts BulkCounts
}

// BeginBulk starts a bulk write of records into table tableID: it pauses
// the branch's writers and flushes the MemTable (see BulkWriter). The
// writer must end with Commit or Abort.
func (b *Branch) BeginBulk(ctx context.Context, tableID string, o BulkRecordsOptions) (*BulkWriter, error) {
	if o.Operation == "" {
		o.Operation = "BULK WRITE"
	}
	head, t, done, err := b.exclusiveTable(ctx, tableID, "bulk write")
	if err != nil {
		return nil, err
	}
	w := &BulkWriter{b: b, head: head, t: t, o: o, done: done}
	if t.meta.SchemaID != o.SchemaID {
		w.Abort()
		return nil, fmt.Errorf("memwal: bulk write: table %s was altered; nothing was written", t.meta.Name)
	}
	if w.as, err = parquetio.ArrowSchema(&t.meta.Schema, nil); err != nil {
		w.Abort()
		return nil, err
	}
	kc := t.meta.Schema.ColumnByID(t.meta.Key[0])
	w.keyed = !(len(t.meta.Key) == 1 && kc != nil && kc.Hidden)
	if !w.keyed {
		w.rowID = t.meta.Schema.Position(kc.ID)
	}
	return w, nil
}

// Write adds a record's rows. A keyless table's are encoded into the data
// file now; a keyed table's are kept (Write retains the record) until
// Commit. On an error nothing will be written: Abort.
func (w *BulkWriter) Write(ctx context.Context, rec arrow.Record) error {
	if w.ended {
		return errors.New("memwal: bulk write: Write after Commit or Abort")
	}
	if !rec.Schema().Equal(w.as) {
		return fmt.Errorf("memwal: bulk write: a record of schema %s, want %s", rec.Schema(), w.as)
	}
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	w.total += n
	if w.keyed {
		rec.Retain()
		w.recs = append(w.recs, rec)
		return nil
	}
	if w.file == nil {
		f, err := w.b.createFile(ctx, &w.t.meta, txn.KindBase)
		if err != nil {
			return err
		}
		w.file = f
	}
	out := w.b.withRowIDs(w.as, rec, w.rowID)
	if err := w.file.w.Write(out); err != nil {
		out.Release()
		return err
	}
	if len(w.t.meta.Indexes) > 0 {
		w.recs = append(w.recs, out)
	} else {
		out.Release()
	}
	return nil
}

// Commit writes what remains (a keyed table's sorted rows, the deletion
// vectors), commits the data file in one entry and resumes the writers.
func (w *BulkWriter) Commit(ctx context.Context) (*txn.Snapshot, error) {
	if w.ended {
		return nil, errors.New("memwal: bulk write: Commit after Commit or Abort")
	}
	snap, err := w.commit(ctx)
	w.end(err)
	return snap, err
}

// Counts says what the write did with its rows, once Commit succeeded.
func (w *BulkWriter) Counts() BulkCounts { return w.counts }

func (w *BulkWriter) commit(ctx context.Context) (*txn.Snapshot, error) {
	b, t := w.b, w.t
	c := &txn.Commit{Operation: w.o.Operation, Message: w.o.Message, User: w.o.User, CreatesVersion: w.o.Version, Epoch: b.epoch}
	counts := BulkCounts{Rows: w.total, Written: w.total}
	if w.total > 0 {
		var deleted map[string][]int64
		if w.keyed {
			rec, dels, err := b.sortedByKey(ctx, w.head, t, w.recs, w.as, w.total, w.o)
			if err != nil {
				return nil, err
			}
			defer rec.Release()
			deleted = dels
			counts.Written = int(rec.NumRows())
			for _, pos := range dels {
				counts.Replaced += len(pos)
			}
			if w.file, err = b.createFile(ctx, &t.meta, txn.KindBase); err != nil {
				return nil, err
			}
			if err := w.file.w.Write(rec); err != nil {
				return nil, err
			}
			for _, r := range w.recs {
				r.Release()
			}
			rec.Retain()
			w.recs = []arrow.Record{rec}
		}
		f := w.file
		w.file = nil // finished or aborted below, not again by end
		add, err := f.finish(ctx, w.recs)
		if err != nil {
			return nil, err
		}
		c.Adds = append(c.Adds, add)
		if err := b.supersede(ctx, w.head, t.meta.ID, deleted, c); err != nil {
			return nil, err
		}
	}
	snap, err := b.commitTables(ctx, w.head, c, t.meta.ID)
	if err == nil {
		w.counts = counts
	}
	return snap, err
}

// Abort abandons the write: nothing is committed, the writers resume.
func (w *BulkWriter) Abort() {
	if !w.ended {
		w.end(errors.New("memwal: bulk write aborted"))
	}
}

// end releases what the writer holds and resumes the branch's writers.
func (w *BulkWriter) end(err error) {
	w.ended = true
	if w.file != nil {
		w.file.w.Abort(err)
		w.file = nil
	}
	for _, r := range w.recs {
		r.Release()
	}
	w.recs = nil
	w.done()
}

// withRowIDs returns rec with fresh, increasing hidden row ids in column
// pos: a keyless table's rows, in key order as they come.
func (b *Branch) withRowIDs(as *arrow.Schema, rec arrow.Record, pos int) arrow.Record {
	n := int(rec.NumRows())
	last := b.rowIDs.Add(int64(n))
	next := b.epoch<<40 | (last - int64(n) + 1)
	ib := array.NewInt64Builder(b.opts.Alloc)
	ib.Reserve(n)
	for range n {
		ib.UnsafeAppend(next)
		next++
	}
	ids := ib.NewArray()
	ib.Release()
	cols := slices.Clone(rec.Columns())
	cols[pos] = ids
	out := array.NewRecordBatch(as, cols, int64(n))
	ids.Release()
	return out
}

// sortedByKey returns the rows of recs (total of them) in one record
// sorted by key, the last row of each key only, and the file rows at head
// their keys supersede (path -> positions). With o.Refuse, a key twice or
// a key at head is a *BulkDuplicateError instead; with o.Skip the first
// row of each key is kept, and none of a key at head.
func (b *Branch) sortedByKey(ctx context.Context, head *txn.Snapshot, t *tableInfo, recs []arrow.Record, as *arrow.Schema, total int, o BulkRecordsOptions) (arrow.Record, map[string][]int64, error) {
	refuse, skip := o.Refuse, o.Skip && !o.Refuse
	var all arrow.Record
	if len(recs) == 1 {
		all = recs[0]
		all.Retain()
	} else {
		cols := make([]arrow.Array, len(as.Fields()))
		for i := range cols {
			parts := make([]arrow.Array, len(recs))
			for j, r := range recs {
				parts[j] = r.Column(i)
			}
			c, err := array.Concatenate(parts, b.opts.Alloc)
			if err != nil {
				for _, p := range cols[:i] {
					p.Release()
				}
				return nil, nil, err
			}
			cols[i] = c
		}
		all = array.NewRecordBatch(as, cols, int64(total))
		for _, c := range cols {
			c.Release()
		}
	}
	defer all.Release()
	enc, err := parquetio.NewKeyEncoder(&t.meta.Schema, t.meta.Key)
	if err != nil {
		return nil, nil, err
	}
	keyArrs := make([]arrow.Array, len(t.meta.Key))
	for i, id := range t.meta.Key {
		keyArrs[i] = all.Column(t.meta.Schema.Position(id))
	}
	keys, err := enc.EncodeArrays(keyArrs)
	if err != nil {
		return nil, nil, err
	}
	order := make([]int32, total)
	for i := range order {
		order[i] = int32(i)
	}
	byKey := func(a, b int32) int { return strings.Compare(string(keys[a]), string(keys[b])) }
	sorted := slices.IsSortedFunc(order, byKey)
	if !sorted {
		slices.SortStableFunc(order, byKey)
	}
	last := order[:0] // of each run of one key, its last row (first with skip)
	for i := range order {
		if skip {
			if i == 0 || keys[order[i-1]] != keys[order[i]] {
				last = append(last, order[i])
			}
			continue
		}
		if i+1 < len(order) && keys[order[i+1]] == keys[order[i]] {
			if refuse {
				return nil, nil, &BulkDuplicateError{Row: int(order[i+1]), FirstRow: int(order[i]), Key: rowValues(keyArrs, int(order[i]))}
			}
			continue
		}
		last = append(last, order[i])
	}
	changes := make([]memtable.Change, len(last))
	for i, r := range last {
		changes[i] = memtable.Change{Key: keys[r]}
	}
	locs, err := b.locate(ctx, head, t.meta.ID, changes, nil)
	if err != nil {
		return nil, nil, err
	}
	deleted := map[string][]int64{}
	kept := last[:0]
	for i, l := range locs {
		switch {
		case l == nil:
			kept = append(kept, last[i])
		case refuse:
			return nil, nil, &BulkDuplicateError{Row: int(last[i]), FirstRow: -1, Key: rowValues(keyArrs, int(last[i]))}
		case skip:
			// the table's row stays
		default:
			kept = append(kept, last[i])
			deleted[l.Path] = append(deleted[l.Path], l.Position)
		}
	}
	last = kept
	if sorted && len(last) == total {
		all.Retain()
		return all, deleted, nil
	}
	return exec.TakeRecord(b.opts.Alloc, all, last), deleted, nil
}

// rowValues returns row i of arrs.
func rowValues(arrs []arrow.Array, i int) []any {
	out := make([]any, len(arrs))
	for j, a := range arrs {
		out[j] = exec.Value(a, i)
	}
	return out
}
