package parquetio

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/internal/base"
)

// ArrayValue returns value i of a as the Go value the MemTable keeps for
// its column (nil for NULL): the array's own value type, and BINARY copied
// (a string shares the array's memory, which must be Go memory).
func ArrayValue(a arrow.Array, i int) (any, error) {
	if a.IsNull(i) {
		return nil, nil
	}
	switch a := a.(type) {
	case *array.Int8:
		return a.Value(i), nil
	case *array.Int16:
		return a.Value(i), nil
	case *array.Int32:
		return a.Value(i), nil
	case *array.Int64:
		return a.Value(i), nil
	case *array.Uint8:
		return a.Value(i), nil
	case *array.Uint16:
		return a.Value(i), nil
	case *array.Uint32:
		return a.Value(i), nil
	case *array.Uint64:
		return a.Value(i), nil
	case *array.Float32:
		return a.Value(i), nil
	case *array.Float64:
		return a.Value(i), nil
	case *array.Decimal128:
		return a.Value(i), nil
	case *array.Decimal256:
		return a.Value(i), nil
	case *array.String:
		return a.Value(i), nil
	case *array.Binary:
		return append([]byte{}, a.Value(i)...), nil
	case *array.Date32:
		return a.Value(i), nil
	case *array.Timestamp:
		return a.Value(i), nil
	case *array.Duration:
		return a.Value(i), nil
	case *array.Boolean:
		return a.Value(i), nil
	}
	return nil, fmt.Errorf("parquetio: unexpected Arrow array %T", a)
}

// RecordRow returns row i of rec as ArrayValue's Go values.
func RecordRow(rec arrow.Record, i int) ([]any, error) {
	row := make([]any, rec.NumCols())
	for c := range row {
		v, err := ArrayValue(rec.Column(c), i)
		if err != nil {
			return nil, err
		}
		row[c] = v
	}
	return row, nil
}

// ReadRowValues reads the row at file position x with the given columns
// of the table schema (nil: all) as ArrayValue's Go values: what ReadRows
// of one position gives, read straight from the cached pages without
// building a record, for point lookups.
func (f *File) ReadRowValues(ctx context.Context, x int64, columns []int) (row []any, err error) {
	if x < 0 || x >= f.NumRows() {
		return nil, fmt.Errorf("parquetio: position %d outside %s (%d rows)", x, f.name, f.NumRows())
	}
	sp, err := f.cachedPlan(columns)
	if err != nil {
		return nil, err
	}
	if !sp.hasIndex {
		rec, err := f.ReadRows(ctx, []int64{x}, columns, memory.DefaultAllocator)
		if err != nil {
			return nil, err
		}
		defer rec.Release()
		return RecordRow(rec, 0)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			row, err = nil, base.Corruptf(f.name, "decoding: %v", r)
		}
	}()
	p := sp.p
	g, r := f.rowGroupOf(x)
	row = make([]any, len(p.out))
	for j := range p.out {
		arr, i, owned, err := f.rowCell(ctx, p, memory.DefaultAllocator, g, r, x, &p.out[j])
		if err != nil {
			return nil, err
		}
		row[j], err = ArrayValue(arr, int(i))
		if owned {
			arr.Release()
		}
		if err != nil {
			return nil, err
		}
	}
	return row, nil
}
