package wal

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/mem"
)

// putHookStore calls before(name) ahead of every Put, once per name, and
// beforeOpen(name) ahead of every Open.
type putHookStore struct {
	store.Store
	mu         sync.Mutex
	seen       map[string]bool
	before     func(name string)
	beforeOpen func(name string)
}

func (s *putHookStore) Open(ctx context.Context, name string) (store.Object, error) {
	s.mu.Lock()
	before := s.beforeOpen
	s.mu.Unlock()
	if before != nil {
		before(name)
	}
	return s.Store.Open(ctx, name)
}

func (s *putHookStore) Put(ctx context.Context, name string, r io.Reader, opts ...store.PutOption) (store.Info, error) {
	s.mu.Lock()
	first := !s.seen[name]
	s.seen[name] = true
	before := s.before
	s.mu.Unlock()
	if first && before != nil {
		before(name)
	}
	return s.Store.Put(ctx, name, r, opts...)
}

// TestFenceInGarbageCollectedHole: the fencer lists the epoch (highest
// segment 3), then, before its fence lands at 4, the live writer writes
// segments 4 and 5 and garbage collection deletes 1 to 4 (the highest, 5,
// stays). The put-if-absent of the fence at 4 succeeds in the hole, below
// the writer: it must not count as the epoch's fence (the writer would go
// on acknowledging at 6, and replay would stop at 4 and lose 5 and 6).
func TestFenceInGarbageCollectedHole(t *testing.T) {
	ctx := context.Background()
	st := &putHookStore{Store: mem.New(), seen: map[string]bool{}}
	w := mustWriter(t, st, 1, Options{})
	for i := range 3 {
		if _, err := w.Append(ctx, changesFor(0, i)); err != nil {
			t.Fatal(err)
		}
	}
	fired := false
	st.mu.Lock()
	st.before = func(name string) {
		if fired || !strings.HasSuffix(name, "00000000000000000004.wal") {
			return
		}
		fired = true
		for i := 3; i < 5; i++ { // segments 4 and 5
			if _, err := w.Append(ctx, changesFor(0, i)); err != nil {
				t.Error(err)
			}
		}
		// Records 1..4 are persisted elsewhere: 1 to 4 go.
		if n, err := DeleteBefore(ctx, st, testDir, 1, 4); err != nil || n != 4 {
			t.Errorf("DeleteBefore: %d, %v", n, err)
		}
	}
	st.mu.Unlock()
	fi, err := Fence(ctx, st, testDir, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !fired {
		t.Fatal("the hook did not run")
	}
	if fi.Segment != 6 || fi.LastSeq != 5 {
		t.Fatalf("fence %+v, want segment 6 after seq 5", fi)
	}
	if _, err := w.Append(ctx, changesFor(0, 5)); !errors.Is(err, ErrFenced) {
		t.Fatalf("append after the fence: %v, want ErrFenced", err)
	}
	recs, info := replayAll(t, st, 1, 4)
	if len(recs) != 1 || recs[0].Seq != 5 || !info.Fenced || info.FenceSegment != 6 {
		t.Fatalf("replay after 4: %d records, %+v", len(recs), info)
	}
	if n, err := DeleteBefore(ctx, st, testDir, 1, 5); err != nil || n != 1 {
		t.Fatalf("DeleteBefore after the fence: %d, %v", n, err)
	}
}

// TestReplayDuringGarbageCollection: a writer that flushed its epoch just
// before a newer writer claimed the branch collects its segments while the
// newer writer replays them. Replay must go on from the lowest segment
// left, not report a missing segment as corruption.
func TestReplayDuringGarbageCollection(t *testing.T) {
	ctx := context.Background()
	st := &putHookStore{Store: mem.New(), seen: map[string]bool{}}
	w := mustWriter(t, st, 1, Options{})
	for i := range 5 {
		if _, err := w.Append(ctx, changesFor(0, i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Fence(ctx, st, testDir, 1); err != nil {
		t.Fatal(err)
	}
	var fired atomic.Bool
	st.mu.Lock()
	st.beforeOpen = func(name string) {
		if strings.HasSuffix(name, "00000000000000000002.wal") && fired.CompareAndSwap(false, true) {
			// Records 1..3 were flushed: segments 1 to 3 go.
			if n, err := DeleteBefore(ctx, st, testDir, 1, 3); err != nil || n != 3 {
				t.Errorf("DeleteBefore: %d, %v", n, err)
			}
		}
	}
	st.mu.Unlock()
	recs, info := replayAll(t, st, 1, 3)
	if len(recs) != 2 || recs[0].Seq != 4 || recs[1].Seq != 5 || !info.Fenced || info.Position != 5 {
		t.Fatalf("replay after 3: %d records, %+v", len(recs), info)
	}

	// Collection of records above the replay position is corruption.
	w2 := mustWriter(t, st, 2, Options{NextSeq: 6})
	for i := range 4 {
		if _, err := w2.Append(ctx, changesFor(1, i)); err != nil {
			t.Fatal(err)
		}
	}
	st.mu.Lock()
	fired.Store(false)
	st.beforeOpen = func(name string) {
		if strings.HasSuffix(name, "00000000000000000002/00000000000000000002.wal") && fired.CompareAndSwap(false, true) {
			if _, err := DeleteBefore(ctx, st, testDir, 2, 8); err != nil {
				t.Errorf("DeleteBefore: %v", err)
			}
		}
	}
	st.mu.Unlock()
	_, err := Replay(ctx, st, testDir, 2, 6, func(Record) error { return nil })
	if !errors.Is(err, base.ErrCorruption) {
		t.Fatalf("replay after 6 of an epoch collected up to 8: %v, want corruption", err)
	}
}
