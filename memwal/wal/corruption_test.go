package wal

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/mem"
)

// tenSegments writes records 1..10 in segments 1..10 of epoch 1, and
// records 11..13 in segment 11.
func tenSegments(t *testing.T) *mem.Store {
	t.Helper()
	ctx := context.Background()
	st := mem.New()
	w := mustWriter(t, st, 1, Options{})
	for i := range 10 {
		if _, err := w.Append(ctx, changesFor(0, i)); err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, w)
	seg := appendHeader(nil, header{kind: kindRecords, epoch: 1, segment: 11, seq: 11})
	for i := 10; i < 13; i++ {
		seg = append(seg, encodeRecord(Record{Seq: uint64(i + 1), Changes: changesFor(0, i)})...)
	}
	if _, err := store.PutBytes(ctx, st, segmentName(testDir, 1, 11), seg, store.IfAbsent()); err != nil {
		t.Fatal(err)
	}
	return st
}

// rewrite replaces segment n of epoch 1 by edit of its content.
func rewrite(t *testing.T, st store.Store, n uint64, edit func([]byte) []byte) {
	t.Helper()
	ctx := context.Background()
	name := segmentName(testDir, 1, n)
	data, err := store.ReadAll(ctx, st, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutBytes(ctx, st, name, edit(bytes.Clone(data))); err != nil {
		t.Fatal(err)
	}
}

// replayErr replays epoch 1 and returns its error and the seqs it saw.
func replayErr(st store.Reader) ([]uint64, ReplayInfo, error) {
	var seqs []uint64
	info, err := Replay(context.Background(), st, testDir, 1, 0, func(r Record) error {
		seqs = append(seqs, r.Seq)
		return nil
	})
	return seqs, info, err
}

func wantCorruption(t *testing.T, err error, n uint64) {
	t.Helper()
	var ce *base.CorruptionError
	if !errors.Is(err, base.ErrCorruption) || !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a corruption error", err)
	}
	if want := segmentName(testDir, 1, n); ce.File != want {
		t.Fatalf("corruption names %s, want %s", ce.File, want)
	}
}

func TestReplayIntact(t *testing.T) {
	seqs, info, err := replayErr(tenSegments(t))
	if err != nil || len(seqs) != 13 || info.LastSegment != 11 || info.TornTail {
		t.Fatalf("replay: %v, %v, %+v", seqs, err, info)
	}
}

func TestReplayCorruption(t *testing.T) {
	for _, tc := range []struct {
		name    string
		segment uint64
		edit    func([]byte) []byte
	}{
		{"flipped payload byte", 5, func(b []byte) []byte { b[headerLen+12] ^= 0x40; return b }},
		{"flipped header byte", 5, func(b []byte) []byte { b[17] ^= 1; return b }},
		{"flipped checksum", 5, func(b []byte) []byte { b[headerLen+5] ^= 1; return b }},
		{"truncated middle segment", 5, func(b []byte) []byte { return b[:len(b)-3] }},
		{"trailing garbage", 5, func(b []byte) []byte { return append(b, 0, 0, 0, 0, 1, 2, 3, 4, 9) }},
		{"header only", 5, func(b []byte) []byte { return b[:headerLen] }},
		{"flipped byte in the last segment", 11, func(b []byte) []byte { b[len(b)-2] ^= 0x40; return b }},
		{"wrong segment number", 5, func(b []byte) []byte {
			return append(appendHeader(nil, header{kind: kindRecords, epoch: 1, segment: 6, seq: 5}), b[headerLen:]...)
		}},
		{"seq going back", 6, func(b []byte) []byte {
			return append(appendHeader(nil, header{kind: kindRecords, epoch: 1, segment: 6, seq: 3}),
				encodeRecord(Record{Seq: 3, Changes: changesFor(0, 5)})...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tenSegments(t)
			rewrite(t, st, tc.segment, tc.edit)
			seqs, _, err := replayErr(st)
			wantCorruption(t, err, tc.segment)
			if len(seqs) != int(tc.segment-1) {
				t.Fatalf("replayed %v before the corruption", seqs)
			}
		})
	}
}

func TestReplayMissingSegment(t *testing.T) {
	st := tenSegments(t)
	if err := st.Delete(context.Background(), segmentName(testDir, 1, 5)); err != nil {
		t.Fatal(err)
	}
	_, _, err := replayErr(st)
	wantCorruption(t, err, 5)
	if !strings.Contains(err.Error(), "missing") {
		t.Fatalf("error does not say the segment is missing: %v", err)
	}
}

func TestReplayTornTail(t *testing.T) {
	var logged bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	defer slog.SetDefault(old)

	for _, cut := range []int{1, 7, 30} {
		st := tenSegments(t)
		rewrite(t, st, 11, func(b []byte) []byte { return b[:len(b)-cut] })
		logged.Reset()
		seqs, info, err := replayErr(st)
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if len(seqs) != 12 || seqs[11] != 12 || !info.TornTail || info.Position != 12 {
			t.Fatalf("cut %d: replayed %v, %+v", cut, seqs, info)
		}
		if !strings.Contains(logged.String(), "torn record") || !strings.Contains(logged.String(), "00000000000000000011.wal") {
			t.Fatalf("cut %d: no warning naming the segment: %q", cut, logged.String())
		}
		// A fence after a torn tail continues from the last whole record.
		if fi, err := Fence(context.Background(), st, testDir, 1); err != nil || fi.LastSeq != 12 {
			t.Fatalf("fence after a torn tail: %+v, %v", fi, err)
		}
		// Now the torn segment is not the last one: it is corruption.
		_, _, err = replayErr(st)
		wantCorruption(t, err, 11)
	}
}

func TestReplayStopsOnCallbackError(t *testing.T) {
	st := tenSegments(t)
	boom := errors.New("boom")
	n := 0
	_, err := Replay(context.Background(), st, testDir, 1, 0, func(Record) error {
		if n++; n == 4 {
			return boom
		}
		return nil
	})
	if err != boom || n != 4 {
		t.Fatalf("err = %v after %d records", err, n)
	}
}
