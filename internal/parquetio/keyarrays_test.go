package parquetio

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
)

// keyGen is one key column of the tests: its SQL type, a generator of
// random values (the Go values Encode takes) and the SQL order of them.
type keyGen struct {
	typ  string
	gen  func(r *rand.Rand) any
	less func(a, b any) int
}

// smallStrings are strings that are prefixes of each other and hold zero
// bytes, where a careless encoding would order them wrongly.
var smallStrings = []string{"", "\x00", "\x00\x00", "\x00\x01", "a", "a\x00", "a\x00b", "a\x00\xff", "a\x01", "ab", "ab\x00", "b", "\xff", "\xff\x00", "héllo"}

var keyGens = map[string]keyGen{
	"BIGINT": {"BIGINT", func(r *rand.Rand) any {
		switch r.IntN(4) {
		case 0:
			return []int64{math.MinInt64, math.MaxInt64, 0, -1, 1}[r.IntN(5)]
		default:
			return r.Int64N(21) - 10
		}
	}, func(a, b any) int { return cmp.Compare(a.(int64), b.(int64)) }},
	"INT": {"INT", func(r *rand.Rand) any {
		if r.IntN(5) == 0 {
			return []int32{math.MinInt32, math.MaxInt32}[r.IntN(2)]
		}
		return int32(r.IntN(7) - 3)
	}, func(a, b any) int { return cmp.Compare(a.(int32), b.(int32)) }},
	"BIGINT UNSIGNED": {"BIGINT UNSIGNED", func(r *rand.Rand) any {
		return []uint64{0, 1, 2, 1 << 63, (1 << 63) - 1, math.MaxUint64}[r.IntN(6)]
	}, func(a, b any) int { return cmp.Compare(a.(uint64), b.(uint64)) }},
	"DOUBLE": {"DOUBLE", func(r *rand.Rand) any {
		return []float64{math.Inf(-1), -1e300, -2.5, -1, -0.5, -math.SmallestNonzeroFloat64, math.Copysign(0, -1), 0,
			math.SmallestNonzeroFloat64, 0.5, 1, 2.5, 1e300, math.Inf(1), math.NaN()}[r.IntN(15)]
	}, func(a, b any) int {
		x, y := a.(float64), b.(float64)
		// SQL order with NaN last and -0 equal to +0.
		switch {
		case math.IsNaN(x) && math.IsNaN(y):
			return 0
		case math.IsNaN(x):
			return 1
		case math.IsNaN(y):
			return -1
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}},
	"VARCHAR(32)": {"VARCHAR(32)", func(r *rand.Rand) any {
		if r.IntN(4) == 0 {
			b := make([]byte, r.IntN(6))
			for i := range b {
				b[i] = []byte{0, 1, 'a', 0xff}[r.IntN(4)]
			}
			return string(b)
		}
		return smallStrings[r.IntN(len(smallStrings))]
	}, func(a, b any) int { return strings.Compare(a.(string), b.(string)) }},
	"VARBINARY(32)": {"VARBINARY(32)", func(r *rand.Rand) any {
		return []byte(smallStrings[r.IntN(len(smallStrings))])
	}, func(a, b any) int { return bytes.Compare(a.([]byte), b.([]byte)) }},
	"DATE": {"DATE", func(r *rand.Rand) any {
		return arrow.Date32([]int32{-719162, -365, -1, 0, 1, 19000, 19001, 2932896}[r.IntN(8)])
	}, func(a, b any) int { return cmp.Compare(a.(arrow.Date32), b.(arrow.Date32)) }},
	"TIMESTAMP(6)": {"TIMESTAMP(6)", func(r *rand.Rand) any {
		return arrow.Timestamp([]int64{-62135596800000000, -1, 0, 1, 1_700_000_000_000_000, 1_700_000_000_000_001}[r.IntN(6)])
	}, func(a, b any) int { return cmp.Compare(a.(arrow.Timestamp), b.(arrow.Timestamp)) }},
	"DECIMAL(12,3)": {"DECIMAL(12,3)", func(r *rand.Rand) any {
		return decimal128.FromI64([]int64{-999_999_999_999, -1000, -1, 0, 1, 999, 1000, 999_999_999_999}[r.IntN(8)])
	}, func(a, b any) int { return a.(decimal128.Num).BigInt().Cmp(b.(decimal128.Num).BigInt()) }},
	"BOOLEAN": {"BOOLEAN", func(r *rand.Rand) any { return r.IntN(2) == 1 }, func(a, b any) int {
		x, y := 0, 0
		if a.(bool) {
			x = 1
		}
		if b.(bool) {
			y = 1
		}
		return cmp.Compare(x, y)
	}},
}

// keySchema returns a schema whose columns are a non-key INT column
// followed by key columns of the given types (ids 10, 11, ...), and the
// key's column ids.
func keySchema(types []string) (*base.Schema, []int) {
	s := &base.Schema{Columns: []base.Column{{ID: 1, Name: "other", Type: "INT", Nullable: true}}}
	var key []int
	for i, typ := range types {
		id := 10 + i
		s.Columns = append(s.Columns, base.Column{ID: id, Name: fmt.Sprintf("k%d", i), Type: typ, Nullable: true})
		key = append(key, id)
	}
	s.NextColumnID = 10 + len(types)
	return s, key
}

// appendAny appends a generated value (nil: NULL) to b.
func appendAny(t testing.TB, b array.Builder, v any) {
	t.Helper()
	if v == nil {
		b.AppendNull()
		return
	}
	switch bb := b.(type) {
	case *array.Int64Builder:
		bb.Append(v.(int64))
	case *array.Int32Builder:
		bb.Append(v.(int32))
	case *array.Uint64Builder:
		bb.Append(v.(uint64))
	case *array.Float64Builder:
		bb.Append(v.(float64))
	case *array.StringBuilder:
		bb.Append(v.(string))
	case *array.BinaryBuilder:
		bb.Append(v.([]byte))
	case *array.Date32Builder:
		bb.Append(v.(arrow.Date32))
	case *array.TimestampBuilder:
		bb.Append(v.(arrow.Timestamp))
	case *array.Decimal128Builder:
		bb.Append(v.(decimal128.Num))
	case *array.BooleanBuilder:
		bb.Append(v.(bool))
	default:
		t.Fatalf("no test builder for %T", b)
	}
}

// keyArrays builds the key columns' arrays (in the Arrow types of
// ArrowSchema) of rows, rows[r][i] the value of key column i.
func keyArrays(t testing.TB, s *base.Schema, key []int, rows [][]any) []arrow.Array {
	t.Helper()
	as, err := ArrowSchema(s, key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]arrow.Array, len(key))
	for i := range key {
		b := array.NewBuilder(memory.DefaultAllocator, as.Field(i).Type)
		for _, r := range rows {
			appendAny(t, b, r[i])
		}
		out[i] = b.NewArray()
		b.Release()
	}
	return out
}

func releaseAll(arrs []arrow.Array) {
	for _, a := range arrs {
		a.Release()
	}
}

// TestEncodeArraysMatchesEncode: for random multi-column keys the keys
// EncodeArrays returns are, row by row, the keys Encode returns for the
// same values, and they order as the SQL tuples do.
func TestEncodeArraysMatchesEncode(t *testing.T) {
	for _, types := range [][]string{
		{"BIGINT"},
		{"VARCHAR(32)"},
		{"BIGINT", "VARCHAR(32)", "DOUBLE", "DATE"},
		{"VARCHAR(32)", "VARCHAR(32)", "INT"},
		{"DOUBLE", "VARBINARY(32)", "BIGINT UNSIGNED"},
		{"DATE", "TIMESTAMP(6)", "DECIMAL(12,3)", "BOOLEAN", "VARCHAR(32)"},
	} {
		t.Run(strings.Join(types, ","), func(t *testing.T) {
			seed := rand.Uint64()
			r := rand.New(rand.NewPCG(seed, 7))
			s, key := keySchema(types)
			enc, err := NewKeyEncoder(s, key)
			if err != nil {
				t.Fatal(err)
			}
			n := 300 + r.IntN(100)
			rows := make([][]any, n)
			for i := range rows {
				rows[i] = make([]any, len(types))
				for j, typ := range types {
					rows[i][j] = keyGens[typ].gen(r)
				}
			}
			arrs := keyArrays(t, s, key, rows)
			defer releaseAll(arrs)
			keys, err := enc.EncodeArrays(arrs)
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if len(keys) != n {
				t.Fatalf("seed %d: %d keys for %d rows", seed, len(keys), n)
			}
			for i, row := range rows {
				want, err := enc.Encode(row...)
				if err != nil {
					t.Fatalf("seed %d: Encode(%#v): %v", seed, row, err)
				}
				if keys[i] != want {
					t.Fatalf("seed %d: row %d %#v: EncodeArrays gives %x, Encode %x", seed, i, row, keys[i], want)
				}
			}
			// The keys order as the tuples do, column by column.
			tupleCmp := func(a, b []any) int {
				for j, typ := range types {
					if c := keyGens[typ].less(a[j], b[j]); c != 0 {
						return c
					}
				}
				return 0
			}
			for i := range rows {
				for j := range rows {
					want := tupleCmp(rows[i], rows[j])
					got := strings.Compare(string(keys[i]), string(keys[j]))
					if got != want {
						t.Fatalf("seed %d: rows %#v and %#v compare %d as keys, %d as tuples", seed, rows[i], rows[j], got, want)
					}
				}
			}
		})
	}
}

// TestEncodeArraysSliced: arrays that are slices of larger ones (an
// offset into their buffers) encode their own rows.
func TestEncodeArraysSliced(t *testing.T) {
	types := []string{"VARCHAR(32)", "BIGINT", "VARBINARY(32)"}
	s, key := keySchema(types)
	enc, err := NewKeyEncoder(s, key)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	rows := make([][]any, 50)
	for i := range rows {
		rows[i] = []any{fmt.Sprintf("s%02d\x00%s", i, strings.Repeat("x", i%5)), int64(i * 3), []byte(smallStrings[r.IntN(len(smallStrings))])}
	}
	arrs := keyArrays(t, s, key, rows)
	defer releaseAll(arrs)
	const lo, hi = 17, 41
	sliced := make([]arrow.Array, len(arrs))
	for i, a := range arrs {
		sliced[i] = array.NewSlice(a, lo, hi)
	}
	defer releaseAll(sliced)
	keys, err := enc.EncodeArrays(sliced)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != hi-lo {
		t.Fatalf("%d keys, want %d", len(keys), hi-lo)
	}
	for i, k := range keys {
		want, err := enc.Encode(rows[lo+i]...)
		if err != nil {
			t.Fatal(err)
		}
		if k != want {
			t.Fatalf("sliced row %d (row %d): %x, want %x", i, lo+i, k, want)
		}
	}
}

// TestEncodeArraysErrors: a NULL in a key column names the row and the
// column; columns of the wrong number or of different lengths fail; no
// rows give no keys.
func TestEncodeArraysErrors(t *testing.T) {
	types := []string{"BIGINT", "VARCHAR(32)"}
	s, key := keySchema(types)
	enc, err := NewKeyEncoder(s, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		nullRow, nullCol int
	}{{0, 0}, {7, 1}, {9, 0}, {9, 1}} {
		rows := make([][]any, 10)
		for i := range rows {
			rows[i] = []any{int64(i), fmt.Sprint(i)}
		}
		rows[tc.nullRow][tc.nullCol] = nil
		arrs := keyArrays(t, s, key, rows)
		keys, err := enc.EncodeArrays(arrs)
		releaseAll(arrs)
		if err == nil {
			t.Errorf("NULL at row %d column %d: keys %q, want an error", tc.nullRow, tc.nullCol, keys)
			continue
		}
		if want := fmt.Sprintf("row %d", tc.nullRow); !strings.Contains(err.Error(), want) {
			t.Errorf("NULL at row %d column %d: %v, want it to name %q", tc.nullRow, tc.nullCol, err, want)
		}
		if want := fmt.Sprintf("k%d", tc.nullCol); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "NULL") {
			t.Errorf("NULL at row %d column %d: %v, want it to name column %q as NULL", tc.nullRow, tc.nullCol, err, want)
		}
	}

	rows := [][]any{{int64(1), "a"}, {int64(2), "b"}}
	arrs := keyArrays(t, s, key, rows)
	defer releaseAll(arrs)
	if _, err := enc.EncodeArrays(arrs[:1]); err == nil {
		t.Error("one array for a key of two columns: no error")
	}
	short := array.NewSlice(arrs[1], 0, 1)
	defer short.Release()
	if _, err := enc.EncodeArrays([]arrow.Array{arrs[0], short}); err == nil {
		t.Error("arrays of 2 and 1 rows: no error")
	}
	empty := []arrow.Array{array.NewSlice(arrs[0], 0, 0), array.NewSlice(arrs[1], 0, 0)}
	defer releaseAll(empty)
	keys, err := enc.EncodeArrays(empty)
	if err != nil || len(keys) != 0 {
		t.Errorf("no rows: %q, %v", keys, err)
	}
}
