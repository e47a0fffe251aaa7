// Package bench compares lakesql's Parquet scan (internal/parquetio) with
// DuckDB on the same file, measures lakesql's write throughput and the
// cost of deletion vectors, and compares `lakesql import` of a CSV and a
// Parquet file with DuckDB's load of them (importdata.go). It is a separate module so that the main module
// stays pure Go: DuckDB is a cgo dependency of this module only.
//
// The data is the table
//
//	t(id BIGINT PRIMARY KEY, k INT, v DOUBLE, s VARCHAR(16))
//
// with id = 0..N-1 (the file is sorted by it), k uniform in 0..999, v
// uniform in [0, 1) and s a 16-character string of one of a million
// values. Every value is a pure function of the row's id (see Row), so the
// expected answers of the benchmark queries can be computed in Go without
// reading the file, and the compacted file (the rows that the deletion
// vectors leave) holds exactly the same values as the full one.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
)

// Column ids of Schema.
const (
	IDCol = 1 // id BIGINT, the primary key
	KCol  = 2 // k INT, 0..999
	VCol  = 3 // v DOUBLE, uniform in [0, 1)
	SCol  = 4 // s VARCHAR(16)
)

// Schema is the benchmark table's schema.
var Schema = &base.Schema{
	Columns: []base.Column{
		{ID: IDCol, Name: "id", Type: "BIGINT"},
		{ID: KCol, Name: "k", Type: "INT"},
		{ID: VCol, Name: "v", Type: "DOUBLE"},
		{ID: SCol, Name: "s", Type: "VARCHAR(16)"},
	},
	NextColumnID: 5,
}

// RowBytes is the logical size of one row (8 + 4 + 8 + 16 bytes): what the
// write throughput in MB/s is measured against.
const RowBytes = 8 + 4 + 8 + 16

// genVersion names the generator in the cached files' names: change it when
// Row or DeletedRows change so that stale files are not reused.
const genVersion = "v1"

// BatchRows is the number of rows per Arrow record the generator writes.
const BatchRows = 64 << 10

func mix64(x uint64) uint64 { // splitmix64's finalizer
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Row returns the values of row id: k, v and s (written into s, which must
// hold 16 bytes).
func Row(id int64, s []byte) (k int32, v float64) {
	h := mix64(uint64(id) ^ 0x6c616b6573716c00)
	k = int32(h % 1000)
	h2 := mix64(h)
	v = float64(h2>>11) * 0x1p-53
	n := mix64(h2) % 1_000_000
	s[0] = 's'
	for i := 15; i >= 1; i-- {
		s[i] = byte('0' + n%10)
		n /= 10
	}
	return k, v
}

// Answers are the expected results of the benchmark queries.
type Answers struct {
	Rows       int64   // COUNT(*)
	SumID      int64   // SUM(id)
	SumV       float64 // SUM(v)
	CountVGt05 int64   // COUNT(*) WHERE v > 0.5
}

// Expected computes the answers over rows 0..n-1 less deleted (nil: none).
func Expected(n int64, deleted *roaring.Bitmap) Answers {
	var a Answers
	var s [16]byte
	for id := range n {
		if deleted != nil && deleted.Contains(uint32(id)) {
			continue
		}
		_, v := Row(id, s[:])
		a.Rows++
		a.SumID += id
		a.SumV += v
		if v > 0.5 {
			a.CountVGt05++
		}
	}
	return a
}

// DVGenerations and DVFraction shape the deletion vectors: DVGenerations
// generations, each deleting DVFraction of the file's rows among those the
// earlier generations left.
const (
	DVGenerations = 8
	DVFraction    = 0.01
)

// DeletedRows returns the union of the deletion vectors of DVGenerations
// generations over a file of n rows: random positions (a fixed seed), each
// generation deleting n*DVFraction rows still live, so the union holds
// about 8 % of the rows.
func DeletedRows(n int64) *roaring.Bitmap {
	if n >= 1<<32 {
		panic("bench: more than 2^32 rows")
	}
	r := rand.New(rand.NewPCG(20260101, uint64(n)))
	bm := roaring.New()
	per := int64(float64(n) * DVFraction)
	for range DVGenerations {
		gen := roaring.New()
		for added := int64(0); added < per; {
			p := uint32(r.Int64N(n))
			if !bm.Contains(p) && gen.CheckedAdd(p) {
				added++
			}
		}
		bm.Or(gen)
	}
	bm.RunOptimize()
	return bm
}

// Batches builds the rows lo..hi-1 less deleted (nil: none) as Arrow records
// of at most BatchRows rows with the columns of parquetio.ArrowSchema(Schema).
// The caller releases them.
func Batches(lo, hi int64, deleted *roaring.Bitmap, yield func(arrow.Record) error) error {
	as, err := parquetio.ArrowSchema(Schema, nil)
	if err != nil {
		return err
	}
	ids := make([]int64, 0, BatchRows)
	ks := make([]int32, 0, BatchRows)
	vs := make([]float64, 0, BatchRows)
	offs := make([]int32, 1, BatchRows+1)
	data := make([]byte, 0, BatchRows*16)
	flush := func() error {
		n := len(ids)
		if n == 0 {
			return nil
		}
		// The buffers are copied: the records outlive this batch's slices.
		idArr := array.NewInt64Data(array.NewData(arrow.PrimitiveTypes.Int64, n,
			[]*memory.Buffer{nil, memory.NewBufferBytes(clone(arrow.Int64Traits.CastToBytes(ids)))}, nil, 0, 0))
		kArr := array.NewInt32Data(array.NewData(arrow.PrimitiveTypes.Int32, n,
			[]*memory.Buffer{nil, memory.NewBufferBytes(clone(arrow.Int32Traits.CastToBytes(ks)))}, nil, 0, 0))
		vArr := array.NewFloat64Data(array.NewData(arrow.PrimitiveTypes.Float64, n,
			[]*memory.Buffer{nil, memory.NewBufferBytes(clone(arrow.Float64Traits.CastToBytes(vs)))}, nil, 0, 0))
		sArr := array.NewStringData(array.NewData(arrow.BinaryTypes.String, n,
			[]*memory.Buffer{nil, memory.NewBufferBytes(clone(arrow.Int32Traits.CastToBytes(offs))), memory.NewBufferBytes(clone(data))}, nil, 0, 0))
		rec := array.NewRecord(as, []arrow.Array{idArr, kArr, vArr, sArr}, int64(n))
		idArr.Release()
		kArr.Release()
		vArr.Release()
		sArr.Release()
		ids, ks, vs, offs, data = ids[:0], ks[:0], vs[:0], offs[:1], data[:0]
		return yield(rec)
	}
	var s [16]byte
	for id := lo; id < hi; id++ {
		if deleted != nil && deleted.Contains(uint32(id)) {
			continue
		}
		k, v := Row(id, s[:])
		ids = append(ids, id)
		ks = append(ks, k)
		vs = append(vs, v)
		data = append(data, s[:]...)
		offs = append(offs, int32(len(data)))
		if len(ids) == BatchRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// WriterOptions are the options the data files are written with: lakesql's
// defaults (row groups of 512Ki rows, 64 KiB pages, zstd) with id as the key.
func WriterOptions() parquetio.WriterOptions {
	return parquetio.WriterOptions{KeyColumns: []int{IDCol}}
}

// WriteRows streams rows lo..hi-1 less deleted into the object name of st
// through a parquetio.Writer and returns the file's statistics.
func WriteRows(ctx context.Context, st store.Writer, name string, n int64, deleted *roaring.Bitmap, opts parquetio.WriterOptions) (parquetio.FileStats, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := st.Put(ctx, name, pr, store.IfAbsent())
		pr.CloseWithError(err)
		done <- err
	}()
	stats, err := func() (parquetio.FileStats, error) {
		w, err := parquetio.NewWriter(pw, Schema, opts)
		if err != nil {
			return parquetio.FileStats{}, err
		}
		if err := Batches(0, n, deleted, func(rec arrow.Record) error {
			defer rec.Release()
			return w.Write(rec)
		}); err != nil {
			return parquetio.FileStats{}, err
		}
		return w.Close()
	}()
	if err != nil {
		pw.CloseWithError(err)
		<-done
		return parquetio.FileStats{}, err
	}
	pw.Close()
	if err := <-done; err != nil {
		return parquetio.FileStats{}, fmt.Errorf("storing %s: %w", name, err)
	}
	return stats, nil
}

// Data is the benchmark's data set in a local store.
type Data struct {
	Store     *local.Store
	Rows      int64           // rows of Full
	Full      string          // object name of the file of all Rows rows
	Compacted string          // object name of the file without Deleted
	Deleted   *roaring.Bitmap // the union of the deletion vectors, positions in Full
	Generated bool            // whether Prepare wrote Full (no cached file)
	GenTime   time.Duration   // how long writing Full took, when Generated
	FullStats parquetio.FileStats
}

// Path returns the file system path of the object name (for DuckDB).
func (d *Data) Path(name string) string {
	return filepath.Join(d.Store.Root(), filepath.FromSlash(name))
}

// Prepare opens the local store at dir and makes sure it holds the full and
// the compacted files of n rows, reusing them when present (generating 10M
// rows takes a while). logf reports progress.
func Prepare(ctx context.Context, dir string, n int64, opts parquetio.WriterOptions, logf func(string, ...any)) (*Data, error) {
	st, err := local.Open(dir)
	if err != nil {
		return nil, err
	}
	d := &Data{
		Store:     st,
		Rows:      n,
		Full:      fmt.Sprintf("t-%s-%d.parquet", genVersion, n),
		Compacted: fmt.Sprintf("t-%s-%d-compacted.parquet", genVersion, n),
		Deleted:   DeletedRows(n),
	}
	ensure := func(name string, deleted *roaring.Bitmap, want int64) error {
		if f, err := parquetio.OpenFile(ctx, st, name, parquetio.ReaderOptions{}); err == nil {
			rows := f.NumRows()
			f.Close()
			if rows == want {
				logf("reusing %s (%d rows)", d.Path(name), rows)
				return nil
			}
			logf("%s has %d rows, want %d: rewriting it", name, rows, want)
			if err := st.Delete(ctx, name); err != nil {
				return err
			}
		} else if !errors.Is(err, store.ErrNotExist) {
			logf("%s unreadable (%v): rewriting it", name, err)
			if err := st.Delete(ctx, name); err != nil {
				return err
			}
		}
		logf("generating %s (%d rows)...", d.Path(name), want)
		start := time.Now()
		stats, err := WriteRows(ctx, st, name, n, deleted, opts)
		if err != nil {
			return err
		}
		el := time.Since(start)
		logf("generated %s: %d rows, %.1f MiB in %v (%.2f M rows/s)", name, stats.Rows,
			float64(stats.Bytes)/(1<<20), el.Round(time.Millisecond), float64(stats.Rows)/el.Seconds()/1e6)
		if deleted == nil {
			d.Generated, d.GenTime, d.FullStats = true, el, stats
		}
		return nil
	}
	if err := ensure(d.Full, nil, n); err != nil {
		return nil, err
	}
	if err := ensure(d.Compacted, d.Deleted, n-int64(d.Deleted.GetCardinality())); err != nil {
		return nil, err
	}
	return d, nil
}

// DefaultDir is where the data is cached: bench/.data/store (git-ignored)
// when run from the bench directory, or $LAKESQL_BENCH_DIR.
func DefaultDir() string {
	if d := os.Getenv("LAKESQL_BENCH_DIR"); d != "" {
		return d
	}
	return filepath.Join(".data", "store")
}
