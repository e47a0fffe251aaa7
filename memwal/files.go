package memwal

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/memwal/memtable"
	"github.com/lakesql/lakesql/scan"
	"github.com/lakesql/lakesql/scan/dv"
	"github.com/lakesql/lakesql/txn"
)

// The writer's data files: flushes, merges and bulk writes all write a
// key-sorted file of a table and deletion vectors for the file rows they
// supersede, through these.

// writeFile writes records (every column of meta's schema, sorted by key)
// as a new data file of the table and returns its add action.
func (b *Branch) writeFile(ctx context.Context, meta *txn.Table, kind string, recs []arrow.Record) (txn.Add, error) {
	f, err := b.createFile(ctx, meta, kind)
	if err != nil {
		return txn.Add{}, err
	}
	for _, r := range recs {
		if err := f.w.Write(r); err != nil {
			f.w.Abort(err)
			return txn.Add{}, err
		}
	}
	return f.finish(ctx, recs)
}

// warmKeyIndex looks the first key of a data file just written up in it,
// so that the reader loads the file's key index now, in the flush or the
// merge, rather than in the first commit that locates keys after the file
// is published. A failure only leaves the loading to that commit.
func (b *Branch) warmKeyIndex(ctx context.Context, meta *txn.Table, enc *parquetio.KeyEncoder, add *txn.Add) {
	if add.KeyRange == nil || enc == nil {
		return
	}
	key, err := decodeKeyJSON(meta, enc, add.KeyRange.Min)
	if err != nil {
		return
	}
	b.reader.LocateAll(ctx, &scan.Table{Schema: &meta.Schema, Files: []*txn.Add{add}}, []parquetio.Key{key})
}

// dataFile is a data file being written (createFile): records go to w in
// key order; finish stores it and returns its add action.
type dataFile struct {
	b    *Branch
	meta *txn.Table
	kind string
	rel  string
	w    *parquetio.FileWriter
}

// createFile starts a new data file of the table.
func (b *Branch) createFile(ctx context.Context, meta *txn.Table, kind string) (*dataFile, error) {
	rel := path.Join("data", meta.ID, newFileID()+".parquet")
	opts := b.opts.Writer
	opts.KeyColumns = meta.Key
	w, err := parquetio.CreateFile(ctx, b.st, path.Join(b.db.Prefix(), rel), &meta.Schema, opts)
	if err != nil {
		return nil, err
	}
	return &dataFile{b: b, meta: meta, kind: kind, rel: rel, w: w}, nil
}

// finish stores the file, writes its index files from recs (every record
// written, in order; needed only when the table has indexes) and returns
// its add action.
func (f *dataFile) finish(ctx context.Context, recs []arrow.Record) (txn.Add, error) {
	stats, err := f.w.Close()
	if err != nil {
		return txn.Add{}, err
	}
	meta := f.meta
	add := txn.Add{Table: meta.ID, Path: f.rel, Kind: f.kind, Rows: stats.Rows, Bytes: stats.Bytes}
	if js, err := json.Marshal(stats.Columns); err == nil {
		add.Stats = js
	}
	if stats.KeyMin != nil {
		kmin, _ := json.Marshal(stats.KeyMin)
		kmax, _ := json.Marshal(stats.KeyMax)
		add.KeyRange = &txn.KeyRange{Min: kmin, Max: kmax}
	}
	for _, ix := range meta.Indexes {
		if add.IndexFile(ix.Columns) != nil {
			continue // two indexes on the same columns share a file
		}
		idx, err := f.b.writeIndexFile(ctx, meta, f.rel, ix, nil, recs)
		if err != nil {
			return txn.Add{}, err
		}
		add.Indexes = append(add.Indexes, idx)
	}
	return add, nil
}

// writeIndexFile writes the index file of index ix of the data file rel
// of a table, whose rows are recs in file order (columns: the ids of recs'
// columns; nil: every column of the table).
func (b *Branch) writeIndexFile(ctx context.Context, meta *txn.Table, rel string, ix base.Index, columns []int, recs []arrow.Record) (txn.IndexFile, error) {
	stem := strings.TrimSuffix(path.Base(rel), ".parquet")
	if txn.IsVirtualPath(rel) {
		stem = "virtual"
	}
	name := path.Join("data", meta.ID, "idx", stem+"-"+newFileID()[:12]+".parquet")
	stats, err := parquetio.WriteIndexFile(ctx, b.st, path.Join(b.db.Prefix(), name), &meta.Schema, ix.Columns, columns, recs, b.opts.Writer)
	if err != nil {
		return txn.IndexFile{}, fmt.Errorf("memwal: index %s of %s: %w", ix.Name, rel, err)
	}
	return txn.IndexFile{Index: ix.Name, Columns: slices.Clone(ix.Columns), Path: name, Bytes: stats.Bytes}, nil
}

// supersede adds to c the deletion vectors that hide the rows at deleted
// (file path -> positions) of table tableID's files at head: one DV file
// for the table, and a remove and an add of each file whose vector grows.
func (b *Branch) supersede(ctx context.Context, head *txn.Snapshot, tableID string, deleted map[string][]int64, c *txn.Commit) error {
	if len(deleted) == 0 {
		return nil
	}
	ts := head.State.Table(tableID)
	w := dv.NewWriter(b.db.Prefix(), tableID, dv.WriterOptions{})
	for _, p := range sortedPaths(deleted) {
		old := ts.File(p)
		bm, err := dv.Extend(ctx, b.st, b.db.Prefix(), old.DV, deleted[p])
		if err != nil {
			return err
		}
		d, err := w.Add(p, bm)
		if err != nil {
			return err
		}
		upd := *old
		upd.DV = &d
		c.Removes = append(c.Removes, txn.Remove{Table: tableID, Path: p})
		c.Adds = append(c.Adds, upd)
	}
	return w.Finish(ctx, b.st)
}

// writeChanges adds to c the writes of changes (normalized, sorted by
// key, one per key) to a table: the rows in one new file, and deletion
// vectors for the file rows at head that every written or deleted key
// supersedes. The MemTable must hold none of these keys (it was flushed).
func (b *Branch) writeChanges(ctx context.Context, head *txn.Snapshot, t *tableInfo, changes []memtable.Change, c *txn.Commit) error {
	if len(changes) == 0 {
		return nil
	}
	locs, err := b.locate(ctx, head, t.meta.ID, changes, nil)
	if err != nil {
		return err
	}
	var values [][]any
	for _, ch := range changes {
		if !ch.Deleted {
			values = append(values, ch.Row)
		}
	}
	if len(values) > 0 {
		rec, err := memtable.BuildRecord(b.opts.Alloc, &t.meta.Schema, values)
		if err != nil {
			return err
		}
		add, err := b.writeFile(ctx, &t.meta, txn.KindBase, []arrow.Record{rec})
		rec.Release()
		if err != nil {
			return err
		}
		c.Adds = append(c.Adds, add)
	}
	deleted := map[string][]int64{}
	for _, l := range locs {
		if l != nil {
			deleted[l.Path] = append(deleted[l.Path], l.Position)
		}
	}
	return b.supersede(ctx, head, t.meta.ID, deleted, c)
}
