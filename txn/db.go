package txn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
)

// DefaultRetention is the default of Options.Retention.
const DefaultRetention = 7 * 24 * time.Hour

// MainBranch is the branch every database starts with. It cannot be
// deleted.
const MainBranch = "main"

// Options configure a DB. The zero value is usable.
type Options struct {
	// HeadRefresh is how stale a head may be: a process looks for other
	// processes' entries at most this often (default 1 s). Its own
	// commits it knows at once. A negative value refreshes on every call.
	HeadRefresh time.Duration
	// CheckpointInterval writes a checkpoint every this many entries of a
	// log (default 100; negative: only on demand).
	CheckpointInterval int64
	// SyncCheckpoints writes interval checkpoints inside the commit that
	// reaches them instead of in the background (tests, benchmarks).
	SyncCheckpoints bool
	// Retention is how long removed files and old versions stay
	// readable before vacuum may delete them (default 7 days). Writers
	// refuse to commit files older than half of it.
	Retention time.Duration
	// MaxCommitAttempts bounds a commit's rebases (default 10000).
	MaxCommitAttempts int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives what the log does (default slog.Default()).
	Logger *slog.Logger
}

func (o *Options) fill() {
	if o.HeadRefresh == 0 {
		o.HeadRefresh = time.Second
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = 100
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.MaxCommitAttempts == 0 {
		o.MaxCommitAttempts = 10000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// DB is one database's commit log in a store. It is safe for concurrent
// use; several DBs (in one process or many) may share a database, and their
// commits are serialized by put-if-absent on the next entry's name.
type DB struct {
	st     store.Store
	prefix string
	opts   Options
	metaL  logDir

	mu struct {
		sync.Mutex
		meta     *MetaState
		metaAt   time.Time
		heads    map[string]*head // by branch id
		states   map[stateKey]*State
		skew     time.Duration
		checking map[string]bool // logs with a checkpoint being written
	}
	ctx    context.Context // background work; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type head struct {
	state *State
	at    time.Time // when other processes' entries were last looked for
}

type stateKey struct {
	branch string
	entry  int64
}

// stateCacheSize bounds the cache of states opened by version.
const stateCacheSize = 64

// Snapshot is a branch's state at one entry.
type Snapshot struct {
	// Branch is the branch the snapshot was taken on (for a version
	// inherited from a parent, the child whose lineage it is in).
	Branch Branch
	State  *State
}

// Entry is the snapshot's entry in the branch's log.
func (s *Snapshot) Entry() int64 { return s.State.Entry }

// Version is the newest user version at or before the snapshot.
func (s *Snapshot) Version() int64 { return s.State.Version }

func newDB(st store.Store, prefix string, opts Options) *DB {
	opts.fill()
	db := &DB{st: st, prefix: prefix, opts: opts, metaL: newLogDir(st, prefix, metaDirName)}
	db.mu.heads = map[string]*head{}
	db.mu.states = map[stateKey]*State{}
	db.mu.checking = map[string]bool{}
	db.ctx, db.cancel = context.WithCancel(context.Background())
	return db
}

// Create creates a database at prefix in st: a _meta log whose first entry
// holds the protocol and the main branch, at version 0. It fails with
// ErrExists when the database exists.
func Create(ctx context.Context, st store.Store, prefix string, opts Options) (*DB, error) {
	db := newDB(st, prefix, opts)
	now := db.nowMs()
	e := &Entry{
		Number:     1,
		CommitInfo: CommitInfo{ID: newID(), Timestamp: now, Operation: "CREATE DATABASE"},
		Protocol:   &Protocol{MinReader: ReaderVersion, MinWriter: WriterVersion},
		Branches:   []Branch{{Name: MainBranch, ID: newID()[:16], CreatedAt: now}},
	}
	m, err := NewMetaState().Apply(e)
	if err != nil {
		return nil, err
	}
	ours, err := db.putEntry(ctx, db.metaL, e)
	if err != nil {
		return nil, err
	}
	if !ours {
		return nil, fmt.Errorf("%w: database at %s/%s", ErrExists, st, prefix)
	}
	db.mu.meta, db.mu.metaAt = m, db.opts.Now()
	return db, nil
}

// Open opens the database at prefix in st. A missing database is a
// *NotFoundError; one that needs a newer lakesql is ErrProtocol.
func Open(ctx context.Context, st store.Store, prefix string, opts Options) (*DB, error) {
	db := newDB(st, prefix, opts)
	m, err := db.loadMeta(ctx)
	if err != nil {
		return nil, err
	}
	if m.Entry == 0 {
		return nil, &NotFoundError{What: "database", Name: prefix, Detail: "no log at " + st.String()}
	}
	if m.Protocol.MinReader > ReaderVersion {
		return nil, fmt.Errorf("%w: the database needs reader version %d, this lakesql reads %d",
			ErrProtocol, m.Protocol.MinReader, ReaderVersion)
	}
	db.mu.meta, db.mu.metaAt = m, db.opts.Now()
	return db, nil
}

// Close waits for background checkpoints and releases the DB.
func (db *DB) Close() error {
	db.cancel()
	db.wg.Wait()
	return nil
}

// Store returns the DB's store; Prefix its prefix.
func (db *DB) Store() store.Store { return db.st }

// Prefix is the database's prefix in its store.
func (db *DB) Prefix() string { return db.prefix }

func (db *DB) branchLog(id string) logDir { return newLogDir(db.st, db.prefix, id) }

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// nowMs is the commit clock in Unix milliseconds: the local clock, corrected
// by the store's when the two differ by more than a second.
func (db *DB) nowMs() int64 {
	db.mu.Lock()
	skew := db.mu.skew
	db.mu.Unlock()
	return db.opts.Now().Add(skew).UnixMilli()
}

// observeClock compares the store's clock (an object's modification time)
// with ours.
func (db *DB) observeClock(info store.Info, before time.Time) {
	if info.LastModified.IsZero() {
		return
	}
	// Stores may truncate times to the second.
	diff := info.LastModified.Sub(before)
	db.mu.Lock()
	defer db.mu.Unlock()
	if diff > time.Second || diff < -2*time.Second {
		if db.mu.skew == 0 {
			db.opts.Logger.Warn("txn: the local clock differs from the store's; using the store's",
				"store", db.st.String(), "difference", diff)
		}
		db.mu.skew = diff
	} else {
		db.mu.skew = 0
	}
}

// putEntry creates entry e in l with put-if-absent and reports whether it is
// ours. A failure that leaves the outcome open (a lost response) is
// resolved by reading the entry back and comparing its commit id.
func (db *DB) putEntry(ctx context.Context, l logDir, e *Entry) (bool, error) {
	data := e.Marshal()
	name := l.entryName(e.Number)
	for attempt := 0; ; attempt++ {
		before := db.opts.Now()
		info, err := store.PutBytes(ctx, l.st, name, data, store.IfAbsent())
		if err == nil {
			db.observeClock(info, before)
			return true, nil
		}
		if errors.Is(err, store.ErrPreconditionFailed) {
			return false, nil
		}
		if ctx.Err() != nil {
			return false, fmt.Errorf("%w: %v", ErrCommitUnknown, err)
		}
		exists, ours, rerr := db.readBack(ctx, l, e.Number, e.CommitInfo.ID)
		if rerr != nil {
			return false, fmt.Errorf("%w: writing %s: %v; reading it back: %v", ErrCommitUnknown, name, err, rerr)
		}
		if exists {
			return ours, nil
		}
		if attempt >= 5 {
			return false, fmt.Errorf("txn: writing %s: %w", name, err)
		}
		db.opts.Logger.Debug("txn: retrying a log entry write", "entry", name, "error", err)
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return false, err
		}
	}
}

// readBack reads entry n and reports whether it exists and carries id.
func (db *DB) readBack(ctx context.Context, l logDir, n int64, id string) (exists, ours bool, err error) {
	for attempt := 0; attempt < 6; attempt++ {
		var e *Entry
		e, err = l.readEntry(ctx, n)
		switch {
		case errors.Is(err, store.ErrNotExist):
			return false, false, nil
		case err == nil:
			return true, e.CommitInfo.ID == id, nil
		case errors.Is(err, base.ErrCorruption):
			return false, false, err
		}
		if serr := sleep(ctx, backoff(attempt)); serr != nil {
			return false, false, serr
		}
	}
	return false, false, err
}

func backoff(attempt int) time.Duration {
	d := time.Millisecond << min(attempt, 8)
	return d/2 + time.Duration(randUint64()%uint64(d/2+1))
}

func randUint64() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// applyEntries applies entries read from l to s, reporting a mismatch as
// corruption of the entry's file.
func applyEntries(l logDir, branchID string, s *State, entries []*Entry) (*State, error) {
	b := s.builder()
	for _, e := range entries {
		if err := b.apply(branchID, e); err != nil {
			return nil, base.Corruptf(l.entryName(e.Number), "%v", err)
		}
	}
	return b.s, nil
}

// loadMeta reads the _meta log: its newest checkpoint and the entries after
// it.
func (db *DB) loadMeta(ctx context.Context) (*MetaState, error) {
	m := NewMetaState()
	k, err := db.metaL.newestCheckpoint(ctx, -1)
	if err != nil {
		return nil, err
	}
	if k > 0 {
		rows, err := db.metaL.readCheckpoint(ctx, k)
		if err != nil {
			return nil, err
		}
		if m, err = metaFromCheckpoint(db.metaL.checkpointName(k), rows); err != nil {
			return nil, err
		}
	}
	entries, err := db.metaL.readAfter(ctx, m.Entry)
	if err != nil {
		return nil, err
	}
	return db.applyMeta(m, entries)
}

func (db *DB) applyMeta(m *MetaState, entries []*Entry) (*MetaState, error) {
	for _, e := range entries {
		var err error
		if m, err = m.Apply(e); err != nil {
			return nil, base.Corruptf(db.metaL.entryName(e.Number), "%v", err)
		}
	}
	return m, nil
}

// Meta returns the _meta state, looking for other processes' entries at
// most every HeadRefresh.
func (db *DB) Meta(ctx context.Context) (*MetaState, error) {
	return db.meta(ctx, false)
}

// RefreshMeta returns the _meta state after looking for new entries now.
func (db *DB) RefreshMeta(ctx context.Context) (*MetaState, error) {
	return db.meta(ctx, true)
}

func (db *DB) meta(ctx context.Context, force bool) (*MetaState, error) {
	db.mu.Lock()
	m, at := db.mu.meta, db.mu.metaAt
	db.mu.Unlock()
	now := db.opts.Now()
	if !force && db.opts.HeadRefresh > 0 && now.Sub(at) < db.opts.HeadRefresh {
		return m, nil
	}
	more, err := db.metaL.exists(ctx, m.Entry+1)
	if err != nil {
		return nil, err
	}
	if more {
		entries, err := db.metaL.readAfter(ctx, m.Entry)
		if err != nil {
			return nil, err
		}
		if m, err = db.applyMeta(m, entries); err != nil {
			return nil, err
		}
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if m.Entry >= db.mu.meta.Entry {
		db.mu.meta = m
	}
	db.mu.metaAt = now
	return db.mu.meta, nil
}

// Branch returns the live branch called name.
func (db *DB) Branch(ctx context.Context, name string) (*Branch, error) {
	m, err := db.Meta(ctx)
	if err != nil {
		return nil, err
	}
	b := m.Branch(name)
	if b == nil {
		if m, err = db.RefreshMeta(ctx); err != nil {
			return nil, err
		}
		if b = m.Branch(name); b == nil {
			return nil, &NotFoundError{What: "branch", Name: name}
		}
	}
	return b, nil
}

// Head returns the newest state of a branch: entries of this process at
// once, other processes' at most HeadRefresh late.
func (db *DB) Head(ctx context.Context, branch string) (*Snapshot, error) {
	return db.head(ctx, branch, false)
}

// RefreshHead returns the newest state of a branch after looking for other
// processes' entries now.
func (db *DB) RefreshHead(ctx context.Context, branch string) (*Snapshot, error) {
	return db.head(ctx, branch, true)
}

func (db *DB) head(ctx context.Context, name string, force bool) (*Snapshot, error) {
	br, err := db.Branch(ctx, name)
	if err != nil {
		return nil, err
	}
	db.mu.Lock()
	var h *head
	if cur := db.mu.heads[br.ID]; cur != nil {
		h = &head{state: cur.state, at: cur.at} // a copy: advance changes them
	}
	db.mu.Unlock()
	now := db.opts.Now()
	if h == nil {
		s, err := db.loadState(ctx, br, -1)
		if err != nil {
			return nil, err
		}
		return &Snapshot{Branch: *br, State: db.advance(br.ID, s, now)}, nil
	}
	if !force && db.opts.HeadRefresh > 0 && now.Sub(h.at) < db.opts.HeadRefresh {
		return &Snapshot{Branch: *br, State: h.state}, nil
	}
	l := db.branchLog(br.ID)
	s := h.state
	more, err := l.exists(ctx, s.Entry+1)
	if err != nil {
		return nil, err
	}
	if more {
		// Other processes committed: list what they added (one request)
		// and read it in parallel.
		entries, err := l.readAfter(ctx, s.Entry)
		if err != nil {
			return nil, err
		}
		if s, err = applyEntries(l, br.ID, s, entries); err != nil {
			return nil, err
		}
	}
	return &Snapshot{Branch: *br, State: db.advance(br.ID, s, now)}, nil
}

// advance records s as the branch's head if it is newer than the one known,
// and returns the newest. A non-zero refreshed time says that s includes
// every entry that existed then.
func (db *DB) advance(branchID string, s *State, refreshed time.Time) *State {
	db.mu.Lock()
	defer db.mu.Unlock()
	h := db.mu.heads[branchID]
	if h == nil {
		h = &head{state: s}
		db.mu.heads[branchID] = h
	}
	if s.Entry > h.state.Entry {
		h.state = s
	}
	if refreshed.After(h.at) {
		h.at = refreshed
	}
	return h.state
}

// loadState replays a branch up to entry target (negative: its newest
// entry): the newest checkpoint at or below it, or the fork point's state,
// then the entries after it.
func (db *DB) loadState(ctx context.Context, br *Branch, target int64) (*State, error) {
	l := db.branchLog(br.ID)
	k, err := l.newestCheckpoint(ctx, target)
	if err != nil {
		return nil, err
	}
	var s *State
	if k > 0 {
		rows, err := l.readCheckpoint(ctx, k)
		if err != nil {
			return nil, err
		}
		if s, err = stateFromCheckpoint(l.checkpointName(k), rows); err != nil {
			return nil, err
		}
	} else if s, err = db.forkBase(ctx, br); err != nil {
		return nil, err
	}
	var entries []*Entry
	if target < 0 {
		entries, err = l.readAfter(ctx, s.Entry)
	} else {
		entries, err = l.readRange(ctx, s.Entry+1, target)
	}
	if errors.Is(err, base.ErrCorruption) && k == 0 && db.isVacuumedGap(ctx, br, target) {
		return nil, errVacuumed(br.Name, target)
	}
	if err != nil {
		return nil, err
	}
	return applyEntries(l, br.ID, s, entries)
}

// forkBase is the state a branch starts from: its parent's at the fork
// entry, or an empty state for main.
func (db *DB) forkBase(ctx context.Context, br *Branch) (*State, error) {
	if br.FromID == "" {
		m, err := db.Meta(ctx)
		if err != nil {
			return nil, err
		}
		return NewState(m.Protocol), nil
	}
	m, err := db.Meta(ctx)
	if err != nil {
		return nil, err
	}
	parent := m.BranchByID(br.FromID)
	if parent == nil {
		return nil, fmt.Errorf("txn: branch %q forks from unknown branch %s", br.Name, br.FromID)
	}
	s, err := db.stateAt(ctx, parent, br.FromEntry)
	if err != nil {
		return nil, err
	}
	return s.Fork(), nil
}

// stateAt returns a branch's state at entry n, from the head, the cache or
// the log.
func (db *DB) stateAt(ctx context.Context, br *Branch, n int64) (*State, error) {
	key := stateKey{br.ID, n}
	db.mu.Lock()
	if h := db.mu.heads[br.ID]; h != nil && h.state.Entry == n {
		db.mu.Unlock()
		return h.state, nil
	}
	if s := db.mu.states[key]; s != nil {
		db.mu.Unlock()
		return s, nil
	}
	db.mu.Unlock()
	s, err := db.loadState(ctx, br, n)
	if err != nil {
		return nil, err
	}
	if s.Entry != n {
		return nil, fmt.Errorf("txn: branch %q has no entry %d", br.Name, n)
	}
	db.mu.Lock()
	if len(db.mu.states) >= stateCacheSize {
		for k := range db.mu.states { // evict one at random
			delete(db.mu.states, k)
			break
		}
	}
	db.mu.states[key] = s
	db.mu.Unlock()
	return s, nil
}
