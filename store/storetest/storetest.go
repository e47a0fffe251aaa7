package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lakesql/lakesql/store"
)

// Run runs the conformance suite. newStore returns a fresh, empty store; it
// is called once per subtest.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Missing", testMissing},
		{"Empty", testEmpty},
		{"Overwrite", testOverwrite},
		{"IfAbsent", testIfAbsent},
		{"IfMatch", testIfMatch},
		{"RangedReads", testRangedReads},
		{"Large", testLarge},
		{"ListOrder", testListOrder},
		{"ListStartAfter", testListStartAfter},
		{"ListStop", testListStop},
		{"Names", testNames},
		{"InvalidNames", testInvalidNames},
		{"Delete", testDelete},
		{"Cancelled", testCancelled},
		{"RacePutIfAbsent", testRacePutIfAbsent},
		{"RaceCompareAndSwap", testRaceCompareAndSwap},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			defer s.Close()
			tc.fn(t, s)
		})
	}
}

func put(t testing.TB, s store.Store, name string, data []byte, opts ...store.PutOption) store.Info {
	t.Helper()
	info, err := store.PutBytes(context.Background(), s, name, data, opts...)
	if err != nil {
		t.Fatalf("put %s: %v", name, err)
	}
	return info
}

func read(t testing.TB, s store.Store, name string) []byte {
	t.Helper()
	data, err := store.ReadAll(context.Background(), s, name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return data
}

func list(t testing.TB, s store.Store, prefix, startAfter string) []string {
	t.Helper()
	var names []string
	for info, err := range s.List(context.Background(), prefix, startAfter) {
		if err != nil {
			t.Fatalf("list %q after %q: %v", prefix, startAfter, err)
		}
		names = append(names, info.Name)
	}
	return names
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func testRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	data := []byte("hello, lakesql")
	info := put(t, s, "dir/obj.json", data)
	if info.Name != "dir/obj.json" || info.Size != int64(len(data)) || info.ETag == "" || info.LastModified.IsZero() {
		t.Fatalf("put returned %+v", info)
	}
	if got := read(t, s, "dir/obj.json"); !bytes.Equal(got, data) {
		t.Fatalf("read %q, want %q", got, data)
	}
	st, err := s.Stat(ctx, "dir/obj.json")
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != info.Name || st.Size != info.Size || st.ETag != info.ETag {
		t.Fatalf("stat %+v, put %+v", st, info)
	}
	obj, err := s.Open(ctx, "dir/obj.json")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if obj.Size() != int64(len(data)) || obj.Info().ETag != info.ETag {
		t.Fatalf("open: size %d info %+v, want %d %s", obj.Size(), obj.Info(), len(data), info.ETag)
	}
	other := put(t, s, "dir/other.json", []byte("something else"))
	if other.ETag == info.ETag {
		t.Fatalf("different contents share the ETag %s", info.ETag)
	}
	if s.String() == "" {
		t.Fatal("String is empty")
	}
}

func testMissing(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Open(ctx, "no/such"); !errors.Is(err, store.ErrNotExist) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open of a missing object: %v", err)
	}
	if _, err := s.Stat(ctx, "no/such"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("stat of a missing object: %v", err)
	}
	if _, err := store.ReadAll(ctx, s, "no/such"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("read of a missing object: %v", err)
	}
	if err := s.Delete(ctx, "no/such"); err != nil {
		t.Fatalf("delete of a missing object: %v", err)
	}
	if names := list(t, s, "no/", ""); len(names) != 0 {
		t.Fatalf("list of an empty store: %v", names)
	}
}

func testEmpty(t *testing.T, s store.Store) {
	info := put(t, s, "empty", nil)
	if info.Size != 0 {
		t.Fatalf("size %d", info.Size)
	}
	if got := read(t, s, "empty"); len(got) != 0 {
		t.Fatalf("read %q", got)
	}
	obj, err := s.Open(context.Background(), "empty")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if n, err := obj.ReadAt(make([]byte, 1), 0); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt of an empty object: %d, %v", n, err)
	}
	if names := list(t, s, "", ""); len(names) != 1 || names[0] != "empty" {
		t.Fatalf("list: %v", names)
	}
}

func testOverwrite(t *testing.T, s store.Store) {
	first := put(t, s, "o", []byte("one"))
	second := put(t, s, "o", []byte("two, longer"))
	if first.ETag == second.ETag {
		t.Fatal("overwrite kept the ETag")
	}
	if got := read(t, s, "o"); string(got) != "two, longer" {
		t.Fatalf("read %q", got)
	}
}

func testIfAbsent(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, "log/00001.json", []byte("first"), store.IfAbsent())
	_, err := store.PutBytes(ctx, s, "log/00001.json", []byte("second"), store.IfAbsent())
	if !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("second put-if-absent: %v", err)
	}
	if got := read(t, s, "log/00001.json"); string(got) != "first" {
		t.Fatalf("a lost put-if-absent changed the object to %q", got)
	}
	if _, err := store.PutBytes(ctx, s, "x", nil, store.IfAbsent(), store.IfMatch(`"e"`)); err == nil {
		t.Fatal("IfAbsent with IfMatch was accepted")
	}
}

func testIfMatch(t *testing.T, s store.Store) {
	ctx := context.Background()
	v1 := put(t, s, "LEASE", []byte("holder 1"))
	v2 := put(t, s, "LEASE", []byte("holder 2"), store.IfMatch(v1.ETag))
	if v2.ETag == v1.ETag || v2.ETag == "" {
		t.Fatalf("compare-and-swap returned ETag %q (old %q)", v2.ETag, v1.ETag)
	}
	if st, err := s.Stat(ctx, "LEASE"); err != nil || st.ETag != v2.ETag {
		t.Fatalf("stat after compare-and-swap: %+v, %v; want ETag %s", st, err, v2.ETag)
	}
	_, err := store.PutBytes(ctx, s, "LEASE", []byte("holder 3"), store.IfMatch(v1.ETag))
	if !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("compare-and-swap with a stale ETag: %v", err)
	}
	if got := read(t, s, "LEASE"); string(got) != "holder 2" {
		t.Fatalf("a failed compare-and-swap changed the object to %q", got)
	}
	_, err = store.PutBytes(ctx, s, "missing", []byte("x"), store.IfMatch(v1.ETag))
	if !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("compare-and-swap of a missing object: %v", err)
	}
	if _, err := s.Stat(ctx, "missing"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("a failed compare-and-swap created the object: %v", err)
	}
}

func testRangedReads(t *testing.T, s store.Store) {
	const size = 1<<20 + 7
	data := randomBytes(1, size)
	put(t, s, "data/file.parquet", data)
	obj, err := s.Open(context.Background(), "data/file.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	cases := []struct{ off, n int64 }{
		{0, 1}, {1, 3}, {3, 4096}, {4093, 65537}, {size / 2, 1}, {size - 8, 8},
		{size - 1, 1}, {0, size}, {777777, 123457},
	}
	for _, c := range cases {
		buf := make([]byte, c.n)
		n, err := obj.ReadAt(buf, c.off)
		if err != nil && !(err == io.EOF && c.off+c.n == size) {
			t.Fatalf("ReadAt(%d, %d): %v", c.off, c.n, err)
		}
		if int64(n) != c.n || !bytes.Equal(buf, data[c.off:c.off+c.n]) {
			t.Fatalf("ReadAt(%d, %d) read %d bytes, or wrong ones", c.off, c.n, n)
		}
	}
	// Past the end: a short read and io.EOF.
	buf := make([]byte, 100)
	n, err := obj.ReadAt(buf, size-10)
	if n != 10 || err != io.EOF || !bytes.Equal(buf[:10], data[size-10:]) {
		t.Fatalf("ReadAt across the end: %d, %v", n, err)
	}
	if n, err := obj.ReadAt(buf, size); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt at the end: %d, %v", n, err)
	}
	// Concurrent readers of one open object.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range 20 {
				off := r.Int64N(size - 1000)
				ln := 1 + r.Int64N(999)
				b := make([]byte, ln)
				if _, err := obj.ReadAt(b, off); err != nil && err != io.EOF {
					errs <- err
					return
				}
				if !bytes.Equal(b, data[off:off+ln]) {
					errs <- fmt.Errorf("concurrent ReadAt(%d, %d) read wrong bytes", off, ln)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func testLarge(t *testing.T, s store.Store) {
	data := randomBytes(2, 20<<20+3)
	info := put(t, s, "big", data)
	if info.Size != int64(len(data)) {
		t.Fatalf("size %d", info.Size)
	}
	if got := read(t, s, "big"); !bytes.Equal(got, data) {
		t.Fatal("a 20 MiB object came back different")
	}
	_, err := store.PutBytes(context.Background(), s, "big", data[:100], store.IfAbsent())
	if !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("put-if-absent over a large object: %v", err)
	}
}

func testListOrder(t *testing.T, s store.Store) {
	names := []string{
		"a-c", "a/b", "a/b/c", "a/bc/d", "a/b0", "a0", "b", "a/b/d/e", "z/y", "A",
		"db/_lakesql_log/main/00000000000000000010.json",
		"db/_lakesql_log/main/00000000000000000002.json",
		"db/_lakesql_log/main/_checkpoints/00000000000000000010.parquet",
		"db/_lakesql_log/main/_last_checkpoint",
	}
	// A local store cannot hold a file and a directory of one name.
	names = slicesWithout(names, "a/b")
	for i, n := range names {
		put(t, s, n, []byte(strconv.Itoa(i)))
	}
	want := append([]string(nil), names...)
	sortStrings(want)
	if got := list(t, s, "", ""); !equal(got, want) {
		t.Fatalf("list all:\n got %q\nwant %q", got, want)
	}
	check := func(prefix string, want ...string) {
		t.Helper()
		if got := list(t, s, prefix, ""); !equal(got, want) {
			t.Fatalf("list %q:\n got %q\nwant %q", prefix, got, want)
		}
	}
	check("a/b", "a/b/c", "a/b/d/e", "a/b0", "a/bc/d")
	check("a/b/", "a/b/c", "a/b/d/e")
	check("a/b/d", "a/b/d/e")
	check("a", "a-c", "a/b/c", "a/b/d/e", "a/b0", "a/bc/d", "a0")
	check("db/_lakesql_log/main/0",
		"db/_lakesql_log/main/00000000000000000002.json",
		"db/_lakesql_log/main/00000000000000000010.json")
	check("nothing/")
	check("z/y", "z/y")
	for info, err := range s.List(context.Background(), "db/", "") {
		if err != nil {
			t.Fatal(err)
		}
		if info.Size <= 0 || info.LastModified.IsZero() {
			t.Fatalf("list gave %+v", info)
		}
	}
}

func testListStartAfter(t *testing.T, s store.Store) {
	var names []string
	for i := range 25 {
		n := fmt.Sprintf("log/%020d.json", i)
		names = append(names, n)
		put(t, s, n, []byte("x"))
	}
	put(t, s, "log/sub/x", []byte("x"))
	put(t, s, "log0", []byte("x"))
	check := func(prefix, after string, want ...string) {
		t.Helper()
		if got := list(t, s, prefix, after); !equal(got, want) {
			t.Fatalf("list %q after %q:\n got %q\nwant %q", prefix, after, got, want)
		}
	}
	check("log/", names[20], append(names[21:], "log/sub/x")...)
	check("log/", "log/00000000000000000019.jsom", append(names[19:], "log/sub/x")...)
	check("log/", names[24], "log/sub/x")
	check("log/", "log/sub/x")
	check("log/", "a", append(names[:], "log/sub/x")...)
	check("log", "log/sub", "log/sub/x", "log0")
	check("", "log/sub/x", "log0")
	check("", "zzz")
}

func testListStop(t *testing.T, s store.Store) {
	for i := range 10 {
		put(t, s, fmt.Sprintf("p/%02d", i), nil)
	}
	n := 0
	for _, err := range s.List(context.Background(), "p/", "") {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	if n != 3 {
		t.Fatalf("listing went on after the consumer stopped: %d", n)
	}
}

func testNames(t *testing.T, s store.Store) {
	names := []string{
		"with space/file name.json", "ünïcödé/ファイル.parquet", "emoji/🦆.bin",
		"dots/a.b.c", "dash-and_under/x~y", "data/t1/dv/0c1d.bin", "quote'/\"d\"",
	}
	for i, n := range names {
		put(t, s, n, []byte(n))
		if got := read(t, s, n); string(got) != n {
			t.Fatalf("%d: read %q", i, got)
		}
	}
	want := append([]string(nil), names...)
	sortStrings(want)
	if got := list(t, s, "", ""); !equal(got, want) {
		t.Fatalf("list:\n got %q\nwant %q", got, want)
	}
	if got := list(t, s, "ünïcödé/", ""); len(got) != 1 || got[0] != "ünïcödé/ファイル.parquet" {
		t.Fatalf("list unicode prefix: %q", got)
	}
}

func testInvalidNames(t *testing.T, s store.Store) {
	ctx := context.Background()
	bad := []string{
		"", "/abs", "..", "../escape", "a/../../b", "a/./b", "a//b", "a/", ".",
		"nul\x00byte", "ctl\nname", `back\slash`, "\xff\xfe", ".lakesql-tmp/x",
		strings.Repeat("n", store.MaxNameLen+1),
	}
	for _, n := range bad {
		if _, err := store.PutBytes(ctx, s, n, []byte("x")); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("put %q: %v", n, err)
		}
		if _, err := s.Open(ctx, n); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("open %q: %v", n, err)
		}
		if _, err := s.Stat(ctx, n); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("stat %q: %v", n, err)
		}
		if err := s.Delete(ctx, n); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("delete %q: %v", n, err)
		}
	}
	for _, p := range []string{"/abs", "../x", "a/../"} {
		for _, err := range s.List(ctx, p, "") {
			if !errors.Is(err, store.ErrInvalidName) {
				t.Errorf("list %q: %v", p, err)
			}
		}
	}
	if names := list(t, s, "", ""); len(names) != 0 {
		t.Fatalf("invalid names wrote %q", names)
	}
}

func testDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, "d/x", []byte("1"))
	put(t, s, "d/y", []byte("2"))
	if err := s.Delete(ctx, "d/x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "d/x"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("stat after delete: %v", err)
	}
	if got := list(t, s, "d/", ""); !equal(got, []string{"d/y"}) {
		t.Fatalf("list after delete: %q", got)
	}
	put(t, s, "d/x", []byte("again"), store.IfAbsent())
	if got := read(t, s, "d/x"); string(got) != "again" {
		t.Fatalf("read %q", got)
	}
}

func testCancelled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := store.PutBytes(ctx, s, "c", []byte("x")); err == nil {
		t.Fatal("put with a cancelled context succeeded")
	}
	if _, err := s.Stat(context.Background(), "c"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("a cancelled put left an object: %v", err)
	}
}

// testRacePutIfAbsent races 16 goroutines creating one name, round after
// round: exactly one wins each round, and the object is the winner's.
func testRacePutIfAbsent(t *testing.T, s store.Store) {
	const goroutines, rounds = 16, 25
	for round := range rounds {
		name := fmt.Sprintf("race/%05d.json", round)
		var winners atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, goroutines)
		for g := range goroutines {
			wg.Go(func() {
				<-start
				body := fmt.Sprintf(`{"writer":%d,"round":%d}`, g, round)
				_, err := store.PutBytes(context.Background(), s, name, []byte(body), store.IfAbsent())
				switch {
				case err == nil:
					winners.Add(1)
					winner.Store(body)
				case !errors.Is(err, store.ErrPreconditionFailed):
					errs <- err
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		if n := winners.Load(); n != 1 {
			t.Fatalf("round %d: %d winners, want exactly 1", round, n)
		}
		if got := read(t, s, name); string(got) != winner.Load().(string) {
			t.Fatalf("round %d: object %q, winner wrote %q", round, got, winner.Load())
		}
	}
}

// testRaceCompareAndSwap increments a counter object from several goroutines
// with IfMatch: no increment is lost and none is counted twice.
func testRaceCompareAndSwap(t *testing.T, s store.Store) {
	const goroutines, increments = 8, 8
	ctx := context.Background()
	put(t, s, "counter", []byte("0"))
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for range goroutines {
		wg.Go(func() {
			for done := 0; done < increments; {
				obj, err := s.Open(ctx, "counter")
				if err != nil {
					errs <- err
					return
				}
				buf := make([]byte, obj.Size())
				_, err = obj.ReadAt(buf, 0)
				etag := obj.Info().ETag
				obj.Close()
				if err != nil && err != io.EOF {
					errs <- err
					return
				}
				n, err := strconv.Atoi(string(buf))
				if err != nil {
					errs <- fmt.Errorf("counter holds %q", buf)
					return
				}
				_, err = store.PutBytes(ctx, s, "counter", []byte(strconv.Itoa(n+1)), store.IfMatch(etag))
				switch {
				case err == nil:
					done++
				case !errors.Is(err, store.ErrPreconditionFailed):
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := read(t, s, "counter"); string(got) != strconv.Itoa(goroutines*increments) {
		t.Fatalf("counter is %s, want %d", got, goroutines*increments)
	}
}
