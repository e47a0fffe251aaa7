package dv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/lakesql/lakesql/internal/base"
)

// MaxPosition is the largest row position a deletion vector can hold: the
// vectors are 32-bit roaring bitmaps, so a data file with deletions may have
// at most 2^32 rows. Writers cap data files far below that; a position beyond
// it gives ErrPositionRange.
const MaxPosition = math.MaxUint32

// ErrPositionRange matches the error for a row position outside
// [0, MaxPosition].
var ErrPositionRange = errors.New("dv: row position out of range")

// Version is the encoding version Encode writes and Decode accepts.
const Version = 1

// The encoding of one vector (little endian):
//
//	offset size
//	0      4    magic "LQDV"
//	4      1    version (1)
//	5      3    reserved, zero
//	8      8    cardinality (number of deleted rows)
//	16     4    payload length
//	20     4    CRC32C (Castagnoli) of the payload
//	24     n    payload: the roaring portable serialization
//
// The length makes truncation detectable on its own; the cardinality lets a
// reader check the payload against the log's descriptor.
const (
	magic      = "LQDV"
	headerSize = 24
	// maxPayload bounds what Decode accepts: a 32-bit roaring bitmap
	// holding every position serializes far below it.
	maxPayload = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Encode returns the versioned encoding of b. b is not modified; nil encodes
// an empty vector.
func Encode(b *roaring.Bitmap) []byte {
	var c *roaring.Bitmap
	if b == nil {
		c = roaring.New()
	} else {
		c = b.Clone()
		c.RunOptimize() // dense ranges of deleted rows become runs
	}
	var buf bytes.Buffer
	buf.Grow(headerSize + int(c.GetSerializedSizeInBytes()))
	buf.Write(make([]byte, headerSize))
	if _, err := c.WriteTo(&buf); err != nil {
		panic(fmt.Sprintf("dv: serializing a bitmap to memory: %v", err)) // bytes.Buffer does not fail
	}
	out := buf.Bytes()
	payload := out[headerSize:]
	copy(out[0:4], magic)
	out[4] = Version
	binary.LittleEndian.PutUint64(out[8:16], c.GetCardinality())
	binary.LittleEndian.PutUint32(out[16:20], uint32(len(payload)))
	binary.LittleEndian.PutUint32(out[20:24], crc32.Checksum(payload, castagnoli))
	return out
}

// Decode decodes a vector written by Encode. data must be exactly one
// encoding. A vector that is not what Encode wrote (wrong magic, unknown
// version, truncated, failed checksum, a payload that is not a valid bitmap
// or does not match its cardinality) gives an error matching
// base.ErrCorruption that names name, where the vector came from.
func Decode(name string, data []byte) (*roaring.Bitmap, error) {
	b, err := decode(data)
	if err != nil {
		return nil, base.Corruptf(name, "deletion vector: %v", err)
	}
	return b, nil
}

// decode is Decode with plain errors.
func decode(data []byte) (*roaring.Bitmap, error) {
	payload, card, err := parseHeader(data)
	if err != nil {
		return nil, err
	}
	if extra := len(data) - headerSize - len(payload); extra != 0 {
		return nil, fmt.Errorf("%d bytes after a payload of %d", extra, len(payload))
	}
	b, err := decodePayload(payload)
	if err != nil {
		return nil, err
	}
	if got := b.GetCardinality(); got != card {
		return nil, fmt.Errorf("header says %d deleted rows, bitmap holds %d", card, got)
	}
	return b, nil
}

// parseHeader checks the header and the checksum and returns the payload and
// the cardinality.
func parseHeader(data []byte) (payload []byte, card uint64, err error) {
	if len(data) < headerSize {
		return nil, 0, fmt.Errorf("%d bytes, shorter than the %d-byte header (truncated?)", len(data), headerSize)
	}
	if string(data[0:4]) != magic {
		return nil, 0, fmt.Errorf("bad magic %q", data[0:4])
	}
	if data[4] != Version {
		return nil, 0, fmt.Errorf("unknown version %d (this reader knows %d)", data[4], Version)
	}
	if data[5] != 0 || data[6] != 0 || data[7] != 0 {
		return nil, 0, fmt.Errorf("reserved header bytes are not zero")
	}
	card = binary.LittleEndian.Uint64(data[8:16])
	n := binary.LittleEndian.Uint32(data[16:20])
	sum := binary.LittleEndian.Uint32(data[20:24])
	if card > MaxPosition+1 {
		return nil, 0, fmt.Errorf("cardinality %d exceeds 2^32", card)
	}
	if n > maxPayload || int64(n) > int64(len(data)-headerSize) {
		return nil, 0, fmt.Errorf("payload of %d bytes, %d present (truncated?)", n, len(data)-headerSize)
	}
	payload = data[headerSize : headerSize+int(n)]
	if got := crc32.Checksum(payload, castagnoli); got != sum {
		return nil, 0, fmt.Errorf("checksum mismatch: stored %08x, computed %08x", sum, got)
	}
	return payload, card, nil
}

// decodePayload deserializes a roaring bitmap, copying, and checks that it
// used the whole payload and is internally consistent. The checksum already
// rules out accidental damage; the checks guard against a payload that was
// written wrong.
func decodePayload(payload []byte) (b *roaring.Bitmap, err error) {
	defer func() {
		// The roaring reader trusts parts of its input; a payload
		// that passes the CRC yet is malformed must still be an
		// error, never a crash of the process.
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("malformed roaring bitmap: %v", r)
		}
	}()
	b = roaring.New()
	n, err := b.ReadFrom(bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("malformed roaring bitmap: %v", err)
	}
	if n != int64(len(payload)) {
		return nil, fmt.Errorf("roaring bitmap uses %d of %d payload bytes", n, len(payload))
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("invalid roaring bitmap: %v", err)
	}
	return b, nil
}

// FromPositions returns a vector of the given row positions (in any order,
// duplicates allowed). A position outside [0, MaxPosition] gives
// ErrPositionRange.
func FromPositions(positions []int64) (*roaring.Bitmap, error) {
	b := roaring.New()
	if err := addPositions(b, positions); err != nil {
		return nil, err
	}
	return b, nil
}

func addPositions(b *roaring.Bitmap, positions []int64) error {
	for _, p := range positions {
		if p < 0 || p > MaxPosition {
			return fmt.Errorf("%w: %d (a deletion vector holds positions 0..%d)", ErrPositionRange, p, int64(MaxPosition))
		}
	}
	for _, p := range positions {
		b.Add(uint32(p))
	}
	return nil
}

// Union returns old ∪ added as a new bitmap: the vector of a file that gains
// deleted rows. Neither input is modified (either may be nil, or shared from a
// Cache); the result's cardinality is the new descriptor's.
func Union(old, added *roaring.Bitmap) *roaring.Bitmap {
	switch {
	case old == nil && added == nil:
		return roaring.New()
	case old == nil:
		return added.Clone()
	case added == nil:
		return old.Clone()
	}
	return roaring.Or(old, added)
}

// WithPositions returns old ∪ positions as a new bitmap, leaving old
// unchanged (old may be nil). A position outside [0, MaxPosition] gives
// ErrPositionRange.
func WithPositions(old *roaring.Bitmap, positions []int64) (*roaring.Bitmap, error) {
	added, err := FromPositions(positions)
	if err != nil {
		return nil, err
	}
	return Union(old, added), nil
}
