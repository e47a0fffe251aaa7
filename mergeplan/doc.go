// Package mergeplan plans, without any I/O, how to scan the sources of a
// table (which files, which masks, which partitions) and which files to merge
// or rewrite. Its inputs are what the commit log says about the files (File:
// rows, deletion-vector cardinality, bytes, generation, kind, key range,
// optionally row groups) and the MemTables' sizes; its outputs are plans that
// scan and the merge job carry out. Everything is deterministic: the same
// inputs give the same plan.
//
// Keys are abstract: a Key is a []byte ordered by bytes.Compare, and callers
// encode primary keys order-preservingly. Key ranges are closed intervals.
//
// # Scans
//
// A table scan is a concatenation of files minus their deleted rows (no file
// row is shadowed by another file), so files can be read in any grouping.
// PlanScan:
//
//	files ──skip: no rows, all deleted, key range misses opts.KeyRange──▶ Skipped
//	  │
//	  ▼  cost = live bytes (bytes × live/rows) + FileOverhead
//	split = min(TargetPartitionBytes, max(FileOverhead, total / Parallelism))
//	  │
//	  ▼  a file costing more than split, with row groups, is cut into
//	     consecutive row-group ranges (each ≥ FileOverhead live bytes)
//	parts (files in input order, then MemTables)
//	  │
//	  ▼  ceil(total / split) partitions; a part goes to the partition its
//	     cost midpoint falls in
//	partitions: contiguous, in order, each within one part of the mean
//
// so there are about Parallelism × k partitions, k growing with the data.
// A part is Masked when its file has a deletion vector to apply.
//
// # Merges
//
// PlanMerges keeps two costs in check:
//
//   - Probe depth (ProbeDepth): the most files whose key ranges hold one
//     key, which is what a point lookup must probe. Flushed files are sorted
//     runs that overlap each other; while the depth exceeds MaxProbeDepth,
//     the planner takes the deepest key (leftmost among equals) and merges
//     the smallest flushed files holding it: as many as needed to get under
//     the limit, then, tiered, each further one no larger than what is
//     merged so far (equal-sized flushes merge all at once rather than two by
//     two, bounding write amplification), within MaxInputBytes. A merged
//     group stays a candidate, so chains of overlapping files grow into one
//     merge. Because every input holds the chosen key, the union of their
//     ranges is covered by them: replacing them by files inside that union
//     never raises any key's depth. A key where fewer than two candidates fit
//     the cap is given up; base files (imports, bulk writes) count towards
//     the depth but are never merged for it. Each overlap merge lists its
//     inputs as Runs of key-disjoint files, as parquet-go's merge does:
//     concatenate disjoint inputs, merge overlapping ones.
//   - File count: flushes that do not overlap (a keyless table's fresh row
//     ids, keys written in order) never raise the depth, so they would pile
//     up as small files that every scan opens. When a table has more than
//     MaxSmallFiles files below SmallFileBytes (that no overlap merge
//     takes), runs of consecutive small files in key order are compacted
//     (ReasonCompact), each run ending where another file intersects its
//     range: the output holds only keys between its inputs, which no other
//     file holds, so no key's depth grows. Files without key ranges are
//     compacted in generation order.
//   - Dead rows: a file whose deletion vector hides more than RewriteFraction
//     of its rows (and that no other merge takes) is rewritten alone; a
//     file with no live rows is dropped, reading and writing nothing.
//
// Outputs are cut at TargetFileBytes; overlap merges write in key order, so
// their outputs are Disjoint, and stay Flushed so that later flushes can
// merge with them. Apply estimates the files after a plan; the property test
// checks on random file sets that a plan never raises the probe depth, keeps
// every live row, and never gives one file to two merges.
//
// Planning is O(n²) per merge planned for n keyed files, fine for the
// thousands of files a table has.
package mergeplan
