package txn

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RefKind says what a Ref names.
type RefKind int

// Kinds of refs.
const (
	// RefVersion is a version of the session's branch: "3".
	RefVersion RefKind = iota + 1
	// RefName is a branch (its newest version) or a tag: "dev", "v1".
	RefName
	// RefBranchVersion is a version of a named branch: "dev@3".
	RefBranchVersion
	// RefTime is the newest version at or before a time.
	RefTime
)

// Ref is a parsed AS OF reference.
type Ref struct {
	Kind    RefKind
	Name    string
	Version int64
	Time    time.Time
}

// timeLayouts are the datetime forms a ref may take, as MySQL writes them.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	time.RFC3339Nano,
	"2006-01-02 15:04",
	"2006-01-02",
}

// ParseRef parses an AS OF reference: a version number, "branch@N", a
// datetime, or a branch or tag name. Datetimes without a zone are in loc.
func ParseRef(s string, loc *time.Location) (Ref, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Ref{}, &NotFoundError{What: "ref", Name: s, Detail: "an empty ref names nothing"}
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		if v < 0 {
			return Ref{}, &NotFoundError{What: "version", Name: s, Detail: "versions are numbered from 0"}
		}
		return Ref{Kind: RefVersion, Version: v}, nil
	}
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' {
		for _, layout := range timeLayouts {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return Ref{Kind: RefTime, Time: t}, nil
			}
		}
	}
	if name, ver, ok := strings.Cut(s, "@"); ok {
		v, err := strconv.ParseInt(ver, 10, 64)
		if err != nil || v < 0 {
			return Ref{}, &NotFoundError{What: "ref", Name: s, Detail: `after "@" comes a version number`}
		}
		return Ref{Kind: RefBranchVersion, Name: name, Version: v}, nil
	}
	return Ref{Kind: RefName, Name: s}, nil
}

// Resolve returns the snapshot a ref names, for a session on branch
// session: a version of that branch, a branch's newest version (not its
// pending writes), branch@N, a tag, or the newest version of the session's
// branch at or before a time. An unknown ref is a *NotFoundError naming what
// was looked for.
func (db *DB) Resolve(ctx context.Context, session string, ref Ref) (*Snapshot, error) {
	switch ref.Kind {
	case RefVersion:
		return db.AtVersion(ctx, session, ref.Version)
	case RefBranchVersion:
		return db.AtVersion(ctx, ref.Name, ref.Version)
	case RefTime:
		return db.AtTime(ctx, session, ref.Time)
	case RefName:
		m, err := db.RefreshMeta(ctx)
		if err != nil {
			return nil, err
		}
		if b := m.Branch(ref.Name); b != nil {
			h, err := db.RefreshHead(ctx, ref.Name)
			if err != nil {
				return nil, err
			}
			return db.AtVersion(ctx, ref.Name, h.State.Version)
		}
		if t := m.Tag(ref.Name); t != nil {
			owner := m.BranchByID(t.BranchID)
			if owner == nil || owner.Deleted {
				return db.taggedOnDeleted(ctx, t, owner)
			}
			return db.AtVersion(ctx, owner.Name, t.Version)
		}
		return nil, &NotFoundError{What: "branch or tag", Name: ref.Name}
	}
	return nil, fmt.Errorf("txn: unknown ref kind %d", ref.Kind)
}

// taggedOnDeleted resolves a tag whose branch was deleted: the branch's log
// is kept while a tag points into it.
func (db *DB) taggedOnDeleted(ctx context.Context, t *Tag, owner *Branch) (*Snapshot, error) {
	if owner == nil {
		return nil, fmt.Errorf("txn: tag %q names unknown branch %s", t.Name, t.BranchID)
	}
	s, err := db.loadState(ctx, owner, -1)
	if err != nil {
		return nil, err
	}
	return db.versionOf(ctx, &Snapshot{Branch: *owner, State: s}, t.Version)
}

// AtVersion returns version v of a branch (0: the empty database).
func (db *DB) AtVersion(ctx context.Context, branch string, v int64) (*Snapshot, error) {
	h, err := db.Head(ctx, branch)
	if err != nil {
		return nil, err
	}
	if v > h.State.Version {
		if h, err = db.RefreshHead(ctx, branch); err != nil {
			return nil, err
		}
	}
	return db.versionOf(ctx, h, v)
}

func (db *DB) versionOf(ctx context.Context, h *Snapshot, v int64) (*Snapshot, error) {
	if v > h.State.Version {
		return nil, &NotFoundError{What: "version", Name: strconv.FormatInt(v, 10),
			Detail: fmt.Sprintf("branch %q has versions 0 to %d", h.Branch.Name, h.State.Version)}
	}
	if v == 0 {
		return &Snapshot{Branch: h.Branch, State: NewState(h.State.Protocol)}, nil
	}
	vi, ok := h.State.VersionAt(v)
	if !ok {
		return nil, fmt.Errorf("txn: version %d is missing from the lineage of branch %q", v, h.Branch.Name)
	}
	m, err := db.Meta(ctx)
	if err != nil {
		return nil, err
	}
	owner := m.BranchByID(vi.BranchID)
	if owner == nil {
		return nil, fmt.Errorf("txn: version %d was created on unknown branch %s", v, vi.BranchID)
	}
	s, err := db.stateAt(ctx, owner, vi.Entry)
	if err != nil {
		return nil, err
	}
	return &Snapshot{Branch: *owner, State: s}, nil
}

// AtTime returns the newest version of a branch committed at or before t.
func (db *DB) AtTime(ctx context.Context, branch string, t time.Time) (*Snapshot, error) {
	h, err := db.RefreshHead(ctx, branch)
	if err != nil {
		return nil, err
	}
	ms := t.UnixMilli()
	vs := h.State.Versions
	i := sort.Search(len(vs), func(i int) bool { return vs[i].Timestamp > ms })
	if i == 0 {
		detail := fmt.Sprintf("branch %q has no version at or before it", branch)
		if len(vs) > 0 {
			detail += fmt.Sprintf(" (its first is at %s)", time.UnixMilli(vs[0].Timestamp).UTC().Format(time.RFC3339Nano))
		}
		return nil, &NotFoundError{What: "timestamp", Name: t.UTC().Format(time.RFC3339Nano), Detail: detail}
	}
	return db.versionOf(ctx, h, vs[i-1].Version)
}
