package parquetio

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/store/mem"
)

// checkPageCache checks the cache's invariants: the list and the map hold
// the same entries, whose sizes add up to used, within the budget.
func checkPageCache(t *testing.T, c *PageCache) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	n, used := 0, int64(0)
	for e := c.lru.next; e != &c.lru; e = e.next {
		if e.next.prev != e || e.prev.next != e {
			t.Fatal("broken LRU list")
		}
		if c.m[e.key] != e {
			t.Fatalf("entry %+v not in the map", e.key)
		}
		n++
		used += e.size
	}
	if n != len(c.m) || used != c.used {
		t.Fatalf("list has %d entries of %d bytes, map %d, used %d", n, used, len(c.m), c.used)
	}
	if c.used > c.budget {
		t.Fatalf("cache holds %d bytes over its budget %d", c.used, c.budget)
	}
}

func int64Page(n int) arrow.Array {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	for i := range n {
		b.Append(int64(i))
	}
	return b.NewArray()
}

// TestPageCacheLRU checks eviction order, the byte budget, pages larger
// than the budget and concurrent fills of one page.
func TestPageCacheLRU(t *testing.T) {
	page := func() arrow.Array { return int64Page(100) } // 800 bytes + overhead
	size := arraySize(page().Data()) + pageOverhead
	c := NewPageCache(3 * size)
	k := func(i int) pageKey { return pageKey{file: 1, rg: 0, leaf: 0, page: int32(i)} }
	a, b0, c0 := page(), page(), page()
	c.put(k(0), a)
	c.put(k(1), b0)
	c.put(k(2), c0)
	if c.get(k(0)) != a { // 0 is now the most recent: 1 goes first
		t.Fatal("page 0 not cached")
	}
	c.put(k(3), page())
	if c.get(k(1)) != nil {
		t.Fatal("page 1 should have been evicted")
	}
	for _, i := range []int{0, 2, 3} {
		if c.get(k(i)) == nil {
			t.Fatalf("page %d evicted", i)
		}
	}
	if other := page(); c.put(k(2), other) != c0 {
		t.Fatal("a second fill of a page should return the first")
	}
	if big := int64Page(1000); c.put(k(9), big) != big || c.get(k(9)) != nil {
		t.Fatal("a page over the budget should be returned, not cached")
	}
	// Another file's page of the same chunk and number is another entry.
	if c.get(pageKey{file: 2, page: 0}) != nil {
		t.Fatal("pages of two files collide")
	}
	st := c.Stats()
	if st.Pages != 3 || st.Bytes != 3*size || st.Evictions != 1 || st.Hits == 0 || st.Misses == 0 {
		t.Fatalf("stats %+v", st)
	}
	checkPageCache(t, c)
	var nilCache *PageCache
	if nilCache.get(k(0)) != nil || nilCache.put(k(0), a) != a || nilCache.Stats() != (PageCacheStats{}) {
		t.Fatal("nil cache")
	}
}

// TestPageCacheSharedConcurrent reads rows of three files sharing one page
// cache small enough to evict constantly, from several goroutines at once,
// and checks every value against a full scan of the file.
func TestPageCacheSharedConcurrent(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	ctx := context.Background()
	s := allTypesSchema()
	cols, _ := tableColumns(s)
	st := mem.New()
	const nfiles, nrows = 3, 4000
	cache := NewPageCache(48 << 10)
	var files []*File
	var scanned [][][]scalar // file, position, column
	for j := range nfiles {
		rows := allTypesRows(nrows + 500*j)
		name := fmt.Sprintf("f%d.parquet", j)
		writeFile(t, st, name, s, alloc, rows, 1000, WriterOptions{RowGroupRows: 1500, PageSize: 512, KeyColumns: []int{1}})
		f, err := OpenFile(ctx, st, name, ReaderOptions{PageCache: cache})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
		rr, err := f.Read(ctx, ReadOptions{Alloc: alloc})
		if err != nil {
			t.Fatal(err)
		}
		var vals [][]scalar
		for rr.Next() {
			rec := rr.Record()
			for i := range int(rec.NumRows()) {
				row := make([]scalar, len(cols))
				for c := range cols {
					row[c] = scalarAt(&cols[c], rec.Column(c), i)
				}
				vals = append(vals, row)
			}
		}
		if err := rr.Err(); err != nil {
			t.Fatal(err)
		}
		rr.Close()
		if len(vals) != len(rows) {
			t.Fatalf("scan of %s: %d rows, want %d", name, len(vals), len(rows))
		}
		scanned = append(scanned, vals)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 11))
			for iter := 0; iter < 300 && !t.Failed(); iter++ {
				j := rnd.IntN(nfiles)
				f := files[j]
				var pos []int64
				for range 1 + rnd.IntN(3)*rnd.IntN(2) { // one position half the time
					pos = append(pos, rnd.Int64N(f.NumRows()))
				}
				var ids []int
				if rnd.IntN(2) == 0 {
					ids = []int{1 + rnd.IntN(len(cols)), 1 + rnd.IntN(len(cols))}
				}
				rec, err := f.ReadRows(ctx, pos, ids, alloc)
				if err != nil {
					t.Error(err)
					return
				}
				slices.Sort(pos)
				pos = slices.Compact(pos)
				if int(rec.NumRows()) != len(pos) {
					t.Errorf("%d rows for %d positions", rec.NumRows(), len(pos))
				}
				for i, x := range pos {
					for c := range int(rec.NumCols()) {
						ci := c
						if ids != nil {
							ci = ids[c] - 1
						}
						if got, want := scalarAt(&cols[ci], rec.Column(c), i), scanned[j][x][ci]; !sameScalar(cols[ci].class(), got, want) {
							t.Errorf("file %d row %d column %q: got %+v, scan has %+v", j, x, cols[ci].col.Name, got, want)
						}
					}
				}
				rec.Release()
			}
		}()
	}
	wg.Wait()
	checkPageCache(t, cache)
	if st := cache.Stats(); st.Evictions == 0 || st.Hits == 0 || st.Misses == 0 {
		t.Fatalf("stats %+v: want hits, misses and evictions", st)
	}
}

// TestCacheChunks: with ReaderOptions.CacheChunks a whole-chunk read keeps
// the chunk in the page cache and later reads (whole, with deleted rows,
// with a predicate, late-materialized columns, as dictionary arrays) slice
// it, reading no bytes,
// with the answers of a File without the cache; a read decoded with
// another allocator caches nothing.
func TestCacheChunks(t *testing.T) {
	ctx := context.Background()
	s := allTypesSchema()
	rows := allTypesRows(3000)
	st := mem.New()
	writeFile(t, st, "c.parquet", s, memory.DefaultAllocator, rows, 700, WriterOptions{RowGroupRows: 1000, PageSize: 1024, KeyColumns: []int{1}})
	plain, err := OpenFile(ctx, st, "c.parquet", ReaderOptions{PageCacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	cache := NewPageCache(64 << 20)
	cached, err := OpenFile(ctx, st, "c.parquet", ReaderOptions{PageCache: cache, CacheChunks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cached.Close()
	deleted := roaring.New()
	for i := uint32(0); i < 3000; i += 7 {
		deleted.Add(i)
	}
	deleted.AddRange(1200, 1900)
	reads := []ReadOptions{
		{},
		{Deleted: deleted},
		{Predicate: Cmp(4, OpGt, int64(100))},
		{Predicate: Cmp(1, OpLt, int64(500)), Columns: []int{1, 2, 3}},
		{Deleted: deleted, Predicate: Cmp(4, OpLt, int64(2000)), WithPositions: true},
		{Dictionaries: true},
		{Dictionaries: true, Deleted: deleted, Predicate: Or(Cmp(17, OpGe, "h"), IsNull(21)), Columns: []int{21, 17, 1}},
	}
	for round := range 2 {
		for i, ro := range reads {
			want, _ := readAll(t, plain, ro)
			got, stats := readAll(t, cached, ro)
			if len(got) != len(want) {
				t.Fatalf("round %d read %d: %d rows, want %d", round, i, len(got), len(want))
			}
			for r := range want {
				for c := range want[r] {
					if fmt.Sprintf("%+v", got[r][c]) != fmt.Sprintf("%+v", want[r][c]) { // NaN too
						t.Fatalf("round %d read %d row %d column %d: %+v, want %+v", round, i, r, c, got[r][c], want[r][c])
					}
				}
			}
			if round == 1 && (stats.ChunksCached == 0 || stats.BytesRead != 0) {
				t.Errorf("round %d read %d: stats %+v, want every chunk from the cache", round, i, stats)
			}
		}
	}
	// Point reads use the cached chunks: no page is decoded.
	before := cache.Stats()
	rec, err := cached.ReadRows(ctx, []int64{3, 1500, 2999}, nil, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if after := cache.Stats(); after.Misses != before.Misses || after.Hits == before.Hits {
		t.Errorf("ReadRows over cached chunks: page cache %+v, then %+v", before, after)
	}
	// A checked allocator: nothing is kept (it would leak).
	other, err := OpenFile(ctx, st, "c.parquet", ReaderOptions{PageCache: NewPageCache(64 << 20), CacheChunks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	for range 2 {
		_, stats := readAll(t, other, ReadOptions{Alloc: alloc})
		if stats.ChunksCached != 0 {
			t.Fatalf("a read with its own allocator used cached chunks: %+v", stats)
		}
	}
	alloc.AssertSize(t, 0)
}
