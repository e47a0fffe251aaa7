package main

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"
)

// batchRows is the number of rows per INSERT, for the load and the upsert.
const batchRows = 1000

const (
	createTable  = "CREATE TABLE t (id BIGINT PRIMARY KEY, k INT, v DOUBLE, s VARCHAR(32))"
	lookupQuery  = "SELECT * FROM t WHERE id = ?"
	groupByQuery = "SELECT k, COUNT(*), SUM(v) FROM t GROUP BY k"
	countQuery   = "SELECT COUNT(*) FROM t WHERE v > 0.5"
	onDuplicate  = " ON DUPLICATE KEY UPDATE k=VALUES(k), v=VALUES(v), s=VALUES(s)"
)

// A measure is one line of the report. Every figure is a duration; show
// turns it into the unit of the label.
type measure struct {
	key, label string
	show       func(time.Duration) string
}

func measures(o options) []measure {
	secs := func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
	perLookup := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/float64(o.lookups)) }
	rate := func(d time.Duration) string { return commas(int(float64(o.upsertRows) / d.Seconds())) }
	return []measure{
		{"load", fmt.Sprintf("load %s rows, INSERTs of %s rows (s)", commas(o.rows), commas(batchRows)), secs},
		{"group-by", "`" + groupByQuery + "` (s, best of 3)", secs},
		{"count", "`" + countQuery + "` (s, best of 3)", secs},
		{"lookup-interpolated", fmt.Sprintf("%s PK lookups, client-side interpolation (µs each)", commas(o.lookups)), perLookup},
		{"lookup-prepared", fmt.Sprintf("%s PK lookups, server-side prepared (µs each)", commas(o.lookups)), perLookup},
		{"upsert", fmt.Sprintf("upsert %s rows, batches of %s, half existing (rows/s)", commas(o.upsertRows), commas(batchRows)), rate},
	}
}

// workload creates database bench and table t on the server at login and
// runs the measures in order, storing each figure in fig as soon as it is
// known. It stops at the first error.
func workload(ctx context.Context, login *mysql.Config, o options, fig map[string]time.Duration, progress func(string, ...any)) error {
	admin, err := open(login, "")
	if err != nil {
		return err
	}
	_, err = admin.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS bench")
	admin.Close()
	if err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	db, err := open(login, "bench")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, createTable); err != nil {
		return fmt.Errorf("create table: %w", err)
	}

	want := expect(o.rows)
	steps := []struct {
		key string
		run func() (time.Duration, error)
	}{
		{"load", func() (time.Duration, error) { return load(ctx, db, o.rows, progress) }},
		{"group-by", func() (time.Duration, error) { return bestOf3(func() error { return groupBy(ctx, db, o.rows, want) }) }},
		{"count", func() (time.Duration, error) { return bestOf3(func() error { return countAbove(ctx, db, want) }) }},
		{"lookup-interpolated", func() (time.Duration, error) { return lookups(ctx, db, o, false) }},
		{"lookup-prepared", func() (time.Duration, error) { return lookups(ctx, db, o, true) }},
		{"upsert", func() (time.Duration, error) { return upsert(ctx, db, o) }},
	}
	for _, s := range steps {
		d, err := s.run()
		if err != nil {
			return fmt.Errorf("%s: %w", s.key, err)
		}
		fig[s.key] = d
		progress("%s: %.3f s", s.key, d.Seconds())
		if s.key == "load" && o.settle > 0 {
			progress("settling for %s", o.settle)
			time.Sleep(o.settle)
		}
	}
	return nil
}

// load inserts the rows 0..n-1 of generation 0.
func load(ctx context.Context, db *sql.DB, n int, progress func(string, ...any)) (time.Duration, error) {
	var stmt []byte
	ids := make([]int64, 0, batchRows)
	every := max(n/10, 1)
	start := time.Now()
	for lo := 0; lo < n; lo += batchRows {
		ids = ids[:0]
		for id := lo; id < min(lo+batchRows, n); id++ {
			ids = append(ids, int64(id))
		}
		stmt = insertSQL(stmt[:0], ids, 0)
		if _, err := db.ExecContext(ctx, string(stmt)); err != nil {
			return 0, fmt.Errorf("rows %d..%d: %w", lo, lo+len(ids)-1, err)
		}
		if done := lo + len(ids); done/every != lo/every || done == n {
			progress("loaded %s of %s rows (%.1f s)", commas(done), commas(n), time.Since(start).Seconds())
		}
	}
	return time.Since(start), nil
}

// groupBy runs groupByQuery and checks its totals.
func groupBy(ctx context.Context, db *sql.DB, n int, want answers) error {
	rs, err := db.QueryContext(ctx, groupByQuery)
	if err != nil {
		return err
	}
	defer rs.Close()
	var groups, count int64
	var sum float64
	for rs.Next() {
		var k int32
		var c int64
		var s float64
		if err := rs.Scan(&k, &c, &s); err != nil {
			return err
		}
		groups, count, sum = groups+1, count+c, sum+s
	}
	if err := rs.Err(); err != nil {
		return err
	}
	if groups != want.groups || count != int64(n) || math.Abs(sum-want.sum) > 1e-9*want.sum {
		return fmt.Errorf("got %d groups, %d rows, sum %g; want %d, %d, %g", groups, count, sum, want.groups, n, want.sum)
	}
	return nil
}

// countAbove runs countQuery and checks its answer.
func countAbove(ctx context.Context, db *sql.DB, want answers) error {
	var got int64
	if err := db.QueryRowContext(ctx, countQuery).Scan(&got); err != nil {
		return err
	}
	if got != want.above {
		return fmt.Errorf("got %d, want %d", got, want.above)
	}
	return nil
}

// lookups reads o.lookups random rows by primary key, one query each, and
// returns the total time. Plain queries interpolate the id on the client
// (open sets interpolateParams); prepared runs one server-side prepared
// statement instead.
//
// The queries do not get ctx: for a context that can be canceled the driver
// hands each query to a watcher goroutine, which costs some 30 µs per query
// on 2 cores, about as much as a MariaDB lookup itself. ctx is checked
// between the queries instead.
func lookups(ctx context.Context, db *sql.DB, o options, prepared bool) (time.Duration, error) {
	rng := rand.New(rand.NewPCG(uint64(o.rows), 1))
	ids := make([]int64, o.lookups)
	for i := range ids {
		ids[i] = rng.Int64N(int64(o.rows))
	}
	query := func(id int64) *sql.Row { return db.QueryRow(lookupQuery, id) }
	if prepared {
		stmt, err := db.PrepareContext(ctx, lookupQuery)
		if err != nil {
			return 0, err
		}
		defer stmt.Close()
		query = func(id int64) *sql.Row { return stmt.QueryRow(id) }
	}
	start := time.Now()
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := checkRow(query(id), id, 0); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// upsert writes o.upsertRows rows of generation 1 in batches with ON
// DUPLICATE KEY UPDATE: the even ones over existing rows spread over the
// table, the odd ones new rows after the last.
func upsert(ctx context.Context, db *sql.DB, o options) (time.Duration, error) {
	stride := o.rows / ((o.upsertRows + 1) / 2)
	id := func(i int) int64 {
		if i%2 == 0 {
			return int64(i / 2 * stride)
		}
		return int64(o.rows + i/2)
	}
	var stmt []byte
	ids := make([]int64, 0, batchRows)
	start := time.Now()
	for lo := 0; lo < o.upsertRows; lo += batchRows {
		ids = ids[:0]
		for i := lo; i < min(lo+batchRows, o.upsertRows); i++ {
			ids = append(ids, id(i))
		}
		stmt = append(insertSQL(stmt[:0], ids, 1), onDuplicate...)
		if _, err := db.ExecContext(ctx, string(stmt)); err != nil {
			return 0, fmt.Errorf("rows %d..%d: %w", lo, lo+len(ids)-1, err)
		}
	}
	elapsed := time.Since(start)

	var got int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&got); err != nil {
		return 0, err
	}
	if want := int64(o.rows + o.upsertRows/2); got != want {
		return 0, fmt.Errorf("%d rows after the upsert, want %d", got, want)
	}
	for _, i := range []int{0, o.upsertRows - 1} { // an updated row and a new one
		if err := checkRow(db.QueryRowContext(ctx, lookupQuery, id(i)), id(i), 1); err != nil {
			return 0, fmt.Errorf("after the upsert: %w", err)
		}
	}
	return elapsed, nil
}

func bestOf3(f func() error) (time.Duration, error) {
	best := time.Duration(math.MaxInt64)
	for range 3 {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		best = min(best, time.Since(start))
	}
	return best, nil
}

// checkRow scans r, the answer to lookupQuery for id, and checks it against
// generation gen of row id.
func checkRow(r *sql.Row, id int64, gen uint64) error {
	var gotID int64
	var got row
	if err := r.Scan(&gotID, &got.k, &got.v, &got.s); err != nil {
		return fmt.Errorf("id %d: %w", id, err)
	}
	// v crosses the wire as decimal text: allow for a parser that does
	// not round correctly.
	want := rowOf(id, gen)
	if gotID != id || got.k != want.k || got.s != want.s || math.Abs(got.v-want.v) > 1e-12 {
		return fmt.Errorf("id %d: got (%d, %v), want (%d, %v)", id, gotID, got, id, want)
	}
	return nil
}

// A row holds the columns k, v and s of a row of t.
type row struct {
	k int32
	v float64
	s string
}

// rowOf returns row id in generation gen (0 as loaded, 1 as upserted): k
// uniform in 0..999, v uniform in [0, 1), s 2 to 14 characters.
func rowOf(id int64, gen uint64) row {
	h := mix(uint64(id) ^ gen<<63)
	return row{k: int32(h % 1000), v: float64(mix(h)>>11) / (1 << 53), s: "s" + strconv.FormatUint(h, 36)}
}

// mix is the finalizer of the SplitMix64 generator.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// insertSQL appends to b an INSERT of the rows ids in generation gen.
func insertSQL(b []byte, ids []int64, gen uint64) []byte {
	b = append(b, "INSERT INTO t VALUES "...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		r := rowOf(id, gen)
		b = fmt.Appendf(b, "(%d,%d,%s,'%s')", id, r.k, strconv.FormatFloat(r.v, 'g', -1, 64), r.s)
	}
	return b
}

// answers are the expected results of the aggregates over rows 0..n-1 of
// generation 0.
type answers struct {
	groups int64   // distinct k
	sum    float64 // of v
	above  int64   // rows with v > 0.5
}

func expect(n int) answers {
	var a answers
	var seen [1000]bool
	for id := range int64(n) {
		r := rowOf(id, 0)
		if !seen[r.k] {
			seen[r.k] = true
			a.groups++
		}
		a.sum += r.v
		if r.v > 0.5 {
			a.above++
		}
	}
	return a
}
