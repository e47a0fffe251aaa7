package scan

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/parquetio"
)

// Location is where a key's live row is: a file and position, or a source.
type Location struct {
	// File is the index of the file in Table.Files, or -1 for a source.
	File int
	// Path is the file's path (empty for a source).
	Path     string
	Position int64
	// Source is the index of the source in Table.Sources (-1 for a file).
	Source int
}

// Lookup finds the live row of key in t: first in the sources (a delete
// marker there means the key is deleted), then in the files whose key range
// and bloom filters may hold it, skipping deleted and masked positions.
// With DESIGN.md's deletion vectors at most one live row exists. It returns
// a one-row record of columns (the caller releases it) and its location, or
// found=false.
func (r *Reader) Lookup(ctx context.Context, t *Table, key parquetio.Key, columns []int, alloc memory.Allocator) (rec arrow.Record, loc Location, found bool, err error) {
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	return lookupIn(ctx, r, t, key, columns, alloc,
		func(rec arrow.Record) (arrow.Record, error) { return rec, nil },
		func(f *parquetio.File, pos int64) (arrow.Record, error) {
			return f.ReadRows(ctx, []int64{pos}, columns, alloc)
		})
}

// LookupRow is Lookup that returns the row as parquetio.ArrayValue's Go
// values; a row in a file is read straight from the cached pages
// (parquetio.File.ReadRowValues), without building a record.
func (r *Reader) LookupRow(ctx context.Context, t *Table, key parquetio.Key, columns []int) (row []any, loc Location, found bool, err error) {
	return lookupIn(ctx, r, t, key, columns, memory.DefaultAllocator,
		func(rec arrow.Record) ([]any, error) {
			defer rec.Release()
			return parquetio.RecordRow(rec, 0)
		},
		func(f *parquetio.File, pos int64) ([]any, error) {
			return f.ReadRowValues(ctx, pos, columns)
		})
}

// lookupIn is Lookup's walk: fromSource turns a source's one-row record
// into the answer (it owns the record), and fromFile reads the row at a
// file position.
func lookupIn[T any](ctx context.Context, r *Reader, t *Table, key parquetio.Key, columns []int, alloc memory.Allocator,
	fromSource func(arrow.Record) (T, error), fromFile func(*parquetio.File, int64) (T, error)) (out T, loc Location, found bool, err error) {
	for i, s := range t.Sources {
		rec, deleted, ok, err := s.Get(ctx, key, columns, alloc)
		if err != nil {
			return out, Location{}, false, err
		}
		if !ok {
			continue
		}
		if deleted {
			return out, Location{}, false, nil
		}
		out, err = fromSource(rec)
		return out, Location{File: -1, Source: i, Position: -1}, err == nil, err
	}
	for i, a := range t.Files {
		if a.LiveRows() == 0 {
			continue
		}
		f, e, err := r.fileFor(ctx, a, t.Schema, &key)
		if err != nil {
			return out, Location{}, false, err
		}
		if f == nil { // its key range rules the key out
			continue
		}
		pos, ok, err := r.findLive(ctx, t, i, f, key)
		if err == nil && ok {
			out, err = fromFile(f, pos)
		}
		r.release(e)
		if err != nil || ok {
			return out, Location{File: i, Path: a.Path, Position: pos, Source: -1}, ok && err == nil, fileError(a, err)
		}
	}
	return out, Location{}, false, nil
}

// LocateAll finds where the live rows of keys are in t's files (under
// their deletion vectors and the sources' masks; the sources' own rows are
// not asked): what a writer needs to mask, without reading the rows. It
// serves a writer's whole batch at once: each file is opened once, and the
// keys inside its key range and not found yet are looked up in it in key
// order, in batches (parquetio.File.FindKeys); a file's deletion vector is
// read only when a key is in it. found[i] reports whether keys[i] has a
// live row, at locs[i].
func (r *Reader) LocateAll(ctx context.Context, t *Table, keys []parquetio.Key) (locs []Location, found []bool, err error) {
	locs = make([]Location, len(keys))
	found = make([]bool, len(keys))
	order := keyOrder(keys)
	left := len(keys)
	var (
		sub []parquetio.Key // the keys looked up in one file
		at  []int           // their indexes in keys
		pos []int64
		ok  []bool
	)
	for i, a := range t.Files {
		if left == 0 {
			break
		}
		if a.LiveRows() == 0 {
			continue
		}
		f, e, err := r.fileFor(ctx, a, t.Schema, nil)
		if err != nil {
			return nil, nil, err
		}
		lo, hi := f.KeyRange()
		if lo == "" {
			r.release(e)
			continue
		}
		// The keys inside [lo, hi] not found yet: part of a run of order.
		from, _ := slices.BinarySearchFunc(order, lo, func(j int, k parquetio.Key) int { return strings.Compare(string(keys[j]), string(k)) })
		sub, at = sub[:0], at[:0]
		for _, j := range order[from:] {
			if keys[j] > hi {
				break
			}
			if !found[j] {
				sub, at = append(sub, keys[j]), append(at, j)
			}
		}
		pos, ok = slices.Grow(pos[:0], len(sub))[:len(sub)], slices.Grow(ok[:0], len(sub))[:len(sub)]
		// FindKeys checks the bloom filters itself until the file's key
		// index is loaded, and then searches the index alone.
		if err := f.FindKeys(ctx, sub, pos, ok); err != nil {
			r.release(e)
			return nil, nil, fileError(a, fmt.Errorf("scan: finding a key in %s: %w", a.Path, err))
		}
		var deleted *roaring.Bitmap
		dvRead := false
		for n, j := range at {
			if !ok[n] {
				continue
			}
			if !dvRead {
				if deleted, err = r.deleted(ctx, a, t.Sources); err != nil {
					r.release(e)
					return nil, nil, err
				}
				dvRead = true
			}
			if deleted != nil && deleted.Contains(uint32(pos[n])) {
				continue
			}
			locs[j] = Location{File: i, Path: a.Path, Position: pos[n], Source: -1}
			found[j] = true
			left--
		}
		r.release(e)
	}
	return locs, found, nil
}

// findLive finds key in file i of t (open as f) and reports its position
// when the row there is live.
func (r *Reader) findLive(ctx context.Context, t *Table, i int, f *parquetio.File, key parquetio.Key) (int64, bool, error) {
	a := t.Files[i]
	pos, ok, err := f.FindKey(ctx, key)
	if err != nil {
		return 0, false, fmt.Errorf("scan: finding a key in %s: %w", a.Path, err)
	}
	if !ok {
		return 0, false, nil
	}
	deleted, err := r.deleted(ctx, a, t.Sources)
	if err != nil {
		return 0, false, err
	}
	if deleted != nil && deleted.Contains(uint32(pos)) {
		return 0, false, nil
	}
	return pos, true, nil
}

// Count is the exact number of live rows of t: each file's rows minus its
// deleted and masked ones, plus the sources' rows.
func (r *Reader) Count(ctx context.Context, t *Table) (int64, error) {
	var n int64
	for _, a := range t.Files {
		deleted, err := r.deleted(ctx, a, t.Sources)
		if err != nil {
			return 0, err
		}
		n += a.Rows
		if deleted != nil {
			n -= int64(deleted.GetCardinality())
		}
	}
	for _, s := range t.Sources {
		n += s.LiveRows()
	}
	return n, nil
}

// keyOrder returns the indexes of keys in key order. Keys of 8 bytes (a
// BIGINT key) are sorted as numbers, which is several times faster than
// comparing strings.
func keyOrder(keys []parquetio.Key) []int {
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	for _, k := range keys {
		if len(k) != 8 {
			slices.SortFunc(order, func(a, b int) int { return strings.Compare(string(keys[a]), string(keys[b])) })
			return order
		}
	}
	type word struct {
		w uint64 // the key as a big-endian number: in key order
		i int
	}
	words := make([]word, len(keys))
	for i, k := range keys {
		words[i] = word{binary.BigEndian.Uint64([]byte(k)), i}
	}
	if len(words) < 256 {
		slices.SortFunc(words, func(a, b word) int { return cmp.Compare(a.w, b.w) })
	} else {
		// A radix sort, a byte at a time from the lowest, skipping the
		// bytes every key shares (the high ones of ids): a few linear
		// passes instead of n log n compare calls.
		var counts [8][256]int // of each byte's values, in one pass
		for _, x := range words {
			for d := range counts {
				counts[d][byte(x.w>>(8*d))]++
			}
		}
		tmp := make([]word, len(words))
		for d := range counts {
			at := &counts[d]
			shift := 8 * d
			if at[byte(words[0].w>>shift)] == len(words) {
				continue
			}
			sum := 0
			for b, n := range at {
				at[b], sum = sum, sum+n
			}
			for _, x := range words {
				b := byte(x.w >> shift)
				tmp[at[b]] = x
				at[b]++
			}
			words, tmp = tmp, words
		}
	}
	for j := range words {
		order[j] = words[j].i
	}
	return order
}
