// Command slt runs sqllogictest files against lakesql, in-process by
// default or against a MySQL-compatible server with -dsn.
//
//	go run ./sqllogictest/cmd/slt sqllogictest/testdata/corpus/select1.test
//	go run ./sqllogictest/cmd/slt -v -metamorphic sqllogictest/testdata/lakesql
//	go run ./sqllogictest/cmd/slt -dsn 'root:pw@tcp(127.0.0.1:3306)/' sqllogictest/testdata/corpus/evidence
//
// Arguments are files or directories (searched for *.test). It prints one
// line per file, the failed records with -v, the most common failure
// categories with -categories, and the totals last; it exits 1 when a
// record failed.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/lakesql/lakesql/sqllogictest"
)

func main() {
	var (
		dsn         = flag.String("dsn", "", "run against the MySQL server at this go-sql-driver DSN instead of in-process")
		storeKind   = flag.String("store", "mem", "in-process store: mem, or local (a temporary directory per file)")
		metamorphic = flag.Bool("metamorphic", false, "in-process: one-byte MemTables, a flush after every write, a merge every 5")
		timeout     = flag.Duration("timeout", sqllogictest.DefaultTimeout, "per-record timeout")
		workers     = flag.Int("workers", 0, "files run at once (default GOMAXPROCS)")
		verbose     = flag.Bool("v", false, "print every failed record")
		categories  = flag.Int("categories", 0, "print the N most common failure categories")
		slowest     = flag.Int("slowest", 0, "print the N slowest records")
		cpuprofile  = flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: slt [flags] file-or-dir...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	paths, err := sqllogictest.Files(flag.Args()...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var backend sqllogictest.Backend
	switch {
	case *dsn != "":
		w, err := sqllogictest.NewWire(*dsn)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer w.Close()
		backend = w
	default:
		e := &sqllogictest.Embedded{Metamorphic: *metamorphic}
		switch *storeKind {
		case "mem":
		case "local":
			dir, err := os.MkdirTemp("", "slt-")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			defer os.RemoveAll(dir)
			e.Dir = dir
		default:
			fmt.Fprintf(os.Stderr, "unknown store %q\n", *storeKind)
			os.Exit(2)
		}
		backend = e
	}
	r := &sqllogictest.Runner{Backend: backend, Timeout: *timeout, Workers: *workers}
	start := time.Now()
	results := r.Run(context.Background(), paths, func(f *sqllogictest.FileResult) {
		fmt.Println(f)
		if *verbose {
			for _, rec := range f.Records {
				if rec.Outcome == sqllogictest.Failed {
					fmt.Printf("  %s:%d: %s\n", f.Path, rec.Line, rec.Reason)
				}
			}
		}
	})
	var total sqllogictest.Counts
	failedFiles := 0
	for _, f := range results {
		total.Add(f.Counts)
		if f.Err != nil {
			failedFiles++
		}
	}
	if *categories > 0 {
		fmt.Println()
		for _, c := range sqllogictest.Categorize(results, *categories) {
			fmt.Printf("%6d  %s\n        e.g. %s:%d: %s\n", c.Count, c.Category, c.Path, c.Line, c.Reason)
		}
	}
	if *slowest > 0 {
		type rec struct {
			key string
			d   time.Duration
		}
		var recs []rec
		for _, f := range results {
			for _, r := range f.Records {
				recs = append(recs, rec{fmt.Sprintf("%s:%d", f.Path, r.Line), r.Elapsed})
			}
		}
		slices.SortFunc(recs, func(a, b rec) int { return cmp.Compare(b.d, a.d) })
		fmt.Println()
		for _, r := range recs[:min(*slowest, len(recs))] {
			fmt.Printf("%8.2fs  %s\n", r.d.Seconds(), r.key)
		}
	}
	elapsed := time.Since(start)
	fmt.Printf("\n%v in %.1fs (%.0f records/s)\n", total, elapsed.Seconds(), float64(total.Total())/elapsed.Seconds())
	if total.Failed > 0 || failedFiles > 0 {
		pprof.StopCPUProfile() // os.Exit skips the deferred stop
		os.Exit(1)
	}
}
