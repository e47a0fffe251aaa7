package memwal

import (
	"context"
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
}

// BulkDuplicateError is a BulkRecords with Refuse finding a key twice.
// Rows count the rows of the records in order, from 0.
type BulkDuplicateError struct {
	// Row holds the key; FirstRow is the earlier row with the same key,
	// or -1 when the table holds it.
	Row, FirstRow int
}

func (e *BulkDuplicateError) Error() string {
	if e.FirstRow < 0 {
		return fmt.Sprintf("memwal: bulk write: row %d has a key the table holds", e.Row+1)
	}
	return fmt.Sprintf("memwal: bulk write: rows %d and %d have the same key", e.FirstRow+1, e.Row+1)
}

// BulkRecords is Bulk for rows in Arrow records of the table's schema
// (every column, hidden ones included, in the types of
// parquetio.ArrowSchema; values valid for their columns: the caller
// converted and checked them). A table without a primary key takes its
// hidden row ids here: the records' hidden column is ignored and the rows
// get fresh ids in order, so they are written as they come, without a
// sort or a lookup. A table with a key is sorted by key (stably: the last
// row of a key wins, unless Refuse), and the file rows the keys supersede
// get deletion vectors. The records are not released.
func (b *Branch) BulkRecords(ctx context.Context, tableID string, recs []arrow.Record, o BulkRecordsOptions) (*txn.Snapshot, error) {
	if o.Operation == "" {
		o.Operation = "BULK WRITE"
	}
	head, t, done, err := b.exclusiveTable(ctx, tableID, "bulk write")
	if err != nil {
		return nil, err
	}
	defer done()
	if t.meta.SchemaID != o.SchemaID {
		return nil, fmt.Errorf("memwal: bulk write: table %s was altered; nothing was written", t.meta.Name)
	}
	as, err := parquetio.ArrowSchema(&t.meta.Schema, nil)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, r := range recs {
		if !r.Schema().Equal(as) {
			return nil, fmt.Errorf("memwal: bulk write: records of schema %s, want %s", r.Schema(), as)
		}
		total += int(r.NumRows())
	}
	c := &txn.Commit{Operation: o.Operation, Message: o.Message, User: o.User, CreatesVersion: o.Version, Epoch: b.epoch}
	if total == 0 {
		return b.commitTables(ctx, head, c, tableID)
	}
	kc := t.meta.Schema.ColumnByID(t.meta.Key[0])
	var out []arrow.Record
	var deleted map[string][]int64
	if len(t.meta.Key) == 1 && kc != nil && kc.Hidden {
		out = b.withRowIDs(as, recs, t.meta.Schema.Position(kc.ID), total)
	} else {
		rec, dels, err := b.sortedByKey(ctx, head, t, recs, as, total, o.Refuse)
		if err != nil {
			return nil, err
		}
		out, deleted = []arrow.Record{rec}, dels
	}
	defer func() {
		for _, r := range out {
			r.Release()
		}
	}()
	add, err := b.writeFile(ctx, &t.meta, txn.KindBase, out)
	if err != nil {
		return nil, err
	}
	c.Adds = append(c.Adds, add)
	if err := b.supersede(ctx, head, tableID, deleted, c); err != nil {
		return nil, err
	}
	return b.commitTables(ctx, head, c, tableID)
}

// withRowIDs returns recs with fresh, increasing hidden row ids in column
// pos: a keyless table's rows, in key order as they come.
func (b *Branch) withRowIDs(as *arrow.Schema, recs []arrow.Record, pos, total int) []arrow.Record {
	last := b.rowIDs.Add(int64(total))
	next := b.epoch<<40 | (last - int64(total) + 1)
	out := make([]arrow.Record, 0, len(recs))
	for _, r := range recs {
		n := int(r.NumRows())
		if n == 0 {
			continue
		}
		ib := array.NewInt64Builder(b.opts.Alloc)
		ib.Reserve(n)
		for range n {
			ib.UnsafeAppend(next)
			next++
		}
		ids := ib.NewArray()
		ib.Release()
		cols := slices.Clone(r.Columns())
		cols[pos] = ids
		out = append(out, array.NewRecordBatch(as, cols, int64(n)))
		ids.Release()
	}
	return out
}

// sortedByKey returns the rows of recs (total of them) in one record
// sorted by key, the last row of each key only, and the file rows at head
// their keys supersede (path -> positions). With refuse, a key twice or a
// key at head is a *BulkDuplicateError instead.
func (b *Branch) sortedByKey(ctx context.Context, head *txn.Snapshot, t *tableInfo, recs []arrow.Record, as *arrow.Schema, total int, refuse bool) (arrow.Record, map[string][]int64, error) {
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
	last := order[:0] // of each run of one key, its last row
	for i := range order {
		if i+1 < len(order) && keys[order[i+1]] == keys[order[i]] {
			if refuse {
				return nil, nil, &BulkDuplicateError{Row: int(order[i+1]), FirstRow: int(order[i])}
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
	for i, l := range locs {
		if l == nil {
			continue
		}
		if refuse {
			return nil, nil, &BulkDuplicateError{Row: int(last[i]), FirstRow: -1}
		}
		deleted[l.Path] = append(deleted[l.Path], l.Position)
	}
	if sorted && len(last) == total {
		all.Retain()
		return all, deleted, nil
	}
	return exec.TakeRecord(b.opts.Alloc, all, last), deleted, nil
}
