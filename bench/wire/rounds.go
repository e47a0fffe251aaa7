package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/lakesql/lakesql/bench/internal/mysqlproc"
)

// Interleaved lookups (-rounds N). Run one after the other, two targets'
// lookup figures also differ by what the machine did meanwhile: on a shared
// two-core machine one run's lookups can be 40 % slower than the next's. With
// -rounds, every target is started and loaded first, all running at once,
// and then the lookups alternate between them in N rounds of -lookups
// lookups per mode, the order of the targets rotating each round. Each
// round's figures were taken moments apart under the same conditions, so
// the report gives each target's median over the rounds and the median of
// the per-round ratios to MariaDB, which noise moves much less.

// roundsResult holds one target's figures of every round, per mode.
type roundsResult struct {
	name string
	db   *sql.DB
	per  map[bool][]time.Duration // prepared -> each round's time per lookup
}

// runRounds runs the interleaved lookups over the selected targets and
// writes the report to w.
func runRounds(ctx context.Context, w io.Writer, selected []target, o options) error {
	progress := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	var results []*roundsResult
	defer func() {
		for _, r := range results {
			r.db.Close()
		}
	}()
	for _, t := range selected {
		dir, err := os.MkdirTemp("", "wirebench-"+t.name+"-")
		if err != nil {
			return err
		}
		if !o.keep {
			defer os.RemoveAll(dir)
		}
		inst, err := t.start(ctx, dir)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		defer inst.stop()
		db, err := loadTarget(ctx, inst, o, func(format string, args ...any) { progress(t.name+": "+format, args...) })
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		results = append(results, &roundsResult{name: t.name, db: db, per: map[bool][]time.Duration{}})
	}
	if o.settle > 0 {
		progress("settling for %s", o.settle)
		time.Sleep(o.settle)
	}
	for round := range o.rounds {
		for k := range results {
			r := results[(round+k)%len(results)]
			for _, prepared := range []bool{false, true} {
				d, err := lookupsSeeded(ctx, r.db, o, prepared, uint64(round))
				if err != nil {
					return fmt.Errorf("%s: round %d: %w", r.name, round+1, err)
				}
				r.per[prepared] = append(r.per[prepared], d/time.Duration(o.lookups))
			}
		}
		progress("round %d of %d done", round+1, o.rounds)
	}
	fmt.Fprintf(w, "\n## Interleaved PK lookups: %s rows, %d rounds of %s lookups per mode\n\n", commas(o.rows), o.rounds, commas(o.lookups))
	header, rule := "| mode |", "|---|"
	for _, r := range results {
		header += " " + r.name + " (median µs) |"
		rule += "--:|"
	}
	var base *roundsResult
	for _, r := range results {
		if r.name == "mariadb" {
			base = r
		}
	}
	for _, r := range results {
		if base != nil && r != base {
			header += " " + r.name + " / mariadb (median of rounds) | rounds " + r.name + " faster |"
			rule += "--:|--:|"
		}
	}
	fmt.Fprintln(w, header)
	fmt.Fprintln(w, rule)
	for _, prepared := range []bool{false, true} {
		line := "| interpolated |"
		if prepared {
			line = "| prepared |"
		}
		for _, r := range results {
			line += fmt.Sprintf(" %.1f |", micros(median(r.per[prepared])))
		}
		for _, r := range results {
			if base == nil || r == base {
				continue
			}
			var ratios []time.Duration // in 1/1000
			faster := 0
			for i, d := range r.per[prepared] {
				b := base.per[prepared][i]
				ratios = append(ratios, d*1000/b)
				if d < b {
					faster++
				}
			}
			line += fmt.Sprintf(" %.2fx | %d of %d |", float64(median(ratios))/1000, faster, len(ratios))
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w)
	for _, r := range results {
		var parts []string
		for _, prepared := range []bool{false, true} {
			var s []string
			for _, d := range r.per[prepared] {
				s = append(s, fmt.Sprintf("%.0f", micros(d)))
			}
			mode := "interpolated"
			if prepared {
				mode = "prepared"
			}
			parts = append(parts, mode+" "+strings.Join(s, " "))
		}
		fmt.Fprintf(w, "- %s, µs per lookup by round: %s\n", r.name, strings.Join(parts, "; "))
	}
	return nil
}

// loadTarget creates bench.t on a started target and loads o.rows rows.
func loadTarget(ctx context.Context, inst *instance, o options, progress func(string, ...any)) (*sql.DB, error) {
	admin, err := mysqlproc.Open(inst.login, "")
	if err != nil {
		return nil, err
	}
	_, err = admin.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS bench")
	admin.Close()
	if err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	db, err := mysqlproc.Open(inst.login, "bench")
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, createTable); err != nil {
		db.Close()
		return nil, fmt.Errorf("create table: %w", err)
	}
	d, err := load(ctx, db, o.rows, progress)
	if err != nil {
		db.Close()
		return nil, err
	}
	progress("load: %.3f s", d.Seconds())
	return db, nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
