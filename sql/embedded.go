package sql

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync/atomic"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// Embedded runs SQL in-process, without a server: `lakesql sql` and the
// sqllogictest runner use it. It keeps go-mysql-server's types inside this
// package: results come back as Go values with MySQL type names.
type Embedded struct {
	p   *Provider
	e   *sqle.Engine
	ids atomic.Uint32
}

// NewEmbedded returns an embedded engine over a new provider.
func NewEmbedded(cfg Config) *Embedded {
	p := NewProvider(cfg)
	return &Embedded{p: p, e: NewEngine(p)}
}

// Provider is the embedded engine's provider.
func (e *Embedded) Provider() *Provider { return e.p }

// Close closes the provider (flushing and releasing every branch writer).
func (e *Embedded) Close(ctx context.Context) error {
	e.e.Close()
	return e.p.Close(ctx)
}

// Conn is one session of an embedded engine. Used by one goroutine.
type Conn struct {
	e *Embedded
	s *Session
}

// Connect opens a session as user, using database ("" for none).
func (e *Embedded) Connect(user, database string) *Conn {
	id := e.ids.Add(1)
	base := sql.NewBaseSessionWithClientServer("lakesql", sql.Client{Address: "localhost", User: user}, id)
	s := e.p.NewSession(base)
	if database != "" {
		s.SetCurrentDatabase(database)
	}
	return &Conn{e: e, s: s}
}

// Close ends the session (an open transaction is rolled back).
func (c *Conn) Close() { c.s.SessionEnd() }

// Column is a result column: its name and MySQL type ("BIGINT",
// "VARCHAR(64)", "DECIMAL(10,2)", ...).
type Column struct {
	Name string
	Type string
	// Kind classifies the type for formatting: 'I' integer, 'R' float or
	// decimal, 'T' anything else.
	Kind byte
}

// Result is what a statement returns: columns and rows for a query, the
// affected row count for a write.
type Result struct {
	Columns      []Column
	Rows         [][]any
	RowsAffected uint64
}

// Query runs one statement and drains its result.
func (c *Conn) Query(ctx context.Context, query string) (res *Result, err error) {
	sctx := sql.NewContext(ctx, sql.WithSession(c.s))
	sctx.SetCurrentDatabase(c.s.GetCurrentDatabase())
	defer func() {
		if r := recover(); r != nil {
			err = panicError(r)
		}
	}()
	sch, iter, _, err := c.e.e.QueryWithBindings(sctx, query, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	res = &Result{}
	okRows := 0
	for _, col := range sch {
		res.Columns = append(res.Columns, Column{Name: col.Name, Type: strings.ToUpper(col.Type.String()), Kind: kindOf(col.Type)})
	}
	for {
		row, err := iter.Next(sctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			iter.Close(sctx)
			return nil, err
		}
		if ok, isOK := okResult(row); isOK {
			res.RowsAffected += ok
			okRows++
			continue
		}
		out := make([]any, len(row))
		for i, v := range row {
			if out[i], err = wireValue(sctx, sch[i].Type, v); err != nil {
				iter.Close(sctx)
				return nil, err
			}
		}
		res.Rows = append(res.Rows, out)
	}
	if err := iter.Close(sctx); err != nil {
		return nil, err
	}
	// A statement answered with an OkResult has no columns, whatever the
	// schema says (LOAD DATA's bulk path answers under the INSERT's).
	if len(sch) == 1 && sch[0].Name == types.OkResultColumnName || okRows > 0 && len(res.Rows) == 0 {
		res.Columns = nil
	}
	return res, nil
}

// wireValue is a value as a client reads it: integers as int64 or uint64,
// floats as float64, everything else as the text the wire carries; nil is
// NULL.
func wireValue(ctx *sql.Context, t sql.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	sv, err := t.SQL(ctx, nil, v)
	if err != nil {
		return nil, err
	}
	if sv.IsNull() {
		return nil, nil
	}
	text := sv.ToString()
	switch {
	case sv.IsSigned():
		return strconv.ParseInt(text, 10, 64)
	case sv.IsUnsigned():
		return strconv.ParseUint(text, 10, 64)
	case sv.IsFloat():
		return strconv.ParseFloat(text, 64)
	}
	return text, nil
}

func okResult(row sql.Row) (uint64, bool) {
	if len(row) != 1 {
		return 0, false
	}
	if ok, isOK := row[0].(types.OkResult); isOK {
		return ok.RowsAffected, true
	}
	return 0, false
}

func kindOf(t sql.Type) byte {
	switch {
	case types.IsInteger(t):
		return 'I'
	case types.IsFloat(t), types.IsDecimal(t):
		return 'R'
	}
	return 'T'
}

// ErrorCode is the MySQL error number a client would get for err.
func ErrorCode(err error) int {
	if err == nil {
		return 0
	}
	return int(sql.CastSQLError(engineError(err)).Num)
}

func panicError(r any) error {
	return errors.New("internal error: " + strings.TrimSpace(strings.ReplaceAll(fmtAny(r), "\n", " ")))
}

func fmtAny(r any) string {
	if e, ok := r.(error); ok {
		return e.Error()
	}
	if s, ok := r.(string); ok {
		return s
	}
	return "panic"
}
