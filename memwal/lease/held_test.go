package lease

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
)

// TestRenewalKeepsLease: with a 300 ms lease, the holder keeps it across
// several durations, and nobody else can take it.
func TestRenewalKeepsLease(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		opts := Options{Duration: 300 * time.Millisecond}
		h, err := Acquire(ctx, st, leaseName, opts)
		if err != nil {
			t.Fatal(err)
		}
		release(t, h)
		first := h.Lease()
		for range 4 {
			time.Sleep(opts.Duration)
			if err := h.Check(); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if _, err := Acquire(ctx, st, leaseName, opts); !errors.Is(err, ErrHeld) {
				t.Fatalf("Acquire while renewed: %v; want ErrHeld", err)
			}
		}
		got := mustRead(t, st, leaseName)
		if got.Epoch != first.Epoch || !got.Expiry.After(first.Expiry.Add(opts.Duration)) {
			t.Errorf("after 1.2 s: %+v; first written %+v", got, first)
		}
	})
}

// TestRenewalFindsTakeOver: a renewal refused because another holder took
// the lease over makes the Held lost, naming the taker.
func TestRenewalFindsTakeOver(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		h, err := Acquire(ctx, st, leaseName, Options{Duration: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		release(t, h)
		// A forced takeover, as by a process whose clock ran ahead.
		_, etag, _, err := Read(ctx, st, leaseName)
		if err != nil {
			t.Fatal(err)
		}
		taker := Lease{Holder: Holder{Host: "elsewhere", PID: 77, ID: "taker"}, Epoch: h.Epoch() + 1, Expiry: time.Now().Add(time.Hour).UTC()}
		if _, err := store.PutBytes(ctx, st, leaseName, encode(taker), store.IfMatch(etag)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-h.Lost():
		case <-time.After(5 * time.Second):
			t.Fatal("Lost() not closed")
		}
		var lerr *LostError
		if !errors.As(h.Err(), &lerr) || lerr.By == nil || *lerr.By != taker || lerr.Epoch != 1 {
			t.Fatalf("Err() = %v; want a LostError naming %+v", h.Err(), taker)
		}
		if !errors.Is(h.Check(), ErrLost) {
			t.Errorf("Check() = %v", h.Check())
		}
		if err := h.Release(ctx); !errors.Is(err, ErrLost) {
			t.Errorf("Release: %v; want ErrLost", err)
		}
		if got := mustRead(t, st, leaseName); got != taker {
			t.Errorf("Release of a lost lease changed it to %+v", got)
		}
	})
}

// TestCheckFindsExpiry: Check declares the lease lost at expiry-slack even
// when the renewal goroutine has not run.
func TestCheckFindsExpiry(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	st := newFakeClockStore(clk)
	h, err := Acquire(ctx, st, leaseName, Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	release(t, h)
	// Move the clock without firing timers, as a stalled goroutine.
	clk.mu.Lock()
	clk.now = clk.now.Add(9*time.Second - time.Nanosecond)
	clk.mu.Unlock()
	if err := h.Check(); err != nil {
		t.Fatalf("Check before expiry-slack: %v", err)
	}
	clk.mu.Lock()
	clk.now = clk.now.Add(time.Nanosecond)
	clk.mu.Unlock()
	if err := h.Check(); !errors.Is(err, ErrLost) {
		t.Fatalf("Check at expiry-slack: %v; want ErrLost", err)
	}
	select {
	case <-h.Lost():
	default:
		t.Error("Lost() open")
	}
}
