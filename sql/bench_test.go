package sql_test

import (
	"context"
	gosql "database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/lakesql/lakesql/internal/base"
)

// benchTable loads t(id BIGINT PRIMARY KEY, k INT, v DOUBLE, s VARCHAR(32))
// with n rows through a server and returns a connection to it.
func benchTable(b *testing.B, n int) execer {
	s := startServer(b, serverOpts{})
	c := conn(b, s.db(""))
	mustExec(b, c, "CREATE DATABASE d")
	mustExec(b, c, "USE d")
	mustExec(b, c, "CREATE TABLE t (id BIGINT PRIMARY KEY, k INT, v DOUBLE, s VARCHAR(32))")
	for i := 0; i < n; i += 1000 {
		var sb strings.Builder
		sb.WriteString("INSERT INTO t VALUES ")
		for j := i; j < i+1000 && j < n; j++ {
			if j > i {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "(%d,%d,%g,'s%d')", j, j%1000, float64(j%997)/997, j)
		}
		mustExec(b, c, sb.String())
	}
	if os.Getenv("LAKESQL_BENCH_NOFLUSH") == "" {
		query(b, c, "CALL lakesql_flush()")
	}
	return c
}

// BenchmarkPointLookup: primary-key point selects over the wire, from the
// files (the MemTable flushed), one client; LAKESQL_BENCH_ROWS sets the
// table's size (default 100,000), LAKESQL_BENCH_PREPARED=1 sends them as a
// prepared statement's executions.
func BenchmarkPointLookup(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("LAKESQL_BENCH_ROWS")); err == nil && v > 0 {
		n = v
	}
	c := benchTable(b, n)
	ctx := context.Background()
	query := "SELECT * FROM t WHERE id = ?" + os.Getenv("LAKESQL_BENCH_SUFFIX")
	run := func(id int) (*gosql.Rows, error) { return c.QueryContext(ctx, query, id) }
	if os.Getenv("LAKESQL_BENCH_PREPARED") != "" { // COM_STMT_EXECUTE instead of interpolated text
		stmt, err := c.(interface {
			PrepareContext(context.Context, string) (*gosql.Stmt, error)
		}).PrepareContext(ctx, query)
		if err != nil {
			b.Fatal(err)
		}
		defer stmt.Close()
		run = func(id int) (*gosql.Rows, error) { return stmt.QueryContext(ctx, id) }
	}
	b.ResetTimer()
	cpu0 := base.ProcessCPU()
	for b.Loop() {
		id := rand.IntN(n)
		rows, err := run(id)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		if n != 1 {
			b.Fatalf("id %d: %d rows", id, n)
		}
	}
	b.ReportMetric(float64((base.ProcessCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkUpsertBatch: 1,000-row INSERT ... ON DUPLICATE KEY UPDATE
// batches over the wire, half of the keys existing (in files).
func BenchmarkUpsertBatch(b *testing.B) {
	const n = 100_000
	c := benchTable(b, n)
	b.ResetTimer()
	next := n
	for b.Loop() {
		var sb strings.Builder
		sb.WriteString("INSERT INTO t VALUES ")
		for j := range 1000 {
			if j > 0 {
				sb.WriteByte(',')
			}
			id := rand.IntN(n)
			if j%2 == 1 {
				id = next
				next++
			}
			fmt.Fprintf(&sb, "(%d,%d,%g,'u%d')", id, id%1000, 0.5, id)
		}
		sb.WriteString(" ON DUPLICATE KEY UPDATE k = VALUES(k), v = VALUES(v), s = VALUES(s)")
		mustExec(b, c, sb.String())
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "rows/s")
}
