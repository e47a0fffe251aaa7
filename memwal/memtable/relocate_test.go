package memtable

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lakesql/lakesql/internal/parquetio"
)

// relocationState is what Relocate and Remap change: every chain's
// locations (Iterate) and the masks of the files at a few snapshots.
func relocationState(t *testing.T, m *MemTable, paths []string, seqs []uint64) []string {
	t.Helper()
	var out []string
	for e := range m.Iterate("t", 1<<62) {
		out = append(out, fmt.Sprintf("%x %s", e.Key, fmtEntry(e)))
	}
	for _, seq := range seqs {
		v, err := m.Snapshot(seq)
		must(t, err)
		for _, p := range paths {
			var arr []uint32
			if b := v.Table("t").Mask(p); b != nil {
				arr = b.ToArray()
			}
			out = append(out, fmt.Sprintf("seq %d %s %v", seq, p, arr))
		}
		v.Release()
	}
	return out
}

// twinMemTables returns two MemTables with the same random history over
// more keys than a walk's batch: versions (some deleted) with locations in
// f1 and f2, and keys with a location before any version (never masking).
func twinMemTables(t *testing.T, r *rand.Rand, keys []parquetio.Key) (a, b *MemTable) {
	a, b = New(Options{}), New(Options{})
	for _, m := range []*MemTable{a, b} {
		must(t, m.AddTable("t", smallSchema()))
	}
	for seq := uint64(1); seq <= 20; seq++ {
		var cs []Change
		for i, k := range keys {
			if r.IntN(8) != 0 {
				continue
			}
			c := Change{Key: k, Row: []any{int64(i), nil, nil}, Deleted: r.IntN(5) == 0}
			if r.IntN(2) == 0 {
				c.Loc = &Location{Path: []string{"f1", "f2"}[r.IntN(2)], Position: int64(i)}
			}
			cs = append(cs, c)
		}
		for _, m := range []*MemTable{a, b} {
			must(t, m.ApplyNormalized(seq, "t", cs...))
		}
	}
	for i := 0; i < len(keys); i += 97 {
		for _, m := range []*MemTable{a, b} {
			must(t, m.SetLocation("t", keys[i]+"~", Location{Path: "f1", Position: int64(i)}, 3))
		}
	}
	return a, b
}

// TestRelocateAndRemap checks the walks against what they replace: a
// SetLocation per key that has a version (Relocate), and one per location
// that moved (Remap).
func TestRelocateAndRemap(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	enc := mustEncoder(t, smallSchema(), 1)
	keys := make([]parquetio.Key, 3*walkBatch+5)
	for i := range keys {
		keys[i] = mustKey(t, enc, int64(i))
	}
	a, b := twinMemTables(t, r, keys)
	defer a.Close()
	defer b.Close()
	paths, seqs := []string{"f1", "f2", "f3", "f4"}, []uint64{2, 7, 20}

	// Relocate a sorted subset to f3, with keys neither MemTable holds.
	var rk []parquetio.Key
	var rl []Location
	for i, k := range keys {
		if r.IntN(3) == 0 {
			rk = append(rk, k)
			rl = append(rl, Location{Path: "f3", Position: int64(i)})
			switch {
			case i%97 == 0: // a chain with no version: not relocated
				rk = append(rk, k+"~")
				rl = append(rl, Location{Path: "f3", Position: int64(len(keys) + i)})
			case r.IntN(10) == 0: // no chain
				rk = append(rk, k+"\x00")
				rl = append(rl, Location{Path: "f3", Position: int64(len(keys) + i)})
			}
		}
	}
	must(t, a.Relocate("t", rk, rl))
	v, _ := b.Snapshot(1 << 62)
	for i, k := range rk {
		if v.Table("t").Has(k) {
			must(t, b.SetLocation("t", k, rl[i], 0))
		}
	}
	v.Release()
	// Versions of every key, so that any location set shows in a mask.
	var all []Change
	for _, k := range keys {
		all = append(all, Change{Key: k + "~", Row: []any{int64(0), nil, nil}})
	}
	for _, m := range []*MemTable{a, b} {
		must(t, m.ApplyNormalized(21, "t", all...))
	}
	seqs = append(seqs, 21)
	if ga, gb := relocationState(t, a, paths, seqs), relocationState(t, b, paths, seqs); !slices.Equal(ga, gb) {
		t.Fatalf("Relocate differs from SetLocation per key:\n%q\n%q", ga, gb)
	}

	// Remap f1's odd positions to f4.
	to := func(l Location) (Location, bool) {
		if l.Path != "f1" || l.Position%2 == 0 {
			return Location{}, false
		}
		return Location{Path: "f4", Position: l.Position / 2}, true
	}
	must(t, a.Remap("t", to))
	var es []Entry
	for e := range b.Iterate("t", 1<<62) {
		es = append(es, e)
	}
	for _, e := range es {
		for _, l := range e.Locations {
			if nl, ok := to(l.Location); ok {
				must(t, b.SetLocation("t", e.Key, nl, l.ValidFrom))
			}
		}
	}
	if ga, gb := relocationState(t, a, paths, seqs), relocationState(t, b, paths, seqs); !slices.Equal(ga, gb) {
		t.Fatalf("Remap differs from SetLocation per moved location:\n%q\n%q", ga, gb)
	}
}

// TestIterateBatches checks that Iterate, reading iterBatch keys per read
// lock, yields every key with a version at or below its seq once, in key
// order, across the batches' edges.
func TestIterateBatches(t *testing.T) {
	m := New(Options{})
	defer m.Close()
	must(t, m.AddTable("t", smallSchema()))
	enc := mustEncoder(t, smallSchema(), 1)
	const n = 2*iterBatch + 7
	var cs []Change
	for i := range int64(n) {
		cs = append(cs, Change{Key: mustKey(t, enc, i), Row: []any{i, nil, nil}, Deleted: i%5 == 0})
	}
	must(t, m.ApplyNormalized(1, "t", cs...))
	must(t, m.ApplyNormalized(2, "t", Change{Key: mustKey(t, enc, int64(n)), Row: []any{int64(n), nil, nil}}))
	var prev parquetio.Key
	count := 0
	for e := range m.Iterate("t", 1) {
		if count > 0 && e.Key <= prev {
			t.Fatalf("entry %d: key %x after %x", count, e.Key, prev)
		}
		prev = e.Key
		count++
	}
	if count != n {
		t.Fatalf("Iterate yielded %d entries, want %d", count, n)
	}
}
