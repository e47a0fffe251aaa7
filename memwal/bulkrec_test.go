package memwal

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/memwal/memtable"
	"github.com/lakesql/lakesql/scan"
	"github.com/lakesql/lakesql/store/mem"
	"github.com/lakesql/lakesql/txn"
)

// The tables of the BulkRecords tests: kt (k INT PRIMARY KEY, v
// VARCHAR(16)) and kl, keyless (a hidden row id, a INT, s VARCHAR(16)).
var (
	ktSchema = base.Schema{Columns: []base.Column{
		{ID: 1, Name: "k", Type: "INT"},
		{ID: 2, Name: "v", Type: "VARCHAR(16)", Nullable: true},
	}, NextColumnID: 3}
	klSchema = base.Schema{Columns: []base.Column{
		{ID: 1, Name: base.RowIDColumn, Type: "BIGINT", Hidden: true},
		{ID: 2, Name: "a", Type: "INT", Nullable: true},
		{ID: 3, Name: "s", Type: "VARCHAR(16)", Nullable: true},
	}, NextColumnID: 4}
)

// bulkRecDB creates a database with tables kt and kl (schema id 1) and
// opens a branch writer on it.
func bulkRecDB(t *testing.T) (*txn.DB, *Branch) {
	t.Helper()
	ctx := context.Background()
	db, err := txn.Create(ctx, mem.New(), "db", txn.Options{HeadRefresh: -1, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := db.Head(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(ctx, h, &txn.Commit{Operation: "CREATE TABLE", CreatesVersion: true, Tables: []txn.Table{
		{ID: "kt", Name: "kt", Schema: ktSchema, SchemaID: 1, Key: []int{1}},
		{ID: "kl", Name: "kl", Schema: klSchema, SchemaID: 1, Key: []int{1}},
	}}); err != nil {
		t.Fatal(err)
	}
	b := openBulkRec(t, db)
	return db, b
}

func openBulkRec(t *testing.T, db *txn.DB) *Branch {
	t.Helper()
	b, err := Open(context.Background(), db, "main", Options{Logger: quiet(), NoBackgroundMerge: true})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// records builds a record of schema per batch of rows (stored Go values;
// nil is NULL), allocated from alloc.
func records(t *testing.T, alloc memory.Allocator, schema *base.Schema, batches ...[][]any) []arrow.Record {
	t.Helper()
	var out []arrow.Record
	for _, rows := range batches {
		rec, err := memtable.BuildRecord(alloc, schema, rows)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}

// bulkRecords writes the batches into table id as a version and releases
// them; the records must be left alone by BulkRecords (the checked
// allocator of the caller sees it).
func bulkRecords(t *testing.T, b *Branch, alloc memory.Allocator, id string, schema *base.Schema, o BulkRecordsOptions, batches ...[][]any) (*txn.Snapshot, error) {
	t.Helper()
	recs := records(t, alloc, schema, batches...)
	defer release(recs)
	return b.BulkRecords(context.Background(), id, recs, o)
}

var v1 = BulkRecordsOptions{BulkOptions: BulkOptions{Operation: "LOAD DATA", Version: true}, SchemaID: 1}

// ktRow is a row of kt as a scan reads it.
type ktRow struct {
	k int32
	v string // "<nil>" for NULL
}

// scanKT reads kt at a fresh snapshot in scan order.
func scanKT(t *testing.T, b *Branch) []ktRow {
	t.Helper()
	ctx := context.Background()
	s, err := b.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	it, err := s.Scan(ctx, "kt", scan.Request{Columns: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []ktRow
	for it.Next() {
		rec := it.Record()
		ks := rec.Column(0).(*array.Int32)
		vs := rec.Column(1).(*array.String)
		for i := range int(rec.NumRows()) {
			r := ktRow{k: ks.Value(i), v: "<nil>"}
			if vs.IsValid(i) {
				r.v = vs.Value(i)
			}
			out = append(out, r)
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkKT checks that kt holds exactly want, by scan, by key lookups and
// by count.
func checkKT(t *testing.T, b *Branch, want map[int32]string, what string) {
	t.Helper()
	ctx := context.Background()
	got := map[int32]string{}
	for _, r := range scanKT(t, b) {
		if _, dup := got[r.k]; dup {
			t.Fatalf("%s: key %d scanned twice", what, r.k)
		}
		got[r.k] = r.v
	}
	if !maps.Equal(got, want) {
		t.Fatalf("%s: scan\n%v\nwant\n%v", what, got, want)
	}
	s, err := b.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.Count(ctx, "kt")
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(want)) {
		t.Fatalf("%s: count %d, want %d", what, n, len(want))
	}
	tx, err := b.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for k, v := range want {
		key, err := tx.Key("kt", k)
		if err != nil {
			t.Fatal(err)
		}
		row, found, err := s.Lookup(ctx, "kt", key)
		if err != nil {
			t.Fatal(err)
		}
		if !found || fmt.Sprint(row[1]) != v {
			t.Fatalf("%s: lookup of key %d: %v (found %v), want %q", what, k, row, found, v)
		}
	}
}

// ktFiles returns kt's live files at the branch head.
func ktFiles(b *Branch) []*txn.Add {
	var out []*txn.Add
	b.Head().State.Table("kt").Files(func(a *txn.Add) bool {
		out = append(out, a)
		return true
	})
	return out
}

// TestBulkRecordsKeyless: a keyless table's rows get fresh row ids in the
// order they come, whatever the records' hidden column holds; equal rows
// stay distinct; later loads, transactions and a reopened writer get ids
// of their own.
func TestBulkRecordsKeyless(t *testing.T) {
	ctx := context.Background()
	alloc := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer alloc.AssertSize(t, 0)
	db, b := bulkRecDB(t)
	defer func() { b.Close(ctx) }()

	seq := int32(0)
	row := func(id any, s string) []any {
		seq++
		return []any{id, seq - 1, s}
	}
	// Two records and an empty one; the second gives row ids that must
	// be ignored (all the same).
	first := [][][]any{
		{row(nil, "x"), row(nil, "x"), row(nil, "y")},
		{},
		{row(int64(7), "z"), row(int64(7), "z"), row(int64(7), "z"), row(int64(7), "z")},
	}
	v0 := b.Head().Version()
	head, err := bulkRecords(t, b, alloc, "kl", &klSchema, v1, first...)
	if err != nil {
		t.Fatal(err)
	}
	if head.Version() != v0+1 {
		t.Errorf("version %d after a load at %d, want a new version", head.Version(), v0)
	}
	second := [][][]any{{row(nil, "dup"), row(nil, "dup"), row(nil, "dup"), row(nil, "w"), row(nil, "w")}}
	if _, err := bulkRecords(t, b, alloc, "kl", &klSchema, v1, second...); err != nil {
		t.Fatal(err)
	}

	type klRow struct {
		id int64
		a  int32
		s  string
	}
	read := func() []klRow {
		t.Helper()
		s, err := b.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		it, err := s.Scan(ctx, "kl", scan.Request{Columns: []int{1, 2, 3}})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		var out []klRow
		for it.Next() {
			rec := it.Record()
			for i := range int(rec.NumRows()) {
				if rec.Column(0).IsNull(i) {
					t.Fatalf("row %d has no row id", i)
				}
				out = append(out, klRow{rec.Column(0).(*array.Int64).Value(i), rec.Column(1).(*array.Int32).Value(i), rec.Column(2).(*array.String).Value(i)})
			}
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		n, err := s.Count(ctx, "kl")
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(out)) {
			t.Fatalf("count %d, scan %d rows", n, len(out))
		}
		slices.SortFunc(out, func(x, y klRow) int { return int(x.a - y.a) })
		return out
	}
	rows := read()
	if len(rows) != int(seq) {
		t.Fatalf("%d rows, want %d: %v", len(rows), seq, rows)
	}
	for i, r := range rows {
		if r.a != int32(i) {
			t.Fatalf("row %d missing: %v", i, rows)
		}
		want := []string{"x", "x", "y", "z", "z", "z", "z", "dup", "dup", "dup", "w", "w"}[i]
		if r.s != want {
			t.Errorf("row %d: s %q, want %q", i, r.s, want)
		}
		// Ids increase in load order, across both loads.
		if i > 0 && r.id <= rows[i-1].id {
			t.Errorf("row %d has id %d, row %d id %d: not increasing", i, r.id, i-1, rows[i-1].id)
		}
		if r.id == 7 {
			t.Errorf("row %d kept the record's row id 7", i)
		}
	}

	// A transaction's insert and a load after a restart get ids of their
	// own.
	tx, err := b.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Put("kl", []any{nil, int32(100), "tx"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	b = openBulkRec(t, db)
	if _, err := bulkRecords(t, b, alloc, "kl", &klSchema, v1, [][]any{{nil, int32(101), "r"}, {nil, int32(102), "r"}}); err != nil {
		t.Fatal(err)
	}
	rows = read()
	if len(rows) != int(seq)+3 {
		t.Fatalf("%d rows after an insert and a load of 2, want %d", len(rows), seq+3)
	}
	ids := map[int64]int32{}
	for _, r := range rows {
		if a, dup := ids[r.id]; dup {
			t.Fatalf("rows a=%d and a=%d share row id %d", a, r.a, r.id)
		}
		ids[r.id] = r.a
	}
	if last := rows[len(rows)-1]; last.a != 102 || last.id <= rows[len(rows)-2].id {
		t.Errorf("the load after a restart: %v", rows[len(rows)-3:])
	}
}

// TestBulkRecordsKeyed: rows come back sorted by key and the last row of
// a key wins, over several unsorted records; a second load replaces the
// rows of keys the files hold (deletion vectors) and adds the others; a
// key only the MemTable holds is replaced too.
func TestBulkRecordsKeyed(t *testing.T) {
	ctx := context.Background()
	alloc := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer alloc.AssertSize(t, 0)
	_, b := bulkRecDB(t)
	defer b.Close(ctx)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))

	// 300 rows over keys 0..199 in random order, in records of random
	// sizes; some keys come several times, the last one wins.
	model := map[int32]string{}
	var batches [][][]any
	var cur [][]any
	for i := range 300 {
		k := int32(r.IntN(200)) - 50 // negative keys too
		v := fmt.Sprintf("a%d", i)
		if i%17 == 0 {
			cur = append(cur, []any{k, nil})
			model[k] = "<nil>"
		} else {
			cur = append(cur, []any{k, v})
			model[k] = v
		}
		if r.IntN(40) == 0 {
			batches = append(batches, cur)
			cur = nil
		}
	}
	batches = append(batches, cur)
	// A key twice within one record and across two: the later wins.
	batches = append(batches, [][]any{{int32(1000), "first"}, {int32(-1000), "x"}, {int32(1000), "second"}}, [][]any{{int32(1000), "third"}})
	model[1000], model[-1000] = "third", "x"
	if _, err := bulkRecords(t, b, alloc, "kt", &ktSchema, v1, batches...); err != nil {
		t.Fatal(err)
	}
	rows := scanKT(t, b)
	if !slices.IsSortedFunc(rows, func(x, y ktRow) int { return int(x.k) - int(y.k) }) {
		t.Errorf("the rows of one load are not sorted by key: %v ...", rows[:min(len(rows), 20)])
	}
	checkKT(t, b, model, "after the first load")
	files := ktFiles(b)
	if len(files) != 1 || files[0].Rows != int64(len(model)) || files[0].DV != nil {
		t.Fatalf("after the first load: %d files, want one of %d rows: %+v", len(files), len(model), files)
	}

	// A row written by a transaction, still in the MemTable.
	tx, err := b.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Put("kt", []any{int32(5000), "mem"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	model[5000] = "mem"

	// The second load: keys the file holds (some twice), new ones, and
	// the MemTable's.
	existing := slices.Sorted(maps.Keys(model))
	var upKeys []int32
	twice := map[int32]bool{}
	replaced := 0
	for i, k := range existing {
		if i%3 != 0 || k == 5000 {
			continue
		}
		upKeys = append(upKeys, k)
		if i%2 == 0 {
			upKeys = append(upKeys, k) // twice: "old" first, then its new value
			twice[k] = true
		}
		model[k] = fmt.Sprintf("u%d", k)
		replaced++
	}
	for k := int32(2000); k < 2010; k++ {
		upKeys = append(upKeys, k)
		model[k] = fmt.Sprintf("u%d", k)
	}
	upKeys = append(upKeys, 5000) // in a file too once the load flushed the MemTable
	model[5000] = "u5000"
	replaced++
	r.Shuffle(len(upKeys), func(i, j int) { upKeys[i], upKeys[j] = upKeys[j], upKeys[i] })
	var up [][]any
	for _, k := range upKeys {
		v := fmt.Sprintf("u%d", k)
		if twice[k] {
			v, twice[k] = "old", false
		}
		up = append(up, []any{k, v})
	}
	if _, err := bulkRecords(t, b, alloc, "kt", &ktSchema, v1, up[:len(up)/2], up[len(up)/2:]); err != nil {
		t.Fatal(err)
	}
	checkKT(t, b, model, "after the upserting load")
	var dvs int64
	for _, f := range ktFiles(b) {
		if f.DV != nil {
			dvs += f.DV.Cardinality
		}
	}
	if dvs != int64(replaced) {
		t.Errorf("deletion vectors hold %d rows, want the %d replaced file rows", dvs, replaced)
	}
}

// TestBulkRecordsRefuse: with Refuse a key twice in the records, or a key
// the table holds (in a file or only in the MemTable), fails the write
// with the rows named, and nothing is committed.
func TestBulkRecordsRefuse(t *testing.T) {
	ctx := context.Background()
	alloc := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer alloc.AssertSize(t, 0)
	_, b := bulkRecDB(t)
	defer b.Close(ctx)
	refuse := v1
	refuse.Refuse = true
	model := map[int32]string{}
	var rows [][]any
	for k := int32(0); k < 20; k++ {
		rows = append(rows, []any{k * 10, fmt.Sprint(k)})
		model[k*10] = fmt.Sprint(k)
	}
	if _, err := bulkRecords(t, b, alloc, "kt", &ktSchema, refuse, rows[10:], rows[:10]); err != nil {
		t.Fatalf("a load of distinct new keys with Refuse: %v", err)
	}
	checkKT(t, b, model, "after the first load")

	for _, tc := range []struct {
		name           string
		batches        [][][]any
		row, firstRow  int
		memKey, memVal any // a row put by a transaction first
	}{
		{"twice in one record", [][][]any{{{int32(1), "a"}, {int32(2), "b"}, {int32(3), "c"}, {int32(2), "d"}}}, 3, 1, nil, nil},
		{"twice across records", [][][]any{{{int32(7), "a"}, {int32(5), "b"}}, {{int32(6), "c"}}, {{int32(8), "d"}, {int32(5), "e"}}}, 4, 1, nil, nil},
		{"twice, the later row has the smaller key", [][][]any{{{int32(900), "a"}, {int32(-4), "b"}, {int32(901), "c"}, {int32(-4), "d"}}}, 3, 1, nil, nil},
		{"in a file", [][][]any{{{int32(1), "a"}}, {{int32(2), "b"}, {int32(30), "c"}, {int32(3), "d"}}}, 2, -1, nil, nil},
		{"in the MemTable", [][][]any{{{int32(11), "a"}, {int32(12), "b"}}}, 1, -1, int32(12), "m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.memKey != nil {
				tx, err := b.Begin()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tx.Put("kt", []any{tc.memKey, tc.memVal}); err != nil {
					t.Fatal(err)
				}
				if _, err := tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				model[tc.memKey.(int32)] = tc.memVal.(string)
			}
			before := b.Head()
			nfiles := len(ktFiles(b))
			_, err := bulkRecords(t, b, alloc, "kt", &ktSchema, refuse, tc.batches...)
			var dup *BulkDuplicateError
			if !errors.As(err, &dup) {
				t.Fatalf("error %v, want a *BulkDuplicateError", err)
			}
			if dup.Row != tc.row || dup.FirstRow != tc.firstRow {
				t.Errorf("Row %d FirstRow %d, want %d and %d (%v)", dup.Row, dup.FirstRow, tc.row, tc.firstRow, err)
			}
			after := b.Head()
			if after.Version() != before.Version() {
				t.Errorf("version %d after a refused load, was %d", after.Version(), before.Version())
			}
			if tc.memKey == nil && after.Entry() != before.Entry() {
				t.Errorf("log entry %d after a refused load, was %d", after.Entry(), before.Entry())
			}
			if tc.memKey == nil && len(ktFiles(b)) != nfiles {
				t.Errorf("%d files after a refused load, was %d", len(ktFiles(b)), nfiles)
			}
			checkKT(t, b, model, "after a refused load")
		})
	}
}

// TestBulkRecordsRejects: records for another schema id, of another Arrow
// schema, or with a NULL key write nothing.
func TestBulkRecordsRejects(t *testing.T) {
	ctx := context.Background()
	alloc := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer alloc.AssertSize(t, 0)
	_, b := bulkRecDB(t)
	defer b.Close(ctx)
	if _, err := bulkRecords(t, b, alloc, "kt", &ktSchema, v1, [][]any{{int32(1), "one"}}); err != nil {
		t.Fatal(err)
	}
	want := map[int32]string{1: "one"}
	check := func(what string, err error, before *txn.Snapshot) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
		}
		if h := b.Head(); h.Entry() != before.Entry() || h.Version() != before.Version() {
			t.Errorf("%s: head moved from entry %d to %d", what, before.Entry(), h.Entry())
		}
		checkKT(t, b, want, what)
	}

	wrongID := v1
	wrongID.SchemaID = 2
	h := b.Head()
	_, err := bulkRecords(t, b, alloc, "kt", &ktSchema, wrongID, [][]any{{int32(2), "two"}})
	check("schema id 2 for a table at 1", err, h)

	// The same columns with the key as BIGINT: not the table's schema.
	wide := base.Schema{Columns: []base.Column{
		{ID: 1, Name: "k", Type: "BIGINT"},
		{ID: 2, Name: "v", Type: "VARCHAR(16)", Nullable: true},
	}, NextColumnID: 3}
	h = b.Head()
	_, err = bulkRecords(t, b, alloc, "kt", &wide, v1, [][]any{{int64(3), "three"}})
	check("a BIGINT key for an INT column", err, h)

	// The right types but a column missing.
	short := base.Schema{Columns: ktSchema.Columns[:1], NextColumnID: 3}
	h = b.Head()
	_, err = bulkRecords(t, b, alloc, "kt", &short, v1, [][]any{{int32(4)}})
	check("a record without column v", err, h)

	// One record of the right schema and one of another.
	h = b.Head()
	recs := append(records(t, alloc, &ktSchema, [][]any{{int32(5), "five"}}), records(t, alloc, &wide, [][]any{{int64(6), "six"}})...)
	_, err = b.BulkRecords(ctx, "kt", recs, v1)
	release(recs)
	check("records of two schemas", err, h)

	// A keyless table's records need its hidden column too.
	visible := base.Schema{Columns: klSchema.Columns[1:], NextColumnID: 4}
	h = b.Head()
	_, err = bulkRecords(t, b, alloc, "kl", &visible, v1, [][]any{{int32(1), "x"}})
	if err == nil {
		t.Error("keyless records without the hidden column: no error")
	}
	if b.Head().Entry() != h.Entry() {
		t.Error("keyless records without the hidden column: committed")
	}

	// A NULL key.
	h = b.Head()
	_, err = bulkRecords(t, b, alloc, "kt", &ktSchema, v1, [][]any{{int32(7), "seven"}, {nil, "null"}})
	check("a NULL key", err, h)
}

// TestBulkWriterPausesWriters: from BeginBulk to Commit or Abort other
// writers' commits wait; a failed Write and Abort leave nothing (no row,
// no stored file) and let them go on; records may be released right after
// Write; a writer that has ended refuses more.
func TestBulkWriterPausesWriters(t *testing.T) {
	ctx := context.Background()
	alloc := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer alloc.AssertSize(t, 0)
	db, b := bulkRecDB(t)
	defer func() {
		if !t.Failed() { // a writer left paused would not close
			b.Close(ctx)
		}
	}()
	count := func(table string) int64 {
		t.Helper()
		s, err := b.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		n, err := s.Count(ctx, table)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// objects counts the stored data files of a table.
	objects := func(table string) int {
		t.Helper()
		n := 0
		for _, err := range db.Store().List(ctx, db.Prefix()+"/data/"+table+"/", "") {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	// put commits a row through a transaction in a goroutine; the channel
	// gets its error when the commit returns.
	put := func(table string, row []any) <-chan error {
		done := make(chan error, 1)
		go func() {
			tx, err := b.Begin()
			if err != nil {
				done <- err
				return
			}
			if _, err := tx.Put(table, row); err != nil {
				done <- err
				return
			}
			_, err = tx.Commit(ctx)
			done <- err
		}()
		return done
	}
	waitDone := func(ch <-chan error, what string) {
		t.Helper()
		select {
		case err := <-ch:
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: still waiting after the bulk write ended", what)
		}
	}
	notDone := func(ch <-chan error, what string) {
		t.Helper()
		select {
		case err := <-ch:
			t.Fatalf("%s: committed (%v) during a bulk write", what, err)
		case <-time.After(50 * time.Millisecond):
		}
	}

	for _, tc := range []struct {
		table, other string
		schema       *base.Schema
		rows         [][][]any
		row, orow    []any // a transaction's row of the table and of the other
	}{
		{"kl", "kt", &klSchema, [][][]any{{{nil, int32(1), "a"}, {nil, int32(2), "b"}}, {{nil, int32(3), "c"}}}, []any{nil, int32(99), "tx"}, []any{int32(98), "other"}},
		{"kt", "kl", &ktSchema, [][][]any{{{int32(3), "c"}, {int32(1), "a"}}, {{int32(2), "b"}}}, []any{int32(99), "tx"}, []any{nil, int32(98), "other"}},
	} {
		// A write that fails half-way, then is aborted.
		before := count(tc.table)
		w, err := b.BeginBulk(ctx, tc.table, v1)
		if err != nil {
			t.Fatal(err)
		}
		files := objects(tc.table) // BeginBulk flushed the MemTable
		recs := records(t, alloc, tc.schema, tc.rows...)
		if err := w.Write(ctx, recs[0]); err != nil {
			t.Fatal(err)
		}
		release(recs) // Write kept what it needs
		blocked := put(tc.table, tc.row)
		notDone(blocked, tc.table+": a transaction")
		wide := base.Schema{Columns: []base.Column{{ID: 1, Name: "k", Type: "BIGINT"}, {ID: 2, Name: "v", Type: "VARCHAR(16)", Nullable: true}}, NextColumnID: 3}
		bad := records(t, alloc, &wide, [][]any{{int64(5), "x"}})
		if err := w.Write(ctx, bad[0]); err == nil {
			t.Errorf("%s: a record of another schema written", tc.table)
		}
		release(bad)
		w.Abort()
		w.Abort() // again: nothing
		waitDone(blocked, tc.table+": a transaction after Abort")
		if n := count(tc.table); n != before+1 {
			t.Errorf("%s: %d rows after an aborted bulk write and a transaction's row, want %d", tc.table, n, before+1)
		}
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got, want := objects(tc.table), files+1; got != want { // the flushed row's file only
			t.Errorf("%s: %d data files stored after an aborted write and a flush, want %d", tc.table, got, want)
		}
		if err := w.Write(ctx, recs[0]); err == nil {
			t.Errorf("%s: Write after Abort: no error", tc.table)
		}
		if _, err := w.Commit(ctx); err == nil {
			t.Errorf("%s: Commit after Abort: no error", tc.table)
		}

		// A write that commits; a transaction of the other table waits
		// for it (one of this table would conflict with it).
		before, otherBefore := count(tc.table), count(tc.other)
		w, err = b.BeginBulk(ctx, tc.table, v1)
		if err != nil {
			t.Fatal(err)
		}
		blocked = put(tc.other, tc.orow)
		for _, rows := range tc.rows {
			rec := records(t, alloc, tc.schema, rows)
			if err := w.Write(ctx, rec[0]); err != nil {
				t.Fatal(err)
			}
			release(rec)
		}
		notDone(blocked, tc.table+": a transaction")
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		waitDone(blocked, tc.table+": a transaction after Commit")
		if _, err := w.Commit(ctx); err == nil {
			t.Errorf("%s: Commit twice: no error", tc.table)
		}
		w.Abort() // after Commit: nothing
		if n := count(tc.table); n != before+3 {
			t.Errorf("%s: %d rows, want %d", tc.table, n, before+3)
		}
		if n := count(tc.other); n != otherBefore+1 {
			t.Errorf("%s: %d rows, want %d", tc.other, n, otherBefore+1)
		}
	}
	checkKT(t, b, map[int32]string{1: "a", 2: "b", 3: "c", 98: "other", 99: "tx"}, "kt at the end")
}

// TestBulkRecordsSkip: with Skip the first row of a key twice in the
// records wins, a key the table holds (in a file or in the MemTable)
// keeps the table's row, and Counts says how many rows were written and
// how many the table lost; without Skip the last row wins and the table
// rows it supersedes are counted.
func TestBulkRecordsSkip(t *testing.T) {
	ctx := context.Background()
	alloc := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer alloc.AssertSize(t, 0)
	_, b := bulkRecDB(t)
	defer b.Close(ctx)
	model := map[int32]string{}
	var rows [][]any
	for k := int32(0); k < 10; k++ {
		rows = append(rows, []any{k, "base"})
		model[k] = "base"
	}
	if _, err := bulkRecords(t, b, alloc, "kt", &ktSchema, v1, rows); err != nil {
		t.Fatal(err)
	}
	tx, err := b.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Put("kt", []any{int32(20), "mem"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	model[20] = "mem"

	// counts runs one bulk write and returns its counts.
	counts := func(o BulkRecordsOptions, batches ...[][]any) BulkCounts {
		t.Helper()
		w, err := b.BeginBulk(ctx, "kt", o)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range records(t, alloc, &ktSchema, batches...) {
			err := w.Write(ctx, r)
			r.Release()
			if err != nil {
				w.Abort()
				t.Fatal(err)
			}
		}
		if _, err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		return w.Counts()
	}
	skip := v1
	skip.Skip = true
	got := counts(skip,
		[][]any{{int32(3), "new3"}, {int32(30), "first30"}, {int32(20), "new20"}},
		[][]any{{int32(30), "second30"}, {int32(31), "only31"}, {int32(3), "again3"}, {int32(30), "third30"}})
	if want := (BulkCounts{Rows: 7, Written: 2}); got != want {
		t.Errorf("skip: counts %+v, want %+v", got, want)
	}
	model[30], model[31] = "first30", "only31"
	checkKT(t, b, model, "after a load with Skip")

	got = counts(v1,
		[][]any{{int32(4), "r4"}, {int32(40), "a40"}},
		[][]any{{int32(40), "b40"}, {int32(20), "r20"}, {int32(4), "again4"}})
	if want := (BulkCounts{Rows: 5, Written: 3, Replaced: 2}); got != want {
		t.Errorf("replace: counts %+v, want %+v", got, want)
	}
	model[4], model[40], model[20] = "again4", "b40", "r20"
	checkKT(t, b, model, "after a load where the last row wins")
}
