package wal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// Position is the highest seq the epoch's log holds, or afterSeq when
	// higher: a writer continuing the branch starts at Position+1.
	Position uint64
	// TornTail is set when the last segment ended inside a record, which
	// was dropped.
	TornTail bool
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
// corruption too. A record cut short at the end of the highest segment (a
// torn write, which only a store that wrote part of an object could leave)
// is dropped with a warning; any other damage is an error matching
// base.ErrCorruption that names the segment.
//
// Records passed to fn own their memory: fn may keep them.
func Replay(ctx context.Context, st store.Reader, dir string, epoch int64, afterSeq uint64, fn func(Record) error) (ReplayInfo, error) {
	dir = strings.TrimSuffix(dir, "/")
	info := ReplayInfo{Epoch: epoch, Position: afterSeq}
	lo, hi, err := segmentRange(ctx, st, dir, epoch)
	if err != nil || hi == 0 {
		return info, err
	}
	info.FirstSegment = lo

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

	prev := uint64(0) // the last record seq read
	for n := lo; n <= hi; n++ {
		name := segmentName(dir, epoch, n)
		r, ok := <-reads
		if !ok {
			return info, ctx.Err()
		}
		if errors.Is(r.err, store.ErrNotExist) {
			return info, base.Corruptf(name, "segment %d is missing below the highest segment %d", n, hi)
		}
		if r.err != nil {
			return info, fmt.Errorf("wal: replaying epoch %d: %w", epoch, r.err)
		}
		s, err := parseSegment(name, r.data, epoch, n, n == hi)
		if err != nil {
			return info, err
		}
		info.LastSegment = n
		if n == lo && lo > 1 && s.before() > afterSeq {
			return info, base.Corruptf(name, "segments before it were deleted, but they held records %d..%d above the replay position %d",
				afterSeq+1, s.before(), afterSeq)
		}
		if s.kind == kindFence {
			info.Fenced, info.FenceSegment = true, n
			info.Position = max(info.Position, s.seq)
			return info, nil
		}
		if len(s.records) > 0 && s.records[0].Seq <= prev {
			return info, base.Corruptf(name, "first record seq %d is not above the previous segment's last %d", s.records[0].Seq, prev)
		}
		for _, rec := range s.records {
			prev = rec.Seq
			info.Position = max(info.Position, rec.Seq)
			if rec.Seq <= afterSeq {
				info.Skipped++
				continue
			}
			if err := fn(rec); err != nil {
				return info, err
			}
			info.Records++
		}
		if s.torn {
			info.TornTail = true
			slog.WarnContext(ctx, "wal: dropped a torn record at the end of the log",
				"segment", name, "records kept", len(s.records))
		}
	}
	return info, nil
}
