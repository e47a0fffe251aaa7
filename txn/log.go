package txn

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
)

// Layout of a database below its prefix (DESIGN.md section 2).
const (
	logDirName     = "_lakesql_log"
	metaDirName    = "_meta"
	checkpointsDir = "_checkpoints"
	lastCheckpoint = "_last_checkpoint"
	entryDigits    = 20
)

// logDir is one log: the _meta log or a branch's.
type logDir struct {
	st  store.Store
	dir string // "<prefix>/_lakesql_log/<branch-id or _meta>"
}

func newLogDir(st store.Store, prefix, id string) logDir {
	return logDir{st: st, dir: path.Join(prefix, logDirName, id)}
}

func (l logDir) entryName(n int64) string {
	return fmt.Sprintf("%s/%0*d.json", l.dir, entryDigits, n)
}

func (l logDir) checkpointName(n int64) string {
	return fmt.Sprintf("%s/%s/%0*d.parquet", l.dir, checkpointsDir, entryDigits, n)
}

func (l logDir) hintName() string { return l.dir + "/" + lastCheckpoint }

// parseNumbered returns n for a name "<dir>/<20 digits><suffix>".
func parseNumbered(name, dir, suffix string) (int64, bool) {
	rest, ok := strings.CutPrefix(name, dir+"/")
	if !ok {
		return 0, false
	}
	digits, ok := strings.CutSuffix(rest, suffix)
	if !ok || len(digits) != entryDigits {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil && n >= 0
}

// readEntry reads and parses entry n. A missing entry gives store.ErrNotExist.
func (l logDir) readEntry(ctx context.Context, n int64) (*Entry, error) {
	name := l.entryName(n)
	data, err := store.ReadAll(ctx, l.st, name)
	if err != nil {
		return nil, err
	}
	e, err := ParseEntry(name, data)
	if err != nil {
		return nil, err
	}
	e.Number = n
	return e, nil
}

// readRange reads entries from..to (inclusive) in parallel. Every one must
// exist: a gap is corruption (entries are never deleted above a checkpoint
// that replay starts from).
func (l logDir) readRange(ctx context.Context, from, to int64) ([]*Entry, error) {
	if to < from {
		return nil, nil
	}
	entries := make([]*Entry, to-from+1)
	errs := make([]error, len(entries))
	const parallel = 16
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range entries {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			entries[i], errs[i] = l.readEntry(ctx, from+int64(i))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if errors.Is(err, store.ErrNotExist) {
			return nil, base.Corruptf(l.entryName(from+int64(i)), "log entry is missing between entries %d and %d", from, to)
		}
		if err != nil {
			return nil, err
		}
	}
	return entries, nil
}

// lastAfter returns the number of the newest entry after entry n (n when
// there is none), with one listing. A listing that runs while entries are
// created may show a later entry and miss an earlier one, so it only says
// how far to read: the caller reads every number up to it, and a missing one
// is corruption then.
func (l logDir) lastAfter(ctx context.Context, n int64) (int64, error) {
	last := n
	start := ""
	if n > 0 {
		start = l.entryName(n)
	}
	for info, err := range l.st.List(ctx, l.dir+"/", start) {
		if err != nil {
			return 0, err
		}
		num, ok := parseNumbered(info.Name, l.dir, ".json")
		if !ok {
			// Entries sort before _checkpoints and _last_checkpoint.
			if strings.HasPrefix(info.Name, l.dir+"/_") {
				break
			}
			continue
		}
		last = max(last, num)
	}
	return last, nil
}

// readAfter reads every entry after entry n, in order: probing entry by
// entry when few are expected (probe), otherwise with one listing and
// parallel reads.
func (l logDir) readAfter(ctx context.Context, n int64, probe bool) ([]*Entry, error) {
	if probe {
		var out []*Entry
		for next := n + 1; ; next++ {
			e, err := l.readEntry(ctx, next)
			if errors.Is(err, store.ErrNotExist) {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
	}
	last, err := l.lastAfter(ctx, n)
	if err != nil {
		return nil, err
	}
	if last == n {
		return l.readAfter(ctx, n, true) // one committed while listing?
	}
	entries, err := l.readRange(ctx, n+1, last)
	if err != nil {
		return nil, err
	}
	// Entries committed after the listing.
	more, err := l.readAfter(ctx, last, true)
	return append(entries, more...), err
}

// exists reports whether entry n exists, with one probe.
func (l logDir) exists(ctx context.Context, n int64) (bool, error) {
	_, err := l.st.Stat(ctx, l.entryName(n))
	if errors.Is(err, store.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
