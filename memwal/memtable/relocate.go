package memtable

import (
	"fmt"
	"math"

	"github.com/lakesql/lakesql/internal/parquetio"
)

// Rows that move in the data files: a flush writes the keys of a frozen
// MemTable into a new file, a merge rewrites its inputs into one output.
// A newer MemTable's chains of those keys must mask the rows where they now
// are. Relocate and Remap update them in one walk of the tree in key order,
// instead of one descent per key; they take the write lock per batch of
// chains, so readers wait for one batch at most. The caller keeps Apply and
// SetLocation of the table out until they return (memwal holds its write
// lock), so that no chain is added behind the walk.

// walkBatch is the number of chains a walk visits per write lock.
const walkBatch = 1024

// Relocate sets, on every key of table tableID that has a version here,
// the location where keys[i] (sorted, no key twice) is, locs[i], valid
// from 0: what SetLocation(tableID, keys[i], locs[i], 0) does for each key
// the MemTable holds a version of.
func (m *MemTable) Relocate(tableID string, keys []parquetio.Key, locs []Location) error {
	if len(keys) != len(locs) {
		return fmt.Errorf("memtable: %d keys and %d locations", len(keys), len(locs))
	}
	if len(keys) == 0 {
		return nil
	}
	for _, l := range locs {
		if err := checkPosition(l); err != nil {
			return err
		}
	}
	j := 0
	return m.walk(tableID, keys[0], func(t *table, c *chain) bool {
		for j < len(keys) && keys[j] < c.key {
			j++
		}
		if j == len(keys) {
			return false
		}
		if keys[j] == c.key && len(c.versions) > 0 {
			m.setLocationLocked(t, c, locs[j], 0)
		}
		return true
	})
}

// Remap adds, next to each location l of the keys of table tableID that
// have a version here, the location to(l) when ok, with l's ValidFrom: a
// merge moved the row from l to there.
func (m *MemTable) Remap(tableID string, to func(Location) (Location, bool)) error {
	return m.walk(tableID, "", func(t *table, c *chain) bool {
		if len(c.versions) == 0 {
			return true
		}
		for _, l := range c.locs[:len(c.locs):len(c.locs)] {
			if nl, ok := to(l.Location); ok && checkPosition(nl) == nil {
				m.setLocationLocked(t, c, nl, l.ValidFrom)
			}
		}
		return true
	})
}

// maxPosition is the highest file position a mask holds.
const maxPosition = math.MaxUint32

// checkPosition checks that a location's position fits a mask.
func checkPosition(l Location) error {
	if l.Position < 0 || l.Position > maxPosition {
		return fmt.Errorf("memtable: position %d out of range", l.Position)
	}
	return nil
}

// walk calls visit on the chains of table tableID in key order, from the
// first key at or above from, until visit returns false, under the write
// lock: walkBatch chains per lock.
func (m *MemTable) walk(tableID string, from parquetio.Key, visit func(*table, *chain) bool) error {
	t := m.table(tableID)
	if t == nil {
		return fmt.Errorf("%w: %q", ErrUnknownTable, tableID)
	}
	next := keyItem(from)
	for {
		n, done := 0, true
		m.mu.Lock()
		if m.closed() {
			m.mu.Unlock()
			return ErrClosed
		}
		t.tree.AscendGreaterOrEqual(next, func(it item) bool {
			if n == walkBatch {
				next, done = it, false // the next batch starts here
				return false
			}
			n++
			return visit(t, it.c)
		})
		m.mu.Unlock()
		if done {
			return nil
		}
	}
}
