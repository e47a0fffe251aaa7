package bench

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/store"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver
)

// The three benchmark queries, each answered by lakesql (the Lake*
// functions: parquetio.OpenFile + File.Read, typed loops over the Arrow
// arrays) and by DuckDB (the Duck* functions: SQL over read_parquet of the
// same file). Each lakesql function opens the file and reads its footer, as
// DuckDB's read_parquet does for every query.

// scan opens name, reads it with opts and calls each for every record.
func scan(ctx context.Context, r store.Reader, name string, opts parquetio.ReadOptions, each func(rec arrow.Record) error) error {
	f, err := parquetio.OpenFile(ctx, r, name, parquetio.ReaderOptions{})
	if err != nil {
		return err
	}
	defer f.Close()
	rr, err := f.Read(ctx, opts)
	if err != nil {
		return err
	}
	defer rr.Close()
	for rr.Next() {
		if err := each(rr.Record()); err != nil {
			return err
		}
	}
	return rr.Err()
}

// sumInt64 and sumFloat64 are the tight loops: four accumulators so the
// float additions pipeline.
func sumInt64(xs []int64) int64 {
	var a, b, c, d int64
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		a += xs[i]
		b += xs[i+1]
		c += xs[i+2]
		d += xs[i+3]
	}
	for ; i < len(xs); i++ {
		a += xs[i]
	}
	return a + b + c + d
}

func sumFloat64(xs []float64) float64 {
	var a, b, c, d float64
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		a += xs[i]
		b += xs[i+1]
		c += xs[i+2]
		d += xs[i+3]
	}
	for ; i < len(xs); i++ {
		a += xs[i]
	}
	return (a + b) + (c + d)
}

// LakeSums is query 1, the two-column scan: SELECT COUNT(*), SUM(id),
// SUM(v), leaving out the rows in deleted (nil: none).
func LakeSums(ctx context.Context, r store.Reader, name string, deleted *roaring.Bitmap) (rows, sumID int64, sumV float64, err error) {
	err = scan(ctx, r, name, parquetio.ReadOptions{Columns: []int{IDCol, VCol}, Deleted: deleted}, func(rec arrow.Record) error {
		ids, ok1 := rec.Column(0).(*array.Int64)
		vs, ok2 := rec.Column(1).(*array.Float64)
		if !ok1 || !ok2 {
			return fmt.Errorf("unexpected column types %T, %T", rec.Column(0), rec.Column(1))
		}
		rows += rec.NumRows()
		sumID += sumInt64(ids.Int64Values())
		sumV += sumFloat64(vs.Float64Values())
		return nil
	})
	return rows, sumID, sumV, err
}

// LakeSumV is query 2: SELECT SUM(v).
func LakeSumV(ctx context.Context, r store.Reader, name string) (sum float64, err error) {
	err = scan(ctx, r, name, parquetio.ReadOptions{Columns: []int{VCol}}, func(rec arrow.Record) error {
		vs, ok := rec.Column(0).(*array.Float64)
		if !ok {
			return fmt.Errorf("unexpected column type %T", rec.Column(0))
		}
		sum += sumFloat64(vs.Float64Values())
		return nil
	})
	return sum, err
}

// LakeCountVGt is query 3: SELECT COUNT(*) WHERE v > c. The predicate is
// evaluated by the reader; no column is returned (Columns is empty, not
// nil), only the number of matching rows per record.
func LakeCountVGt(ctx context.Context, r store.Reader, name string, c float64) (n int64, err error) {
	err = scan(ctx, r, name, parquetio.ReadOptions{Columns: []int{}, Predicate: parquetio.Cmp(VCol, parquetio.OpGt, c)}, func(rec arrow.Record) error {
		n += rec.NumRows()
		return nil
	})
	return n, err
}

// OpenDuck opens an in-memory DuckDB limited to threads threads (the
// machine's core count, the parallelism lakesql's reader uses too).
func OpenDuck(threads int) (*sql.DB, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one connection: settings and caches are per database anyway
	if _, err := db.Exec(fmt.Sprintf("PRAGMA threads=%d", threads)); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// quote returns path as a SQL string literal.
func quote(path string) string { return "'" + strings.ReplaceAll(path, "'", "''") + "'" }

// DuckSums is query 1 in DuckDB: both columns are read and summed (a plain
// COUNT(*) would be answered from the footer, and a projection without
// aggregation would measure result transfer through database/sql instead
// of the scan).
func DuckSums(ctx context.Context, db *sql.DB, path string) (rows, sumID int64, sumV float64, err error) {
	err = db.QueryRowContext(ctx, "SELECT COUNT(*), SUM(id)::BIGINT, SUM(v) FROM read_parquet("+quote(path)+")").Scan(&rows, &sumID, &sumV)
	return
}

// DuckSumV is query 2 in DuckDB.
func DuckSumV(ctx context.Context, db *sql.DB, path string) (sum float64, err error) {
	err = db.QueryRowContext(ctx, "SELECT SUM(v) FROM read_parquet("+quote(path)+")").Scan(&sum)
	return
}

// DuckCountVGt is query 3 in DuckDB.
func DuckCountVGt(ctx context.Context, db *sql.DB, path string, c float64) (n int64, err error) {
	err = db.QueryRowContext(ctx, fmt.Sprintf("SELECT COUNT(*) FROM read_parquet(%s) WHERE v > %v", quote(path), c)).Scan(&n)
	return
}
