// Package exec holds Arrow-native analytical operators that do not depend on
// the SQL front end: a hash aggregate (GROUP BY with COUNT, COUNT(DISTINCT),
// SUM, AVG, MIN and MAX), a top-N (ORDER BY ... LIMIT) and a driver that
// runs work over partitions in parallel. It imports the standard library,
// arrow-go and shopspring/decimal only.
//
// # Flow
//
// The planner runs one operator per scan partition, each on its own
// goroutine, feeds it the partition's record batches, merges the partial
// operators and turns their Go results into SQL rows:
//
//	partition 0 ──records──▶ HashAggregate.Add ─┐
//	partition 1 ──records──▶ HashAggregate.Add ─┼─▶ Merge ─▶ Results ─▶ [][]any
//	partition 2 ──records──▶ HashAggregate.Add ─┘
//	            (Parallel runs one goroutine per partition)
//
// TopN works the same way. Operators never retain a record: Add copies what
// it keeps, so the caller may release a record as soon as Add returns.
//
// # Semantics
//
// Results must equal MySQL's, as a metamorphic test compares them with the
// row engine's:
//
//   - Group keys compare by value. All NULL keys form one group. -0 and +0
//     are one group (shown as +0) and one distinct value. Strings and binary
//     compare bytewise (the binary collation). Dictionary-encoded strings
//     behave as the strings they encode, whatever the dictionary, and a
//     String or Binary column may be dictionary-encoded in some records
//     and plain in others (as a scan returns it): the operators take the
//     column's kind from the schema they were built with and its encoding
//     from each record.
//   - Without keys there is always exactly one result row (COUNT is 0 and the
//     other aggregates NULL over no rows); with keys and no rows, none.
//   - SUM over integers and decimals is an exact decimal.Decimal with the
//     input's scale; AVG divides it by the count with DivRound at the
//     caller's scale (half away from zero). Over floats both are float64.
//     SUM and AVG of nothing, and MIN and MAX of nothing, are NULL.
//   - MIN, MAX and ORDER BY compare decimals numerically, dates, timestamps
//     and durations as integers, false before true and strings bytewise.
//     ORDER BY puts NULL first ascending and last descending, and keeps
//     tied rows in the order they were added.
//   - SUM and AVG over strings, binary, dates, timestamps, durations (MySQL
//     sums TIME as an HHMMSS number, not as microseconds) and booleans are
//     errors matching ErrUnsupported: the planner falls back to the row
//     engine.
//
// # Hash aggregation
//
// Add works a record at a time. A grouper maps every row to a dense group
// id; then each aggregate's accumulator folds the column into per-group
// state held in slices indexed by group id, in a tight loop over the typed
// value slice (with a separate loop when the column has no NULLs, and one
// without group ids for a global aggregate). The grouper depends on the key:
//
//   - one integer, float, date, timestamp, duration or boolean column: a
//     direct array for keys of at most 16 bits, else an open-addressing
//     table of uint64 key bits;
//   - one string or binary column: an intern table of the bytes, whose ids
//     are the group ids. A dictionary column resolves each dictionary entry
//     on first use in a record and maps its rows through the entry;
//   - anything else: each row's key is encoded into a fixed-width byte string
//     (strings replaced by ids in a per-column intern table, so dictionary
//     columns stay dictionary-aware) and the encoded keys are interned.
//
// The intern table of byte strings (bytesTable) is built for inputs with
// many distinct values, where a hash table outgrows the caches and time goes
// to cache and TLB misses and to page faults on fresh memory rather than to
// computation. A slot is one uint64 holding hash bits, a length code and the
// id; the keys are 16-byte records in id order, a key of up to 16 bytes
// being its own record, so a probe reads one slot and at most one record
// and never chases a pointer for a short key. Lookups go in batches: hash
// the batch straight from the Arrow offsets and data buffers, load every
// key's slot, then the records those name, then probe, so that the misses
// of a batch overlap. The table is sized from the rate of new keys among
// the rows seen so far, skipping the intermediate tables of doubling.
//
// COUNT(DISTINCT) keeps a set of (group, value) pairs: a table of uint64
// pairs for fixed-width values (and for interned dictionary strings under
// GROUP BY), else one bytesTable of the value's bytes, prefixed by the
// group id under GROUP BY, which costs one lookup per row; a global
// COUNT(DISTINCT) is the size of that table.
//
// Results builds every row in one backing array of cells and hands out a
// group's string key as a substring of one string holding all keys: one
// allocation per key (the string header its interface value needs) rather
// than two.
//
// Exact sums accumulate into 128-bit integers; decimal values whose sum
// would overflow 128 bits spill into a big.Int per group.
//
// # Top-N
//
// TopN keeps at most limit rows in a heap whose root is the worst kept row.
// Fixed-width sort keys are turned into order-preserving uint64 codes per
// record, so once the heap is full most rows cost one integer comparison
// against the root's first key; only rows that beat the root are copied.
//
// # Tests
//
// The operators are tested with table tests per function, type and edge
// case, and with randomized model tests against plain implementations (maps
// of formatted keys, big.Int sums, a stable sort of everything). The
// datadriven golden files used elsewhere in lakesql fit text inputs; these
// inputs are typed Arrow batches, which Go literals express more clearly.
package exec
