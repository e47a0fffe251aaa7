package memtable

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of a MemTable. Value errors (a value that does not fit its column)
// are plain errors naming the column.
var (
	// ErrFrozen is returned by Apply on a frozen MemTable.
	ErrFrozen = errors.New("memtable: frozen")
	// ErrClosed is returned by Apply, SetLocation and Snapshot after Close
	// or Release.
	ErrClosed = errors.New("memtable: closed")
	// ErrUnknownTable is returned for a table the MemTable does not hold.
	ErrUnknownTable = errors.New("memtable: unknown table")
	// ErrUnknownIndex is returned by IndexLookup for an index the table
	// does not keep.
	ErrUnknownIndex = errors.New("memtable: unknown index")
	// ErrSeqOrder is returned by Apply for a sequence number below the last
	// applied one, or zero.
	ErrSeqOrder = errors.New("memtable: sequence number out of order")
	// ErrSnapshotTooOld is returned by Snapshot for a sequence number older
	// than the versions Prune has kept.
	ErrSnapshotTooOld = errors.New("memtable: snapshot too old")
)

// LeakError is returned by Close when views are still open: each is a
// reference that some reader did not release.
type LeakError struct {
	// Seqs are the sequence numbers of the open views.
	Seqs []uint64
	// Stacks are where they were taken (Options.TrackViews), else empty.
	Stacks []string
}

func (e *LeakError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "memtable: %d view(s) not released at seqs %v", len(e.Seqs), e.Seqs)
	for _, s := range e.Stacks {
		b.WriteString("\n--- view taken at:\n")
		b.WriteString(s)
	}
	return b.String()
}
