package parquetio

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"
)

// subtractBitmap returns the rows of runs (rows of a row group whose first
// file position is first; sorted, disjoint) less the members of bm, as
// runs. It walks bm's members inside runs, once.
func subtractBitmap(runs []rng, first int64, bm *roaring.Bitmap) []rng {
	if len(runs) == 0 {
		return runs
	}
	it := bm.Iterator()
	it.AdvanceIfNeeded(uint32(first + runs[0].lo))
	if !it.HasNext() || int64(it.PeekNext()) >= first+runs[len(runs)-1].hi {
		return runs // no member inside
	}
	out := make([]rng, 0, len(runs)+int(min(bm.GetCardinality(), 1<<16)))
	for _, r := range runs {
		lo := r.lo
		it.AdvanceIfNeeded(uint32(first + lo))
		for it.HasNext() {
			x := int64(it.PeekNext()) - first
			if x >= r.hi {
				break
			}
			if x > lo {
				out = append(out, rng{lo, x})
			}
			lo = x + 1
			it.Next()
		}
		if lo < r.hi {
			out = append(out, rng{lo, r.hi})
		}
	}
	return out
}

// clearBitmap sets sel[i] to false for the members of bm among the rows of
// ranges (sel has one entry per row of ranges).
func clearBitmap(sel []bool, ranges []rng, first int64, bm *roaring.Bitmap) {
	if len(ranges) == 0 {
		return
	}
	it := bm.Iterator()
	base := 0 // index in sel of the range's first row
	for _, r := range ranges {
		it.AdvanceIfNeeded(uint32(first + r.lo))
		for it.HasNext() {
			v := int64(it.PeekNext())
			if v >= first+r.hi {
				break
			}
			sel[base+int(v-first-r.lo)] = false
			it.Next()
		}
		base += int(r.hi - r.lo)
	}
}

// countTrue counts the true entries of sel, eight at a time (a Go bool is
// one byte, 0 or 1).
func countTrue(sel []bool) int {
	n := 0
	i := 0
	if len(sel) >= 8 {
		words := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(sel))), len(sel)/8)
		for _, w := range words {
			n += bits.OnesCount64(w)
		}
		i = len(words) * 8
	}
	for _, s := range sel[i:] {
		if s {
			n++
		}
	}
	return n
}

// runsOf returns the rows of ranges where sel is true as runs, or nil when
// they would be more than limit runs.
func runsOf(sel []bool, ranges []rng, limit int) []rng {
	var out []rng
	i := 0
	for _, r := range ranges {
		sub := sel[i : i+int(r.hi-r.lo)]
		i += len(sub)
		for j := 0; j < len(sub); {
			for j < len(sub) && !sub[j] {
				j++
			}
			if j == len(sub) {
				break
			}
			k := j + 1
			for k < len(sub) && sub[k] {
				k++
			}
			if len(out) == limit {
				return nil
			}
			out = append(out, rng{r.lo + int64(j), r.lo + int64(k)})
			j = k
		}
	}
	return out
}

// boolPool holds selection buffers of row groups.
var boolPool sync.Pool

// getBools returns a []bool of n entries (contents undefined).
func getBools(n int) []bool {
	if v, ok := boolPool.Get().(*[]bool); ok && cap(*v) >= n {
		return (*v)[:n]
	}
	return make([]bool, n)
}

func putBools(b []bool) { boolPool.Put(&b) }
