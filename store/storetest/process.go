package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
)

// Environment of a child process of RunProcessRace.
const (
	envChild = "LAKESQL_STORETEST_CHILD"
	envURI   = "LAKESQL_STORETEST_URI"
	envName  = "LAKESQL_STORETEST_NAME"
	envBody  = "LAKESQL_STORETEST_BODY"
	envStart = "LAKESQL_STORETEST_START"
)

// opener is set by Main; RunProcessRace needs it to open the store in the
// parent and in the children. It is written once, before any test runs.
var opener func(uri string) (store.Store, error)

// Main is a backend test package's TestMain: in a child process started by
// RunProcessRace it races one put-if-absent and exits; otherwise it runs the
// tests. open opens a store by URI.
func Main(m *testing.M, open func(uri string) (store.Store, error)) {
	opener = open
	if os.Getenv(envChild) == "race" {
		os.Exit(raceChild(open))
	}
	os.Exit(m.Run())
}

// raceChild waits for the agreed start time, then puts its body under the
// agreed name with IfAbsent and prints "won" or "lost".
func raceChild(open func(uri string) (store.Store, error)) int {
	s, err := open(os.Getenv(envURI))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 2
	}
	defer s.Close()
	startNanos, _ := strconv.ParseInt(os.Getenv(envStart), 10, 64)
	time.Sleep(time.Until(time.Unix(0, startNanos)))
	_, err = store.PutBytes(context.Background(), s, os.Getenv(envName), []byte(os.Getenv(envBody)), store.IfAbsent())
	switch {
	case err == nil:
		fmt.Println("won")
	case errors.Is(err, store.ErrPreconditionFailed):
		fmt.Println("lost")
	default:
		fmt.Fprintln(os.Stderr, "put:", err)
		return 3
	}
	return 0
}

// RunProcessRace races several OS processes (the test binary re-executed,
// see Main) on put-if-absent of one name in the store at uri, round after
// round: exactly one process wins each round and the object holds its body.
func RunProcessRace(t *testing.T, uri string) {
	const processes, rounds = 4, 6
	if opener == nil {
		t.Fatal("storetest.RunProcessRace needs storetest.Main in the package's TestMain")
	}
	s, err := opener(uri)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for round := range rounds {
		name := fmt.Sprintf("process-race/%03d", round)
		// Children need a moment to start; they all put at the same instant.
		start := time.Now().Add(400 * time.Millisecond).UnixNano()
		outs := make([]string, processes)
		errs := make([]error, processes)
		var wg sync.WaitGroup
		for p := range processes {
			wg.Go(func() {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(),
					envChild+"=race", envURI+"="+uri, envName+"="+name,
					envBody+"="+fmt.Sprintf("process %d round %d", p, round),
					envStart+"="+strconv.FormatInt(start, 10))
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				outs[p] = strings.TrimSpace(string(out))
				if err != nil {
					errs[p] = fmt.Errorf("child %d: %v: %s", p, err, stderr.String())
				}
			})
		}
		wg.Wait()
		winner := -1
		for p := range processes {
			if errs[p] != nil {
				t.Fatalf("round %d: %v", round, errs[p])
			}
			switch outs[p] {
			case "won":
				if winner >= 0 {
					t.Fatalf("round %d: processes %d and %d both won", round, winner, p)
				}
				winner = p
			case "lost":
			default:
				t.Fatalf("round %d: child %d printed %q", round, p, outs[p])
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no process won", round)
		}
		got := read(t, s, name)
		if want := fmt.Sprintf("process %d round %d", winner, round); string(got) != want {
			t.Fatalf("round %d: object %q, winner wrote %q", round, got, want)
		}
	}
}
