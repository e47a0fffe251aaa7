package lease

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
)

// Errors of a lease, matched with errors.Is; ErrHeld and ErrLost come as
// *HeldError and *LostError, which carry the data.
var (
	// ErrHeld matches the *HeldError of Acquire when another process holds
	// the lease and it has not expired.
	ErrHeld = errors.New("lease: held by another writer")
	// ErrLost matches the *LostError of a Held that is no longer the
	// holder: taken over, or not renewed before its expiry.
	ErrLost = errors.New("lease: lost")
	// ErrReleased is Held.Err after Release.
	ErrReleased = errors.New("lease: released")
)

// Holder names the process holding a lease.
type Holder struct {
	// Host is the host name.
	Host string `json:"host"`
	// PID is the process id on that host.
	PID int `json:"pid"`
	// BootID is /proc/sys/kernel/random/boot_id, empty where unknown: a
	// pid means something only within one boot.
	BootID string `json:"boot_id,omitempty"`
	// PIDNamespace is the process's pid namespace (the /proc/self/ns/pid
	// link): containers on one host share the boot id, not the pid space.
	PIDNamespace string `json:"pid_ns,omitempty"`
	// Start is when the process started, for people to read.
	Start time.Time `json:"start,omitzero"`
	// StartTicks is the process start in clock ticks after boot
	// (/proc/<pid>/stat field 22), what the pid-reuse check compares; 0
	// where unknown.
	StartTicks uint64 `json:"start_ticks,omitempty"`
	// ID is drawn at random for each acquirer and tells holders apart.
	ID string `json:"id"`
}

// String names the holder the way an error message to a user does.
func (h Holder) String() string {
	return fmt.Sprintf("host %s pid %d", h.Host, h.PID)
}

// sameHost reports whether b runs on a's host, in a's boot and pid
// namespace, so that b's pid can be looked up there.
func sameHost(a, b Holder) bool {
	return a.Host == b.Host && a.BootID != "" && a.BootID == b.BootID && a.PIDNamespace == b.PIDNamespace
}

// newID returns a random holder id.
func newID() string { return rand.Text() }

// Lease is the content of a lease object.
type Lease struct {
	// Holder is the process holding (or last holding) the lease.
	Holder Holder
	// Epoch is the holder's writer epoch, from 1.
	Epoch int64
	// Expiry is when the lease ends, by the store's clock. The zero time
	// means released.
	Expiry time.Time
}

// Released reports whether the holder released the lease.
func (l Lease) Released() bool { return l.Expiry.IsZero() }

// version is the format of the lease object this package writes and reads.
const version = 1

// maxSize bounds a lease object; anything larger is not one.
const maxSize = 64 << 10

type wireLease struct {
	Version int       `json:"version"`
	Holder  Holder    `json:"holder"`
	Epoch   int64     `json:"epoch"`
	Expiry  time.Time `json:"expiry"`
}

func encode(l Lease) []byte {
	b, err := json.Marshal(wireLease{Version: version, Holder: l.Holder, Epoch: l.Epoch, Expiry: l.Expiry})
	if err != nil {
		// Only a time outside years 0-9999 fails to marshal.
		panic(fmt.Sprintf("lease: encoding: %v", err))
	}
	return append(b, '\n')
}

// decode parses the lease object name. What cannot be a lease this package
// wrote is a base.ErrCorruption naming the object.
func decode(name string, b []byte) (Lease, error) {
	var w wireLease
	if err := json.Unmarshal(b, &w); err != nil {
		return Lease{}, base.Corruptf(name, "lease: %v", err)
	}
	switch {
	case w.Version > version:
		return Lease{}, fmt.Errorf("lease: %s has format version %d; this build reads up to %d", name, w.Version, version)
	case w.Version < 1:
		return Lease{}, base.Corruptf(name, "lease: format version %d", w.Version)
	case w.Epoch < 1:
		return Lease{}, base.Corruptf(name, "lease: epoch %d", w.Epoch)
	case w.Holder.ID == "":
		return Lease{}, base.Corruptf(name, "lease: no holder id")
	}
	return Lease{Holder: w.Holder, Epoch: w.Epoch, Expiry: w.Expiry}, nil
}

// Read returns the lease stored under name and its ETag; exists is false,
// with a nil error, when there is none. A lease that cannot be parsed is a
// base.ErrCorruption naming the object.
func Read(ctx context.Context, st store.Reader, name string) (l Lease, etag string, exists bool, err error) {
	l, info, exists, err := read(ctx, st, name)
	return l, info.ETag, exists, err
}

// read is Read returning the whole Info of the object read.
func read(ctx context.Context, st store.Reader, name string) (Lease, store.Info, bool, error) {
	obj, err := st.Open(ctx, name)
	if errors.Is(err, store.ErrNotExist) {
		return Lease{}, store.Info{}, false, nil
	}
	if err != nil {
		return Lease{}, store.Info{}, false, fmt.Errorf("lease: reading %s: %w", name, err)
	}
	defer obj.Close()
	info := obj.Info()
	if obj.Size() > maxSize {
		return Lease{}, info, true, base.Corruptf(name, "lease: %d bytes", obj.Size())
	}
	buf := make([]byte, obj.Size())
	if n, err := obj.ReadAt(buf, 0); err != nil && !(err == io.EOF && n == len(buf)) {
		return Lease{}, info, true, fmt.Errorf("lease: reading %s: %w", name, err)
	}
	l, err := decode(name, buf)
	return l, info, true, err
}

// HeldError is the error of Acquire when another process holds the lease.
// It matches ErrHeld.
type HeldError struct {
	// Name is the lease object.
	Name string
	// Holder is the process holding it.
	Holder Holder
	// Epoch is the holder's epoch.
	Epoch int64
	// Expiry is when the lease ends unless renewed, by the store's clock.
	Expiry time.Time
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("lease: branch is written by %s (epoch %d, lease %s until %s)",
		e.Holder, e.Epoch, e.Name, e.Expiry.Format(time.RFC3339Nano))
}

// Is makes errors.Is(err, ErrHeld) hold.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// LostError says why a Held stopped being the holder. It matches ErrLost.
type LostError struct {
	// Name is the lease object.
	Name string
	// Epoch is the lost holder's epoch.
	Epoch int64
	// By is the lease found in the object when another holder took over;
	// nil when the lease was not renewed in time (or the object vanished).
	By *Lease
	// Err is the last renewal error, if any.
	Err error
}

func (e *LostError) Error() string {
	switch {
	case e.By != nil:
		return fmt.Sprintf("lease: lost epoch %d of %s: taken over by %s (epoch %d)", e.Epoch, e.Name, e.By.Holder, e.By.Epoch)
	case e.Err != nil:
		return fmt.Sprintf("lease: lost epoch %d of %s: not renewed before expiry: %v", e.Epoch, e.Name, e.Err)
	default:
		return fmt.Sprintf("lease: lost epoch %d of %s: not renewed before expiry", e.Epoch, e.Name)
	}
}

// Is makes errors.Is(err, ErrLost) hold.
func (e *LostError) Is(target error) bool { return target == ErrLost }

// Unwrap returns the last renewal error.
func (e *LostError) Unwrap() error { return e.Err }
