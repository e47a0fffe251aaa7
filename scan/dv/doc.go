// Package dv reads and writes deletion vectors: the sets of deleted row
// positions of immutable data files.
//
// A data file is never rewritten to delete a row. A flush, a bulk write or a
// merge that deletes or supersedes rows of a file records them in the file's
// deletion vector, a 32-bit roaring bitmap of row positions (so a file with
// deletions has at most 2^32 rows; MaxPosition), and commits a new
// descriptor for the file (txn.DeletionVector in a Remove + Add pair). The
// new vector is always complete: the old one united with the new positions
// (Union, WithPositions, Extend), never a delta.
//
// Flow of a flush that deletes rows of files f1 and f2 of table t:
//
//	old descriptor ──Load──▶ old bitmap ─┐
//	new positions ──FromPositions────────┴─Union─▶ new bitmap
//	                                                  │
//	                     Writer.Add(f1, bitmap) ◀─────┘ (and f2, ...)
//	                          │
//	     encoding ≤ InlineLimit? ── yes ─▶ descriptor{Inline, Cardinality}
//	                          │ no
//	                          ▼
//	     appended to data/t/dv/<uuid>.bin ─▶ descriptor{Path, Offset, Size, Cardinality}
//	                          │
//	     Writer.Finish: one put-if-absent of the DV file, before the commit
//	     that references it
//
// A reader calls Load (or Cache.Load) with a descriptor: an inline vector is
// decoded from the log entry; a file vector is one ranged read of exactly
// Size bytes at Offset, never the whole DV file, so one DV file can serve
// the vectors of many data files.
//
// Encoding. Each vector is framed on its own (see Encode): magic, version,
// cardinality, payload length and CRC32C, then the roaring portable
// serialization (run-optimized, so dense ranges stay small). Because every
// vector carries its own frame, a DV file is simply their concatenation and
// needs no index: the log's descriptors are the index. Whatever does not
// check out (magic, version, length, checksum, bitmap structure, the
// cardinality against the header and against the log) is an error matching
// base.ErrCorruption that names the DV file (or InlineName) and the offset.
//
// Decisions:
//   - One DV file per table per flush: the layout keeps a table's files under
//     data/<table-id>/, so a flush touching several tables writes one DV file
//     for each table that has vectors too large to go inline.
//   - Vectors go inline up to InlineLimit (256) bytes of encoding, which
//     covers a few dozen scattered deletions or any number of runs; the log
//     stays small and most deletions cost no extra object.
//   - The Cache keys file vectors by (DV file, offset) with a byte budget of
//     encoded sizes; the bitmaps it returns are shared and read-only.
package dv
