package exec

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/shopspring/decimal"
)

func TestLikeMatcher(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"ab%", "ab", true},
		{"ab%", "abxyz", true},
		{"ab%", "xab", false},
		{"%ab", "xxab", true},
		{"%ab", "abx", false},
		{"%b%", "abc", true},
		{"%b%", "acc", false},
		{"a%b%c", "aXbYc", true},
		{"a%b%c", "abc", true},
		{"a%b%c", "acb", false},
		{"a%a", "a", false}, // prefix and suffix must not overlap
		{"a%a", "aa", true},
		{"%", "", true},
		{"%%", "x", true},
		{"_", "é", true}, // one character, two bytes
		{"__", "é", false},
		{"a_c", "abc", true},
		{"a_c", "ac", false},
		{"%_c", "c", false},
		{"%_c", "éc", true},
		{"_%_", "a", false},
		{"_%_", "ab", true},
		{"a%_b", "axxb", true},
		{"a%_b", "ab", false},
		{`a\%`, "a%", true},
		{`a\%`, "ab", false},
		{`a\_`, "a_", true},
		{`a\_`, "ab", false},
		{`\\`, `\`, true},
		{"ab%", "ab\xff", false}, // not UTF-8: matches nothing
		{"%", "\xff", false},
		{"é%", "éa", true},
		{"E%", "éa", false}, // binary collation: case and accents matter
		{"A%", "a", false},
	} {
		m, err := compileLikePattern(tc.pattern, '\\')
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if got := m.match([]byte(tc.s)); got != tc.want {
			t.Errorf("%q LIKE %q = %v, want %v", tc.s, tc.pattern, got, tc.want)
		}
	}
	for _, bad := range []string{`ab\`, "\xff%"} {
		if _, err := compileLikePattern(bad, '\\'); !errors.Is(err, ErrUnsupported) {
			t.Errorf("pattern %q: %v, want ErrUnsupported", bad, err)
		}
	}
}

func TestFilterRefuses(t *testing.T) {
	schema := schemaOf(tInt64, tUint64, tFloat64, tDec128(10, 2), tString, tDate32, tTS, tDec128(10, 3), tBinary)
	for _, c := range []Cond{
		{Op: CondEq, L: ColOperand(0), R: ColOperand(1)},                                    // signed with unsigned
		{Op: CondEq, L: ColOperand(0), R: ColOperand(2)},                                    // integer with float
		{Op: CondEq, L: ColOperand(3), R: ColOperand(7)},                                    // decimals of two scales
		{Op: CondEq, L: ColOperand(5), R: ColOperand(6)},                                    // date with timestamp
		{Op: CondEq, L: ColOperand(0), R: ConstOperand(1.5)},                                // integer with a float
		{Op: CondEq, L: ColOperand(0), R: ConstOperand("1")},                                // integer with a string
		{Op: CondEq, L: ColOperand(4), R: ConstOperand(int64(1))},                           // string with an integer
		{Op: CondEq, L: ColOperand(1), R: ConstOperand(int64(-1))},                          // unsigned with a negative
		{Op: CondEq, L: ColOperand(3), R: ConstOperand(decimal.RequireFromString("1.001"))}, // finer than the scale
		{Op: CondEq, L: ColOperand(5), R: ConstOperand(int64(3))},                           // date with an integer
		{Op: CondEq, L: ConstOperand(int64(1)), R: ConstOperand(int64(1))},
		{Op: CondLike, L: ColOperand(8), Pattern: "a%", Escape: '\\'}, // LIKE of binary
		{Op: CondLike, L: ColOperand(0), Pattern: "a%", Escape: '\\'},
	} {
		if _, err := NewFilter(schema, c); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%+v: %v, want ErrUnsupported", c, err)
		}
	}
}

// filterTypes are the column types the random filters draw from.
var filterTypes = []arrow.DataType{
	tInt8, tInt32, tInt64, tUint16, tUint64, tFloat32, tFloat64, tDec128(20, 2),
	tString, tBinary, tDate32, tTS, tBool, tDictStr,
	&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: tBinary},
}

func TestFilterMatchesModel(t *testing.T) {
	seed := modelSeed(t)
	r := rand.New(rand.NewPCG(seed, 0))
	mem := newAllocator(t)
	for iter := range 400 {
		cols := make([]modelColumn, 1+r.IntN(4))
		for i := range cols {
			c := &cols[i]
			c.typ = filterTypes[r.IntN(len(filterTypes))]
			c.nullRate = []float64{0, 0, 0.1, 0.5, 1}[r.IntN(5)]
			if card := []int{0, 3, 40}[r.IntN(3)]; card > 0 {
				for range card {
					c.pool = append(c.pool, likeValue(r, c.typ))
				}
			}
		}
		schema := schemaOf(columnTypes(cols)...)
		cond := randCond(r, cols, 3)
		f, err := NewFilter(schema, cond)
		if err != nil {
			t.Fatalf("iteration %d: %s: %v", iter, formatCond(cond), err)
		}
		recs, rows := randRecords(r, mem, schema, cols)
		for k, rec := range recs {
			off := rec.Column(0).Data().Offset()
			var in [][]any
			for i := range int(rec.NumRows()) {
				row := make([]any, rec.NumCols())
				for c := range row {
					row[c] = Value(rec.Column(c), i)
				}
				in = append(in, row)
			}
			for i := range in {
				if !sameRow(in[i], rows[k][i]) {
					t.Fatalf("input row %d: %s vs model %s", i, formatRow(in[i]), formatRow(rows[k][i]))
				}
			}
			out, err := f.Apply(rec)
			if err != nil {
				t.Fatalf("iteration %d: %v", iter, err)
			}
			var want [][]any
			for _, row := range rows[k] {
				if modelCond(cond, row) == tTrue {
					want = append(want, row)
				}
			}
			var got [][]any
			if out != nil {
				for i := range int(out.NumRows()) {
					row := make([]any, out.NumCols())
					for c := range row {
						row[c] = Value(out.Column(c), i)
					}
					got = append(got, row)
				}
				out.Release()
			}
			rec.Release()
			if len(got) != len(want) {
				t.Fatalf("iteration %d: %s over %s: %d rows, want %d", iter, formatCond(cond), schema, len(got), len(want))
			}
			for i := range got {
				if !sameRow(got[i], want[i]) {
					t.Fatalf("iteration %d: %s over %s (record %d, offset %d): row %d:\ngot  %s\nwant %s", iter, formatCond(cond), schema, k, off, i, formatRow(got[i]), formatRow(want[i]))
				}
			}
		}
	}
}

// likeValue is randValue with strings over an alphabet that LIKE
// patterns find: ASCII letters, a two-byte character, an invalid byte.
func likeValue(r *rand.Rand, t arrow.DataType) any {
	if dt, ok := t.(*arrow.DictionaryType); ok {
		t = dt.ValueType
	}
	if _, ok := t.(*arrow.StringType); ok {
		var b strings.Builder
		for range r.IntN(6) {
			b.WriteString([]string{"a", "b", "é", "%", "_", "\xff"}[r.IntN(6)])
		}
		return b.String()
	}
	return randValue(r, t)
}

// class of a random column type, for choosing operands that compare.
func modelClass(t arrow.DataType) string {
	if dt, ok := t.(*arrow.DictionaryType); ok {
		t = dt.ValueType
	}
	switch t.ID() {
	case arrow.INT8, arrow.INT32, arrow.INT64:
		return "signed"
	case arrow.UINT16, arrow.UINT64:
		return "unsigned"
	case arrow.FLOAT32, arrow.FLOAT64:
		return "float"
	case arrow.STRING, arrow.BINARY:
		return "bytes"
	}
	return t.String() // compares only with its own type
}

// randCond returns a random condition over cols that NewFilter accepts.
func randCond(r *rand.Rand, cols []modelColumn, depth int) Cond {
	if depth > 0 && r.IntN(3) == 0 {
		switch r.IntN(3) {
		case 0:
			return Cond{Op: CondNot, Args: []Cond{randCond(r, cols, depth-1)}}
		default:
			op := CondAnd
			if r.IntN(2) == 0 {
				op = CondOr
			}
			args := []Cond{randCond(r, cols, depth-1), randCond(r, cols, depth-1)}
			if r.IntN(3) == 0 {
				args = append(args, randCond(r, cols, depth-1))
			}
			return Cond{Op: op, Args: args}
		}
	}
	c := r.IntN(len(cols))
	typ := cols[c].typ
	switch r.IntN(6) {
	case 0:
		return Cond{Op: CondIsNull, L: ColOperand(c)}
	case 1:
		if modelClass(typ) == "bytes" && valueType(typ).ID() == arrow.STRING {
			var p strings.Builder
			for range r.IntN(5) {
				p.WriteString([]string{"a", "b", "é", "%", "_", `\%`, `\_`}[r.IntN(7)])
			}
			return Cond{Op: CondLike, L: ColOperand(c), Pattern: p.String(), Escape: '\\'}
		}
	}
	op := []CondOp{CondEq, CondNe, CondLt, CondLe, CondGt, CondGe, CondNullSafeEq}[r.IntN(7)]
	var others []int
	for i, o := range cols {
		if modelClass(o.typ) == modelClass(typ) {
			others = append(others, i)
		}
	}
	if r.IntN(2) == 0 {
		if v, ok := constOf(r, cols[c]); ok {
			if r.IntN(2) == 0 {
				return Cond{Op: op, L: ColOperand(c), R: v}
			}
			return Cond{Op: op, L: v, R: ColOperand(c)}
		}
	}
	return Cond{Op: op, L: ColOperand(c), R: ColOperand(others[r.IntN(len(others))])}
}

func valueType(t arrow.DataType) arrow.DataType {
	if dt, ok := t.(*arrow.DictionaryType); ok {
		return dt.ValueType
	}
	return t
}

// constOf returns a constant to compare column c with, in the form
// NewFilter takes: often one of its values, sometimes NULL.
func constOf(r *rand.Rand, c modelColumn) (Operand, bool) {
	if r.IntN(8) == 0 {
		return ConstOperand(nil), true
	}
	v := c.value(r)
	for v == nil && c.nullRate < 1 {
		v = c.value(r)
	}
	switch x := v.(type) {
	case nil:
		return ConstOperand(nil), true
	case int8:
		return ConstOperand(int64(x)), true
	case int32:
		return ConstOperand(int64(x)), true
	case int64:
		return ConstOperand(x), true
	case uint16:
		return ConstOperand(uint64(x)), true
	case uint64:
		return ConstOperand(x), true
	case float32:
		return ConstOperand(float64(x)), true
	case float64:
		return ConstOperand(x), true
	case decimal128.Num:
		return ConstOperand(decimal.NewFromBigInt(x.BigInt(), -2)), true
	case string:
		return ConstOperand(x), true
	case []byte:
		return ConstOperand(string(x)), true
	}
	return Operand{}, false // dates, times, booleans: column against column only
}

// modelCond evaluates c on one row with SQL's three-valued logic.
func modelCond(c Cond, row []any) uint8 {
	switch c.Op {
	case CondAnd, CondOr:
		t := modelCond(c.Args[0], row)
		for _, a := range c.Args[1:] {
			if c.Op == CondAnd {
				t = min(t, modelCond(a, row))
			} else {
				t = max(t, modelCond(a, row))
			}
		}
		return t
	case CondNot:
		return tTrue - modelCond(c.Args[0], row)
	case CondIsNull:
		return boolTruth(row[c.L.Col] == nil)
	case CondLike:
		v := row[c.L.Col]
		if v == nil {
			return tNull
		}
		s := v.(string)
		return boolTruth(utf8.ValidString(s) && likeRegexp(c.Pattern).MatchString(s))
	}
	operand := func(o Operand) any {
		if o.IsConst {
			return o.Value
		}
		return row[o.Col]
	}
	a, b := operand(c.L), operand(c.R)
	if a == nil || b == nil {
		if c.Op == CondNullSafeEq {
			return boolTruth(a == nil && b == nil)
		}
		return tNull
	}
	return truthOf(c.Op, modelCmp(a, b))
}

// likeRegexp translates a LIKE pattern (escape \) into an anchored
// regular expression: a second, independent implementation.
func likeRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '\\':
			i++
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		case '%':
			b.WriteString(`.*`)
		case '_':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

// modelCmp compares two non-NULL values of one comparison class.
func modelCmp(a, b any) int {
	num := func(v any) (*big.Int, bool) {
		switch v.(type) {
		case int8, int16, int32, int64, uint8, uint16, uint32, uint64, arrow.Date32, arrow.Timestamp:
			return modelInt(v), true
		}
		return nil, false
	}
	if x, ok := num(a); ok {
		y, _ := num(b)
		return x.Cmp(y)
	}
	flt := func(v any) float64 {
		if f, ok := v.(float32); ok {
			return float64(f)
		}
		return v.(float64)
	}
	switch x := a.(type) {
	case float32, float64:
		return cmp.Compare(flt(a)+0, flt(b)+0)
	case decimal128.Num:
		if d, ok := b.(decimal.Decimal); ok {
			return decimal.NewFromBigInt(x.BigInt(), -2).Cmp(d)
		}
		return x.BigInt().Cmp(b.(decimal128.Num).BigInt())
	case decimal.Decimal:
		return -modelCmp(b, a)
	case string, []byte:
		return bytes.Compare(asBytes(a), asBytes(b))
	case bool:
		return modelCompare(a, b)
	}
	panic(fmt.Sprintf("modelCmp: %T", a))
}

func asBytes(v any) []byte {
	if s, ok := v.(string); ok {
		return []byte(s)
	}
	return v.([]byte)
}

// formatCond prints a condition for failure messages.
func formatCond(c Cond) string {
	operand := func(o Operand) string {
		if o.IsConst {
			return fmt.Sprintf("%#v", o.Value)
		}
		return fmt.Sprintf("c%d", o.Col)
	}
	switch c.Op {
	case CondAnd, CondOr, CondNot:
		parts := make([]string, len(c.Args))
		for i, a := range c.Args {
			parts[i] = formatCond(a)
		}
		name := map[CondOp]string{CondAnd: " AND ", CondOr: " OR ", CondNot: "NOT "}[c.Op]
		if c.Op == CondNot {
			return "NOT (" + parts[0] + ")"
		}
		return "(" + strings.Join(parts, name) + ")"
	case CondIsNull:
		return operand(c.L) + " IS NULL"
	case CondLike:
		return fmt.Sprintf("%s LIKE %q", operand(c.L), c.Pattern)
	}
	name := map[CondOp]string{CondEq: "=", CondNe: "<>", CondLt: "<", CondLe: "<=", CondGt: ">", CondGe: ">=", CondNullSafeEq: "<=>"}[c.Op]
	return operand(c.L) + " " + name + " " + operand(c.R)
}
