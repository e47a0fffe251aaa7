package exec

import (
	"math/big"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/shopspring/decimal"
)

// accumulator holds the state of one aggregate for every group, as slices
// indexed by group id. Its update methods are tight loops over a column's
// typed values.
type accumulator interface {
	// grow makes room for n groups; new groups start empty.
	grow(n int)
	// update folds every row of rec into its group: gids[i] for row i, or
	// group 0 when gids is nil (an aggregate without GROUP BY).
	update(rec arrow.Record, gids []uint32)
	// merge folds other's group og into group m[og], for every og; other
	// was made by the same newAccumulator call.
	merge(other accumulator, m []uint32)
	// result returns group g's aggregate value.
	result(g int) any
}

// The accumulators.
var (
	_ accumulator = (*countAcc)(nil)
	_ accumulator = (*distinctAcc)(nil)
	_ accumulator = (*exactSumAcc)(nil)
	_ accumulator = (*floatSumAcc)(nil)
	_ accumulator = (*orderedAcc[int64])(nil)
	_ accumulator = (*cmpAcc[decimal128.Num])(nil)
	_ accumulator = (*bytesMinMaxAcc)(nil)
)

// newAccumulator returns the accumulator of a, whose column has type t
// (ignored for CountStar), in an aggregate with GROUP BY keys when grouped.
// NewHashAggregate has validated the combination.
func newAccumulator(a Aggregate, t colType, grouped bool) accumulator {
	switch a.Func {
	case CountStar:
		return &countAcc{col: -1}
	case Count:
		return &countAcc{col: a.Col}
	case CountDistinct:
		return newDistinctAcc(a.Col, t, grouped)
	case Sum, Avg:
		if t.kind.isFloat() {
			return &floatSumAcc{col: a.Col, kind: t.kind, avg: a.Func == Avg}
		}
		return &exactSumAcc{col: a.Col, kind: t.kind, scale: t.scale, avg: a.Func == Avg, avgScale: a.AvgScale}
	case Min, Max:
		return newMinMaxAcc(a.Col, t, a.Func == Max)
	}
	panic("exec: accumulator for an invalid aggregate")
}

// grown returns s extended with zero values to length n.
func grown[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	if n <= cap(s) {
		s = s[:n]
		return s
	}
	return append(s, make([]T, n-len(s))...)
}

// validity returns a's validity bitmap and offset, or a nil bitmap when a
// has no NULLs, so that loops can test `bm == nil || bitutil.BitIsSet(bm,
// off+i)`.
func validity(a arrow.Array) (bm []byte, off int) {
	if a.NullN() == 0 {
		return nil, 0
	}
	return a.NullBitmapBytes(), a.Data().Offset()
}

// countAcc is COUNT(*) (col < 0) and COUNT(col).
type countAcc struct {
	col    int
	counts []int64
	dict   dictMap
}

func (c *countAcc) grow(n int) { c.counts = grown(c.counts, n) }

func (c *countAcc) update(rec arrow.Record, gids []uint32) {
	if c.col >= 0 {
		if a := rec.Column(c.col); a.NullN() > 0 || hasNullEntries(a) {
			c.countValues(a, gids)
			return
		}
	}
	if gids == nil {
		c.counts[0] += rec.NumRows()
		return
	}
	counts := c.counts
	for _, g := range gids {
		counts[g]++
	}
}

// countValues counts the non-NULL rows of a, which has NULLs.
func (c *countAcc) countValues(a arrow.Array, gids []uint32) {
	null := a.IsNull
	if hasNullEntries(a) {
		bc := c.dict.column(a)
		null = bc.null
	}
	for i := range a.Len() {
		if null(i) {
			continue
		}
		if gids == nil {
			c.counts[0]++
		} else {
			c.counts[gids[i]]++
		}
	}
}

// hasNullEntries reports whether a is a dictionary array with NULL
// dictionary entries, whose rows are NULL too.
func hasNullEntries(a arrow.Array) bool {
	d, ok := a.(interface{ Dictionary() arrow.Array })
	return ok && d.Dictionary().NullN() > 0
}

func (c *countAcc) merge(other accumulator, m []uint32) {
	for og, n := range other.(*countAcc).counts {
		c.counts[m[og]] += n
	}
}

func (c *countAcc) result(g int) any { return c.counts[g] }

// exactSumAcc is SUM and AVG over integers and decimals. Each group's sum
// is an int128; a decimal addition that would overflow it moves the int128
// into the group's big.Int spill instead.
type exactSumAcc struct {
	col      int
	kind     kind
	scale    int32
	avg      bool
	avgScale int32
	sums     []int128
	counts   []int64
	spill    map[uint32]*big.Int
}

func (s *exactSumAcc) grow(n int) {
	s.sums = grown(s.sums, n)
	s.counts = grown(s.counts, n)
}

func (s *exactSumAcc) update(rec arrow.Record, gids []uint32) {
	a := rec.Column(s.col)
	switch s.kind {
	case kindInt8:
		sumSigned(values[int8](a), a, gids, s.sums, s.counts)
	case kindInt16:
		sumSigned(values[int16](a), a, gids, s.sums, s.counts)
	case kindInt32:
		sumSigned(values[int32](a), a, gids, s.sums, s.counts)
	case kindInt64:
		sumSigned(values[int64](a), a, gids, s.sums, s.counts)
	case kindUint8:
		sumUnsigned(values[uint8](a), a, gids, s.sums, s.counts)
	case kindUint16:
		sumUnsigned(values[uint16](a), a, gids, s.sums, s.counts)
	case kindUint32:
		sumUnsigned(values[uint32](a), a, gids, s.sums, s.counts)
	case kindUint64:
		sumUnsigned(values[uint64](a), a, gids, s.sums, s.counts)
	case kindDecimal128:
		s.sumDecimal128(values[decimal128.Num](a), a, gids)
	case kindDecimal256:
		s.sumDecimal256(values[decimal256.Num](a), a, gids)
	default:
		panic("exec: exact sum over " + a.DataType().String())
	}
}

// sumSigned adds signed integers to their groups' sums.
func sumSigned[T signedInt](vals []T, a arrow.Array, gids []uint32, sums []int128, counts []int64) {
	bm, off := validity(a)
	switch {
	case gids == nil && bm == nil:
		s := sums[0]
		for _, v := range vals {
			s.addInt64(int64(v))
		}
		sums[0] = s
		counts[0] += int64(len(vals))
	case gids == nil:
		s, n := sums[0], int64(0)
		for i, v := range vals {
			if bitutil.BitIsSet(bm, off+i) {
				s.addInt64(int64(v))
				n++
			}
		}
		sums[0] = s
		counts[0] += n
	case bm == nil:
		gids = gids[:len(vals)]
		for i, g := range gids {
			sums[g].addInt64(int64(vals[i]))
			counts[g]++
		}
	default:
		gids = gids[:len(vals)]
		for i, g := range gids {
			if bitutil.BitIsSet(bm, off+i) {
				sums[g].addInt64(int64(vals[i]))
				counts[g]++
			}
		}
	}
}

// sumUnsigned adds unsigned integers to their groups' sums.
func sumUnsigned[T unsignedInt](vals []T, a arrow.Array, gids []uint32, sums []int128, counts []int64) {
	bm, off := validity(a)
	switch {
	case gids == nil && bm == nil:
		s := sums[0]
		for _, v := range vals {
			s.addUint64(uint64(v))
		}
		sums[0] = s
		counts[0] += int64(len(vals))
	case gids == nil:
		s, n := sums[0], int64(0)
		for i, v := range vals {
			if bitutil.BitIsSet(bm, off+i) {
				s.addUint64(uint64(v))
				n++
			}
		}
		sums[0] = s
		counts[0] += n
	case bm == nil:
		gids = gids[:len(vals)]
		for i, g := range gids {
			sums[g].addUint64(uint64(vals[i]))
			counts[g]++
		}
	default:
		gids = gids[:len(vals)]
		for i, g := range gids {
			if bitutil.BitIsSet(bm, off+i) {
				sums[g].addUint64(uint64(vals[i]))
				counts[g]++
			}
		}
	}
}

// add adds v to group g's sum, spilling on overflow.
func (s *exactSumAcc) add(g uint32, v int128) {
	sum, overflow := s.sums[g].add(v)
	if overflow {
		s.addBig(g, s.sums[g].bigInt())
		sum = v
	}
	s.sums[g] = sum
}

// addBig adds b to group g's spill.
func (s *exactSumAcc) addBig(g uint32, b *big.Int) {
	if s.spill == nil {
		s.spill = make(map[uint32]*big.Int)
	}
	if sp, ok := s.spill[g]; ok {
		sp.Add(sp, b)
	} else {
		s.spill[g] = b
	}
}

// sumDecimal128 adds decimal128 coefficients to their groups' sums.
func (s *exactSumAcc) sumDecimal128(vals []decimal128.Num, a arrow.Array, gids []uint32) {
	bm, off := validity(a)
	for i, v := range vals {
		if bm != nil && !bitutil.BitIsSet(bm, off+i) {
			continue
		}
		var g uint32
		if gids != nil {
			g = gids[i]
		}
		s.add(g, int128{hi: v.HighBits(), lo: v.LowBits()})
		s.counts[g]++
	}
}

// sumDecimal256 adds decimal256 coefficients to their groups' sums, through
// the int128 when they fit one.
func (s *exactSumAcc) sumDecimal256(vals []decimal256.Num, a arrow.Array, gids []uint32) {
	bm, off := validity(a)
	for i, v := range vals {
		if bm != nil && !bitutil.BitIsSet(bm, off+i) {
			continue
		}
		var g uint32
		if gids != nil {
			g = gids[i]
		}
		w := v.Array()
		if sign := uint64(int64(w[1]) >> 63); w[2] == sign && w[3] == sign {
			s.add(g, int128{hi: int64(w[1]), lo: w[0]})
		} else {
			s.addBig(g, v.BigInt())
		}
		s.counts[g]++
	}
}

func (s *exactSumAcc) merge(other accumulator, m []uint32) {
	o := other.(*exactSumAcc)
	for og, v := range o.sums {
		g := m[og]
		s.add(g, v)
		s.counts[g] += o.counts[og]
	}
	for og, b := range o.spill {
		s.addBig(m[og], new(big.Int).Set(b))
	}
}

func (s *exactSumAcc) result(g int) any {
	n := s.counts[g]
	if n == 0 {
		return nil
	}
	sum := s.sums[g].decimal(s.spill[uint32(g)], s.scale)
	if !s.avg {
		return sum
	}
	return sum.DivRound(decimal.NewFromInt(n), s.avgScale)
}

// floatSumAcc is SUM and AVG over floats, both float64.
type floatSumAcc struct {
	col    int
	kind   kind
	avg    bool
	sums   []float64
	counts []int64
}

func (s *floatSumAcc) grow(n int) {
	s.sums = grown(s.sums, n)
	s.counts = grown(s.counts, n)
}

func (s *floatSumAcc) update(rec arrow.Record, gids []uint32) {
	a := rec.Column(s.col)
	if s.kind == kindFloat32 {
		sumFloats(values[float32](a), a, gids, s.sums, s.counts)
	} else {
		sumFloats(values[float64](a), a, gids, s.sums, s.counts)
	}
}

// sumFloats adds floats to their groups' sums in row order.
func sumFloats[T float32 | float64](vals []T, a arrow.Array, gids []uint32, sums []float64, counts []int64) {
	bm, off := validity(a)
	switch {
	case gids == nil && bm == nil:
		s := sums[0]
		for _, v := range vals {
			s += float64(v)
		}
		sums[0] = s
		counts[0] += int64(len(vals))
	case gids == nil:
		s, n := sums[0], int64(0)
		for i, v := range vals {
			if bitutil.BitIsSet(bm, off+i) {
				s += float64(v)
				n++
			}
		}
		sums[0] = s
		counts[0] += n
	case bm == nil:
		gids = gids[:len(vals)]
		for i, g := range gids {
			sums[g] += float64(vals[i])
			counts[g]++
		}
	default:
		gids = gids[:len(vals)]
		for i, g := range gids {
			if bitutil.BitIsSet(bm, off+i) {
				sums[g] += float64(vals[i])
				counts[g]++
			}
		}
	}
}

func (s *floatSumAcc) merge(other accumulator, m []uint32) {
	o := other.(*floatSumAcc)
	for og, v := range o.sums {
		g := m[og]
		s.sums[g] += v
		s.counts[g] += o.counts[og]
	}
}

func (s *floatSumAcc) result(g int) any {
	n := s.counts[g]
	switch {
	case n == 0:
		return nil
	case s.avg:
		return s.sums[g] / float64(n)
	}
	return s.sums[g]
}
