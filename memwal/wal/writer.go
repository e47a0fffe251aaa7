package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/lakesql/lakesql/store"
)

// ErrFenced is returned by Append once a newer writer has fenced the
// writer's epoch: a segment name the writer needed holds another object.
// It is terminal: every pending and later Append fails with it, and none of
// the records that were not acknowledged before is acknowledged afterwards.
var ErrFenced = errors.New("wal: writer fenced by a newer epoch")

// ErrWriterFailed is returned by Append once the writer could not establish
// whether a segment reached the store, after its retries. It is terminal,
// like ErrFenced: the segment may or may not be in the log, so the writer
// must not write the next one. The owner fences the epoch and replays it
// (a takeover by a new epoch) to learn what the log holds.
var ErrWriterFailed = errors.New("wal: writer failed")

// ErrClosed is returned by Append on a closed Writer.
var ErrClosed = errors.New("wal: writer closed")

// Options configure a Writer. The zero value is usable.
type Options struct {
	// NextSegment is the number of the first segment the writer creates
	// in its epoch (default 1).
	NextSegment uint64
	// NextSeq is the sequence number of the first record (default 1); a
	// new writer continues from the last replayed one.
	NextSeq uint64
	// MaxSegmentBytes bounds the records a segment batches (default
	// 4 MiB). A single larger record gets a segment of its own.
	MaxSegmentBytes int
	// AppendSegmentBytes is, on a store that appends (store.Appender: a
	// local disk), the size segments are created with: later batches are
	// appended to a segment while they fit, instead of each creating one
	// (default 16 MiB; negative: create a segment per batch everywhere).
	AppendSegmentBytes int
	// MaxBatchDelay is how long the writer waits for more records before
	// writing a segment that is not full (default 0: write at once; records
	// that arrive during a write still batch into the next segment).
	MaxBatchDelay time.Duration
	// MaxAttempts bounds the attempts to write one segment (and to read it
	// back after an unknown outcome) before the writer fails with
	// ErrWriterFailed (default 8). Backoff doubles from 1 ms to 100 ms.
	MaxAttempts int
	// Logger receives retries and failures (default slog.Default()).
	Logger *slog.Logger
}

func (o *Options) fill() {
	if o.NextSegment == 0 {
		o.NextSegment = 1
	}
	if o.NextSeq == 0 {
		o.NextSeq = 1
	}
	if o.MaxSegmentBytes <= 0 {
		o.MaxSegmentBytes = 4 << 20
	}
	if o.AppendSegmentBytes == 0 {
		o.AppendSegmentBytes = 16 << 20
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Metrics are a Writer's tallies.
type Metrics struct {
	// Segments is the number of segment writes made durable: segments
	// created, and batches appended to one.
	Segments int64
	// Records is the number of records in them.
	Records int64
	// Bytes is the size of the segments, headers included.
	Bytes int64
	// Retries is the number of segment writes retried after an error.
	Retries int64
}

// AvgBatch is the average number of records per segment.
func (m Metrics) AvgBatch() float64 {
	if m.Segments == 0 {
		return 0
	}
	return float64(m.Records) / float64(m.Segments)
}

// pending is a record waiting for its segment.
type pending struct {
	seq  uint64
	body []byte // appendChanges of the record
	size int    // its frame's length
	// done is closed when the record is durable or the writer failed.
	done chan struct{}
}

// Writer appends records to the log of one epoch, group-committing the
// records of concurrent callers into segments. Every method is safe for
// concurrent use; an Append that races Close is either written before Close
// returns or fails with ErrClosed.
//
// One goroutine, owned by the Writer and joined by Close, writes the
// segments one at a time, in order.
type Writer struct {
	st    store.Store
	dir   string
	epoch int64
	opts  Options

	ctx    context.Context // of the segment writes
	cancel context.CancelFunc
	wake   chan struct{} // buffered 1: records are pending, or closing
	done   chan struct{} // closed when the flusher has returned

	mu struct {
		sync.Mutex
		nextSeq uint64
		queue   []pending
		// queued is the total frame size of queue.
		queued int
		// durable is the last durable seq: every record up to it is in
		// the log.
		durable uint64
		// err is terminal: ErrFenced or ErrWriterFailed, wrapped.
		err     error
		closing bool
		metrics Metrics
	}
}

// NewWriter returns a Writer for the epoch's log in dir
// (<db>/_lakesql_wal/<branch-id>). It writes nothing until the first
// Append.
func NewWriter(st store.Store, dir string, epoch int64, opts Options) (*Writer, error) {
	dir = strings.TrimSuffix(dir, "/")
	if epoch < 0 {
		return nil, fmt.Errorf("wal: negative epoch %d", epoch)
	}
	if err := store.ValidateName(segmentName(dir, epoch, 1)); err != nil {
		return nil, fmt.Errorf("wal: log directory: %w", err)
	}
	opts.fill()
	w := &Writer{
		st:    st,
		dir:   dir,
		epoch: epoch,
		opts:  opts,
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.mu.nextSeq = opts.NextSeq
	w.mu.durable = opts.NextSeq - 1
	go w.flusher()
	return w, nil
}

// Append writes one record with changes and returns its sequence number
// once the record, and every record before it, is durable.
//
// Sequence numbers are assigned in call order. A record is acknowledged
// only by a nil error. An error means the record is not committed as far as
// the caller knows; after a lost response, a crash or a canceled ctx it may
// still be in the log, whole (a record is never partly in the log), and so
// be replayed; see the package documentation.
func (w *Writer) Append(ctx context.Context, changes []Change) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	seq, wait, err := w.Submit(changes)
	if err != nil {
		return 0, err
	}
	if err := wait(ctx); err != nil {
		return 0, err
	}
	return seq, nil
}

// Submit queues one record and returns its sequence number at once, with a
// wait function that returns nil when the record and every record before it
// are durable, or the writer's terminal error. A caller that applies
// records in sequence order under its own lock (the MemTable) submits under
// that lock and waits outside it, so concurrent sessions share segments.
func (w *Writer) Submit(changes []Change) (seq uint64, wait func(ctx context.Context) error, err error) {
	body, err := encode(changes)
	if err != nil {
		return 0, nil, err
	}
	return w.SubmitBody(body)
}

// Body is a record's changes encoded (Builder), for SubmitBody.
type Body struct{ b []byte }

// encode checks and encodes a record's changes.
func encode(changes []Change) (Body, error) {
	if err := validateChanges(changes); err != nil {
		return Body{}, err
	}
	return Body{b: appendChanges(nil, changes)}, nil
}

// SubmitBody is Submit of changes that a Builder encoded: a caller that
// submits under its own lock encodes before taking it.
func (w *Writer) SubmitBody(b Body) (seq uint64, wait func(ctx context.Context) error, err error) {
	body := b.b
	w.mu.Lock()
	if err := w.mu.err; err != nil {
		w.mu.Unlock()
		return 0, nil, err
	}
	if w.mu.closing {
		w.mu.Unlock()
		return 0, nil, ErrClosed
	}
	seq = w.mu.nextSeq
	w.mu.nextSeq++
	p := pending{seq: seq, body: body, size: frameLen(seq, body), done: make(chan struct{})}
	w.mu.queue = append(w.mu.queue, p)
	w.mu.queued += p.size
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	wait = func(ctx context.Context) error {
		select {
		case <-p.done:
		case <-ctx.Done():
			return fmt.Errorf("wal: record %d: outcome unknown: %w", seq, ctx.Err())
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.mu.durable >= seq {
			return nil
		}
		return w.mu.err
	}
	return seq, wait, nil
}

// Position returns the last durable sequence number: every record up to it
// is in the log. Before the first segment it is Options.NextSeq-1.
func (w *Writer) Position() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.durable
}

// Metrics returns the writer's tallies.
func (w *Writer) Metrics() Metrics {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.metrics
}

// Err returns the writer's terminal error (wrapping ErrFenced or
// ErrWriterFailed), or nil.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.err
}

// Close writes the records already appended, stops the writer and returns
// its terminal error, if any, or nil. Later Appends fail with ErrClosed.
func (w *Writer) Close() error {
	w.mu.Lock()
	w.mu.closing = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.done
	w.cancel()
	return w.Err()
}

// flusher writes the queued records in segments, one segment at a time.
func (w *Writer) flusher() {
	defer close(w.done)
	segment := w.opts.NextSegment // the next segment to create
	var buf []byte
	appender, _ := w.st.(store.Appender)
	if w.opts.AppendSegmentBytes <= 0 {
		appender = nil
	}
	var cur store.Appendable // the segment appended to (segment-1)
	curSize := 0             // its bytes written
	defer func() {
		if cur != nil {
			cur.Close()
		}
	}()
	for {
		w.mu.Lock()
		for len(w.mu.queue) == 0 || w.mu.err != nil {
			if w.mu.err != nil {
				// Fail the records queued behind the failed segment.
				for _, p := range w.mu.queue {
					close(p.done)
				}
				w.mu.queue, w.mu.queued = nil, 0
				w.mu.Unlock()
				return
			}
			if w.mu.closing {
				w.mu.Unlock()
				return
			}
			w.mu.Unlock()
			<-w.wake
			w.mu.Lock()
		}
		if d := w.opts.MaxBatchDelay; d > 0 && w.mu.queued < w.opts.MaxSegmentBytes && !w.mu.closing {
			w.mu.Unlock()
			t := time.NewTimer(d)
			<-t.C
			w.mu.Lock()
		}
		// Take a batch of at most MaxSegmentBytes (at least one record).
		n, size := 0, headerLen
		for n < len(w.mu.queue) && (n == 0 || size+w.mu.queue[n].size <= w.opts.MaxSegmentBytes) {
			size += w.mu.queue[n].size
			n++
		}
		batch := w.mu.queue[:n:n]
		w.mu.queue = w.mu.queue[n:]
		w.mu.queued -= size - headerLen
		w.mu.Unlock()

		// On a store that appends (a local disk), the batch goes after the
		// open segment's records while they fit in its reserve; otherwise
		// into a new segment.
		frames := 0
		for _, p := range batch {
			frames += p.size
		}
		var retries int
		var err error
		// A batch larger than a torn append may be (maxBatchBytes) gets a
		// segment of its own: a created segment is never torn.
		if cur != nil && frames <= maxBatchBytes && curSize+frames <= w.opts.AppendSegmentBytes {
			buf = buf[:0]
			for _, p := range batch {
				buf = appendFrame(buf, p.seq, p.body)
			}
			err = w.appendSegment(cur, segment-1, buf)
			curSize += len(buf)
		} else {
			if cur != nil {
				cur.Close()
				cur = nil
			}
			buf = appendHeader(buf[:0], header{kind: kindRecords, epoch: w.epoch, segment: segment, seq: batch[0].seq, padded: appender != nil})
			for _, p := range batch {
				buf = appendFrame(buf, p.seq, p.body)
			}
			if appender != nil {
				cur, err = w.createSegment(appender, segment, buf)
				curSize = len(buf)
			} else {
				retries, err = w.writeSegment(segment, buf)
			}
			segment++
		}

		w.mu.Lock()
		w.mu.metrics.Retries += int64(retries)
		if err != nil {
			w.mu.err = err
			w.opts.Logger.Error("wal: writer stopped", "epoch", w.epoch, "segment", segment-1,
				"unacknowledged", w.mu.nextSeq-batch[0].seq, "error", err)
		} else {
			w.mu.durable = batch[n-1].seq
			w.mu.metrics.Segments++
			w.mu.metrics.Records += int64(n)
			w.mu.metrics.Bytes += int64(len(buf))
		}
		w.mu.Unlock()
		for _, p := range batch {
			close(p.done)
		}
		if cap(buf) > 2*w.opts.MaxSegmentBytes {
			buf = nil
		}
	}
}

// createSegment creates segment n with data on a store that appends, with
// AppendSegmentBytes reserved for later batches. An existing object at n is
// a fence (ErrFenced); any other failure stops the writer (ErrWriterFailed):
// a local disk's errors are not transient, and whether the object was
// created is not known.
func (w *Writer) createSegment(ap store.Appender, n uint64, data []byte) (store.Appendable, error) {
	name := segmentName(w.dir, w.epoch, n)
	a, err := ap.CreateAppendable(w.ctx, name, data, int64(w.opts.AppendSegmentBytes))
	if errors.Is(err, store.ErrPreconditionFailed) {
		return nil, fmt.Errorf("%w: epoch %d: %s holds another object", ErrFenced, w.epoch, name)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: creating %s: %v", ErrWriterFailed, name, err)
	}
	return a, nil
}

// appendSegment appends frames to segment n and returns nil once they are
// durable. A taker fences an epoch by putting a fence at the number after
// its highest segment, which appends do not meet, and then waits at the
// store's append barrier before it reads the segment. So the append first
// looks for the fence, under the store's append lock: found, it writes
// nothing (ErrFenced); not found, the append is durable before the taker
// reads, and is replayed.
func (w *Writer) appendSegment(a store.Appendable, n uint64, frames []byte) error {
	name := segmentName(w.dir, w.epoch, n)
	next := segmentName(w.dir, w.epoch, n+1)
	noFence := func() error {
		_, err := w.st.Stat(w.ctx, next)
		switch {
		case err == nil:
			return fmt.Errorf("%w: epoch %d: %s was put after %s", ErrFenced, w.epoch, next, name)
		case errors.Is(err, store.ErrNotExist):
			return nil
		}
		return fmt.Errorf("%w: looking for a fence after %s: %v", ErrWriterFailed, name, err)
	}
	err := a.Append(frames, noFence)
	if err != nil && !errors.Is(err, ErrFenced) && !errors.Is(err, ErrWriterFailed) {
		err = fmt.Errorf("%w: appending to %s: %v", ErrWriterFailed, name, err)
	}
	return err
}

// writeSegment creates segment n with data, put-if-absent, and returns nil
// once it is durable. The outcome of a failed put is decided by reading the
// segment back:
//
//   - our bytes: the put landed (its response was lost, or a retry of the
//     store found its own earlier attempt) and the segment is durable;
//   - other bytes: a fence (or anything else) holds the name: ErrFenced;
//   - no object: the put did not land; retry after a backoff.
//
// After MaxAttempts without an answer it returns ErrWriterFailed.
func (w *Writer) writeSegment(n uint64, data []byte) (retries int, err error) {
	name := segmentName(w.dir, w.epoch, n)
	var last error
	for attempt := 0; attempt < w.opts.MaxAttempts; attempt++ {
		if attempt > 0 {
			retries++
			w.opts.Logger.Debug("wal: retrying a segment write", "segment", name, "error", last)
			if err := sleep(w.ctx, backoff(attempt)); err != nil {
				return retries, fmt.Errorf("%w: writing %s: %v", ErrWriterFailed, name, err)
			}
		}
		_, err := store.PutBytes(w.ctx, w.st, name, data, store.IfAbsent())
		if err == nil {
			return retries, nil
		}
		last = err
		got, rerr := store.ReadAll(w.ctx, w.st, name)
		switch {
		case rerr == nil && bytes.Equal(got, data):
			return retries, nil
		case rerr == nil:
			return retries, fmt.Errorf("%w: epoch %d: %s holds another object (put: %v)", ErrFenced, w.epoch, name, err)
		case errors.Is(rerr, store.ErrNotExist):
			// The put did not land; retry it.
		default:
			last = fmt.Errorf("%v; reading it back: %w", err, rerr)
		}
	}
	return retries, fmt.Errorf("%w: writing %s: outcome unknown after %d attempts: %v",
		ErrWriterFailed, name, w.opts.MaxAttempts, last)
}

func backoff(attempt int) time.Duration {
	d := min(time.Millisecond<<min(attempt-1, 16), 100*time.Millisecond)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
