package txn

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MetaState is the replayed _meta log: the database's protocol, branches,
// tags (with the tombstones of deleted ones) and containers. It is
// immutable; Apply returns a new one.
type MetaState struct {
	Protocol Protocol
	Entry    int64
	// Timestamp of the last entry (Unix ms).
	Timestamp  int64
	branches   map[string]*Branch // live, by name
	byID       map[string]*Branch // every branch ever created, by id
	tags       map[string]*Tag    // live and deleted, by name
	containers map[string]*Container
}

// NewMetaState returns an empty meta state.
func NewMetaState() *MetaState {
	return &MetaState{
		branches:   map[string]*Branch{},
		byID:       map[string]*Branch{},
		tags:       map[string]*Tag{},
		containers: map[string]*Container{},
	}
}

// Branch returns the live branch called name, or nil.
func (m *MetaState) Branch(name string) *Branch { return m.branches[name] }

// BranchByID returns the branch with id, live or deleted, or nil.
func (m *MetaState) BranchByID(id string) *Branch { return m.byID[id] }

// Branches returns the live branches by name.
func (m *MetaState) Branches() []*Branch {
	return sortedValues(m.branches, func(b *Branch) string { return b.Name })
}

// DeletedBranches returns the deleted branches, by id.
func (m *MetaState) DeletedBranches() []*Branch {
	var out []*Branch
	for _, b := range m.byID {
		if b.Deleted {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b *Branch) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Tag returns the live tag called name, or nil.
func (m *MetaState) Tag(name string) *Tag {
	if t := m.tags[name]; t != nil && !t.Deleted {
		return t
	}
	return nil
}

// Tags returns the live tags by name.
func (m *MetaState) Tags() []*Tag {
	var out []*Tag
	for _, t := range m.tags {
		if !t.Deleted {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *Tag) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// allTags returns live and deleted tags, by name (checkpoints keep the
// tombstones).
func (m *MetaState) allTags() []*Tag {
	return sortedValues(m.tags, func(t *Tag) string { return t.Name })
}

// Container returns the live container called name, or nil.
func (m *MetaState) Container(name string) *Container { return m.containers[name] }

// Containers returns the live containers by name.
func (m *MetaState) Containers() []*Container {
	return sortedValues(m.containers, func(c *Container) string { return c.Name })
}

func sortedValues[T any](m map[string]*T, key func(*T) string) []*T {
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b *T) int { return strings.Compare(key(a), key(b)) })
	return out
}

// Apply returns the meta state after entries, which must follow m in order.
func (m *MetaState) Apply(entries ...*Entry) (*MetaState, error) {
	n := *m
	n.branches = maps.Clone(m.branches)
	n.byID = maps.Clone(m.byID)
	n.tags = maps.Clone(m.tags)
	n.containers = maps.Clone(m.containers)
	for _, e := range entries {
		if err := n.apply(e); err != nil {
			return nil, fmt.Errorf("entry %d: %w", e.Number, err)
		}
	}
	return &n, nil
}

func (m *MetaState) apply(e *Entry) error {
	if e.Number != m.Entry+1 {
		return fmt.Errorf("follows entry %d", m.Entry)
	}
	if len(e.Tables)+len(e.Drops)+len(e.Truncates)+len(e.Adds)+len(e.Removes)+len(e.Txns) > 0 || e.WAL != nil {
		return fmt.Errorf("data actions do not belong in the _meta log")
	}
	if e.Protocol != nil {
		m.Protocol = *e.Protocol
	}
	for i := range e.Branches {
		b := e.Branches[i]
		switch old := m.byID[b.ID]; {
		case b.Deleted:
			if old == nil || old.Deleted || m.branches[b.Name] != old {
				return fmt.Errorf("deletes branch %q (%s), which is not live", b.Name, b.ID)
			}
			d := *old
			d.Deleted = true
			m.byID[b.ID] = &d
			delete(m.branches, b.Name)
		case old != nil:
			return fmt.Errorf("creates branch id %s again", b.ID)
		case m.branches[b.Name] != nil:
			return fmt.Errorf("creates branch %q, which exists", b.Name)
		default:
			if b.FromID != "" && m.byID[b.FromID] == nil {
				return fmt.Errorf("branch %q forks from unknown branch %s", b.Name, b.FromID)
			}
			m.byID[b.ID] = &b
			m.branches[b.Name] = &b
		}
	}
	for i := range e.Tags {
		t := e.Tags[i]
		old := m.tags[t.Name]
		switch {
		case t.Deleted:
			if old == nil || old.Deleted {
				return fmt.Errorf("deletes tag %q, which is not live", t.Name)
			}
			d := *old
			d.Deleted = true
			m.tags[t.Name] = &d
		case old != nil:
			return fmt.Errorf("creates tag %q, whose name is taken", t.Name)
		default:
			m.tags[t.Name] = &t
		}
	}
	for i := range e.Containers {
		c := e.Containers[i]
		if c.Deleted {
			delete(m.containers, c.Name)
		} else {
			m.containers[c.Name] = &c
		}
	}
	m.Entry = e.Number
	m.Timestamp = e.CommitInfo.Timestamp
	return nil
}

// ValidateRefName checks a branch or tag name: 1 to 128 characters, no
// slash, no "..", no "@" (it separates a branch from a version in a ref),
// no control characters or spaces, not only digits (those are versions),
// not beginning with "_" or "-".
func ValidateRefName(kind, name string) error {
	bad := func(why string) error { return fmt.Errorf("%w: %s name %q: %s", ErrInvalidName, kind, name, why) }
	switch {
	case name == "":
		return bad("empty")
	case len(name) > 128:
		return bad("longer than 128 bytes")
	case !utf8.ValidString(name):
		return bad("not valid UTF-8")
	case strings.Contains(name, "/"):
		return bad(`contains "/"`)
	case strings.Contains(name, ".."):
		return bad(`contains ".."`)
	case strings.Contains(name, "@"):
		return bad(`contains "@"`)
	case strings.HasPrefix(name, "_") || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "."):
		return bad(`begins with "_", "-" or "."`)
	case strings.Trim(name, "0123456789") == "":
		return bad("only digits (a number names a version)")
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\\' || r == '\'' || r == '"' || r == '`' {
			return bad(fmt.Sprintf("contains %q", r))
		}
	}
	return nil
}
