package sql_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	lsql "github.com/lakesql/lakesql/sql"
)

// TestSecondaryIndexes: lookups through secondary indexes (point, IN,
// range, a multi-column prefix, IS NULL) give the answers of a model over
// base files, flushed files, the MemTable and the transaction's own writes,
// with the index created before and after the data, and AS OF versions
// without it; UNIQUE indexes refuse duplicates (1062) wherever the other
// row lives.
func TestSecondaryIndexes(t *testing.T) {
	for _, noIndex := range []bool{false, true} {
		t.Run(fmt.Sprintf("lookups-through-indexes=%v", !noIndex), func(t *testing.T) {
			srv := startServer(t, serverOpts{cfg: func(cfg *lsql.Config) { cfg.NoIndexLookups = noIndex }})
			c := conn(t, srv.db(""))
			mustExec(t, c, "CREATE DATABASE d")
			mustExec(t, c, "USE d")
			mustExec(t, c, "CREATE TABLE t (id INT PRIMARY KEY, b INT, c VARCHAR(10), KEY ib (b))")
			r := rand.New(rand.NewPCG(1, 2))
			type row struct {
				b *int
				c string
			}
			model := map[int]row{}
			put := func(id int) {
				rw := row{c: []string{"x", "y", "z", "w"}[r.IntN(4)]}
				b := "NULL"
				if r.IntN(10) > 0 {
					v := r.IntN(50)
					rw.b, b = &v, fmt.Sprint(v)
				}
				model[id] = rw
				mustExec(t, c, fmt.Sprintf("INSERT INTO t VALUES (%d, %s, '%s') ON DUPLICATE KEY UPDATE b = VALUES(b), c = VALUES(c)", id, b, rw.c))
			}
			check := func(stage string) {
				t.Helper()
				for _, q := range []struct {
					where string
					keep  func(row) bool
				}{
					{"b = 7", func(w row) bool { return w.b != nil && *w.b == 7 }},
					{"b IN (3, 9, 44)", func(w row) bool { return w.b != nil && (*w.b == 3 || *w.b == 9 || *w.b == 44) }},
					{"b BETWEEN 10 AND 12", func(w row) bool { return w.b != nil && *w.b >= 10 && *w.b <= 12 }},
					{"b > 47", func(w row) bool { return w.b != nil && *w.b > 47 }},
					{"b IS NULL", func(w row) bool { return w.b == nil }},
					{"c = 'x' AND b < 5", func(w row) bool { return w.c == "x" && w.b != nil && *w.b < 5 }},
					{"c = 'y'", func(w row) bool { return w.c == "y" }},
				} {
					var want []string
					for id, w := range model {
						if q.keep(w) {
							want = append(want, fmt.Sprint(id))
						}
					}
					slices.SortFunc(want, cmpNum)
					got := query(t, c, "SELECT id FROM t WHERE "+q.where+" ORDER BY id")
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("%s: WHERE %s:\n got %v\nwant %v", stage, q.where, got, want)
					}
				}
			}
			for id := range 300 {
				put(id)
			}
			check("MemTable only")
			mustExec(t, c, "CALL lakesql_flush()")
			check("flushed")
			mustExec(t, c, "CREATE INDEX icb ON t (c, b)") // built on existing files
			v := callVersion(t, c, "CALL lakesql_commit()")
			for range 200 {
				put(r.IntN(400))
			}
			check("files and MemTable")
			mustExec(t, c, "CALL lakesql_flush()")
			for range 100 {
				put(r.IntN(400))
			}
			for range 20 {
				id := r.IntN(400)
				delete(model, id)
				mustExec(t, c, fmt.Sprintf("DELETE FROM t WHERE id = %d", id))
			}
			check("two generations and MemTable")
			mustExec(t, c, "CALL lakesql_compact()")
			check("compacted")
			// The transaction's own writes.
			mustExec(t, c, "BEGIN")
			put(1000)
			put(1001)
			check("in a transaction")
			mustExec(t, c, "ROLLBACK")
			delete(model, 1000)
			delete(model, 1001)
			check("after rollback")

			if plan := strings.Join(query(t, c, "EXPLAIN SELECT id FROM t WHERE b = 7"), "\n"); !strings.Contains(plan, " ib ") {
				t.Fatalf("EXPLAIN does not show the index ib:\n%s", plan)
			}
			expectRows(t, c, "SELECT COUNT(*) FROM information_schema.statistics WHERE table_name = 't' AND index_name = 'icb'", "2")
			// AS OF the version before the index: no index, same answers.
			before := fmt.Sprint(v - 1)
			files, memtables := srv.p.IndexStats()
			if noIndex != (files == 0) || noIndex != (memtables == 0) {
				t.Fatalf("lookups read %d files through index files and %d MemTables through their indexes", files, memtables)
			}
			if sc := strings.Join(query(t, c, "SHOW CREATE TABLE t AS OF "+before), " "); strings.Contains(sc, "icb") || !strings.Contains(sc, "`ib`") {
				t.Fatalf("SHOW CREATE TABLE AS OF %s: %s", before, sc)
			}
			if sc := strings.Join(query(t, c, "SHOW CREATE TABLE t"), " "); !strings.Contains(sc, "`icb`") {
				t.Fatalf("SHOW CREATE TABLE: %s", sc)
			}
			mustExec(t, c, "DROP INDEX icb ON t")
			check("index dropped")

			// UNIQUE: refused wherever the other row lives.
			mustExec(t, c, "CREATE TABLE u (id INT PRIMARY KEY, e VARCHAR(20), UNIQUE KEY ue (e))")
			mustExec(t, c, "INSERT INTO u VALUES (1, 'base'), (2, 'other')")
			mustExec(t, c, "CALL lakesql_flush()")
			mustExec(t, c, "CALL lakesql_compact()")
			mustExec(t, c, "INSERT INTO u VALUES (3, 'flushed')")
			mustExec(t, c, "CALL lakesql_flush()")
			mustExec(t, c, "INSERT INTO u VALUES (4, 'live')")
			for _, e := range []string{"base", "flushed", "live"} {
				expectErr(t, c, 1062, fmt.Sprintf("INSERT INTO u VALUES (10, '%s')", e))
			}
			mustExec(t, c, "UPDATE u SET e = 'moved' WHERE id = 1")
			mustExec(t, c, "INSERT INTO u VALUES (11, 'base')") // the old value is free now
			expectErr(t, c, 1062, "INSERT INTO u VALUES (12, 'moved')")
			expectRows(t, c, "SELECT id, e FROM u ORDER BY id", "1 moved", "2 other", "3 flushed", "4 live", "11 base")
			// A UNIQUE index over repeated values is refused, and not created.
			expectErr(t, c, 1062, "CREATE UNIQUE INDEX uc ON t (c)")
			expectRows(t, c, "SELECT COUNT(*) FROM information_schema.statistics WHERE table_name = 't' AND index_name = 'uc'", "0")
			mustExec(t, c, "CREATE UNIQUE INDEX ui ON t (id, c)") // unique data: accepted
		})
	}
}

func cmpNum(a, b string) int {
	var x, y int
	fmt.Sscan(a, &x)
	fmt.Sscan(b, &y)
	return x - y
}

// TestOwnWritesFiltered: a transaction's own uncommitted rows go through a
// pushed-down filter like the table's (the filter leaves the plan when the
// readers decide it exactly), and through the fast path's index lookups.
func TestOwnWritesFiltered(t *testing.T) {
	srv := startServer(t, serverOpts{})
	c := conn(t, srv.db(""))
	mustExec(t, c, "CREATE DATABASE d")
	mustExec(t, c, "USE d")
	mustExec(t, c, "CREATE TABLE u (a INT PRIMARY KEY, b INT, s VARCHAR(5), KEY is1 (s))")
	mustExec(t, c, "INSERT INTO u VALUES (1, 1, 'x'), (2, 2, 'y')")
	mustExec(t, c, "BEGIN")
	mustExec(t, c, "INSERT INTO u VALUES (3, 3, 'x'), (4, 2, 'z')")
	mustExec(t, c, "UPDATE u SET s = 'q' WHERE a = 1")
	expectRows(t, c, "SELECT a FROM u WHERE b = 2 ORDER BY a", "2", "4")
	expectRows(t, c, "SELECT a FROM u WHERE b > 2", "3")
	expectRows(t, c, "SELECT a FROM u WHERE s = 'x'", "3")
	expectRows(t, c, "SELECT a, b FROM u WHERE s = 'q'", "1 1")
	if got := query(t, c, "SELECT a FROM u WHERE s = ?", "x"); fmt.Sprint(got) != "[3]" {
		t.Fatalf("a parameter through the fast path: %v", got)
	}
	mustExec(t, c, "ROLLBACK")
	expectRows(t, c, "SELECT a FROM u WHERE s = 'x'", "1")
	expectRows(t, c, "SELECT * FROM u WHERE s = 'y'", "2 2 y")
	if srv.p.FastSelects() < 5 {
		t.Fatalf("%d lookups by s took the fast path, want the 5 without ORDER BY", srv.p.FastSelects())
	}
}
