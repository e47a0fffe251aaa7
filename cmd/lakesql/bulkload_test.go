package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	lsql "github.com/lakesql/lakesql/sql"
	"github.com/lakesql/lakesql/store/mem"
)

// The conversions of sql.BulkLoader (the sql package's own tests belong to
// its owners; the loader is exercised here, through Embedded.BulkLoad).

func newEmbedded(t *testing.T, stmts ...string) (*lsql.Embedded, *lsql.Conn) {
	t.Helper()
	ctx := context.Background()
	e := lsql.NewEmbedded(lsql.Config{Store: mem.New(), Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { e.Close(ctx) })
	c := e.Connect("root", "")
	t.Cleanup(c.Close)
	for _, q := range append([]string{"CREATE DATABASE d", "USE d"}, stmts...) {
		if _, err := c.Query(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return e, c
}

func TestBulkLoadConversions(t *testing.T) {
	ctx := context.Background()
	e, c := newEmbedded(t, `CREATE TABLE t (
		i8 TINYINT, u16 SMALLINT UNSIGNED, i BIGINT PRIMARY KEY, u BIGINT UNSIGNED, f FLOAT, d DOUBLE, dm DECIMAL(6,2),
		c CHAR(3), vc VARCHAR(4), tx TEXT, bin BINARY(3), vb VARBINARY(4), dt DATE, dtm DATETIME(3), ts TIMESTAMP, tm TIME, b BOOLEAN, j JSON)`)
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	rows := [][]any{
		{"-5", "65535", "1", "18446744073709551615", "1.5", "2.25", "1.005", "ab", "wxyz", "long text", "ab", []byte{1, 2}, "2024-01-02", "2024-01-02 03:04:05.6789", "2024-01-02T03:04:05Z", "12:34:56", "true", `{"a": [1, 2]}`},
		{int8(7), uint16(9), int64(2), uint64(3), float32(0.5), 1.0 / 3, 12.345, 42, int64(1234), []byte("bytes"), "xyz", "abcd", at, at, at, 90 * time.Minute, 1, "[]"},
		{nil, nil, 3, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
		{" 12 ", "3.6", 4, "7", 10, "1e2", "-0.5", "", "", "", "", "", "2024-02-29", "2024-02-29", "2024-02-29 23:59:59.9", "-01:02:03", "0", "null"},
	}
	v, err := e.BulkLoad(ctx, "d", "", "t", rows, lsql.BulkLoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v != 2 {
		t.Errorf("version %d, want 2", v)
	}
	res, err := c.Query(ctx, "SELECT * FROM t ORDER BY i")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Rows {
		got = append(got, fmt.Sprint(r))
	}
	want := []string{
		"[-5 65535 1 18446744073709551615 1.5 2.25 1.01 ab wxyz long text ab\x00 \x01\x02 2024-01-02 2024-01-02 03:04:05.679 2024-01-02 03:04:05 12:34:56 1 {\"a\": [1, 2]}]",
		"[7 9 2 3 0.5 0.3333333333333333 12.35 42 1234 bytes xyz abcd 2024-05-06 2024-05-06 07:08:09.123 2024-05-06 06:08:09 01:30:00 1 []]",
		"[<nil> <nil> 3 <nil> <nil> <nil> <nil> <nil> <nil> <nil> <nil> <nil> <nil> <nil> <nil> <nil> <nil> <nil>]",
		"[12 4 4 7 10 100 -0.50    \x00\x00\x00  2024-02-29 2024-02-29 00:00:00 2024-03-01 00:00:00 -01:02:03 0 null]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%q\nwant:\n%q", got, want)
	}

	for _, tc := range []struct {
		col  int
		v    any
		want string
	}{
		{0, "300", "out of range"},
		{0, "x", "not an integer"},
		{1, -1, "out of range"},
		{3, "-1", "out of range"},
		{4, "abc", "not a number"},
		{5, math.NaN(), "not a finite number"},
		{5, "inf", "not a finite number"},
		{6, "10000", "out of range"},
		{6, "x", "not a decimal"},
		{7, "abcd", "too long"},
		{8, "héllo", "too long"},
		{10, "abcd", "too long"},
		{12, "2024-13-45", "cannot read"},
		{16, "maybe", "not a boolean"},
		{17, "{", "not a valid JSON"},
		{2, nil, "NOT NULL"},
	} {
		row := make([]any, 18)
		row[2] = int64(100 + tc.col)
		row[tc.col] = tc.v
		_, err := e.BulkLoad(ctx, "d", "", "t", [][]any{row}, lsql.BulkLoadOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "row 1") {
			t.Errorf("column %d = %v: %v, want an error with %q", tc.col, tc.v, err, tc.want)
		}
	}
	if res, _ := c.Query(ctx, "SELECT COUNT(*) FROM t"); fmt.Sprint(res.Rows) != "[[4]]" {
		t.Errorf("failed loads wrote rows: %v", res.Rows)
	}
}

func TestBulkLoadKeys(t *testing.T) {
	ctx := context.Background()
	e, c := newEmbedded(t, "CREATE TABLE k (a INT, b VARCHAR(8), v INT DEFAULT 7, PRIMARY KEY (b, a))", "INSERT INTO k VALUES (1, 'x', 1), (2, 'x', 2)")
	named := lsql.BulkLoadOptions{Columns: []string{"A", "b"}}
	// A key in the table; two rows with one key; both refused whole.
	_, err := e.BulkLoad(ctx, "d", "", "k", [][]any{{3, "x"}, {2, "x"}}, named)
	var dup *lsql.DuplicateKeyError
	if !errors.As(err, &dup) || dup.Row != 2 || dup.FirstRow != 0 || dup.Key != "[x,2]" {
		t.Errorf("existing key: %v (%+v)", err, dup)
	}
	_, err = e.BulkLoad(ctx, "d", "", "k", [][]any{{5, "y"}, {6, "y"}, {5, "y"}}, named)
	if !errors.As(err, &dup) || dup.Row != 3 || dup.FirstRow != 1 {
		t.Errorf("key twice: %v (%+v)", err, dup)
	}
	// Upsert: the last row of a key wins; unnamed columns take DEFAULT.
	named.Upsert = true
	if _, err := e.BulkLoad(ctx, "d", "", "k", [][]any{{2, "x"}, {5, "y"}, {5, "y"}}, named); err != nil {
		t.Fatal(err)
	}
	res, err := c.Query(ctx, "SELECT a, b, v FROM k ORDER BY b, a")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Rows); got != "[[1 x 1] [2 x 7] [5 y 7]]" {
		t.Errorf("after upsert: %s", got)
	}
	// Names the table lacks, and a table that is not there.
	if _, err := e.BulkLoad(ctx, "d", "", "k", nil, lsql.BulkLoadOptions{Columns: []string{"a", "b", "nope"}}); err == nil || !strings.Contains(err.Error(), "no column nope") {
		t.Errorf("unknown column: %v", err)
	}
	if _, err := e.BulkLoad(ctx, "d", "", "missing", nil, lsql.BulkLoadOptions{}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("unknown table: %v", err)
	}
	// A keyless table gets hidden row ids from the writer: equal rows stay
	// distinct rows.
	if _, err := c.Query(ctx, "CREATE TABLE nk (a INT)"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.BulkLoad(ctx, "d", "", "nk", [][]any{{1}, {1}, {2}}, lsql.BulkLoadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := c.Query(ctx, "SELECT a, COUNT(*) FROM nk GROUP BY a ORDER BY a"); err != nil || fmt.Sprint(res.Rows) != "[[1 4] [2 2]]" {
		t.Errorf("keyless: %v %v", res, err)
	}
	if _, err := c.Query(ctx, "DELETE FROM nk WHERE a = 2"); err != nil {
		t.Fatal(err)
	}
	if res, err := c.Query(ctx, "SELECT COUNT(*) FROM nk"); err != nil || fmt.Sprint(res.Rows) != "[[4]]" {
		t.Errorf("keyless after delete: %v %v", res, err)
	}
}
