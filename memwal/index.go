package memwal

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/txn"
)

// indexBatch is how many files' index files one commit of BuildIndex adds.
const indexBatch = 16

// BuildIndex writes the index files of index ix of table tableID for the
// live files that lack one (written before the index existed, or virtual),
// indexBatch files per data-preserving commit, and logs its progress. The
// index must be in the table's metadata already: files written from then
// on get their index files as they are written. A file merged away while
// its index file was being written is skipped (its successor has one).
// It returns the number of files indexed.
func (b *Branch) BuildIndex(ctx context.Context, tableID string, ix base.Index) (int, error) {
	ts := b.Head().State.Table(tableID)
	if ts == nil {
		return 0, fmt.Errorf("memwal: build index: table %s does not exist", tableID)
	}
	meta := ts.Meta
	var todo []*txn.Add
	ts.Files(func(a *txn.Add) bool {
		if a.IndexFile(ix.Columns) == nil {
			todo = append(todo, a)
		}
		return true
	})
	start := time.Now()
	done := 0
	for lo := 0; lo < len(todo); lo += indexBatch {
		batch := todo[lo:min(lo+indexBatch, len(todo))]
		built := make([]txn.IndexFile, len(batch))
		for i, a := range batch {
			recs, err := b.reader.FileRecords(ctx, a, &meta.Schema, ix.Columns, b.opts.Alloc)
			if err != nil {
				return done, fmt.Errorf("memwal: index %s of table %s: %w", ix.Name, meta.Name, err)
			}
			built[i], err = b.writeIndexFile(ctx, &meta, a.Path, ix, ix.Columns, recs)
			for _, r := range recs {
				r.Release()
			}
			if err != nil {
				return done, err
			}
		}
		n, err := b.addIndexFiles(ctx, tableID, batch, built)
		if err != nil {
			return done, err
		}
		done += n
		b.opts.Logger.Info("memwal: building index", "table", meta.Name, "index", ix.Name,
			"files", lo+len(batch), "of", len(todo), "took", time.Since(start).Round(time.Millisecond))
	}
	return done, nil
}

// addIndexFiles commits index files built for files (a deletion-vector
// style update of each file that is still live and still lacks one).
func (b *Branch) addIndexFiles(ctx context.Context, tableID string, files []*txn.Add, built []txn.IndexFile) (int, error) {
	b.commitMu.Lock()
	defer b.commitMu.Unlock()
	head, _, err := b.mergeHead()
	if err != nil {
		return 0, err
	}
	ts := head.State.Table(tableID)
	if ts == nil {
		return 0, fmt.Errorf("memwal: build index: table %s was dropped", tableID)
	}
	c := &txn.Commit{Operation: "CREATE INDEX", Preserve: true, Epoch: b.epoch}
	for i, a := range files {
		cur := ts.File(a.Path)
		if cur == nil || cur.IndexFile(built[i].Columns) != nil {
			continue
		}
		upd := *cur
		upd.Indexes = append(slices.Clone(cur.Indexes), built[i])
		c.Removes = append(c.Removes, txn.Remove{Table: tableID, Path: a.Path})
		c.Adds = append(c.Adds, upd)
	}
	if len(c.Adds) == 0 {
		return 0, nil
	}
	next, err := b.commit(ctx, head, c)
	if err != nil {
		return 0, err
	}
	b.mu.Lock()
	b.mu.head = next
	b.mu.filesGen++
	b.mu.Unlock()
	return len(c.Adds), nil
}
