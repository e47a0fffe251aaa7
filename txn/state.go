package txn

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/google/btree"
)

// State is what replaying a branch's lineage up to one entry gives: its
// tables with their live files, the remove tombstones vacuum needs, the
// high-water marks, the WAL position, exactly-once application versions and
// the versions of the lineage. A State is immutable; Apply returns a new one
// that shares unchanged parts (files live in copy-on-write B-trees, so
// applying an entry costs what it changes, not the table's size).
type State struct {
	Protocol Protocol
	// Entry is the last entry applied, in the branch's own log (0: the
	// fork point, or an empty main).
	Entry int64
	// Timestamp is that entry's commit timestamp (Unix ms).
	Timestamp int64
	// Version is the newest user version at or before Entry.
	Version int64
	// Versions lists the lineage's user versions, oldest first: the
	// parent's up to the fork, then the branch's own.
	Versions []VersionInfo

	tables     map[string]*TableState
	tombstones *btree.BTreeG[*Remove]
	// cloneMu guards Clone of tombstones: a B-tree's Clone writes to the
	// tree it copies, and states are shared between goroutines.
	cloneMu *sync.Mutex

	// NextGeneration and NextRowID are the high-water marks: the next
	// generation and base row id a commit assigns.
	NextGeneration int64
	NextRowID      int64
	// WAL is the newest WAL position persisted in files.
	WAL WALPosition
	// MaxEpoch is the highest writer epoch that committed or was claimed.
	MaxEpoch int64
	// Pending says that an entry after the newest version changed data
	// or tables (a flush of writes, a bulk write): a version made now
	// would differ from the newest one even with empty MemTables. Epoch
	// claims and data-preserving merges leave it alone.
	Pending bool
	txns    map[string]int64
}

// VersionInfo describes one user version.
type VersionInfo struct {
	Version int64 `json:"version"`
	// BranchID and Entry locate the entry that created the version.
	BranchID  string `json:"branchId"`
	Entry     int64  `json:"entry"`
	Timestamp int64  `json:"timestamp"`
	Operation string `json:"operation"`
	Message   string `json:"message,omitempty"`
	User      string `json:"user,omitempty"`
}

// TableState is a table in a State: its metadata and live files.
type TableState struct {
	Meta    Table
	files   *btree.BTreeG[*Add]
	cloneMu *sync.Mutex // guards Clone of files (see State.cloneMu)
	// Rows, LiveRows and Bytes total the live files.
	Rows, LiveRows, Bytes int64
}

func lessAdd(a, b *Add) bool       { return a.Path < b.Path }
func lessRemove(a, b *Remove) bool { return a.Path < b.Path }

// NewState returns the state of an empty database under protocol p.
func NewState(p Protocol) *State {
	return &State{
		Protocol:       p,
		tables:         map[string]*TableState{},
		tombstones:     btree.NewG(32, lessRemove),
		cloneMu:        &sync.Mutex{},
		NextGeneration: 1,
		txns:           map[string]int64{},
	}
}

// Table returns the live table with id, or nil.
func (s *State) Table(id string) *TableState { return s.tables[id] }

// TableByName returns the live table called name (case-insensitively, as
// MySQL compares table names), or nil.
func (s *State) TableByName(name string) *TableState {
	for _, t := range s.tables {
		if strings.EqualFold(t.Meta.Name, name) {
			return t
		}
	}
	return nil
}

// Tables returns the live tables, ordered by name.
func (s *State) Tables() []*TableState {
	ts := slices.Collect(maps.Values(s.tables))
	slices.SortFunc(ts, func(a, b *TableState) int { return strings.Compare(a.Meta.Name, b.Meta.Name) })
	return ts
}

// AppVersion returns the last version application app committed.
func (s *State) AppVersion(app string) (int64, bool) {
	v, ok := s.txns[app]
	return v, ok
}

// Tombstones calls fn for every removed file not yet vacuumed, by path.
func (s *State) Tombstones(fn func(*Remove) bool) { s.tombstones.Ascend(fn) }

// File returns the live file at path, or nil.
func (t *TableState) File(path string) *Add {
	f, _ := t.files.Get(&Add{Path: path})
	return f
}

// Files calls fn for every live file, by path, until fn returns false.
func (t *TableState) Files(fn func(*Add) bool) { t.files.Ascend(fn) }

// FileCount is the number of live files.
func (t *TableState) FileCount() int { return t.files.Len() }

// VersionAt returns the lineage's version v.
func (s *State) VersionAt(v int64) (VersionInfo, bool) {
	i, ok := slices.BinarySearchFunc(s.Versions, v, func(vi VersionInfo, v int64) int {
		return int(vi.Version - v)
	})
	if !ok {
		return VersionInfo{}, false
	}
	return s.Versions[i], true
}

// Apply returns the state after entries, which must follow s in order. s is
// not changed. An entry that does not fit the state (a remove of an unknown
// file, an add to a missing table, a version out of sequence) is an error:
// the caller reports it as corruption of that entry's file.
func (s *State) Apply(branchID string, entries ...*Entry) (*State, error) {
	b := s.builder()
	for _, e := range entries {
		if err := b.apply(branchID, e); err != nil {
			return nil, fmt.Errorf("entry %d: %w", e.Number, err)
		}
	}
	return b.s, nil
}

// builder applies entries to a private copy of a state, cloning each table
// once, when it first changes it.
type builder struct {
	s     *State
	owned map[*TableState]bool
	txns  bool
}

func (s *State) builder() *builder {
	ns := *s
	ns.tables = maps.Clone(s.tables)
	s.cloneMu.Lock()
	ns.tombstones = s.tombstones.Clone()
	s.cloneMu.Unlock()
	ns.cloneMu = &sync.Mutex{}
	ns.Versions = s.Versions[:len(s.Versions):len(s.Versions)]
	return &builder{s: &ns, owned: map[*TableState]bool{}}
}

func (b *builder) table(id string) (*TableState, error) {
	t := b.s.tables[id]
	if t == nil {
		return nil, fmt.Errorf("table %s does not exist", id)
	}
	if !b.owned[t] {
		c := *t
		t.cloneMu.Lock()
		c.files = t.files.Clone()
		t.cloneMu.Unlock()
		c.cloneMu = &sync.Mutex{}
		t = &c
		b.s.tables[id] = t
		b.owned[t] = true
	}
	return t, nil
}

func (b *builder) tombstone(t *TableState, f *Add, ts int64, dataChange bool) {
	b.s.tombstones.ReplaceOrInsert(&Remove{Table: t.Meta.ID, Path: f.Path, DeletionTimestamp: ts, Bytes: f.Bytes, DataChange: dataChange})
}

func (b *builder) removeAll(t *TableState, ts int64) {
	t.files.Ascend(func(f *Add) bool {
		b.tombstone(t, f, ts, true)
		return true
	})
	t.files.Clear(false)
	t.Rows, t.LiveRows, t.Bytes = 0, 0, 0
}

func (b *builder) apply(branchID string, e *Entry) error {
	s := b.s
	ci := &e.CommitInfo
	if e.Number != s.Entry+1 {
		return fmt.Errorf("follows entry %d", s.Entry)
	}
	if len(e.Branches)+len(e.Tags)+len(e.Containers) > 0 {
		return fmt.Errorf("branch, tag and container actions belong in the _meta log")
	}
	if e.Protocol != nil {
		s.Protocol = *e.Protocol
	}
	for _, tm := range e.Tables {
		for id, other := range s.tables {
			if id != tm.ID && strings.EqualFold(other.Meta.Name, tm.Name) {
				return fmt.Errorf("table %s is named %q, like live table %s", tm.ID, tm.Name, id)
			}
		}
		if t := s.tables[tm.ID]; t != nil {
			t, _ = b.table(tm.ID)
			t.Meta = tm
			continue
		}
		t := &TableState{Meta: tm, files: btree.NewG(32, lessAdd), cloneMu: &sync.Mutex{}}
		s.tables[tm.ID] = t
		b.owned[t] = true
	}
	for _, d := range e.Drops {
		t, err := b.table(d.ID)
		if err != nil {
			return fmt.Errorf("drop: %w", err)
		}
		b.removeAll(t, ci.Timestamp)
		delete(s.tables, d.ID)
	}
	for _, tr := range e.Truncates {
		t, err := b.table(tr.ID)
		if err != nil {
			return fmt.Errorf("truncate: %w", err)
		}
		b.removeAll(t, ci.Timestamp)
	}
	for _, r := range e.Removes {
		t, err := b.table(r.Table)
		if err != nil {
			return fmt.Errorf("remove %s: %w", r.Path, err)
		}
		f, ok := t.files.Delete(&Add{Path: r.Path})
		if !ok {
			return fmt.Errorf("remove of %s, which is not a live file of table %s", r.Path, r.Table)
		}
		t.Rows -= f.Rows
		t.LiveRows -= f.LiveRows()
		t.Bytes -= f.Bytes
		b.tombstone(t, f, r.DeletionTimestamp, r.DataChange)
	}
	for i := range e.Adds {
		a := &e.Adds[i]
		t, err := b.table(a.Table)
		if err != nil {
			return fmt.Errorf("add %s: %w", a.Path, err)
		}
		if _, exists := t.files.ReplaceOrInsert(a); exists {
			return fmt.Errorf("add of %s, which is live already", a.Path)
		}
		if (a.Virtual != nil) != IsVirtualPath(a.Path) {
			return fmt.Errorf("add of %s: a URL path needs virtual-file metadata, and only a URL path may have it", a.Path)
		}
		if a.DV != nil && (a.DV.Cardinality < 0 || a.DV.Cardinality > a.Rows) {
			return fmt.Errorf("add of %s: deletion vector of %d rows in a file of %d", a.Path, a.DV.Cardinality, a.Rows)
		}
		t.Rows += a.Rows
		t.LiveRows += a.LiveRows()
		t.Bytes += a.Bytes
		s.tombstones.Delete(&Remove{Path: a.Path}) // a deletion-vector update
		s.NextGeneration = max(s.NextGeneration, a.Generation+1)
		s.NextRowID = max(s.NextRowID, a.BaseRowID+a.Rows)
	}
	if e.WAL != nil {
		// Positions only grow: an epoch claim carries the position its
		// writer read, which a racing flush may have passed.
		s.WAL = WALPosition{Epoch: max(s.WAL.Epoch, e.WAL.Epoch), Position: max(s.WAL.Position, e.WAL.Position)}
		s.MaxEpoch = max(s.MaxEpoch, e.WAL.Epoch)
	}
	s.MaxEpoch = max(s.MaxEpoch, ci.Epoch)
	if len(e.Txns) > 0 && !b.txns {
		s.txns = maps.Clone(s.txns)
		b.txns = true
	}
	for _, t := range e.Txns {
		s.txns[t.AppID] = t.Version
	}
	changes := len(e.Tables)+len(e.Drops)+len(e.Truncates) > 0
	for i := range e.Adds {
		changes = changes || e.Adds[i].DataChange
	}
	for i := range e.Removes {
		changes = changes || e.Removes[i].DataChange
	}
	if changes {
		s.Pending = true
	}
	if ci.UserVersion != 0 {
		s.Pending = false
		if ci.UserVersion != s.Version+1 {
			return fmt.Errorf("creates version %d after version %d", ci.UserVersion, s.Version)
		}
		s.Version = ci.UserVersion
		s.Versions = append(s.Versions, VersionInfo{
			Version: ci.UserVersion, BranchID: branchID, Entry: e.Number, Timestamp: ci.Timestamp,
			Operation: ci.Operation, Message: ci.Message, User: ci.User,
		})
	}
	if ci.AmendsVersion != 0 {
		n := len(s.Versions)
		if ci.UserVersion != 0 || ci.AmendsVersion != s.Version || n == 0 || s.Versions[n-1].BranchID != branchID {
			return fmt.Errorf("amends version %d, which is not this branch's newest (%d)", ci.AmendsVersion, s.Version)
		}
		s.Versions = slices.Clone(s.Versions) // shared with older states
		s.Versions[n-1].Entry, s.Versions[n-1].Timestamp = e.Number, ci.Timestamp
		s.Pending = false
	}
	s.Entry = e.Number
	s.Timestamp = ci.Timestamp
	return nil
}

// Fork returns the state a new branch starts from: s, seen as entry 0 of the
// branch's own log.
func (s *State) Fork() *State {
	ns := *s
	ns.Entry = 0
	ns.Pending = false // a fork is at a version
	ns.Versions = s.Versions[:len(s.Versions):len(s.Versions)]
	return &ns
}
