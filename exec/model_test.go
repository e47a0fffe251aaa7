package exec

import (
	"bytes"
	"cmp"
	"flag"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/shopspring/decimal"
)

// This file checks HashAggregate and TopN against naive models on random
// inputs: random schemas, NULL rates, key cardinalities, record sizes,
// dictionaries and slices, byte-string columns plain in some records and
// dictionary-encoded in others (mixEncodings), split over several partial
// operators merged in random order. Each failure prints the seed that
// reproduces it.

// modelTypes are the column types random schemas draw from.
var modelTypes = []func(r *rand.Rand) arrow.DataType{
	func(*rand.Rand) arrow.DataType { return tInt8 },
	func(*rand.Rand) arrow.DataType { return tInt16 },
	func(*rand.Rand) arrow.DataType { return tInt32 },
	func(*rand.Rand) arrow.DataType { return tInt64 },
	func(*rand.Rand) arrow.DataType { return tUint8 },
	func(*rand.Rand) arrow.DataType { return tUint16 },
	func(*rand.Rand) arrow.DataType { return tUint32 },
	func(*rand.Rand) arrow.DataType { return tUint64 },
	func(*rand.Rand) arrow.DataType { return tFloat32 },
	func(*rand.Rand) arrow.DataType { return tFloat64 },
	func(r *rand.Rand) arrow.DataType { return tDec128(38, int32(r.IntN(8))) },
	func(r *rand.Rand) arrow.DataType { return tDec256(76, int32(r.IntN(12))) },
	func(*rand.Rand) arrow.DataType { return tString },
	func(*rand.Rand) arrow.DataType { return tBinary },
	func(*rand.Rand) arrow.DataType { return tDate32 },
	func(*rand.Rand) arrow.DataType { return tTS },
	func(*rand.Rand) arrow.DataType { return tTSUTC },
	func(*rand.Rand) arrow.DataType { return tDur },
	func(*rand.Rand) arrow.DataType { return tBool },
	func(*rand.Rand) arrow.DataType { return tDictStr },
	func(*rand.Rand) arrow.DataType {
		return &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: tBinary}
	},
}

// randValue returns a random non-NULL Go value of type t, with a bias to
// extremes: the edges of integer ranges, both zeros, decimal coefficients
// far beyond int64.
func randValue(r *rand.Rand, t arrow.DataType) any {
	edge := r.IntN(4) == 0
	switch t := t.(type) {
	case *arrow.Int8Type:
		return int8(r.Uint32())
	case *arrow.Int16Type:
		return int16(r.Uint32())
	case *arrow.Int32Type:
		if edge {
			return []int32{math.MinInt32, math.MaxInt32}[r.IntN(2)]
		}
		return int32(r.IntN(2000) - 1000)
	case *arrow.Int64Type:
		if edge {
			return []int64{math.MinInt64, math.MaxInt64, math.MaxInt64 - 1}[r.IntN(3)]
		}
		return r.Int64N(1<<40) - 1<<39
	case *arrow.Uint8Type:
		return uint8(r.Uint32())
	case *arrow.Uint16Type:
		return uint16(r.Uint32())
	case *arrow.Uint32Type:
		return r.Uint32()
	case *arrow.Uint64Type:
		if edge {
			return math.MaxUint64 - r.Uint64N(3)
		}
		return r.Uint64N(1 << 50)
	case *arrow.Float32Type:
		return float32(randFloat(r))
	case *arrow.Float64Type:
		return randFloat(r)
	case *arrow.Decimal128Type:
		return decimal128.FromBigInt(randCoefficient(r, 38, edge))
	case *arrow.Decimal256Type:
		return decimal256.FromBigInt(randCoefficient(r, 76, edge))
	case *arrow.StringType:
		return string(randBytes(r))
	case *arrow.BinaryType:
		return randBytes(r)
	case *arrow.Date32Type:
		return arrow.Date32(r.IntN(40000) - 20000)
	case *arrow.TimestampType:
		return arrow.Timestamp(r.Int64N(1<<50) - 1<<49)
	case *arrow.DurationType:
		return arrow.Duration(r.Int64N(1<<40) - 1<<39)
	case *arrow.BooleanType:
		return r.IntN(2) == 0
	case *arrow.DictionaryType:
		return randValue(r, t.ValueType)
	}
	panic(fmt.Sprintf("randValue: %s", t))
}

// randFloat returns a multiple of 1/4 (so that sums are exact in any order)
// or one of the zeros.
func randFloat(r *rand.Rand) float64 {
	switch r.IntN(8) {
	case 0:
		return math.Copysign(0, -1)
	case 1:
		return 0
	}
	return float64(r.IntN(4000)-2000) / 4
}

// randCoefficient returns a random decimal coefficient of at most digits
// digits; a large one when edge is set.
func randCoefficient(r *rand.Rand, digits int, edge bool) *big.Int {
	n := 1 + r.IntN(18)
	if edge {
		n = digits - r.IntN(3)
	}
	b := new(big.Int)
	for range n {
		b.Mul(b, big.NewInt(10))
		b.Add(b, big.NewInt(int64(r.IntN(10))))
	}
	if r.IntN(2) == 0 {
		b.Neg(b)
	}
	return b
}

// randBytes returns a random byte string over a small alphabet, so that
// prefixes and empty strings are common. Most are short; some are up to 40
// bytes long, around the 8- and 16-byte words the hash tables hold keys in,
// and often differ from one another only in trailing zero bytes.
func randBytes(r *rand.Rand) []byte {
	n := r.IntN(6)
	if r.IntN(4) == 0 {
		n = r.IntN(41)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = "ab\x00\xff"[r.IntN(4)]
	}
	if r.IntN(3) == 0 {
		clear(b[r.IntN(n+1):])
	}
	return b
}

// modelColumn is a random column: its type, NULL rate and the pool its
// values come from (nil for unbounded cardinality).
type modelColumn struct {
	typ      arrow.DataType
	nullRate float64
	pool     []any
}

func (c *modelColumn) value(r *rand.Rand) any {
	if r.Float64() < c.nullRate {
		return nil
	}
	if c.pool != nil {
		return c.pool[r.IntN(len(c.pool))]
	}
	return randValue(r, c.typ)
}

// randColumns returns n random columns.
func randColumns(r *rand.Rand, n int) []modelColumn {
	cols := make([]modelColumn, n)
	for i := range cols {
		c := &cols[i]
		c.typ = modelTypes[r.IntN(len(modelTypes))](r)
		c.nullRate = []float64{0, 0, 0.1, 0.5, 1}[r.IntN(5)]
		if card := []int{0, 1, 3, 40, 3000}[r.IntN(5)]; card > 0 {
			for range card {
				c.pool = append(c.pool, randValue(r, c.typ))
			}
		}
	}
	return cols
}

// randRecords returns random records over cols and the rows of each; some
// records are slices of larger ones and dictionary columns get a different,
// shuffled dictionary with unused and NULL entries in every record.
func randRecords(r *rand.Rand, mem memory.Allocator, schema *arrow.Schema, cols []modelColumn) ([]arrow.Record, [][][]any) {
	var recs []arrow.Record
	var rows [][][]any
	for range 1 + r.IntN(6) {
		n := []int{0, 1, 7, 100, 1500}[r.IntN(5)]
		lo, hi := 0, n
		if r.IntN(3) == 0 {
			lo, hi = r.IntN(n+1), n
			hi = lo + r.IntN(hi-lo+1)
		}
		rs := make([][]any, n)
		for i := range rs {
			rs[i] = make([]any, len(cols))
			for c := range cols {
				rs[i][c] = cols[c].value(r)
			}
		}
		arrs := make([]arrow.Array, len(cols))
		colVals := rowsToCols(len(cols), rs)
		for c := range cols {
			if dt, ok := cols[c].typ.(*arrow.DictionaryType); ok {
				arrs[c] = randDict(r, mem, dt, colVals[c])
			} else {
				arrs[c] = buildArray(mem, cols[c].typ, colVals[c])
			}
		}
		rec := array.NewRecordBatch(schema, arrs, int64(n))
		for _, a := range arrs {
			a.Release()
		}
		if lo != 0 || hi != n {
			sliced := rec.NewSlice(int64(lo), int64(hi))
			rec.Release()
			rec, rs = sliced, rs[lo:hi]
		}
		recs = append(recs, rec)
		rows = append(rows, rs)
	}
	return recs, rows
}

// randDict builds a dictionary array of vals with a shuffled dictionary
// holding unused (possibly duplicate) entries and, sometimes, a NULL entry
// that some NULL rows use.
func randDict(r *rand.Rand, mem memory.Allocator, dt *arrow.DictionaryType, vals []any) arrow.Array {
	var dict []any
	seen := map[string]bool{}
	for _, v := range vals {
		if k := modelKey(v); v != nil && !seen[k] {
			seen[k] = true
			dict = append(dict, v)
		}
	}
	for range r.IntN(3) {
		dict = append(dict, randValue(r, dt.ValueType))
	}
	nullEntry := r.IntN(2) == 0
	if nullEntry {
		dict = append(dict, nil)
	}
	r.Shuffle(len(dict), func(i, j int) { dict[i], dict[j] = dict[j], dict[i] })
	pos := map[string]int{}
	for j, v := range dict {
		pos[modelKey(v)] = j
	}
	idx := make([]any, len(vals))
	for i, v := range vals {
		if v != nil || nullEntry && r.IntN(2) == 0 {
			idx[i] = pos[modelKey(v)]
		}
	}
	return buildDict(mem, dt, dict, idx)
}

// modelKey returns a string that is equal for values MySQL groups together.
func modelKey(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case float64:
		return fmt.Sprintf("f%v", v+0) // -0 + 0 is +0
	case float32:
		return fmt.Sprintf("f%v", v+0)
	case decimal128.Num:
		return "d" + v.BigInt().String()
	case decimal256.Num:
		return "d" + v.BigInt().String()
	}
	return fmt.Sprintf("%T%q", v, fmt.Sprint(v))
}

// modelNormalize returns the value a group key shows: +0 for either zero.
func modelNormalize(v any) any {
	switch v := v.(type) {
	case float64:
		return v + 0
	case float32:
		return v + 0
	}
	return v
}

// modelCompare orders two non-NULL values the way MIN, MAX and ORDER BY
// do.
func modelCompare(a, b any) int {
	switch a := a.(type) {
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64, arrow.Date32, arrow.Timestamp, arrow.Duration:
		return modelInt(a).Cmp(modelInt(b))
	case float32:
		return cmp.Compare(a, b.(float32))
	case float64:
		return cmp.Compare(a, b.(float64))
	case decimal128.Num:
		return a.BigInt().Cmp(b.(decimal128.Num).BigInt())
	case decimal256.Num:
		return a.BigInt().Cmp(b.(decimal256.Num).BigInt())
	case string:
		return cmp.Compare(a, b.(string))
	case []byte:
		return bytes.Compare(a, b.([]byte))
	case bool:
		x, y := 0, 0
		if a {
			x = 1
		}
		if b.(bool) {
			y = 1
		}
		return cmp.Compare(x, y)
	}
	panic(fmt.Sprintf("modelCompare: %T", a))
}

// modelInt returns an integer-like value as a big.Int.
func modelInt(v any) *big.Int {
	switch v := v.(type) {
	case int8:
		return big.NewInt(int64(v))
	case int16:
		return big.NewInt(int64(v))
	case int32:
		return big.NewInt(int64(v))
	case int64:
		return big.NewInt(v)
	case uint8:
		return big.NewInt(int64(v))
	case uint16:
		return big.NewInt(int64(v))
	case uint32:
		return big.NewInt(int64(v))
	case uint64:
		return new(big.Int).SetUint64(v)
	case arrow.Date32:
		return big.NewInt(int64(v))
	case arrow.Timestamp:
		return big.NewInt(int64(v))
	case arrow.Duration:
		return big.NewInt(int64(v))
	case decimal128.Num:
		return v.BigInt()
	case decimal256.Num:
		return v.BigInt()
	}
	panic(fmt.Sprintf("modelInt: %T", v))
}

// modelAggregate computes aggs over the values vals of one group, plainly.
func modelAggregate(a Aggregate, t arrow.DataType, rows [][]any) any {
	var vals []any
	for _, row := range rows {
		if a.Func != CountStar && row[a.Col] != nil {
			vals = append(vals, row[a.Col])
		}
	}
	switch a.Func {
	case CountStar:
		return int64(len(rows))
	case Count:
		return int64(len(vals))
	case CountDistinct:
		seen := map[string]bool{}
		for _, v := range vals {
			seen[modelKey(v)] = true
		}
		return int64(len(seen))
	}
	if len(vals) == 0 {
		return nil
	}
	switch a.Func {
	case Min, Max:
		best := vals[0]
		for _, v := range vals[1:] {
			if c := modelCompare(v, best); (a.Func == Min && c < 0) || (a.Func == Max && c > 0) {
				best = v
			}
		}
		return best
	}
	if _, ok := vals[0].(float64); ok || t.ID() == arrow.FLOAT32 {
		sum := 0.0
		for _, v := range vals {
			if f, ok := v.(float32); ok {
				sum += float64(f)
			} else {
				sum += v.(float64)
			}
		}
		if a.Func == Avg {
			return sum / float64(len(vals))
		}
		return sum
	}
	sum := new(big.Int)
	for _, v := range vals {
		sum.Add(sum, modelInt(v))
	}
	var scale int32
	switch t := t.(type) {
	case *arrow.Decimal128Type:
		scale = t.Scale
	case *arrow.Decimal256Type:
		scale = t.Scale
	}
	d := decimal.NewFromBigInt(sum, -scale)
	if a.Func == Avg {
		return d.DivRound(decimal.NewFromInt(int64(len(vals))), a.AvgScale)
	}
	return d
}

// modelHashAggregate groups rows by keys and computes aggs, plainly.
func modelHashAggregate(schema *arrow.Schema, keys []int, aggs []Aggregate, rows [][]any) [][]any {
	groups := map[string][][]any{}
	var order []string
	for _, row := range rows {
		k := ""
		for _, c := range keys {
			k += modelKey(row[c]) + "|"
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], row)
	}
	if len(keys) == 0 && len(order) == 0 {
		order, groups[""] = []string{""}, nil
	}
	var res [][]any
	for _, k := range order {
		g := groups[k]
		var out []any
		for _, c := range keys {
			out = append(out, modelNormalize(g[0][c]))
		}
		for _, a := range aggs {
			var t arrow.DataType
			if a.Func != CountStar {
				t = schema.Field(a.Col).Type
			}
			out = append(out, modelAggregate(a, t, g))
		}
		res = append(res, out)
	}
	return res
}

// randAggregates returns random aggregates valid over cols.
func randAggregates(r *rand.Rand, cols []modelColumn) []Aggregate {
	var aggs []Aggregate
	for range 1 + r.IntN(6) {
		c := r.IntN(len(cols))
		ct, _ := classify(cols[c].typ)
		funcs := []Func{CountStar, Count, CountDistinct, Min, Max}
		if ct.kind.isExactNumber() || ct.kind.isFloat() {
			funcs = append(funcs, Sum, Avg, Sum, Avg)
		}
		a := Aggregate{Func: funcs[r.IntN(len(funcs))], Col: c}
		if a.Func == Avg {
			a.AvgScale = min(ct.scale+4, 30)
		}
		aggs = append(aggs, a)
	}
	return aggs
}

// seedFlag replays the randomized tests with a seed a failure printed.
var seedFlag = flag.Uint64("seed", 0, "seed of the randomized model tests (0: time-based)")

// modelSeed returns the seed of a randomized test, printed on failure:
// -seed, or else time-based.
func modelSeed(t *testing.T) uint64 {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with: go test ./exec -run '^%s$' -seed %d", t.Name(), seed)
		}
	})
	return seed
}

func TestHashAggregateMatchesModel(t *testing.T) {
	seed := modelSeed(t)
	r := rand.New(rand.NewPCG(seed, 0))
	mem := newAllocator(t)
	for iter := range 500 {
		cols := randColumns(r, 1+r.IntN(5))
		schema := schemaOf(columnTypes(cols)...)
		var keys []int
		for range r.IntN(4) {
			keys = append(keys, r.IntN(len(cols)))
		}
		aggs := randAggregates(r, cols)
		recs, rows := randRecords(r, mem, schema, cols)
		recs = mixEncodings(r, mem, recs, rows)

		parts := make([]*HashAggregate, 1+r.IntN(4))
		for i := range parts {
			var err error
			if parts[i], err = NewHashAggregate(schema, keys, aggs); err != nil {
				t.Fatalf("iteration %d: %v", iter, err)
			}
		}
		for _, rec := range recs {
			if err := parts[r.IntN(len(parts))].Add(rec); err != nil {
				t.Fatalf("iteration %d: %v", iter, err)
			}
			rec.Release()
		}
		for len(parts) > 1 {
			i, j := r.IntN(len(parts)), r.IntN(len(parts)-1)
			if j >= i {
				j++
			}
			if err := parts[i].Merge(parts[j]); err != nil {
				t.Fatalf("iteration %d: %v", iter, err)
			}
			parts = slices.Delete(parts, j, j+1)
		}
		got := parts[0].Results()
		want := modelHashAggregate(schema, keys, aggs, slices.Concat(rows...))
		if parts[0].Len() != len(got) {
			t.Fatalf("iteration %d: Len %d, %d result rows", iter, parts[0].Len(), len(got))
		}
		sortRows(got)
		sortRows(want)
		if len(got) != len(want) {
			t.Fatalf("iteration %d: schema %s keys %v aggs %v: %d groups, want %d", iter, schema, keys, aggs, len(got), len(want))
		}
		for i := range got {
			if !sameRow(got[i], want[i]) {
				t.Fatalf("iteration %d: schema %s keys %v aggs %v:\ngot  %s\nwant %s", iter, schema, keys, aggs, formatRow(got[i]), formatRow(want[i]))
			}
		}
	}
}

// columnTypes returns the types of cols.
func columnTypes(cols []modelColumn) []arrow.DataType {
	ts := make([]arrow.DataType, len(cols))
	for i, c := range cols {
		ts[i] = c.typ
	}
	return ts
}

// modelTopN sorts rows stably by keys (NULL first ascending, last
// descending) and returns the out columns of the first limit.
func modelTopN(keys []SortKey, limit int64, out []int, rows [][]any) [][]any {
	sorted := slices.Clone(rows)
	slices.SortStableFunc(sorted, func(a, b []any) int {
		for _, k := range keys {
			x, y := a[k.Col], b[k.Col]
			var c int
			switch {
			case x == nil && y == nil:
			case x == nil:
				c = -1
			case y == nil:
				c = 1
			default:
				c = modelCompare(x, y)
			}
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	var res [][]any
	for _, row := range sorted[:min(int64(len(sorted)), limit)] {
		var o []any
		for _, c := range out {
			o = append(o, row[c])
		}
		res = append(res, o)
	}
	return res
}

func TestTopNMatchesModel(t *testing.T) {
	seed := modelSeed(t)
	r := rand.New(rand.NewPCG(seed, 1))
	mem := newAllocator(t)
	for iter := range 500 {
		cols := randColumns(r, 1+r.IntN(4))
		schema := schemaOf(columnTypes(cols)...)
		var keys []SortKey
		for range 1 + r.IntN(3) {
			keys = append(keys, SortKey{Col: r.IntN(len(cols)), Desc: r.IntN(2) == 0})
		}
		out := []int{r.IntN(len(cols))}
		for c := range cols {
			if r.IntN(2) == 0 {
				out = append(out, c)
			}
		}
		limit := []int64{0, 1, 3, 10, 100, 5000}[r.IntN(6)]
		recs, rows := randRecords(r, mem, schema, cols)
		recs = mixEncodings(r, mem, recs, rows)

		// Contiguous runs of records go to each partial TopN, and merges
		// only ever fold a later partition into an earlier one, so that the
		// order in which rows were added is the order of rows.
		parts := make([]*TopN, 1+r.IntN(4))
		for i := range parts {
			var err error
			if parts[i], err = NewTopN(schema, keys, limit, out); err != nil {
				t.Fatalf("iteration %d: %v", iter, err)
			}
		}
		for i, rec := range recs {
			if err := parts[i*len(parts)/len(recs)].Add(rec); err != nil {
				t.Fatalf("iteration %d: %v", iter, err)
			}
			rec.Release()
		}
		for len(parts) > 1 {
			i := r.IntN(len(parts) - 1)
			if err := parts[i].Merge(parts[i+1]); err != nil {
				t.Fatalf("iteration %d: %v", iter, err)
			}
			parts = slices.Delete(parts, i+1, i+2)
		}
		got := parts[0].Results()
		want := modelTopN(keys, limit, out, slices.Concat(rows...))
		if len(got) != len(want) {
			t.Fatalf("iteration %d: schema %s keys %v limit %d: %d rows, want %d", iter, schema, keys, limit, len(got), len(want))
		}
		for i := range got {
			if !sameRow(got[i], want[i]) {
				t.Fatalf("iteration %d: schema %s keys %v limit %d out %v: row %d:\ngot  %s\nwant %s",
					iter, schema, keys, limit, out, i, formatRow(got[i]), formatRow(want[i]))
			}
		}
	}
}
