package wal

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/mem"
)

func TestFenceConcurrentWriter(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	w1 := mustWriter(t, st, 1, Options{})
	var log *appendLog
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Appenders run until their first error, which must be the fence.
		log = runAppenders(t, w1, 8, 1<<30, true)
	}()
	for w1.Position() < 500 {
		time.Sleep(time.Millisecond)
	}
	fi, err := Fence(ctx, st, testDir, 1)
	if err != nil {
		t.Fatal(err)
	}
	<-done
	if len(log.errs) != 8 {
		t.Fatalf("%d appenders failed", len(log.errs))
	}
	for _, err := range log.errs {
		if !errors.Is(err, ErrFenced) {
			t.Fatalf("append failed with %v, want ErrFenced", err)
		}
	}
	if _, err := w1.Append(ctx, changesFor(0, 0)); !errors.Is(err, ErrFenced) {
		t.Fatalf("append after the fence: %v", err)
	}
	if err := w1.Close(); !errors.Is(err, ErrFenced) {
		t.Fatalf("Close of a fenced writer: %v", err)
	}
	var maxAcked uint64
	for seq := range log.acked {
		maxAcked = max(maxAcked, seq)
	}
	t.Logf("fence %+v; %d acknowledged, the last %d", fi, len(log.acked), maxAcked)
	if fi.LastSeq != maxAcked || w1.Position() != maxAcked {
		t.Fatalf("fence LastSeq %d, writer position %d, last acknowledged %d", fi.LastSeq, w1.Position(), maxAcked)
	}

	recs, info := replayAll(t, st, 1, 0)
	checkReplay(t, recs, log, false) // no faults: a failed append is never in the log
	if !info.Fenced || info.FenceSegment != fi.Segment || info.LastSegment != fi.Segment || info.Position != fi.LastSeq {
		t.Fatalf("ReplayInfo %+v, fence %+v", info, fi)
	}

	// Fencing again finds the same fence.
	if again, err := Fence(ctx, st, testDir, 1); err != nil || again != fi {
		t.Fatalf("second Fence = %+v, %v; want %+v", again, err, fi)
	}

	// The next epoch's writer continues the sequence.
	w2 := mustWriter(t, st, 2, Options{NextSeq: info.Position + 1})
	log2 := runAppenders(t, w2, 4, 20, false)
	mustClose(t, w2)
	recs2, info2 := replayAll(t, st, 2, info.Position)
	checkReplay(t, recs2, log2, false)
	if recs2[0].Seq != info.Position+1 || info2.Position != info.Position+80 {
		t.Fatalf("epoch 2 starts at %d and ends at %d", recs2[0].Seq, info2.Position)
	}
}

// hookStore runs beforePut before every Put.
type hookStore struct {
	store.Store
	beforePut func(name string)
}

func (h *hookStore) Put(ctx context.Context, name string, r io.Reader, opts ...store.PutOption) (store.Info, error) {
	h.beforePut(name)
	return h.Store.Put(ctx, name, r, opts...)
}

func TestFenceLosesNameToOldWriter(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	w := mustWriter(t, st, 4, Options{NextSeq: 10})
	for i := range 3 {
		if _, err := w.Append(ctx, changesFor(0, i)); err != nil {
			t.Fatal(err)
		}
	}
	// Between the fence's listing and its put at segment 4, the old writer
	// writes segment 4 (record 13) and then 5 (record 14).
	puts := 0
	hs := &hookStore{Store: st, beforePut: func(name string) {
		puts++
		if puts == 1 {
			if name != segmentName(testDir, 4, 4) {
				t.Errorf("fence first tries %s", name)
			}
			for i := 3; i < 5; i++ {
				if _, err := w.Append(ctx, changesFor(0, i)); err != nil {
					t.Errorf("old writer: %v", err)
				}
			}
		}
	}}
	fi, err := Fence(ctx, hs, testDir, 4)
	if err != nil {
		t.Fatal(err)
	}
	if want := (FenceInfo{Epoch: 4, Segment: 6, LastSegment: 5, LastSeq: 14}); fi != want {
		t.Fatalf("Fence = %+v, want %+v", fi, want)
	}
	if puts != 3 {
		t.Fatalf("the fence tried %d names, want 3", puts)
	}
	if _, err := w.Append(ctx, changesFor(0, 5)); !errors.Is(err, ErrFenced) {
		t.Fatalf("old writer after the fence: %v", err)
	}
	recs, info := replayAll(t, st, 4, 0)
	if len(recs) != 5 || recs[4].Seq != 14 || !info.Fenced || info.FenceSegment != 6 {
		t.Fatalf("replay: %d records, info %+v", len(recs), info)
	}
	mustClose(t, w)
}

func TestFenceEmptyEpochAndRacingFences(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	fi, err := Fence(ctx, st, testDir, 9)
	if err != nil {
		t.Fatal(err)
	}
	if want := (FenceInfo{Epoch: 9, Segment: 1}); fi != want {
		t.Fatalf("Fence of an empty epoch = %+v", fi)
	}
	// A writer of a fenced epoch cannot write its first segment.
	w := mustWriter(t, st, 9, Options{})
	if _, err := w.Append(ctx, changesFor(0, 0)); !errors.Is(err, ErrFenced) {
		t.Fatalf("append in a fenced epoch: %v", err)
	}
	mustClose(t, w)
	recs, info := replayAll(t, st, 9, 5)
	if len(recs) != 0 || !info.Fenced || info.Position != 5 {
		t.Fatalf("replay of a fenced empty epoch: %d records, %+v", len(recs), info)
	}

	// Racing fences of one epoch agree on one fence.
	w = mustWriter(t, st, 10, Options{})
	for i := range 4 {
		if _, err := w.Append(ctx, changesFor(1, i)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	infos := make([]FenceInfo, 8)
	for i := range infos {
		wg.Go(func() {
			var err error
			if infos[i], err = Fence(ctx, st, testDir, 10); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, fi := range infos {
		if fi != infos[0] || fi.Segment != 5 || fi.LastSeq != 4 {
			t.Fatalf("racing fences: %+v", infos)
		}
	}
	if n := len(segmentNames(t, st, 10)); n != 5 {
		t.Fatalf("%d segments after racing fences, want 4 and one fence", n)
	}
	mustClose(t, w)
}
