package parquetio

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lakesql/lakesql/internal/base"
)

// Key is a key tuple in a compact, comparable encoding: comparing two Keys
// of the same key columns as strings (==, <) orders them as SQL orders the
// tuples (integers by value, floats by value with NaN last, decimals by
// value, strings and byte strings bytewise, DATE/DATETIME/TIMESTAMP/TIME by
// time). Key columns are never NULL. A Key is usable as a map key.
//
// Encoding per column: signed integers and temporal types as 8 big-endian
// bytes with the sign bit flipped; unsigned integers as 8 big-endian bytes;
// floats as the IEEE bits, sign-flipped for positives and inverted for
// negatives; decimals as 32 big-endian bytes of the unscaled two's
// complement with the sign bit flipped; strings and byte strings with 0x00
// escaped as 0x00 0xFF and ended by 0x00 0x01; BOOLEAN as one byte.
type Key string

// KeyEncoder encodes key tuples of one schema's key columns.
type KeyEncoder struct {
	cols []column
}

// NewKeyEncoder returns an encoder for the key columns (ids, in key order)
// of s.
func NewKeyEncoder(s *base.Schema, keyColumns []int) (*KeyEncoder, error) {
	cols, err := selectColumns(s, keyColumns)
	if err != nil {
		return nil, err
	}
	return &KeyEncoder{cols: cols}, nil
}

// Encode encodes one key tuple; values are Go values as Predicate constants
// take them (see Cmp).
func (e *KeyEncoder) Encode(values ...any) (Key, error) {
	if len(values) != len(e.cols) {
		return "", fmt.Errorf("parquetio: key has %d values, want %d", len(values), len(e.cols))
	}
	var buf []byte
	if len(e.cols) == 1 {
		buf = make([]byte, 0, 8) // fits every fixed-width key column but decimals
	}
	for i := range e.cols {
		v, err := toScalar(&e.cols[i], values[i])
		if err != nil {
			return "", err
		}
		if v.null {
			return "", fmt.Errorf("parquetio: key column %q is NULL", e.cols[i].col.Name)
		}
		buf = appendKey(buf, &e.cols[i], v)
	}
	return Key(unsafeString(buf)), nil // buf is not used again
}

// appendKey appends the encoding of v, a non-null value of c.
func appendKey(dst []byte, c *column, v scalar) []byte {
	switch c.class() {
	case clsInt:
		if c.typ.Kind == base.TypeBool {
			return append(dst, byte(v.i))
		}
		return binary.BigEndian.AppendUint64(dst, uint64(v.i)^(1<<63))
	case clsUint:
		return binary.BigEndian.AppendUint64(dst, v.u)
	case clsFloat:
		f := v.f
		if f != f {
			return binary.BigEndian.AppendUint64(dst, math.MaxUint64) // every NaN, last
		}
		if f == 0 {
			f = 0 // -0 == +0
		}
		b := math.Float64bits(f)
		if b&(1<<63) != 0 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		return binary.BigEndian.AppendUint64(dst, b)
	case clsDec:
		a := v.d.Array()
		dst = binary.BigEndian.AppendUint64(dst, a[3]^(1<<63))
		dst = binary.BigEndian.AppendUint64(dst, a[2])
		dst = binary.BigEndian.AppendUint64(dst, a[1])
		return binary.BigEndian.AppendUint64(dst, a[0])
	default:
		for i := 0; i < len(v.s); i++ {
			if v.s[i] == 0 {
				dst = append(dst, 0, 0xFF)
			} else {
				dst = append(dst, v.s[i])
			}
		}
		return append(dst, 0, 1)
	}
}

// keyJSON returns the key tuple values as a JSON-friendly array.
func keyJSON(cols []column, vals []scalar) []any {
	if vals == nil {
		return nil
	}
	out := make([]any, len(cols))
	for i := range cols {
		out[i] = jsonValue(&cols[i], vals[i])
	}
	return out
}

// KeyIndex is the key column(s) of a key-sorted file held in memory as
// encoded keys, for binary search. It is immutable and safe for concurrent
// use.
type KeyIndex struct {
	data []byte
	offs []uint32 // key i is data[offs[i]:offs[i+1]]; nil when width > 0
	// width > 0: every key has width bytes (fixed-width key columns), key
	// i is data[i*width:(i+1)*width] and there are n keys.
	width int
	n     int
	// With width 8 (one 8-byte key column) data is nil and words are the
	// keys as big-endian numbers; fence is every fenceStride-th word, and
	// even says interpolation finds words (see lookupWord).
	words []uint64
	fence []uint64
	even  bool
}

// Len is the number of keys (rows).
func (k *KeyIndex) Len() int {
	if k.offs == nil {
		return k.n
	}
	return len(k.offs) - 1
}

// at returns key i; not for an index of words.
func (k *KeyIndex) at(i int) string {
	if k.offs == nil {
		return unsafeString(k.data[i*k.width : (i+1)*k.width])
	}
	return unsafeString(k.data[k.offs[i]:k.offs[i+1]])
}

// compact drops the offsets when every key has the same length.
func (k *KeyIndex) compact() {
	n := len(k.offs) - 1
	if n <= 0 {
		return
	}
	w := int(k.offs[1] - k.offs[0])
	if w == 0 {
		return
	}
	for i := 1; i <= n; i++ {
		if int(k.offs[i]-k.offs[i-1]) != w {
			return
		}
	}
	if w == 8 {
		words := make([]uint64, n)
		for i := range words {
			words[i] = binary.BigEndian.Uint64(k.data[i*8:])
		}
		*k = *newWordIndex(words)
		return
	}
	k.width, k.n, k.offs = w, n, nil
}

// newWordIndex returns the index of 8-byte keys given as big-endian
// numbers, in order.
func newWordIndex(words []uint64) *KeyIndex {
	k := &KeyIndex{width: 8, n: len(words), words: words, even: evenlySpread(words)}
	k.fence = make([]uint64, 0, (len(words)+fenceStride-1)/fenceStride)
	for i := 0; i < len(words); i += fenceStride {
		k.fence = append(k.fence, words[i])
	}
	return k
}

// Lookup returns the file position of the row with key, by binary search.
func (k *KeyIndex) Lookup(key Key) (int64, bool) {
	if k.words != nil {
		if len(key) != 8 {
			return 0, false // every key of the index has 8 bytes
		}
		return k.lookupWord(binary.BigEndian.Uint64([]byte(key)))
	}
	n := k.Len()
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if k.at(m) < string(key) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < n && k.at(lo) == string(key) {
		return int64(lo), true
	}
	return 0, false
}

// lookupWord is Lookup in an index of words. In an evenly spread index
// (dense ids, evenly spaced numbers) the position is guessed over the
// whole index by interpolation; otherwise the fence, which stays in the
// CPU caches, gives the stride that holds it, and the guess is made inside
// the stride. A guess is checked with a second word a window away: one or
// two cache misses where a binary search over millions of words misses at
// most steps. A bad guess only leaves a wider bracket to binary-search.
func (k *KeyIndex) lookupWord(want uint64) (int64, bool) {
	b, ok := k.bracket(want)
	if !ok {
		return 0, false
	}
	p := b.search(k.words, want)
	return int64(p), k.words[p] == want
}

// wordBracket is where the first word at or above a wanted one lies: in
// [lo, hi], guessed by interpolation between (a, va) and (hi, vhi), known
// values with w[a] <= want (a <= lo) and w[hi] >= want.
type wordBracket struct {
	lo, hi, a int
	va, vhi   uint64
}

// bracket returns the bracket of want, or false when want lies outside
// the words.
func (k *KeyIndex) bracket(want uint64) (wordBracket, bool) {
	w := k.words
	n := len(w)
	if n == 0 || want < w[0] || want > w[n-1] {
		return wordBracket{}, false
	}
	if k.even {
		return wordBracket{lo: 0, hi: n - 1, a: 0, va: w[0], vhi: w[n-1]}, true
	}
	f, _ := slices.BinarySearch(k.fence, want)
	return k.fenceBracket(f), true
}

// fenceBracket is the bracket of a word inside the words' range given f,
// the number of fence words below it: fence[f-1] < want <= fence[f], so
// the first word at or above want is after the stride's first word and at
// most fence f (or the last word).
func (k *KeyIndex) fenceBracket(f int) wordBracket {
	if f == 0 {
		return wordBracket{} // want == w[0]: [0, 0]
	}
	w := k.words
	a := (f - 1) * fenceStride
	b := wordBracket{lo: a + 1, hi: len(w) - 1, a: a, va: k.fence[f-1], vhi: w[len(w)-1]}
	if f < len(k.fence) {
		b.hi, b.vhi = f*fenceStride, k.fence[f]
	}
	return b
}

// guess returns the interpolated index of want in the bracket, or false
// when the bracket is short enough to binary-search at once.
func (b *wordBracket) guess(want uint64) (int, bool) {
	if b.hi-b.lo <= 2*interpWindow {
		return 0, false
	}
	g := b.a + int(float64(want-b.va)/(float64(b.vhi-b.va)+1)*float64(b.hi-b.a+1))
	return min(max(g, b.lo), b.hi), true
}

// search returns the first index of the bracket whose word is at or above
// want.
func (b wordBracket) search(w []uint64, want uint64) int {
	if g, ok := b.guess(want); ok {
		return b.searchFrom(w, g, w[g], want)
	}
	i, _ := slices.BinarySearch(w[b.lo:b.hi+1], want)
	return b.lo + i
}

// searchFrom is search given the guess g and its word vg = w[g]: it checks
// a word a window away from the guess and binary-searches what they leave.
func (b wordBracket) searchFrom(w []uint64, g int, vg, want uint64) int {
	lo, hi := b.lo, b.hi
	if vg >= want {
		hi = g
		if j := g - interpWindow; j >= lo {
			if w[j] < want {
				lo = j + 1
			} else {
				hi = j
			}
		}
	} else {
		lo = g + 1
		if j := g + interpWindow; j <= hi {
			if w[j] >= want {
				hi = j
			} else {
				lo = j + 1
			}
		}
	}
	i, _ := slices.BinarySearch(w[lo:hi+1], want)
	return lo + i
}

// fenceSearch sets fs[j] to the number of fence words below wants[j], for
// every j: binary searches of the fence that step together, a level at a
// time, so that their loads at one level do not wait for each other.
func (k *KeyIndex) fenceSearch(wants []uint64, fs []int) {
	fence := k.fence
	for j := range fs {
		fs[j] = 0
	}
	// Invariant: the fence words below fs[j] are below wants[j], and the
	// answer lies in [fs[j], fs[j]+length).
	for length := len(fence); length > 1; {
		half := length / 2
		for j, want := range wants {
			f := fs[j]
			if fence[f+half-1] < want {
				f += half // a conditional move, not a branch to mispredict
			}
			fs[j] = f
		}
		length -= half
	}
	for j, want := range wants {
		if fs[j] < len(fence) && fence[fs[j]] < want {
			fs[j]++
		}
	}
}

// LookupSorted is Lookup of each of keys (a writer's batch, in ascending
// order, though any order gives the same answers): pos[i] and found[i] get
// key i's answer. In an index of words it looks keys up 16 at a time: the
// fence searches of a batch step together (fenceSearch), and every guessed
// word of a batch is read before any search goes on, so that the cache
// misses of a batch overlap instead of following each other.
// BenchmarkLookupSorted, 500 sorted keys in 4M: 3-4x faster than one
// Lookup after the other.
func (k *KeyIndex) LookupSorted(keys []Key, pos []int64, found []bool) {
	if k.words == nil {
		for i, key := range keys {
			pos[i], found[i] = k.Lookup(key)
		}
		return
	}
	const batch = 16
	var (
		wants   [batch]uint64
		bs      [batch]wordBracket
		guesses [batch]int // -1: no guess (a short bracket); -2: outside
		words   [batch]uint64
		fs      [batch]int // the fence words below each want
	)
	w := k.words
	for from := 0; from < len(keys); from += batch {
		n := min(batch, len(keys)-from)
		for j := range n {
			guesses[j] = -2
			if key := keys[from+j]; len(key) == 8 {
				wants[j] = binary.BigEndian.Uint64([]byte(key))
				if wants[j] >= w[0] && wants[j] <= w[len(w)-1] {
					guesses[j] = -1
				}
			}
		}
		if !k.even {
			k.fenceSearch(wants[:n], fs[:n])
		}
		for j := range n {
			if guesses[j] == -2 {
				continue
			}
			if k.even {
				bs[j] = wordBracket{lo: 0, hi: len(w) - 1, a: 0, va: w[0], vhi: w[len(w)-1]}
			} else {
				bs[j] = k.fenceBracket(fs[j])
			}
			if g, ok := bs[j].guess(wants[j]); ok {
				guesses[j] = g
			}
		}
		// The loads of the guessed words, independent of each other.
		for j := range n {
			if g := guesses[j]; g >= 0 {
				words[j] = w[g]
			}
		}
		for j := range n {
			var p int
			switch g := guesses[j]; {
			case g == -2:
				pos[from+j], found[from+j] = 0, false
				continue
			case g == -1:
				p = bs[j].search(w, wants[j])
			default:
				p = bs[j].searchFrom(w, g, words[j], wants[j])
			}
			pos[from+j], found[from+j] = int64(p), w[p] == wants[j]
		}
	}
}

// evenlySpread reports whether interpolation over the whole index finds
// words: whether the guess for each of a sample of them falls within
// interpWindow of it.
func evenlySpread(w []uint64) bool {
	const samples = 256
	if len(w) < 4*fenceStride {
		return false // the fence alone is a short search
	}
	last := len(w) - 1
	near := 0
	for s := range samples {
		i := s * last / (samples - 1)
		g := int(float64(w[i]-w[0]) / (float64(w[last]-w[0]) + 1) * float64(last+1))
		if g >= i-interpWindow && g <= i+interpWindow {
			near++
		}
	}
	return near >= samples*15/16
}

const (
	fenceStride  = 64 // words per fence entry (8 cache lines)
	interpWindow = 8  // words between a guess and its check (a cache line)
)

// EncodeArrays encodes the key of every row of arrs, the key columns'
// arrays in key order (the Arrow types of ArrowSchema, all of one length).
// The keys share one buffer. A NULL in a key column is an error naming
// the row (0-based) and the column.
func (e *KeyEncoder) EncodeArrays(arrs []arrow.Array) ([]Key, error) {
	if len(arrs) != len(e.cols) {
		return nil, fmt.Errorf("parquetio: key has %d columns, want %d", len(arrs), len(e.cols))
	}
	if len(arrs) == 0 {
		return nil, nil
	}
	n := arrs[0].Len()
	width := 0
	for i, a := range arrs {
		if a.Len() != n {
			return nil, fmt.Errorf("parquetio: key column %q has %d rows, want %d", e.cols[i].col.Name, a.Len(), n)
		}
		switch e.cols[i].class() {
		case clsBytes:
			width += valueBytes(a, 0, n)/max(n, 1) + 2
		default:
			width += 8
		}
	}
	buf := make([]byte, 0, n*width)
	ends := make([]int, n)
	for r := range n {
		for i, a := range arrs {
			v := scalarAt(&e.cols[i], a, r)
			if v.null {
				return nil, fmt.Errorf("parquetio: row %d: key column %q is NULL", r, e.cols[i].col.Name)
			}
			buf = appendKey(buf, &e.cols[i], v)
		}
		ends[r] = len(buf)
	}
	out := make([]Key, n)
	whole := unsafeString(buf) // buf is not written again
	start := 0
	for r, end := range ends {
		out[r] = Key(whole[start:end])
		start = end
	}
	return out, nil
}
