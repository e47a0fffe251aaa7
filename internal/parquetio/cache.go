package parquetio

import (
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
)

// DefaultPageCacheBytes is the default budget of a File's own cache of
// decoded pages (ReaderOptions.PageCacheBytes), used when no shared
// PageCache is given.
const DefaultPageCacheBytes = 64 << 20

// fileIDs numbers the Files opened by this process; a File's pages are
// cached under its number, so Files never share entries, even when they
// are two opens of one object.
var fileIDs atomic.Uint64

// pageKey names one data page: file, row group, Parquet leaf, page of the
// offset index.
type pageKey struct {
	file           uint64
	rg, leaf, page int32
}

// pageEntry is a whole data page decoded into an Arrow array (Go memory,
// never released: dropped from the cache it is garbage collected, so a
// reader still holding it, or a slice of it, is safe), in the cache's
// intrusive LRU list.
type pageEntry struct {
	key        pageKey
	arr        arrow.Array
	size       int64
	prev, next *pageEntry
}

// PageCache is a cache of decoded data pages, least recently used first
// out, bounded by bytes, which any number of Files may share
// (ReaderOptions.PageCache): point lookups (ReadRows of a few positions)
// read their pages through it. Entries are keyed by the File (each open of
// an object is its own), the column chunk and the page. It is safe for
// concurrent use; a hit costs a map lookup and a list move under one mutex.
type PageCache struct {
	mu     sync.Mutex
	budget int64
	used   int64
	m      map[pageKey]*pageEntry
	lru    pageEntry // sentinel: lru.next is the most recent, lru.prev the least

	hits, misses, evictions atomic.Int64
}

// NewPageCache returns a cache holding up to budget bytes of decoded pages
// (the pages' Arrow buffers plus a little bookkeeping each). A page larger
// than the budget is not cached.
func NewPageCache(budget int64) *PageCache {
	c := &PageCache{budget: max(budget, 0), m: map[pageKey]*pageEntry{}}
	c.lru.next, c.lru.prev = &c.lru, &c.lru
	return c
}

// PageCacheStats are a PageCache's counters and occupancy.
type PageCacheStats struct {
	// Hits and Misses count lookups; a miss is followed by a read and
	// decode of the page.
	Hits, Misses int64
	// Evictions counts pages dropped to make room.
	Evictions int64
	// Pages and Bytes are what the cache holds now; Budget its bound.
	Pages         int
	Bytes, Budget int64
}

// Stats returns the cache's counters and occupancy (zero for a nil
// cache).
func (c *PageCache) Stats() PageCacheStats {
	if c == nil {
		return PageCacheStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return PageCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load(),
		Pages: len(c.m), Bytes: c.used, Budget: c.budget}
}

func (c *PageCache) unlink(e *pageEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
}

func (c *PageCache) pushFront(e *pageEntry) {
	e.prev, e.next = &c.lru, c.lru.next
	c.lru.next.prev = e
	c.lru.next = e
}

// get returns the cached page k, or nil.
func (c *PageCache) get(k pageKey) arrow.Array {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	e := c.m[k]
	if e == nil {
		c.mu.Unlock()
		c.misses.Add(1)
		return nil
	}
	if c.lru.next != e {
		c.unlink(e)
		c.pushFront(e)
	}
	arr := e.arr
	c.mu.Unlock()
	c.hits.Add(1)
	return arr
}

// keep caches arr under k, as put does, and reports whether the returned
// array is held by the cache (false: arr was larger than the budget, and
// is returned as it is).
func (c *PageCache) keep(k pageKey, arr arrow.Array) (arrow.Array, bool) {
	got := c.put(k, arr)
	if got != arr {
		return got, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[k]
	return arr, e != nil && e.arr == arr
}

// peek returns the cached entry k, or nil, as get does but without
// counting a miss: for entries that are only sometimes there (whole
// column chunks that scans cached, which point reads use when present).
func (c *PageCache) peek(k pageKey) arrow.Array {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	e := c.m[k]
	if e == nil {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	return c.get(k)
}

// arraySize is the bytes an array's buffers hold, children and
// dictionary included.
func arraySize(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, ch := range d.Children() {
		n += arraySize(ch)
	}
	if d.DataType().ID() == arrow.DICTIONARY {
		n += arraySize(d.Dictionary())
	}
	return n
}

// pageOverhead is the bookkeeping counted per cached page: the entry, the
// map slot and the array's Go objects.
const pageOverhead = 256

// put caches arr under k (unless it is larger than the budget) and returns
// the cached array of k: arr, or the one another goroutine cached first.
func (c *PageCache) put(k pageKey, arr arrow.Array) arrow.Array {
	if c == nil {
		return arr
	}
	size := arraySize(arr.Data()) + pageOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[k]; e != nil { // decoded concurrently
		if c.lru.next != e {
			c.unlink(e)
			c.pushFront(e)
		}
		return e.arr
	}
	if size > c.budget {
		return arr
	}
	for c.used+size > c.budget {
		old := c.lru.prev
		c.unlink(old)
		delete(c.m, old.key)
		c.used -= old.size
		c.evictions.Add(1)
	}
	e := &pageEntry{key: k, arr: arr, size: size}
	c.pushFront(e)
	c.m[k] = e
	c.used += size
	return arr
}
