package bench

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The import comparison: `lakesql import` of a CSV and of a Parquet file
// against DuckDB's load of the same files (CREATE TABLE t AS SELECT * FROM
// read_csv(...) / read_parquet(...)). The rows are the benchmark table's
// (Row): t(id BIGINT, k INT, v DOUBLE, s VARCHAR), no primary key.

// ImportFiles are the files both engines load.
type ImportFiles struct {
	Rows    int64
	CSV     string // with a header line: id,k,v,s
	Parquet string // written by DuckDB from the CSV (k as INT)
	// SumID and SumK are what SUM(id) and SUM(k) of a load must be.
	SumID, SumK int64
}

// PrepareImportFiles writes (or reuses) the CSV and Parquet files of n rows
// in dir.
func PrepareImportFiles(ctx context.Context, dir string, n int64, logf func(string, ...any)) (*ImportFiles, error) {
	f := &ImportFiles{
		Rows:    n,
		Parquet: filepath.Join(dir, fmt.Sprintf("t-%s-%d.parquet", genVersion, n)),
	}
	var s [16]byte
	for id := range n {
		k, _ := Row(id, s[:])
		f.SumID += id
		f.SumK += int64(k)
	}
	var err error
	if f.CSV, err = PrepareCSV(dir, n, logf); err != nil {
		return nil, err
	}
	if _, err := os.Stat(f.Parquet); err != nil {
		start := time.Now()
		db, err := OpenDuck(2)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		tmp := f.Parquet + ".tmp"
		_, err = db.ExecContext(ctx, "COPY (SELECT id::BIGINT AS id, k::INTEGER AS k, v::DOUBLE AS v, s::VARCHAR AS s FROM read_csv("+
			quote(f.CSV)+")) TO "+quote(tmp)+" (FORMAT parquet)")
		if err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, f.Parquet); err != nil {
			return nil, err
		}
		logf("wrote %s with DuckDB in %s", f.Parquet, time.Since(start).Round(time.Millisecond))
	}
	return f, nil
}

// PrepareCSV writes (or reuses) the CSV file of n rows (Row) in dir and
// returns its path. The file has a header line, id,k,v,s; floats are
// written in the shortest form that reads back as the same double.
func PrepareCSV(dir string, n int64, logf func(string, ...any)) (string, error) {
	path := filepath.Join(dir, fmt.Sprintf("t-%s-%d.csv", genVersion, n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	start := time.Now()
	if err := writeCSV(path, n); err != nil {
		return "", err
	}
	logf("wrote %s in %s", path, time.Since(start).Round(time.Millisecond))
	return path, nil
}

func writeCSV(path string, n int64) error {
	tmp := path + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(fh, 1<<20)
	w.WriteString("id,k,v,s\n")
	var s [16]byte
	var line []byte
	for id := range n {
		k, v := Row(id, s[:])
		line = strconv.AppendInt(line[:0], id, 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(k), 10)
		line = append(line, ',')
		line = strconv.AppendFloat(line, v, 'g', -1, 64)
		line = append(line, ',')
		line = append(line, s[:]...)
		line = append(line, '\n')
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// BuildLakesql builds the lakesql command of the repository at src into
// dir and returns its path.
func BuildLakesql(src, dir string) (string, error) {
	bin := filepath.Join(dir, "lakesql")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/lakesql")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/lakesql in %s: %v\n%s", src, err, out)
	}
	return bin, nil
}

// LakeImport is one `lakesql import` run.
type LakeImport struct {
	Wall    time.Duration // the process, start to exit
	Own     time.Duration // the import's own clock (its summary line)
	PeakRSS int64         // bytes
}

var importSummary = regexp.MustCompile(` in ([0-9.]+) s, `)

// LakeCreateDB creates database b in a new data directory with the
// lakesql command bin.
func LakeCreateDB(ctx context.Context, bin, dataDir string) error {
	if out, err := exec.CommandContext(ctx, bin, "sql", "--data", dataDir, "-q", "CREATE DATABASE b").CombinedOutput(); err != nil {
		return fmt.Errorf("create database: %v\n%s", err, out)
	}
	return nil
}

// RunLakeImport imports file into b.t (which it creates) with the lakesql
// command bin: `lakesql import --data dataDir b.t file`.
func RunLakeImport(ctx context.Context, bin, dataDir, file string) (*LakeImport, error) {
	args := []string{"import", "--data", dataDir, "b.t", file}
	if strings.HasSuffix(file, ".csv") {
		args = append(args, "--header")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("lakesql %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	r := &LakeImport{Wall: wall}
	if m := importSummary.FindStringSubmatch(out.String()); m != nil {
		if s, err := strconv.ParseFloat(m[1], 64); err == nil {
			r.Own = time.Duration(s * float64(time.Second))
		}
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.PeakRSS = ru.Maxrss << 10 // kilobytes on Linux
	}
	return r, nil
}

// LakeSumsOf checks a lakesql import: COUNT(*), SUM(id), SUM(k) of b.t.
func LakeSumsOf(ctx context.Context, bin, dataDir string) (rows, sumID, sumK int64, err error) {
	out, err := exec.CommandContext(ctx, bin, "sql", "--data", dataDir, "--db", "b", "--format", "tsv", "-q",
		"SELECT COUNT(*), SUM(id), SUM(k) FROM t").CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return 0, 0, 0, fmt.Errorf("unexpected output %q", out)
	}
	_, err = fmt.Sscanf(lines[1], "%d\t%d\t%d", &rows, &sumID, &sumK)
	return rows, sumID, sumK, err
}

// OpenDuckAt opens a DuckDB database at path ("" for one in memory) with
// threads threads and one connection.
func OpenDuckAt(path string, threads int) (*sql.DB, error) {
	db, err := sql.Open("duckdb", path)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(fmt.Sprintf("PRAGMA threads=%d", threads)); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// DuckLoad loads file into a new table t of db: CREATE TABLE t AS SELECT *
// FROM read_csv(file) (or read_parquet), then, when checkpoint is set (a
// database in a file), CHECKPOINT, so that the table is on disk as
// lakesql's import is when it returns.
func DuckLoad(ctx context.Context, db *sql.DB, file string, checkpoint bool) error {
	read := "read_csv(" + quote(file) + ")"
	if strings.HasSuffix(file, ".parquet") {
		read = "read_parquet(" + quote(file) + ")"
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE t AS SELECT * FROM "+read); err != nil {
		return err
	}
	if checkpoint {
		_, err := db.ExecContext(ctx, "CHECKPOINT")
		return err
	}
	return nil
}

// DuckSumsOf checks a DuckDB load: COUNT(*), SUM(id), SUM(k) of t.
func DuckSumsOf(ctx context.Context, db *sql.DB) (rows, sumID, sumK int64, err error) {
	err = db.QueryRowContext(ctx, "SELECT COUNT(*), SUM(id)::BIGINT, SUM(k)::BIGINT FROM t").Scan(&rows, &sumID, &sumK)
	return
}
