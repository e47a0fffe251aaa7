package dv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/txn"
)

// InlineLimit is the largest encoding, in bytes, that goes inline in the
// log's descriptor; larger vectors go to a DV file. 256 bytes keeps a log
// line short (base64 in JSON makes it about 350 characters) while a vector
// of a few dozen scattered rows, or of any number of contiguous ranges,
// needs no extra object.
const InlineLimit = 256

// Writer collects the deletion vectors of one table written by one flush (or
// one bulk commit, or one merge) and writes those too large to go inline
// into a single DV file, data/<table-id>/dv/<uuid>.bin, one encoding after
// the other. Add returns each vector's descriptor at once; the descriptors
// of file vectors are valid only once Finish has written the file.
//
// A Writer is not safe for concurrent use.
type Writer struct {
	prefix   string
	name     string // the DV file's name relative to the database prefix
	inline   int
	buf      []byte
	data     map[string]bool // data files that already have a vector here
	finished bool
}

// WriterOptions configure a Writer.
type WriterOptions struct {
	// InlineLimit overrides the package's InlineLimit (0: InlineLimit;
	// negative: never inline, for tests).
	InlineLimit int
}

// NewWriter returns a Writer for the table tableID of the database at prefix
// in its store.
func NewWriter(prefix, tableID string, opts WriterOptions) *Writer {
	limit := opts.InlineLimit
	if limit == 0 {
		limit = InlineLimit
	}
	return &Writer{
		prefix: prefix,
		name:   path.Join("data", tableID, "dv", newUUID()+".bin"),
		inline: limit,
		data:   make(map[string]bool),
	}
}

// Path is the DV file's name relative to the database prefix, as
// descriptors carry it.
func (w *Writer) Path() string { return w.name }

// Size is the number of bytes the DV file will have; 0 means Finish writes
// nothing.
func (w *Writer) Size() int64 { return int64(len(w.buf)) }

// Add adds the complete vector of the data file dataPath (the union of its
// old and new deletions, see Union) and returns its descriptor: inline when
// the encoding is at most the inline limit, otherwise a range of the DV
// file. b is not retained. A data file may have only one vector per Writer.
func (w *Writer) Add(dataPath string, b *roaring.Bitmap) (txn.DeletionVector, error) {
	if w.finished {
		return txn.DeletionVector{}, errors.New("dv: Add after Finish")
	}
	if w.data[dataPath] {
		return txn.DeletionVector{}, fmt.Errorf("dv: two deletion vectors for %s in one DV file", dataPath)
	}
	w.data[dataPath] = true
	enc := Encode(b)
	card := int64(0)
	if b != nil {
		card = int64(b.GetCardinality())
	}
	if w.inline >= 0 && len(enc) <= w.inline {
		return txn.DeletionVector{Inline: enc, Cardinality: card}, nil
	}
	d := txn.DeletionVector{
		Path:        w.name,
		Offset:      int64(len(w.buf)),
		Size:        int64(len(enc)),
		Cardinality: card,
	}
	w.buf = append(w.buf, enc...)
	return d, nil
}

// Finish writes the DV file, with put-if-absent, when any vector went to it;
// otherwise it writes nothing. The Writer accepts no more vectors.
func (w *Writer) Finish(ctx context.Context, st store.Writer) error {
	if w.finished {
		return errors.New("dv: Finish called twice")
	}
	w.finished = true
	if len(w.buf) == 0 {
		return nil
	}
	name := path.Join(w.prefix, w.name)
	if _, err := store.PutBytes(ctx, st, name, w.buf, store.IfAbsent()); err != nil {
		return fmt.Errorf("dv: writing %s: %w", name, err)
	}
	return nil
}

func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
