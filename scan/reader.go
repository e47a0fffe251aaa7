package scan

import (
	"container/list"
	"context"
	"fmt"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/scan/dv"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/txn"
)

// Table is what a scan reads: a table at one snapshot.
type Table struct {
	// Schema is the table's current schema; files written under older
	// schemas are read through it by column id.
	Schema *base.Schema
	// Files are the live data files, in the order a scan returns them.
	Files []*txn.Add
	// Sources are the in-memory sources (only in the branch's writer).
	Sources []Source
}

// Options configure a Reader.
type Options struct {
	// OpenFiles bounds how many data files stay open with their footers,
	// page indexes and key indexes cached (default 4096).
	OpenFiles int
	// DVCacheBytes bounds the deletion-vector cache (default 64 MiB).
	DVCacheBytes int64
	// Parallelism is the decode parallelism of one file read (default
	// GOMAXPROCS).
	Parallelism int
	// PageCacheBytes bounds the cache of decoded pages that lookups read
	// through, one for all the Reader's files (default
	// DefaultPageCacheBytes; negative: no cache).
	PageCacheBytes int64
	// NoChunkCache keeps scans from caching the column chunks they
	// decode whole in the page cache (parquetio.ReaderOptions.CacheChunks,
	// on by default: hot tables are then scanned from memory).
	NoChunkCache bool
	// PageCache, when set, is used instead of a cache of the Reader's own
	// (PageCacheBytes is then ignored): several Readers may share one.
	PageCache *parquetio.PageCache
	// Virtual opens virtual files (txn.Add.Virtual); without it reading
	// one fails.
	Virtual VirtualOpener
}

// VirtualOpener opens the objects of virtual files, checking that each is
// still the object that was added (store.ErrChanged when not).
type VirtualOpener interface {
	OpenVirtual(ctx context.Context, a *txn.Add) (store.Object, error)
	// CheckVirtual checks, without reading it, that a's object is still
	// the one added: an open file is checked again during every scan
	// (while it is read) and, at most every VirtualRecheck, before
	// lookups. (Reads of the object itself check it too; this catches a
	// change while everything a read needs is in memory.)
	CheckVirtual(ctx context.Context, a *txn.Add) error
}

// VirtualRecheck is how long a virtual file checked once serves lookups
// before it is checked again (scans check it every time, concurrently
// with their reads).
const VirtualRecheck = time.Second

// DefaultPageCacheBytes is the default budget of a Reader's page cache:
// lookups whose rows are scattered over a large table (secondary-index
// lookups especially) decode a page per column and row, and at 10M rows of
// four columns the pages they reuse take some 400 MiB decoded. The budget
// is a bound, not an allocation.
const DefaultPageCacheBytes = 1 << 30

// Reader reads a database's data files. It caches open files (footers,
// page indexes, key indexes, bloom filters) and deletion vectors across
// scans and lookups, so it is meant to be shared. Safe for concurrent use.
type Reader struct {
	st     store.Reader
	prefix string
	opts   Options
	dvs    *dv.Cache
	pages  *parquetio.PageCache // nil: no page cache

	// indexReads counts files read through index files, sourceLookups
	// sources answered from their own indexes (IndexStats).
	indexReads, sourceLookups atomic.Int64

	mu struct {
		sync.Mutex
		files map[fileKey]*fileEntry
		lru   *list.List // of *fileEntry, most recent first
	}
}

// fileKey names an open file: its path and the shape of the schema it is
// read through.
type fileKey struct {
	path          string
	nextID, ncols int
	// virtual tells adds of one URL apart (a file added again, changed or
	// with other row ids, is another file).
	virtual string
}

type fileEntry struct {
	path fileKey
	once sync.Once
	f    *parquetio.File
	err  error
	refs int
	elem *list.Element
	gone bool // evicted: close when the last user releases it
	// open: f was opened (under mu); keyLo and keyHi are its key range
	// (empty: it has no key), for lookups to skip it without using it.
	open         bool
	keyLo, keyHi parquetio.Key
	// checked is when a virtual file was last found unchanged.
	checked time.Time
}

// NewReader returns a Reader of the data files below prefix in st.
func NewReader(st store.Reader, prefix string, opts Options) *Reader {
	if opts.OpenFiles <= 0 {
		opts.OpenFiles = 4096
	}
	if opts.DVCacheBytes <= 0 {
		opts.DVCacheBytes = 64 << 20
	}
	r := &Reader{st: st, prefix: prefix, opts: opts, dvs: dv.NewCache(opts.DVCacheBytes), pages: opts.PageCache}
	if r.pages == nil {
		switch {
		case opts.PageCacheBytes == 0:
			r.pages = parquetio.NewPageCache(DefaultPageCacheBytes)
		case opts.PageCacheBytes > 0:
			r.pages = parquetio.NewPageCache(opts.PageCacheBytes)
		}
	}
	r.mu.files = map[fileKey]*fileEntry{}
	r.mu.lru = list.New()
	return r
}

// IndexStats returns how many data files scans read through their index
// files, and how many sources answered from their own indexes.
func (r *Reader) IndexStats() (files, sources int64) {
	return r.indexReads.Load(), r.sourceLookups.Load()
}

// PageCache is the cache of decoded pages the Reader's lookups read
// through, or nil when it has none.
func (r *Reader) PageCache() *parquetio.PageCache { return r.pages }

// Close closes the cached files. Scans must be closed first.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p, e := range r.mu.files {
		if e.f != nil {
			e.f.Close()
		}
		delete(r.mu.files, p)
	}
	r.mu.lru.Init()
	return nil
}

// file returns the open data file of a, opening it on first use;
// r.release(e) must be called when done with it.
func (r *Reader) file(ctx context.Context, a *txn.Add, schema *base.Schema) (*parquetio.File, *fileEntry, error) {
	return r.fileFor(ctx, a, schema, nil)
}

// fileFor is file, except that with a key it returns a nil File and entry
// when the file is open and its key range rules the key out (without
// counting it as a use).
func (r *Reader) fileFor(ctx context.Context, a *txn.Add, schema *base.Schema, key *parquetio.Key) (*parquetio.File, *fileEntry, error) {
	rel := a.Path
	// A file is read through the table's schema of the moment (columns
	// added since it was written show their defaults), so an open file is
	// cached per schema: the next column id and the number of columns
	// change with every ADD and DROP (renames do not matter, columns are
	// matched by id).
	ck := fileKey{path: rel}
	if schema != nil {
		ck.nextID, ck.ncols = schema.NextColumnID, len(schema.Columns)
	}
	if v := a.Virtual; v != nil {
		ck.virtual = fmt.Sprintf("%s/%d/%d/%d/%d", v.ETag, v.Size, v.LastModified, v.RowIDStart, v.Version)
	}
	r.mu.Lock()
	e := r.mu.files[ck]
	if key != nil && e != nil && e.open && (e.keyLo == "" || *key < e.keyLo || *key > e.keyHi) {
		r.mu.Unlock()
		return nil, nil, nil
	}
	if e == nil {
		e = &fileEntry{path: ck}
		r.mu.files[ck] = e
		e.elem = r.mu.lru.PushFront(e)
	} else {
		r.mu.lru.MoveToFront(e.elem)
	}
	e.refs++
	r.evictLocked()
	r.mu.Unlock()
	e.once.Do(func() {
		opts := parquetio.ReaderOptions{Schema: schema, Parallelism: r.opts.Parallelism, PageCache: r.pages, CacheChunks: !r.opts.NoChunkCache}
		if r.pages == nil {
			opts.PageCacheBytes = -1
		}
		if a.Virtual != nil {
			e.f, e.err = r.openVirtual(ctx, a, opts)
		} else {
			e.f, e.err = parquetio.OpenFile(ctx, r.st, path.Join(r.prefix, rel), opts)
		}
		if e.err == nil {
			lo, hi := e.f.KeyRange()
			r.mu.Lock()
			e.open, e.keyLo, e.keyHi = true, lo, hi
			r.mu.Unlock()
		}
	})
	if e.err != nil {
		r.release(e)
		r.mu.Lock()
		if r.mu.files[ck] == e { // do not cache failures
			delete(r.mu.files, ck)
			r.mu.lru.Remove(e.elem)
		}
		r.mu.Unlock()
		return nil, nil, e.err
	}
	if a.Virtual != nil {
		if err := r.recheck(ctx, a, e, VirtualRecheck); err != nil {
			r.release(e)
			return nil, nil, err
		}
	}
	return e.f, e, nil
}

// recheck checks that the virtual file of e is unchanged when it was
// opened or last checked maxAge ago or earlier.
func (r *Reader) recheck(ctx context.Context, a *txn.Add, e *fileEntry, maxAge time.Duration) error {
	now := time.Now()
	r.mu.Lock()
	first := e.checked.IsZero()
	fresh := !first && now.Sub(e.checked) < maxAge
	if first {
		e.checked = now // the open checked it
	}
	r.mu.Unlock()
	if first || fresh {
		return nil
	}
	if err := r.opts.Virtual.CheckVirtual(ctx, a); err != nil {
		return VirtualError(a, err)
	}
	r.mu.Lock()
	e.checked = now
	r.mu.Unlock()
	return nil
}

// release ends a use of the file of e (from file).
func (r *Reader) release(e *fileEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.refs--
	if e.gone && e.refs == 0 && e.f != nil {
		e.f.Close()
	}
}

func (r *Reader) evictLocked() {
	for r.mu.lru.Len() > r.opts.OpenFiles {
		e := r.mu.lru.Remove(r.mu.lru.Back()).(*fileEntry)
		delete(r.mu.files, e.path)
		e.gone = true
		if e.refs == 0 && e.f != nil {
			e.f.Close()
		}
	}
}

// deleted returns the rows of file a that are deleted (its deletion
// vector) or superseded by a source (their masks), or nil for none. The
// result may be shared: do not modify it.
func (r *Reader) deleted(ctx context.Context, a *txn.Add, sources []Source) (*roaring.Bitmap, error) {
	var out *roaring.Bitmap
	if a.DV != nil && a.DV.Cardinality > 0 {
		b, err := r.dvs.Load(ctx, r.st, r.prefix, a.DV)
		if err != nil {
			return nil, err
		}
		out = b
	}
	copied := false
	for _, s := range sources {
		m := s.Mask(a.Path)
		if m == nil || m.IsEmpty() {
			continue
		}
		if out == nil {
			out = m
			continue
		}
		if !copied {
			out = out.Clone()
			copied = true
		}
		out.Or(m)
	}
	return out, nil
}
