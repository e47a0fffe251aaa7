package memtable

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestConcurrentReaders runs one writer applying transactions while four
// readers take snapshots at the published seq and scan. Each transaction
// moves an amount between two accounts, or moves an account to a new key
// (delete + insert), so at every snapshot the balances sum to the same
// total; a torn transaction, or a version above the snapshot, breaks it.
// Locations set with each write make masks grow as they are read. Run it
// under -race.
func TestConcurrentReaders(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	ctx := context.Background()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	schema := smallSchema()
	enc := mustEncoder(t, schema, 1)
	m := New(Options{BatchSize: 64})
	must(t, m.AddTable("t", schema))

	const accounts, total = 200, 200 * 100
	var init []Change
	for id := range int64(accounts) {
		init = append(init, Change{Key: mustKey(t, enc, id), Row: []any{id, 100, "acct"}})
	}
	must(t, m.Apply(1, "t", init...))
	var published atomic.Uint64
	published.Store(1)

	const txns = 8000
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	wg.Go(func() {
		r := rand.New(rand.NewPCG(seed, 4))
		bal := map[int64]int{}
		for id := range int64(accounts) {
			bal[id] = 100
		}
		live := make([]int64, 0, accounts)
		for id := range int64(accounts) {
			live = append(live, id)
		}
		next := int64(accounts)
		for seq := uint64(2); seq <= txns; seq++ {
			var chs []Change
			i, j := r.IntN(len(live)), r.IntN(len(live))
			a, b := live[i], live[j]
			if r.IntN(4) == 0 || a == b {
				// Move account a to a new key.
				chs = append(chs, Change{Key: mustKey(t, enc, a), Deleted: true},
					Change{Key: mustKey(t, enc, next), Row: []any{next, bal[a], "moved"}})
				bal[next] = bal[a]
				delete(bal, a)
				live[i] = next
				next++
			} else {
				amt := r.IntN(50)
				bal[a] -= amt
				bal[b] += amt
				chs = append(chs, Change{Key: mustKey(t, enc, a), Row: []any{a, bal[a], nil}},
					Change{Key: mustKey(t, enc, b), Row: []any{b, bal[b], nil}})
			}
			if err := m.Apply(seq, "t", chs...); err != nil {
				errs <- err
				return
			}
			if err := m.SetLocation("t", chs[0].Key, Location{Path: "data/t/f.parquet", Position: int64(seq)}, seq); err != nil {
				errs <- err
				return
			}
			published.Store(seq)
			if seq%500 == 0 {
				m.Prune(seq - 100)
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for published.Load() < txns {
				s := published.Load()
				v, err := m.Snapshot(s)
				if errors.Is(err, ErrSnapshotTooOld) {
					continue // pruned while this reader was slow
				}
				if err != nil {
					errs <- err
					return
				}
				if err := checkSnapshot(ctx, v, alloc, total); err != nil {
					errs <- fmt.Errorf("seq %d: %w", s, err)
				}
				v.Release()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("seed %d: %v", seed, err)
	}
	must(t, m.Close())
}

func checkSnapshot(ctx context.Context, v *View, alloc memory.Allocator, total int64) error {
	src := v.Table("t")
	it, err := src.Records(ctx, []int{2}, alloc)
	if err != nil {
		return err
	}
	defer it.Close()
	var sum, rows int64
	for it.Next() {
		a := it.Record().Column(0).(*array.Int32)
		for i := range a.Len() {
			sum += int64(a.Value(i))
		}
		rows += int64(a.Len())
	}
	if err := it.Err(); err != nil {
		return err
	}
	if sum != total {
		return fmt.Errorf("balances sum to %d, want %d", sum, total)
	}
	if lr := src.LiveRows(); lr != rows {
		return fmt.Errorf("LiveRows %d, Records %d", lr, rows)
	}
	if mask := src.Mask("data/t/f.parquet"); mask != nil {
		if max := mask.Maximum(); uint64(max) > v.Seq() {
			return fmt.Errorf("mask has position %d set at seq %d", max, max)
		}
	}
	return nil
}
