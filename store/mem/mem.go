// Package mem is an in-process object store for tests: objects live in a
// B-tree ordered by name, so List is ordered without sorting. It keeps the
// store contract exactly (atomic puts, IfAbsent, IfMatch, ETags that change
// with every content) so that code tested on it behaves the same on disk and
// on S3.
package mem

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync"
	"time"

	"github.com/google/btree"
	"github.com/lakesql/lakesql/store"
)

// Store is an in-memory store. It is safe for concurrent use.
type Store struct {
	name string
	mu   struct {
		sync.RWMutex
		objects *btree.BTreeG[*object]
		closed  bool
		now     func() time.Time
	}
}

// object is immutable once stored; a Put replaces the tree entry.
type object struct {
	info store.Info
	data []byte
}

var _ store.Store = (*Store)(nil)

// New returns an empty in-memory store.
func New() *Store { return NewNamed("") }

// NewNamed returns an empty in-memory store that String reports as
// mem://name.
func NewNamed(name string) *Store {
	s := &Store{name: name}
	s.mu.objects = btree.NewG(16, func(a, b *object) bool { return a.info.Name < b.info.Name })
	s.mu.now = time.Now
	return s
}

// SetClock makes the store stamp objects with now's time (tests that fake
// time).
func (s *Store) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.now = now
}

// String implements store.Store.
func (s *Store) String() string { return "mem://" + s.name }

// Close implements store.Store. Later operations fail.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.closed = true
	return nil
}

func (s *Store) get(ctx context.Context, name string) (*object, error) {
	if err := store.ValidateName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.mu.closed {
		return nil, errClosed(s)
	}
	o, ok := s.mu.objects.Get(&object{info: store.Info{Name: name}})
	if !ok {
		return nil, store.NotExist(s, name)
	}
	return o, nil
}

// Open implements store.Reader.
func (s *Store) Open(ctx context.Context, name string) (store.Object, error) {
	o, err := s.get(ctx, name)
	if err != nil {
		return nil, err
	}
	return &reader{Reader: bytes.NewReader(o.data), info: o.info}, nil
}

// Stat implements store.Reader.
func (s *Store) Stat(ctx context.Context, name string) (store.Info, error) {
	o, err := s.get(ctx, name)
	if err != nil {
		return store.Info{}, err
	}
	return o.info, nil
}

// List implements store.Reader. It yields a consistent view: the objects as
// they were when the listing began.
func (s *Store) List(ctx context.Context, prefix, startAfter string) iter.Seq2[store.Info, error] {
	return func(yield func(store.Info, error) bool) {
		if err := store.ValidatePrefix(prefix); err != nil {
			yield(store.Info{}, err)
			return
		}
		// Clone marks the tree copy-on-write: it writes, so it needs the
		// write lock.
		s.mu.Lock()
		if s.mu.closed {
			s.mu.Unlock()
			yield(store.Info{}, errClosed(s))
			return
		}
		snapshot := s.mu.objects.Clone()
		s.mu.Unlock()
		from := prefix
		if startAfter >= from {
			from = startAfter + "\x00"
		}
		var err error
		snapshot.AscendGreaterOrEqual(&object{info: store.Info{Name: from}}, func(o *object) bool {
			if !strings.HasPrefix(o.info.Name, prefix) {
				return false
			}
			if err = ctx.Err(); err != nil {
				return false
			}
			return yield(o.info, nil)
		})
		if err != nil {
			yield(store.Info{}, err)
		}
	}
}

// Put implements store.Writer.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, opts ...store.PutOption) (store.Info, error) {
	if err := store.ValidateName(name); err != nil {
		return store.Info{}, err
	}
	o, err := store.ApplyPutOptions(opts)
	if err != nil {
		return store.Info{}, err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return store.Info{}, fmt.Errorf("%s: put %s: reading the body: %w", s, name, err)
	}
	if err := ctx.Err(); err != nil {
		return store.Info{}, err
	}
	sum := md5.Sum(data)
	obj := &object{data: data, info: store.Info{
		Name: name,
		Size: int64(len(data)),
		ETag: `"` + hex.EncodeToString(sum[:]) + `"`,
	}}
	s.mu.Lock()
	defer s.mu.Unlock()
	obj.info.LastModified = s.mu.now()
	if s.mu.closed {
		return store.Info{}, errClosed(s)
	}
	old, exists := s.mu.objects.Get(obj)
	switch {
	case o.IfAbsent && exists:
		return store.Info{}, store.PreconditionFailed(s, name, "object exists")
	case o.IfMatch != "" && !exists:
		return store.Info{}, store.PreconditionFailed(s, name, "object does not exist")
	case o.IfMatch != "" && old.info.ETag != o.IfMatch:
		return store.Info{}, store.PreconditionFailed(s, name, "etag does not match")
	}
	s.mu.objects.ReplaceOrInsert(obj)
	return obj.info, nil
}

// Delete implements store.Writer.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := store.ValidateName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return errClosed(s)
	}
	s.mu.objects.Delete(&object{info: store.Info{Name: name}})
	return nil
}

type reader struct {
	*bytes.Reader
	info store.Info
}

func (r *reader) Size() int64      { return r.info.Size }
func (r *reader) Info() store.Info { return r.info }
func (r *reader) Close() error     { return nil }

func errClosed(s *Store) error { return fmt.Errorf("%s: store is closed", s) }
