package sql_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/lakesql/lakesql/planner"
	lsql "github.com/lakesql/lakesql/sql"
)

// vectorQueries are answered by vectorized nodes (aggregations, top-N
// sorts) when those are on: every column type, NULLs, keys of one and two
// columns, pushed filters, empty groups. Floating-point sums are rounded:
// partitions add in another order than the row path.
var vectorQueries = []string{
	"SELECT COUNT(*), COUNT(a), COUNT(DISTINCT a), SUM(a), AVG(a), MIN(a), MAX(a) FROM t",
	"SELECT COUNT(u), COUNT(DISTINCT u), SUM(u), AVG(u), MIN(u), MAX(u) FROM t",
	"SELECT COUNT(c), COUNT(DISTINCT c), SUM(c), AVG(c), MIN(c), MAX(c) FROM t",
	"SELECT COUNT(d), COUNT(DISTINCT d), ROUND(SUM(d), 6), ROUND(AVG(d), 9), MIN(d), MAX(d) FROM t",
	"SELECT COUNT(s), COUNT(DISTINCT s), MIN(s), MAX(s) FROM t",
	"SELECT COUNT(dt), COUNT(DISTINCT dt), MIN(dt), MAX(dt), MIN(ts), MAX(ts), COUNT(DISTINCT ts) FROM t",
	"SELECT MIN(tn), MAX(tn), SUM(tn), AVG(tn), MIN(f), MAX(f), COUNT(DISTINCT f) FROM t",
	"SELECT a, COUNT(*), SUM(c), ROUND(AVG(d), 9), MIN(s), MAX(ts) FROM t GROUP BY a",
	"SELECT s, COUNT(*) AS n, SUM(a), MAX(dt) FROM t GROUP BY s ORDER BY n DESC, s LIMIT 5",
	"SELECT a, s, COUNT(*), SUM(u) FROM t GROUP BY a, s",
	"SELECT dt, COUNT(*), MIN(c) FROM t GROUP BY dt",
	"SELECT tn, COUNT(*), AVG(c) FROM t WHERE d > 0.5 GROUP BY tn",
	"SELECT COUNT(*), SUM(a) FROM t WHERE s LIKE 'k1%'",
	"SELECT COUNT(*), SUM(a), MIN(d) FROM t WHERE a > 1000",
	"SELECT a, COUNT(*) FROM t WHERE a > 1000 GROUP BY a",
	"SELECT id, a, s FROM t ORDER BY d DESC, id LIMIT 7",
	"SELECT id, s, dt FROM t ORDER BY s, id LIMIT 10",
	"SELECT id, a FROM t ORDER BY a DESC, id DESC LIMIT 9",
	"SELECT id, c, ts FROM t WHERE a < 10 ORDER BY c, id LIMIT 6",
	"SELECT id FROM t ORDER BY ts DESC, id LIMIT 3 OFFSET 2",
	"SELECT a, COUNT(*), MAX(id) FROM t WHERE id BETWEEN 300 AND 900 GROUP BY a",
	"SELECT COUNT(*), SUM(a), MIN(s) FROM t WHERE id > 1200 OR id < 10",
	"SELECT a, COUNT(*) AS n FROM t WHERE id >= 100 GROUP BY a ORDER BY n DESC, a LIMIT 4 OFFSET 1",
	"SELECT COUNT(*), SUM(x), MIN(x) FROM k",
	"SELECT x, COUNT(*) FROM k GROUP BY x",
	"SELECT COUNT(*), SUM(a), MIN(s) FROM e",
	"SELECT a, COUNT(*) FROM e GROUP BY a",
	// Filters the pushdown leaves above the scan, vectorized on their own
	// and under aggregations, top-N sorts, joins and subqueries.
	"SELECT id, a, s FROM t WHERE s LIKE '%1%'",
	"SELECT id, a, s, d FROM t WHERE s LIKE 'k_' OR a IS NULL",
	"SELECT id, s FROM t WHERE NOT (s LIKE 'k1%') AND d < 0.3",
	"SELECT id FROM t WHERE a < tn OR a <=> tn",
	"SELECT id, u FROM t WHERE a IN (1, 2, 3, NULL) OR s = 'k7' OR u > 9300000000000000000",
	"SELECT id, c FROM t WHERE c > 100 OR s LIKE '%9' OR a BETWEEN 10 AND 20",
	"SELECT id, dt FROM t WHERE (dt <= dt OR s LIKE 'k2%') AND NOT (ts > ts)",
	"SELECT COUNT(*), SUM(a), MIN(s) FROM t WHERE s LIKE '%2' OR a = 5",
	"SELECT a, COUNT(*), SUM(c) FROM t WHERE a <=> tn OR s LIKE 'k3%' GROUP BY a",
	"SELECT id, s FROM t WHERE s LIKE '%3%' ORDER BY d, id LIMIT 5",
	"SELECT g.a, g.n, y.id FROM (SELECT a, COUNT(*) AS n FROM t WHERE s LIKE 'k1%' GROUP BY a) g JOIN t y ON y.id = g.a",
	"SELECT x.id, y.id FROM t x JOIN t y ON x.id = y.a WHERE x.s LIKE 'k2%' AND y.s LIKE '%5'",
	"SELECT id, (SELECT COUNT(*) FROM t y WHERE y.a = x.a AND y.s LIKE 'k1%') FROM t x WHERE x.id < 30",
	"SELECT id, (SELECT MAX(y.id) FROM t y WHERE y.s LIKE '%7') FROM t x WHERE x.id < 5",
	"SELECT id, a FROM t WHERE s LIKE '%1' AND a + 1 > 10 AND d * 2 < 1",
}

// TestVectorizedAnswers runs one workload on two servers, one with the
// vectorized nodes and one without, and requires the same answer to every
// query, at every stage: rows in the MemTable, in flushed files with
// deletion vectors, merged, AS OF an older version, and inside a
// transaction with its own writes (which the row path answers). The
// vectorized server must have used its nodes (EXPLAIN says so).
func TestVectorizedAnswers(t *testing.T) {
	type side struct {
		name string
		c    execer
	}
	var sides []side
	for _, off := range []bool{true, false} {
		c := startDB(t, serverOpts{cfg: func(cfg *lsql.Config) { cfg.NoVectorize = off }})
		sides = append(sides, side{fmt.Sprintf("vectorized=%v", !off), c})
	}
	exec := func(q string) {
		for _, s := range sides {
			mustExec(t, s.c, q)
		}
	}
	compare := func(stage string, queries ...string) {
		t.Helper()
		for _, q := range queries {
			var got [][]string
			for _, s := range sides {
				rows := query(t, s.c, q)
				if !strings.Contains(q, "ORDER BY") {
					slices.Sort(rows)
				}
				got = append(got, rows)
			}
			if !slices.Equal(got[0], got[1]) {
				t.Errorf("%s: %s:\n%s: %q\n%s: %q", stage, q, sides[0].name, got[0], sides[1].name, got[1])
			}
		}
	}
	exec("CREATE TABLE t (id BIGINT PRIMARY KEY, a INT, u BIGINT UNSIGNED, c DECIMAL(20,4), d DOUBLE, s VARCHAR(20), dt DATE, ts DATETIME(6), f FLOAT, tn TINYINT)")
	exec("CREATE TABLE k (x INT)") // keyless
	exec("CREATE TABLE e (id INT PRIMARY KEY, a INT, s VARCHAR(5))")
	r := rand.New(rand.NewPCG(3, 4))
	val := func(nullPct int, f func() string) string {
		if r.IntN(100) < nullPct {
			return "NULL"
		}
		return f()
	}
	insert := func(lo, hi int) {
		var vals []string
		for id := lo; id < hi; id++ {
			vals = append(vals, fmt.Sprintf("(%d, %s, %s, %s, %s, %s, %s, %s, %s, %s)", id,
				val(10, func() string { return fmt.Sprint(r.IntN(2000) - 500) }),
				val(10, func() string { return fmt.Sprint(uint64(1)<<63 + r.Uint64N(1<<62)) }),
				val(10, func() string { return fmt.Sprintf("%d.%04d", r.IntN(1e9)-5e8, r.IntN(10000)) }),
				val(10, func() string { return fmt.Sprint(r.Float64()) }),
				val(10, func() string { return fmt.Sprintf("'k%d'", r.IntN(40)) }),
				val(10, func() string { return fmt.Sprintf("'20%02d-%02d-%02d'", r.IntN(30), 1+r.IntN(12), 1+r.IntN(28)) }),
				val(10, func() string {
					return fmt.Sprintf("'2024-01-%02d 10:%02d:%02d.%06d'", 1+r.IntN(28), r.IntN(60), r.IntN(60), r.IntN(1e6))
				}),
				val(10, func() string { return fmt.Sprint(float32(r.IntN(100)) / 4) }),
				val(10, func() string { return fmt.Sprint(r.IntN(256) - 128) }),
			))
		}
		exec("INSERT INTO t VALUES " + strings.Join(vals, ", ") + " ON DUPLICATE KEY UPDATE a = VALUES(a), d = VALUES(d), s = VALUES(s)")
	}
	compare("empty", vectorQueries...)
	insert(0, 700)
	exec("INSERT INTO k VALUES (1), (2), (NULL), (2)")
	compare("memtable", vectorQueries...)
	exec("CALL lakesql_flush()")
	insert(500, 1500) // upserts over flushed rows: deletion vectors
	exec("DELETE FROM t WHERE id % 7 = 3")
	exec("CALL lakesql_flush()")
	exec("CALL lakesql_commit('stage one')")
	exec("CALL lakesql_tag('v1')")
	compare("flushed", vectorQueries...)
	insert(1400, 2000)
	exec("UPDATE t SET a = a + 1 WHERE id % 5 = 0")
	exec("INSERT INTO k VALUES (7), (NULL)")
	compare("flushed and memtable", vectorQueries...)
	exec("CALL lakesql_compact()")
	compare("compacted", vectorQueries...)
	var asOf []string
	for _, q := range vectorQueries {
		asOf = append(asOf, strings.Replace(q, "FROM t", "FROM t AS OF 'v1'", 1))
	}
	compare("AS OF", asOf...)
	exec("BEGIN")
	exec("INSERT INTO t (id, a, s) VALUES (100000, 5, 'k1'), (100001, NULL, 'zz')")
	exec("DELETE FROM t WHERE id < 50")
	compare("own writes", vectorQueries...)
	exec("ROLLBACK")
	compare("rolled back", vectorQueries...)

	for i, s := range sides {
		for _, q := range []string{vectorQueries[7], vectorQueries[12], vectorQueries[15], vectorQueries[27], vectorQueries[34], vectorQueries[38]} {
			plan := strings.Join(query(t, s.c, "EXPLAIN "+q), "\n")
			if strings.Contains(plan, "Using vectorized") != (i == 1) {
				t.Errorf("%s: EXPLAIN %s:\n%s", s.name, q, plan)
			}
			runs := planner.VectorizedRuns()
			query(t, s.c, q)
			if ran := planner.VectorizedRuns() > runs; ran != (i == 1) {
				t.Errorf("%s: %s: ran on batches: %v", s.name, q, ran)
			}
		}
	}
}
