package main

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/lakesql/lakesql/bench/internal/mysqlproc"
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
//
// A derived measure is not a duration of its own: derived computes its cell
// from a target's other figures, and the report gives it no ratio to
// MariaDB.
type measure struct {
	key, label string
	show       func(time.Duration) string
	derived    func(fig map[string]time.Duration) (string, bool)
}

// measures lists the lines of the report for the parts o runs, in order.
func measures(o options) []measure {
	secs := func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
	per := func(n int) func(time.Duration) string {
		return func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/float64(n)) }
	}
	rate := func(d time.Duration) string { return commas(int(float64(o.upsertRows) / d.Seconds())) }
	ms := []measure{{key: "load", label: fmt.Sprintf("load %s rows, INSERTs of %s rows (s)", commas(o.rows), commas(batchRows)), show: secs}}
	if o.basic {
		ms = append(ms,
			measure{key: "group-by", label: "`" + groupByQuery + "` (s, best of 3)", show: secs},
			measure{key: "count", label: "`" + countQuery + "` (s, best of 3)", show: secs},
			measure{key: "lookup-interpolated", label: fmt.Sprintf("%s PK lookups, client-side interpolation (µs each)", commas(o.lookups)), show: per(o.lookups)},
			measure{key: "lookup-prepared", label: fmt.Sprintf("%s PK lookups, server-side prepared (µs each)", commas(o.lookups)), show: per(o.lookups)},
			measure{key: "upsert", label: fmt.Sprintf("upsert %s rows, batches of %s, half existing (rows/s)", commas(o.upsertRows), commas(batchRows)), show: rate},
		)
	}
	if o.secondary {
		ms = append(ms,
			measure{key: "index-build", label: "`" + createIndex + "` (s)", show: secs},
			measure{key: "fresh-upsert", label: fmt.Sprintf("upsert %s existing rows with new values of s, batches of %s (s)", commas(o.freshRows), commas(batchRows)), show: secs},
			measure{key: "index-lookup", label: fmt.Sprintf("%s lookups `%s` through ts, client-side interpolation (µs each)", commas(o.lookups), indexQuery), show: per(o.lookups)},
			measure{key: "scan-lookup", label: fmt.Sprintf("%d lookups `%s`, full scan (µs each, mean)", o.scans, scanQuery), show: per(o.scans)},
			measure{key: "scan-per-index", label: "full-scan lookup / index lookup (x, per lookup)", derived: func(fig map[string]time.Duration) (string, bool) {
				index, ok1 := fig["index-lookup"]
				scan, ok2 := fig["scan-lookup"]
				if !ok1 || !ok2 {
					return "", false
				}
				x := scan.Seconds() / float64(o.scans) / (index.Seconds() / float64(o.lookups))
				return commas(int(math.Round(x))) + "x", true
			}},
		)
	}
	return ms
}

// workload creates database bench and table t on inst and runs the
// measures in order, storing each figure in fig as soon as it is known and
// passing what the reader should know about them to note. It stops at the
// first error.
func workload(ctx context.Context, inst *instance, o options, fig map[string]time.Duration, note func(string), progress func(string, ...any)) error {
	login := inst.login
	admin, err := mysqlproc.Open(login, "")
	if err != nil {
		return err
	}
	_, err = admin.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS bench")
	admin.Close()
	if err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	db, err := mysqlproc.Open(login, "bench")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, createTable); err != nil {
		return fmt.Errorf("create table: %w", err)
	}

	// A step with a key is a figure; the others (the secondary part's
	// checks) return no duration.
	type step struct {
		key string
		run func() (time.Duration, error)
	}
	m := newModel(o.rows)
	steps := []step{{"load", func() (time.Duration, error) { return load(ctx, db, o.rows, progress) }}}
	if o.basic {
		want := expect(o.rows)
		steps = append(steps,
			step{"group-by", func() (time.Duration, error) { return bestOf3(func() error { return groupBy(ctx, db, o.rows, want) }) }},
			step{"count", func() (time.Duration, error) { return bestOf3(func() error { return countAbove(ctx, db, want) }) }},
			step{"lookup-interpolated", func() (time.Duration, error) { return lookups(ctx, db, o, false) }},
			step{"lookup-prepared", func() (time.Duration, error) { return lookups(ctx, db, o, true) }},
			step{"upsert", func() (time.Duration, error) { return upsert(ctx, db, o, m) }},
		)
	}
	switch {
	case !o.secondary:
	case inst.noIndexes != "":
		note("secondary-index part not run: " + inst.noIndexes)
	default:
		sec := &secondary{o: o, db: db, m: m, memTableRows: inst.memTableRows, note: note}
		steps = append(steps,
			step{"index-build", func() (time.Duration, error) { return sec.buildIndex(ctx) }},
			step{"fresh-upsert", func() (time.Duration, error) { return sec.upsert(ctx) }},
			step{"", func() (time.Duration, error) { return 0, sec.explain(ctx) }},
			step{"index-lookup", func() (time.Duration, error) { return sec.lookups(ctx) }},
			step{"scan-lookup", func() (time.Duration, error) { return sec.scans(ctx) }},
			step{"", func() (time.Duration, error) { return 0, sec.checkMemTable(ctx) }},
		)
	}
	for _, s := range steps {
		d, err := s.run()
		if err != nil {
			if s.key == "" {
				return err
			}
			return fmt.Errorf("%s: %w", s.key, err)
		}
		if s.key == "" {
			continue
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
	return lookupsSeeded(ctx, db, o, prepared, 1)
}

// lookupsSeeded is lookups of the ids that seed picks.
func lookupsSeeded(ctx context.Context, db *sql.DB, o options, prepared bool, seed uint64) (time.Duration, error) {
	rng := rand.New(rand.NewPCG(uint64(o.rows), seed))
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
// table, the odd ones new rows after the last. It records them in m.
func upsert(ctx context.Context, db *sql.DB, o options, m *model) (time.Duration, error) {
	stride := o.rows / ((o.upsertRows + 1) / 2)
	id := func(i int) int64 {
		if i%2 == 0 {
			return int64(i / 2 * stride)
		}
		return int64(o.rows + i/2)
	}
	for i := range o.upsertRows {
		m.write(id(i), 1)
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
	if want := rowOf(id, gen); gotID != id || !got.same(want) {
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

// same reports whether r, read from a server, holds the values of want. v
// crosses the wire as decimal text: it allows for a parser that does not
// round correctly.
func (r row) same(want row) bool {
	return r.k == want.k && r.s == want.s && math.Abs(r.v-want.v) <= 1e-12
}

// sValues is the number of distinct values of s: at 10M rows, a value is
// held by about 9.5 rows.
const sValues = 1 << 20

// rowOf returns row id in generation gen (0 as loaded, 1 as upserted by the
// upsert measure, 2 by the secondary part's fresh upsert): k uniform in
// 0..999, v uniform in [0, 1), s value number sNumber(id, gen) of sValues,
// 2 to 14 characters. Ids stay below 2^48.
func rowOf(id int64, gen uint64) row {
	h := mix(uint64(id) ^ gen<<48)
	return row{k: int32(h % 1000), v: float64(mix(h)>>11) / (1 << 53), s: sValue(sNumber(id, gen))}
}

// sNumber returns the number of the value of s of row id in generation gen.
// In generation 0 it is id mod sValues, so that the loaded rows holding a
// value are a computable arithmetic progression; later generations draw it
// from a hash of the id and the generation (of another input than rowOf's
// h, so that s does not follow k or v).
func sNumber(id int64, gen uint64) uint32 {
	if gen == 0 {
		return uint32(id % sValues)
	}
	return uint32(mix(uint64(id)^gen<<48^0x5a5a) >> 44)
}

// sValue returns value number n of s. mix is a bijection, so distinct
// numbers give distinct strings, whose order is unrelated to the numbers'
// and the ids'.
func sValue(n uint32) string {
	return "s" + strconv.FormatUint(mix(uint64(n)), 36)
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
