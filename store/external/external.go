// Package external opens the objects of virtual files: Parquet files that
// live outside the database's store, in containers (an S3 bucket and
// prefix on some endpoint, or a local directory), and that lakesql only
// reads.
//
// Credentials are a read-time concern: the commit log records containers
// without them, and a server takes them from its configuration. For an S3
// container the chain is, in order: the container's own credentials (the
// config file, or LAKESQL_CONTAINER_<NAME>_ACCESS_KEY_ID and
// _SECRET_ACCESS_KEY), unsigned requests when the container is anonymous,
// the default credentials for virtual reads (LAKESQL_VIRTUAL_ACCESS_KEY_ID
// and _SECRET_ACCESS_KEY, or the config file), and last the database
// store's own credentials when the container is on the same S3 endpoint.
// Without any, opening fails with ErrNoCredentials, naming the container
// and how to authorize it.
package external

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/store/s3"
)

// ErrNoCredentials is returned (wrapped) when an S3 container has no
// credentials in the chain.
var ErrNoCredentials = errors.New("external: no credentials for the container")

// ErrOutside is returned (wrapped) when a URL lies in no container.
var ErrOutside = errors.New("external: not inside a container")

// Container is a place virtual files may live.
type Container struct {
	Name string
	// Prefix is the URL prefix, ending in "/": s3://bucket/prefix/ or
	// file:///dir/.
	Prefix string
	// Platform is "s3" or "file".
	Platform string
	// Endpoint, Region and PathStyle address an S3 server (an empty
	// endpoint is AWS).
	Endpoint, Region string
	PathStyle        bool
	// Anonymous reads without signing requests.
	Anonymous bool
}

// Credentials are static S3 credentials.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

func (c *Credentials) empty() bool { return c == nil || c.AccessKeyID == "" }

// StoreS3 is the database store's own S3 configuration, the last link of
// the credential chain for containers on its endpoint.
type StoreS3 struct {
	Endpoint, Region string
	PathStyle        bool
	// Credentials are the store's static credentials; empty means the
	// standard AWS chain, as the store itself uses (with Profile, when
	// the store names one).
	Credentials Credentials
	Profile     string
}

// Config configures a Resolver.
type Config struct {
	// Containers holds credentials by container name.
	Containers map[string]Credentials
	// Default are the credentials for virtual reads of containers without
	// their own.
	Default *Credentials
	// Store is the database store's S3 configuration, nil when the store
	// is not on S3.
	Store *StoreS3
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
}

// Resolver opens objects in containers, keeping one store per container.
// It is safe for concurrent use.
type Resolver struct {
	cfg Config
	mu  sync.Mutex
	// stores by the container's address and credentials: a container
	// recreated with other options gets another store.
	stores map[string]store.Store
}

// New returns a Resolver.
func New(cfg Config) *Resolver {
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	return &Resolver{cfg: cfg, stores: map[string]store.Store{}}
}

// Close closes the containers' stores.
func (r *Resolver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, s := range r.stores {
		s.Close()
		delete(r.stores, k)
	}
	return nil
}

// EnvName is the environment variable holding a container's credential
// part ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN"):
// LAKESQL_CONTAINER_<NAME>_<PART>, the name upper-cased with every other
// character than a letter or a digit turned into "_".
func EnvName(container, part string) string {
	var b strings.Builder
	b.WriteString("LAKESQL_CONTAINER_")
	for _, r := range strings.ToUpper(container) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	b.WriteString("_" + part)
	return b.String()
}

func (r *Resolver) envCredentials(prefix string) Credentials {
	return Credentials{
		AccessKeyID:     r.cfg.Getenv(prefix + "ACCESS_KEY_ID"),
		SecretAccessKey: r.cfg.Getenv(prefix + "SECRET_ACCESS_KEY"),
		SessionToken:    r.cfg.Getenv(prefix + "SESSION_TOKEN"),
	}
}

// credentials walks the chain for an S3 container. useChain reports that
// the store's credentials come from the standard AWS chain.
func (r *Resolver) credentials(c Container) (creds Credentials, anonymous, useChain bool, source string, err error) {
	if cc, ok := r.cfg.Containers[c.Name]; ok && !cc.empty() {
		return cc, false, false, "the container's credentials in the configuration", nil
	}
	envPrefix := EnvName(c.Name, "")
	if cc := r.envCredentials(envPrefix); !cc.empty() {
		return cc, false, false, "the container's credentials in " + envPrefix + "*", nil
	}
	if c.Anonymous {
		return Credentials{}, true, false, "anonymous access", nil
	}
	if !r.cfg.Default.empty() {
		return *r.cfg.Default, false, false, "the default credentials for virtual reads", nil
	}
	if cc := r.envCredentials("LAKESQL_VIRTUAL_"); !cc.empty() {
		return cc, false, false, "the default credentials for virtual reads in LAKESQL_VIRTUAL_*", nil
	}
	if st := r.cfg.Store; st != nil && sameEndpoint(st.Endpoint, c.Endpoint) {
		return st.Credentials, false, st.Credentials.empty(), "the database store's credentials", nil
	}
	return Credentials{}, false, false, "", fmt.Errorf("%w: container %q (%s) has no credentials: set access_key_id and secret_access_key under [containers.%s] in the server's config file, or %s and %s in its environment (LAKESQL_VIRTUAL_ACCESS_KEY_ID and LAKESQL_VIRTUAL_SECRET_ACCESS_KEY for every container), or create the container with {\"anonymous\": true} for a public bucket",
		ErrNoCredentials, c.Name, c.Prefix, c.Name, EnvName(c.Name, "ACCESS_KEY_ID"), EnvName(c.Name, "SECRET_ACCESS_KEY"))
}

func sameEndpoint(a, b string) bool {
	norm := func(s string) string { return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "/") }
	return norm(a) == norm(b)
}

// storeFor returns the store of container c.
func (r *Resolver) storeFor(ctx context.Context, c Container) (store.Store, error) {
	u, err := url.Parse(c.Prefix)
	if err != nil {
		return nil, fmt.Errorf("external: container %q: %w", c.Name, err)
	}
	var (
		key  string
		open func() (store.Store, error)
	)
	switch c.Platform {
	case "file":
		key = "file\x00" + u.Path
		open = func() (store.Store, error) { return local.OpenReadOnly(u.Path) }
	case "s3":
		creds, anon, chain, _, err := r.credentials(c)
		if err != nil {
			return nil, err
		}
		cfg := s3.Config{
			Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), Endpoint: c.Endpoint, Region: c.Region,
			PathStyle: c.PathStyle, ReadOnly: true, Anonymous: anon,
			AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken,
		}
		if chain {
			cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken = "", "", ""
			cfg.Profile = r.cfg.Store.Profile
		}
		key = fmt.Sprintf("s3\x00%s\x00%s\x00%s\x00%s\x00%t\x00%t\x00%s\x00%s", c.Endpoint, c.Region, u.Host, cfg.Prefix,
			c.PathStyle, anon, creds.AccessKeyID, creds.SecretAccessKey)
		open = func() (store.Store, error) { return s3.New(ctx, cfg) }
	default:
		return nil, fmt.Errorf("external: container %q: platform %q is not supported", c.Name, c.Platform)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.stores[key]; s != nil {
		return s, nil
	}
	s, err := open()
	if err != nil {
		return nil, fmt.Errorf("external: container %q: %w", c.Name, err)
	}
	r.stores[key] = s
	return s, nil
}

// name is the object name of fileURL inside container c.
func name(c Container, fileURL string) (string, error) {
	rest, ok := strings.CutPrefix(fileURL, c.Prefix)
	if !ok || rest == "" {
		return "", fmt.Errorf("%w: %s is not a file inside container %q (%s)", ErrOutside, fileURL, c.Name, c.Prefix)
	}
	return rest, nil
}

// authHint adds to a failed read of container c what to check.
func authHint(c Container, err error) error {
	if err == nil || c.Platform != "s3" || errors.Is(err, store.ErrNotExist) || errors.Is(err, store.ErrChanged) || errors.Is(err, ErrNoCredentials) {
		return err
	}
	return fmt.Errorf("%w (container %q: check that its credentials may read it: [containers.%s] in the config file or %s)",
		err, c.Name, c.Name, EnvName(c.Name, "ACCESS_KEY_ID"))
}

// Open opens the object at fileURL in container c and checks that it is the
// object exp describes: a changed object gives store.ErrChanged, at open or
// on any later read.
func (r *Resolver) Open(ctx context.Context, c Container, fileURL string, exp store.Expect) (store.Object, error) {
	n, err := name(c, fileURL)
	if err != nil {
		return nil, err
	}
	st, err := r.storeFor(ctx, c)
	if err != nil {
		return nil, err
	}
	obj, err := store.OpenExpect(ctx, st, n, exp)
	if err != nil {
		return nil, authHint(c, err)
	}
	return obj, nil
}

// Stat describes the object at fileURL in container c.
func (r *Resolver) Stat(ctx context.Context, c Container, fileURL string) (store.Info, error) {
	n, err := name(c, fileURL)
	if err != nil {
		return store.Info{}, err
	}
	st, err := r.storeFor(ctx, c)
	if err != nil {
		return store.Info{}, err
	}
	info, err := st.Stat(ctx, n)
	return info, authHint(c, err)
}

// Reader returns a store.Reader of container c whose object names are the
// files' URLs, for code that reads through store.Reader (Parquet footers).
func (r *Resolver) Reader(c Container) store.Reader { return &urlReader{r: r, c: c} }

type urlReader struct {
	r *Resolver
	c Container
}

func (u *urlReader) Open(ctx context.Context, fileURL string) (store.Object, error) {
	return u.r.Open(ctx, u.c, fileURL, store.Expect{})
}

func (u *urlReader) Stat(ctx context.Context, fileURL string) (store.Info, error) {
	return u.r.Stat(ctx, u.c, fileURL)
}

func (u *urlReader) List(ctx context.Context, prefix, startAfter string) iter.Seq2[store.Info, error] {
	return u.r.List(ctx, u.c, prefix)
}

// HasGlob reports whether s holds a glob metacharacter (*, ?, [).
func HasGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// List yields the objects of container c whose URLs begin with urlPrefix,
// in URL order, with Info.Name set to the URL.
func (r *Resolver) List(ctx context.Context, c Container, urlPrefix string) iter.Seq2[store.Info, error] {
	return func(yield func(store.Info, error) bool) {
		rest, ok := strings.CutPrefix(urlPrefix, c.Prefix)
		if !ok {
			yield(store.Info{}, fmt.Errorf("%w: %s is not inside container %q (%s)", ErrOutside, urlPrefix, c.Name, c.Prefix))
			return
		}
		st, err := r.storeFor(ctx, c)
		if err != nil {
			yield(store.Info{}, err)
			return
		}
		for info, err := range st.List(ctx, rest, "") {
			if err != nil {
				yield(store.Info{}, authHint(c, err))
				return
			}
			info.Name = c.Prefix + info.Name
			if !yield(info, nil) {
				return
			}
		}
	}
}

// Glob returns the objects of container c whose URLs match pattern
// (path.Match syntax; "*" does not cross "/"), in URL order. The
// container's prefix is literal: only the rest of pattern is matched, so a
// prefix may hold metacharacters. A pattern without metacharacters after
// the prefix names one object, which must exist.
func (r *Resolver) Glob(ctx context.Context, c Container, pattern string) ([]store.Info, error) {
	rest, ok := strings.CutPrefix(pattern, c.Prefix)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not inside container %q (%s)", ErrOutside, pattern, c.Name, c.Prefix)
	}
	if !HasGlob(rest) {
		info, err := r.Stat(ctx, c, pattern)
		if err != nil {
			return nil, err
		}
		info.Name = pattern
		return []store.Info{info}, nil
	}
	if _, err := path.Match(rest, ""); err != nil {
		return nil, fmt.Errorf("external: bad pattern %q: %w", pattern, err)
	}
	fixed := c.Prefix + rest[:strings.IndexAny(rest, "*?[")]
	var out []store.Info
	for info, err := range r.List(ctx, c, fixed) {
		if err != nil {
			return nil, err
		}
		if ok, _ := path.Match(rest, strings.TrimPrefix(info.Name, c.Prefix)); ok {
			out = append(out, info)
		}
	}
	return out, nil
}

// CredentialSource says where reads of container c take their credentials
// from (never the credentials themselves), or why they have none.
func (r *Resolver) CredentialSource(c Container) string {
	if c.Platform != "s3" {
		return "not needed (local files)"
	}
	_, _, _, source, err := r.credentials(c)
	if err != nil {
		return "none: reads fail until the server has them"
	}
	return source
}

// Check checks, without reading it, that the object at fileURL in container
// c is still the object exp describes: a HEAD request on S3 (by ETag when
// one was recorded), a stat of a local file (size and modification time).
// A changed object gives store.ErrChanged, a missing one store.ErrNotExist.
func (r *Resolver) Check(ctx context.Context, c Container, fileURL string, exp store.Expect) error {
	n, err := name(c, fileURL)
	if err != nil {
		return err
	}
	var info store.Info
	switch c.Platform {
	case "file":
		u, err := url.Parse(c.Prefix)
		if err != nil {
			return err
		}
		fi, err := os.Stat(filepath.Join(filepath.FromSlash(u.Path), filepath.FromSlash(n)))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return store.NotExist(stringer(c.Prefix), n)
			}
			return err
		}
		info = store.Info{Name: n, Size: fi.Size(), LastModified: fi.ModTime()}
		exp.ETag = ""
	default:
		st, err := r.storeFor(ctx, c)
		if err != nil {
			return err
		}
		if info, err = st.Stat(ctx, n); err != nil {
			return authHint(c, err)
		}
		if exp.ETag != "" {
			exp.LastModified = time.Time{} // HEAD and LIST round times differently
		}
	}
	if why := exp.Mismatch(info); why != "" {
		return store.Changed(stringer(c.Prefix), n, why)
	}
	return nil
}

// stringer names a container in errors.
type stringer string

func (s stringer) String() string { return string(s) }
