package wal

import (
	"context"
	"fmt"
	"strings"

	"github.com/lakesql/lakesql/store"
)

// DeleteBefore deletes the segments whose records are all at or below seq
// (persisted in data files), in epoch and every older epoch, and returns
// how many it deleted. It is safe to run beside the epoch's writer.
//
// A segment is deleted only when the header of the segment after it shows
// that it holds nothing above seq, and segments are deleted in increasing
// order, so an interrupted DeleteBefore leaves a contiguous log. The highest
// segment of each epoch is always kept: it tells Fence where the next
// number is (without it a fence could land below a live writer), and in an
// older epoch it is the fence that keeps a zombie writer out. So an older
// epoch whose records are all at or below seq keeps one small object, its
// fence; the branch's WAL directory goes when the branch is deleted.
func DeleteBefore(ctx context.Context, st store.Store, dir string, epoch int64, seq uint64) (int, error) {
	dir = strings.TrimSuffix(dir, "/")
	epochs, err := Epochs(ctx, st, dir)
	if err != nil {
		return 0, err
	}
	deleted := 0
	for _, e := range epochs {
		if e > epoch {
			break
		}
		lo, hi, err := segmentRange(ctx, st, dir, e)
		if err != nil {
			return deleted, err
		}
		for n := lo; n < hi; n++ {
			next, err := readHeader(ctx, st, dir, e, n+1)
			if err != nil {
				return deleted, fmt.Errorf("wal: collecting epoch %d: %w", e, err)
			}
			last := next.before()
			if next.kind == kindFence {
				// A fence's seq is the last record its taker read; a
				// segment appended to may hold more below it.
				s, err := readSegment(ctx, st, dir, e, n, true)
				if err != nil {
					return deleted, fmt.Errorf("wal: collecting epoch %d: %w", e, err)
				}
				last = max(last, s.lastSeq())
			}
			if last > seq {
				break
			}
			if err := st.Delete(ctx, segmentName(dir, e, n)); err != nil {
				return deleted, fmt.Errorf("wal: collecting epoch %d: %w", e, err)
			}
			deleted++
		}
	}
	return deleted, nil
}
