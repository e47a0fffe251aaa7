package memtable

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
)

func smallSchema() *base.Schema {
	return &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "id", Type: "BIGINT"},
		{ID: 2, Name: "a", Type: "INT", Nullable: true},
		{ID: 3, Name: "s", Type: "VARCHAR(8)", Nullable: true},
	}, NextColumnID: 4}
}

// TestVersionsAtSnapshots applies a short history and reads every key at
// every snapshot: older snapshots see older versions, delete markers hide,
// keys are absent before their first version.
func TestVersionsAtSnapshots(t *testing.T) {
	ctx := context.Background()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	m := New(Options{BatchSize: 2})
	if err := m.AddTable("t", smallSchema()); err != nil {
		t.Fatal(err)
	}
	enc := mustEncoder(t, smallSchema(), 1)
	k := func(id int64) Change { return Change{Key: mustKey(t, enc, id)} }
	up := func(id int64, a any, s any) Change { c := k(id); c.Row = []any{id, a, s}; return c }
	del := func(id int64) Change { c := k(id); c.Deleted = true; return c }
	history := []struct {
		seq     uint64
		changes []Change
	}{
		{2, []Change{up(1, 10, "x"), up(2, 20, nil)}},
		{3, []Change{up(1, 11, "y")}},
		{5, []Change{del(2), up(3, nil, "z")}},
		{5, []Change{up(3, 30, "z2")}}, // the transaction's last write wins
		{7, []Change{up(2, 21, "back"), del(4)}},
		{8, []Change{del(1)}},
	}
	for _, h := range history {
		if err := m.Apply(h.seq, "t", h.changes...); err != nil {
			t.Fatal(err)
		}
	}
	const absent, deleted = "absent", "deleted"
	tests := []struct {
		seq  uint64
		want map[int64]string // id -> row, absent or deleted
		live []string
	}{
		{1, map[int64]string{1: absent, 2: absent, 3: absent, 4: absent}, nil},
		{2, map[int64]string{1: "int64:1|int32:10|string:x|", 2: "int64:2|int32:20|NULL|", 3: absent},
			[]string{"int64:1|int32:10|string:x|", "int64:2|int32:20|NULL|"}},
		{4, map[int64]string{1: "int64:1|int32:11|string:y|", 2: "int64:2|int32:20|NULL|"},
			[]string{"int64:1|int32:11|string:y|", "int64:2|int32:20|NULL|"}},
		{5, map[int64]string{1: "int64:1|int32:11|string:y|", 2: deleted, 3: "int64:3|int32:30|string:z2|", 4: absent},
			[]string{"int64:1|int32:11|string:y|", "int64:3|int32:30|string:z2|"}},
		{7, map[int64]string{2: "int64:2|int32:21|string:back|", 4: deleted},
			[]string{"int64:1|int32:11|string:y|", "int64:2|int32:21|string:back|", "int64:3|int32:30|string:z2|"}},
		{100, map[int64]string{1: deleted, 2: "int64:2|int32:21|string:back|", 4: deleted, 5: absent},
			[]string{"int64:2|int32:21|string:back|", "int64:3|int32:30|string:z2|"}},
	}
	for _, tt := range tests {
		v, err := m.Snapshot(tt.seq)
		if err != nil {
			t.Fatal(err)
		}
		src := v.Table("t")
		for id, want := range tt.want {
			rec, del, found, err := src.Get(ctx, mustKey(t, enc, id), nil, alloc)
			if err != nil {
				t.Fatal(err)
			}
			got := absent
			switch {
			case found && del:
				got = deleted
			case found:
				got = recordRows(rec)[0]
				rec.Release()
			}
			if got != want {
				t.Errorf("seq %d: Get(%d) = %s, want %s", tt.seq, id, got, want)
			}
		}
		if got := readAll(t, src, smallSchema(), nil, alloc); !slices.Equal(got, tt.live) {
			t.Errorf("seq %d: Records = %v, want %v", tt.seq, got, tt.live)
		}
		if got := src.LiveRows(); got != int64(len(tt.live)) {
			t.Errorf("seq %d: LiveRows = %d, want %d", tt.seq, got, len(tt.live))
		}
		// A projection in another order.
		var want []string
		for _, row := range tt.live {
			f := splitVals(row)
			want = append(want, f[2]+f[0])
		}
		if got := readAll(t, src, smallSchema(), []int{3, 1}, alloc); !slices.Equal(got, want) {
			t.Errorf("seq %d: Records(s, id) = %v, want %v", tt.seq, got, want)
		}
		v.Release()
	}
	if got := m.Len(); got != 8 {
		t.Errorf("Len = %d, want 8 (the same-seq write replaced one)", got)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func splitVals(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for s[i] != '|' {
			i++
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// TestApplyErrors checks refusals; a refused Apply changes nothing.
func TestApplyErrors(t *testing.T) {
	m := New(Options{})
	if err := m.AddTable("t", smallSchema()); err != nil {
		t.Fatal(err)
	}
	enc := mustEncoder(t, smallSchema(), 1)
	key := mustKey(t, enc, int64(1))
	ok := Change{Key: key, Row: []any{int64(1), 1, "a"}}
	tests := []struct {
		name    string
		seq     uint64
		table   string
		changes []Change
		want    error
	}{
		{"zero seq", 0, "t", []Change{ok}, ErrSeqOrder},
		{"unknown table", 5, "nope", []Change{ok}, ErrUnknownTable},
		{"short row", 5, "t", []Change{{Key: key, Row: []any{int64(1)}}}, nil},
		{"NULL in NOT NULL", 5, "t", []Change{ok, {Key: key, Row: []any{nil, 1, "a"}}}, nil},
		{"out of range", 5, "t", []Change{{Key: key, Row: []any{int64(1), int64(1) << 40, "a"}}}, nil},
		{"wrong type", 5, "t", []Change{{Key: key, Row: []any{int64(1), "1", "a"}}}, nil},
	}
	for _, tt := range tests {
		err := m.Apply(tt.seq, tt.table, tt.changes...)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.want)
		}
	}
	if m.Len() != 0 || m.LastSeq() != 0 {
		t.Fatalf("refused applies left %d versions, last seq %d", m.Len(), m.LastSeq())
	}
	if err := m.Apply(5, "t", ok); err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(4, "t", ok); !errors.Is(err, ErrSeqOrder) {
		t.Fatalf("seq 4 after 5: %v", err)
	}
	m.Freeze()
	if err := m.Apply(6, "t", ok); !errors.Is(err, ErrFrozen) {
		t.Fatalf("apply after freeze: %v", err)
	}
	if err := m.SetLocation("t", key, Location{Path: "p", Position: 1}, 5); err != nil {
		t.Fatalf("SetLocation on a frozen MemTable: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Snapshot(5); !errors.Is(err, ErrClosed) {
		t.Fatalf("snapshot after close: %v", err)
	}
}

// TestValuesAreCopied: the caller's byte slices may be reused after Apply.
func TestValuesAreCopied(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	m := New(Options{})
	s := schemaA()
	if err := m.AddTable("a", s); err != nil {
		t.Fatal(err)
	}
	buf := []byte("abc")
	row := []any{int64(1), nil, nil, nil, nil, buf, nil}
	if err := m.Apply(1, "a", Change{Key: mustKey(t, mustEncoder(t, s, 1), int64(1)), Row: row}); err != nil {
		t.Fatal(err)
	}
	buf[0], row[0] = 'X', int64(99)
	v, _ := m.Snapshot(1)
	got := readAll(t, v.Table("a"), s, []int{1, 6}, alloc)
	v.Release()
	if want := []string{"int64:1|[]uint8:[97 98 99]|"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	m.Close()
}

// TestReferences: a released MemTable stays readable for its views, is
// freed with the last one, and Close reports views not released.
func TestReferences(t *testing.T) {
	freed := 0
	m := New(Options{OnFree: func() { freed++ }, TrackViews: true})
	if err := m.AddTable("t", smallSchema()); err != nil {
		t.Fatal(err)
	}
	enc := mustEncoder(t, smallSchema(), 1)
	if err := m.Apply(1, "t", Change{Key: mustKey(t, enc, int64(1)), Row: []any{int64(1), 1, "a"}}); err != nil {
		t.Fatal(err)
	}
	v1, _ := m.Snapshot(1)
	v2, _ := m.Snapshot(1)
	v2.Retain()
	m.Freeze()
	m.Release()
	if freed != 0 {
		t.Fatal("freed with open views")
	}
	if got := v1.Table("t").LiveRows(); got != 1 {
		t.Fatalf("LiveRows after owner release = %d", got)
	}
	v1.Release()
	v2.Release()
	if freed != 0 || m.OpenViews() != 1 {
		t.Fatalf("freed %d, open %d", freed, m.OpenViews())
	}
	v2.Release()
	if freed != 1 || m.OpenViews() != 0 {
		t.Fatalf("freed %d, open %d", freed, m.OpenViews())
	}

	m2 := New(Options{TrackViews: true})
	leaked, _ := m2.Snapshot(7)
	var le *LeakError
	if err := m2.Close(); !errors.As(err, &le) || !slices.Equal(le.Seqs, []uint64{7}) || len(le.Stacks) != 1 {
		t.Fatalf("Close with an open view: %v", err)
	}
	leaked.Release()
}

// TestPrune drops superseded versions no snapshot sees, keeps what open
// views see, and refuses snapshots below its horizon.
func TestPrune(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	m := New(Options{})
	if err := m.AddTable("t", smallSchema()); err != nil {
		t.Fatal(err)
	}
	enc := mustEncoder(t, smallSchema(), 1)
	key := mustKey(t, enc, int64(1))
	for seq := uint64(1); seq <= 10; seq++ {
		if err := m.Apply(seq, "t", Change{Key: key, Row: []any{int64(1), int(seq), nil}}); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := m.Snapshot(4)
	before := m.Bytes()
	if n := m.Prune(8); n != 3 { // seqs 1-3; 4 is what the open view sees
		t.Fatalf("Prune dropped %d, want 3", n)
	}
	if m.Bytes() >= before || m.Len() != 7 {
		t.Fatalf("bytes %d -> %d, len %d", before, m.Bytes(), m.Len())
	}
	if got := readAll(t, old.Table("t"), smallSchema(), []int{2}, alloc); !slices.Equal(got, []string{"int32:4|"}) {
		t.Fatalf("old view after prune: %v", got)
	}
	old.Release()
	if n := m.Prune(8); n != 4 { // seqs 4-7
		t.Fatalf("second Prune dropped %d, want 4", n)
	}
	if _, err := m.Snapshot(7); !errors.Is(err, ErrSnapshotTooOld) {
		t.Fatalf("snapshot below the horizon: %v", err)
	}
	for _, seq := range []uint64{8, 9, 10} {
		v, err := m.Snapshot(seq)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, v.Table("t"), smallSchema(), []int{2}, alloc); !slices.Equal(got, []string{fmt.Sprintf("int32:%d|", seq)}) {
			t.Fatalf("seq %d after prune: %v", seq, got)
		}
		v.Release()
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMasks: a location masks its file row from the later of validFrom
// and the key's first version, for views at or above it.
func TestMasks(t *testing.T) {
	m := New(Options{})
	if err := m.AddTable("t", smallSchema()); err != nil {
		t.Fatal(err)
	}
	enc := mustEncoder(t, smallSchema(), 1)
	key := func(id int64) Change { return Change{Key: mustKey(t, enc, id), Row: []any{id, nil, nil}} }
	loc := func(id int64, path string, pos int64, from uint64) {
		if err := m.SetLocation("t", mustKey(t, enc, id), Location{Path: path, Position: pos}, from); err != nil {
			t.Fatal(err)
		}
	}
	loc(1, "f1", 10, 0) // before the first version: masks from it on
	must(t, m.Apply(3, "t", key(1), key(2)))
	loc(2, "f1", 20, 3)
	loc(2, "f2", 5, 6) // a merge's remapped location, valid from 6
	must(t, m.Apply(5, "t", key(3)))
	loc(3, "f1", 30, 5)
	must(t, m.Apply(6, "t", Change{Key: mustKey(t, enc, 3), Deleted: true}))
	loc(4, "f1", 40, 1) // no version yet: never masks
	loc(1, "f1", 10, 2) // again with a lower validFrom: still from 3
	tests := []struct {
		seq  uint64
		path string
		want []uint32
	}{
		{2, "f1", nil},
		{3, "f1", []uint32{10, 20}},
		{4, "f1", []uint32{10, 20}},
		{5, "f1", []uint32{10, 20, 30}},
		{5, "f2", nil},
		{6, "f2", []uint32{5}},
		{9, "f1", []uint32{10, 20, 30}},
		{9, "f3", nil},
	}
	for _, tt := range tests {
		v, _ := m.Snapshot(tt.seq)
		for range 2 { // the second answer comes from the cache
			got := v.Table("t").Mask(tt.path)
			var arr []uint32
			if got != nil {
				arr = got.ToArray()
			}
			if !slices.Equal(arr, tt.want) {
				t.Errorf("seq %d: Mask(%s) = %v, want %v", tt.seq, tt.path, arr, tt.want)
			}
		}
		v.Release()
	}
	// Iterate carries every location.
	var got []string
	for e := range m.Iterate("t", 9) {
		got = append(got, fmtEntry(e))
	}
	want := []string{
		"seq 3 row [{{f1 10} 0}]",
		"seq 3 row [{{f1 20} 3} {{f2 5} 6}]",
		"seq 6 deleted [{{f1 30} 5}]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Iterate = %q, want %q", got, want)
	}
	must(t, m.Close())
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
