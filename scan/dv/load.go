package dv

import (
	"context"
	"fmt"
	"io"
	"path"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/txn"
)

// InlineName is how corruption errors name an inline vector: it lives in a
// log entry, which the caller knows and may add.
const InlineName = "inline deletion vector"

// Load returns the vector d describes, for a database at prefix in st: it
// decodes an inline vector, or reads exactly d's range of its DV file (never
// the whole file). The checksum, the framing and the cardinality are
// checked against d; a mismatch gives an error matching base.ErrCorruption
// naming the DV file (and the offset). A nil d is an empty vector.
func Load(ctx context.Context, st store.Reader, prefix string, d *txn.DeletionVector) (*roaring.Bitmap, error) {
	if d == nil {
		return roaring.New(), nil
	}
	if d.Path == "" {
		b, err := decode(d.Inline)
		if err == nil {
			err = checkCardinality(b, d.Cardinality)
		}
		if err != nil {
			return nil, base.Corruptf(InlineName, "deletion vector: %v", err)
		}
		return b, nil
	}
	name := path.Join(prefix, d.Path)
	if d.Offset < 0 || d.Size < headerSize || d.Size > headerSize+maxPayload {
		return nil, base.Corruptf(name, "deletion vector descriptor: offset %d size %d is impossible", d.Offset, d.Size)
	}
	obj, err := st.Open(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("dv: opening %s: %w", name, err)
	}
	defer obj.Close()
	if end := d.Offset + d.Size; end > obj.Size() {
		return nil, base.Corruptf(name, "deletion vector at offset %d size %d lies beyond the file's %d bytes (truncated?)",
			d.Offset, d.Size, obj.Size())
	}
	buf := make([]byte, d.Size)
	n, err := obj.ReadAt(buf, d.Offset)
	if n < len(buf) {
		if err == nil || err == io.EOF {
			return nil, base.Corruptf(name, "deletion vector at offset %d: read %d of %d bytes (truncated?)", d.Offset, n, len(buf))
		}
		return nil, fmt.Errorf("dv: reading %s: %w", name, err)
	}
	b, err := decode(buf)
	if err == nil {
		err = checkCardinality(b, d.Cardinality)
	}
	if err != nil {
		return nil, base.Corruptf(name, "deletion vector at offset %d: %v", d.Offset, err)
	}
	return b, nil
}

// checkCardinality checks a decoded vector against its descriptor.
func checkCardinality(b *roaring.Bitmap, card int64) error {
	if got := int64(b.GetCardinality()); got != card {
		return fmt.Errorf("vector holds %d rows, the log says %d", got, card)
	}
	return nil
}

// Extend returns the new vector of a data file whose previous descriptor is
// prev (nil: no deletions yet) and which gains the deleted positions: the
// union of the stored vector and positions. The caller adds it to a Writer
// to get the new descriptor. A position outside [0, MaxPosition] gives
// ErrPositionRange.
func Extend(ctx context.Context, st store.Reader, prefix string, prev *txn.DeletionVector, positions []int64) (*roaring.Bitmap, error) {
	added, err := FromPositions(positions)
	if err != nil {
		return nil, err
	}
	old, err := Load(ctx, st, prefix, prev)
	if err != nil {
		return nil, err
	}
	return Union(old, added), nil
}
