package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"strings"
	"time"
)

// ErrNotExist is returned (wrapped) when an object does not exist. It is
// fs.ErrNotExist, so errors.Is(err, fs.ErrNotExist) holds too.
var ErrNotExist = fs.ErrNotExist

// ErrPreconditionFailed is returned (wrapped) by Put when its IfAbsent or
// IfMatch condition does not hold: the object exists (IfAbsent), or it is
// missing or has another ETag (IfMatch). The store has checked that the object
// it found is not the result of an earlier attempt of the same call, so the
// caller has truly lost the race.
var ErrPreconditionFailed = errors.New("store: precondition failed")

// ErrChanged is returned (wrapped) when an object opened with an Expect is not
// the object expected: another ETag, size or modification time. It is not
// retryable: the object the reader recorded is gone.
var ErrChanged = errors.New("store: object changed")

// ErrInvalidName is returned (wrapped) for an object name that is not valid;
// see ValidateName.
var ErrInvalidName = errors.New("store: invalid object name")

// Info describes one stored object.
type Info struct {
	// Name is the object's name relative to the store's root.
	Name string
	// Size is the object's length in bytes.
	Size int64
	// ETag identifies the object's content: two objects with different
	// contents never share an ETag. It is what IfMatch compares. List may
	// leave it empty where the backend cannot give it cheaply.
	ETag string
	// LastModified is when the object was written, by the store's clock.
	LastModified time.Time
}

// Object is an open object for ranged reads. It is safe for concurrent use.
// ReadAt follows io.ReaderAt: reading past the end returns io.EOF.
type Object interface {
	io.ReaderAt
	io.Closer
	// Size is the object's length when it was opened.
	Size() int64
	// Info describes the object as it was opened.
	Info() Info
}

// Reader is the reading half of a store. Code that only reads depends on it
// and nothing more.
type Reader interface {
	// Open opens the named object for ranged reads. A missing object gives
	// ErrNotExist.
	Open(ctx context.Context, name string) (Object, error)
	// Stat describes the named object. A missing object gives ErrNotExist.
	Stat(ctx context.Context, name string) (Info, error)
	// List yields, in lexical byte order of their names, the objects whose
	// names begin with prefix and sort strictly after startAfter (an empty
	// startAfter yields from the first). The prefix is a plain string
	// prefix, not a directory: "a/b" matches "a/b" and "a/bc/d". An error
	// ends the sequence.
	List(ctx context.Context, prefix, startAfter string) iter.Seq2[Info, error]
}

// Writer is the writing half of a store.
type Writer interface {
	// Put stores the content read from r under name, atomically: readers
	// see the old object or the whole new one, never a part. With
	// IfAbsent or IfMatch it fails with ErrPreconditionFailed when the
	// condition does not hold. It returns the stored object's Info.
	Put(ctx context.Context, name string, r io.Reader, opts ...PutOption) (Info, error)
	// Delete removes the named object. Deleting a missing object is not an
	// error.
	Delete(ctx context.Context, name string) error
}

// Store is an object store rooted at a prefix: a local directory, memory or
// an S3 bucket. Every method is safe for concurrent use.
type Store interface {
	Reader
	Writer
	// Close releases the store's resources. Objects opened from it must be
	// closed first.
	Close() error
	// String names the store for logs and errors, without credentials.
	String() string
}

// Expect describes the object a reader expects to find (recorded when it was
// first seen, usually from Stat). Zero fields are not checked.
type Expect struct {
	// ETag is the object's ETag, exactly as the store gave it.
	ETag string
	// Size is the object's length in bytes; 0 leaves the size unchecked.
	Size int64
	// LastModified is the object's modification time. It is compared at
	// millisecond precision.
	LastModified time.Time
}

// Mismatch describes how found differs from e ("expected size 10, found
// 12"), or returns "" when it does not. It compares the ETags when both are
// non-empty, the size when e.Size > 0, and the modification times at
// millisecond precision when e.LastModified is not zero.
func (e Expect) Mismatch(found Info) string {
	var diffs []string
	if e.ETag != "" && found.ETag != "" && e.ETag != found.ETag {
		diffs = append(diffs, fmt.Sprintf("expected ETag %s, found %s", e.ETag, found.ETag))
	}
	if e.Size > 0 && e.Size != found.Size {
		diffs = append(diffs, fmt.Sprintf("expected size %d, found %d", e.Size, found.Size))
	}
	if !e.LastModified.IsZero() && !sameTime(e.LastModified, found.LastModified) {
		diffs = append(diffs, fmt.Sprintf("expected modification time %s, found %s",
			e.LastModified.UTC().Format(timeFormat), found.LastModified.UTC().Format(timeFormat)))
	}
	return strings.Join(diffs, "; ")
}

// timeFormat shows modification times in messages, to the millisecond.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// sameTime reports whether a and b are the same instant at millisecond
// precision, the precision Expect checks: stores keep times at different
// precisions (nanoseconds on disk, seconds in S3's headers).
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
}

// Appender is implemented by stores that can extend an object in place and
// make the extension durable cheaply: a local disk, where rewriting bytes of
// a file already written costs one data sync and no file system metadata.
// The write-ahead log appends group commits to a segment through it instead
// of creating an object per commit.
type Appender interface {
	// CreateAppendable creates name holding data, put-if-absent like Put
	// with IfAbsent (ErrPreconditionFailed when the name exists), durable
	// when it returns, and returns it open for appending. The object holds
	// reserve bytes: data, then zeros that Append writes over (appending
	// past the reserve grows it). Its ETag names this object and does not
	// change with appends.
	CreateAppendable(ctx context.Context, name string, data []byte, reserve int64) (Appendable, error)
	// AppendBarrier waits until no append to name (from any process) is
	// between its check and the end of its Sync. An append that starts
	// later runs its check after AppendBarrier returned. A missing object
	// is not an error.
	AppendBarrier(ctx context.Context, name string) error
}

// Appendable is an object open for appending, by one writer. An append is
// a Write and then a Sync, one at a time: the writer may work between the
// two while the device writes.
type Appendable interface {
	// Write runs check and, when it returns nil, writes p after everything
	// written so far and starts making it durable, without waiting for
	// the device. Until the Sync that follows, AppendBarrier waits. A
	// check error is returned as it is, with nothing written and nothing
	// held. After any other error the object's content after the earlier
	// appends is unknown, and the caller stops appending; it still calls
	// Sync, which then fails too.
	Write(p []byte, check func() error) error
	// Sync returns once what Write wrote is durable, and lets AppendBarrier
	// pass. Without a Write before it, it does nothing.
	Sync() error
	// Close releases the object, which stays as written.
	Close() error
}

// CheckedOpener is implemented by stores that can check an Expect as part of
// opening (and keep checking on every later read), more cheaply or more
// strictly than comparing the opened object's Info.
type CheckedOpener interface {
	// OpenExpect opens the named object like Open and fails with
	// ErrChanged when it is not the object exp describes. The object's
	// reads fail with ErrChanged when the backend finds it changed since.
	OpenExpect(ctx context.Context, name string, exp Expect) (Object, error)
}

// OpenExpect opens name of r and checks exp: through r's CheckedOpener when it
// has one, else by comparing the opened object's Info with exp (see
// Expect.Mismatch). A mismatch gives an error matching ErrChanged that names
// the object and says what differs (expected vs found); a missing object
// gives ErrNotExist as Open does.
func OpenExpect(ctx context.Context, r Reader, name string, exp Expect) (Object, error) {
	if co, ok := r.(CheckedOpener); ok {
		return co.OpenExpect(ctx, name, exp)
	}
	obj, err := r.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	if why := exp.Mismatch(obj.Info()); why != "" {
		obj.Close()
		return nil, Changed(describe(r), name, why)
	}
	return obj, nil
}

// describe names a reader for messages: its String when it has one.
func describe(r Reader) fmt.Stringer {
	if st, ok := r.(fmt.Stringer); ok {
		return st
	}
	return typeName{r}
}

type typeName struct{ v any }

func (t typeName) String() string { return fmt.Sprintf("%T", t.v) }

// PutOptions are the conditions of a Put.
type PutOptions struct {
	// IfAbsent makes the Put fail unless no object of that name exists.
	IfAbsent bool
	// IfMatch, when not empty, makes the Put fail unless the object exists
	// with this ETag.
	IfMatch string
}

// PutOption sets one of the PutOptions.
type PutOption func(*PutOptions)

// IfAbsent makes a Put create the object only when it does not exist yet
// (put-if-absent). Exactly one of several racing creators succeeds.
func IfAbsent() PutOption { return func(o *PutOptions) { o.IfAbsent = true } }

// IfMatch makes a Put replace the object only when its current ETag is etag
// (compare-and-swap).
func IfMatch(etag string) PutOption { return func(o *PutOptions) { o.IfMatch = etag } }

// ApplyPutOptions collects opts and checks that they do not contradict each
// other. Backends call it first in Put.
func ApplyPutOptions(opts []PutOption) (PutOptions, error) {
	var o PutOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.IfAbsent && o.IfMatch != "" {
		return o, errors.New("store: IfAbsent and IfMatch cannot be combined")
	}
	return o, nil
}

// NotExist returns an error for a missing object that matches ErrNotExist.
func NotExist(st fmt.Stringer, name string) error {
	return &fs.PathError{Op: "open", Path: st.String() + ": " + name, Err: fs.ErrNotExist}
}

// Changed returns an error for an object that is not the one expected (see
// Expect) that matches ErrChanged; why says what differs.
func Changed(st fmt.Stringer, name string, why string) error {
	return fmt.Errorf("%w: %s: %s: %s", ErrChanged, st, name, why)
}

// PreconditionFailed returns an error for a failed IfAbsent or IfMatch Put
// that matches ErrPreconditionFailed.
func PreconditionFailed(st fmt.Stringer, name string, why string) error {
	return fmt.Errorf("%w: %s: %s: %s", ErrPreconditionFailed, st, name, why)
}
