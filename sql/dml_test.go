package sql_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	lsql "github.com/lakesql/lakesql/sql"
)

func affected(t *testing.T, c execer, q string) int64 {
	t.Helper()
	n, err := mustExec(t, c, q).RowsAffected()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestUpsertCounts: affected rows as MySQL counts them (1 insert, 2
// update, 0 unchanged), REPLACE, INSERT IGNORE, and their effects.
func TestUpsertCounts(t *testing.T) {
	for _, mode := range storageModes {
		t.Run(mode.name, func(t *testing.T) {
			c := startDB(t, serverOpts{cfg: mode.cfg})
			mustExec(t, c, "CREATE TABLE kv (k INT PRIMARY KEY, v INT, s VARCHAR(8))")
			for _, tc := range []struct {
				q    string
				want int64
			}{
				{"INSERT INTO kv VALUES (1, 10, 'a') ON DUPLICATE KEY UPDATE v = v + VALUES(v)", 1},
				{"INSERT INTO kv VALUES (1, 10, 'a') ON DUPLICATE KEY UPDATE v = v + VALUES(v)", 2},
				{"INSERT INTO kv VALUES (1, 99, 'a') ON DUPLICATE KEY UPDATE v = v", 0},
				{"INSERT INTO kv VALUES (2, 1, 'b'), (1, 5, 'x') AS new ON DUPLICATE KEY UPDATE v = kv.v + new.v, s = new.s", 3},
				{"REPLACE INTO kv VALUES (2, 7, 'r')", 2},
				{"REPLACE INTO kv VALUES (3, 8, 'r')", 1},
				{"INSERT IGNORE INTO kv VALUES (3, 0, 'no'), (4, 4, 'd')", 1},
				{"UPDATE kv SET v = v * 10 WHERE k >= 3", 2},
				{"DELETE FROM kv WHERE k = 4", 1},
			} {
				if got := affected(t, c, tc.q); got != tc.want {
					t.Fatalf("%s: %d rows affected, want %d", tc.q, got, tc.want)
				}
			}
			expectRows(t, c, "SELECT k, v, s FROM kv ORDER BY k", "1 25 x", "2 7 r", "3 80 r")
			expectErr(t, c, 1062, "INSERT INTO kv VALUES (1, 0, 'dup')")
			expectErr(t, c, 1062, "UPDATE kv SET k = 2 WHERE k = 1")
			// A failed multi-row statement leaves no trace.
			expectErr(t, c, 1062, "INSERT INTO kv VALUES (9, 9, 'new'), (1, 0, 'dup')")
			expectRows(t, c, "SELECT k, v, s FROM kv ORDER BY k", "1 25 x", "2 7 r", "3 80 r")
			// Primary key changes move the row.
			if got := affected(t, c, "UPDATE kv SET k = 5 WHERE k = 3"); got != 1 {
				t.Fatalf("key update affected %d", got)
			}
			expectRows(t, c, "SELECT k, v FROM kv WHERE k IN (3, 5)", "5 80")
			expectRows(t, c, "SELECT COUNT(*) FROM kv", "3")
		})
	}
}

// TestTransactions: BEGIN/COMMIT/ROLLBACK, savepoints, reads of own
// writes, isolation between sessions, and a lost first-committer race
// surfacing as 1213 with nothing lost.
func TestTransactions(t *testing.T) {
	s := startServer(t, serverOpts{})
	db := s.db("")
	c := conn(t, db)
	mustExec(t, c, "CREATE DATABASE d")
	mustExec(t, c, "USE d")
	mustExec(t, c, "CREATE TABLE a (k INT PRIMARY KEY, n INT)")
	mustExec(t, c, "CREATE TABLE b (k INT PRIMARY KEY, n INT)")
	mustExec(t, c, "INSERT INTO a VALUES (1, 0)")

	other := conn(t, s.db("d"))
	mustExec(t, c, "BEGIN")
	mustExec(t, c, "UPDATE a SET n = 1 WHERE k = 1")
	mustExec(t, c, "INSERT INTO b VALUES (1, 1), (2, 2)")
	expectRows(t, c, "SELECT k, n FROM b ORDER BY k", "1 1", "2 2")
	expectRows(t, c, "SELECT COUNT(*) FROM b", "2")
	expectRows(t, other, "SELECT COUNT(*) FROM b", "0")
	expectRows(t, other, "SELECT n FROM a", "0")
	mustExec(t, c, "SAVEPOINT s1")
	mustExec(t, c, "DELETE FROM b WHERE k = 1")
	mustExec(t, c, "INSERT INTO b VALUES (3, 3)")
	expectRows(t, c, "SELECT k FROM b ORDER BY k", "2", "3")
	mustExec(t, c, "ROLLBACK TO SAVEPOINT s1")
	expectRows(t, c, "SELECT k FROM b ORDER BY k", "1", "2")
	mustExec(t, c, "COMMIT")
	expectRows(t, other, "SELECT k FROM b ORDER BY k", "1", "2")
	expectRows(t, other, "SELECT n FROM a", "1")

	mustExec(t, c, "BEGIN")
	mustExec(t, c, "DELETE FROM b")
	mustExec(t, c, "ROLLBACK")
	expectRows(t, c, "SELECT COUNT(*) FROM b", "2")

	// Two sessions race multi-statement transactions on one key.
	mustExec(t, c, "BEGIN")
	mustExec(t, other, "BEGIN")
	mustExec(t, c, "UPDATE a SET n = n + 10 WHERE k = 1")
	mustExec(t, other, "UPDATE a SET n = n + 100 WHERE k = 1")
	mustExec(t, c, "COMMIT")
	_, err := other.ExecContext(context.Background(), "COMMIT")
	if code := errCode(err); code != 1213 {
		t.Fatalf("the second committer got %v (code %d), want 1213", err, code)
	}
	expectRows(t, c, "SELECT n FROM a", "11")
	expectRows(t, other, "SELECT n FROM a", "11")
	// The loser retries and wins.
	mustExec(t, other, "BEGIN")
	mustExec(t, other, "UPDATE a SET n = n + 100 WHERE k = 1")
	mustExec(t, other, "COMMIT")
	expectRows(t, c, "SELECT n FROM a", "111")

	// autocommit=0 accumulates until COMMIT.
	mustExec(t, c, "SET autocommit = 0")
	mustExec(t, c, "INSERT INTO b VALUES (7, 7)")
	expectRows(t, other, "SELECT COUNT(*) FROM b", "2")
	mustExec(t, c, "COMMIT")
	expectRows(t, other, "SELECT COUNT(*) FROM b", "3")
	mustExec(t, c, "SET autocommit = 1")
}

// TestConcurrentIncrements: single-statement n = n + 1 upserts from 8
// connections add up exactly (a statement that loses a race is re-run).
func TestConcurrentIncrements(t *testing.T) {
	s := startServer(t, serverOpts{})
	db := s.db("")
	c := conn(t, db)
	mustExec(t, c, "CREATE DATABASE d")
	mustExec(t, c, "USE d")
	mustExec(t, c, "CREATE TABLE n (k INT PRIMARY KEY, n BIGINT)")
	mustExec(t, c, "INSERT INTO n VALUES (1, 0)")
	const workers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wc, err := s.db("d").Conn(context.Background())
			if err != nil {
				errs <- err
				return
			}
			defer wc.Close()
			for i := range each {
				q := "INSERT INTO n VALUES (1, 1) ON DUPLICATE KEY UPDATE n = n + 1"
				if i%2 == 1 {
					q = "UPDATE n SET n = n + 1 WHERE k = 1"
				}
				if _, err := wc.ExecContext(context.Background(), q); err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	expectRows(t, c, "SELECT n FROM n", fmt.Sprint(workers*each))
}

// TestLoadData: LOAD DATA takes the bulk path (rows straight into a data
// file, no MemTable rows) and makes a version.
func TestLoadData(t *testing.T) {
	c := startDB(t, serverOpts{})
	mustExec(t, c, "CREATE TABLE t (k INT PRIMARY KEY, s VARCHAR(10))")
	mustExec(t, c, "INSERT INTO t VALUES (1, 'old')")
	f := t.TempDir() + "/rows.csv"
	var sb strings.Builder
	for i := 2; i <= 1001; i++ {
		fmt.Fprintf(&sb, "%d,v%d\n", i, i)
	}
	if err := os.WriteFile(f, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := affected(t, c, "LOAD DATA INFILE '"+f+"' INTO TABLE t FIELDS TERMINATED BY ','"); n != 1000 {
		t.Fatalf("LOAD DATA affected %d rows", n)
	}
	expectRows(t, c, "SELECT COUNT(*), MIN(k), MAX(k) FROM t", "1001 1 1001")
	expectRows(t, c, "SELECT operation FROM lakesql_log ORDER BY version DESC LIMIT 1", "LOAD DATA")
	expectRows(t, c, "SELECT COUNT(*) FROM t AS OF 2", "1001")
	expectRows(t, c, "SELECT COALESCE(SUM(row_count), 0) FROM lakesql_memtables", "0")
	expectErr(t, c, 1062, "LOAD DATA INFILE '"+f+"' INTO TABLE t FIELDS TERMINATED BY ','")
	expectRows(t, c, "SELECT COUNT(*) FROM t", "1001")
}

// TestCompactSmallFiles: a keyless table's flushes never overlap (fresh
// row ids), so only the small-file compaction merges them: more than 8
// small files become one, and every row stays.
func TestCompactSmallFiles(t *testing.T) {
	c := startDB(t, serverOpts{})
	mustExec(t, c, "CREATE TABLE k (a INT, b VARCHAR(10))")
	for i := range 12 {
		mustExec(t, c, fmt.Sprintf("INSERT INTO k VALUES (%d, 'r%d'), (%d, NULL)", i, i, i+100))
		query(t, c, "CALL lakesql_flush()")
	}
	mustExec(t, c, "DELETE FROM k WHERE a = 3")
	query(t, c, "CALL lakesql_flush()")
	expectRows(t, c, "SELECT COUNT(*) FROM lakesql_files WHERE table_name = 'k'", "12")
	query(t, c, "CALL lakesql_compact()")
	expectRows(t, c, "SELECT COUNT(*), SUM(row_count), SUM(deleted_rows) FROM lakesql_files WHERE table_name = 'k'", "1 23 0")
	expectRows(t, c, "SELECT COUNT(*), SUM(a), COUNT(b) FROM k", "23 1329 11")
	mustExec(t, c, "UPDATE k SET b = 'x' WHERE a = 4")
	expectRows(t, c, "SELECT b FROM k WHERE a = 4", "x")
}

// TestIntervalFlushMerges: the interval flushes of a slowly written table
// are followed by the merge job, so their small files do not pile up.
func TestIntervalFlushMerges(t *testing.T) {
	c := startDB(t, serverOpts{cfg: func(c *lsql.Config) { c.FlushInterval = 5 * time.Millisecond }})
	mustExec(t, c, "CREATE TABLE k (a INT)")
	files := func() int {
		n, _ := strconv.Atoi(query(t, c, "SELECT COUNT(*) FROM lakesql_files WHERE table_name = 'k'")[0])
		return n
	}
	most := 0
	for i := range 40 {
		mustExec(t, c, fmt.Sprintf("INSERT INTO k VALUES (%d)", i))
		time.Sleep(15 * time.Millisecond) // an interval flush between inserts
		most = max(most, files())
	}
	time.Sleep(50 * time.Millisecond)
	if n := files(); most > 12 || n > 12 || n == 0 {
		t.Fatalf("%d files at the end, %d at most: the small files were not compacted", n, most)
	}
	expectRows(t, c, "SELECT COUNT(*), SUM(a) FROM k", "40 780")
}
