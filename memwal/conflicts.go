package memwal

import (
	"hash/maphash"

	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/memwal/memtable"
)

// writeIndex is the conflict index: which commit last wrote each key, for
// the commits an open or future transaction can conflict with (those above
// the horizon: the oldest open snapshot, or the published sequence number
// when none is open). A transaction conflicts when a key it wrote was
// written by a commit after its snapshot.
//
// The latest commits stay as their lists of changes (recent); only older
// ones are folded into per-table maps (last), and a commit at or below the
// horizon by then is dropped instead. With few sessions no commit is ever
// folded: a transaction looks its keys up in the few commits after its
// snapshot (through a set of a commit's key hashes when the commit is the
// larger: a small transaction does not scan a large commit's keys), and a
// commit costs no map update. Guarded by Branch.mu.
type writeIndex struct {
	seed    maphash.Seed // of the recent commits' key hash sets
	seeded  bool
	recent  []recentWrite
	last    map[string]map[parquetio.Key]uint64
	lastMax uint64 // the highest sequence number in last
	n       int    // entries in last
	pruneAt int    // prune last when n passes it
}

// recentWrite is one commit's changes to one table, and the set of their
// keys' hashes, built when a transaction first looks its keys up in them.
type recentWrite struct {
	seq     uint64
	table   string
	changes []memtable.Change
	hashes  hashSet
}

// recentCommits is how many commits' changes stay unfolded: enough that a
// session descheduled for a few time slices while others commit (four
// sessions on two cores see 30 commits after their snapshots) finds them
// here rather than having them folded into the maps.
const recentCommits = 64

// note records the changes a commit at seq made to table; older commits
// beyond recentCommits are folded into the maps or dropped.
func (x *writeIndex) note(table string, changes []memtable.Change, seq, horizon uint64) {
	x.recent = append(x.recent, recentWrite{seq: seq, table: table, changes: changes})
	if len(x.recent) > recentCommits {
		x.fold(len(x.recent)-recentCommits, horizon)
	}
}

// fold moves the oldest n recent commits into the maps, dropping those at
// or below horizon, and prunes the maps when they have doubled.
func (x *writeIndex) fold(n int, horizon uint64) {
	for _, r := range x.recent[:n] {
		if r.seq <= horizon {
			continue
		}
		m := x.last[r.table]
		if m == nil {
			if x.last == nil {
				x.last = map[string]map[parquetio.Key]uint64{}
			}
			m = map[parquetio.Key]uint64{}
			x.last[r.table] = m
		}
		before := len(m)
		for _, c := range r.changes {
			m[c.Key] = r.seq
		}
		x.n += len(m) - before
		x.lastMax = max(x.lastMax, r.seq)
	}
	clear(x.recent[:n])
	x.recent = append(x.recent[:0], x.recent[n:]...)
	if x.n > x.pruneAt {
		x.prune(horizon)
	}
}

// prune drops what no open or future transaction can conflict with: the
// entries at or below horizon.
func (x *writeIndex) prune(horizon uint64) {
	keep := 0
	for keep < len(x.recent) && x.recent[keep].seq <= horizon {
		keep++
	}
	clear(x.recent[:keep])
	x.recent = append(x.recent[:0], x.recent[keep:]...)
	n := 0
	for table, m := range x.last {
		for k, seq := range m {
			if seq <= horizon {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			delete(x.last, table)
		}
		n += len(m)
	}
	// Amortized: the next prune waits until the maps have doubled.
	x.n, x.pruneAt = n, max(4096, 2*n)
}

// conflicts reports whether a commit after seq wrote one of the keys w
// holds for table.
func (x *writeIndex) conflicts(table string, w *tableWrites, seq uint64) bool {
	after := 0 // recent commits after seq
	for i := len(x.recent) - 1; i >= 0 && x.recent[i].seq > seq; i-- {
		after++
	}
	if x.lastMax > seq {
		last := x.last[table]
		for _, c := range w.changes {
			if last[c.Key] > seq {
				return true
			}
		}
	}
	// A commit smaller than w: its keys are looked up in w. A larger one:
	// w's keys are looked up in the set of the commit's key hashes, built
	// once for all the transactions that check it. Equal keys have equal
	// hashes, so no conflict is missed; two keys with one 64-bit hash
	// would only make a conflict that is not one (and a retry).
	var hashes []uint64 // of w's keys, computed once
	for i := len(x.recent) - after; i < len(x.recent); i++ {
		r := &x.recent[i]
		if r.table != table {
			continue
		}
		if len(r.changes) <= len(w.changes) || len(r.changes) < minHashSet {
			for _, c := range r.changes {
				if _, ok := w.at[c.Key]; ok {
					return true
				}
			}
			continue
		}
		if !x.seeded {
			x.seed, x.seeded = maphash.MakeSeed(), true
		}
		if r.hashes == nil {
			r.hashes = newHashSet(len(r.changes))
			for _, c := range r.changes {
				r.hashes.add(maphash.String(x.seed, string(c.Key)))
			}
		}
		if hashes == nil {
			hashes = make([]uint64, len(w.changes))
			for j, c := range w.changes {
				hashes[j] = maphash.String(x.seed, string(c.Key))
			}
		}
		for _, h := range hashes {
			if r.hashes.has(h) {
				return true
			}
		}
	}
	return false
}

// minHashSet is the size from which a recent commit's keys get a hash set
// when a smaller transaction checks them.
const minHashSet = 64

// hashSet is a set of 64-bit hashes: open addressing with linear probing
// in a power-of-two table at most half full; 0 marks an empty slot (a
// zero hash is stored as 1).
type hashSet []uint64

func newHashSet(n int) hashSet {
	size := 8
	for size < 2*n {
		size <<= 1
	}
	return make(hashSet, size)
}

func (s hashSet) add(h uint64) {
	h = max(h, 1)
	mask := uint64(len(s) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		if s[i] == 0 || s[i] == h {
			s[i] = h
			return
		}
	}
}

func (s hashSet) has(h uint64) bool {
	h = max(h, 1)
	mask := uint64(len(s) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}
