package txn

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Commit is a commit being prepared: the actions it adds to a branch's log
// and what the conflict checks need to know about it.
type Commit struct {
	// Operation names what the commit does ("WRITE", "FLUSH", "MERGE",
	// "CREATE TABLE", ...); Message and User are the user's.
	Operation string
	Message   string
	User      string
	// CreatesVersion makes the entry a user version (numbered at commit).
	CreatesVersion bool
	// AmendsVersion makes the entry part of the branch's newest version,
	// which this branch created: the version then reads this entry (the
	// later steps of one statement, such as a CREATE TABLE's indexes).
	AmendsVersion bool
	// Preserve marks a data-preserving commit (a merge or compaction): it
	// conflicts only with a winner that removed a file it removes, and
	// carries forward deletion-vector bits winners added to its inputs.
	Preserve bool
	// Epoch is the committing writer's lease epoch, 0 without a lease. A
	// commit of an older epoch than one already committed is refused.
	Epoch int64
	// ReadTables are the tables whose data the commit read to decide what
	// to write. A commit that rewrites files of such a table conflicts
	// with a winner that added files to it.
	ReadTables []string

	Protocol  *Protocol
	Tables    []Table
	Drops     []DropTable
	Truncates []Truncate
	// Removes remove files; a Remove and an Add of one path replace the
	// file's deletion vector. Generation and BaseRowID of Adds are
	// assigned at commit.
	Removes []Remove
	Adds    []Add
	WAL     *WALPosition
	Txns    []Txn

	// OldestFile is when the commit's oldest new file was written. A
	// commit whose files are older than half the retention is refused:
	// vacuum may have deleted them as never committed.
	OldestFile time.Time

	// CarryForward, for a data-preserving commit, receives the files it
	// removes whose deletion vectors a winner changed (with their new
	// deletion vectors) and must update the commit's own Adds to hide the
	// newly deleted rows too. Without it such a winner is a conflict.
	CarryForward func(changed []Add) error
}

// empty reports whether the commit changes nothing.
func (c *Commit) empty() bool {
	return !c.CreatesVersion && c.Protocol == nil && c.WAL == nil &&
		len(c.Tables)+len(c.Drops)+len(c.Truncates)+len(c.Removes)+len(c.Adds)+len(c.Txns) == 0
}

// build makes the entry the commit becomes on top of head: it assigns the
// generation and base row ids of new files from the high-water marks, keeps
// those of files whose deletion vector it replaces, and numbers the user
// version.
func (c *Commit) build(head *State, number, readEntry, timestamp int64, id string) (*Entry, error) {
	e := &Entry{
		Number: number,
		CommitInfo: CommitInfo{
			ID: id, Timestamp: timestamp, Operation: c.Operation, User: c.User, Message: c.Message,
			ReadEntry: readEntry, Epoch: c.Epoch, DataChange: !c.Preserve,
		},
		Protocol:  c.Protocol,
		Tables:    c.Tables,
		Drops:     c.Drops,
		Truncates: c.Truncates,
		Removes:   slices.Clone(c.Removes),
		Adds:      slices.Clone(c.Adds),
		WAL:       c.WAL,
		Txns:      c.Txns,
	}
	if c.CreatesVersion {
		e.CommitInfo.UserVersion = head.Version + 1
	} else if c.AmendsVersion {
		e.CommitInfo.AmendsVersion = head.Version
	}
	removed := map[string]bool{}
	for i := range e.Removes {
		r := &e.Removes[i]
		r.DataChange = !c.Preserve
		r.DeletionTimestamp = timestamp
		removed[r.Path] = true
	}
	gen, rowID := head.NextGeneration, head.NextRowID
	for i := range e.Adds {
		a := &e.Adds[i]
		a.DataChange = !c.Preserve
		if removed[a.Path] {
			t := head.Table(a.Table)
			if t == nil {
				return nil, fmt.Errorf("txn: commit updates file %s of missing table %s", a.Path, a.Table)
			}
			old := t.File(a.Path)
			if old == nil {
				return nil, fmt.Errorf("txn: commit updates file %s, which is not live", a.Path)
			}
			a.Generation, a.BaseRowID = old.Generation, old.BaseRowID
			continue
		}
		a.Generation, a.BaseRowID = gen, rowID
		rowID += a.Rows
		if a.Virtual != nil {
			v := *a.Virtual
			v.Version = head.Version + 1
			a.Virtual = &v
		}
	}
	for i := range e.Removes {
		r := &e.Removes[i]
		if t := head.Table(r.Table); t != nil {
			if f := t.File(r.Path); f != nil {
				r.Bytes = f.Bytes
			}
		}
	}
	return e, nil
}

// summary is what the conflict checks need of an entry.
type summary struct {
	removed   map[string]bool // paths removed (including deletion-vector updates)
	updated   map[string]*Add // paths whose deletion vector changed: removed and added again
	appended  map[string]bool // tables that got new files in a data-changing entry
	touched   map[string]bool // tables whose data or metadata changed
	metaTabs  map[string]bool // tables created, altered, dropped or truncated
	names     map[string]string
	apps      map[string]bool
	protocol  bool
	maxEpoch  int64
	preserves bool
}

func summarize(e *Entry) *summary {
	s := &summary{
		removed: map[string]bool{}, updated: map[string]*Add{}, appended: map[string]bool{},
		touched: map[string]bool{}, metaTabs: map[string]bool{}, names: map[string]string{},
		apps: map[string]bool{}, protocol: e.Protocol != nil, maxEpoch: e.CommitInfo.Epoch,
		preserves: !e.CommitInfo.DataChange,
	}
	for _, r := range e.Removes {
		s.removed[r.Path] = true
		s.touched[r.Table] = true
	}
	for i, a := range e.Adds {
		s.touched[a.Table] = true
		if s.removed[a.Path] {
			s.updated[a.Path] = &e.Adds[i]
		} else if a.DataChange {
			s.appended[a.Table] = true
		}
	}
	for _, t := range e.Tables {
		s.metaTabs[t.ID] = true
		s.touched[t.ID] = true
		s.names[strings.ToLower(t.Name)] = t.ID
	}
	for _, d := range e.Drops {
		s.metaTabs[d.ID] = true
		s.touched[d.ID] = true
	}
	for _, t := range e.Truncates {
		s.metaTabs[t.ID] = true
		s.touched[t.ID] = true
	}
	for _, t := range e.Txns {
		s.apps[t.AppID] = true
	}
	if e.WAL != nil {
		s.maxEpoch = max(s.maxEpoch, e.WAL.Epoch)
	}
	return s
}

// CheckConflicts decides whether mine, prepared against an older head, may
// still be committed after the winners, the entries committed since. It
// returns nil (rebase and retry), ErrFenced, or a *ConflictError. For a
// data-preserving commit it also returns the winners' new versions of files
// it removes whose deletion vectors they changed: the commit must carry
// those deletion-vector bits forward.
//
// It is pure: detection is kept apart from resolution.
func CheckConflicts(mine *Entry, readTables []string, winners []*Entry) (carry []Add, err error) {
	me := summarize(mine)
	carried := map[string]Add{}
	myEpoch := mine.CommitInfo.Epoch
	rewrote := !me.preserves && len(me.removed) > 0
	for _, w := range winners {
		ws := summarize(w)
		conflict := func(k ConflictKind, table string, files []string, name string) error {
			slices.Sort(files)
			return &ConflictError{Kind: k, Winner: w.Number, Table: table, Files: files, Name: name}
		}
		if myEpoch > 0 && ws.maxEpoch > myEpoch {
			return nil, fmt.Errorf("%w: entry %d was committed by epoch %d, this writer has epoch %d",
				ErrFenced, w.Number, ws.maxEpoch, myEpoch)
		}
		if me.protocol || ws.protocol {
			return nil, conflict(ConflictProtocol, "", nil, "")
		}
		for _, id := range sortedKeys(ws.metaTabs) {
			if me.touched[id] {
				return nil, conflict(ConflictTable, id, nil, "")
			}
		}
		for _, id := range sortedKeys(me.metaTabs) {
			if ws.touched[id] {
				return nil, conflict(ConflictTable, id, nil, "")
			}
		}
		for _, name := range sortedKeys(me.names) {
			if id, ok := ws.names[name]; ok && id != me.names[name] {
				return nil, conflict(ConflictTableName, "", nil, name)
			}
		}
		var gone, changed []string
		for p := range me.removed {
			if !ws.removed[p] {
				continue
			}
			if u := ws.updated[p]; u != nil {
				changed = append(changed, p)
				if me.preserves {
					carried[p] = *u // a later winner's vector includes earlier bits
				}
			} else {
				gone = append(gone, p)
			}
		}
		if len(gone) > 0 {
			return nil, conflict(ConflictFileRemoved, "", gone, "")
		}
		if len(changed) > 0 && !me.preserves {
			return nil, conflict(ConflictDeletionVector, "", changed, "")
		}
		if rewrote {
			for _, t := range readTables {
				if ws.appended[t] {
					return nil, conflict(ConflictConcurrentAppend, t, nil, "")
				}
			}
		}
		for _, app := range sortedKeys(me.apps) {
			if ws.apps[app] {
				return nil, conflict(ConflictApp, "", nil, app)
			}
		}
	}
	for _, p := range sortedKeys(carried) {
		carry = append(carry, carried[p])
	}
	return carry, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
