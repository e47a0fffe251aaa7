package memwal

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/txn"
)

// The crash test runs a branch writer in child processes (this test binary
// again, running TestCrashChild) on a local store in a shared directory,
// kills each with SIGKILL at a random moment and starts the next, which
// takes the lease over from the dead one (at once: the holder pid is gone)
// and recovers from the WAL. Children write transactions whose content is a
// function of (seed, child number, transaction number), and report each
// one on stdout once Commit returned nil ("ack"), so the parent knows
// exactly what was acknowledged. Every few kills, and at the end, the parent
// opens the branch itself and checks:
//
//   - every acknowledged transaction is there, whole;
//   - no transaction is there in part;
//   - of the transactions not acknowledged, at most the one a child was
//     committing when it was killed is there (its WAL record may have
//     landed), and once seen there or not, it stays so;
//   - the hot keys, which transactions overwrite and delete, hold what the
//     last transaction present wrote;
//   - every version a child created holds exactly what was present when
//     it was created.
//
// LAKESQL_CRASH_KILLS sets the number of kills (default 50),
// LAKESQL_CRASH_SEED the seed.

const (
	crashDirEnv  = "LAKESQL_CRASH_DIR"
	crashGenEnv  = "LAKESQL_CRASH_GEN"
	crashSeedEnv = "LAKESQL_CRASH_SEED"
	crashKillEnv = "LAKESQL_CRASH_KILLS"
	// crashLease is the children's lease duration: a takeover that waited
	// for an expiry instead of seeing the dead pid would take longer.
	crashLease = 5 * time.Second
	crashHot   = 16 // hot keys -1..-16
)

// crashTxn is one transaction of a child.
type crashTxn struct {
	rows  int   // fresh rows n*8+j, j < rows, each (v = n, s = "r<rows>")
	hot   int64 // a hot key, put (v = n, s = "hot") or deleted
	del   bool
	after int // what the child does after the ack: 1 flush, 2 version, 3 checkpoint
}

// crashTxnNumber is the number of transaction i (from 1) of child gen.
func crashTxnNumber(gen, i int) int64 { return int64(gen)<<20 | int64(i) }

// crashGen generates the transactions of a child, the same in the child
// and in the parent.
type crashGen struct {
	r    *rand.Rand
	txns []crashTxn // txns[i-1] is transaction i
}

func newCrashGen(seed uint64, gen int) *crashGen {
	return &crashGen{r: rand.New(rand.NewPCG(seed, uint64(gen)))}
}

// txn returns transaction i (from 1).
func (g *crashGen) txn(i int) crashTxn {
	for len(g.txns) < i {
		c := crashTxn{rows: 1 + g.r.IntN(4), hot: -(1 + g.r.Int64N(crashHot)), del: g.r.IntN(5) == 0}
		switch k := g.r.IntN(100); {
		case k < 4:
			c.after = 1
		case k < 6:
			c.after = 2
		case k < 7:
			c.after = 3
		}
		g.txns = append(g.txns, c)
	}
	return g.txns[i-1]
}

// TestCrashChild is the child process of TestCrash.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the child process of TestCrash")
	}
	gen, _ := strconv.Atoi(os.Getenv(crashGenEnv))
	seed, _ := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
	os.Exit(crashChild(dir, gen, seed))
}

// crashChild writes until it is killed. Each line it prints is one write
// to the stdout pipe, which a kill cannot tear.
func crashChild(dir string, gen int, seed uint64) int {
	say := func(format string, args ...any) { fmt.Fprintf(os.Stdout, format+"\n", args...) }
	ctx := context.Background()
	st, err := local.Open(dir)
	if err != nil {
		say("fail local.Open: %v", err)
		return 2
	}
	db, err := txn.Open(ctx, st, "db", txn.Options{HeadRefresh: -1, Logger: quiet(), CheckpointInterval: 20})
	if err != nil {
		say("fail txn.Open: %v", err)
		return 2
	}
	start := time.Now()
	// Small MemTables in odd children (flushes, often killed), large ones
	// in even children (long stretches only in the WAL).
	flushBytes := int64(4 << 10)
	if gen%2 == 0 {
		flushBytes = 1 << 20
	}
	b, err := Open(ctx, db, "main", Options{Logger: quiet(), FlushBytes: flushBytes,
		LeaseDuration: crashLease, WaitForLease: true, WarmCache: gen%3 == 0})
	if err != nil {
		say("fail open: %v", err)
		return 2
	}
	say("opened %d %d", b.Epoch(), time.Since(start).Microseconds())
	g := newCrashGen(seed, gen)
	for i := 1; ; i++ {
		c, n := g.txn(i), crashTxnNumber(gen, i)
		tx, err := b.Begin()
		if err != nil {
			say("fail begin: %v", err)
			return 2
		}
		for j := range c.rows {
			if _, err := tx.Put("t1", []any{n*8 + int64(j), n, fmt.Sprintf("r%d", c.rows)}); err != nil {
				say("fail put: %v", err)
				return 2
			}
		}
		if c.del {
			key, _ := tx.Key("t1", c.hot)
			err = tx.Delete("t1", key)
		} else {
			_, err = tx.Put("t1", []any{c.hot, n, "hot"})
		}
		if err != nil {
			say("fail hot key: %v", err)
			return 2
		}
		if _, err := tx.Commit(ctx); err != nil {
			say("fail commit %d: %v", i, err)
			return 2
		}
		say("ack %d %d", gen, i)
		switch c.after {
		case 1:
			err = b.Flush(ctx)
		case 2:
			var h *txn.Snapshot
			if h, err = b.CommitVersion(ctx, fmt.Sprintf("%d/%d", gen, i), "crash"); err == nil {
				say("version %d %d %d", h.Version(), gen, i)
			}
		case 3:
			_, err = db.Checkpoint(ctx, "main")
		}
		if err != nil {
			say("fail after %d: %v", i, err)
			return 2
		}
	}
}

// crashVersion is a version a child reported, created right after its
// transaction i.
type crashVersion struct {
	v      int64
	gen, i int
}

// crashState is what the parent knows.
type crashState struct {
	seed     uint64
	gens     []*crashGen  // gens[g-1]
	lastAck  []int        // lastAck[g-1]: the last transaction acknowledged
	inflight map[int]bool // child g's transaction lastAck+1 was found present (true) or absent (false)
	versions []crashVersion
}

func (s *crashState) present(g, i int) bool {
	return i <= s.lastAck[g-1] || i == s.lastAck[g-1]+1 && s.inflight[g]
}

// expected is the table as it must be with every present transaction up
// to transaction i of child g (all of them when g is 0).
func (s *crashState) expected(g, i int) map[int64]mrow {
	want := map[int64]mrow{}
	for gg := 1; gg <= len(s.gens); gg++ {
		for ii := 1; ii <= s.lastAck[gg-1]+1; ii++ {
			if g > 0 && (gg > g || gg == g && ii > i) {
				return want
			}
			if !s.present(gg, ii) {
				continue
			}
			c, n := s.gens[gg-1].txn(ii), crashTxnNumber(gg, ii)
			for j := range c.rows {
				want[n*8+int64(j)] = mrow{v: n, s: fmt.Sprintf("r%d", c.rows)}
			}
			if c.del {
				delete(want, c.hot)
			} else {
				want[c.hot] = mrow{v: n, s: "hot"}
			}
		}
	}
	return want
}

// check opens the branch in this process and compares it with what the
// children acknowledged; then it closes it (flushing) or abandons it.
func (s *crashState) check(t *testing.T, dir string, what string, abandon bool) {
	t.Helper()
	ctx := context.Background()
	st, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := txn.Open(ctx, st, "db", txn.Options{HeadRefresh: -1, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b, err := Open(ctx, db, "main", Options{Logger: quiet(), LeaseDuration: crashLease, WaitForLease: true})
	if err != nil {
		t.Fatalf("seed %d: %s: open: %v", s.seed, what, err)
	}
	snap, err := b.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	got := scanAll(t, snap) // fails on a key seen twice
	n, err := snap.Count(ctx, "t1")
	snap.Close()
	if err != nil {
		t.Fatal(err)
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d: %s: "+format, append([]any{s.seed, what}, args...)...)
	}
	if n != int64(len(got)) {
		fail("count %d, scan %d rows", n, len(got))
	}
	// Each transaction is there whole or not at all.
	for g := 1; g <= len(s.gens); g++ {
		for i := 1; i <= s.lastAck[g-1]+1; i++ {
			c, n := s.gens[g-1].txn(i), crashTxnNumber(g, i)
			found := 0
			for j := range c.rows {
				if r, ok := got[n*8+int64(j)]; ok {
					if r != (mrow{v: n, s: fmt.Sprintf("r%d", c.rows)}) {
						fail("row %d of transaction %d/%d is %v", n*8+int64(j), g, i, r)
					}
					found++
				}
			}
			switch {
			case found != 0 && found != c.rows:
				fail("transaction %d/%d is partly visible: %d of %d rows", g, i, found, c.rows)
			case i <= s.lastAck[g-1] && found == 0:
				fail("acknowledged transaction %d/%d is lost", g, i)
			case i == s.lastAck[g-1]+1:
				if was, ok := s.inflight[g]; ok && was != (found > 0) {
					fail("unacknowledged transaction %d/%d was present %v, now %v", g, i, was, found > 0)
				}
				s.inflight[g] = found > 0
			}
		}
	}
	// Nothing else is there, and the hot keys hold the last write.
	if d := diff(got, s.expected(0, 0)); d != "" {
		fail("%s", d)
	}
	if abandon {
		err = b.Abandon()
	} else {
		err = b.Close(ctx)
	}
	if err != nil {
		fail("close: %v", err)
	}
}

func TestCrash(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in a child")
	}
	kills := 50
	if v := os.Getenv(crashKillEnv); v != "" {
		var err error
		if kills, err = strconv.Atoi(v); err != nil {
			t.Fatalf("%s: %v", crashKillEnv, err)
		}
	} else if testing.Short() {
		kills = 10
	}
	seed := rand.Uint64()
	if v := os.Getenv(crashSeedEnv); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d, %d kills (%s=%d to repeat)", seed, kills, crashSeedEnv, seed)
	r := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	st, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	newDB(t, st).Close()

	s := &crashState{seed: seed, inflight: map[int]bool{}}
	began := time.Now()
	var (
		opened, killedInOpen, acks, versions int
		maxOpen                              time.Duration
	)
	for gen := 1; gen <= kills; gen++ {
		s.gens = append(s.gens, newCrashGen(seed, gen))
		s.lastAck = append(s.lastAck, 0)
		early := r.IntN(5) == 0 // kill early, in the takeover at times
		wait := time.Duration(20+r.IntN(281)) * time.Millisecond
		if early {
			wait = time.Duration(2+r.IntN(59)) * time.Millisecond
		}

		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashGenEnv+"="+strconv.Itoa(gen),
			crashSeedEnv+"="+strconv.FormatUint(seed, 10))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			io.Copy(io.Discard, out)
		}()
		isOpen := false
		handle := func(line string) {
			t.Helper()
			f := strings.Fields(line)
			switch {
			case len(f) == 3 && f[0] == "opened":
				isOpen = true
				us, _ := strconv.ParseInt(f[2], 10, 64)
				maxOpen = max(maxOpen, time.Duration(us)*time.Microsecond)
			case len(f) == 3 && f[0] == "ack":
				g, _ := strconv.Atoi(f[1])
				i, _ := strconv.Atoi(f[2])
				if g != gen || i != s.lastAck[gen-1]+1 {
					t.Fatalf("child %d: unexpected %q", gen, line)
				}
				s.lastAck[gen-1] = i
				acks++
			case len(f) == 4 && f[0] == "version":
				v, _ := strconv.ParseInt(f[1], 10, 64)
				g, _ := strconv.Atoi(f[2])
				i, _ := strconv.Atoi(f[3])
				s.versions = append(s.versions, crashVersion{v: v, gen: g, i: i})
			case strings.HasPrefix(line, "PASS") || strings.HasPrefix(line, "ok"):
			default:
				t.Fatalf("seed %d: child %d: %s\nstderr:\n%s", seed, gen, line, stderr.String())
			}
		}
		// Run until the kill.
		deadline := time.After(wait)
		if !early {
			deadline = nil // start the clock once the child has opened
		}
		opening := time.After(30 * time.Second)
	run:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					cmd.Wait()
					t.Fatalf("seed %d: child %d exited by itself: %v\nstderr:\n%s", seed, gen, cmd.ProcessState, stderr.String())
				}
				handle(line)
				if isOpen && deadline == nil {
					deadline = time.After(wait)
				}
			case <-deadline:
				break run
			case <-opening:
				if !isOpen {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("seed %d: child %d did not open in 30 s\nstderr:\n%s", seed, gen, stderr.String())
				}
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for line := range lines {
			handle(line)
		}
		cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("seed %d: child %d ended with %v, not by the kill\nstderr:\n%s", seed, gen, cmd.ProcessState, stderr.String())
		}
		if isOpen {
			opened++
		} else {
			killedInOpen++
		}
		if gen%10 == 0 && gen < kills {
			s.check(t, dir, fmt.Sprintf("after %d kills", gen), r.IntN(2) == 0)
		}
	}
	s.check(t, dir, "at the end", false)

	// Versions hold what was present when they were created.
	db, err := txn.Open(context.Background(), st, "db", txn.Options{HeadRefresh: -1, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	byV := map[int64]crashVersion{}
	for _, v := range s.versions {
		if old, ok := byV[v.v]; ok && old != v {
			// A version is returned again when nothing changed since.
			if s.expectedDiff(old, v) != "" {
				t.Fatalf("seed %d: version %d reported after %d/%d and %d/%d, which differ", seed, v.v, old.gen, old.i, v.gen, v.i)
			}
		}
		byV[v.v] = v
	}
	for _, v := range slices.Sorted(maps.Keys(byV)) {
		cv := byV[v]
		if d := diff(scanVersion(t, db, v), s.expected(cv.gen, cv.i)); d != "" {
			t.Fatalf("seed %d: version %d, created after transaction %d/%d: %s", seed, v, cv.gen, cv.i, d)
		}
		versions++
	}
	t.Logf("%d kills (%d in the takeover, before the child had opened), %d transactions acknowledged, %d versions checked; slowest takeover %v; %v",
		kills, killedInOpen, acks, versions, maxOpen.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if opened == 0 || acks == 0 {
		t.Fatal("no child got to write")
	}
	if maxOpen >= crashLease {
		t.Fatalf("a takeover took %v: it waited for the lease to expire instead of seeing its holder gone", maxOpen)
	}
}

// expectedDiff compares the expected tables after two points.
func (s *crashState) expectedDiff(a, b crashVersion) string {
	return diff(s.expected(a.gen, a.i), s.expected(b.gen, b.i))
}
