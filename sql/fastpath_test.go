package sql_test

import (
	"context"
	gosql "database/sql"
	"fmt"
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
	same(c, "SELECT * FROM ts WHERE k = 'a'")
	same(pc, "SELECT * FROM ts WHERE k = ?", "b")
	same(pc, "SELECT * FROM ts WHERE k = ?", "zz")
	expectRows(t, c, "SELECT n FROM t WHERE id = 3", "30")
	if n := s.p.FastSelects(); n < 24 {
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
