package sql_test

import (
	"strings"
	"testing"
)

// TestRegexp: REGEXP and the REGEXP_* functions, which go-mysql-server
// runs on the module that replaces go-icu-regex (third_party/icuregex),
// give MySQL 8's answers: ICU's syntax (backreferences, lookaround, POSIX
// classes), positions in characters, 1-based occurrences.
func TestRegexp(t *testing.T) {
	c := startDB(t, serverOpts{})
	for _, tc := range []struct{ q, want string }{
		{`SELECT 'abc' REGEXP 'b'`, "1"},
		{`SELECT 'abc' NOT REGEXP 'b', 'abc' RLIKE '^a.c$'`, "0 1"},
		// The case-sensitivity comes from the collation. MySQL 8's default
		// collation, utf8mb4_0900_ai_ci, makes REGEXP_LIKE('Abc', 'abc') 1;
		// go-mysql-server's (and so lakesql's) is utf8mb4_0900_bin.
		{`SELECT REGEXP_LIKE('Abc', 'abc')`, "0"},
		{`SELECT REGEXP_LIKE('Abc' COLLATE utf8mb4_0900_ai_ci, 'abc')`, "1"},
		{`SELECT REGEXP_LIKE('Abc', 'abc', 'i')`, "1"},
		{`SELECT REGEXP_LIKE('Abc', 'abc', 'c')`, "0"},
		{`SELECT REGEXP_LIKE('Abc' COLLATE utf8mb4_0900_ai_ci, 'abc', 'c')`, "0"},
		{`SELECT REGEXP_LIKE('a\nb', '^b', 'm'), REGEXP_LIKE('a\nb', '^b')`, "1 0"},
		{`SELECT REGEXP_LIKE('a\nb', 'a.b', 'n'), REGEXP_LIKE('a\nb', 'a.b')`, "1 0"},
		{`SELECT REGEXP_INSTR('dog cat dog', 'dog', 1, 2)`, "9"},
		{`SELECT REGEXP_INSTR('dog cat dog', 'dog', 1, 1, 1)`, "4"},
		{`SELECT REGEXP_INSTR('dog cat dog', 'cow')`, "0"},
		{`SELECT REGEXP_SUBSTR('abc def ghi', '[a-z]+', 1, 3)`, "ghi"},
		{`SELECT REGEXP_SUBSTR('abc def ghi', '[a-z]+', 2, 2)`, "def"},
		{`SELECT REGEXP_REPLACE('a b c', 'b', 'X')`, "a X c"},
		{`SELECT REGEXP_REPLACE('abc', '(a)(b)', '$2$1')`, "bac"},
		{`SELECT REGEXP_REPLACE('abc def ghi', '[a-z]+', 'X', 1, 3)`, "abc def X"},
		{`SELECT REGEXP_REPLACE('0123456789', '[0-4]', 'X', 2)`, "0XXXX56789"},
		{`SELECT REGEXP_REPLACE('a.b', '[.]', '\\$')`, "a$b"},
		// Positions count characters, not bytes.
		{`SELECT REGEXP_INSTR('héllo wörld', 'w')`, "7"},
		{`SELECT REGEXP_SUBSTR('naïve café', '\\w+', 1, 2)`, "café"},
		{`SELECT REGEXP_REPLACE('wörld wörld', 'ö', 'o', 3)`, "wörld world"},
		// What Go's regexp (RE2) cannot do.
		{`SELECT REGEXP_LIKE('abab', '^(ab)\\1$'), REGEXP_LIKE('abac', '^(ab)\\1$')`, "1 0"},
		{`SELECT REGEXP_SUBSTR('price: 42 USD', '\\d+(?= USD)')`, "42"},
		{`SELECT REGEXP_LIKE('héllo', '^[[:alpha:]]+$'), REGEXP_LIKE('h3llo', '^[[:alpha:]]+$')`, "1 0"},
		// NULL in, NULL out.
		{`SELECT REGEXP_LIKE(NULL, 'a'), REGEXP_LIKE('a', NULL), 'a' REGEXP NULL`, "NULL NULL NULL"},
		{`SELECT REGEXP_INSTR(NULL, 'a'), REGEXP_SUBSTR('a', NULL), REGEXP_SUBSTR('abc', 'z')`, "NULL NULL NULL"},
		{`SELECT REGEXP_REPLACE(NULL, 'a', 'b'), REGEXP_REPLACE('a', 'a', NULL)`, "NULL NULL"},
	} {
		if got := strings.Join(query(t, c, tc.q), "|"); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.q, got, tc.want)
		}
	}

	// Patterns from rows: compiled again for each row.
	mustExec(t, c, "CREATE TABLE t (k INT PRIMARY KEY, s VARCHAR(32), p VARCHAR(32))")
	mustExec(t, c, `INSERT INTO t VALUES (1, 'apple', '^a'), (2, 'Äpfel', 'pf'), (3, 'banana', '(an)\\1'), (4, NULL, 'x'), (5, 'cherry', NULL)`)
	expectRows(t, c, "SELECT k FROM t WHERE s REGEXP '^[a-z]+$' ORDER BY k", "1", "3", "5")
	expectRows(t, c, "SELECT k, s REGEXP p, REGEXP_REPLACE(s, p, '<$0>') FROM t ORDER BY k",
		"1 1 <a>pple", "2 1 Ä<pf>el", "3 1 b<anan>a", "4 NULL NULL", "5 NULL NULL")

	// An invalid pattern is an error: 3688, a syntax error in the regular
	// expression (MySQL 8 names some faults more precisely, 3685 to 3700).
	for _, q := range []string{`SELECT 'abc' REGEXP '('`, `SELECT REGEXP_LIKE('a', 'a**')`, `SELECT REGEXP_REPLACE('abc', '[b', 'x')`} {
		err := expectErr(t, c, 3688, q)
		if !strings.Contains(err.Error(), "the given regular expression is invalid") {
			t.Errorf("%s: %v", q, err)
		}
	}
	// So is a position outside the text: 3686, as MySQL 8.
	err := expectErr(t, c, 3686, `SELECT REGEXP_INSTR('abc', 'b', 5)`)
	if !strings.Contains(err.Error(), "Index out of bounds") {
		t.Errorf("REGEXP_INSTR at 5: %v", err)
	}
}
