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
// there is none). Entries above a checkpoint are contiguous, so it gallops:
// it probes n+1, n+2, n+4, ... until one is missing, then bisects; a few
// Stats instead of listing a log of thousands of entries.
func (l logDir) lastAfter(ctx context.Context, n int64) (int64, error) {
	lo := n // exists (or is the base)
	step := int64(1)
	var hi int64 // missing
	for {
		ok, err := l.exists(ctx, lo+step)
		if err != nil {
			return 0, err
		}
		if !ok {
			hi = lo + step
			break
		}
		lo += step
		step *= 2
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := l.exists(ctx, mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// readAfter reads every entry after entry n, in order: it finds the newest
// one, reads those in between in parallel, then probes for entries
// committed meanwhile.
func (l logDir) readAfter(ctx context.Context, n int64) ([]*Entry, error) {
	var out []*Entry
	for {
		last, err := l.lastAfter(ctx, n)
		if err != nil {
			return nil, err
		}
		if last == n {
			return out, nil
		}
		entries, err := l.readRange(ctx, n+1, last)
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
		n = last
	}
}

// exists reports whether entry n exists, with one probe.
func (l logDir) exists(ctx context.Context, n int64) (bool, error) {
	_, err := l.st.Stat(ctx, l.entryName(n))
	if errors.Is(err, store.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
