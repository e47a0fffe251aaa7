package sqllogictest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Wire runs files against a MySQL-compatible server (lakesql serve,
// MySQL, MariaDB) through github.com/go-sql-driver/mysql: each file gets
// a connection of its own and a new database, dropped at Close.
//
// Every record is sent as a query without arguments (the text protocol);
// values arrive as text or as the numbers go-sql-driver parses, and are
// formatted by the record's column types like the embedded backend's.
// RowsAffected is not reported (statements are sent as queries too).
type Wire struct {
	db *sql.DB
	// prefix and n name the databases: prefix_n.
	prefix string
	n      atomic.Int64
}

// NewWire connects to the server at dsn (go-sql-driver's format, e.g.
// "root:pw@tcp(127.0.0.1:3306)/"; a database in it is ignored).
func NewWire(dsn string) (*Wire, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	cfg.DBName = ""
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", cfg.Addr, err)
	}
	return &Wire{db: db, prefix: fmt.Sprintf("slt_%d", time.Now().UnixNano()%1e9)}, nil
}

// Close closes the connection pool.
func (w *Wire) Close() error { return w.db.Close() }

// Open implements Backend.
func (w *Wire) Open(ctx context.Context) (Session, error) {
	c, err := w.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	s := &wireSession{c: c, name: fmt.Sprintf("%s_%d", w.prefix, w.n.Add(1))}
	for _, q := range []string{"CREATE DATABASE " + s.name, "USE " + s.name} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			c.Close()
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	return s, nil
}

type wireSession struct {
	c    *sql.Conn
	name string
}

func (s *wireSession) Query(ctx context.Context, q string) (*Result, error) {
	rows, err := s.c.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: len(cols)}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

func (s *wireSession) ErrorCode(err error) int {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return int(me.Number)
	}
	return 0
}

func (s *wireSession) Close(ctx context.Context) error {
	_, err := s.c.ExecContext(ctx, "DROP DATABASE IF EXISTS "+s.name)
	return errors.Join(err, s.c.Close())
}
