package wal

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lakesql/lakesql/store/faultstore"
	"github.com/lakesql/lakesql/store/mem"
)

func TestWriterLostResponses(t *testing.T) {
	fs := faultstore.New(mem.New(), faultstore.Options{Seed: 1, Rules: []faultstore.Rule{{
		Ops: faultstore.OpPut, Prefix: testDir, Prob: 0.3,
		Fault: faultstore.Fault{LostResponse: true},
	}}})
	w := mustWriter(t, fs, 1, Options{})
	log := runAppenders(t, w, 8, 100, false)
	if len(log.failed) > 0 {
		t.Fatalf("%d appends failed: %v", len(log.failed), log.errs[0])
	}
	mustClose(t, w)
	if lost := fs.Stats().Put.Lost; lost == 0 {
		t.Fatal("no response was lost")
	}
	m := w.Metrics()
	if n := len(segmentNames(t, fs.Inner(), 1)); int64(n) != m.Segments {
		t.Fatalf("%d segments stored, %d written", n, m.Segments)
	}
	recs, _ := replayAll(t, fs.Inner(), 1, 0)
	checkReplay(t, recs, log, false)
	if len(recs) != 800 || recs[799].Seq != 800 {
		t.Fatalf("replayed %d records", len(recs))
	}
}

func TestWriterRetriesInjectedErrors(t *testing.T) {
	opts := faultstore.Random(7, 0.2, faultstore.OpPut|faultstore.OpOpen|faultstore.OpReadAt)
	fs := faultstore.New(mem.New(), opts)
	w := mustWriter(t, fs, 1, Options{MaxAttempts: 12})
	log := runAppenders(t, w, 8, 100, false)
	if len(log.failed) > 0 {
		t.Fatalf("%d appends failed: %v", len(log.failed), log.errs[0])
	}
	mustClose(t, w)
	st := fs.Stats()
	if m := w.Metrics(); m.Retries == 0 || st.Put.Errors == 0 || st.Put.Lost == 0 {
		t.Fatalf("no retries: metrics %+v, store %+v", m, st.Put)
	}
	recs, _ := replayAll(t, fs.Inner(), 1, 0)
	checkReplay(t, recs, log, false)
	if len(recs) != 800 {
		t.Fatalf("replayed %d records", len(recs))
	}
}

// TestWriterCrash crashes the store at many points of a concurrent append
// run, with the segment landing or not: after recovery the log is a prefix
// of the records, holding every acknowledged one once and whole, and a
// takeover fences it and continues.
func TestWriterCrash(t *testing.T) {
	for _, lands := range []bool{true, false} {
		for after := range 12 {
			t.Run(fmt.Sprintf("lands=%v/after=%d", lands, after*3), func(t *testing.T) {
				fs := faultstore.New(mem.New(), faultstore.Options{Rules: []faultstore.Rule{{
					Ops: faultstore.OpPut, Prefix: testDir, After: after * 3, Times: 1,
					Fault: faultstore.Fault{LostResponse: lands, Crash: true},
				}}})
				w := mustWriter(t, fs, 1, Options{MaxAttempts: 3})
				log := runAppenders(t, w, 8, 1<<30, true)
				for _, err := range log.errs {
					if !errors.Is(err, ErrWriterFailed) {
						t.Fatalf("append failed with %v, want ErrWriterFailed", err)
					}
				}
				if !errors.Is(w.Close(), ErrWriterFailed) {
					t.Fatal("Close does not report the failure")
				}
				fs.Recover()

				recs, info := replayAll(t, fs, 1, 0)
				checkReplay(t, recs, log, true)
				for i, r := range recs {
					if r.Seq != uint64(i+1) {
						t.Fatalf("record %d has seq %d: not a prefix", i, r.Seq)
					}
				}
				if lands && len(recs) == len(log.acked) {
					t.Fatal("the crashed segment's records are not in the log")
				}
				if !lands && len(recs) != len(log.acked) {
					t.Fatalf("%d records in the log, %d acknowledged", len(recs), len(log.acked))
				}

				// Takeover: fence, replay, continue in the next epoch.
				fi, err := Fence(context.Background(), fs, testDir, 1)
				if err != nil {
					t.Fatal(err)
				}
				if fi.LastSeq != info.Position {
					t.Fatalf("fence after seq %d, replay ended at %d", fi.LastSeq, info.Position)
				}
				w2 := mustWriter(t, fs, 2, Options{NextSeq: fi.LastSeq + 1})
				seq, err := w2.Append(context.Background(), changesFor(0, 0))
				if err != nil || seq != fi.LastSeq+1 {
					t.Fatalf("new epoch's first append: %d, %v", seq, err)
				}
				mustClose(t, w2)
			})
		}
	}
}
