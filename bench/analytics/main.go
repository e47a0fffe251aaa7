package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/lakesql/lakesql/bench"
)

// options are the command's flags.
type options struct {
	rows       int64
	runs       int           // timed runs per query and engine, after one warm-up
	timeout    time.Duration // per run
	targets    []string      // lakesql, duckdb, mariadb
	dataDir    string        // where the Parquet files are cached
	bufferPool string        // innodb_buffer_pool_size; "" keeps InnoDB's default
}

// A dataset is the data every engine loads: one Parquet file (lakesql,
// DuckDB) and, for MariaDB, a CSV file of the same rows.
type dataset struct {
	rows    int64
	parquet string // absolute path
	csv     string // absolute path; "" unless MariaDB runs
}

// A family is what setting up one target gives: its engines, notes for the
// report and what to close at the end.
type family struct {
	engines []*engine
	notes   []string
	closers []func() error
}

// close runs the closers in reverse order.
func (f *family) close() error {
	var errs []error
	for _, c := range slices.Backward(f.closers) {
		errs = append(errs, c())
	}
	f.closers = nil
	return errors.Join(errs...)
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("analytics: ")
	var o options
	var targets string
	flag.Int64Var(&o.rows, "rows", 1_000_000, "rows of table t")
	flag.IntVar(&o.runs, "runs", 5, "timed runs per query and engine (the median is reported), after one warm-up run")
	flag.DurationVar(&o.timeout, "timeout", 120*time.Second, "time limit of each run of a query")
	flag.StringVar(&targets, "targets", "lakesql,duckdb,mariadb", "comma-separated engines to run: lakesql (managed and virtual), duckdb (Parquet and native), mariadb")
	flag.StringVar(&o.dataDir, "data", bench.DefaultDir(), "where the Parquet files are generated and cached (the CSV file for MariaDB goes to ../import next to it)")
	flag.BoolVar(&noVectorize, "novectorize", false, "run lakesql without its vectorized nodes (go-mysql-server's row path), for comparison")
	flag.StringVar(&o.bufferPool, "mariadb-buffer-pool", "", "innodb_buffer_pool_size, such as 2G (default: InnoDB's, 128 MiB)")
	flag.Parse()
	if flag.NArg() > 0 || o.rows < 4 || o.runs < 1 || o.timeout <= 0 {
		log.Fatal("usage: analytics [-rows N (at least 4)] [-runs N] [-timeout D] [-targets lakesql,duckdb,mariadb] [-data DIR] [-mariadb-buffer-pool SIZE]")
	}
	for _, t := range strings.Split(targets, ",") {
		t = strings.TrimSpace(t)
		if !slices.Contains([]string{"lakesql", "duckdb", "mariadb"}, t) {
			log.Fatalf("unknown target %q (want lakesql, duckdb or mariadb)", t)
		}
		o.targets = append(o.targets, t)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

// progress reports what the command is doing on stderr.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "analytics: "+format+"\n", args...)
}

// run prepares the data, sets up the targets, runs the suite and prints
// the report.
func run(ctx context.Context, o options) error {
	loadStart := loadAvg()
	d, err := prepare(ctx, o)
	if err != nil {
		return err
	}
	var engines []*engine
	var notes []string
	var failed []string // targets that could not be set up, and why
	for _, t := range o.targets {
		f, cleanup, err := setup(ctx, t, d, o)
		defer cleanup()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			progress("%s: unavailable: %v", t, err)
			failed = append(failed, fmt.Sprintf("%s: unavailable: %v", t, err))
			continue
		}
		engines = append(engines, f.engines...)
		for _, n := range f.notes {
			notes = append(notes, t+": "+n)
		}
	}
	slices.SortStableFunc(engines, func(a, b *engine) int {
		return slices.Index(engineOrder, a.name) - slices.Index(engineOrder, b.name)
	})
	qs := suite(d.rows)
	results := make([]map[string]*measurement, len(qs))
	for i, q := range qs {
		results[i] = map[string]*measurement{}
		for _, e := range engines {
			m := measure(ctx, e, q, o.runs, o.timeout)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			results[i][e.name] = m
			if m.err != nil {
				progress("Q%s %s: error: %v", q.id, e.name, m.err)
			} else {
				progress("Q%s %s: %s", q.id, e.name, showDuration(m.median()))
			}
		}
		check(results[i], q.ordered)
	}
	r := &report{
		o: o, d: d, queries: qs, engines: engines, results: results, failed: failed,
		notes: append(notes, fmt.Sprintf("machine: %d CPUs, GOMAXPROCS %d, %s; load average (1, 5, 15 min) %s at the start, %s at the end",
			runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), loadStart, loadAvg())),
	}
	r.print(os.Stdout)
	return nil
}

// prepare makes sure the data files exist: the Parquet file of o.rows rows
// (bench.Prepare, cached), and the CSV file if MariaDB runs.
func prepare(ctx context.Context, o options) (*dataset, error) {
	data, err := bench.Prepare(ctx, o.dataDir, o.rows, bench.WriterOptions(), progress)
	if err != nil {
		return nil, err
	}
	d := &dataset{rows: o.rows}
	if d.parquet, err = filepath.Abs(data.Path(data.Full)); err != nil {
		return nil, err
	}
	if slices.Contains(o.targets, "mariadb") {
		csv, err := bench.PrepareCSV(filepath.Join(filepath.Dir(o.dataDir), "import"), o.rows, progress)
		if err != nil {
			return nil, err
		}
		if d.csv, err = filepath.Abs(csv); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// setup sets up target t in a new temporary folder. The cleanup, to be
// called in any case, closes it and removes the folder.
func setup(ctx context.Context, t string, d *dataset, o options) (*family, func(), error) {
	dir, err := os.MkdirTemp("", "analytics-"+t+"-")
	if err != nil {
		return nil, func() {}, err
	}
	var f *family
	switch t {
	case "lakesql":
		f, err = setupLakesql(ctx, d, dir, progress)
	case "duckdb":
		f, err = setupDuckDB(ctx, d, runtime.GOMAXPROCS(0), progress)
	case "mariadb":
		f, err = setupMariaDB(ctx, d, dir, o.bufferPool, progress)
	}
	cleanup := func() {
		if f != nil {
			if err := f.close(); err != nil {
				progress("%s: closing: %v", t, err)
			}
		}
		os.RemoveAll(dir)
	}
	return f, cleanup, err
}

// loadAvg returns the three load averages of /proc/loadavg, or "unknown".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}
