package sql_test

import (
	"context"
	"crypto/tls"
	gosql "database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	lsql "github.com/lakesql/lakesql/sql"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/mem"
)

// testServer is a lakesql server on a loopback port over a store.
type testServer struct {
	t    testing.TB
	addr string
	p    *lsql.Provider
	stop func()
}

type serverOpts struct {
	store store.Store
	cfg   func(*lsql.Config)
	// users loads the store's users (authentication on when there are
	// some); tls serves TLS.
	users bool
	tls   *tls.Config
}

func startServer(t testing.TB, o serverOpts) *testServer {
	t.Helper()
	if o.store == nil {
		o.store = mem.New()
	}
	cfg := lsql.Config{Store: o.store, Logger: slog.New(slog.DiscardHandler)}
	cfg.Writer.Logger = cfg.Logger
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	p := lsql.NewProvider(cfg)
	e := lsql.NewEngine(p)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if o.users {
		if _, err := lsql.Users(context.Background(), p, e); err != nil {
			t.Fatal(err)
		}
	}
	// Connections busy-poll as lakesql serve's do by default.
	srv, err := lsql.NewServer(p, e, lsql.ServerConfig{Address: addr, TLS: o.tls, BusyPoll: 50 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	ts := &testServer{t: t, addr: addr, p: p}
	ts.stop = func() {
		srv.Close()
		if err := p.Close(context.Background()); err != nil {
			t.Errorf("closing the provider: %v", err)
		}
	}
	t.Cleanup(func() { ts.stop() })
	return ts
}

// db opens a client pool on database name ("" for none).
func (s *testServer) db(name string) *gosql.DB {
	s.t.Helper()
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = s.addr
	cfg.DBName = name
	cfg.InterpolateParams = true
	cfg.ParseTime = true
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	db := gosql.OpenDB(c)
	s.t.Cleanup(func() { db.Close() })
	return db
}

// conn returns one connection (a session) of a pool.
// startDB starts a server, creates database d and returns a connection
// that uses it.
func startDB(t testing.TB, o serverOpts) *gosql.Conn {
	t.Helper()
	c := conn(t, startServer(t, o).db(""))
	mustExec(t, c, "CREATE DATABASE d")
	mustExec(t, c, "USE d")
	return c
}

func conn(t testing.TB, db *gosql.DB) *gosql.Conn {
	t.Helper()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (gosql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*gosql.Rows, error)
}

func mustExec(t testing.TB, db execer, q string, args ...any) gosql.Result {
	t.Helper()
	r, err := db.ExecContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return r
}

// query returns the rows of q as strings, one line per row, columns
// separated by spaces (NULL for nil).
func query(t testing.TB, db execer, q string, args ...any) []string {
	t.Helper()
	out, err := tryQuery(db, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func tryQuery(db execer, q string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(context.Background(), q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		line := ""
		for i, v := range vals {
			if i > 0 {
				line += " "
			}
			switch x := v.(type) {
			case nil:
				line += "NULL"
			case []byte:
				line += string(x)
			case time.Time:
				line += x.Format("2006-01-02 15:04:05")
			default:
				line += fmt.Sprint(x)
			}
		}
		out = append(out, line)
	}
	return out, rows.Err()
}

// errCode is the MySQL error number of err, or 0.
func errCode(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

func expectRows(t testing.TB, db execer, q string, want ...string) {
	t.Helper()
	got := query(t, db, q)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s:\n got %q\nwant %q", q, got, want)
	}
}

func expectErr(t testing.TB, db execer, code uint16, q string, args ...any) error {
	t.Helper()
	_, err := db.ExecContext(context.Background(), q, args...)
	if err == nil {
		t.Fatalf("%s: no error, want %d", q, code)
	}
	if got := errCode(err); got != code {
		t.Fatalf("%s: error %v (code %d), want code %d", q, err, got, code)
	}
	return err
}

// TestQuickstart runs DESIGN.md's quickstart session.
func TestQuickstart(t *testing.T) {
	s := startServer(t, serverOpts{})
	db := s.db("")
	c := conn(t, db)
	mustExec(t, c, "CREATE DATABASE shop")
	mustExec(t, c, "USE shop")
	mustExec(t, c, "CREATE TABLE stock (sku BIGINT PRIMARY KEY, qty INT, price DECIMAL(10,2), name VARCHAR(64))")
	expectRows(t, c, "SELECT version FROM lakesql_log", "1")
	r := mustExec(t, c, "INSERT INTO stock VALUES (1, 10, 2.50, 'apple') ON DUPLICATE KEY UPDATE qty = qty + VALUES(qty)")
	if n, _ := r.RowsAffected(); n != 1 {
		t.Fatalf("insert affected %d rows, want 1", n)
	}
	expectRows(t, c, "CALL lakesql_commit('morning load')", "2")
	mustExec(t, c, "UPDATE stock SET qty = 0 WHERE sku = 1")
	expectRows(t, c, "SELECT qty FROM stock", "0")
	expectRows(t, c, "SELECT qty FROM stock AS OF 2", "10")
	expectRows(t, c, "CALL lakesql_branch('what-if')", "3")
	mustExec(t, c, "USE `shop/what-if`")
	mustExec(t, c, "UPDATE stock SET price = price * 2")
	expectRows(t, c, "CALL lakesql_commit('double')", "4")
	expectRows(t, c, "SELECT a.sku, a.price, b.price FROM stock AS OF 'main' a JOIN stock AS OF 'what-if' b USING (sku)", "1 2.50 5.00")
	expectRows(t, c, "SELECT sku, qty, price, name FROM stock", "1 0 5.00 apple")
	mustExec(t, c, "USE shop")
	expectRows(t, c, "SELECT sku, qty, price, name FROM stock", "1 0 2.50 apple")
}
