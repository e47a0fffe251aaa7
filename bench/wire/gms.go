package main

import (
	"context"
	"errors"
	"net"
	"runtime/debug"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	vmysql "github.com/dolthub/vitess/go/mysql"

	"github.com/lakesql/lakesql/bench/internal/mysqlproc"
)

// startGMS serves a go-mysql-server engine from this process on a loopback
// port. Its one database, bench, keeps its tables in keyedTables; no user
// accounts are set up, so GMS accepts any login.
func startGMS(ctx context.Context, _ string) (*instance, error) {
	eng := sqle.NewDefault(memory.NewDBProvider(newKeyedDatabase("bench")))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	srv, err := server.NewServer(server.Config{Protocol: "tcp", Address: addr, Listener: l},
		eng, sql.NewContext, newSession, nil)
	if err != nil {
		l.Close()
		return nil, err
	}
	go srv.Start() // returns when the listener is closed
	login := mysqlproc.TCPLogin("root", "", l.Addr().(*net.TCPAddr).Port)
	stop := func() error {
		srv.Close()
		// Close cancels the engine's background threads and returns the
		// cancellation.
		if err := eng.Close(); !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	}
	if err := mysqlproc.Ping(ctx, login); err != nil {
		stop()
		return nil, err
	}
	return &instance{
		login: login,
		notes: []string{"go-mysql-server " + moduleVersion("github.com/dolthub/go-mysql-server") +
			" engine and server in this process (sharing its cores with the client); storage: keyedTable, rows in memory with a hash index on the primary key"},
		stop:      stop,
		noIndexes: "keyedTable has no secondary indexes (CREATE INDEX needs sql.IndexAlterableTable)",
	}, nil
}

// newSession is the server's session builder: a plain session, no
// transactions.
func newSession(_ context.Context, conn *vmysql.Conn, addr string) (sql.Session, error) {
	client := sql.Client{Capabilities: conn.Capabilities}
	if u, ok := conn.UserData.(sql.MysqlConnectionUser); ok {
		client.User, client.Address = u.User, u.Host
	}
	return sql.NewBaseSessionWithClientServer(addr, client, conn.ConnectionID), nil
}

// moduleVersion returns the version of module path built into this binary.
func moduleVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == path {
				return m.Version
			}
		}
	}
	return "(unknown version)"
}
