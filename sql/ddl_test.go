package sql_test

import (
	"fmt"
	"strings"
	"testing"

	lsql "github.com/lakesql/lakesql/sql"
	"github.com/lakesql/lakesql/store/local"
)

// TestSchemaChanges: columns added, renamed and dropped without rewriting
// data; older versions keep their schema; an added column's DEFAULT is
// what older rows show.
func TestSchemaChanges(t *testing.T) {
	for _, mode := range storageModes {
		t.Run(mode.name, func(t *testing.T) {
			c := startDB(t, serverOpts{cfg: mode.cfg})
			mustExec(t, c, "CREATE TABLE t (k INT PRIMARY KEY, a VARCHAR(5), b INT)") // v1
			mustExec(t, c, "INSERT INTO t VALUES (1, 'x', 10)")
			expectRows(t, c, "CALL lakesql_commit()", "2")
			mustExec(t, c, "ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT 7") // v3
			mustExec(t, c, "INSERT INTO t (k, a, b) VALUES (2, 'y', 20)")
			mustExec(t, c, "INSERT INTO t VALUES (3, 'z', 30, 3)")
			expectRows(t, c, "SELECT k, a, b, c FROM t ORDER BY k", "1 x 10 7", "2 y 20 7", "3 z 30 3")
			mustExec(t, c, "ALTER TABLE t RENAME COLUMN a TO name") // v4
			expectRows(t, c, "SELECT k, name FROM t WHERE k = 1", "1 x")
			mustExec(t, c, "ALTER TABLE t DROP COLUMN b") // v5
			expectRows(t, c, "SELECT * FROM t ORDER BY k", "1 x 7", "2 y 7", "3 z 3")
			mustExec(t, c, "ALTER TABLE t ADD COLUMN b VARCHAR(3)") // v6: a new column, not the old b
			expectRows(t, c, "SELECT k, b FROM t WHERE k = 1", "1 NULL")
			expectRows(t, c, "SELECT * FROM t AS OF 2", "1 x 10")
			expectRows(t, c, "DESCRIBE t AS OF 2", "k int NO PRI NULL ", "a varchar(5) YES  NULL ", "b int YES  NULL ")
			expectRows(t, c, "SELECT k, name, c, b FROM t AS OF 6 ORDER BY k", "1 x 7 NULL", "2 y 7 NULL", "3 z 3 NULL")
			expectRows(t, c, "SELECT version, operation FROM lakesql_log ORDER BY version",
				"1 CREATE TABLE", "2 COMMIT", "3 ADD COLUMN", "4 ALTER COLUMN", "5 DROP COLUMN", "6 ADD COLUMN")
			mustExec(t, c, "RENAME TABLE t TO u") // v7
			expectRows(t, c, "SHOW TABLES", "u")
			expectRows(t, c, "SHOW TABLES AS OF 6", "t")
			mustExec(t, c, "TRUNCATE TABLE u") // v8
			expectRows(t, c, "SELECT COUNT(*) FROM u", "0")
			expectRows(t, c, "SELECT COUNT(*) FROM t AS OF 6", "3")
			expectRows(t, c, "SELECT COUNT(*) FROM u AS OF 7", "3")
			expectErr(t, c, 1235, "ALTER TABLE u MODIFY COLUMN c BIGINT")
		})
	}
}

// TestIndexes: CREATE/DROP INDEX are recorded; UNIQUE is enforced across
// the MemTable and files, also by INSERT ... ON DUPLICATE KEY UPDATE.
func TestIndexes(t *testing.T) {
	for _, mode := range storageModes {
		t.Run(mode.name, func(t *testing.T) {
			c := startDB(t, serverOpts{cfg: mode.cfg})
			mustExec(t, c, "CREATE TABLE t (k INT PRIMARY KEY, e VARCHAR(20), n INT, UNIQUE KEY ue (e))")
			expectRows(t, c, "SELECT version FROM lakesql_log", "1")
			mustExec(t, c, "INSERT INTO t VALUES (1, 'a@x', 1), (2, 'b@x', 2), (3, NULL, 3), (4, NULL, 4)")
			query(t, c, "CALL lakesql_flush()")
			expectErr(t, c, 1062, "INSERT INTO t VALUES (5, 'a@x', 5)")
			expectErr(t, c, 1062, "UPDATE t SET e = 'b@x' WHERE k = 1")
			mustExec(t, c, "UPDATE t SET e = 'c@x' WHERE k = 1")
			mustExec(t, c, "INSERT INTO t VALUES (5, 'a@x', 5)")
			// ON DUPLICATE KEY UPDATE fires on the unique key too.
			if n := affected(t, c, "INSERT INTO t VALUES (9, 'b@x', 0) ON DUPLICATE KEY UPDATE n = n + 100"); n != 2 {
				t.Fatalf("upsert on a unique key affected %d rows, want 2", n)
			}
			expectRows(t, c, "SELECT k, e, n FROM t ORDER BY k", "1 c@x 1", "2 b@x 102", "3 NULL 3", "4 NULL 4", "5 a@x 5")
			mustExec(t, c, "CREATE INDEX byn ON t (n)")
			expectRows(t, c, "SELECT k FROM t WHERE n > 4 ORDER BY k", "2", "5")
			expectRows(t, c, "SELECT k FROM t WHERE n = 4", "4")
			mustExec(t, c, "CREATE UNIQUE INDEX un ON t (n)")
			expectErr(t, c, 1062, "INSERT INTO t VALUES (6, 'z', 4)")
			mustExec(t, c, "DROP INDEX un ON t")
			mustExec(t, c, "INSERT INTO t VALUES (6, 'z', 4)")
			expectRows(t, c, "SELECT COUNT(*) FROM t WHERE n = 4", "2")
		})
	}
}

// TestKeyless: a table without a primary key keeps equal rows apart, and
// UPDATE and DELETE change exactly the rows they match.
func TestKeyless(t *testing.T) {
	for _, mode := range storageModes {
		t.Run(mode.name, func(t *testing.T) {
			c := startDB(t, serverOpts{cfg: mode.cfg})
			mustExec(t, c, "CREATE TABLE l (a INT, b VARCHAR(4))")
			mustExec(t, c, "INSERT INTO l VALUES (1, 'x'), (1, 'x'), (1, 'x'), (2, 'y'), (NULL, 'n')")
			query(t, c, "CALL lakesql_flush()")
			mustExec(t, c, "INSERT INTO l VALUES (1, 'x')")
			expectRows(t, c, "SELECT a, b, COUNT(*) FROM l GROUP BY a, b ORDER BY a", "NULL n 1", "1 x 4", "2 y 1")
			if n := affected(t, c, "DELETE FROM l WHERE a = 1 LIMIT 2"); n != 2 {
				t.Fatalf("deleted %d", n)
			}
			if n := affected(t, c, "UPDATE l SET b = 'z' WHERE a = 1"); n != 2 {
				t.Fatalf("updated %d", n)
			}
			mustExec(t, c, "UPDATE l SET a = 0 WHERE a IS NULL")
			expectRows(t, c, "SELECT a, b, COUNT(*) FROM l GROUP BY a, b ORDER BY a", "0 n 1", "1 z 2", "2 y 1")
			mustExec(t, c, "DELETE FROM l WHERE b = 'z'")
			expectRows(t, c, "SELECT COUNT(*) FROM l", "2")
			expectRows(t, c, "DESCRIBE l", "a int YES  NULL ", "b varchar(4) YES  NULL ")
		})
	}
}

// TestKeylessTracked: UPDATE and DELETE of a keyless table take each row's
// hidden id from the statement's own scan (no second read of the table),
// inside transactions and over their own writes too; a statement that
// reorders the rows (ORDER BY ... LIMIT) falls back to matching by value.
// Duplicates are changed once each.
func TestKeylessTracked(t *testing.T) {
	c := startDB(t, serverOpts{})
	mustExec(t, c, "CREATE TABLE l (a INT, b VARCHAR(4))")
	var vals []string
	for i := range 300 {
		vals = append(vals, fmt.Sprintf("(%d, 'v%d')", i%10, i%3))
	}
	mustExec(t, c, "INSERT INTO l VALUES "+strings.Join(vals, ", "))
	query(t, c, "CALL lakesql_flush()")
	mustExec(t, c, "INSERT INTO l VALUES (1, 'v1'), (1, 'v1')") // duplicates in the MemTable too
	scans := lsql.KeylessScans()
	if n := affected(t, c, "UPDATE l SET b = 'w' WHERE a = 1 AND b = 'v1'"); n != 12 {
		t.Fatalf("updated %d, want 12", n)
	}
	if n := affected(t, c, "DELETE FROM l WHERE a = 2"); n != 30 {
		t.Fatalf("deleted %d, want 30", n)
	}
	mustExec(t, c, "BEGIN")
	if n := affected(t, c, "UPDATE l SET a = a + 100 WHERE b = 'w'"); n != 12 {
		t.Fatalf("updated %d in a transaction, want 12", n)
	}
	if n := affected(t, c, "UPDATE l SET a = a + 100 WHERE a > 100"); n != 12 { // over its own writes
		t.Fatalf("updated %d own rows, want 12", n)
	}
	mustExec(t, c, "COMMIT")
	if got := lsql.KeylessScans() - scans; got != 0 {
		t.Errorf("%d value-map reads for streaming statements, want 0", got)
	}
	expectRows(t, c, "SELECT a, b, COUNT(*) FROM l WHERE a > 100 GROUP BY a, b", "201 w 12")
	expectRows(t, c, "SELECT COUNT(*) FROM l", "272")
	if n := affected(t, c, "UPDATE l SET b = 'x' WHERE a = 3 ORDER BY b DESC LIMIT 5"); n != 5 {
		t.Fatalf("updated %d with ORDER BY, want 5", n)
	}
	if n := affected(t, c, "DELETE FROM l WHERE a = 4 ORDER BY b LIMIT 7"); n != 7 {
		t.Fatalf("deleted %d with ORDER BY, want 7", n)
	}
	expectRows(t, c, "SELECT b, COUNT(*) FROM l WHERE a = 3 GROUP BY b ORDER BY b", "v0 10", "v1 10", "v2 5", "x 5")
	expectRows(t, c, "SELECT COUNT(*) FROM l WHERE a = 4", "23")
}

// TestInsertSelect: INSERT ... SELECT, also from an older version.
func TestInsertSelect(t *testing.T) {
	c := startDB(t, serverOpts{})
	mustExec(t, c, "CREATE TABLE t (k INT PRIMARY KEY, v INT)")
	mustExec(t, c, "INSERT INTO t VALUES (1, 1), (2, 2)")
	expectRows(t, c, "CALL lakesql_commit()", "2")
	mustExec(t, c, "DELETE FROM t")
	mustExec(t, c, "INSERT INTO t SELECT k, v * 10 FROM t AS OF 2")
	expectRows(t, c, "SELECT k, v FROM t ORDER BY k", "1 10", "2 20")
	mustExec(t, c, "CREATE TABLE u (k INT PRIMARY KEY, v INT)")
	mustExec(t, c, "INSERT INTO u SELECT * FROM t WHERE v > 15")
	expectRows(t, c, "SELECT k, v FROM u", "2 20")
}

// TestViews: views are versioned like tables.
func TestViews(t *testing.T) {
	c := startDB(t, serverOpts{})
	mustExec(t, c, "CREATE TABLE t (k INT PRIMARY KEY, v INT)")
	mustExec(t, c, "INSERT INTO t VALUES (1, 10), (2, 20), (3, 30)")
	mustExec(t, c, "CREATE VIEW big AS SELECT k, v FROM t WHERE v > 15") // v2
	expectRows(t, c, "SELECT k FROM big ORDER BY k", "2", "3")
	expectRows(t, c, "SHOW TABLES", "big", "t")
	expectErr(t, c, 1105, "CREATE VIEW big AS SELECT 1")
	expectErr(t, c, 1050, "CREATE TABLE big (a INT)")
	mustExec(t, c, "DROP VIEW big") // v3
	expectErr(t, c, 1146, "SELECT * FROM big")
	mustExec(t, c, "CREATE VIEW big AS SELECT k FROM t WHERE v > 25") // v4
	expectRows(t, c, "SELECT k FROM big", "3")
	expectRows(t, c, "SELECT version, operation FROM lakesql_log ORDER BY version", "1 CREATE TABLE", "2 CREATE VIEW", "3 DROP VIEW", "4 CREATE VIEW")
}

// TestAutoIncrement: values count up from the largest one, also after a
// restart; given values move the counter.
func TestAutoIncrement(t *testing.T) {
	dir := t.TempDir()
	st, _ := local.Open(dir)
	s := startServer(t, serverOpts{store: st})
	c := conn(t, s.db(""))
	mustExec(t, c, "CREATE DATABASE d")
	mustExec(t, c, "USE d")
	mustExec(t, c, "CREATE TABLE a (id BIGINT AUTO_INCREMENT PRIMARY KEY, s VARCHAR(5))")
	mustExec(t, c, "INSERT INTO a (s) VALUES ('x'), ('y')")
	mustExec(t, c, "INSERT INTO a VALUES (10, 'z')")
	mustExec(t, c, "INSERT INTO a (s) VALUES ('w')")
	mustExec(t, c, "INSERT INTO a VALUES (NULL, 'v'), (0, 'u')")
	expectRows(t, c, "SELECT id, s FROM a ORDER BY id", "1 x", "2 y", "10 z", "11 w", "12 v", "13 u")
	r := mustExec(t, c, "INSERT INTO a (s) VALUES ('t')")
	if id, _ := r.LastInsertId(); id != 14 {
		t.Fatalf("last insert id %d, want 14", id)
	}
	expectRows(t, c, "SHOW CREATE TABLE a", "a CREATE TABLE `a` (\n  `id` bigint NOT NULL AUTO_INCREMENT,\n  `s` varchar(5),\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB AUTO_INCREMENT=15 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_bin")
	s.stop()
	s.stop = func() {}
	st2, _ := local.Open(dir)
	s2 := startServer(t, serverOpts{store: st2})
	c2 := conn(t, s2.db("d"))
	mustExec(t, c2, "INSERT INTO a (s) VALUES ('s')")
	expectRows(t, c2, "SELECT MAX(id) FROM a", "15")
}

// TestIntrospection: what clients ask of any table (SHOW CREATE TABLE,
// information_schema.tables, SHOW TABLE STATUS) works without an
// AUTO_INCREMENT column and AS OF, and shows the counter when there is one.
func TestIntrospection(t *testing.T) {
	c := startDB(t, serverOpts{})
	mustExec(t, c, "CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(20))")
	mustExec(t, c, "CREATE TABLE a (id BIGINT PRIMARY KEY AUTO_INCREMENT, s VARCHAR(5))")
	mustExec(t, c, "INSERT INTO p VALUES (1, 'x'), (2, 'y')")
	mustExec(t, c, "INSERT INTO a (s) VALUES ('x'), ('y'), ('z')")
	expectRows(t, c, "SHOW CREATE TABLE p", "p CREATE TABLE `p` (\n  `id` int NOT NULL,\n  `name` varchar(20),\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_bin")
	expectRows(t, c, "SELECT table_name, COALESCE(auto_increment, 'none'), table_rows FROM information_schema.tables WHERE table_schema = 'd' ORDER BY 1",
		"a 4 3", "p none 2")
	if rows := query(t, c, "SHOW TABLE STATUS"); len(rows) != 2 {
		t.Fatalf("SHOW TABLE STATUS: %q", rows)
	}
	if rows := query(t, c, "EXPLAIN SELECT * FROM p WHERE id = 1"); len(rows) != 1 || !strings.Contains(rows[0], " const PRIMARY PRIMARY ") {
		t.Fatalf("EXPLAIN of a key point: %q", rows)
	}
	if rows := query(t, c, "EXPLAIN SELECT * FROM p WHERE id > 1"); len(rows) != 1 || !strings.Contains(rows[0], " range PRIMARY PRIMARY ") {
		t.Fatalf("EXPLAIN of a key range: %q", rows)
	}
	if rows := query(t, c, "EXPLAIN SELECT COUNT(*) FROM p"); len(rows) != 1 || !strings.Contains(rows[0], "No tables used") {
		t.Fatalf("EXPLAIN of a count from statistics: %q", rows)
	}
	v := query(t, c, "CALL lakesql_commit()")[0]
	expectRows(t, c, "SELECT COUNT(*) FROM (SELECT 1 FROM a AS OF "+v+") x", "3")
	if rows := query(t, c, "SHOW CREATE TABLE a AS OF "+v); len(rows) != 1 || !strings.Contains(rows[0], "AUTO_INCREMENT") {
		t.Fatalf("SHOW CREATE TABLE AS OF: %q", rows)
	}
}

// TestAnalyzeAndKeyChanges: ANALYZE TABLE works on empty tables too (go-mysql-server's
// statistics divided by zero on an empty table with an index), and
// changing a primary key and temporary tables are refused with 1235 and a
// way out.
func TestAnalyzeAndKeyChanges(t *testing.T) {
	c := startDB(t, serverOpts{})
	mustExec(t, c, "CREATE TABLE e (id INT PRIMARY KEY, v INT, KEY iv (v))")
	mustExec(t, c, "CREATE TABLE f (id INT PRIMARY KEY, v INT)")
	mustExec(t, c, "INSERT INTO f VALUES (1, 2), (2, 3)")
	expectRows(t, c, "ANALYZE TABLE e, f", "e analyze status OK", "f analyze status OK")
	expectRows(t, c, "SELECT COUNT(*) FROM f WHERE v > 2", "1")
	expectErr(t, c, 1235, "ALTER TABLE f DROP PRIMARY KEY")
	expectErr(t, c, 1235, "ALTER TABLE e DROP PRIMARY KEY")
	expectErr(t, c, 1235, "CREATE TEMPORARY TABLE tmp (a INT)")
	expectRows(t, c, "SELECT * FROM f ORDER BY id", "1 2", "2 3")
}
