package main

import (
	"errors"
	"math/big"
	"testing"

	"github.com/duckdb/duckdb-go/v2"
)

func TestNormalize(t *testing.T) {
	huge, _ := new(big.Int).SetString("499999500000", 10)
	for _, c := range []struct {
		in      any
		numeric bool
		want    any
	}{
		{nil, true, nil},
		{int32(7), true, int64(7)},
		{uint64(7), true, int64(7)},
		{huge, true, int64(499999500000)},
		{duckdb.Decimal{Width: 38, Scale: 0, Value: big.NewInt(42)}, true, int64(42)},
		{[]byte("499999500000"), true, int64(499999500000)}, // MariaDB's DECIMAL SUM
		{[]byte("0.25"), true, 0.25},
		{"0.5", true, 0.5}, // lakesql's DECIMAL as text
		{[]byte("s000000000000123"), false, "s000000000000123"},
	} {
		got, err := normalize(c.in, c.numeric)
		if err != nil || got != c.want {
			t.Errorf("normalize(%#v, %v) = %#v, %v; want %#v", c.in, c.numeric, got, err, c.want)
		}
	}
	if _, err := normalize("abc", true); err == nil {
		t.Error("normalize of non-numeric text in a numeric column: no error")
	}
}

func TestDiff(t *testing.T) {
	a := [][]any{{int64(1), 0.5}, {int64(2), "x"}}
	for _, c := range []struct {
		name    string
		got     [][]any
		ordered bool
		same    bool
	}{
		{"equal", [][]any{{int64(1), 0.5}, {int64(2), "x"}}, true, true},
		{"float within tolerance", [][]any{{int64(1), 0.5 * (1 + 1e-12)}, {int64(2), "x"}}, true, true},
		{"float outside tolerance", [][]any{{int64(1), 0.5 * (1 + 1e-6)}, {int64(2), "x"}}, true, false},
		{"int against float", [][]any{{1.0, 0.5}, {int64(2), "x"}}, true, true},
		{"other order, as sets", [][]any{{int64(2), "x"}, {int64(1), 0.5}}, false, true},
		{"other order, ordered", [][]any{{int64(2), "x"}, {int64(1), 0.5}}, true, false},
		{"missing row", [][]any{{int64(1), 0.5}}, false, false},
		{"NULL", [][]any{{int64(1), nil}, {int64(2), "x"}}, true, false},
		{"string", [][]any{{int64(1), 0.5}, {int64(2), "y"}}, true, false},
	} {
		if got := diff(a, c.got, c.ordered); (got == "") != c.same {
			t.Errorf("%s: diff = %q, want same=%v", c.name, got, c.same)
		}
	}
	if diff([][]any{{int64(1 << 60)}}, [][]any{{int64(1<<60 + 1)}}, true) == "" {
		t.Error("two different large integers compared equal")
	}
}

func TestCheck(t *testing.T) {
	right := [][]any{{int64(1000)}}
	wrong := [][]any{{int64(999)}}
	ms := map[string]*measurement{
		duckParquet:    {rows: wrong}, // outvoted, although preferred
		mariaDB:        {rows: right},
		lakesqlManaged: {rows: right},
		lakesqlVirtual: {err: errors.New("failed")},
	}
	check(ms, false)
	if ms[duckParquet].wrong == "" {
		t.Error("the outvoted answer is not marked wrong")
	}
	for _, name := range []string{mariaDB, lakesqlManaged, lakesqlVirtual} {
		if ms[name].wrong != "" {
			t.Errorf("%s marked wrong: %s", name, ms[name].wrong)
		}
	}
}

func TestCheckTiePrefersDuckDB(t *testing.T) {
	ms := map[string]*measurement{
		duckParquet:    {rows: [][]any{{"a"}}},
		lakesqlManaged: {rows: [][]any{{"b"}}},
	}
	check(ms, true)
	if ms[duckParquet].wrong != "" || ms[lakesqlManaged].wrong == "" {
		t.Errorf("tie: duckdb wrong=%q, lakesql wrong=%q; want lakesql marked", ms[duckParquet].wrong, ms[lakesqlManaged].wrong)
	}
}
