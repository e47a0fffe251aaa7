package sql_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"

	lsql "github.com/lakesql/lakesql/sql"
)

// logCounter counts the log records whose message is msg.
type logCounter struct {
	msg string
	mu  sync.Mutex
	n   int
}

func (h *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCounter) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logCounter) WithGroup(string) slog.Handler            { return h }
func (h *logCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.mu.Lock()
		h.n++
		h.mu.Unlock()
	}
	return nil
}

// count returns the count so far and resets it.
func (h *logCounter) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.n
	h.n = 0
	return n
}

// startLoadDB is startDB counting the server's bulk LOAD DATA runs.
func startLoadDB(t *testing.T) (execer, *logCounter) {
	bulk := &logCounter{msg: "LOAD DATA through the bulk path"}
	c := startDB(t, serverOpts{cfg: func(cfg *lsql.Config) { cfg.Logger = slog.New(bulk) }})
	return c, bulk
}

// writeFile writes a file in a fresh directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadTwice runs a LOAD DATA statement (with %s for the table) into table
// a in autocommit mode, which takes the bulk path, and into table b
// inside a transaction, which takes the INSERT's path; both must affect
// the same number of rows and leave the same rows.
func loadTwice(t *testing.T, c execer, bulk *logCounter, stmt string, wantBulk bool) int64 {
	t.Helper()
	n := affected(t, c, fmt.Sprintf(stmt, "a"))
	if got := bulk.count(); (got == 1) != wantBulk {
		t.Errorf("%s: %d bulk loads, want bulk %v", stmt, got, wantBulk)
	}
	mustExec(t, c, "BEGIN")
	m := affected(t, c, fmt.Sprintf(stmt, "b"))
	mustExec(t, c, "COMMIT")
	if got := bulk.count(); got != 0 {
		t.Errorf("%s in a transaction: %d bulk loads", stmt, got)
	}
	if n != m {
		t.Errorf("%s: %d rows affected by the bulk path, %d by the INSERT's", stmt, n, m)
	}
	ra := query(t, c, "SELECT * FROM a ORDER BY k")
	rb := query(t, c, "SELECT * FROM b ORDER BY k")
	if fmt.Sprint(ra) != fmt.Sprint(rb) {
		t.Errorf("%s: the bulk path left\n%v\nthe INSERT's\n%v", stmt, ra, rb)
	}
	return n
}

// TestLoadDataPaths: LOAD DATA reads quoted fields, escapes, NULLs,
// empty and missing fields the same way on the bulk path (autocommit) and
// on the INSERT's path (in a transaction), with the same rows and counts
// for plain, IGNORE and REPLACE loads.
func TestLoadDataPaths(t *testing.T) {
	c, bulk := startLoadDB(t)
	for _, tb := range []string{"a", "b"} {
		mustExec(t, c, "CREATE TABLE "+tb+" (k INT PRIMARY KEY, s VARCHAR(20), d DOUBLE, n INT DEFAULT 7)")
	}
	f := writeFile(t, "rows.csv", strings.Join([]string{
		`k,s,d,n`,
		`1,"a, quoted",1.5,10`,
		`2,"say ""hi""",,`,
		`3,\N,NULL,"12"`,
		`4,"two` + "\n" + `lines",2e3`,
		`5,tab\there,0.25,1,extra`,
		`6`,
		``,
		`7,"",-1,`,
	}, "\n")+"\n")
	stmt := "LOAD DATA INFILE '" + f + "' INTO TABLE %s FIELDS TERMINATED BY ',' ENCLOSED BY '\"' IGNORE 1 LINES"
	if n := loadTwice(t, c, bulk, stmt, true); n != 7 {
		t.Errorf("first load affected %d rows, want 7", n)
	}
	expectRows(t, c, "SELECT k, s, d, n FROM a ORDER BY k",
		"1 a, quoted 1.5 10", `2 say "hi" NULL 7`, "3 NULL NULL 12", "4 two\nlines 2000 7",
		"5 tab\there 0.25 1", "6  NULL 7", "7  -1 7")

	dups := writeFile(t, "dups.csv", "1,first,1,1\n8,new,8,8\n8,again,9,9\n2,second,2,2\n")
	base := "LOAD DATA INFILE '" + dups + "' %s INTO TABLE %s FIELDS TERMINATED BY ','"
	if n := loadTwice(t, c, bulk, fmt.Sprintf(base, "IGNORE", "%s"), true); n != 1 {
		t.Errorf("IGNORE affected %d rows, want 1", n)
	}
	expectRows(t, c, "SELECT k, s FROM a WHERE k IN (1, 2, 8) ORDER BY k", "1 a, quoted", `2 say "hi"`, "8 new")
	// REPLACE: 4 rows in, and keys 1, 2 and 8 (twice) replaced.
	if n := loadTwice(t, c, bulk, fmt.Sprintf(base, "REPLACE", "%s"), true); n != 8 {
		t.Errorf("REPLACE affected %d rows, want 8", n)
	}
	expectRows(t, c, "SELECT k, s FROM a WHERE k IN (1, 2, 8) ORDER BY k", "1 first", "2 second", "8 again")
	expectRows(t, c, "SELECT COUNT(*) FROM a", "8")

	// A key the table holds fails a plain load, on either path; nothing
	// is written.
	v := query(t, c, "SELECT MAX(version) FROM lakesql_log")
	expectErr(t, c, 1062, fmt.Sprintf(fmt.Sprintf(base, "", "%s"), "a"))
	mustExec(t, c, "BEGIN")
	expectErr(t, c, 1062, fmt.Sprintf(fmt.Sprintf(base, "", "%s"), "b"))
	mustExec(t, c, "ROLLBACK")
	expectRows(t, c, "SELECT MAX(version) FROM lakesql_log", v...)
	expectRows(t, c, "SELECT COUNT(*) FROM a", "8")
	expectRows(t, c, "SELECT COUNT(*) FROM b", "8")
}

// TestLoadDataBadInput: a value that does not convert fails the load with
// its line, and a missing file or an unsupported format is an error;
// nothing is written.
func TestLoadDataBadInput(t *testing.T) {
	c, _ := startLoadDB(t)
	mustExec(t, c, "CREATE TABLE t (k INT PRIMARY KEY, s VARCHAR(3) NOT NULL)")
	mustExec(t, c, "INSERT INTO t VALUES (1, 'x')")
	var sb strings.Builder
	for i := 2; i <= 20000; i++ {
		fmt.Fprintf(&sb, "%d,v\n", i)
	}
	good := sb.String()
	for _, tc := range []struct {
		name, content string
		code          uint16
		want          string
	}{
		{"a string for a number", good + "oops,v\n", 1366, "row 20000"},
		{"too long", "5,abcd\n" + good, 1406, "row 1:"},
		{"NULL in NOT NULL", good + "30000,\\N\n", 1048, "row 20000"},
		{"out of range", good + "99999999999,v\n", 1264, "row 20000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := writeFile(t, "bad.csv", tc.content)
			err := expectErr(t, c, tc.code, "LOAD DATA INFILE '"+f+"' INTO TABLE t FIELDS TERMINATED BY ','")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %s", err, tc.want)
			}
			expectRows(t, c, "SELECT COUNT(*) FROM t", "1")
		})
	}
	_, err := c.ExecContext(context.Background(), "LOAD DATA INFILE '/nonexistent/x.csv' INTO TABLE t")
	if err == nil {
		t.Error("a missing file loaded")
	}
	f := writeFile(t, "ok.csv", "5,a\n")
	if _, err := c.ExecContext(context.Background(), "LOAD DATA INFILE '"+f+"' INTO TABLE t FIELDS TERMINATED BY ''"); err == nil {
		t.Error("an empty FIELDS TERMINATED BY loaded")
	}
	expectRows(t, c, "SELECT COUNT(*) FROM t", "1")
}

// TestLoadDataVariables: user variables and SET take the INSERT's path.
func TestLoadDataVariables(t *testing.T) {
	c, bulk := startLoadDB(t)
	mustExec(t, c, "CREATE TABLE t (k INT PRIMARY KEY, s VARCHAR(20), d DOUBLE)")
	f := writeFile(t, "v.csv", "1,abc,2\n2,\\N,3\n")
	mustExec(t, c, "LOAD DATA INFILE '"+f+"' INTO TABLE t FIELDS TERMINATED BY ',' (k, @s, @d) SET s = UPPER(@s), d = @d * 10")
	if bulk.count() != 0 {
		t.Error("a load with SET took the bulk path")
	}
	expectRows(t, c, "SELECT k, s, d FROM t ORDER BY k", "1 ABC 20", "2 NULL 30")
}

// TestLoadDataLocal: LOAD DATA LOCAL reads the client's file once
// local_infile allows it, and skips repeated keys as IGNORE does (MySQL's
// rule for LOCAL), through the bulk path; a keyless table takes every row.
func TestLoadDataLocal(t *testing.T) {
	c, bulk := startLoadDB(t)
	mustExec(t, c, "CREATE TABLE t (k INT PRIMARY KEY, s VARCHAR(20))")
	mustExec(t, c, "CREATE TABLE nokey (k INT, s VARCHAR(20))")
	mysql.RegisterReaderHandler("rows", func() io.Reader { return strings.NewReader("1\ta\n2\tb\n1\tc\n") })
	defer mysql.DeregisterReaderHandler("rows")
	expectErr(t, c, 1105, "LOAD DATA LOCAL INFILE 'Reader::rows' INTO TABLE t")
	mustExec(t, c, "SET GLOBAL local_infile = 1")
	defer mustExec(t, c, "SET GLOBAL local_infile = 0")
	if n := affected(t, c, "LOAD DATA LOCAL INFILE 'Reader::rows' INTO TABLE t"); n != 2 {
		t.Errorf("LOCAL affected %d rows, want 2", n)
	}
	expectRows(t, c, "SELECT k, s FROM t ORDER BY k", "1 a", "2 b")
	for range 2 {
		mustExec(t, c, "LOAD DATA LOCAL INFILE 'Reader::rows' INTO TABLE nokey")
	}
	expectRows(t, c, "SELECT COUNT(*), SUM(k) FROM nokey", "6 8")
	if n := bulk.count(); n != 3 {
		t.Errorf("%d bulk loads, want 3", n)
	}
}
