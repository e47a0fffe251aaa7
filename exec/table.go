package exec

import (
	"bytes"
	"hash/maphash"
	"math/bits"
	"slices"
)

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

// bytesTable interns byte strings: it maps each distinct string to a dense
// uint32 id and stores one copy of it. A slot holds the low 32 bits of the
// key's hash (a tag that rules out most mismatches without touching the
// key) above the id plus one; zero marks an empty slot.
type bytesTable struct {
	seed   maphash.Seed
	slots  []uint64
	shift  uint
	hashes []uint64 // by id
	offs   []int    // key id is data[offs[id]:offs[id+1]]
	data   []byte
	// reserved lists the ids of reserve in increasing order.
	reserved []uint32
}

// newBytesTable returns an empty table.
func newBytesTable() *bytesTable {
	return &bytesTable{
		seed:  maphash.MakeSeed(),
		slots: make([]uint64, minTableSlots),
		shift: 64 - 6,
		offs:  []int{0},
	}
}

// len returns the number of ids handed out.
func (t *bytesTable) len() int { return len(t.offs) - 1 }

// key returns the string with the given id; it aliases the table.
func (t *bytesTable) key(id uint32) []byte { return t.data[t.offs[id]:t.offs[id+1]] }

// hash returns b's hash in this table.
func (t *bytesTable) hash(b []byte) uint64 { return maphash.Bytes(t.seed, b) }

// intern returns b's id, copying b into the table under a new id when it is
// absent.
func (t *bytesTable) intern(b []byte) uint32 { return t.internHashed(b, t.hash(b)) }

// internHashed is intern for a b whose hash h is known.
func (t *bytesTable) internHashed(b []byte, h uint64) uint32 {
	tag := h << 32
	mask := uint64(len(t.slots) - 1)
	for p := h >> t.shift; ; p = (p + 1) & mask {
		s := t.slots[p]
		if s == 0 {
			id := uint32(t.len())
			t.slots[p] = tag | uint64(id+1)
			t.data = append(doubled(t.data, len(b)), b...)
			t.offs = append(doubled(t.offs, 1), len(t.data))
			t.hashes = append(doubled(t.hashes, 1), h)
			if 2*len(t.hashes) > len(t.slots) {
				t.grow()
			}
			return id
		}
		if s&^0xffffffff == tag {
			id := uint32(s) - 1
			if bytes.Equal(t.key(id), b) {
				return id
			}
		}
	}
}

// doubled returns s with room for n more elements, at least doubling its
// capacity when it has to grow it (append grows large slices by a quarter,
// which copies big tables too often).
func doubled[T any](s []T, n int) []T {
	if len(s)+n <= cap(s) {
		return s
	}
	return slices.Grow(s, max(n, len(s)))
}

// reserve hands out a new id that no key maps to: the id of a group, such
// as the NULL group, that has no byte string.
func (t *bytesTable) reserve() uint32 {
	id := uint32(t.len())
	t.offs = append(t.offs, len(t.data))
	t.hashes = append(t.hashes, 0)
	t.reserved = append(t.reserved, id)
	return id
}

// grow doubles the number of slots and reinserts the ids in order, which
// reads the hashes sequentially.
func (t *bytesTable) grow() {
	t.slots = make([]uint64, 2*len(t.slots))
	t.shift--
	mask := uint64(len(t.slots) - 1)
	reserved := t.reserved
	for id, h := range t.hashes {
		if len(reserved) > 0 && reserved[0] == uint32(id) {
			reserved = reserved[1:]
			continue
		}
		p := h >> t.shift
		for t.slots[p] != 0 {
			p = (p + 1) & mask
		}
		t.slots[p] = h<<32 | uint64(id+1)
	}
}

// keySnapshot hands out the keys of a bytesTable as Arrow Go values that
// share one copy of the table's bytes, rather than one allocation each.
type keySnapshot struct {
	kind kind
	s    string
	b    []byte
	offs []int
}

// snapshot copies the table's keys for values of kind k (String or Binary).
func (t *bytesTable) snapshot(k kind) keySnapshot {
	ks := keySnapshot{kind: k, offs: t.offs}
	if k == kindString {
		ks.s = string(t.data)
	} else {
		ks.b = append(make([]byte, 0, len(t.data)), t.data...)
	}
	return ks
}

// value returns key id as a string or as a []byte whose capacity ends with
// it.
func (ks *keySnapshot) value(id uint32) any {
	lo, hi := ks.offs[id], ks.offs[id+1]
	if ks.kind == kindString {
		return ks.s[lo:hi]
	}
	return ks.b[lo:hi:hi]
}
