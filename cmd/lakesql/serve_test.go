package main

import (
	"bufio"
	"bytes"
	"context"
	gosql "database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// The test binary doubles as the lakesql command: with LAKESQL_TEST_SERVE
// set, it runs `lakesql <those args>` instead of the tests, so that tests
// can start real server processes and kill them.
func init() {
	if args := os.Getenv("LAKESQL_TEST_SERVE"); args != "" {
		os.Exit(run(strings.Fields(args), os.Stdout, os.Stderr))
	}
}

// serverProc is a `lakesql serve` child process.
type serverProc struct {
	cmd  *exec.Cmd
	addr string
	log  *bytes.Buffer
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServe starts `lakesql serve --data dir` and waits until it accepts
// connections.
func startServe(t *testing.T, dir, addr string) *serverProc {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "LAKESQL_TEST_SERVE=serve --data "+dir+" --listen "+addr+" --flush-interval 0")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, addr: addr, log: &log}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("lakesql serve did not start:\n%s", log.String())
	return nil
}

func (p *serverProc) db(t *testing.T, name string) *gosql.DB {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", p.addr, name
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := gosql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}

// TestKillNine: after SIGKILL of a server with acknowledged writes, a
// restart on the same data takes the lease over at once (the holder is
// dead) and every acknowledged row is there.
func TestKillNine(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	p := startServe(t, dir, addr)
	db := p.db(t, "")
	ctx := context.Background()
	for _, q := range []string{"CREATE DATABASE d", "CREATE TABLE d.t (k INT PRIMARY KEY, v VARCHAR(10))"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	const n = 200
	for i := range n {
		if _, err := db.ExecContext(ctx, "INSERT INTO d.t VALUES (?, ?)", i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()

	start := time.Now()
	p2 := startServe(t, dir, addr)
	var count int
	var sum int64
	if err := p2.db(t, "d").QueryRowContext(ctx, "SELECT COUNT(*), SUM(k) FROM t").Scan(&count, &sum); err != nil {
		t.Fatalf("after the restart: %v\n%s", err, p2.log.String())
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the takeover took %s; a dead holder's lease should be taken at once", took)
	}
	if count != n || sum != n*(n-1)/2 {
		t.Fatalf("after kill -9 and restart: %d rows (sum %d), want %d (sum %d)", count, sum, n, n*(n-1)/2)
	}
	// And the new server writes.
	if _, err := p2.db(t, "d").ExecContext(ctx, "INSERT INTO t VALUES (1000, 'after')"); err != nil {
		t.Fatal(err)
	}
}

// readmeQuickstart returns the SQL of the README's quickstart session: the
// lines of the ```sql block after the `$ mysql` line.
func readmeQuickstart(t *testing.T) string {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && strings.HasPrefix(line, "$ mysql "):
			in = true
		case in && strings.HasPrefix(line, "```"):
			return strings.Join(out, "\n") + "\n"
		case in:
			out = append(out, line)
		}
	}
	t.Fatal("README.md has no quickstart session (a ```sql block with a `$ mysql` line)")
	return ""
}

// mysqlClient is the mysql command's path; without one the test fails, or
// skips with LAKESQL_TEST_MYSQL=skip.
func mysqlClient(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("mysql")
	if err != nil {
		if os.Getenv("LAKESQL_TEST_MYSQL") == "skip" {
			t.Skip("no mysql client and LAKESQL_TEST_MYSQL=skip")
		}
		t.Fatal("the mysql client is missing (apt-get install mariadb-client; scripts/test.sh installs it); LAKESQL_TEST_MYSQL=skip opts out")
	}
	return bin
}

// TestQuickstartMySQLClient runs the README's quickstart through the real
// mysql command (Debian's mariadb-client) against a real server process.
func TestQuickstartMySQLClient(t *testing.T) {
	mysqlBin := mysqlClient(t)
	session := readmeQuickstart(t)
	p := startServe(t, t.TempDir(), freeAddr(t))
	host, port, _ := net.SplitHostPort(p.addr)
	cmd := exec.Command(mysqlBin, "-h"+host, "-P"+port, "-uroot", "--batch", "--skip-column-names")
	cmd.Stdin = strings.NewReader(session)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mysql: %v\n%s\nserver log:\n%s", err, out, p.log.String())
	}
	got := string(out)
	for _, want := range []string{
		"2\n",                        // lakesql_commit('morning load')
		"10\n",                       // SELECT qty FROM stock AS OF 2
		"3\n",                        // lakesql_branch
		"1\t2.50\t5.00\n",            // the join of main and what-if
		"COMMIT\tmorning load\troot", // lakesql_log
		"4\twhat-if\t",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the quickstart's output lacks %q:\n%s", want, got)
		}
	}
}

// TestLoadDataLocalMySQLClient: the real mysql client sends a file with
// LOAD DATA LOCAL INFILE; the server reads its quoted CSV through the
// bulk path and every row arrives.
func TestLoadDataLocalMySQLClient(t *testing.T) {
	mysqlBin := mysqlClient(t)
	var csv strings.Builder
	csv.WriteString("id,name,price\n")
	for i := 1; i <= 5000; i++ {
		fmt.Fprintf(&csv, "%d,\"item %d, \"\"special\"\"\",%d.25\n", i, i, i)
	}
	file := filepath.Join(t.TempDir(), "items.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, t.TempDir(), freeAddr(t))
	host, port, _ := net.SplitHostPort(p.addr)
	cmd := exec.Command(mysqlBin, "-h"+host, "-P"+port, "-uroot", "--batch", "--skip-column-names", "--local-infile=1")
	cmd.Stdin = strings.NewReader(`CREATE DATABASE shop;
USE shop;
CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40), price DECIMAL(10,2));
SET GLOBAL local_infile = 1;
LOAD DATA LOCAL INFILE '` + file + `' INTO TABLE items FIELDS TERMINATED BY ',' ENCLOSED BY '"' IGNORE 1 LINES;
SELECT COUNT(*), SUM(price) FROM items;
SELECT name FROM items WHERE id = 42;
SELECT operation FROM lakesql_log ORDER BY version DESC LIMIT 1;
`)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mysql: %v\n%s\nserver log:\n%s", err, out, p.log.String())
	}
	want := "5000\t12503750.00\nitem 42, \"special\"\nLOAD DATA\n"
	if string(out) != want {
		t.Errorf("mysql printed\n%q\nwant\n%q", out, want)
	}
	if !strings.Contains(p.log.String(), "LOAD DATA through the bulk path") {
		t.Errorf("the load did not take the bulk path; server log:\n%s", p.log.String())
	}
}
