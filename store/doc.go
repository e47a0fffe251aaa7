// Package store is lakesql's object store interface: every byte lakesql keeps
// (log entries, checkpoints, data files, deletion vectors, WAL segments, the
// writer lease) lives in a Store.
//
// The interface is small and context-first, split into a reading half
// (Reader: Open for ranged reads, Stat, List in lexical order) and a writing
// half (Writer: Put, Delete). Put takes two conditions that the commit log and
// the writer lease are built on:
//
//	IfAbsent()     put-if-absent: of several racing creators exactly one wins
//	IfMatch(etag)  compare-and-swap on the object's current ETag
//
// A failed condition is ErrPreconditionFailed. Backends resolve ambiguous
// outcomes themselves (a request whose response was lost and that was retried
// finds its own object): a caller that sees ErrPreconditionFailed really lost.
//
// A reader that recorded an object's ETag, size and modification time (an
// Expect) opens it with OpenExpect, which fails with ErrChanged when the
// object is another one now. Backends that can check more strictly implement
// CheckedOpener: S3 puts If-Match on every read, the local store fstats the
// file after every read.
//
// Backends that can extend an object in place cheaply implement Appender:
// the local store creates an object with room reserved (zeros already
// written) so that an append is a write and a data sync, and the WAL
// appends group commits to a segment through it instead of creating an
// object per commit. An append is a Write, which starts the device's
// write-back, and a Sync, which waits for it, so that the writer can work
// in between. Appends check a condition under a shared lock held until
// their Sync, and AppendBarrier waits for the appends in flight: that is
// how a fence stops a writer that appends.
//
// Object names are slash-separated (package path, never path/filepath), the
// same on every OS and backend; ValidateName refuses names that could escape
// a root ("..", a leading slash, empty components, control characters).
//
// Backends live in subpackages: store/local (a directory; the default),
// store/mem (tests), store/s3 (S3 and S3-compatible servers). store/storeuri
// opens one by URI. store/storetest is the conformance suite every backend
// passes; store/faultstore wraps a Store to inject faults in tests.
package store
