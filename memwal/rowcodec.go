package memwal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
)

// Rows travel in WAL records in a self-describing binary form: a value
// count, then per value a type tag and its bytes. The values are the
// MemTable's normalized Go types (memtable.NormalizeRow).
const (
	tagNull byte = iota
	tagInt8
	tagInt16
	tagInt32
	tagInt64
	tagUint8
	tagUint16
	tagUint32
	tagUint64
	tagFloat32
	tagFloat64
	tagDec128
	tagDec256
	tagString
	tagBytes
	tagDate32
	tagTimestamp
	tagDuration
	tagFalse
	tagTrue
)

// encodeRow appends the encoding of a normalized row to b.
func encodeRow(b []byte, row []any) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(row)))
	for _, v := range row {
		switch x := v.(type) {
		case nil:
			b = append(b, tagNull)
		case int8:
			b = binary.AppendVarint(append(b, tagInt8), int64(x))
		case int16:
			b = binary.AppendVarint(append(b, tagInt16), int64(x))
		case int32:
			b = binary.AppendVarint(append(b, tagInt32), int64(x))
		case int64:
			b = binary.AppendVarint(append(b, tagInt64), x)
		case uint8:
			b = binary.AppendUvarint(append(b, tagUint8), uint64(x))
		case uint16:
			b = binary.AppendUvarint(append(b, tagUint16), uint64(x))
		case uint32:
			b = binary.AppendUvarint(append(b, tagUint32), uint64(x))
		case uint64:
			b = binary.AppendUvarint(append(b, tagUint64), x)
		case float32:
			b = binary.LittleEndian.AppendUint32(append(b, tagFloat32), math.Float32bits(x))
		case float64:
			b = binary.LittleEndian.AppendUint64(append(b, tagFloat64), math.Float64bits(x))
		case decimal128.Num:
			b = binary.LittleEndian.AppendUint64(append(b, tagDec128), uint64(x.HighBits()))
			b = binary.LittleEndian.AppendUint64(b, x.LowBits())
		case decimal256.Num:
			b = append(b, tagDec256)
			for _, w := range x.Array() {
				b = binary.LittleEndian.AppendUint64(b, w)
			}
		case string:
			b = binary.AppendUvarint(append(b, tagString), uint64(len(x)))
			b = append(b, x...)
		case []byte:
			b = binary.AppendUvarint(append(b, tagBytes), uint64(len(x)))
			b = append(b, x...)
		case arrow.Date32:
			b = binary.AppendVarint(append(b, tagDate32), int64(x))
		case arrow.Timestamp:
			b = binary.AppendVarint(append(b, tagTimestamp), int64(x))
		case arrow.Duration:
			b = binary.AppendVarint(append(b, tagDuration), int64(x))
		case bool:
			if x {
				b = append(b, tagTrue)
			} else {
				b = append(b, tagFalse)
			}
		default:
			return nil, fmt.Errorf("memwal: cannot encode a value of type %T", v)
		}
	}
	return b, nil
}

var errRow = errors.New("malformed row")

// decodeRow decodes a row encoded by encodeRow.
func decodeRow(b []byte) ([]any, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, errRow
	}
	b = b[k:]
	row := make([]any, n)
	for i := range row {
		if len(b) == 0 {
			return nil, errRow
		}
		tag := b[0]
		b = b[1:]
		varint := func() (int64, bool) {
			v, k := binary.Varint(b)
			if k <= 0 {
				return 0, false
			}
			b = b[k:]
			return v, true
		}
		uvarint := func() (uint64, bool) {
			v, k := binary.Uvarint(b)
			if k <= 0 {
				return 0, false
			}
			b = b[k:]
			return v, true
		}
		fixed := func(n int) ([]byte, bool) {
			if len(b) < n {
				return nil, false
			}
			out := b[:n]
			b = b[n:]
			return out, true
		}
		ok := true
		switch tag {
		case tagNull:
		case tagInt8, tagInt16, tagInt32, tagInt64, tagDate32, tagTimestamp, tagDuration:
			var v int64
			if v, ok = varint(); ok {
				switch tag {
				case tagInt8:
					row[i] = int8(v)
				case tagInt16:
					row[i] = int16(v)
				case tagInt32:
					row[i] = int32(v)
				case tagInt64:
					row[i] = v
				case tagDate32:
					row[i] = arrow.Date32(v)
				case tagTimestamp:
					row[i] = arrow.Timestamp(v)
				default:
					row[i] = arrow.Duration(v)
				}
			}
		case tagUint8, tagUint16, tagUint32, tagUint64:
			var v uint64
			if v, ok = uvarint(); ok {
				switch tag {
				case tagUint8:
					row[i] = uint8(v)
				case tagUint16:
					row[i] = uint16(v)
				case tagUint32:
					row[i] = uint32(v)
				default:
					row[i] = v
				}
			}
		case tagFloat32:
			var f []byte
			if f, ok = fixed(4); ok {
				row[i] = math.Float32frombits(binary.LittleEndian.Uint32(f))
			}
		case tagFloat64:
			var f []byte
			if f, ok = fixed(8); ok {
				row[i] = math.Float64frombits(binary.LittleEndian.Uint64(f))
			}
		case tagDec128:
			var f []byte
			if f, ok = fixed(16); ok {
				row[i] = decimal128.New(int64(binary.LittleEndian.Uint64(f)), binary.LittleEndian.Uint64(f[8:]))
			}
		case tagDec256:
			var f []byte
			if f, ok = fixed(32); ok {
				var w [4]uint64
				for j := range w {
					w[j] = binary.LittleEndian.Uint64(f[8*j:])
				}
				row[i] = decimal256.New(w[3], w[2], w[1], w[0])
			}
		case tagString, tagBytes:
			var n uint64
			if n, ok = uvarint(); ok && n <= uint64(len(b)) {
				var f []byte
				f, ok = fixed(int(n))
				if tag == tagString {
					row[i] = string(f)
				} else {
					row[i] = append([]byte{}, f...)
				}
			} else {
				ok = false
			}
		case tagFalse:
			row[i] = false
		case tagTrue:
			row[i] = true
		default:
			ok = false
		}
		if !ok {
			return nil, errRow
		}
	}
	if len(b) != 0 {
		return nil, errRow
	}
	return row, nil
}
