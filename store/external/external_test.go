package external

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/s3/s3test"
)

// env is a Getenv that reads m only, so that the process environment
// does not leak into the credential chain.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestEnvName(t *testing.T) {
	for _, tc := range []struct{ container, part, want string }{
		{"archive", "ACCESS_KEY_ID", "LAKESQL_CONTAINER_ARCHIVE_ACCESS_KEY_ID"},
		{"archive", "SECRET_ACCESS_KEY", "LAKESQL_CONTAINER_ARCHIVE_SECRET_ACCESS_KEY"},
		{"Archive2", "SESSION_TOKEN", "LAKESQL_CONTAINER_ARCHIVE2_SESSION_TOKEN"},
		{"my-lake.1", "ACCESS_KEY_ID", "LAKESQL_CONTAINER_MY_LAKE_1_ACCESS_KEY_ID"},
		{"a_b c", "ACCESS_KEY_ID", "LAKESQL_CONTAINER_A_B_C_ACCESS_KEY_ID"},
		{"été", "ACCESS_KEY_ID", "LAKESQL_CONTAINER__T__ACCESS_KEY_ID"}, // one "_" per non-ASCII letter
		{"archive", "", "LAKESQL_CONTAINER_ARCHIVE_"},
	} {
		if got := EnvName(tc.container, tc.part); got != tc.want {
			t.Errorf("EnvName(%q, %q) = %q, want %q", tc.container, tc.part, got, tc.want)
		}
	}
}

// TestCredentialChain walks the chain of an S3 container link by link:
// every case holds all the links below the one it expects, so each link
// is shown to win over the rest.
func TestCredentialChain(t *testing.T) {
	const endpoint = "http://127.0.0.1:9000"
	var (
		cfgCreds     = Credentials{AccessKeyID: "cfg-ak", SecretAccessKey: "cfg-sk"}
		otherCreds   = Credentials{AccessKeyID: "other-ak", SecretAccessKey: "other-sk"}
		defaultCreds = Credentials{AccessKeyID: "def-ak", SecretAccessKey: "def-sk", SessionToken: "def-tok"}
		storeCreds   = Credentials{AccessKeyID: "store-ak", SecretAccessKey: "store-sk"}
	)
	containerEnv := map[string]string{
		"LAKESQL_CONTAINER_ARCHIVE_ACCESS_KEY_ID":     "env-ak",
		"LAKESQL_CONTAINER_ARCHIVE_SECRET_ACCESS_KEY": "env-sk",
		"LAKESQL_CONTAINER_ARCHIVE_SESSION_TOKEN":     "env-tok",
	}
	virtualEnv := map[string]string{
		"LAKESQL_VIRTUAL_ACCESS_KEY_ID":     "venv-ak",
		"LAKESQL_VIRTUAL_SECRET_ACCESS_KEY": "venv-sk",
	}
	both := func(a, b map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range a {
			m[k] = v
		}
		for k, v := range b {
			m[k] = v
		}
		return m
	}
	sameStore := &StoreS3{Endpoint: endpoint, Credentials: storeCreds}

	type want struct {
		creds            Credentials
		anonymous, chain bool
		source           string
	}
	for _, tc := range []struct {
		name      string
		cfg       Config
		anonymous bool
		endpoint  string // the container's; endpoint when empty
		want      want
		wantErr   bool
	}{
		{
			name:      "container config beats container env",
			cfg:       Config{Containers: map[string]Credentials{"archive": cfgCreds, "other": otherCreds}, Default: &defaultCreds, Store: sameStore, Getenv: env(both(containerEnv, virtualEnv))},
			anonymous: true,
			want:      want{creds: cfgCreds, source: "the container's credentials in the configuration"},
		},
		{
			name:      "container env beats anonymous",
			cfg:       Config{Containers: map[string]Credentials{"other": otherCreds}, Default: &defaultCreds, Store: sameStore, Getenv: env(both(containerEnv, virtualEnv))},
			anonymous: true,
			want: want{creds: Credentials{AccessKeyID: "env-ak", SecretAccessKey: "env-sk", SessionToken: "env-tok"},
				source: "the container's credentials in LAKESQL_CONTAINER_ARCHIVE_*"},
		},
		{
			name:      "empty container config is no link",
			cfg:       Config{Containers: map[string]Credentials{"archive": {}}, Default: &defaultCreds, Store: sameStore, Getenv: env(both(containerEnv, virtualEnv))},
			anonymous: true,
			want: want{creds: Credentials{AccessKeyID: "env-ak", SecretAccessKey: "env-sk", SessionToken: "env-tok"},
				source: "the container's credentials in LAKESQL_CONTAINER_ARCHIVE_*"},
		},
		{
			name:      "anonymous beats default config",
			cfg:       Config{Containers: map[string]Credentials{"other": otherCreds}, Default: &defaultCreds, Store: sameStore, Getenv: env(virtualEnv)},
			anonymous: true,
			want:      want{anonymous: true, source: "anonymous access"},
		},
		{
			name: "default config beats default env",
			cfg:  Config{Containers: map[string]Credentials{"other": otherCreds}, Default: &defaultCreds, Store: sameStore, Getenv: env(virtualEnv)},
			want: want{creds: defaultCreds, source: "the default credentials for virtual reads"},
		},
		{
			name: "default env beats the store's",
			cfg:  Config{Default: &Credentials{}, Store: sameStore, Getenv: env(virtualEnv)},
			want: want{creds: Credentials{AccessKeyID: "venv-ak", SecretAccessKey: "venv-sk"},
				source: "the default credentials for virtual reads in LAKESQL_VIRTUAL_*"},
		},
		{
			name: "the store's on the same endpoint",
			cfg:  Config{Store: sameStore, Getenv: env(nil)},
			want: want{creds: storeCreds, source: "the database store's credentials"},
		},
		{
			name:     "the store's: endpoints compared without case and trailing slash",
			cfg:      Config{Store: &StoreS3{Endpoint: "HTTP://127.0.0.1:9000/", Credentials: storeCreds}, Getenv: env(nil)},
			endpoint: "http://127.0.0.1:9000",
			want:     want{creds: storeCreds, source: "the database store's credentials"},
		},
		{
			name:     "the store's: the container's endpoint with a trailing slash",
			cfg:      Config{Store: sameStore, Getenv: env(nil)},
			endpoint: "http://127.0.0.1:9000/",
			want:     want{creds: storeCreds, source: "the database store's credentials"},
		},
		{
			name: "the store's from the AWS chain",
			cfg:  Config{Store: &StoreS3{Endpoint: endpoint}, Getenv: env(nil)},
			want: want{chain: true, source: "the database store's credentials"},
		},
		{
			name:    "the store on another endpoint",
			cfg:     Config{Containers: map[string]Credentials{"other": otherCreds}, Store: &StoreS3{Endpoint: "http://127.0.0.1:9001", Credentials: storeCreds}, Getenv: env(nil)},
			wantErr: true,
		},
		{
			name:     "the store on AWS, the container elsewhere",
			cfg:      Config{Store: &StoreS3{Credentials: storeCreds}, Getenv: env(nil)},
			endpoint: "http://127.0.0.1:9000",
			wantErr:  true,
		},
		{
			name:    "no store on S3",
			cfg:     Config{Getenv: env(nil)},
			wantErr: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Container{Name: "archive", Prefix: "s3://bucket/lake/", Platform: "s3", Endpoint: endpoint, Anonymous: tc.anonymous}
			if tc.endpoint != "" {
				c.Endpoint = tc.endpoint
			}
			r := New(tc.cfg)
			defer r.Close()
			creds, anon, chain, source, err := r.credentials(c)
			if tc.wantErr {
				if !errors.Is(err, ErrNoCredentials) {
					t.Fatalf("credentials: %v (source %q), want ErrNoCredentials", err, source)
				}
				for _, s := range []string{`container "archive"`, "s3://bucket/lake/", "[containers.archive]",
					"LAKESQL_CONTAINER_ARCHIVE_ACCESS_KEY_ID", "LAKESQL_CONTAINER_ARCHIVE_SECRET_ACCESS_KEY", "LAKESQL_VIRTUAL_ACCESS_KEY_ID"} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("the error does not say %q: %v", s, err)
					}
				}
				if got := r.CredentialSource(c); !strings.HasPrefix(got, "none") {
					t.Errorf("CredentialSource = %q, want none", got)
				}
				_, err := r.Open(context.Background(), c, "s3://bucket/lake/f.parquet", store.Expect{})
				if !errors.Is(err, ErrNoCredentials) {
					t.Errorf("Open without credentials: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("credentials: %v", err)
			}
			got := want{creds: creds, anonymous: anon, chain: chain, source: source}
			if got != tc.want {
				t.Fatalf("credentials:\n got %+v\nwant %+v", got, tc.want)
			}
			if s := r.CredentialSource(c); s != tc.want.source {
				t.Errorf("CredentialSource = %q, want %q", s, tc.want.source)
			}
		})
	}

	t.Run("a file container needs none", func(t *testing.T) {
		r := New(Config{Getenv: env(nil)})
		c := Container{Name: "archive", Prefix: "file:///data/", Platform: "file"}
		if got := r.CredentialSource(c); got != "not needed (local files)" {
			t.Errorf("CredentialSource of a file container = %q", got)
		}
	})
}

// fileContainer makes a directory of files (name -> content) and a
// container on it.
func fileContainer(t *testing.T, files map[string]string) (Container, string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Container{Name: "local", Prefix: "file://" + filepath.ToSlash(dir) + "/", Platform: "file"}, dir
}

// tree lists every entry under dir, directories too.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func names(infos []store.Info) []string {
	out := make([]string, len(infos))
	for i, info := range infos {
		out[i] = info.Name
	}
	return out
}

func TestFileGlobAndList(t *testing.T) {
	ctx := context.Background()
	c, dir := fileContainer(t, map[string]string{
		"a.parquet":            "aa",
		"b.parquet":            "bbb",
		"c.parquet":            "c",
		"notes.txt":            "n",
		"sub/d.parquet":        "d",
		"sub/deep/e.parquet":   "e",
		"subway/f.parquet":     "f",
		"other/sub/g.parquet":  "g",
		"other/sub/h.parquetx": "h",
	})
	before := tree(t, dir)
	p := c.Prefix
	r := New(Config{Getenv: env(nil)})
	defer r.Close()

	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{p + "*.parquet", []string{p + "a.parquet", p + "b.parquet", p + "c.parquet"}},
		{p + "[ab].parquet", []string{p + "a.parquet", p + "b.parquet"}},
		{p + "?.parquet", []string{p + "a.parquet", p + "b.parquet", p + "c.parquet"}},
		{p + "sub/*.parquet", []string{p + "sub/d.parquet"}},
		{p + "sub/*/*.parquet", []string{p + "sub/deep/e.parquet"}},
		{p + "*/*.parquet", []string{p + "sub/d.parquet", p + "subway/f.parquet"}},
		{p + "other/*/*.parquet", []string{p + "other/sub/g.parquet"}},
		{p + "*.csv", nil},
		{p + "b.parquet", []string{p + "b.parquet"}},
		{p + "sub/deep/e.parquet", []string{p + "sub/deep/e.parquet"}},
	} {
		got, err := r.Glob(ctx, c, tc.pattern)
		if err != nil {
			t.Errorf("Glob(%s): %v", tc.pattern, err)
			continue
		}
		if !slices.Equal(names(got), tc.want) {
			t.Errorf("Glob(%s) =\n %q\nwant\n %q", tc.pattern, names(got), tc.want)
		}
	}
	got, err := r.Glob(ctx, c, p+"b.parquet")
	if err != nil || len(got) != 1 || got[0].Size != 3 {
		t.Errorf("Glob of a plain URL: %+v, %v; want one file of 3 bytes", got, err)
	}
	if _, err := r.Glob(ctx, c, p+"missing.parquet"); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("Glob of a missing plain URL: %v, want ErrNotExist", err)
	}
	if _, err := r.Glob(ctx, c, p+"[a.parquet"); err == nil || !strings.Contains(err.Error(), "bad pattern") {
		t.Errorf("Glob of a bad pattern: %v", err)
	}
	if _, err := r.Glob(ctx, c, p+"x/[a-.parquet"); err == nil {
		t.Error("Glob of a bad pattern that matches no file: no error")
	}
	if _, err := r.Glob(ctx, c, "file:///elsewhere/*.parquet"); !errors.Is(err, ErrOutside) {
		t.Errorf("Glob outside the container: %v, want ErrOutside", err)
	}

	var listed []string
	for info, err := range r.List(ctx, c, p+"sub") {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		listed = append(listed, info.Name)
	}
	if want := []string{p + "sub/d.parquet", p + "sub/deep/e.parquet", p + "subway/f.parquet"}; !slices.Equal(listed, want) {
		t.Errorf("List(%ssub) =\n %q\nwant\n %q", p, listed, want)
	}
	listed = nil
	for info, err := range r.Reader(c).List(ctx, p+"sub/", "") {
		if err != nil {
			t.Fatalf("Reader.List: %v", err)
		}
		listed = append(listed, info.Name)
	}
	if want := []string{p + "sub/d.parquet", p + "sub/deep/e.parquet"}; !slices.Equal(listed, want) {
		t.Errorf("Reader.List(%ssub/) =\n %q\nwant\n %q", p, listed, want)
	}
	for _, err := range r.List(ctx, c, "file:///elsewhere/") {
		if !errors.Is(err, ErrOutside) {
			t.Errorf("List outside the container: %v, want ErrOutside", err)
		}
	}

	// Names outside the container, or the container itself.
	for _, u := range []string{"file:///elsewhere/a.parquet", p, strings.TrimSuffix(p, "/"), "s3://bucket/a.parquet"} {
		if _, err := r.Stat(ctx, c, u); !errors.Is(err, ErrOutside) {
			t.Errorf("Stat(%s): %v, want ErrOutside", u, err)
		}
		if _, err := r.Open(ctx, c, u, store.Expect{}); !errors.Is(err, ErrOutside) {
			t.Errorf("Open(%s): %v, want ErrOutside", u, err)
		}
		if err := r.Check(ctx, c, u, store.Expect{}); !errors.Is(err, ErrOutside) {
			t.Errorf("Check(%s): %v, want ErrOutside", u, err)
		}
	}

	if after := tree(t, dir); !slices.Equal(after, before) {
		t.Errorf("reading the container changed its directory:\nbefore %q\nafter  %q", before, after)
	}
}

// TestFileExpect opens and checks files of a file container against what
// was recorded of them, as they are rewritten and removed.
func TestFileExpect(t *testing.T) {
	ctx := context.Background()
	c, dir := fileContainer(t, map[string]string{"part/f.parquet": "0123456789"})
	before := tree(t, dir)
	p := filepath.Join(dir, "part", "f.parquet")
	u := c.Prefix + "part/f.parquet"
	recordedAt := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	if err := os.Chtimes(p, recordedAt, recordedAt); err != nil {
		t.Fatal(err)
	}
	r := New(Config{Getenv: env(nil)})
	defer r.Close()

	info, err := r.Stat(ctx, c, u)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != 10 || !info.LastModified.Equal(recordedAt) {
		t.Fatalf("Stat = %+v, want 10 bytes modified at %s", info, recordedAt)
	}
	exp := store.Expect{Size: 10, LastModified: recordedAt}
	obj, err := r.Open(ctx, c, u, exp)
	if err != nil {
		t.Fatalf("Open of the recorded file: %v", err)
	}
	got, err := io.ReadAll(io.NewSectionReader(obj, 0, obj.Size()))
	obj.Close()
	if err != nil || string(got) != "0123456789" {
		t.Fatalf("read %q, %v", got, err)
	}
	if err := r.Check(ctx, c, u, exp); err != nil {
		t.Fatalf("Check of the recorded file: %v", err)
	}
	// A file is checked by size and time: an ETag (the content's hash)
	// is not compared.
	if err := r.Check(ctx, c, u, store.Expect{ETag: "not-the-etag", Size: 10, LastModified: recordedAt}); err != nil {
		t.Fatalf("Check with another ETag: %v", err)
	}

	// Rewritten in place with as many bytes: only the time tells.
	if err := os.WriteFile(p, []byte("abcdefghij"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, recordedAt.Add(time.Second), recordedAt.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open(ctx, c, u, exp); !errors.Is(err, store.ErrChanged) {
		t.Errorf("Open of a file rewritten with as many bytes: %v, want ErrChanged", err)
	}
	if err := r.Check(ctx, c, u, exp); !errors.Is(err, store.ErrChanged) || !strings.Contains(err.Error(), "modification time") {
		t.Errorf("Check of a file rewritten with as many bytes: %v, want ErrChanged naming the time", err)
	}

	// Rewritten with other content, and back to the recorded time: the
	// size tells.
	if err := os.WriteFile(p, []byte("longer than before"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, recordedAt, recordedAt); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open(ctx, c, u, exp); !errors.Is(err, store.ErrChanged) {
		t.Errorf("Open of a rewritten file: %v, want ErrChanged", err)
	}
	err = r.Check(ctx, c, u, exp)
	if !errors.Is(err, store.ErrChanged) || !strings.Contains(err.Error(), "part/f.parquet") || !strings.Contains(err.Error(), "expected size 10, found 18") {
		t.Errorf("Check of a rewritten file: %v, want ErrChanged naming the file and the sizes", err)
	}

	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(ctx, c, u, exp); !errors.Is(err, store.ErrNotExist) || !strings.Contains(err.Error(), "part/f.parquet") {
		t.Errorf("Check of a removed file: %v, want ErrNotExist naming the file", err)
	}
	if _, err := r.Open(ctx, c, u, exp); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("Open of a removed file: %v, want ErrNotExist", err)
	}

	if err := os.Remove(filepath.Dir(p)); err != nil {
		t.Fatal(err)
	}
	if after := tree(t, dir); !slices.Equal(after, before[:1]) {
		t.Errorf("the container's directory holds %q, want only itself", after)
	}
}

// TestS3Container reads a bucket on the second test server, whose
// credentials are not the first server's, through each link of the chain
// that can reach it.
func TestS3Container(t *testing.T) {
	ctx := context.Background()
	ext := s3test.External(t)
	content := bytes.Repeat([]byte("virtual!"), 8<<10)
	ext.Put(t, "lake/a.parquet", content)
	ext.Put(t, "lake/b.parquet", []byte("b"))
	ext.Put(t, "lake/sub/c.parquet", []byte("c"))
	ext.Put(t, "other/d.parquet", []byte("d"))
	p := "s3://" + ext.Bucket + "/lake/"
	c := Container{Name: "archive", Prefix: p, Platform: "s3", Endpoint: ext.Endpoint, PathStyle: true}
	extCreds := Credentials{AccessKeyID: ext.AccessKeyID, SecretAccessKey: ext.SecretAccessKey}

	// read opens a.parquet and checks its bytes, and globs the container.
	read := func(t *testing.T, r *Resolver) {
		t.Helper()
		info, err := r.Stat(ctx, c, p+"a.parquet")
		if err != nil {
			t.Fatalf("Stat: %v", err)
		}
		obj, err := r.Open(ctx, c, p+"a.parquet", store.Expect{ETag: info.ETag, Size: info.Size, LastModified: info.LastModified})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer obj.Close()
		got := make([]byte, len(content))
		if _, err := obj.ReadAt(got, 0); err != nil || !bytes.Equal(got, content) {
			t.Fatalf("ReadAt: %v, or other bytes", err)
		}
		infos, err := r.Glob(ctx, c, p+"*.parquet")
		if err != nil {
			t.Fatalf("Glob: %v", err)
		}
		if want := []string{p + "a.parquet", p + "b.parquet"}; !slices.Equal(names(infos), want) {
			t.Fatalf("Glob = %q, want %q", names(infos), want)
		}
		if infos[0].Size != int64(len(content)) {
			t.Fatalf("Glob gives a.parquet %d bytes, want %d", infos[0].Size, len(content))
		}
	}

	t.Run("container credentials", func(t *testing.T) {
		r := New(Config{Containers: map[string]Credentials{"archive": extCreds}, Getenv: env(nil)})
		defer r.Close()
		read(t, r)
		var listed []string
		for info, err := range r.List(ctx, c, p) {
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			listed = append(listed, info.Name)
		}
		if want := []string{p + "a.parquet", p + "b.parquet", p + "sub/c.parquet"}; !slices.Equal(listed, want) {
			t.Fatalf("List = %q, want %q", listed, want)
		}
	})

	t.Run("container credentials in the environment", func(t *testing.T) {
		r := New(Config{Getenv: env(map[string]string{
			"LAKESQL_CONTAINER_ARCHIVE_ACCESS_KEY_ID":     ext.AccessKeyID,
			"LAKESQL_CONTAINER_ARCHIVE_SECRET_ACCESS_KEY": ext.SecretAccessKey,
		})})
		defer r.Close()
		read(t, r)
	})

	t.Run("the store's own on the same endpoint", func(t *testing.T) {
		r := New(Config{Store: &StoreS3{Endpoint: ext.Endpoint + "/", PathStyle: true, Credentials: extCreds}, Getenv: env(nil)})
		defer r.Close()
		if got := r.CredentialSource(c); got != "the database store's credentials" {
			t.Fatalf("CredentialSource = %q", got)
		}
		read(t, r)
	})

	t.Run("the store on the other server", func(t *testing.T) {
		_, uri := s3test.NewStore(t) // the database's store, on the first server
		r := New(Config{Store: &StoreS3{Endpoint: s3test.Endpoint(t), PathStyle: true}, Getenv: env(nil)})
		defer r.Close()
		_, err := r.Open(ctx, c, p+"a.parquet", store.Expect{})
		if !errors.Is(err, ErrNoCredentials) || !strings.Contains(err.Error(), `container "archive"`) {
			t.Fatalf("Open with the store (%s) on another server: %v, want ErrNoCredentials", uri, err)
		}
	})

	t.Run("wrong default credentials", func(t *testing.T) {
		first := Credentials{AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY")}
		if first.empty() || first.SecretAccessKey == ext.SecretAccessKey {
			t.Fatalf("the first test server's credentials (AWS_ACCESS_KEY_ID) are not set or are the second's")
		}
		r := New(Config{Default: &first, Getenv: env(nil)})
		defer r.Close()
		if got := r.CredentialSource(c); got != "the default credentials for virtual reads" {
			t.Fatalf("CredentialSource = %q", got)
		}
		_, openErr := r.Open(ctx, c, p+"a.parquet", store.Expect{})
		_, statErr := r.Stat(ctx, c, p+"a.parquet")
		_, globErr := r.Glob(ctx, c, p+"*.parquet")
		for what, err := range map[string]error{"Open": openErr, "Stat": statErr, "Glob": globErr} {
			if err == nil {
				t.Errorf("%s with another server's credentials succeeded", what)
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, `container "archive"`) || !strings.Contains(msg, "LAKESQL_CONTAINER_ARCHIVE_ACCESS_KEY_ID") {
				t.Errorf("%s: %q does not name the container and how to authorize it", what, msg)
			}
			if strings.Contains(msg, first.SecretAccessKey) || strings.Contains(msg, ext.SecretAccessKey) {
				t.Errorf("%s: %q holds a secret", what, msg)
			}
			if errors.Is(err, store.ErrNotExist) {
				t.Errorf("%s: %v matches ErrNotExist", what, err)
			}
		}
	})

	t.Run("check", func(t *testing.T) {
		r := New(Config{Containers: map[string]Credentials{"archive": extCreds}, Getenv: env(nil)})
		defer r.Close()
		u := p + "b.parquet"
		info, err := r.Stat(ctx, c, u)
		if err != nil {
			t.Fatal(err)
		}
		exp := store.Expect{ETag: info.ETag, Size: info.Size, LastModified: info.LastModified}
		if err := r.Check(ctx, c, u, exp); err != nil {
			t.Fatalf("Check of the recorded object: %v", err)
		}
		// Recorded from a listing, as a glob records files, and checked
		// by HEAD.
		listed, err := r.Glob(ctx, c, p+"[b].parquet")
		if err != nil || len(listed) != 1 {
			t.Fatalf("Glob: %v, %v", listed, err)
		}
		fromList := store.Expect{ETag: listed[0].ETag, Size: listed[0].Size, LastModified: listed[0].LastModified}
		if fromList.ETag == "" {
			t.Fatal("the listing gives no ETag")
		}
		if err := r.Check(ctx, c, u, fromList); err != nil {
			t.Fatalf("Check of the object recorded by a listing (%s, by HEAD %s): %v", fromList.LastModified, info.LastModified, err)
		}
		ext.Put(t, "lake/b.parquet", []byte("B")) // as long, another ETag
		for _, exp := range []store.Expect{exp, fromList} {
			if err := r.Check(ctx, c, u, exp); !errors.Is(err, store.ErrChanged) || !strings.Contains(err.Error(), "b.parquet") {
				t.Fatalf("Check of an overwritten object: %v, want ErrChanged naming it", err)
			}
		}
		if _, err := r.Open(ctx, c, u, exp); !errors.Is(err, store.ErrChanged) {
			t.Fatalf("Open of an overwritten object: %v, want ErrChanged", err)
		}
		ext.Delete(t, "lake/b.parquet")
		if err := r.Check(ctx, c, u, exp); !errors.Is(err, store.ErrNotExist) {
			t.Fatalf("Check of a deleted object: %v, want ErrNotExist", err)
		}
		if _, err := r.Glob(ctx, c, u); !errors.Is(err, store.ErrNotExist) {
			t.Fatalf("Glob of a deleted object: %v, want ErrNotExist", err)
		}
	})
}

// TestGlobLiteralPrefix globs a container whose own prefix holds glob
// metacharacters: only the part of a pattern after the prefix is one.
func TestGlobLiteralPrefix(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "lake[1]*")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a.parquet", "b.parquet", "sub/c.parquet"} {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(n)), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := Container{Name: "brackets", Prefix: "file://" + filepath.ToSlash(dir) + "/", Platform: "file"}
	p := c.Prefix
	r := New(Config{Getenv: env(nil)})
	defer r.Close()
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{p + "a.parquet", []string{p + "a.parquet"}},
		{p + "*.parquet", []string{p + "a.parquet", p + "b.parquet"}},
		{p + "sub/[c].parquet", []string{p + "sub/c.parquet"}},
	} {
		got, err := r.Glob(ctx, c, tc.pattern)
		if err != nil || !slices.Equal(names(got), tc.want) {
			t.Errorf("Glob(%s) = %q, %v; want %q", tc.pattern, names(got), err, tc.want)
		}
	}
}
