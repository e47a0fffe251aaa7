package lease

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/faultstore"
	"github.com/lakesql/lakesql/store/mem"
)

func TestAcquireCreates(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		h, err := Acquire(ctx, st, leaseName, Options{MinEpoch: 6})
		if err != nil {
			t.Fatal(err)
		}
		release(t, h)
		if h.Epoch() != 7 {
			t.Errorf("epoch %d; want MinEpoch+1 = 7", h.Epoch())
		}
		if h.Previous() != (Lease{}) {
			t.Errorf("Previous() = %+v; want none", h.Previous())
		}
		got := mustRead(t, st, leaseName)
		if got != h.Lease() || got.Holder.PID != os.Getpid() || got.Released() {
			t.Errorf("stored %+v; Held has %+v", got, h.Lease())
		}
		if h.Err() != nil {
			t.Errorf("Err() = %v", h.Err())
		}
	})
}

// TestHeldThenReleased: a second acquirer fails with ErrHeld naming the
// holder; after Release it takes over at once with the next epoch.
func TestHeldThenReleased(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		first, err := Acquire(ctx, st, leaseName, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Acquire(ctx, st, leaseName, Options{})
		var herr *HeldError
		if !errors.Is(err, ErrHeld) || !errors.As(err, &herr) {
			t.Fatalf("second Acquire: %v; want ErrHeld", err)
		}
		host, _ := os.Hostname()
		if herr.Holder != first.Lease().Holder || herr.Epoch != 1 {
			t.Errorf("HeldError names %+v epoch %d; want %+v epoch 1", herr.Holder, herr.Epoch, first.Lease().Holder)
		}
		if want := "written by host " + host + " pid "; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}

		if err := first.Release(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-first.Lost():
		default:
			t.Error("Lost() open after Release")
		}
		if !errors.Is(first.Err(), ErrReleased) {
			t.Errorf("Err() after Release = %v", first.Err())
		}
		released := mustRead(t, st, leaseName)
		if !released.Released() || released.Epoch != 1 || released.Holder != first.Lease().Holder {
			t.Errorf("released lease %+v", released)
		}

		second, err := Acquire(ctx, st, leaseName, Options{})
		if err != nil {
			t.Fatalf("Acquire after Release: %v", err)
		}
		release(t, second)
		if second.Epoch() != 2 || second.Previous() != released {
			t.Errorf("epoch %d previous %+v; want 2 and %+v", second.Epoch(), second.Previous(), released)
		}
		// A released Held stays released.
		if err := first.Release(ctx); err != nil {
			t.Errorf("second Release: %v", err)
		}
		if got := mustRead(t, st, leaseName); got != second.Lease() {
			t.Errorf("second Release changed the lease to %+v", got)
		}
	})
}

// TestTakeOverEpochExceedsMinEpoch: the new epoch exceeds both the old
// lease's and the highest claimed in the branch log.
func TestTakeOverEpochExceedsMinEpoch(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	writeLease(t, st, leaseName, Lease{Holder: Holder{Host: "elsewhere", PID: 1, ID: "old"}, Epoch: 4})
	for _, tc := range []struct{ min, want int64 }{{2, 5}, {9, 10}} {
		h, err := Acquire(ctx, st, leaseName, Options{MinEpoch: tc.min})
		if err != nil {
			t.Fatal(err)
		}
		if h.Epoch() != tc.want {
			t.Errorf("MinEpoch %d: epoch %d; want %d", tc.min, h.Epoch(), tc.want)
		}
		if err := h.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestExpiredTakeOver: a lease whose renewals fail expires; the holder
// reports it lost before another acquirer takes it over with the next epoch.
func TestExpiredTakeOver(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	inner := mem.New()
	inner.SetClock(clk.Now)
	// The first holder reaches the store through a faultstore.
	fs := faultstore.New(inner, faultstore.Options{Logf: t.Logf})
	opts := Options{Clock: clk} // 10 s, renew every 3.33 s, slack 1 s
	first, err := Acquire(ctx, fs, leaseName, opts)
	if err != nil {
		t.Fatal(err)
	}
	release(t, first)
	start := first.Lease()
	fs.AddRule(faultstore.Rule{Ops: faultstore.OpPut, Prefix: leaseName})

	// Renewals fail from now on, but the lease is still good.
	for range 8 {
		waitFor(t, "the renewal timer", func() bool { return clk.waiting() > 0 })
		clk.Advance(time.Second)
	}
	waitFor(t, "the renewal timer", func() bool { return clk.waiting() > 0 })
	if first.Err() != nil || first.Check() != nil {
		t.Fatalf("at +8s: Err %v, Check %v", first.Err(), first.Check())
	}
	if _, err := Acquire(ctx, inner, leaseName, opts); !errors.Is(err, ErrHeld) {
		t.Fatalf("Acquire at +8s: %v; want ErrHeld", err)
	}
	if fs.Stats().Put.Injected < 2 {
		t.Errorf("%d renewals tried; want 2 or more", fs.Stats().Put.Injected)
	}

	// At expiry-slack the holder gives up.
	clk.Advance(time.Second)
	select {
	case <-first.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("Lost() not closed at expiry - slack")
	}
	var lerr *LostError
	if !errors.As(first.Err(), &lerr) || lerr.By != nil || !errors.Is(lerr, faultstore.ErrInjected) {
		t.Errorf("Err() = %v; want a LostError by expiry, citing the injected fault", first.Err())
	}
	// Until expiry+slack nobody else takes it.
	clk.Advance(2 * time.Second) // expiry + 1 s
	if _, err := Acquire(ctx, inner, leaseName, opts); !errors.Is(err, ErrHeld) {
		t.Fatalf("Acquire at expiry+slack: %v; want ErrHeld", err)
	}
	clk.Advance(time.Millisecond)
	second, err := Acquire(ctx, inner, leaseName, opts)
	if err != nil {
		t.Fatalf("Acquire after expiry: %v", err)
	}
	release(t, second)
	if second.Epoch() != start.Epoch+1 || second.Previous() != start {
		t.Errorf("epoch %d previous %+v; want %d and %+v", second.Epoch(), second.Previous(), start.Epoch+1, start)
	}
	// The lost holder's Release leaves the new lease alone.
	if err := first.Release(ctx); !errors.Is(err, ErrLost) {
		t.Errorf("Release of a lost lease: %v; want ErrLost", err)
	}
	if got := mustRead(t, inner, leaseName); got != second.Lease() {
		t.Errorf("lease %+v; want %+v", got, second.Lease())
	}
}

// TestDeadPIDTakeOver: a lease of a process on this host that has ended is
// taken over at once, before its expiry.
func TestDeadPIDTakeOver(t *testing.T) {
	self := Self()
	if self.BootID == "" {
		t.Skip("no boot id on this system")
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		holder func(Holder) Holder
	}{
		{"dead pid", func(h Holder) Holder { h.PID = deadPID(t); return h }},
		// This process's pid, but another start time: the pid was reused.
		{"reused pid", func(h Holder) Holder { h.StartTicks++; return h }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, st store.Store) {
				old := Lease{Holder: tc.holder(Self()), Epoch: 3, Expiry: time.Now().Add(time.Hour).UTC()}
				writeLease(t, st, leaseName, old)
				h, err := Acquire(ctx, st, leaseName, Options{})
				if err != nil {
					t.Fatalf("Acquire: %v", err)
				}
				release(t, h)
				if h.Epoch() != 4 || h.Previous() != old {
					t.Errorf("epoch %d previous %+v; want 4 and %+v", h.Epoch(), h.Previous(), old)
				}
			})
		})
	}
}

// TestLivePIDOrOtherHostHolds: a live process of this host, and any process
// of another host, dead pid or not, keep an unexpired lease.
func TestLivePIDOrOtherHostHolds(t *testing.T) {
	ctx := context.Background()
	dead := deadPID(t)
	for _, tc := range []struct {
		name   string
		holder func(Holder) Holder
	}{
		{"live pid", func(h Holder) Holder { return h }},
		{"other host", func(h Holder) Holder { h.Host += "-other"; h.PID = dead; return h }},
		{"other boot", func(h Holder) Holder { h.BootID += "-other"; h.PID = dead; return h }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := mem.New()
			old := Lease{Holder: tc.holder(Self()), Epoch: 3, Expiry: time.Now().Add(time.Hour).UTC()}
			writeLease(t, st, leaseName, old)
			_, err := Acquire(ctx, st, leaseName, Options{})
			var herr *HeldError
			if !errors.As(err, &herr) || herr.Holder != old.Holder {
				t.Fatalf("Acquire: %v; want a HeldError naming %+v", err, old.Holder)
			}
			if got := mustRead(t, st, leaseName); got != old {
				t.Errorf("lease changed to %+v", got)
			}
		})
	}
}

// TestWaitForExpiry: with Wait, Acquire sleeps until the holder's lease
// expires, then takes it over.
func TestWaitForExpiry(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	st := mem.New()
	st.SetClock(clk.Now)
	old := Lease{Holder: Holder{Host: "elsewhere", PID: 1, ID: "old"}, Epoch: 2, Expiry: clk.Now().Add(10 * time.Second)}
	writeLease(t, st, leaseName, old)

	type result struct {
		h   *Held
		err error
	}
	done := make(chan result, 1)
	go func() {
		h, err := Acquire(ctx, st, leaseName, Options{Clock: clk, Wait: true})
		done <- result{h, err}
	}()
	for elapsed := time.Duration(0); ; elapsed += 500 * time.Millisecond {
		waitFor(t, "the waiting acquirer", func() bool { return clk.waiting() > 0 || len(done) > 0 })
		if len(done) > 0 {
			break
		}
		if elapsed > 20*time.Second {
			t.Fatalf("Acquire still waiting at +%v", elapsed)
		}
		clk.Advance(500 * time.Millisecond)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	release(t, r.h)
	if now := clk.Now(); now.Before(old.Expiry.Add(time.Second)) {
		t.Errorf("took over at %v, before expiry+slack %v", now, old.Expiry.Add(time.Second))
	}
	if r.h.Epoch() != 3 || r.h.Previous() != old {
		t.Errorf("epoch %d previous %+v", r.h.Epoch(), r.h.Previous())
	}

	// A canceled wait gives up with both reasons.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err := Acquire(cctx, st, leaseName, Options{Clock: clk, Wait: true})
	if !errors.Is(err, ErrHeld) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("canceled wait: %v", err)
	}
}

// TestLostResponses: a create and a renewal whose answers are lost landed
// all the same; the holder recognises its own writes.
func TestLostResponses(t *testing.T) {
	ctx := context.Background()
	inner := mem.New()
	fs := faultstore.New(inner, faultstore.Options{Logf: t.Logf, Rules: []faultstore.Rule{
		{Ops: faultstore.OpPut, Prefix: leaseName, Times: 1, Fault: faultstore.Fault{LostResponse: true}},
	}})
	opts := Options{Duration: 300 * time.Millisecond}
	h, err := Acquire(ctx, fs, leaseName, opts)
	if err != nil {
		t.Fatalf("Acquire with a lost response: %v", err)
	}
	if got := mustRead(t, inner, leaseName); got != h.Lease() {
		t.Fatalf("stored %+v; Held has %+v", got, h.Lease())
	}
	// The first renewal lands, unseen; the second is refused, finds its
	// own lease and renews on top of it.
	fs.AddRule(faultstore.Rule{Ops: faultstore.OpPut, Prefix: leaseName, Times: 1, Fault: faultstore.Fault{LostResponse: true}})
	waitFor(t, "two renewals", func() bool { return fs.Stats().Put.Calls >= 4 })
	if err := h.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, inner, leaseName); !got.Released() || got.Epoch != 1 {
		t.Errorf("after Release: %+v", got)
	}
}

func TestOptionsInvalid(t *testing.T) {
	for _, o := range []Options{
		{Duration: -time.Second},
		{Duration: time.Second, RenewEvery: time.Second},
	} {
		if _, err := Acquire(context.Background(), mem.New(), leaseName, o); err == nil {
			t.Errorf("Acquire with %+v: no error", o)
		}
	}
}
