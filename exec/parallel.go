package exec

import (
	"context"
	"sync"
	"sync/atomic"
)

// Parallel runs work(ctx, i) for every i in [0, n) on at most workers
// goroutines (at least one) and waits for them. The first error cancels the
// context passed to the remaining work, stops new work from starting and is
// returned. When ctx is cancelled, work not yet started is skipped and
// ctx's error is returned.
func Parallel(ctx context.Context, n, workers int, work func(ctx context.Context, i int) error) error {
	workers = max(1, min(workers, n))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		once.Do(func() {
			firstErr = err
			cancel()
		})
	}
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(context.Cause(ctx))
					return
				}
				if err := work(ctx, i); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}
