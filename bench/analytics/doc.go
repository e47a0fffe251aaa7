// Command analytics runs a fixed suite of analytical queries over one data
// set on lakesql, DuckDB and MariaDB in one run and prints a Markdown table
// of the median times, lakesql's ratio to DuckDB and to MariaDB, and the
// geometric mean of the ratios to DuckDB: the yardstick of lakesql's
// vectorized execution.
//
//	cd bench && go run ./analytics [-rows 1000000] [-runs 5] [-timeout 120s]
//	                               [-targets lakesql,duckdb,mariadb]
//
// The data is bench's table t(id BIGINT PRIMARY KEY, k INT, v DOUBLE,
// s VARCHAR(16)) of -rows rows (bench.Row), one Parquet file written by
// bench.Prepare and cached in bench/.data/store, and for MariaDB a CSV file
// of the same rows (bench.PrepareCSV, in bench/.data/import). Each engine
// gets the data in, untimed, then the queries run:
//
//	prepare the files ──► set up each target (load, not timed)
//	    │
//	    └─► for each query:  for each engine:  warm-up run (its answer is kept)
//	                                           -runs timed runs (median; each
//	                                           answer equal to the warm-up's)
//	                         compare the answers across engines (check)
//	──► report: table, ratios, goals, errors, queries, loads, notes
//
// Running every engine on one query before the next query keeps the pairs
// that make a ratio close in time, which matters on a shared machine.
//
// The engines (the report's columns):
//
//   - lakesql: the embedded engine (sql.NewEmbedded with lakesqlConfig) over a
//     local store in a temporary folder; table t of database lake_managed is the
//     Parquet file added as a virtual file and then rewritten by
//     lakesql_materialize into a data file of lakesql's own.
//   - lakesql virtual: table t of database lake_virtual, the Parquet file added in
//     place (lakesql_add_files) and read as it is.
//   - duckdb: an in-memory DuckDB with a view t over read_parquet of the file.
//   - duckdb native: another in-memory DuckDB holding the rows in its own
//     table (CREATE TABLE + INSERT ... SELECT FROM read_parquet).
//   - mariadb: mariadbd from Debian's packages (package internal/mariadb)
//     in a temporary folder, InnoDB defaults, loaded by LOAD DATA LOCAL
//     INFILE; queried over the MySQL protocol with go-sql-driver/mysql.
//
// lakesql and DuckDB run in this process with GOMAXPROCS threads each
// (DuckDB: PRAGMA threads); MariaDB runs a query on one thread. Answers
// are normalized (result.go) and compared: the answer most engines agree
// with is the reference, and an engine that differs gets no figure. An
// engine failing a query, or exceeding -timeout, shows "error" in its cell
// and the message below the table; the run goes on.
package main
