// Package memwal is the write path of a branch: the writer lease and epoch,
// the write-ahead log (memwal/wal), the MemTables (memwal/memtable),
// transactions, flushes with deletion vectors and crash recovery.
//
// # Opening a branch for writing (takeover)
//
//	lease.Acquire (epoch e > every epoch the log has claimed)
//	  (a) wal.Fence every epoch from the newest claimed one to e-1:
//	      no older writer can append or acknowledge any more
//	  (b,c) commit the epoch claim walPosition{e, persisted} to the log:
//	      any later commit of an older epoch is refused (txn.ErrFenced)
//	  (d) replay every older epoch, in order, each up to its fence, after
//	      the persisted position read from the claimed head (a zombie's
//	      flush may have landed before the claim, never after), into the
//	      live MemTable, locating each key's row in the files
//	then serve.
//
// # Writing
//
// A Txn reads at a snapshot (the log state and the MemTables at the
// published sequence number) and buffers its writes. Commit encodes the
// WAL record and looks up the written keys' rows in the files outside the
// write lock, then under it revalidates (a flush that published files
// meanwhile makes it look again), checks write-write conflicts against the
// commits after its snapshot (first committer wins: ErrConflict; see
// writeIndex), submits the record (its sequence number is assigned in WAL
// order), applies it to the live MemTable with the file locations it
// masks, and releases the lock; it then waits until the record
// and every earlier one are durable (group commit shares segments among
// concurrent sessions) and publishes the sequence number. Readers see only
// published records; a statement is acknowledged only when durable.
//
// # Flushing
//
//	freeze the live MemTable (a new one takes writes); wait until everything
//	submitted is durable; write one key-sorted Parquet file per table and
//	the deletion vectors of the file rows the flushed keys supersede; commit
//	{files, vectors, walPosition} as one entry; then, under the write lock,
//	give the newer MemTable's chains of flushed
//	keys their rows in the new files and publish the new log state together;
//	delete WAL segments the files now hold.
//
// A version (CommitVersion) and a table change (CommitDDL) are flushes whose
// entry also creates the version or carries the table actions, so every
// version holds every write acknowledged before it. Writers pause during
// DDL. A flush is a storage entry and creates no version.
//
// Snapshots combine the MemTables newest first: an older MemTable's row of a
// key that a newer one holds is shadowed.
//
// The merge job (Compact) rewrites mostly-deleted files and merges
// overlapping flushed ones through the same commit path, remapping the
// MemTables' locations as it publishes. It keeps the rows in Arrow arrays:
// the inputs' records are concatenated, their keys encoded from the key
// columns, the key-sorted runs merged as row indexes, and the output taken
// in that order. A snapshot older than SnapshotTTL is
// refused; while a background flush runs, writers wait once the live
// MemTable reaches twice the flush size.
//
// The bulk path (Bulk, and Txn.Stage inside transactions) writes rows
// straight into data files while writers pause; tables without a primary
// key are keyed by a hidden row id the writer assigns. See
// docs/write-path.md.
package memwal
