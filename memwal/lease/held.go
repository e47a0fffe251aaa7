package lease

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lakesql/lakesql/store"
)

// Held is a lease this process holds. It renews the lease in a goroutine of
// its own until Release, which joins it. Every method is safe for
// concurrent use.
type Held struct {
	st   store.Store
	name string
	opts Options
	clk  *storeClock
	prev Lease

	lost    chan struct{} // closed once mu.err is set
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	release struct {
		once sync.Once
		err  error
	}

	mu struct {
		sync.Mutex
		lease Lease  // as last written by us
		etag  string // of that write
		err   error  // *LostError or ErrReleased once no longer held
	}
}

func startHeld(ctx context.Context, st store.Store, name string, o Options, clk *storeClock, l Lease, etag string, prev Lease) *Held {
	h := &Held{st: st, name: name, opts: o, clk: clk, prev: prev, lost: make(chan struct{})}
	h.mu.lease, h.mu.etag = l, etag
	// The renewal outlives the acquisition's ctx (keeping its values).
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.cancel = cancel
	h.wg.Go(func() { h.run(rctx) })
	return h
}

// Name is the lease object's name.
func (h *Held) Name() string { return h.name }

// Epoch is the holder's epoch.
func (h *Held) Epoch() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mu.lease.Epoch
}

// Lease is the lease as last written by this holder.
func (h *Held) Lease() Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mu.lease
}

// Previous is the lease this one replaced (released, expired, or of a
// process that is gone); the zero Lease when the object was created. The new
// holder fences the WAL epochs up to Previous().Epoch before serving.
func (h *Held) Previous() Lease { return h.prev }

// Lost is closed when this process stops being the holder: the lease was
// lost (Err matches ErrLost) or released (Err is ErrReleased).
func (h *Held) Lost() <-chan struct{} { return h.lost }

// Err is nil while the lease is held, then says why it is not.
func (h *Held) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mu.err
}

// Check is Err, but also finds a lease whose expiry (less the slack) has
// passed before the renewal goroutine does, and declares it lost. A writer
// calls it before acknowledging a write.
func (h *Held) Check() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mu.err == nil && !h.clk.now().Before(h.deadlineLocked()) {
		h.endLocked(&LostError{Name: h.name, Epoch: h.mu.lease.Epoch})
	}
	return h.mu.err
}

// deadlineLocked is when the holder must consider its lease lost.
func (h *Held) deadlineLocked() time.Time {
	return h.mu.lease.Expiry.Add(-h.opts.Slack)
}

func (h *Held) end(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.endLocked(err)
}

func (h *Held) endLocked(err error) {
	if h.mu.err == nil {
		h.mu.err = err
		close(h.lost)
	}
}

func (h *Held) set(l Lease, etag string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mu.lease, h.mu.etag = l, etag
}

func (h *Held) current() (Lease, string, time.Time, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mu.lease, h.mu.etag, h.deadlineLocked(), h.mu.err
}

// run renews the lease every RenewEvery, retrying failures every
// RenewEvery/4, until ctx is done or the lease is lost.
func (h *Held) run(ctx context.Context) {
	wait := h.opts.RenewEvery
	var lastErr error
	for {
		_, _, deadline, err := h.current()
		if err != nil {
			return
		}
		if err := h.clk.sleep(ctx, min(wait, deadline.Sub(h.clk.now()))); err != nil {
			return
		}
		l, _, deadline, err := h.current()
		if err != nil {
			return
		}
		if !h.clk.now().Before(deadline) {
			h.end(&LostError{Name: h.name, Epoch: l.Epoch, Err: lastErr})
			return
		}
		switch err := h.renew(ctx, deadline); {
		case err == nil:
			wait, lastErr = h.opts.RenewEvery, nil
		case errors.Is(err, ErrLost):
			h.end(err)
			return
		case ctx.Err() != nil:
			return
		default:
			wait, lastErr = h.opts.RenewEvery/4, err
		}
	}
}

// renew writes a new expiry by compare-and-swap. An error matching ErrLost
// means another holder has the lease; other errors are worth a retry.
func (h *Held) renew(ctx context.Context, deadline time.Time) error {
	// Give up the attempt when the lease would be lost anyway.
	actx, cancel := context.WithTimeout(ctx, max(deadline.Sub(h.clk.now()), time.Millisecond))
	defer cancel()
	for range 2 {
		cur, etag, _, _ := h.current()
		next := cur
		next.Expiry = h.clk.now().Add(h.opts.Duration)
		info, err := h.clk.put(actx, h.st, h.name, next, store.IfMatch(etag))
		if err == nil {
			h.set(next, info.ETag)
			return nil
		}
		if !errors.Is(err, store.ErrPreconditionFailed) {
			return err
		}
		got, ok, err := h.ours(actx, cur)
		if err != nil {
			return err
		}
		if !ok {
			return got
		}
		// An earlier renewal landed unseen; now renew on top of it.
	}
	return fmt.Errorf("lease: renewing %s: refused twice", h.name)
}

// ours reads the lease after a refused compare-and-swap. When it is still
// cur's (our holder id and epoch, written by an attempt whose answer was
// lost), it adopts it and returns ok. Otherwise it returns the *LostError.
func (h *Held) ours(ctx context.Context, cur Lease) (*LostError, bool, error) {
	got, info, exists, err := read(ctx, h.st, h.name)
	if err != nil {
		return nil, false, err
	}
	if exists && got.Holder.ID == cur.Holder.ID && got.Epoch == cur.Epoch {
		h.clk.saw(info.LastModified)
		h.set(got, info.ETag)
		return nil, true, nil
	}
	lerr := &LostError{Name: h.name, Epoch: cur.Epoch}
	if exists {
		lerr.By = &got
	} else {
		lerr.Err = fmt.Errorf("lease: %s was deleted", h.name)
	}
	return lerr, false, nil
}

// Release stops the renewal and, unless the lease was lost, marks it
// released (expiry zero, same epoch) by compare-and-swap, so that the next
// acquirer takes over at once. It returns the *LostError of a lease lost
// before or during the release, which it leaves alone, or the error of the
// write, after which the lease simply expires. Later calls return the same.
func (h *Held) Release(ctx context.Context) error {
	h.release.once.Do(func() { h.release.err = h.doRelease(ctx) })
	return h.release.err
}

func (h *Held) doRelease(ctx context.Context) error {
	h.cancel()
	h.wg.Wait()
	defer h.end(ErrReleased)
	for range 3 {
		cur, etag, _, err := h.current()
		if err != nil {
			return err
		}
		if cur.Released() {
			return nil
		}
		rel := cur
		rel.Expiry = time.Time{}
		info, err := h.clk.put(ctx, h.st, h.name, rel, store.IfMatch(etag))
		if err == nil {
			h.set(rel, info.ETag)
			return nil
		}
		if !errors.Is(err, store.ErrPreconditionFailed) {
			return fmt.Errorf("lease: releasing %s: %w", h.name, err)
		}
		lerr, ok, err := h.ours(ctx, cur)
		if err != nil {
			return fmt.Errorf("lease: releasing %s: %w", h.name, err)
		}
		if !ok {
			h.end(lerr)
			return lerr
		}
	}
	return fmt.Errorf("lease: releasing %s: refused three times", h.name)
}
