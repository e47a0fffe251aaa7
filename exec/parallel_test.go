package exec

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParallelRunsEveryIndexOnce(t *testing.T) {
	for _, c := range []struct{ n, workers, wantMax int }{
		{0, 4, 0}, {1, 4, 1}, {10, 1, 1}, {100, 3, 3}, {5, 0, 1}, {5, -2, 1},
	} {
		var (
			mu      sync.Mutex
			seen    = map[int]int{}
			running atomic.Int32
			peak    atomic.Int32
		)
		err := Parallel(context.Background(), c.n, c.workers, func(ctx context.Context, i int) error {
			r := running.Add(1)
			for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
			}
			defer running.Add(-1)
			time.Sleep(100 * time.Microsecond)
			mu.Lock()
			seen[i]++
			mu.Unlock()
			return nil
		})
		if err != nil {
			t.Fatalf("n %d workers %d: %v", c.n, c.workers, err)
		}
		if len(seen) != c.n {
			t.Errorf("n %d workers %d: ran %d indexes", c.n, c.workers, len(seen))
		}
		for i, k := range seen {
			if i < 0 || i >= c.n || k != 1 {
				t.Errorf("n %d workers %d: index %d ran %d times", c.n, c.workers, i, k)
			}
		}
		if p := int(peak.Load()); p > c.wantMax {
			t.Errorf("n %d workers %d: %d at once, want at most %d", c.n, c.workers, p, c.wantMax)
		}
	}
}

func TestParallelReturnsFirstErrorAndCancels(t *testing.T) {
	boom := errors.New("boom")
	var started atomic.Int32
	err := Parallel(context.Background(), 1000, 2, func(ctx context.Context, i int) error {
		started.Add(1)
		if i == 3 {
			return boom
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
			return nil
		}
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	if n := started.Load(); n > 10 {
		t.Errorf("%d work items started after the error", n)
	}
}

func TestParallelStopsWhenContextIsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Int32
	err := Parallel(ctx, 100, 2, func(ctx context.Context, i int) error {
		if ran.Add(1) == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := ran.Load(); n > 10 {
		t.Errorf("%d work items ran after cancellation", n)
	}
}

func TestParallelPartialAggregatesMergeToTheWhole(t *testing.T) {
	mem := newAllocator(t)
	schema := schemaOf(tDictStr, tInt64)
	var recs [][][]any
	for p := range 6 {
		var keys, vals []any
		for i := range 500 {
			keys = append(keys, string(rune('a'+(i*p+i)%7)))
			vals = append(vals, int64(i*p))
		}
		recs = append(recs, [][]any{keys, vals})
	}
	aggs := []Aggregate{{Func: CountStar}, {Func: Sum, Col: 1}, {Func: Max, Col: 1}}
	parts := make([]*HashAggregate, len(recs))
	err := Parallel(context.Background(), len(recs), 2, func(ctx context.Context, i int) error {
		h, err := NewHashAggregate(schema, []int{0}, aggs)
		if err != nil {
			return err
		}
		rec := buildRecord(mem, schema, recs[i]...)
		defer rec.Release()
		parts[i] = h
		return h.Add(rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts[1:] {
		if err := parts[0].Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	assertSameRows(t, parts[0].Results(), runAggregate(t, mem, schema, []int{0}, aggs, recs...))
}
