package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lakesql/lakesql/bench"
)

// setupDuckDB opens two in-memory DuckDB databases, each with threads
// threads and one connection: "duckdb" reads the Parquet file on every
// query through a view over read_parquet, "duckdb native" holds the rows
// in a table of its own (columnar, compressed, in memory).
func setupDuckDB(ctx context.Context, d *dataset, threads int, progress func(string, ...any)) (*family, error) {
	f := &family{}
	parquet, err := bench.OpenDuck(threads)
	if err != nil {
		return nil, err
	}
	f.closers = append(f.closers, parquet.Close)
	read := "read_parquet(" + quoteString(d.parquet) + ")"
	start := time.Now()
	if _, err := parquet.ExecContext(ctx, "CREATE VIEW t AS SELECT * FROM "+read); err != nil {
		return nil, errors.Join(fmt.Errorf("create view: %w", err), f.close())
	}
	f.engines = append(f.engines, sqlEngine(duckParquet, parquet, time.Since(start),
		"CREATE VIEW t AS SELECT * FROM read_parquet(file): every query reads the file"))

	native, err := bench.OpenDuck(threads)
	if err != nil {
		return nil, errors.Join(err, f.close())
	}
	f.closers = append(f.closers, native.Close)
	progress("duckdb native: loading %s", d.parquet)
	start = time.Now()
	for _, s := range []string{
		"CREATE TABLE t (id BIGINT PRIMARY KEY, k INTEGER, v DOUBLE, s VARCHAR(16))",
		"INSERT INTO t SELECT id, k, v, s FROM " + read,
	} {
		if _, err := native.ExecContext(ctx, s); err != nil {
			return nil, errors.Join(fmt.Errorf("%s: %w", s, err), f.close())
		}
	}
	f.engines = append(f.engines, sqlEngine(duckNative, native, time.Since(start),
		"CREATE TABLE t (... PRIMARY KEY) + INSERT ... SELECT FROM read_parquet(file), in memory"))

	var version string
	if err := parquet.QueryRowContext(ctx, "SELECT version()").Scan(&version); err != nil {
		return nil, errors.Join(err, f.close())
	}
	f.notes = append(f.notes, fmt.Sprintf("DuckDB %s in this process (cgo), in-memory databases, PRAGMA threads=%d, one connection each", version, threads))
	return f, nil
}

// sqlEngine is an engine that answers through a database/sql pool.
func sqlEngine(name string, db *sql.DB, load time.Duration, how string) *engine {
	return &engine{
		name:  name,
		query: func(ctx context.Context, q string) ([][]any, error) { return sqlQuery(ctx, db, q) },
		load:  load,
		how:   how,
	}
}

// quoteString returns s as a SQL string literal.
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
