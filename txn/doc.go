// Package txn is the commit log of a database: versions, branches, tags,
// checkpoints, optimistic concurrency and vacuum.
//
// # Layout
//
//	<db>/_lakesql_log/_meta/<n>.json          protocol, branches, tags, containers
//	<db>/_lakesql_log/<branch-id>/<n>.json    a branch's entries, n = 1, 2, ...
//	<db>/_lakesql_log/<log>/_checkpoints/<n>.parquet
//	<db>/_lakesql_log/<log>/_last_checkpoint   a hint; readers verify it
//
// An entry is newline-delimited JSON actions (commitInfo first, with a
// commit id unique to the attempt). Entries that create a user version carry
// commitInfo.userVersion: versions count 1, 2, 3 along a branch's lineage
// (a branch forked at version v continues at v+1), while flushes, merges and
// epoch claims are storage entries that create none.
//
// # Reading
//
// Replay is I/O plus a pure reduction. loadState finds the newest
// checkpoint at or below the wanted entry (or, without one, the fork
// point's state in the parent's log, or an empty state for main), reads
// the entries after it in parallel, and State.Apply reduces them. States are
// immutable and share structure: files live in copy-on-write B-trees, so a
// head advances by one entry at the cost of that entry.
//
// A DB keeps each branch's head in memory. Its own commits advance it at
// once; other processes' entries are looked for at most every HeadRefresh,
// by probing the next entry's name (one Stat), or on demand.
//
// # Committing
//
//	read head n ──> build entry n+1 (generations, row ids, user version,
//	                 timestamp assigned from head n)
//	              ──> State.Apply (must fit) ──> put-if-absent <n+1>.json
//	                    │ ours ──────────────────────────> new head n+1
//	                    │ lost response ──> read back, compare commit id
//	                    │ taken ──> read winners n+1..m
//	                    │            CheckConflicts(mine, winners)
//	                    │              conflict ──> *ConflictError (retryable)
//	                    │              fenced ────> ErrFenced (terminal)
//	                    │              carry DV bits (merges) ──> CarryForward
//	                    └──────────── rebase on m, build again ─┘
//
// Conflict detection (CheckConflicts, pure) is kept apart from resolution
// (the rebase loop). The rules follow Delta Lake's WriteSerializable: blind
// appends never conflict; removing or updating a file conflicts with a
// winner that removed it or changed its deletion vector; a rewrite of a
// table the commit read conflicts with a winner's append to it; table
// changes conflict with any change to that table; a data-preserving merge
// conflicts only with a winner that removed one of its inputs, and carries
// forward deletion-vector bits winners added to them. An entry of an older
// writer epoch than one committed is refused.
//
// A deletion-vector update is a remove and an add of the same path in one
// entry; it keeps the file's generation and base row id.
//
// # Checkpoints and vacuum
//
// Every CheckpointInterval entries (and on demand) a checkpoint of the full
// state — files with deletion vectors, schemas, WAL position and epochs,
// high-water marks, application versions, unexpired tombstones and the
// lineage's version list — is written after the entry it covers, so opening
// any version reads one checkpoint and fewer than CheckpointInterval entries.
// Vacuum (vacuum.go) deletes unreferenced files and log entries older than
// the retention, keeping every retained version readable.
package txn
