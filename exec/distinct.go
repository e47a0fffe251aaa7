package exec

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
)

// distinctAcc is COUNT(DISTINCT col): the set of (group, value) pairs seen
// so far decides whether a row adds one to its group's count. The set
// takes one of three forms:
//
//   - For the kinds toBits handles, a pairTable of (group, key bits).
//   - For dictionary-encoded strings in a grouped aggregate, a pairTable of
//     (group, intern id of the value): each dictionary entry is interned
//     once per record, and rows cost one pair lookup. (A plain record of
//     such a column interns every row.)
//   - Otherwise (decimals, plain strings, and dictionary strings in a
//     global aggregate; the form follows the column's declared type, and
//     a dictionary record of a plain column takes the bytes of each row's
//     entry), a bytesTable whose keys are the value's bytes
//     (little-endian words for decimals), preceded by the group id in 4
//     little-endian bytes in a grouped aggregate: one lookup per row,
//     rather than interning the value and then looking up the pair. A
//     global aggregate's count is the size of that table.
type distinctAcc struct {
	col     int
	kind    kind
	grouped bool
	counts  []int64
	pairs   pairTable
	// values interns the dictionary strings of the second form; set holds
	// the keys of the third. Both are nil otherwise.
	values *bytesTable
	set    *bytesTable
	// Scratch buffers: the pair values of a record, and the keys and groups
	// of its non-NULL rows for set.
	vals   []uint64
	ids    []uint32
	enc    []byte
	offs   []int
	groups []uint32
	dict   dictMap
}

// newDistinctAcc returns the COUNT(DISTINCT) accumulator of a column of
// type t, in an aggregate with GROUP BY keys when grouped.
func newDistinctAcc(col int, t colType, grouped bool) *distinctAcc {
	d := &distinctAcc{col: col, kind: t.kind, grouped: grouped}
	switch {
	case t.kind.fitsUint64():
		d.pairs = newPairTable()
	case t.dict && grouped:
		d.pairs = newPairTable()
		d.values = newBytesTable()
	default:
		d.set = newBytesTable()
	}
	return d
}

func (d *distinctAcc) grow(n int) { d.counts = grown(d.counts, n) }

func (d *distinctAcc) update(rec arrow.Record, gids []uint32) {
	a := rec.Column(d.col)
	switch {
	case d.set == nil:
		d.updatePairs(a, gids)
	case !d.grouped && d.kind.isBytes():
		d.updateStrings(a)
	default:
		keys := d.encode(a, gids)
		d.insert(&keys)
	}
}

// noValue marks a NULL row among the pair values of interned strings,
// which are below 2^32.
const noValue = ^uint64(0)

// updatePairs adds the (group, value) pairs of the rows of a to pairs.
func (d *distinctAcc) updatePairs(a arrow.Array, gids []uint32) {
	n := a.Len()
	d.vals = grown(d.vals[:0], n)
	vals := d.vals
	var bm []byte
	var off int
	if d.values == nil {
		toBits(d.kind, a, vals)
		bm, off = validity(a)
	} else {
		d.ids = grown(d.ids[:0], n)
		c := d.dict.column(a)
		if c.idx != nil {
			d.dict.ids(&c, d.ids, d.values.intern, func() uint32 { return nullIntern })
		} else {
			// A plain record of a dictionary column: intern every row.
			keys := keyList[int32]{offs: c.offs, data: c.data}
			keys.bm, keys.bmOff = validity(a)
			internKeys(d.values, &keys, d.ids, func() uint32 { return nullIntern })
		}
		for i, id := range d.ids {
			vals[i] = uint64(id)
			if id == nullIntern {
				vals[i] = noValue
			}
		}
	}
	slots, shift := d.pairs.slots, d.pairs.shift
	for i, v := range vals {
		if (bm != nil && !bitutil.BitIsSet(bm, off+i)) || (d.values != nil && v == noValue) {
			continue
		}
		var g uint32
		if gids != nil {
			g = gids[i]
		}
		// Look for the pair inline, as the compiler does not inline
		// insert; only new pairs pay for a second probe.
		mask := uint64(len(slots) - 1)
		for p := hashPair(g, v) >> shift; ; p = (p + 1) & mask {
			s := slots[p]
			if s.g == 0 {
				d.pairs.insert(g, v)
				d.counts[g]++
				slots, shift = d.pairs.slots, d.pairs.shift
				break
			}
			if s.v == v && s.g == g+1 {
				break
			}
		}
	}
}

// noID is the id internKeys and dictMap give NULL values, which the global
// string set does not look at.
func noID() uint32 { return ^uint32(0) }

// updateStrings adds the strings of a to the set of a global aggregate,
// straight from the array's buffers, or from its dictionary: each entry a
// record uses is looked up once.
func (d *distinctAcc) updateStrings(a arrow.Array) {
	d.ids = grown(d.ids[:0], a.Len())
	c := d.dict.column(a)
	if c.idx != nil {
		d.dict.ids(&c, d.ids, d.set.intern, noID)
	} else {
		keys := keyList[int32]{offs: c.offs, data: c.data}
		keys.bm, keys.bmOff = validity(a)
		internKeys(d.set, &keys, d.ids, noID)
	}
	d.counts[0] = int64(d.set.len())
}

// encode returns the set's keys of the non-NULL rows of a, and records
// their groups in d.groups when grouped.
func (d *distinctAcc) encode(a arrow.Array, gids []uint32) keyList[int] {
	enc, offs, groups := d.enc[:0], append(d.offs[:0], 0), d.groups[:0]
	le := binary.LittleEndian
	var (
		d128 []decimal128.Num
		d256 []decimal256.Num
		c    byteColumn
	)
	null := a.IsNull
	switch d.kind {
	case kindDecimal128:
		d128 = values[decimal128.Num](a)
	case kindDecimal256:
		d256 = values[decimal256.Num](a)
	default:
		c = d.dict.column(a)
		null = c.null
	}
	for i := range a.Len() {
		if null(i) {
			continue
		}
		if d.grouped {
			enc = le.AppendUint32(enc, gids[i])
			groups = append(groups, gids[i])
		}
		switch {
		case d128 != nil:
			enc = le.AppendUint64(le.AppendUint64(enc, d128[i].LowBits()), uint64(d128[i].HighBits()))
		case d256 != nil:
			for _, x := range d256[i].Array() {
				enc = le.AppendUint64(enc, x)
			}
		default:
			enc = append(enc, c.at(i)...)
		}
		offs = append(offs, len(enc))
	}
	d.enc, d.offs, d.groups = enc, offs, groups
	return keyList[int]{offs: offs, data: enc}
}

// insert adds keys, none of them NULL, to the set and counts the new ones:
// in d.groups' groups when grouped, else as the size of the set.
func (d *distinctAcc) insert(keys *keyList[int]) {
	n := len(keys.offs) - 1
	d.ids = grown(d.ids[:0], n)
	next := uint32(d.set.len())
	internKeys(d.set, keys, d.ids[:n], nil)
	if !d.grouped {
		d.counts[0] = int64(d.set.len())
		return
	}
	// internKeys hands out new ids in order, so a key is new where its id
	// is the next one.
	for j, id := range d.ids[:n] {
		if id == next {
			d.counts[d.groups[j]]++
			next++
		}
	}
}

func (d *distinctAcc) merge(other accumulator, m []uint32) {
	o := other.(*distinctAcc)
	switch {
	case d.set == nil:
		var key []byte
		for _, s := range o.pairs.slots {
			if s.g == 0 {
				continue
			}
			v := s.v
			if d.values != nil {
				key = o.values.appendKey(key[:0], uint32(v))
				v = uint64(d.values.intern(key))
			}
			if g := m[s.g-1]; d.pairs.insert(g, v) {
				d.counts[g]++
			}
		}
	case !d.grouped:
		d.ids = grown(d.ids[:0], o.set.len())
		d.set.internFrom(o.set, d.ids, 0, o.set.len())
		d.counts[0] = int64(d.set.len())
	default:
		// Copy other's keys a chunk at a time, with their groups
		// renumbered.
		for lo := 0; lo < o.set.len(); lo += mergeChunk {
			keys := o.set.keys(lo, min(lo+mergeChunk, o.set.len()), d.enc, d.offs)
			d.enc, d.offs = keys.data, keys.offs
			d.groups = d.groups[:0]
			for j := range len(keys.offs) - 1 {
				k := keys.at(j)
				g := m[binary.LittleEndian.Uint32(k)]
				binary.LittleEndian.PutUint32(k, g)
				d.groups = append(d.groups, g)
			}
			d.insert(&keys)
		}
	}
}

// mergeChunk is the number of keys of another set that merge copies at a
// time.
const mergeChunk = 1 << 14

func (d *distinctAcc) result(g int) any { return d.counts[g] }
