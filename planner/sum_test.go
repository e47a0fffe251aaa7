package planner

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"
)

func TestInt128ToBig(t *testing.T) {
	for _, tc := range []struct {
		hi   int64
		lo   uint64
		want string
	}{
		{0, 0, "0"},
		{0, 1, "1"},
		{-1, math.MaxUint64, "-1"},
		{0, math.MaxUint64, "18446744073709551615"},
		{1, 0, "18446744073709551616"},
		{-1, 0, "-18446744073709551616"},
		{math.MaxInt64, math.MaxUint64, "170141183460469231731687303715884105727"},
		{math.MinInt64, 0, "-170141183460469231731687303715884105728"},
		{math.MinInt64, 1, "-170141183460469231731687303715884105727"},
	} {
		if got := int128ToBig(tc.hi, tc.lo).String(); got != tc.want {
			t.Errorf("int128ToBig(%d, %d) = %s, want %s", tc.hi, tc.lo, got, tc.want)
		}
	}
}

// seededRand returns a generator and logs its seed, so that a failure can be
// replayed by fixing the seed.
func seededRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed))
}

// extremeInt64 returns an int64 that is often at or near a limit.
func extremeInt64(r *rand.Rand) int64 {
	switch r.IntN(4) {
	case 0:
		return math.MaxInt64 - r.Int64N(3)
	case 1:
		return math.MinInt64 + r.Int64N(3)
	case 2:
		return r.Int64N(2001) - 1000
	default:
		return int64(r.Uint64())
	}
}

// TestExactSumIntegers adds random signed and unsigned values, heavy on the
// limits, and compares with big.Int.
func TestExactSumIntegers(t *testing.T) {
	r := seededRand(t)
	for range 200 {
		s := exactSum{unit: newDecimalUnit(0)}
		want := new(big.Int)
		n := r.IntN(50)
		for range n {
			if r.IntN(2) == 0 {
				v := extremeInt64(r)
				s.addInt64(v)
				want.Add(want, big.NewInt(v))
			} else {
				v := r.Uint64()
				if r.IntN(2) == 0 {
					v = math.MaxUint64 - r.Uint64N(3)
				}
				s.addUint64(v)
				want.Add(want, new(big.Int).SetUint64(v))
			}
		}
		if s.n != int64(n) {
			t.Fatalf("n = %d, want %d", s.n, n)
		}
		if got := s.total(); got.Exponent() != 0 || got.Coefficient().Cmp(want) != 0 {
			t.Fatalf("total %s, want %s", got, want)
		}
	}
}

// randomDecimal returns a decimal of exponent -2 (the unit's) most of the
// time, else of another exponent or with a coefficient beyond int64.
func randomDecimal(r *rand.Rand) decimal.Decimal {
	switch r.IntN(6) {
	case 0:
		return decimal.New(extremeInt64(r), int32(r.IntN(6))-4)
	case 1:
		c := new(big.Int).Mul(big.NewInt(extremeInt64(r)), big.NewInt(extremeInt64(r)))
		return decimal.NewFromBigInt(c, -2)
	default:
		return decimal.New(extremeInt64(r), -2)
	}
}

// TestExactSumDecimals adds random decimals and compares with big.Rat.
func TestExactSumDecimals(t *testing.T) {
	r := seededRand(t)
	for range 200 {
		s := exactSum{unit: newDecimalUnit(-2)}
		want := new(big.Rat)
		for range r.IntN(50) {
			d := randomDecimal(r)
			s.addDecimal(d)
			want.Add(want, d.Rat())
		}
		if got := s.total(); got.Rat().Cmp(want) != 0 {
			t.Fatalf("total %s, want %s", got, want.FloatString(10))
		}
	}
}

// roundHalfAway returns x rounded half away from zero to scale decimals.
func roundHalfAway(x *big.Rat, scale int) *big.Rat {
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	q := new(big.Rat).Mul(new(big.Rat).Abs(x), new(big.Rat).SetInt(pow))
	// floor(q + 1/2)
	q.Add(q, big.NewRat(1, 2))
	n := new(big.Int).Quo(q.Num(), q.Denom())
	if x.Sign() < 0 {
		n.Neg(n)
	}
	return new(big.Rat).SetFrac(n, pow)
}

// TestAvgRounding checks AVG buffers against a big.Rat average rounded half
// away from zero, for BIGINT (scale 4) and DECIMAL(20,2) (scale 6).
func TestAvgRounding(t *testing.T) {
	r := seededRand(t)
	for _, tc := range []struct {
		arg   sql.Type
		scale int32
		value func() (interface{}, *big.Rat)
	}{
		{types.Int64, 4, func() (interface{}, *big.Rat) {
			// Small values make ties likely.
			v := r.Int64N(21) - 10
			if r.IntN(4) == 0 {
				v = extremeInt64(r)
			}
			return v, new(big.Rat).SetInt64(v)
		}},
		{types.MustCreateDecimalType(20, 2), 6, func() (interface{}, *big.Rat) {
			d := decimal.New(r.Int64N(21)-10, -2)
			if r.IntN(4) == 0 {
				d = randomDecimal(r)
			}
			return d, d.Rat()
		}},
	} {
		avg, ok := newExactAgg(aggregation.NewAvg(expression.NewGetField(0, tc.arg, "x", true)).WithId(1).(sql.Aggregation))
		if !ok {
			t.Fatalf("AVG(%s) not exact", tc.arg)
		}
		for range 500 {
			buf, err := avg.NewBuffer()
			if err != nil {
				t.Fatal(err)
			}
			sum := new(big.Rat)
			n := 1 + r.IntN(40)
			for range n {
				v, rat := tc.value()
				if err := buf.Update(nil, sql.Row{v}); err != nil {
					t.Fatal(err)
				}
				sum.Add(sum, rat)
			}
			got, err := buf.Eval(nil)
			if err != nil {
				t.Fatal(err)
			}
			d := got.(decimal.Decimal)
			want := roundHalfAway(sum.Quo(sum, new(big.Rat).SetInt64(int64(n))), int(tc.scale))
			if d.Exponent() != -tc.scale || d.Rat().Cmp(want) != 0 {
				t.Fatalf("AVG(%s) of %d values = %s, want %s", tc.arg, n, d, want.FloatString(int(tc.scale)))
			}
		}
	}
}

// TestBufferNulls checks that NULLs are skipped and that a buffer without
// values is NULL.
func TestBufferNulls(t *testing.T) {
	for _, agg := range []sql.Aggregation{
		aggregation.NewSum(expression.NewGetField(0, types.Int64, "x", true)),
		aggregation.NewAvg(expression.NewGetField(0, types.Int64, "x", true)),
	} {
		x, ok := newExactAgg(agg.WithId(1).(sql.Aggregation))
		if !ok {
			t.Fatalf("%s not exact", agg)
		}
		buf, err := x.NewBuffer()
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := buf.Update(nil, sql.Row{nil}); err != nil {
				t.Fatal(err)
			}
		}
		if v, err := buf.Eval(nil); v != nil || err != nil {
			t.Errorf("%s of NULLs = %v, %v; want NULL", agg, v, err)
		}
		if err := buf.Update(nil, sql.Row{int64(-7)}); err != nil {
			t.Fatal(err)
		}
		if v, err := buf.Eval(nil); err != nil || v.(decimal.Decimal).IntPart() != -7 {
			t.Errorf("%s of NULLs and -7 = %v, %v; want -7", agg, v, err)
		}
	}
}
