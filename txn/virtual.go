package txn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Container properties (Container.Properties).
const (
	// ContainerPlatform is "s3" or "file", from the URL's scheme.
	ContainerPlatform = "platform"
	// ContainerEndpoint is an S3 endpoint URL (empty: AWS).
	ContainerEndpoint = "endpoint"
	// ContainerRegion is the bucket's region.
	ContainerRegion = "region"
	// ContainerPathStyle ("true") addresses buckets in the path, as MinIO
	// wants.
	ContainerPathStyle = "path_style"
	// ContainerAnonymous ("true") reads without credentials (public
	// buckets).
	ContainerAnonymous = "anonymous"
)

// ErrContainerInUse is returned (wrapped) when a container that retained
// versions read through is deleted.
var ErrContainerInUse = errors.New("txn: container in use")

// ValidateContainer checks a container: a valid name, a URL prefix of a
// known platform that ends in "/", and known properties with valid values.
// It fills the platform property from the URL.
func ValidateContainer(c *Container) error {
	if err := ValidateRefName("container", c.Name); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: container %q: %s", ErrInvalidName, c.Name, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(c.URI)
	if err != nil {
		return bad("URL prefix %q: %v", c.URI, err)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return bad("URL prefix %q must not have a query, a fragment or credentials (the server takes credentials from its configuration)", c.URI)
	}
	if !strings.HasSuffix(c.URI, "/") {
		return bad("URL prefix %q must end in \"/\"", c.URI)
	}
	platform := strings.ToLower(u.Scheme)
	switch platform {
	case "s3":
		if u.Host == "" {
			return bad("URL prefix %q names no bucket (s3://bucket/prefix/)", c.URI)
		}
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return bad("URL prefix %q: a file:// URL names a local path (file:///dir/), not host %q", c.URI, u.Host)
		}
		if !strings.HasPrefix(u.Path, "/") {
			return bad("URL prefix %q must be an absolute path", c.URI)
		}
	default:
		return bad("URL prefix %q: platform %q is not supported: use s3:// or file://", c.URI, u.Scheme)
	}
	if c.Properties == nil {
		c.Properties = map[string]string{}
	}
	for k, v := range c.Properties {
		switch k {
		case ContainerPlatform:
			if !strings.EqualFold(v, platform) {
				return bad("platform %q does not match the URL prefix %q", v, c.URI)
			}
		case ContainerEndpoint:
			if platform != "s3" {
				return bad("an endpoint is for s3 containers")
			}
			if e, err := url.Parse(v); err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || e.User != nil {
				return bad("endpoint %q is not an http(s) URL without credentials", v)
			}
		case ContainerRegion:
		case ContainerPathStyle, ContainerAnonymous:
			if v != "true" && v != "false" {
				return bad("%s must be true or false, not %q", k, v)
			}
		default:
			return bad("unknown option %q (known: endpoint, region, path_style, anonymous)", k)
		}
	}
	c.Properties[ContainerPlatform] = platform
	return nil
}

// ResolveContainer returns the live container whose URL prefix is the
// longest that fileURL begins with, or nil.
func (m *MetaState) ResolveContainer(fileURL string) *Container {
	var best *Container
	for _, c := range m.containers {
		if strings.HasPrefix(fileURL, c.URI) && (best == nil || len(c.URI) > len(best.URI)) {
			best = c
		}
	}
	return best
}

// CreateContainer creates a container; its name must be new.
func (db *DB) CreateContainer(ctx context.Context, c Container) error {
	if err := ValidateContainer(&c); err != nil {
		return err
	}
	_, err := db.commitMeta(ctx, "CREATE CONTAINER", func(m *MetaState) (*Entry, error) {
		if m.Container(c.Name) != nil {
			return nil, fmt.Errorf("%w: container %q exists", ErrExists, c.Name)
		}
		return &Entry{Containers: []Container{c}}, nil
	})
	return err
}

// ExternalFile is a virtual file that retained versions of a branch read
// (one per URL, branch and adding version).
type ExternalFile struct {
	URL string
	// Container is the container the URL resolves to now ("" when none
	// does), AddedThrough the one it was added through.
	Container, AddedThrough string
	Branch, Table           string
	Bytes                   int64
	ETag                    string
	// AddedVersion is the version that added the file; FirstVersion and
	// LastVersion the oldest and newest retained versions of Branch that
	// read it.
	AddedVersion, FirstVersion, LastVersion int64
}

// ExternalFiles lists the virtual files of every retained version of every
// branch (what vacuum keeps readable: heads, tags, versions in the
// retention window), one per file and branch, from the log alone.
func (db *DB) ExternalFiles(ctx context.Context) ([]ExternalFile, error) {
	m, err := db.RefreshMeta(ctx)
	if err != nil {
		return nil, err
	}
	cutoff := db.nowMs() - db.opts.Retention.Milliseconds()
	points, _, err := db.retainedPoints(ctx, m, cutoff)
	if err != nil {
		return nil, err
	}
	type key struct {
		url, branch string
		added       int64 // a URL added again is another file
	}
	files := map[key]*ExternalFile{}
	for _, p := range points {
		s, err := db.stateAt(ctx, p.branch, p.entry)
		if err != nil {
			return nil, fmt.Errorf("txn: reading entry %d of branch %q: %w", p.entry, p.branch.Name, err)
		}
		for _, t := range s.tables {
			t.Files(func(a *Add) bool {
				if a.Virtual == nil {
					return true
				}
				k := key{a.Path, p.branch.ID, a.Virtual.Version}
				f := files[k]
				if f == nil {
					f = &ExternalFile{URL: a.Path, AddedThrough: a.Virtual.Container, Branch: p.branch.Name,
						Table: t.Meta.Name, Bytes: a.Bytes, ETag: a.Virtual.ETag, AddedVersion: a.Virtual.Version,
						FirstVersion: s.Version, LastVersion: s.Version}
					if c := m.ResolveContainer(a.Path); c != nil {
						f.Container = c.Name
					}
					files[k] = f
				}
				f.FirstVersion = min(f.FirstVersion, s.Version)
				f.LastVersion = max(f.LastVersion, s.Version)
				return true
			})
		}
	}
	out := make([]ExternalFile, 0, len(files))
	for _, f := range files {
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b ExternalFile) int {
		return cmp.Or(strings.Compare(a.URL, b.URL), strings.Compare(a.Branch, b.Branch), cmp.Compare(a.AddedVersion, b.AddedVersion))
	})
	return out, nil
}

// DeleteContainer removes a container. It is refused with
// ErrContainerInUse while a retained version reads a file through it.
func (db *DB) DeleteContainer(ctx context.Context, name string) error {
	m, err := db.RefreshMeta(ctx)
	if err != nil {
		return err
	}
	if m.Container(name) == nil {
		return &NotFoundError{What: "container", Name: name}
	}
	files, err := db.ExternalFiles(ctx)
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.Container == name {
			return fmt.Errorf("%w: container %q: version %d of branch %q reads %s through it (vacuum the versions that use it, or materialize the table, first)",
				ErrContainerInUse, name, f.LastVersion, f.Branch, f.URL)
		}
	}
	_, err = db.commitMeta(ctx, "DELETE CONTAINER", func(m *MetaState) (*Entry, error) {
		if m.Container(name) == nil {
			return nil, &NotFoundError{What: "container", Name: name}
		}
		return &Entry{Containers: []Container{{Name: name, Deleted: true}}}, nil
	})
	return err
}
