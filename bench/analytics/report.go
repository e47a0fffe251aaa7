package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// A ratio is a column of the report: one engine's time over another's.
type ratio struct{ num, den string }

// ratios are the report's ratio columns; the first is the main figure.
var ratios = []ratio{{lakesqlManaged, duckParquet}, {lakesqlManaged, duckNative}, {lakesqlManaged, mariaDB}}

// report is everything the command prints.
type report struct {
	o       options
	d       *dataset
	queries []query
	engines []*engine
	results []map[string]*measurement // by query, then engine name
	failed  []string                  // targets that could not be set up
	notes   []string
}

// print writes the report in Markdown.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\n## Analytics: %s rows, median of %d runs after a warm-up, in ms\n\n", commas(r.d.rows), r.o.runs)
	cols := r.ratioColumns()
	header, rule := "| query |", "|---|"
	for _, e := range r.engines {
		header += " " + e.name + " |"
		rule += "--:|"
	}
	for _, c := range cols {
		header += " " + c.num + " / " + c.den + " |"
		rule += "--:|"
	}
	fmt.Fprintln(w, header)
	fmt.Fprintln(w, rule)
	for i, q := range r.queries {
		line := fmt.Sprintf("| Q%s %s |", q.id, q.label)
		for _, e := range r.engines {
			line += " " + cellOf(r.results[i][e.name]) + " |"
		}
		for _, c := range cols {
			x, ok := r.ratio(i, c)
			line += " " + orDash(ok, func() string { return showRatio(x) }) + " |"
		}
		fmt.Fprintln(w, line)
	}
	r.summaryRows(w, cols)
	fmt.Fprintln(w)
	r.goals(w)
	r.firstRuns(w)
	r.problems(w)
	r.queryList(w)
	r.loads(w)
	fmt.Fprintln(w, "\nNotes:")
	for _, n := range r.notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
}

// ratioColumns returns the ratios whose engines both ran.
func (r *report) ratioColumns() []ratio {
	ran := map[string]bool{}
	for _, e := range r.engines {
		ran[e.name] = true
	}
	var cols []ratio
	for _, c := range ratios {
		if ran[c.num] && ran[c.den] {
			cols = append(cols, c)
		}
	}
	return cols
}

// ratio returns c's ratio for query i, if both engines have a figure.
func (r *report) ratio(i int, c ratio) (float64, bool) {
	n, d := r.results[i][c.num], r.results[i][c.den]
	if n == nil || d == nil || !n.ok() || !d.ok() || d.median() <= 0 {
		return 0, false
	}
	return n.median().Seconds() / d.median().Seconds(), true
}

// summaryRows writes the geometric mean and the worst of each ratio
// column.
func (r *report) summaryRows(w io.Writer, cols []ratio) {
	if len(cols) == 0 {
		return
	}
	pad := strings.Repeat(" |", len(r.engines))
	mean, worst := "| geometric mean |"+pad, "| worst |"+pad
	for _, c := range cols {
		g, n := r.geomean(c)
		mean += " " + orDash(n > 0, func() string {
			s := showRatio(g)
			if n < len(r.queries) {
				s += fmt.Sprintf(" (%d of %d)", n, len(r.queries))
			}
			return s
		}) + " |"
		x, q, ok := r.worst(c)
		worst += " " + orDash(ok, func() string { return showRatio(x) + " (Q" + q + ")" }) + " |"
	}
	fmt.Fprintln(w, mean)
	fmt.Fprintln(w, worst)
}

// geomean returns the geometric mean of c's ratios over the queries that
// have one, and how many do.
func (r *report) geomean(c ratio) (float64, int) {
	var sum float64
	n := 0
	for i := range r.queries {
		if x, ok := r.ratio(i, c); ok {
			sum += math.Log(x)
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return math.Exp(sum / float64(n)), n
}

// worst returns the largest of c's ratios and its query.
func (r *report) worst(c ratio) (float64, string, bool) {
	var top float64
	var id string
	for i, q := range r.queries {
		if x, ok := r.ratio(i, c); ok && x > top {
			top, id = x, q.id
		}
	}
	return top, id, id != ""
}

// goals writes how far lakesql is from the targets of vectorized
// execution: a geometric mean of at most 2x DuckDB, no query worse than
// 4x, and at least 20x faster than MariaDB on the GROUP BY and the
// filtered count.
func (r *report) goals(w io.Writer) {
	mainRatio := ratio{lakesqlManaged, duckParquet}
	var lines []string
	if g, n := r.geomean(mainRatio); n > 0 {
		x, q, _ := r.worst(mainRatio)
		over := ""
		if n < len(r.queries) {
			over = fmt.Sprintf(" over only %d of %d queries", n, len(r.queries))
		}
		lines = append(lines, fmt.Sprintf("lakesql / duckdb: geometric mean %s%s (goal: at most 2x), worst %s on Q%s (goal: at most 4x)",
			showRatio(g), over, showRatio(x), q))
	}
	maria := ratio{lakesqlManaged, mariaDB}
	var faster []string
	for i, q := range r.queries {
		if q.id != "2" && q.id != "4" {
			continue
		}
		if x, ok := r.ratio(i, maria); ok {
			faster = append(faster, fmt.Sprintf("%s on Q%s", showRatio(1/x), q.id))
		}
	}
	if len(faster) > 0 {
		lines = append(lines, "mariadb / lakesql (how many times faster lakesql is): "+strings.Join(faster, ", ")+" (goal: at least 20x on both)")
	}
	for _, l := range lines {
		fmt.Fprintf(w, "- %s\n", l)
	}
}

// problems lists the targets that did not start and each failed or wrong
// answer.
func (r *report) problems(w io.Writer) {
	var lines []string
	lines = append(lines, r.failed...)
	for i, q := range r.queries {
		for _, e := range r.engines {
			m := r.results[i][e.name]
			switch {
			case m == nil:
			case m.err != nil:
				lines = append(lines, fmt.Sprintf("Q%s %s: error: %v", q.id, e.name, m.err))
			case m.wrong != "":
				lines = append(lines, fmt.Sprintf("Q%s %s: wrong answer: %s", q.id, e.name, m.wrong))
			}
		}
	}
	if len(lines) == 0 {
		fmt.Fprintln(w, "\nEvery engine gave every answer, and all answers agree.")
		return
	}
	fmt.Fprintln(w, "\nErrors:")
	for _, l := range lines {
		fmt.Fprintf(w, "- %s\n", oneLine(l))
	}
}

// queryList writes the queries' SQL.
func (r *report) queryList(w io.Writer) {
	fmt.Fprintln(w, "\nQueries (answers compared across engines; floats within a relative 1e-9, rows as sets unless the query fixes their order):")
	for _, q := range r.queries {
		fmt.Fprintf(w, "- Q%s: `%s`\n", q.id, q.sql)
	}
}

// loads writes how each engine's data got in (not part of any figure).
func (r *report) loads(w io.Writer) {
	fmt.Fprintln(w, "\n| engine | load, ms (not part of the figures) | how |")
	fmt.Fprintln(w, "|---|--:|---|")
	for _, e := range r.engines {
		fmt.Fprintf(w, "| %s | %s | %s |\n", e.name, showDuration(e.load), e.how)
	}
	fmt.Fprintf(w, "\nData: %s (%s rows, written by bench.Prepare, sorted by id)", r.d.parquet, commas(r.d.rows))
	if r.d.csv != "" {
		fmt.Fprintf(w, "; for MariaDB %s", r.d.csv)
	}
	fmt.Fprintln(w)
}

// cellOf is a table cell: the median, or why there is none.
func cellOf(m *measurement) string {
	switch {
	case m == nil:
		return "—"
	case m.err != nil:
		return "error"
	case m.wrong != "":
		return "wrong"
	}
	return showDuration(m.median())
}

// showDuration formats d in milliseconds with three significant digits
// (at least one decimal below 100 ms).
func showDuration(d time.Duration) string {
	ms := d.Seconds() * 1000
	switch {
	case ms < 1:
		return fmt.Sprintf("%.3f", ms)
	case ms < 10:
		return fmt.Sprintf("%.2f", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f", ms)
	}
	return commas(int64(math.Round(ms)))
}

// showRatio formats a ratio with three significant digits.
func showRatio(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0fx", x)
	case x >= 10:
		return fmt.Sprintf("%.1fx", x)
	case x >= 1:
		return fmt.Sprintf("%.2fx", x)
	}
	return fmt.Sprintf("%.3gx", x)
}

func orDash(ok bool, show func() string) string {
	if !ok {
		return "—"
	}
	return show()
}

// oneLine keeps a message on one Markdown list line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// commas formats n with thousands separators.
func commas(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// firstRuns writes each engine's warm-up run of each query: the first
// time the query meets the data (lakesql decodes the column chunks it
// then keeps in its page cache; DuckDB over Parquet reads the file every
// time; MariaDB's buffer pool and DuckDB's native table hold the data
// since the load).
func (r *report) firstRuns(w io.Writer) {
	fmt.Fprintln(w, "\nFirst (warm-up) run of each query, in ms:")
	fmt.Fprintln(w)
	header, rule := "| query |", "|---|"
	for _, e := range r.engines {
		header += " " + e.name + " |"
		rule += "--:|"
	}
	fmt.Fprintln(w, header)
	fmt.Fprintln(w, rule)
	for i, q := range r.queries {
		line := fmt.Sprintf("| Q%s |", q.id)
		for _, e := range r.engines {
			m := r.results[i][e.name]
			line += " " + orDash(m != nil && m.err == nil && m.first > 0, func() string { return showDuration(m.first) }) + " |"
		}
		fmt.Fprintln(w, line)
	}
}
