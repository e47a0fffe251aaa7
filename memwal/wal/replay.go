package wal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
)

// ReplayInfo describes what Replay read.
type ReplayInfo struct {
	Epoch int64
	// FirstSegment and LastSegment are the numbers of the first and the
	// last segment read (the fence included); 0 when the epoch has none.
	FirstSegment, LastSegment uint64
	// Fenced is set when replay stopped at a fence, FenceSegment.
	Fenced       bool
	FenceSegment uint64
	// Records is the number of records passed to fn, Skipped the number
	// at or below afterSeq.
	Records, Skipped int
	// Late is the number of records above ReplayUpTo's upTo, ignored.
	Late int
	// Position is the highest seq the epoch's log holds, or afterSeq when
	// higher: a writer continuing the branch starts at Position+1.
	Position uint64
	// TornTail is set when the last segment ended inside a record, which
	// was dropped.
	TornTail bool
}

// replayBounds are what ReplayUpTo knows of an epoch before reading it.
type replayBounds struct {
	upTo        uint64 // records above are ignored
	lastRecords uint64 // the highest segment number that may hold a torn tail
}

// prefetch is how many segments Replay reads ahead.
const prefetch = 4

// Replay reads the log of epoch in dir and calls fn with every record whose
// seq is above afterSeq, in seq order, each once. It stops at a fence or
// after the highest segment, and returns fn's first error as it is.
//
// The listing gives only the lowest and the highest segment number; every
// number in between is read, and a missing one is corruption. Segments below
// the lowest are gone only when garbage collection deleted them, which it
// does only for records at or below the persisted position: if the lowest
// segment shows that records above afterSeq were deleted, that is
// corruption too. Collection may also run while Replay reads (a writer
// that flushed the epoch just before a newer writer claimed the branch): a
// segment that is missing because the lowest segment left is now above it
// was collected, and Replay goes on from that lowest segment, which must
// hold nothing above what was read or persisted. A record cut short at the end of the highest segment (a
// torn write, which only a store that wrote part of an object could leave)
// is dropped with a warning; any other damage is an error matching
// base.ErrCorruption that names the segment.
//
// Records passed to fn own their memory: fn may keep them.
func Replay(ctx context.Context, st store.Reader, dir string, epoch int64, afterSeq uint64, fn func(Record) error) (ReplayInfo, error) {
	return ReplayUpTo(ctx, st, dir, epoch, afterSeq, math.MaxUint64, fn)
}

// ReplayUpTo is Replay that ignores the records above upTo (counted in
// ReplayInfo.Late). A writer that appends to segments (a local disk) may
// complete an append after a taker fenced and read its epoch, without
// acknowledging it; the taker's epoch reuses that record's sequence number.
// So an epoch is replayed up to the first sequence number of the next epoch
// that has records, less one (FirstSeq).
//
// With appends, the last records segment of a fenced epoch is the one below
// the fence, and a torn record may end it too.
func ReplayUpTo(ctx context.Context, st store.Reader, dir string, epoch int64, afterSeq, upTo uint64, fn func(Record) error) (ReplayInfo, error) {
	dir = strings.TrimSuffix(dir, "/")
	info := ReplayInfo{Epoch: epoch, Position: afterSeq}
	lo, hi, err := segmentRange(ctx, st, dir, epoch)
	if err != nil || hi == 0 {
		return info, err
	}
	bounds := replayBounds{upTo: upTo, lastRecords: hi}
	if hi > lo {
		if h, err := readHeader(ctx, st, dir, epoch, hi); err == nil && h.kind == kindFence {
			bounds.lastRecords = hi - 1
		} else if err != nil && !errors.Is(err, store.ErrNotExist) {
			return info, err
		}
	}
	info.FirstSegment = lo
	var prev uint64 // the last record seq read
	for attempt := 0; ; attempt++ {
		next, err := replaySegments(ctx, st, dir, epoch, afterSeq, lo, hi, bounds, &prev, &info, fn)
		if err != nil || next == 0 {
			return info, err
		}
		// Garbage collection (of a writer that flushed the epoch while
		// it was being replayed) deleted segments after the listing:
		// go on from the lowest one left, which must hold nothing above
		// what was read or persisted.
		if attempt >= 100 {
			return info, fmt.Errorf("wal: replaying epoch %d: segments keep disappearing", epoch)
		}
		lo, hi = next, max(hi, next)
	}
}

// replaySegments replays segments lo to hi of the epoch (see Replay). When
// a segment is missing because garbage collection deleted it meanwhile
// (the lowest segment left is above it), it returns the lowest segment
// left, to go on from.
func replaySegments(ctx context.Context, st store.Reader, dir string, epoch int64, afterSeq, lo, hi uint64,
	bounds replayBounds, prev *uint64, info *ReplayInfo, fn func(Record) error) (uint64, error) {
	ctx, cancel := context.WithCancel(ctx)
	type read struct {
		data []byte
		err  error
	}
	reads := make(chan read, prefetch)
	defer func() {
		cancel()
		for range reads {
		}
	}()
	go func() {
		defer close(reads)
		for n := lo; n <= hi; n++ {
			data, err := store.ReadAll(ctx, st, segmentName(dir, epoch, n))
			select {
			case reads <- read{data, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	first := true // the first segment read in this pass
	for n := lo; n <= hi; n++ {
		name := segmentName(dir, epoch, n)
		r, ok := <-reads
		if !ok {
			return 0, ctx.Err()
		}
		if errors.Is(r.err, store.ErrNotExist) {
			nlo, _, err := segmentRange(ctx, st, dir, epoch)
			if err != nil {
				return 0, err
			}
			if nlo > n {
				return nlo, nil
			}
			return 0, base.Corruptf(name, "segment %d is missing below the highest segment %d", n, hi)
		}
		if r.err != nil {
			return 0, fmt.Errorf("wal: replaying epoch %d: %w", epoch, r.err)
		}
		// A torn record may end the highest segment, or a padded segment
		// just below a fence (an append cut short).
		last := n == hi || n == bounds.lastRecords && len(r.data) > 6 && r.data[6]&flagPadded != 0
		s, err := parseSegment(name, r.data, epoch, n, last)
		if err != nil {
			return 0, err
		}
		info.LastSegment = n
		if first && n > 1 && s.before() > max(afterSeq, *prev) {
			return 0, base.Corruptf(name, "segments before it were deleted, but they held records %d..%d above the replay position %d",
				max(afterSeq, *prev)+1, s.before(), afterSeq)
		}
		first = false
		if s.kind == kindFence {
			info.Fenced, info.FenceSegment = true, n
			info.Position = max(info.Position, min(s.seq, bounds.upTo))
			return 0, nil
		}
		if len(s.records) > 0 && s.records[0].Seq <= *prev {
			return 0, base.Corruptf(name, "first record seq %d is not above the previous segment's last %d", s.records[0].Seq, *prev)
		}
		for _, rec := range s.records {
			*prev = rec.Seq
			if rec.Seq > bounds.upTo {
				info.Late++
				continue
			}
			info.Position = max(info.Position, rec.Seq)
			if rec.Seq <= afterSeq {
				info.Skipped++
				continue
			}
			if err := fn(rec); err != nil {
				return 0, err
			}
			info.Records++
		}
		if s.torn {
			info.TornTail = true
			slog.WarnContext(ctx, "wal: dropped a torn record at the end of the log",
				"segment", name, "records kept", len(s.records))
		}
	}
	return 0, nil
}

// FirstSeq returns the sequence number of the first record left in epoch's
// log (ok=false: it holds none), from the header of its lowest segment.
func FirstSeq(ctx context.Context, st store.Reader, dir string, epoch int64) (seq uint64, ok bool, err error) {
	dir = strings.TrimSuffix(dir, "/")
	lo, _, err := segmentRange(ctx, st, dir, epoch)
	if err != nil || lo == 0 {
		return 0, false, err
	}
	h, err := readHeader(ctx, st, dir, epoch, lo)
	if err != nil {
		return 0, false, err
	}
	return h.seq, h.kind == kindRecords, nil
}
