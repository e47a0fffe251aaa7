package memwal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/memwal/lease"
	"github.com/lakesql/lakesql/memwal/memtable"
	"github.com/lakesql/lakesql/memwal/wal"
	"github.com/lakesql/lakesql/scan"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/txn"
)

// Errors of a branch writer.
var (
	// ErrConflict: a transaction's write-write conflict with one committed
	// since its snapshot (first committer wins). Retryable; the SQL layer
	// reports it as 1213.
	ErrConflict = errors.New("memwal: write conflict with a concurrent transaction")
	// ErrClosed: the writer was closed.
	ErrClosed = errors.New("memwal: branch writer closed")
	// ErrSnapshotTooOld: a snapshot was read after Options.SnapshotTTL.
	ErrSnapshotTooOld = errors.New("memwal: snapshot too old")
	// ErrFailed: the writer stopped for good (fenced by a newer writer, or
	// its WAL or lease failed); nothing more is acknowledged. Reopen.
	ErrFailed = errors.New("memwal: branch writer failed")
)

// Options configure a branch writer.
type Options struct {
	// FlushBytes flushes the live MemTable when it holds this much
	// (default 32 MiB).
	FlushBytes int64
	// LeaseDuration is the writer lease's duration (default: the lease
	// package's).
	LeaseDuration time.Duration
	// WaitForLease waits for a live holder's lease to expire instead of
	// failing.
	WaitForLease bool
	// Writer configures the data files flushes write.
	Writer parquetio.WriterOptions
	// Alloc allocates Arrow memory (default memory.DefaultAllocator).
	Alloc memory.Allocator
	// Logger receives what the writer does (default slog.Default()).
	Logger *slog.Logger
	// SnapshotTTL is how long a snapshot may be read (default 10
	// minutes): an older one pins MemTables too long and gets
	// ErrSnapshotTooOld.
	SnapshotTTL time.Duration
	// Reader, when set, reads the database's data files (shared with
	// other readers of the database, so that they share caches); the
	// writer does not close it. Default: a reader of its own.
	Reader *scan.Reader
	// NoBackgroundMerge turns off the merge job that runs after each
	// background flush (Compact still merges on demand).
	NoBackgroundMerge bool
	// WarmCache decodes the data files each flush and merge writes into
	// the reader's page cache in the background (scan.Reader.Warm), so
	// that the first reads of fresh data find it decoded.
	WarmCache bool
	// MergeInputBytes caps what one background merge reads (default
	// 4 × FlushBytes, at least 64 MiB): flushes wait for a merge, so it
	// must stay short.
	MergeInputBytes int64
	// Hook, if set, is called at the named points of a takeover ("fenced",
	// "claimed", "replayed") and of a flush ("flush-written",
	// "flush-committed"); tests use it to pause a writer there.
	Hook func(point string)
}

func (o *Options) hook(point string) {
	if o.Hook != nil {
		o.Hook(point)
	}
}

func (o *Options) fill() {
	if o.FlushBytes <= 0 {
		o.FlushBytes = 32 << 20
	}
	if o.Alloc == nil {
		o.Alloc = memory.DefaultAllocator
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SnapshotTTL <= 0 {
		o.SnapshotTTL = 10 * time.Minute
	}
	if o.MergeInputBytes <= 0 {
		o.MergeInputBytes = max(4*o.FlushBytes, 64<<20)
	}
}

// tableInfo is what the writer knows of a table.
type tableInfo struct {
	meta txn.Table
	enc  *parquetio.KeyEncoder
	norm *memtable.Normalizer
	// keyPos are the positions of the key columns in a row, in key order.
	keyPos []int
	// rowIDPos is the position of the hidden row id column, or -1.
	rowIDPos int
	// writes is how many keys the last transaction committed to the
	// table wrote: the next ones size their buffers by it.
	writes atomic.Int64
}

// newTableInfo returns what the writer needs of table meta.
func newTableInfo(meta txn.Table) (*tableInfo, error) {
	enc, err := parquetio.NewKeyEncoder(&meta.Schema, meta.Key)
	if err != nil && len(meta.Key) > 0 {
		return nil, err
	}
	norm, err := memtable.NewNormalizer(&meta.Schema)
	if err != nil {
		return nil, err
	}
	t := &tableInfo{meta: meta, enc: enc, norm: norm, rowIDPos: -1}
	for _, id := range meta.Key {
		t.keyPos = append(t.keyPos, meta.Schema.Position(id))
	}
	for i, c := range meta.Schema.Columns {
		if c.Hidden && c.Name == base.RowIDColumn {
			t.rowIDPos = i
		}
	}
	return t, nil
}

// Branch is the writer of one branch: it holds the branch's lease, appends
// to its WAL, keeps its MemTables and flushes them. It is the branch's only
// committer of data entries. Safe for concurrent use.
type Branch struct {
	db        *txn.DB
	st        store.Store
	name      string
	id        string
	walDir    string
	opts      Options
	held      *lease.Held
	epoch     int64
	w         *wal.Writer
	reader    *scan.Reader
	ownReader bool // reader is the writer's own, closed with it

	rowIDs atomic.Int64 // the counter of hidden row ids

	// tables is what the writer knows of the log's tables: replaced whole
	// by resetTables under mu, read without it (a transaction's writes
	// look their table up on every row).
	tables atomic.Pointer[map[string]*tableInfo]

	// bg counts the background flush-and-merge goroutines, which shutdown
	// waits for: nothing is written after Close.
	bg sync.WaitGroup
	// warmMu runs one warming of fresh files at a time.
	warmMu sync.Mutex

	// commitMu serializes this writer's log commits (flushes, merges,
	// DDL, versions): they never race each other for the log.
	commitMu sync.Mutex
	// mergeMu runs one merge job (Compact, Materialize) at a time; it is
	// taken before commitMu.
	mergeMu sync.Mutex

	mu struct {
		sync.Mutex // the branch's write lock
		head       *txn.Snapshot
		live       *memtable.MemTable
		frozen     []*memtable.MemTable // oldest first
		submitted  uint64               // the last seq given to a record
		published  uint64               // the last durable and applied seq
		published2 *sync.Cond           // signalled when published moves
		conflicts  writeIndex           // the conflict index
		open       map[uint64]int       // snapshot seqs of open transactions
		tableGen   map[string]uint64    // ddlGen of the last table change of a table
		ddlGen     uint64               // counts table changes
		filesGen   uint64               // bumped when the log's files change
		err        error                // terminal
		closed     bool
		paused     bool // DDL in progress: commits wait
		flushing   bool // a background flush is running
	}
}

// Open becomes the writer of branch: it takes the lease, fences the WAL of
// older writers, claims its epoch in the branch's log, and replays the WAL
// after the log's persisted position into a MemTable. Nothing is served
// before that is done (DESIGN.md section 3).
func Open(ctx context.Context, db *txn.DB, branch string, opts Options) (*Branch, error) {
	opts.fill()
	head, err := db.RefreshHead(ctx, branch)
	if err != nil {
		return nil, err
	}
	st := db.Store()
	b := &Branch{db: db, st: st, name: branch, id: head.Branch.ID, opts: opts,
		walDir: path.Join(db.Prefix(), "_lakesql_wal", head.Branch.ID)}
	b.reader, b.ownReader = opts.Reader, false
	if b.reader == nil {
		b.reader, b.ownReader = scan.NewReader(st, db.Prefix(), scan.Options{}), true
	}
	b.mu.published2 = sync.NewCond(&b.mu)
	held, err := lease.Acquire(ctx, st, b.walDir+"/LEASE", lease.Options{
		Duration: opts.LeaseDuration, MinEpoch: head.State.MaxEpoch, Wait: opts.WaitForLease})
	if err != nil {
		return nil, fmt.Errorf("memwal: branch %q: %w", branch, err)
	}
	b.held, b.epoch = held, held.Epoch()
	if err := b.takeover(ctx, head); err != nil {
		held.Release(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("memwal: taking over branch %q: %w", branch, err)
	}
	go b.watchLease()
	return b, nil
}

// takeover runs steps (a)-(d) of DESIGN.md section 3.
func (b *Branch) takeover(ctx context.Context, head *txn.Snapshot) error {
	persisted := uint64(max(head.State.WAL.Position, 0))
	// (a) Fence every epoch from the newest claimed in the log up to the
	// one before ours, so no older writer can append or acknowledge.
	for ep := max(head.State.MaxEpoch, 1); ep < b.epoch; ep++ {
		if _, err := wal.Fence(ctx, b.st, b.walDir, ep); err != nil {
			return fmt.Errorf("fencing epoch %d: %w", ep, err)
		}
	}
	b.opts.hook("fenced")
	// (b, c) Claim the epoch. The position stays the persisted one: the
	// claim persists nothing.
	claimed, err := b.db.Commit(ctx, head, &txn.Commit{Operation: "CLAIM", Epoch: b.epoch,
		WAL: &txn.WALPosition{Epoch: b.epoch, Position: int64(persisted)}})
	if err != nil {
		return fmt.Errorf("claiming epoch %d: %w", b.epoch, err)
	}
	b.opts.hook("claimed")
	// No older writer can commit after the claim: the persisted position
	// read now is final (a zombie's flush may have landed before it).
	persisted = uint64(max(claimed.State.WAL.Position, 0))
	b.mu.head = claimed
	if err := b.resetTables(claimed); err != nil {
		return err
	}
	b.mu.live = b.newMemTable()
	b.mu.open = map[uint64]int{}
	b.mu.tableGen = map[string]uint64{}
	// (d) Replay every epoch before ours, in order, each up to its fence.
	epochs, err := wal.Epochs(ctx, b.st, b.walDir)
	if err != nil {
		return err
	}
	// Each epoch up to the first record of the next one that has records:
	// a fenced writer that appended to a segment may have completed an
	// append after its taker read the epoch, unacknowledged, with a
	// sequence number the taker's epoch reuses (wal.ReplayUpTo).
	epochs = slices.DeleteFunc(epochs, func(ep int64) bool { return ep >= b.epoch })
	upTo := make([]uint64, len(epochs))
	next := uint64(math.MaxUint64)
	for i := len(epochs) - 1; i >= 0; i-- {
		upTo[i] = next
		first, ok, err := wal.FirstSeq(ctx, b.st, b.walDir, epochs[i])
		if err != nil {
			return fmt.Errorf("reading epoch %d: %w", epochs[i], err)
		}
		if ok {
			next = first - 1
		}
	}
	last := persisted
	for i, ep := range epochs {
		_, err := wal.ReplayUpTo(ctx, b.st, b.walDir, ep, persisted, upTo[i], func(r wal.Record) error {
			last = max(last, r.Seq)
			return b.replay(ctx, r)
		})
		if err != nil {
			return fmt.Errorf("replaying epoch %d: %w", ep, err)
		}
	}
	b.opts.hook("replayed")
	b.mu.submitted, b.mu.published = last, last
	if b.w, err = wal.NewWriter(b.st, b.walDir, b.epoch, wal.Options{NextSeq: last + 1, Logger: b.opts.Logger}); err != nil {
		return err
	}
	b.opts.Logger.Info("memwal: writer ready", "branch", b.name, "epoch", b.epoch,
		"persisted", persisted, "replayed to", last)
	return nil
}

// replay applies one WAL record to the live MemTable. Changes of a table
// that no longer exists, or whose schema changed since the record was
// written, are skipped: they were written for another table. The conflict
// index does not note them: every transaction begins after the replay, at
// a snapshot that holds them all, so none can conflict with them (noting
// them took a fifth of a long replay).
func (b *Branch) replay(ctx context.Context, r wal.Record) error {
	byTable := map[string][]memtable.Change{}
	for _, c := range r.Changes {
		t := b.tableInfos()[c.TableID]
		if t == nil || t.meta.SchemaID != c.SchemaID || c.Kind == wal.ChangeTruncate {
			continue
		}
		mc := memtable.Change{Key: parquetio.Key(c.Key), Deleted: c.Kind == wal.ChangeDelete}
		if !mc.Deleted {
			row, err := decodeRow(c.Row)
			if err != nil {
				return base.Corruptf(fmt.Sprintf("WAL record %d", r.Seq), "table %s: %v", c.TableID, err)
			}
			mc.Row = row
		}
		byTable[c.TableID] = append(byTable[c.TableID], mc)
	}
	for id, changes := range byTable {
		locs, err := b.locate(ctx, b.mu.head, id, changes, nil)
		if err != nil {
			return err
		}
		for i := range changes {
			changes[i].Loc = locs[i]
		}
		if err := b.mu.live.ApplyNormalized(r.Seq, id, changes...); err != nil {
			return err
		}
	}
	return nil
}

// resetTables loads the tables of a log state.
func (b *Branch) resetTables(head *txn.Snapshot) error {
	tables := map[string]*tableInfo{}
	for _, t := range head.State.Tables() {
		info, err := newTableInfo(t.Meta)
		if err != nil {
			return fmt.Errorf("memwal: table %s: %w", t.Meta.Name, err)
		}
		tables[t.Meta.ID] = info
	}
	b.tables.Store(&tables)
	return nil
}

// tableInfos is what the writer knows of the log's tables; the map is never
// modified.
func (b *Branch) tableInfos() map[string]*tableInfo { return *b.tables.Load() }

// newMemTable returns an empty MemTable holding the writer's tables.
func (b *Branch) newMemTable() *memtable.MemTable {
	m := memtable.New(memtable.Options{})
	for id, t := range b.tableInfos() {
		if err := m.AddTable(id, &t.meta.Schema, t.meta.Indexes...); err != nil {
			panic(err) // the schemas are the log's and were parsed already
		}
	}
	return m
}

// noteWritesLocked records in the conflict index that the commit seq
// wrote changes to table.
func (b *Branch) noteWritesLocked(table string, changes []memtable.Change, seq uint64) {
	b.mu.conflicts.note(table, changes, seq, b.horizonLocked())
}

// pruneWritesLocked drops the conflict index's entries that no open or
// future transaction can conflict with.
func (b *Branch) pruneWritesLocked() { b.mu.conflicts.prune(b.horizonLocked()) }

// horizonLocked is the oldest snapshot of an open transaction, or the
// published sequence number (every later snapshot's) when none is open:
// commits at or below it conflict with no open or future transaction.
func (b *Branch) horizonLocked() uint64 {
	h := b.mu.published
	for seq := range b.mu.open {
		h = min(h, seq)
	}
	return h
}

// locate finds, in the files of head, the live row of each change's key:
// the location a new version must mask. nil for a key with no file row.
func (b *Branch) locate(ctx context.Context, head *txn.Snapshot, tableID string, changes []memtable.Change, known map[parquetio.Key]*memtable.Location) ([]*memtable.Location, error) {
	ts := head.State.Table(tableID)
	out := make([]*memtable.Location, len(changes))
	if ts == nil || ts.FileCount() == 0 {
		return out, nil
	}
	t := b.scanTable(ts)
	var keys []parquetio.Key
	var at []int
	for i, c := range changes {
		if l, ok := known[c.Key]; ok {
			out[i] = l // looked up at this log state already
			continue
		}
		keys = append(keys, c.Key)
		at = append(at, i)
	}
	if len(keys) == 0 {
		return out, nil
	}
	locs, found, err := b.reader.LocateAll(ctx, t, keys)
	if err != nil {
		return nil, err
	}
	mlocs := make([]memtable.Location, len(keys)) // one allocation for all
	for j, i := range at {
		if found[j] {
			mlocs[j] = memtable.Location{Path: locs[j].Path, Position: locs[j].Position}
			out[i] = &mlocs[j]
		}
	}
	return out, nil
}

// scanTable is the files of table ts, for lookups.
func (b *Branch) scanTable(ts *txn.TableState) *scan.Table {
	t := &scan.Table{Schema: &ts.Meta.Schema}
	ts.Files(func(a *txn.Add) bool {
		t.Files = append(t.Files, a)
		return true
	})
	return t
}

// watchLease fails the writer when its lease is lost.
func (b *Branch) watchLease() {
	<-b.held.Lost()
	b.fail(fmt.Errorf("%w: the lease of branch %q was lost: %v", ErrFailed, b.name, b.held.Err()))
}

// fail stops the writer for good.
func (b *Branch) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mu.err == nil {
		b.mu.err = err
		b.opts.Logger.Error("memwal: writer stopped", "branch", b.name, "epoch", b.epoch, "error", err)
	}
	b.mu.published2.Broadcast()
}

// Epoch is the writer's lease epoch.
func (b *Branch) Epoch() int64 { return b.epoch }

// Head is the log state the writer's MemTables sit on.
func (b *Branch) Head() *txn.Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mu.head
}

// Close flushes the MemTables, closes the WAL and releases the lease.
func (b *Branch) Close(ctx context.Context) error {
	err := b.Flush(ctx)
	return errors.Join(err, b.shutdown(ctx, true))
}

// Abandon stops the writer without flushing, as a crash would, but
// releases the lease so that a new writer takes over at once (tests).
func (b *Branch) Abandon() error { return b.shutdown(context.Background(), true) }

func (b *Branch) shutdown(ctx context.Context, release bool) error {
	b.mu.Lock()
	if b.mu.closed {
		b.mu.Unlock()
		return nil
	}
	b.mu.closed = true
	if b.mu.err == nil {
		b.mu.err = ErrClosed
	}
	b.mu.published2.Broadcast()
	b.mu.Unlock()
	b.bg.Wait() // they stop at their next step (ErrClosed), or finish a merge
	b.mu.Lock()
	live, frozen := b.mu.live, slices.Clone(b.mu.frozen)
	b.mu.Unlock()
	var errs []error
	errs = append(errs, b.w.Close())
	if release {
		errs = append(errs, b.held.Release(ctx))
	}
	for _, m := range append(frozen, live) {
		m.Release()
	}
	if b.ownReader {
		errs = append(errs, b.reader.Close())
	}
	return errors.Join(errs...)
}
