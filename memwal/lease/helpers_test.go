package lease

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/store/mem"
)

const leaseName = "db/_lakesql_wal/0000000000000001/LEASE"

func TestMain(m *testing.M) {
	if os.Getenv(envChild) != "" {
		os.Exit(raceChild())
	}
	os.Exit(m.Run())
}

// eachStore runs f as a subtest on a mem store and on a local store.
func eachStore(t *testing.T, f func(t *testing.T, st store.Store)) {
	t.Run("mem", func(t *testing.T) { f(t, mem.New()) })
	t.Run("local", func(t *testing.T) {
		st, err := local.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		f(t, st)
	})
}

// fakeClock is a Clock that moves only when told to.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock forward by d and fires the timers now due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, tm := range c.timers {
		if tm.at.After(c.now) {
			kept = append(kept, tm)
			continue
		}
		tm.ch <- c.now
	}
	c.timers = kept
}

// waiting is the number of timers not yet fired.
func (c *fakeClock) waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// waitFor polls cond every millisecond for up to 5 s of real time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// writeLease stores l under name unconditionally, as another process would.
func writeLease(t *testing.T, st store.Store, name string, l Lease) {
	t.Helper()
	if _, err := store.PutBytes(context.Background(), st, name, encode(l)); err != nil {
		t.Fatal(err)
	}
}

// mustRead reads the lease under name, which must exist.
func mustRead(t *testing.T, st store.Reader, name string) Lease {
	t.Helper()
	l, _, exists, err := Read(context.Background(), st, name)
	if err != nil || !exists {
		t.Fatalf("Read(%s): exists %v, %v", name, exists, err)
	}
	return l
}

// release releases h at the end of the test, tolerating a lost lease.
func release(t *testing.T, h *Held) {
	t.Cleanup(func() {
		if err := h.Release(context.Background()); err != nil && !errors.Is(err, ErrLost) {
			t.Errorf("Release: %v", err)
		}
	})
}

// deadPID returns the pid of a process that has ended and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	return cmd.Process.Pid
}

// newFakeClockStore returns a mem store that stamps objects by clk.
func newFakeClockStore(clk *fakeClock) *mem.Store {
	st := mem.New()
	st.SetClock(clk.Now)
	return st
}
