package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/lakesql/lakesql/bench/internal/mysqlproc"
)

// startLakesql builds cmd/lakesql from the repository at src into dir and
// runs `lakesql serve` with its data in dir, logging in as root with an
// empty password.
//
// The server runs with --flush-interval 0: MemTables flush when they reach
// 32 MiB and on DDL, not also every minute, so that the secondary part's
// fresh upserts stay in the MemTable through its lookups instead of
// leaving it at a moment that depends on when the server started.
func startLakesql(ctx context.Context, dir, src string) (*instance, error) {
	bin := filepath.Join(dir, "lakesql")
	fmt.Fprintf(os.Stderr, "lakesql: building %s/cmd/lakesql\n", src)
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/lakesql")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/lakesql: %v: %s", err, mysqlproc.LastLines(out))
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		return nil, err
	}
	port, err := mysqlproc.FreePort()
	if err != nil {
		return nil, err
	}
	c, err := mysqlproc.Start(filepath.Join(dir, "lakesql.log"), bin,
		"serve", "--data", data, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--flush-interval", "0")
	if err != nil {
		return nil, err
	}
	stop := func() error { return c.Stop(time.Minute) }
	login := mysqlproc.TCPLogin("root", "", port)
	if err := mysqlproc.WaitReady(ctx, c, login); err != nil {
		stop()
		return nil, err
	}
	return &instance{
		login:        login,
		notes:        []string{"`lakesql serve --flush-interval 0` built from " + src + ": MemTables flush at 32 MiB and on DDL only"},
		stop:         stop,
		memTableRows: lakesqlMemTableRows,
	}, nil
}

// lakesqlMemTableRows reads the rows of table in the MemTables of the
// session's database from lakesql's system table.
func lakesqlMemTableRows(ctx context.Context, db *sql.DB, table string) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, "SELECT COALESCE(SUM(row_count), 0) FROM lakesql_memtables WHERE table_name = ?", table).Scan(&n)
	return n, err
}
