package parquetio

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
)

// Filter is a Predicate compiled against a table schema, for rows that do
// not come from a file: the scan applies it to the records of in-memory
// sources, with the same semantics as a file read.
type Filter struct {
	node *pnode
	cols []int // the column ids the predicate reads
}

// CompileFilter compiles p against s. A nil p gives a Filter that keeps
// every row.
func CompileFilter(s *base.Schema, p *Predicate) (*Filter, error) {
	cols := make([]column, 0, len(s.Columns))
	for _, c := range s.Columns {
		rc, err := resolveColumn(c)
		if err != nil {
			return nil, err
		}
		cols = append(cols, rc)
	}
	byID := func(id int) *column {
		for i := range cols {
			if cols[i].col.ID == id {
				return &cols[i]
			}
		}
		return nil
	}
	n, err := compile(p, byID, false)
	if err != nil {
		return nil, err
	}
	return &Filter{node: n, cols: n.columns(nil)}, nil
}

// Columns are the ids of the columns the filter reads; the records given to
// Apply must hold them.
func (f *Filter) Columns() []int { return f.cols }

// Mask reports which rows of rec satisfy the filter (ids as for Apply); nil
// when every row does.
func (f *Filter) Mask(rec arrow.Record, ids []int) ([]bool, error) {
	if f == nil || f.node.op == opTrue {
		return nil, nil
	}
	arrs := make(map[int]arrow.Array, len(f.cols))
	for _, id := range f.cols {
		for i, rid := range ids {
			if rid == id {
				arrs[id] = rec.Column(i)
			}
		}
		if arrs[id] == nil {
			return nil, fmt.Errorf("parquetio: filter reads column %d, which the record lacks", id)
		}
	}
	sel := make([]bool, rec.NumRows())
	f.node.eval(arrs, sel)
	return sel, nil
}

// Apply returns the rows of rec that satisfy the filter; ids are the column
// ids of rec's columns, in order. When every row matches, rec itself is
// returned, retained. The caller releases the result.
func (f *Filter) Apply(alloc memory.Allocator, rec arrow.Record, ids []int) (arrow.Record, error) {
	sel, err := f.Mask(rec, ids)
	if err != nil {
		return nil, err
	}
	if sel == nil {
		rec.Retain()
		return rec, nil
	}
	n := int(rec.NumRows())
	count := 0
	for _, s := range sel {
		if s {
			count++
		}
	}
	if count == n {
		rec.Retain()
		return rec, nil
	}
	out := make([]arrow.Array, rec.NumCols())
	for i := range out {
		out[i] = filterArray(alloc, rec.Column(i), sel, count)
	}
	res := array.NewRecord(rec.Schema(), out, int64(count))
	for _, a := range out {
		a.Release()
	}
	return res, nil
}
