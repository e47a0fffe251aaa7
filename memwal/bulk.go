package memwal

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/memwal/memtable"
	"github.com/lakesql/lakesql/txn"
)

// BulkOptions configure a bulk write.
type BulkOptions struct {
	// Operation names it in the log ("LOAD DATA", "IMPORT", ...).
	Operation string
	// Version makes the commit a user version (LOAD DATA and import do).
	Version bool
	Message string
	User    string
}

// Bulk writes rows (every column of the table, in schema order) straight
// into a data file, bypassing the WAL and the MemTable: the bulk path of
// LOAD DATA, import and statements that touch many rows. Writers pause
// (the table lock, held from freeze to commit), the MemTable is flushed, the
// rows are written sorted by key (a later row of a key wins over an
// earlier one), the file rows they supersede get deletion vectors, and one
// entry commits it all. The result is everything up to the freeze plus the
// rows.
func (b *Branch) Bulk(ctx context.Context, tableID string, rows [][]any, o BulkOptions) (*txn.Snapshot, error) {
	if o.Operation == "" {
		o.Operation = "BULK WRITE"
	}
	head, t, done, err := b.exclusiveTable(ctx, tableID, "bulk write")
	if err != nil {
		return nil, err
	}
	defer done()
	// Normalize, key and sort the rows; the last row of a key wins.
	type keyed struct {
		key parquetio.Key
		row []any
		i   int
	}
	ks := make([]keyed, 0, len(rows))
	tx := &Txn{b: b}
	// A keyless table's rows get fresh hidden ids, increasing: they are
	// in key order already and supersede nothing.
	kc := t.meta.Schema.ColumnByID(t.meta.Key[0])
	fresh := len(t.meta.Key) == 1 && kc != nil && kc.Hidden // every key new
	for i, row := range rows {
		r := slices.Clone(row)
		for j, c := range t.meta.Schema.Columns {
			if c.Hidden && r[j] == nil {
				r[j] = b.newRowID()
			} else if c.Hidden && c.ID == kc.ID {
				fresh = false // a given row id may exist
			}
		}
		norm, err := t.norm.Row(r)
		if err != nil {
			return nil, fmt.Errorf("memwal: bulk write, row %d: %w", i+1, err)
		}
		key, err := tx.keyOf(t, norm)
		if err != nil {
			return nil, err
		}
		ks = append(ks, keyed{key: key, row: norm, i: i})
	}
	byKey := func(a, b keyed) int { return strings.Compare(string(a.key), string(b.key)) }
	if !slices.IsSortedFunc(ks, byKey) {
		slices.SortStableFunc(ks, byKey)
	}
	last := ks[:0] // of each run of one key, its last row
	for i := range ks {
		if i+1 < len(ks) && ks[i+1].key == ks[i].key {
			continue
		}
		last = append(last, ks[i])
	}
	ks = last
	c := &txn.Commit{Operation: o.Operation, Message: o.Message, User: o.User, CreatesVersion: o.Version, Epoch: b.epoch}
	changes := make([]memtable.Change, len(ks))
	for i, k := range ks {
		changes[i] = memtable.Change{Key: k.key, Row: k.row}
	}
	if err := b.writeChanges(ctx, head, t, changes, c, fresh); err != nil {
		return nil, err
	}
	return b.commitTables(ctx, head, c, tableID)
}
