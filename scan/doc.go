// Package scan reads a table at a snapshot into Arrow records, and finds
// single rows by key.
//
// The sources of a table are its data files, each filtered by its deletion
// vector (scan/dv), and — only in the branch's writer — in-memory sources
// (MemTables, through the Source interface this package defines and memwal
// implements) that hide the file rows they supersede (masks) and add their
// own newest rows. Deletion vectors and masks leave at most one live row per
// key, so a scan is a concatenation, not a merge by key:
//
//	file 1 ─ minus DV ∪ masks ─┐
//	file 2 ─ minus DV ∪ masks ─┼─▶ records (projected, filtered)
//	sources' rows ─ filtered ──┘
//
// and every predicate is pushed into the file readers (row-group and page
// pruning, evaluation on Arrow arrays; parquetio), then applied to the
// sources' rows with the same semantics. With Request.Dictionaries the
// file rows of dictionary-encoded string chunks come as dictionary arrays
// and everything else plain, record by record.
//
// A Reader is shared by all queries of a database: it keeps data files open
// with their footers, page indexes, key indexes and bloom filters (a bounded
// LRU; files in use are closed only when released), and caches deletion
// vectors. Plan splits a scan into partitions of similar cost (mergeplan);
// the SQL layer reads them one after another while each file read decodes
// row groups in parallel.
//
// Lookup finds a key's live row and its location (file and position, or a
// source): the sources first, then the files whose key range (and, until
// their key index is loaded, bloom filters) may hold it, by binary search
// of their cached key index; the row's columns come from decoded pages in
// the Reader's page cache (Options.PageCacheBytes, 1 GiB by default, one
// budget for all its files, or Options.PageCache shared between Readers). Count is
// exact: rows minus deleted and masked ones, plus the sources' rows.
package scan
