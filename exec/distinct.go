package exec

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
)

// distinctAcc is COUNT(DISTINCT col). Every row's value becomes a uint64
// (the key bits of toBits, or an intern id for decimals and byte strings)
// and the set of (group, value) pairs seen so far decides whether a row adds
// one to its group's count.
type distinctAcc struct {
	col    int
	kind   kind
	set    pairTable
	counts []int64
	// intern maps decimal and byte-string values to ids; nil for the kinds
	// toBits handles.
	intern *bytesTable
	keys   []uint64
	ids    []uint32
	dict   dictMap
}

// noValue marks a NULL row among intern ids, which are below 2^32.
const noValue = ^uint64(0)

// newDistinctAcc returns the COUNT(DISTINCT) accumulator of a column of
// type t.
func newDistinctAcc(col int, t colType) *distinctAcc {
	d := &distinctAcc{col: col, kind: t.kind, set: newPairTable()}
	if !t.kind.fitsUint64() {
		d.intern = newBytesTable()
	}
	return d
}

func (d *distinctAcc) grow(n int) { d.counts = grown(d.counts, n) }

func (d *distinctAcc) update(rec arrow.Record, gids []uint32) {
	a := rec.Column(d.col)
	n := a.Len()
	d.keys = grown(d.keys[:0], n)
	keys := d.keys
	var bm []byte
	var off int
	if d.intern == nil {
		toBits(d.kind, a, keys)
		bm, off = validity(a)
	} else {
		d.internValues(a, keys)
	}
	slots, shift := d.set.slots, d.set.shift
	for i, v := range keys {
		if (bm != nil && !bitutil.BitIsSet(bm, off+i)) || (d.intern != nil && v == noValue) {
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
				d.set.insert(g, v)
				d.counts[g]++
				slots, shift = d.set.slots, d.set.shift
				break
			}
			if s.v == v && s.g == g+1 {
				break
			}
		}
	}
}

// internValues writes the intern id of every row of a into keys, noValue
// for NULL rows.
func (d *distinctAcc) internValues(a arrow.Array, keys []uint64) {
	var buf [32]byte
	switch d.kind {
	case kindDecimal128:
		for i, v := range values[decimal128.Num](a) {
			if a.IsNull(i) {
				keys[i] = noValue
				continue
			}
			binary.LittleEndian.PutUint64(buf[:], v.LowBits())
			binary.LittleEndian.PutUint64(buf[8:], uint64(v.HighBits()))
			keys[i] = uint64(d.intern.intern(buf[:16]))
		}
	case kindDecimal256:
		for i, v := range values[decimal256.Num](a) {
			if a.IsNull(i) {
				keys[i] = noValue
				continue
			}
			for j, x := range v.Array() {
				binary.LittleEndian.PutUint64(buf[8*j:], x)
			}
			keys[i] = uint64(d.intern.intern(buf[:]))
		}
	default:
		c := d.dict.column(a)
		if c.idx != nil {
			d.ids = grown(d.ids[:0], len(keys))
			d.dict.ids(&c, d.ids, d.intern.intern, func() uint32 { return nullIntern })
			for i, id := range d.ids {
				keys[i] = uint64(id)
				if id == nullIntern {
					keys[i] = noValue
				}
			}
			return
		}
		for i := range keys {
			if c.null(i) {
				keys[i] = noValue
			} else {
				keys[i] = uint64(d.intern.intern(c.at(i)))
			}
		}
	}
}

func (d *distinctAcc) merge(other accumulator, m []uint32) {
	o := other.(*distinctAcc)
	for _, s := range o.set.slots {
		if s.g == 0 {
			continue
		}
		v := s.v
		if d.intern != nil {
			v = uint64(d.intern.intern(o.intern.key(uint32(v))))
		}
		if g := m[s.g-1]; d.set.insert(g, v) {
			d.counts[g]++
		}
	}
}

func (d *distinctAcc) result(g int) any { return d.counts[g] }
