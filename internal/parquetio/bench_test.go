package parquetio

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store/local"
)

// The benchmarks use only the package's exported API, so that the same
// file runs against older versions of the package for comparisons.

var benchSchema = &base.Schema{Columns: []base.Column{
	{ID: 1, Name: "k", Type: "BIGINT"},
	{ID: 2, Name: "v", Type: "INT"},
	{ID: 3, Name: "d", Type: "DOUBLE"},
	{ID: 4, Name: "s", Type: "VARCHAR(16)"},
}}

// benchBatches builds rows [lo, hi) in batches of 64Ki directly with
// builders.
func benchBatches(lo, hi int) []arrow.Record {
	as, _ := ArrowSchema(benchSchema, nil)
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

const benchRows = 1 << 20

func benchString(buf []byte, k int) []byte { return fmt.Appendf(buf[:0], "v%015d", k*7919%1000003) }

func BenchmarkWrite(b *testing.B) {
	batches := benchBatches(0, benchRows)
	var size int64
	b.ResetTimer()
	for b.Loop() {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, benchSchema, WriterOptions{KeyColumns: []int{1}, RowGroupRows: 256 << 10, PageSize: 16 << 10})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range batches {
			if err := w.Write(r); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := w.Close(); err != nil {
			b.Fatal(err)
		}
		size = int64(buf.Len())
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(size), "file-bytes")
	b.SetBytes(benchRows * (8 + 4 + 8 + 16))
}

// benchTable is a key-sorted table of rows split into files of equal
// size, written with the default page size of key-sorted files, its files
// sharing one page cache.
type benchTable struct {
	rows  int
	files []*File
	first []int64 // the first key of each file
	cache *PageCache
}

var (
	tablesMu sync.Mutex
	tables   = map[[2]int]*benchTable{}
)

// The generated files are kept in os.TempDir()/lakesql-lookup-bench by
// their parameters and reused by later runs; scan/bench_test.go generates
// the same files into the same place: keep the generators identical, or
// change benchFilesVersion in both.
const (
	benchFilesVersion = 1
	benchRowGroupRows = 128 << 10
)

// benchDir returns the directory holding the table of rows in files
// b00.parquet, b01.parquet, ..., generating it when missing (in a
// temporary directory renamed into place, so a directory found there is
// complete).
func benchDir(b *testing.B, rows, files int) string {
	root := filepath.Join(os.TempDir(), "lakesql-lookup-bench")
	dir := filepath.Join(root, fmt.Sprintf("kv4-r%d-f%d-rg%d-v%d", rows, files, benchRowGroupRows, benchFilesVersion))
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
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
	per := rows / files
	for j := range files {
		lo, hi := j*per, (j+1)*per
		if j == files-1 {
			hi = rows
		}
		batches := benchBatches(lo, hi)
		if _, err := WriteFile(context.Background(), st, fmt.Sprintf("b%02d.parquet", j), benchSchema, batches,
			WriterOptions{KeyColumns: []int{1}, RowGroupRows: benchRowGroupRows}); err != nil {
			b.Fatal(err)
		}
		for _, r := range batches {
			r.Release()
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp) // another process published it first
	}
	return dir
}

func benchTableOf(b *testing.B, rows, files int) *benchTable {
	tablesMu.Lock()
	defer tablesMu.Unlock()
	if t := tables[[2]int{rows, files}]; t != nil {
		return t
	}
	st, err := local.Open(benchDir(b, rows, files))
	if err != nil {
		b.Fatal(err)
	}
	t := &benchTable{rows: rows, cache: NewPageCache(256 << 20)}
	per := rows / files
	for j := range files {
		f, err := OpenFile(context.Background(), st, fmt.Sprintf("b%02d.parquet", j), ReaderOptions{PageCache: t.cache})
		if err != nil {
			b.Fatal(err)
		}
		t.files = append(t.files, f)
		t.first = append(t.first, int64(j*per))
	}
	tables[[2]int{rows, files}] = t
	return t
}

var sizes = []struct {
	name string
	rows int
}{{"1M", benchRows}, {"10M", 10 * benchRows}}

func BenchmarkScan2Columns(b *testing.B) {
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			f := benchTableOf(b, sz.rows, 1).files[0]
			b.ResetTimer()
			for b.Loop() {
				rr, err := f.Read(context.Background(), ReadOptions{Columns: []int{1, 3}})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rr.Next() {
					n += int(rr.Record().NumRows())
				}
				rr.Close()
				if n != sz.rows {
					b.Fatal(n)
				}
			}
			b.ReportMetric(float64(sz.rows)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrows/s")
		})
	}
}

func BenchmarkFilteredCount(b *testing.B) {
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			f := benchTableOf(b, sz.rows, 1).files[0]
			b.ResetTimer()
			for b.Loop() {
				rr, err := f.Read(context.Background(), ReadOptions{Columns: []int{1}, Predicate: Cmp(2, OpLt, 10)})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rr.Next() {
					n += int(rr.Record().NumRows())
				}
				rr.Close()
				if want := (sz.rows/1000)*10 + min(sz.rows%1000, 10); n != want {
					b.Fatal(n, want)
				}
			}
			b.ReportMetric(float64(sz.rows)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrows/s")
		})
	}
}

// BenchmarkPointLookup measures Encode + KeyIndex.Lookup + ReadRows of all
// 4 columns, the caller probing only the file whose key range holds the
// key, the files sharing a 256 MiB page cache. "hot" repeats a working set
// of 1000 keys already looked up once (warm caches); "fresh" looks up
// random keys not looked up before (a page of each column usually has to
// be read and decoded, less so as the cache fills). scan's
// BenchmarkLookup measures the same through scan.Reader.Lookup, and with
// no cache.
func BenchmarkPointLookup(b *testing.B) {
	for _, tc := range []struct {
		name        string
		rows, files int
	}{{"1M", benchRows, 1}, {"10Mx1file", 10 * benchRows, 1}, {"10Mx20files", 10 * benchRows, 20}} {
		t := benchTableOf(b, tc.rows, tc.files)
		ctx := context.Background()
		kis := make([]*KeyIndex, len(t.files))
		for i, f := range t.files {
			ki, err := f.KeyIndex(ctx)
			if err != nil {
				b.Fatal(err)
			}
			kis[i] = ki
		}
		enc, _ := NewKeyEncoder(benchSchema, []int{1})
		var sbuf []byte
		lookup := func(k int64) {
			j := sort.Search(len(t.first), func(j int) bool { return t.first[j] > k }) - 1
			key, _ := enc.Encode(k)
			pos, ok := kis[j].Lookup(key)
			if !ok {
				b.Fatal("missing")
			}
			rec, err := t.files[j].ReadRows(ctx, []int64{pos}, nil, memory.DefaultAllocator)
			if err != nil {
				b.Fatal(err)
			}
			sbuf = benchString(sbuf, int(k))
			if rec.NumRows() != 1 || rec.Column(0).(*array.Int64).Value(0) != k ||
				rec.Column(3).(*array.String).Value(0) != string(sbuf) {
				b.Fatal("wrong row")
			}
			rec.Release()
		}
		report := func(b *testing.B, n int, before PageCacheStats) {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(n), "µs/lookup")
			after := t.cache.Stats()
			hits, misses := after.Hits-before.Hits, after.Misses-before.Misses
			b.ReportMetric(100*float64(hits)/float64(max(hits+misses, 1)), "%page-hits")
		}
		const hot = 1000
		b.Run(tc.name+"/hot", func(b *testing.B) {
			rnd := rand.New(rand.NewPCG(uint64(tc.rows), uint64(tc.files)))
			keys := make([]int64, hot)
			for i := range keys {
				keys[i] = rnd.Int64N(int64(tc.rows))
				lookup(keys[i])
			}
			before := t.cache.Stats()
			n := 0
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				lookup(keys[n%hot])
				n++
			}
			report(b, n, before)
		})
		b.Run(tc.name+"/fresh", func(b *testing.B) {
			rnd := rand.New(rand.NewPCG(uint64(tc.rows)+1, uint64(tc.files)))
			before := t.cache.Stats()
			n := 0
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				lookup(rnd.Int64N(int64(tc.rows)))
				n++
			}
			report(b, n, before)
		})
	}
}

// benchWords returns n BIGINT keys as words, sorted, in two shapes: dense
// ids, and a flushed file's (half old keys spread thin over 16 times the
// range, half new dense ones above them).
func benchWords(rnd *rand.Rand, n int) (dense, mixed []uint64) {
	dense, mixed = make([]uint64, n), make([]uint64, n)
	for i := range n {
		dense[i] = 1<<63 + uint64(i)
		if i < n/2 {
			mixed[i] = 1<<63 + uint64(rnd.Int64N(16*int64(n)))
		} else {
			mixed[i] = 1<<63 + 16*uint64(n) + uint64(i)
		}
	}
	slices.Sort(mixed)
	return dense, mixed
}

// BenchmarkLookupWord: one KeyIndex lookup in an index of 1M BIGINT keys,
// dense ids (interpolation, and the fence search it replaces) and a
// flushed file's shape (half old keys spread thin, half new dense ones:
// the fence search).
func BenchmarkLookupWord(b *testing.B) {
	const n = 1 << 20
	rnd := rand.New(rand.NewPCG(3, 4))
	dense, mixed := benchWords(rnd, n)
	for _, c := range []struct {
		name  string
		words []uint64
		even  bool
	}{{"dense/even", dense, true}, {"dense/fence", dense, false}, {"mixed/fence", mixed, false}} {
		b.Run(c.name, func(b *testing.B) {
			k := newWordIndex(c.words)
			if isDense := &c.words[0] == &dense[0]; k.even != isDense {
				b.Fatalf("evenly spread: %v, want %v", k.even, isDense)
			}
			k.even = c.even
			wants := make([]uint64, 1<<20)
			for i := range wants {
				wants[i] = c.words[rnd.IntN(n)]
			}
			i := 0
			for b.Loop() {
				if _, ok := k.lookupWord(wants[i&(1<<20-1)]); !ok {
					b.Fatal("not found")
				}
				i++
			}
		})
	}
}

// BenchmarkLookupSorted: a writer's batch of 500 sorted keys looked up in
// an index of 4M BIGINT keys (32 MiB, beyond the CPU caches), one Lookup
// after the other or with LookupSorted, for dense ids (interpolation over
// the whole index) and a flushed file's shape (the fence); ns/key.
func BenchmarkLookupSorted(b *testing.B) {
	const n, batch = 1 << 22, 500
	rnd := rand.New(rand.NewPCG(5, 6))
	dense, mixed := benchWords(rnd, n)
	for _, c := range []struct {
		name  string
		words []uint64
	}{{"dense", dense}, {"mixed", mixed}} {
		k := newWordIndex(c.words)
		// Batches of sorted keys, enough of them to leave the caches cold.
		batches := make([][]Key, 256)
		for i := range batches {
			ws := make([]uint64, batch)
			for j := range ws {
				ws[j] = c.words[rnd.IntN(n)]
			}
			slices.Sort(ws)
			for _, w := range ws {
				batches[i] = append(batches[i], Key(binary.BigEndian.AppendUint64(nil, w)))
			}
		}
		pos, found := make([]int64, batch), make([]bool, batch)
		for _, mode := range []string{"one-by-one", "sorted"} {
			b.Run(c.name+"/"+mode, func(b *testing.B) {
				i := 0
				for b.Loop() {
					keys := batches[i%len(batches)]
					if mode == "sorted" {
						k.LookupSorted(keys, pos, found)
					} else {
						for j, key := range keys {
							pos[j], found[j] = k.Lookup(key)
						}
					}
					if !found[batch-1] {
						b.Fatal("not found")
					}
					i++
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/key")
			})
		}
	}
}
