package exec

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/shopspring/decimal"
)

// runAggregate aggregates recs (each a list of columns of Go values) of
// schema and returns the result rows.
func runAggregate(t *testing.T, mem memory.Allocator, schema *arrow.Schema, keys []int, aggs []Aggregate, recs ...[][]any) [][]any {
	t.Helper()
	h, err := NewHashAggregate(schema, keys, aggs)
	if err != nil {
		t.Fatal(err)
	}
	for _, cols := range recs {
		rec := buildRecord(mem, schema, cols...)
		err := h.Add(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	return h.Results()
}

// assertSameRows fails t unless got and want hold the same rows in some
// order.
func assertSameRows(t *testing.T, got, want [][]any) {
	t.Helper()
	sortRows(got)
	sortRows(want)
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = sameRow(got[i], want[i])
	}
	if !ok {
		t.Fatalf("got rows:\n%swant:\n%s", formatRows(got), formatRows(want))
	}
}

// sortRows sorts rows by their printed form.
func sortRows(rows [][]any) {
	type printed struct {
		s   string
		row []any
	}
	ps := make([]printed, len(rows))
	for i, r := range rows {
		ps[i] = printed{formatRow(r), r}
	}
	slices.SortStableFunc(ps, func(a, b printed) int { return strings.Compare(a.s, b.s) })
	for i, p := range ps {
		rows[i] = p.row
	}
}

// allFuncs is every aggregate of column 0, with AVG at scale 4.
var allFuncs = []Aggregate{
	{Func: CountStar},
	{Func: Count},
	{Func: CountDistinct},
	{Func: Min},
	{Func: Max},
	{Func: Sum},
	{Func: Avg, AvgScale: 4},
}

// countMinMax is the aggregates of allFuncs that work on every type.
var countMinMax = allFuncs[:5]

func TestHashAggregateGlobalFunctions(t *testing.T) {
	type tc struct {
		name string
		typ  arrow.DataType
		in   []any
		// want holds COUNT(*), COUNT, COUNT(DISTINCT), MIN, MAX, and SUM
		// and AVG unless the type has no sum.
		want []any
	}
	i64, u64 := func(v int64) any { return v }, func(v uint64) any { return v }
	cases := []tc{
		{"int8", tInt8, []any{int8(-128), int8(127), nil, int8(5), int8(5)},
			[]any{i64(5), i64(4), i64(3), int8(-128), int8(127), dec("9"), dec("2.2500")}},
		{"int16", tInt16, []any{int16(-300), int16(300), int16(7)},
			[]any{i64(3), i64(3), i64(3), int16(-300), int16(300), dec("7"), dec("2.3333")}},
		{"int32", tInt32, []any{nil, int32(math.MinInt32), int32(math.MaxInt32)},
			[]any{i64(3), i64(2), i64(2), int32(math.MinInt32), int32(math.MaxInt32), dec("-1"), dec("-0.5000")}},
		{"int64 sum beyond int64", tInt64, []any{int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64)},
			[]any{i64(3), i64(3), i64(1), int64(math.MaxInt64), int64(math.MaxInt64),
				dec("27670116110564327421"), dec("9223372036854775807.0000")}},
		{"int64 sum below int64", tInt64, []any{int64(math.MinInt64), int64(math.MinInt64), int64(-1)},
			[]any{i64(3), i64(3), i64(2), int64(math.MinInt64), int64(-1),
				dec("-18446744073709551617"), dec("-6148914691236517205.6667")}},
		{"uint8", tUint8, []any{uint8(255), uint8(0), nil}, []any{i64(3), i64(2), i64(2), uint8(0), uint8(255), dec("255"), dec("127.5000")}},
		{"uint16", tUint16, []any{uint16(65535)}, []any{i64(1), i64(1), i64(1), uint16(65535), uint16(65535), dec("65535"), dec("65535.0000")}},
		{"uint32", tUint32, []any{uint32(math.MaxUint32), uint32(1)}, []any{i64(2), i64(2), i64(2), uint32(1), uint32(math.MaxUint32), dec("4294967296"), dec("2147483648.0000")}},
		{"uint64 near max", tUint64, []any{u64(math.MaxUint64), u64(math.MaxUint64 - 1), nil},
			[]any{i64(3), i64(2), i64(2), u64(math.MaxUint64 - 1), u64(math.MaxUint64),
				dec("36893488147419103229"), dec("18446744073709551614.5000")}},
		{"float64 with both zeros", tFloat64, []any{1.5, math.Copysign(0, -1), 0.0, nil, 2.25},
			[]any{i64(5), i64(4), i64(3), 0.0, 2.25, 3.75, 0.9375}},
		{"float32", tFloat32, []any{float32(0.5), float32(0.25)},
			[]any{i64(2), i64(2), i64(2), float32(0.25), float32(0.5), 0.75, 0.375}},
		{"decimal128 small", tDec128(10, 2), []any{dec128("12345"), dec128("-5"), nil},
			[]any{i64(3), i64(2), i64(2), dec128("-5"), dec128("12345"), dec("123.40"), dec("61.7000")}},
		{"decimal128 beyond int128 sum", tDec128(38, 2),
			[]any{dec128("99999999999999999999999999999999999999"), dec128("99999999999999999999999999999999999999"), dec128("-1"), dec128("99999999999999999999999999999999999999")},
			[]any{i64(4), i64(4), i64(2), dec128("-1"), dec128("99999999999999999999999999999999999999"),
				dec("2999999999999999999999999999999999999.96"), dec("749999999999999999999999999999999999.9900")}},
		{"decimal128 negative beyond int64", tDec128(38, 0),
			[]any{dec128("-99999999999999999999999999999999999999"), dec128("-99999999999999999999999999999999999999"), dec128("-12345678901234567890")},
			[]any{i64(3), i64(3), i64(2), dec128("-99999999999999999999999999999999999999"), dec128("-12345678901234567890"),
				dec("-200000000000000000012345678901234567888"), dec("-66666666666666666670781892967078189296.0000")}},
		{"decimal256", tDec256(76, 10),
			[]any{dec256("9999999999999999999999999999999999999999999999999999999999999999999999999999"), dec256("1"), dec256("-3")},
			[]any{i64(3), i64(3), i64(3), dec256("-3"), dec256("9999999999999999999999999999999999999999999999999999999999999999999999999999"),
				dec("999999999999999999999999999999999999999999999999999999999999999999.9999999997"),
				dec("333333333333333333333333333333333333333333333333333333333333333333.3333")}},
		{"string", tString, []any{"b", "a", "", nil, "ab", "a"},
			[]any{i64(6), i64(5), i64(4), "", "b"}},
		{"binary", tBinary, []any{[]byte{0xff}, []byte{0}, []byte{}, []byte{0}},
			[]any{i64(4), i64(4), i64(3), []byte{}, []byte{0xff}}},
		{"dictionary string", tDictStr, []any{"b", "a", nil, "b", "c"},
			[]any{i64(5), i64(4), i64(3), "a", "c"}},
		{"dictionary binary", tDictBin, []any{[]byte("b"), nil},
			[]any{i64(2), i64(1), i64(1), []byte("b"), []byte("b")}},
		{"date32", tDate32, []any{arrow.Date32(-5), arrow.Date32(19000), nil},
			[]any{i64(3), i64(2), i64(2), arrow.Date32(-5), arrow.Date32(19000)}},
		{"timestamp", tTSUTC, []any{arrow.Timestamp(1e15), arrow.Timestamp(-1)},
			[]any{i64(2), i64(2), i64(2), arrow.Timestamp(-1), arrow.Timestamp(1e15)}},
		{"duration", tDur, []any{arrow.Duration(3), arrow.Duration(-3), arrow.Duration(3)},
			[]any{i64(3), i64(3), i64(2), arrow.Duration(-3), arrow.Duration(3)}},
		{"bool", tBool, []any{true, nil, false, true},
			[]any{i64(4), i64(3), i64(2), false, true}},
		{"bool all true", tBool, []any{true, true}, []any{i64(2), i64(2), i64(1), true, true}},
		{"all NULL", tInt64, []any{nil, nil},
			[]any{i64(2), i64(0), i64(0), nil, nil, nil, nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := newAllocator(t)
			aggs := allFuncs[:len(c.want)]
			got := runAggregate(t, mem, schemaOf(c.typ), nil, aggs, [][]any{c.in})
			assertSameRows(t, got, [][]any{c.want})
			// The same input split over two records, aggregated in two
			// partial aggregates and merged.
			h1, _ := NewHashAggregate(schemaOf(c.typ), nil, aggs)
			h2, _ := NewHashAggregate(schemaOf(c.typ), nil, aggs)
			half := len(c.in) / 2
			for i, h := range []*HashAggregate{h1, h2} {
				part := c.in[:half]
				if i == 1 {
					part = c.in[half:]
				}
				rec := buildRecord(mem, schemaOf(c.typ), part)
				if err := h.Add(rec); err != nil {
					t.Fatal(err)
				}
				rec.Release()
			}
			if err := h1.Merge(h2); err != nil {
				t.Fatal(err)
			}
			assertSameRows(t, h1.Results(), [][]any{c.want})
		})
	}
}

func TestHashAggregateAvgRoundsHalfAwayFromZero(t *testing.T) {
	mem := newAllocator(t)
	schema := schemaOf(tInt64, tDec128(10, 1))
	cases := []struct {
		name  string
		in    []any
		col   int
		scale int32
		want  any
	}{
		{"positive half up", []any{int64(1), int64(2)}, 0, 0, dec("2")},
		{"negative half down", []any{int64(-1), int64(-2)}, 0, 0, dec("-2")},
		{"below half", []any{int64(1), int64(1), int64(2)}, 0, 0, dec("1")},
		{"thirds", []any{int64(1), int64(1), int64(2)}, 0, 4, dec("1.3333")},
		{"two thirds", []any{int64(1), int64(2), int64(2)}, 0, 4, dec("1.6667")},
		{"negative two thirds", []any{int64(-1), int64(-2), int64(-2)}, 0, 4, dec("-1.6667")},
		{"decimal keeps scale", []any{dec128("15"), dec128("20")}, 1, 5, dec("1.75000")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cols := [][]any{make([]any, len(c.in)), make([]any, len(c.in))}
			cols[c.col] = c.in
			got := runAggregate(t, mem, schema, nil, []Aggregate{{Func: Avg, Col: c.col, AvgScale: c.scale}}, cols)
			assertSameRows(t, got, [][]any{{c.want}})
		})
	}
}

func TestHashAggregateEmptyInput(t *testing.T) {
	mem := newAllocator(t)
	schema := schemaOf(tInt32, tFloat64, tString)
	aggs := []Aggregate{{Func: CountStar}, {Func: Count, Col: 2}, {Func: CountDistinct, Col: 0},
		{Func: Sum, Col: 0}, {Func: Avg, Col: 1}, {Func: Min, Col: 2}, {Func: Max, Col: 0}}
	empty := [][]any{{}, {}, {}}
	t.Run("global without records", func(t *testing.T) {
		got := runAggregate(t, mem, schema, nil, aggs)
		assertSameRows(t, got, [][]any{{int64(0), int64(0), int64(0), nil, nil, nil, nil}})
	})
	t.Run("global over an empty record", func(t *testing.T) {
		got := runAggregate(t, mem, schema, nil, aggs, empty)
		assertSameRows(t, got, [][]any{{int64(0), int64(0), int64(0), nil, nil, nil, nil}})
	})
	for _, keys := range [][]int{{0}, {2}, {0, 2}} {
		h, err := NewHashAggregate(schema, keys, aggs)
		if err != nil {
			t.Fatal(err)
		}
		rec := buildRecord(mem, schema, empty...)
		if err := h.Add(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		if h.Len() != 0 || len(h.Results()) != 0 {
			t.Errorf("keys %v: %d groups over no rows, want none", keys, h.Len())
		}
	}
}

func TestHashAggregateGroupsByValue(t *testing.T) {
	negZero := math.Copysign(0, -1)
	cases := []struct {
		name string
		typ  arrow.DataType
		in   []any
		// want holds (key, COUNT(*)) rows.
		want [][]any
	}{
		{"int8 direct", tInt8, []any{int8(-1), int8(127), nil, int8(-1), int8(-128), nil},
			[][]any{{int8(-1), int64(2)}, {int8(127), int64(1)}, {int8(-128), int64(1)}, {nil, int64(2)}}},
		{"uint16 direct", tUint16, []any{uint16(65535), uint16(0), uint16(65535)},
			[][]any{{uint16(65535), int64(2)}, {uint16(0), int64(1)}}},
		{"int32", tInt32, []any{int32(7), int32(-7), int32(7), nil, int32(math.MinInt32)},
			[][]any{{int32(7), int64(2)}, {int32(-7), int64(1)}, {nil, int64(1)}, {int32(math.MinInt32), int64(1)}}},
		{"uint64", tUint64, []any{uint64(math.MaxUint64), uint64(0), uint64(math.MaxUint64)},
			[][]any{{uint64(math.MaxUint64), int64(2)}, {uint64(0), int64(1)}}},
		{"float64 zeros are one group", tFloat64, []any{negZero, 0.0, 1.5, nil, negZero},
			[][]any{{0.0, int64(3)}, {1.5, int64(1)}, {nil, int64(1)}}},
		{"float32 zeros are one group", tFloat32, []any{float32(negZero), float32(0)},
			[][]any{{float32(0), int64(2)}}},
		{"decimal128", tDec128(38, 3), []any{dec128("-99999999999999999999999999999999999999"), dec128("5"), nil, dec128("5")},
			[][]any{{dec128("-99999999999999999999999999999999999999"), int64(1)}, {dec128("5"), int64(2)}, {nil, int64(1)}}},
		{"decimal256", tDec256(70, 0), []any{dec256("-1"), dec256("1"), dec256("-1")},
			[][]any{{dec256("-1"), int64(2)}, {dec256("1"), int64(1)}}},
		{"string", tString, []any{"a", "", nil, "a", "A", ""},
			[][]any{{"a", int64(2)}, {"", int64(2)}, {nil, int64(1)}, {"A", int64(1)}}},
		{"binary", tBinary, []any{[]byte{0}, []byte{}, []byte{0}, nil},
			[][]any{{[]byte{0}, int64(2)}, {[]byte{}, int64(1)}, {nil, int64(1)}}},
		{"date32", tDate32, []any{arrow.Date32(1), arrow.Date32(1)}, [][]any{{arrow.Date32(1), int64(2)}}},
		{"timestamp", tTS, []any{arrow.Timestamp(-1), nil, arrow.Timestamp(-1)},
			[][]any{{arrow.Timestamp(-1), int64(2)}, {nil, int64(1)}}},
		{"duration", tDur, []any{arrow.Duration(1), arrow.Duration(2)},
			[][]any{{arrow.Duration(1), int64(1)}, {arrow.Duration(2), int64(1)}}},
		{"bool", tBool, []any{true, false, nil, true},
			[][]any{{true, int64(2)}, {false, int64(1)}, {nil, int64(1)}}},
		{"dictionary string", tDictStr, []any{"x", nil, "y", "x"},
			[][]any{{"x", int64(2)}, {nil, int64(1)}, {"y", int64(1)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := newAllocator(t)
			got := runAggregate(t, mem, schemaOf(c.typ), []int{0}, []Aggregate{{Func: CountStar}}, [][]any{c.in})
			assertSameRows(t, got, c.want)
			// As the first column of a composite key with a constant column.
			consts := make([]any, len(c.in))
			for i := range consts {
				consts[i] = int8(1)
			}
			got = runAggregate(t, mem, schemaOf(c.typ, tInt8), []int{0, 1}, []Aggregate{{Func: CountStar}}, [][]any{c.in, consts})
			var want [][]any
			for _, w := range c.want {
				want = append(want, []any{w[0], int8(1), w[1]})
			}
			assertSameRows(t, got, want)
		})
	}
}

func TestHashAggregateCompositeKeys(t *testing.T) {
	mem := newAllocator(t)
	schema := schemaOf(tInt32, tString, tDictStr, tFloat64, tInt64)
	cols := [][]any{
		{int32(1), int32(1), int32(1), nil, nil, int32(2), int32(1)},
		{"a", "b", "a", "a", nil, "a", "a"},
		{"x", "x", "x", "x", "x", nil, "y"},
		{1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0},
		{int64(10), int64(20), int64(30), nil, int64(50), int64(60), int64(70)},
	}
	aggs := []Aggregate{{Func: CountStar}, {Func: Sum, Col: 4}, {Func: Max, Col: 1}}
	got := runAggregate(t, mem, schema, []int{0, 1, 2}, aggs, cols)
	want := [][]any{
		{int32(1), "a", "x", int64(2), dec("40"), "a"},
		{int32(1), "b", "x", int64(1), dec("20"), "b"},
		{nil, "a", "x", int64(1), nil, "a"},
		{nil, nil, "x", int64(1), dec("50"), nil},
		{int32(2), "a", nil, int64(1), dec("60"), "a"},
		{int32(1), "a", "y", int64(1), dec("70"), "a"},
	}
	assertSameRows(t, got, want)
}

func TestHashAggregateDictionaryKeysAcrossDictionaries(t *testing.T) {
	mem := newAllocator(t)
	schema := schemaOf(tDictStr, tInt64)
	// Three records whose dictionaries differ: entries in another order,
	// unused entries, a NULL entry and NULL indexes.
	dicts := []struct {
		dict []any
		idx  []any
		vals []any
	}{
		{[]any{"x", "y", "unused"}, []any{0, 1, 0, nil}, []any{int64(1), int64(2), int64(3), int64(4)}},
		{[]any{"y", nil, "x", "z"}, []any{0, 1, 2, 3, 0}, []any{int64(5), int64(6), int64(7), int64(8), nil}},
		{[]any{"z", "also unused"}, []any{0}, []any{int64(9)}},
	}
	recs := make([]arrow.Record, len(dicts))
	for i, d := range dicts {
		col := buildDict(mem, tDictStr, d.dict, d.idx)
		vals := buildArray(mem, tInt64, d.vals)
		recs[i] = array.NewRecordBatch(schema, []arrow.Array{col, vals}, int64(col.Len()))
		col.Release()
		vals.Release()
		defer recs[i].Release()
	}
	aggs := []Aggregate{{Func: CountStar}, {Func: Sum, Col: 1}, {Func: CountDistinct, Col: 0}, {Func: Min, Col: 0}}
	want := [][]any{
		{"x", int64(3), dec("11"), int64(1), "x"},
		{"y", int64(3), dec("7"), int64(1), "y"},
		{"z", int64(2), dec("17"), int64(1), "z"},
		{nil, int64(2), dec("10"), int64(0), nil},
	}
	t.Run("one aggregate", func(t *testing.T) {
		h, _ := NewHashAggregate(schema, []int{0}, aggs)
		for _, rec := range recs {
			if err := h.Add(rec); err != nil {
				t.Fatal(err)
			}
		}
		assertSameRows(t, h.Results(), want)
	})
	t.Run("merged partials", func(t *testing.T) {
		parts := make([]*HashAggregate, len(recs))
		for i, rec := range recs {
			parts[i], _ = NewHashAggregate(schema, []int{0}, aggs)
			if err := parts[i].Add(rec); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range []*HashAggregate{parts[0], parts[1]} {
			if err := parts[2].Merge(p); err != nil {
				t.Fatal(err)
			}
		}
		assertSameRows(t, parts[2].Results(), want)
	})
	t.Run("composite key", func(t *testing.T) {
		h, _ := NewHashAggregate(schema, []int{0, 0}, aggs)
		other, _ := NewHashAggregate(schema, []int{0, 0}, aggs)
		for i, rec := range recs {
			dst := h
			if i == 1 {
				dst = other
			}
			if err := dst.Add(rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.Merge(other); err != nil {
			t.Fatal(err)
		}
		var wantComposite [][]any
		for _, w := range want {
			wantComposite = append(wantComposite, append([]any{w[0]}, w...))
		}
		assertSameRows(t, h.Results(), wantComposite)
	})
}

func TestHashAggregateSlicedRecords(t *testing.T) {
	mem := newAllocator(t)
	schema := schemaOf(tInt32, tString, tDictStr, tFloat64, tDec128(20, 2), tBool, tInt64, tBinary)
	const n = 100
	cols := make([][]any, schema.NumFields())
	for i := range n {
		null := i%7 == 3
		vals := []any{int32(i % 5), string(rune('a' + i%4)), string(rune('p' + i%3)), float64(i%6) / 2,
			decimal128.FromI64(int64(i * 1001)), i%3 == 0, int64(i * i), []byte{byte(i % 9)}}
		for c, v := range vals {
			if null && c != 0 {
				v = nil
			}
			cols[c] = append(cols[c], v)
		}
	}
	aggs := []Aggregate{{Func: CountStar}, {Func: Sum, Col: 6}, {Func: Avg, Col: 4, AvgScale: 6}, {Func: Sum, Col: 3},
		{Func: Min, Col: 1}, {Func: Max, Col: 2}, {Func: CountDistinct, Col: 7}, {Func: Max, Col: 5}, {Func: Count, Col: 2}}
	full := buildRecord(mem, schema, cols...)
	defer full.Release()
	for _, keys := range [][]int{nil, {0}, {1}, {2}, {5}, {0, 2, 7}} {
		whole, _ := NewHashAggregate(schema, keys, aggs)
		if err := whole.Add(full); err != nil {
			t.Fatal(err)
		}
		// The same rows as three slices, each a record with a non-zero
		// offset into shared buffers.
		sliced, _ := NewHashAggregate(schema, keys, aggs)
		for _, bounds := range [][2]int64{{0, 13}, {13, 61}, {61, n}} {
			part := full.NewSlice(bounds[0], bounds[1])
			if err := sliced.Add(part); err != nil {
				t.Fatal(err)
			}
			part.Release()
		}
		assertSameRows(t, sliced.Results(), whole.Results())
		// One slice against a record built from just its rows.
		part := full.NewSlice(37, 58)
		h1, _ := NewHashAggregate(schema, keys, aggs)
		if err := h1.Add(part); err != nil {
			t.Fatal(err)
		}
		part.Release()
		sub := make([][]any, len(cols))
		for c := range cols {
			sub[c] = cols[c][37:58]
		}
		assertSameRows(t, h1.Results(), runAggregate(t, mem, schema, keys, aggs, sub))
	}
}

func TestHashAggregateManyGroups(t *testing.T) {
	// Enough groups to grow every table several times, in keys of every
	// grouper: fixed width, byte strings and composite.
	mem := newAllocator(t)
	schema := schemaOf(tInt64, tString, tInt16)
	const n = 20000
	cols := [][]any{make([]any, n), make([]any, n), make([]any, n)}
	for i := range n {
		k := int64(i % 5000)
		cols[0][i] = k * 7919
		cols[1][i] = strings.Repeat("k", int(k%3)) + string(rune('a'+k%26)) + string(rune('a'+k/26%26)) + string(rune('a'+k/676))
		cols[2][i] = int16(k)
	}
	aggs := []Aggregate{{Func: CountStar}, {Func: Sum, Col: 2}}
	for _, keys := range [][]int{{0}, {1}, {2}, {0, 1}, {2, 0}} {
		got := runAggregate(t, mem, schema, keys, aggs, cols)
		if len(got) != 5000 {
			t.Fatalf("keys %v: %d groups, want 5000", keys, len(got))
		}
		total := int64(0)
		for _, row := range got {
			if row[len(keys)] != int64(4) {
				t.Fatalf("keys %v: group %s has %v rows, want 4", keys, formatRow(row), row[len(keys)])
			}
			total += row[len(keys)+1].(decimal.Decimal).IntPart()
		}
		if want := int64(4 * 4999 * 5000 / 2); total != want {
			t.Fatalf("keys %v: sums add up to %d, want %d", keys, total, want)
		}
	}
}

func TestNewHashAggregateRejectsUnsupported(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: tString}, {Name: "b", Type: tBinary}, {Name: "d", Type: tDate32},
		{Name: "ts", Type: tTSUTC}, {Name: "ok", Type: tBool}, {Name: "dur", Type: tDur},
		{Name: "ds", Type: tDictStr}, {Name: "list", Type: arrow.ListOf(tInt32)}, {Name: "i", Type: tInt32},
	}, nil)
	cases := []struct {
		name        string
		keys        []int
		agg         Aggregate
		unsupported bool
		mentions    string
	}{
		{"SUM over string", nil, Aggregate{Func: Sum, Col: 0}, true, `"s"`},
		{"AVG over binary", nil, Aggregate{Func: Avg, Col: 1}, true, `"b"`},
		{"SUM over date", nil, Aggregate{Func: Sum, Col: 2}, true, `"d"`},
		{"AVG over timestamp", nil, Aggregate{Func: Avg, Col: 3}, true, `"ts"`},
		{"SUM over bool", nil, Aggregate{Func: Sum, Col: 4}, true, `"ok"`},
		{"SUM over duration", nil, Aggregate{Func: Sum, Col: 5}, true, `"dur"`},
		{"SUM over dictionary string", nil, Aggregate{Func: Sum, Col: 6}, true, `"ds"`},
		{"MIN over list", nil, Aggregate{Func: Min, Col: 7}, true, `"list"`},
		{"GROUP BY list", []int{7}, Aggregate{Func: CountStar}, true, `"list"`},
		{"column out of range", nil, Aggregate{Func: Count, Col: 9}, false, "column 9"},
		{"key out of range", []int{-1}, Aggregate{Func: CountStar}, false, "column -1"},
		{"invalid function", nil, Aggregate{}, false, "invalid aggregate"},
		{"negative AVG scale", nil, Aggregate{Func: Avg, Col: 8, AvgScale: -1}, false, "scale"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewHashAggregate(schema, c.keys, []Aggregate{c.agg})
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrUnsupported) != c.unsupported {
				t.Errorf("errors.Is(%q, ErrUnsupported) = %t, want %t", err, !c.unsupported, c.unsupported)
			}
			if !strings.Contains(err.Error(), c.mentions) {
				t.Errorf("error %q does not mention %s", err, c.mentions)
			}
		})
	}
	// COUNT, COUNT(DISTINCT), MIN and MAX work on every supported type.
	for c := range schema.NumFields() {
		if c == 7 {
			continue
		}
		for _, f := range []Func{Count, CountDistinct, Min, Max} {
			if _, err := NewHashAggregate(schema, []int{c}, []Aggregate{{Func: f, Col: c}}); err != nil {
				t.Errorf("%s over %s: %v", f, schema.Field(c).Name, err)
			}
		}
	}
}

func TestHashAggregateAddRejectsOtherSchema(t *testing.T) {
	mem := newAllocator(t)
	h, _ := NewHashAggregate(schemaOf(tInt32), []int{0}, []Aggregate{{Func: CountStar}})
	for _, schema := range []*arrow.Schema{schemaOf(tInt64), schemaOf(tInt32, tInt32)} {
		cols := make([][]any, schema.NumFields())
		rec := buildRecord(mem, schema, cols...)
		if err := h.Add(rec); err == nil {
			t.Errorf("Add accepted a record of schema %s", schema)
		}
		rec.Release()
	}
}

func TestHashAggregateMergeRejectsOtherSpecs(t *testing.T) {
	schema := schemaOf(tInt32, tInt64)
	h, _ := NewHashAggregate(schema, []int{0}, []Aggregate{{Func: CountStar}})
	others := []struct {
		schema *arrow.Schema
		keys   []int
		aggs   []Aggregate
	}{
		{schema, []int{1}, []Aggregate{{Func: CountStar}}},
		{schema, []int{0}, []Aggregate{{Func: Count, Col: 1}}},
		{schemaOf(tInt32, tInt32), []int{0}, []Aggregate{{Func: CountStar}}},
	}
	for _, o := range others {
		other, err := NewHashAggregate(o.schema, o.keys, o.aggs)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Merge(other); err == nil {
			t.Errorf("Merge accepted keys %v aggs %v", o.keys, o.aggs)
		}
	}
	if err := h.Merge(h); err == nil {
		t.Error("Merge accepted the receiver itself")
	}
}
