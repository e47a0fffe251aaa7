package mergeplan

import (
	"bytes"
	"math/bits"
)

// Key is an abstract key: callers encode a table's primary key so that
// bytes.Compare orders encodings as the keys order (an order-preserving
// encoding, such as the one the MemTable's B-tree uses). mergeplan only ever
// compares keys.
type Key []byte

// Range is the closed key interval [Min, Max]. As a file's key range both
// ends are keys of the file. As a query range (ScanOptions.KeyRange) an
// empty Min is the smallest key and NoMax lifts the upper bound; an
// exclusive bound may be passed as the inclusive one, since pruning only
// needs a superset.
type Range struct {
	Min, Max Key
	NoMax    bool
}

// contains reports whether k lies in r.
func (r *Range) contains(k Key) bool {
	return bytes.Compare(r.Min, k) <= 0 && (r.NoMax || bytes.Compare(k, r.Max) <= 0)
}

// intersects reports whether r and o share a key.
func (r *Range) intersects(o *Range) bool {
	return (o.NoMax || bytes.Compare(r.Min, o.Max) <= 0) && (r.NoMax || bytes.Compare(o.Min, r.Max) <= 0)
}

// union returns the smallest range holding r and o.
func (r Range) union(o Range) Range {
	u := r
	if bytes.Compare(o.Min, u.Min) < 0 {
		u.Min = o.Min
	}
	if o.NoMax || u.NoMax {
		u.NoMax, u.Max = true, nil
	} else if bytes.Compare(o.Max, u.Max) > 0 {
		u.Max = o.Max
	}
	return u
}

// Kind says how a data file came to be.
type Kind uint8

// File kinds, as txn.KindBase and txn.KindFlushed.
const (
	// Base files come from imports, bulk writes and merges.
	Base Kind = iota
	// Flushed files come from MemTable flushes: small, sorted by key, and
	// overlapping each other.
	Flushed
)

func (k Kind) String() string {
	if k == Flushed {
		return "flushed"
	}
	return "base"
}

// RowGroup is one row group of a data file, in file order.
type RowGroup struct {
	Rows, Bytes int64
}

// File describes one data file of a table at a snapshot: what the log's add
// action says about it.
type File struct {
	Path string
	// Rows is the file's row count, Deleted its deletion vector's
	// cardinality (0 without one).
	Rows, Deleted int64
	// Bytes is the file's size.
	Bytes      int64
	Generation int64
	Kind       Kind
	// Keys is the file's key range; nil when unknown (a keyless table).
	// A file without one can be neither pruned by key nor merged for
	// probe depth, and does not count towards it.
	Keys *Range
	// RowGroups optionally lists the file's row groups, letting a scan
	// split a large file.
	RowGroups []RowGroup
}

// Live is the number of rows the deletion vector does not hide.
func (f *File) Live() int64 { return max(f.Rows-f.Deleted, 0) }

// LiveBytes estimates the bytes of the live rows, assuming deletions spread
// evenly over the file: Bytes * Live / Rows.
func (f *File) LiveBytes() int64 { return scale(f.Bytes, f.Live(), f.Rows) }

// scale returns n * num / den for 0 <= num <= den without overflow.
func scale(n, num, den int64) int64 {
	if den <= 0 || n <= 0 || num <= 0 {
		return 0
	}
	if num >= den {
		return n
	}
	return mulDiv(n, num, den)
}

// MemTable is an in-memory source (a frozen or the live MemTable) at the
// snapshot.
type MemTable struct {
	Name        string
	Rows, Bytes int64
}

// mulDiv returns a * b / c for non-negative a, b and positive c with
// a * b / c < 2^63, without overflowing in a * b.
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}
