package memwal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/mergeplan"
	"github.com/lakesql/lakesql/scan"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/faultstore"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/store/mem"
	"github.com/lakesql/lakesql/txn"
)

// The model: table t1 (id BIGINT PRIMARY KEY, v BIGINT, s VARCHAR(16))
// as a map from id to (v, s).
type mrow struct {
	v int64
	s string
}

func tableSchema() base.Schema {
	return base.Schema{Columns: []base.Column{
		{ID: 1, Name: "id", Type: "BIGINT"},
		{ID: 2, Name: "v", Type: "BIGINT", Nullable: true},
		{ID: 3, Name: "s", Type: "VARCHAR(16)", Nullable: true},
	}, NextColumnID: 4}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newDB(t testing.TB, st store.Store) *txn.DB {
	ctx := context.Background()
	db, err := txn.Create(ctx, st, "db", txn.Options{HeadRefresh: -1, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := db.Head(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(ctx, h, &txn.Commit{Operation: "CREATE TABLE", CreatesVersion: true,
		Tables: []txn.Table{{ID: "t1", Name: "t1", Schema: tableSchema(), SchemaID: 1, Key: []int{1}}}}); err != nil {
		t.Fatal(err)
	}
	return db
}

// scanAll reads every row of t1 at a snapshot.
func scanAll(t testing.TB, s *Snapshot) map[int64]mrow {
	it, err := s.Scan(context.Background(), "t1", scan.Request{Columns: []int{1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	got := map[int64]mrow{}
	for it.Next() {
		rec := it.Record()
		ids := rec.Column(0).(*array.Int64)
		vs := rec.Column(1).(*array.Int64)
		ss := rec.Column(2).(*array.String)
		for i := range int(rec.NumRows()) {
			id := ids.Value(i)
			if _, dup := got[id]; dup {
				t.Fatalf("key %d appears twice in a scan", id)
			}
			got[id] = mrow{v: vs.Value(i), s: ss.Value(i)}
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// scanVersion reads every row of t1 at a version of the log (files only).
func scanVersion(t testing.TB, db *txn.DB, v int64) map[int64]mrow {
	ctx := context.Background()
	snap, err := db.AtVersion(ctx, "main", v)
	if err != nil {
		t.Fatal(err)
	}
	r := scan.NewReader(db.Store(), db.Prefix(), scan.Options{})
	defer r.Close()
	ts := snap.State.Table("t1")
	tbl := &scan.Table{Schema: &ts.Meta.Schema}
	ts.Files(func(a *txn.Add) bool {
		tbl.Files = append(tbl.Files, a)
		return true
	})
	it, err := r.Scan(ctx, tbl, scan.Request{Columns: []int{1, 2, 3}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	got := map[int64]mrow{}
	for it.Next() {
		rec := it.Record()
		for i := range int(rec.NumRows()) {
			got[rec.Column(0).(*array.Int64).Value(i)] = mrow{v: rec.Column(1).(*array.Int64).Value(i), s: rec.Column(2).(*array.String).Value(i)}
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func diff(got, want map[int64]mrow) string {
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			return fmt.Sprintf("key %d: got %v (present %v), want %v", k, g, ok, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			return fmt.Sprintf("key %d: got %v, want no row", k, g)
		}
	}
	return ""
}

// TestModel runs random transactions, flushes, versions, checkpoints,
// crashes and reopenings against a branch writer and a map, under several
// configurations; every read must agree with the model.
func TestModel(t *testing.T) {
	for _, cfg := range []struct {
		name       string
		store      func(t *testing.T) store.Store
		flushBytes int64
		ops        int
	}{
		{"mem-tiny-memtables", func(t *testing.T) store.Store { return mem.New() }, 600, 1500},
		{"mem", func(t *testing.T) store.Store { return mem.New() }, 64 << 10, 1500},
		{"local", func(t *testing.T) store.Store {
			st, err := local.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return st
		}, 4 << 10, 400},
		// Puts fail or lose their response now and then: the WAL, the log
		// and the lease retry and resolve; flushes and versions may fail
		// and are retried later; nothing acknowledged may be lost.
		{"faultstore", func(t *testing.T) store.Store { return faultstore.New(mem.New(), faultstore.Options{}) }, 2 << 10, 800},
	} {
		t.Run(cfg.name, func(t *testing.T) {
			seed := rand.Uint64()
			t.Logf("seed %d", seed)
			runModel(t, seed, cfg.store(t), cfg.flushBytes, cfg.ops)
		})
	}
}

func runModel(t *testing.T, seed uint64, st store.Store, flushBytes int64, ops int) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 2))
	db := newDB(t, st)
	fs, faulty := st.(*faultstore.Store)
	if faulty {
		for _, rule := range faultstore.Random(int64(seed), 0.05, faultstore.OpPut).Rules {
			fs.AddRule(rule)
		}
	}
	// tolerate lets an operation fail under injected faults.
	tolerate := func(err error) bool { return err != nil && faulty && errors.Is(err, faultstore.ErrInjected) }
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	// Half the seeds warm the reader's cache with every new file in the
	// background, concurrently with the operations and closes.
	opts := Options{FlushBytes: flushBytes, Logger: quiet(), Alloc: alloc, WarmCache: seed%2 == 0}
	if faulty {
		// A release that fails leaves the lease held: wait for it.
		opts.WaitForLease, opts.LeaseDuration = true, 400*time.Millisecond
	}
	open := func() *Branch {
		for try := 0; ; try++ {
			b, err := Open(ctx, db, "main", opts)
			if err == nil {
				return b
			}
			if !tolerate(err) || try == 20 {
				t.Fatalf("seed %d: open: %v", seed, err)
			}
		}
	}
	b := open()
	model := map[int64]mrow{}
	merges := 0
	versions := map[int64]map[int64]mrow{1: {}}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d: "+format, append([]any{seed}, args...)...)
	}
	check := func(what string) {
		t.Helper()
		s, err := b.Snapshot()
		if err != nil {
			fail("%s: snapshot: %v", what, err)
		}
		defer s.Close()
		if d := diff(scanAll(t, s), model); d != "" {
			fail("%s: scan differs from the model: %s", what, d)
		}
		n, err := s.Count(ctx, "t1")
		if err != nil || n != int64(len(model)) {
			fail("%s: count %d (%v), model has %d", what, n, err, len(model))
		}
		for range 5 {
			id := r.Int64N(60)
			key, _ := (&Txn{b: b}).Key("t1", id)
			row, found, err := s.Lookup(ctx, "t1", key)
			want, ok := model[id]
			if err != nil || found != ok || found && (row[1] != want.v || row[2] != want.s) {
				fail("%s: lookup %d = %v %v %v, want %v %v", what, id, row, found, err, want, ok)
			}
		}
	}
	for op := range ops {
		switch k := r.IntN(100); {
		case k < 45: // a transaction of upserts and deletes
			tx, err := b.Begin()
			if err != nil {
				fail("begin: %v", err)
			}
			next := maps.Clone(model)
			for range 1 + r.IntN(5) {
				id := r.Int64N(60)
				if r.IntN(4) == 0 {
					key, _ := tx.Key("t1", id)
					if err := tx.Delete("t1", key); err != nil {
						fail("delete: %v", err)
					}
					delete(next, id)
					continue
				}
				row := mrow{v: r.Int64N(1000), s: fmt.Sprintf("s%d", r.IntN(50))}
				if _, err := tx.Put("t1", []any{id, row.v, row.s}); err != nil {
					fail("put: %v", err)
				}
				next[id] = row
			}
			if _, err := tx.Commit(ctx); err != nil {
				fail("op %d: commit: %v", op, err)
			}
			model = next
		case k < 55: // read-modify-write: v = v + 1
			tx, _ := b.Begin()
			id := r.Int64N(60)
			key, _ := tx.Key("t1", id)
			row, found, err := tx.Get(ctx, "t1", key)
			if err != nil {
				fail("get: %v", err)
			}
			if w, ok := model[id]; found != ok || found && row[1] != w.v {
				fail("op %d: txn get %d = %v %v, model %v %v", op, id, row, found, w, ok)
			}
			if found {
				nv := row[1].(int64) + 1
				if _, err := tx.Put("t1", []any{id, nv, row[2]}); err != nil {
					fail("put: %v", err)
				}
				if _, err := tx.Commit(ctx); err != nil {
					fail("commit: %v", err)
				}
				model[id] = mrow{v: nv, s: row[2].(string)}
			} else {
				tx.Rollback()
			}
		case k < 60: // two transactions on one key: the second loses
			id := r.Int64N(60)
			t1, _ := b.Begin()
			t2, _ := b.Begin()
			t1.Put("t1", []any{id, int64(1), "first"})
			t2.Put("t1", []any{id, int64(2), "second"})
			if _, err := t1.Commit(ctx); err != nil {
				fail("first commit: %v", err)
			}
			if _, err := t2.Commit(ctx); !errors.Is(err, ErrConflict) {
				fail("second commit on one key: %v, want ErrConflict", err)
			}
			model[id] = mrow{v: 1, s: "first"}
		case k < 66:
			check(fmt.Sprintf("op %d", op))
		case k < 70: // the merge job: rewrite and merge aggressively
			n, err := b.Compact(ctx, "", mergeplan.MergeOptions{MaxProbeDepth: 1 + r.IntN(2), RewriteFraction: 0.1})
			if err != nil && !tolerate(err) {
				fail("op %d: compact: %v", op, err)
			}
			merges += n
			check(fmt.Sprintf("op %d, after %d merges", op, n))
		case k < 75:
			if err := b.Flush(ctx); err != nil && !tolerate(err) {
				fail("flush: %v", err)
			}
		case k < 80:
			head, err := b.CommitVersion(ctx, fmt.Sprintf("op %d", op), "test")
			if tolerate(err) {
				break
			}
			if err != nil {
				fail("commit version: %v", err)
			}
			versions[head.Version()] = maps.Clone(model)
		case k < 82:
			if _, err := db.Checkpoint(ctx, "main"); err != nil && !tolerate(err) {
				fail("checkpoint: %v", err)
			}
		case k < 83: // TRUNCATE: a version without the table's rows
			head, err := b.CommitDDL(ctx, &txn.Commit{Operation: "TRUNCATE", Truncates: []txn.Truncate{{ID: "t1"}}})
			if tolerate(err) {
				break
			}
			if err != nil {
				fail("truncate: %v", err)
			}
			model = map[int64]mrow{}
			versions[head.Version()] = map[int64]mrow{}
		case k < 85: // the bulk path: rows straight into a file, as a version
			var rows [][]any
			next := maps.Clone(model)
			for range 1 + r.IntN(40) {
				id := r.Int64N(80)
				row := mrow{v: r.Int64N(1000), s: fmt.Sprintf("bulk%d", r.IntN(9))}
				rows = append(rows, []any{id, row.v, row.s})
				next[id] = row // a later row of a key wins
			}
			head, err := b.Bulk(ctx, "t1", rows, BulkOptions{Operation: "LOAD DATA", Version: true})
			if tolerate(err) {
				break
			}
			if err != nil {
				fail("op %d: bulk: %v", op, err)
			}
			model = next
			versions[head.Version()] = maps.Clone(model)
		case k < 86: // a transaction that stages bulk rows beside plain writes
			tx, err := b.Begin()
			if err != nil {
				fail("begin: %v", err)
			}
			next := maps.Clone(model)
			var rows [][]any
			for range 1 + r.IntN(30) {
				id := r.Int64N(80)
				row := mrow{v: r.Int64N(1000), s: "staged"}
				rows = append(rows, []any{id, row.v, row.s})
				next[id] = row
			}
			if err := tx.Stage("t1", rows); err != nil {
				fail("stage: %v", err)
			}
			id := r.Int64N(80)
			key, _ := tx.Key("t1", id)
			tx.Delete("t1", key)
			delete(next, id)
			_, err = tx.Commit(ctx)
			if tolerate(err) {
				break
			}
			if err != nil {
				fail("op %d: staged commit: %v", op, err)
			}
			model = next
		case k < 87: // ALTER: a new name and schema id; the rows stay
			head := b.Head()
			meta := head.State.Table("t1").Meta
			meta.Name = fmt.Sprintf("t1_%d", op)
			meta.SchemaID++
			next, err := b.CommitDDL(ctx, &txn.Commit{Operation: "ALTER TABLE", Tables: []txn.Table{meta}})
			if tolerate(err) {
				break
			}
			if err != nil {
				fail("alter: %v", err)
			}
			versions[next.Version()] = maps.Clone(model)
		case k < 90: // a clean restart
			if err := b.Close(ctx); err != nil && !tolerate(err) {
				fail("close: %v", err)
			}
			b = open()
		case k < 93: // a crash: nothing flushed; the WAL brings it back
			if err := b.Abandon(); err != nil && !tolerate(err) {
				fail("abandon: %v", err)
			}
			b = open()
			check(fmt.Sprintf("op %d, after a crash", op))
		default: // an old version reads what it held
			vs := slices.Collect(maps.Keys(versions))
			v := vs[r.IntN(len(vs))]
			if d := diff(scanVersion(t, db, v), versions[v]); d != "" {
				fail("op %d: AS OF %d differs: %s", op, v, d)
			}
		}
	}
	check("end")
	t.Logf("%d merges", merges)
	if faulty {
		st := fs.Stats().Put
		t.Logf("faults: %d puts, %d failed, %d lost responses", st.Calls, st.Errors, st.Lost)
		if st.Errors+st.Lost == 0 {
			t.Fatal("no faults were injected")
		}
		fs.ClearRules()
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	alloc.AssertSize(t, 0)
}

// TestConcurrentIncrements: 8 goroutines each add 1 to one row 40 times with
// read-modify-write transactions, retrying on conflict: nothing is lost.
func TestConcurrentIncrements(t *testing.T) {
	ctx := context.Background()
	db := newDB(t, mem.New())
	b, err := Open(ctx, db, "main", Options{Logger: quiet(), FlushBytes: 2 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	tx, _ := b.Begin()
	tx.Put("t1", []any{int64(7), int64(0), "counter"})
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	const workers, increments = 8, 40
	var wg sync.WaitGroup
	var conflicts atomic.Int64
	for range workers {
		wg.Go(func() {
			for done := 0; done < increments; {
				tx, err := b.Begin()
				if err != nil {
					t.Error(err)
					return
				}
				key, _ := tx.Key("t1", int64(7))
				row, _, err := tx.Get(ctx, "t1", key)
				if err != nil {
					t.Error(err)
					return
				}
				tx.Put("t1", []any{int64(7), row[1].(int64) + 1, "counter"})
				_, err = tx.Commit(ctx)
				switch {
				case err == nil:
					done++
				case errors.Is(err, ErrConflict):
					conflicts.Add(1)
				default:
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	s, _ := b.Snapshot()
	defer s.Close()
	key, _ := (&Txn{b: b}).Key("t1", int64(7))
	row, _, err := s.Lookup(ctx, "t1", key)
	if err != nil || row[1] != int64(workers*increments) {
		t.Fatalf("counter = %v (%v), want %d", row, err, workers*increments)
	}
	t.Logf("%d conflicts retried", conflicts.Load())
}

// TestSnapshotTooOld: a snapshot read after the TTL is refused.
func TestSnapshotTooOld(t *testing.T) {
	ctx := context.Background()
	db := newDB(t, mem.New())
	b, err := Open(ctx, db, "main", Options{Logger: quiet(), SnapshotTTL: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	s, err := b.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Count(ctx, "t1"); err != nil {
		t.Fatalf("a fresh snapshot: %v", err)
	}
	time.Sleep(700 * time.Millisecond)
	if _, err := s.Count(ctx, "t1"); !errors.Is(err, ErrSnapshotTooOld) {
		t.Fatalf("an old snapshot: %v", err)
	}
}

// TestKeylessTable: a table without a primary key is keyed by a hidden row
// id the writer assigns; equal rows stay distinct, across flushes and a
// crash, and a delete by row id removes exactly one.
func TestKeylessTable(t *testing.T) {
	ctx := context.Background()
	db := newDB(t, mem.New())
	h, _ := db.Head(ctx, "main")
	schema := base.Schema{Columns: []base.Column{
		{ID: 1, Name: base.RowIDColumn, Type: "BIGINT", Hidden: true},
		{ID: 2, Name: "a", Type: "INT", Nullable: true},
	}, NextColumnID: 3}
	if _, err := db.Commit(ctx, h, &txn.Commit{Operation: "CREATE TABLE", CreatesVersion: true,
		Tables: []txn.Table{{ID: "k1", Name: "k1", Schema: schema, SchemaID: 1, Key: []int{1}}}}); err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, db, "main", Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	insert := func(n int) {
		tx, _ := b.Begin()
		for range n {
			if _, err := tx.Put("k1", []any{nil, int32(5)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int64 {
		s, _ := b.Snapshot()
		defer s.Close()
		n, err := s.Count(ctx, "k1")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	insert(3)
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	insert(2)
	b.Abandon()
	if b, err = Open(ctx, db, "main", Options{Logger: quiet()}); err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	insert(1)
	if n := count(); n != 6 {
		t.Fatalf("%d rows, want 6 equal rows kept apart", n)
	}
	// Delete one row by its id, read from a scan.
	s, _ := b.Snapshot()
	it, err := s.Scan(ctx, "k1", scan.Request{Columns: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for it.Next() {
		col := it.Record().Column(0).(*array.Int64)
		for i := range col.Len() {
			ids = append(ids, col.Value(i))
		}
	}
	it.Close()
	s.Close()
	if len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 6 {
		t.Fatalf("row ids are not unique: %v", ids)
	}
	tx, _ := b.Begin()
	key, _ := tx.Key("k1", ids[0])
	tx.Delete("k1", key)
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 5 {
		t.Fatalf("%d rows after deleting one, want 5", n)
	}
}

// TestSavepoint: RollbackTo undoes exactly the writes after the mark, also
// rewrites of keys written before it, and Pending shows what is left.
func TestSavepoint(t *testing.T) {
	ctx := context.Background()
	db := newDB(t, mem.New())
	h, _ := db.Head(ctx, "main")
	schema := base.Schema{Columns: []base.Column{
		{ID: 1, Name: "k", Type: "BIGINT"},
		{ID: 2, Name: "v", Type: "INT", Nullable: true},
	}, NextColumnID: 3}
	if _, err := db.Commit(ctx, h, &txn.Commit{Operation: "CREATE TABLE", CreatesVersion: true,
		Tables: []txn.Table{{ID: "t1", Name: "t1", Schema: schema, SchemaID: 1, Key: []int{1}}}}); err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, db, "main", Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	tx, _ := b.Begin()
	put := func(k int64, v int32) {
		if _, err := tx.Put("t1", []any{k, v}); err != nil {
			t.Fatal(err)
		}
	}
	pending := func() string {
		var out []string
		for _, p := range tx.Pending("t1") {
			if p.Deleted {
				out = append(out, fmt.Sprintf("-%v", p.Key))
				continue
			}
			out = append(out, fmt.Sprint(p.Row))
		}
		return strings.Join(out, " ")
	}
	put(1, 10)
	sp := tx.Savepoint()
	put(1, 11)
	put(2, 20)
	k3, _ := tx.Key("t1", int64(3))
	if err := tx.Delete("t1", k3); err != nil {
		t.Fatal(err)
	}
	if got := len(tx.Pending("t1")); got != 3 {
		t.Fatalf("%d pending writes, want 3", got)
	}
	tx.RollbackTo(sp)
	if got, want := pending(), "[1 10]"; got != want {
		t.Fatalf("after RollbackTo: %q, want %q", got, want)
	}
	tx.RollbackTo(0)
	if !tx.Empty() || tx.Wrote("t1") {
		t.Fatalf("after RollbackTo(0) the transaction still has writes: %q", pending())
	}
	put(4, 40)
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	s, _ := b.Snapshot()
	defer s.Close()
	if n, _ := s.Count(ctx, "t1"); n != 1 {
		t.Fatalf("%d rows committed, want 1", n)
	}
}
