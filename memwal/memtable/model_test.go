package memtable

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
)

// model is the MemTable as plain maps: every version and location ever
// written, per table and key; the state at a snapshot is computed from it.
type model struct {
	versions map[string]map[parquetio.Key][]modelVersion // oldest first
	locs     map[string]map[parquetio.Key][]LocationFrom
}

type modelVersion struct {
	seq uint64
	row []any // nil: delete marker
}

func (md *model) at(table string, key parquetio.Key, seq uint64) (modelVersion, bool) {
	vs := md.versions[table][key]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].seq <= seq {
			return vs[i], true
		}
	}
	return modelVersion{}, false
}

func (md *model) keys(table string) []parquetio.Key {
	var out []parquetio.Key
	for k := range md.versions[table] {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (md *model) mask(table, path string, seq uint64) []uint32 {
	var out []uint32
	for key, locs := range md.locs[table] {
		vs := md.versions[table][key]
		if len(vs) == 0 || vs[0].seq > seq {
			continue
		}
		for _, l := range locs {
			if l.Path == path && l.ValidFrom <= seq {
				out = append(out, uint32(l.Position))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestRandomAgainstModel applies random upserts and deletes to two tables,
// sets random locations, prunes, and compares random snapshots — right
// after they are taken and again at the end — with the model: Records in
// every column and in projections, Get, LiveRows, Mask and Iterate.
func TestRandomAgainstModel(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	ctx := context.Background()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)

	schemas := map[string]*base.Schema{"ta": schemaA(), "tb": schemaB()}
	encA, encB := mustEncoder(t, schemaA(), 1), mustEncoder(t, schemaB(), 10, 11)
	paths := []string{"data/x/f1.parquet", "data/x/f2.parquet", "data/x/f3.parquet"}
	for trial := range 4 {
		m := New(Options{BatchSize: 1 + r.IntN(20), Degree: 2 + r.IntN(8)})
		for id, s := range schemas {
			must(t, m.AddTable(id, s))
		}
		md := &model{versions: map[string]map[parquetio.Key][]modelVersion{"ta": {}, "tb": {}},
			locs: map[string]map[parquetio.Key][]LocationFrom{"ta": {}, "tb": {}}}
		// A key: its table, encoding and a distinct position per file.
		type tkey struct {
			table string
			key   parquetio.Key
			pos   int64
			gen   func() (in, want []any)
		}
		var keys []tkey
		for id := range int64(40) {
			keys = append(keys, tkey{"ta", mustKey(t, encA, id), id * 7, func() ([]any, []any) { return genA(r, id) }})
		}
		for i, k := range []string{"", "a", "b\x00", "zz"} {
			for n := range int32(8) {
				keys = append(keys, tkey{"tb", mustKey(t, encB, k, n), int64(1000 + i*8 + int(n)), func() ([]any, []any) { return genB(r, k, n) }})
			}
		}
		check := func(v *View, when string) {
			seq := v.Seq()
			for table, s := range schemas {
				src := v.Table(table)
				// Records, all columns and a random projection.
				var all [][]any
				for _, k := range md.keys(table) {
					if mv, ok := md.at(table, k, seq); ok && mv.row != nil {
						all = append(all, mv.row)
					}
				}
				ncols := len(s.Columns)
				projections := [][]int{nil}
				for range 2 {
					var p []int
					for _, i := range r.Perm(ncols)[:1+r.IntN(ncols)] {
						p = append(p, s.Columns[i].ID)
					}
					projections = append(projections, p)
				}
				for _, cols := range projections {
					idx := make([]int, 0, ncols)
					if cols == nil {
						for i := range ncols {
							idx = append(idx, i)
						}
					}
					for _, id := range cols {
						for i, c := range s.Columns {
							if c.ID == id {
								idx = append(idx, i)
							}
						}
					}
					var want []string
					for _, row := range all {
						want = append(want, fmtVals(project(row, idx)))
					}
					got := readAll(t, src, s, cols, alloc)
					if !slices.Equal(got, want) {
						t.Fatalf("seed %d trial %d %s: %s at seq %d: Records(%v):\n got %d %q\nwant %d %q",
							seed, trial, when, table, seq, cols, len(got), got, len(want), want)
					}
				}
				if got := src.LiveRows(); got != int64(len(all)) {
					t.Fatalf("seed %d trial %d %s: %s at seq %d: LiveRows %d, want %d", seed, trial, when, table, seq, got, len(all))
				}
				for _, p := range paths {
					var got []uint32
					if bm := src.Mask(p); bm != nil {
						got = bm.ToArray()
					}
					if want := md.mask(table, p, seq); !slices.Equal(got, want) {
						t.Fatalf("seed %d trial %d %s: %s at seq %d: Mask(%s) = %v, want %v", seed, trial, when, table, seq, p, got, want)
					}
				}
			}
			// Get of random keys, all columns.
			for range 10 {
				k := keys[r.IntN(len(keys))]
				rec, deleted, found, err := v.Table(k.table).Get(ctx, k.key, nil, alloc)
				if err != nil {
					t.Fatal(err)
				}
				mv, ok := md.at(k.table, k.key, seq)
				switch {
				case found != ok || deleted != (ok && mv.row == nil):
					t.Fatalf("seed %d trial %d %s: Get at seq %d: found %v deleted %v, model %v %v", seed, trial, when, seq, found, deleted, ok, mv.row == nil)
				case found && !deleted:
					if got, want := recordRows(rec)[0], fmtVals(mv.row); got != want {
						t.Fatalf("seed %d trial %d %s: Get at seq %d = %s, want %s", seed, trial, when, seq, got, want)
					}
					rec.Release()
				}
			}
			// Iterate: newest versions with delete markers and locations.
			for table := range schemas {
				var got, want []string
				for e := range m.Iterate(table, seq) {
					got = append(got, fmt.Sprintf("%x %d %s %v", e.Key, e.Seq, fmtVals(e.Row), sortLocs(e.Locations)))
				}
				for _, k := range md.keys(table) {
					if mv, ok := md.at(table, k, seq); ok {
						want = append(want, fmt.Sprintf("%x %d %s %v", k, mv.seq, fmtVals(mv.row), sortLocs(minLocs(md.locs[table][k]))))
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d trial %d %s: Iterate(%s, %d):\n got %q\nwant %q", seed, trial, when, table, seq, got, want)
				}
			}
		}

		var views []*View
		var seq uint64
		horizon := uint64(0)
		for range 150 + r.IntN(150) {
			seq += 1 + uint64(r.IntN(3))
			// One transaction: changes to one or both tables.
			byTable := map[string][]Change{}
			for range 1 + r.IntN(8) {
				k := keys[r.IntN(len(keys))]
				ch := Change{Key: k.key}
				var want []any
				if r.IntN(4) == 0 {
					ch.Deleted = true
				} else {
					ch.Row, want = k.gen()
				}
				byTable[k.table] = append(byTable[k.table], ch)
				vs := md.versions[k.table][k.key]
				if n := len(vs); n > 0 && vs[n-1].seq == seq {
					vs[n-1].row = want
				} else {
					md.versions[k.table][k.key] = append(vs, modelVersion{seq: seq, row: want})
				}
			}
			for _, table := range []string{"ta", "tb"} {
				if chs := byTable[table]; len(chs) > 0 {
					must(t, m.Apply(seq, table, chs...))
				}
			}
			// The callers' byte slices may be reused.
			for _, chs := range byTable {
				for _, ch := range chs {
					for _, v := range ch.Row {
						if b, ok := v.([]byte); ok && len(b) > 0 {
							b[0] = '!'
						}
					}
				}
			}
			// Locations, some valid from earlier or later seqs.
			for range r.IntN(4) {
				k := keys[r.IntN(len(keys))]
				p := r.IntN(len(paths))
				loc := Location{Path: paths[p], Position: k.pos + int64(p)*100000}
				from := max(0, int64(seq)+int64(r.IntN(10))-6)
				must(t, m.SetLocation(k.table, k.key, loc, uint64(from)))
				md.locs[k.table][k.key] = append(md.locs[k.table][k.key], LocationFrom{Location: loc, ValidFrom: uint64(from)})
			}
			if r.IntN(8) == 0 {
				s := horizon + uint64(r.Int64N(int64(seq-horizon)+1))
				v, err := m.Snapshot(s)
				if err != nil {
					t.Fatalf("seed %d: snapshot %d (horizon %d): %v", seed, s, horizon, err)
				}
				check(v, "when taken")
				views = append(views, v)
			}
			if r.IntN(10) == 0 && len(views) > 0 {
				i := r.IntN(len(views))
				views[i].Release()
				views = slices.Delete(views, i, i+1)
			}
			if r.IntN(20) == 0 {
				h := uint64(r.Int64N(int64(seq) + 1))
				for _, v := range views {
					h = min(h, v.Seq())
				}
				m.Prune(h)
				horizon = max(horizon, h)
			}
		}
		if r.IntN(2) == 0 {
			m.Freeze()
		}
		for _, v := range views {
			check(v, "at the end")
			v.Release()
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// minLocs keeps each location once, with its lowest validFrom.
func minLocs(locs []LocationFrom) []LocationFrom {
	best := map[Location]uint64{}
	for _, l := range locs {
		if v, ok := best[l.Location]; !ok || l.ValidFrom < v {
			best[l.Location] = l.ValidFrom
		}
	}
	var out []LocationFrom
	for l, v := range best {
		out = append(out, LocationFrom{Location: l, ValidFrom: v})
	}
	return out
}

func sortLocs(locs []LocationFrom) []LocationFrom {
	locs = slices.Clone(locs)
	sort.Slice(locs, func(i, j int) bool {
		if locs[i].Path != locs[j].Path {
			return locs[i].Path < locs[j].Path
		}
		return locs[i].Position < locs[j].Position
	})
	return locs
}
