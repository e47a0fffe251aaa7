package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lakesql/lakesql/store"
)

// FenceInfo describes the fence of an epoch.
type FenceInfo struct {
	Epoch int64
	// Segment is the fence's segment number. Replay stops there, and the
	// epoch's writer can no longer write it.
	Segment uint64
	// LastSegment is the last records segment before the fence, 0 when
	// the epoch has none.
	LastSegment uint64
	// LastSeq is the seq of the last record before the fence, 0 when the
	// epoch has none.
	LastSeq uint64
}

// fenceAttempts bounds the reads and writes of one name that fail with an
// unknown outcome.
const fenceAttempts = 8

// Fence stops the writer of epoch: it writes a fence object, put-if-absent,
// at the segment number after the epoch's highest. When the old writer wins
// that name first, Fence moves on to the next number, until the fence lands;
// when another fence holds the name (a concurrent takeover), that fence is
// the epoch's. An epoch already fenced is left as it is. Fence is
// idempotent.
//
// After Fence returns, the old writer's next segment write fails, so it
// acknowledges nothing more, and Replay stops at the fence. On a store that
// appends, Fence then waits at the append barrier of the segment below the
// fence: the old writer's appends check for the fence under the store's
// append lock, so after the barrier none can land, and every one that did
// is durable before Replay reads it.
//
// LastSeq is read before the fence is put: on a store that appends, the
// segment below it may end with a few more records (acknowledged before the
// fence landed).
func Fence(ctx context.Context, st store.Store, dir string, epoch int64) (FenceInfo, error) {
	dir = strings.TrimSuffix(dir, "/")
	if epoch < 0 {
		return FenceInfo{}, fmt.Errorf("wal: negative epoch %d", epoch)
	}
	for attempt := 0; ; attempt++ {
		info, again, err := fenceOnce(ctx, st, dir, epoch)
		if err == nil && !again && info.Segment > 1 {
			// A writer may be appending to the segment below the fence:
			// wait until every append that did not see the fence is
			// durable (Writer.appendSegment).
			if ap, ok := st.(store.Appender); ok {
				if err := ap.AppendBarrier(ctx, segmentName(dir, epoch, info.Segment-1)); err != nil {
					return FenceInfo{}, fmt.Errorf("wal: fencing epoch %d: %w", epoch, err)
				}
			}
		}
		if err != nil || !again {
			return info, err
		}
		// The listing was stale: the writer moved on and garbage
		// collection deleted what the fence aimed at. Look again.
		if attempt >= fenceAttempts {
			return FenceInfo{}, fmt.Errorf("wal: fencing epoch %d: the writer keeps moving past the fence", epoch)
		}
		if err := sleep(ctx, backoff(attempt+1)); err != nil {
			return FenceInfo{}, err
		}
	}
}

// fenceOnce fences epoch from one listing. again reports that the listing
// was stale and nothing was fenced.
func fenceOnce(ctx context.Context, st store.Store, dir string, epoch int64) (_ FenceInfo, again bool, _ error) {
	_, hi, err := segmentRange(ctx, st, dir, epoch)
	if err != nil {
		return FenceInfo{}, false, err
	}
	var lastSeq uint64
	if hi > 0 {
		s, err := readSegment(ctx, st, dir, epoch, hi, true)
		if errors.Is(err, store.ErrNotExist) {
			// Garbage collection deleted it after the listing: the writer
			// has written above it since.
			return FenceInfo{}, true, nil
		}
		if err != nil {
			return FenceInfo{}, false, fmt.Errorf("wal: fencing epoch %d: %w", epoch, err)
		}
		if s.kind == kindFence {
			return FenceInfo{Epoch: epoch, Segment: hi, LastSegment: hi - 1, LastSeq: s.seq}, false, nil
		}
		lastSeq = s.lastSeq()
	}
	for n := hi + 1; ; n++ {
		data := fenceSegment(epoch, n, lastSeq)
		s, err := putFence(ctx, st, dir, epoch, n, data)
		if err != nil {
			return FenceInfo{}, false, err
		}
		if s == nil || s.kind == kindFence {
			// A fence holds n. It stops the writer only if the writer has
			// not been past n: a listing older than the writer's last
			// segments and garbage collection that deleted segment n
			// after the writer moved on let a put-if-absent land in the
			// hole, below the writer, where it would stop nothing and cut
			// replay short. Since garbage collection keeps an epoch's
			// highest segment, and deletes n only once n+1 exists, the
			// writer was past n if and only if a segment above n exists.
			above, err := segmentAbove(ctx, st, dir, epoch, n)
			if err != nil {
				return FenceInfo{}, false, err
			}
			if above {
				// Every segment below n is gone too (collection deletes
				// from the lowest up): taking the stray fence out again
				// leaves the log contiguous.
				if err := st.Delete(ctx, segmentName(dir, epoch, n)); err != nil {
					return FenceInfo{}, false, fmt.Errorf("wal: fencing epoch %d: removing a fence below the writer: %w", epoch, err)
				}
				return FenceInfo{}, true, nil
			}
			info := FenceInfo{Epoch: epoch, Segment: n, LastSegment: n - 1, LastSeq: lastSeq}
			if s != nil {
				info.LastSeq = s.seq
			}
			return info, false, nil
		}
		// The old writer won segment n: fence after it.
		lastSeq = s.lastSeq()
	}
}

// segmentAbove reports whether epoch has a segment numbered above n.
func segmentAbove(ctx context.Context, st store.Reader, dir string, epoch int64, n uint64) (bool, error) {
	for info, err := range st.List(ctx, epochDir(dir, epoch), segmentName(dir, epoch, n)) {
		if err != nil {
			return false, fmt.Errorf("wal: listing epoch %d of %s: %w", epoch, dir, err)
		}
		if m, ok := parseSegmentNumber(info.Name); ok && m > n {
			return true, nil
		}
	}
	return false, nil
}

// putFence writes the fence data at segment n. It returns nil when the
// fence landed, or the segment that holds the name instead.
func putFence(ctx context.Context, st store.Store, dir string, epoch int64, n uint64, data []byte) (*segment, error) {
	name := segmentName(dir, epoch, n)
	var last error
	for attempt := 0; attempt < fenceAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return nil, err
			}
		}
		_, err := store.PutBytes(ctx, st, name, data, store.IfAbsent())
		if err == nil {
			return nil, nil
		}
		last = err
		got, rerr := store.ReadAll(ctx, st, name)
		switch {
		case rerr == nil && bytes.Equal(got, data):
			return nil, nil // ours, after a lost response
		case rerr == nil:
			// A records segment may be torn only if it is the last, which
			// it is: nothing is above it yet.
			return parseSegment(name, got, epoch, n, true)
		case errors.Is(rerr, store.ErrNotExist):
		default:
			last = fmt.Errorf("%v; reading it back: %w", err, rerr)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("wal: fencing epoch %d at %s: %w", epoch, name, last)
}
