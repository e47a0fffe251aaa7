package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path"
	"strconv"
	"strings"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
)

// Segment header layout (all integers little-endian):
//
//	 0  magic "LQWL"
//	 4  format version (1)
//	 5  kind: 1 records, 2 fence
//	 6  two reserved zero bytes
//	 8  epoch             uint64
//	16  segment number    uint64
//	24  seq               uint64: a records segment's first record seq; a
//	                      fence's last record seq before it (0: none)
//	32  CRC32C of bytes 0..32
//	36  frames (records segments only)
const (
	headerLen     = 36
	formatVersion = 1
	// paddedVersion is the format of padded segments (flagPadded): a
	// reader that knows only version 1 refuses them by version instead of
	// taking their zeros for a damaged record.
	paddedVersion = 2
	magic         = "LQWL"
)

// flagPadded is the header flag of a padded segment.
const flagPadded = 1

type segmentKind uint8

const (
	kindRecords segmentKind = 1
	kindFence   segmentKind = 2
)

// header is a segment's decoded header.
type header struct {
	kind    segmentKind
	epoch   int64
	segment uint64
	seq     uint64
	// padded marks a segment created with room for appends: its records
	// end where zeros begin.
	padded bool
}

// before is the highest record seq that can come before the segment in the
// log: every record in an earlier segment is at most this.
func (h header) before() uint64 {
	if h.kind == kindFence || h.seq == 0 {
		return h.seq
	}
	return h.seq - 1
}

func appendHeader(dst []byte, h header) []byte {
	start := len(dst)
	dst = append(dst, magic...)
	version, flags := byte(formatVersion), byte(0)
	if h.padded {
		version, flags = paddedVersion, flagPadded
	}
	dst = append(dst, version, byte(h.kind), flags, 0)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(h.epoch))
	dst = binary.LittleEndian.AppendUint64(dst, h.segment)
	dst = binary.LittleEndian.AppendUint64(dst, h.seq)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// decodeHeader decodes and checks the header at the start of buf.
func decodeHeader(buf []byte) (header, error) {
	if len(buf) < headerLen {
		return header{}, errTruncated
	}
	if string(buf[:4]) != magic {
		return header{}, fmt.Errorf("bad magic %q", buf[:4])
	}
	if got, want := crc32.Checksum(buf[:32], castagnoli), binary.LittleEndian.Uint32(buf[32:]); got != want {
		return header{}, fmt.Errorf("header checksum mismatch: stored %08x, computed %08x", want, got)
	}
	if buf[4] != formatVersion && buf[4] != paddedVersion {
		return header{}, fmt.Errorf("unknown format version %d", buf[4])
	}
	if (buf[4] == paddedVersion) != (buf[6]&flagPadded != 0) {
		return header{}, fmt.Errorf("format version %d with flags %02x", buf[4], buf[6])
	}
	if buf[6]&^flagPadded != 0 || buf[7] != 0 {
		return header{}, fmt.Errorf("unknown header flags %02x %02x", buf[6], buf[7])
	}
	h := header{
		padded:  buf[6]&flagPadded != 0,
		kind:    segmentKind(buf[5]),
		epoch:   int64(binary.LittleEndian.Uint64(buf[8:])),
		segment: binary.LittleEndian.Uint64(buf[16:]),
		seq:     binary.LittleEndian.Uint64(buf[24:]),
	}
	if h.kind != kindRecords && h.kind != kindFence {
		return header{}, fmt.Errorf("unknown segment kind %d", h.kind)
	}
	if h.kind == kindRecords && h.seq == 0 {
		return header{}, errors.New("records segment with first seq 0")
	}
	return h, nil
}

// fenceSegment returns the content of a fence at segment n of epoch, after
// records up to lastSeq.
func fenceSegment(epoch int64, n, lastSeq uint64) []byte {
	return appendHeader(nil, header{kind: kindFence, epoch: epoch, segment: n, seq: lastSeq})
}

// segment is a parsed segment.
type segment struct {
	header
	records []Record
	// torn is set when the segment ended inside a record (or its header),
	// which parseSegment accepts only for the last segment.
	torn bool
}

// lastSeq is the seq of the last record in the segment, or what comes
// before it when it has none.
func (s *segment) lastSeq() uint64 {
	if n := len(s.records); n > 0 {
		return s.records[n-1].Seq
	}
	return s.before()
}

// parseSegment decodes the segment named name, which must be segment n of
// epoch. With last, a segment that ends inside a record is accepted with
// torn set: its complete records are kept.
func parseSegment(name string, data []byte, epoch int64, n uint64, last bool) (*segment, error) {
	h, err := decodeHeader(data)
	if err == errTruncated && last {
		return &segment{header: header{kind: kindRecords, epoch: epoch, segment: n}, torn: true}, nil
	}
	if err != nil {
		return nil, base.Corruptf(name, "segment header: %v", err)
	}
	if h.epoch != epoch || h.segment != n {
		return nil, base.Corruptf(name, "header names epoch %d segment %d", h.epoch, h.segment)
	}
	s := &segment{header: h}
	rest := data[headerLen:]
	if h.kind == kindFence {
		if len(rest) != 0 {
			return nil, base.Corruptf(name, "%d bytes after a fence header", len(rest))
		}
		return s, nil
	}
	prev := h.seq - 1
	for len(rest) > 0 {
		if h.padded && isZero(rest[:min(len(rest), frameHeaderLen)]) && isZero(rest) {
			break // the room left for appends
		}
		from := rest
		var payload []byte
		payload, rest, err = readFrame(rest)
		if err == errTruncated && last {
			s.torn = true
			break
		}
		var rec Record
		if err == nil {
			rec, err = decodeRecord(payload)
		}
		if err != nil && last && h.padded && tornAppend(from) {
			s.torn = true
			break
		}
		if err != nil {
			return nil, base.Corruptf(name, "record %d: %v", len(s.records), err)
		}
		if rec.Seq <= prev || (len(s.records) == 0 && rec.Seq != h.seq) {
			return nil, base.Corruptf(name, "record %d has seq %d after seq %d", len(s.records), rec.Seq, prev)
		}
		prev = rec.Seq
		s.records = append(s.records, rec)
	}
	if len(s.records) == 0 && !s.torn {
		return nil, base.Corruptf(name, "records segment without records")
	}
	return s, nil
}

// isZero reports whether b holds only zero bytes.
func isZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// tornAppend reports whether rest, the bytes of a padded segment from a
// frame that does not read on, is what an append cut short by a crash
// leaves: some of one batch's bytes (in any order: a crash may persist any
// of the sectors of a write), then the zeros of the room left. A batch is
// at most maxBatchBytes; damage followed by more than that is corruption.
func tornAppend(rest []byte) bool {
	end := len(rest)
	for end > 0 && rest[end-1] == 0 {
		end--
	}
	return end < len(rest) && end <= maxBatchBytes
}

// maxBatchBytes bounds the bytes of one append a torn tail may span:
// twice the default MaxSegmentBytes, for a single larger record.
const maxBatchBytes = 8 << 20

// epochDir is the directory of an epoch's segments, with a trailing slash.
func epochDir(dir string, epoch int64) string {
	return fmt.Sprintf("%s/%020d/", dir, epoch)
}

// segmentName is the name of segment n of epoch.
func segmentName(dir string, epoch int64, n uint64) string {
	return fmt.Sprintf("%s%020d.wal", epochDir(dir, epoch), n)
}

// parseSegmentNumber parses the base of a segment name; ok is false for
// names that are not segments.
func parseSegmentNumber(name string) (uint64, bool) {
	base := path.Base(name)
	digits, found := strings.CutSuffix(base, ".wal")
	if !found || len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil && n > 0
}

// segmentRange lists the segments of epoch and returns the lowest and the
// highest number (0, 0 when there is none). The listing is trusted only
// for its ends: readers read every number in between.
func segmentRange(ctx context.Context, st store.Reader, dir string, epoch int64) (lo, hi uint64, err error) {
	for info, err := range st.List(ctx, epochDir(dir, epoch), "") {
		if err != nil {
			return 0, 0, fmt.Errorf("wal: listing epoch %d of %s: %w", epoch, dir, err)
		}
		n, ok := parseSegmentNumber(info.Name)
		if !ok {
			continue
		}
		if lo == 0 {
			lo = n
		}
		hi = max(hi, n)
	}
	return lo, hi, nil
}

// readSegment reads and parses segment n of epoch.
func readSegment(ctx context.Context, st store.Reader, dir string, epoch int64, n uint64, last bool) (*segment, error) {
	name := segmentName(dir, epoch, n)
	data, err := store.ReadAll(ctx, st, name)
	if err != nil {
		return nil, err
	}
	return parseSegment(name, data, epoch, n, last)
}

// readHeader reads the header of segment n of epoch.
func readHeader(ctx context.Context, st store.Reader, dir string, epoch int64, n uint64) (header, error) {
	name := segmentName(dir, epoch, n)
	obj, err := st.Open(ctx, name)
	if err != nil {
		return header{}, err
	}
	defer obj.Close()
	var buf [headerLen]byte
	if obj.Size() < headerLen {
		return header{}, base.Corruptf(name, "segment of %d bytes, shorter than its header", obj.Size())
	}
	if _, err := obj.ReadAt(buf[:], 0); err != nil {
		return header{}, fmt.Errorf("wal: reading %s: %w", name, err)
	}
	h, err := decodeHeader(buf[:])
	if err != nil {
		return header{}, base.Corruptf(name, "segment header: %v", err)
	}
	if h.epoch != epoch || h.segment != n {
		return header{}, base.Corruptf(name, "header names epoch %d segment %d", h.epoch, h.segment)
	}
	return h, nil
}

// Epochs returns the epochs that have segments in dir, in increasing order.
// Names in dir that are not epoch directories (the LEASE) are ignored.
func Epochs(ctx context.Context, st store.Reader, dir string) ([]int64, error) {
	var epochs []int64
	startAfter := ""
	for {
		found := false
		for info, err := range st.List(ctx, dir+"/", startAfter) {
			if err != nil {
				return nil, fmt.Errorf("wal: listing %s: %w", dir, err)
			}
			rest := strings.TrimPrefix(info.Name, dir+"/")
			digits, _, ok := strings.Cut(rest, "/")
			if !ok || len(digits) != 20 {
				continue
			}
			e, err := strconv.ParseInt(digits, 10, 64)
			if err != nil {
				continue
			}
			epochs = append(epochs, e)
			// Skip the rest of this epoch: its names are digits and
			// ".wal", which all sort before "~".
			startAfter = epochDir(dir, e) + "~"
			found = true
			break
		}
		if !found {
			return epochs, nil
		}
	}
}
