package memwal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/memwal/memtable"
	"github.com/lakesql/lakesql/memwal/wal"
	"github.com/lakesql/lakesql/mergeplan"
	"github.com/lakesql/lakesql/txn"
)

// Flush persists every acknowledged write in data files: it freezes the
// live MemTable, writes one key-sorted Parquet file per table and the
// deletion vectors of the file rows it supersedes, and commits them with
// the WAL position in one storage entry (no version).
func (b *Branch) Flush(ctx context.Context) error {
	_, err := b.flush(ctx, nil)
	return err
}

// CommitVersion creates a version holding every write acknowledged before
// it: the MemTable is flushed in the same entry. With nothing pending since
// the newest version it creates none and returns the head.
func (b *Branch) CommitVersion(ctx context.Context, message, user string) (*txn.Snapshot, error) {
	return b.flush(ctx, &txn.Commit{Operation: "COMMIT", Message: message, User: user, CreatesVersion: true})
}

// CommitDDL commits a table change (create, alter, drop, truncate) as a
// version: writers pause, the MemTable is flushed in the same entry, and
// the writer continues on the new schemas.
func (b *Branch) CommitDDL(ctx context.Context, c *txn.Commit) (*txn.Snapshot, error) {
	c.CreatesVersion = true
	return b.CommitTables(ctx, c)
}

// CommitTables commits a table change like CommitDDL, creating a version
// only when c says so: the SQL layer adds a CREATE TABLE statement's
// indexes in entries after the one that created the table, and the
// statement is still one version.
func (b *Branch) CommitTables(ctx context.Context, c *txn.Commit) (*txn.Snapshot, error) {
	defer b.pause()()
	return b.flush(ctx, c)
}

// flushDueLocked reports whether the live MemTable is full and no
// background flush runs; if so it counts the flush that the caller starts
// (flushInBackground) once it has released b.mu, which it holds.
func (b *Branch) flushDueLocked() bool {
	big := b.mu.live.Bytes() >= b.opts.FlushBytes && !b.mu.flushing && !b.mu.closed
	if big {
		b.mu.flushing = true
		b.bg.Add(1) // under b.mu, before shutdown's Wait (it sets closed first)
	}
	return big
}

// flushInBackground flushes and then runs the merge job, in a goroutine
// that flushDueLocked counted.
func (b *Branch) flushInBackground() {
	go func() {
		defer b.bg.Done()
		err := b.Flush(context.Background())
		if err != nil && !errors.Is(err, ErrClosed) {
			b.opts.Logger.Warn("memwal: background flush failed", "branch", b.name, "error", err)
		}
		b.mu.Lock()
		b.mu.flushing = false
		b.mu.published2.Broadcast() // writers held back by backpressure
		b.mu.Unlock()
		if err == nil {
			b.MaybeMerge()
		}
	}()
}

// MaybeMerge runs the background merge job now, unless
// Options.NoBackgroundMerge: what a writer does after its size-triggered
// flushes, for flushes made otherwise (the SQL layer's interval flushes).
func (b *Branch) MaybeMerge() {
	if !b.opts.NoBackgroundMerge {
		b.backgroundMerge()
	}
}

// backgroundMerge is the merge job after a background flush: what
// mergeplan plans (overlapping flushes past the probe depth, piles of small
// files, files mostly deleted), each merge reading at most
// Options.MergeInputBytes so that the flushes waiting for it wait briefly.
// A flush that starts meanwhile runs after it; another background flush
// runs its own merge after that, never two at once (commitMu).
func (b *Branch) backgroundMerge() {
	start := time.Now()
	n, err := b.Compact(context.Background(), "", mergeplan.MergeOptions{MaxInputBytes: b.opts.MergeInputBytes})
	switch {
	case errors.Is(err, ErrClosed) || errors.Is(err, ErrFailed):
	case err != nil:
		b.opts.Logger.Warn("memwal: background merge failed", "branch", b.name, "error", err)
	case n > 0:
		b.opts.Logger.Info("memwal: merged files", "branch", b.name, "merges", n, "took", time.Since(start).Round(time.Millisecond))
	}
}

// relocations are the keys a flush wrote to a table's new file, in key
// order, and their rows' locations there.
type relocations struct {
	table string
	keys  []parquetio.Key
	locs  []memtable.Location
}

func (b *Branch) flush(ctx context.Context, extra *txn.Commit) (*txn.Snapshot, error) {
	b.commitMu.Lock()
	defer b.commitMu.Unlock()
	// A frozen MemTable that a failed flush left behind goes first: its
	// rows are older than the live MemTable's.
	for {
		b.mu.Lock()
		if err := b.mu.err; err != nil {
			b.mu.Unlock()
			return nil, err
		}
		if len(b.mu.frozen) == 0 {
			break
		}
		left := b.mu.frozen[0]
		b.mu.Unlock()
		if _, err := b.flushFrozen(ctx, left, left.LastSeq(), nil); err != nil {
			return nil, err
		}
	}
	// b.mu is held.
	var frozen *memtable.MemTable
	if b.mu.live.Len() > 0 {
		frozen = b.mu.live
		frozen.Freeze()
		b.mu.live = b.newMemTable()
		b.mu.frozen = append(b.mu.frozen, frozen)
	}
	upto := b.mu.submitted
	b.mu.Unlock()
	return b.flushFrozen(ctx, frozen, upto, extra)
}

// flushFrozen persists frozen (nil: nothing to write) up to upto and
// commits it with extra's actions, if any. On failure frozen stays in the
// list, still read by snapshots, for the next flush to retry.
func (b *Branch) flushFrozen(ctx context.Context, frozen *memtable.MemTable, upto uint64, extra *txn.Commit) (*txn.Snapshot, error) {
	empty := frozen == nil
	b.mu.Lock()
	for b.mu.published < upto && b.mu.err == nil {
		b.mu.published2.Wait() // records in flight become durable first
	}
	head, err := b.mu.head, b.mu.err
	tables := b.tableInfos()
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if empty && extra == nil {
		return head, nil
	}
	if empty && extra != nil && extra.Operation == "COMMIT" && len(extra.Tables)+len(extra.Drops)+len(extra.Truncates) == 0 {
		if !head.State.Pending {
			return head, nil // nothing since the newest version
		}
	}
	c := &txn.Commit{Operation: "FLUSH"}
	if extra != nil {
		*c = *extra
	}
	c.Epoch = b.epoch
	c.WAL = &txn.WALPosition{Epoch: b.epoch, Position: max(int64(upto), head.State.WAL.Position)}
	var relocs []relocations
	if !empty {
		if relocs, err = b.writeFlush(ctx, head, tables, frozen, upto, c); err != nil {
			return nil, fmt.Errorf("memwal: flush of branch %q: %w", b.name, err)
		}
	}
	b.opts.hook("flush-written")
	newHead, err := b.db.Commit(ctx, head, c)
	if err != nil {
		if errors.Is(err, txn.ErrFenced) {
			b.fail(fmt.Errorf("%w: %v", ErrFailed, err))
		}
		return nil, fmt.Errorf("memwal: flush of branch %q: %w", b.name, err)
	}
	b.opts.hook("flush-committed")
	b.mu.Lock()
	if !empty {
		b.mu.frozen = slices.DeleteFunc(b.mu.frozen, func(m *memtable.MemTable) bool { return m == frozen })
	}
	// Keys the newer MemTables hold must mask their flushed rows in the
	// new files, from the moment those files are visible. (A MemTable
	// released or without the table has nothing to mask.)
	for _, m := range append(slices.Clone(b.mu.frozen), b.mu.live) {
		for _, r := range relocs {
			m.Relocate(r.table, r.keys, r.locs)
		}
	}
	b.mu.head = newHead
	b.mu.filesGen++
	b.pruneWritesLocked()
	if extra != nil && len(extra.Tables)+len(extra.Drops)+len(extra.Truncates) > 0 {
		b.mu.ddlGen++
		for _, id := range changedTables(extra) {
			b.mu.tableGen[id] = b.mu.ddlGen
		}
		if err := b.resetTables(newHead); err == nil {
			old := b.mu.live
			b.mu.live = b.newMemTable() // writers were paused: it is empty
			old.Release()
		}
	}
	b.mu.Unlock()
	b.warm(newHead, c.Adds)
	if !empty {
		frozen.Release()
		if _, err := wal.DeleteBefore(ctx, b.st, b.walDir, b.epoch, upto); err != nil {
			b.opts.Logger.Warn("memwal: WAL garbage collection failed", "branch", b.name, "error", err)
		}
	}
	return newHead, nil
}

func changedTables(c *txn.Commit) []string {
	var ids []string
	for _, t := range c.Tables {
		ids = append(ids, t.ID)
	}
	for _, d := range c.Drops {
		ids = append(ids, d.ID)
	}
	for _, t := range c.Truncates {
		ids = append(ids, t.ID)
	}
	return ids
}

// writeFlush writes the frozen MemTable's tables as files and deletion
// vectors, adding the actions to c, and returns where the flushed keys now
// live.
func (b *Branch) writeFlush(ctx context.Context, head *txn.Snapshot, tables map[string]*tableInfo,
	frozen *memtable.MemTable, upto uint64, c *txn.Commit) ([]relocations, error) {
	var relocs []relocations
	gone := map[string]bool{} // tables the same entry drops or truncates
	for _, d := range c.Drops {
		gone[d.ID] = true
	}
	for _, tr := range c.Truncates {
		gone[tr.ID] = true
	}
	for _, id := range frozen.Tables() {
		t := tables[id]
		ts := head.State.Table(id)
		if t == nil || ts == nil || gone[id] {
			continue // dropped, or its rows go with the truncate
		}
		keys, recs, deleted, err := b.flushedTable(frozen, id, upto, &t.meta.Schema, ts)
		if err != nil {
			return nil, err
		}
		if len(keys) > 0 {
			add, err := b.writeFile(ctx, &t.meta, txn.KindFlushed, recs)
			release(recs)
			if err != nil {
				return nil, err
			}
			c.Adds = append(c.Adds, add)
			b.warmKeyIndex(ctx, &t.meta, t.enc, &add)
			r := relocations{table: id, keys: keys, locs: make([]memtable.Location, len(keys))}
			for i := range r.locs {
				r.locs[i] = memtable.Location{Path: add.Path, Position: int64(i)}
			}
			relocs = append(relocs, r)
		}
		if err := b.supersede(ctx, head, id, deleted, c); err != nil {
			return nil, err
		}
	}
	return relocs, nil
}

// flushRecordRows is the number of rows per record a flush writes.
const flushRecordRows = 64 << 10

// flushedTable reads table id of the frozen MemTable in one pass: the keys
// with a row at upto and those rows as records of schema, in key order,
// and the positions of the files of ts (path -> positions) that its keys
// supersede.
func (b *Branch) flushedTable(frozen *memtable.MemTable, id string, upto uint64, schema *base.Schema, ts *txn.TableState) (
	keys []parquetio.Key, recs []arrow.Record, deleted map[string][]int64, err error) {
	v, err := frozen.Snapshot(upto)
	if err != nil {
		return nil, nil, nil, err
	}
	n := v.Table(id).LiveRows() // the keys with a row
	v.Release()
	keys = make([]parquetio.Key, 0, n)
	rows := make([][]any, 0, min(n, flushRecordRows))
	deleted = map[string][]int64{}
	live := map[string]bool{} // whether a path is one of ts's files
	build := func() error {
		rec, err := memtable.BuildRecord(b.opts.Alloc, schema, rows)
		if err == nil {
			recs, rows = append(recs, rec), rows[:0]
		}
		return err
	}
	for e := range frozen.Iterate(id, upto) {
		for _, l := range e.Locations {
			in, ok := live[l.Path]
			if !ok {
				in = ts.File(l.Path) != nil
				live[l.Path] = in
			}
			if in {
				deleted[l.Path] = append(deleted[l.Path], l.Position)
			}
		}
		if e.Deleted {
			continue
		}
		keys, rows = append(keys, e.Key), append(rows, e.Row)
		if len(rows) == flushRecordRows {
			if err := build(); err != nil {
				release(recs)
				return nil, nil, nil, err
			}
		}
	}
	if len(rows) > 0 {
		if err := build(); err != nil {
			release(recs)
			return nil, nil, nil, err
		}
	}
	return keys, recs, deleted, nil
}

func release(recs []arrow.Record) {
	for _, r := range recs {
		r.Release()
	}
}

func sortedPaths(m map[string][]int64) []string {
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func newFileID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// warm decodes the data files adds (just committed at head) into the
// reader's cache in the background when Options.WarmCache is set, one
// batch after another; a writer closing stops it between files.
func (b *Branch) warm(head *txn.Snapshot, adds []txn.Add) {
	if !b.opts.WarmCache || len(adds) == 0 {
		return
	}
	b.mu.Lock()
	if b.mu.closed {
		b.mu.Unlock()
		return
	}
	b.bg.Add(1) // under b.mu, before shutdown's Wait
	b.mu.Unlock()
	go func() {
		defer b.bg.Done()
		b.warmMu.Lock()
		defer b.warmMu.Unlock()
		for i := range adds {
			a := &adds[i]
			ts := head.State.Table(a.Table)
			b.mu.Lock()
			closed := b.mu.closed
			b.mu.Unlock()
			if closed {
				return
			}
			if ts == nil {
				continue
			}
			if err := b.reader.Warm(context.Background(), a, &ts.Meta.Schema); err != nil {
				b.opts.Logger.Debug("memwal: warming the cache with a new file failed", "branch", b.name, "file", a.Path, "error", err)
			}
		}
	}()
}
