// Command wire runs one workload against several MySQL-protocol servers in
// one run and prints a Markdown table of the figures, with ratios relative
// to MariaDB:
//
//	cd bench && go run ./wire [-targets mariadb,gms,lakesql] [-rows 1000000]
//	cd bench && go run ./wire -targets mariadb,lakesql -rows 10000000   # the secondary-index benchmark
//
// The targets run one after the other, each in a fresh temporary folder, so
// that they never compete for the machine's cores:
//
//	for each target:
//	    start ──► workload ──► stop, remove the folder
//	      │                      ▲
//	      └── fails? ────────────┘  "<target>: unavailable (<reason>)", next target
//
// The targets:
//
//   - mariadb: mariadbd from the Debian packages, bootstrapped with
//     mariadb-install-db into the temporary folder, on a free loopback port,
//     with a user for TCP access created by an init file. InnoDB keeps its
//     defaults; the output says which durability settings were in effect.
//   - gms: go-mysql-server v0.20.0's engine and server in this process, on a
//     loopback port. It is the floor: how much of the gap to MariaDB is the
//     SQL engine's own cost. The storage is keyedTable (gmstable.go), rows in
//     a slice plus a hash index on the primary key, not GMS's memory.Table:
//     that one looks up an inserted key by scanning every row and re-sorts
//     the table after each statement, so a load of 10^6 rows is quadratic
//     (hours), and its "primary key index" is a filtered full scan.
//   - lakesql: cmd/lakesql built from the repository (-lakesql-src) and run
//     as `lakesql serve --data <dir> --listen 127.0.0.1:<port>
//     --flush-interval 0`. If it does
//     not build, start or answer within 30 s it is reported as unavailable.
//
// The workload (workload.go) on t(id BIGINT PRIMARY KEY, k INT, v DOUBLE,
// s VARCHAR(32)): load -rows rows in multi-row INSERTs of 1,000; the two
// aggregates (best of 3); -lookups primary-key point lookups from one
// connection, first with client-side interpolation, then with a server-side
// prepared statement; an upsert of -upsert-rows rows in batches of 1,000,
// half of the keys existing (-basic=false skips these four after the load).
// Every value is a pure function of the row's id and generation (rowOf), so
// every answer is checked against values computed here: a wrong answer
// fails the target instead of producing a figure.
//
// The secondary-index part (secondary.go; -secondary=false skips it) runs
// last, on the same table:
//
//	CREATE INDEX ts ON t (s)                      "index build"
//	upsert -fresh-rows existing rows (10,000),     "fresh upsert"
//	  spread evenly over the ids, generation 2:
//	  new k, v and s; batches of 1,000, ON DUPLICATE KEY UPDATE
//	EXPLAIN of the lookup, of IGNORE INDEX and of the scan (notes)
//	-lookups SELECT id, k, v, s FROM t WHERE s = ?  "index lookup" (µs each)
//	-scans   ... WHERE CONCAT(s, '') = ?            "full-scan lookup" (µs each)
//
// The lookups run from one connection with client-side interpolation, as
// the PK lookups do. Half of them ask for a value the fresh upsert wrote,
// a quarter for the value a rewritten row held before (the answer must no
// longer contain it), a quarter for the value of a row the fresh upsert did
// not touch. Every answer is compared with the model (secondary.go): the
// set of ids and each row's k, v and s in its current generation. The
// full-scan lookups ask for the first -scans of the same values; the report
// divides the two per-lookup times. The scan applies CONCAT to s rather
// than use IGNORE INDEX (ts) because go-mysql-server, and so lakesql,
// accepts the hint but still plans the lookup on ts (MariaDB honors it);
// the notes show every target's EXPLAIN of the three queries, and a target
// whose lookup does not use ts (key column) is reported so, not failed.
// The gms target skips this part: keyedTable has no secondary indexes.
//
// s holds one of sValues = 2^20 values (sNumber): row id of generation 0
// holds value id mod 2^20, later generations a hashed value number. At 10M
// rows a value is held by about 9.5 rows, the handful of rows a lookup by a
// secondary key should return (the lookups' average is in the notes); at
// 1M rows by about 1. A hash of the id per row, as s was before, would be
// a unique key, not a secondary one. The strings keep their shape ("s" and
// up to 13 base-36 digits), so the load writes rows of the same size as
// before; and since the loaded rows holding value n are n, n+2^20, ...,
// the model computes any answer from the few rows the upserts wrote, with
// no copy of the table.
//
// lakesql runs with --flush-interval 0, so that its MemTables flush only
// by size (32 MiB) and on DDL: CREATE INDEX flushes the MemTable, and the
// fresh upsert's 10,000 rows then stay in it through the lookups, which
// must find them there and not the rows they replaced in the files. The
// notes give the MemTable's row count (lakesql_memtables) after the upsert
// and after the lookups.
//
// Child processes are stopped and temporary folders removed on exit and on
// Ctrl-C (the children run in their own process group, so the terminal's
// SIGINT reaches only this command, which shuts them down in order).
// -keep keeps the folders, with each server's data and log, to look into a
// failure.
package main
