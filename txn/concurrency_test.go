package txn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/faultstore"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/store/mem"
)

// backend is a store the concurrency tests run on. uri, when set, lets
// child processes open the same store.
type backend struct {
	name string
	open func(t testing.TB) (store.Store, string)
}

func backends() []backend {
	bs := []backend{
		{"mem", func(t testing.TB) (store.Store, string) { return mem.New(), "" }},
		{"local", func(t testing.TB) (store.Store, string) {
			dir := t.TempDir()
			st, err := local.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			return st, dir
		}},
	}
	return append(bs, extraBackends...)
}

// extraBackends are added by other test files (S3).
var extraBackends []backend

func setupTable(t testing.TB, st store.Store) {
	db, err := Create(context.Background(), st, "db", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := mustHead(t, db, "main")
	mustCommit(t, db, h, createTable("t1", "t"))
}

// appendMany commits n blind appends of files named prefix-i from its own
// DB (as a separate process would).
func appendMany(ctx context.Context, st store.Store, prefix string, n int) error {
	db, err := Open(ctx, st, "db", Options{HeadRefresh: -1})
	if err != nil {
		return err
	}
	defer db.Close()
	for i := range n {
		h, err := db.Head(ctx, "main")
		if err != nil {
			return err
		}
		if _, err := db.Commit(ctx, h, appendFile("t1", fmt.Sprintf("data/t1/%s-%03d.parquet", prefix, i), 1)); err != nil {
			return fmt.Errorf("%s commit %d: %w", prefix, i, err)
		}
	}
	return nil
}

// checkAppends verifies that the log holds exactly the expected appends,
// one entry each.
func checkAppends(t *testing.T, st store.Store, want map[string]bool) {
	t.Helper()
	db, err := Open(context.Background(), st, "db", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := mustHead(t, db, "main")
	if got, wantEntries := h.Entry(), int64(len(want)+1); got != wantEntries {
		t.Errorf("the log has %d entries, want %d", got, wantEntries)
	}
	tb := h.State.Table("t1")
	seen := 0
	tb.Files(func(a *Add) bool {
		if !want[a.Path] {
			t.Errorf("unexpected file %s", a.Path)
		}
		seen++
		return true
	})
	if seen != len(want) {
		t.Errorf("%d files live, want %d", seen, len(want))
	}
}

// TestConcurrentAppends: 8 writers, each with its own DB, commit 100 blind
// appends each to one branch: exactly 800 entries, every add present once.
func TestConcurrentAppends(t *testing.T) {
	const writers, commits = 8, 100
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.open(t)
			setupTable(t, st)
			want := map[string]bool{}
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for w := range writers {
				for i := range commits {
					want[fmt.Sprintf("data/t1/w%d-%03d.parquet", w, i)] = true
				}
				wg.Go(func() {
					if err := appendMany(context.Background(), st, fmt.Sprintf("w%d", w), commits); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			checkAppends(t, st, want)
		})
	}
}

// TestProcessAppends: the same race with 4 OS processes, each committing
// 100 appends (the test binary re-executed as a child).
func TestProcessAppends(t *testing.T) {
	if os.Getenv("LAKESQL_TXN_CHILD") != "" {
		t.Skip("child")
	}
	const processes, commits = 4, 100
	for _, b := range backends() {
		if b.name == "mem" {
			continue // not shared between processes
		}
		t.Run(b.name, func(t *testing.T) {
			st, uri := b.open(t)
			setupTable(t, st)
			want := map[string]bool{}
			var wg sync.WaitGroup
			errs := make([]error, processes)
			for p := range processes {
				for i := range commits {
					want[fmt.Sprintf("data/t1/p%d-%03d.parquet", p, i)] = true
				}
				wg.Go(func() {
					cmd := exec.Command(os.Args[0], "-test.run=^TestChildAppends$")
					cmd.Env = append(os.Environ(), "LAKESQL_TXN_CHILD=append",
						"LAKESQL_TXN_BACKEND="+b.name, "LAKESQL_TXN_URI="+uri,
						"LAKESQL_TXN_PREFIX="+fmt.Sprintf("p%d", p), "LAKESQL_TXN_COMMITS="+strconv.Itoa(commits))
					out, err := cmd.CombinedOutput()
					if err != nil {
						errs[p] = fmt.Errorf("child %d: %v\n%s", p, err, out)
					}
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			checkAppends(t, st, want)
		})
	}
}

// TestChildAppends is the child process of TestProcessAppends.
func TestChildAppends(t *testing.T) {
	if os.Getenv("LAKESQL_TXN_CHILD") != "append" {
		t.Skip("runs as a child of TestProcessAppends")
	}
	st, err := openBackendURI(os.Getenv("LAKESQL_TXN_BACKEND"), os.Getenv("LAKESQL_TXN_URI"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(os.Getenv("LAKESQL_TXN_COMMITS"))
	if err := appendMany(context.Background(), st, os.Getenv("LAKESQL_TXN_PREFIX"), n); err != nil {
		t.Fatal(err)
	}
}

// openBackendURI opens a store for a child process.
var openBackendURI = func(backend, uri string) (store.Store, error) {
	if backend == "local" {
		return local.Open(uri)
	}
	return nil, fmt.Errorf("no child opener for backend %q", backend)
}

// TestRemoveRace: two commits removing the same file from one head, round
// after round: exactly one wins, the other gets a retryable ErrConflict.
func TestRemoveRace(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st, _ := b.open(t)
			setupTable(t, st)
			dbs := [2]*DB{}
			for i := range dbs {
				db, err := Open(ctx, st, "db", Options{HeadRefresh: -1})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				dbs[i] = db
			}
			for round := range 10 {
				path := fmt.Sprintf("data/t1/r%d.parquet", round)
				h := mustCommit(t, dbs[0], mustHead(t, dbs[0], "main"), appendFile("t1", path, 5))
				reads := [2]*Snapshot{h, mustHead(t, dbs[1], "main")}
				var wins, conflicts atomic.Int32
				var wg sync.WaitGroup
				for i := range dbs {
					wg.Go(func() {
						_, err := dbs[i].Commit(ctx, reads[i], &Commit{Operation: "DELETE",
							Removes: []Remove{{Table: "t1", Path: path}}})
						var ce *ConflictError
						switch {
						case err == nil:
							wins.Add(1)
						case errors.As(err, &ce) && errors.Is(err, ErrConflict) && ce.Kind == ConflictFileRemoved:
							conflicts.Add(1)
						default:
							t.Errorf("round %d: %v", round, err)
						}
					})
				}
				wg.Wait()
				if wins.Load() != 1 || conflicts.Load() != 1 {
					t.Fatalf("round %d: %d wins and %d conflicts, want 1 and 1", round, wins.Load(), conflicts.Load())
				}
			}
		})
	}
}

// TestMergeRacesAppends: a data-preserving merge of ten files races 50
// blind appends from another writer; it rebases over them and commits.
func TestMergeRacesAppends(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st, _ := b.open(t)
			setupTable(t, st)
			db, err := Open(ctx, st, "db", Options{HeadRefresh: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			h := mustHead(t, db, "main")
			merge := &Commit{Operation: "MERGE", Preserve: true}
			for i := range 10 {
				p := fmt.Sprintf("data/t1/in%d.parquet", i)
				h = mustCommit(t, db, h, appendFile("t1", p, 10))
				merge.Removes = append(merge.Removes, Remove{Table: "t1", Path: p})
			}
			merge.Adds = []Add{{Table: "t1", Path: "data/t1/merged.parquet", Kind: KindBase, Rows: 100}}
			var wg sync.WaitGroup
			wg.Go(func() {
				if err := appendMany(ctx, st, "blind", 50); err != nil {
					t.Error(err)
				}
			})
			var merged *Snapshot
			var mergeErr error
			wg.Go(func() {
				for range 5 { // let appends get ahead first
					h, _ = db.RefreshHead(ctx, "main")
				}
				merged, mergeErr = db.Commit(ctx, h, merge)
			})
			wg.Wait()
			if mergeErr != nil {
				t.Fatalf("merge: %v", mergeErr)
			}
			final := mustHead(t, db, "main")
			final, _ = db.RefreshHead(ctx, "main")
			tb := final.State.Table("t1")
			if tb.File("data/t1/merged.parquet") == nil || tb.File("data/t1/in0.parquet") != nil {
				t.Fatal("the merge is not in the final state")
			}
			if tb.FileCount() != 51 || tb.Rows != 150 {
				t.Fatalf("%d files, %d rows; want 51 and 150", tb.FileCount(), tb.Rows)
			}
			if merged.Entry() <= 11 {
				t.Logf("the merge committed at entry %d without racing", merged.Entry())
			}
		})
	}
}

// TestCommitFaults commits through a store that fails operations and loses
// responses at random: every acknowledged commit is in the log exactly once,
// no commit that failed with a definite error is, and the log replays.
func TestCommitFaults(t *testing.T) {
	for _, seed := range []int64{1, 2, 3, 4} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			ctx := context.Background()
			inner := mem.New()
			setupTable(t, inner)
			// Puts fail or lose their response often, reads now and then.
			opts := faultstore.Random(seed, 0.2, faultstore.OpPut)
			opts.Rules = append(opts.Rules, faultstore.Random(seed+100, 0.01, faultstore.OpAll&^faultstore.OpPut).Rules...)
			fs := faultstore.New(inner, opts)
			const writers, commits = 4, 40
			var mu sync.Mutex
			acked, failed, unknown := map[string]bool{}, map[string]bool{}, map[string]bool{}
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					var db *DB
					for db == nil {
						d, err := Open(ctx, fs, "db", Options{HeadRefresh: -1, CheckpointInterval: 10, SyncCheckpoints: true,
							Logger: slog.New(slog.DiscardHandler)})
						if err == nil {
							db = d
						}
					}
					defer db.Close()
					for i := range commits {
						path := fmt.Sprintf("data/t1/w%d-%03d.parquet", w, i)
						var err error
						for try := 0; try < 30; try++ { // a client retries definite failures
							var h *Snapshot
							if h, err = db.Head(ctx, "main"); err == nil {
								_, err = db.Commit(ctx, h, appendFile("t1", path, 1))
							}
							if err == nil || errors.Is(err, ErrCommitUnknown) {
								break
							}
						}
						mu.Lock()
						switch {
						case err == nil:
							acked[path] = true
						case errors.Is(err, ErrCommitUnknown):
							unknown[path] = true
						default:
							if len(failed) < 3 {
								t.Logf("%s failed: %v", path, err)
							}
							failed[path] = true
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			st := fs.Stats()
			if st.Total().Injected == 0 {
				t.Fatal("no faults were injected")
			}
			db, err := Open(ctx, inner, "db", Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			h := mustHead(t, db, "main")
			live := map[string]bool{}
			h.State.Table("t1").Files(func(a *Add) bool {
				live[a.Path] = true
				return true
			})
			for p := range acked {
				if !live[p] {
					t.Errorf("acknowledged commit of %s is lost", p)
				}
			}
			for p := range failed {
				if live[p] {
					t.Errorf("failed commit of %s is in the log", p)
				}
			}
			for p := range live {
				if !acked[p] && !unknown[p] {
					t.Errorf("%s is in the log but was never committed", p)
				}
			}
			// Each file is added by exactly one entry: replay would have
			// refused a second add of a live path, and the entry count
			// matches the files.
			if h.Entry() != int64(len(live))+1 {
				t.Errorf("%d entries for %d files", h.Entry(), len(live))
			}
			t.Logf("seed %d: %d acknowledged, %d failed, %d unknown, %d live; %d faults, %d lost puts",
				seed, len(acked), len(failed), len(unknown), len(live), st.Total().Injected, st.Put.Lost)
		})
	}
}
