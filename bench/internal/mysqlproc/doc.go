// Package mysqlproc starts the MySQL-protocol servers the benchmarks run as
// child processes, and logs in to them.
//
// A Child runs in its own process group, so that the terminal's Ctrl-C
// reaches only the benchmark, which then stops its children in order:
//
//	Start ──► WaitReady (log in until it works, the child exits or
//	  │        StartTimeout passes) ──► ... ──► Stop (SIGTERM, then SIGKILL
//	  │                                          after the grace period)
//	  └── the child's stdout and stderr go to a log file; Tail reads its end
//
// Open returns a database/sql pool of one connection for a login, so that
// session settings and timings concern one server connection.
package mysqlproc
