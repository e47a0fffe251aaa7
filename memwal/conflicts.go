package memwal

import (
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
// snapshot, and a commit costs no map update. Guarded by Branch.mu.
type writeIndex struct {
	recent  []recentWrite
	last    map[string]map[parquetio.Key]uint64
	lastMax uint64 // the highest sequence number in last
	n       int    // entries in last
	pruneAt int    // prune last when n passes it
}

// recentWrite is one commit's changes to one table.
type recentWrite struct {
	seq     uint64
	table   string
	changes []memtable.Change
}

// recentCommits is how many commits' changes stay unfolded.
const recentCommits = 16

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
// holds for table. When the commits after seq that are still recent wrote
// many more keys than w holds, they are folded first, so that the check
// looks w's keys up rather than scanning theirs.
func (x *writeIndex) conflicts(table string, w *tableWrites, seq, horizon uint64) bool {
	after, keys := 0, 0 // recent commits after seq, and their keys of table
	for i := len(x.recent) - 1; i >= 0 && x.recent[i].seq > seq; i-- {
		after++
		if x.recent[i].table == table {
			keys += len(x.recent[i].changes)
		}
	}
	if keys > 4*len(w.changes)+64 {
		x.fold(len(x.recent), horizon)
		after = 0
	}
	if x.lastMax > seq {
		last := x.last[table]
		for _, c := range w.changes {
			if last[c.Key] > seq {
				return true
			}
		}
	}
	for _, r := range x.recent[len(x.recent)-after:] {
		if r.table != table {
			continue
		}
		for _, c := range r.changes {
			if _, ok := w.at[c.Key]; ok {
				return true
			}
		}
	}
	return false
}
