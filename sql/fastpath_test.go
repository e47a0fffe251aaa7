package sql_test

import (
	"context"
	gosql "database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// TestFastPointSelect: point selects answered without planning give what
// the planned statement gives (the same query with a no-op conjunct
// takes the planned path), in and out of transactions, text and prepared.
func TestFastPointSelect(t *testing.T) {
	s := startServer(t, serverOpts{})
	c := conn(t, s.db(""))
	mustExec(t, c, "CREATE DATABASE d")
	mustExec(t, c, "USE d")
	mustExec(t, c, "CREATE TABLE t (id BIGINT PRIMARY KEY, d DECIMAL(8,3), s VARCHAR(10), dt DATETIME, n INT)")
	mustExec(t, c, "CREATE TABLE ts (k VARCHAR(10) PRIMARY KEY, v INT)")
	mustExec(t, c, "INSERT INTO t VALUES (1, 1.5, 'one', '2026-01-02 03:04:05', NULL), (2, -2.25, NULL, NULL, 2), (3, 0, '', '2000-01-01 00:00:00', 3)")
	mustExec(t, c, "INSERT INTO ts VALUES ('a', 1), ('b', 2)")
	query(t, c, "CALL lakesql_flush()")
	mustExec(t, c, "UPDATE t SET n = 30 WHERE id = 3")

	// A client with server-side prepared statements.
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", s.addr, "d"
	conn2, _ := mysql.NewConnector(cfg)
	prepared := gosql.OpenDB(conn2)
	defer prepared.Close()
	pc := conn(t, prepared)

	same := func(c execer, q string, args ...any) {
		t.Helper()
		fast := query(t, c, q, args...)
		planned := query(t, c, q+" AND 1 = 1", args...)
		if fmt.Sprint(fast) != fmt.Sprint(planned) {
			t.Fatalf("%s %v: fast path %q, planned %q", q, args, fast, planned)
		}
	}
	for _, id := range []int{1, 2, 3, 4, -1} {
		same(c, fmt.Sprintf("SELECT * FROM t WHERE id = %d", id))
		same(c, "SELECT s, id, n FROM t WHERE id = ?", id)
		same(pc, "SELECT * FROM t WHERE id = ?", id)
		same(pc, "SELECT d, dt FROM t WHERE `id` = ?", id)
	}
	// Every integer width, signed and unsigned, at its ends, and other types.
	mustExec(t, c, "CREATE TABLE tn (id INT UNSIGNED PRIMARY KEY, a TINYINT, b SMALLINT UNSIGNED, c BIGINT UNSIGNED, d MEDIUMINT, e FLOAT, f DOUBLE, g TEXT, h BOOLEAN, i TINYINT UNSIGNED)")
	mustExec(t, c, "INSERT INTO tn VALUES (0, -128, 0, 0, -8388608, -1.5, 1e300, 'x', true, 0), "+
		"(4294967295, 127, 65535, 18446744073709551615, 8388607, 3.25, -2.5e-300, '', false, 255)")
	for _, id := range []int64{0, 4294967295} {
		same(c, fmt.Sprintf("SELECT * FROM tn WHERE id = %d", id))
		same(pc, "SELECT * FROM tn WHERE id = ?", id)
		same(pc, "SELECT i, c, a FROM tn WHERE id = ?", id)
	}
	same(c, "SELECT * FROM ts WHERE k = 'a'")
	same(c, "SELECT * FROM d.ts WHERE k = 'a'")
	same(c, "SELECT v FROM `d/main`.ts WHERE k = 'b'")
	same(c, "SELECT * FROM lakesql_log WHERE version = 1")
	same(pc, "SELECT * FROM ts WHERE k = ?", "b")
	same(pc, "SELECT * FROM ts WHERE k = ?", "zz")
	expectRows(t, c, "SELECT n FROM t WHERE id = 3", "30")
	if n := s.p.FastSelects(); n < 30 { // of 30
		t.Fatalf("only %d point selects took the fast path", n)
	}

	// Inside a transaction: its own writes, then its snapshot.
	other := conn(t, s.db("d"))
	mustExec(t, c, "BEGIN")
	mustExec(t, c, "UPDATE t SET n = 99 WHERE id = 1")
	mustExec(t, c, "DELETE FROM t WHERE id = 2")
	expectRows(t, c, "SELECT n FROM t WHERE id = 1", "99")
	expectRows(t, c, "SELECT n FROM t WHERE id = 2")
	mustExec(t, other, "UPDATE t SET n = 77 WHERE id = 3")
	expectRows(t, c, "SELECT n FROM t WHERE id = 3", "30")
	expectRows(t, other, "SELECT n FROM t WHERE id = 1", "NULL")
	mustExec(t, c, "ROLLBACK")
	expectRows(t, c, "SELECT n FROM t WHERE id = 3", "77")
	expectRows(t, c, "SELECT n FROM t WHERE id = 2", "2")
	// Errors take the normal path's codes.
	_, err := c.QueryContext(context.Background(), "SELECT * FROM nope WHERE id = 1")
	if code := errCode(err); code != 1146 {
		t.Fatalf("unknown table: %v (code %d)", err, code)
	}
}

// TestFastInsert: INSERTs of literal rows answered without planning give
// what the planned statement gives (a leading comment sends the same text
// down the planned path): affected rows, errors, and the rows.
func TestFastInsert(t *testing.T) {
	s := startServer(t, serverOpts{})
	c := conn(t, s.db(""))
	mustExec(t, c, "CREATE DATABASE d")
	mustExec(t, c, "USE d")
	for _, tbl := range []string{"fast", "planned"} {
		mustExec(t, c, "CREATE TABLE "+tbl+" (id BIGINT PRIMARY KEY, k INT, v DOUBLE, s VARCHAR(4), d DECIMAL(5,2), dt DATE, u TINYINT UNSIGNED NOT NULL, UNIQUE KEY (s))")
	}
	stmts := []string{
		"INSERT INTO %s VALUES (1, 10, 0.5, 'a', 1.25, '2026-01-02', 1), (2, 20, 1e3, 'b', -3, NULL, 2)",
		"INSERT INTO %s VALUES (1, 99, 0, 'z', 0, NULL, 0)",
		"INSERT INTO %s VALUES (3, 30, 3, 'c', 3, NULL, 3) ON DUPLICATE KEY UPDATE k = VALUES(k)",
		"INSERT INTO %s VALUES (3, 31, 3, 'c', 3, NULL, 3), (4, 40, 4, 'dd', 4, NULL, 4) ON DUPLICATE KEY UPDATE k = VALUES(k), v = VALUES(v)",
		"INSERT INTO %s VALUES (3, 31, 3, 'c', 3, NULL, 3) ON DUPLICATE KEY UPDATE k = VALUES(k)",
		"INSERT INTO %s (u, id, k, v, s, d, dt) VALUES (5, 5, 50, 5, 'e', 5.5, '2020-02-29')",
		"INSERT INTO %s VALUES (6, 60, 6, 'toolong', 6, NULL, 6)",
		"INSERT INTO %s VALUES (7, 70, 7, 'g', 1000, NULL, 7)",
		"INSERT INTO %s VALUES (8, 80, 8, 'h', 8, NULL, 300)",
		"INSERT INTO %s VALUES (9, 90, 9, 'i', 9, NULL, NULL)",
		"INSERT INTO %s VALUES (10, 100, 10, 'a', 10, NULL, 10)",
		"INSERT INTO %s VALUES (11, 110, 11, 'k', 11, NULL, 11), (11, 111, 11, 'l', 11, NULL, 11)",
		"INSERT INTO %s VALUES (12, 120, 12, 'm''', 12, NULL, 12)",
		"INSERT INTO %s VALUES (2, 21, 1e3, 'b', -3, NULL, 2) ON DUPLICATE KEY UPDATE k = VALUES(k)",
		"INSERT INTO d.%s VALUES (20, 200, 20, 'q', 20, NULL, 20)",
	}
	before := s.p.FastInserts()
	for _, q := range stmts {
		fr, ferr := c.ExecContext(context.Background(), fmt.Sprintf(q, "fast"))
		pr, perr := c.ExecContext(context.Background(), "/* planned */ "+fmt.Sprintf(q, "planned"))
		if errCode(ferr) != errCode(perr) || (ferr == nil) != (perr == nil) {
			t.Fatalf("%s:\n fast: %v\n planned: %v", q, ferr, perr)
		}
		if ferr == nil {
			fn, _ := fr.RowsAffected()
			pn, _ := pr.RowsAffected()
			if fn != pn {
				t.Fatalf("%s: fast path affected %d rows, planned %d", q, fn, pn)
			}
		}
	}
	got := query(t, c, "SELECT * FROM fast ORDER BY id")
	want := query(t, c, "SELECT * FROM planned ORDER BY id")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("fast path rows %q\nplanned rows %q", got, want)
	}
	if n := s.p.FastInserts() - before; n < 6 {
		t.Fatalf("only %d inserts took the fast path", n)
	}
}

// TestFastInsertRaces: batched upserts from 4 connections over the same
// keys all succeed (a statement that loses a race runs again) and leave
// every key with one of the values written.
func TestFastInsertRaces(t *testing.T) {
	s := startServer(t, serverOpts{})
	c := conn(t, s.db(""))
	mustExec(t, c, "CREATE DATABASE d")
	mustExec(t, c, "CREATE TABLE d.u (k INT PRIMARY KEY, w INT, n INT)")
	before := s.p.FastInserts()
	errs := make(chan error, 4)
	for w := range 4 {
		go func() {
			wc, err := s.db("d").Conn(context.Background())
			if err != nil {
				errs <- err
				return
			}
			defer wc.Close()
			for i := range 30 {
				var sb strings.Builder
				sb.WriteString("INSERT INTO u VALUES ")
				for k := range 100 {
					if k > 0 {
						sb.WriteByte(',')
					}
					fmt.Fprintf(&sb, "(%d, %d, %d)", k, w, i)
				}
				sb.WriteString(" ON DUPLICATE KEY UPDATE w = VALUES(w), n = VALUES(n)")
				if _, err := wc.ExecContext(context.Background(), sb.String()); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	expectRows(t, c, "SELECT COUNT(*), MIN(w) >= 0, MAX(w) <= 3, MAX(n) FROM d.u", "100 1 1 29")
	if n := s.p.FastInserts() - before; n != 120 {
		t.Fatalf("%d of 120 upserts took the fast path", n)
	}
}
