package scan

import (
	"context"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/parquetio"
)

// Source is an in-memory source of a table's rows at one snapshot: a frozen
// or live MemTable (memwal implements it). A scan reads the table's files,
// hides the file rows the sources supersede (Mask), and adds the sources'
// own rows. Sources of one Table must be disjoint: no key is live in two of
// them (memwal presents its MemTables for a snapshot as disjoint sources,
// the newer masking the older).
type Source interface {
	// Mask returns the positions of the rows of the data file at path
	// (relative to the database prefix) that the source supersedes: keys
	// it updated or deleted. Nil when it supersedes none. The bitmap is
	// not modified by the caller.
	Mask(path string) *roaring.Bitmap
	// Records returns the source's live rows (the newest version of each
	// key, no delete markers) in the given columns (ids), as records with
	// the Arrow types of parquetio.ArrowSchema.
	Records(ctx context.Context, columns []int, alloc memory.Allocator) (RecordIterator, error)
	// Get returns the source's newest version of key. found says whether
	// the source holds the key at all; deleted that its newest version is a
	// delete marker. Otherwise rec is a one-row record of columns, which
	// the caller releases.
	Get(ctx context.Context, key parquetio.Key, columns []int, alloc memory.Allocator) (rec arrow.Record, deleted, found bool, err error)
	// LiveRows is the number of rows Records yields.
	LiveRows() int64
}

// RecordIterator iterates Arrow records. Record is valid until the next
// call of Next; Close releases everything.
type RecordIterator interface {
	Next() bool
	Record() arrow.Record
	Err() error
	Close()
}
