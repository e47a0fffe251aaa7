package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/sirupsen/logrus"
)

// options are the command's flags.
type options struct {
	rows       int    // rows loaded into t
	lookups    int    // point lookups per mode
	upsertRows int    // rows upserted, half of them existing
	basic      bool   // run the aggregates, the PK lookups and the upsert after the load
	secondary  bool   // run the secondary-index part after them
	freshRows  int    // rows the secondary part upserts before its lookups
	scans      int    // lookups the secondary part forces to a full scan
	lakesqlSrc string // root of the lakesql repository
	keep       bool   // keep the targets' temporary folders, to look into a failure
	// settle is a pause after the load, before the queries, for every
	// target: background work the load started (InnoDB's page flushing,
	// lakesql's MemTable flush) then does not compete with the queries.
	settle time.Duration
	// rounds, when not 0, runs the interleaved lookups instead of the
	// workload (see rounds.go).
	rounds int
}

// A target is one kind of server under test.
type target struct {
	name  string
	start func(ctx context.Context, dir string) (*instance, error)
}

// An instance is a running target. Whoever starts it calls stop.
type instance struct {
	login *mysql.Config // user, password and address; no database
	notes []string      // what the reader should know about the figures
	stop  func() error

	// noIndexes says why the target cannot run the secondary-index part;
	// empty if it can.
	noIndexes string
	// memTableRows, if not nil, returns how many rows of table the
	// target holds in memory, not yet flushed to its files (lakesql).
	memTableRows func(ctx context.Context, db *sql.DB, table string) (int64, error)
}

// An outcome is what one target produced.
type outcome struct {
	name    string
	started bool
	figures map[string]time.Duration // by measure key
	notes   []string
	err     error // why the target is unavailable or failed
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("wire: ")
	var o options
	flag.IntVar(&o.rows, "rows", 1_000_000, "rows loaded into t")
	flag.IntVar(&o.lookups, "lookups", 10_000, "primary-key point lookups, per mode (interpolated, prepared)")
	flag.IntVar(&o.upsertRows, "upsert-rows", 100_000, "rows upserted in batches of 1,000, half of them existing")
	flag.BoolVar(&o.basic, "basic", true, "run the aggregates, the PK lookups and the upsert after the load")
	flag.BoolVar(&o.secondary, "secondary", true, "run the secondary-index part (CREATE INDEX on s, a fresh upsert, -lookups lookups by s, -scans full-scan lookups) last")
	flag.IntVar(&o.freshRows, "fresh-rows", 10_000, "existing rows the secondary part upserts with new values of s before its lookups")
	flag.IntVar(&o.scans, "scans", 5, "lookups by s the secondary part forces to a full scan")
	targets := flag.String("targets", "mariadb,gms,lakesql", "comma-separated targets to run, in order: mariadb, gms, lakesql")
	flag.DurationVar(&o.settle, "settle", 0, "pause after the load, before the queries (for every target)")
	flag.BoolVar(&o.keep, "keep", false, "keep each target's temporary folder (data and server log) instead of removing it")
	flag.StringVar(&o.lakesqlSrc, "lakesql-src", "..", "root of the lakesql repository, where the lakesql target builds ./cmd/lakesql")
	flag.IntVar(&o.rounds, "rounds", 0, "instead of the workload: start and load every target, then alternate this many rounds of -lookups PK lookups per mode between them (rounds.go)")
	flag.Parse()
	if flag.NArg() > 0 || o.rows < 1 || o.lookups < 1 || o.upsertRows < 1 || (o.upsertRows+1)/2 > o.rows ||
		o.freshRows < 1 || o.freshRows > o.rows || o.scans < 1 {
		log.Fatal("usage: wire [-rows N] [-lookups N] [-upsert-rows N (at most 2 x rows)] [-basic=false] [-secondary=false] [-fresh-rows N (at most rows)] [-scans N] [-targets mariadb,gms,lakesql]")
	}
	src, err := filepath.Abs(o.lakesqlSrc)
	if err != nil {
		log.Fatal(err)
	}
	o.lakesqlSrc = src
	all := map[string]target{
		"mariadb": {"mariadb", startMariaDB},
		"gms":     {"gms", startGMS},
		"lakesql": {"lakesql", func(ctx context.Context, dir string) (*instance, error) {
			return startLakesql(ctx, dir, o.lakesqlSrc)
		}},
	}
	var selected []target
	for _, name := range strings.Split(*targets, ",") {
		t, ok := all[strings.TrimSpace(name)]
		if !ok {
			log.Fatalf("unknown target %q (want mariadb, gms or lakesql)", name)
		}
		selected = append(selected, t)
	}

	// The driver would log every refused connection while a server starts;
	// the errors reach us anyway. GMS logs each connection at Info level.
	mysql.SetLogger(log.New(io.Discard, "", 0))
	logrus.SetLevel(logrus.ErrorLevel)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	loadStart := loadAvg()
	if o.rounds > 0 {
		err := runRounds(ctx, os.Stdout, selected, o)
		fmt.Fprintf(os.Stdout, "- machine: %d CPUs, GOMAXPROCS %d, %s; load average (1, 5, 15 min) %s at the start, %s at the end\n",
			runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), loadStart, loadAvg())
		if err != nil {
			log.Fatal(err)
		}
		return
	}
	var outcomes []outcome
	for _, t := range selected {
		out := runTarget(ctx, t, o)
		outcomes = append(outcomes, out)
		if ctx.Err() != nil {
			log.Print("interrupted")
			break
		}
	}
	printReport(os.Stdout, o, outcomes, loadStart, loadAvg())
	if ctx.Err() != nil {
		os.Exit(1)
	}
}

// runTarget starts t in a fresh temporary folder, runs the workload and
// stops t again.
func runTarget(ctx context.Context, t target, o options) outcome {
	out := outcome{name: t.name, figures: map[string]time.Duration{}}
	progress := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, t.name+": "+format+"\n", args...)
	}
	progress("starting (load average %s)", loadAvg())
	dir, err := os.MkdirTemp("", "wirebench-"+t.name+"-")
	if err != nil {
		out.err = err
		return out
	}
	if o.keep {
		defer progress("kept %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	inst, err := t.start(ctx, dir)
	if err != nil {
		out.err = err
		progress("unavailable (%v)", err)
		return out
	}
	out.started = true
	out.notes = inst.notes
	note := func(n string) {
		out.notes = append(out.notes, n)
		progress("%s", n)
	}
	out.err = workload(ctx, inst, o, out.figures, note, progress)
	if out.err != nil {
		progress("failed: %v", out.err)
	}
	progress("stopping")
	if err := inst.stop(); err != nil {
		progress("stop: %v", err)
	}
	return out
}

// printReport writes the Markdown table and the notes.
func printReport(w io.Writer, o options, outcomes []outcome, loadStart, loadEnd string) {
	var ran []outcome // MariaDB first: the others are compared with it
	var base map[string]time.Duration
	for _, out := range outcomes {
		switch {
		case !out.started:
		case out.name == "mariadb":
			ran = append([]outcome{out}, ran...)
			base = out.figures
		default:
			ran = append(ran, out)
		}
	}
	title := fmt.Sprintf("%s rows, %s lookups", commas(o.rows), commas(o.lookups))
	if o.basic {
		title += fmt.Sprintf(", %s-row upsert", commas(o.upsertRows))
	}
	if o.secondary {
		title += fmt.Sprintf(", secondary index: %s-row fresh upsert, %d full scans", commas(o.freshRows), o.scans)
	}
	fmt.Fprintf(w, "\n## Wire benchmark: %s\n\n", title)
	if len(ran) > 0 {
		header, rule := "| measure |", "|---|"
		for _, out := range ran {
			header += " " + out.name + " |"
			rule += "--:|"
			if base != nil && out.name != "mariadb" {
				header += " " + out.name + " / mariadb |"
				rule += "--:|"
			}
		}
		fmt.Fprintln(w, header)
		fmt.Fprintln(w, rule)
		for _, m := range measures(o) {
			line := "| " + m.label + " |"
			for _, out := range ran {
				if m.derived != nil {
					v, ok := m.derived(out.figures)
					line += " " + cell(ok, func() string { return v }) + " |"
					if base != nil && out.name != "mariadb" {
						line += " — |"
					}
					continue
				}
				d, ok := out.figures[m.key]
				line += " " + cell(ok, func() string { return m.show(d) }) + " |"
				if base != nil && out.name != "mariadb" {
					b, bok := base[m.key]
					line += " " + cell(ok && bok, func() string { return fmt.Sprintf("%.2fx", d.Seconds()/b.Seconds()) }) + " |"
				}
			}
			fmt.Fprintln(w, line)
		}
		if base != nil {
			fmt.Fprintln(w, "\nRatios compare times (for the upsert: the inverse of rows/s): 2.00x is twice as slow as MariaDB.")
			if o.secondary {
				fmt.Fprintln(w, "The full-scan / index line divides a target's own two figures: how much its index saves.")
			}
		}
		fmt.Fprintln(w)
	}
	for _, out := range outcomes {
		switch {
		case !out.started:
			fmt.Fprintf(w, "- %s: unavailable (%v)\n", out.name, out.err)
		case out.err != nil:
			fmt.Fprintf(w, "- %s: failed (%v)\n", out.name, out.err)
		}
		for _, n := range out.notes {
			fmt.Fprintf(w, "- %s: %s\n", out.name, n)
		}
	}
	fmt.Fprintf(w, "- machine: %d CPUs, GOMAXPROCS %d, %s; load average (1, 5, 15 min) %s at the start, %s at the end\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), loadStart, loadEnd)
}

func cell(ok bool, show func() string) string {
	if !ok {
		return "—"
	}
	return show()
}

// loadAvg returns the three load averages of /proc/loadavg, or "unknown".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// commas formats n with thousands separators.
func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
