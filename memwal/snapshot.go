package memwal

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/memwal/memtable"
	"github.com/lakesql/lakesql/scan"
	"github.com/lakesql/lakesql/txn"
)

// Snapshot is a consistent read view of the branch: a log state and the
// MemTables at the published sequence number, taken together under the
// write lock. It pins its MemTables until Close.
type Snapshot struct {
	b     *Branch
	Log   *txn.Snapshot
	Seq   uint64
	views []*memtable.View // newest first
	once  sync.Once
	taken time.Time

	// files caches each table's live files at Log (a snapshot reads few
	// tables: a list, not a map).
	mu    sync.Mutex
	files []tableFiles
}

// Snapshot returns a view of everything acknowledged so far.
func (b *Branch) Snapshot() (*Snapshot, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mu.err; err != nil {
		return nil, err
	}
	return b.snapshotLocked(b.mu.published)
}

func (b *Branch) snapshotLocked(seq uint64) (*Snapshot, error) {
	s := &Snapshot{b: b, Log: b.mu.head, Seq: seq, taken: time.Now()}
	mems := append([]*memtable.MemTable{b.mu.live}, reversed(b.mu.frozen)...)
	for _, m := range mems {
		v, err := m.Snapshot(seq)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.views = append(s.views, v)
	}
	return s, nil
}

func reversed[T any](s []T) []T {
	out := make([]T, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// Close releases the snapshot's MemTables.
func (s *Snapshot) Close() {
	s.once.Do(func() {
		for _, v := range s.views {
			v.Release()
		}
	})
}

// Table is the snapshot's view of a table for the scan package: its files
// and one source combining the MemTables.
func (s *Snapshot) Table(tableID string) (*scan.Table, error) {
	t, err := s.fileTable(tableID)
	if err != nil {
		return nil, err
	}
	tvs := make([]*memtable.TableView, len(s.views))
	for i, v := range s.views {
		tvs[i] = v.Table(tableID)
	}
	t.Sources = []scan.Source{&mergedSource{views: tvs}}
	return t, nil
}

// fileTable is Table without the MemTables: the table's files alone.
func (s *Snapshot) fileTable(tableID string) (*scan.Table, error) {
	if age := time.Since(s.taken); age > s.b.opts.SnapshotTTL {
		return nil, fmt.Errorf("%w: taken %s ago (the limit is %s)", ErrSnapshotTooOld, age.Round(time.Second), s.b.opts.SnapshotTTL)
	}
	ts := s.Log.State.Table(tableID)
	if ts == nil {
		return nil, fmt.Errorf("memwal: table %s does not exist at entry %d", tableID, s.Log.Entry())
	}
	return &scan.Table{Schema: &ts.Meta.Schema, Files: s.tableFiles(ts)}, nil
}

// tableFiles returns a table's live files at the snapshot's log state,
// listing them once.
func (s *Snapshot) tableFiles(ts *txn.TableState) []*txn.Add {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := ts.Meta.ID
	for _, tf := range s.files {
		if tf.id == id {
			return tf.files
		}
	}
	files := make([]*txn.Add, 0, ts.FileCount())
	ts.Files(func(a *txn.Add) bool {
		files = append(files, a)
		return true
	})
	s.files = append(s.files, tableFiles{id, files})
	return files
}

// tableFiles are a table's live files at a snapshot.
type tableFiles struct {
	id    string
	files []*txn.Add
}

// Lookup returns key's live row at the snapshot (all columns, as the
// MemTable's normalized Go values; the caller must not modify it).
func (s *Snapshot) Lookup(ctx context.Context, tableID string, key parquetio.Key) ([]any, bool, error) {
	row, found, _, err := s.lookup(ctx, tableID, key)
	return row, found, err
}

// lookup is Lookup that also says where the key's row is in the files at
// the snapshot's log state, when the MemTables do not hold the key: loc is
// nil then for a key no file holds. inMem says the MemTables answered.
func (s *Snapshot) lookup(ctx context.Context, tableID string, key parquetio.Key) (row []any, found bool, fileLoc *fileLocation, err error) {
	t, err := s.fileTable(tableID)
	if err != nil {
		return nil, false, nil, err
	}
	// The MemTables first, newest first, without building records: a
	// key they hold is not live in the files.
	for _, v := range s.views {
		if row, deleted, found := v.Table(tableID).GetRow(key); found {
			return row, !deleted, nil, nil
		}
	}
	row, loc, found, err := s.b.reader.LookupRow(ctx, t, key, nil)
	if err != nil {
		return nil, false, nil, err
	}
	if !found {
		return nil, false, &fileLocation{}, nil
	}
	return row, true, &fileLocation{loc: &memtable.Location{Path: loc.Path, Position: loc.Position}}, nil
}

// fileLocation is where a key's row is in the files of a log state (loc
// nil: in none).
type fileLocation struct {
	loc *memtable.Location
}

// Scan scans a table at the snapshot.
func (s *Snapshot) Scan(ctx context.Context, tableID string, req scan.Request) (*scan.Iterator, error) {
	t, err := s.Table(tableID)
	if err != nil {
		return nil, err
	}
	if req.Alloc == nil {
		req.Alloc = s.b.opts.Alloc
	}
	return s.b.reader.Scan(ctx, t, req, nil)
}

// Count is the exact number of rows of a table at the snapshot.
func (s *Snapshot) Count(ctx context.Context, tableID string) (int64, error) {
	t, err := s.Table(tableID)
	if err != nil {
		return 0, err
	}
	return s.b.reader.Count(ctx, t)
}

// mergedSource presents MemTables (newest first) as one scan.Source: a key
// is taken from the newest MemTable that holds it; the older ones' rows of
// it are shadowed.
type mergedSource struct {
	views []*memtable.TableView
}

var _ scan.IndexSource = (*mergedSource)(nil)

func (m *mergedSource) Mask(path string) *roaring.Bitmap {
	var out *roaring.Bitmap
	copied := false
	for _, v := range m.views {
		b := v.Mask(path)
		if b == nil || b.IsEmpty() {
			continue
		}
		if out == nil {
			out = b
			continue
		}
		if !copied {
			out, copied = out.Clone(), true
		}
		out.Or(b)
	}
	return out
}

func (m *mergedSource) shadowed(i int) func(parquetio.Key) bool {
	if i == 0 {
		return nil
	}
	return func(k parquetio.Key) bool {
		for _, v := range m.views[:i] {
			if v.Has(k) {
				return true
			}
		}
		return false
	}
}

func (m *mergedSource) Records(ctx context.Context, columns []int, alloc memory.Allocator) (scan.RecordIterator, error) {
	it := &chainIter{}
	for i, v := range m.views {
		ri, err := v.RecordsExcept(ctx, columns, alloc, m.shadowed(i))
		if err != nil {
			it.Close()
			return nil, err
		}
		it.its = append(it.its, ri)
	}
	return it, nil
}

// IndexLookup implements scan.IndexSource through the MemTable's B-tree
// index. While a flush holds a frozen MemTable too (newer keys shadow
// older ones), it answers with every row instead; the scan's predicate
// keeps the right ones.
func (m *mergedSource) IndexLookup(ctx context.Context, index string, lo, hi parquetio.Key, columns []int, alloc memory.Allocator) (scan.RecordIterator, error) {
	if len(m.views) != 1 {
		return m.Records(ctx, columns, alloc)
	}
	return m.views[0].IndexLookup(ctx, index, lo, hi, columns, alloc)
}

func (m *mergedSource) Get(ctx context.Context, key parquetio.Key, columns []int, alloc memory.Allocator) (arrow.Record, bool, bool, error) {
	for _, v := range m.views {
		rec, deleted, found, err := v.Get(ctx, key, columns, alloc)
		if err != nil || found {
			return rec, deleted, found, err
		}
	}
	return nil, false, false, nil
}

func (m *mergedSource) LiveRows() int64 {
	if len(m.views) == 1 {
		return m.views[0].LiveRows()
	}
	// Count what Records yields: older MemTables' shadowed keys excluded.
	var n int64
	it, err := m.Records(context.Background(), []int{}, memory.DefaultAllocator)
	if err != nil {
		return 0
	}
	defer it.Close()
	for it.Next() {
		n += it.Record().NumRows()
	}
	return n
}

// chainIter concatenates record iterators.
type chainIter struct {
	its []scan.RecordIterator
	i   int
	err error
}

func (c *chainIter) Next() bool {
	for c.i < len(c.its) {
		if c.its[c.i].Next() {
			return true
		}
		if err := c.its[c.i].Err(); err != nil {
			c.err = err
			return false
		}
		c.i++
	}
	return false
}

func (c *chainIter) Record() arrow.Record { return c.its[c.i].Record() }
func (c *chainIter) Err() error           { return c.err }
func (c *chainIter) Close() {
	for _, it := range c.its {
		it.Close()
	}
	c.its = nil
}

// Reader is the reader the snapshot's scans and lookups use.
func (s *Snapshot) Reader() *scan.Reader { return s.b.reader }

// MemTableInfo describes one table's rows in one of the writer's
// MemTables.
type MemTableInfo struct {
	Table  string
	Frozen bool
	// Rows is the number of live rows (keys whose newest version is not a
	// delete); Bytes the MemTable's memory apportioned to the table by
	// its share of the rows.
	Rows, Bytes int64
	// LastSeq is the sequence number of the newest WAL record applied.
	LastSeq uint64
}

// MemTables describes the writer's live and frozen MemTables, newest
// first, at everything acknowledged so far.
func (b *Branch) MemTables() ([]MemTableInfo, error) {
	b.mu.Lock()
	if err := b.mu.err; err != nil {
		b.mu.Unlock()
		return nil, err
	}
	s, err := b.snapshotLocked(b.mu.published)
	// The snapshot's views are of these MemTables, in this order.
	mems := append([]*memtable.MemTable{b.mu.live}, reversed(b.mu.frozen)...)
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var out []MemTableInfo
	for i, v := range s.views {
		if i >= len(mems) {
			break
		}
		m := mems[i]
		var infos []MemTableInfo
		var total int64
		for _, id := range m.Tables() {
			n := v.Table(id).LiveRows()
			total += n
			infos = append(infos, MemTableInfo{Table: id, Frozen: m.Frozen(), Rows: n, LastSeq: m.LastSeq()})
		}
		for j := range infos {
			if total > 0 {
				infos[j].Bytes = m.Bytes() * infos[j].Rows / total
			}
		}
		out = append(out, infos...)
	}
	return out, nil
}
