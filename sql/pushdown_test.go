package sql_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestPushdown: filters pushed into the file readers give the answers SQL
// gives, NULLs, NOT, mixed literal types and MemTable rows included.
func TestPushdown(t *testing.T) {
	c := startDB(t, serverOpts{})
	mustExec(t, c, "CREATE TABLE t (id INT PRIMARY KEY, i INT, f DOUBLE, d DECIMAL(6,2), s VARCHAR(8))")
	type row struct {
		id int
		i  *int
		f  float64
		d  float64
		s  string
	}
	var rows []row
	var sb strings.Builder
	sb.WriteString("INSERT INTO t VALUES ")
	for id := range 300 {
		r := row{id: id, f: float64(id%10) / 10, d: float64(id%50) / 4, s: fmt.Sprintf("s%02d", id%30)}
		iv := id % 7
		if id%11 != 0 {
			r.i = &iv
		}
		rows = append(rows, r)
		if id > 0 {
			sb.WriteByte(',')
		}
		ival := "NULL"
		if r.i != nil {
			ival = fmt.Sprint(*r.i)
		}
		fmt.Fprintf(&sb, "(%d,%s,%g,%.2f,'%s')", id, ival, r.f, r.d, r.s)
	}
	mustExec(t, c, sb.String())
	query(t, c, "CALL lakesql_flush()")
	// Some rows only in the MemTable, some updated over file rows.
	mustExec(t, c, "UPDATE t SET i = 100 WHERE id < 5")
	for i := range 5 {
		v := 100
		_ = i
		rows[i].i = &v
	}
	count := func(keep func(r row) bool) string {
		n := 0
		for _, r := range rows {
			if keep(r) {
				n++
			}
		}
		return fmt.Sprint(n)
	}
	for _, tc := range []struct {
		where string
		keep  func(r row) bool
	}{
		{"i = 3", func(r row) bool { return r.i != nil && *r.i == 3 }},
		{"i > 4", func(r row) bool { return r.i != nil && *r.i > 4 }},
		{"NOT (i > 4)", func(r row) bool { return r.i != nil && !(*r.i > 4) }},
		{"i IS NULL", func(r row) bool { return r.i == nil }},
		{"i IS NOT NULL AND i < 2", func(r row) bool { return r.i != nil && *r.i < 2 }},
		{"i = 2.5", func(r row) bool { return false }},
		{"i > 2.5", func(r row) bool { return r.i != nil && *r.i > 2 }},
		{"f > 0.5", func(r row) bool { return r.f > 0.5 }},
		{"f >= 0.5 AND f < 0.7", func(r row) bool { return r.f >= 0.5 && r.f < 0.7 }},
		{"d <= 3.25", func(r row) bool { return r.d <= 3.25 }},
		{"d = 3.255", func(r row) bool { return false }},
		{"s = 's07' OR s = 's08'", func(r row) bool { return r.s == "s07" || r.s == "s08" }},
		{"s IN ('s01', 's29') AND i IN (1, 2, 3)", func(r row) bool {
			return (r.s == "s01" || r.s == "s29") && r.i != nil && *r.i >= 1 && *r.i <= 3
		}},
		{"2 < i", func(r row) bool { return r.i != nil && *r.i > 2 }},
		{"i + 1 > 3", func(r row) bool { return r.i != nil && *r.i+1 > 3 }},
		{"NOT (i IS NULL OR i = 100)", func(r row) bool { return r.i != nil && *r.i != 100 }},
		{"i IS NOT NULL AND (s = 's01' OR f <= 0.1)", func(r row) bool { return r.i != nil && (r.s == "s01" || r.f <= 0.1) }},
		{"i IN (1, 100) OR s > 's28'", func(r row) bool { return r.i != nil && (*r.i == 1 || *r.i == 100) || r.s > "s28" }},
	} {
		expectRows(t, c, "SELECT COUNT(*) FROM t WHERE "+tc.where, count(tc.keep))
		expectRows(t, c, "SELECT COUNT(id) FROM t WHERE "+tc.where, count(tc.keep))
	}
	plan := strings.Join(query(t, c, "EXPLAIN PLAN SELECT id FROM t WHERE f > 0.5"), "\n")
	if !strings.Contains(plan, "pushed[") || strings.Contains(plan, "Filter") {
		t.Fatalf("the filter was not pushed, or not left to the readers:\n%s", plan)
	}
	plan = strings.Join(query(t, c, "EXPLAIN PLAN SELECT id FROM t WHERE f > 0.5 AND i + 1 > 3"), "\n")
	if !strings.Contains(plan, "pushed[") || !strings.Contains(plan, "Filter") || !strings.Contains(plan, "(t.i + 1)") {
		t.Fatalf("what the readers cannot decide stays in a filter:\n%s", plan)
	}

	// Single-table UPDATE and DELETE, which go-mysql-server analyzes with
	// fixed rules, get the pushdown too (pushDML).
	for _, q := range []string{"UPDATE t SET s = 'u' WHERE f > 0.85", "DELETE FROM t WHERE d <= 1.0"} {
		plan = strings.Join(query(t, c, "EXPLAIN PLAN "+q), "\n")
		if !strings.Contains(plan, "pushed[") {
			t.Fatalf("%s: not pushed:\n%s", q, plan)
		}
	}
	if n, want := affected(t, c, "UPDATE t SET s = 'u' WHERE f > 0.85"), count(func(r row) bool { return r.f > 0.85 }); fmt.Sprint(n) != want {
		t.Fatalf("UPDATE changed %d rows, want %s", n, want)
	}
	expectRows(t, c, "SELECT COUNT(*) FROM t WHERE s = 'u'", count(func(r row) bool { return r.f > 0.85 }))
	if n, want := affected(t, c, "DELETE FROM t WHERE d <= 1.0"), count(func(r row) bool { return r.d <= 1.0 }); fmt.Sprint(n) != want {
		t.Fatalf("DELETE removed %d rows, want %s", n, want)
	}
	expectRows(t, c, "SELECT COUNT(*) FROM t", count(func(r row) bool { return r.d > 1.0 }))
}

// TestPushdownNotOfSuperset: NOT over a conjunction with a leaf the
// readers cannot decide (a FLOAT column) must not be pushed: NOT of a
// superset would lose rows (it did, through UNION ALL in the corpus).
func TestPushdownNotOfSuperset(t *testing.T) {
	c := startDB(t, serverOpts{})
	mustExec(t, c, "CREATE TABLE t (pk INT PRIMARY KEY, a INT, r FLOAT)")
	mustExec(t, c, "INSERT INTO t VALUES (0, 10, 70.5), (1, 20, 70.5), (2, 20, 10.25), (3, 5, 99), (4, 30, 80), (5, NULL, 90)")
	expectRows(t, c, "SELECT COUNT(*) FROM t WHERE a >= 14 AND r > 68.52", "2")
	expectRows(t, c, "SELECT COUNT(*) FROM t WHERE NOT (a >= 14 AND r > 68.52)", "3")
	expectRows(t, c, "SELECT COUNT(*) FROM (SELECT pk FROM t WHERE a >= 14 AND r > 68.52 UNION ALL SELECT pk FROM t WHERE NOT (a >= 14 AND r > 68.52)) u", "5")
}

// TestPushdownJoins: filters are pushed after the joins are planned, so
// that many-table joins get hash joins (a table answered through an index
// lookup was costed as one row, and joins became nested loops over cross
// joins); a conjunct that reads another table's column (an outer query's)
// is never pushed into the inner table, even under a shared column name.
func TestPushdownJoins(t *testing.T) {
	c := startDB(t, serverOpts{})
	type row struct{ x, f int }
	tables := map[string][]row{}
	for _, name := range []string{"a", "b", "e"} {
		mustExec(t, c, "CREATE TABLE "+name+" (x INT, f INT)")
		var sb strings.Builder
		sb.WriteString("INSERT INTO " + name + " VALUES ")
		for i := range 200 {
			r := row{x: (i * 7) % 50, f: i % 13}
			if name == "b" {
				r.f = i % 5
			}
			tables[name] = append(tables[name], r)
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "(%d,%d)", r.x, r.f)
		}
		mustExec(t, c, sb.String())
	}
	query(t, c, "CALL lakesql_flush()")

	const q = "SELECT COUNT(*) FROM a, b, e WHERE a.x = b.x AND b.f = e.f AND a.f = 3 AND e.x IN (1, 2, 3, 4, 5, 6, 7)"
	want := 0
	for _, ra := range tables["a"] {
		for _, rb := range tables["b"] {
			for _, re := range tables["e"] {
				if ra.x == rb.x && rb.f == re.f && ra.f == 3 && re.x >= 1 && re.x <= 7 {
					want++
				}
			}
		}
	}
	expectRows(t, c, q, fmt.Sprint(want))
	plan := strings.Join(query(t, c, "EXPLAIN PLAN "+q), "\n")
	if strings.Count(plan, "HashJoin") != 2 || strings.Count(plan, "pushed[") != 2 || strings.Contains(plan, "CrossJoin") {
		t.Fatalf("want two hash joins over two pushed scans:\n%s", plan)
	}
	// EXPLAIN in MySQL's format: a row per table.
	ex := query(t, c, "EXPLAIN "+q)
	if len(ex) != 3 || strings.Count(strings.Join(ex, "\n"), "Using pushed condition") != 2 ||
		!strings.Contains(strings.Join(ex, "\n"), "Using join buffer (hash join)") {
		t.Fatalf("EXPLAIN:\n%s", strings.Join(ex, "\n"))
	}

	// Correlated subqueries: the outer row's column must stay a filter.
	want = 0
	for _, p := range tables["a"] {
		found := false
		for _, r := range tables["a"] {
			if r.x == p.x && p.f == 3 && r.f > p.f {
				found = true
			}
		}
		if found {
			want++
		}
	}
	expectRows(t, c, "SELECT COUNT(*) FROM a AS p WHERE EXISTS (SELECT 1 FROM a AS r WHERE r.x = p.x AND p.f = 3 AND r.f > p.f)", fmt.Sprint(want))
	expectRows(t, c, "SELECT COUNT(*) FROM a AS p WHERE p.x IN (SELECT r.x FROM a AS r WHERE p.f = 3 AND r.f > 10)", fmt.Sprint(func() int {
		n := 0
		for _, p := range tables["a"] {
			for _, r := range tables["a"] {
				if r.x == p.x && p.f == 3 && r.f > 10 {
					n++
					break
				}
			}
		}
		return n
	}()))
}

// TestSmallTableIndexLookups: lookups on a secondary index of a small
// table are answered from the transaction's cached rows (sorted by the
// index's first column, binary-searched by the range cuts); they give the
// answers of the same table without the index, NULLs, open ranges,
// several ranges and case-insensitive strings included.
func TestSmallTableIndexLookups(t *testing.T) {
	c := startDB(t, serverOpts{})
	for _, name := range []string{"ix", "plain"} {
		mustExec(t, c, "CREATE TABLE "+name+" (a INT, b INT, s VARCHAR(8))")
		var sb strings.Builder
		sb.WriteString("INSERT INTO " + name + " VALUES ")
		for i := range 300 {
			if i > 0 {
				sb.WriteByte(',')
			}
			a, b := fmt.Sprint(i%17), fmt.Sprint(i%5)
			if i%23 == 0 {
				a = "NULL"
			}
			if i%29 == 0 {
				b = "NULL"
			}
			str := []string{"abc", "ABD", "b", "Ab"}[i%4]
			fmt.Fprintf(&sb, "(%s,%s,'%s')", a, b, str)
		}
		mustExec(t, c, sb.String())
	}
	mustExec(t, c, "CREATE INDEX iab ON ix (a, b)")
	mustExec(t, c, "CREATE INDEX isx ON ix (s)")
	query(t, c, "CALL lakesql_flush()")
	mustExec(t, c, "INSERT INTO ix VALUES (3, 3, 'ABC'), (NULL, 1, 'z')")
	mustExec(t, c, "INSERT INTO plain VALUES (3, 3, 'ABC'), (NULL, 1, 'z')")
	for _, where := range []string{
		"a = 3", "a = 3 AND b = 3", "a = 3 AND b > 1", "a > 14", "a <= 2", "a BETWEEN 4 AND 6",
		"a IS NULL", "a IS NOT NULL AND a < 1", "a IN (1, 5, 9)", "a = 2 OR a = 16", "a > 3 AND a < 5 AND b IS NULL",
		"s = 'abc'", "s = 'AB'", "s > 'abc'", "s IN ('b', 'ABD')", "a = 99",
	} {
		want := query(t, c, "SELECT COUNT(*), COALESCE(SUM(a), -1), COALESCE(SUM(b), -1) FROM plain WHERE "+where)
		plan := strings.Join(query(t, c, "EXPLAIN PLAN SELECT a, b FROM ix WHERE "+where), "\n")
		if !strings.Contains(plan, "index: [ix.") {
			t.Fatalf("%s: no index lookup:\n%s", where, plan)
		}
		expectRows(t, c, "SELECT COUNT(*), COALESCE(SUM(a), -1), COALESCE(SUM(b), -1) FROM ix WHERE "+where, want...)
	}
	// The same lookups as the inner side of a join.
	expectRows(t, c, "SELECT COUNT(*) FROM plain p JOIN ix q ON q.a = p.b",
		query(t, c, "SELECT COUNT(*) FROM plain p JOIN plain q ON q.a = p.b")...)
	expectRows(t, c, "SELECT COUNT(*) FROM plain p JOIN ix q ON q.s = p.s AND q.a = p.a",
		query(t, c, "SELECT COUNT(*) FROM plain p JOIN plain q ON q.s = p.s AND q.a = p.a")...)
}
