package memtable

import (
	"cmp"
	"slices"
	"sort"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// maxMaskLevels bounds the cached bitmaps of one file's mask.
const maxMaskLevels = 8

// pathMask is the mask of one data file in one table: every superseded
// position with the sequence number from which it is superseded (the later
// of the key's first version and the location's validFrom), kept sorted by
// that sequence number, plus a few cached immutable bitmaps, each holding
// exactly the positions superseded at or below its sequence number.
//
// A query at snapshot seq S binary-searches the positions superseded at or
// below S, takes the newest cached bitmap at or below S and, if positions
// were added since, clones it, adds them and caches the result. So a query
// costs at most one clone of the file's mask, never a walk over keys, and
// repeated queries at one snapshot cost a binary search. Adding a position
// drops the cached bitmaps at or above its sequence number (they no longer
// hold exactly their prefix); in the usual order — positions arrive with
// increasing sequence numbers — that drops none that a published snapshot
// uses.
//
// pathMask has its own mutex, so that readers, which hold no MemTable lock
// while masking, can install cached bitmaps.
type pathMask struct {
	path string
	mu   struct {
		sync.Mutex
		bits   []maskBit   // sorted by seq
		levels []maskLevel // sorted by seq
		// late are added bits older than the newest of bits (a merge
		// remapping old locations), merged into bits in one pass when
		// next read: inserting each at its place would move the slice
		// once per bit.
		late []maskBit
	}
}

type maskBit struct {
	seq uint64
	pos uint32
}

type maskLevel struct {
	seq uint64
	n   int             // bits[:n] are those with seq <= level seq
	bm  *roaring.Bitmap // immutable once cached
}

// add records that pos is superseded from seq on.
func (m *pathMask) add(pos uint32, seq uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.mu.bits); n > 0 && m.mu.bits[n-1].seq > seq {
		m.mu.late = append(m.mu.late, maskBit{seq: seq, pos: pos})
	} else {
		m.mu.bits = append(m.mu.bits, maskBit{seq: seq, pos: pos})
	}
	m.dropLevelsLocked(seq)
}

// settleLocked merges the late bits into bits, keeping bits sorted by seq
// (and, among equal seqs, in the order they were added). Cached levels stay
// valid: add dropped every level at or above a late bit's seq.
func (m *pathMask) settleLocked() {
	late := m.mu.late
	if len(late) == 0 {
		return
	}
	slices.SortStableFunc(late, func(a, b maskBit) int { return cmp.Compare(a.seq, b.seq) })
	bits := m.mu.bits
	out := make([]maskBit, 0, len(bits)+len(late))
	i, j := 0, 0
	for i < len(bits) || j < len(late) {
		if j == len(late) || i < len(bits) && bits[i].seq <= late[j].seq {
			out = append(out, bits[i])
			i++
		} else {
			out = append(out, late[j])
			j++
		}
	}
	m.mu.bits, m.mu.late = out, nil
}

// remove forgets that pos is superseded from seq on.
func (m *pathMask) remove(pos uint32, seq uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settleLocked()
	bits := m.mu.bits
	for i := sort.Search(len(bits), func(j int) bool { return bits[j].seq >= seq }); i < len(bits) && bits[i].seq == seq; i++ {
		if bits[i].pos == pos {
			m.mu.bits = append(bits[:i], bits[i+1:]...)
			m.dropLevelsLocked(seq)
			return
		}
	}
}

// dropLevelsLocked drops the cached bitmaps at or above seq.
func (m *pathMask) dropLevelsLocked(seq uint64) {
	l := m.mu.levels
	i := sort.Search(len(l), func(j int) bool { return l[j].seq >= seq })
	for j := i; j < len(l); j++ {
		l[j] = maskLevel{}
	}
	m.mu.levels = l[:i]
}

// at returns the positions superseded at or below seq, or nil. The bitmap
// is immutable: it is shared with other readers.
func (m *pathMask) at(seq uint64) *roaring.Bitmap {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settleLocked()
	bits := m.mu.bits
	n := sort.Search(len(bits), func(j int) bool { return bits[j].seq > seq })
	if n == 0 {
		return nil
	}
	l := m.mu.levels
	li := sort.Search(len(l), func(j int) bool { return l[j].seq > seq }) - 1
	var from int
	var bm *roaring.Bitmap
	if li >= 0 {
		if l[li].n == n {
			return l[li].bm
		}
		from, bm = l[li].n, l[li].bm.Clone()
	} else {
		bm = roaring.New()
	}
	for _, b := range bits[from:n] {
		bm.Add(b.pos)
	}
	// Cache it at seq, after level li.
	lvl := maskLevel{seq: seq, n: n, bm: bm}
	l = append(l, maskLevel{})
	copy(l[li+2:], l[li+1:])
	l[li+1] = lvl
	if len(l) > maxMaskLevels {
		// Evict the oldest: snapshots move forward.
		copy(l, l[1:])
		l[len(l)-1] = maskLevel{}
		l = l[:len(l)-1]
	}
	m.mu.levels = l
	return bm
}
