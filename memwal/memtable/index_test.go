package memtable

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
)

// Index test values: small domains, so that index keys repeat, with
// strings that are prefixes of each other and one with a 0x00 byte.
var ixStrings = []string{"", "a", "a\x00", "ab", "pear", "pearl", "ünï"}

// genIndexed is genA with a (column 2) in [-4, 4] and s (column 3) in
// ixStrings, each NULL one time in five.
func genIndexed(r *rand.Rand, id int64) (in, want []any) {
	in, want = genA(r, id)
	setIndexed(r, in, want, 1+r.IntN(2))
	return in, want
}

// setIndexed sets a random value, maybe NULL, of column i (1: a, 2: s) in
// both rows.
func setIndexed(r *rand.Rand, in, want []any, i int) {
	if r.IntN(5) == 0 {
		in[i], want[i] = nil, nil
		return
	}
	if i == 1 {
		v := int32(r.IntN(9) - 4)
		in[1], want[1] = int(v), v
		return
	}
	v := ixStrings[r.IntN(len(ixStrings))]
	in[2], want[2] = v, v
}

// inRange is IndexLookup's range test, written out: lo inclusive, hi
// inclusive and as a prefix, empty bounds unbounded.
func inRange(k, lo, hi parquetio.Key) bool {
	return (lo == "" || k >= lo) && (hi == "" || k <= hi || strings.HasPrefix(string(k), string(hi)))
}

// lookupAll drains IndexLookup, checking batch sizes, and returns its rows
// spelled by fmtVals.
func lookupAll(t *testing.T, tv *TableView, index string, lo, hi parquetio.Key, columns []int, alloc memory.Allocator, batch int) []string {
	t.Helper()
	it, err := tv.IndexLookup(context.Background(), index, lo, hi, columns, alloc)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	for it.Next() {
		rec := it.Record()
		if n := int(rec.NumRows()); n == 0 || (batch > 0 && n > batch) {
			t.Fatalf("record of %d rows, batch size %d", n, batch)
		}
		out = append(out, recordRows(rec)...)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// bruteLookup answers IndexLookup from the view's Records: every visible
// row whose index key (NULLs included) is in range, ordered by index key then
// primary key, projected to columns.
func bruteLookup(t *testing.T, tv *TableView, schema *base.Schema, ix base.Index, lo, hi parquetio.Key, columns []int, alloc memory.Allocator) []string {
	t.Helper()
	enc, err := IndexKeyEncoder(schema, ix)
	if err != nil {
		t.Fatal(err)
	}
	pk := mustEncoder(t, schema, schema.Columns[0].ID)
	pos := func(id int) int {
		return slices.IndexFunc(schema.Columns, func(c base.Column) bool { return c.ID == id })
	}
	it, err := tv.Records(context.Background(), nil, alloc)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	type hit struct {
		ikey, key parquetio.Key
		row       []any
	}
	var hits []hit
	for it.Next() {
		rec := it.Record()
		for i := range int(rec.NumRows()) {
			row := make([]any, rec.NumCols())
			for c := range row {
				row[c] = arrowValue(rec.Column(c), i)
			}
			vals := make([]any, len(ix.Columns))
			for j, id := range ix.Columns {
				vals[j] = row[pos(id)]
			}
			k := mustIndexKey(t, enc, vals...)
			if inRange(k, lo, hi) {
				hits = append(hits, hit{k, mustKey(t, pk, row[0]), row})
			}
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(a.ikey, b.ikey), cmp.Compare(a.key, b.key))
	})
	idx := make([]int, 0, len(schema.Columns))
	if columns == nil {
		for i := range schema.Columns {
			idx = append(idx, i)
		}
	}
	for _, id := range columns {
		idx = append(idx, pos(id))
	}
	var out []string
	for _, h := range hits {
		out = append(out, fmtVals(project(h.row, idx)))
	}
	return out
}

// TestIndexLookupRandom applies random upserts, updates of indexed values
// and deletes over a few hundred keys of a table with a one-column index
// (a INT), a two-column one on a string and an int (s, a) and one on
// (d DECIMAL, ts DATETIME), NULLs in all; it prunes and changes the index
// set now and then. At random snapshots, right after they are taken and
// again at the end, IndexLookup over random ranges, equalities and
// prefixes must return exactly the rows of a brute force over Records, in
// index then key order.
func TestIndexLookupRandom(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	schema := schemaA()
	pk := mustEncoder(t, schema, 1)
	ia := base.Index{Name: "ia", Columns: []int{2}}
	isa := base.Index{Name: "isa", Columns: []int{3, 2}, Unique: true}
	idt := base.Index{Name: "idt", Columns: []int{4, 5}}
	is := base.Index{Name: "is", Columns: []int{3}}

	for trial := range 3 {
		opts := Options{BatchSize: 1 + r.IntN(20), Degree: 2 + r.IntN(8)}
		m := New(opts)
		indexes := []base.Index{ia, isa, idt}
		must(t, m.AddTable("t", schema, indexes...))
		const nkeys = 300
		latest := map[int64][]any{}        // key -> newest row (normalized), nil: deleted or absent
		var lookups, found, equalities int // the lookups are not all empty

		// bound returns a random lookup bound for ix: empty (unbounded),
		// or the encoding of the first 1..n values of a random row, or of
		// random domain values.
		bound := func(ix base.Index, n int) parquetio.Key {
			enc := mustIndexEncoder(t, schema, ix.Columns[:n]...)
			vals := make([]any, n)
			if r.IntN(2) == 0 {
				// A random row's values (NULLs too).
				row := latest[int64(r.IntN(nkeys))]
				if row == nil {
					return ""
				}
				for j, id := range ix.Columns[:n] {
					vals[j] = row[id-1]
				}
				return mustIndexKey(t, enc, vals...)
			}
			in, want := genA(r, 0)
			setIndexed(r, in, want, 1)
			setIndexed(r, in, want, 2)
			for j, id := range ix.Columns[:n] {
				vals[j] = want[id-1]
			}
			return mustIndexKey(t, enc, vals...)
		}
		check := func(v *View, when string) {
			tv := v.Table("t")
			for _, ix := range m.Indexes("t") {
				for range 6 {
					var lo, hi parquetio.Key
					switch r.IntN(4) {
					case 0: // equality on the first n columns
						lo = bound(ix, 1+r.IntN(len(ix.Columns)))
						hi = lo
						if lo != "" {
							equalities++
						}
					case 1: // a range
						lo, hi = bound(ix, len(ix.Columns)), bound(ix, len(ix.Columns))
					case 2: // a range of prefixes
						lo, hi = bound(ix, 1), bound(ix, 1)
					default: // unbounded, or one side
						if r.IntN(2) == 0 {
							lo = bound(ix, 1)
						} else {
							hi = bound(ix, 1)
						}
					}
					var cols []int
					if r.IntN(3) == 0 {
						for _, i := range r.Perm(len(schema.Columns))[:1+r.IntN(len(schema.Columns))] {
							cols = append(cols, schema.Columns[i].ID)
						}
					}
					got := lookupAll(t, tv, ix.Name, lo, hi, cols, alloc, opts.BatchSize)
					want := bruteLookup(t, tv, schema, ix, lo, hi, cols, alloc)
					lookups++
					if len(want) > 0 && len(want) < 50 {
						found++
					}
					if !slices.Equal(got, want) {
						t.Fatalf("seed %d trial %d %s: seq %d: %s [%x, %x] columns %v:\n got %d %q\nwant %d %q",
							seed, trial, when, v.Seq(), ix.Name, lo, hi, cols, len(got), got, len(want), want)
					}
				}
			}
		}

		var views []*View
		var seq, horizon uint64
		for range 300 + r.IntN(200) {
			seq += 1 + uint64(r.IntN(2))
			var chs []Change
			for range 1 + r.IntN(6) {
				id := int64(r.IntN(nkeys))
				ch := Change{Key: mustKey(t, pk, id)}
				switch row := latest[id]; {
				case r.IntN(4) == 0:
					ch.Deleted = true
					latest[id] = nil
				case row != nil && r.IntN(2) == 0:
					// Update only an indexed value (or both).
					want := slices.Clone(row)
					in := slices.Clone(row)
					for _, i := range r.Perm(2)[:1+r.IntN(2)] {
						setIndexed(r, in, want, 1+i)
					}
					ch.Row, latest[id] = in, want
				default:
					in, want := genIndexed(r, id)
					ch.Row, latest[id] = in, want
				}
				chs = append(chs, ch)
			}
			must(t, m.Apply(seq, "t", chs...))
			if r.IntN(6) == 0 {
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
			if r.IntN(25) == 0 {
				h := uint64(r.Int64N(int64(seq) + 1))
				for _, v := range views {
					h = min(h, v.Seq())
				}
				m.Prune(h)
				horizon = max(horizon, h)
			}
			if r.IntN(40) == 0 {
				// CREATE/DROP INDEX: a random subset, maybe renamed.
				all := []base.Index{ia, isa, idt, is}
				indexes = nil
				for _, i := range r.Perm(len(all))[:r.IntN(len(all)+1)] {
					ix := all[i]
					if r.IntN(3) == 0 {
						ix.Name += "_renamed"
					}
					indexes = append(indexes, ix)
				}
				must(t, m.SetIndexes("t", indexes...))
			}
		}
		if r.IntN(2) == 0 {
			m.Freeze()
		}
		v, err := m.Snapshot(seq)
		must(t, err)
		views = append(views, v)
		for _, v := range views {
			check(v, "at the end")
			v.Release()
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("trial %d: %d lookups (%d equalities), %d found a few rows", trial, lookups, equalities, found)
		if found < lookups/10 {
			t.Fatalf("seed %d trial %d: only %d of %d lookups found a few rows", seed, trial, found, lookups)
		}
	}
}

// ixFixture is a MemTable with table "t" (smallSchema: id BIGINT key, a
// INT, s VARCHAR(8)) and indexes "ia" (a) and "isa" (s, a).
type ixFixture struct {
	m        *MemTable
	pk       *parquetio.KeyEncoder
	a, s, sa *parquetio.IndexKeyEncoder
}

func newIxFixture(t *testing.T, opts Options) *ixFixture {
	t.Helper()
	s := smallSchema()
	f := &ixFixture{m: New(opts), pk: mustEncoder(t, s, 1), a: mustIndexEncoder(t, s, 2),
		s: mustIndexEncoder(t, s, 3), sa: mustIndexEncoder(t, s, 3, 2)}
	must(t, f.m.AddTable("t", s,
		base.Index{Name: "ia", Columns: []int{2}},
		base.Index{Name: "isa", Columns: []int{3, 2}}))
	return f
}

func (f *ixFixture) row(t *testing.T, id int64, a, s any) Change {
	return Change{Key: mustKey(t, f.pk, id), Row: []any{id, a, s}}
}

// ids returns the ids (column 1) of IndexLookup's rows, in order.
func ids(t *testing.T, v *View, index string, lo, hi parquetio.Key) []string {
	t.Helper()
	rows := lookupAll(t, v.Table("t"), index, lo, hi, []int{1}, nil, 0)
	for i, r := range rows {
		rows[i] = strings.TrimSuffix(strings.TrimPrefix(r, "int64:"), "|")
	}
	return rows
}

// TestIndexLookupVersions checks the lookups of a short history at every
// snapshot: a stale entry (an older value of an updated key) never leaks,
// a key in range under two entries comes once, a delete hides, older
// snapshots see older values, NULLs sort first and are found, and equality on the
// first column of (s, a) matches "pear" but not "pearl".
func TestIndexLookupVersions(t *testing.T) {
	f := newIxFixture(t, Options{BatchSize: 2, Degree: 2})
	m := f.m
	must(t, m.Apply(1, "t", f.row(t, 1, 5, "pear"), f.row(t, 2, 5, "pearl"), f.row(t, 3, 7, nil), f.row(t, 4, nil, "pear")))
	must(t, m.Apply(2, "t", f.row(t, 1, 6, "pear")))                          // 1: a 5 -> 6
	must(t, m.Apply(3, "t", Change{Key: mustKey(t, f.pk, 2), Deleted: true})) // 2 deleted
	must(t, m.Apply(4, "t", f.row(t, 2, 5, "x"), f.row(t, 3, 5, "pear")))     // 2 back; 3: s NULL -> pear
	must(t, m.Apply(5, "t", f.row(t, 1, 5, "pear"), f.row(t, 1, 8, "pear")))  // 1: 5 then 8 in one transaction

	a := func(v int32) parquetio.Key { return mustIndexKey(t, f.a, v) }
	s := func(v string) parquetio.Key { return mustIndexKey(t, f.s, v) }
	sa := func(v string, n int32) parquetio.Key { return mustIndexKey(t, f.sa, v, n) }
	tests := []struct {
		seq    uint64
		index  string
		lo, hi parquetio.Key
		want   []string
	}{
		{1, "ia", a(5), a(5), []string{"1", "2"}},
		{1, "ia", a(6), a(6), nil},
		{1, "ia", "", "", []string{"4", "1", "2", "3"}}, // 4's NULL a sorts first
		{2, "ia", a(5), a(5), []string{"2"}},            // 1's (5, 1) is stale
		{2, "ia", a(6), a(6), []string{"1"}},
		{2, "ia", a(5), a(6), []string{"2", "1"}}, // index order, each once
		{3, "ia", a(5), a(6), []string{"1"}},      // 2 deleted
		{3, "ia", "", "", []string{"4", "1", "3"}},
		{4, "ia", a(5), a(5), []string{"2", "3"}},
		{4, "ia", "", a(6), []string{"4", "2", "3", "1"}},
		{4, "ia", a(6), "", []string{"1"}},
		{5, "ia", a(5), a(8), []string{"2", "3", "1"}}, // (5,1) and (6,1) stale
		{5, "ia", a(6), a(7), nil},
		{5, "ia", a(7), a(6), nil},                           // lo above hi
		{1, "isa", s("pear"), s("pear"), []string{"4", "1"}}, // (pear, NULL) first; 2 is "pearl"
		{1, "isa", s("pear"), s("pearl"), []string{"4", "1", "2"}},
		{1, "isa", sa("pear", 5), sa("pear", 5), []string{"1"}},
		{2, "isa", sa("pear", 5), sa("pear", 5), nil},
		{4, "isa", s("pear"), s("pear"), []string{"4", "3", "1"}}, // (pear,NULL,4), (pear,5,3), (pear,6,1)
		{4, "isa", "", "", []string{"4", "3", "1", "2"}},
		{5, "isa", s("pear"), "", []string{"4", "3", "1", "2"}},
		{5, "isa", "", s("pear"), []string{"4", "3", "1"}},
		{5, "isa", s("a"), s("p"), nil}, // "pear" is not a prefix of "p"'s encoding
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d/%s/%x-%x", tc.seq, tc.index, tc.lo, tc.hi), func(t *testing.T) {
			v, err := m.Snapshot(tc.seq)
			must(t, err)
			defer v.Release()
			if got := ids(t, v, tc.index, tc.lo, tc.hi); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSetIndexes creates indexes on a populated MemTable, from the versions
// it holds (older snapshots included), renames one keeping its entries, and
// drops them: the memory follows, and a dropped index is unknown.
func TestSetIndexes(t *testing.T) {
	s := smallSchema()
	pk, ea, es := mustEncoder(t, s, 1), mustIndexEncoder(t, s, 2), mustIndexEncoder(t, s, 3)
	m := New(Options{BatchSize: 3})
	must(t, m.AddTable("t", s))
	for seq := uint64(1); seq <= 10; seq++ {
		var chs []Change
		for id := range int64(20) {
			if id%10 == int64(seq) {
				chs = append(chs, Change{Key: mustKey(t, pk, id), Deleted: true})
				continue
			}
			chs = append(chs, Change{Key: mustKey(t, pk, id), Row: []any{id, int32(id%3) + int32(seq), fmt.Sprint("s", id%4)}})
		}
		must(t, m.Apply(seq, "t", chs...))
	}
	old, err := m.Snapshot(4)
	must(t, err)
	defer old.Release()
	if _, err := old.Table("t").IndexLookup(context.Background(), "ia", "", "", nil, nil); !errors.Is(err, ErrUnknownIndex) {
		t.Fatalf("lookup before SetIndexes: %v, want ErrUnknownIndex", err)
	}
	before := m.Bytes()
	ia := base.Index{Name: "ia", Columns: []int{2}}
	is := base.Index{Name: "is", Columns: []int{3}}
	must(t, m.SetIndexes("t", ia, is))
	// Every row version adds an entry unless it repeats one: a = id%3+seq.
	var entries int64
	seen := map[string]bool{}
	for seq := 1; seq <= 10; seq++ {
		for id := range 20 {
			if id%10 == seq {
				continue
			}
			for _, k := range []string{
				"a" + string(mustIndexKey(t, ea, int32(id%3+seq))) + string(mustKey(t, pk, int64(id))),
				"s" + string(mustIndexKey(t, es, fmt.Sprint("s", id%4))) + string(mustKey(t, pk, int64(id))),
			} {
				if !seen[k] {
					seen[k] = true
					entries += indexEntryBytes + int64(len(k)-1-8)
				}
			}
		}
	}
	if got := m.Bytes() - before; got != entries {
		t.Fatalf("SetIndexes added %d bytes, want %d", got, entries)
	}
	newest, err := m.Snapshot(10)
	must(t, err)
	defer newest.Release()
	for _, v := range []*View{old, newest} {
		for _, ix := range []base.Index{ia, is} {
			got := lookupAll(t, v.Table("t"), ix.Name, "", "", nil, nil, 3)
			want := bruteLookup(t, v.Table("t"), s, ix, "", "", nil, nil)
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Fatalf("seq %d %s:\n got %q\nwant %q", v.Seq(), ix.Name, got, want)
			}
		}
	}
	// Rename is: same columns, same entries, same memory.
	renamed := base.Index{Name: "ia2", Columns: []int{2}}
	mid := m.Bytes()
	must(t, m.SetIndexes("t", renamed, is))
	if m.Bytes() != mid {
		t.Fatalf("rename changed Bytes %d -> %d", mid, m.Bytes())
	}
	if got, want := m.Indexes("t"), []base.Index{renamed, is}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Indexes = %v, want %v", got, want)
	}
	if _, err := newest.Table("t").IndexLookup(context.Background(), "ia", "", "", nil, nil); !errors.Is(err, ErrUnknownIndex) {
		t.Fatalf("lookup of the old name: %v, want ErrUnknownIndex", err)
	}
	got := lookupAll(t, newest.Table("t"), "ia2", "", "", nil, nil, 3)
	if want := bruteLookup(t, newest.Table("t"), s, renamed, "", "", nil, nil); len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("renamed index:\n got %q\nwant %q", got, want)
	}
	must(t, m.SetIndexes("t"))
	if m.Bytes() != before {
		t.Fatalf("Bytes after dropping every index %d, want %d", m.Bytes(), before)
	}
	if err := m.SetIndexes("nope", ia); !errors.Is(err, ErrUnknownTable) {
		t.Fatalf("SetIndexes of an unknown table: %v", err)
	}
}

// TestIndexBytes checks that index entries count in Bytes: each new (index
// key, key) pair adds indexEntryBytes plus the index key's length (a NULL
// is one marker byte), a repeated pair adds nothing, and a delete marker
// adds no entry.
func TestIndexBytes(t *testing.T) {
	s := smallSchema()
	pk, ea := mustEncoder(t, s, 1), mustIndexEncoder(t, s, 2)
	plain, indexed := New(Options{}), New(Options{})
	must(t, plain.AddTable("t", s))
	must(t, indexed.AddTable("t", s, base.Index{Name: "ia", Columns: []int{2}}, base.Index{Name: "isa", Columns: []int{3, 2}}))
	entryA := indexEntryBytes + int64(len(mustIndexKey(t, ea, int32(0))))                        // (a, id)
	entrySA := indexEntryBytes + int64(len("\x01xy\x00\x01")+len(mustIndexKey(t, ea, int32(0)))) // (s, a, id)
	entryNullA := int64(indexEntryBytes + 1)                                                     // (NULL, id)
	tests := []struct {
		name string
		ch   Change
		want int64 // extra bytes of the indexed MemTable
	}{
		{"row", Change{Key: mustKey(t, pk, 1), Row: []any{1, 5, "xy"}}, entryA + entrySA},
		{"same values again", Change{Key: mustKey(t, pk, 1), Row: []any{1, 5, "xy"}}, 0},
		{"new a", Change{Key: mustKey(t, pk, 1), Row: []any{1, 6, "xy"}}, entryA + entrySA},
		{"NULL a", Change{Key: mustKey(t, pk, 2), Row: []any{2, nil, "xy"}}, entryNullA + indexEntryBytes + int64(len("\x01xy\x00\x01")) + 1},
		{"NULL s", Change{Key: mustKey(t, pk, 3), Row: []any{3, 7, nil}}, entryA + indexEntryBytes + 1 + int64(len(mustIndexKey(t, ea, int32(0))))},
		{"delete", Change{Key: mustKey(t, pk, 1), Deleted: true}, 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p0, i0 := plain.Bytes(), indexed.Bytes()
			must(t, plain.Apply(uint64(i+1), "t", tc.ch))
			must(t, indexed.Apply(uint64(i+1), "t", tc.ch))
			if got := (indexed.Bytes() - i0) - (plain.Bytes() - p0); got != tc.want {
				t.Fatalf("index entries added %d bytes, want %d", got, tc.want)
			}
		})
	}
}

// TestIndexLookupFrozen reads a frozen MemTable, released by its owner,
// through a view: lookups still answer, Apply fails.
func TestIndexLookupFrozen(t *testing.T) {
	f := newIxFixture(t, Options{})
	must(t, f.m.Apply(1, "t", f.row(t, 1, 5, "a"), f.row(t, 2, 6, "b")))
	must(t, f.m.Apply(2, "t", f.row(t, 1, 6, "a")))
	v, err := f.m.Snapshot(2)
	must(t, err)
	f.m.Freeze()
	f.m.Release()
	if err := f.m.Apply(3, "t", f.row(t, 3, 6, "c")); !errors.Is(err, ErrFrozen) && !errors.Is(err, ErrClosed) {
		t.Fatalf("Apply after Freeze: %v", err)
	}
	k := mustIndexKey(t, f.a, int32(6))
	if got := ids(t, v, "ia", k, k); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("frozen lookup a=6: %q", got)
	}
	v.Release()
}

// TestIndexErrors covers the errors of AddTable, SetIndexes and
// IndexLookup, and a table the MemTable does not hold (an empty source).
func TestIndexErrors(t *testing.T) {
	s := smallSchema()
	tests := []struct {
		name    string
		indexes []base.Index
		want    string
	}{
		{"no name", []base.Index{{Columns: []int{2}}}, "without a name"},
		{"twice", []base.Index{{Name: "i", Columns: []int{2}}, {Name: "i", Columns: []int{3}}}, "defined twice"},
		{"no columns", []base.Index{{Name: "i"}}, "has no columns"},
		{"unknown column", []base.Index{{Name: "i", Columns: []int{2, 9}}}, "no column with id 9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Options{})
			err := m.AddTable("t", s, tc.indexes...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("AddTable: %v, want %q", err, tc.want)
			}
			must(t, m.AddTable("t", s, base.Index{Name: "ok", Columns: []int{2}}))
			err = m.SetIndexes("t", tc.indexes...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("SetIndexes: %v, want %q", err, tc.want)
			}
			if got := m.Indexes("t"); len(got) != 1 || got[0].Name != "ok" {
				t.Fatalf("indexes after a failed SetIndexes: %v", got)
			}
		})
	}
	f := newIxFixture(t, Options{})
	v, err := f.m.Snapshot(0)
	must(t, err)
	defer v.Release()
	if _, err := v.Table("t").IndexLookup(context.Background(), "nope", "", "", nil, nil); !errors.Is(err, ErrUnknownIndex) {
		t.Fatalf("unknown index: %v", err)
	}
	if _, err := v.Table("t").IndexLookup(context.Background(), "ia", "", "", []int{42}, nil); err == nil {
		t.Fatal("unknown column: no error")
	}
	if got := lookupAll(t, v.Table("other"), "ia", "", "", nil, nil, 0); got != nil {
		t.Fatalf("table not held: %q", got)
	}
	if f.m.OpenViews() != 1 {
		t.Fatalf("failed lookups left %d views open, want 1", f.m.OpenViews())
	}
}

// TestIndexLookupConcurrent runs a writer that keeps moving keys between
// index values (and deleting and reinserting them) while the test looks up
// at the published seq and now and then drops or creates index "isa", so
// that writes encode their index keys while the set changes: every lookup
// equals the brute force over Records of its snapshot, and over the whole
// index each live key comes exactly once. Run it under -race.
func TestIndexLookupConcurrent(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	f := newIxFixture(t, Options{BatchSize: 16, Degree: 4})
	m := f.m
	const nkeys = 100
	keys := make([]parquetio.Key, nkeys)
	var init []Change
	for id := range int64(nkeys) {
		keys[id] = mustKey(t, f.pk, id)
		init = append(init, f.row(t, id, int32(id%5), "x"))
	}
	must(t, m.Apply(1, "t", init...))
	var published atomic.Uint64
	published.Store(1)
	done := make(chan error, 1)
	go func() {
		r := rand.New(rand.NewPCG(seed, 9))
		for seq := uint64(2); seq <= 4000; seq++ {
			var chs []Change
			for range 1 + r.IntN(4) {
				id := int64(r.IntN(nkeys))
				if r.IntN(5) == 0 {
					chs = append(chs, Change{Key: keys[id], Deleted: true})
				} else {
					chs = append(chs, Change{Key: keys[id], Row: []any{id, int32(r.IntN(5)), "x"}})
				}
			}
			if err := m.Apply(seq, "t", chs...); err != nil {
				done <- err
				return
			}
			published.Store(seq)
		}
		done <- nil
	}()
	r := rand.New(rand.NewPCG(seed, 10))
	// Read until the writer is done, and at least 50 times.
	var writerErr error
	finished := false
	for n := 0; !finished || n < 50; n++ {
		if !finished {
			select {
			case writerErr = <-done:
				finished = true
			default:
			}
		}
		seq := published.Load()
		v, err := m.Snapshot(seq)
		must(t, err)
		if n%10 == 9 {
			set := []base.Index{{Name: "ia", Columns: []int{2}}}
			if len(m.Indexes("t")) == 1 {
				set = append(set, base.Index{Name: "isa", Columns: []int{3, 2}})
			}
			must(t, m.SetIndexes("t", set...))
		}
		tv := v.Table("t")
		ixs := m.Indexes("t")
		ix := ixs[r.IntN(len(ixs))]
		var lo, hi parquetio.Key
		if r.IntN(2) == 0 {
			vals := []any{int32(r.IntN(5))} // ia: (a)
			if len(ix.Columns) == 2 {
				vals = []any{"x", vals[0]} // isa: (s, a)
			}
			lo = mustIndexKey(t, mustIndexEncoder(t, smallSchema(), ix.Columns...), vals...)
			hi = lo
		}
		got := lookupAll(t, tv, ix.Name, lo, hi, nil, nil, 16)
		want := bruteLookup(t, tv, smallSchema(), ix, lo, hi, nil, nil)
		if lo == "" && int64(len(got)) != tv.LiveRows() {
			t.Fatalf("seed %d seq %d: %d rows over the whole index, %d live", seed, seq, len(got), tv.LiveRows())
		}
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d seq %d [%x, %x]:\n got %q\nwant %q", seed, seq, lo, hi, got, want)
		}
		v.Release()
	}
	must(t, writerErr)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestApplyDuringSetIndexes changes the index set while an Apply has
// encoded its index keys outside the lock (a test hook runs SetIndexes
// there): the Apply must add its entries to the indexes of the set it
// commits under, with their memory. ia keeps its tree across the changes,
// at another position in the set.
func TestApplyDuringSetIndexes(t *testing.T) {
	ia := base.Index{Name: "ia", Columns: []int{2}}
	isa := base.Index{Name: "isa", Columns: []int{3, 2}}
	tests := []struct {
		name     string
		from, to []base.Index
	}{
		{"add an index before", []base.Index{ia}, []base.Index{isa, ia}},
		{"drop an index before", []base.Index{isa, ia}, []base.Index{ia}},
		{"first index", nil, []base.Index{ia}},
		{"no index left", []base.Index{ia}, nil},
	}
	s := smallSchema()
	pk := mustEncoder(t, s, 1)
	// Version 1 and 2 of ten keys; 2 changes a.
	changes := func(v int32) []Change {
		var chs []Change
		for id := range int64(10) {
			chs = append(chs, Change{Key: mustKey(t, pk, id), Row: []any{id, int32(id%3) + v, ixStrings[id%int64(len(ixStrings))]}})
		}
		return chs
	}
	v1, v2 := changes(0), changes(10)
	// entries is the memory of the index entries of chs.
	entries := func(ix base.Index, chs []Change) int64 {
		enc := mustIndexEncoder(t, s, ix.Columns...)
		var n int64
		for _, ch := range chs {
			vals := make([]any, len(ix.Columns))
			for j, id := range ix.Columns {
				vals[j] = ch.Row[id-1]
			}
			n += indexEntryBytes + int64(len(mustIndexKey(t, enc, vals...)))
		}
		return n
	}
	has := func(set []base.Index, ix base.Index) bool {
		return slices.ContainsFunc(set, func(o base.Index) bool { return slices.Equal(o.Columns, ix.Columns) })
	}
	plain := New(Options{})
	must(t, plain.AddTable("t", s))
	must(t, plain.Apply(1, "t", v1...))
	p1 := plain.Bytes()
	must(t, plain.Apply(2, "t", v2...))
	rowBytes2 := plain.Bytes() - p1
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Options{BatchSize: 3})
			must(t, m.AddTable("t", s, tc.from...))
			must(t, m.Apply(1, "t", v1...))
			m.testHookEncoded = func() {
				m.testHookEncoded = nil
				must(t, m.SetIndexes("t", tc.to...))
			}
			b1 := m.Bytes()
			must(t, m.Apply(2, "t", v2...))
			if m.testHookEncoded != nil {
				t.Fatal("the hook did not run")
			}
			// Version 2's entries in the new set; SetIndexes built the new
			// indexes from version 1 and dropped the old ones.
			want := rowBytes2
			for _, ix := range tc.to {
				want += entries(ix, v2)
				if !has(tc.from, ix) {
					want += entries(ix, v1)
				}
			}
			for _, ix := range tc.from {
				if !has(tc.to, ix) {
					want -= entries(ix, v1)
				}
			}
			if got := m.Bytes() - b1; got != want {
				t.Fatalf("Bytes grew by %d, want %d", got, want)
			}
			for _, seq := range []uint64{1, 2} {
				v, err := m.Snapshot(seq)
				must(t, err)
				for _, ix := range tc.to {
					got := lookupAll(t, v.Table("t"), ix.Name, "", "", nil, nil, 3)
					want := bruteLookup(t, v.Table("t"), s, ix, "", "", nil, nil)
					if len(want) != 10 || !slices.Equal(got, want) {
						t.Fatalf("seq %d %s:\n got %q\nwant %q", seq, ix.Name, got, want)
					}
				}
				v.Release()
			}
		})
	}
}
