package main

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// Answers are compared across engines whose result types differ (SUM of an
// integer column is DECIMAL in MariaDB and lakesql, HUGEINT in DuckDB; the
// MySQL text protocol carries numbers as text). Every value is therefore
// normalized to one of int64, float64, string or nil (NULL), and numbers
// are compared by value: integers exactly, anything involving a float
// within a relative tolerance, since engines add floats in different orders.

// tolerance is the relative difference allowed between two numbers that
// are not both integers.
const tolerance = 1e-9

// normalize converts a value a driver returned to int64, float64, string or
// nil. numeric says the column's type is a number, so that text (MariaDB's
// text protocol, lakesql's DECIMAL) is parsed.
func normalize(v any, numeric bool) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return float64(x), nil
		}
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), nil
		}
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, nil
	case duckdb.Decimal:
		return parseNumber(x.String())
	case []byte:
		return normalize(string(x), numeric)
	case string:
		if numeric {
			return parseNumber(x)
		}
		return x, nil
	}
	return nil, fmt.Errorf("unexpected value %v of type %T", v, v)
}

// parseNumber parses the text of a number: an integer if it is one, else a
// float.
func parseNumber(s string) (any, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, nil
	}
	return nil, fmt.Errorf("%q is not a number", s)
}

// numericType says whether a database/sql column type name is a number.
func numericType(name string) bool {
	name = strings.ToUpper(name)
	for _, t := range []string{"INT", "DEC", "NUMERIC", "DOUBLE", "FLOAT", "REAL"} {
		if strings.Contains(name, t) {
			return true
		}
	}
	return false
}

// sameCell reports whether two normalized values are equal: strings and
// two integers exactly, numbers within tolerance.
func sameCell(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if sa, ok := a.(string); ok {
		sb, ok := b.(string)
		return ok && sa == sb
	}
	if ia, ok := a.(int64); ok {
		if ib, ok := b.(int64); ok {
			return ia == ib
		}
	}
	fa, ok1 := toFloat(a)
	fb, ok2 := toFloat(b)
	if !ok1 || !ok2 {
		return false
	}
	return fa == fb || math.Abs(fa-fb) <= tolerance*max(math.Abs(fa), math.Abs(fb))
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// compareCells orders normalized values: NULL first, then numbers by
// value, then strings.
func compareCells(a, b any) int {
	rank := func(v any) int {
		switch v.(type) {
		case nil:
			return 0
		case string:
			return 2
		}
		return 1
	}
	if r := cmp.Compare(rank(a), rank(b)); r != 0 {
		return r
	}
	switch x := a.(type) {
	case nil:
		return 0
	case string:
		return cmp.Compare(x, b.(string))
	}
	fa, _ := toFloat(a)
	fb, _ := toFloat(b)
	return cmp.Compare(fa, fb)
}

// diff returns "" when got is the same answer as want, or says where it
// differs. Unless ordered, rows are compared as sets (both sorted first).
func diff(want, got [][]any, ordered bool) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d rows, want %d", len(got), len(want))
	}
	if !ordered {
		want, got = sortedRows(want), sortedRows(got)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			return fmt.Sprintf("row %d has %d columns, want %d", i+1, len(got[i]), len(want[i]))
		}
		for j := range want[i] {
			if !sameCell(want[i][j], got[i][j]) {
				return fmt.Sprintf("row %d is %s, want %s", i+1, showRow(got[i]), showRow(want[i]))
			}
		}
	}
	return ""
}

func sortedRows(rows [][]any) [][]any {
	s := slices.Clone(rows)
	slices.SortFunc(s, func(a, b []any) int {
		for i := range min(len(a), len(b)) {
			if c := compareCells(a[i], b[i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(a), len(b))
	})
	return s
}

// showRow spells a row for a message.
func showRow(row []any) string {
	parts := make([]string, len(row))
	for i, v := range row {
		switch x := v.(type) {
		case nil:
			parts[i] = "NULL"
		case string:
			parts[i] = strconv.Quote(x)
		case float64:
			parts[i] = strconv.FormatFloat(x, 'g', -1, 64)
		default:
			parts[i] = fmt.Sprint(x)
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
