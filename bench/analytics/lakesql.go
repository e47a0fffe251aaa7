package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	lsql "github.com/lakesql/lakesql/sql"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
)

// lakesqlConfig is the configuration of the embedded lakesql engine under
// test, over the store that holds its databases. It is the one place that
// decides how lakesql runs: to measure another execution mode, change it
// here (for instance NoVectorize: true, where sql.Config has it, keeps
// every query on go-mysql-server's row path). The report prints every
// field of the configuration in effect (describeConfig).
func lakesqlConfig(st store.Store) lsql.Config {
	return lsql.Config{
		Store:  st,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		// FlushInterval 0: no background flush; nothing is written after
		// the load anyway.
		// NoVectorize (-novectorize) measures go-mysql-server's row path.
		NoVectorize: noVectorize,
	}
}

// noVectorize is the -novectorize flag.
var noVectorize bool

// describeConfig spells cfg for the report: every field, so that a field
// added later shows up without a change here. The store, the logger and
// the resolver are named instead of printed as pointers.
func describeConfig(cfg lsql.Config, storeDir string) string {
	c := cfg
	c.Store, c.Logger, c.External = nil, nil, nil
	return fmt.Sprintf("Store: local %s, Logger: warnings to stderr, External: default; %+v", storeDir, c)
}

// lakesql database names of the two tables (both are called t).
const (
	managedDB = "lake_managed"
	virtualDB = "lake_virtual"
)

// setupLakesql opens an embedded lakesql engine over a new local store in
// dir and makes two tables t of the Parquet file:
//
//   - "lakesql virtual" (database lake_virtual): the file itself, added in place
//     as a virtual file (lakesql_container_create + lakesql_add_files).
//   - "lakesql" (database lake_managed): the same, then lakesql_materialize,
//     which rewrites the file into a data file of lakesql's own: a managed
//     table, as an import would leave it.
func setupLakesql(ctx context.Context, d *dataset, dir string, progress func(string, ...any)) (*family, error) {
	st, err := local.Open(dir)
	if err != nil {
		return nil, err
	}
	cfg := lakesqlConfig(st)
	e := lsql.NewEmbedded(cfg)
	f := &family{notes: []string{
		"lakesql embedded in this process (sql.NewEmbedded), GOMAXPROCS goroutines per scan; config (lakesqlConfig): " + describeConfig(cfg, dir),
	}}
	f.closers = append(f.closers, st.Close, func() error { return e.Close(context.WithoutCancel(ctx)) })

	admin := e.Connect("root", "")
	defer admin.Close()
	for _, db := range []string{managedDB, virtualDB} {
		if _, err := admin.Query(ctx, "CREATE DATABASE "+db); err != nil {
			return nil, errors.Join(err, f.close())
		}
	}
	container := "file://" + filepath.Dir(d.parquet) + "/"
	table := []string{
		"CALL lakesql_container_create('bench', " + quoteString(container) + ", '{}')",
		"CREATE TABLE t (id BIGINT PRIMARY KEY, k INT, v DOUBLE, s VARCHAR(16))",
		"CALL lakesql_add_files('t', " + quoteString("file://"+d.parquet) + ")",
	}
	for _, m := range []struct {
		name, db, how string
		stmts         []string
	}{
		{lakesqlVirtual, virtualDB, "lakesql_add_files of the Parquet file in place (virtual file)", table},
		{lakesqlManaged, managedDB, "lakesql_add_files, then lakesql_materialize: a data file written by lakesql",
			slices.Concat(table, []string{"CALL lakesql_materialize('t')"})},
	} {
		progress("%s: loading %s", m.name, d.parquet)
		c := e.Connect("root", m.db)
		f.closers = append(f.closers, func() error { c.Close(); return nil })
		start := time.Now()
		for _, s := range m.stmts {
			if _, err := c.Query(ctx, s); err != nil {
				return nil, errors.Join(fmt.Errorf("%s: %s: %w", m.name, s, err), f.close())
			}
		}
		f.engines = append(f.engines, &engine{name: m.name, query: lakesqlQuery(c), load: time.Since(start), how: m.how})
	}
	return f, nil
}

// lakesqlQuery returns an engine's query function over an embedded
// session.
func lakesqlQuery(c *lsql.Conn) func(ctx context.Context, q string) ([][]any, error) {
	return func(ctx context.Context, q string) ([][]any, error) {
		res, err := c.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		out := make([][]any, len(res.Rows))
		for i, r := range res.Rows {
			row := make([]any, len(r))
			for j, v := range r {
				if row[j], err = normalize(v, res.Columns[j].Kind != 'T'); err != nil {
					return nil, fmt.Errorf("column %s: %w", res.Columns[j].Name, err)
				}
			}
			out[i] = row
		}
		return out, nil
	}
}
