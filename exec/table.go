package exec

import "math/bits"

// The hash tables below use open addressing with linear probing and keep
// their load factor at most one half. They map keys to dense ids (0, 1, 2,
// ...) in order of first insertion, which is what group ids and intern ids
// need; they never delete.

// minTableSlots is the initial number of slots of every table.
const minTableSlots = 64

// hash64 mixes a 64-bit key so that its top bits, which pick a slot, depend
// on every bit of the key.
func hash64(k uint64) uint64 {
	k ^= k >> 32
	k *= 0x9e3779b97f4a7c15
	return k ^ k>>29
}

// u64Slot is one slot of a u64Table; id is the key's id plus one, so zero
// marks an empty slot.
type u64Slot struct {
	key uint64
	id  uint32
}

// u64Table maps uint64 keys to dense uint32 ids.
type u64Table struct {
	slots []u64Slot
	shift uint // 64 - log2(len(slots))
	n     int
}

// newU64Table returns an empty table.
func newU64Table() u64Table {
	return u64Table{slots: make([]u64Slot, minTableSlots), shift: 64 - 6}
}

// lookupOrInsert returns k's id, giving k the id next when it is absent;
// inserted says which happened.
func (t *u64Table) lookupOrInsert(k uint64, next uint32) (id uint32, inserted bool) {
	mask := uint64(len(t.slots) - 1)
	for p := hash64(k) >> t.shift; ; p = (p + 1) & mask {
		s := &t.slots[p]
		if s.id == 0 {
			s.key, s.id = k, next+1
			if t.n++; 2*t.n > len(t.slots) {
				t.grow()
			}
			return next, true
		}
		if s.key == k {
			return s.id - 1, false
		}
	}
}

// grow doubles the number of slots.
func (t *u64Table) grow() {
	old := t.slots
	t.slots = make([]u64Slot, 2*len(old))
	t.shift--
	mask := uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.id == 0 {
			continue
		}
		p := hash64(s.key) >> t.shift
		for t.slots[p].id != 0 {
			p = (p + 1) & mask
		}
		t.slots[p] = s
	}
}

// pairSlot is one slot of a pairTable; g is the group plus one, so zero
// marks an empty slot.
type pairSlot struct {
	v uint64
	g uint32
}

// pairTable is a set of (group, value) pairs: the distinct values seen per
// group by COUNT(DISTINCT).
type pairTable struct {
	slots []pairSlot
	shift uint
	n     int
}

// newPairTable returns an empty set.
func newPairTable() pairTable {
	return pairTable{slots: make([]pairSlot, minTableSlots), shift: 64 - 6}
}

// hashPair mixes a group and a value into one hash.
func hashPair(g uint32, v uint64) uint64 {
	return hash64(v ^ bits.RotateLeft64(uint64(g)*0xc2b2ae3d27d4eb4f, 31))
}

// insert adds (g, v) and reports whether it was absent.
func (t *pairTable) insert(g uint32, v uint64) bool {
	mask := uint64(len(t.slots) - 1)
	for p := hashPair(g, v) >> t.shift; ; p = (p + 1) & mask {
		s := &t.slots[p]
		if s.g == 0 {
			s.v, s.g = v, g+1
			if t.n++; 2*t.n > len(t.slots) {
				t.grow()
			}
			return true
		}
		if s.v == v && s.g == g+1 {
			return false
		}
	}
}

// grow doubles the number of slots.
func (t *pairTable) grow() {
	old := t.slots
	t.slots = make([]pairSlot, 2*len(old))
	t.shift--
	mask := uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.g == 0 {
			continue
		}
		p := hashPair(s.g-1, s.v) >> t.shift
		for t.slots[p].g != 0 {
			p = (p + 1) & mask
		}
		t.slots[p] = s
	}
}
