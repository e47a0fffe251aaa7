package dv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/mem"
	"github.com/lakesql/lakesql/txn"
)

// bitmaps returns named vectors of the shapes deletions take.
func bitmaps() map[string]*roaring.Bitmap {
	rng := rand.New(rand.NewPCG(1, 2))
	out := map[string]*roaring.Bitmap{
		"empty":   roaring.New(),
		"one bit": roaring.BitmapOf(7),
		"zero":    roaring.BitmapOf(0),
		"max":     roaring.BitmapOf(MaxPosition),
	}
	dense := roaring.New()
	dense.AddRange(1000, 70000)
	dense.AddRange(200000, 200100)
	out["dense ranges"] = dense
	sparse := roaring.New()
	for range 5000 {
		sparse.Add(rng.Uint32())
	}
	out["sparse random"] = sparse
	million := roaring.New()
	for i := range uint32(1_000_000) {
		million.Add(i * 3)
	}
	out["1M bits"] = million
	return out
}

func TestRoundTrip(t *testing.T) {
	for name, b := range bitmaps() {
		t.Run(name, func(t *testing.T) {
			before := b.Clone()
			enc := Encode(b)
			if !b.Equals(before) {
				t.Fatal("Encode modified its input")
			}
			got, err := Decode("x", enc)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equals(b) {
				t.Fatalf("decoded %d bits, want %d", got.GetCardinality(), b.GetCardinality())
			}
		})
	}
	if got, err := Decode("x", Encode(nil)); err != nil || !got.IsEmpty() {
		t.Fatalf("nil vector: %v, %v", got, err)
	}
}

func TestEncodingSize(t *testing.T) {
	// A dense range is run-encoded: a few bytes however many rows.
	b := roaring.New()
	b.AddRange(0, 1_000_000)
	if n := len(Encode(b)); n > InlineLimit {
		t.Errorf("a range of 1M rows encodes to %d bytes, want at most %d (inline)", n, InlineLimit)
	}
}

func isCorruption(t *testing.T, err error, file string) {
	t.Helper()
	var ce *base.CorruptionError
	if !errors.Is(err, base.ErrCorruption) || !errors.As(err, &ce) {
		t.Fatalf("got %v, want a corruption error", err)
	}
	if ce.File != file {
		t.Fatalf("corruption error names %q, want %q (%v)", ce.File, file, err)
	}
}

func TestDecodeCorruption(t *testing.T) {
	b := roaring.New()
	b.AddRange(10, 20)
	b.Add(5000)
	enc := Encode(b)
	mutate := func(f func([]byte) []byte) []byte { return f(bytes.Clone(enc)) }
	cases := map[string][]byte{
		"empty input":       {},
		"truncated header":  enc[:10],
		"truncated payload": enc[:len(enc)-1],
		"trailing bytes":    append(bytes.Clone(enc), 0),
		"wrong magic":       mutate(func(d []byte) []byte { d[0] = 'X'; return d }),
		"unknown version":   mutate(func(d []byte) []byte { d[4] = 9; return d }),
		"reserved set":      mutate(func(d []byte) []byte { d[6] = 1; return d }),
		"wrong cardinality": mutate(func(d []byte) []byte { d[8]++; return d }),
		"wrong crc":         mutate(func(d []byte) []byte { d[20] ^= 1; return d }),
		"huge length":       mutate(func(d []byte) []byte { d[19] = 0x7f; return d }),
	}
	for i := headerSize; i < len(enc); i++ {
		cases[fmt.Sprintf("flipped payload byte %d", i)] = mutate(func(d []byte) []byte { d[i] ^= 0x40; return d })
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Decode("db/data/t/dv/f.bin", data)
			isCorruption(t, err, "db/data/t/dv/f.bin")
		})
	}
}

func TestPositions(t *testing.T) {
	b, err := FromPositions([]int64{5, 1, 5, MaxPosition})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.ToArray(); len(got) != 3 || got[0] != 1 || got[1] != 5 || got[2] != MaxPosition {
		t.Fatalf("got %v", got)
	}
	for _, p := range []int64{-1, MaxPosition + 1, 1 << 40} {
		if _, err := FromPositions([]int64{3, p}); !errors.Is(err, ErrPositionRange) {
			t.Errorf("position %d: got %v, want ErrPositionRange", p, err)
		}
		if _, err := WithPositions(roaring.BitmapOf(1), []int64{p}); !errors.Is(err, ErrPositionRange) {
			t.Errorf("position %d: got %v, want ErrPositionRange", p, err)
		}
	}
}

func TestUnion(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		want := map[uint32]bool{}
		old, added := roaring.New(), roaring.New()
		for range rng.IntN(2000) {
			v := rng.Uint32N(100000)
			old.Add(v)
			want[v] = true
		}
		for range rng.IntN(2000) {
			v := rng.Uint32N(100000)
			added.Add(v)
			want[v] = true
		}
		oldCard, addedCard := old.GetCardinality(), added.GetCardinality()
		u := Union(old, added)
		if old.GetCardinality() != oldCard || added.GetCardinality() != addedCard {
			t.Fatal("Union modified an input")
		}
		if u.GetCardinality() != uint64(len(want)) {
			t.Fatalf("union has %d bits, want %d", u.GetCardinality(), len(want))
		}
		for v := range want {
			if !u.Contains(v) {
				t.Fatalf("union lacks %d", v)
			}
		}
	}
	if !Union(nil, nil).IsEmpty() {
		t.Error("nil ∪ nil is not empty")
	}
	a := roaring.BitmapOf(1, 2)
	u := Union(a, nil)
	u.Add(3)
	if a.Contains(3) {
		t.Error("Union(a, nil) shares a")
	}
	if got := Union(nil, a); !got.Equals(a) {
		t.Error("nil ∪ a != a")
	}
}

func TestInlineThreshold(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	w := NewWriter("db", "t1", WriterOptions{})
	// Find the largest sparse vector that still goes inline, and the
	// smallest that does not.
	var inlined, filed int
	for n := 1; n < 200; n++ {
		b := roaring.New()
		for i := range n {
			b.Add(uint32(i * 7))
		}
		enc := Encode(b)
		d, err := w.Add(fmt.Sprintf("data/t1/f%d.parquet", n), b)
		if err != nil {
			t.Fatal(err)
		}
		if d.Cardinality != int64(n) {
			t.Fatalf("cardinality %d, want %d", d.Cardinality, n)
		}
		if len(enc) <= InlineLimit {
			if d.Path != "" || !bytes.Equal(d.Inline, enc) {
				t.Fatalf("%d-byte vector not inline", len(enc))
			}
			inlined = max(inlined, len(enc))
		} else {
			if d.Path != w.Path() || d.Inline != nil || d.Size != int64(len(enc)) {
				t.Fatalf("%d-byte vector: descriptor %+v", len(enc), d)
			}
			if filed == 0 {
				filed = len(enc)
			}
		}
	}
	if inlined != InlineLimit && inlined+2 < InlineLimit {
		t.Logf("largest inline vector: %d bytes", inlined)
	}
	if filed <= InlineLimit {
		t.Fatalf("smallest file vector %d bytes", filed)
	}
	if err := w.Finish(ctx, st); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(w.Path(), "data/t1/dv/") || !strings.HasSuffix(w.Path(), ".bin") {
		t.Fatalf("DV file name %q", w.Path())
	}
}

func TestWriterWithoutFileVectors(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	w := NewWriter("db", "t1", WriterOptions{})
	if _, err := w.Add("data/t1/a.parquet", roaring.BitmapOf(1, 2, 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Add("data/t1/a.parquet", roaring.BitmapOf(4)); err == nil {
		t.Fatal("a second vector for one data file was accepted")
	}
	if err := w.Finish(ctx, st); err != nil {
		t.Fatal(err)
	}
	for info, err := range st.List(ctx, "", "") {
		t.Fatalf("Finish wrote %s (%v) though every vector went inline", info.Name, err)
	}
	if _, err := w.Add("data/t1/b.parquet", roaring.BitmapOf(1)); err == nil {
		t.Fatal("Add after Finish was accepted")
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	store.Reader
	mu    sync.Mutex
	reads []int
}

type countingObject struct {
	store.Object
	r *countingReader
}

func (c *countingReader) Open(ctx context.Context, name string) (store.Object, error) {
	obj, err := c.Reader.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	return &countingObject{obj, c}, nil
}

func (o *countingObject) ReadAt(p []byte, off int64) (int, error) {
	o.r.mu.Lock()
	o.r.reads = append(o.r.reads, len(p))
	o.r.mu.Unlock()
	return o.Object.ReadAt(p, off)
}

// writeHundred writes 100 vectors, most too large to go inline, into one DV
// file and returns them with their descriptors.
func writeHundred(t *testing.T, st store.Store) ([]*roaring.Bitmap, []txn.DeletionVector, string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	w := NewWriter("db", "t1", WriterOptions{})
	var bms []*roaring.Bitmap
	var ds []txn.DeletionVector
	for i := range 100 {
		b := roaring.New()
		switch i % 3 {
		case 0:
			for range 50 + rng.IntN(500) {
				b.Add(rng.Uint32N(1 << 20))
			}
		case 1:
			b.AddRange(uint64(i), uint64(i+rng.IntN(100000)))
		case 2:
			b.Add(uint32(i))
		}
		d, err := w.Add(fmt.Sprintf("data/t1/%03d.parquet", i), b)
		if err != nil {
			t.Fatal(err)
		}
		bms = append(bms, b)
		ds = append(ds, d)
	}
	if err := w.Finish(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	return bms, ds, "db/" + w.Path()
}

func TestDVFileRangedReads(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	bms, ds, file := writeHundred(t, st)
	info, err := st.Stat(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	var inFile int
	for _, d := range ds {
		if d.Path != "" {
			inFile++
		}
	}
	if inFile < 30 {
		t.Fatalf("only %d vectors went to the DV file", inFile)
	}
	cr := &countingReader{Reader: st}
	for i, d := range ds {
		got, err := Load(ctx, cr, "db", &d)
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		if !got.Equals(bms[i]) {
			t.Fatalf("vector %d differs", i)
		}
	}
	for _, n := range cr.reads {
		if int64(n) >= info.Size {
			t.Fatalf("a read of %d bytes from a %d-byte DV file: not a ranged read", n, info.Size)
		}
	}
	if len(cr.reads) != inFile {
		t.Fatalf("%d reads for %d file vectors", len(cr.reads), inFile)
	}
	// Extend: the new vector is old ∪ new positions.
	d := ds[0]
	ext, err := Extend(ctx, st, "db", &d, []int64{1 << 21, 0})
	if err != nil {
		t.Fatal(err)
	}
	want := bms[0].Clone()
	want.Add(1 << 21)
	want.Add(0)
	if !ext.Equals(want) {
		t.Fatal("Extend is not old ∪ new")
	}
	if ext, err := Extend(ctx, st, "db", nil, []int64{4}); err != nil || ext.GetCardinality() != 1 {
		t.Fatalf("Extend without a previous vector: %v, %v", ext, err)
	}
	if _, err := Extend(ctx, st, "db", &d, []int64{-4}); !errors.Is(err, ErrPositionRange) {
		t.Fatalf("got %v, want ErrPositionRange", err)
	}
}

func TestLoadCorruption(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	_, ds, file := writeHundred(t, st)
	var d txn.DeletionVector
	for _, x := range ds {
		if x.Path != "" && x.Offset > 0 {
			d = x
			break
		}
	}
	data, err := store.ReadAll(ctx, st, file)
	if err != nil {
		t.Fatal(err)
	}
	put := func(b []byte) {
		if _, err := store.PutBytes(ctx, st, file, b); err != nil {
			t.Fatal(err)
		}
	}
	// A flipped byte in the vector's payload.
	flipped := bytes.Clone(data)
	flipped[d.Offset+d.Size-1] ^= 0xff
	put(flipped)
	_, err = Load(ctx, st, "db", &d)
	isCorruption(t, err, file)
	if !strings.Contains(err.Error(), fmt.Sprintf("offset %d", d.Offset)) {
		t.Errorf("error does not name the offset: %v", err)
	}
	// The file truncated inside the vector.
	put(data[:d.Offset+d.Size/2])
	_, err = Load(ctx, st, "db", &d)
	isCorruption(t, err, file)
	// A descriptor pointing at the wrong offset (wrong magic).
	put(data)
	bad := d
	bad.Offset++
	_, err = Load(ctx, st, "db", &bad)
	isCorruption(t, err, file)
	// The log's cardinality disagrees with the vector.
	bad = d
	bad.Cardinality++
	_, err = Load(ctx, st, "db", &bad)
	isCorruption(t, err, file)
	// An impossible descriptor.
	bad = d
	bad.Size = 3
	_, err = Load(ctx, st, "db", &bad)
	isCorruption(t, err, file)
	// A corrupt inline vector.
	inline := txn.DeletionVector{Inline: Encode(roaring.BitmapOf(1, 2)), Cardinality: 2}
	inline.Inline[len(inline.Inline)-1] ^= 1
	_, err = Load(ctx, st, "db", &inline)
	isCorruption(t, err, InlineName)
	// A missing DV file is not corruption.
	put(data)
	if err := st.Delete(ctx, file); err != nil {
		t.Fatal(err)
	}
	_, err = Load(ctx, st, "db", &d)
	if !errors.Is(err, store.ErrNotExist) || errors.Is(err, base.ErrCorruption) {
		t.Fatalf("missing DV file: %v", err)
	}
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	bms, ds, _ := writeHundred(t, st)
	var total int64
	for _, d := range ds {
		total += d.Size
	}
	c := NewCache(total / 4)
	cr := &countingReader{Reader: st}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for round := range 3 {
				for i := range ds {
					j := (i + g*25 + round) % len(ds)
					got, err := c.Load(ctx, cr, "db", &ds[j])
					if err != nil {
						t.Error(err)
						return
					}
					if !got.Equals(bms[j]) {
						t.Errorf("vector %d differs", j)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	s := c.Stats()
	if s.Bytes > total/4 {
		t.Fatalf("cache holds %d bytes, budget %d", s.Bytes, total/4)
	}
	// A vector read twice in a row comes from the cache the second time.
	var d txn.DeletionVector
	for _, x := range ds {
		if x.Path != "" {
			d = x
		}
	}
	if _, err := c.Load(ctx, cr, "db", &d); err != nil {
		t.Fatal(err)
	}
	n := len(cr.reads)
	if _, err := c.Load(ctx, cr, "db", &d); err != nil {
		t.Fatal(err)
	}
	if len(cr.reads) != n {
		t.Fatal("a cached vector was read again")
	}
}
