package memwal

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

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

// Bulk writes rows (every column of the table, in schema order, as Go
// values) through BulkRecords: it normalizes them (checking that each
// value fits its column) into one Arrow record. A table without a primary
// key gives its rows fresh row ids.
func (b *Branch) Bulk(ctx context.Context, tableID string, rows [][]any, o BulkOptions) (*txn.Snapshot, error) {
	t := b.tableInfos()[tableID]
	if t == nil {
		return nil, fmt.Errorf("memwal: bulk write: table %s does not exist", tableID)
	}
	norm := make([][]any, len(rows))
	for i, row := range rows {
		row = slices.Clone(row)
		for j, c := range t.meta.Schema.Columns {
			if c.Hidden && j < len(row) && row[j] == nil {
				row[j] = int64(0) // BulkRecords assigns the row ids
			}
		}
		r, err := t.norm.Row(row)
		if err != nil {
			return nil, fmt.Errorf("memwal: bulk write, row %d: %w", i+1, err)
		}
		norm[i] = r
	}
	rec, err := memtable.BuildRecord(b.opts.Alloc, &t.meta.Schema, norm)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	return b.BulkRecords(ctx, tableID, []arrow.Record{rec}, BulkRecordsOptions{BulkOptions: o, SchemaID: t.meta.SchemaID})
}
