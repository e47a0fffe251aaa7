package txn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"strconv"
	"sync"

	"github.com/google/btree"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
	"github.com/parquet-go/parquet-go"
)

// A checkpoint is a Parquet file of rows (kind, JSON): the full replayed
// state at one entry, so that opening any version reads one checkpoint and
// the entries after it. Its key/value metadata holds the entry, the row
// count and a CRC-32C of the rows, which readers verify.
type checkpointRow struct {
	Kind string `parquet:"kind,dict,zstd"`
	Data string `parquet:"data,zstd"`
}

const (
	ckMetaEntry    = "lakesql.entry"
	ckMetaRows     = "lakesql.rows"
	ckMetaChecksum = "lakesql.crc32c"
	ckMetaFormat   = "lakesql.checkpoint"
	ckFormat       = "1"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func rowsChecksum(rows []checkpointRow) uint32 {
	var c uint32
	for _, r := range rows {
		c = crc32.Update(c, castagnoli, []byte(r.Kind))
		c = crc32.Update(c, castagnoli, []byte{0})
		c = crc32.Update(c, castagnoli, []byte(r.Data))
		c = crc32.Update(c, castagnoli, []byte{'\n'})
	}
	return c
}

func encodeCheckpoint(entry int64, rows []checkpointRow) ([]byte, error) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[checkpointRow](&buf,
		parquet.KeyValueMetadata(ckMetaFormat, ckFormat),
		parquet.KeyValueMetadata(ckMetaEntry, strconv.FormatInt(entry, 10)),
		parquet.KeyValueMetadata(ckMetaRows, strconv.Itoa(len(rows))),
		parquet.KeyValueMetadata(ckMetaChecksum, strconv.FormatUint(uint64(rowsChecksum(rows)), 10)),
	)
	if _, err := w.Write(rows); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeCheckpoint reads and verifies a checkpoint file's rows.
func decodeCheckpoint(name string, data []byte, wantEntry int64) (rows []checkpointRow, err error) {
	defer func() {
		if r := recover(); r != nil {
			rows, err = nil, base.Corruptf(name, "unreadable checkpoint: %v", r)
		}
	}()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, base.Corruptf(name, "unreadable checkpoint: %v", err)
	}
	meta := func(key string) (int64, error) {
		v, ok := f.Lookup(key)
		if !ok {
			return 0, base.Corruptf(name, "checkpoint lacks %s", key)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, base.Corruptf(name, "checkpoint %s: %v", key, err)
		}
		return n, nil
	}
	if v, _ := f.Lookup(ckMetaFormat); v != ckFormat {
		return nil, fmt.Errorf("%w: checkpoint %s has format %q, this lakesql reads %q", ErrProtocol, name, v, ckFormat)
	}
	entry, err := meta(ckMetaEntry)
	if err != nil {
		return nil, err
	}
	if entry != wantEntry {
		return nil, base.Corruptf(name, "checkpoint covers entry %d, its name says %d", entry, wantEntry)
	}
	n, err := meta(ckMetaRows)
	if err != nil {
		return nil, err
	}
	sum, err := meta(ckMetaChecksum)
	if err != nil {
		return nil, err
	}
	if n != f.NumRows() {
		return nil, base.Corruptf(name, "checkpoint holds %d rows, its metadata says %d", f.NumRows(), n)
	}
	r := parquet.NewGenericReader[checkpointRow](f)
	defer r.Close()
	rows = make([]checkpointRow, n)
	got, err := r.Read(rows)
	if err != nil && err != io.EOF {
		return nil, base.Corruptf(name, "reading checkpoint rows: %v", err)
	}
	if int64(got) != n {
		return nil, base.Corruptf(name, "checkpoint gave %d of %d rows", got, n)
	}
	if uint32(sum) != rowsChecksum(rows) {
		return nil, base.Corruptf(name, "checkpoint checksum mismatch")
	}
	return rows, nil
}

// checkpointHeader is the "state" row of a branch checkpoint.
type checkpointHeader struct {
	Protocol       Protocol    `json:"protocol"`
	Entry          int64       `json:"entry"`
	Timestamp      int64       `json:"timestamp"`
	Version        int64       `json:"version"`
	NextGeneration int64       `json:"nextGeneration"`
	NextRowID      int64       `json:"nextRowId"`
	WAL            WALPosition `json:"wal"`
	MaxEpoch       int64       `json:"maxEpoch"`
	Pending        bool        `json:"pending,omitempty"`
}

func appendRow(rows []checkpointRow, kind string, v any) []checkpointRow {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("txn: encoding a checkpoint row: %v", err)) // plain data types only
	}
	return append(rows, checkpointRow{Kind: kind, Data: string(data)})
}

// checkpointRows encodes a branch state. Tombstones of files removed before
// expireBefore (Unix ms) are left out: vacuum may have deleted those files,
// and a file without a tombstone that no version references is vacuumed the
// same way once it is older than the retention.
func (s *State) checkpointRows(expireBefore int64) []checkpointRow {
	rows := appendRow(nil, "state", checkpointHeader{
		Protocol: s.Protocol, Entry: s.Entry, Timestamp: s.Timestamp, Version: s.Version,
		NextGeneration: s.NextGeneration, NextRowID: s.NextRowID, WAL: s.WAL, MaxEpoch: s.MaxEpoch, Pending: s.Pending,
	})
	for _, v := range s.Versions {
		rows = appendRow(rows, "version", v)
	}
	for _, t := range s.Tables() {
		rows = appendRow(rows, "table", t.Meta)
		t.Files(func(a *Add) bool {
			rows = appendRow(rows, "add", a)
			return true
		})
	}
	s.Tombstones(func(r *Remove) bool {
		if r.DeletionTimestamp >= expireBefore {
			rows = appendRow(rows, "remove", r)
		}
		return true
	})
	for _, app := range sortedKeys(s.txns) {
		rows = appendRow(rows, "txn", Txn{AppID: app, Version: s.txns[app]})
	}
	return rows
}

// stateFromCheckpoint decodes a branch state.
func stateFromCheckpoint(name string, rows []checkpointRow) (*State, error) {
	if len(rows) == 0 || rows[0].Kind != "state" {
		return nil, base.Corruptf(name, "checkpoint does not begin with its state")
	}
	var h checkpointHeader
	if err := json.Unmarshal([]byte(rows[0].Data), &h); err != nil {
		return nil, base.Corruptf(name, "checkpoint state: %v", err)
	}
	adds, err := decodeAdds(name, rows)
	if err != nil {
		return nil, err
	}
	s := NewState(h.Protocol)
	s.Entry, s.Timestamp, s.Version = h.Entry, h.Timestamp, h.Version
	s.NextGeneration, s.NextRowID, s.WAL, s.MaxEpoch = h.NextGeneration, h.NextRowID, h.WAL, h.MaxEpoch
	s.Pending = h.Pending
	var cur *TableState
	for i, r := range rows[1:] {
		var err error
		switch r.Kind {
		case "version":
			var v VersionInfo
			if err = json.Unmarshal([]byte(r.Data), &v); err == nil {
				s.Versions = append(s.Versions, v)
			}
		case "table":
			cur = &TableState{files: btree.NewG(32, lessAdd), cloneMu: &sync.Mutex{}}
			if err = json.Unmarshal([]byte(r.Data), &cur.Meta); err == nil {
				s.tables[cur.Meta.ID] = cur
			}
		case "add":
			a := adds[i+1]
			if cur == nil || a.Table != cur.Meta.ID {
				err = fmt.Errorf("file %s outside its table", a.Path)
				break
			}
			cur.files.ReplaceOrInsert(a)
			cur.Rows += a.Rows
			cur.LiveRows += a.LiveRows()
			cur.Bytes += a.Bytes
		case "remove":
			rm := &Remove{}
			if err = json.Unmarshal([]byte(r.Data), rm); err == nil {
				s.tombstones.ReplaceOrInsert(rm)
			}
		case "txn":
			var t Txn
			if err = json.Unmarshal([]byte(r.Data), &t); err == nil {
				s.txns[t.AppID] = t.Version
			}
		default:
			err = fmt.Errorf("unknown row kind %q", r.Kind)
		}
		if err != nil {
			return nil, base.Corruptf(name, "checkpoint row %d: %v", i+2, err)
		}
	}
	return s, nil
}

// decodeAdds decodes the checkpoint's add rows (most of a checkpoint) on
// all cores; the result is indexed like rows.
func decodeAdds(name string, rows []checkpointRow) ([]*Add, error) {
	adds := make([]*Add, len(rows))
	workers := runtime.GOMAXPROCS(0)
	chunk := (len(rows) + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*chunk, min((w+1)*chunk, len(rows))
		if lo >= hi {
			break
		}
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				if rows[i].Kind != "add" {
					continue
				}
				a := &Add{}
				if err := json.Unmarshal([]byte(rows[i].Data), a); err != nil {
					errs[w] = base.Corruptf(name, "checkpoint row %d: %v", i+1, err)
					return
				}
				adds[i] = a
			}
		})
	}
	wg.Wait()
	return adds, errors.Join(errs...)
}

// metaCheckpointHeader is the "meta" row of a _meta checkpoint.
type metaCheckpointHeader struct {
	Protocol  Protocol `json:"protocol"`
	Entry     int64    `json:"entry"`
	Timestamp int64    `json:"timestamp"`
}

func (m *MetaState) checkpointRows() []checkpointRow {
	rows := appendRow(nil, "meta", metaCheckpointHeader{Protocol: m.Protocol, Entry: m.Entry, Timestamp: m.Timestamp})
	for _, id := range sortedKeys(m.byID) {
		rows = appendRow(rows, "branch", m.byID[id])
	}
	for _, t := range m.allTags() {
		rows = appendRow(rows, "tag", t)
	}
	for _, c := range m.Containers() {
		rows = appendRow(rows, "container", c)
	}
	return rows
}

func metaFromCheckpoint(name string, rows []checkpointRow) (*MetaState, error) {
	if len(rows) == 0 || rows[0].Kind != "meta" {
		return nil, base.Corruptf(name, "checkpoint does not begin with its meta state")
	}
	var h metaCheckpointHeader
	if err := json.Unmarshal([]byte(rows[0].Data), &h); err != nil {
		return nil, base.Corruptf(name, "checkpoint meta state: %v", err)
	}
	m := NewMetaState()
	m.Protocol, m.Entry, m.Timestamp = h.Protocol, h.Entry, h.Timestamp
	for i, r := range rows[1:] {
		var err error
		switch r.Kind {
		case "branch":
			b := &Branch{}
			if err = json.Unmarshal([]byte(r.Data), b); err == nil {
				m.byID[b.ID] = b
				if !b.Deleted {
					m.branches[b.Name] = b
				}
			}
		case "tag":
			t := &Tag{}
			if err = json.Unmarshal([]byte(r.Data), t); err == nil {
				m.tags[t.Name] = t
			}
		case "container":
			c := &Container{}
			if err = json.Unmarshal([]byte(r.Data), c); err == nil {
				m.containers[c.Name] = c
			}
		default:
			err = fmt.Errorf("unknown row kind %q", r.Kind)
		}
		if err != nil {
			return nil, base.Corruptf(name, "checkpoint row %d: %v", i+2, err)
		}
	}
	return m, nil
}

// checkpointHint is the content of _last_checkpoint.
type checkpointHint struct {
	Entry int64 `json:"entry"`
}

// writeCheckpoint writes the checkpoint of entry n (if nobody has) and
// then the hint. The entry must exist already.
func (l logDir) writeCheckpoint(ctx context.Context, n int64, rows []checkpointRow) error {
	data, err := encodeCheckpoint(n, rows)
	if err != nil {
		return fmt.Errorf("txn: encoding checkpoint %s: %w", l.checkpointName(n), err)
	}
	if _, err := store.PutBytes(ctx, l.st, l.checkpointName(n), data, store.IfAbsent()); err != nil &&
		!errors.Is(err, store.ErrPreconditionFailed) {
		return err
	}
	hint, _ := json.Marshal(checkpointHint{Entry: n})
	_, err = store.PutBytes(ctx, l.st, l.hintName(), hint)
	return err
}

// readCheckpoint reads and verifies the checkpoint of entry n.
func (l logDir) readCheckpoint(ctx context.Context, n int64) ([]checkpointRow, error) {
	name := l.checkpointName(n)
	data, err := store.ReadAll(ctx, l.st, name)
	if err != nil {
		return nil, err
	}
	return decodeCheckpoint(name, data, n)
}

// newestCheckpoint finds the newest checkpoint at or below entry limit (a
// negative limit: the newest of all). With a limit it lists the
// checkpoints; without one it trusts the hint when its checkpoint exists
// and falls back to listing otherwise. It returns 0 when there is none.
func (l logDir) newestCheckpoint(ctx context.Context, limit int64) (int64, error) {
	if limit < 0 {
		data, err := store.ReadAll(ctx, l.st, l.hintName())
		var h checkpointHint
		if err == nil && json.Unmarshal(data, &h) == nil && h.Entry > 0 {
			if _, err := l.st.Stat(ctx, l.checkpointName(h.Entry)); err == nil {
				return h.Entry, nil
			}
		} else if err != nil && !errors.Is(err, store.ErrNotExist) {
			return 0, err
		}
	}
	var best int64
	for info, err := range l.st.List(ctx, l.dir+"/"+checkpointsDir+"/", "") {
		if err != nil {
			return 0, err
		}
		n, ok := parseNumbered(info.Name, l.dir+"/"+checkpointsDir, ".parquet")
		if ok && (limit < 0 || n <= limit) && n > best {
			best = n
		}
	}
	return best, nil
}
