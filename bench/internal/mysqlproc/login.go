package mysqlproc

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"time"

	"github.com/go-sql-driver/mysql"
)

// StartTimeout bounds the time from starting a server to its first
// successful login.
const StartTimeout = 30 * time.Second

// WaitReady logs in to login until it succeeds, the child exits or
// StartTimeout passes.
func WaitReady(ctx context.Context, c *Child, login *mysql.Config) error {
	deadline := time.Now().Add(StartTimeout)
	for {
		select {
		case <-c.done:
			return fmt.Errorf("exited (%v): %s", c.err, c.Tail())
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := Ping(pctx, login)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no login within %v: %v", StartTimeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Ping logs in once.
func Ping(ctx context.Context, login *mysql.Config) error {
	db, err := Open(login, "")
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// Open returns a pool of one connection to database dbName (none if
// empty). Parameters of plain queries are interpolated by the client;
// Prepare still makes a server-side prepared statement.
func Open(login *mysql.Config, dbName string) (*sql.DB, error) {
	cfg := login.Clone()
	cfg.DBName = dbName
	cfg.InterpolateParams = true
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	return db, nil
}

// TCPLogin returns the login for user at 127.0.0.1:port.
func TCPLogin(user, password string, port int) *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = user, password
	cfg.Net, cfg.Addr = "tcp", fmt.Sprintf("127.0.0.1:%d", port)
	return cfg
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
