package dv

import (
	"container/list"
	"context"
	"path"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/txn"
)

// Cache keeps recently loaded file vectors, keyed by (DV file, offset), within
// a byte budget (the vectors' encoded sizes), evicting the least recently
// used. Inline vectors are decoded on every Load: the log entry already holds
// them in memory. A Cache is safe for concurrent use.
//
// The bitmaps it returns are shared: callers must not modify them (Union and
// WithPositions return new bitmaps).
type Cache struct {
	budget int64
	mu     struct {
		sync.Mutex
		used    int64
		lru     *list.List // of *cacheEntry, most recent first
		entries map[cacheKey]*list.Element
		hits    int64
		misses  int64
	}
}

type cacheKey struct {
	path   string
	offset int64
}

type cacheEntry struct {
	key  cacheKey
	b    *roaring.Bitmap
	size int64
}

// NewCache returns a Cache holding at most budget bytes of encoded vectors.
func NewCache(budget int64) *Cache {
	c := &Cache{budget: budget}
	c.mu.lru = list.New()
	c.mu.entries = make(map[cacheKey]*list.Element)
	return c
}

// Load is the package's Load through the cache. Concurrent misses on one key
// may both read; the result is the same.
func (c *Cache) Load(ctx context.Context, st store.Reader, prefix string, d *txn.DeletionVector) (*roaring.Bitmap, error) {
	if d == nil || d.Path == "" {
		return Load(ctx, st, prefix, d)
	}
	key := cacheKey{path: path.Join(prefix, d.Path), offset: d.Offset}
	if b := c.get(key); b != nil {
		return b, nil
	}
	b, err := Load(ctx, st, prefix, d)
	if err != nil {
		return nil, err
	}
	c.put(key, b, d.Size)
	return b, nil
}

func (c *Cache) get(key cacheKey) *roaring.Bitmap {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.mu.entries[key]
	if !ok {
		c.mu.misses++
		return nil
	}
	c.mu.hits++
	c.mu.lru.MoveToFront(e)
	return e.Value.(*cacheEntry).b
}

func (c *Cache) put(key cacheKey, b *roaring.Bitmap, size int64) {
	if size > c.budget {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.mu.entries[key]; ok {
		return
	}
	c.mu.entries[key] = c.mu.lru.PushFront(&cacheEntry{key: key, b: b, size: size})
	c.mu.used += size
	for c.mu.used > c.budget {
		last := c.mu.lru.Back()
		e := last.Value.(*cacheEntry)
		c.mu.lru.Remove(last)
		delete(c.mu.entries, e.key)
		c.mu.used -= e.size
	}
}

// CacheStats describe a Cache's use.
type CacheStats struct {
	Entries      int
	Bytes        int64
	Hits, Misses int64
}

// Stats returns the cache's current statistics.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Entries: len(c.mu.entries), Bytes: c.mu.used, Hits: c.mu.hits, Misses: c.mu.misses}
}
