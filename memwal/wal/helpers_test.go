package wal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/lakesql/lakesql/store"
)

const testDir = "db/_lakesql_wal/branch-1"

// changesFor is the content of the i-th record of appender g: every record
// is recognisable, and the kinds vary.
func changesFor(g, i int) []Change {
	key := fmt.Appendf(nil, "%03d-%05d", g, i)
	cs := []Change{{Kind: ChangePut, TableID: fmt.Sprintf("t%d", g%3), SchemaID: int64(g), Key: key,
		Row: fmt.Appendf(nil, "row of %d/%d", g, i)}}
	if i%7 == 3 {
		cs = append(cs, Change{Kind: ChangeDelete, TableID: "t9", SchemaID: 2, Key: key})
	}
	if i%50 == 49 {
		cs = append(cs, Change{Kind: ChangeTruncate, TableID: "t8", SchemaID: 1})
	}
	return cs
}

type ident struct{ g, i int }

// appendLog records what a test's appenders were told.
type appendLog struct {
	mu     sync.Mutex
	acked  map[uint64]ident // acknowledged seqs
	failed []ident          // appends that returned an error
	errs   []error
}

func newAppendLog() *appendLog { return &appendLog{acked: map[uint64]ident{}} }

func (l *appendLog) add(seq uint64, id ident, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed = append(l.failed, id)
		l.errs = append(l.errs, err)
		return
	}
	l.acked[seq] = id
}

// runAppenders runs g goroutines appending n records each and returns what
// they were told. An appender stops at its first error when stopOnErr.
func runAppenders(t testing.TB, w *Writer, g, n int, stopOnErr bool) *appendLog {
	t.Helper()
	log := newAppendLog()
	var wg sync.WaitGroup
	for gi := range g {
		wg.Go(func() {
			var last uint64
			for i := range n {
				seq, err := w.Append(context.Background(), changesFor(gi, i))
				log.add(seq, ident{gi, i}, err)
				if err == nil {
					if seq <= last {
						t.Errorf("appender %d: seq %d after %d", gi, seq, last)
					}
					last = seq
				} else if stopOnErr {
					return
				}
			}
		})
	}
	wg.Wait()
	return log
}

// replayAll returns the records of epoch above after.
func replayAll(t testing.TB, st store.Reader, epoch int64, after uint64) ([]Record, ReplayInfo) {
	t.Helper()
	var recs []Record
	info, err := Replay(context.Background(), st, testDir, epoch, after, func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatalf("replay of epoch %d: %v", epoch, err)
	}
	if info.Records != len(recs) {
		t.Fatalf("ReplayInfo.Records = %d, fn saw %d", info.Records, len(recs))
	}
	return recs, info
}

// checkReplay checks that recs are in strictly increasing seq order, hold
// every acknowledged record exactly once with its content, and that every
// other record is one of the failed appends (with its content) when
// allowFailed, and none otherwise.
func checkReplay(t testing.TB, recs []Record, log *appendLog, allowFailed bool) {
	t.Helper()
	failed := map[ident]bool{}
	for _, id := range log.failed {
		failed[id] = true
	}
	seen := map[uint64]bool{}
	var prev uint64
	for _, r := range recs {
		if r.Seq <= prev {
			t.Fatalf("replay: seq %d after %d", r.Seq, prev)
		}
		prev = r.Seq
		seen[r.Seq] = true
		if id, ok := log.acked[r.Seq]; ok {
			if want := (Record{Seq: r.Seq, Changes: changesFor(id.g, id.i)}); !sameRecord(r, want) {
				t.Fatalf("replay: record %d is %+v, want %+v", r.Seq, r, want)
			}
			continue
		}
		if !allowFailed {
			t.Fatalf("replay: record %d was not acknowledged", r.Seq)
		}
		if !matchesFailed(r, failed) {
			t.Fatalf("replay: record %d matches no append: %+v", r.Seq, r)
		}
	}
	for seq := range log.acked {
		if !seen[seq] {
			t.Fatalf("replay: acknowledged record %d is missing", seq)
		}
	}
}

func matchesFailed(r Record, failed map[ident]bool) bool {
	for id := range failed {
		if sameRecord(r, Record{Seq: r.Seq, Changes: changesFor(id.g, id.i)}) {
			delete(failed, id)
			return true
		}
	}
	return false
}

func mustWriter(t testing.TB, st store.Store, epoch int64, opts Options) *Writer {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	w, err := NewWriter(st, testDir, epoch, opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func mustClose(t testing.TB, w *Writer) {
	t.Helper()
	if err := w.Close(); err != nil && !errors.Is(err, ErrFenced) && !errors.Is(err, ErrWriterFailed) {
		t.Fatalf("close: %v", err)
	}
}

// segmentNames lists the segment names of epoch.
func segmentNames(t testing.TB, st store.Reader, epoch int64) []string {
	t.Helper()
	var names []string
	for info, err := range st.List(context.Background(), epochDir(testDir, epoch), "") {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, info.Name)
	}
	return names
}
