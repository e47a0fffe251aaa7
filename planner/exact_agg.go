package planner

import (
	"fmt"
	"math/big"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/shopspring/decimal"
)

// MySQL's constants for the result types of SUM and AVG (sql/item_sum.cc).
const (
	// sumExtraDigits is DECIMAL_LONGLONG_DIGITS: SUM widens its argument's
	// precision by the digits of a row count.
	sumExtraDigits = 22
	// avgExtraScale is the default div_precision_increment.
	avgExtraScale = 4
)

// aggFunc names the aggregate an exactAgg computes.
type aggFunc uint8

const (
	aggSum aggFunc = iota
	aggAvg
)

func (f aggFunc) String() string {
	if f == aggAvg {
		return "AVG"
	}
	return "SUM"
}

// exactAgg is SUM or AVG over an integer or DECIMAL argument, computed without
// rounding and typed as MySQL types it: a DECIMAL. It replaces GMS's
// aggregation.Sum and aggregation.Avg, which total through float64.
//
// It behaves as an aggregate of a GroupBy only. Used as a window function it
// hands over to the GMS aggregate it replaced (see WithWindow).
type exactAgg struct {
	fn    aggFunc
	child sql.Expression
	typ   sql.DecimalType
	unit  *decimalUnit
	id    sql.ColumnId
	// orig is the GMS aggregate this one replaced, with the same child and id.
	orig sql.Aggregation
}

var (
	_ sql.Aggregation               = (*exactAgg)(nil)
	_ sql.FunctionExpression        = (*exactAgg)(nil)
	_ sql.CollationCoercible        = (*exactAgg)(nil)
	_ sql.DebugStringer             = (*exactAgg)(nil)
	_ sql.AggregationBuffer         = (*exactBuffer)(nil)
	_ sql.WindowAdaptableExpression = (*exactAgg)(nil)
)

// newExactAgg returns the exact replacement of agg, or false when agg is not
// a SUM or AVG without window over an integer or DECIMAL argument.
func newExactAgg(agg sql.Aggregation) (*exactAgg, bool) {
	var fn aggFunc
	switch agg.(type) {
	case *aggregation.Sum:
		fn = aggSum
	case *aggregation.Avg:
		fn = aggAvg
	default:
		return nil, false
	}
	children := agg.Children()
	if agg.Window() != nil || len(children) != 1 {
		return nil, false
	}
	precision, scale, ok := exactArgType(children[0].Type())
	if !ok {
		return nil, false
	}
	return &exactAgg{
		fn:    fn,
		child: children[0],
		typ:   resultType(fn, precision, scale),
		unit:  newDecimalUnit(-int32(scale)),
		id:    agg.Id(),
		orig:  agg,
	}, true
}

// exactArgType returns the precision and scale MySQL gives an argument of
// type t (Item::decimal_precision), or false if SUM and AVG of t are not
// exact in MySQL.
//
// The precision of an integer is the digits of its type's maximum display
// length less the sign, whatever width was declared (MySQL's
// Field::max_display_length ignores it): BOOL (TINYINT(1)) is a TINYINT.
// YEAR, BIT and the floating-point types are not exact.
func exactArgType(t sql.Type) (precision, scale uint8, ok bool) {
	if svt, isSys := t.(sql.SystemVariableType); isSys {
		t = svt.UnderlyingType()
	}
	if t == nil {
		return 0, 0, false
	}
	if dt, isDec := t.(sql.DecimalType); isDec {
		return dt.Precision(), dt.Scale(), true
	}
	switch t.Type() {
	case sqltypes.Int8, sqltypes.Uint8:
		return 3, 0, true
	case sqltypes.Int16, sqltypes.Uint16:
		return 5, 0, true
	case sqltypes.Int24, sqltypes.Uint24:
		return 8, 0, true
	case sqltypes.Int32, sqltypes.Uint32:
		return 10, 0, true
	case sqltypes.Int64:
		return 19, 0, true
	case sqltypes.Uint64:
		return 20, 0, true
	}
	return 0, 0, false
}

// resultType is MySQL's type of fn over an argument of the given precision
// and scale: SUM widens the precision by 22 digits, AVG widens precision and
// scale by div_precision_increment. Both are capped at the DECIMAL limits.
func resultType(fn aggFunc, precision, scale uint8) sql.DecimalType {
	p, s := int(precision), int(scale)
	switch fn {
	case aggSum:
		p += sumExtraDigits
	case aggAvg:
		p += avgExtraScale
		s += avgExtraScale
	}
	p = min(p, types.DecimalTypeMaxPrecision)
	s = min(s, types.DecimalTypeMaxScale)
	return types.MustCreateDecimalType(uint8(p), uint8(s))
}

// Resolved implements sql.Expression.
func (e *exactAgg) Resolved() bool { return e.child.Resolved() }

// String implements sql.Expression. It is GMS's, so that column names built
// from it do not change.
func (e *exactAgg) String() string { return fmt.Sprintf("%s(%s)", e.fn, e.child) }

// DebugString implements sql.DebugStringer; EXPLAIN shows the replacement.
func (e *exactAgg) DebugString() string {
	return fmt.Sprintf("EXACT_%s(%s) -> %s", e.fn, sql.DebugString(e.child), e.typ)
}

// Type implements sql.Expression.
func (e *exactAgg) Type() sql.Type { return e.typ }

// IsNullable implements sql.Expression: no rows and all-NULL rows give NULL.
func (e *exactAgg) IsNullable() bool { return true }

// Eval implements sql.Expression. Aggregates are evaluated by their buffers.
func (e *exactAgg) Eval(*sql.Context, sql.Row) (interface{}, error) {
	return nil, aggregation.ErrEvalUnsupportedOnAggregation.New(e.FunctionName())
}

// Children implements sql.Expression.
func (e *exactAgg) Children() []sql.Expression { return []sql.Expression{e.child} }

// WithChildren implements sql.Expression. If the new child is no longer
// integer or DECIMAL, the result is GMS's aggregate.
func (e *exactAgg) WithChildren(children ...sql.Expression) (sql.Expression, error) {
	if len(children) != 1 {
		return nil, sql.ErrInvalidChildrenNumber.New(e, len(children), 1)
	}
	orig, err := e.orig.WithChildren(children...)
	if err != nil {
		return nil, err
	}
	origAgg, ok := orig.(sql.Aggregation)
	if !ok {
		return nil, fmt.Errorf("planner: %s.WithChildren returned %T", e.orig, orig)
	}
	if n, ok := newExactAgg(origAgg); ok {
		return n, nil
	}
	return origAgg, nil
}

// FunctionName implements sql.FunctionExpression.
func (e *exactAgg) FunctionName() string {
	if e.fn == aggAvg {
		return "Avg"
	}
	return "Sum"
}

// Description implements sql.FunctionExpression.
func (e *exactAgg) Description() string {
	if e.fn == aggAvg {
		return "returns the exact average value of expr in all rows."
	}
	return "returns the exact sum of expr in all rows"
}

// CollationCoercibility implements sql.CollationCoercible, as for DECIMAL.
func (e *exactAgg) CollationCoercibility(*sql.Context) (sql.CollationID, byte) {
	return sql.Collation_binary, 5
}

// Id implements sql.IdExpression.
func (e *exactAgg) Id() sql.ColumnId { return e.id }

// WithId implements sql.IdExpression.
func (e *exactAgg) WithId(id sql.ColumnId) sql.IdExpression {
	n := *e
	n.id = id
	n.orig = e.orig.WithId(id).(sql.Aggregation)
	return &n
}

// Window implements sql.WindowAdaptableExpression: an exactAgg has none.
func (e *exactAgg) Window() *sql.WindowDefinition { return nil }

// WithWindow implements sql.WindowAdaptableExpression. Window aggregates are
// deliberately GMS's (float64) ones: the rule only replaces aggregates of
// GroupBy nodes, so this is only reached if a later rule moves one into a
// window, and then it gets what it would have got without the rule.
func (e *exactAgg) WithWindow(w *sql.WindowDefinition) sql.WindowAdaptableExpression {
	return e.orig.WithWindow(w)
}

// NewWindowFunction implements sql.WindowAdaptableExpression; see WithWindow.
func (e *exactAgg) NewWindowFunction() (sql.WindowFunction, error) {
	return e.orig.NewWindowFunction()
}

// NewBuffer implements sql.Aggregation.
func (e *exactAgg) NewBuffer() (sql.AggregationBuffer, error) {
	// The child is cloned because it may hold state per group, as DISTINCT's
	// set of seen values does.
	child, err := transform.Clone(e.child)
	if err != nil {
		return nil, err
	}
	return &exactBuffer{
		fn:    e.fn,
		expr:  child,
		scale: int32(e.typ.Scale()),
		sum:   exactSum{unit: e.unit},
	}, nil
}

// exactBuffer accumulates one group of an exactAgg.
type exactBuffer struct {
	fn    aggFunc
	expr  sql.Expression
	scale int32 // of the result
	sum   exactSum
}

// Update implements sql.AggregationBuffer.
func (b *exactBuffer) Update(ctx *sql.Context, row sql.Row) error {
	v, err := b.expr.Eval(ctx, row)
	if err != nil || v == nil {
		return err
	}
	if b.add(v) {
		return nil
	}
	// Not a Go type of an integer or DECIMAL value (a string for a DECIMAL
	// literal, a float from a loosely typed expression): convert it as its
	// type says. If that fails the value is as wrong as the type.
	c, _, err := b.expr.Type().Convert(ctx, v)
	if err != nil {
		return err
	}
	if c == nil || b.add(c) {
		return nil
	}
	return fmt.Errorf("planner: %s cannot add a %T", b.fn, c)
}

// add adds v and reports whether it is of a type it knows.
func (b *exactBuffer) add(v interface{}) bool {
	s := &b.sum
	if s.unit.exp != 0 {
		// The units are fractions: integers take the decimal path.
		switch x := v.(type) {
		case decimal.Decimal:
			s.addDecimal(x)
			return true
		default:
			i, ok := intValue(v)
			if !ok {
				return false
			}
			s.addDecimal(i)
			return true
		}
	}
	switch x := v.(type) {
	case int64:
		s.addInt64(x)
	case int32:
		s.addInt64(int64(x))
	case int16:
		s.addInt64(int64(x))
	case int8:
		s.addInt64(int64(x))
	case int:
		s.addInt64(int64(x))
	case uint64:
		s.addUint64(x)
	case uint32:
		s.addUint64(uint64(x))
	case uint16:
		s.addUint64(uint64(x))
	case uint8:
		s.addUint64(uint64(x))
	case uint:
		s.addUint64(uint64(x))
	case bool:
		if x {
			s.addInt64(1)
		} else {
			s.addInt64(0)
		}
	case decimal.Decimal:
		s.addDecimal(x)
	default:
		return false
	}
	return true
}

// intValue returns an integer value of any Go integer type (or a bool) as a
// decimal.
func intValue(v interface{}) (decimal.Decimal, bool) {
	switch x := v.(type) {
	case int64:
		return decimal.NewFromInt(x), true
	case int32:
		return decimal.NewFromInt(int64(x)), true
	case int16:
		return decimal.NewFromInt(int64(x)), true
	case int8:
		return decimal.NewFromInt(int64(x)), true
	case int:
		return decimal.NewFromInt(int64(x)), true
	case uint64:
		return decimal.NewFromBigInt(new(big.Int).SetUint64(x), 0), true
	case uint32:
		return decimal.NewFromInt(int64(x)), true
	case uint16:
		return decimal.NewFromInt(int64(x)), true
	case uint8:
		return decimal.NewFromInt(int64(x)), true
	case uint:
		return decimal.NewFromBigInt(new(big.Int).SetUint64(uint64(x)), 0), true
	case bool:
		if x {
			return decimal.NewFromInt(1), true
		}
		return decimal.NewFromInt(0), true
	}
	return decimal.Decimal{}, false
}

// Eval implements sql.AggregationBuffer: NULL without values, else the sum
// or the average rounded half away from zero to the result's scale.
func (b *exactBuffer) Eval(*sql.Context) (interface{}, error) {
	if b.sum.n == 0 {
		return nil, nil
	}
	t := b.sum.total()
	if b.fn == aggAvg {
		return t.DivRound(decimal.NewFromInt(b.sum.n), b.scale), nil
	}
	// A no-op unless some value had more decimals than its type.
	return t.Round(b.scale), nil
}

// Dispose implements sql.Disposable.
func (b *exactBuffer) Dispose() { expression.Dispose(b.expr) }
