package dv

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/lakesql/lakesql/internal/base"
)

// FuzzDecode: Decode never panics; it returns a vector that re-encodes to an
// equal one, or a corruption error.
func FuzzDecode(f *testing.F) {
	dense := roaring.New()
	dense.AddRange(100, 100000)
	for _, b := range []*roaring.Bitmap{roaring.New(), roaring.BitmapOf(1), roaring.BitmapOf(1, 70000, 1<<31), dense} {
		f.Add(Encode(b))
	}
	f.Add([]byte("LQDV"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Decode("fuzz", data)
		if err != nil {
			if !errors.Is(err, base.ErrCorruption) {
				t.Fatalf("error %v does not match ErrCorruption", err)
			}
			return
		}
		again, err := Decode("fuzz", Encode(b))
		if err != nil || !again.Equals(b) {
			t.Fatalf("re-encoding a decoded vector: %v", err)
		}
	})
}

// FuzzDecodePayload frames arbitrary payloads with a valid header and
// checksum, so that the fuzzer reaches the roaring deserializer: a malformed
// bitmap must be a corruption error, never a panic.
func FuzzDecodePayload(f *testing.F) {
	dense := roaring.New()
	dense.AddRange(100, 100000)
	for _, b := range []*roaring.Bitmap{roaring.New(), roaring.BitmapOf(1), roaring.BitmapOf(1, 70000, 1<<31), dense} {
		enc := Encode(b)
		f.Add(enc[headerSize:], b.GetCardinality())
	}
	f.Fuzz(func(t *testing.T, payload []byte, card uint64) {
		data := make([]byte, headerSize, headerSize+len(payload))
		copy(data, magic)
		data[4] = Version
		binary.LittleEndian.PutUint64(data[8:16], card)
		binary.LittleEndian.PutUint32(data[16:20], uint32(len(payload)))
		binary.LittleEndian.PutUint32(data[20:24], crc32.Checksum(payload, castagnoli))
		data = append(data, payload...)
		b, err := Decode("fuzz", data)
		if err != nil {
			if !errors.Is(err, base.ErrCorruption) {
				t.Fatalf("error %v does not match ErrCorruption", err)
			}
			return
		}
		if b.GetCardinality() != card {
			t.Fatalf("decoded %d bits, header says %d", b.GetCardinality(), card)
		}
	})
}
