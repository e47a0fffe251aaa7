package lease

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lakesql/lakesql/store"
)

// DefaultDuration is the lease duration when Options.Duration is zero.
const DefaultDuration = 10 * time.Second

// Options configure Acquire and the Held it returns.
type Options struct {
	// Duration is how long a write of the lease holds it; 0 means
	// DefaultDuration.
	Duration time.Duration
	// RenewEvery is the interval between renewals; 0 means Duration/3.
	// It must leave room for a retry: at most (Duration-Slack)/2.
	RenewEvery time.Duration
	// Slack absorbs the store's coarse clock (S3 stamps whole seconds) and
	// the error of the skew estimate: a holder counts its lease lost at
	// expiry-Slack, an acquirer counts it expired after expiry+Slack. 0
	// means 1 s, or Duration/5 if smaller.
	Slack time.Duration
	// MinEpoch is the highest epoch already claimed in the branch's
	// commit log: the new epoch exceeds it and the old lease's.
	MinEpoch int64
	// Wait makes Acquire wait, while ctx allows, for a live holder's lease
	// to expire or be released instead of failing with ErrHeld.
	Wait bool
	// Clock is the local clock; nil means the real one.
	Clock Clock
	// Holder is who acquires; the zero Holder means Self(). A Holder
	// without an ID gets a random one.
	Holder Holder
}

func (o Options) withDefaults() (Options, error) {
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Slack == 0 {
		o.Slack = min(time.Second, o.Duration/5)
	}
	if o.RenewEvery == 0 {
		o.RenewEvery = o.Duration / 3
	}
	switch {
	case o.Duration < 0 || o.Slack < 0 || o.RenewEvery < 0:
		return o, fmt.Errorf("lease: negative duration in options %+v", o)
	case o.RenewEvery > (o.Duration-o.Slack)/2:
		return o, fmt.Errorf("lease: RenewEvery %v leaves no room for a retry within Duration %v - Slack %v", o.RenewEvery, o.Duration, o.Slack)
	}
	if o.Holder == (Holder{}) {
		o.Holder = Self()
	}
	if o.Holder.ID == "" {
		o.Holder.ID = newID()
	}
	return o, nil
}

// action is what an acquirer does with the lease it found.
type action int

const (
	actCreate   action = iota // no lease: create it
	actTakeOver               // replace it
	actHeld                   // a live holder has it
)

// decide says what self does about lease l (exists: there is an object)
// when the store's clock reads now, and why. gone reports whether the
// process of a holder on self's host has ended. It does no I/O beyond gone.
func decide(l Lease, exists bool, now time.Time, slack time.Duration, self Holder, gone func(Holder) bool) (action, string) {
	switch {
	case !exists:
		return actCreate, "no lease"
	case l.Released():
		return actTakeOver, "released"
	case now.After(l.Expiry.Add(slack)):
		return actTakeOver, "expired"
	case sameHost(self, l.Holder) && gone(l.Holder):
		return actTakeOver, "holder process gone"
	default:
		return actHeld, "held"
	}
}

// Acquire makes the caller the holder of the lease stored under name, or
// fails with a *HeldError (ErrHeld) naming the live holder; see the package
// documentation for the protocol. The returned Held renews the lease in the
// background until Release; ctx bounds only the acquisition.
func Acquire(ctx context.Context, st store.Store, name string, opts Options) (*Held, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	clk := newStoreClock(o.Clock)
	for {
		old, info, exists, err := read(ctx, st, name)
		if err != nil {
			return nil, err
		}
		if exists {
			clk.saw(info.LastModified)
		}
		act, _ := decide(old, exists, clk.now(), o.Slack, o.Holder, processGone)
		if act == actHeld {
			herr := &HeldError{Name: name, Holder: old.Holder, Epoch: old.Epoch, Expiry: old.Expiry}
			if !o.Wait {
				return nil, herr
			}
			// Sleep until the expiry, looking again every RenewEvery in
			// case the holder releases it.
			d := min(old.Expiry.Add(o.Slack).Sub(clk.now()), o.RenewEvery)
			if err := clk.sleep(ctx, max(d, time.Millisecond)); err != nil {
				return nil, fmt.Errorf("%w; gave up waiting: %w", herr, err)
			}
			continue
		}
		next := Lease{Holder: o.Holder, Epoch: max(o.MinEpoch, 0) + 1, Expiry: clk.now().Add(o.Duration)}
		cond := store.IfAbsent()
		prev := Lease{}
		if act == actTakeOver {
			next.Epoch = max(old.Epoch, o.MinEpoch) + 1
			cond = store.IfMatch(info.ETag)
			prev = old
		}
		winfo, err := clk.put(ctx, st, name, next, cond)
		switch {
		case err == nil:
			return startHeld(ctx, st, name, o, clk, next, winfo.ETag, prev), nil
		case errors.Is(err, store.ErrPreconditionFailed):
			continue // another acquirer won; it is now the live holder
		}
		// The put may have landed with its answer lost.
		got, ginfo, gexists, rerr := read(ctx, st, name)
		if rerr == nil && gexists && got.Holder.ID == next.Holder.ID && got.Epoch == next.Epoch {
			clk.saw(ginfo.LastModified)
			return startHeld(ctx, st, name, o, clk, got, ginfo.ETag, prev), nil
		}
		return nil, fmt.Errorf("lease: writing %s: %w", name, err)
	}
}
