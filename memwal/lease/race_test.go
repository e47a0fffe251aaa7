package lease

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
)

// TestRaceGoroutines: 8 goroutines race Acquire on a lease that is free
// (released, or expired), round after round: exactly one wins each round,
// and the epochs increase strictly.
func TestRaceGoroutines(t *testing.T) {
	const acquirers, rounds = 8, 6
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		writeLease(t, st, leaseName, Lease{Holder: Holder{Host: "elsewhere", PID: 1, ID: "old"}, Epoch: 5})
		last := int64(5)
		for round := range rounds {
			start := make(chan struct{})
			helds := make([]*Held, acquirers)
			errs := make([]error, acquirers)
			var wg sync.WaitGroup
			for i := range acquirers {
				wg.Go(func() {
					<-start
					helds[i], errs[i] = Acquire(ctx, st, leaseName, Options{})
				})
			}
			close(start)
			wg.Wait()
			var winner *Held
			for i := range acquirers {
				switch {
				case errs[i] == nil && winner != nil:
					t.Fatalf("round %d: two winners, epochs %d and %d", round, winner.Epoch(), helds[i].Epoch())
				case errs[i] == nil:
					winner = helds[i]
					release(t, winner)
				case !errors.Is(errs[i], ErrHeld):
					t.Fatalf("round %d: acquirer %d: %v", round, i, errs[i])
				}
			}
			if winner == nil {
				t.Fatalf("round %d: no winner", round)
			}
			if winner.Epoch() <= last {
				t.Fatalf("round %d: epoch %d after %d", round, winner.Epoch(), last)
			}
			last = winner.Epoch()
			if got := mustRead(t, st, leaseName); got != winner.Lease() {
				t.Fatalf("round %d: stored %+v; winner has %+v", round, got, winner.Lease())
			}
			if round%2 == 0 {
				if err := winner.Release(ctx); err != nil {
					t.Fatal(err)
				}
				continue
			}
			// The winner stops renewing: its lease is found expired.
			_, etag, _, err := Read(ctx, st, leaseName)
			if err != nil {
				t.Fatal(err)
			}
			expired := winner.Lease()
			expired.Expiry = time.Now().Add(-time.Minute).UTC()
			if _, err := store.PutBytes(ctx, st, leaseName, encode(expired), store.IfMatch(etag)); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// Environment of a child process of TestRaceProcesses.
const (
	envChild = "LAKESQL_LEASE_TEST_CHILD" // "release" or "exit": what the winner does
	envDir   = "LAKESQL_LEASE_TEST_DIR"
	envStart = "LAKESQL_LEASE_TEST_START"
)

// raceChild is a child of TestRaceProcesses: at the agreed time it acquires
// the lease in the local store, prints "won <epoch> <pid>" or "held", waits
// for its stdin to close, and then, if it won, releases the lease or exits
// holding it.
func raceChild() int {
	ctx := context.Background()
	st, err := local.Open(os.Getenv(envDir))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	startNanos, _ := strconv.ParseInt(os.Getenv(envStart), 10, 64)
	time.Sleep(time.Until(time.Unix(0, startNanos)))
	h, err := Acquire(ctx, st, leaseName, Options{})
	switch {
	case err == nil:
		fmt.Printf("won %d %d\n", h.Epoch(), os.Getpid())
	case errors.Is(err, ErrHeld):
		fmt.Println("held")
	default:
		fmt.Fprintln(os.Stderr, "acquire:", err)
		return 3
	}
	io.Copy(io.Discard, os.Stdin)
	if h != nil && os.Getenv(envChild) == "release" {
		if err := h.Release(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "release:", err)
			return 4
		}
	}
	return 0
}

// TestRaceProcesses: 4 processes (this test binary, re-executed) race
// Acquire on a free lease in a local store, round after round: exactly one
// wins each round, with a higher epoch than the last. The winner of one
// round releases the lease or exits holding it, so the next round takes it
// over as released or as held by a dead pid.
func TestRaceProcesses(t *testing.T) {
	const processes, rounds = 4, 4
	if Self().BootID == "" {
		t.Skip("no boot id on this system: a dead holder would not be detected")
	}
	dir := t.TempDir()
	st, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	writeLease(t, st, leaseName, Lease{Holder: Holder{Host: "elsewhere", PID: 1, ID: "old"}, Epoch: 5})
	last := int64(5)
	for round := range rounds {
		mode := [...]string{"release", "exit"}[round%2]
		start := time.Now().Add(300 * time.Millisecond).UnixNano()
		type child struct {
			cmd    *exec.Cmd
			stdin  io.WriteCloser
			stdout *bufio.Reader
			stderr bytes.Buffer
		}
		children := make([]*child, processes)
		for p := range children {
			c := &child{cmd: exec.Command(os.Args[0], "-test.run=^$")}
			c.cmd.Env = append(os.Environ(), envChild+"="+mode, envDir+"="+dir,
				envStart+"="+strconv.FormatInt(start, 10),
				// Under -race, do not sleep a second at exit.
				"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
			c.cmd.Stderr = &c.stderr
			if c.stdin, err = c.cmd.StdinPipe(); err != nil {
				t.Fatal(err)
			}
			out, err := c.cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			c.stdout = bufio.NewReader(out)
			if err := c.cmd.Start(); err != nil {
				t.Fatal(err)
			}
			children[p] = c
		}
		// Every child has decided before any winner lets go.
		lines := make([]string, processes)
		for p, c := range children {
			line, err := c.stdout.ReadString('\n')
			lines[p] = strings.TrimSpace(line)
			if err != nil {
				lines[p] += " (" + err.Error() + ")"
			}
		}
		for _, c := range children {
			c.stdin.Close()
		}
		for p, c := range children {
			if err := c.cmd.Wait(); err != nil {
				t.Fatalf("round %d: child %d printed %q: %v: %s", round, p, lines[p], err, c.stderr.String())
			}
		}
		var winner string
		for p, line := range lines {
			switch {
			case strings.HasPrefix(line, "won ") && winner != "":
				t.Fatalf("round %d: two winners: %q and %q", round, winner, line)
			case strings.HasPrefix(line, "won "):
				winner = line
			case line != "held":
				t.Fatalf("round %d: child %d printed %q", round, p, line)
			}
		}
		var epoch int64
		var pid int
		if _, err := fmt.Sscanf(winner, "won %d %d", &epoch, &pid); err != nil {
			t.Fatalf("round %d: winner %q: %v", round, winner, err)
		}
		if epoch <= last {
			t.Fatalf("round %d: epoch %d after %d", round, epoch, last)
		}
		last = epoch
		got := mustRead(t, st, leaseName)
		if got.Epoch != epoch || got.Holder.PID != pid || got.Released() != (mode == "release") {
			t.Fatalf("round %d (%s): stored %+v; winner %q", round, mode, got, winner)
		}
	}
}
