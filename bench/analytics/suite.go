package main

import "fmt"

// A query is one line of the report.
type query struct {
	id    string // "1" .. "15", as in the README
	label string // a few words for the table
	sql   string
	// ordered says that the query fixes the order of its rows (ORDER BY
	// down to a unique key): answers are compared row by row. Otherwise
	// they are compared as sets.
	ordered bool
}

// suite returns the queries over n rows of bench.Row's data: id = 0..n-1,
// k uniform in 0..999, v uniform in [0, 1), s = "s000000000" followed by
// six digits, one of a million values. The literals select a sensible
// fraction of the rows under that distribution: s > 'm' or LIKE 'ab%'
// would select every row or none, since every s starts with "s000000000".
func suite(n int64) []query {
	return []query{
		{"1", "count", "SELECT COUNT(*) FROM t", false},
		{"2", "filtered count (v > 0.5: 50 %)", "SELECT COUNT(*) FROM t WHERE v > 0.5", false},
		{"3", "sums", "SELECT SUM(id), SUM(k), AVG(v) FROM t", false},
		{"4", "group by k (1,000 groups)", "SELECT k, COUNT(*), SUM(v) FROM t GROUP BY k", false},
		{"5", "filter, group, top 10 (v < 0.3: 30 %)",
			"SELECT k, COUNT(*) AS c FROM t WHERE v < 0.3 GROUP BY k ORDER BY c DESC, k LIMIT 10", true},
		{"6", "count distinct k", "SELECT COUNT(DISTINCT k) FROM t", false},
		{"7", "count distinct s", "SELECT COUNT(DISTINCT s) FROM t", false},
		{"8", "min/max of v and s", "SELECT MIN(v), MAX(v), MIN(s), MAX(s) FROM t", false},
		{"9", "top 10 by v", "SELECT id, v FROM t ORDER BY v DESC LIMIT 10", true},
		{"10", "group by s, top 10 (k < 100: 10 %)",
			"SELECT s, COUNT(*) AS c FROM t WHERE k < 100 GROUP BY s ORDER BY c DESC, s LIMIT 10", true},
		{"11a", "string range (s > ...: 50 %)", "SELECT COUNT(*) FROM t WHERE s > 's000000000500000'", false},
		{"11b", "string prefix (LIKE: 10 %)", "SELECT COUNT(*) FROM t WHERE s LIKE 's0000000001%'", false},
		{"12", "key range (25 %), group, top 5",
			fmt.Sprintf("SELECT k, AVG(v), MAX(id) FROM t WHERE id BETWEEN %d AND %d GROUP BY k ORDER BY k LIMIT 5", n/4, n/2), true},
		// Filters no index or range serves: a substring anywhere in s, and a
		// comparison of two columns, counted and returned as rows.
		{"13", "substring count (LIKE '%...%': 1 %)", "SELECT COUNT(*) FROM t WHERE s LIKE '%77%'", false},
		{"14", "filter + projection (LIKE, v < k / 1000)",
			"SELECT id, k, v FROM t WHERE s LIKE '%1234%' AND v * 1000 < k ORDER BY id", true},
		{"15", "filter, group (LIKE OR k = 7)",
			"SELECT k, COUNT(*), MIN(s) FROM t WHERE s LIKE '%99' OR k = 7 GROUP BY k ORDER BY k LIMIT 20", true},
	}
}
