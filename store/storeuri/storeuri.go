// Package storeuri opens a store by URI, choosing the backend by scheme:
//
//	/var/lib/lakesql, ./data     a local directory (the default)
//	file:///var/lib/lakesql      the same, as a URI
//	mem://name                   a fresh in-memory store (tests)
//	s3://bucket/prefix?...       S3 or an S3-compatible server; see store/s3
//
// It is the only package that knows every backend, so that the rest of
// lakesql depends on the store interface alone.
package storeuri

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/store/mem"
	"github.com/lakesql/lakesql/store/s3"
)

// Open opens the store that uri names. Each mem:// URI opens a new, empty
// store.
func Open(ctx context.Context, uri string) (store.Store, error) {
	if strings.TrimSpace(uri) == "" {
		return nil, fmt.Errorf("store: empty location: give a directory, file://, mem:// or s3:// URI")
	}
	scheme, _, hasScheme := strings.Cut(uri, "://")
	if !hasScheme {
		return local.Open(uri)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("store: cannot parse %q: %w", redact(uri), err)
	}
	switch strings.ToLower(scheme) {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("store: %q: a file:// URI names a local path (file:///dir), not host %q", uri, u.Host)
		}
		if u.RawQuery != "" {
			return nil, fmt.Errorf("store: %q: a file:// URI takes no query", uri)
		}
		if u.Path == "" {
			return nil, fmt.Errorf("store: %q: no directory", uri)
		}
		return local.Open(u.Path)
	case "mem":
		return mem.NewNamed(strings.TrimPrefix(uri, scheme+"://")), nil
	case "s3":
		return s3.OpenURI(ctx, u)
	default:
		return nil, fmt.Errorf("store: unknown scheme %q in %q: use a directory, file://, mem:// or s3://", scheme, redact(uri))
	}
}

// redact removes the query of a URI, where credentials may be, for an error
// message.
func redact(uri string) string {
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		return uri[:i] + "?…"
	}
	return uri
}
