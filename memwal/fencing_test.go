package memwal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakesql/lakesql/memwal/wal"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/faultstore"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/store/mem"
	"github.com/lakesql/lakesql/txn"
)

// The fencing tests run two or three writers of one branch in one process,
// each with a txn.DB of its own over one store, as separate processes
// would. Writer 1 is a zombie: its lease is made to look expired behind
// its back (expireLease), as when its process stalls past the expiry, and
// a long LeaseDuration keeps its renewal, which would notice, from running
// during the test. Only the WAL fence and the epoch claim in the log can
// stop it then, and that is what the tests check: whatever writer 1
// acknowledged survives the takeover exactly once, and whatever it tries
// after writer 2 fenced its epoch is refused and never appears.

// zombieLease is writer 1's lease duration: its renewal (every third of
// it) never runs during a test.
const zombieLease = time.Hour

// openDB opens the test database with a txn.DB of its own.
func openDB(t testing.TB, st store.Store) *txn.DB {
	t.Helper()
	db, err := txn.Open(context.Background(), st, "db", txn.Options{HeadRefresh: -1, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// expireLease rewrites the branch's lease object with an expiry an hour
// ago, as if its holder had stalled past it. The holder does not notice.
// fenceStores are the stores the fencing tests run on: mem, whose WAL
// writer creates a segment per batch, and a local directory, where it
// appends batches to segments (store.Appender).
var fenceStores = []string{"mem", "local"}

func fenceStore(t testing.TB, kind string) store.Store {
	t.Helper()
	if kind == "mem" {
		return mem.New()
	}
	st, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func expireLease(t testing.TB, st store.Store, walDir string) {
	t.Helper()
	ctx := context.Background()
	name := walDir + "/LEASE"
	obj, err := st.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(io.NewSectionReader(obj, 0, obj.Size()))
	etag := obj.Info().ETag
	obj.Close()
	if err != nil {
		t.Fatal(err)
	}
	var l map[string]any
	if err := json.Unmarshal(data, &l); err != nil {
		t.Fatal(err)
	}
	l["expiry"] = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)
	out, _ := json.Marshal(l)
	if _, err := store.PutBytes(ctx, st, name, out, store.IfMatch(etag)); err != nil {
		t.Fatalf("expiring the lease: %v", err)
	}
}

// commitRows commits one transaction that puts rows (id, v, s) for ids and
// deletes dels.
func commitRows(ctx context.Context, b *Branch, ids []int64, v int64, s string, dels ...int64) error {
	tx, err := b.Begin()
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.Put("t1", []any{id, v, s}); err != nil {
			tx.Rollback()
			return err
		}
	}
	for _, id := range dels {
		key, err := tx.Key("t1", id)
		if err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Delete("t1", key); err != nil {
			tx.Rollback()
			return err
		}
	}
	_, err = tx.Commit(ctx)
	return err
}

// fenceModel tracks what writers acknowledged.
type fenceModel map[int64]mrow

func (m fenceModel) apply(ids []int64, v int64, s string, dels ...int64) {
	for _, id := range ids {
		m[id] = mrow{v: v, s: s}
	}
	for _, id := range dels {
		delete(m, id)
	}
}

// checkBranch compares a writer's view with the model: each key once
// (scanAll fails on a duplicate), the exact count, and point lookups.
func checkBranch(t testing.TB, b *Branch, want fenceModel, what string) {
	t.Helper()
	ctx := context.Background()
	s, err := b.Snapshot()
	if err != nil {
		t.Fatalf("%s: snapshot: %v", what, err)
	}
	defer s.Close()
	if d := diff(scanAll(t, s), want); d != "" {
		t.Fatalf("%s: %s", what, d)
	}
	n, err := s.Count(ctx, "t1")
	if err != nil || n != int64(len(want)) {
		t.Fatalf("%s: count %d (%v), want %d", what, n, err, len(want))
	}
	for _, id := range slices.Sorted(maps.Keys(want)) {
		key, _ := (&Txn{b: b}).Key("t1", id)
		row, found, err := s.Lookup(ctx, "t1", key)
		if err != nil || !found || row[1] != want[id].v || row[2] != want[id].s {
			t.Fatalf("%s: lookup %d = %v %v %v, want %v", what, id, row, found, err, want[id])
		}
	}
}

// takeoverCases runs body for every store kind, takeover point and first
// zombie action, with writer 1 started (its acknowledged rows in model) and
// its lease expired.
func takeoverCases(t *testing.T, body func(t *testing.T, ctx context.Context, st store.Store, b1 *Branch, model fenceModel, point, first string)) {
	for _, kind := range fenceStores {
		for _, point := range []string{"fenced", "claimed", "replayed"} {
			for _, first := range []string{"commit", "flush"} {
				t.Run(kind+"/"+point+"/"+first+"-first", func(t *testing.T) {
					st := fenceStore(t, kind)
					newDB(t, st).Close()
					b1, model := startWriter1(t, st)
					expireLease(t, st, b1.walDir)
					body(t, context.Background(), st, b1, model, point, first)
				})
			}
		}
	}
}

// startWriter1 opens writer 1 and has it acknowledge rows, some flushed
// to files (with later updates and deletes masking them) and some only in
// its MemTable and WAL.
func startWriter1(t *testing.T, st store.Store) (*Branch, fenceModel) {
	t.Helper()
	ctx := context.Background()
	b1, err := Open(ctx, openDB(t, st), "main", Options{Logger: quiet(), LeaseDuration: zombieLease})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b1.Abandon() })
	model := fenceModel{}
	commit := func(ids []int64, v int64, dels ...int64) {
		t.Helper()
		if err := commitRows(ctx, b1, ids, v, "w1", dels...); err != nil {
			t.Fatalf("writer 1: %v", err)
		}
		model.apply(ids, v, "w1", dels...)
	}
	commit([]int64{1, 2, 3, 4}, 1)
	commit([]int64{5, 6, 7, 8}, 2)
	commit([]int64{9, 10, 11, 12}, 3)
	if err := b1.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	commit([]int64{1, 2}, 4, 3)        // update and delete flushed rows
	commit([]int64{13, 14, 15, 16}, 5) // new rows
	commit([]int64{5, 17}, 6, 9)
	return b1, model
}

// pausedOpen is a takeover in a goroutine that stops at one hook point
// until resumed.
type pausedOpen struct {
	paused chan struct{} // closed at the point
	resume chan struct{} // close to go on
	done   chan struct{} // closed when Open returned
	b      *Branch
	err    error
	mu     sync.Mutex
	points []string
}

func openPaused(ctx context.Context, db *txn.DB, point string, opts Options) *pausedOpen {
	p := &pausedOpen{paused: make(chan struct{}), resume: make(chan struct{}), done: make(chan struct{})}
	opts.Hook = func(pt string) {
		p.mu.Lock()
		p.points = append(p.points, pt)
		p.mu.Unlock()
		if pt == point {
			close(p.paused)
			<-p.resume
		}
	}
	go func() {
		defer close(p.done)
		p.b, p.err = Open(ctx, db, "main", opts)
	}()
	return p
}

// waitPaused waits for the takeover to reach its pause point.
func (p *pausedOpen) waitPaused(t testing.TB) {
	t.Helper()
	select {
	case <-p.paused:
	case <-p.done:
		t.Fatalf("the takeover ended before its pause point: %v", p.err)
	case <-time.After(30 * time.Second):
		t.Fatal("the takeover did not reach its pause point")
	}
}

// finish resumes the takeover and returns the writer.
func (p *pausedOpen) finish(t testing.TB) *Branch {
	t.Helper()
	close(p.resume)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the takeover did not finish")
	}
	if p.err != nil {
		t.Fatalf("takeover: %v", p.err)
	}
	if want := []string{"fenced", "claimed", "replayed"}; !slices.Equal(p.points, want) {
		t.Fatalf("takeover hook points %v, want %v", p.points, want)
	}
	t.Cleanup(func() { p.b.Abandon() })
	return p.b
}

// isRefusedCommit reports whether err is how a fenced writer refuses a
// commit: its WAL segment name was taken by the fence, or the writer had
// already stopped.
func isRefusedCommit(err error) bool {
	return errors.Is(err, wal.ErrFenced) || errors.Is(err, ErrFailed)
}

// TestFencingTakeoverPoints pauses writer 2's takeover at each of its
// points in turn, and there lets the zombie writer 1 try to commit a
// transaction and to flush, in either order.
//
//   - A commit is refused at every point: the fence is in place from
//     "fenced" on, so its WAL segment cannot land and nothing is
//     acknowledged.
//   - A flush at "fenced" commits: writer 2 has not claimed its epoch yet,
//     and the design allows a zombie's flush to land before the claim (it
//     holds only acknowledged records, and the claim's replay starts after
//     its WAL position). From "claimed" on, a flush is refused with
//     txn.ErrFenced.
//   - Writer 2 then sees exactly what writer 1 acknowledged, each key once,
//     and so does a writer after it.
func TestFencingTakeoverPoints(t *testing.T) {
	takeoverCases(t, func(t *testing.T, ctx context.Context, st store.Store, b1 *Branch, model fenceModel, point, first string) {
		p := openPaused(ctx, openDB(t, st), point, Options{Logger: quiet()})
		p.waitPaused(t)

		// Writer 1, a zombie, tries to write at the pause.
		tryCommit := func() {
			t.Helper()
			err := commitRows(ctx, b1, []int64{5, 100, 101}, 99, "zombie", 6)
			if err == nil {
				t.Fatalf("at %q: writer 1 committed after writer 2 fenced its epoch", point)
			}
			if !isRefusedCommit(err) {
				t.Fatalf("at %q: writer 1's commit failed with %v, want wal.ErrFenced or ErrFailed", point, err)
			}
			if first == "commit" && !errors.Is(err, wal.ErrFenced) {
				t.Fatalf("at %q: writer 1's commit failed with %v, want wal.ErrFenced", point, err)
			}
			if _, err := b1.Begin(); !errors.Is(err, ErrFailed) {
				t.Fatalf("at %q: writer 1 begins a transaction after being fenced: %v", point, err)
			}
		}
		tryFlush := func() {
			t.Helper()
			err := b1.Flush(ctx)
			switch {
			case first == "commit":
				// The refused commit stopped writer 1.
				if !errors.Is(err, ErrFailed) {
					t.Fatalf("at %q: writer 1's flush after its refused commit: %v, want ErrFailed", point, err)
				}
			case point == "fenced":
				// Before the claim: the zombie's flush may land.
				if err != nil {
					t.Fatalf("at %q: writer 1's flush before the claim failed: %v", point, err)
				}
			default:
				if !errors.Is(err, txn.ErrFenced) {
					t.Fatalf("at %q: writer 1's flush after the claim: %v, want txn.ErrFenced", point, err)
				}
			}
		}
		if first == "commit" {
			tryCommit()
			tryFlush()
		} else {
			tryFlush()
			tryCommit()
		}

		b2 := p.finish(t)
		if b2.Epoch() <= b1.Epoch() {
			t.Fatalf("writer 2 has epoch %d, writer 1 %d", b2.Epoch(), b1.Epoch())
		}
		checkBranch(t, b2, model, "writer 2 after the takeover")

		// Writer 2 writes over writer 1's rows, flushes, writes more.
		if err := commitRows(ctx, b2, []int64{1, 13, 200}, 7, "w2", 2, 14); err != nil {
			t.Fatal(err)
		}
		model.apply([]int64{1, 13, 200}, 7, "w2", 2, 14)
		if err := b2.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := commitRows(ctx, b2, []int64{5, 201}, 8, "w2", 17); err != nil {
			t.Fatal(err)
		}
		model.apply([]int64{5, 201}, 8, "w2", 17)
		// Writer 1 still cannot do anything.
		if err := b1.Flush(ctx); err == nil {
			t.Fatal("writer 1 flushed after writer 2 took over")
		}
		if err := commitRows(ctx, b1, []int64{300}, 9, "zombie"); err == nil {
			t.Fatal("writer 1 committed after writer 2 took over")
		}
		checkBranch(t, b2, model, "writer 2")

		// A crash of writer 2, and a writer after it.
		if err := b2.Abandon(); err != nil {
			t.Fatal(err)
		}
		b3, err := Open(ctx, openDB(t, st), "main", Options{Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		defer b3.Close(ctx)
		checkBranch(t, b3, model, "writer 3 after writer 2 crashed")
	})
}

// TestFencingDeadTaker: writer 2 fences writer 1 and dies (at "fenced",
// before claiming its epoch, or at "claimed" or "replayed", before
// serving) without releasing its lease. Writer 1, still running, tries to
// write; then writer 3 takes over and must see everything writer 1
// acknowledged, once, and nothing it was refused.
func TestFencingDeadTaker(t *testing.T) {
	takeoverCases(t, func(t *testing.T, ctx context.Context, st store.Store, b1 *Branch, model fenceModel, point, first string) {

		// Writer 2 dies at the point: its goroutine ends there,
		// and nothing releases its lease or runs the rest of the
		// takeover.
		died := make(chan struct{})
		var b2err error
		go func() {
			defer close(died)
			_, b2err = Open(ctx, openDB(t, st), "main", Options{Logger: quiet(), LeaseDuration: zombieLease,
				Hook: func(p string) {
					if p == point {
						runtime.Goexit()
					}
				}})
			b2err = fmt.Errorf("writer 2 did not die at %q (open: %v)", point, b2err)
		}()
		<-died
		if b2err != nil {
			t.Fatal(b2err)
		}

		flushErr := func() {
			t.Helper()
			err := b1.Flush(ctx)
			switch {
			case first == "commit":
				if !errors.Is(err, ErrFailed) {
					t.Fatalf("writer 1's flush after its refused commit: %v, want ErrFailed", err)
				}
			case point == "fenced":
				if err != nil { // nothing was claimed
					t.Fatalf("writer 1's flush with no newer epoch claimed: %v", err)
				}
			default:
				if !errors.Is(err, txn.ErrFenced) {
					t.Fatalf("writer 1's flush after writer 2's claim: %v, want txn.ErrFenced", err)
				}
			}
		}
		commitErr := func() {
			t.Helper()
			if err := commitRows(ctx, b1, []int64{5, 100}, 99, "zombie", 6); !isRefusedCommit(err) {
				t.Fatalf("writer 1's commit after writer 2's fence: %v, want it refused", err)
			}
		}
		if first == "commit" {
			commitErr()
			flushErr()
		} else {
			flushErr()
			commitErr()
		}

		// Writer 2's lease expires; writer 3 takes over.
		expireLease(t, st, b1.walDir)
		b3, err := Open(ctx, openDB(t, st), "main", Options{Logger: quiet()})
		if err != nil {
			t.Fatalf("writer 3: %v", err)
		}
		t.Cleanup(func() { b3.Abandon() })
		if b3.Epoch() <= b1.Epoch()+1 {
			t.Fatalf("writer 3 has epoch %d, writer 1 %d: writer 2's epoch was not skipped", b3.Epoch(), b1.Epoch())
		}
		checkBranch(t, b3, model, "writer 3")
		if err := commitRows(ctx, b3, []int64{6, 400}, 10, "w3", 1); err != nil {
			t.Fatal(err)
		}
		model.apply([]int64{6, 400}, 10, "w3", 1)
		if err := b1.Flush(ctx); err == nil {
			t.Fatal("writer 1 flushed after writer 3 took over")
		}
		if err := b3.Close(ctx); err != nil {
			t.Fatal(err)
		}
		b4, err := Open(ctx, openDB(t, st), "main", Options{Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		defer b4.Close(ctx)
		checkBranch(t, b4, model, "writer 4")
	})
}

// TestFencingRace: writer 1 commits from two goroutines and flushes from a
// third, with tiny MemTables so that background flushes run too, while
// writer 2 takes over at a random moment. Every transaction writer 1
// acknowledged is in writer 2's view; every one it was refused is not;
// nothing is there twice.
func TestFencingRace(t *testing.T) {
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 3))
	for round := range rounds {
		delay := time.Duration(r.IntN(30)) * time.Millisecond
		var st store.Store = mem.New()
		if round%3 == 2 {
			st = fenceStore(t, "local") // segments appended to
		}
		if round%3 == 1 {
			// Slow puts: segments, lease and log entries are in flight
			// when the fence lands.
			st = faultstore.New(st, faultstore.Options{Seed: int64(r.Uint64()), Rules: []faultstore.Rule{{
				Ops: faultstore.OpPut, Prob: 0.5, Fault: faultstore.Fault{Latency: time.Millisecond}}}})
		}
		t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) {
			raceRound(t, st, delay)
		})
	}
}

func raceRound(t *testing.T, st store.Store, delay time.Duration) {
	ctx := context.Background()
	newDB(t, st).Close()
	b1, err := Open(ctx, openDB(t, st), "main", Options{Logger: quiet(), LeaseDuration: zombieLease, FlushBytes: 2 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer b1.Abandon()

	type outcome struct {
		ids []int64
		v   int64
		ok  bool
	}
	var (
		mu       sync.Mutex
		outcomes []outcome
		stop     atomic.Bool
		flushes  atomic.Int64
		wg       sync.WaitGroup
	)
	for g := range 2 {
		wg.Go(func() {
			for c := int64(1); !stop.Load(); c++ {
				v := int64(g+1)<<32 | c
				ids := []int64{v * 4, v*4 + 1}
				if c%3 == 0 {
					ids = append(ids, v*4+2)
				}
				err := commitRows(ctx, b1, ids, v, "w1")
				mu.Lock()
				outcomes = append(outcomes, outcome{ids: ids, v: v, ok: err == nil})
				mu.Unlock()
				if err != nil {
					if !isRefusedCommit(err) && !errors.Is(err, txn.ErrFenced) {
						t.Errorf("writer 1's commit failed with %v", err)
					}
					return
				}
			}
		})
	}
	wg.Go(func() {
		for !stop.Load() {
			err := b1.Flush(ctx)
			if err != nil {
				if !errors.Is(err, ErrFailed) && !errors.Is(err, txn.ErrFenced) {
					t.Errorf("writer 1's flush failed with %v", err)
				}
				return
			}
			flushes.Add(1)
			time.Sleep(time.Millisecond)
		}
	})

	time.Sleep(delay)
	expireLease(t, st, b1.walDir)
	b2, err := Open(ctx, openDB(t, st), "main", Options{Logger: quiet()})
	if err != nil {
		stop.Store(true)
		wg.Wait()
		t.Fatalf("writer 2: %v", err)
	}
	defer b2.Close(ctx)
	// Writer 1 stops at its first write after the fence; give it one.
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		stop.Store(true)
		<-stopped
		t.Fatal("writer 1 kept committing after writer 2 took over")
	}

	want := fenceModel{}
	refused := map[int64]bool{}
	acked, failed := 0, 0
	for _, o := range outcomes {
		if o.ok {
			want.apply(o.ids, o.v, "w1")
			acked++
		} else {
			for _, id := range o.ids {
				refused[id] = true
			}
			failed++
		}
	}
	s, err := b2.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	got := scanAll(t, s) // fails on a key seen twice
	s.Close()
	for id := range got {
		if refused[id] {
			t.Fatalf("key %d of a refused transaction of writer 1 is visible", id)
		}
	}
	if d := diff(got, want); d != "" {
		var missing []int64
		for id := range want {
			if _, ok := got[id]; !ok {
				missing = append(missing, id)
			}
		}
		slices.Sort(missing)
		t.Logf("acknowledged keys missing: %v", missing)
		t.Fatalf("writer 2's view: %s", d)
	}
	checkBranch(t, b2, want, "writer 2")
	t.Logf("writer 1: %d acknowledged, %d refused, %d flushes; takeover after %v", acked, failed, flushes.Load(), delay)
}
