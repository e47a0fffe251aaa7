package exec

import (
	"bytes"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
)

// newMinMaxAcc returns the MIN (max false) or MAX accumulator of a column of
// type t.
func newMinMaxAcc(col int, t colType, max bool) accumulator {
	switch t.kind {
	case kindInt8:
		return &orderedAcc[int8]{col: col, max: max}
	case kindInt16:
		return &orderedAcc[int16]{col: col, max: max}
	case kindInt32:
		return &orderedAcc[int32]{col: col, max: max}
	case kindInt64:
		return &orderedAcc[int64]{col: col, max: max}
	case kindUint8:
		return &orderedAcc[uint8]{col: col, max: max}
	case kindUint16:
		return &orderedAcc[uint16]{col: col, max: max}
	case kindUint32:
		return &orderedAcc[uint32]{col: col, max: max}
	case kindUint64:
		return &orderedAcc[uint64]{col: col, max: max}
	case kindFloat32:
		return &orderedAcc[float32]{col: col, max: max}
	case kindFloat64:
		return &orderedAcc[float64]{col: col, max: max}
	case kindDate32:
		return &orderedAcc[arrow.Date32]{col: col, max: max}
	case kindTimestamp:
		return &orderedAcc[arrow.Timestamp]{col: col, max: max}
	case kindDuration:
		return &orderedAcc[arrow.Duration]{col: col, max: max}
	case kindBool:
		return &orderedAcc[uint8]{col: col, max: max, boolean: true}
	case kindDecimal128:
		return &cmpAcc[decimal128.Num]{col: col, max: max}
	case kindDecimal256:
		return &cmpAcc[decimal256.Num]{col: col, max: max}
	case kindString, kindBinary:
		return &bytesMinMaxAcc{col: col, kind: t.kind, max: max}
	}
	panic("exec: MIN/MAX over an invalid kind")
}

// ordered lists the Go types of Arrow values that compare with < and >.
type ordered interface {
	signedInt | unsignedInt | ~float32 | ~float64
}

// orderedAcc is MIN or MAX over a column whose values compare with < and >;
// a Boolean column is read as 0 and 1 (false < true).
type orderedAcc[T ordered] struct {
	col     int
	max     bool
	boolean bool
	vals    []T
	has     []bool
	scratch []T
}

func (m *orderedAcc[T]) grow(n int) {
	m.vals = grown(m.vals, n)
	m.has = grown(m.has, n)
}

// fold makes v group g's value if it is better than the current one.
func (m *orderedAcc[T]) fold(g uint32, v T) {
	if !m.has[g] || (m.max && v > m.vals[g]) || (!m.max && v < m.vals[g]) {
		m.vals[g], m.has[g] = v, true
	}
}

func (m *orderedAcc[T]) update(rec arrow.Record, gids []uint32) {
	a := rec.Column(m.col)
	var vals []T
	if m.boolean {
		vals = m.bools(a.(*array.Boolean))
	} else {
		vals = values[T](a)
	}
	bm, off := validity(a)
	if gids == nil {
		best, found := m.extreme(vals, bm, off)
		if found {
			m.fold(0, best)
		}
		return
	}
	gids = gids[:len(vals)]
	cur, has := m.vals, m.has
	if m.max {
		for i, g := range gids {
			if v := vals[i]; (bm == nil || bitutil.BitIsSet(bm, off+i)) && (!has[g] || v > cur[g]) {
				cur[g], has[g] = v, true
			}
		}
		return
	}
	for i, g := range gids {
		if v := vals[i]; (bm == nil || bitutil.BitIsSet(bm, off+i)) && (!has[g] || v < cur[g]) {
			cur[g], has[g] = v, true
		}
	}
}

// extreme returns the smallest (largest for MAX) valid value of vals.
func (m *orderedAcc[T]) extreme(vals []T, bm []byte, off int) (best T, found bool) {
	for i, v := range vals {
		if bm != nil && !bitutil.BitIsSet(bm, off+i) {
			continue
		}
		if !found || (m.max && v > best) || (!m.max && v < best) {
			best, found = v, true
		}
	}
	return best, found
}

// bools returns a Boolean array's values as 0 and 1.
func (m *orderedAcc[T]) bools(a *array.Boolean) []T {
	m.scratch = grown(m.scratch[:0], a.Len())
	for i := range m.scratch {
		m.scratch[i] = 0
		if a.Value(i) {
			m.scratch[i] = 1
		}
	}
	return m.scratch
}

func (m *orderedAcc[T]) merge(other accumulator, mp []uint32) {
	o := other.(*orderedAcc[T])
	for og, v := range o.vals {
		if o.has[og] {
			m.fold(mp[og], v)
		}
	}
}

func (m *orderedAcc[T]) result(g int) any {
	switch {
	case !m.has[g]:
		return nil
	case m.boolean:
		return m.vals[g] != 0
	}
	return m.vals[g]
}

// cmpValue is the method of decimal128.Num and decimal256.Num that MIN and
// MAX need.
type cmpValue[T any] interface {
	Cmp(T) int
}

// cmpAcc is MIN or MAX over decimals, which compare with Cmp.
type cmpAcc[T cmpValue[T]] struct {
	col  int
	max  bool
	vals []T
	has  []bool
}

func (m *cmpAcc[T]) grow(n int) {
	m.vals = grown(m.vals, n)
	m.has = grown(m.has, n)
}

// fold makes v group g's value if it is better than the current one.
func (m *cmpAcc[T]) fold(g uint32, v T) {
	if !m.has[g] {
		m.vals[g], m.has[g] = v, true
		return
	}
	if c := v.Cmp(m.vals[g]); (m.max && c > 0) || (!m.max && c < 0) {
		m.vals[g] = v
	}
}

func (m *cmpAcc[T]) update(rec arrow.Record, gids []uint32) {
	a := rec.Column(m.col)
	bm, off := validity(a)
	for i, v := range values[T](a) {
		if bm != nil && !bitutil.BitIsSet(bm, off+i) {
			continue
		}
		var g uint32
		if gids != nil {
			g = gids[i]
		}
		m.fold(g, v)
	}
}

func (m *cmpAcc[T]) merge(other accumulator, mp []uint32) {
	o := other.(*cmpAcc[T])
	for og, v := range o.vals {
		if o.has[og] {
			m.fold(mp[og], v)
		}
	}
}

func (m *cmpAcc[T]) result(g int) any {
	if !m.has[g] {
		return nil
	}
	return m.vals[g]
}

// bytesMinMaxAcc is MIN or MAX over byte strings, compared bytewise. Each
// group keeps a private copy of its current value.
type bytesMinMaxAcc struct {
	col  int
	kind kind
	max  bool
	vals [][]byte
	has  []bool
	dict dictMap
}

func (m *bytesMinMaxAcc) grow(n int) {
	m.vals = grown(m.vals, n)
	m.has = grown(m.has, n)
}

// fold makes a copy of v group g's value if v is better than the current
// one.
func (m *bytesMinMaxAcc) fold(g uint32, v []byte) {
	if m.has[g] {
		if c := bytes.Compare(v, m.vals[g]); (m.max && c <= 0) || (!m.max && c >= 0) {
			return
		}
	}
	m.vals[g], m.has[g] = append(m.vals[g][:0], v...), true
}

func (m *bytesMinMaxAcc) update(rec arrow.Record, gids []uint32) {
	c := m.dict.column(rec.Column(m.col))
	for i := range c.rows.Len() {
		if c.null(i) {
			continue
		}
		var g uint32
		if gids != nil {
			g = gids[i]
		}
		m.fold(g, c.at(i))
	}
}

func (m *bytesMinMaxAcc) merge(other accumulator, mp []uint32) {
	o := other.(*bytesMinMaxAcc)
	for og, v := range o.vals {
		if o.has[og] {
			m.fold(mp[og], v)
		}
	}
}

func (m *bytesMinMaxAcc) result(g int) any {
	if !m.has[g] {
		return nil
	}
	return bytesValue(m.kind, m.vals[g])
}
