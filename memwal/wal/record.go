package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// ChangeKind says what a Change does to its table.
type ChangeKind uint8

// The change kinds. The values are written to the log and never change.
const (
	// ChangePut inserts or replaces the row with Key by Row.
	ChangePut ChangeKind = 1
	// ChangeDelete deletes the row with Key.
	ChangeDelete ChangeKind = 2
	// ChangeTruncate empties the table: replay drops every older row of
	// the table id. It carries no Key and no Row.
	ChangeTruncate ChangeKind = 3
)

// String names the kind.
func (k ChangeKind) String() string {
	switch k {
	case ChangePut:
		return "put"
	case ChangeDelete:
		return "delete"
	case ChangeTruncate:
		return "truncate"
	}
	return fmt.Sprintf("ChangeKind(%d)", uint8(k))
}

// Change is one change of a transaction to one table. Key and Row are
// opaque here: the MemTable layer encodes them.
type Change struct {
	Kind    ChangeKind
	TableID string
	// SchemaID is the table's schema the change was written for; replay
	// applies the change only to that schema.
	SchemaID int64
	// Key is the encoded key (ChangePut and ChangeDelete).
	Key []byte
	// Row is the encoded new row (ChangePut only).
	Row []byte
}

// Record is one transaction: its sequence number and its changes, applied
// atomically.
type Record struct {
	Seq     uint64
	Changes []Change
}

// maxPayload bounds a record's encoded payload; a frame that claims more is
// corrupt. It keeps a corrupt length from allocating gigabytes.
const maxPayload = 256 << 20

// frameHeaderLen is the length of a frame's header: the payload length and
// the payload's CRC32C, both uint32 little-endian.
const frameHeaderLen = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errTruncated reports a frame cut short by the end of its segment.
var errTruncated = errors.New("truncated record")

// validateChanges checks what Append accepts.
func validateChanges(changes []Change) error {
	for i := range changes {
		c := &changes[i]
		switch c.Kind {
		case ChangePut:
		case ChangeDelete:
			if len(c.Row) != 0 {
				return fmt.Errorf("wal: change %d: a delete carries no row", i)
			}
		case ChangeTruncate:
			if len(c.Key) != 0 || len(c.Row) != 0 {
				return fmt.Errorf("wal: change %d: a truncate carries no key and no row", i)
			}
		default:
			return fmt.Errorf("wal: change %d: unknown kind %v", i, c.Kind)
		}
		if c.TableID == "" {
			return fmt.Errorf("wal: change %d: no table id", i)
		}
	}
	return nil
}

// appendChanges appends the encoding of changes, the body of a record's
// payload after its sequence number:
//
//	uvarint(count) { kind byte, uvarint(len) table id, varint schema id,
//	                 [uvarint(len) key] (put, delete), [uvarint(len) row] (put) }
func appendChanges(dst []byte, changes []Change) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(changes)))
	for i := range changes {
		c := &changes[i]
		dst = appendChange(dst, c.Kind, c.TableID, c.SchemaID, c.Key, c.Row)
	}
	return dst
}

// appendChange appends the encoding of one change (see appendChanges).
func appendChange[K ~string | ~[]byte](dst []byte, kind ChangeKind, tableID string, schemaID int64, key K, row []byte) []byte {
	dst = append(dst, byte(kind))
	dst = binary.AppendUvarint(dst, uint64(len(tableID)))
	dst = append(dst, tableID...)
	dst = binary.AppendVarint(dst, schemaID)
	if kind == ChangePut || kind == ChangeDelete {
		dst = binary.AppendUvarint(dst, uint64(len(key)))
		dst = append(dst, key...)
	}
	if kind == ChangePut {
		dst = binary.AppendUvarint(dst, uint64(len(row)))
		dst = append(dst, row...)
	}
	return dst
}

// frameLen is the length of the frame of the record seq with the encoded
// changes body.
func frameLen(seq uint64, body []byte) int {
	var tmp [binary.MaxVarintLen64]byte
	return frameHeaderLen + binary.PutUvarint(tmp[:], seq) + len(body)
}

// appendFrame appends the frame of record seq whose encoded changes are body:
// [len uint32][crc32c uint32][uvarint(seq) body].
func appendFrame(dst []byte, seq uint64, body []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeaderLen)...)
	dst = binary.AppendUvarint(dst, seq)
	dst = append(dst, body...)
	payload := dst[start+frameHeaderLen:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, castagnoli))
	return dst
}

// encodeRecord returns the frame of rec.
func encodeRecord(rec Record) []byte {
	return appendFrame(nil, rec.Seq, appendChanges(nil, rec.Changes))
}

// readFrame splits the first frame off buf. It returns the payload (aliasing
// buf) and the rest, errTruncated when buf ends inside the frame, or another
// error when the frame is corrupt.
func readFrame(buf []byte) (payload, rest []byte, err error) {
	if len(buf) < frameHeaderLen {
		return nil, nil, errTruncated
	}
	n := binary.LittleEndian.Uint32(buf)
	sum := binary.LittleEndian.Uint32(buf[4:])
	if n > maxPayload {
		return nil, nil, fmt.Errorf("record length %d exceeds the maximum %d", n, maxPayload)
	}
	if uint64(len(buf)-frameHeaderLen) < uint64(n) {
		return nil, nil, errTruncated
	}
	payload = buf[frameHeaderLen : frameHeaderLen+int(n)]
	if got := crc32.Checksum(payload, castagnoli); got != sum {
		return nil, nil, fmt.Errorf("record checksum mismatch: stored %08x, computed %08x", sum, got)
	}
	return payload, buf[frameHeaderLen+int(n):], nil
}

// decodeRecord decodes a record's payload. Keys and rows alias p, which the
// caller must not reuse. Every malformed payload is an error, never a panic.
func decodeRecord(p []byte) (Record, error) {
	d := decoder{buf: p}
	var rec Record
	rec.Seq = d.uvarint("sequence number")
	count := d.uvarint("change count")
	if d.err != nil {
		return Record{}, d.err
	}
	// Every change takes at least three bytes (kind, table id length,
	// schema id): a count beyond that is corrupt, and cannot allocate.
	if count > uint64(len(d.buf))/3 {
		return Record{}, fmt.Errorf("change count %d exceeds what %d bytes can hold", count, len(d.buf))
	}
	if count > 0 {
		rec.Changes = make([]Change, count)
	}
	for i := range rec.Changes {
		c := &rec.Changes[i]
		c.Kind = ChangeKind(d.byte("change kind"))
		c.TableID = string(d.bytes("table id"))
		c.SchemaID = d.varint("schema id")
		if d.err != nil {
			break
		}
		switch c.Kind {
		case ChangePut:
			c.Key = d.bytes("key")
			c.Row = d.bytes("row")
		case ChangeDelete:
			c.Key = d.bytes("key")
		case ChangeTruncate:
		default:
			return Record{}, fmt.Errorf("change %d: unknown kind %d", i, uint8(c.Kind))
		}
		if d.err == nil && c.TableID == "" {
			return Record{}, fmt.Errorf("change %d: empty table id", i)
		}
	}
	if d.err != nil {
		return Record{}, d.err
	}
	if len(d.buf) != 0 {
		return Record{}, fmt.Errorf("%d bytes after the last change", len(d.buf))
	}
	return rec, nil
}

// decoder reads varints and length-prefixed bytes, remembering the first
// error; reads after an error return zero values.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("malformed %s", what)
	}
	d.buf = nil
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.buf) == 0 {
		d.fail(what)
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) bytes(what string) []byte {
	n := d.uvarint(what + " length")
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.fail(what)
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}
