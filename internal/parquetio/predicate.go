package parquetio

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
)

// Op is the operator of a Predicate node.
type Op uint8

// The operators. Comparisons follow SQL: a comparison with NULL is not
// true, so such rows are never returned. Strings and byte strings compare
// bytewise; floats order NaN above every number and equal to itself.
const (
	OpEq Op = iota
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe
	OpIsNull
	OpIsNotNull
	OpIn
	OpAnd
	OpOr
	OpNot
	opTrue  // compiled only
	opFalse // compiled only
)

// Predicate is a filter over columns (by id). A nil *Predicate is true.
// Constants are Go values of the column's type as toScalar takes them
// (integers, floats, decimal strings or decimal128/256.Num, strings,
// []byte, arrow.Date32 / time.Time, arrow.Timestamp, arrow.Duration,
// bool); nil is NULL.
type Predicate struct {
	Op     Op
	Column int
	Value  any
	Values []any
	Args   []*Predicate
}

// Cmp returns column op value for op one of OpEq..OpGe.
func Cmp(column int, op Op, value any) *Predicate {
	return &Predicate{Op: op, Column: column, Value: value}
}

// Eq returns column = value.
func Eq(column int, value any) *Predicate { return Cmp(column, OpEq, value) }

// IsNull returns column IS NULL.
func IsNull(column int) *Predicate { return &Predicate{Op: OpIsNull, Column: column} }

// IsNotNull returns column IS NOT NULL.
func IsNotNull(column int) *Predicate { return &Predicate{Op: OpIsNotNull, Column: column} }

// In returns column IN (values...).
func In(column int, values ...any) *Predicate {
	return &Predicate{Op: OpIn, Column: column, Values: values}
}

// And returns the conjunction of ps.
func And(ps ...*Predicate) *Predicate { return &Predicate{Op: OpAnd, Args: ps} }

// Or returns the disjunction of ps.
func Or(ps ...*Predicate) *Predicate { return &Predicate{Op: OpOr, Args: ps} }

// Not returns NOT p.
func Not(p *Predicate) *Predicate { return &Predicate{Op: OpNot, Args: []*Predicate{p}} }

// pnode is a compiled predicate in negation normal form: NOT is pushed
// into the leaves (valid under SQL's three-valued logic, where a leaf that
// is unknown counts as false once no NOT remains above it).
type pnode struct {
	op   Op
	col  *column
	vals []scalar
	kids []*pnode
}

// compile resolves p against cols (by id) in negation normal form.
func compile(p *Predicate, cols func(id int) *column, neg bool) (*pnode, error) {
	if p == nil {
		if neg {
			return &pnode{op: opFalse}, nil
		}
		return &pnode{op: opTrue}, nil
	}
	switch p.Op {
	case OpAnd, OpOr:
		op := p.Op
		if neg {
			op = OpAnd + OpOr - op
		}
		n := &pnode{op: op}
		for _, a := range p.Args {
			k, err := compile(a, cols, neg)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		}
		return n, nil
	case OpNot:
		if len(p.Args) != 1 {
			return nil, fmt.Errorf("parquetio: NOT takes one argument")
		}
		return compile(p.Args[0], cols, !neg)
	}
	c := cols(p.Column)
	if c == nil {
		return nil, fmt.Errorf("parquetio: predicate on unknown column id %d", p.Column)
	}
	switch p.Op {
	case OpIsNull, OpIsNotNull:
		op := p.Op
		if neg {
			op = OpIsNull + OpIsNotNull - op
		}
		return &pnode{op: op, col: c}, nil
	case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe:
		v, err := toScalar(c, p.Value)
		if err != nil {
			return nil, err
		}
		if v.null {
			return &pnode{op: opFalse}, nil
		}
		op := p.Op
		if neg {
			op = [...]Op{OpNe, OpEq, OpGe, OpGt, OpLe, OpLt}[op]
		}
		return &pnode{op: op, col: c, vals: []scalar{v}}, nil
	case OpIn:
		var vals []scalar
		hasNull := false
		for _, x := range p.Values {
			v, err := toScalar(c, x)
			if err != nil {
				return nil, err
			}
			if v.null {
				hasNull = true
				continue
			}
			vals = append(vals, v)
		}
		if !neg {
			if len(vals) == 0 {
				return &pnode{op: opFalse}, nil
			}
			return &pnode{op: OpIn, col: c, vals: vals}, nil
		}
		if hasNull { // x NOT IN (..., NULL) is never true
			return &pnode{op: opFalse}, nil
		}
		n := &pnode{op: OpAnd}
		for _, v := range vals {
			n.kids = append(n.kids, &pnode{op: OpNe, col: c, vals: []scalar{v}})
		}
		return n, nil
	}
	return nil, fmt.Errorf("parquetio: unknown predicate operator %d", p.Op)
}

// columns returns the ids of the columns n reads.
func (n *pnode) columns(out []int) []int {
	if n.col != nil {
		for _, id := range out {
			if id == n.col.col.ID {
				return out
			}
		}
		return append(out, n.col.col.ID)
	}
	for _, k := range n.kids {
		out = k.columns(out)
	}
	return out
}

// ---- pruning by statistics ----

// bounds are statistics of one column over some rows.
type bounds struct {
	rows      int64
	nulls     int64 // -1: unknown
	hasMinMax bool
	min, max  scalar
}

// mayMatch reports whether some row described by stats may satisfy n;
// false only when no row can. stats returns false for columns without
// statistics.
func (n *pnode) mayMatch(stats func(c *column) (bounds, bool)) bool {
	switch n.op {
	case opTrue:
		return true
	case opFalse:
		return false
	case OpAnd:
		for _, k := range n.kids {
			if !k.mayMatch(stats) {
				return false
			}
		}
		return true
	case OpOr:
		for _, k := range n.kids {
			if k.mayMatch(stats) {
				return true
			}
		}
		return false
	}
	b, ok := stats(n.col)
	if !ok {
		return true
	}
	allNull := b.nulls >= 0 && b.nulls >= b.rows
	switch n.op {
	case OpIsNull:
		return b.nulls != 0
	case OpIsNotNull:
		return !allNull
	}
	if allNull {
		return false
	}
	if !b.hasMinMax {
		return true
	}
	cls := n.col.class()
	if cls == clsFloat {
		// NaN may be missing from the bounds: only prune operators that NaN
		// never satisfies against a non-NaN constant.
		for _, v := range n.vals {
			if math.IsNaN(v.f) {
				return true
			}
		}
		if n.op != OpEq && n.op != OpLt && n.op != OpLe && n.op != OpIn {
			return true
		}
	}
	lo := func(v scalar) int { return cmpScalar(cls, b.min, v) } // min vs v
	hi := func(v scalar) int { return cmpScalar(cls, b.max, v) } // max vs v
	switch n.op {
	case OpEq:
		return lo(n.vals[0]) <= 0 && hi(n.vals[0]) >= 0
	case OpIn:
		for _, v := range n.vals {
			if lo(v) <= 0 && hi(v) >= 0 {
				return true
			}
		}
		return false
	case OpNe:
		return !(lo(n.vals[0]) == 0 && hi(n.vals[0]) == 0)
	case OpLt:
		return lo(n.vals[0]) < 0
	case OpLe:
		return lo(n.vals[0]) <= 0
	case OpGt:
		return hi(n.vals[0]) > 0
	case OpGe:
		return hi(n.vals[0]) >= 0
	}
	return true
}

// decodeStat decodes a plain-encoded statistic of c; ok is false when it
// cannot be used for ordering.
func decodeStat(c *column, b []byte, isMax bool) (scalar, bool) {
	switch c.phys {
	case physBool:
		if len(b) != 1 {
			return scalar{}, false
		}
		return scalar{i: int64(b[0] & 1)}, true
	case physInt32:
		if len(b) != 4 {
			return scalar{}, false
		}
		x := binary.LittleEndian.Uint32(b)
		if c.class() == clsUint {
			return scalar{u: uint64(x)}, true
		}
		if c.class() == clsDec {
			return scalar{d: decimal256.FromI64(int64(int32(x)))}, true
		}
		return scalar{i: int64(int32(x))}, true
	case physInt64:
		if len(b) != 8 {
			return scalar{}, false
		}
		x := binary.LittleEndian.Uint64(b)
		switch c.class() {
		case clsUint:
			return scalar{u: x}, true
		case clsDec:
			return scalar{d: decimal256.FromI64(int64(x))}, true
		}
		return scalar{i: int64(x)}, true
	case physFloat:
		if len(b) != 4 {
			return scalar{}, false
		}
		f := math.Float32frombits(binary.LittleEndian.Uint32(b))
		return scalar{f: float64(f)}, f == f
	case physDouble:
		if len(b) != 8 {
			return scalar{}, false
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(b))
		return scalar{f: f}, f == f
	case physBytes:
		if isMax && len(b) >= 64 {
			all := true
			for _, x := range b {
				all = all && x == 0xFF
			}
			if all { // a truncated maximum that could not be incremented
				return scalar{}, false
			}
		}
		return scalar{s: string(b)}, true
	}
	// FIXED_LEN_BYTE_ARRAY decimals: parquet-go orders them as unsigned
	// bytes, which is wrong for negative values. Not used for pruning.
	return scalar{}, false
}

// ---- evaluation on Arrow arrays ----

// eval sets out[i] to whether row i satisfies n; arrs holds the arrays of
// the predicate's columns by column id.
func (n *pnode) eval(arrs map[int]arrow.Array, out []bool) {
	switch n.op {
	case opTrue:
		for i := range out {
			out[i] = true
		}
		return
	case opFalse:
		clear(out)
		return
	case OpAnd, OpOr:
		tmp := make([]bool, len(out))
		for j, k := range n.kids {
			if j == 0 {
				k.eval(arrs, out)
				continue
			}
			k.eval(arrs, tmp)
			if n.op == OpAnd {
				for i := range out {
					out[i] = out[i] && tmp[i]
				}
			} else {
				for i := range out {
					out[i] = out[i] || tmp[i]
				}
			}
		}
		if len(n.kids) == 0 {
			for i := range out {
				out[i] = n.op == OpAnd
			}
		}
		return
	}
	arr := arrs[n.col.col.ID]
	switch n.op {
	case OpIsNull, OpIsNotNull:
		want := n.op == OpIsNull
		null := dictNullFunc(arr)
		for i := range out {
			out[i] = null(i) == want
		}
		return
	case OpIn:
		clear(out)
		tmp := make([]bool, len(out))
		for _, v := range n.vals {
			evalCmp(arr, n.col, OpEq, v, tmp)
			for i := range out {
				out[i] = out[i] || tmp[i]
			}
		}
		return
	}
	evalCmp(arr, n.col, n.op, n.vals[0], out)
}

// evalCmp sets out[i] to arr[i] op v, false for NULLs.
func evalCmp(arr arrow.Array, c *column, op Op, v scalar, out []bool) {
	switch a := arr.(type) {
	case *array.Int8:
		cmpLoop(a.Int8Values(), int64(v.i), op, out, func(x int8) int64 { return int64(x) })
	case *array.Int16:
		cmpLoop(a.Int16Values(), v.i, op, out, func(x int16) int64 { return int64(x) })
	case *array.Int32:
		cmpLoop(a.Int32Values(), v.i, op, out, func(x int32) int64 { return int64(x) })
	case *array.Int64:
		cmpLoop(a.Int64Values(), v.i, op, out, func(x int64) int64 { return x })
	case *array.Uint8:
		cmpLoop(a.Uint8Values(), v.u, op, out, func(x uint8) uint64 { return uint64(x) })
	case *array.Uint16:
		cmpLoop(a.Uint16Values(), v.u, op, out, func(x uint16) uint64 { return uint64(x) })
	case *array.Uint32:
		cmpLoop(a.Uint32Values(), v.u, op, out, func(x uint32) uint64 { return uint64(x) })
	case *array.Uint64:
		cmpLoop(a.Uint64Values(), v.u, op, out, func(x uint64) uint64 { return x })
	case *array.Date32:
		cmpLoop(a.Date32Values(), v.i, op, out, func(x arrow.Date32) int64 { return int64(x) })
	case *array.Timestamp:
		cmpLoop(a.TimestampValues(), v.i, op, out, func(x arrow.Timestamp) int64 { return int64(x) })
	case *array.Duration:
		cmpLoop(a.DurationValues(), v.i, op, out, func(x arrow.Duration) int64 { return int64(x) })
	case *array.Float32:
		if c := float32(v.f); float64(c) == v.f {
			cmpFloatLoop(a.Float32Values(), c, op, out)
		} else {
			cmpFunc(a.Float32Values(), op, out, func(x float32) int { return cmpFloat(float64(x), v.f) })
		}
	case *array.Float64:
		if v.f == v.f {
			cmpFloatLoop(a.Float64Values(), v.f, op, out)
		} else {
			cmpFunc(a.Float64Values(), op, out, func(x float64) int { return cmpFloat(x, v.f) })
		}
	case *array.Boolean:
		for i := range out {
			x := int64(0)
			if a.Value(i) {
				x = 1
			}
			out[i] = opHolds(op, cmpOrdered(x, v.i))
		}
	case *array.Dictionary:
		evalDictCmp(a, op, v, out)
		return // NULL rows and entries are false already
	case *array.String, *array.Binary:
		offs, data := byteStrings(a)
		for i := range out {
			out[i] = opHolds(op, compareBytes(data[offs[i]:offs[i+1]], v.s))
		}
	case *array.Decimal128:
		x := v.d.Array()
		d := decimal128.New(int64(x[1]), x[0])
		cmpFunc(a.Values(), op, out, func(n decimal128.Num) int { return n.Cmp(d) })
	case *array.Decimal256:
		cmpFunc(a.Values(), op, out, func(n decimal256.Num) int { return n.Cmp(v.d) })
	default:
		panic(fmt.Sprintf("parquetio: predicate on unexpected array %T (column %q)", arr, c.col.Name))
	}
	if arr.NullN() > 0 {
		for i := range out {
			if arr.IsNull(i) {
				out[i] = false
			}
		}
	}
}

func compareBytes(b []byte, s string) int {
	switch {
	case string(b) < s:
		return -1
	case string(b) > s:
		return 1
	}
	return 0
}

func opHolds(op Op, c int) bool {
	switch op {
	case OpEq:
		return c == 0
	case OpNe:
		return c != 0
	case OpLt:
		return c < 0
	case OpLe:
		return c <= 0
	case OpGt:
		return c > 0
	}
	return c >= 0
}

// cmpLoop compares integers widened to W with one loop per operator.
func cmpLoop[T any, W int64 | uint64](vals []T, c W, op Op, out []bool, widen func(T) W) {
	vals = vals[:len(out)]
	switch op {
	case OpEq:
		for i, x := range vals {
			out[i] = widen(x) == c
		}
	case OpNe:
		for i, x := range vals {
			out[i] = widen(x) != c
		}
	case OpLt:
		for i, x := range vals {
			out[i] = widen(x) < c
		}
	case OpLe:
		for i, x := range vals {
			out[i] = widen(x) <= c
		}
	case OpGt:
		for i, x := range vals {
			out[i] = widen(x) > c
		}
	default:
		for i, x := range vals {
			out[i] = widen(x) >= c
		}
	}
}

func cmpFunc[T any](vals []T, op Op, out []bool, cmp func(T) int) {
	vals = vals[:len(out)]
	for i, x := range vals {
		out[i] = opHolds(op, cmp(x))
	}
}

// cmpFloatLoop is cmpFunc with cmpFloat against c, which is not NaN, with
// one loop per operator: NaN sorts above every number, as in cmpFloat.
func cmpFloatLoop[T float32 | float64](vals []T, c T, op Op, out []bool) {
	vals = vals[:len(out)]
	switch op {
	case OpEq:
		for i, x := range vals {
			out[i] = x == c
		}
	case OpNe:
		for i, x := range vals {
			out[i] = x != c
		}
	case OpLt:
		for i, x := range vals {
			out[i] = x < c
		}
	case OpLe:
		for i, x := range vals {
			out[i] = x <= c
		}
	case OpGt: // NaN > c: !(NaN <= c), without a branch
		for i, x := range vals {
			out[i] = !(x <= c)
		}
	default:
		for i, x := range vals {
			out[i] = !(x < c)
		}
	}
}
