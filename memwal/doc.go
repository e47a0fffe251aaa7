// Package memwal is the write path of a branch: the writer lease and epochs,
// the write-ahead log (memwal/wal), the MemTables (memwal/memtable), flushes
// with deletion vectors, crash recovery and the merge job.
package memwal
