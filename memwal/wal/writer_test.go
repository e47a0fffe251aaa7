package wal

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/faultstore"
	"github.com/lakesql/lakesql/store/mem"
)

func TestWriterConcurrentAppends(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func() store.Store
	}{
		{"mem", func() store.Store { return mem.New() }},
		{"slow-puts", func() store.Store {
			return faultstore.New(mem.New(), faultstore.Options{Rules: []faultstore.Rule{
				{Ops: faultstore.OpPut, Fault: faultstore.Fault{Latency: 300 * time.Microsecond}},
			}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.store()
			w := mustWriter(t, st, 3, Options{})
			const g, n = 16, 200
			log := runAppenders(t, w, g, n, false)
			if len(log.failed) > 0 {
				t.Fatalf("%d appends failed: %v", len(log.failed), log.errs[0])
			}
			if got := w.Position(); got != g*n {
				t.Fatalf("Position = %d, want %d", got, g*n)
			}
			mustClose(t, w)
			m := w.Metrics()
			t.Logf("metrics: %+v, average batch %.1f", m, m.AvgBatch())
			if m.Records != g*n || m.Segments >= m.Records {
				t.Fatalf("metrics %+v: want %d records in fewer segments", m, g*n)
			}
			if tc.name == "slow-puts" && m.AvgBatch() < 4 {
				t.Fatalf("average batch %.1f with slow puts: group commit does not batch", m.AvgBatch())
			}
			if got := len(segmentNames(t, st, 3)); int64(got) != m.Segments {
				t.Fatalf("%d segments in the store, metrics say %d", got, m.Segments)
			}
			recs, info := replayAll(t, st, 3, 0)
			checkReplay(t, recs, log, false)
			for i, r := range recs {
				if r.Seq != uint64(i+1) {
					t.Fatalf("record %d has seq %d", i, r.Seq)
				}
			}
			if info.Position != g*n || info.Fenced || info.TornTail {
				t.Fatalf("ReplayInfo %+v", info)
			}
			// Replay after a position skips what is persisted.
			recs, info = replayAll(t, st, 3, 1000)
			if len(recs) != g*n-1000 || recs[0].Seq != 1001 || info.Skipped != 1000 {
				t.Fatalf("replay after 1000: %d records from %d, info %+v", len(recs), recs[0].Seq, info)
			}
		})
	}
}

func TestWriterOptions(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	// Start in the middle of an epoch's numbering, with small segments and
	// a batch delay: records batch up to the byte bound.
	w := mustWriter(t, st, 1, Options{NextSegment: 5, NextSeq: 100, MaxSegmentBytes: 300, MaxBatchDelay: 20 * time.Millisecond})
	if got := w.Position(); got != 99 {
		t.Fatalf("initial Position = %d", got)
	}
	log := runAppenders(t, w, 8, 10, false)
	if len(log.failed) > 0 {
		t.Fatal(log.errs[0])
	}
	mustClose(t, w)
	names := segmentNames(t, st, 1)
	if names[0] != segmentName(testDir, 1, 5) {
		t.Fatalf("first segment %s", names[0])
	}
	for _, name := range names {
		info, err := st.Stat(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := store.ReadAll(ctx, st, name)
		s, err := parseSegment(name, data, 1, 0, false)
		_ = s
		if err == nil {
			t.Fatal("parseSegment accepted a segment under another number")
		}
		if info.Size > 300 {
			t.Fatalf("%s has %d bytes, more than MaxSegmentBytes", name, info.Size)
		}
	}
	if m := w.Metrics(); m.AvgBatch() < 2 {
		t.Fatalf("batch delay did not batch: %+v", m)
	}
	// No segment below 5 exists: replaying from before seq 100 would
	// need records that are not there.
	if _, err := Replay(ctx, st, testDir, 1, 0, func(Record) error { return nil }); !errors.Is(err, base.ErrCorruption) {
		t.Fatalf("replay from 0 of a log starting at seq 100: %v", err)
	}
	recs, _ := replayAll(t, st, 1, 99)
	checkReplay(t, recs, log, false)
	if recs[0].Seq != 100 || len(recs) != 80 {
		t.Fatalf("replayed %d records from %d", len(recs), recs[0].Seq)
	}

	// A record larger than MaxSegmentBytes gets a segment of its own.
	w = mustWriter(t, st, 2, Options{MaxSegmentBytes: 100})
	big := []Change{{Kind: ChangePut, TableID: "t", Key: []byte("k"), Row: make([]byte, 1000)}}
	if _, err := w.Append(ctx, big); err != nil {
		t.Fatal(err)
	}
	mustClose(t, w)

	// Closed writers refuse appends; invalid changes are refused.
	if _, err := w.Append(ctx, changesFor(0, 0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	w = mustWriter(t, st, 4, Options{})
	if _, err := w.Append(ctx, []Change{{Kind: ChangePut}}); err == nil {
		t.Fatal("append of a change without a table id succeeded")
	}
	// An empty record is a record.
	if seq, err := w.Append(ctx, nil); err != nil || seq != 1 {
		t.Fatalf("empty append: %d, %v", seq, err)
	}
	mustClose(t, w)
	if _, err := NewWriter(st, testDir, -1, Options{}); err == nil {
		t.Fatal("negative epoch accepted")
	}
}

func TestWriterAppendContext(t *testing.T) {
	st := faultstore.New(mem.New(), faultstore.Options{Rules: []faultstore.Rule{
		{Ops: faultstore.OpPut, Fault: faultstore.Fault{Latency: 50 * time.Millisecond}},
	}})
	w := mustWriter(t, st, 1, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := w.Append(ctx, changesFor(0, 0)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("append with an expiring context: %v", err)
	}
	// The record is queued and written anyway: its outcome was unknown.
	mustClose(t, w)
	if recs, _ := replayAll(t, st, 1, 0); len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
}

func TestEpochs(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	for _, e := range []int64{7, 2, 30} {
		w := mustWriter(t, st, e, Options{})
		for i := range 3 {
			if _, err := w.Append(ctx, changesFor(0, i)); err != nil {
				t.Fatal(err)
			}
		}
		mustClose(t, w)
	}
	if _, err := store.PutBytes(ctx, st, testDir+"/LEASE", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	got, err := Epochs(ctx, st, testDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != 2 || got[1] != 7 || got[2] != 30 {
		t.Fatalf("Epochs = %v", got)
	}
	if got, _ := Epochs(ctx, st, "db/_lakesql_wal/other"); len(got) != 0 {
		t.Fatalf("Epochs of an empty dir = %v", got)
	}
}
