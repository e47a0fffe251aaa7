package exec

import (
	"math/big"
	"math/bits"

	"github.com/shopspring/decimal"
)

// int128 is a two's-complement 128-bit integer, the exact running sum of
// integer and decimal values. Sums of 64-bit values cannot overflow it (that
// would take 2^63 rows); sums of wider decimal coefficients can, and their
// accumulators spill into a big.Int when add reports an overflow.
type int128 struct {
	hi int64
	lo uint64
}

// addInt64 adds v in place.
func (a *int128) addInt64(v int64) {
	lo, c := bits.Add64(a.lo, uint64(v), 0)
	a.lo = lo
	a.hi += v>>63 + int64(c)
}

// addUint64 adds v in place.
func (a *int128) addUint64(v uint64) {
	lo, c := bits.Add64(a.lo, v, 0)
	a.lo = lo
	a.hi += int64(c)
}

// add returns a+b and whether the sum overflowed 128 bits, in which case
// the returned value has wrapped around.
func (a int128) add(b int128) (int128, bool) {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi := a.hi + b.hi + int64(c)
	overflow := (a.hi < 0) == (b.hi < 0) && (hi < 0) != (a.hi < 0)
	return int128{hi: hi, lo: lo}, overflow
}

// isInt64 reports whether a fits an int64.
func (a int128) isInt64() bool { return a.hi == int64(a.lo)>>63 }

// bigInt returns a as a big.Int.
func (a int128) bigInt() *big.Int {
	b := new(big.Int).SetInt64(a.hi)
	b.Lsh(b, 64)
	return b.Add(b, new(big.Int).SetUint64(a.lo))
}

// decimal returns (a + spill) × 10^-scale; spill may be nil.
func (a int128) decimal(spill *big.Int, scale int32) decimal.Decimal {
	if spill == nil && a.isInt64() {
		return decimal.New(int64(a.lo), -scale)
	}
	b := a.bigInt()
	if spill != nil {
		b.Add(b, spill)
	}
	return decimal.NewFromBigInt(b, -scale)
}
