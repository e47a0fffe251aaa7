// Package parquetio converts between Parquet files in a store and Arrow
// record batches: column projection, statistics, pruning, bloom filters,
// point lookups and ranged reads through store.Reader.
//
// # Flow
//
//	write:  arrow.Record ──Writer.Write──▶ parquet-go ColumnWriters ──▶ io.Writer
//	        (caller sorts by key)   columns on parallel goroutines, pages cut near
//	                                 PageSize, zstd (fastest level), dictionary
//	                                 only for low-cardinality strings, row groups
//	                                 of RowGroupRows, page index,
//	                                 bloom filters on key columns
//	        Writer.Close ──▶ FileStats (rows, bytes, min/max/nulls by column id, key range)
//	        WriteFile streams the bytes into store.Writer.Put with IfAbsent.
//
//	read:   OpenFile ── one ranged read of the tail (footer + page index) ──▶ File
//	        File.Read ──▶ per row group: prune by chunk statistics
//	                      ──▶ prune pages by ColumnIndex/OffsetIndex ──▶ row ranges
//	                      ──▶ ranged reads of just those pages (+ dictionary page)
//	                      ──▶ decode the predicate's columns (fixed-width values
//	                          copied straight into Arrow buffers)
//	                      ──▶ evaluate the predicate on the arrays, drop deleted/masked
//	                      ──▶ decode the other columns only for the matching runs
//	                          (no predicate: deleted/masked rows are skipped while
//	                          decoding, values copied run by run between them)
//	                      ──▶ records (≤ BatchSize rows), in file order
//
// Files carry lakesql metadata in the footer: the base.Schema
// ("lakesql.schema"), the key column ids ("lakesql.key"), FileStats
// ("lakesql.stats") and the encoded key range ("lakesql.keyrange").
//
// # Types
//
//	SQL type             Arrow                      Parquet
//	TINYINT/SMALLINT/INT int8/int16/int32           INT32, INT(8|16|32, signed)
//	BIGINT               int64                      INT64, INT(64, signed)
//	... UNSIGNED         uint8/uint16/uint32/uint64 INT32/INT64, INT(n, unsigned)
//	FLOAT / DOUBLE       float32 / float64          FLOAT / DOUBLE
//	DECIMAL(p<=9,s)      decimal128(p,s)            INT32, DECIMAL(p,s)
//	DECIMAL(p<=18,s)     decimal128(p,s)            INT64, DECIMAL(p,s)
//	DECIMAL(p<=38,s)     decimal128(p,s)            FIXED_LEN_BYTE_ARRAY(16), DECIMAL
//	DECIMAL(p<=65,s)     decimal256(p,s)            FIXED_LEN_BYTE_ARRAY(32), DECIMAL
//	CHAR/VARCHAR/TEXT    string                     BYTE_ARRAY, STRING, dictionary
//	JSON                 string (lakesql:type=JSON) BYTE_ARRAY, JSON
//	BINARY/VARBINARY/BLOB binary                    BYTE_ARRAY, dictionary
//	DATE                 date32                     INT32, DATE
//	DATETIME(p)          timestamp[us]              INT64, TIMESTAMP(MICROS, adjusted=false)
//	TIMESTAMP(p)         timestamp[us, UTC]         INT64, TIMESTAMP(MICROS, adjusted=true)
//	TIME(p)              duration[us] (lakesql:type=TIME) INT64 (a signed duration)
//	BOOLEAN              bool                       BOOLEAN
//
// Every column carries its column id as the Parquet field_id and as the
// Arrow field metadata "PARQUET:field_id"; the SQL type is in
// "lakesql:type". Reads match file columns to the table schema by id: a
// renamed column is found by id, a column added later is filled with its
// Default (a SQL literal; NULL when nil), a dropped one is not requested.
// Changing a column's type is not supported.
//
// # Foreign files
//
// A table may reference Parquet files other tools wrote (virtual files):
// no lakesql metadata, no field ids, rows in the writer's order.
//
//	add:   InferSchema (CREATE from a file) ── InspectForeign(table, key) ──▶ ForeignInfo
//	       footer: each top-level column ──name, case-insensitive──▶ one table column,
//	               its physical + logical type checked against the SQL type
//	       key columns read in full: strictly increasing, no NULL ──▶ Keys, KeyMin/KeyMax
//	       column chunk statistics ──▶ FileStats (bounds; columns without them left out)
//	read:  OpenFile(ReaderOptions{Schema, Foreign: {Columns, RowID, RowIDStart, Key, Stats}})
//	       ──▶ a File whose own schema is the mapped columns under their table ids
//
// A file column fits a table column when lakesql decodes it exactly as its
// own files of that column: the physical type of the table above with the
// same meaning. INT32 (none or INT(32,true)) is INT, INT(8|16, signed or
// not) TINYINT/SMALLINT [UNSIGNED] (or any wider INT32-stored integer that
// holds them), INT64 (none or INT(64)) BIGINT [UNSIGNED]; DATE; INT64
// TIMESTAMP(MICROS) is TIMESTAMP when adjusted to UTC, DATETIME when not,
// TIME(MICROS) is TIME (millisecond and nanosecond units are refused, and
// so is INT96); DECIMAL(p,s) only with the same p and s in the storage of
// the table above; BYTE_ARRAY STRING/ENUM/JSON/none is CHAR, VARCHAR or
// TEXT, JSON/STRING is JSON, none/BSON/STRING is BINARY, VARBINARY or BLOB.
// Nested and repeated columns are refused. Reads of a foreign File work as
// for any File (pruning by whatever statistics and page index the writer
// left; a chunk without statistics is never pruned), and a keyless table's
// hidden row id, absent from the file, is synthesized as RowIDStart + the
// row's file position, consecutive, so FindKey on it is arithmetic.
//
// # Pruning
//
// A Predicate is a tree over column ids (=, <>, <, <=, >, >=, IS [NOT] NULL,
// IN, AND, OR, NOT), compiled to negation normal form (valid in SQL's
// three-valued logic). It is used (a) to skip row groups by their column
// chunk statistics, (b) to skip pages by the page index, and (c) evaluated
// on the decoded arrays in typed loops. Pruning never drops a row that
// matches: comparisons with NULL are not true; float columns are pruned
// only by =, <, <=, IN against non-NaN constants (NaN may be absent from
// bounds); FIXED_LEN_BYTE_ARRAY decimals (p > 18) are never pruned by
// statistics because parquet-go orders them as unsigned bytes; truncated
// string maxima that could not be incremented are ignored.
//
// # Concurrency and caching
//
// A File is safe for concurrent use. It keeps the footer, the page index
// and the schema mapping; KeyIndex (the encoded keys of a key-sorted file,
// for binary search) and the key columns' bloom filters are loaded on
// first use and kept for the File's life. A key index of one 8-byte key
// column (BIGINT, the common key) holds the keys as numbers with every
// 64th in a small fence array: a lookup searches the fence, which stays in
// the CPU caches, and then 64 keys, instead of missing the caches at most
// steps of a search over millions of keys; when the keys are evenly spread
// (dense ids), it guesses the position by interpolation instead. FindKey rules a key out by the
// file's key range, then binary-searches the key index when it is loaded
// (else consults the bloom filters before loading it). MayContain checks
// the bloom filter of only the row groups whose statistics of the first
// key column hold the key (a key-sorted file's row groups hold disjoint
// key ranges). ReadRows of up to
// 64 positions (point lookups) runs on the calling goroutine: it finds
// each row's page by binary search in the offset index and takes the
// page, decoded whole into an Arrow array, from the page cache, decoding
// and caching it on a miss. The PageCache (LRU by bytes, keyed by File,
// column chunk and page) is shared by every File opened with it
// (ReaderOptions.PageCache; scan.Reader gives all its files one);
// without one a File has its own of ReaderOptions.PageCacheBytes (64 MiB
// by default). One row is returned as zero-copy one-row slices of the
// cached pages (Go memory, not ReadRows' allocator). Key columns default
// to 16 KiB pages (the first, when an integer, DELTA_BINARY_PACKED), the
// other columns to 64 KiB, and string columns whose first values are
// mostly distinct are written PLAIN, so a miss decodes one page per column
// and no dictionary (still tens of µs of zstd for a 64 KiB page). A Read decodes row groups on up
// to ReaderOptions.Parallelism goroutines (GOMAXPROCS by default), with at
// most that many results waiting, and returns them in file order. A
// RecordReader itself is used by one goroutine; its Record is valid until
// the next Next (Retain to keep it). Arrow memory comes from
// ReadOptions.Alloc.
//
// A parquet-go panic on corrupt bytes (footer or pages) is recovered and
// reported as base.ErrCorruption naming the file.
//
// # Dictionary arrays
//
// With ReadOptions.Dictionaries a string or binary column chunk whose
// pages read are all dictionary-encoded is returned as an
// *array.Dictionary: int32 indexes (with the rows' validity) over one
// String or Binary array made from the chunk's dictionary page, shared by
// every record cut from the chunk. A page that is not dictionary-encoded
// turns the chunk plain (decoding falls back mid-chunk), so a column may
// be a dictionary in some records and plain in others; a record's schema
// then has the column's dictionary type (RecordSchema). Predicates on
// such a column compare each entry once and map the rows through their
// indexes; selections and slices take indexes. Whole chunks are cached in
// dictionary form whichever read decoded them, and reads without the
// option (point reads included) get plain copies of their rows: the form
// of an answer depends on the file and the option, never on the cache.
// See dict.go.
package parquetio
