package exec

import (
	"errors"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// runTopN offers recs (each a list of columns of Go values) of schema to a
// TopN and returns its results.
func runTopN(t *testing.T, mem memory.Allocator, schema *arrow.Schema, keys []SortKey, limit int64, out []int, recs ...[][]any) [][]any {
	t.Helper()
	top, err := NewTopN(schema, keys, limit, out)
	if err != nil {
		t.Fatal(err)
	}
	for _, cols := range recs {
		rec := buildRecord(mem, schema, cols...)
		err := top.Add(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	return top.Results()
}

// assertRowsInOrder fails t unless got equals want row by row.
func assertRowsInOrder(t *testing.T, got, want [][]any) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = sameRow(got[i], want[i])
	}
	if !ok {
		t.Fatalf("got rows:\n%swant:\n%s", formatRows(got), formatRows(want))
	}
}

// column returns vals as single-value rows.
func column(vals ...any) [][]any {
	rows := make([][]any, len(vals))
	for i, v := range vals {
		rows[i] = []any{v}
	}
	return rows
}

func TestTopNOrdersLikeMySQL(t *testing.T) {
	cases := []struct {
		name  string
		typ   arrow.DataType
		desc  bool
		limit int64
		in    []any
		want  []any
	}{
		{"int32 NULL first ascending", tInt32, false, 3, []any{int32(3), nil, int32(-1), int32(2)}, []any{nil, int32(-1), int32(2)}},
		{"int32 NULL last descending", tInt32, true, 10, []any{int32(3), nil, int32(-1), int32(2)}, []any{int32(3), int32(2), int32(-1), nil}},
		{"int64 extremes", tInt64, false, 3, []any{int64(0), int64(math.MaxInt64), int64(math.MinInt64)}, []any{int64(math.MinInt64), int64(0), int64(math.MaxInt64)}},
		{"uint64 near max", tUint64, true, 2, []any{uint64(1), uint64(math.MaxUint64), uint64(math.MaxUint64 - 1)}, []any{uint64(math.MaxUint64), uint64(math.MaxUint64 - 1)}},
		{"int8", tInt8, false, 2, []any{int8(5), int8(-128), int8(127)}, []any{int8(-128), int8(5)}},
		{"uint8", tUint8, true, 2, []any{uint8(5), uint8(255), uint8(0)}, []any{uint8(255), uint8(5)}},
		{"float64", tFloat64, false, 4, []any{1.5, math.Inf(-1), -2.25, math.Inf(1)}, []any{math.Inf(-1), -2.25, 1.5, math.Inf(1)}},
		{"float32 descending", tFloat32, true, 3, []any{float32(-1), float32(2), nil, float32(0.5)}, []any{float32(2), float32(0.5), float32(-1)}},
		{"decimal128 beyond int64", tDec128(38, 4), false, 3,
			[]any{dec128("99999999999999999999999"), dec128("-99999999999999999999999"), dec128("0"), nil},
			[]any{nil, dec128("-99999999999999999999999"), dec128("0")}},
		{"decimal256", tDec256(76, 0), true, 2, []any{dec256("-1"), dec256("10000000000000000000000000000000000000000000000000000"), dec256("5")},
			[]any{dec256("10000000000000000000000000000000000000000000000000000"), dec256("5")}},
		{"string bytewise", tString, false, 5, []any{"b", "a", "", "B", "ab"}, []any{"", "B", "a", "ab", "b"}},
		{"binary bytewise", tBinary, true, 3, []any{[]byte{0}, []byte{0xff}, []byte{}, nil}, []any{[]byte{0xff}, []byte{0}, []byte{}}},
		{"dictionary string", tDictStr, true, 3, []any{"b", nil, "c", "a"}, []any{"c", "b", "a"}},
		{"date32", tDate32, false, 2, []any{arrow.Date32(3), arrow.Date32(-3)}, []any{arrow.Date32(-3), arrow.Date32(3)}},
		{"timestamp", tTSUTC, true, 2, []any{arrow.Timestamp(-5), arrow.Timestamp(5), nil}, []any{arrow.Timestamp(5), arrow.Timestamp(-5)}},
		{"duration", tDur, false, 1, []any{arrow.Duration(5), arrow.Duration(-5)}, []any{arrow.Duration(-5)}},
		{"bool false before true", tBool, false, 3, []any{true, false, nil}, []any{nil, false, true}},
		{"limit 0", tInt32, false, 0, []any{int32(1)}, nil},
		{"limit beyond input", tInt32, false, 100, []any{int32(2), int32(1)}, []any{int32(1), int32(2)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := newAllocator(t)
			got := runTopN(t, mem, schemaOf(c.typ), []SortKey{{Col: 0, Desc: c.desc}}, c.limit, []int{0}, [][]any{c.in})
			assertRowsInOrder(t, got, column(c.want...))
		})
	}
}

func TestTopNKeepsTiesInArrivalOrder(t *testing.T) {
	mem := newAllocator(t)
	schema := schemaOf(tInt32, tString)
	keys := []SortKey{{Col: 0}}
	// Three records of rows with equal keys; the earliest rows win.
	recs := [][][]any{
		{{int32(1), int32(2), int32(1)}, {"a", "b", "c"}},
		{{int32(1), int32(0), int32(1)}, {"d", "e", "f"}},
		{{int32(1), int32(1)}, {"g", "h"}},
	}
	got := runTopN(t, mem, schema, keys, 4, []int{1, 0}, recs...)
	assertRowsInOrder(t, got, [][]any{{"e", int32(0)}, {"a", int32(1)}, {"c", int32(1)}, {"d", int32(1)}})

	t.Run("both zeros tie", func(t *testing.T) {
		schema := schemaOf(tFloat64, tString)
		cols := [][]any{{0.0, math.Copysign(0, -1), -1.0, 0.0}, {"a", "b", "c", "d"}}
		for _, desc := range []bool{false, true} {
			got := runTopN(t, mem, schema, []SortKey{{Col: 0, Desc: desc}}, 3, []int{1}, cols)
			want := column("c", "a", "b")
			if desc {
				want = column("a", "b", "d")
			}
			assertRowsInOrder(t, got, want)
		}
	})

	t.Run("merge puts the receiver's rows first", func(t *testing.T) {
		first, _ := NewTopN(schema, keys, 3, []int{1})
		second, _ := NewTopN(schema, keys, 3, []int{1})
		for i, cols := range recs {
			rec := buildRecord(mem, schema, cols...)
			top := first
			if i == 1 {
				top = second
			}
			if err := top.Add(rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
		}
		// first holds records 0 and 2, second record 1: second's rows
		// count as added after all of first's.
		if err := first.Merge(second); err != nil {
			t.Fatal(err)
		}
		assertRowsInOrder(t, first.Results(), [][]any{{"e"}, {"a"}, {"c"}})
		if err := second.Merge(first); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTopNSeveralKeys(t *testing.T) {
	mem := newAllocator(t)
	schema := schemaOf(tString, tFloat64, tInt64)
	cols := [][]any{
		{"x", "y", "x", nil, "y", "x"},
		{1.0, 2.0, 3.0, 4.0, nil, 3.0},
		{int64(0), int64(1), int64(2), int64(3), int64(4), int64(5)},
	}
	keys := []SortKey{{Col: 0, Desc: true}, {Col: 1}}
	got := runTopN(t, mem, schema, keys, 5, []int{2}, cols)
	assertRowsInOrder(t, got, column(int64(4), int64(1), int64(0), int64(2), int64(5)))
}

func TestTopNWithoutKeysKeepsTheFirstRows(t *testing.T) {
	mem := newAllocator(t)
	schema := schemaOf(tInt32)
	got := runTopN(t, mem, schema, nil, 3, []int{0}, [][]any{{int32(5), int32(4)}}, [][]any{{int32(3), int32(2)}})
	assertRowsInOrder(t, got, column(int32(5), int32(4), int32(3)))
}

func TestTopNSlicedRecords(t *testing.T) {
	mem := newAllocator(t)
	schema := schemaOf(tFloat64, tDictStr, tString)
	const n = 200
	cols := [][]any{make([]any, n), make([]any, n), make([]any, n)}
	for i := range n {
		cols[0][i] = float64((i * 37) % 101)
		cols[1][i] = string(rune('a' + (i*13)%26))
		cols[2][i] = string(rune('A' + i%26))
		if i%11 == 0 {
			cols[0][i], cols[1][i] = nil, nil
		}
	}
	rec := buildRecord(mem, schema, cols...)
	defer rec.Release()
	for _, keys := range [][]SortKey{{{Col: 0, Desc: true}}, {{Col: 1}, {Col: 0}}} {
		top, _ := NewTopN(schema, keys, 7, []int{0, 1, 2})
		for _, b := range [][2]int64{{0, 50}, {50, 51}, {51, n}} {
			part := rec.NewSlice(b[0], b[1])
			if err := top.Add(part); err != nil {
				t.Fatal(err)
			}
			part.Release()
		}
		want := runTopN(t, mem, schema, keys, 7, []int{0, 1, 2}, cols)
		assertRowsInOrder(t, top.Results(), want)
	}
}

func TestNewTopNRejects(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "i", Type: tInt32}, {Name: "list", Type: arrow.ListOf(tInt32)}}, nil)
	cases := []struct {
		name        string
		keys        []SortKey
		limit       int64
		out         []int
		unsupported bool
	}{
		{"unsupported key", []SortKey{{Col: 1}}, 1, []int{0}, true},
		{"unsupported output", []SortKey{{Col: 0}}, 1, []int{1}, true},
		{"key out of range", []SortKey{{Col: 2}}, 1, []int{0}, false},
		{"output out of range", []SortKey{{Col: 0}}, 1, []int{-1}, false},
		{"negative limit", []SortKey{{Col: 0}}, -1, []int{0}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewTopN(schema, c.keys, c.limit, c.out)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrUnsupported) != c.unsupported {
				t.Errorf("errors.Is(%q, ErrUnsupported) = %t, want %t", err, !c.unsupported, c.unsupported)
			}
		})
	}
}

func TestTopNMergeRejectsOtherSpecs(t *testing.T) {
	schema := schemaOf(tInt32, tInt64)
	top, _ := NewTopN(schema, []SortKey{{Col: 0}}, 5, []int{1})
	for _, other := range []*TopN{
		must(NewTopN(schema, []SortKey{{Col: 0, Desc: true}}, 5, []int{1})),
		must(NewTopN(schema, []SortKey{{Col: 0}}, 6, []int{1})),
		must(NewTopN(schema, []SortKey{{Col: 0}}, 5, []int{0})),
		must(NewTopN(schemaOf(tInt32, tInt32), []SortKey{{Col: 0}}, 5, []int{1})),
	} {
		if err := top.Merge(other); err == nil {
			t.Errorf("Merge accepted keys %v limit %d out %v", other.keys, other.limit, other.out)
		}
	}
	if err := top.Merge(top); err == nil {
		t.Error("Merge accepted the receiver itself")
	}
}

// must returns v, panicking on err.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
