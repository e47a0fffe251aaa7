package storetest

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/lakesql/lakesql/store"
)

// Bench runs the store benchmarks: put-if-absent latency, 1 MiB and 64 MiB
// put and get throughput, and 16 parallel ranged reads of 1 MiB from one
// 256 MiB object. newStore returns a fresh, empty store.
func Bench(b *testing.B, newStore func(b *testing.B) store.Store) {
	ctx := context.Background()
	b.Run("PutIfAbsent", func(b *testing.B) {
		s := newStore(b)
		defer s.Close()
		body := randomBytes(3, 512)
		b.ResetTimer()
		for i := range b.N {
			name := fmt.Sprintf("log/%020d.json", i)
			if _, err := store.PutBytes(ctx, s, name, body, store.IfAbsent()); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, size := range []int{1 << 20, 64 << 20} {
		data := randomBytes(4, size)
		label := fmt.Sprintf("%dMiB", size>>20)
		b.Run("Put"+label, func(b *testing.B) {
			s := newStore(b)
			defer s.Close()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := range b.N {
				if _, err := store.PutBytes(ctx, s, fmt.Sprintf("data/%d", i), data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Get"+label, func(b *testing.B) {
			s := newStore(b)
			defer s.Close()
			if _, err := store.PutBytes(ctx, s, "data/obj", data); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			for range b.N {
				obj, err := s.Open(ctx, "data/obj")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := obj.ReadAt(buf, 0); err != nil && err != io.EOF {
					b.Fatal(err)
				}
				obj.Close()
			}
		})
	}
	b.Run("RangedRead16x1MiB", func(b *testing.B) {
		const objSize, readSize, readers = 256 << 20, 1 << 20, 16
		s := newStore(b)
		defer s.Close()
		if _, err := s.Put(ctx, "data/big", io.LimitReader(newPatternReader(), objSize)); err != nil {
			b.Fatal(err)
		}
		obj, err := s.Open(ctx, "data/big")
		if err != nil {
			b.Fatal(err)
		}
		defer obj.Close()
		bufs := make([][]byte, readers)
		for i := range bufs {
			bufs[i] = make([]byte, readSize)
		}
		r := rand.New(rand.NewPCG(5, 5))
		b.SetBytes(readers * readSize)
		b.ResetTimer()
		for range b.N {
			var wg sync.WaitGroup
			errs := make(chan error, readers)
			for i := range readers {
				off := r.Int64N(objSize-readSize) | 1 // odd offsets
				wg.Go(func() {
					if _, err := obj.ReadAt(bufs[i], off); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
		}
	})
}

// patternReader yields an endless, cheap, incompressible-enough stream.
type patternReader struct {
	block []byte
	off   int
}

func newPatternReader() *patternReader { return &patternReader{block: randomBytes(6, 1<<20)} }

func (p *patternReader) Read(b []byte) (int, error) {
	n := copy(b, p.block[p.off:])
	p.off = (p.off + n) % len(p.block)
	return n, nil
}
