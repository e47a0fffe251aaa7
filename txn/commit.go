package txn

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Commit adds c to the log of read's branch as the next entry. If other
// commits won the race since read, it checks c against them (CheckConflicts)
// and rebases: generations, base row ids, the user version and the
// timestamp are assigned again on the new head, and the commit is retried.
// It returns the snapshot at the new entry, or read itself when c changes
// nothing.
//
// Errors: a *ConflictError (retryable, matches ErrConflict), ErrFenced,
// ErrCommitUnknown (the outcome could not be learned), or I/O errors.
func (db *DB) Commit(ctx context.Context, read *Snapshot, c *Commit) (*Snapshot, error) {
	if c.empty() {
		return read, nil
	}
	m, err := db.Meta(ctx)
	if err != nil {
		return nil, err
	}
	if m.Protocol.MinWriter > WriterVersion {
		return nil, fmt.Errorf("%w: the database needs writer version %d, this lakesql writes %d",
			ErrProtocol, m.Protocol.MinWriter, WriterVersion)
	}
	if !c.OldestFile.IsZero() {
		if age := time.Duration(db.nowMs()-c.OldestFile.UnixMilli()) * time.Millisecond; age > db.opts.Retention/2 {
			return nil, fmt.Errorf("%w: the commit's oldest file was written %s ago, more than half the retention (%s): vacuum may delete it",
				ErrRetention, age.Round(time.Second), db.opts.Retention)
		}
	}
	br := read.Branch
	l := db.branchLog(br.ID)
	head := read.State
	if c.Epoch > 0 && head.MaxEpoch > c.Epoch {
		return nil, fmt.Errorf("%w: epoch %d is committed, this writer has epoch %d", ErrFenced, head.MaxEpoch, c.Epoch)
	}
	for attempt := 0; attempt < db.opts.MaxCommitAttempts; attempt++ {
		ts := max(db.nowMs(), head.Timestamp+1)
		e, err := c.build(head, head.Entry+1, read.State.Entry, ts, newID())
		if err != nil {
			return nil, err
		}
		next, err := head.Apply(br.ID, e)
		if err != nil {
			return nil, fmt.Errorf("txn: the commit does not apply to entry %d of branch %q: %w", head.Entry, br.Name, err)
		}
		ours, err := db.putEntry(ctx, l, e)
		if err != nil {
			return nil, err
		}
		if ours {
			db.advance(br.ID, next, time.Time{})
			db.maybeCheckpoint(br, next)
			return &Snapshot{Branch: br, State: next}, nil
		}
		winners, err := l.readAfter(ctx, head.Entry)
		if err != nil {
			return nil, err
		}
		if len(winners) == 0 {
			continue // the winner's entry vanished: only vacuum deletes entries; retry
		}
		carry, err := CheckConflicts(e, c.ReadTables, winners)
		if err != nil {
			return nil, err
		}
		if len(carry) > 0 {
			if c.CarryForward == nil {
				paths := make([]string, len(carry))
				for i, a := range carry {
					paths[i] = a.Path
				}
				return nil, &ConflictError{Kind: ConflictDeletionVector, Winner: winners[len(winners)-1].Number, Files: paths}
			}
			if err := c.CarryForward(carry); err != nil {
				return nil, err
			}
		}
		if head, err = applyEntries(l, br.ID, head, winners); err != nil {
			return nil, err
		}
		db.advance(br.ID, head, time.Time{})
	}
	return nil, fmt.Errorf("txn: commit to branch %q gave up after %d rebases", br.Name, db.opts.MaxCommitAttempts)
}

// commitMeta commits to the _meta log an entry that build makes from the
// newest meta state, rebasing on lost races. Winners that created a branch
// or tag of a name the entry creates are a ConflictRefName.
func (db *DB) commitMeta(ctx context.Context, op string, build func(m *MetaState) (*Entry, error)) (*MetaState, error) {
	m, err := db.RefreshMeta(ctx)
	if err != nil {
		return nil, err
	}
	if m.Protocol.MinWriter > WriterVersion {
		return nil, fmt.Errorf("%w: the database needs writer version %d", ErrProtocol, m.Protocol.MinWriter)
	}
	for attempt := 0; attempt < db.opts.MaxCommitAttempts; attempt++ {
		e, err := build(m)
		if err != nil {
			return nil, err
		}
		e.Number = m.Entry + 1
		e.CommitInfo.ID = newID()
		e.CommitInfo.Operation = op
		e.CommitInfo.Timestamp = max(db.nowMs(), m.Timestamp+1)
		next, err := m.Apply(e)
		if err != nil {
			return nil, err
		}
		ours, err := db.putEntry(ctx, db.metaL, e)
		if err != nil {
			return nil, err
		}
		if ours {
			db.mu.Lock()
			if next.Entry > db.mu.meta.Entry {
				db.mu.meta = next
			}
			db.mu.Unlock()
			db.maybeCheckpointMeta(next)
			return next, nil
		}
		winners, err := db.metaL.readAfter(ctx, m.Entry)
		if err != nil {
			return nil, err
		}
		if err := refNameConflict(e, winners); err != nil {
			return nil, err
		}
		if m, err = db.applyMeta(m, winners); err != nil {
			return nil, err
		}
		db.mu.Lock()
		if m.Entry > db.mu.meta.Entry {
			db.mu.meta = m
		}
		db.mu.Unlock()
	}
	return nil, fmt.Errorf("txn: %s gave up after %d rebases", op, db.opts.MaxCommitAttempts)
}

func refNameConflict(mine *Entry, winners []*Entry) error {
	for _, w := range winners {
		for _, b := range mine.Branches {
			for _, wb := range w.Branches {
				if b.Name == wb.Name && !b.Deleted && !wb.Deleted || b.ID == wb.ID {
					return &ConflictError{Kind: ConflictRefName, Winner: w.Number, Name: b.Name}
				}
			}
		}
		for _, t := range mine.Tags {
			for _, wt := range w.Tags {
				if t.Name == wt.Name {
					return &ConflictError{Kind: ConflictRefName, Winner: w.Number, Name: t.Name}
				}
			}
		}
	}
	return nil
}

// CreateBranch creates branch name forked from version v of branch from
// (version 0: an empty branch). It returns the new branch.
func (db *DB) CreateBranch(ctx context.Context, name, from string, v int64) (*Branch, error) {
	if err := ValidateRefName("branch", name); err != nil {
		return nil, err
	}
	parent, err := db.RefreshHead(ctx, from)
	if err != nil {
		return nil, err
	}
	point, err := db.forkPoint(ctx, parent, v)
	if err != nil {
		return nil, err
	}
	m, err := db.commitMeta(ctx, "CREATE BRANCH", func(m *MetaState) (*Entry, error) {
		if m.Branch(name) != nil {
			return nil, fmt.Errorf("%w: branch %q", ErrExists, name)
		}
		if m.Tag(name) != nil {
			return nil, fmt.Errorf("%w: %q names a tag", ErrExists, name)
		}
		b := point
		b.Name, b.ID, b.CreatedAt = name, newID()[:16], db.nowMs()
		return &Entry{Branches: []Branch{b}}, nil
	})
	if err != nil {
		return nil, err
	}
	return m.Branch(name), nil
}

// forkPoint locates version v of a branch's lineage: the branch and entry
// that created it.
func (db *DB) forkPoint(ctx context.Context, on *Snapshot, v int64) (Branch, error) {
	if v < 0 || v > on.State.Version {
		return Branch{}, &NotFoundError{What: "version", Name: fmt.Sprint(v),
			Detail: fmt.Sprintf("branch %q has versions 0 to %d", on.Branch.Name, on.State.Version)}
	}
	if v == 0 {
		// The empty state at the root of the lineage.
		m, err := db.Meta(ctx)
		if err != nil {
			return Branch{}, err
		}
		root := on.Branch
		for root.FromID != "" {
			p := m.BranchByID(root.FromID)
			if p == nil {
				return Branch{}, fmt.Errorf("txn: branch %q forks from unknown branch %s", root.Name, root.FromID)
			}
			root = *p
		}
		return Branch{FromID: root.ID, FromEntry: 0, FromVersion: 0}, nil
	}
	if err := db.checkRetained(on, v); err != nil {
		return Branch{}, err
	}
	vi, ok := on.State.VersionAt(v)
	if !ok {
		return Branch{}, fmt.Errorf("txn: version %d is missing from the lineage of %q", v, on.Branch.Name)
	}
	return Branch{FromID: vi.BranchID, FromEntry: vi.Entry, FromVersion: v, FromTimestamp: vi.Timestamp}, nil
}

// DeleteBranch deletes a branch. Its log stays for vacuum to collect; main
// cannot be deleted.
func (db *DB) DeleteBranch(ctx context.Context, name string) error {
	if name == MainBranch {
		return fmt.Errorf("txn: the main branch cannot be deleted")
	}
	_, err := db.commitMeta(ctx, "DELETE BRANCH", func(m *MetaState) (*Entry, error) {
		b := m.Branch(name)
		if b == nil {
			return nil, &NotFoundError{What: "branch", Name: name}
		}
		d := *b
		d.Deleted, d.DeletedAt = true, db.nowMs()
		return &Entry{Branches: []Branch{d}}, nil
	})
	if err == nil {
		db.mu.Lock()
		for id := range db.mu.heads {
			if m := db.mu.meta; m.BranchByID(id) != nil && m.BranchByID(id).Deleted {
				delete(db.mu.heads, id)
			}
		}
		db.mu.Unlock()
	}
	return err
}

// CreateTag names version v of branch. Tags are immutable, and a deleted
// tag's name is never used again.
func (db *DB) CreateTag(ctx context.Context, name, branch string, v int64) (*Tag, error) {
	if err := ValidateRefName("tag", name); err != nil {
		return nil, err
	}
	on, err := db.RefreshHead(ctx, branch)
	if err != nil {
		return nil, err
	}
	if v < 1 || v > on.State.Version {
		return nil, &NotFoundError{What: "version", Name: fmt.Sprint(v),
			Detail: fmt.Sprintf("branch %q has versions 1 to %d", branch, on.State.Version)}
	}
	if err := db.checkRetained(on, v); err != nil {
		return nil, err
	}
	m, err := db.commitMeta(ctx, "CREATE TAG", func(m *MetaState) (*Entry, error) {
		if t := m.tags[name]; t != nil {
			if t.Deleted {
				return nil, fmt.Errorf("%w: tag %q existed and was deleted; tag names are not reused", ErrExists, name)
			}
			return nil, fmt.Errorf("%w: tag %q", ErrExists, name)
		}
		if m.Branch(name) != nil {
			return nil, fmt.Errorf("%w: %q names a branch", ErrExists, name)
		}
		return &Entry{Tags: []Tag{{Name: name, BranchID: on.Branch.ID, Version: v, CreatedAt: db.nowMs()}}}, nil
	})
	if err != nil {
		return nil, err
	}
	return m.Tag(name), nil
}

// DeleteTag deletes a tag, leaving a tombstone so its name is not reused.
func (db *DB) DeleteTag(ctx context.Context, name string) error {
	_, err := db.commitMeta(ctx, "DELETE TAG", func(m *MetaState) (*Entry, error) {
		t := m.Tag(name)
		if t == nil {
			return nil, &NotFoundError{What: "tag", Name: name}
		}
		d := *t
		d.Deleted = true
		return &Entry{Tags: []Tag{d}}, nil
	})
	return err
}

// PutContainer creates or replaces a container.
func (db *DB) PutContainer(ctx context.Context, c Container) error {
	if err := ValidateContainer(&c); err != nil {
		return err
	}
	_, err := db.commitMeta(ctx, "PUT CONTAINER", func(m *MetaState) (*Entry, error) {
		return &Entry{Containers: []Container{c}}, nil
	})
	return err
}

// Checkpoint writes a checkpoint of a branch's newest entry now.
func (db *DB) Checkpoint(ctx context.Context, branch string) (int64, error) {
	h, err := db.RefreshHead(ctx, branch)
	if err != nil {
		return 0, err
	}
	if h.State.Entry == 0 {
		return 0, nil
	}
	l := db.branchLog(h.Branch.ID)
	return h.State.Entry, l.writeCheckpoint(ctx, h.State.Entry, db.checkpointRows(h.State))
}

// CheckpointMeta writes a checkpoint of the _meta log now.
func (db *DB) CheckpointMeta(ctx context.Context) (int64, error) {
	m, err := db.RefreshMeta(ctx)
	if err != nil {
		return 0, err
	}
	return m.Entry, db.metaL.writeCheckpoint(ctx, m.Entry, m.checkpointRows())
}

func (db *DB) maybeCheckpoint(br Branch, s *State) {
	if n := db.opts.CheckpointInterval; n > 0 && s.Entry%n == 0 {
		db.checkpointLog(db.branchLog(br.ID), s.Entry, func() []checkpointRow { return db.checkpointRows(s) })
	}
}

// checkpointRows encodes s, leaving out tombstones older than the
// retention.
func (db *DB) checkpointRows(s *State) []checkpointRow {
	return s.checkpointRows(s.Timestamp - db.opts.Retention.Milliseconds())
}

func (db *DB) maybeCheckpointMeta(m *MetaState) {
	if n := db.opts.CheckpointInterval; n > 0 && m.Entry%n == 0 {
		db.checkpointLog(db.metaL, m.Entry, m.checkpointRows)
	}
}

// checkpointLog writes a checkpoint, in the background unless
// SyncCheckpoints. A failure is logged: checkpoints only make opening
// faster.
func (db *DB) checkpointLog(l logDir, n int64, rows func() []checkpointRow) {
	write := func(ctx context.Context) {
		if err := l.writeCheckpoint(ctx, n, rows()); err != nil && !errors.Is(err, context.Canceled) {
			db.opts.Logger.Warn("txn: writing a checkpoint failed", "checkpoint", l.checkpointName(n), "error", err)
		}
	}
	if db.opts.SyncCheckpoints {
		write(db.ctx)
		return
	}
	db.mu.Lock()
	if db.mu.checking[l.dir] {
		db.mu.Unlock()
		return // the next interval will catch up
	}
	db.mu.checking[l.dir] = true
	db.mu.Unlock()
	db.wg.Go(func() {
		defer func() {
			db.mu.Lock()
			delete(db.mu.checking, l.dir)
			db.mu.Unlock()
		}()
		write(db.ctx)
	})
}
