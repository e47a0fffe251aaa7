package planner

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/shopspring/decimal"
)

// exactSum is the running total of SUM and AVG: exact, cheap for the common
// case and never rounded.
//
// The common case is a value that is a whole number of units of 10^exp (exp
// is 0 for integer arguments and minus the scale for DECIMAL ones) small
// enough for an int64. It is added to hi:lo, a two's-complement 128-bit
// integer, without a branch and without allocating. Anything else (a DECIMAL
// with another exponent or a coefficient beyond int64) goes to extra, a
// decimal.Decimal, at the price of an allocation.
//
// hi:lo cannot overflow: one addition moves hi by at most one, and n, which
// counts additions, is an int64.
type exactSum struct {
	hi    int64
	lo    uint64
	extra decimal.Decimal // meaningful only if hasExtra
	// hasExtra saves building a decimal zero for every buffer.
	hasExtra bool
	// n is the number of non-NULL values added.
	n int64
	// unit is shared by every buffer of one aggregate and never modified.
	unit *decimalUnit
}

// decimalUnit describes the unit of exactSum's integer part for one argument
// type: 10^exp, and the DECIMAL values whose coefficient at that exponent fits
// an int64.
type decimalUnit struct {
	exp int32
	// min and max bound the decimal values of exponent exp taken on the fast
	// path. Comparing against a bound of the same exponent compares the
	// coefficients and allocates nothing.
	min, max decimal.Decimal
}

func newDecimalUnit(exp int32) *decimalUnit {
	return &decimalUnit{
		exp: exp,
		min: decimal.New(math.MinInt64, exp),
		max: decimal.New(math.MaxInt64, exp),
	}
}

// addInt64 adds v units.
func (s *exactSum) addInt64(v int64) {
	lo, carry := bits.Add64(s.lo, uint64(v), 0)
	// v>>63 is the high word of v sign-extended to 128 bits: 0 or -1.
	s.hi += int64(carry) + v>>63
	s.lo = lo
	s.n++
}

// addUint64 adds v units.
func (s *exactSum) addUint64(v uint64) {
	lo, carry := bits.Add64(s.lo, v, 0)
	s.hi += int64(carry)
	s.lo = lo
	s.n++
}

// addDecimal adds d, whatever its exponent.
func (s *exactSum) addDecimal(d decimal.Decimal) {
	u := s.unit
	if d.Exponent() == u.exp && d.Cmp(u.max) <= 0 && d.Cmp(u.min) >= 0 {
		s.addInt64(d.CoefficientInt64())
		return
	}
	if s.hasExtra {
		s.extra = s.extra.Add(d)
	} else {
		s.extra, s.hasExtra = d, true
	}
	s.n++
}

// total returns the exact sum of the values added. Its exponent is the unit's
// exponent unless a value of smaller exponent was added.
func (s *exactSum) total() decimal.Decimal {
	var t decimal.Decimal
	if s.hi == int64(s.lo)>>63 {
		// hi is only the sign extension of lo: the sum fits an int64.
		t = decimal.New(int64(s.lo), s.unit.exp)
	} else {
		t = decimal.NewFromBigInt(int128ToBig(s.hi, s.lo), s.unit.exp)
	}
	if s.hasExtra {
		t = t.Add(s.extra)
	}
	return t
}

// int128ToBig returns the two's-complement 128-bit integer hi:lo as a big.Int.
func int128ToBig(hi int64, lo uint64) *big.Int {
	neg := hi < 0
	h := uint64(hi)
	if neg {
		// Negate: invert and add one. The magnitude of -2^127 is 2^127,
		// which still fits the unsigned pair.
		var carry uint64
		lo, carry = bits.Add64(^lo, 1, 0)
		h = ^h + carry
	}
	b := new(big.Int).SetUint64(h)
	b.Lsh(b, 64)
	b.Or(b, new(big.Int).SetUint64(lo))
	if neg {
		b.Neg(b)
	}
	return b
}
