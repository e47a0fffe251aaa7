package memwal

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/memwal/memtable"
	"github.com/lakesql/lakesql/store/mem"
)

// TestWriteIndex checks the conflict index against every commit kept in
// full: a transaction at snapshot S conflicts iff a commit after S wrote
// one of its keys to its table. Commits of many sizes go through recent,
// folds (horizon rising behind the snapshots) and prunes; transactions of
// one key and of many look up.
func TestWriteIndex(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 1))
	type commit struct {
		seq   uint64
		table string
		keys  map[parquetio.Key]bool
	}
	var all []commit
	var x writeIndex
	key := func() parquetio.Key { return parquetio.Key(fmt.Sprint(r.IntN(20000))) }
	writes := func(n int) *tableWrites {
		w := &tableWrites{at: map[parquetio.Key]int{}}
		for range n {
			k := key()
			if _, ok := w.at[k]; !ok {
				w.at[k] = len(w.changes)
				w.changes = append(w.changes, memtable.Change{Key: k})
			}
		}
		return w
	}
	size := func() int { return []int{1, 3, 50, 400}[r.IntN(4)] }
	horizon := uint64(0)
	for seq := uint64(1); seq <= 3000; seq++ {
		table := []string{"a", "b"}[r.IntN(2)]
		w := writes(size())
		c := commit{seq: seq, table: table, keys: map[parquetio.Key]bool{}}
		for k := range w.at {
			c.keys[k] = true
		}
		all = append(all, c)
		switch { // snapshots end: the horizon moves up, behind seq
		case r.IntN(50) == 0:
			horizon = max(horizon, seq-1-min(seq-1, uint64(r.IntN(20))))
		case r.IntN(4) == 0:
			horizon = min(seq-1, horizon+uint64(r.IntN(8)))
		}
		x.note(table, w.changes, seq, horizon)
		if r.IntN(10) == 0 {
			x.prune(horizon)
		}
		// A transaction whose snapshot is at or above the horizon (often
		// the oldest one, at it).
		snap := horizon
		if r.IntN(2) == 0 {
			snap += uint64(r.IntN(int(seq-horizon) + 1))
		}
		tw, ttable := writes(size()), []string{"a", "b"}[r.IntN(2)]
		want := false
		for i := len(all) - 1; i >= 0 && all[i].seq > snap; i-- {
			c := all[i]
			if c.table != ttable {
				continue
			}
			for k := range tw.at {
				want = want || c.keys[k]
			}
		}
		if got := x.conflicts(ttable, tw, snap); got != want {
			t.Fatalf("seed %d, seq %d: conflicts(%s, %d keys, snapshot %d, horizon %d) = %v, want %v",
				seed, seq, ttable, len(tw.changes), snap, horizon, got, want)
		}
	}
}

// TestReplayNotesNoWrites: a reopened writer replays its WAL without
// noting the records in the conflict index (every transaction begins after
// the replay, so none can conflict with them), and conflicts between the
// transactions after it are still found.
func TestReplayNotesNoWrites(t *testing.T) {
	ctx := context.Background()
	db := newDB(t, mem.New())
	br, err := Open(ctx, db, "main", Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for v := range int64(40) {
		if err := benchPut(ctx, br, []int64{v, v + 100}, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := br.Abandon(); err != nil {
		t.Fatal(err)
	}
	if br, err = Open(ctx, db, "main", Options{Logger: quiet()}); err != nil {
		t.Fatal(err)
	}
	defer br.Close(ctx)
	br.mu.Lock()
	recent, folded := len(br.mu.conflicts.recent), br.mu.conflicts.n
	replayed := br.mu.live.Len()
	br.mu.Unlock()
	if replayed != 80 || recent != 0 || folded != 0 {
		t.Fatalf("after the replay: %d keys in the MemTable, want 80; conflict index: %d recent commits, %d folded keys, want none",
			replayed, recent, folded)
	}
	// Two transactions from the same snapshot still conflict.
	a, _ := br.Begin()
	b, _ := br.Begin()
	for _, tx := range []*Txn{a, b} {
		if _, err := tx.Put("t1", benchRow(7, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(ctx); !errors.Is(err, ErrConflict) {
		t.Fatalf("second writer of key 7: %v, want ErrConflict", err)
	}
}
