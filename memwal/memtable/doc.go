// Package memtable is the in-memory table of recent writes: a B-tree per
// table keyed by primary key (or the hidden row id of a keyless table),
// with versions by sequence number, delete markers, the locations of the
// keys' rows in data files, and snapshot views that implement scan.Source.
//
// # Versions
//
// Each table is a google/btree of chains ordered by parquetio.Key. A chain
// holds one key's versions {Seq, Deleted, Row}, Seq being the WAL sequence
// number of the transaction that wrote it; the newest is the one with the
// highest Seq. The tree's items carry the key's first 8 bytes as a number
// beside the key and the chain, so that most comparisons of a descent read
// neither the chain nor the key's bytes; new chains, and the first version
// and location of each, come from slabs (arrays of 256) rather than an
// allocation each. Apply adds the versions of one transaction under the write
// lock; sequence numbers never decrease, and a transaction writing a key
// twice keeps its last write. Rows are []any in schema order, normalized at
// Apply to one Go type per column (value.go), so that records are built by
// one typed loop per column.
//
//	key 7: [seq 3 row] [seq 9 row] [seq 12 delete]   locs: data/t/a.parquet:41 from 3
//	key 8: [seq 5 row]                               locs: —
//
// # Snapshots
//
// Snapshot(S) returns a ref-counted View that sees exactly the versions with
// Seq <= S: key 7 above is a row at S in [3, 12) and deleted from 12 on; at
// S < 3 it is absent. The caller picks S: readers the published durable
// sequence number, the writer its pending one (DESIGN.md section 4). A
// View's Table(id) is a scan.Source: Records (the newest row at or below S
// of every key, in key order, in Arrow records of parquetio.ArrowSchema
// types), Get, LiveRows and Mask.
//
// A MemTable is referenced by its owner and by each open View. Freeze makes
// it read-only for a flush; Release drops the owner's reference, and the
// MemTable is freed (Options.OnFree) when the last View is released, so a
// flushed MemTable stays readable for the snapshots that hold it. Close is
// Release that reports the views still open as a *LeakError (shutdown,
// tests). Prune drops versions no open or future snapshot can see: of the
// versions at or below the horizon (at most the oldest open view), all but
// the newest; Snapshot refuses older sequence numbers afterwards.
//
// # Locations and masks
//
// memwal finds a key's live row in the data files (file path, position)
// before it takes the write lock, and records it with SetLocation(key,
// loc, validFrom) or with the change it applies. When rows move (a flush
// writes the keys of an older MemTable into a new file, a merge rewrites
// files), Relocate and Remap set the new locations on a newer MemTable's
// chains in one walk of the tree in key order. A snapshot at S must hide that file row iff the key has a
// version at or below S here and validFrom <= S: so each location supersedes
// its position from max(validFrom, seq of the key's first version). A chain
// may carry several locations (a merge adds remapped ones beside the old);
// a snapshot is only ever asked about the files of its own log entry.
//
// Masks are kept up to date as writes arrive, per table and file: a list of
// (position, from-seq) sorted by from-seq, plus a few cached immutable
// roaring bitmaps, each exactly the positions at or below its seq (mask.go).
// Mask(path) at S is a binary search, plus, when positions were added since
// the newest cached bitmap at or below S, one clone of it — never a walk
// over keys. LiveRows is likewise a binary search in a per-table list of
// (seq, live rows) appended by Apply.
//
// # Secondary indexes
//
// A table keeps the secondary indexes given to AddTable (SetIndexes
// replaces them: CREATE or DROP INDEX while the MemTable is live), so that
// a lookup by a secondary key sees fresh writes without a scan. Each index
// is a google/btree of entries (index key, primary key) ordered by both,
// the index key being the values of the index's columns encoded by
// IndexKeyEncoder (a parquetio key: order-preserving, and the encoding of
// a tuple's first n values is a prefix of the whole). Apply adds one entry
// per index for every row version; entries are never removed:
//
//	key 7: [seq 3 a=5] [seq 9 a=6] [seq 12 delete]   index on a: (5,7) (6,7)
//
// An entry goes stale when a newer version changes the value or deletes
// the key, or when Prune drops its version. IndexLookup at S walks the
// entries in [lo, hi] and confirms each against its key's newest version
// at or below S: the version must be a row whose index key is the entry's.
// At S = 10 above, (5,7) is skipped and (6,7) yields the row; at S = 12
// both are skipped. So a key is yielded once, from its one current entry,
// in index order. NULLs are indexed too (they sort first, as in the index
// files), so a prefix lookup finds a row whose later index columns are
// NULL, and IS NULL is a lookup. Entries count in
// Bytes (indexEntryBytes plus the index key; the primary key is shared
// with the chain), so stale ones make the MemTable flush sooner.
//
// # Flush
//
// Iterate(table, S) yields in key order each key's newest version at or
// below S (row or delete marker) with its locations: the flush writes the
// rows as one sorted Parquet file and the locations as deletion vectors.
// Bytes and Len (versions) let memwal flush at a threshold.
//
// # Concurrency
//
//	Apply, SetLocation, AddTable, Freeze, Prune,  write lock (MemTable.mu)
//	SetIndexes
//	Relocate, Remap                               write lock per batch of keys
//	Records, Iterate, IndexLookup                 read lock per batch of keys;
//	                                              arrays are built and entries
//	                                              yielded outside it
//	Get, LiveRows                                 read lock
//	Mask                                          the file mask's own mutex
//	Snapshot, View.Retain/Release, Close          reference mutex / atomics
//	Bytes, Len, LastSeq                           atomics
//
// Every method is safe concurrently with every other. A Records iterator
// is used by one goroutine and keeps its View retained until Close. Because
// a reader releases the lock between batches, a concurrent Apply may add
// keys between them; a reader at S never sees them (their versions are
// above S: Apply of a seq completes before any snapshot at that seq is
// taken, the caller's contract).
//
// Not done here: rows are kept as []any per version rather than columnar;
// dropping a merge's superseded locations once no snapshot needs them.
package memtable
