package exec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestBytesTableInterns(t *testing.T) {
	tab := newBytesTable()
	null := tab.reserve()
	const n = 5000
	for i := range n {
		if id := tab.intern([]byte(fmt.Sprint(i))); id != uint32(i+1) {
			t.Fatalf("intern %d: id %d", i, id)
		}
	}
	for i := range n {
		s := fmt.Sprint(i)
		if id := tab.intern([]byte(s)); id != uint32(i+1) || string(tab.appendKey(nil, id)) != s {
			t.Fatalf("lookup %q: id %d key %q", s, id, tab.appendKey(nil, id))
		}
	}
	if id := tab.intern(nil); id == null || len(tab.appendKey(nil, id)) != 0 {
		t.Fatalf("the empty string got id %d, the reserved id is %d", id, null)
	}
	if tab.len() != n+2 {
		t.Fatalf("len %d, want %d", tab.len(), n+2)
	}
}

func TestKeyWordsAreTheBytesPaddedWithZeros(t *testing.T) {
	b := []byte("0123456789abcdef")
	for n := range len(b) + 1 {
		var want [16]byte
		copy(want[:], b[:n])
		w0, w1 := keyWords(b[:n])
		if w0 != binary.LittleEndian.Uint64(want[:]) || w1 != binary.LittleEndian.Uint64(want[8:]) {
			t.Errorf("keyWords(%q) = %#x, %#x", b[:n], w0, w1)
		}
	}
}

// awkwardKeys returns keys that share words, prefixes and hash inputs as
// much as possible: every length up to 40, over an alphabet with zero
// bytes, so that many keys differ only in trailing zeros or in one byte
// at a word boundary.
func awkwardKeys() [][]byte {
	var keys [][]byte
	for n := range 41 {
		for _, fill := range []byte{0, 'a', 0xff} {
			k := bytes.Repeat([]byte{fill}, n)
			keys = append(keys, k)
			for _, at := range []int{0, 7, 8, 15, 16, n - 1} {
				if at >= 0 && at < n {
					k := bytes.Clone(k)
					k[at] ^= 1
					keys = append(keys, k)
				}
			}
		}
	}
	// Drop repeats, keeping first appearances.
	seen := map[string]bool{}
	var distinct [][]byte
	for _, k := range keys {
		if !seen[string(k)] {
			seen[string(k)] = true
			distinct = append(distinct, k)
		}
	}
	return distinct
}

func TestBytesTableTellsKeysOfEveryLengthApart(t *testing.T) {
	keys := awkwardKeys()
	tab := newBytesTable()
	for round := range 2 {
		for i, k := range keys {
			if id := tab.intern(k); id != uint32(i) {
				t.Fatalf("round %d: intern(%q) = %d, want %d", round, k, id, i)
			}
		}
	}
	ks := tab.snapshot(kindBinary)
	ends := tab.ends()
	for i, k := range keys {
		id := uint32(i)
		if got := tab.appendKey(nil, id); !bytes.Equal(got, k) || tab.keyLen(id) != len(k) {
			t.Errorf("key %d is %q (length %d), want %q", i, got, tab.keyLen(id), k)
		}
		lo := 0
		if i > 0 {
			lo = ends[i-1]
		}
		if got := ks.value(lo, ends[i]).([]byte); !bytes.Equal(got, k) {
			t.Errorf("snapshot key %d is %q, want %q", i, got, k)
		}
	}
}

func TestBytesTableFindsKeysAfterRehashing(t *testing.T) {
	keys := awkwardKeys()
	tab := newBytesTable()
	for _, k := range keys {
		tab.intern(k)
	}
	// Tables beyond 2^tagBits slots place keys by their hashes computed
	// again rather than by the hash bits of their slots.
	for _, rehash := range []bool{true, false} {
		tab.regrow(4*len(tab.slots), rehash)
		for i, k := range keys {
			if id := tab.intern(k); id != uint32(i) {
				t.Fatalf("rehash %t: intern(%q) = %d, want %d", rehash, k, id, i)
			}
		}
	}
}

func TestInternKeysMatchesIntern(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pool := awkwardKeys()
	for _, n := range []int{0, 1, internBatch - 1, internBatch, 3*internBatch + 5, 5000} {
		// A column of n keys from the pool, a third of them NULL.
		var data []byte
		offs := []int32{0}
		valid := make([]byte, (n+1+7)/8)
		model := newBytesTable()
		want := make([]uint32, n)
		nulls := 0
		for i := range n {
			if r.IntN(3) == 0 {
				want[i] = 1<<32 - 1
				nulls++
			} else {
				k := pool[r.IntN(len(pool))]
				data = append(data, k...)
				// Bit i+1 is row i: the column starts at bit offset 1.
				valid[(i+1)/8] |= 1 << ((i + 1) % 8)
				want[i] = model.intern(k)
			}
			offs = append(offs, int32(len(data)))
		}
		tab := newBytesTable()
		got := make([]uint32, n)
		keys := keyList[int32]{offs: offs, data: data, bm: valid, bmOff: 1}
		calls := 0
		internKeys(tab, &keys, got, func() uint32 { calls++; return 1<<32 - 1 })
		if calls != nulls {
			t.Errorf("%d rows: null called %d times for %d NULLs", n, calls, nulls)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%d rows: row %d has id %d, want %d", n, i, got[i], want[i])
			}
		}
		// Interning the same keys again finds them all.
		internKeys(tab, &keys, got, func() uint32 { return 1<<32 - 1 })
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%d rows, again: row %d has id %d, want %d", n, i, got[i], want[i])
			}
		}
	}
}

func TestInternKeysOfFixedWidth(t *testing.T) {
	const w, n = 20, 1000
	data := make([]byte, w*n)
	for i := range n {
		binary.LittleEndian.PutUint32(data[i*w+16:], uint32(i%300))
	}
	tab := newBytesTable()
	ids := make([]uint32, n)
	keys := keyList[int]{data: data, width: w}
	internKeys(tab, &keys, ids, nil)
	for i, id := range ids {
		if id != uint32(i%300) {
			t.Fatalf("key %d has id %d, want %d", i, id, i%300)
		}
	}
}

func TestBytesTableInternsAnotherTable(t *testing.T) {
	keys := awkwardKeys()
	src, dst := newBytesTable(), newBytesTable()
	reserved := src.reserve()
	for _, k := range keys {
		src.intern(k)
	}
	// dst already holds every other key, under other ids.
	for i := len(keys) - 1; i >= 0; i -= 2 {
		dst.intern(keys[i])
	}
	m := make([]uint32, src.len())
	dst.internFrom(src, m, 0, int(reserved))
	dst.internFrom(src, m, int(reserved)+1, src.len())
	for id := range src.len() {
		if uint32(id) == reserved {
			continue
		}
		if k := src.appendKey(nil, uint32(id)); !bytes.Equal(dst.appendKey(nil, m[id]), k) || dst.intern(k) != m[id] {
			t.Fatalf("src key %d %q became dst key %d %q", id, k, m[id], dst.appendKey(nil, m[id]))
		}
	}
	if dst.len() != len(keys) {
		t.Fatalf("dst has %d keys, want %d", dst.len(), len(keys))
	}
}

func TestBytesTableSizesForTheKeysItExpects(t *testing.T) {
	const n = 1 << 16
	for _, c := range []struct {
		name     string
		distinct int
	}{
		{"all distinct", n},
		// The first rows are all new, yet few keys follow: the table grows
		// past what they need by a bounded factor.
		{"repeating", 1000},
	} {
		data := make([]byte, 8*n)
		for i := range n {
			binary.LittleEndian.PutUint64(data[8*i:], uint64(i%c.distinct))
		}
		tab := newBytesTable()
		keys := keyList[int]{data: data, width: 8}
		internKeys(tab, &keys, make([]uint32, n), nil)
		if tab.len() != c.distinct {
			t.Fatalf("%s: %d keys, want %d", c.name, tab.len(), c.distinct)
		}
		if slots := len(tab.slots); slots < 2*c.distinct || slots > 16*c.distinct {
			t.Errorf("%s: %d slots for %d keys", c.name, slots, c.distinct)
		}
	}
}
