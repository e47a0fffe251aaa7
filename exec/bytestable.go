package exec

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/bits"
	"math/rand/v2"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// bytesTable interns byte strings: it maps each distinct string to a dense
// uint32 id and keeps one copy of it.
//
// Large tables are limited by memory, not by computation: every key costs
// a cache miss (and often a TLB miss) in the slot array, and fresh memory
// costs a page fault per 4 KiB on first use. So the layout is compact and
// the lookups are batched:
//
//   - A slot is one uint64: the top tagBits bits of the key's hash, the
//     key's length code (its length up to shortKey, longCode above) and
//     the id plus one (zero marks an empty slot). The hash bits and the
//     length rule out most mismatches without reading the key, and the
//     hash bits place the slot again when the table grows, so growing
//     reads nothing but the slots.
//   - The keys are 16-byte records in id order (keyRec), with their length
//     codes alongside: a key of at most shortKey bytes is its record, so
//     comparing it reads the slot and the record only; a longer key's
//     record locates it in an arena of long keys.
//   - internKeys hashes a batch of keys, then loads the slot of every key,
//     then the record its slot names, and only then probes: the loads of a
//     pass do not depend on each other, so the processor overlaps their
//     cache misses rather than waiting for each in turn.
//   - The table is sized for the keys a batch of rows promises (see
//     makeRoom), so a large input skips most of the intermediate tables
//     that doubling one at a time would allocate and fill.
//
// Keys are hashed with a per-table random seed (see hashWords), so a table
// cannot be flooded with colliding keys chosen in advance; merging tables
// rehashes the keys of one.
type bytesTable struct {
	seed  uint64
	slots []uint64
	shift uint // 64 - log2(len(slots))
	// count is the number of keys in slots: the ids handed out, less those
	// of reserve, which have no key.
	count int
	recs  []keyRec // by id
	codes []uint8  // by id: the length code of the key
	long  []byte   // the keys longer than shortKey
	// touched receives what the prefetching passes of internKeys load, so
	// that the compiler keeps those loads.
	touched uint64
}

// keyRec is the record of one key of a bytesTable: the key itself as two
// words (see keyWords) when it has at most shortKey bytes, else its offset
// in the table's arena of long keys (w0) and its length (w1).
type keyRec struct {
	w0, w1 uint64
}

const (
	// shortKey is the length up to which keys are held in their records.
	shortKey = 16
	// longCode is the length code of the keys longer than shortKey.
	longCode = shortKey + 1
	// tagBits is the number of hash bits in a slot, above 5 bits of length
	// code and 32 of id.
	tagBits = 27
	// idBits selects the id plus one in a slot, headBits the rest.
	idBits   = 1<<32 - 1
	headBits = ^uint64(idBits)
)

// lengthCode returns the length code of an n-byte key.
func lengthCode(n int) uint8 { return uint8(min(n, longCode)) }

// slotHead returns the bits of a slot above the id for a key of hash h and
// length code c.
func slotHead(h uint64, c uint8) uint64 { return h>>(64-tagBits)<<(64-tagBits) | uint64(c)<<32 }

// newBytesTable returns an empty table.
func newBytesTable() *bytesTable {
	return &bytesTable{
		seed:  rand.Uint64(),
		slots: make([]uint64, minTableSlots),
		shift: 64 - 6,
	}
}

// len returns the number of ids handed out.
func (t *bytesTable) len() int { return len(t.recs) }

// keyLen returns the length of key id.
func (t *bytesTable) keyLen(id uint32) int {
	if c := t.codes[id]; c < longCode {
		return int(c)
	}
	return int(t.recs[id].w1)
}

// intern returns b's id, copying b into the table under a new id when it is
// absent.
func (t *bytesTable) intern(b []byte) uint32 {
	var w0, w1, h uint64
	if len(b) <= shortKey {
		w0, w1 = keyWords(b)
		h = hashWords(t.seed, w0, w1, len(b))
	} else {
		h = hashLong(t.seed, b)
	}
	code := lengthCode(len(b))
	head := slotHead(h, code)
	mask := uint64(len(t.slots) - 1)
	for p := h >> t.shift; ; p = (p + 1) & mask {
		s := t.slots[p]
		if s == 0 {
			id := t.add(code, w0, w1, b)
			t.slots[p] = head | uint64(id+1)
			if 2*t.count > len(t.slots) {
				t.grow(2 * len(t.slots))
			}
			return id
		}
		if s&headBits != head {
			continue
		}
		id := uint32(s) - 1
		if code < longCode && t.recs[id] == (keyRec{w0, w1}) || code == longCode && t.equalLong(id, b) {
			return id
		}
	}
}

// equalLong reports whether key id, longer than shortKey, is b.
func (t *bytesTable) equalLong(id uint32, b []byte) bool {
	r := t.recs[id]
	return r.w1 == uint64(len(b)) && bytes.Equal(t.long[r.w0:r.w0+r.w1], b)
}

// add gives the next id to the key of length code code: the key whose
// words are w0 and w1, or b when it is longer than shortKey. The caller
// puts the id in a slot.
func (t *bytesTable) add(code uint8, w0, w1 uint64, b []byte) uint32 {
	id := uint32(len(t.recs))
	if code == longCode {
		w0, w1 = uint64(len(t.long)), uint64(len(b))
		t.long = append(doubled(t.long, len(b)), b...)
	}
	t.recs = append(doubled(t.recs, 1), keyRec{w0: w0, w1: w1})
	t.codes = append(doubled(t.codes, 1), code)
	t.count++
	return id
}

// doubled returns s with room for n more elements, at least doubling its
// capacity when it has to grow it (append grows large slices by a quarter,
// which copies big tables too often).
func doubled[T any](s []T, n int) []T {
	if len(s)+n <= cap(s) {
		return s
	}
	return withCap(s, len(s)+max(n, len(s)))
}

// withCap returns a copy of s with capacity c. Unlike append and
// slices.Grow, which clear the capacity beyond the new length, it leaves
// the pages of fresh memory beyond len(s) untouched until they are used.
func withCap[T any](s []T, c int) []T {
	t := make([]T, len(s), c)
	copy(t, s)
	return t
}

// reserve hands out a new id that no key maps to: the id of a group, such
// as the NULL group, that has no byte string. Its key reads as empty.
func (t *bytesTable) reserve() uint32 {
	id := uint32(len(t.recs))
	t.recs = append(doubled(t.recs, 1), keyRec{})
	t.codes = append(doubled(t.codes, 1), 0)
	return id
}

// grow moves the keys to a table of n slots, a power of two.
func (t *bytesTable) grow(n int) { t.regrow(n, bits.TrailingZeros(uint(n)) > tagBits) }

// regrow moves the keys to a table of n slots, a power of two, placing each
// by the hash bits its slot holds, or by its hash computed again when
// rehash is set (which a table of more than 2^tagBits slots needs).
func (t *bytesTable) regrow(n int, rehash bool) {
	old := t.slots
	t.slots = make([]uint64, n)
	t.shift = uint(64 - bits.TrailingZeros(uint(n)))
	mask := uint64(n - 1)
	for _, s := range old {
		if s == 0 {
			continue
		}
		var p uint64
		if rehash {
			p = t.hashOf(uint32(s)-1) >> t.shift
		} else {
			p = s >> t.shift
		}
		for t.slots[p] != 0 {
			p = (p + 1) & mask
		}
		t.slots[p] = s
	}
}

// hashOf returns the hash of key id.
func (t *bytesTable) hashOf(id uint32) uint64 {
	r, c := t.recs[id], t.codes[id]
	if c < longCode {
		return hashWords(t.seed, r.w0, r.w1, int(c))
	}
	return hashLong(t.seed, t.long[r.w0:r.w0+r.w1])
}

// makeRoom grows the table so that k more keys keep it at most half full.
// When it has to grow, it sizes the table for the keys it expects: added
// keys were new among the first done of total keys being interned, and the
// rest are assumed to be new at the same rate. The table grows at most
// eightfold at a time on that guess, so a misleading start costs little.
func (t *bytesTable) makeRoom(k, added, done, total int) {
	need := t.count + k
	if 2*need <= len(t.slots) {
		return
	}
	want := need
	if done > 0 {
		want = max(want, t.count+int(int64(added)*int64(total-done)/int64(done)))
	}
	n := 2 * len(t.slots)
	for n < 2*want && n < 8*len(t.slots) {
		n *= 2
	}
	for n < 2*need {
		n *= 2
	}
	t.grow(n)
	if expect := min(want, n/2) - t.count; cap(t.recs)-len(t.recs) < expect {
		t.recs = withCap(t.recs, len(t.recs)+expect)
		t.codes = withCap(t.codes, len(t.codes)+expect)
	}
}

// keyList is a run of byte-string keys: key i is data[offs[i]:offs[i+1]],
// or data[i*width:(i+1)*width] when offs is nil. Key i is NULL when bm is
// not nil and bit bmOff+i of bm is clear.
type keyList[O int32 | int] struct {
	offs  []O
	data  []byte
	width int
	bm    []byte
	bmOff int
}

// at returns key i.
func (k *keyList[O]) at(i int) []byte {
	if k.offs != nil {
		return k.data[k.offs[i]:k.offs[i+1]]
	}
	return k.data[i*k.width : (i+1)*k.width]
}

// null reports whether key i is NULL.
func (k *keyList[O]) null(i int) bool {
	return k.bm != nil && !bitutil.BitIsSet(k.bm, k.bmOff+i)
}

// internBatch is the number of keys looked up together.
const internBatch = 256

// cachedSlots is the number of slots up to which a table is assumed to
// stay in the processor's caches, where loading its slots ahead of the
// probes gains nothing.
const cachedSlots = 1 << 15

// keyBatch holds what a lookup needs of each key of a batch before it
// probes: the key's hash, its slot head and its probe words.
type keyBatch struct {
	hs, heads, w0s, w1s [internBatch]uint64
}

// setBytes fills entry j of the batch for key b of a table with the given
// seed.
func (kb *keyBatch) setBytes(j int, seed uint64, b []byte) {
	if len(b) <= shortKey {
		kb.w0s[j], kb.w1s[j] = keyWords(b)
		kb.hs[j] = hashWords(seed, kb.w0s[j], kb.w1s[j], len(b))
	} else {
		kb.w0s[j], kb.w1s[j] = 0, 0
		kb.hs[j] = hashLong(seed, b)
	}
	kb.heads[j] = slotHead(kb.hs[j], lengthCode(len(b)))
}

// internKeys writes the id of key i of keys into ids[i], for every i in
// [0, len(ids)), adding the keys that are absent in order; a NULL key's id
// is null(), which is called in row order.
func internKeys[O int32 | int](t *bytesTable, keys *keyList[O], ids []uint32, null func() uint32) {
	var kb keyBatch
	n, before := len(ids), t.count
	for lo := 0; lo < n; lo += internBatch {
		batch := ids[lo:min(lo+internBatch, n)]
		t.makeRoom(len(batch), t.count-before, lo, n)
		for j := range batch {
			kb.setBytes(j, t.seed, keys.at(lo+j))
		}
		var isNull func(j int) bool
		if keys.bm != nil {
			isNull = func(j int) bool { return keys.null(lo + j) }
		}
		t.lookup(&kb, batch, func(j int) []byte { return keys.at(lo + j) }, isNull, null)
	}
}

// internFrom interns the keys of ids [lo, hi) of other, none of them
// reserved, and writes their ids here into m[lo:hi]. It reads the short
// keys' words from other's records rather than copying their bytes.
func (t *bytesTable) internFrom(other *bytesTable, m []uint32, lo, hi int) {
	// other's keys are distinct: at most hi-lo of them are new here.
	t.makeRoom(hi-lo, 0, 0, 0)
	var kb keyBatch
	for ; lo < hi; lo += internBatch {
		batch := m[lo:min(lo+internBatch, hi)]
		for j := range batch {
			id := uint32(lo + j)
			if c := other.codes[id]; c < longCode {
				r := other.recs[id]
				kb.w0s[j], kb.w1s[j] = r.w0, r.w1
				kb.hs[j] = hashWords(t.seed, r.w0, r.w1, int(c))
				kb.heads[j] = slotHead(kb.hs[j], c)
			} else {
				kb.setBytes(j, t.seed, other.longKey(id))
			}
		}
		at := lo
		t.lookup(&kb, batch, func(j int) []byte { return other.longKey(uint32(at + j)) }, nil, nil)
	}
}

// longKey returns key id, longer than shortKey; it aliases the table.
func (t *bytesTable) longKey(id uint32) []byte {
	r := t.recs[id]
	return t.long[r.w0 : r.w0+r.w1]
}

// lookup writes the ids of the len(ids) keys of kb into ids, adding the
// keys that are absent in order; the table has room for them. long(j)
// returns key j when it is longer than shortKey. When isNull is not nil
// and isNull(j), key j is NULL and its id is null().
//
// It first loads the slot of every key, then the record its slot names,
// and only then probes: the loads of a pass do not depend on each other,
// so the processor overlaps their cache misses.
func (t *bytesTable) lookup(kb *keyBatch, ids []uint32, long func(j int) []byte, isNull func(j int) bool, null func() uint32) {
	slots, shift := t.slots, t.shift
	if len(slots) > cachedSlots {
		var touched uint64
		for _, h := range kb.hs[:len(ids)] {
			touched += slots[h>>shift]
		}
		recs := t.recs
		for j, h := range kb.hs[:len(ids)] {
			if s := slots[h>>shift]; s != 0 && s&headBits == kb.heads[j] {
				touched += recs[uint32(s)-1].w0
			}
		}
		t.touched += touched
	}
	mask := uint64(len(slots) - 1)
	for j := range ids {
		if isNull != nil && isNull(j) {
			ids[j] = null()
			continue
		}
		h, head, w0, w1 := kb.hs[j], kb.heads[j], kb.w0s[j], kb.w1s[j]
		code := uint8(head >> 32 & 0x1f)
		for p := h >> shift; ; p = (p + 1) & mask {
			s := slots[p]
			if s == 0 {
				var b []byte
				if code == longCode {
					b = long(j)
				}
				id := t.add(code, w0, w1, b)
				slots[p] = head | uint64(id+1)
				ids[j] = id
				break
			}
			if s&headBits != head {
				continue
			}
			id := uint32(s) - 1
			if code < longCode && t.recs[id] == (keyRec{w0, w1}) ||
				code == longCode && t.equalLong(id, long(j)) {
				ids[j] = id
				break
			}
		}
	}
}

// appendKey appends key id to dst.
func (t *bytesTable) appendKey(dst []byte, id uint32) []byte {
	r, c := &t.recs[id], t.codes[id]
	if c == longCode {
		return append(dst, t.long[r.w0:r.w0+r.w1]...)
	}
	var w [16]byte
	binary.LittleEndian.PutUint64(w[:], r.w0)
	binary.LittleEndian.PutUint64(w[8:], r.w1)
	return append(dst, w[:c]...)
}

// keys returns the keys of ids [lo, hi) as a keyList, copied into buf and
// offs, which it reuses.
func (t *bytesTable) keys(lo, hi int, buf []byte, offs []int) keyList[int] {
	buf, offs = buf[:0], append(offs[:0], 0)
	for id := lo; id < hi; id++ {
		buf = t.appendKey(buf, uint32(id))
		offs = append(offs, len(buf))
	}
	return keyList[int]{offs: offs, data: buf}
}

// snapshot copies the table's keys, in id order, for values of kind k
// (String or Binary).
func (t *bytesTable) snapshot(k kind) keySnapshot {
	total := 0
	for id := range t.recs {
		total += t.keyLen(uint32(id))
	}
	ks := keySnapshot{kind: k}
	if k == kindString {
		var sb strings.Builder
		sb.Grow(total)
		t.writeKeys(&sb)
		ks.s = sb.String()
	} else {
		b := bytes.NewBuffer(make([]byte, 0, total))
		t.writeKeys(b)
		ks.b = b.Bytes()
	}
	return ks
}

// writeKeys writes all keys, in id order, to w. It assembles them in a
// small buffer first, writing a short key as its two words, whose padding
// the next key overwrites.
func (t *bytesTable) writeKeys(w io.Writer) {
	var buf [4096 + shortKey]byte
	at := 0
	for id, r := range t.recs {
		c := t.codes[id]
		if at > len(buf)-2*shortKey || c == longCode {
			w.Write(buf[:at])
			at = 0
		}
		if c == longCode {
			w.Write(t.long[r.w0 : r.w0+r.w1])
			continue
		}
		binary.LittleEndian.PutUint64(buf[at:], r.w0)
		binary.LittleEndian.PutUint64(buf[at+8:], r.w1)
		at += int(c)
	}
	w.Write(buf[:at])
}

// ends returns where each key ends in a snapshot: key id is
// [ends[id-1], ends[id]), with ends[-1] taken as 0.
func (t *bytesTable) ends() []int {
	ends := make([]int, len(t.recs))
	total := 0
	for id := range t.recs {
		total += t.keyLen(uint32(id))
		ends[id] = total
	}
	return ends
}

// keySnapshot hands out the keys of a bytesTable as Arrow Go values that
// share one copy of the table's bytes, rather than one allocation each.
type keySnapshot struct {
	kind kind
	s    string
	b    []byte
}

// value returns the key at [lo, hi) of the snapshot as a string or as a
// []byte whose capacity ends with it.
func (ks *keySnapshot) value(lo, hi int) any {
	if ks.kind == kindString {
		return ks.s[lo:hi]
	}
	return ks.b[lo:hi:hi]
}

// The hash of byte strings multiplies 64-bit words of the key, xored with
// the seed and the constants below, into 128-bit products and folds each
// product's halves together: two multiplications for a short key, one more
// per 16 bytes for a longer one, and no call. Keys of up to 16 bytes are
// read as two words (keyWords), which the probes compare as well.
const (
	hashK0 = 0x9e3779b97f4a7c15 // the golden ratio
	hashK1 = 0xc2b2ae3d27d4eb4f
	hashK2 = 0x165667b19e3779f9
	hashK3 = 0xd6e8feb86659fd93
)

// fold multiplies a and b into 128 bits and xors the halves.
func fold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashWords returns the hash of the n-byte key (n <= 16) whose words are w0
// and w1.
func hashWords(seed, w0, w1 uint64, n int) uint64 {
	return fold(fold(w0^seed^hashK0, w1^seed^hashK1)^uint64(n), hashK2)
}

// hashLong returns the hash of b, longer than 16 bytes.
func hashLong(seed uint64, b []byte) uint64 {
	n := len(b)
	h := seed
	for len(b) > 16 {
		h = fold(binary.LittleEndian.Uint64(b)^h^hashK0, binary.LittleEndian.Uint64(b[8:])^seed^hashK3)
		b = b[16:]
	}
	w0, w1 := keyWords(b)
	return hashWords(h, w0, w1, n)
}

// keyWords returns the bytes of b, at most 16 of them, as two little-endian
// words padded with zeros: b[0:8] in w0 and b[8:] in w1. It reads b with at
// most two overlapping loads per word rather than byte by byte.
func keyWords(b []byte) (w0, w1 uint64) {
	le := binary.LittleEndian
	switch n := uint(len(b)); {
	case n >= 8:
		w0 = le.Uint64(b)
		if n > 8 {
			w1 = le.Uint64(b[n-8:]) >> (8 * (16 - n))
		}
	case n >= 4:
		w0 = uint64(le.Uint32(b)) | uint64(le.Uint32(b[n-4:]))>>(8*(8-n))<<32
	case n > 0:
		w0 = uint64(b[0]) | uint64(b[n/2])<<(8*(n/2)) | uint64(b[n-1])<<(8*(n-1))
	}
	return w0, w1
}
