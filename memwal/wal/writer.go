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
// Segments are written one batch at a time, in order, by whoever holds the
// token: a goroutine owned by the Writer and joined by Close, or, on a store
// that appends, a caller waiting for its record (steal).
type Writer struct {
	st    store.Store
	dir   string
	epoch int64
	opts  Options

	ctx    context.Context // of the segment writes
	cancel context.CancelFunc
	wake   chan struct{} // buffered 1: records are pending, or closing
	done   chan struct{} // closed when the flusher has returned
	// token is held by the one writing segments; buffered 1, full when
	// free. The flusher keeps it when it returns.
	token chan struct{}
	// steal is token when waiting callers may write (steal), else nil.
	steal chan struct{}
	out   output // guarded by token

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
		token: make(chan struct{}, 1),
	}
	w.token <- struct{}{}
	w.out.segment = opts.NextSegment
	if ap, ok := st.(store.Appender); ok && opts.AppendSegmentBytes > 0 {
		w.out.appender = ap
		if opts.MaxBatchDelay == 0 {
			w.steal = w.token
		}
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
	if w.steal != nil {
		select {
		case <-w.steal:
			w.startQueued()
			w.token <- struct{}{}
		default:
		}
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	wait = func(ctx context.Context) error {
		var err error
		if w.steal != nil {
			err = w.stealFor(ctx, &p)
		} else {
			select {
			case <-p.done:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		if err != nil {
			return fmt.Errorf("wal: record %d: outcome unknown: %w", seq, err)
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

// output is the state of the segment writes, owned by whoever holds the
// writer's token.
type output struct {
	segment  uint64         // the next segment to create
	buf      []byte         // reused for each write
	appender store.Appender // nil: create a segment per batch
	cur      store.Appendable
	curSize  int // bytes written to cur (segment-1)
	// started is a batch written to cur by SubmitBody and not yet synced;
	// the next holder of the token finishes it first.
	started      []pending
	startedBytes int
}

// flusher writes the queued records in segments, one batch at a time, and
// on Close the records still queued; it then keeps the token, so that
// nothing is written after it returns.
func (w *Writer) flusher() {
	defer close(w.done)
	for {
		<-w.token
		w.finish()
		w.mu.Lock()
		for len(w.mu.queue) == 0 && w.mu.err == nil && !w.mu.closing {
			w.mu.Unlock()
			w.token <- struct{}{}
			<-w.wake
			<-w.token
			w.finish()
			w.mu.Lock()
		}
		if w.mu.err != nil || len(w.mu.queue) == 0 {
			w.failQueueLocked()
			w.mu.Unlock()
			if w.out.cur != nil {
				w.out.cur.Close()
			}
			return
		}
		if d := w.opts.MaxBatchDelay; d > 0 && w.mu.queued < w.opts.MaxSegmentBytes && !w.mu.closing {
			w.mu.Unlock()
			t := time.NewTimer(d)
			<-t.C
			w.mu.Lock()
		}
		batch := w.takeBatchLocked()
		w.mu.Unlock()
		w.write(batch)
		w.token <- struct{}{}
	}
}

// startQueued starts the append of the queued records in SubmitBody, when
// the token is free, nothing is started, and they fit the open segment: a
// write to the file that the device works on while the caller applies the
// record. The caller holds the token.
func (w *Writer) startQueued() {
	o := &w.out
	if o.started != nil {
		return
	}
	w.mu.Lock()
	if w.mu.err != nil || len(w.mu.queue) == 0 {
		w.mu.Unlock()
		return
	}
	if _, frames := w.batchLenLocked(); !w.fits(frames) {
		w.mu.Unlock()
		return // a new segment: left to the wait or the flusher
	}
	batch := w.takeBatchLocked()
	w.mu.Unlock()
	w.start(batch)
}

// stealFor writes, in a waiting caller's goroutine, the batches queued up to
// and including p, once the token is free; it returns when p is durable
// or failed. A record queued on a busy machine is otherwise written only
// when the flusher goroutine gets a CPU, which is often only once the
// caller parks in its wait; writing it here saves that hand-over. Only on a
// store that appends: its writes are local and short (a caller whose ctx
// ends meanwhile waits for the write), and the flusher's MaxBatchDelay
// asks for batches that stealing would not make.
func (w *Writer) stealFor(ctx context.Context, p *pending) error {
	for {
		select {
		case <-p.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-w.steal:
		}
		select {
		case <-p.done:
		default:
			if w.out.started != nil {
				w.finish() // p may be in it, or queued after it
			} else {
				// With the token, p not done and nothing started, p is in
				// the queue.
				w.mu.Lock()
				batch := w.takeBatchLocked()
				w.mu.Unlock()
				w.write(batch)
			}
		}
		w.token <- struct{}{}
	}
}

// batchLenLocked is the number of queued records the next batch takes, at
// most MaxSegmentBytes (at least one record), and their frames' size. The
// queue is not empty.
func (w *Writer) batchLenLocked() (n, frames int) {
	for n < len(w.mu.queue) && (n == 0 || headerLen+frames+w.mu.queue[n].size <= w.opts.MaxSegmentBytes) {
		frames += w.mu.queue[n].size
		n++
	}
	return n, frames
}

// takeBatchLocked takes the next batch off the queue, which is not empty.
func (w *Writer) takeBatchLocked() []pending {
	n, frames := w.batchLenLocked()
	batch := w.mu.queue[:n:n]
	w.mu.queue = w.mu.queue[n:]
	w.mu.queued -= frames
	return batch
}

// failQueueLocked ends the records queued behind a failed write: their
// waits return the writer's error.
func (w *Writer) failQueueLocked() {
	for _, p := range w.mu.queue {
		close(p.done)
	}
	w.mu.queue, w.mu.queued = nil, 0
}

// fits reports whether a batch of frames goes into the open segment: on a
// store that appends (a local disk), batches are appended while they fit
// in its reserve. A batch larger than a torn append may be (maxBatchBytes)
// gets a segment of its own: a created segment is never torn.
func (w *Writer) fits(frames int) bool {
	o := &w.out
	return o.cur != nil && frames <= maxBatchBytes && o.curSize+frames <= w.opts.AppendSegmentBytes
}

// write writes batch, the records following the last ones written, and
// ends their waits. The caller holds the token and has finished any
// started batch.
func (w *Writer) write(batch []pending) {
	o := &w.out
	frames := 0
	for _, p := range batch {
		frames += p.size
	}
	if w.fits(frames) {
		w.start(batch)
		w.finish()
		return
	}
	if o.cur != nil {
		o.cur.Close()
		o.cur = nil
	}
	o.buf = appendHeader(o.buf[:0], header{kind: kindRecords, epoch: w.epoch, segment: o.segment, seq: batch[0].seq, padded: o.appender != nil})
	for _, p := range batch {
		o.buf = appendFrame(o.buf, p.seq, p.body)
	}
	var retries int
	var err error
	if o.appender != nil {
		o.cur, err = w.createSegment(o.appender, o.segment, o.buf)
		o.curSize = len(o.buf)
	} else {
		retries, err = w.writeSegment(o.segment, o.buf)
	}
	o.segment++
	w.complete(batch, len(o.buf), retries, err)
}

// start appends batch to the open segment, which it fits, and leaves it
// started: written, not yet synced. On failure the batch ends at once.
func (w *Writer) start(batch []pending) {
	o := &w.out
	o.buf = o.buf[:0]
	for _, p := range batch {
		o.buf = appendFrame(o.buf, p.seq, p.body)
	}
	if err := w.appendSegment(o.cur, o.segment-1, o.buf); err != nil {
		o.cur.Sync() // releases the barrier; its error is err's
		w.complete(batch, 0, 0, err)
		return
	}
	o.curSize += len(o.buf)
	o.started, o.startedBytes = batch, len(o.buf)
}

// finish waits for the started batch, if any, to be durable, and ends its
// waits.
func (w *Writer) finish() {
	o := &w.out
	if o.started == nil {
		return
	}
	batch := o.started
	o.started = nil
	err := o.cur.Sync()
	if err != nil {
		err = fmt.Errorf("%w: appending to %s: %v", ErrWriterFailed, segmentName(w.dir, w.epoch, o.segment-1), err)
	}
	w.complete(batch, o.startedBytes, 0, err)
}

// complete records the outcome of writing batch (bytes long) and ends
// its waits; an error stops the writer and fails the records queued
// behind the batch.
func (w *Writer) complete(batch []pending, bytes, retries int, err error) {
	w.mu.Lock()
	w.mu.metrics.Retries += int64(retries)
	if err != nil {
		if w.mu.err == nil {
			w.mu.err = err
			w.opts.Logger.Error("wal: writer stopped", "epoch", w.epoch, "segment", w.out.segment-1,
				"unacknowledged", w.mu.nextSeq-batch[0].seq, "error", err)
		}
		w.failQueueLocked()
	} else {
		w.mu.durable = batch[len(batch)-1].seq
		w.mu.metrics.Segments++
		w.mu.metrics.Records += int64(len(batch))
		w.mu.metrics.Bytes += int64(bytes)
	}
	w.mu.Unlock()
	for _, p := range batch {
		close(p.done)
	}
	if cap(w.out.buf) > 2*w.opts.MaxSegmentBytes {
		w.out.buf = nil
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

// appendSegment writes frames after the records of segment n (open as a);
// they are durable after a's Sync. A taker fences an epoch by putting a
// fence at the number after its highest segment, which appends do not
// meet, and then waits at the store's append barrier before it reads the
// segment. So the append first looks for the fence, under the store's
// append lock: found, it writes nothing (ErrFenced); not found, the append
// is durable (synced) before the taker reads, and is replayed.
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
	err := a.Write(frames, noFence)
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
