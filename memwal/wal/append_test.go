package wal

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
)

func localStore(t testing.TB) *local.Store {
	t.Helper()
	st, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestWriterAppends: on a store that appends, concurrent appenders' batches
// go into few segments (rolling over at AppendSegmentBytes), padded with
// zeros, and replay gives every acknowledged record once, in order.
func TestWriterAppends(t *testing.T) {
	st := localStore(t)
	w := mustWriter(t, st, 3, Options{AppendSegmentBytes: 64 << 10})
	const g, n = 8, 300
	log := runAppenders(t, w, g, n, false)
	if len(log.failed) > 0 {
		t.Fatalf("%d appends failed: %v", len(log.failed), log.errs[0])
	}
	mustClose(t, w)
	m := w.Metrics()
	names := segmentNames(t, st, 3)
	t.Logf("metrics %+v, %d segments", m, len(names))
	if int64(len(names)) >= m.Segments || len(names) < 2 {
		t.Fatalf("%d segments for %d writes: want several writes per segment, and a rollover", len(names), m.Segments)
	}
	for _, name := range names {
		info, err := st.Stat(context.Background(), name)
		if err != nil || info.Size != 64<<10 {
			t.Fatalf("%s: %+v %v, want a padded segment of 64 KiB", name, info, err)
		}
	}
	recs, info := replayAll(t, st, 3, 0)
	checkReplay(t, recs, log, false)
	if info.Position != g*n || info.TornTail || len(recs) != g*n {
		t.Fatalf("ReplayInfo %+v, %d records", info, len(recs))
	}
}

// TestAppendLargeBatch: a batch larger than a torn append may span is not
// appended; it gets a segment of its own, and the next batch is appended
// after it.
func TestAppendLargeBatch(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	w := mustWriter(t, st, 1, Options{AppendSegmentBytes: 32 << 20, MaxSegmentBytes: 16 << 20})
	small := []Change{{Kind: ChangePut, TableID: "t", SchemaID: 1, Key: []byte("k"), Row: []byte("v")}}
	big := []Change{{Kind: ChangePut, TableID: "t", SchemaID: 1, Key: []byte("big"), Row: bytes.Repeat([]byte("x"), maxBatchBytes+1)}}
	for _, cs := range [][]Change{small, big, small} {
		if _, err := w.Append(ctx, cs); err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, w)
	if names := segmentNames(t, st, 1); len(names) != 2 {
		t.Fatalf("segments %v: want the small record's, then the big one's with the last small one appended", names)
	}
	s, err := readSegment(ctx, st, testDir, 1, 2, true)
	if err != nil || len(s.records) != 2 || s.records[0].Seq != 2 {
		t.Fatalf("segment 2: %v, %+v", err, s)
	}
}

// TestAppendAfterFence: a writer appending to a segment is fenced by a
// taker: its next append writes nothing and fails with ErrFenced, and the
// records it acknowledged are what replay gives.
func TestAppendAfterFence(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	w := mustWriter(t, st, 1, Options{})
	log := runAppenders(t, w, 2, 20, false)
	fi, err := Fence(ctx, st, testDir, 1)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Segment != 2 {
		t.Fatalf("fence %+v, want it at segment 2 (one appended segment)", fi)
	}
	before, _ := store.ReadAll(ctx, st, segmentName(testDir, 1, 1))
	if _, err := w.Append(ctx, changesFor(9, 9)); !errors.Is(err, ErrFenced) {
		t.Fatalf("append after the fence: %v, want ErrFenced", err)
	}
	if after, _ := store.ReadAll(ctx, st, segmentName(testDir, 1, 1)); !bytes.Equal(before, after) {
		t.Fatal("the refused append wrote to the segment")
	}
	mustClose(t, w)
	recs, info := replayAll(t, st, 1, 0)
	checkReplay(t, recs, log, false)
	if !info.Fenced || info.FenceSegment != 2 || len(recs) != 40 {
		t.Fatalf("ReplayInfo %+v, %d records", info, len(recs))
	}
}

// paddedSegment builds segment n of epoch 1 as a writer that appends
// leaves it: header, records 1..k, then pad zeros.
func paddedSegment(k, pad int) []byte {
	buf := appendHeader(nil, header{kind: kindRecords, epoch: 1, segment: 1, seq: 1, padded: true})
	for i := 1; i <= k; i++ {
		buf = appendFrame(buf, uint64(i), appendChanges(nil, changesFor(0, i)))
	}
	return append(buf, make([]byte, pad)...)
}

// TestParsePaddedSegment: the zeros after a padded segment's records end
// it; an append cut short (a frame whose end is missing or damaged, then
// zeros) is a torn tail in the last segment and corruption in any other;
// damage followed by more than one batch's bytes is corruption anywhere.
func TestParsePaddedSegment(t *testing.T) {
	clean := paddedSegment(5, 1000)
	s, err := parseSegment("s", clean, 1, 1, false)
	if err != nil || len(s.records) != 5 || s.torn {
		t.Fatalf("clean padded segment: %v, %+v", err, s)
	}
	full := paddedSegment(6, 0)
	cut := len(paddedSegment(5, 0))
	// The sixth record's last bytes never landed: zeros instead.
	torn := append(append([]byte{}, full[:len(full)-7]...), make([]byte, 1007)...)
	s, err = parseSegment("s", torn, 1, 1, true)
	if err != nil || len(s.records) != 5 || !s.torn {
		t.Fatalf("torn append in the last segment: %v, %+v", err, s)
	}
	if _, err := parseSegment("s", torn, 1, 1, false); !errors.Is(err, base.ErrCorruption) {
		t.Fatalf("torn append below the last segment: %v, want corruption", err)
	}
	// Only the sixth record's middle bytes landed (a crash may persist any
	// of a write's sectors).
	middle := append([]byte{}, paddedSegment(5, len(full)-cut+500)...)
	copy(middle[cut+10:cut+20], full[cut+10:cut+20])
	if s, err = parseSegment("s", middle, 1, 1, true); err != nil || len(s.records) != 5 || !s.torn {
		t.Fatalf("scattered torn append: %v, %+v", err, s)
	}
	// Damage with more than a batch after it is not a torn append.
	big := paddedSegment(5, maxBatchBytes+100)
	copy(big[cut:], "garbage")
	big[len(big)-1] = 1
	if _, err := parseSegment("s", big, 1, 1, true); !errors.Is(err, base.ErrCorruption) {
		t.Fatalf("damage before more than a batch: %v, want corruption", err)
	}
	// Unpadded segments keep their rule: a bad checksum is corruption.
	plain := appendHeader(nil, header{kind: kindRecords, epoch: 1, segment: 1, seq: 1})
	plain = appendFrame(plain, 1, appendChanges(nil, changesFor(0, 1)))
	plain[len(plain)-1] ^= 0xff
	if _, err := parseSegment("s", plain, 1, 1, true); !errors.Is(err, base.ErrCorruption) {
		t.Fatalf("bad checksum in an unpadded last segment: %v, want corruption", err)
	}
}

// TestReplayTornBelowFence: a padded segment cut short by a crash, then
// fenced, replays up to its last whole record; ReplayUpTo ignores records
// above its bound; collection keeps the segment while it holds records
// above the persisted position, whatever the fence's seq says.
func TestReplayTornBelowFence(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	seg := paddedSegment(6, 0)
	seg = append(seg[:len(seg)-5], make([]byte, 4096)...) // record 6 torn
	if _, err := store.PutBytes(ctx, st, segmentName(testDir, 1, 1), seg); err != nil {
		t.Fatal(err)
	}
	// A fence whose seq is older than the segment's end (read before an
	// append landed).
	if _, err := store.PutBytes(ctx, st, segmentName(testDir, 1, 2), fenceSegment(1, 2, 3)); err != nil {
		t.Fatal(err)
	}
	recs, info := replayAll(t, st, 1, 0)
	if len(recs) != 5 || !info.TornTail || !info.Fenced || info.Position != 5 {
		t.Fatalf("replay: %d records, %+v", len(recs), info)
	}
	var got []uint64
	info, err := ReplayUpTo(ctx, st, testDir, 1, 0, 3, func(r Record) error {
		got = append(got, r.Seq)
		return nil
	})
	if err != nil || len(got) != 3 || info.Late != 2 || info.Position != 3 {
		t.Fatalf("ReplayUpTo 3: %v %v %+v", got, err, info)
	}
	if n, err := DeleteBefore(ctx, st, testDir, 1, 4); err != nil || n != 0 {
		t.Fatalf("collection at 4 deleted %d (%v): the segment holds record 5", n, err)
	}
	if n, err := DeleteBefore(ctx, st, testDir, 1, 5); err != nil || n != 1 {
		t.Fatalf("collection at 5 deleted %d (%v), want the segment", n, err)
	}
	if seq, ok, err := FirstSeq(ctx, st, testDir, 1); err != nil || ok || seq != 3 {
		t.Fatalf("FirstSeq of an epoch left with its fence: %d %v %v", seq, ok, err)
	}
}

// TestAppendStarted: an append is written at once and synced later. While
// it is written and not synced, the store's append barrier (what a taker's
// fence waits at) waits and the record is not durable; the sync makes it
// durable and lets the barrier pass. The token, taken here, keeps the
// flusher and the waits out of the way.
func TestAppendStarted(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	w := mustWriter(t, st, 1, Options{})
	if _, err := w.Append(ctx, changesFor(0, 1)); err != nil { // creates segment 1
		t.Fatal(err)
	}
	<-w.token
	seq, wait, err := w.Submit(changesFor(0, 2))
	if err != nil || seq != 2 {
		t.Fatalf("submit: %d %v", seq, err)
	}
	w.startQueued()
	if w.out.started == nil {
		t.Fatal("the record was not started")
	}
	name := segmentName(testDir, 1, 1)
	s, err := readSegment(ctx, st, testDir, 1, 1, true)
	if err != nil || len(s.records) != 2 {
		t.Fatalf("segment after the write: %v, %d records, want 2 (written, not yet synced)", err, len(s.records))
	}
	if p := w.Position(); p != 1 {
		t.Fatalf("position %d before the sync, want 1", p)
	}
	barrier := make(chan error, 1)
	go func() { barrier <- st.AppendBarrier(ctx, name) }()
	select {
	case err := <-barrier:
		t.Fatalf("the barrier returned (%v) before the sync", err)
	case <-time.After(20 * time.Millisecond):
	}
	w.finish()
	if err := <-barrier; err != nil {
		t.Fatal(err)
	}
	if p := w.Position(); p != 2 {
		t.Fatalf("position %d after the sync, want 2", p)
	}
	w.token <- struct{}{}
	if err := wait(ctx); err != nil {
		t.Fatal(err)
	}
	mustClose(t, w)
}

// TestAppendNotWaited: a record whose submitter never waits is written
// anyway, by the flusher (SubmitBody may have started it; the flusher
// syncs it), and replays.
func TestAppendNotWaited(t *testing.T) {
	st := localStore(t)
	w := mustWriter(t, st, 1, Options{})
	for i := 1; i <= 20; i++ {
		if _, _, err := w.Submit(changesFor(0, i)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for w.Position() < uint64(i) {
			if time.Now().After(deadline) {
				t.Fatalf("record %d not durable after 10 s (position %d)", i, w.Position())
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	mustClose(t, w)
	if recs, _ := replayAll(t, st, 1, 0); len(recs) != 20 {
		t.Fatalf("replayed %d records, want 20", len(recs))
	}
}
