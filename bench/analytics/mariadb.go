package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lakesql/lakesql/bench/internal/mariadb"
	"github.com/lakesql/lakesql/bench/internal/mysqlproc"
)

// settleTimeout bounds the wait for InnoDB to write the load's dirty
// pages; after it the queries start anyway.
const settleTimeout = 5 * time.Minute

// setupMariaDB starts MariaDB in dir (InnoDB defaults; bufferPool, if not
// empty, sets innodb_buffer_pool_size), loads the CSV file with LOAD DATA
// LOCAL INFILE into bench.t, analyzes the table and waits until InnoDB has
// written the load's dirty pages, so that the background flushing does not
// compete with the queries.
func setupMariaDB(ctx context.Context, d *dataset, dir, bufferPool string, progress func(string, ...any)) (*family, error) {
	opts := mariadb.Options{Config: []string{"local-infile=1", "query_cache_type=0"}}
	if bufferPool != "" {
		opts.Config = append(opts.Config, "innodb_buffer_pool_size="+bufferPool)
	}
	progress("mariadb: starting in %s", dir)
	srv, err := mariadb.Start(ctx, dir, opts)
	if err != nil {
		return nil, err
	}
	f := &family{notes: srv.Notes, closers: []func() error{srv.Stop}}
	admin, err := mysqlproc.Open(srv.Login, "")
	if err != nil {
		return nil, errors.Join(err, f.close())
	}
	_, err = admin.ExecContext(ctx, "CREATE DATABASE bench")
	admin.Close()
	if err != nil {
		return nil, errors.Join(err, f.close())
	}
	// The load's connection may read local files; the queries' may not.
	loader := srv.Login.Clone()
	loader.AllowAllFiles = true
	ldb, err := mysqlproc.Open(loader, "bench")
	if err != nil {
		return nil, errors.Join(err, f.close())
	}
	progress("mariadb: loading %s", d.csv)
	start := time.Now()
	err = loadCSV(ctx, ldb, d)
	took := time.Since(start)
	ldb.Close()
	if err != nil {
		return nil, errors.Join(err, f.close())
	}
	db, err := mysqlproc.Open(srv.Login, "bench")
	if err != nil {
		return nil, errors.Join(err, f.close())
	}
	f.closers = append(f.closers, db.Close)
	progress("mariadb: loaded in %v; waiting for InnoDB to write the dirty pages", took.Round(time.Millisecond))
	settled, dirty, err := settle(ctx, db)
	if err != nil {
		return nil, errors.Join(err, f.close())
	}
	size, err := tableNote(ctx, db)
	if err != nil {
		return nil, errors.Join(err, f.close())
	}
	flushed := fmt.Sprintf("after the load, InnoDB wrote its dirty pages in %v", settled.Round(time.Millisecond))
	if dirty > 0 {
		flushed = fmt.Sprintf("after the load, InnoDB still had %d dirty pages after %v: its page cleaner may have competed with the first queries", dirty, settled.Round(time.Millisecond))
	}
	f.notes = append(f.notes, size, flushed+" (innodb_max_dirty_pages_pct=0 and innodb_io_capacity=50000 meanwhile, then restored)")
	f.engines = append(f.engines, sqlEngine(mariaDB, db, took,
		"LOAD DATA LOCAL INFILE of the CSV + ANALYZE TABLE (InnoDB, over the MySQL protocol)"))
	return f, nil
}

// loadCSV creates t and loads the CSV file into it.
func loadCSV(ctx context.Context, db *sql.DB, d *dataset) error {
	stmts := []string{
		"CREATE TABLE t (id BIGINT PRIMARY KEY, k INT, v DOUBLE, s VARCHAR(16))",
		"LOAD DATA LOCAL INFILE " + quoteString(d.csv) +
			" INTO TABLE t FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' IGNORE 1 LINES (id, k, v, s)",
		"ANALYZE TABLE t",
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil {
		return err
	}
	if n != d.rows {
		return fmt.Errorf("the load left %d rows, want %d", n, d.rows)
	}
	return nil
}

// settle makes InnoDB write every dirty page now, waits until none is
// left (at most settleTimeout) and restores the settings it changed. It
// returns how long that took and how many pages were still dirty when it
// gave up. With InnoDB's defaults the page cleaner writes the load's pages
// at innodb_io_capacity (200 pages/s) for minutes, competing with the
// queries; meanwhile innodb_max_dirty_pages_pct is 0 and the I/O capacity
// raised.
func settle(ctx context.Context, db *sql.DB) (time.Duration, int64, error) {
	settings := []struct{ name, value string }{
		{"innodb_io_capacity_max", "100000"}, // first: io_capacity may not exceed it
		{"innodb_io_capacity", "50000"},
		{"innodb_max_dirty_pages_pct", "0"},
	}
	old := make([]string, len(settings))
	for i, st := range settings {
		if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL."+st.name).Scan(&old[i]); err != nil {
			return 0, 0, err
		}
	}
	restore := func() error {
		var errs []error
		for i := len(settings) - 1; i >= 0; i-- {
			_, err := db.ExecContext(context.WithoutCancel(ctx), "SET GLOBAL "+settings[i].name+" = "+old[i])
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
	for _, st := range settings {
		if _, err := db.ExecContext(ctx, "SET GLOBAL "+st.name+" = "+st.value); err != nil {
			return 0, 0, errors.Join(err, restore())
		}
	}
	start := time.Now()
	dirty, err := waitClean(ctx, db)
	return time.Since(start), dirty, errors.Join(err, restore())
}

// waitClean polls InnoDB's dirty page count until it is 0 or
// settleTimeout has passed, and returns the last count.
func waitClean(ctx context.Context, db *sql.DB) (int64, error) {
	deadline := time.Now().Add(settleTimeout)
	for {
		var name string
		var dirty int64
		err := db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'").Scan(&name, &dirty)
		if err != nil || dirty == 0 || time.Now().After(deadline) {
			return dirty, err
		}
		select {
		case <-ctx.Done():
			return dirty, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// tableNote says how large the table is against the buffer pool, and
// whether the query cache is off.
func tableNote(ctx context.Context, db *sql.DB) (string, error) {
	var data, index, pool int64
	var flushMethod, queryCache string
	err := db.QueryRowContext(ctx, `SELECT data_length, index_length, @@innodb_buffer_pool_size, @@innodb_flush_method, @@query_cache_type
		FROM information_schema.tables WHERE table_schema = 'bench' AND table_name = 't'`).
		Scan(&data, &index, &pool, &flushMethod, &queryCache)
	if err != nil {
		return "", err
	}
	note := fmt.Sprintf("table t: %d MiB of data and %d MiB of indexes in InnoDB, buffer pool %d MiB, query cache %s",
		data>>20, index>>20, pool>>20, strings.ToLower(queryCache))
	if data+index > pool {
		note += fmt.Sprintf("; the table does NOT fit in the buffer pool, so queries read pages from disk (innodb_flush_method=%s): "+
			"-mariadb-buffer-pool 2G for a warm-cache comparison", flushMethod)
	}
	return note, nil
}
