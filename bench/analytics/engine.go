package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Engine names: the report's columns, in this order.
const (
	lakesqlManaged = "lakesql"
	lakesqlVirtual = "lakesql virtual"
	duckParquet    = "duckdb"
	duckNative     = "duckdb native"
	mariaDB        = "mariadb"
)

// engineOrder is the order of the report's columns, and the preference
// among equally supported answers when they disagree (see check).
var engineOrder = []string{lakesqlManaged, lakesqlVirtual, duckParquet, duckNative, mariaDB}

// An engine answers the suite's queries over its table t: one column of
// the report. It is used by one goroutine at a time.
type engine struct {
	name string
	// query runs q and returns its rows, every value normalized.
	query func(ctx context.Context, q string) ([][]any, error)
	// load is how long loading the data took and how says what it did;
	// neither is part of any query's time.
	load time.Duration
	how  string
	// stuck is set when a query did not return within stopGrace after its
	// timeout: the engine may still be running it, so it is not used
	// again.
	stuck bool
}

// stopGrace is how long a query may take to return after its context was
// cancelled.
const stopGrace = 10 * time.Second

// A measurement is one engine's answer to one query and its timings.
type measurement struct {
	rows  [][]any         // the warm-up run's answer
	first time.Duration   // the warm-up run's time
	times []time.Duration // the timed runs
	err   error           // the engine failed the query: no figure
	// wrong says how the answer differs from the one most engines gave
	// (check): no figure either.
	wrong string
}

// ok reports whether the measurement is a figure.
func (m *measurement) ok() bool { return m.err == nil && m.wrong == "" && len(m.times) > 0 }

// median returns the median of the timed runs.
func (m *measurement) median() time.Duration {
	t := slices.Sorted(slices.Values(m.times))
	if n := len(t); n%2 == 0 {
		return (t[n/2-1] + t[n/2]) / 2
	}
	return t[len(t)/2]
}

// measure runs q once to warm up (its answer is the one compared across
// engines), then runs times, each answer checked against the warm-up's.
// Every run has its own timeout.
func measure(ctx context.Context, e *engine, q query, runs int, timeout time.Duration) *measurement {
	m := &measurement{}
	if e.stuck {
		m.err = errors.New("not run: an earlier query of this engine did not stop after its timeout")
		return m
	}
	m.rows, m.first, m.err = runOnce(ctx, e, q.sql, timeout)
	if m.err != nil {
		return m
	}
	for i := range runs {
		rows, d, err := runOnce(ctx, e, q.sql, timeout)
		if err != nil {
			m.err = fmt.Errorf("timed run %d: %w", i+1, err)
			return m
		}
		if s := diff(m.rows, rows, q.ordered); s != "" {
			m.err = fmt.Errorf("timed run %d answered differently from the warm-up: %s", i+1, s)
			return m
		}
		m.times = append(m.times, d)
	}
	return m
}

// runOnce runs q on e within timeout and returns the answer and how long
// it took. The query runs on its own goroutine, so that an engine that
// ignores the cancellation cannot hang the benchmark: after stopGrace it
// is marked stuck and abandoned.
func runOnce(ctx context.Context, e *engine, q string, timeout time.Duration) ([][]any, time.Duration, error) {
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type answer struct {
		rows [][]any
		took time.Duration
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		start := time.Now()
		rows, err := e.query(qctx, q)
		done <- answer{rows, time.Since(start), err}
	}()
	timedOut := func() error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("timed out after %v", timeout)
	}
	select {
	case a := <-done:
		if a.err != nil && qctx.Err() != nil {
			return nil, 0, timedOut()
		}
		return a.rows, a.took, a.err
	case <-qctx.Done():
	}
	select {
	case <-done:
		return nil, 0, timedOut()
	case <-time.After(stopGrace):
		e.stuck = true
		return nil, 0, fmt.Errorf("%w, and did not stop within %v: the engine is not used again", timedOut(), stopGrace)
	}
}

// sqlQuery runs q on a database/sql pool and returns its rows normalized
// by the columns' types (DuckDB and MariaDB).
func sqlQuery(ctx context.Context, db *sql.DB, q string) ([][]any, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	numeric := make([]bool, len(types))
	for i, t := range types {
		numeric[i] = numericType(t.DatabaseTypeName())
	}
	vals := make([]any, len(types))
	ptrs := make([]any, len(types))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out [][]any
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			if row[i], err = normalize(v, numeric[i]); err != nil {
				return nil, fmt.Errorf("column %s: %w", types[i].Name(), err)
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}
