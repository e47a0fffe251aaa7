package txn

import (
	"context"
	"fmt"
	"path"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/lakesql/lakesql/store"
)

// Vacuum deletes what no retained version needs any more.
//
// Retained are: the head of every live branch, every tagged version, every
// fork point of a live branch, every version committed inside the retention
// window, and on each branch the newest version at or before the window's
// start (the cutoff). A data file (or deletion-vector file) is deleted when
// no retained state references it and it was removed longer ago than the
// retention, or was written longer ago and never committed; ages are by the
// store's clock. Log entries below the oldest retained entry of a branch go
// too, after a checkpoint at that entry is written, so retained versions stay
// cheap to open; a parent's log is kept up to every child's fork. The WAL of
// branches deleted longer ago than the retention is removed.

// VacuumOptions configure a vacuum.
type VacuumOptions struct {
	// Retention is how far back versions stay readable (default: the
	// DB's Options.Retention). Under one hour needs Force.
	Retention time.Duration
	Force     bool
	// DryRun lists what would be deleted and deletes nothing.
	DryRun bool
	// Progress, if set, is told what the vacuum is doing.
	Progress func(stage string, done, total int)
}

// VacuumReport says what a vacuum deleted (or, dry, would delete).
type VacuumReport struct {
	DryRun bool
	// Cutoff is the start of the retention window.
	Cutoff time.Time
	// Files are the data, deletion-vector and WAL objects deleted.
	Files []VacuumFile
	// Bytes is their total size.
	Bytes int64
	// LogObjects are log entries and checkpoints deleted.
	LogObjects []string
	// Kept is the number of data objects kept.
	Kept int
}

// VacuumFile is one deleted object.
type VacuumFile struct {
	Path   string
	Bytes  int64
	Reason string // "removed", "unreferenced", "deleted branch WAL"
}

// retainedPoint is a state vacuum keeps readable: an entry of a log.
type retainedPoint struct {
	branch *Branch
	entry  int64
}

// Vacuum runs a vacuum. It may run in any process, concurrently with
// writers: it deletes only files that are older than the retention and
// unreferenced, and writers refuse to commit files older than half of it.
func (db *DB) Vacuum(ctx context.Context, o VacuumOptions) (*VacuumReport, error) {
	if o.Retention == 0 {
		o.Retention = db.opts.Retention
	}
	if o.Retention < time.Hour && !o.Force {
		return nil, fmt.Errorf("%w: a retention of %s is under one hour: versions being read could lose their files; force it to go ahead",
			ErrRetention, o.Retention)
	}
	if o.Retention < 0 {
		return nil, fmt.Errorf("txn: negative retention %s", o.Retention)
	}
	progress := func(stage string, done, total int) {
		if o.Progress != nil {
			o.Progress(stage, done, total)
		}
	}
	now, err := db.storeNow(ctx, o.DryRun)
	if err != nil {
		return nil, err
	}
	cutoff := now.Add(-o.Retention)
	cutoffMs := cutoff.UnixMilli()
	rep := &VacuumReport{DryRun: o.DryRun, Cutoff: cutoff}
	m, err := db.RefreshMeta(ctx)
	if err != nil {
		return nil, err
	}

	// 1. The retained states and what they reference.
	progress("finding retained versions", 0, 0)
	points, tombstones, err := db.retainedPoints(ctx, m, cutoffMs)
	if err != nil {
		return nil, err
	}
	protected := map[string]bool{}
	states := map[retainedPointKey]*State{}
	for i, p := range points {
		progress("reading retained versions", i, len(points))
		s, err := db.stateAt(ctx, p.branch, p.entry)
		if err != nil {
			return nil, fmt.Errorf("txn: vacuum: reading entry %d of branch %q: %w", p.entry, p.branch.Name, err)
		}
		states[retainedPointKey{p.branch.ID, p.entry}] = s
		for _, t := range s.tables {
			t.Files(func(a *Add) bool {
				protected[path.Join(db.prefix, a.Path)] = true
				if a.DV != nil && a.DV.Path != "" {
					protected[path.Join(db.prefix, a.DV.Path)] = true
				}
				for _, ix := range a.Indexes {
					protected[path.Join(db.prefix, ix.Path)] = true
				}
				return true
			})
		}
	}

	// 2. Data and deletion-vector files.
	dataPrefix := path.Join(db.prefix, "data") + "/"
	for info, err := range db.st.List(ctx, dataPrefix, "") {
		if err != nil {
			return nil, err
		}
		switch {
		case protected[info.Name]:
			rep.Kept++
		case tombstones[info.Name] >= cutoffMs:
			rep.Kept++ // removed inside the window: versions there read it
		case !info.LastModified.Before(cutoff):
			rep.Kept++ // new: it may belong to a commit in progress
		default:
			reason := "unreferenced"
			if _, ok := tombstones[info.Name]; ok {
				reason = "removed"
			}
			rep.Files = append(rep.Files, VacuumFile{Path: info.Name, Bytes: info.Size, Reason: reason})
			rep.Bytes += info.Size
		}
	}

	// 3. The WAL of branches deleted before the cutoff.
	for _, b := range m.DeletedBranches() {
		if b.DeletedAt >= cutoffMs {
			continue
		}
		for info, err := range db.st.List(ctx, path.Join(db.prefix, "_lakesql_wal", b.ID)+"/", "") {
			if err != nil {
				return nil, err
			}
			rep.Files = append(rep.Files, VacuumFile{Path: info.Name, Bytes: info.Size, Reason: "deleted branch WAL"})
			rep.Bytes += info.Size
		}
	}

	// 4. Log entries below each log's oldest retained entry.
	logDeletes, checkpoints, err := db.logGarbage(ctx, m, points, cutoffMs)
	if err != nil {
		return nil, err
	}
	rep.LogObjects = logDeletes
	if o.DryRun {
		return rep, nil
	}
	for i, c := range checkpoints {
		progress("writing checkpoints", i, len(checkpoints))
		s := states[retainedPointKey{c.branch.ID, c.entry}]
		if err := db.branchLog(c.branch.ID).writeCheckpoint(ctx, c.entry, db.checkpointRows(s)); err != nil {
			return nil, fmt.Errorf("txn: vacuum: checkpoint before deleting log entries: %w", err)
		}
	}
	names := make([]string, 0, len(rep.Files)+len(rep.LogObjects))
	for _, f := range rep.Files {
		names = append(names, f.Path)
	}
	// A checkpoint covers the log entries already, so order does not matter.
	names = append(names, rep.LogObjects...)
	if err := db.deleteAll(ctx, names, func(done int) { progress("deleting", done, len(names)) }); err != nil {
		return nil, err
	}
	progress("done", len(rep.Files), len(rep.Files))
	db.opts.Logger.Info("txn: vacuum", "database", db.prefix, "cutoff", cutoff.UTC().Format(time.RFC3339),
		"files", len(rep.Files), "bytes", rep.Bytes, "log objects", len(rep.LogObjects), "kept", rep.Kept)
	return rep, nil
}

// vacuumParallel is how many deletes a vacuum runs at once.
const vacuumParallel = 16

// deleteAll deletes names, several at a time, reporting progress every 500.
func (db *DB) deleteAll(ctx context.Context, names []string, progress func(done int)) error {
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, vacuumParallel)
	for _, name := range names {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := db.st.Delete(ctx, name)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("txn: vacuum: deleting %s: %w", name, err)
			}
			if done++; done%500 == 0 {
				progress(done)
			}
		})
	}
	wg.Wait()
	return firstErr
}

type retainedPointKey struct {
	branch string
	entry  int64
}

// storeNow reads the store's clock: the modification time of an object
// written now (a dry run uses the local clock corrected by what earlier
// writes observed).
func (db *DB) storeNow(ctx context.Context, dry bool) (time.Time, error) {
	if dry {
		return time.UnixMilli(db.nowMs()), nil
	}
	info, err := store.PutBytes(ctx, db.st, db.metaL.dir+"/_clock", []byte(newID()))
	if err != nil {
		return time.Time{}, fmt.Errorf("txn: vacuum: reading the store's clock: %w", err)
	}
	if info.LastModified.IsZero() {
		return time.UnixMilli(db.nowMs()), nil
	}
	return info.LastModified, nil
}

// retainedPoints lists the retained states and the unexpired tombstones of
// the live branches (the newest removal time of each path).
func (db *DB) retainedPoints(ctx context.Context, m *MetaState, cutoffMs int64) ([]retainedPoint, map[string]int64, error) {
	seen := map[retainedPointKey]bool{}
	var points []retainedPoint
	add := func(b *Branch, entry int64) {
		k := retainedPointKey{b.ID, entry}
		if !seen[k] {
			seen[k] = true
			points = append(points, retainedPoint{b, entry})
		}
	}
	addVersion := func(vi VersionInfo) error {
		owner := m.BranchByID(vi.BranchID)
		if owner == nil {
			return fmt.Errorf("txn: vacuum: version %d was created on unknown branch %s", vi.Version, vi.BranchID)
		}
		add(owner, vi.Entry)
		return nil
	}
	tombstones := map[string]int64{}
	heads := map[string]*State{}
	for _, b := range m.Branches() {
		h, err := db.RefreshHead(ctx, b.Name)
		if err != nil {
			return nil, nil, err
		}
		heads[b.ID] = h.State
		add(b, h.State.Entry)
		if b.FromID != "" {
			if parent := m.BranchByID(b.FromID); parent != nil {
				add(parent, b.FromEntry)
			}
		}
		vs := h.State.Versions
		i := sort.Search(len(vs), func(i int) bool { return vs[i].Timestamp > cutoffMs })
		if i > 0 {
			i-- // the newest version at or before the cutoff
		}
		for _, vi := range vs[i:] {
			if err := addVersion(vi); err != nil {
				return nil, nil, err
			}
		}
		h.State.Tombstones(func(r *Remove) bool {
			p := path.Join(db.prefix, r.Path)
			tombstones[p] = max(tombstones[p], r.DeletionTimestamp)
			return true
		})
	}
	for _, t := range m.Tags() {
		owner := m.BranchByID(t.BranchID)
		if owner == nil {
			continue
		}
		s := heads[owner.ID]
		if s == nil { // a tag on a deleted branch
			var err error
			if s, err = db.loadState(ctx, owner, -1); err != nil {
				return nil, nil, err
			}
		}
		vi, ok := s.VersionAt(t.Version)
		if !ok {
			return nil, nil, fmt.Errorf("txn: vacuum: tag %q names missing version %d", t.Name, t.Version)
		}
		if err := addVersion(vi); err != nil {
			return nil, nil, err
		}
	}
	return points, tombstones, nil
}

// logGarbage lists, for every log, the entries and checkpoints below its
// oldest retained entry, and the checkpoints to write first (at that entry,
// where none exists). Logs of deleted branches that no retained state needs
// go whole once the deletion is older than the cutoff.
func (db *DB) logGarbage(ctx context.Context, m *MetaState, points []retainedPoint, cutoffMs int64) ([]string, []retainedPoint, error) {
	oldest := map[string]int64{}
	byID := map[string]*Branch{}
	for _, p := range points {
		if cur, ok := oldest[p.branch.ID]; !ok || p.entry < cur {
			oldest[p.branch.ID] = p.entry
		}
		byID[p.branch.ID] = p.branch
	}
	var deletes []string
	var checkpoints []retainedPoint
	for _, id := range sortedKeys(oldest) {
		min := oldest[id]
		if min <= 0 {
			continue
		}
		l := db.branchLog(id)
		ckpt, err := l.newestCheckpoint(ctx, min)
		if err != nil {
			return nil, nil, err
		}
		if ckpt != min {
			checkpoints = append(checkpoints, retainedPoint{byID[id], min})
		}
		for info, err := range db.st.List(ctx, l.dir+"/", "") {
			if err != nil {
				return nil, nil, err
			}
			if n, ok := parseNumbered(info.Name, l.dir, ".json"); ok && n <= min {
				deletes = append(deletes, info.Name)
			} else if n, ok := parseNumbered(info.Name, l.dir+"/"+checkpointsDir, ".parquet"); ok && n < min {
				deletes = append(deletes, info.Name)
			}
		}
	}
	for _, b := range m.DeletedBranches() {
		if _, needed := oldest[b.ID]; needed || b.DeletedAt >= cutoffMs {
			continue
		}
		l := db.branchLog(b.ID)
		for info, err := range db.st.List(ctx, l.dir+"/", "") {
			if err != nil {
				return nil, nil, err
			}
			deletes = append(deletes, info.Name)
		}
	}
	slices.Sort(deletes)
	return deletes, checkpoints, nil
}

// errVacuumed says that a version's log was vacuumed.
func errVacuumed(branch string, entry int64) error {
	return fmt.Errorf("%w: entry %d of branch %q is older than the retention and was vacuumed", ErrRetention, entry, branch)
}

// isVacuumedGap tells a log whose early entries vacuum deleted (entry 1 is
// gone and a checkpoint above target exists) from a corrupt one.
func (db *DB) isVacuumedGap(ctx context.Context, br *Branch, target int64) bool {
	l := db.branchLog(br.ID)
	if ok, err := l.exists(ctx, 1); err != nil || ok {
		return false
	}
	k, err := l.newestCheckpoint(ctx, -1)
	return err == nil && k > target
}

// checkRetained refuses to create a ref at a version that vacuum may
// delete: one older than the retention that is not the branch's newest
// version, nor its newest at or before the cutoff.
func (db *DB) checkRetained(on *Snapshot, v int64) error {
	if v == 0 || v == on.State.Version {
		return nil
	}
	vs := on.State.Versions
	cutoff := db.nowMs() - db.opts.Retention.Milliseconds()
	i := sort.Search(len(vs), func(i int) bool { return vs[i].Timestamp > cutoff })
	if i == 0 || vs[i-1].Version <= v {
		return nil // inside the window, or the newest version at the cutoff
	}
	return fmt.Errorf("%w: version %d of branch %q is older than the retention (%s); a branch or tag can only be made at a retained version",
		ErrRetention, v, on.Branch.Name, db.opts.Retention)
}
