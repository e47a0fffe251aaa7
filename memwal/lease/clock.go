package lease

import (
	"context"
	"sync"
	"time"

	"github.com/lakesql/lakesql/store"
)

// Clock is the local clock a lease reads and sleeps on. Tests pass a fake
// one; nil in Options is the real clock.
type Clock interface {
	// Now is the local time.
	Now() time.Time
	// After sends the time once d has passed on this clock.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// storeClock estimates the store's clock from the local one and the stamps
// the store puts on writes. It is safe for concurrent use.
type storeClock struct {
	local Clock
	mu    struct {
		sync.Mutex
		skew time.Duration // store time - local time
	}
}

func newStoreClock(local Clock) *storeClock {
	if local == nil {
		local = realClock{}
	}
	return &storeClock{local: local}
}

// now is the store's time, as far as this process knows.
func (c *storeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.local.Now().Add(c.mu.skew).Round(0).UTC()
}

// wrote records a write issued at local time before, answered at after, that
// the store stamped at stamp.
func (c *storeClock) wrote(before, after, stamp time.Time) {
	if stamp.IsZero() {
		return
	}
	mid := before.Add(after.Sub(before) / 2)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.skew = stamp.Sub(mid)
}

// saw records an object the store stamped at stamp: the store's clock is at
// least there, so the estimate moves forward if it is behind.
func (c *storeClock) saw(stamp time.Time) {
	if stamp.IsZero() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.local.Now().Add(c.mu.skew); now.Before(stamp) {
		c.mu.skew += stamp.Sub(now)
	}
}

// put writes l under name and learns the store's clock from the answer.
func (c *storeClock) put(ctx context.Context, st store.Writer, name string, l Lease, opt store.PutOption) (store.Info, error) {
	before := c.local.Now()
	info, err := store.PutBytes(ctx, st, name, encode(l), opt)
	if err != nil {
		return info, err
	}
	c.wrote(before, c.local.Now(), info.LastModified)
	return info, nil
}

// sleep waits d on the local clock, or until ctx is done.
func (c *storeClock) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.local.After(d):
		return nil
	}
}
