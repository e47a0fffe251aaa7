package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
)

func TestMissingBucket(t *testing.T) {
	cfg := testConfig(t, "lakesql-no-such-bucket-4711", "")
	_, err := New(context.Background(), cfg)
	if !errors.Is(err, ErrBucketNotExist) || !strings.Contains(err.Error(), `s3: bucket "lakesql-no-such-bucket-4711" does not exist`) {
		t.Fatalf("opening a missing bucket: %v", err)
	}
	t.Logf("error: %v", err)
}

func TestWrongCredentials(t *testing.T) {
	const secret, token = "WrongSecretKeyValue0123456789", "WrongSessionTokenValue987"
	bucket := newBucket(t)
	for _, tok := range []string{"", token} {
		cfg := testConfig(t, bucket, "")
		cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken = "lakesql-wrong-key", secret, tok
		_, err := New(context.Background(), cfg)
		if !errors.Is(err, ErrAccessDenied) || !strings.Contains(err.Error(), fmt.Sprintf("access denied to bucket %q: check the credentials", bucket)) {
			t.Fatalf("opening with wrong credentials: %v", err)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), token) {
			t.Fatalf("the error contains a secret: %v", err)
		}
		t.Logf("error: %v", err)
	}
	// Through a URI, the secret is in the query: still not in the error.
	u, _ := url.Parse("s3://" + bucket + "?path_style=true&access_key_id=nobody&secret_access_key=" + secret +
		"&endpoint=" + url.QueryEscape(testEndpoint(t)))
	_, err := OpenURI(context.Background(), u)
	if !errors.Is(err, ErrAccessDenied) || strings.Contains(err.Error(), secret) {
		t.Fatalf("OpenURI with wrong credentials: %v", err)
	}
}

// TestProfile takes the credentials from a shared config profile.
func TestProfile(t *testing.T) {
	bucket := newBucket(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "config")
	content := fmt.Sprintf("[profile lakesqltest]\nregion = us-east-1\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"))
	if err := os.WriteFile(conf, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", conf)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	u, _ := url.Parse("s3://" + bucket + "/p?path_style=true&profile=lakesqltest&endpoint=" + url.QueryEscape(testEndpoint(t)))
	s, err := OpenURI(context.Background(), u)
	if err != nil {
		t.Fatalf("opening with a profile: %v", err)
	}
	defer s.Close()
	if _, err := store.PutBytes(context.Background(), s, "x", []byte("y"), store.IfAbsent()); err != nil {
		t.Fatal(err)
	}
}

// TestUnreachable opens a store on a closed loopback port: a quick error
// that names the endpoint.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep := "http://" + l.Addr().String()
	l.Close()
	start := time.Now()
	_, err = New(context.Background(), Config{Bucket: "b", Endpoint: ep, PathStyle: true,
		AccessKeyID: "k", SecretAccessKey: "unreachable-secret"})
	took := time.Since(start)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "cannot reach the server at "+ep) {
		t.Fatalf("opening an unreachable store: %v", err)
	}
	if took > 5*time.Second {
		t.Fatalf("failing took %v", took)
	}
	t.Logf("failed in %v: %v", took.Round(time.Millisecond), err)
}

// fakeS3 is an S3 server that keeps nothing and honours a choice of
// conditional headers: the kind of server New must refuse.
type fakeS3 struct {
	ifNoneMatch, ifMatch bool

	mu        sync.Mutex
	objects   map[string]bool
	deletes   int
	conflicts int // 409 answers to give to conditional PUTs of .../conflict
	puts      int // conditional PUTs of .../conflict
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	exists := f.objects[r.URL.Path]
	switch r.Method {
	case http.MethodPut:
		if strings.HasSuffix(r.URL.Path, "/conflict") {
			f.puts++
			if f.conflicts > 0 {
				f.conflicts--
				w.WriteHeader(http.StatusConflict)
				fmt.Fprint(w, `<Error><Code>ConditionalRequestConflict</Code><Message>busy</Message></Error>`)
				return
			}
		}
		if f.ifNoneMatch && r.Header.Get("If-None-Match") == "*" && exists ||
			f.ifMatch && r.Header.Get("If-Match") != "" && r.Header.Get("If-Match") != `"fake"` {
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		f.objects[r.URL.Path] = true
		w.Header().Set("ETag", `"fake"`)
	case http.MethodDelete:
		delete(f.objects, r.URL.Path)
		f.deletes++
		w.WriteHeader(http.StatusNoContent)
	}
}

func TestProbeRefusesServer(t *testing.T) {
	for _, tc := range []struct {
		ifNoneMatch, ifMatch bool
		want                 string
	}{
		{false, false, "ignores conditional writes (If-None-Match); lakesql needs put-if-absent"},
		{false, true, "ignores conditional writes (If-None-Match); lakesql needs put-if-absent"},
		{true, false, "ignores conditional writes (If-Match); lakesql needs compare-and-swap"},
	} {
		fake := &fakeS3{ifNoneMatch: tc.ifNoneMatch, ifMatch: tc.ifMatch, objects: map[string]bool{}}
		srv := httptest.NewServer(fake)
		_, err := New(context.Background(), Config{Bucket: "b", Prefix: "p", Endpoint: srv.URL, PathStyle: true,
			AccessKeyID: "k", SecretAccessKey: "fake-secret"})
		srv.Close()
		if !errors.Is(err, ErrConditionalWritesUnsupported) || !strings.Contains(err.Error(), "s3: the server at "+srv.URL+" "+tc.want) {
			t.Fatalf("New on a server without conditional writes: %v", err)
		}
		if fake.deletes != 1 || len(fake.objects) != 0 {
			t.Fatalf("the probe object was not deleted: %d deletes, %v", fake.deletes, fake.objects)
		}
		t.Logf("error: %v", err)
	}
	// A server that honours both is accepted.
	fake := &fakeS3{ifNoneMatch: true, ifMatch: true, objects: map[string]bool{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	s, err := New(context.Background(), Config{Bucket: "b", Endpoint: srv.URL, PathStyle: true, AccessKeyID: "k", SecretAccessKey: "x"})
	if err != nil {
		t.Fatalf("New on a server with conditional writes: %v", err)
	}
	s.Close()
}

// TestConflictRetried: 409 ConditionalRequestConflict is retried, within
// MaxAttempts; running out of attempts is an error, not a lost race.
func TestConflictRetried(t *testing.T) {
	fake := &fakeS3{ifNoneMatch: true, ifMatch: true, objects: map[string]bool{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	s, err := New(context.Background(), Config{Bucket: "b", Endpoint: srv.URL, PathStyle: true,
		AccessKeyID: "k", SecretAccessKey: "x", MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fake.mu.Lock()
	fake.conflicts = 2
	fake.mu.Unlock()
	if _, err := store.PutBytes(context.Background(), s, "a/conflict", []byte("x"), store.IfAbsent()); err != nil {
		t.Fatalf("put after two conflicts: %v", err)
	}
	fake.mu.Lock()
	fake.conflicts, fake.puts = 3, 0
	fake.mu.Unlock()
	_, err = store.PutBytes(context.Background(), s, "b/conflict", []byte("x"), store.IfAbsent())
	if err == nil || errors.Is(err, store.ErrPreconditionFailed) || !strings.Contains(err.Error(), "giving up after 3 attempts") {
		t.Fatalf("put after three conflicts: %v", err)
	}
	if fake.puts != 3 {
		t.Fatalf("%d attempts, want 3", fake.puts)
	}
	// Unconditional puts retry conflicts with the SDK's retryer.
	fake.mu.Lock()
	fake.conflicts, fake.puts = 1, 0
	fake.mu.Unlock()
	if _, err := store.PutBytes(context.Background(), s, "c/conflict", []byte("x")); err != nil || fake.puts != 2 {
		t.Fatalf("unconditional put after a conflict: %v after %d attempts", err, fake.puts)
	}
}

// TestInvalidNamesSendNothing: names that could escape the store's prefix are
// refused before any request.
func TestInvalidNamesSendNothing(t *testing.T) {
	var requests int
	var mu sync.Mutex
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		requests++
		mu.Unlock()
		return nil, errors.New("no request expected")
	})}
	s, err := newStore(context.Background(), Config{Bucket: "b", Prefix: "tables", Endpoint: "http://127.0.0.1:1",
		AccessKeyID: "k", SecretAccessKey: "s", HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, name := range []string{"..", "../other", "a/../../b", "/abs", "a//b", "a/./b", "", ".lakesql-probe/x"} {
		if _, err := store.PutBytes(ctx, s, name, []byte("x"), store.IfAbsent()); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("put %q: %v", name, err)
		}
		if _, err := s.Open(ctx, name); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("open %q: %v", name, err)
		}
		if _, err := s.Stat(ctx, name); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("stat %q: %v", name, err)
		}
		if err := s.Delete(ctx, name); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("delete %q: %v", name, err)
		}
	}
	for _, err := range s.List(ctx, "../", "") {
		if !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("list ../: %v", err)
		}
	}
	if requests != 0 {
		t.Fatalf("%d requests sent for invalid names", requests)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
