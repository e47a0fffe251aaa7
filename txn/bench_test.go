package txn

// Benchmarks of the commit log on mem (a reference), local and MinIO:
//
//   - BenchmarkLog10k: a branch of 10,000 entries (one file added by each,
//     a version every 10th, checkpoints every 100): a fresh Open and Head
//     of its newest entry, the same 99 entries past a checkpoint, a fresh
//     Open of version 5, and a head refresh when nothing changed.
//   - BenchmarkCommit: the latency of one writer's sequential blind appends.
//   - BenchmarkConcurrentCommits: commits/s of 1, 4 and 8 writers, each with
//     its own DB (and its own store client), appending to one branch.
//
// The commit benchmarks run batches: one iteration is a batch of commits,
// and ns/op is overridden to be per commit. They only run with -bench; for
// MinIO set LAKESQL_TEST_S3_ENDPOINT and the AWS credential variables (or
// LAKESQL_TEST_S3=skip to leave it out), as for the tests.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/mem"
)

const (
	benchEntries      = 10000 // entries of the BenchmarkLog10k branch
	benchCkInterval   = 100   // its checkpoint interval
	benchVersionEvery = 10    // every this many entries creates a version
	benchTail         = 99    // entries past the newest checkpoint, worst case
	benchCopyParallel = 32    // object copies in flight when preparing a store
)

// benchBackends returns the backends of backends(), without mem unless
// withMem.
func benchBackends(withMem bool) []backend {
	var bs []backend
	for _, be := range backends() {
		if be.name != "mem" || withMem {
			bs = append(bs, be)
		}
	}
	return bs
}

// benchAdd is the blind append of file n: one data file with the statistics
// and key range a writer records, so checkpoint rows have a realistic size.
func benchAdd(prefix string, n int64) *Commit {
	c := appendFile("t1", fmt.Sprintf("data/t1/%s%06d.parquet", prefix, n), 1000)
	a := &c.Adds[0]
	a.Stats = []byte(fmt.Sprintf(`{"1":{"min":%d,"max":%d,"nulls":0},"2":{"min":"a","max":"z","nulls":3},"3":{"min":0.5,"max":99.5,"nulls":0}}`,
		n*1000, n*1000+999))
	a.KeyRange = &KeyRange{Min: []byte(fmt.Sprint(n * 1000)), Max: []byte(fmt.Sprint(n*1000 + 999))}
	a.DataChange = true
	return c
}

// buildBenchLog commits the 10,000-entry history to a mem store through the
// API: entry 1 creates the table (version 1), entries 2..10000 add one file
// each, every 10th creates a version, and every 100th writes a checkpoint.
func buildBenchLog(b *testing.B) *mem.Store {
	ctx := context.Background()
	st := mem.New()
	db, err := Create(ctx, st, "db", Options{CheckpointInterval: benchCkInterval, SyncCheckpoints: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	h := mustCommit(b, db, mustHead(b, db, MainBranch), createTable("t1", "t"))
	for n := int64(2); n <= benchEntries; n++ {
		c := benchAdd("f", n)
		c.CreatesVersion = n%benchVersionEvery == 0
		h = mustCommit(b, db, h, c)
	}
	if h.Entry() != benchEntries || h.Version() != 1+benchEntries/benchVersionEvery {
		b.Fatalf("built entry %d version %d", h.Entry(), h.Version())
	}
	return st
}

// copyStore copies every object below prefix from src to dst, in parallel.
func copyStore(ctx context.Context, dst, src store.Store, prefix string) (int, error) {
	var names []string
	for info, err := range src.List(ctx, prefix, "") {
		if err != nil {
			return 0, err
		}
		names = append(names, info.Name)
	}
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		errMu sync.Mutex
		first error
	)
	for range benchCopyParallel {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(names)); i = next.Add(1) - 1 {
				data, err := store.ReadAll(ctx, src, names[i])
				if err == nil {
					_, err = store.PutBytes(ctx, dst, names[i], data)
				}
				if err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return len(names), first
}

// countingStore counts a store's requests, and the IfAbsent puts that lost
// a race.
type countingStore struct {
	store.Store
	reqs, lost *atomic.Int64
}

func newCountingStore(st store.Store) *countingStore {
	return &countingStore{Store: st, reqs: new(atomic.Int64), lost: new(atomic.Int64)}
}

func (s *countingStore) Open(ctx context.Context, name string) (store.Object, error) {
	s.reqs.Add(1)
	return s.Store.Open(ctx, name)
}

func (s *countingStore) Stat(ctx context.Context, name string) (store.Info, error) {
	s.reqs.Add(1)
	return s.Store.Stat(ctx, name)
}

func (s *countingStore) List(ctx context.Context, prefix, startAfter string) iter.Seq2[store.Info, error] {
	s.reqs.Add(1)
	return s.Store.List(ctx, prefix, startAfter)
}

func (s *countingStore) Put(ctx context.Context, name string, r io.Reader, opts ...store.PutOption) (store.Info, error) {
	s.reqs.Add(1)
	info, err := s.Store.Put(ctx, name, r, opts...)
	if errors.Is(err, store.ErrPreconditionFailed) {
		s.lost.Add(1)
	}
	return info, err
}

// BenchmarkLog10k opens a 10,000-entry branch. The history is committed once
// to memory and copied to each backend (outside the timers).
func BenchmarkLog10k(b *testing.B) {
	start := time.Now()
	tmpl := buildBenchLog(b)
	b.Logf("committed %d entries to mem in %v", benchEntries, time.Since(start).Round(time.Millisecond))
	for _, be := range benchBackends(true) {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			raw, _ := be.open(b)
			start := time.Now()
			n, err := copyStore(ctx, raw, tmpl, "db/")
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("copied %d objects to %s in %v", n, be.name, time.Since(start).Round(time.Millisecond))
			st := newCountingStore(raw)

			openHead := func(b *testing.B, wantEntry int64) {
				reqs := st.reqs.Load()
				for b.Loop() {
					db, err := Open(ctx, st, "db", Options{})
					if err != nil {
						b.Fatal(err)
					}
					h, err := db.Head(ctx, MainBranch)
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if h.Entry() != wantEntry || h.State.Table("t1").FileCount() != int(wantEntry-1) {
						b.Fatalf("head at entry %d with %d files", h.Entry(), h.State.Table("t1").FileCount())
					}
					db.Close()
					b.StartTimer()
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/open")
				b.ReportMetric(float64(st.reqs.Load()-reqs)/float64(b.N), "reqs/op")
			}
			b.Run("open-head", func(b *testing.B) { openHead(b, benchEntries) })

			b.Run("open-v5", func(b *testing.B) {
				reqs := st.reqs.Load()
				for b.Loop() {
					db, err := Open(ctx, st, "db", Options{})
					if err != nil {
						b.Fatal(err)
					}
					s, err := db.AtVersion(ctx, MainBranch, 5)
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					// Version 5 is entry 40: the table and 38 files.
					if s.Version() != 5 || s.Entry() != 4*benchVersionEvery || s.State.Table("t1").FileCount() != 4*benchVersionEvery-1 {
						b.Fatalf("version %d at entry %d", s.Version(), s.Entry())
					}
					db.Close()
					b.StartTimer()
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/open")
				b.ReportMetric(float64(st.reqs.Load()-reqs)/float64(b.N), "reqs/op")
			})

			b.Run("refresh", func(b *testing.B) {
				db, err := Open(ctx, st, "db", Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				mustHead(b, db, MainBranch)
				reqs := st.reqs.Load()
				for b.Loop() {
					h, err := db.RefreshHead(ctx, MainBranch)
					if err != nil {
						b.Fatal(err)
					}
					if h.Entry() != benchEntries {
						b.Fatalf("head at entry %d", h.Entry())
					}
				}
				b.ReportMetric(float64(st.reqs.Load()-reqs)/float64(b.N), "reqs/op")
			})

			// The worst case: 99 entries past the newest checkpoint.
			db, err := Open(ctx, raw, "db", Options{CheckpointInterval: benchCkInterval})
			if err != nil {
				b.Fatal(err)
			}
			h := mustHead(b, db, MainBranch)
			for n := int64(1); n <= benchTail; n++ {
				h = mustCommit(b, db, h, benchAdd("tail", n))
			}
			db.Close()
			b.Run("open-head+99", func(b *testing.B) { openHead(b, benchEntries+benchTail) })
		})
	}
}

// commitBatch is how many commits one iteration of the commit benchmarks
// makes.
const commitBatch = 24

// reportCommits reports per-commit figures of a commit benchmark: ns/op
// (overriding the per-batch figure), commits/s and, given latencies, their
// median and 99th percentile.
func reportCommits(b *testing.B, commits int, lat []time.Duration) {
	if commits == 0 {
		return
	}
	el := b.Elapsed()
	b.ReportMetric(float64(el.Nanoseconds())/float64(commits), "ns/op")
	b.ReportMetric(float64(commits)/el.Seconds(), "commits/s")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1e3, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1e3, "p99-ms")
	}
}

// BenchmarkCommit: one writer's sequential blind appends, each on the head
// its previous commit left (default options: background checkpoints every
// 100 entries).
func BenchmarkCommit(b *testing.B) {
	for _, be := range benchBackends(true) {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			st, _ := be.open(b)
			db := mustCreate(b, st, Options{})
			mustCommit(b, db, mustHead(b, db, MainBranch), createTable("t1", "t"))
			var lat []time.Duration
			n := int64(0)
			for b.Loop() {
				for range commitBatch {
					n++
					t0 := time.Now()
					h, err := db.Head(ctx, MainBranch)
					if err == nil {
						_, err = db.Commit(ctx, h, benchAdd("f", n))
					}
					if err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
				}
			}
			reportCommits(b, len(lat), lat)
		})
	}
}

// concurrentBatch is how many commits one iteration of
// BenchmarkConcurrentCommits makes, shared out among its writers.
const concurrentBatch = 96

// BenchmarkConcurrentCommits: writers, each with its own DB (opened like a
// separate process, with its own store client where the backend has a URI),
// make blind appends to one branch as fast as they can. lost/commit is how
// many entry writes lost the race per commit made.
func BenchmarkConcurrentCommits(b *testing.B) {
	for _, be := range benchBackends(true) {
		b.Run(be.name, func(b *testing.B) {
			for _, writers := range []int{1, 4, 8} {
				b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
					benchConcurrent(b, be, writers)
				})
			}
		})
	}
}

func benchConcurrent(b *testing.B, be backend, writers int) {
	ctx := context.Background()
	st, uri := be.open(b)
	setupTable(b, st)
	reqs, lost := new(atomic.Int64), new(atomic.Int64)
	dbs := make([]*DB, writers)
	for i := range dbs {
		wst := st
		if uri != "" {
			var err error
			if wst, err = openBackendURI(be.name, uri); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { wst.Close() })
		}
		db, err := Open(ctx, &countingStore{Store: wst, reqs: reqs, lost: lost}, "db", Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	var (
		commits atomic.Int64 // tickets handed out, over all batches
		lat     = make([][]time.Duration, writers)
	)
	for b.Loop() {
		end := commits.Load() + concurrentBatch
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w, db := range dbs {
			wg.Go(func() {
				for {
					n := commits.Add(1)
					if n > end {
						commits.Add(-1)
						return
					}
					t0 := time.Now()
					h, err := db.Head(ctx, MainBranch)
					if err == nil {
						_, err = db.Commit(ctx, h, benchAdd(fmt.Sprintf("w%d-", w), n))
					}
					if err != nil {
						errs <- err
						return
					}
					lat[w] = append(lat[w], time.Since(t0))
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	all := slices.Concat(lat...)
	reportCommits(b, len(all), all)
	b.ReportMetric(float64(lost.Load())/float64(len(all)), "lost/commit")
}
