package memtable

import (
	"encoding/binary"
	"fmt"
	"iter"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/google/btree"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
)

// Options configure a MemTable.
type Options struct {
	// BatchSize is the number of rows per record that Records yields
	// (default 4096).
	BatchSize int
	// Degree is the B-tree degree (default 64: BenchmarkApplyRandom found
	// it 3-7% faster than 32 for random keys, and no slower to read).
	Degree int
	// OnFree, if set, is called once when the MemTable has been released
	// by its owner (Release or Close) and by every view: its memory is then
	// unreachable from it. memwal uses it to stop counting a flushed,
	// pinned MemTable.
	OnFree func()
	// TrackViews records where each view was taken, for LeakError (tests).
	TrackViews bool
}

// Change is one key's new version in a transaction.
type Change struct {
	Key parquetio.Key
	// Loc, if set, is where the key's live row is in the table's data
	// files: Apply records it as SetLocation would, valid from seq, in the
	// same descent of the tree.
	Loc *Location
	// Deleted makes the version a delete marker; Row is then ignored.
	Deleted bool
	// Row holds every column of the table's schema, in schema order
	// (hidden columns included), as Go values that parquetio Predicate
	// constants accept; nil is NULL. It is copied.
	Row []any
}

// Location is where a key's live row is in the table's data files: the
// file's path (relative to the database prefix, as in txn.Add.Path) and the
// row's position in it.
type Location struct {
	Path     string
	Position int64
}

// LocationFrom is a location and the sequence number from which snapshots
// may mask it.
type LocationFrom struct {
	Location
	ValidFrom uint64
}

// Entry is one key's newest version at or below a sequence number, as
// Iterate yields it for a flush.
type Entry struct {
	Key parquetio.Key
	// Seq is the version's sequence number.
	Seq uint64
	// Deleted says the version is a delete marker (Row is nil).
	Deleted bool
	// Row is the version's values, normalized (see the package doc). It
	// is shared: do not modify it.
	Row []any
	// Locations are every location the key's chain carries, whatever
	// their ValidFrom.
	Locations []LocationFrom
}

// MemTable holds, per table of a branch, the versions of keys written since
// the last flush. See the package doc.
//
// Apply, SetLocation, AddTable, Freeze and Prune take the write lock;
// Snapshot and the views' methods read under the read lock, one batch at a
// time; Bytes, Len and LastSeq are atomic. Every method is safe to call
// concurrently with every other.
type MemTable struct {
	opts Options

	bytes    atomic.Int64
	versions atomic.Int64
	lastSeq  atomic.Uint64

	// testHookEncoded, if set (tests), runs in apply between encoding the
	// index keys and taking the write lock.
	testHookEncoded func()

	mu struct {
		sync.RWMutex
		tables map[string]*table
		frozen bool
	}
	// refs guards the references; lock order is mu before refs.
	refs struct {
		sync.Mutex
		ownerReleased bool
		freed         bool
		views         map[*View]string // open view -> stack (TrackViews)
		// pruned is the sequence number at or above which Prune kept every
		// snapshot's versions: Snapshot refuses older ones.
		pruned uint64
	}
}

// table is one table's tree, masks and live-row counts. The tree, the
// chains, masks (the map) and live are guarded by MemTable.mu; each
// pathMask has its own mutex.
type table struct {
	id     string
	schema *base.Schema
	cols   []column
	index  map[int]int // column id -> position in cols
	tree   *btree.BTreeG[item]
	masks  map[string]*pathMask
	// live[i].n is the number of keys whose newest version at or below
	// live[i].seq is a row; sorted by seq.
	live []liveStep
	// ixs is the table's secondary indexes (index.go), nil for none:
	// stored under the write lock, loaded without it.
	ixs atomic.Pointer[indexSet]
	// slab is where new chains come from (under the write lock).
	slab slab
}

// slab hands out chains and the first element of their versions and
// locations from shared arrays, so that a key written once costs no
// allocation of its own: a chain's slices start as one-element views of
// the arrays (capacity 1) and move to the heap when they grow. The arrays
// live as long as the chains that point into them, the MemTable's life.
type slab struct {
	chains   []chain
	versions []version
	locs     []LocationFrom
}

// slabLen is the number of elements per array of a slab.
const slabLen = 256

// chain returns a new chain of key.
func (s *slab) chain(key parquetio.Key) *chain {
	if len(s.chains) == cap(s.chains) {
		s.chains = make([]chain, 0, slabLen)
	}
	s.chains = append(s.chains, chain{key: key})
	return &s.chains[len(s.chains)-1]
}

// unchain takes back the chain that chain returned last.
func (s *slab) unchain() {
	s.chains[len(s.chains)-1] = chain{}
	s.chains = s.chains[:len(s.chains)-1]
}

// addVersion appends v to c's versions.
func (s *slab) addVersion(c *chain, v version) { slabAppend(&c.versions, &s.versions, v) }

// addLocation appends l to c's locations.
func (s *slab) addLocation(c *chain, l LocationFrom) { slabAppend(&c.locs, &s.locs, l) }

// slabAppend appends v to *dst. A slice without room yet takes its first
// element from the shared array *pool (a fresh one of slabLen when it is
// full), capped at one, so that a second append copies it out.
func slabAppend[T any](dst, pool *[]T, v T) {
	if cap(*dst) > 0 {
		*dst = append(*dst, v)
		return
	}
	if len(*pool) == cap(*pool) {
		*pool = make([]T, 0, slabLen)
	}
	*pool = append(*pool, v)
	n := len(*pool)
	*dst = (*pool)[n-1 : n : n]
}

type liveStep struct {
	seq uint64
	n   int64
}

// chain is one key's versions, oldest first (the newest is last), and the
// locations of its live row in data files.
type chain struct {
	key parquetio.Key
	// first is the sequence number of the key's first version in this
	// MemTable (kept when Prune drops it); 0 while it has none.
	first    uint64
	versions []version
	locs     []LocationFrom
}

type version struct {
	seq     uint64
	deleted bool
	row     []any
}

// at returns the newest version at or below seq, or nil.
func (c *chain) at(seq uint64) *version {
	for i := len(c.versions) - 1; i >= 0; i-- {
		if c.versions[i].seq <= seq {
			return &c.versions[i]
		}
	}
	return nil
}

func (c *chain) newest() *version {
	if len(c.versions) == 0 {
		return nil
	}
	return &c.versions[len(c.versions)-1]
}

// Approximate memory of the structures, beyond values and keys.
const (
	chainBytes   = 96  // chain struct, its tree slot and slice headers
	versionBytes = 48  // version struct plus the row's slice header
	valueBytes0  = 16  // one interface value in a row
	locBytes     = 40  // LocationFrom (the path is shared by the mask)
	maskBitBytes = 16  // one position of a mask
	pathBytes    = 128 // a pathMask and its map entry
)

// item is a chain's entry in its table's tree. prefix, the key's first 8
// bytes as a big-endian number (zero-padded), decides most comparisons
// without reading the key; the key is in the item too, so that the others
// read no chain.
type item struct {
	prefix uint64
	key    parquetio.Key
	c      *chain
}

// keyItem is the item of key, without a chain: a probe.
func keyItem(key parquetio.Key) item {
	var b [8]byte
	copy(b[:], key)
	return item{prefix: binary.BigEndian.Uint64(b[:]), key: key}
}

// lessItem orders items by key. Keys of at most 8 bytes with one prefix
// differ only in trailing zero bytes: the shorter one is less.
func lessItem(a, b item) bool {
	switch {
	case a.prefix != b.prefix:
		return a.prefix < b.prefix
	case len(a.key) <= 8 && len(b.key) <= 8:
		return len(a.key) < len(b.key)
	}
	return a.key < b.key
}

// New returns an empty MemTable, referenced by its owner.
func New(opts Options) *MemTable {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 4096
	}
	if opts.Degree < 2 {
		opts.Degree = 64
	}
	m := &MemTable{opts: opts}
	m.mu.tables = map[string]*table{}
	m.refs.views = map[*View]string{}
	return m
}

// AddTable makes the MemTable hold the table tableID with schema and keep
// its secondary indexes (see IndexLookup; SetIndexes changes them later).
// The schema is fixed for the MemTable's life (DDL flushes first).
func (m *MemTable) AddTable(tableID string, schema *base.Schema, indexes ...base.Index) error {
	as, err := parquetio.ArrowSchema(schema, nil)
	if err != nil {
		return err
	}
	t := &table{id: tableID, schema: schema, index: map[int]int{}, masks: map[string]*pathMask{},
		tree: btree.NewG(m.opts.Degree, lessItem)}
	for i, c := range schema.Columns {
		typ, err := base.ParseType(c.Type)
		if err != nil {
			return fmt.Errorf("memtable: column %q: %w", c.Name, err)
		}
		f := as.Field(i)
		t.cols = append(t.cols, column{col: c, typ: typ, arrow: f.Type, field: f})
		t.index[c.ID] = i
	}
	if len(indexes) > 0 {
		list, err := m.newIndexes(t, indexes)
		if err != nil {
			return err
		}
		t.ixs.Store(&indexSet{list: list})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed() {
		return ErrClosed
	}
	if _, ok := m.mu.tables[tableID]; ok {
		return fmt.Errorf("memtable: table %q added twice", tableID)
	}
	m.mu.tables[tableID] = t
	return nil
}

func (m *MemTable) closed() bool {
	m.refs.Lock()
	defer m.refs.Unlock()
	return m.refs.ownerReleased
}

func (m *MemTable) table(tableID string) *table {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.mu.tables[tableID]
}

// Apply adds the versions of changes to table tableID at seq, the WAL
// sequence number of the transaction that wrote them. seq must not be below
// the last applied one; a change to a key that already has a version at seq
// replaces it (a transaction's last write of a key wins). Either every
// change is applied or, on error, none.
func (m *MemTable) Apply(seq uint64, tableID string, changes ...Change) error {
	return m.apply(seq, tableID, false, changes)
}

// ApplyNormalized is Apply for rows that NormalizeRow (or a Normalizer)
// made already: they are stored as they are, not copied, and must not be
// modified afterwards.
func (m *MemTable) ApplyNormalized(seq uint64, tableID string, changes ...Change) error {
	return m.apply(seq, tableID, true, changes)
}

func (m *MemTable) apply(seq uint64, tableID string, normalized bool, changes []Change) error {
	t := m.table(tableID)
	if t == nil {
		return fmt.Errorf("%w: %q", ErrUnknownTable, tableID)
	}
	// Normalize outside the lock: the schema of a table is fixed.
	rows := make([][]any, len(changes))
	var size int64
	for i, ch := range changes {
		size += int64(len(ch.Key))
		if ch.Loc != nil {
			if err := checkPosition(*ch.Loc); err != nil {
				return err
			}
		}
		if ch.Deleted {
			continue
		}
		if len(ch.Row) != len(t.cols) {
			return fmt.Errorf("memtable: table %q: row has %d values, want %d", tableID, len(ch.Row), len(t.cols))
		}
		if normalized {
			rows[i] = ch.Row
			size += rowBytes(ch.Row)
			continue
		}
		row := make([]any, len(t.cols))
		for j := range t.cols {
			v, err := normalize(&t.cols[j], ch.Row[j])
			if err != nil {
				return fmt.Errorf("table %q: %w", tableID, err)
			}
			row[j] = v
			size += valueBytes0 + valueBytes(v)
		}
		rows[i] = row
	}
	// Encode index keys outside the lock too; again under it if SetIndexes
	// changed the indexes meanwhile.
	ixs := t.ixs.Load()
	ikeys, err := indexKeys(ixs, rows)
	if err != nil {
		return fmt.Errorf("table %q: %w", tableID, err)
	}
	if m.testHookEncoded != nil {
		m.testHookEncoded()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed():
		return ErrClosed
	case m.mu.frozen:
		return ErrFrozen
	case seq == 0 || seq < m.lastSeq.Load():
		return fmt.Errorf("%w: %d after %d", ErrSeqOrder, seq, m.lastSeq.Load())
	}
	if cur := t.ixs.Load(); cur != ixs {
		ixs = cur
		if ikeys, err = indexKeys(ixs, rows); err != nil {
			return fmt.Errorf("table %q: %w", tableID, err)
		}
	}
	m.lastSeq.Store(seq)
	var delta, versions int64
	for i, ch := range changes {
		c, fresh := t.chain(ch.Key)
		if fresh {
			size += chainBytes
		}
		wasLive := false
		if v := c.newest(); v != nil {
			wasLive = !v.deleted
		}
		nv := version{seq: seq, deleted: ch.Deleted, row: rows[i]}
		if v := c.newest(); v != nil && v.seq == seq {
			size -= rowBytes(v.row)
			*v = nv
		} else {
			t.slab.addVersion(c, nv)
			size += versionBytes
			versions++
		}
		if c.first == 0 {
			c.first = seq
			for _, l := range c.locs {
				t.mask(l.Path).add(uint32(l.Position), max(l.ValidFrom, seq))
				size += maskBitBytes
			}
		}
		if ch.Loc != nil {
			m.setLocationLocked(t, c, *ch.Loc, seq)
		}
		// Every row version adds its index keys; older entries of the key
		// stay, stale, and lookups skip them.
		if ikeys != nil && ikeys[i] != nil {
			for j, ix := range ixs.list {
				if k := ikeys[i][j]; k != "" {
					size += ix.insert(k, c.key)
				}
			}
		}
		if wasLive != !ch.Deleted {
			if wasLive {
				delta--
			} else {
				delta++
			}
		}
	}
	if n := len(t.live); n > 0 && t.live[n-1].seq == seq {
		t.live[n-1].n += delta
	} else {
		var prev int64
		if n > 0 {
			prev = t.live[n-1].n
		}
		t.live = append(t.live, liveStep{seq: seq, n: prev + delta})
		size += 16
	}
	m.bytes.Add(size)
	m.versions.Add(versions)
	return nil
}

func rowBytes(row []any) int64 {
	n := int64(len(row)) * valueBytes0
	for _, v := range row {
		n += valueBytes(v)
	}
	return n
}

// chain returns the chain of key, inserting an empty one (fresh) if the
// tree has none, in one descent for a new key; a key that has a chain gets
// it back in a second (cache-warm) one, and the new chain's slab slot is
// returned. The caller holds mu for writing.
func (t *table) chain(key parquetio.Key) (c *chain, fresh bool) {
	it := keyItem(key)
	it.c = t.slab.chain(key)
	if old, ok := t.tree.ReplaceOrInsert(it); ok {
		t.tree.ReplaceOrInsert(old)
		t.slab.unchain()
		return old.c, false
	}
	return it.c, true
}

// get returns the chain of key, or nil. The caller holds mu.
func (t *table) get(key parquetio.Key) *chain {
	it, _ := t.tree.Get(keyItem(key))
	return it.c
}

// mask returns the mask of path, creating it. The caller holds mu for
// writing.
func (t *table) mask(path string) *pathMask {
	pm := t.masks[path]
	if pm == nil {
		pm = &pathMask{}
		t.masks[path] = pm
	}
	return pm
}

// SetLocation records that key's live row in the table's data files is at
// loc, and that snapshots at or above validFrom may mask it: a snapshot at
// seq S masks loc when the key has a version at or below S here and
// validFrom <= S. A key may carry several locations (a merge adds remapped
// ones beside the old ones); setting a location again keeps the lower
// validFrom. A location may be set before the key's first version; it
// masks from that version on. SetLocation works on a frozen MemTable (a
// flush publishes positions into newer MemTables).
func (m *MemTable) SetLocation(tableID string, key parquetio.Key, loc Location, validFrom uint64) error {
	if err := checkPosition(loc); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed() {
		return ErrClosed
	}
	t := m.mu.tables[tableID]
	if t == nil {
		return fmt.Errorf("%w: %q", ErrUnknownTable, tableID)
	}
	c, fresh := t.chain(key)
	if fresh {
		m.bytes.Add(chainBytes + int64(len(key)))
	}
	m.setLocationLocked(t, c, loc, validFrom)
	return nil
}

// setLocationLocked records loc on chain c of table t; m.mu is held.
func (m *MemTable) setLocationLocked(t *table, c *chain, loc Location, validFrom uint64) {
	pm := t.masks[loc.Path]
	if pm == nil {
		pm = &pathMask{path: loc.Path}
		t.masks[loc.Path] = pm
		m.bytes.Add(pathBytes + int64(len(loc.Path)))
	}
	loc.Path = pm.path // share one string per file
	pos := uint32(loc.Position)
	for i := range c.locs {
		l := &c.locs[i]
		if l.Location != loc {
			continue
		}
		if l.ValidFrom <= validFrom {
			return
		}
		if c.first != 0 {
			pm.remove(pos, max(l.ValidFrom, c.first))
			pm.add(pos, max(validFrom, c.first))
		}
		l.ValidFrom = validFrom
		return
	}
	t.slab.addLocation(c, LocationFrom{Location: loc, ValidFrom: validFrom})
	m.bytes.Add(locBytes)
	if c.first != 0 {
		pm.add(pos, max(validFrom, c.first))
		m.bytes.Add(maskBitBytes)
	}
}

// Freeze makes the MemTable read-only: Apply fails with ErrFrozen from now
// on. Views, SetLocation, Iterate and Prune still work.
func (m *MemTable) Freeze() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.frozen = true
}

// Frozen says whether Freeze was called.
func (m *MemTable) Frozen() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.mu.frozen
}

// Bytes is the approximate memory of the MemTable's versions, keys,
// locations, masks and secondary index entries.
func (m *MemTable) Bytes() int64 { return m.bytes.Load() }

// Len is the number of versions (rows and delete markers).
func (m *MemTable) Len() int64 { return m.versions.Load() }

// LastSeq is the highest sequence number applied (0 for none).
func (m *MemTable) LastSeq() uint64 { return m.lastSeq.Load() }

// Tables returns the ids of the tables the MemTable holds, sorted.
func (m *MemTable) Tables() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.mu.tables))
	for id := range m.mu.tables {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// iterBatch is the number of keys Iterate reads per read lock.
const iterBatch = 1024

// Iterate yields, in key order, each key of table tableID whose chain has a
// version at or below seq: that newest version (a row or a delete marker)
// and the chain's locations. This is what a flush writes: the rows as a
// sorted file, the locations as deletion vectors. It reads a batch of keys
// per read lock and yields outside it, so it may run on a live MemTable
// (it then sees the versions at or below seq, as a snapshot does).
func (m *MemTable) Iterate(tableID string, seq uint64) iter.Seq[Entry] {
	return func(yield func(Entry) bool) {
		t := m.table(tableID)
		if t == nil {
			return
		}
		var after item
		buf := make([]Entry, 0, iterBatch)
		for {
			buf = buf[:0]
			// The batch's locations, copied: a SetLocation after the
			// lock is released changes no Entry.
			var locs []LocationFrom
			m.mu.RLock()
			resumed := after.c != nil // the batch starts at after, seen already
			visit := func(it item) bool {
				if resumed {
					resumed = false
					if it.key == after.key {
						return true
					}
				}
				after = it
				c := it.c
				v := c.at(seq)
				if v == nil {
					return true
				}
				var l []LocationFrom
				if len(c.locs) > 0 {
					if len(locs)+len(c.locs) > cap(locs) {
						locs = make([]LocationFrom, 0, max(iterBatch, len(c.locs)))
					}
					locs = append(locs, c.locs...)
					l = locs[len(locs)-len(c.locs) : len(locs) : len(locs)]
				}
				buf = append(buf, Entry{Key: c.key, Seq: v.seq, Deleted: v.deleted, Row: v.row, Locations: l})
				return len(buf) < iterBatch
			}
			last := after.c
			if after.c == nil {
				t.tree.Ascend(visit)
			} else {
				t.tree.AscendGreaterOrEqual(after, visit)
			}
			m.mu.RUnlock()
			for _, e := range buf {
				if !yield(e) {
					return
				}
			}
			if len(buf) < iterBatch || after.c == last {
				return
			}
		}
	}
}

// Prune drops the versions that no snapshot at or above beforeSeq can see:
// of each key's versions at or below beforeSeq, all but the newest. It never
// drops what an open view sees (beforeSeq is lowered to the oldest open
// view), and from then on Snapshot refuses sequence numbers below the
// horizon used. It walks every key under the write lock. It returns the
// number of versions dropped.
func (m *MemTable) Prune(beforeSeq uint64) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refs.Lock()
	h := beforeSeq
	for v := range m.refs.views {
		h = min(h, v.seq)
	}
	if h > m.refs.pruned {
		m.refs.pruned = h
	}
	m.refs.Unlock()
	var dropped int
	var size int64
	for _, t := range m.mu.tables {
		t.tree.Ascend(func(it item) bool {
			c := it.c
			// Keep versions[k:], k the newest at or below h.
			k := -1
			for i := len(c.versions) - 1; i >= 0; i-- {
				if c.versions[i].seq <= h {
					k = i
					break
				}
			}
			if k > 0 {
				for _, v := range c.versions[:k] {
					size += versionBytes + rowBytes(v.row)
				}
				c.versions = append(c.versions[:0:0], c.versions[k:]...)
				dropped += k
			}
			return true
		})
		// Live counts below h are never asked for again.
		if i := sort.Search(len(t.live), func(j int) bool { return t.live[j].seq > h }); i > 1 {
			size += int64(i-1) * 16
			t.live = append(t.live[:0:0], t.live[i-1:]...)
		}
	}
	m.bytes.Add(-size)
	m.versions.Add(-int64(dropped))
	return dropped
}

// Snapshot returns a view of the MemTable at seq: it sees exactly the
// versions at or below seq. The caller passes its snapshot's sequence
// number (a reader the published durable one, a writer its pending one)
// and releases the view. It fails with ErrSnapshotTooOld below the horizon
// of an earlier Prune and with ErrClosed after Release.
func (m *MemTable) Snapshot(seq uint64) (*View, error) {
	m.refs.Lock()
	defer m.refs.Unlock()
	if m.refs.ownerReleased {
		return nil, ErrClosed
	}
	if seq < m.refs.pruned {
		return nil, fmt.Errorf("%w: seq %d, versions kept from %d", ErrSnapshotTooOld, seq, m.refs.pruned)
	}
	v := &View{m: m, seq: seq}
	v.refs.Store(1)
	var stack string
	if m.opts.TrackViews {
		stack = string(debug.Stack())
	}
	m.refs.views[v] = stack
	return v, nil
}

// OpenViews is the number of views not yet released.
func (m *MemTable) OpenViews() int {
	m.refs.Lock()
	defer m.refs.Unlock()
	return len(m.refs.views)
}

// Release drops the owner's reference. The MemTable is freed (OnFree) when
// every view is released too; the views keep working until then.
// Releasing twice is a no-op.
func (m *MemTable) Release() {
	m.refs.Lock()
	if m.refs.ownerReleased {
		m.refs.Unlock()
		return
	}
	m.refs.ownerReleased = true
	free := m.maybeFreeLocked()
	m.refs.Unlock()
	if free {
		m.free()
	}
}

// Close releases the owner's reference and reports the views still open as
// a *LeakError: at shutdown, and in tests, every view must have been
// released.
func (m *MemTable) Close() error {
	m.refs.Lock()
	var leak *LeakError
	if n := len(m.refs.views); n > 0 {
		leak = &LeakError{}
		for v, stack := range m.refs.views {
			leak.Seqs = append(leak.Seqs, v.seq)
			if stack != "" {
				leak.Stacks = append(leak.Stacks, stack)
			}
		}
		sort.Slice(leak.Seqs, func(i, j int) bool { return leak.Seqs[i] < leak.Seqs[j] })
	}
	m.refs.Unlock()
	m.Release()
	if leak != nil {
		return leak
	}
	return nil
}

// maybeFreeLocked says whether the last reference is gone (once).
func (m *MemTable) maybeFreeLocked() bool {
	if m.refs.ownerReleased && len(m.refs.views) == 0 && !m.refs.freed {
		m.refs.freed = true
		return true
	}
	return false
}

func (m *MemTable) free() {
	m.mu.Lock()
	m.mu.tables = map[string]*table{}
	m.mu.Unlock()
	if m.opts.OnFree != nil {
		m.opts.OnFree()
	}
}

func (m *MemTable) releaseView(v *View) {
	m.refs.Lock()
	delete(m.refs.views, v)
	free := m.maybeFreeLocked()
	m.refs.Unlock()
	if free {
		m.free()
	}
}
