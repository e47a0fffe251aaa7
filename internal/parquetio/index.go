package parquetio

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
)

// A secondary index of a data file is an index file: a lakesql Parquet file
// of the index columns (same ids and types as the table's) and the
// IndexPositionColumn, holding one row per data-file row, sorted by (index
// values, NULL first; position).
// A lookup reads it with a predicate on the index columns, which the
// sorted order turns into a page or two, and gets the positions of the
// matching rows of the data file.

// IndexPositionColumn is the column id of the data-file row positions in an
// index file.
const IndexPositionColumn = 1 << 30

// IndexSchema is the schema of the index files of the index on columns
// (ids, in index order) of table.
func IndexSchema(table *base.Schema, columns []int) (*base.Schema, error) {
	s := &base.Schema{}
	for _, id := range columns {
		c := table.ColumnByID(id)
		if c == nil {
			return nil, fmt.Errorf("parquetio: index column %d is not in the table", id)
		}
		ic := *c
		ic.Default = nil
		s.Columns = append(s.Columns, ic)
	}
	s.Columns = append(s.Columns, base.Column{ID: IndexPositionColumn, Name: "_pos", Type: "BIGINT"})
	s.NextColumnID = IndexPositionColumn + 1
	return s, nil
}

// IndexKeyEncoder encodes index keys, the order of index files and of the
// MemTable's indexes: per column a marker byte (0 for NULL, 1 before a
// value) and the value's Key encoding, so NULL sorts first and a tuple's
// encoding begins with the encoding of each of its prefixes.
type IndexKeyEncoder struct {
	cols []column
}

// NewIndexKeyEncoder returns the encoder of the index on columns (ids, in
// index order) of s.
func NewIndexKeyEncoder(s *base.Schema, columns []int) (*IndexKeyEncoder, error) {
	cols, err := selectColumns(s, columns)
	if err != nil {
		return nil, err
	}
	return &IndexKeyEncoder{cols: cols}, nil
}

// Encode encodes the values of the index's first len(values) columns (nil
// is NULL), Go values as Predicate constants take them.
func (e *IndexKeyEncoder) Encode(values ...any) (Key, error) {
	if len(values) > len(e.cols) {
		return "", fmt.Errorf("parquetio: index key has %d values, the index %d columns", len(values), len(e.cols))
	}
	var buf []byte
	for i, v := range values {
		sv, err := toScalar(&e.cols[i], v)
		if err != nil {
			return "", err
		}
		buf = appendIndexValue(buf, &e.cols[i], sv)
	}
	return Key(buf), nil
}

func appendIndexValue(buf []byte, c *column, v scalar) []byte {
	if v.null {
		return append(buf, 0)
	}
	return appendKey(append(buf, 1), c, v)
}

// indexRow is one data-file row of an index file being built.
type indexRow struct {
	key      string // the encoded index values
	rec, row int32
	pos      int64
}

// WriteIndexFile writes, as object name of st, the index file of the index
// on columns of a data file whose rows, in file order, are recs: records
// of the columns recColumns (ids; nil: every column of table, as the data
// file was written).
func WriteIndexFile(ctx context.Context, st store.Writer, name string, table *base.Schema, columns, recColumns []int, recs []arrow.Record, opts WriterOptions) (FileStats, error) {
	is, err := IndexSchema(table, columns)
	if err != nil {
		return FileStats{}, err
	}
	all, err := selectColumns(table, recColumns)
	if err != nil {
		return FileStats{}, err
	}
	idx := make([]int, len(columns)) // schema position of each index column
	for j, id := range columns {
		idx[j] = slices.IndexFunc(all, func(c column) bool { return c.col.ID == id })
		if idx[j] < 0 {
			return FileStats{}, fmt.Errorf("parquetio: index of %s: column %d is not in the records", name, id)
		}
	}
	var rows []indexRow
	var pos int64
	var buf []byte
	for r, rec := range recs {
		if int(rec.NumCols()) != len(all) {
			return FileStats{}, fmt.Errorf("parquetio: index of %s: a record has %d columns, want %d", name, rec.NumCols(), len(all))
		}
		for i := range int(rec.NumRows()) {
			buf = buf[:0]
			for _, k := range idx {
				buf = appendIndexValue(buf, &all[k], scalarAt(&all[k], rec.Column(k), i))
			}
			rows = append(rows, indexRow{key: string(buf), rec: int32(r), row: int32(i), pos: pos})
			pos++
		}
	}
	slices.SortFunc(rows, func(a, b indexRow) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return int(a.pos - b.pos)
	})
	as, err := ArrowSchema(is, nil)
	if err != nil {
		return FileStats{}, err
	}
	var out []arrow.Record
	defer func() {
		for _, r := range out {
			r.Release()
		}
	}()
	const batch = 64 << 10
	for lo := 0; lo < len(rows) || lo == 0; lo += batch {
		hi := min(len(rows), lo+batch)
		b := array.NewRecordBuilder(memory.DefaultAllocator, as)
		for _, ir := range rows[lo:hi] {
			src := recs[ir.rec]
			for j, k := range idx {
				appendScalar(b.Field(j), scalarAt(&all[k], src.Column(k), int(ir.row)))
			}
			b.Field(len(idx)).(*array.Int64Builder).Append(ir.pos)
		}
		out = append(out, b.NewRecord())
		b.Release()
		if len(rows) == 0 {
			break
		}
	}
	// No key: NULLs are indexed, and lookups go by predicate. The first
	// index column gets bloom filters: a point lookup skips the files
	// that do not hold its value.
	opts.KeyColumns, opts.CheckKeyOrder = nil, false
	opts.BloomColumns = columns[:1]
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultIndexPageSize
	}
	return WriteFile(ctx, st, name, is, out, opts)
}

// IndexPositions answers a lookup by equality on the first column (id
// first) of index file f: the positions of the rows whose first column
// equals one of values (non-NULL Go values, as Predicate constants take
// them), ascending. The file is sorted by that column, so each row group is
// binary-searched for each value through the page cache (a hot lookup
// reads no bytes), and the run of equal values read with the position
// column's pages. ok is false when the file has no page index (the caller
// reads it with a predicate instead).
func (f *File) IndexPositions(ctx context.Context, first int, values []any) (pos []int64, ok bool, err error) {
	c := f.fileColumn(first)
	pc := f.fileColumn(IndexPositionColumn)
	if c == nil || pc == nil || f.cache == nil {
		return nil, false, nil
	}
	for g := range f.pf.Metadata().RowGroups {
		for _, leaf := range []int{f.leaf[c.col.ID], f.leaf[pc.col.ID]} {
			if oi, _ := f.pageIndex(g, leaf); oi == nil {
				return nil, false, nil
			}
		}
	}
	cls := c.class()
	at := func(g int, r int64) (scalar, error) {
		arr, lo, err := f.page(ctx, g, c, r)
		if err != nil {
			return scalar{}, err
		}
		return scalarAt(c, arr, int(r-lo)), nil
	}
	// less orders NULL first, then by value, as the file is sorted.
	less := func(a, b scalar) bool {
		if a.null || b.null {
			return a.null && !b.null
		}
		return cmpScalar(cls, a, b) < 0
	}
	for _, v := range values {
		want, err := toScalar(c, v)
		if err != nil {
			return nil, false, err
		}
		if want.null {
			return nil, false, nil
		}
		for g, rg := range f.pf.Metadata().RowGroups {
			// The first row whose value is not less than want, among the
			// pages that may hold it.
			lo, end := f.indexSpan(g, c, cls, want, rg.NumRows)
			hi := end
			for lo < hi {
				mid := lo + (hi-lo)/2
				x, err := at(g, mid)
				if err != nil {
					return nil, false, err
				}
				if less(x, want) {
					lo = mid + 1
				} else {
					hi = mid
				}
			}
			for r := lo; r < end; r++ {
				x, err := at(g, r)
				if err != nil {
					return nil, false, err
				}
				if x.null || cmpScalar(cls, x, want) != 0 {
					break
				}
				parr, plo, err := f.page(ctx, g, pc, r)
				if err != nil {
					return nil, false, err
				}
				pos = append(pos, parr.(*array.Int64).Value(int(r-plo)))
			}
		}
	}
	slices.Sort(pos)
	return slices.Compact(pos), true, nil
}

// indexSpan returns the rows [lo, hi) of row group g of index file f that
// hold every row of column c equal to want (non-NULL): from the first to
// the last page whose bounds in the column index admit want. The file is
// sorted by c (NULL pages first), so the pages' bounds ascend: a binary
// search finds the first page whose maximum is not below want, and the
// span runs while the pages' minimums are not above it. A lookup's binary
// search then decodes the pages of that span only, usually one, instead of
// a page per probe. Without a column index it is the whole row group.
func (f *File) indexSpan(g int, c *column, cls class, want scalar, rows int64) (lo, hi int64) {
	oi, ci := f.pageIndex(g, f.leaf[c.col.ID])
	if oi == nil || ci == nil {
		return 0, rows
	}
	locs := oi.PageLocations
	end := func(i int) int64 {
		if i+1 < len(locs) {
			return locs[i+1].FirstRowIndex
		}
		return rows
	}
	// below reports whether every value of page i is less than want; an
	// undecodable bound is not.
	below := func(i int) bool {
		if ci.NullPages[i] {
			return true
		}
		mx, ok := decodeStat(c, ci.MaxValues[i], true)
		return ok && cmpScalar(cls, mx, want) < 0
	}
	first := sort.Search(len(locs), func(i int) bool { return !below(i) })
	if first == len(locs) {
		return rows, rows
	}
	last := first
	for last+1 < len(locs) {
		mn, ok := decodeStat(c, ci.MinValues[last+1], false)
		if ok && cmpScalar(cls, mn, want) > 0 {
			break
		}
		last++
	}
	return locs[first].FirstRowIndex, end(last)
}
