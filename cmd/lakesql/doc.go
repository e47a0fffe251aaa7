// Command lakesql is the command line of lakesql: the MySQL-wire server,
// embedded queries, imports and maintenance commands.
//
// Every command but serve runs in this process over a data location, through
// an embedded engine (sql.Embedded) that takes a branch's writer lease only
// when it writes; each parses its own flags (flag, interspersed with the
// arguments), explains itself with an example on --help, exits 0 on success,
// 1 on failure and 2 on a usage error, and logs to standard error through
// log/slog without credentials (redact).
//
//	sql        statements from -q or standard input, split by splitter (quotes
//	           and comments aware), run one by one, printed by printer
//	           (table, csv, tsv, json); the first error stops the run
//	log, branches, tags, compact, checkpoint
//	           the system tables and procedures through the engine
//	vacuum     txn.DB.Vacuum directly (for --force), with its progress
//	import     see below
//
// # Import
//
//	open FILE ── CSV: read 10000 records ahead, infer types ── Parquet: map types
//	open engine, take the writer lease (sql.Embedded.PrepareLoad: a server
//	    holding it fails the import here, named)
//	CREATE TABLE if missing (its own version)
//	sql.BulkLoader:   producer goroutine            consumer
//	                  parse / decode batches ──ch──▶ convert each row (AddText, Add)
//	Commit: duplicate check unless --upsert, then memwal's bulk path writes
//	    Parquet (and deletion vectors) and commits one IMPORT version
//	on failure: nothing committed; a table import created is dropped again
//
// The rows are held in memory until the commit, because the bulk path takes
// them at once and an import is one version (see sql/bulkload.go).
package main
