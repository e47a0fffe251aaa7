package wal

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store/mem"
)

func TestDeleteBefore(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	// Epoch 1: records 1..10 in segments 1..10, fenced at 11. Epoch 2:
	// records 11..20 in segments 1..10. Epoch 3: records 21..22.
	seq := uint64(1)
	for _, e := range []int64{1, 2, 3} {
		w := mustWriter(t, st, e, Options{NextSeq: seq})
		n := 10
		if e == 3 {
			n = 2
		}
		for i := range n {
			if _, err := w.Append(ctx, changesFor(int(e), i)); err != nil {
				t.Fatal(err)
			}
		}
		seq = w.Position() + 1
		mustClose(t, w)
		if e == 1 {
			if _, err := Fence(ctx, st, testDir, 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	numbers := func(e int64) []uint64 {
		var ns []uint64
		for _, name := range segmentNames(t, st, e) {
			n, _ := parseSegmentNumber(name)
			ns = append(ns, n)
		}
		return ns
	}

	deleted, err := DeleteBefore(ctx, st, testDir, 2, 15)
	if err != nil {
		t.Fatal(err)
	}
	if deleted != 15 {
		t.Fatalf("deleted %d segments, want 15", deleted)
	}
	if got := numbers(1); !slices.Equal(got, []uint64{11}) {
		t.Fatalf("epoch 1 keeps %v, want only its fence", got)
	}
	if got := numbers(2); !slices.Equal(got, []uint64{6, 7, 8, 9, 10}) {
		t.Fatalf("epoch 2 keeps %v", got)
	}
	if got := numbers(3); len(got) != 2 {
		t.Fatalf("epoch 3 keeps %v", got)
	}
	if again, err := DeleteBefore(ctx, st, testDir, 2, 15); err != nil || again != 0 {
		t.Fatalf("second DeleteBefore: %d, %v", again, err)
	}

	// Replay from the persisted position still works; from before it, the
	// deleted records are missing.
	recs, info := replayAll(t, st, 2, 15)
	if len(recs) != 5 || recs[0].Seq != 16 || info.FirstSegment != 6 {
		t.Fatalf("replay of epoch 2 after 15: %d records, %+v", len(recs), info)
	}
	if _, err := Replay(ctx, st, testDir, 2, 12, func(Record) error { return nil }); !errors.Is(err, base.ErrCorruption) {
		t.Fatalf("replay of deleted records: %v", err)
	}
	if recs, info := replayAll(t, st, 1, 15); len(recs) != 0 || !info.Fenced || info.Position != 15 {
		t.Fatalf("replay of the collected epoch 1: %d records, %+v", len(recs), info)
	}

	// The highest segment stays, so a fence still lands above the writer.
	fi, err := Fence(ctx, st, testDir, 2)
	if err != nil || fi.Segment != 11 || fi.LastSeq != 20 {
		t.Fatalf("fence after collection: %+v, %v", fi, err)
	}
	if _, err := DeleteBefore(ctx, st, testDir, 3, 21); err != nil {
		t.Fatal(err)
	}
	if got := numbers(2); !slices.Equal(got, []uint64{11}) {
		t.Fatalf("epoch 2 keeps %v, want only its fence", got)
	}
	if got := numbers(3); !slices.Equal(got, []uint64{2}) {
		t.Fatalf("epoch 3 keeps %v", got)
	}
	if epochs, _ := Epochs(ctx, st, testDir); len(epochs) != 3 {
		t.Fatalf("epochs %v", epochs)
	}
}
