package sql_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lakesql/lakesql/store/local"
)

// TestBadInput: each mistake gets the MySQL error code a MySQL user
// expects, and changes nothing.
func TestBadInput(t *testing.T) {
	c := startDB(t, serverOpts{})
	mustExec(t, c, "CREATE TABLE t (k INT PRIMARY KEY, v TINYINT, s VARCHAR(4))")
	mustExec(t, c, "INSERT INTO t VALUES (1, 1, 'a')")
	expectRows(t, c, "CALL lakesql_commit()", "2")
	mustExec(t, c, "CREATE TABLE gone (k INT PRIMARY KEY)")
	mustExec(t, c, "INSERT INTO gone VALUES (7)")
	expectRows(t, c, "CALL lakesql_commit()", "4")
	mustExec(t, c, "DROP TABLE gone")
	before := query(t, c, "SELECT version FROM lakesql_log")

	for _, tc := range []struct {
		q    string
		code uint16
		msg  string
	}{
		{"SELECT * FROM t AS OF 'nope'", 1105, "nope"},
		{"SELECT * FROM t AS OF 99", 1105, "99"},
		{"SELECT * FROM t AS OF 'main@42'", 1105, "42"},
		{"USE `d/nope`", 1049, "d/nope"},
		{"USE nodb", 1049, "nodb"},
		{"INSERT INTO t AS OF 2 VALUES (5, 5, 'x')", 1064, ""},
		{"INSERT INTO t VALUES (1, 2, 'dup')", 1062, ""},
		{"INSERT INTO t VALUES (2, 300, 'x')", 1264, ""},
		{"INSERT INTO t VALUES (2, 1, 'x'), (3, 1000, 'y')", 1264, ""},
		{"INSERT INTO t VALUES (2, 'abc', 'x')", 1366, ""},
		{"INSERT INTO t VALUES (2, 1, 'toolong')", 1406, ""},
		{"CREATE TABLE bad (k INT PRIMARY KEY, p POINT)", 1235, "POINT"},
		{"CREATE TABLE bad2 (k INT PRIMARY KEY, e ENUM('a','b'))", 1235, "ENUM"},
		{"SELECT * FROM gone", 1146, "gone"},
		{"INSERT INTO gone VALUES (8)", 1146, "gone"},
		{"SELEKT 1", 1064, ""},
		{"CALL lakesql_branch_delete('main')", 1105, "main"},
		{"CALL lakesql_tag('t1', 'nope')", 1105, "nope"},
	} {
		err := expectErr(t, c, tc.code, tc.q)
		if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v does not name %q", tc.q, err, tc.msg)
		}
	}
	expectRows(t, c, "SELECT k, v, s FROM t", "1 1 a")
	if got := query(t, c, "SELECT version FROM lakesql_log"); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Fatalf("versions changed: %v, were %v", got, before)
	}
	// The dropped table stays readable AS OF an older version.
	expectRows(t, c, "SELECT k FROM gone AS OF 4", "7")
	expectRows(t, c, "SHOW TABLES", "t")
}

// TestBranches: branch isolation both ways, tags, deleting a branch.
func TestBranches(t *testing.T) {
	s := startServer(t, serverOpts{})
	c := conn(t, s.db(""))
	mustExec(t, c, "CREATE DATABASE d")
	mustExec(t, c, "USE d")
	mustExec(t, c, "CREATE TABLE t (k INT PRIMARY KEY)")
	mustExec(t, c, "INSERT INTO t VALUES (1)")
	expectRows(t, c, "CALL lakesql_branch('dev')", "2")
	dev := conn(t, s.db("d/dev"))
	expectRows(t, dev, "SELECT DATABASE()", "d/dev")
	mustExec(t, dev, "INSERT INTO t VALUES (2)")
	mustExec(t, c, "INSERT INTO t VALUES (3)")
	expectRows(t, dev, "SELECT k FROM t ORDER BY k", "1", "2")
	expectRows(t, c, "SELECT k FROM t ORDER BY k", "1", "3")
	expectRows(t, c, "SELECT name, head_version, from_branch, from_version FROM lakesql_branches ORDER BY name", "dev 2 main 2", "main 2 NULL NULL")
	expectRows(t, dev, "CALL lakesql_commit('dev work')", "3")
	expectRows(t, c, "CALL lakesql_tag('rel')", "3")
	expectRows(t, c, "SELECT name, branch, version FROM lakesql_tags", "rel main 3")
	expectErr(t, c, 1105, "CALL lakesql_tag('rel')")
	expectRows(t, c, "SELECT k FROM t AS OF 'rel' ORDER BY k", "1", "3")
	expectRows(t, c, "SELECT k FROM t AS OF 'dev' ORDER BY k", "1", "2")
	expectRows(t, c, "CALL lakesql_tag_delete('rel')", "0")
	expectErr(t, c, 1105, "CALL lakesql_tag('rel')")
	expectRows(t, c, "CALL lakesql_branch_delete('dev')", "0")
	_, err := dev.ExecContext(context.Background(), "SELECT * FROM t")
	if code := errCode(err); code != 1049 {
		t.Fatalf("a session on a deleted branch got %v (code %d), want 1049", err, code)
	}
	expectRows(t, c, "SELECT name FROM lakesql_branches", "main")
}

// TestNotTheWriter: a second server on the same data serves reads of the
// newest version and refuses writes, naming the holder.
func TestNotTheWriter(t *testing.T) {
	dir := t.TempDir()
	st1, _ := local.Open(dir)
	s1 := startServer(t, serverOpts{store: st1})
	c1 := conn(t, s1.db(""))
	mustExec(t, c1, "CREATE DATABASE d")
	mustExec(t, c1, "USE d")
	mustExec(t, c1, "CREATE TABLE t (k INT PRIMARY KEY)")
	mustExec(t, c1, "INSERT INTO t VALUES (1)")
	expectRows(t, c1, "CALL lakesql_commit()", "2")
	mustExec(t, c1, "INSERT INTO t VALUES (2)")

	st2, _ := local.Open(dir)
	s2 := startServer(t, serverOpts{store: st2})
	c2 := conn(t, s2.db("d"))
	expectRows(t, c2, "SELECT k FROM t ORDER BY k", "1")
	err := expectErr(t, c2, 1105, "INSERT INTO t VALUES (3)")
	if !strings.Contains(err.Error(), "pid") && !strings.Contains(err.Error(), "held") {
		t.Fatalf("the refusal does not name the holder: %v", err)
	}
	expectErr(t, c2, 1105, "CALL lakesql_commit()")
	expectRows(t, c1, "SELECT k FROM t ORDER BY k", "1", "2")
}
