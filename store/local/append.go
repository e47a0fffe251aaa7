package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/lakesql/lakesql/store"
	"golang.org/x/sys/unix"
)

// Appendable objects. CreateAppendable writes the object's first bytes into
// a spare: a temporary file whose reserve bytes are already written (zeros)
// and synced, so that neither this write nor later appends change the
// file's size or allocation, and a data sync is all that makes them
// durable. The spare is then linked to the object's name (put-if-absent)
// and the directory synced. Each CreateAppendable starts preparing the next
// spare in the background, so that the next segment's creation does not
// wait for the zeros to be written.
//
// An append holds a shared flock on the file from before its check (Write)
// to the end of its data sync (Sync), and AppendBarrier takes the exclusive
// one: the write-ahead log's fencing (a new writer puts a fence object,
// then waits at the barrier, then reads) relies on it so that an append
// either saw the fence and wrote nothing or was durable before the reader
// read.
// flock works across the processes of one host, which a local disk is.

var _ store.Appender = (*Store)(nil)

// spares holds at most one prepared spare file.
type spares struct {
	mu     sync.Mutex
	ready  *os.File // a spare of size zero bytes, synced
	size   int64
	busy   bool // a goroutine is preparing one
	closed bool
}

// CreateAppendable implements store.Appender.
func (s *Store) CreateAppendable(ctx context.Context, name string, data []byte, reserve int64) (store.Appendable, error) {
	if err := store.ValidateName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.readOnly {
		return nil, s.errorf("create", name, errReadOnly)
	}
	reserve = max(reserve, int64(len(data)))
	f, err := s.takeSpare(reserve)
	if err != nil {
		return nil, s.errorf("create", name, err)
	}
	fail := func(err error) (store.Appendable, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, s.errorf("create", name, err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		return fail(err)
	}
	var id [8]byte
	rand.Read(id[:])
	if err := setETag(f, `"append-`+hex.EncodeToString(id[:])+`"`); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("fsync: %w", err))
	}
	target := s.path(name)
	if err := s.mkdirAll(filepath.Dir(target)); err != nil {
		return fail(err)
	}
	if err := s.linkIfAbsent(f.Name(), name, target); err != nil {
		if errors.Is(err, store.ErrPreconditionFailed) {
			f.Close()
			os.Remove(f.Name())
			return nil, err
		}
		return fail(err)
	}
	os.Remove(f.Name())
	if err := syncDir(filepath.Dir(target)); err != nil {
		f.Close()
		return nil, s.errorf("create", name, err)
	}
	return &appendFile{f: f, off: int64(len(data))}, nil
}

// takeSpare returns a spare of reserve bytes, prepared ahead or made now,
// and starts preparing the next one.
func (s *Store) takeSpare(reserve int64) (*os.File, error) {
	s.spares.mu.Lock()
	f, size := s.spares.ready, s.spares.size
	s.spares.ready = nil
	start := !s.spares.busy
	s.spares.busy = true
	s.spares.mu.Unlock()
	if start {
		go s.prepareSpare(reserve)
	}
	if f != nil && size == reserve {
		return f, nil
	}
	if f != nil {
		f.Close()
		os.Remove(f.Name())
	}
	return s.newSpare(reserve)
}

func (s *Store) prepareSpare(reserve int64) {
	f, err := s.newSpare(reserve)
	s.spares.mu.Lock()
	defer s.spares.mu.Unlock()
	s.spares.busy = false
	if err != nil {
		return // the next CreateAppendable makes one itself
	}
	if s.spares.closed {
		f.Close()
		os.Remove(f.Name())
		return
	}
	if old := s.spares.ready; old != nil {
		old.Close()
		os.Remove(old.Name())
	}
	s.spares.ready, s.spares.size = f, reserve
}

// newSpare writes a temporary file of size zero bytes and syncs it.
func (s *Store) newSpare(size int64) (*os.File, error) {
	f, err := os.CreateTemp(s.tmp, "spare-*")
	if err != nil {
		return nil, err
	}
	zeros := make([]byte, min(size, 1<<20))
	for off := int64(0); off < size; off += int64(len(zeros)) {
		if _, err := f.WriteAt(zeros[:min(int64(len(zeros)), size-off)], off); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("fsync: %w", err)
	}
	return f, nil
}

// closeSpares removes a prepared spare (Close).
func (s *Store) closeSpares() {
	s.spares.mu.Lock()
	defer s.spares.mu.Unlock()
	s.spares.closed = true
	if f := s.spares.ready; f != nil {
		f.Close()
		os.Remove(f.Name())
		s.spares.ready = nil
	}
}

// appendFile is an appendable object: its file, where the next append
// goes, and the append written and not yet synced.
type appendFile struct {
	f   *os.File
	off int64
	// held: a Write holds the shared lock (flock) until its Sync; werr is
	// its failure, which Sync returns.
	held bool
	werr error
	n    int64 // bytes written by the held Write
}

// Write holds a shared lock (flock) on the file from before its check to
// the end of the Sync after it; AppendBarrier takes the exclusive lock
// once. It starts the write-back of what it wrote (sync_file_range), so
// that the device works while the writer does and the Sync mostly waits
// for the device's cache flush.
func (a *appendFile) Write(p []byte, check func() error) error {
	if a.held {
		return errors.New("local: Write before the previous Sync")
	}
	fd := int(a.f.Fd())
	if err := flock(fd, unix.LOCK_SH); err != nil {
		return err
	}
	if err := check(); err != nil {
		flock(fd, unix.LOCK_UN)
		return err
	}
	a.held, a.n, a.werr = true, int64(len(p)), nil
	if _, err := a.f.WriteAt(p, a.off); err != nil {
		a.werr = err
		return err
	}
	// Only a hint: the Sync makes it durable whatever this does.
	_ = unix.SyncFileRange(fd, a.off, int64(len(p)), unix.SYNC_FILE_RANGE_WRITE)
	return nil
}

// Sync implements store.Appendable.
func (a *appendFile) Sync() error {
	if !a.held {
		return nil
	}
	fd := int(a.f.Fd())
	defer flock(fd, unix.LOCK_UN)
	a.held = false
	if a.werr != nil {
		return a.werr
	}
	if err := unix.Fdatasync(fd); err != nil {
		a.werr = fmt.Errorf("fdatasync: %w", err)
		return a.werr
	}
	a.off += a.n
	return nil
}

// AppendBarrier implements store.Appender.
func (s *Store) AppendBarrier(ctx context.Context, name string) error {
	if err := store.ValidateName(name); err != nil {
		return err
	}
	f, err := os.Open(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return s.errorf("append barrier", name, err)
	}
	defer f.Close()
	if err := flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return s.errorf("append barrier", name, err)
	}
	return flock(int(f.Fd()), unix.LOCK_UN)
}

// flock is unix.Flock, retried when a signal interrupts it.
func flock(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			if err != nil {
				return fmt.Errorf("flock: %w", err)
			}
			return nil
		}
	}
}

func (a *appendFile) Close() error { return a.f.Close() }
