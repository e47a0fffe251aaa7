package memwal

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// rowOf returns row i of rec as the MemTable's normalized Go values.
func rowOf(rec arrow.Record, i int) ([]any, error) {
	row := make([]any, rec.NumCols())
	for c := range row {
		col := rec.Column(c)
		if col.IsNull(i) {
			continue
		}
		switch a := col.(type) {
		case *array.Int8:
			row[c] = a.Value(i)
		case *array.Int16:
			row[c] = a.Value(i)
		case *array.Int32:
			row[c] = a.Value(i)
		case *array.Int64:
			row[c] = a.Value(i)
		case *array.Uint8:
			row[c] = a.Value(i)
		case *array.Uint16:
			row[c] = a.Value(i)
		case *array.Uint32:
			row[c] = a.Value(i)
		case *array.Uint64:
			row[c] = a.Value(i)
		case *array.Float32:
			row[c] = a.Value(i)
		case *array.Float64:
			row[c] = a.Value(i)
		case *array.Decimal128:
			row[c] = a.Value(i)
		case *array.Decimal256:
			row[c] = a.Value(i)
		case *array.String:
			row[c] = a.Value(i)
		case *array.Binary:
			row[c] = append([]byte{}, a.Value(i)...)
		case *array.Date32:
			row[c] = a.Value(i)
		case *array.Timestamp:
			row[c] = a.Value(i)
		case *array.Duration:
			row[c] = a.Value(i)
		case *array.Boolean:
			row[c] = a.Value(i)
		default:
			return nil, fmt.Errorf("memwal: unexpected Arrow array %T", col)
		}
	}
	return row, nil
}
