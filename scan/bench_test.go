package scan

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/txn"
)

// The lookup benchmark's table: (k BIGINT key, v INT, d DOUBLE, s
// VARCHAR(16)), keys 0..rows-1, split into files of disjoint key ranges.
// The same generator (and directory naming) is in
// internal/parquetio/bench_test.go: keep them identical, or change
// benchFilesVersion in both.

var benchSchema = &base.Schema{Columns: []base.Column{
	{ID: 1, Name: "k", Type: "BIGINT"},
	{ID: 2, Name: "v", Type: "INT"},
	{ID: 3, Name: "d", Type: "DOUBLE"},
	{ID: 4, Name: "s", Type: "VARCHAR(16)"},
}}

const (
	benchFilesVersion  = 1
	benchRowGroupRows  = 128 << 10
	benchMillion       = 1 << 20
	benchLookupHotKeys = 1000
)

func benchString(buf []byte, k int) []byte { return fmt.Appendf(buf[:0], "v%015d", k*7919%1000003) }

// benchBatches builds rows [lo, hi) in batches of 64Ki.
func benchBatches(lo, hi int) []arrow.Record {
	as, _ := parquetio.ArrowSchema(benchSchema, nil)
	var out []arrow.Record
	var sbuf []byte
	for blo := lo; blo < hi; blo += 1 << 16 {
		bhi := min(hi, blo+1<<16)
		b := array.NewRecordBuilder(memory.DefaultAllocator, as)
		for i := blo; i < bhi; i++ {
			b.Field(0).(*array.Int64Builder).Append(int64(i))
			b.Field(1).(*array.Int32Builder).Append(int32(i % 1000))
			b.Field(2).(*array.Float64Builder).Append(float64(i) * 0.5)
			sbuf = benchString(sbuf, i)
			b.Field(3).(*array.StringBuilder).BinaryBuilder.Append(sbuf)
		}
		out = append(out, b.NewRecord())
		b.Release()
	}
	return out
}

// benchFiles returns a local store holding the table of rows in files
// b00.parquet, b01.parquet, ... (rows/files each, the last takes the
// rest). The files are generated once into
// os.TempDir()/lakesql-lookup-bench/<parameters> (built in a temporary
// directory and renamed into place, so a directory found there is
// complete) and reused by later runs.
func benchFiles(b *testing.B, rows, files int) (store.Store, []*txn.Add) {
	root := filepath.Join(os.TempDir(), "lakesql-lookup-bench")
	dir := filepath.Join(root, fmt.Sprintf("kv4-r%d-f%d-rg%d-v%d", rows, files, benchRowGroupRows, benchFilesVersion))
	if _, err := os.Stat(dir); err != nil {
		if err := os.MkdirAll(root, 0o755); err != nil {
			b.Fatal(err)
		}
		tmp, err := os.MkdirTemp(root, "gen-")
		if err != nil {
			b.Fatal(err)
		}
		st, err := local.Open(tmp)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		per := rows / files
		for j := range files {
			lo, hi := j*per, (j+1)*per
			if j == files-1 {
				hi = rows
			}
			batches := benchBatches(lo, hi)
			if _, err := parquetio.WriteFile(context.Background(), st, fmt.Sprintf("b%02d.parquet", j), benchSchema, batches,
				parquetio.WriterOptions{KeyColumns: []int{1}, RowGroupRows: benchRowGroupRows}); err != nil {
				b.Fatal(err)
			}
			for _, r := range batches {
				r.Release()
			}
		}
		if err := os.Rename(tmp, dir); err != nil {
			os.RemoveAll(tmp) // another process published it first
		}
		b.Logf("generated %s in %v", dir, time.Since(start).Round(time.Millisecond))
	}
	st, err := local.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	var adds []*txn.Add
	per := rows / files
	for j := range files {
		n := per
		if j == files-1 {
			n = rows - j*per
		}
		name := fmt.Sprintf("b%02d.parquet", j)
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		adds = append(adds, &txn.Add{Table: "t", Path: name, Rows: int64(n), Bytes: fi.Size(), Generation: int64(j + 1)})
	}
	return st, adds
}

var benchStores struct {
	sync.Mutex
	m map[[2]int]benchStore
}

type benchStore struct {
	st   store.Store
	adds []*txn.Add
}

func benchTable(b *testing.B, rows, files int) (store.Store, *Table) {
	benchStores.Lock()
	defer benchStores.Unlock()
	s, ok := benchStores.m[[2]int{rows, files}]
	if !ok {
		s.st, s.adds = benchFiles(b, rows, files)
		if benchStores.m == nil {
			benchStores.m = map[[2]int]benchStore{}
		}
		benchStores.m[[2]int{rows, files}] = s
	}
	return s.st, &Table{Schema: benchSchema, Files: s.adds}
}

// BenchmarkLookup measures Reader.Lookup of all 4 columns by key (encode
// the key, find the file by key range, binary search its key index, fetch
// the row's columns), in µs per lookup:
//
//   - hot: a working set of 1000 keys, looked up once before timing, then
//     over and over (warm page cache);
//   - fresh: random keys never looked up before, the page cache filling
//     up as the run goes (a page of each column is usually read and
//     decoded);
//   - nocache: random keys with no page cache at all (every lookup reads
//     and decodes a page of each column: the cold cost).
//
// Files, footers and key indexes are loaded before timing in every case.
// The tables are 1M rows in 1 file, 10M rows in 1 file and 10M rows in 20
// files of 500k disjoint keys each (only the file whose key range holds
// the key is searched).
func BenchmarkLookup(b *testing.B) {
	ctx := context.Background()
	enc, err := parquetio.NewKeyEncoder(benchSchema, []int{1})
	if err != nil {
		b.Fatal(err)
	}
	var sbuf []byte
	lookup := func(b *testing.B, r *Reader, t *Table, k int64) {
		key, err := enc.Encode(k)
		if err != nil {
			b.Fatal(err)
		}
		rec, _, found, err := r.Lookup(ctx, t, key, nil, nil)
		if err != nil || !found {
			b.Fatal("lookup", k, found, err)
		}
		sbuf = benchString(sbuf, int(k))
		if rec.NumRows() != 1 || rec.Column(0).(*array.Int64).Value(0) != k ||
			rec.Column(1).(*array.Int32).Value(0) != int32(k%1000) ||
			rec.Column(3).(*array.String).Value(0) != string(sbuf) {
			b.Fatal("wrong row for key", k)
		}
		rec.Release()
	}
	for _, tc := range []struct {
		name        string
		rows, files int
	}{{"1Mx1file", benchMillion, 1}, {"10Mx1file", 10 * benchMillion, 1}, {"10Mx20files", 10 * benchMillion, 20}} {
		// One Reader per mode, set up on first use and kept across the
		// runs of its benchmark: files open, key indexes loaded.
		readers := map[string]*Reader{}
		var keys []int64
		reader := func(b *testing.B, mode string) (*Reader, *Table) {
			st, t := benchTable(b, tc.rows, tc.files)
			if r := readers[mode]; r != nil {
				return r, t
			}
			opts := Options{}
			if mode == "nocache" {
				opts.PageCacheBytes = -1
			}
			r := NewReader(st, "", opts)
			readers[mode] = r
			for j := range tc.files {
				lookup(b, r, t, int64(j*(tc.rows/tc.files)))
			}
			if mode == "hot" {
				rnd := rand.New(rand.NewPCG(uint64(tc.rows), uint64(tc.files)))
				for range benchLookupHotKeys {
					keys = append(keys, rnd.Int64N(int64(tc.rows)))
				}
				for _, k := range keys {
					lookup(b, r, t, k)
				}
			}
			return r, t
		}
		rnd := rand.New(rand.NewPCG(uint64(tc.rows)+1, uint64(tc.files)))
		for _, mode := range []string{"hot", "fresh", "nocache"} {
			b.Run(tc.name+"/"+mode, func(b *testing.B) {
				r, t := reader(b, mode)
				before := r.PageCache().Stats()
				n := 0
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if mode == "hot" {
						lookup(b, r, t, keys[n%len(keys)])
					} else {
						lookup(b, r, t, rnd.Int64N(int64(tc.rows)))
					}
					n++
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(n), "µs/lookup")
				if pc := r.PageCache(); pc != nil {
					after := pc.Stats()
					hits, misses := after.Hits-before.Hits, after.Misses-before.Misses
					b.ReportMetric(100*float64(hits)/float64(max(hits+misses, 1)), "%page-hits")
					b.ReportMetric(float64(after.Bytes)/(1<<20), "MiB-cached")
				}
			})
		}
		for _, r := range readers {
			r.Close()
		}
	}
}
