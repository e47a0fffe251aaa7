package memtable

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMaskLateBits: positions added out of sequence order (a merge
// remapping old locations) are masked exactly from their sequence number
// on, whatever the order of additions, removals and queries (which cache
// bitmaps at their sequence numbers).
func TestMaskLateBits(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for iter := range 200 {
		m := &pathMask{}
		type bit struct {
			seq uint64
			pos uint32
		}
		var model []bit
		for range 300 {
			switch r := rng.IntN(10); {
			case r < 6:
				b := bit{seq: uint64(rng.IntN(50)), pos: uint32(rng.IntN(1000))}
				m.add(b.pos, b.seq)
				model = append(model, b)
			case r < 7 && len(model) > 0:
				i := rng.IntN(len(model))
				m.remove(model[i].pos, model[i].seq)
				model = slices.Delete(model, i, i+1)
			default:
				seq := uint64(rng.IntN(55))
				var want []uint32
				for _, b := range model {
					if b.seq <= seq {
						want = append(want, b.pos)
					}
				}
				slices.Sort(want)
				want = slices.Compact(want)
				var got []uint32
				if bm := m.at(seq); bm != nil {
					got = bm.ToArray()
				}
				if !slices.Equal(got, want) {
					t.Fatalf("iteration %d: at %d got %v, want %v", iter, seq, got, want)
				}
			}
		}
	}
}
