package base

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// withTimeout runs f and fails the test when it does not return within
// d: a deadlock fails rather than hangs.
func withTimeout(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("did not return within %s: deadlock", d)
	}
}

// mapProbe counts what an OrderedMap run does: work calls running at once
// (and the most at once), calls of work and consume, and whether the
// producer has returned.
type mapProbe struct {
	running, maxRunning atomic.Int64
	worked, consumed    atomic.Int64
	produced            atomic.Int64 // sends that returned true
	producerDone        atomic.Bool
}

func (p *mapProbe) enter() {
	n := p.running.Add(1)
	for {
		m := p.maxRunning.Load()
		if n <= m || p.maxRunning.CompareAndSwap(m, n) {
			break
		}
	}
	p.worked.Add(1)
}

func (p *mapProbe) exit() { p.running.Add(-1) }

// afterReturn checks that nothing runs once OrderedMap has returned.
func (p *mapProbe) afterReturn(t *testing.T) {
	t.Helper()
	if !p.producerDone.Load() {
		t.Error("OrderedMap returned before the producer did")
	}
	if n := p.running.Load(); n != 0 {
		t.Errorf("OrderedMap returned with %d work calls running", n)
	}
}

// TestOrderedMapOrder: results are consumed in item order whatever the
// work takes, on at most `workers` goroutines at once, with at most
// 2*workers items in flight.
func TestOrderedMapOrder(t *testing.T) {
	for _, workers := range []int{1, 3, 8, 0} {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			const n = 200
			var p mapProbe
			var got []int
			var err error
			limit := int64(workers)
			if workers < 1 {
				limit = 1 << 30 // GOMAXPROCS
			}
			seed := rand.Uint64()
			withTimeout(t, 10*time.Second, func() {
				err = OrderedMap(workers, func(send func(int) bool) error {
					defer p.producerDone.Store(true)
					for i := range n {
						if !send(i) {
							return errors.New("send refused without an error")
						}
						sent := p.produced.Add(1)
						// Items sent but not consumed: those whose results
						// wait in order (2*workers) and one the consumer
						// holds.
						if w := int64(max(workers, 1)); workers > 0 && sent-p.consumed.Load() > 2*w+1 {
							t.Errorf("%d items in flight with %d workers", sent-p.consumed.Load(), workers)
						}
					}
					return nil
				}, func(i int) (string, error) {
					p.enter()
					defer p.exit()
					r := rand.New(rand.NewPCG(seed, uint64(i)))
					time.Sleep(time.Duration(r.IntN(300)) * time.Microsecond)
					return fmt.Sprint(i), nil
				}, func(s string) error {
					p.consumed.Add(1)
					var i int
					fmt.Sscan(s, &i)
					got = append(got, i)
					return nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			p.afterReturn(t)
			want := make([]int, n)
			for i := range want {
				want[i] = i
			}
			if !slices.Equal(got, want) {
				t.Errorf("consumed out of order: %v", got)
			}
			if m := p.maxRunning.Load(); m > limit {
				t.Errorf("%d work calls at once with %d workers", m, workers)
			}
		})
	}
}

// TestOrderedMapParallel: the first `workers` items are worked on at the
// same time (each waits for all of them to start).
func TestOrderedMapParallel(t *testing.T) {
	const workers = 4
	var started sync.WaitGroup
	started.Add(workers)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	var err error
	withTimeout(t, 10*time.Second, func() {
		err = OrderedMap(workers, func(send func(int) bool) error {
			for i := range 3 * workers {
				if !send(i) {
					break
				}
			}
			return nil
		}, func(i int) (int, error) {
			if i < workers {
				started.Done()
				select {
				case <-all:
				case <-time.After(5 * time.Second):
					return 0, fmt.Errorf("item %d: the other first items did not start alongside it", i)
				}
			}
			return i, nil
		}, func(int) error { return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOrderedMapFirstError: of two failing items the earlier in item
// order gives the error, even when the later fails first; nothing after
// the failing item is consumed and the producer stops.
func TestOrderedMapFirstError(t *testing.T) {
	for _, workers := range []int{1, 2, 6} {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			var p mapProbe
			var consumed []int
			var err error
			err2, err5 := errors.New("item 2 failed"), errors.New("item 5 failed")
			withTimeout(t, 10*time.Second, func() {
				err = OrderedMap(workers, func(send func(int) bool) error {
					defer p.producerDone.Store(true)
					for i := 0; ; i++ { // endless: only the failure stops it
						if !send(i) {
							return nil
						}
						p.produced.Add(1)
					}
				}, func(i int) (int, error) {
					p.enter()
					defer p.exit()
					switch i {
					case 2:
						time.Sleep(20 * time.Millisecond) // fails after item 5 has
						return 0, err2
					case 5:
						return 0, err5
					}
					return i, nil
				}, func(i int) error {
					consumed = append(consumed, i)
					return nil
				})
			})
			if err != err2 {
				t.Errorf("error %v, want item 2's", err)
			}
			if !slices.Equal(consumed, []int{0, 1}) {
				t.Errorf("consumed %v, want [0 1]", consumed)
			}
			p.afterReturn(t)
			if n := p.produced.Load(); n > int64(2+2*workers+2) {
				t.Errorf("the producer sent %d items after item 2 failed", n)
			}
		})
	}
}

// TestOrderedMapConsumeError: a consume error stops the producer and is
// returned; consume is not called again.
func TestOrderedMapConsumeError(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			var p mapProbe
			var consumed []int
			var err error
			stop := errors.New("consume failed")
			withTimeout(t, 10*time.Second, func() {
				err = OrderedMap(workers, func(send func(int) bool) error {
					defer p.producerDone.Store(true)
					for i := 0; ; i++ {
						if !send(i) {
							return nil
						}
						p.produced.Add(1)
					}
				}, func(i int) (int, error) {
					p.enter()
					defer p.exit()
					return i, nil
				}, func(i int) error {
					consumed = append(consumed, i)
					if i == 3 {
						return stop
					}
					return nil
				})
			})
			if err != stop {
				t.Errorf("error %v, want consume's", err)
			}
			if !slices.Equal(consumed, []int{0, 1, 2, 3}) {
				t.Errorf("consumed %v, want [0 1 2 3]", consumed)
			}
			p.afterReturn(t)
			if n := p.produced.Load(); n > int64(4+2*workers+2) {
				t.Errorf("the producer sent %d items after consume failed at item 3", n)
			}
		})
	}
	// The very first result failing, with a producer blocked on a full
	// pipeline and workers still busy.
	var err error
	withTimeout(t, 10*time.Second, func() {
		err = OrderedMap(2, func(send func(int) bool) error {
			for i := 0; ; i++ {
				if !send(i) {
					return nil
				}
			}
		}, func(i int) (int, error) {
			if i > 0 {
				time.Sleep(time.Millisecond)
			}
			return i, nil
		}, func(int) error { return errors.New("first") })
	})
	if err == nil || err.Error() != "first" {
		t.Errorf("error %v, want consume's", err)
	}
}

// TestOrderedMapProduceError: a producer error is returned after the
// items sent before it were all worked on and consumed; a work or consume
// error of an earlier item wins over it.
func TestOrderedMapProduceError(t *testing.T) {
	bad := errors.New("read failed")
	for _, workers := range []int{1, 3} {
		var consumed []int
		var err error
		withTimeout(t, 10*time.Second, func() {
			err = OrderedMap(workers, func(send func(int) bool) error {
				for i := range 7 {
					if !send(i) {
						return errors.New("send refused")
					}
				}
				return bad
			}, func(i int) (int, error) {
				time.Sleep(time.Duration(7-i) * time.Millisecond) // the last sent finish first
				return i * i, nil
			}, func(v int) error {
				consumed = append(consumed, v)
				return nil
			})
		})
		if err != bad {
			t.Errorf("workers=%d: error %v, want the producer's", workers, err)
		}
		if !slices.Equal(consumed, []int{0, 1, 4, 9, 16, 25, 36}) {
			t.Errorf("workers=%d: consumed %v, want every item sent before the error", workers, consumed)
		}
	}
	// A work error before the producer's: the work error.
	workErr := errors.New("work failed")
	var err error
	withTimeout(t, 10*time.Second, func() {
		err = OrderedMap(2, func(send func(int) bool) error {
			for i := range 4 {
				if !send(i) {
					return nil
				}
			}
			return bad
		}, func(i int) (int, error) {
			if i == 1 {
				return 0, workErr
			}
			return i, nil
		}, func(int) error { return nil })
	})
	if err != workErr {
		t.Errorf("error %v, want the work error of item 1", err)
	}
	// A producer that fails before sending anything.
	withTimeout(t, 10*time.Second, func() {
		err = OrderedMap(2, func(send func(int) bool) error { return bad },
			func(i int) (int, error) { t.Error("work called"); return i, nil },
			func(int) error { t.Error("consume called"); return nil })
	})
	if err != bad {
		t.Errorf("error %v, want the producer's", err)
	}
}

// TestOrderedMapStopsAtNextSend: once a result has failed, the producer's
// next send returns false (OrderedMap's doc: "the producer then stops at
// its next send"), so no further item is worked on.
func TestOrderedMapStopsAtNextSend(t *testing.T) {
	accepted := 0
	const runs = 20
	for range runs {
		failed := make(chan struct{})
		var err error
		withTimeout(t, 10*time.Second, func() {
			err = OrderedMap(2, func(send func(int) bool) error {
				if !send(0) {
					return nil
				}
				<-failed
				// By then consume has returned and done is closed (the wait
				// is long for a loaded machine: a send before done closes
				// may still be taken).
				time.Sleep(50 * time.Millisecond)
				for i := 1; ; i++ {
					if !send(i) {
						return nil
					}
					accepted++
				}
			}, func(i int) (int, error) { return i, nil }, func(int) error {
				close(failed)
				return errors.New("consume failed")
			})
		})
		if err == nil {
			t.Fatal("no error")
		}
	}
	if accepted > 0 {
		t.Errorf("over %d runs, %d sends returned true after consume had failed", runs, accepted)
	}
}
