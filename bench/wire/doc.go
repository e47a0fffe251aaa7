// Command wire runs one workload against several MySQL-protocol servers in
// one run and prints a Markdown table of the figures, with ratios relative
// to MariaDB:
//
//	cd bench && go run ./wire [-targets mariadb,gms,lakesql] [-rows 1000000]
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
//     as `lakesql serve --data <dir> --listen 127.0.0.1:<port>`. If it does
//     not build, start or answer within 30 s it is reported as unavailable.
//
// The workload (workload.go) on t(id BIGINT PRIMARY KEY, k INT, v DOUBLE,
// s VARCHAR(32)): load -rows rows in multi-row INSERTs of 1,000; the two
// aggregates (best of 3); -lookups primary-key point lookups from one
// connection, first with client-side interpolation, then with a server-side
// prepared statement; an upsert of -upsert-rows rows in batches of 1,000,
// half of the keys existing. Every value is a pure function of the row's id,
// so every answer is checked against values computed here: a wrong answer
// fails the target instead of producing a figure.
//
// Child processes are stopped and temporary folders removed on exit and on
// Ctrl-C (the children run in their own process group, so the terminal's
// SIGINT reaches only this command, which shuts them down in order).
package main
