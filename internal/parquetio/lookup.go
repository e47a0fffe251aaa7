package parquetio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
)

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// KeyIndex loads (once; later calls return the same index) the key columns
// of the file as a KeyIndex. The file must have key columns and its rows
// must be sorted by key, as lakesql writes them.
func (f *File) KeyIndex(ctx context.Context) (*KeyIndex, error) {
	if k := f.keyIdx.Load(); k != nil {
		return k, nil
	}
	f.keyMu.Lock()
	defer f.keyMu.Unlock()
	if k := f.keyIdx.Load(); k != nil {
		return k, nil
	}
	if len(f.keyIDs) == 0 {
		return nil, fmt.Errorf("parquetio: %s has no key columns", f.name)
	}
	p, err := f.fileReadPlan(ReadOptions{Columns: f.keyIDs, Alloc: memory.DefaultAllocator, BatchSize: math.MaxInt32})
	if err != nil {
		return nil, err
	}
	rr := p.start(ctx, p.allGroups())
	defer rr.Close()
	k := &KeyIndex{offs: make([]uint32, 1, f.NumRows()+1)}
	var words []uint64 // one BIGINT key column: the keys as words at once
	if len(p.out) == 1 && p.out[0].class() == clsInt && p.schema.Field(0).Type.ID() == arrow.INT64 {
		words = make([]uint64, 0, f.NumRows())
	}
	for rr.Next() {
		rec := rr.Record()
		if words != nil {
			a, ok := rec.Column(0).(*array.Int64)
			if !ok || a.NullN() > 0 {
				return nil, fmt.Errorf("parquetio: the key column of %s is not a BIGINT without NULLs", f.name)
			}
			for _, v := range a.Int64Values() {
				words = append(words, uint64(v)^(1<<63)) // appendKey's encoding
			}
			continue
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			for j := range p.out {
				k.data = appendKey(k.data, &p.out[j], scalarAt(&p.out[j], rec.Column(j), i))
			}
			if len(k.data) > math.MaxUint32 {
				return nil, fmt.Errorf("parquetio: key index of %s is too large", f.name)
			}
			k.offs = append(k.offs, uint32(len(k.data)))
		}
	}
	if err := rr.Err(); err != nil {
		return nil, err
	}
	if words != nil {
		k = newWordIndex(words)
	} else {
		k.compact()
	}
	f.keyIdx.Store(k)
	return k, nil
}

// FindKey returns the file position of the row with key. A key outside
// the file's key range is ruled out at once; with the key index loaded
// the answer is its binary search; otherwise the key columns' bloom
// filters are consulted first (MayContain), and the key index is loaded
// (KeyIndex) only when they may hold the key.
func (f *File) FindKey(ctx context.Context, key Key) (int64, bool, error) {
	if len(f.keyIDs) == 0 || f.keyLo == "" || key < f.keyLo || key > f.keyHi {
		return 0, false, nil
	}
	if pos, ok, isRowID := f.findRowID(key); isRowID {
		return pos, ok, nil
	}
	k := f.keyIdx.Load()
	if k == nil {
		may, err := f.MayContain(ctx, key)
		if err != nil || !may {
			return 0, false, err
		}
		if k, err = f.KeyIndex(ctx); err != nil {
			return 0, false, err
		}
	}
	pos, ok := k.Lookup(key)
	return pos, ok, nil
}

// FindKeys is FindKey of each of keys, best in ascending order:
// pos[i] and found[i] get key i's answer. Once the key index is loaded,
// the keys are looked up in batches whose memory accesses overlap
// (KeyIndex.LookupSorted).
func (f *File) FindKeys(ctx context.Context, keys []Key, pos []int64, found []bool) error {
	rowIDs := len(f.keyIDs) == 1 && f.isRowID(f.keyIDs[0])
	for i, key := range keys {
		if k := f.keyIdx.Load(); k != nil && !rowIDs && f.keyLo != "" {
			k.LookupSorted(keys[i:], pos[i:], found[i:])
			return nil
		}
		p, ok, err := f.FindKey(ctx, key)
		if err != nil {
			return err
		}
		pos[i], found[i] = p, ok
	}
	return nil
}

// fileReadPlan plans a read through the file's own schema.
func (f *File) fileReadPlan(opts ReadOptions) (*readPlan, error) {
	return f.planFor(f.schema, opts)
}

func (p *readPlan) allGroups() []func(context.Context) ([]arrow.Record, error) {
	var tasks []func(context.Context) ([]arrow.Record, error)
	for g, info := range p.f.RowGroups() {
		tasks = append(tasks, func(ctx context.Context) ([]arrow.Record, error) {
			return p.readRowGroup(ctx, g, info.FirstRow, []rng{{0, info.NumRows}})
		})
	}
	return tasks
}

// MayContain reports whether the file may hold key: false when key lies
// outside the file's key range or, in every row group, outside the first
// key column's statistics or ruled out by a key column's bloom filter.
// Bloom filters are read on first use and kept.
func (f *File) MayContain(ctx context.Context, key Key) (bool, error) {
	if len(f.keyIDs) == 0 || f.keyLo == "" {
		return false, nil
	}
	if key < f.keyLo || key > f.keyHi {
		return false, nil
	}
	// The key's values, decoded without allocating for a short key.
	var buf [4]scalar
	vals := buf[:0]
	rest := []byte(key)
	for _, id := range f.keyIDs {
		v, r, err := decodeKeyValue(f.fileColumn(id), rest)
		if err != nil {
			return false, err
		}
		vals, rest = append(vals, v), r
	}
	if len(rest) != 0 {
		return false, errMalformedKey
	}
	first := f.fileColumn(f.keyIDs[0])
	for g, rg := range f.pf.RowGroups() {
		if !f.inRowGroup(g, first, vals[0]) {
			continue
		}
		all := true
		for i, id := range f.keyIDs {
			ok, err := f.bloomCheck(rg, g, f.fileColumn(id), vals[i])
			if err != nil {
				return false, err
			}
			if !ok {
				all = false
				break
			}
		}
		if all {
			return true, nil
		}
	}
	return false, nil
}

// inRowGroup reports whether v, a value of column c, lies between c's
// minimum and maximum in row group g (true without those statistics): a
// key-sorted file's row groups hold disjoint key ranges, so that one bloom
// filter is checked per key, not one per row group.
func (f *File) inRowGroup(g int, c *column, v scalar) bool {
	leaf, ok := f.leaf[c.col.ID]
	if !ok {
		return true
	}
	st := &f.pf.Metadata().RowGroups[g].Columns[leaf].MetaData.Statistics
	if st.MinValue == nil || st.MaxValue == nil {
		return true
	}
	mn, ok1 := decodeStat(c, st.MinValue, false)
	mx, ok2 := decodeStat(c, st.MaxValue, true)
	if !ok1 || !ok2 {
		return true
	}
	cls := c.class()
	return cmpScalar(cls, v, mn) >= 0 && cmpScalar(cls, v, mx) <= 0
}

// MayContainValue reports whether column id of the file may hold v (Go
// values as Predicate constants take them): false only when every row
// group's bloom filter of the column rules it out, or its statistics do.
// A column without bloom filters may hold anything.
func (f *File) MayContainValue(ctx context.Context, id int, v any) (bool, error) {
	c := f.fileColumn(id)
	if c == nil {
		return true, nil
	}
	sv, err := toScalar(c, v)
	if err != nil || sv.null {
		return true, nil
	}
	for g, rg := range f.pf.RowGroups() {
		ok, err := f.bloomCheck(rg, g, c, sv)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// bloomSlot holds a column chunk's bloom filter once read (nil: none).
type bloomSlot struct{ bf *parquet.FileBloomFilter }

// bloom returns the bloom filter of the chunk of leaf in row group g, nil
// when it has none, reading it (one ranged read) on first use.
func (f *File) bloom(rg parquet.RowGroup, g, leaf int) (*parquet.FileBloomFilter, error) {
	slot := &f.blooms[g*f.nleaf+leaf]
	if s := slot.Load(); s != nil {
		return s.bf, nil
	}
	meta := &f.pf.Metadata().RowGroups[g].Columns[leaf].MetaData
	if meta.BloomFilterOffset == 0 {
		slot.Store(&bloomSlot{})
		return nil, nil
	}
	length := int64(meta.BloomFilterLength)
	if length <= 0 {
		length = 1 << 20
	}
	length = min(length, f.obj.Size()-meta.BloomFilterOffset)
	ranges, err := fetch(context.Background(), f.obj, [][2]int64{{meta.BloomFilterOffset, meta.BloomFilterOffset + length}}, nil)
	if err != nil {
		return nil, err
	}
	fc := rg.ColumnChunks()[leaf].(*parquet.FileColumnChunk)
	bf, err := fc.BloomFilterFrom(&rangeReaderAt{obj: f.obj, ranges: ranges})
	if err != nil {
		bf = nil // unreadable: no filter, every key may be present
	}
	slot.Store(&bloomSlot{bf: bf})
	return bf, nil
}

func (f *File) bloomCheck(rg parquet.RowGroup, g int, c *column, v scalar) (bool, error) {
	leaf, ok := f.leaf[c.col.ID]
	if !ok { // the synthesized row id: every value of the key range
		return true, nil
	}
	bf, err := f.bloom(rg, g, leaf)
	if err != nil || bf == nil {
		return bf == nil, err
	}
	var pv parquet.Value
	switch c.phys {
	case physInt32:
		switch c.class() {
		case clsUint:
			pv = parquet.Int32Value(int32(v.u))
		case clsDec:
			pv = parquet.Int32Value(int32(v.d.LowBits()))
		default:
			pv = parquet.Int32Value(int32(v.i))
		}
	case physInt64:
		switch c.class() {
		case clsUint:
			pv = parquet.Int64Value(int64(v.u))
		case clsDec:
			pv = parquet.Int64Value(int64(v.d.LowBits()))
		default:
			pv = parquet.Int64Value(v.i)
		}
	case physFloat:
		pv = parquet.FloatValue(float32(v.f))
	case physDouble:
		pv = parquet.DoubleValue(v.f)
	case physBytes:
		pv = parquet.ByteArrayValue([]byte(v.s))
	case physBool:
		pv = parquet.BooleanValue(v.i != 0)
	default:
		return true, nil
	}
	return bf.Check(pv)
}

// decodeKey is the inverse of appendKey.
func decodeKey(cols []column, key Key) ([]scalar, error) {
	out := make([]scalar, len(cols))
	b := []byte(key)
	for i := range cols {
		var err error
		if out[i], b, err = decodeKeyValue(&cols[i], b); err != nil {
			return nil, err
		}
	}
	if len(b) != 0 {
		return nil, errMalformedKey
	}
	return out, nil
}

var errMalformedKey = errors.New("parquetio: malformed key")

// decodeKeyValue decodes the value of column c that an encoded key (or
// what follows its earlier values) starts with, and returns the rest.
func decodeKeyValue(c *column, b []byte) (scalar, []byte, error) {
	need := func(n int) error {
		if len(b) < n {
			return errMalformedKey
		}
		return nil
	}
	switch c.class() {
	case clsInt:
		if c.phys == physBool {
			if err := need(1); err != nil {
				return scalar{}, nil, err
			}
			return scalar{i: int64(b[0])}, b[1:], nil
		}
		if err := need(8); err != nil {
			return scalar{}, nil, err
		}
		return scalar{i: int64(binary.BigEndian.Uint64(b) ^ (1 << 63))}, b[8:], nil
	case clsUint:
		if err := need(8); err != nil {
			return scalar{}, nil, err
		}
		return scalar{u: binary.BigEndian.Uint64(b)}, b[8:], nil
	case clsFloat:
		if err := need(8); err != nil {
			return scalar{}, nil, err
		}
		x := binary.BigEndian.Uint64(b)
		switch {
		case x == math.MaxUint64:
			return scalar{f: math.NaN()}, b[8:], nil
		case x&(1<<63) != 0:
			return scalar{f: math.Float64frombits(x &^ (1 << 63))}, b[8:], nil
		}
		return scalar{f: math.Float64frombits(^x)}, b[8:], nil
	case clsDec:
		if err := need(32); err != nil {
			return scalar{}, nil, err
		}
		return scalar{d: decimal256.New(binary.BigEndian.Uint64(b)^(1<<63), binary.BigEndian.Uint64(b[8:]),
			binary.BigEndian.Uint64(b[16:]), binary.BigEndian.Uint64(b[24:]))}, b[32:], nil
	}
	var s []byte
	for {
		if err := need(2); err != nil {
			return scalar{}, nil, err
		}
		if b[0] == 0 {
			if b[1] == 1 {
				return scalar{s: string(s)}, b[2:], nil
			}
			s, b = append(s, 0), b[2:]
			continue
		}
		s, b = append(s, b[0]), b[1:]
	}
}

// ReadRows reads the rows at the given file positions (in ascending order,
// duplicates once) with the given columns of the table schema (nil: all),
// reading only the pages that hold them. The record has one row per
// position; release it. Up to 64 positions are read through the page
// cache, and one position is returned as slices of the cached pages (Go
// memory, not alloc's; a value of a chunk cached as a dictionary array is
// copied into alloc's). The arrays are always plain.
func (f *File) ReadRows(ctx context.Context, positions []int64, columns []int, alloc memory.Allocator) (arrow.Record, error) {
	pos := positions
	if len(pos) > 1 {
		pos = slices.Clone(positions)
		slices.Sort(pos)
		pos = slices.Compact(pos)
	}
	for _, x := range pos {
		if x < 0 || x >= f.NumRows() {
			return nil, fmt.Errorf("parquetio: position %d outside %s (%d rows)", x, f.name, f.NumRows())
		}
	}
	if len(pos) <= syncRowsMax {
		sp, err := f.cachedPlan(columns)
		if err != nil {
			return nil, err
		}
		if sp.hasIndex {
			return f.readRowsSync(ctx, sp.p, alloc, pos)
		}
	}
	p, err := f.plan(ReadOptions{Columns: columns, Alloc: alloc, BatchSize: math.MaxInt32})
	if err != nil {
		return nil, err
	}
	var tasks []func(context.Context) ([]arrow.Record, error)
	for g, info := range f.RowGroups() {
		var ranges []rng
		for _, x := range pos {
			if x >= info.FirstRow && x < info.FirstRow+info.NumRows {
				r := x - info.FirstRow
				if n := len(ranges); n > 0 && ranges[n-1].hi == r {
					ranges[n-1].hi++
				} else {
					ranges = append(ranges, rng{r, r + 1})
				}
			}
		}
		if len(ranges) > 0 {
			tasks = append(tasks, func(ctx context.Context) ([]arrow.Record, error) {
				return p.readRowGroup(ctx, g, info.FirstRow, ranges)
			})
		}
	}
	rr := p.start(ctx, tasks)
	defer rr.Close()
	var recs []arrow.Record
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for rr.Next() {
		rr.Record().Retain()
		recs = append(recs, rr.Record())
	}
	if err := rr.Err(); err != nil {
		return nil, err
	}
	return ConcatRecords(p.alloc, p.schema, recs)
}
