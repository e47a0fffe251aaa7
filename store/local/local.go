package local

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lakesql/lakesql/store"
	"golang.org/x/sys/unix"
)

// tmpDir is the root-relative folder that holds files being written. Its name
// begins with the reserved prefix, so it can never collide with an object.
const tmpDir = ".lakesql-tmp"

// etagXattr is the extended attribute that keeps an object's ETag (the MD5 of
// its content, computed while it was written).
const etagXattr = "user.lakesql.etag"

// staleTemp is how old a leftover temporary file must be before Open removes
// it: a crashed writer leaves its temporary file behind.
const staleTemp = time.Hour

// Store is a store in a local directory. It is safe for concurrent use, by
// goroutines and by processes sharing the directory.
type Store struct {
	root     string // absolute, cleaned OS path
	tmp      string // root/tmpDir
	readOnly bool   // OpenReadOnly: Put and Delete fail
	spares   spares // for CreateAppendable (append.go)
}

var (
	_ store.Store         = (*Store)(nil)
	_ store.CheckedOpener = (*Store)(nil)
)

// Open opens (creating it when missing) the store rooted at dir. It removes
// temporary files that crashed writers left behind more than an hour ago.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("local store: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	s := &Store{root: abs, tmp: filepath.Join(abs, tmpDir)}
	if err := os.MkdirAll(s.tmp, 0o755); err != nil {
		return nil, fmt.Errorf("local store %s: %w", abs, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("local store %s: not a directory", abs)
	}
	s.removeStaleTemps()
	return s, nil
}

// OpenReadOnly opens the existing directory dir as a store that only reads:
// for files lakesql does not own (an external container). It creates and
// removes nothing, not even the temporary folder Open keeps, and its Put and
// Delete fail.
func OpenReadOnly(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("local store: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("local store %s: %w", abs, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("local store %s: not a directory", abs)
	}
	return &Store{root: abs, tmp: filepath.Join(abs, tmpDir), readOnly: true}, nil
}

// errReadOnly is the cause of a write to a store opened by OpenReadOnly.
var errReadOnly = errors.New("the store is read-only")

// Root returns the store's directory.
func (s *Store) Root() string { return s.root }

// String implements store.Store.
func (s *Store) String() string { return "file://" + filepath.ToSlash(s.root) }

// Close implements store.Store.
func (s *Store) Close() error {
	s.closeSpares()
	return nil
}

func (s *Store) removeStaleTemps() {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || time.Since(fi.ModTime()) < staleTemp {
			continue
		}
		if err := os.Remove(filepath.Join(s.tmp, e.Name())); err == nil {
			slog.Debug("local store: removed a stale temporary file", "store", s.String(), "file", e.Name())
		}
	}
}

// path maps a validated object name to its file.
func (s *Store) path(name string) string {
	return filepath.Join(s.root, filepath.FromSlash(name))
}

func (s *Store) errorf(op, name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return store.NotExist(s, name)
	}
	return fmt.Errorf("%s: %s %s: %w", s, op, name, err)
}

// openFile validates name and opens its file for reading.
func (s *Store) openFile(ctx context.Context, name string) (*os.File, error) {
	if err := store.ValidateName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(name))
	if err != nil {
		return nil, s.errorf("open", name, err)
	}
	return f, nil
}

// Open implements store.Reader.
func (s *Store) Open(ctx context.Context, name string) (store.Object, error) {
	f, err := s.openFile(ctx, name)
	if err != nil {
		return nil, err
	}
	info, err := fileInfo(f, name)
	if err != nil {
		f.Close()
		return nil, s.errorf("open", name, err)
	}
	return &object{f: f, info: info}, nil
}

// OpenExpect implements store.CheckedOpener. It opens the file and compares
// its size and modification time (fstat) with exp before anything else, then
// its ETag when exp has one (read from the extended attribute, or computed
// from the content as Open does). A file can be rewritten in place while it
// is open, so every ReadAt of the returned object fstats the file after
// reading and fails with store.ErrChanged when its size or modification time
// is no longer what they were at the open. A file replaced by a rename after
// the open goes on serving the opened inode's bytes, which are the expected
// ones.
func (s *Store) OpenExpect(ctx context.Context, name string, exp store.Expect) (store.Object, error) {
	f, err := s.openFile(ctx, name)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (store.Object, error) {
		f.Close()
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(s.errorf("open", name, err))
	}
	// Size and time first: a changed file fails without being hashed.
	quick := exp
	quick.ETag = ""
	if why := quick.Mismatch(store.Info{Size: fi.Size(), LastModified: fi.ModTime()}); why != "" {
		return fail(store.Changed(s, name, why))
	}
	info, err := fileInfo(f, name)
	if err != nil {
		return fail(s.errorf("open", name, err))
	}
	if why := exp.Mismatch(info); why != "" {
		return fail(store.Changed(s, name, why))
	}
	return &checkedObject{object: object{f: f, info: info}, s: s}, nil
}

// Stat implements store.Reader.
func (s *Store) Stat(ctx context.Context, name string) (store.Info, error) {
	if err := store.ValidateName(name); err != nil {
		return store.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Info{}, err
	}
	f, err := os.Open(s.path(name))
	if err != nil {
		return store.Info{}, s.errorf("stat", name, err)
	}
	defer f.Close()
	info, err := fileInfo(f, name)
	if err != nil {
		return store.Info{}, s.errorf("stat", name, err)
	}
	return info, nil
}

// fileInfo describes an open object file, reading its ETag from the extended
// attribute, or computing it from the content when the attribute is missing
// (a file system without extended attributes, or a file not written by Put).
func fileInfo(f *os.File, name string) (store.Info, error) {
	fi, err := f.Stat()
	if err != nil {
		return store.Info{}, err
	}
	if !fi.Mode().IsRegular() {
		return store.Info{}, fmt.Errorf("not a regular file")
	}
	info := store.Info{Name: name, Size: fi.Size(), LastModified: fi.ModTime()}
	buf := make([]byte, 64)
	if n, err := unix.Fgetxattr(int(f.Fd()), etagXattr, buf); err == nil && n > 0 {
		info.ETag = string(buf[:n])
		return info, nil
	}
	h := md5.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, fi.Size())); err != nil {
		return store.Info{}, err
	}
	info.ETag = etagOf(h)
	return info, nil
}

func etagOf(h hash.Hash) string { return `"` + hex.EncodeToString(h.Sum(nil)) + `"` }

// List implements store.Reader. It walks the directories below the prefix in
// an order that yields names lexically sorted: within a directory, entries are
// ordered by their name with a slash appended to subdirectories, so a
// subdirectory's objects come exactly where their names sort.
func (s *Store) List(ctx context.Context, prefix, startAfter string) iter.Seq2[store.Info, error] {
	return func(yield func(store.Info, error) bool) {
		if err := store.ValidatePrefix(prefix); err != nil {
			yield(store.Info{}, err)
			return
		}
		dir := prefix[:strings.LastIndexByte(prefix, '/')+1]
		if _, err := s.walk(ctx, dir, prefix, startAfter, yield); err != nil {
			yield(store.Info{}, err)
		}
	}
}

// walk lists the directory rel ("" or ending in a slash). It returns false
// when the consumer stopped the listing.
func (s *Store) walk(ctx context.Context, rel, prefix, startAfter string, yield func(store.Info, error) bool) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	entries, err := os.ReadDir(filepath.Join(s.root, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: list %q: %w", s, prefix, err)
	}
	type entry struct {
		key string // name, with a slash appended for a directory
		e   fs.DirEntry
	}
	keyed := make([]entry, 0, len(entries))
	for _, e := range entries {
		switch {
		case rel == "" && e.Name() == tmpDir:
		case e.IsDir():
			keyed = append(keyed, entry{e.Name() + "/", e})
		case e.Type().IsRegular():
			keyed = append(keyed, entry{e.Name(), e})
		}
	}
	slices.SortFunc(keyed, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	for _, k := range keyed {
		full := rel + k.key
		if k.e.IsDir() {
			if !strings.HasPrefix(full, prefix) && !strings.HasPrefix(prefix, full) {
				continue
			}
			if full < startAfter && !strings.HasPrefix(startAfter, full) {
				continue // every name below sorts before startAfter
			}
			if more, err := s.walk(ctx, full, prefix, startAfter, yield); !more || err != nil {
				return more, err
			}
			continue
		}
		if !strings.HasPrefix(full, prefix) || full <= startAfter {
			continue
		}
		fi, err := k.e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted while listing
		}
		if err != nil {
			return false, fmt.Errorf("%s: list %q: %w", s, prefix, err)
		}
		info := store.Info{Name: full, Size: fi.Size(), LastModified: fi.ModTime()}
		buf := make([]byte, 64)
		if n, err := unix.Getxattr(s.path(full), etagXattr, buf); err == nil && n > 0 {
			info.ETag = string(buf[:n])
		}
		if !yield(info, nil) {
			return false, nil
		}
	}
	return true, nil
}

// Put implements store.Writer. The content goes to a temporary file that is
// fsynced and then moved into place: with IfAbsent by link(2), which fails
// when the name exists, atomically across processes; otherwise by rename(2)
// under an exclusive flock(2) of the file being replaced, which IfMatch and
// Delete take too, so a compare-and-swap is atomic across processes. The
// directory is fsynced after every change of its entries.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, opts ...store.PutOption) (store.Info, error) {
	if err := store.ValidateName(name); err != nil {
		return store.Info{}, err
	}
	o, err := store.ApplyPutOptions(opts)
	if err != nil {
		return store.Info{}, err
	}
	if s.readOnly {
		return store.Info{}, s.errorf("put", name, errReadOnly)
	}
	tmp, info, err := s.writeTemp(ctx, name, r)
	if err != nil {
		return store.Info{}, err
	}
	defer os.Remove(tmp) // after a link, or after a failure
	target := s.path(name)
	if err := s.mkdirAll(filepath.Dir(target)); err != nil {
		return store.Info{}, s.errorf("put", name, err)
	}
	if o.IfAbsent {
		if err := s.linkIfAbsent(tmp, name, target); err != nil {
			if errors.Is(err, store.ErrPreconditionFailed) {
				return store.Info{}, err
			}
			return store.Info{}, s.errorf("put", name, err)
		}
	} else {
		held, err := lockCurrent(target)
		if err != nil {
			return store.Info{}, s.errorf("put", name, err)
		}
		if o.IfMatch != "" {
			err = s.checkMatch(held, name, o.IfMatch)
		}
		if err == nil {
			err = os.Rename(tmp, target)
		}
		if held != nil {
			held.Close() // releases the lock
		}
		if err != nil {
			if errors.Is(err, store.ErrPreconditionFailed) {
				return store.Info{}, err
			}
			return store.Info{}, s.errorf("put", name, err)
		}
	}
	if err := syncDir(filepath.Dir(target)); err != nil {
		return store.Info{}, s.errorf("put", name, err)
	}
	return info, nil
}

// linkIfAbsent links the file tmp to target, the path of name, when
// nothing is there (ErrPreconditionFailed otherwise).
func (s *Store) linkIfAbsent(tmp, name, target string) error {
	err := os.Link(tmp, target)
	if errors.Is(err, fs.ErrExist) && sameFile(tmp, target) {
		// The link was made but reported as failed (as on some network
		// file systems when a reply is lost): the object is ours.
		err = nil
	}
	if errors.Is(err, fs.ErrExist) {
		return store.PreconditionFailed(s, name, "object exists")
	}
	return err
}

// setETag records an object's ETag with its file, where the file system
// keeps extended attributes (elsewhere the ETag is derived from the file).
func setETag(f *os.File, etag string) error {
	err := unix.Fsetxattr(int(f.Fd()), etagXattr, []byte(etag), 0)
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
		return nil
	}
	return err
}

func (s *Store) checkMatch(held *os.File, name, etag string) error {
	if held == nil {
		return store.PreconditionFailed(s, name, "object does not exist")
	}
	cur, err := fileInfo(held, name)
	if err != nil {
		return err
	}
	if cur.ETag != etag {
		return store.PreconditionFailed(s, name, "etag does not match")
	}
	return nil
}

// writeTemp writes r to a new temporary file, fsyncs it and records its ETag.
func (s *Store) writeTemp(ctx context.Context, name string, r io.Reader) (string, store.Info, error) {
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return "", store.Info{}, s.errorf("put", name, err)
	}
	fail := func(err error) (string, store.Info, error) {
		f.Close()
		os.Remove(f.Name())
		return "", store.Info{}, s.errorf("put", name, err)
	}
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
	if err != nil {
		return fail(err)
	}
	etag := etagOf(h)
	if err := setETag(f, etag); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("fsync: %w", err))
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	return f.Name(), store.Info{Name: name, Size: n, ETag: etag, LastModified: fi.ModTime()}, nil
}

// Delete implements store.Writer.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := store.ValidateName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.readOnly {
		return s.errorf("delete", name, errReadOnly)
	}
	target := s.path(name)
	held, err := lockCurrent(target)
	if err != nil {
		return s.errorf("delete", name, err)
	}
	if held == nil {
		return nil
	}
	err = os.Remove(target)
	held.Close()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return s.errorf("delete", name, err)
	}
	if err := syncDir(filepath.Dir(target)); err != nil {
		return s.errorf("delete", name, err)
	}
	return nil
}

// mkdirAll creates dir and its missing parents inside the root, fsyncing the
// parent of every directory it creates so that the new entries are durable.
func (s *Store) mkdirAll(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is a file, not a directory", dir)
		}
		return nil
	}
	if dir == s.root || !strings.HasPrefix(dir, s.root) {
		return fmt.Errorf("directory %s is missing", dir)
	}
	parent := filepath.Dir(dir)
	if err := s.mkdirAll(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// lockCurrent opens the file at p and takes an exclusive flock on it,
// retrying until the locked file is still the one at p (a concurrent rename
// may have replaced it meanwhile). It returns nil when p does not exist.
func lockCurrent(p string) (*os.File, error) {
	for {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if err := flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			return nil, err
		}
		locked, err1 := f.Stat()
		current, err2 := os.Stat(p)
		if err1 == nil && err2 == nil && os.SameFile(locked, current) {
			return f, nil
		}
		f.Close()
		if err1 != nil {
			return nil, err1
		}
		if err2 != nil && !errors.Is(err2, fs.ErrNotExist) {
			return nil, err2
		}
	}
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// syncDir fsyncs a directory so that changes of its entries are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync of directory %s: %w", dir, err)
	}
	return nil
}

type object struct {
	f    *os.File
	info store.Info
}

func (o *object) ReadAt(p []byte, off int64) (int, error) { return o.f.ReadAt(p, off) }
func (o *object) Size() int64                             { return o.info.Size }
func (o *object) Info() store.Info                        { return o.info }
func (o *object) Close() error                            { return o.f.Close() }

// checkedObject is an object opened by OpenExpect: each read checks that the
// file was not changed in place since the open.
type checkedObject struct {
	object
	s *Store
}

// ReadAt reads like the plain object, then fstats the file: a size or
// modification time other than at the open means the bytes may come from
// another content, and the read fails with store.ErrChanged.
func (o *checkedObject) ReadAt(p []byte, off int64) (int, error) {
	n, err := o.f.ReadAt(p, off)
	fi, serr := o.f.Stat()
	if serr != nil {
		return 0, o.s.errorf("read", o.info.Name, serr)
	}
	if fi.Size() != o.info.Size || !fi.ModTime().Equal(o.info.LastModified) {
		return 0, store.Changed(o.s, o.info.Name, fmt.Sprintf("changed in place since it was opened: size %d, now %d; modification time %s, now %s",
			o.info.Size, fi.Size(), o.info.LastModified.UTC().Format(time.RFC3339Nano), fi.ModTime().UTC().Format(time.RFC3339Nano)))
	}
	return n, err
}

// ctxReader stops a copy when its context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
