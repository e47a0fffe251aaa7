package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	lsql "github.com/lakesql/lakesql/sql"
	"github.com/lakesql/lakesql/store/local"
)

// lakesql runs a command in-process on standard input stdin and returns
// its standard output, standard error and exit status.
func lakesql(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runIO(args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

// mustRun runs a command that must succeed and returns its output.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := lakesql(t, "", args...)
	if code != 0 {
		t.Fatalf("lakesql %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// query runs statements embedded and returns the tsv output.
func query(t *testing.T, dir, db, q string) string {
	t.Helper()
	return mustRun(t, "sql", "--data", dir, "--db", db, "--format", "tsv", "-q", q)
}

// newShop creates database shop with table stock in a new data directory.
func newShop(t *testing.T) string {
	dir := t.TempDir()
	mustRun(t, "sql", "--data", dir, "-q", `CREATE DATABASE shop; USE shop;
		CREATE TABLE stock (sku BIGINT PRIMARY KEY, qty INT, price DECIMAL(10,2), name VARCHAR(16) DEFAULT 'none');
		INSERT INTO stock VALUES (1, 10, 2.50, 'apple'), (2, NULL, 3, 'pear, "green"')`)
	return dir
}

func TestSQLFormats(t *testing.T) {
	dir := newShop(t)
	q := "SELECT sku, qty, price, name FROM stock ORDER BY sku"
	for _, tc := range []struct{ format, want string }{
		{"table", `+-----+------+-------+---------------+
| sku | qty  | price | name          |
+-----+------+-------+---------------+
|   1 |   10 |  2.50 | apple         |
|   2 | NULL |  3.00 | pear, "green" |
+-----+------+-------+---------------+
2 rows in set
`},
		{"csv", `sku,qty,price,name
1,10,2.50,apple
2,,3.00,"pear, ""green"""
`},
		{"tsv", "sku\tqty\tprice\tname\n1\t10\t2.50\tapple\n2\tNULL\t3.00\tpear, \"green\"\n"},
		{"json", `[
  {"sku": 1, "qty": 10, "price": 2.50, "name": "apple"},
  {"sku": 2, "qty": null, "price": 3.00, "name": "pear, \"green\""}
]
`},
	} {
		t.Run(tc.format, func(t *testing.T) {
			got := mustRun(t, "sql", "--data", dir, "--db", "shop", "--format", tc.format, "-q", q)
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
	// Writes, empty results and several statements in the table format.
	got := mustRun(t, "sql", "--data", dir, "--db", "shop", "-q", "UPDATE stock SET qty = 1 WHERE sku = 2; SELECT * FROM stock WHERE sku > 5")
	if want := "Query OK, 1 row affected\n\nEmpty set\n"; got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestSQLStdin(t *testing.T) {
	dir := newShop(t)
	script := `-- a comment; not a statement
USE shop;
# another comment;
INSERT INTO stock VALUES (3, 1, 1, 'it''s; \'quoted\''), -- trailing comment ;
  (4, 2, 2, "semi;colon");
/* a block; comment */
SELECT name FROM stock WHERE sku >= 3 ORDER BY sku;
SELECT COUNT(*) AS n FROM stock` // the last statement needs no ';'
	out, errOut, code := lakesql(t, script, "sql", "--data", dir, "--format", "tsv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := "name\nit's; 'quoted'\nsemi;colon\n\nn\n4\n"; out != want {
		t.Errorf("got:\n%q\nwant:\n%q", out, want)
	}
}

func TestSQLErrorStops(t *testing.T) {
	dir := newShop(t)
	out, errOut, code := lakesql(t, "SELECT 1 AS a;\nSELECT * FROM nope;\nINSERT INTO stock VALUES (9, 9, 9, 'x');\n",
		"sql", "--data", dir, "--db", "shop", "--format", "csv")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if out != "a\n1\n" {
		t.Errorf("stdout %q: the statement before the error runs, nothing after it", out)
	}
	if !strings.HasPrefix(errOut, "ERROR 1146: ") || !strings.Contains(errOut, "line 2") {
		t.Errorf("stderr %q, want ERROR 1146 naming line 2", errOut)
	}
	if got := query(t, dir, "shop", "SELECT COUNT(*) FROM stock WHERE sku = 9"); !strings.HasSuffix(got, "\n0\n") {
		t.Errorf("the statement after the error ran: %q", got)
	}
	// A syntax error is 1064; an unterminated quote is a script error.
	if _, errOut, code := lakesql(t, "", "sql", "--data", dir, "-q", "SELEC 1"); code != 1 || !strings.HasPrefix(errOut, "ERROR 1064: ") {
		t.Errorf("syntax error: exit %d, %q", code, errOut)
	}
	if _, errOut, code := lakesql(t, "SELECT 'abc", "sql", "--data", dir); code != 1 || !strings.Contains(errOut, "quoted string") {
		t.Errorf("unterminated quote: exit %d, %q", code, errOut)
	}
}

func TestSplitter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"SELECT 1", []string{"SELECT 1"}},
		{" ; ;SELECT 1;; SELECT 2 ; ", []string{"SELECT 1", "SELECT 2"}},
		{`SELECT 'a;b', "c;d", ` + "`e;f`", []string{`SELECT 'a;b', "c;d", ` + "`e;f`"}},
		{`SELECT 'it''s;', 'a\';b'`, []string{`SELECT 'it''s;', 'a\';b'`}},
		{"SELECT 1 -- c; d\n, 2", []string{"SELECT 1 \n, 2"}},
		{"SELECT 1--2;", []string{"SELECT 1--2"}}, // "--" without a space is minus minus
		{"# only a comment;\n-- and another\n", nil},
		{"SELECT /* x; */ 1; /*! SELECT 2 */", []string{"SELECT   1", "/*! SELECT 2 */"}},
		{"SELECT 'multi\nline;'; SELECT 3", []string{"SELECT 'multi\nline;'", "SELECT 3"}},
	} {
		sp := newSplitter(strings.NewReader(tc.in))
		var got []string
		for {
			q, _, err := sp.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%q: %v", tc.in, err)
			}
			got = append(got, q)
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
	sp := newSplitter(strings.NewReader("\n\n  SELECT\n1; -- x\n\nSELECT 2"))
	var lines []int
	for {
		_, line, err := sp.next()
		if err != nil {
			break
		}
		lines = append(lines, line)
	}
	if fmt.Sprint(lines) != "[3 6]" {
		t.Errorf("statement lines %v, want [3 6]", lines)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportCSV(t *testing.T) {
	dir := newShop(t)
	csv := writeFile(t, t.TempDir(), "fruit.csv", "id,name,price,day,at,ok\n"+
		"1,apple,2.5,2024-01-02,2024-01-02 10:00:00.5,true\n"+
		"2,\"pear, \"\"green\"\"\",3,2024-02-03,2024-01-02 11:00:00,false\r\n"+
		"3,,\\N,,,\n"+
		"4,\"two\nlines\",1e3,2024-03-04,2024-01-02T12:00:00.25,TRUE\n"+
		"5,\"\",-0.5,2024-03-05,2024-01-03 00:00:00,false\n")
	out, errOut, code := lakesql(t, "", "import", "--data", dir, "shop.fruit", csv, "--header") // flags after the arguments too
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !regexp.MustCompile(`^imported 5 rows into shop.fruit \(branch main, version 3\) from .*fruit.csv: \d+ B in [0-9.]+ s, \d+ rows/s \(reading [0-9.]+ s, writing and committing [0-9.]+ s\)\n$`).MatchString(out) {
		t.Errorf("summary %q", out)
	}
	got := query(t, dir, "shop", "SELECT id, name, price, day, at, ok, name IS NULL FROM fruit ORDER BY id")
	want := "id\tname\tprice\tday\tat\tok\tname IS NULL\n" +
		"1\tapple\t2.5\t2024-01-02\t2024-01-02 10:00:00.5\t1\t0\n" +
		"2\tpear, \"green\"\t3\t2024-02-03\t2024-01-02 11:00:00\t0\t0\n" +
		"3\tNULL\tNULL\tNULL\tNULL\tNULL\t1\n" +
		"4\ttwo\\nlines\t1000\t2024-03-04\t2024-01-02 12:00:00.25\t1\t0\n" +
		"5\t\t-0.5\t2024-03-05\t2024-01-03 00:00:00\t0\t0\n"
	if got != want {
		t.Errorf("rows:\n%s\nwant:\n%s", got, want)
	}
	types := query(t, dir, "shop", "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.columns WHERE table_name = 'fruit' ORDER BY ORDINAL_POSITION")
	if want := "COLUMN_NAME\tCOLUMN_TYPE\nid\tbigint\nname\tvarchar(255)\nprice\tdouble\nday\tdate\nat\tdatetime(2)\nok\ttinyint(1)\n"; types != want {
		t.Errorf("inferred types:\n%s\nwant:\n%s", types, want)
	}
	if log := query(t, dir, "shop", "SELECT version, operation, message FROM lakesql_log WHERE version = 3"); log != "version\toperation\tmessage\n3\tIMPORT\timport fruit.csv\n" {
		t.Errorf("log: %q", log)
	}

	// Into an existing table by position (no header): the file's columns
	// are the table's first ones; the others take their DEFAULT.
	pos := writeFile(t, t.TempDir(), "more.csv", "10,5\n11,6\n")
	mustRun(t, "import", "--data", dir, "shop.stock", pos)
	if got := query(t, dir, "shop", "SELECT sku, qty, price, name FROM stock WHERE sku >= 10 ORDER BY sku"); got != "sku\tqty\tprice\tname\n10\t5\tNULL\tnone\n11\t6\tNULL\tnone\n" {
		t.Errorf("by position: %q", got)
	}
	// By name, from standard input, tab-separated, columns in another order.
	out, errOut, code = lakesql(t, "name\tsku\nkiwi\t12\n", "import", "--data", dir, "--header", "--delimiter", `\t`, "shop.stock", "-")
	if code != 0 {
		t.Fatalf("stdin import: exit %d: %s", code, errOut)
	}
	if got := query(t, dir, "shop", "SELECT sku, name FROM stock WHERE sku = 12"); got != "sku\tname\n12\tkiwi\n" {
		t.Errorf("by name: %q", got)
	}
	// A value that does not fit names the line and the column; nothing
	// changes.
	bad := writeFile(t, t.TempDir(), "bad.csv", "sku,name\n20,ok\n21,much too long a name\n")
	_, errOut, code = lakesql(t, "", "import", "--data", dir, "--header", "shop.stock", bad)
	if code != 1 || !strings.Contains(errOut, "line 3: column name VARCHAR(16): value too long") {
		t.Errorf("too long: exit %d: %s", code, errOut)
	}
	if got := query(t, dir, "shop", "SELECT COUNT(*) FROM stock WHERE sku >= 20"); !strings.HasSuffix(got, "\n0\n") {
		t.Errorf("a failed import wrote rows: %q", got)
	}
}

func TestImportCreatedTableDroppedOnFailure(t *testing.T) {
	dir := newShop(t)
	var b strings.Builder
	b.WriteString("n\n")
	for i := range sampleRows + 5 {
		fmt.Fprintf(&b, "%d\n", i)
	}
	b.WriteString("not a number\n") // after the records inference reads
	csv := writeFile(t, t.TempDir(), "n.csv", b.String())
	_, errOut, code := lakesql(t, "", "import", "--data", dir, "--header", "shop.nums", csv)
	if code != 1 || !strings.Contains(errOut, fmt.Sprintf("line %d: column n BIGINT: not an integer", sampleRows+7)) || !strings.Contains(errOut, "dropped again") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := query(t, dir, "shop", "SHOW TABLES"); strings.Contains(got, "nums") {
		t.Errorf("the created table is still there: %q", got)
	}
}

// pqRow is a Parquet file's row in the tests.
type pqRow struct {
	ID    int64     `parquet:"id"`
	K     int32     `parquet:"k"`
	Small int8      `parquet:"small,int(8)"`
	U     uint16    `parquet:"u,uint(16)"`
	V     float64   `parquet:"v"`
	S     *string   `parquet:"s,optional"`
	Price int64     `parquet:"price,decimal(2:10)"`
	Day   int32     `parquet:"day,date"` // days: parquet-go v0.32.0 writes a time.Time DATE as int32(UnixNano)
	At    time.Time `parquet:"at,timestamp(microsecond:local)"`
	Flag  bool      `parquet:"flag"`
	Raw   []byte    `parquet:"raw"`
}

func TestImportParquet(t *testing.T) {
	dir := newShop(t)
	s := func(v string) *string { return &v }
	rows := []pqRow{
		{ID: 1, K: -7, Small: -3, U: 65535, V: 0.25, S: s("a"), Price: 1250, Day: 19724, At: time.Date(2024, 1, 2, 3, 4, 5, 678000, time.UTC), Flag: true, Raw: []byte{0, 1}},
		{ID: 2, K: 8, V: -1.5, S: nil, Price: -5, Day: -1, At: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), Raw: []byte{}},
	}
	file := filepath.Join(t.TempDir(), "t.parquet")
	if err := parquet.WriteFile(file, rows); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "import", "--data", dir, "--key", "id", "shop.pq", file)
	if !strings.HasPrefix(out, "imported 2 rows into shop.pq") {
		t.Errorf("summary %q", out)
	}
	got := query(t, dir, "shop", "SELECT id, k, small, u, v, s, price, day, at, flag, HEX(raw) FROM pq ORDER BY id")
	want := "id\tk\tsmall\tu\tv\ts\tprice\tday\tat\tflag\tHEX(raw)\n" +
		"1\t-7\t-3\t65535\t0.25\ta\t12.50\t2024-01-02\t2024-01-02 03:04:05.000678\t1\t0001\n" +
		"2\t8\t0\t0\t-1.5\tNULL\t-0.05\t1969-12-31\t2000-01-01 00:00:00\t0\t\n"
	if got != want {
		t.Errorf("rows:\n%s\nwant:\n%s", got, want)
	}
	types := query(t, dir, "shop", "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY FROM information_schema.columns WHERE table_name = 'pq' ORDER BY ORDINAL_POSITION")
	wantTypes := "COLUMN_NAME\tCOLUMN_TYPE\tIS_NULLABLE\tCOLUMN_KEY\n" +
		"id\tbigint\tNO\tPRI\nk\tint\tNO\t\nsmall\ttinyint\tNO\t\nu\tsmallint unsigned\tNO\t\nv\tdouble\tNO\t\n" +
		"s\tlongtext\tYES\t\nprice\tdecimal(10,2)\tNO\t\nday\tdate\tNO\t\nat\tdatetime(6)\tNO\t\nflag\ttinyint(1)\tNO\t\nraw\tlongblob\tNO\t\n"
	if types != wantTypes {
		t.Errorf("mapped types:\n%s\nwant:\n%s", types, wantTypes)
	}
	// Into an existing table by name: a Parquet file with some of stock's
	// columns.
	type stockRow struct {
		Sku  int64  `parquet:"sku"`
		Name string `parquet:"name"`
	}
	f2 := filepath.Join(t.TempDir(), "stock.parquet")
	if err := parquet.WriteFile(f2, []stockRow{{30, "fig"}, {31, "lime"}}); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "import", "--data", dir, "shop.stock", f2)
	if got := query(t, dir, "shop", "SELECT sku, qty, name FROM stock WHERE sku >= 30 ORDER BY sku"); got != "sku\tqty\tname\n30\tNULL\tfig\n31\tNULL\tlime\n" {
		t.Errorf("by name: %q", got)
	}
}

func TestImportUpsert(t *testing.T) {
	dir := newShop(t)
	mustRun(t, "sql", "--data", dir, "--db", "shop", "-q", "CALL lakesql_commit('seed')") // version 2
	before := query(t, dir, "shop", "SELECT * FROM stock ORDER BY sku")
	logBefore := query(t, dir, "shop", "SELECT version, operation FROM lakesql_log")
	dup := writeFile(t, t.TempDir(), "dup.csv", "sku,qty\n5,1\n2,7\n")
	_, errOut, code := lakesql(t, "", "import", "--data", dir, "--header", "shop.stock", dup)
	if code != 1 || !strings.Contains(errOut, "duplicate key [2]") || !strings.Contains(errOut, "record 2") ||
		!strings.Contains(errOut, "already") || !strings.Contains(errOut, "nothing was imported") || !strings.Contains(errOut, "--upsert") {
		t.Fatalf("existing key: exit %d: %s", code, errOut)
	}
	twice := writeFile(t, t.TempDir(), "twice.csv", "sku,qty\n7,1\n8,1\n7,2\n")
	_, errOut, code = lakesql(t, "", "import", "--data", dir, "--header", "shop.stock", twice)
	if code != 1 || !strings.Contains(errOut, "duplicate key [7]: records 1 and 3") {
		t.Fatalf("key twice in the file: exit %d: %s", code, errOut)
	}
	if got := query(t, dir, "shop", "SELECT * FROM stock ORDER BY sku"); got != before {
		t.Errorf("failed imports changed the table:\n%s\nwas:\n%s", got, before)
	}
	if got := query(t, dir, "shop", "SELECT version, operation FROM lakesql_log"); got != logBefore {
		t.Errorf("failed imports made versions:\n%s\nwas:\n%s", got, logBefore)
	}
	// With --upsert the file's rows replace the table's; the last row of a
	// key wins; columns the file lacks take their DEFAULT, as a REPLACE.
	mustRun(t, "import", "--data", dir, "--header", "--upsert", "shop.stock", dup)
	mustRun(t, "import", "--data", dir, "--header", "--upsert", "shop.stock", twice)
	got := query(t, dir, "shop", "SELECT sku, qty, price, name FROM stock ORDER BY sku")
	want := "sku\tqty\tprice\tname\n1\t10\t2.50\tapple\n2\t7\tNULL\tnone\n5\t1\tNULL\tnone\n7\t2\tNULL\tnone\n8\t1\tNULL\tnone\n"
	if got != want {
		t.Errorf("after upserts:\n%s\nwant:\n%s", got, want)
	}
	if n := query(t, dir, "shop", "SELECT COUNT(*) FROM stock"); n != "COUNT(*)\n5\n" {
		t.Errorf("count %q", n)
	}
	if got := query(t, dir, "shop", "SELECT qty FROM stock AS OF 2 WHERE sku = 2"); got != "qty\nNULL\n" {
		t.Errorf("the version before the upsert: %q", got)
	}
	// A keyless table cannot upsert.
	mustRun(t, "sql", "--data", dir, "--db", "shop", "-q", "CREATE TABLE nokey (a INT)")
	_, errOut, code = lakesql(t, "", "import", "--data", dir, "--upsert", "shop.nokey", writeFile(t, t.TempDir(), "a.csv", "1\n"))
	if code != 1 || !strings.Contains(errOut, "no primary key") {
		t.Errorf("keyless upsert: exit %d: %s", code, errOut)
	}
}

// TestImportWhileLeaseHeld: another writer (here a second engine in this
// process, as a server would be) holds the branch's lease: import and
// compact fail naming it; reads still work.
func TestImportWhileLeaseHeld(t *testing.T) {
	dir := newShop(t)
	ctx := context.Background()
	st, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	other := lsql.NewEmbedded(lsql.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	defer func() {
		other.Close(ctx)
		st.Close()
	}()
	conn := other.Connect("root", "shop")
	defer conn.Close()
	if _, err := conn.Query(ctx, "INSERT INTO stock VALUES (3, 3, 3, 'held')"); err != nil {
		t.Fatal(err)
	}
	holder := "pid " + strconv.Itoa(os.Getpid())
	csv := writeFile(t, t.TempDir(), "s.csv", "sku,qty\n40,1\n")
	_, errOut, code := lakesql(t, "", "import", "--data", dir, "--header", "shop.stock", csv)
	if code != 1 || !strings.Contains(errOut, holder) || !strings.Contains(errOut, "LOAD DATA") {
		t.Errorf("import: exit %d: %s", code, errOut)
	}
	_, errOut, code = lakesql(t, "", "compact", "--data", dir, "shop")
	if code != 1 || !strings.Contains(errOut, holder) {
		t.Errorf("compact: exit %d: %s", code, errOut)
	}
	if got := query(t, dir, "shop", "SELECT COUNT(*) FROM stock"); got != "COUNT(*)\n2\n" {
		t.Errorf("read while held: %q", got)
	}
	if _, err := conn.Query(ctx, "SELECT COUNT(*) FROM stock WHERE sku = 40"); err != nil {
		t.Fatal(err)
	}
}

func TestMaintenance(t *testing.T) {
	dir := newShop(t)
	mustRun(t, "sql", "--data", dir, "--db", "shop", "-q", `CALL lakesql_commit('first load');
		CALL lakesql_tag('v1'); CALL lakesql_branch('dev');
		INSERT INTO stock VALUES (5, 5, 5, 'five'); CALL lakesql_commit('second')`)
	mustRun(t, "sql", "--data", dir, "--db", "shop/dev", "-q", `INSERT INTO stock VALUES (6, 6, 6, 'six'); CALL lakesql_commit('on dev')`)

	log := mustRun(t, "log", "--data", dir, "--format", "csv", "shop")
	if !strings.HasPrefix(log, "version,branch,committed_at,operation,message,user\n3,main,") ||
		!strings.Contains(log, ",COMMIT,second,root\n") || !strings.Contains(log, ",COMMIT,first load,root\n") || strings.Contains(log, "on dev") {
		t.Errorf("log:\n%s", log)
	}
	if dev := mustRun(t, "log", "--data", dir, "--branch", "dev", "--format", "tsv", "shop"); !strings.Contains(dev, "on dev") {
		t.Errorf("log of dev:\n%s", dev)
	}
	if b := mustRun(t, "branches", "--data", dir, "--format", "tsv", "shop"); !regexp.MustCompile(`(?m)^dev\t3\tmain\t2\t`).MatchString(b) || !strings.Contains(b, "main\t3\t") {
		t.Errorf("branches:\n%s", b)
	}
	if tags := mustRun(t, "tags", "--data", dir, "--format", "tsv", "shop"); !regexp.MustCompile(`(?m)^v1\tmain\t2\t`).MatchString(tags) {
		t.Errorf("tags:\n%s", tags)
	}
	if out := mustRun(t, "checkpoint", "--data", dir, "shop"); !regexp.MustCompile(`^checkpoint written at entry \d+ of branch main\n$`).MatchString(out) {
		t.Errorf("checkpoint: %q", out)
	}
	// Deletion vectors and several files: something for compact to do.
	upd := writeFile(t, t.TempDir(), "u.csv", "1,11\n2,12\n5,15\n")
	for range 3 {
		mustRun(t, "import", "--data", dir, "--upsert", "shop.stock", upd)
	}
	if out := mustRun(t, "compact", "--data", dir, "shop"); !regexp.MustCompile(`^[1-9]\d* merges committed in [0-9.]+ s\n$`).MatchString(out) {
		t.Errorf("compact: %q", out)
	}
	if out := mustRun(t, "compact", "--data", dir, "--table", "stock", "shop/dev"); !regexp.MustCompile(`^\d+ merges committed`).MatchString(out) {
		t.Errorf("compact dev: %q", out)
	}
	// A version after the compaction, so that no retained version needs
	// the files it replaced.
	mustRun(t, "sql", "--data", dir, "--db", "shop", "-q", "INSERT INTO stock VALUES (7, 7, 7, 'seven'); DELETE FROM stock WHERE sku = 7; CALL lakesql_commit('after compact')")

	// Vacuum: under an hour needs --force; a dry run lists and deletes
	// nothing; then the vacuum deletes what the dry run listed.
	if _, errOut, code := lakesql(t, "", "vacuum", "--data", dir, "--retain", "10m", "shop"); code != 2 || !strings.Contains(errOut, "--force") {
		t.Errorf("vacuum without --force: exit %d: %s", code, errOut)
	}
	out, errOut, code := lakesql(t, "", "vacuum", "--data", dir, "--retain", "0s", "--force", "--dry-run", "shop")
	if code != 0 || !strings.Contains(out, "| path") || !strings.Contains(out, "removed") || !strings.Contains(out, "dry run: would delete") ||
		!strings.Contains(errOut, "vacuum: ") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	m := regexp.MustCompile(`would delete (\d+) files`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" {
		t.Fatalf("dry run deletes nothing:\n%s", out)
	}
	out = mustRun(t, "vacuum", "--data", dir, "--retain", "0s", "--force", "shop")
	if !strings.HasPrefix(out, "deleted "+m[1]+" files") {
		t.Errorf("vacuum: %q, the dry run said %s files", out, m[1])
	}
	if got := query(t, dir, "shop", "SELECT sku, qty FROM stock ORDER BY sku"); got != "sku\tqty\n1\t11\n2\t12\n5\t15\n" {
		t.Errorf("after vacuum: %q", got)
	}
	if _, errOut, code := lakesql(t, "", "log", "--data", dir, "nope"); code != 1 || !strings.Contains(errOut, "does not exist") {
		t.Errorf("unknown database: exit %d: %s", code, errOut)
	}
}

func TestHelpAndUsage(t *testing.T) {
	for _, cmd := range []string{"serve", "sql", "import", "log", "branches", "tags", "compact", "checkpoint", "vacuum", "version"} {
		out, errOut, code := lakesql(t, "", cmd, "--help")
		if code != 0 || !strings.Contains(out+errOut, "Example") || !strings.Contains(out+errOut, "lakesql "+cmd) {
			t.Errorf("%s --help: exit %d\n%s%s", cmd, code, out, errOut)
		}
	}
	if out, _, code := lakesql(t, "", "help"); code != 0 || !strings.Contains(out, "import") {
		t.Errorf("help: exit %d: %s", code, out)
	}
	for _, args := range [][]string{
		{"nope"},
		{"sql", "--format", "xml"},
		{"sql", "--bogus"},
		{"import", "shop.t"},
		{"import", "shopt", "f.csv"},
		{"import", "--delimiter", "ab", "shop.t", "f.csv"},
		{"log"},
		{"vacuum", "a", "b"},
	} {
		if _, errOut, code := lakesql(t, "", args...); code != 2 {
			t.Errorf("%q: exit %d, want 2: %s", args, code, errOut)
		}
	}
	if _, errOut, code := lakesql(t, "", "import", "--data", t.TempDir(), "shop.t", filepath.Join(t.TempDir(), "missing.csv")); code != 1 || !strings.Contains(errOut, "missing.csv") {
		t.Errorf("missing file: exit %d: %s", code, errOut)
	}
	if _, errOut, code := lakesql(t, "", "sql", "--data", "s3://bucket/p?secret_access_key=hunter2&endpoint=http://127.0.0.1:1", "-q", "SELECT 1"); code != 1 || strings.Contains(errOut, "hunter2") {
		t.Errorf("credentials in an error: exit %d: %s", code, errOut)
	}
}
