package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultImportRows is the size of the import comparison's files;
// LAKESQL_BENCH_IMPORT_ROWS overrides it.
const DefaultImportRows = 1_000_000

func importRows() int64 {
	s := strings.ReplaceAll(os.Getenv("LAKESQL_BENCH_IMPORT_ROWS"), "_", "")
	if s == "" {
		return DefaultImportRows
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 1 {
		panic(fmt.Sprintf("LAKESQL_BENCH_IMPORT_ROWS=%q: want a row count", s))
	}
	return int64(f)
}

// The import comparison's inputs, prepared once per run.
var (
	importOnce  sync.Once
	importFiles *ImportFiles
	lakesqlBin  string
	importErr   error
	binDir      string
)

func importSetup(b testing.TB) (*ImportFiles, string) {
	importOnce.Do(func() {
		dir := filepath.Join(filepath.Dir(DefaultDir()), "import")
		importFiles, importErr = PrepareImportFiles(context.Background(), dir, importRows(), func(f string, a ...any) {
			fmt.Printf("bench: "+f+"\n", a...)
		})
		if importErr != nil {
			return
		}
		if binDir, importErr = os.MkdirTemp("", "lakesql-bench-bin"); importErr != nil {
			return
		}
		lakesqlBin, importErr = BuildLakesql("..", binDir)
	})
	if importErr != nil {
		b.Fatal(importErr)
	}
	return importFiles, lakesqlBin
}

// BenchmarkImport loads a CSV and a Parquet file of the benchmark rows
// (1M by default) with `lakesql import` (the built command, as a user runs
// it: a new process that creates the table, reads the file, writes Parquet
// and commits one version) and with DuckDB (CREATE TABLE t AS SELECT * FROM
// read_csv / read_parquet, on a database file then CHECKPOINT, and in
// memory). Neither table has a primary key. Every load's COUNT(*),
// SUM(id) and SUM(k) are checked (not timed).
func BenchmarkImport(b *testing.B) {
	ctx := context.Background()
	files, bin := importSetup(b)
	for _, in := range []struct{ name, file string }{{"csv", files.CSV}, {"parquet", files.Parquet}} {
		b.Run(in.name, func(b *testing.B) {
			check := func(b *testing.B, engine string, rows, sumID, sumK int64, err error) {
				if err != nil || rows != files.Rows || sumID != files.SumID || sumK != files.SumK {
					b.Fatalf("%s: %d rows, SUM(id) %d, SUM(k) %d, %v; want %d, %d, %d", engine, rows, sumID, sumK, err, files.Rows, files.SumID, files.SumK)
				}
			}
			b.Run("lakesql", func(b *testing.B) {
				var own time.Duration
				var rss int64
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					dir, err := os.MkdirTemp(binDir, "data")
					if err != nil {
						b.Fatal(err)
					}
					if err := LakeCreateDB(ctx, bin, dir); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					r, err := RunLakeImport(ctx, bin, dir, in.file)
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					own += r.Own
					rss = max(rss, r.PeakRSS)
					rows, sumID, sumK, err := LakeSumsOf(ctx, bin, dir)
					check(b, "lakesql", rows, sumID, sumK, err)
					os.RemoveAll(dir)
					b.StartTimer()
				}
				report(b, files.Rows, map[string]float64{
					"own-s":    own.Seconds() / float64(b.N),
					"peak-MiB": float64(rss) / (1 << 20),
				})
			})
			for _, duck := range []struct {
				name   string
				inFile bool
			}{{"duckdb-file", true}, {"duckdb-mem", false}} {
				b.Run(duck.name, func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						path := ""
						if duck.inFile {
							path = filepath.Join(b.TempDir(), "t.duckdb")
						}
						db, err := OpenDuckAt(path, runtime.GOMAXPROCS(0))
						if err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
						err = DuckLoad(ctx, db, in.file, duck.inFile)
						b.StopTimer()
						if err != nil {
							b.Fatal(err)
						}
						rows, sumID, sumK, err := DuckSumsOf(ctx, db)
						check(b, duck.name, rows, sumID, sumK, err)
						db.Close()
						if path != "" {
							os.Remove(path)
							os.Remove(path + ".wal")
						}
						b.StartTimer()
					}
					report(b, files.Rows, nil)
				})
			}
		})
	}
}

// TestImportAnswers imports small files with both engines and checks
// their sums, so that `go test ./...` covers the import comparison.
func TestImportAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lakesql")
	}
	ctx := context.Background()
	dir := t.TempDir()
	files, err := PrepareImportFiles(ctx, dir, 20_000, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := BuildLakesql("..", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{files.CSV, files.Parquet} {
		data := t.TempDir()
		if err := LakeCreateDB(ctx, bin, data); err != nil {
			t.Fatal(err)
		}
		r, err := RunLakeImport(ctx, bin, data, file)
		if err != nil {
			t.Fatal(err)
		}
		if r.Own <= 0 || r.Wall < r.Own {
			t.Errorf("%s: times %+v", file, r)
		}
		rows, sumID, sumK, err := LakeSumsOf(ctx, bin, data)
		if err != nil || rows != files.Rows || sumID != files.SumID || sumK != files.SumK {
			t.Errorf("lakesql %s: %d, %d, %d, %v; want %d, %d, %d", file, rows, sumID, sumK, err, files.Rows, files.SumID, files.SumK)
		}
		db, err := OpenDuckAt("", 2)
		if err != nil {
			t.Fatal(err)
		}
		err = DuckLoad(ctx, db, file, false)
		if err == nil {
			rows, sumID, sumK, err = DuckSumsOf(ctx, db)
		}
		db.Close()
		if err != nil || rows != files.Rows || sumID != files.SumID || sumK != files.SumK {
			t.Errorf("duckdb %s: %d, %d, %d, %v; want %d, %d, %d", file, rows, sumID, sumK, err, files.Rows, files.SumID, files.SumK)
		}
	}
}

// importSummary prints the import comparison's part of the summary.
func importSummaryTable(sb *strings.Builder, get func(string) (result, bool)) {
	if importFiles == nil {
		return
	}
	size := func(p string) string {
		if st, err := os.Stat(p); err == nil {
			return fmt.Sprintf("%.1f MiB", float64(st.Size())/(1<<20))
		}
		return "?"
	}
	sec := func(ns float64) string { return fmt.Sprintf("%.2f s", ns/1e9) }
	krows := func(r result) string { return fmt.Sprintf("%.0fk", float64(r.rows)/r.nsOp*1e6) }
	fmt.Fprintf(sb, "\nImport of %d rows, t(id BIGINT, k INT, v DOUBLE, s VARCHAR), no key; best run of each (GOMAXPROCS=%d, DuckDB threads=%d)\n",
		importFiles.Rows, runtime.GOMAXPROCS(0), runtime.GOMAXPROCS(0))
	fmt.Fprintf(sb, "%-22s %14s %10s %12s %9s %14s %10s %14s %10s %15s\n",
		"file", "lakesql import", "rows/s", "(own clock)", "peak RSS", "duckdb (file)", "rows/s", "duckdb (mem)", "rows/s", "lakesql/duckdb")
	for _, in := range []struct{ name, path string }{{"csv", importFiles.CSV}, {"parquet", importFiles.Parquet}} {
		l, ok1 := get("BenchmarkImport/" + in.name + "/lakesql")
		d, ok2 := get("BenchmarkImport/" + in.name + "/duckdb-file")
		m, ok3 := get("BenchmarkImport/" + in.name + "/duckdb-mem")
		if !ok1 || !ok2 || !ok3 {
			continue
		}
		fmt.Fprintf(sb, "%-22s %14s %10s %12s %9s %14s %10s %14s %10s %14.2fx\n",
			in.name+" ("+size(in.path)+")", sec(l.nsOp), krows(l), fmt.Sprintf("%.2f s", l.extra["own-s"]),
			fmt.Sprintf("%.0f MiB", l.extra["peak-MiB"]), sec(d.nsOp), krows(d), sec(m.nsOp), krows(m), l.nsOp/d.nsOp)
	}
	sb.WriteString("lakesql import: the whole process (start-up, creating the table, reading, writing Parquet, one commit); own clock: from\n" +
		"opening the database to the commit, without process start-up. DuckDB: CREATE TABLE AS SELECT, on a database file with CHECKPOINT.\n")
}
