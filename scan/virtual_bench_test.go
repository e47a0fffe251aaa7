package scan

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/external"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/store/s3/s3test"
	"github.com/lakesql/lakesql/txn"
)

// fileOpener opens virtual files of one local container (the
// VirtualOpener a server builds from its containers).
type fileOpener struct {
	res *external.Resolver
	c   external.Container
}

func (o *fileOpener) expect(a *txn.Add) store.Expect {
	return store.Expect{Size: a.Virtual.Size, LastModified: time.UnixMilli(a.Virtual.LastModified)}
}

func (o *fileOpener) OpenVirtual(ctx context.Context, a *txn.Add) (store.Object, error) {
	return o.res.Open(ctx, o.c, a.Path, o.expect(a))
}

func (o *fileOpener) CheckVirtual(ctx context.Context, a *txn.Add) error {
	return o.res.Check(ctx, o.c, a.Path, o.expect(a))
}

// virtualTable returns the benchmark table's files as virtual files of a
// file:// container over the directory that holds them: the same bytes,
// read through the container resolver, the foreign-file column mapping
// and the change checks.
func virtualTable(b testing.TB, st store.Store, t *Table) (*Table, *fileOpener) {
	dir := st.(*local.Store).Root()
	prefix := "file://" + filepath.ToSlash(dir) + "/"
	o := &fileOpener{res: external.New(external.Config{}), c: external.Container{Name: "bench", Prefix: prefix, Platform: "file"}}
	vt := &Table{Schema: t.Schema}
	for _, a := range t.Files {
		fi, err := os.Stat(filepath.Join(dir, a.Path))
		if err != nil {
			b.Fatal(err)
		}
		v := *a
		v.Path = prefix + a.Path
		v.Virtual = &txn.Virtual{Container: "bench", Size: fi.Size(), LastModified: fi.ModTime().UnixMilli(), Key: []int{1}}
		for _, c := range t.Schema.Columns {
			v.Virtual.Columns = append(v.Virtual.Columns, txn.VirtualColumn{Name: c.Name, ID: c.ID})
		}
		vt.Files = append(vt.Files, &v)
	}
	return vt, o
}

// BenchmarkVirtualScan compares a full scan of the same Parquet files read
// as the database's own (managed) and as virtual files of a local
// container, in one run: 1M rows in 4 files, all 4 columns, and one
// column with a predicate. It reports ns per scan of each and their ratio
// (virtual/managed; the goal is at most 1.1).
func BenchmarkVirtualScan(b *testing.B) {
	st, t := benchTable(b, benchMillion, 4)
	vt, opener := virtualTable(b, st, t)
	managed, virtual := NewReader(st, "", Options{}), NewReader(st, "", Options{Virtual: opener})
	compareScans(b, managed, t, virtual, vt)
}

// compareScans runs the virtual-scan benchmark's queries on a managed and
// a virtual table of the same files.
func compareScans(b *testing.B, managed *Reader, t *Table, virtual *Reader, vt *Table) {
	ctx := context.Background()
	defer managed.Close()
	defer virtual.Close()
	for _, q := range []struct {
		name string
		req  Request
		want int64
	}{
		{"all-columns", Request{Columns: []int{1, 2, 3, 4}}, benchMillion},
		{"filtered-column", Request{Columns: []int{3}, Predicate: parquetio.Cmp(2, parquetio.OpLt, int32(10))}, benchMillion / 100},
	} {
		scan := func(b *testing.B, r *Reader, t *Table) time.Duration {
			start := time.Now()
			it, err := r.Scan(ctx, t, q.req, nil)
			if err != nil {
				b.Fatal(err)
			}
			var n int64
			for it.Next() {
				n += it.Record().NumRows()
			}
			if err := it.Err(); err != nil {
				b.Fatal(err)
			}
			it.Close()
			if q.want > 0 && (n < q.want*9/10 || n > q.want*11/10) {
				b.Fatalf("%s: %d rows, want about %d", q.name, n, q.want)
			}
			return time.Since(start)
		}
		b.Run(q.name, func(b *testing.B) {
			scan(b, managed, t) // open the files, load the footers
			scan(b, virtual, vt)
			var tm, tv time.Duration
			b.ResetTimer()
			for i := range b.N {
				// Alternate the order, so that neither always runs on
				// caches the other warmed.
				if i%2 == 0 {
					tm += scan(b, managed, t)
					tv += scan(b, virtual, vt)
				} else {
					tv += scan(b, virtual, vt)
					tm += scan(b, managed, t)
				}
			}
			b.ReportMetric(float64(tm.Nanoseconds())/float64(b.N), "managed-ns/scan")
			b.ReportMetric(float64(tv.Nanoseconds())/float64(b.N), "virtual-ns/scan")
			b.ReportMetric(float64(tv)/float64(tm), "virtual/managed")
		})
	}
}

// BenchmarkVirtualScanS3 is BenchmarkVirtualScan on the test MinIO: the
// same objects of one bucket read through the database's S3 store and as
// virtual files of an s3:// container over that bucket (every GET
// conditional on the recorded ETag, a HEAD per file per scan).
func BenchmarkVirtualScanS3(b *testing.B) {
	ctx := context.Background()
	lst, lt := benchTable(b, benchMillion, 4)
	st, uri := s3test.NewStore(b)
	u, err := url.Parse(uri)
	if err != nil {
		b.Fatal(err)
	}
	dir := lst.(*local.Store).Root()
	prefix := "s3://" + u.Host + "/" + strings.Trim(u.Path, "/")
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	o := &s3Opener{res: external.New(external.Config{Store: &external.StoreS3{Endpoint: s3test.Endpoint(b), Region: "us-east-1", PathStyle: true}}),
		c: external.Container{Name: "bench", Prefix: prefix, Platform: "s3", Endpoint: s3test.Endpoint(b), Region: "us-east-1", PathStyle: true}}
	mt := &Table{Schema: lt.Schema}
	vt := &Table{Schema: lt.Schema}
	for _, a := range lt.Files {
		data, err := os.ReadFile(filepath.Join(dir, a.Path))
		if err != nil {
			b.Fatal(err)
		}
		info, err := store.PutBytes(ctx, st, a.Path, data)
		if err != nil {
			b.Fatal(err)
		}
		m := *a
		mt.Files = append(mt.Files, &m)
		v := *a
		v.Path = prefix + a.Path
		v.Virtual = &txn.Virtual{Container: "bench", ETag: info.ETag, Size: info.Size, Key: []int{1}}
		for _, c := range lt.Schema.Columns {
			v.Virtual.Columns = append(v.Virtual.Columns, txn.VirtualColumn{Name: c.Name, ID: c.ID})
		}
		vt.Files = append(vt.Files, &v)
	}
	compareScans(b, NewReader(st, "", Options{}), mt, NewReader(st, "", Options{Virtual: o}), vt)
}

// s3Opener opens virtual files of one S3 container.
type s3Opener struct {
	res *external.Resolver
	c   external.Container
}

func (o *s3Opener) OpenVirtual(ctx context.Context, a *txn.Add) (store.Object, error) {
	return o.res.Open(ctx, o.c, a.Path, store.Expect{ETag: a.Virtual.ETag, Size: a.Virtual.Size})
}

func (o *s3Opener) CheckVirtual(ctx context.Context, a *txn.Add) error {
	return o.res.Check(ctx, o.c, a.Path, store.Expect{ETag: a.Virtual.ETag, Size: a.Virtual.Size})
}

// TestVirtualScanSameRows checks that the benchmark's two tables give the
// same rows, so that the benchmark compares equal work.
func TestVirtualScanSameRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	batches := benchBatches(0, 5000)
	var adds []*txn.Add
	for j, rng := range [][2]int{{0, 2000}, {2000, 5000}} {
		name := fmt.Sprintf("f%d.parquet", j)
		var recs = benchBatches(rng[0], rng[1])
		stats, err := parquetio.WriteFile(ctx, st, name, benchSchema, recs, parquetio.WriterOptions{KeyColumns: []int{1}, RowGroupRows: 700})
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, &txn.Add{Table: "t", Path: name, Rows: stats.Rows, Bytes: stats.Bytes, Generation: int64(j + 1)})
	}
	for _, r := range batches {
		r.Release()
	}
	mt := &Table{Schema: benchSchema, Files: adds}
	vt, opener := virtualTable(t, st, mt)
	read := func(r *Reader, tbl *Table) string {
		it, err := r.Scan(ctx, tbl, Request{Columns: []int{1, 2, 3, 4}, Predicate: parquetio.Cmp(2, parquetio.OpLt, int32(500))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		var out []byte
		for it.Next() {
			js, err := it.Record().MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, js...)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	m := read(NewReader(st, "", Options{}), mt)
	v := read(NewReader(st, "", Options{Virtual: opener}), vt)
	if m != v || len(m) < 1000 {
		t.Fatalf("managed and virtual reads differ (%d and %d bytes)", len(m), len(v))
	}
	// A virtual read without an opener fails by name.
	it, err := NewReader(st, "", Options{}).Scan(ctx, vt, Request{Columns: []int{1}}, nil)
	if err == nil {
		for it.Next() {
		}
		err = it.Err()
		it.Close()
	}
	if err == nil || !strings.Contains(err.Error(), vt.Files[0].Path) {
		t.Fatalf("a virtual file read without a container opener: %v", err)
	}
}
