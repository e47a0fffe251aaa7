package sqllogictest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/lakesql/lakesql/memwal"
	"github.com/lakesql/lakesql/mergeplan"
	lsql "github.com/lakesql/lakesql/sql"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/store/mem"
)

// A Backend opens a fresh, empty database for each test file. Open is
// called concurrently, by one goroutine per file.
type Backend interface {
	Open(ctx context.Context) (Session, error)
}

// Session is one file's connection to its database. A session is used by
// one goroutine at a time, but Close may be called while an abandoned
// Query (one that timed out) still runs.
type Session interface {
	// Query runs one statement.
	Query(ctx context.Context, sql string) (*Result, error)
	// ErrorCode is the MySQL error number of an error Query returned.
	ErrorCode(err error) int
	// Close drops the database and releases everything the session holds.
	Close(ctx context.Context) error
}

// Result is what a statement returned: Columns result columns (0 for a
// write) and rows of nil, int64, uint64, float64, string or []byte.
type Result struct {
	Columns      int
	Rows         [][]any
	RowsAffected uint64
}

// Database is the name of the database a file's SQL runs in, on the
// embedded backend (a file may USE `slt/branch`).
const Database = "slt"

// Embedded runs files in-process on lakesql's embedded engine: each file
// gets its own engine over its own store, with one database, Database.
type Embedded struct {
	// Config is the engine's configuration; Store and AfterStatement are
	// set per file. Logger defaults to discarding.
	Config lsql.Config
	// Dir, when set, puts each file's data in a local store in a new
	// directory below Dir (removed at Close); by default a mem store.
	Dir string
	// Metamorphic changes the storage schedule without changing any
	// answer: MemTables of one byte, a flush after every write statement
	// and a merge (Compact) after every fifth.
	Metamorphic bool
}

// CompactEvery is how many write statements the metamorphic mode runs
// between merges.
const CompactEvery = 5

// Open implements Backend.
func (b *Embedded) Open(ctx context.Context) (Session, error) {
	cfg := b.Config
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var (
		st  store.Store
		dir string
	)
	if b.Dir != "" {
		var err error
		if dir, err = os.MkdirTemp(b.Dir, "slt-"); err != nil {
			return nil, err
		}
		ls, err := local.Open(dir)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		st = ls
	} else {
		st = mem.New()
	}
	cfg.Store = st
	if b.Metamorphic {
		cfg.Writer.FlushBytes = 1
		n := 0 // statements are serialized per session: no lock needed
		cfg.AfterStatement = func(ctx context.Context, w *memwal.Branch) error {
			n++
			if err := w.Flush(ctx); err != nil {
				return fmt.Errorf("metamorphic flush: %w", err)
			}
			if n%CompactEvery == 0 {
				if _, err := w.Compact(ctx, "", mergeplan.MergeOptions{}); err != nil {
					return fmt.Errorf("metamorphic compact: %w", err)
				}
			}
			return nil
		}
	}
	e := lsql.NewEmbedded(cfg)
	s := &embeddedSession{e: e, c: e.Connect("root", ""), st: st, dir: dir}
	for _, q := range []string{"CREATE DATABASE " + Database, "USE " + Database} {
		if _, err := s.c.Query(ctx, q); err != nil {
			return nil, errors.Join(fmt.Errorf("%s: %w", q, err), s.Close(ctx))
		}
	}
	return s, nil
}

type embeddedSession struct {
	e   *lsql.Embedded
	c   *lsql.Conn
	st  store.Store
	dir string
}

func (s *embeddedSession) Query(ctx context.Context, sql string) (*Result, error) {
	res, err := s.c.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	return &Result{Columns: len(res.Columns), Rows: res.Rows, RowsAffected: res.RowsAffected}, nil
}

func (s *embeddedSession) ErrorCode(err error) int { return lsql.ErrorCode(err) }

func (s *embeddedSession) Close(ctx context.Context) error {
	s.c.Close()
	err := errors.Join(s.e.Close(ctx), s.st.Close())
	if s.dir != "" {
		err = errors.Join(err, os.RemoveAll(s.dir))
	}
	return err
}
