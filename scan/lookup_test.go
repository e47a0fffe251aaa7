package scan

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/parquetio"
)

// TestConcurrentLookups looks keys up from several goroutines through two
// Readers sharing a page cache small enough to evict constantly (and one
// with no cache), while scans run, and checks every row against the model
// and the page cache's budget.
func TestConcurrentLookups(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	ctx := context.Background()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	for trial := range 3 {
		w := newWorld(t, r, alloc, 2+r.IntN(6))
		w.reader.Close()
		cache := parquetio.NewPageCache(4 << 10)
		readers := []*Reader{
			NewReader(w.st, "db", Options{PageCache: cache, OpenFiles: 2}),
			NewReader(w.st, "db", Options{PageCache: cache}),
			NewReader(w.st, "db", Options{PageCacheBytes: -1}),
		}
		if readers[0].PageCache() != cache || readers[2].PageCache() != nil {
			t.Fatal("page cache options not applied")
		}
		cols := []int{colID, colA, colS}
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rnd := rand.New(rand.NewPCG(seed, uint64(trial*10+g)))
				rd := readers[g%len(readers)]
				for range 200 {
					if t.Failed() {
						return
					}
					if rnd.IntN(50) == 0 {
						it, err := rd.Scan(ctx, w.table, Request{Columns: cols, Alloc: alloc}, nil)
						if err != nil {
							t.Error(err)
							return
						}
						n := 0
						for it.Next() {
							n += int(it.Record().NumRows())
						}
						if err := it.Err(); err != nil || n != len(w.model) {
							t.Errorf("seed %d: scan: %d rows, model %d, %v", seed, n, len(w.model), err)
						}
						it.Close()
						continue
					}
					id := rnd.Int64N(500)
					key, err := w.enc.Encode(id)
					if err != nil {
						t.Error(err)
						return
					}
					rec, loc, found, err := rd.Lookup(ctx, w.table, key, cols, alloc)
					if err != nil {
						t.Error(err)
						return
					}
					want, ok := w.model[id]
					if found != ok {
						t.Errorf("seed %d: lookup %d found=%v, model %v", seed, id, found, ok)
						return
					}
					if found {
						if got := formatRecord(rec, 0, 3); got != format(want, cols) {
							t.Errorf("seed %d: lookup %d = %s, want %s (at %+v)", seed, id, got, format(want, cols), loc)
						}
						rec.Release()
					}
				}
			}()
		}
		wg.Wait()
		st := cache.Stats()
		t.Logf("trial %d: page cache %+v", trial, st)
		if st.Bytes > st.Budget {
			t.Fatalf("page cache holds %d bytes over its budget %d", st.Bytes, st.Budget)
		}
		if st.Hits == 0 || st.Misses == 0 {
			t.Fatalf("page cache stats %+v", st)
		}
		for _, rd := range readers {
			rd.Close()
		}
	}
}

// TestWarm checks that Warm leaves every page a lookup needs decoded in
// the cache: after warming, lookups of every key miss nothing; without it
// (the control) they do.
func TestWarm(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 3))
	ctx := context.Background()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	w := newWorld(t, r, alloc, 2+r.IntN(4))
	w.reader.Close()
	cols := []int{colID, colA, colS}
	for _, warm := range []bool{false, true} {
		rd := NewReader(w.st, "db", Options{PageCacheBytes: 64 << 20})
		if warm {
			for _, a := range w.table.Files {
				if err := rd.Warm(ctx, a, w.table.Schema); err != nil {
					t.Fatal(err)
				}
			}
		}
		before := rd.PageCache().Stats()
		for id := range int64(500) {
			key, err := w.enc.Encode(id)
			if err != nil {
				t.Fatal(err)
			}
			rec, _, found, err := rd.Lookup(ctx, w.table, key, cols, alloc)
			if err != nil {
				t.Fatal(err)
			}
			want, ok := w.model[id]
			if found != ok {
				t.Fatalf("seed %d: lookup %d found=%v, model %v", seed, id, found, ok)
			}
			if found {
				if got := formatRecord(rec, 0, 3); got != format(want, cols) {
					t.Fatalf("seed %d: lookup %d = %s, want %s", seed, id, got, format(want, cols))
				}
				rec.Release()
			}
		}
		misses := rd.PageCache().Stats().Misses - before.Misses
		if warm && misses != 0 {
			t.Errorf("seed %d: %d page cache misses after Warm", seed, misses)
		}
		if !warm && misses == 0 && len(w.table.Files) > 0 {
			t.Errorf("seed %d: no misses without Warm: the test proves nothing", seed)
		}
		rd.Close()
	}
}

// TestLocateAll: LocateAll finds each key's live row in the files (under
// their deletion vectors; a table without sources, as a writer asks), for
// keys in any order, absent ones and ones outside every file's range, on
// a fresh reader (bloom filters, then the key index loads) and again once
// the key indexes are loaded (batched lookups).
func TestLocateAll(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 3))
	ctx := context.Background()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	for trial := range 5 {
		w := newWorld(t, r, alloc, 1+r.IntN(6))
		files := &Table{Schema: w.table.Schema, Files: w.table.Files}
		ids := r.Perm(500)
		keys := make([]parquetio.Key, len(ids))
		for i, id := range ids {
			var err error
			if keys[i], err = w.enc.Encode(int64(id) - 20); err != nil {
				t.Fatal(err)
			}
		}
		for round := range 2 {
			locs, found, err := w.reader.LocateAll(ctx, files, keys)
			if err != nil {
				t.Fatal(err)
			}
			for i, id := range ids {
				want, ok := w.inFiles[int64(id)-20]
				got := Location{Path: locs[i].Path, Position: locs[i].Position}
				if found[i] != ok || ok && got != want {
					t.Fatalf("seed %d trial %d round %d: key %d: %+v found=%v, want %+v %v",
						seed, trial, round, id-20, got, found[i], want, ok)
				}
				if ok && w.table.Files[locs[i].File].Path != want.Path {
					t.Fatalf("seed %d: key %d: file %d is not %s", seed, id-20, locs[i].File, want.Path)
				}
			}
		}
		w.reader.Close()
	}
}

// TestKeyOrder: keyOrder sorts keys as LocateAll needs them, for 8-byte
// keys (sorted as numbers, by comparison or, from 256 keys, by radix) and
// others, with duplicates and keys that share their high bytes.
func TestKeyOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 5, 255, 256, 1000, 5000} {
		for _, spread := range []uint64{1, 300, 1 << 20, 1 << 63} {
			keys := make([]parquetio.Key, n)
			for i := range keys {
				keys[i] = parquetio.Key(binary.BigEndian.AppendUint64(nil, 1<<40+r.Uint64N(spread)))
			}
			if n > 3 {
				keys[3] = "short" // not all 8 bytes: compared as strings
				if spread == 300 {
					keys[3] = keys[2]
				}
			}
			order := keyOrder(keys)
			if len(order) != n {
				t.Fatalf("n=%d: %d indexes", n, len(order))
			}
			seen := make([]bool, n)
			for j, i := range order {
				if seen[i] {
					t.Fatalf("n=%d spread=%d: index %d twice", n, spread, i)
				}
				seen[i] = true
				if j > 0 && keys[order[j-1]] > keys[i] {
					t.Fatalf("n=%d spread=%d: %x before %x", n, spread, keys[order[j-1]], keys[i])
				}
			}
		}
	}
}
