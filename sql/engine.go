package sql

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"runtime/debug"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/lakesql/lakesql/planner"
)

// NewEngine returns a go-mysql-server engine over the provider, with
// lakesql's analyzer rules.
func NewEngine(p *Provider) *sqle.Engine {
	b := analyzer.NewBuilder(p)
	b = registerRules(b, p)
	a := b.Build()
	// The vectorizing batch runs last, after the expressions' indexes are
	// assigned (see planner.VectorizeBatch).
	if !p.cfg.NoVectorize {
		a.Batches = append(a.Batches, planner.VectorizeBatch())
	}
	a.ExecBuilder = rowexec.NewOverrideBuilder(retryBuilder{})
	e := sqle.New(a, &sqle.Config{VersionPostfix: "lakesql"})
	return e
}

// NewContext returns a query context with a new lakesql session, for
// running statements in-process (lakesql sql, tests).
func (p *Provider) NewContext(ctx context.Context, user, database string) *sql.Context {
	base := sql.NewBaseSessionWithClientServer("lakesql", sql.Client{Address: "localhost", User: user}, 1)
	s := p.NewSession(base)
	if database != "" {
		s.SetCurrentDatabase(database)
	}
	return sql.NewContext(ctx, sql.WithSession(s))
}

// ServerConfig configures the MySQL-protocol server.
type ServerConfig struct {
	// Address is host:port to listen on.
	Address string
	// TLS, when set, enables TLS (and caching_sha2_password).
	TLS *tls.Config
	// RequireTLS refuses connections without TLS.
	RequireTLS bool
	// BusyPoll, when positive, is how long a connection polls its socket
	// for the next statement after answering one before it parks (see
	// busypoll.go): lower latency for clients in a request loop, at the
	// cost of that much CPU per statement.
	BusyPoll time.Duration
}

// NewServer returns a MySQL-protocol server over the engine: each
// connection gets a lakesql session; statements that panic are answered
// with an error, not a dropped connection.
func NewServer(p *Provider, e *sqle.Engine, cfg ServerConfig) (*server.Server, error) {
	bridgeLogrus(p.log)
	builder := func(ctx context.Context, c *mysql.Conn, addr string) (sql.Session, error) {
		// Privileges match the client's host, without the port.
		host := "localhost"
		if a := c.RemoteAddr(); a != nil && a.Network() != "unix" {
			if h, _, err := net.SplitHostPort(a.String()); err == nil {
				host = h
			}
		}
		base := sql.NewBaseSessionWithClientServer(addr, sql.Client{Address: host, User: c.User, Capabilities: c.Capabilities}, c.ConnectionID)
		s := p.NewSession(base)
		p.sessions.put(c.ConnectionID, s)
		return s, nil
	}
	scfg := server.Config{
		Protocol:               "tcp",
		Address:                cfg.Address,
		TLSConfig:              cfg.TLS,
		RequireSecureTransport: cfg.RequireTLS,
	}
	if cfg.BusyPoll > 0 {
		l, err := net.Listen("tcp", cfg.Address)
		if err != nil {
			return nil, err
		}
		scfg.Listener = pollListener{Listener: l, spin: cfg.BusyPoll}
	}
	return server.NewServerWithHandler(scfg, e, sql.NewContext, builder, nil, func(h mysql.Handler) (mysql.Handler, error) {
		return &recoverHandler{Handler: h, p: p, sessions: &p.sessions}, nil
	})
}

// recoverHandler turns a panic inside a statement into an error for the
// client, and logs it.
type recoverHandler struct {
	mysql.Handler
	p        *Provider
	sessions *sessions
}

func (h *recoverHandler) ConnectionClosed(c *mysql.Conn) {
	h.sessions.drop(c.ConnectionID)
	h.Handler.ConnectionClosed(c)
}

func (h *recoverHandler) recovered(query string, err *error) {
	if r := recover(); r != nil {
		h.p.log.Error("statement panicked", "query", query, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*err = mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState, "internal error: %v (the statement was aborted; please report this)", r)
	}
}

func (h *recoverHandler) ComQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) (err error) {
	defer h.recovered(query, &err)
	if res, ok, err := h.fastInsert(ctx, c, query); ok {
		if err != nil {
			return err
		}
		return callback(res, false)
	}
	if res, ok, err := h.fastPointSelect(ctx, c, query, nil); ok {
		if err != nil {
			return err
		}
		return callback(res, false)
	}
	return engineError(h.Handler.ComQuery(ctx, c, query, callback))
}

func (h *recoverHandler) ComMultiQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) (rest string, err error) {
	defer h.recovered(query, &err)
	rest, err = h.Handler.ComMultiQuery(ctx, c, query, callback)
	return rest, engineError(err)
}

func (h *recoverHandler) ComPrepare(ctx context.Context, c *mysql.Conn, query string, prepare *mysql.PrepareData) (f []*querypb.Field, err error) {
	defer h.recovered(query, &err)
	f, err = h.Handler.ComPrepare(ctx, c, query, prepare)
	return f, engineError(err)
}

func (h *recoverHandler) ComStmtExecute(ctx context.Context, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) (err error) {
	defer h.recovered(prepare.PrepareStmt, &err)
	if res, ok, err := h.fastPointSelect(ctx, c, prepare.PrepareStmt, prepare.BindVars); ok {
		if err != nil {
			return err
		}
		return callback(res)
	}
	return engineError(h.Handler.ComStmtExecute(ctx, c, prepare, callback))
}
