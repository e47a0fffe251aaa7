package memtable

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/btree"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/scan"
)

// indexEntryBytes is the approximate memory of one index entry beyond its
// index key's bytes: the entry (two string headers) in its B-tree node and
// the node's share of overhead. The primary key's bytes are the chain's.
const indexEntryBytes = 40

// IndexKeyEncoder returns the encoder of ix's index keys: the values of
// ix's columns, in index order, encoded as index files order them
// (parquetio.IndexKeyEncoder: NULL first, a marker byte before each
// value). The encoding of a tuple's first n values is a prefix of the
// tuple's encoding, so the bounds of a lookup by equality on the first n
// columns are the encoding of those n values.
func IndexKeyEncoder(schema *base.Schema, ix base.Index) (*parquetio.IndexKeyEncoder, error) {
	if len(ix.Columns) == 0 {
		return nil, fmt.Errorf("memtable: index %q has no columns", ix.Name)
	}
	enc, err := parquetio.NewIndexKeyEncoder(schema, ix.Columns)
	if err != nil {
		return nil, fmt.Errorf("memtable: index %q: %w", ix.Name, err)
	}
	return enc, nil
}

// indexEntry is one (index key, primary key) pair of a secondary index.
type indexEntry struct {
	ikey parquetio.Key
	key  parquetio.Key
}

func lessEntry(a, b indexEntry) bool {
	if a.ikey != b.ikey {
		return a.ikey < b.ikey
	}
	return a.key < b.key
}

// secIndex is one secondary index of a table: a B-tree of the (index key,
// primary key) of every row version applied while it existed (or held when
// it was built). Entries are never removed: an entry whose key has since
// changed its value or been deleted is stale, and lookups skip it by
// checking the key's version at their snapshot. tree and bytes are guarded
// by MemTable.mu; the other fields are immutable.
type secIndex struct {
	def   base.Index
	pos   []int // positions of def.Columns in the table's rows
	enc   *parquetio.IndexKeyEncoder
	tree  *btree.BTreeG[indexEntry]
	bytes int64 // memory of the entries, counted in MemTable.bytes
}

// indexSet is a table's secondary indexes. It is replaced, never modified,
// by SetIndexes, so apply can tell whether the set changed while it
// encoded index keys outside the lock.
type indexSet struct {
	list []*secIndex
}

func (s *indexSet) get(name string) *secIndex {
	if s == nil {
		return nil
	}
	for _, ix := range s.list {
		if ix.def.Name == name {
			return ix
		}
	}
	return nil
}

// newIndexes validates indexes against table t's schema and returns their
// (empty) structures.
func (m *MemTable) newIndexes(t *table, indexes []base.Index) ([]*secIndex, error) {
	out := make([]*secIndex, 0, len(indexes))
	for _, def := range indexes {
		if def.Name == "" {
			return nil, fmt.Errorf("memtable: table %q: index without a name", t.id)
		}
		if slices.ContainsFunc(out, func(ix *secIndex) bool { return ix.def.Name == def.Name }) {
			return nil, fmt.Errorf("memtable: table %q: index %q defined twice", t.id, def.Name)
		}
		enc, err := IndexKeyEncoder(t.schema, def)
		if err != nil {
			return nil, fmt.Errorf("table %q: %w", t.id, err)
		}
		pos := make([]int, len(def.Columns))
		for i, id := range def.Columns {
			pos[i] = t.index[id] // present: the encoder found the column
		}
		def.Columns = slices.Clone(def.Columns)
		out = append(out, &secIndex{def: def, pos: pos, enc: enc,
			tree: btree.NewG(m.opts.Degree, lessEntry)})
	}
	return out, nil
}

// indexKey returns the index key of row (normalized, every column); ok
// is always true (NULLs are encoded too). vals is scratch space.
func (ix *secIndex) indexKey(row []any, vals *[]any) (k parquetio.Key, ok bool, err error) {
	v := (*vals)[:0]
	for _, j := range ix.pos {
		v = append(v, row[j])
	}
	*vals = v
	k, err = ix.enc.Encode(v...)
	if err != nil {
		return "", false, fmt.Errorf("memtable: index %q: %w", ix.def.Name, err)
	}
	return k, true, nil
}

// insert adds the entry (ikey, key) and returns the memory it added (0 if
// it was there). The caller holds MemTable.mu for writing.
func (ix *secIndex) insert(ikey, key parquetio.Key) int64 {
	if _, replaced := ix.tree.ReplaceOrInsert(indexEntry{ikey: ikey, key: key}); replaced {
		return 0
	}
	n := indexEntryBytes + int64(len(ikey))
	ix.bytes += n
	return n
}

// indexKeys returns, for each of rows (nil: a delete marker) and each index
// of set, the row's index key.
func indexKeys(set *indexSet, rows [][]any) ([][]parquetio.Key, error) {
	if set == nil || len(set.list) == 0 {
		return nil, nil
	}
	out := make([][]parquetio.Key, len(rows))
	var vals []any
	for i, row := range rows {
		if row == nil {
			continue
		}
		keys := make([]parquetio.Key, len(set.list))
		for j, ix := range set.list {
			k, ok, err := ix.indexKey(row, &vals)
			if err != nil {
				return nil, err
			}
			if ok {
				keys[j] = k
			}
		}
		out[i] = keys
	}
	return out, nil
}

// SetIndexes replaces the secondary indexes of table tableID (CREATE or
// DROP INDEX while the MemTable is live): an index whose columns equal
// those of a current one keeps its entries (a rename, or another index
// dropped), the others are built from every version of every key held,
// and removed ones are dropped with their memory. It holds the write lock
// while it builds. It works on a frozen MemTable; on error the indexes are
// unchanged.
func (m *MemTable) SetIndexes(tableID string, indexes ...base.Index) error {
	t := m.table(tableID)
	if t == nil {
		return fmt.Errorf("%w: %q", ErrUnknownTable, tableID)
	}
	list, err := m.newIndexes(t, indexes)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed() {
		return ErrClosed
	}
	var old []*secIndex
	if cur := t.ixs.Load(); cur != nil {
		old = slices.Clone(cur.list)
	}
	var delta int64
	var build []*secIndex
	for i, ix := range list {
		j := slices.IndexFunc(old, func(o *secIndex) bool { return o != nil && slices.Equal(o.def.Columns, ix.def.Columns) })
		if j < 0 {
			build = append(build, ix)
			continue
		}
		// The same entries: keep the tree under the new definition.
		list[i] = &secIndex{def: ix.def, pos: ix.pos, enc: ix.enc, tree: old[j].tree, bytes: old[j].bytes}
		old[j] = nil
	}
	if len(build) > 0 {
		var vals []any
		var err error
		t.tree.Ascend(func(it item) bool {
			for _, v := range it.c.versions {
				if v.deleted {
					continue
				}
				for _, ix := range build {
					k, ok, kerr := ix.indexKey(v.row, &vals)
					if kerr != nil {
						err = kerr
						return false
					}
					if ok {
						delta += ix.insert(k, it.key)
					}
				}
			}
			return true
		})
		if err != nil {
			return fmt.Errorf("table %q: %w", tableID, err)
		}
	}
	for _, o := range old {
		if o != nil {
			delta -= o.bytes
		}
	}
	t.ixs.Store(&indexSet{list: list})
	m.bytes.Add(delta)
	return nil
}

// Indexes returns the secondary indexes that table tableID keeps, in the
// order they were set, or nil for a table the MemTable does not hold.
func (m *MemTable) Indexes(tableID string) []base.Index {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t := m.mu.tables[tableID]
	if t == nil {
		return nil
	}
	set := t.ixs.Load()
	if set == nil {
		return nil
	}
	out := make([]base.Index, len(set.list))
	for i, ix := range set.list {
		out[i] = ix.def
		out[i].Columns = slices.Clone(ix.def.Columns)
	}
	return out
}

// IndexLookup yields, as records of columns (ids; nil for all, as
// Records), the rows visible in the view whose index key (the values of
// index's columns, encoded by IndexKeyEncoder) lies in [lo, hi]: lo
// inclusive (empty: unbounded), hi inclusive and matched as a prefix too (a
// key that begins with hi is inside; empty: unbounded), so that equality on
// the first n columns of a multi-column index is lo = hi = the encoding of
// those n values. NULL is encoded (it sorts first, see IndexKeyEncoder), so
// IS NULL is a lookup too.
//
// Each candidate key from the index is confirmed against its newest
// version at the view's seq: delete markers, and versions whose index key
// is not the entry's (a stale entry of an older value), are skipped, so
// each key is yielded at most once, in index order and then key order, in
// records of up to Options.BatchSize rows. Like Records, each batch is
// gathered under the read lock and built outside it, and the iterator
// retains the view until Close. An index the table does not have is an
// ErrUnknownIndex; a table the MemTable does not hold is an empty source.
func (tv *TableView) IndexLookup(ctx context.Context, index string, lo, hi parquetio.Key, columns []int, alloc memory.Allocator) (scan.RecordIterator, error) {
	it := &indexIter{batches: batches{ctx: ctx, tv: tv, alloc: alloc}, lo: lo, hi: hi}
	if tv.t == nil {
		it.done = true
		return it, nil
	}
	schema, idx, err := tv.t.project(columns)
	if err != nil {
		return nil, err
	}
	ix := tv.t.ixs.Load().get(index)
	if ix == nil {
		return nil, fmt.Errorf("%w: %q on table %q", ErrUnknownIndex, index, tv.t.id)
	}
	if it.alloc == nil {
		it.alloc = memory.DefaultAllocator
	}
	it.ix, it.schema, it.idx = ix, schema, idx
	tv.v.Retain()
	it.retained = true
	return it, nil
}

// indexIter is the scan.RecordIterator of IndexLookup. It keeps the index
// it resolved when created: if SetIndexes replaces it, the old tree holds
// every entry a view that was open then can see.
type indexIter struct {
	batches
	ix      *secIndex
	lo, hi  parquetio.Key
	after   indexEntry // the last entry visited, once started
	started bool
	vals    []any // scratch for index keys
}

func (it *indexIter) Next() bool {
	if !it.begin() {
		return false
	}
	t := it.tv.t
	batch := it.tv.v.m.opts.BatchSize
	seq := it.tv.v.seq
	rows := it.rows[:0]
	complete := true
	visit := func(e indexEntry) bool {
		if it.started && e == it.after {
			return true
		}
		if it.hi != "" && e.ikey > it.hi && !strings.HasPrefix(string(e.ikey), string(it.hi)) {
			return false // past hi and its prefixes: done
		}
		it.after, it.started = e, true
		c := t.get(e.key)
		if c == nil {
			return true
		}
		v := c.at(seq)
		if v == nil || v.deleted {
			return true
		}
		k, ok, err := it.ix.indexKey(v.row, &it.vals)
		if err != nil {
			it.err = err
			return false
		}
		if !ok || k != e.ikey {
			return true // stale: the key's value at seq is another one
		}
		rows = append(rows, v.row)
		if len(rows) == batch {
			complete = false
			return false
		}
		return true
	}
	m := it.tv.v.m
	m.mu.RLock()
	from := indexEntry{ikey: it.lo}
	if it.started {
		from = it.after
	}
	it.ix.tree.AscendGreaterOrEqual(from, visit)
	m.mu.RUnlock()
	it.done = complete
	if it.err != nil || len(rows) == 0 {
		clear(rows)
		return false
	}
	it.rec = buildRecord(it.alloc, it.schema, it.idx, rows)
	clear(rows)
	it.rows = rows
	return true
}
