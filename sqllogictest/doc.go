// Package sqllogictest runs sqllogictest files against lakesql: the public
// corpus (testdata/corpus, SQLite's suite in the MySQL-dialect mirror Dolt
// uses) and lakesql's own tests of versions, branches, tags, upserts,
// transactions and schema changes (testdata/lakesql).
//
// # Flow
//
//	file ──Parse──> []*Record ──Runner.RunFile──> FileResult (one RecordResult a record)
//	                               │
//	                               │ Backend.Open: a fresh, empty database per file
//	                               ▼
//	              Session.Query(sql) ──> Result ──FormatValue, sort, md5──> compare
//
// Runner.Run runs files on up to GOMAXPROCS goroutines, the largest first.
// Backends: Embedded (lakesql in-process, one engine over its own mem or
// local store per file, optionally Metamorphic) and Wire (any MySQL server
// through go-sql-driver/mysql, e.g. to check a test file against MariaDB).
//
// # Format
//
// The parser is written here rather than taken from
// github.com/dolthub/sqllogictest/go/logictest: that parser joins the lines
// of a multi-line statement without a separator, strips '#' from inside
// SQL string literals, and cannot read lines over 64 KiB. Records follow
// sqllogictest's reference runner:
//
//   - statement ok / statement error, query <types> [nosort|rowsort|valuesort] [label];
//   - skipif/onlyif <engine> in front of a record; the engine is "mysql",
//     so records for other engines are skipped (counted as skipped);
//   - halt (subject to its conditions) ends the file; hash-threshold N;
//   - values are printed by the record's type letters (FormatValue): I an
//     integer (floats and decimal text truncated toward zero), R %.3f, T the
//     text with "(empty)" for "" and non-printable bytes as '@', NULL
//     "NULL"; they are sorted by the sort mode, and compared one by one or,
//     when the file gives "N values hashing to H", by the md5 of the values
//     each followed by a newline;
//   - queries with the same label in a file must return the same values;
//   - a query must return as many columns as it has type letters.
//
// # Timeouts
//
// Each record has a timeout (30 s by default). A record that exceeds it
// fails; the session is abandoned (it is closed when the statement finally
// returns), a fresh database is opened, and the statements the file ran so
// far are replayed in it, so that the rest of the file runs on the same
// tables and is counted normally. Only statement records are replayed:
// state made by a query record (CALL lakesql_commit written as a query) is
// not rebuilt.
//
// # Tests
//
// TestCorpus runs testdata/corpus and testdata/lakesql in-process on mem
// stores. Records that fail today are listed in testdata/failures.txt
// (file:line and the reason), with each file's number of passing records;
// a failure not on the list, or fewer passing records in a file, fails the
// test; listed records that pass are reported; -update rewrites the list.
// lakesql's own files keep the right expectation when lakesql is wrong, and
// the record goes on the list.
//
// corpus/select4.test runs with a per-record timeout of 3 minutes: it joins
// up to eight tables, and took 550 s alone when go-mysql-server planned its
// joins as nested loops (it costed pushed-down scans as one row) and each
// index lookup scanned the files; with filters pushed after join planning
// and small tables' lookups served from the transaction's cached rows it
// takes about 100 s. The rest of the corpus takes about 170 s of CPU.
// Seconds of one core per directory, from one run:
//
//	corpus/select4.test           3857 records  100 s     38/s
//	corpus/select1,2,3,5          6849           46 s    150/s  (select5 40 s)
//	corpus/ddl/createtable        4575           73 s     63/s  (each CREATE TABLE slower than the last)
//	corpus/index/between/1000     3792           13 s    290/s
//	corpus/index/* (others)     122127           25 s   4900/s
//	corpus/random/*             102630           10 s  10000/s
//	corpus/evidence, lakesql       828         0.2 s   4000/s
//
// TestMetamorphic runs every file TestCorpus runs twice, by default (mem
// stores) and with one-byte MemTables, a flush after every write
// statement and a merge every fifth (Embedded's Metamorphic mode) on the
// local store, and requires equal answers (select4 included; the package
// takes about 8 minutes of wall time on 2 cores); queries that read
// lakesql_files, lakesql_memtables or the clock are left out, and storage
// procedures (lakesql_flush, lakesql_compact, ...) are compared only on
// whether they succeeded. Known differences are listed in
// testdata/metamorphic-failures.txt, with the same rules.
//
// Command cmd/slt runs files by hand, in-process or against a server.
package sqllogictest
