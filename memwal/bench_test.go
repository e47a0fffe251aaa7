package memwal

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/scan"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/store/mem"
	"github.com/lakesql/lakesql/store/s3/s3test"
)

// Benchmarks of the branch writer on table t1 (id BIGINT PRIMARY KEY,
// v BIGINT, s VARCHAR(16)) of newDB, on store/mem, store/local and MinIO
// (s3test: LAKESQL_TEST_S3_ENDPOINT and the AWS variables;
// LAKESQL_TEST_S3=skip skips it). Each benchmark loads its fixture once
// (b.Loop) and sizes one op so that -benchtime 3x measures something:
//
//	BenchmarkUpsert    one op = 200 transactions of 1,000 upserts (half of
//	                   the keys in files, half new), each durable at Commit
//	BenchmarkLookup    one op = 1,000 Snapshot.Lookups
//	BenchmarkScan      one op = 5 full scans of a 1M-row table while a
//	                   writer upserts
//	BenchmarkRecovery  one op = Open (takeover and replay) of a 64 MiB WAL
//	                   (1 GiB with LAKESQL_BENCH_BIG=1)

const (
	benchBaseRows    = 1_000_000 // rows loaded into files before measuring
	benchBatchRows   = 1_000     // rows per upsert transaction
	benchRoundTxns   = 200       // upsert transactions per BenchmarkUpsert op
	benchLookupsOp   = 1_000     // lookups per BenchmarkLookup op
	benchScansOp     = 5         // full scans per BenchmarkScan op
	benchLoadTxnRows = 10_000    // rows per transaction while loading
)

type benchStore struct {
	name string
	open func(b *testing.B) store.Store
}

func benchStores() []benchStore {
	return []benchStore{
		{"mem", func(b *testing.B) store.Store { return mem.New() }},
		{"local", func(b *testing.B) store.Store {
			st, err := local.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		}},
		{"minio", func(b *testing.B) store.Store {
			st, _ := s3test.NewStore(b)
			return st
		}},
	}
}

// benchStrings are the values of column s, so that building rows costs no
// formatting.
var benchStrings = func() []string {
	out := make([]string, 1024)
	for i := range out {
		out[i] = fmt.Sprintf("value-%05d", i)
	}
	return out
}()

func benchRow(id, v int64) []any { return []any{id, v, benchStrings[id&1023]} }

// benchOpen opens the writer of main on a fresh database in st.
func benchOpen(b *testing.B, st store.Store, opts Options) *Branch {
	db := newDB(b, st)
	opts.Logger = quiet()
	br, err := Open(context.Background(), db, "main", opts)
	if err != nil {
		b.Fatal(err)
	}
	return br
}

// benchPut commits one transaction upserting ids (with v).
func benchPut(ctx context.Context, br *Branch, ids []int64, v int64) error {
	tx, err := br.Begin()
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.Put("t1", benchRow(id, v)); err != nil {
			tx.Rollback()
			return err
		}
	}
	_, err = tx.Commit(ctx)
	return err
}

// benchLoad writes the rows [from, to) in transactions of
// benchLoadTxnRows and flushes them into files.
func benchLoad(b *testing.B, br *Branch, from, to int64) {
	ctx := context.Background()
	ids := make([]int64, 0, benchLoadTxnRows)
	for lo := from; lo < to; lo += benchLoadTxnRows {
		ids = ids[:0]
		for id := lo; id < min(lo+benchLoadTxnRows, to); id++ {
			ids = append(ids, id)
		}
		if err := benchPut(ctx, br, ids, 0); err != nil {
			b.Fatal(err)
		}
	}
	if err := br.Flush(ctx); err != nil {
		b.Fatal(err)
	}
}

// benchUpserter writes upsert batches: half of the keys drawn from the
// base rows [0, base) that are in files, half new. Writer w of n draws
// only keys congruent to w modulo n, so concurrent writers never conflict.
type benchUpserter struct {
	br      *Branch
	base    int64
	w, n    int64
	next    int64 // counts this writer's new keys
	rnd     *rand.Rand
	ids     []int64
	v       int64
	retries int
}

func newBenchUpserter(br *Branch, base int64, w, n int) *benchUpserter {
	return &benchUpserter{br: br, base: base, w: int64(w), n: int64(n),
		rnd: rand.New(rand.NewPCG(uint64(w)+1, 7)), ids: make([]int64, 0, benchBatchRows)}
}

func (u *benchUpserter) batch(ctx context.Context) error {
	u.ids = u.ids[:0]
	for range benchBatchRows / 2 {
		u.ids = append(u.ids, u.rnd.Int64N(u.base/u.n)*u.n+u.w)
	}
	for range benchBatchRows - benchBatchRows/2 {
		u.ids = append(u.ids, u.base+u.next*u.n+u.w)
		u.next++
	}
	u.v++
	for {
		err := benchPut(ctx, u.br, u.ids, u.v)
		if !errors.Is(err, ErrConflict) {
			return err
		}
		u.retries++
	}
}

func benchFiles(br *Branch) int {
	return br.Head().State.Table("t1").FileCount()
}

// BenchmarkUpsert: in-process upsert throughput, transactions of 1,000 rows
// durable at Commit, half of the keys in files, half new, with 1 and 4
// concurrent sessions; runs through background flushes (FlushBytes 32 MiB)
// and the merges after them; "files" is the table's file count at the end.
func BenchmarkUpsert(b *testing.B) {
	for _, s := range benchStores() {
		b.Run(s.name, func(b *testing.B) {
			for _, writers := range []int{1, 4} {
				b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
					benchUpsert(b, s, writers)
				})
			}
		})
	}
}

func benchUpsert(b *testing.B, s benchStore, writers int) {
	ctx := context.Background()
	st := s.open(b)
	var flushes atomic.Int64
	br := benchOpen(b, st, Options{Hook: func(point string) {
		if point == "flush-committed" {
			flushes.Add(1)
		}
	}})
	defer br.Close(ctx)
	benchLoad(b, br, 0, benchBaseRows)
	flushes0 := flushes.Load()
	ups := make([]*benchUpserter, writers)
	for w := range ups {
		ups[w] = newBenchUpserter(br, benchBaseRows, w, writers)
	}
	m0 := br.w.Metrics()
	cpu0 := base.ProcessCPU()
	var lat time.Duration
	for b.Loop() {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := range writers {
			wg.Go(func() {
				var mine time.Duration
				for range benchRoundTxns / writers {
					t := time.Now()
					if err := ups[w].batch(ctx); err != nil {
						b.Error(err)
						return
					}
					mine += time.Since(t)
				}
				mu.Lock()
				lat += mine
				mu.Unlock()
			})
		}
		wg.Wait()
		if b.Failed() {
			b.FailNow()
		}
	}
	elapsed := b.Elapsed()
	cpu := base.ProcessCPU() - cpu0
	txns := float64(b.N * (benchRoundTxns / writers) * writers)
	m := br.w.Metrics()
	retries := 0
	for _, u := range ups {
		retries += u.retries
	}
	b.ReportMetric(txns*benchBatchRows/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(lat.Microseconds())/txns, "µs/commit")
	b.ReportMetric(float64(cpu.Nanoseconds())/txns/benchBatchRows, "cpu-ns/row")
	b.ReportMetric(float64(flushes.Load()-flushes0), "flushes")
	b.ReportMetric(float64(benchFiles(br)), "files")
	b.ReportMetric(float64(m.Records-m0.Records)/float64(max(m.Segments-m0.Segments, 1)), "txns/segment")
	b.ReportMetric(float64(m.Bytes-m0.Bytes)/txns/benchBatchRows, "walB/row")
	if retries > 0 {
		b.ReportMetric(float64(retries), "conflicts")
	}
}

// BenchmarkLookup: Snapshot.Lookup latency of keys in the MemTable
// (written, not flushed) and of keys only in files. The table has 1M rows
// in 4 files and 100,000 newer rows in the MemTable.
func BenchmarkLookup(b *testing.B) {
	const memRows = 100_000
	for _, s := range benchStores() {
		b.Run(s.name, func(b *testing.B) {
			ctx := context.Background()
			st := s.open(b)
			br := benchOpen(b, st, Options{FlushBytes: 1 << 40})
			defer br.Close(ctx)
			for q := range int64(4) {
				benchLoad(b, br, q*benchBaseRows/4, (q+1)*benchBaseRows/4)
			}
			u := newBenchUpserter(br, benchBaseRows, 0, 1)
			inMem := map[int64]bool{}
			for range memRows / benchBatchRows {
				if err := u.batch(ctx); err != nil {
					b.Fatal(err)
				}
				for _, id := range u.ids[:benchBatchRows/2] {
					inMem[id] = true
				}
			}
			// The MemTable holds the new keys [base, base+memRows/2) and the
			// base keys the upserter drew; files-only keys are the others.
			memKeys := func(r *rand.Rand) int64 { return benchBaseRows + r.Int64N(memRows/2) }
			fileKeys := func(r *rand.Rand) int64 {
				for {
					if id := r.Int64N(benchBaseRows); !inMem[id] {
						return id
					}
				}
			}
			for _, c := range []struct {
				name string
				pick func(*rand.Rand) int64
			}{{"memtable", memKeys}, {"files", fileKeys}} {
				b.Run(c.name, func(b *testing.B) {
					snap, err := br.Snapshot()
					if err != nil {
						b.Fatal(err)
					}
					defer snap.Close()
					r := rand.New(rand.NewPCG(1, 2))
					keys := make([]parquetio.Key, 100_000)
					tx, _ := br.Begin()
					for i := range keys {
						keys[i], _ = tx.Key("t1", c.pick(r))
					}
					tx.Rollback()
					i := 0
					for b.Loop() {
						for range benchLookupsOp {
							_, found, err := snap.Lookup(ctx, "t1", keys[i%len(keys)])
							if err != nil || !found {
								b.Fatalf("lookup: found %v, %v", found, err)
							}
							i++
						}
					}
					b.ReportMetric(b.Elapsed().Seconds()*1e6/float64(b.N*benchLookupsOp), "µs/lookup")
					b.ReportMetric(float64(b.N*benchLookupsOp)/b.Elapsed().Seconds(), "lookups/s")
				})
			}
		})
	}
}

// BenchmarkScan: full scans (all columns) of a 1M-row table while a writer
// session upserts batches of 1,000 rows (half in files, half new) with
// background flushes.
func BenchmarkScan(b *testing.B) {
	for _, s := range benchStores() {
		b.Run(s.name, func(b *testing.B) {
			ctx := context.Background()
			st := s.open(b)
			br := benchOpen(b, st, Options{})
			defer br.Close(ctx)
			benchLoad(b, br, 0, benchBaseRows)
			stop := make(chan struct{})
			var written atomic.Int64
			var wg sync.WaitGroup
			wg.Go(func() {
				u := newBenchUpserter(br, benchBaseRows, 0, 1)
				for {
					select {
					case <-stop:
						return
					default:
					}
					if err := u.batch(ctx); err != nil {
						b.Error(err)
						return
					}
					written.Add(benchBatchRows)
				}
			})
			for written.Load() < 5*benchBatchRows && !b.Failed() {
				time.Sleep(time.Millisecond) // the writer is warm
			}
			var rows int64
			var w0 int64
			first := true
			for b.Loop() {
				if first {
					w0, first = written.Load(), false
				}
				for range benchScansOp {
					snap, err := br.Snapshot()
					if err != nil {
						b.Fatal(err)
					}
					it, err := snap.Scan(ctx, "t1", scan.Request{Columns: []int{1, 2, 3}})
					if err != nil {
						b.Fatal(err)
					}
					n := int64(0)
					for it.Next() {
						n += it.Record().NumRows()
					}
					if err := it.Err(); err != nil {
						b.Fatal(err)
					}
					it.Close()
					snap.Close()
					if n < benchBaseRows {
						b.Fatalf("scan saw %d rows, want at least %d", n, benchBaseRows)
					}
					rows += n
				}
			}
			w1 := written.Load()
			close(stop)
			wg.Wait()
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(rows)/sec, "rows/s")
			b.ReportMetric(float64(rows)/float64(b.N*benchScansOp), "rows/scan")
			b.ReportMetric(sec*1e3/float64(b.N*benchScansOp), "ms/scan")
			b.ReportMetric(float64(w1-w0)/sec, "written-rows/s")
		})
	}
}

// BenchmarkRecovery: Open of a branch whose previous writer crashed
// (Abandon) after writing a WAL of 64 MiB (1 GiB with LAKESQL_BENCH_BIG=1)
// without flushing, on a table with 1M rows in files: half of the WAL's
// keys are in the files, half new. Each op replays the same WAL (the
// writer it opens is abandoned in turn, untimed).
func BenchmarkRecovery(b *testing.B) {
	walBytes := int64(64 << 20)
	if os.Getenv("LAKESQL_BENCH_BIG") == "1" {
		walBytes = 1 << 30
	}
	if mib, err := strconv.Atoi(os.Getenv("LAKESQL_BENCH_WAL_MIB")); err == nil && mib > 0 {
		walBytes = int64(mib) << 20
	}
	for _, s := range benchStores() {
		b.Run(fmt.Sprintf("%s/wal=%dMiB", s.name, walBytes>>20), func(b *testing.B) {
			ctx := context.Background()
			st := s.open(b)
			opts := Options{FlushBytes: 1 << 50, Logger: quiet()}
			br := benchOpen(b, st, opts)
			db := br.db
			benchLoad(b, br, 0, benchBaseRows)
			m0 := br.w.Metrics()
			u := newBenchUpserter(br, benchBaseRows, 0, 1)
			// Sessions in parallel so the WAL fills in a reasonable time.
			var wal int64
			genStart := time.Now()
			for wal < walBytes {
				var wg sync.WaitGroup
				for range 4 {
					wg.Go(func() {
						if err := u.batchLocked(ctx); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
				if b.Failed() {
					b.FailNow()
				}
				wal = br.w.Metrics().Bytes - m0.Bytes
			}
			records := br.w.Metrics().Records - m0.Records
			b.Logf("wrote a WAL of %d MiB (%d records) in %s", wal>>20, records, time.Since(genStart).Round(time.Millisecond))
			if err := br.Abandon(); err != nil {
				b.Fatal(err)
			}
			br, u = nil, nil
			for b.Loop() {
				nb, err := Open(ctx, db, "main", opts)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if got := nb.mu.live.Len(); got < records*benchBatchRows/2 {
					b.Fatalf("replayed %d versions from %d records", got, records)
				}
				if err := nb.Abandon(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(sec, "s/recovery")
			b.ReportMetric(float64(wal)/1e6/sec, "MB/s")
			b.ReportMetric(float64(records*benchBatchRows)/sec, "rows/s")
		})
	}
}

// batchLocked is batch for several goroutines sharing one upserter: the
// keys are drawn under a lock, the commit runs outside it.
func (u *benchUpserter) batchLocked(ctx context.Context) error {
	benchUpserterMu.Lock()
	ids := make([]int64, 0, benchBatchRows)
	for range benchBatchRows / 2 {
		ids = append(ids, u.rnd.Int64N(u.base))
	}
	for range benchBatchRows - benchBatchRows/2 {
		ids = append(ids, u.base+u.next)
		u.next++
	}
	u.v++
	v := u.v
	benchUpserterMu.Unlock()
	for {
		err := benchPut(ctx, u.br, ids, v)
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
}

var benchUpserterMu sync.Mutex
