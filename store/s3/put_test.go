package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakesql/lakesql/store"
)

// faultTransport sends requests to the test server and fails the first
// faults requests that match with a network error, after sending them
// (forward: the response is lost, the request took effect) or without. It
// records every request it sees.
type faultTransport struct {
	base    http.RoundTripper
	match   func(*http.Request) bool
	forward bool

	mu     sync.Mutex
	faults int
	log    []request
}

// request is one request a faultTransport saw, and what came of it: the
// status, "error", or for an injected fault "200 (response lost)" or
// "not sent".
type request struct{ method, path, outcome string }

func (f *faultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	inject := f.faults > 0 && f.match != nil && f.match(req)
	if inject {
		f.faults--
	}
	f.mu.Unlock()
	if inject {
		outcome := "not sent"
		if f.forward {
			resp, err := f.base.RoundTrip(req)
			if err != nil {
				return nil, err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			outcome = fmt.Sprint(resp.StatusCode, " (response lost)")
		} else if req.Body != nil {
			req.Body.Close()
		}
		f.record(req, outcome)
		return nil, errors.New("injected fault: connection reset by peer")
	}
	resp, err := f.base.RoundTrip(req)
	if err != nil {
		f.record(req, "error")
		return nil, err
	}
	f.record(req, fmt.Sprint(resp.StatusCode))
	return resp, nil
}

func (f *faultTransport) record(req *http.Request, outcome string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, request{req.Method, req.URL.Path, outcome})
}

// requests lists the requests for one key as "METHOD outcome".
func (f *faultTransport) requests(key string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.log {
		if strings.HasSuffix(r.path, "/"+key) {
			out = append(out, r.method+" "+r.outcome)
		}
	}
	return out
}

// conditionalWriteTo matches the conditional PutObject and every
// CompleteMultipartUpload of one key.
func conditionalWriteTo(key string) func(*http.Request) bool {
	return func(req *http.Request) bool {
		if !strings.HasSuffix(req.URL.Path, "/"+key) {
			return false
		}
		conditional := req.Header.Get("If-None-Match") != "" || req.Header.Get("If-Match") != ""
		return (req.Method == http.MethodPut && conditional) ||
			(req.Method == http.MethodPost && req.URL.Query().Has("uploadId"))
	}
}

// faultyStore opens a store on a fresh bucket through a faultTransport.
func faultyStore(t *testing.T, ft *faultTransport, cfg func(*Config)) (*Store, string) {
	t.Helper()
	bucket := newBucket(t)
	ft.base = http.DefaultTransport.(*http.Transport).Clone()
	c := testConfig(t, bucket, "pre/fix")
	c.HTTPClient = &http.Client{Transport: ft}
	if cfg != nil {
		cfg(&c)
	}
	return newTestStore(t, c), bucket
}

func rawPut(t *testing.T, bucket, key string, data []byte) {
	t.Helper()
	_, err := rawClient(t).PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: &bucket, Key: &key, Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		t.Fatalf("raw put %s: %v", key, err)
	}
}

func mustRead(t *testing.T, s store.Store, name string) []byte {
	t.Helper()
	data, err := store.ReadAll(context.Background(), s, name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func randomData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestAmbiguousPut loses the response of a conditional write that did take
// effect (or, for the lost cases, a write that was refused): the SDK-level
// retry would see 412 for our own object; Put must read it back and tell.
func TestAmbiguousPut(t *testing.T) {
	testEndpoint(t)
	ctx := context.Background()
	const name = "log/00000000000000000001.json"
	key := "pre/fix/" + name

	t.Run("IfAbsentWon", func(t *testing.T) {
		ft := &faultTransport{match: conditionalWriteTo(key), forward: true, faults: 1}
		s, _ := faultyStore(t, ft, nil)
		body := []byte(`{"commit":1,"writer":"me"}`)
		info, err := store.PutBytes(ctx, s, name, body, store.IfAbsent())
		reqs := ft.requests(key)
		t.Logf("requests: %q", reqs)
		if err != nil {
			t.Fatalf("put whose response was lost: %v", err)
		}
		st, err := s.Stat(ctx, name)
		if err != nil || st.ETag != info.ETag || st.Size != int64(len(body)) {
			t.Fatalf("stat %+v, %v; put returned %+v", st, err, info)
		}
		if got := mustRead(t, s, name); !bytes.Equal(got, body) {
			t.Fatalf("read %q", got)
		}
		wantLog(t, reqs, "PUT 200 (response lost)", "PUT 412", "GET 200")
	})

	t.Run("IfAbsentLost", func(t *testing.T) {
		ft := &faultTransport{match: conditionalWriteTo(key), forward: true, faults: 1}
		s, bucket := faultyStore(t, ft, nil)
		rawPut(t, bucket, key, []byte(`{"commit":1,"writer":"someone else"}`))
		_, err := store.PutBytes(ctx, s, name, []byte(`{"commit":1,"writer":"me"}`), store.IfAbsent())
		reqs := ft.requests(key)
		t.Logf("requests: %q", reqs)
		if !errors.Is(err, store.ErrPreconditionFailed) {
			t.Fatalf("put over another writer's object: %v", err)
		}
		t.Logf("error: %v", err)
		if got := mustRead(t, s, name); string(got) != `{"commit":1,"writer":"someone else"}` {
			t.Fatalf("the object changed to %q", got)
		}
		wantLog(t, reqs, "PUT 412 (response lost)", "PUT 412", "GET 200")
	})

	t.Run("IfAbsentNotSent", func(t *testing.T) {
		// The request never left: the retry creates the object.
		ft := &faultTransport{match: conditionalWriteTo(key), forward: false, faults: 1}
		s, _ := faultyStore(t, ft, nil)
		if _, err := store.PutBytes(ctx, s, name, []byte("mine"), store.IfAbsent()); err != nil {
			t.Fatal(err)
		}
		wantLog(t, ft.requests(key), "PUT not sent", "PUT 200")
	})

	t.Run("DefiniteLossReadsNothingBack", func(t *testing.T) {
		ft := &faultTransport{}
		s, bucket := faultyStore(t, ft, nil)
		rawPut(t, bucket, key, []byte("theirs"))
		_, err := store.PutBytes(ctx, s, name, []byte("mine"), store.IfAbsent())
		if !errors.Is(err, store.ErrPreconditionFailed) {
			t.Fatalf("put-if-absent over an object: %v", err)
		}
		wantLog(t, ft.requests(key), "PUT 412")
	})

	t.Run("IfMatchWon", func(t *testing.T) {
		ft := &faultTransport{match: conditionalWriteTo(key), forward: true}
		s, _ := faultyStore(t, ft, nil)
		v1, err := store.PutBytes(ctx, s, name, []byte("lease holder 1"))
		if err != nil {
			t.Fatal(err)
		}
		ft.mu.Lock()
		ft.faults = 1
		ft.mu.Unlock()
		v2, err := store.PutBytes(ctx, s, name, []byte("lease holder 2"), store.IfMatch(v1.ETag))
		reqs := ft.requests(key)
		t.Logf("requests: %q", reqs)
		if err != nil {
			t.Fatalf("compare-and-swap whose response was lost: %v", err)
		}
		if st, err := s.Stat(ctx, name); err != nil || st.ETag != v2.ETag || v2.ETag == v1.ETag {
			t.Fatalf("stat %+v, %v; put returned %+v", st, err, v2)
		}
		wantLog(t, reqs, "PUT 200", "PUT 200 (response lost)", "PUT 412", "GET 200")
	})

	t.Run("IfMatchLost", func(t *testing.T) {
		ft := &faultTransport{match: conditionalWriteTo(key), forward: true}
		s, bucket := faultyStore(t, ft, nil)
		v1, err := store.PutBytes(ctx, s, name, []byte("lease holder 1"))
		if err != nil {
			t.Fatal(err)
		}
		rawPut(t, bucket, key, []byte("lease holder 3"))
		ft.mu.Lock()
		ft.faults = 1
		ft.mu.Unlock()
		_, err = store.PutBytes(ctx, s, name, []byte("lease holder 2"), store.IfMatch(v1.ETag))
		if !errors.Is(err, store.ErrPreconditionFailed) {
			t.Fatalf("stale compare-and-swap: %v", err)
		}
		if got := mustRead(t, s, name); string(got) != "lease holder 3" {
			t.Fatalf("the object changed to %q", got)
		}
	})

	for _, cond := range []string{"IfAbsent", "none"} {
		t.Run("Multipart"+cond, func(t *testing.T) {
			ft := &faultTransport{match: conditionalWriteTo(key), forward: true, faults: 1}
			s, _ := faultyStore(t, ft, func(c *Config) { c.MultipartThreshold, c.PartSize = MinPartSize, MinPartSize })
			data := randomData(7, MinPartSize+4321)
			var opts []store.PutOption
			if cond == "IfAbsent" {
				opts = append(opts, store.IfAbsent())
			}
			info, err := store.PutBytes(ctx, s, name, data, opts...)
			got := ft.requests(key)
			t.Logf("requests: %q", got)
			if err != nil {
				t.Fatalf("multipart put whose completion response was lost: %v", err)
			}
			if st, err := s.Stat(ctx, name); err != nil || st.ETag != info.ETag || st.Size != int64(len(data)) {
				t.Fatalf("stat %+v, %v; put returned %+v", st, err, info)
			}
			if !bytes.Equal(mustRead(t, s, name), data) {
				t.Fatal("read back different data")
			}
			// The retried completion finds the upload gone (or, with
			// If-None-Match, the object there): the object is read back.
			if n := len(got); n < 3 || got[n-3] != "POST 200 (response lost)" ||
				(got[n-2] != "POST 404" && got[n-2] != "POST 412") || got[n-1] != "GET 200" {
				t.Fatalf("requests: %q", got)
			}
		})
	}
}

// wantLog checks the last requests of a log.
func wantLog(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) < len(want) || !slices.Equal(got[len(got)-len(want):], want) {
		t.Fatalf("requests:\n got %q\nwant (at the end) %q", got, want)
	}
}

// TestMultipart stores an object in three parts (5 MiB threshold and part
// size, 12 MiB and some), reads it back, and checks conditional multipart
// puts, including one whose condition breaks during the upload.
func TestMultipart(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t)
	s := newTestStore(t, Config{
		Bucket: bucket, Prefix: "mp", Endpoint: testEndpoint(t), PathStyle: true,
		MultipartThreshold: 5 << 20, PartSize: 5 << 20,
	})
	raw := rawClient(t)
	const size = 12<<20 + 12345
	data := randomData(1, size)

	info, err := store.PutBytes(ctx, s, "big/object.parquet", data, store.IfAbsent())
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != size || !strings.HasSuffix(info.ETag, `-3"`) {
		t.Fatalf("put returned %+v, want size %d and a 3-part ETag", info, size)
	}
	if got := mustRead(t, s, "big/object.parquet"); !bytes.Equal(got, data) {
		t.Fatal("read back different data")
	}
	obj, err := s.Open(ctx, "big/object.parquet")
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{5<<20 - 7, 10<<20 - 1, size - 100} {
		buf := make([]byte, 200)
		n, err := obj.ReadAt(buf, off)
		want := data[off:min(off+200, size)]
		if n != len(want) || !bytes.Equal(buf[:n], want) || (n < 200) != (err == io.EOF) {
			t.Fatalf("ReadAt(%d): %d, %v", off, n, err)
		}
	}
	obj.Close()

	// IfAbsent against an existing object: refused, before uploading.
	_, err = store.PutBytes(ctx, s, "big/object.parquet", randomData(2, 6<<20), store.IfAbsent())
	if !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("multipart put-if-absent over an object: %v", err)
	}

	// The object appears while the parts go up: CompleteMultipartUpload's
	// If-None-Match refuses it, and the upload is aborted.
	r := &hookReader{r: bytes.NewReader(randomData(3, 11<<20)), at: 6 << 20, hook: func() {
		rawPut(t, bucket, "mp/race/obj", []byte("the other writer"))
	}}
	_, err = s.Put(ctx, "race/obj", r, store.IfAbsent())
	if !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("multipart put-if-absent that lost the race during the upload: %v", err)
	}
	if got := mustRead(t, s, "race/obj"); string(got) != "the other writer" {
		t.Fatalf("object changed to %d bytes", len(got))
	}

	// IfMatch: the right ETag succeeds, an ETag replaced during the upload
	// fails.
	v2, err := store.PutBytes(ctx, s, "big/object.parquet", data[:11<<20], store.IfMatch(info.ETag))
	if err != nil {
		t.Fatalf("multipart compare-and-swap: %v", err)
	}
	r = &hookReader{r: bytes.NewReader(data[:7<<20]), at: 6 << 20, hook: func() {
		rawPut(t, bucket, "mp/big/object.parquet", []byte("replaced"))
	}}
	if _, err = s.Put(ctx, "big/object.parquet", r, store.IfMatch(v2.ETag)); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("multipart compare-and-swap that lost the race during the upload: %v", err)
	}
	noUploads(t, raw, bucket)
}

// hookReader calls hook once, when at bytes have been read.
type hookReader struct {
	r    io.Reader
	n    int64
	at   int64
	hook func()
	err  error // returned instead of the rest, after the hook
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.n >= h.at && h.hook != nil {
		h.hook()
		h.hook = nil
	}
	if h.n >= h.at && h.err != nil {
		return 0, h.err
	}
	if h.n < h.at && int64(len(p)) > h.at-h.n {
		p = p[:h.at-h.n]
	}
	n, err := h.r.Read(p)
	h.n += int64(n)
	return n, err
}

// noUploads checks that no multipart upload is left in the bucket.
func noUploads(t *testing.T, raw *s3.Client, bucket string) {
	t.Helper()
	out, err := raw.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 0 {
		t.Fatalf("%d multipart uploads left, first %s", len(out.Uploads), aws.ToString(out.Uploads[0].Key))
	}
}

// TestMultipartAborted: a failing reader or a cancelled context aborts the
// upload and leaves no object.
func TestMultipartAborted(t *testing.T) {
	bucket := newBucket(t)
	s := newTestStore(t, Config{
		Bucket: bucket, Endpoint: testEndpoint(t), PathStyle: true, MultipartThreshold: 1 << 20, PartSize: 5 << 20,
	})
	readErr := errors.New("disk on fire")
	r := &hookReader{r: bytes.NewReader(randomData(4, 12<<20)), at: 11 << 20, hook: func() {}, err: readErr}
	if _, err := s.Put(context.Background(), "failed", r); !errors.Is(err, readErr) {
		t.Fatalf("put from a failing reader: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r = &hookReader{r: bytes.NewReader(randomData(4, 12<<20)), at: 6 << 20, hook: cancel}
	if _, err := s.Put(ctx, "cancelled", r, store.IfAbsent()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled put: %v", err)
	}
	for _, name := range []string{"failed", "cancelled"} {
		if _, err := s.Stat(context.Background(), name); !errors.Is(err, store.ErrNotExist) {
			t.Fatalf("stat %s: %v", name, err)
		}
	}
	noUploads(t, rawClient(t), bucket)
}

// TestOpenSnapshot: an open object reads its version or fails, never a mix.
func TestOpenSnapshot(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, testConfig(t, newBucket(t), ""))
	v1 := randomData(5, 300<<10)
	if _, err := store.PutBytes(ctx, s, "f", v1); err != nil {
		t.Fatal(err)
	}
	obj, err := s.Open(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if _, err := store.PutBytes(ctx, s, "f", randomData(6, 300<<10)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1000)
	// The head, read by Open, is still the opened version.
	if _, err := obj.ReadAt(buf, 10); err != nil || !bytes.Equal(buf, v1[10:1010]) {
		t.Fatalf("ReadAt in the head after a replace: %v", err)
	}
	_, err = obj.ReadAt(buf, 200<<10)
	if err == nil || err == io.EOF || !strings.Contains(err.Error(), "replaced since it was opened") {
		t.Fatalf("ReadAt of a replaced object: %v", err)
	}
	t.Logf("ReadAt of a replaced object: %v", err)
	if err := s.Delete(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	if _, err := obj.ReadAt(buf, 200<<10); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("ReadAt of a deleted object: %v", err)
	}
	obj.Close()
	if _, err := obj.ReadAt(buf, 0); err == nil {
		t.Fatal("ReadAt after Close succeeded")
	}
}

// TestKeys checks where objects land in the bucket, and that List ignores
// keys outside the prefix or that are not object names.
func TestKeys(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t)
	s := newTestStore(t, testConfig(t, bucket, "/warehouse/db1/"))
	if _, err := store.PutBytes(ctx, s, "t/part-0.parquet", []byte("x")); err != nil {
		t.Fatal(err)
	}
	rawPut(t, bucket, "warehouse/db10/t/other", nil)
	rawPut(t, bucket, "warehouse/db1/dir/", nil)
	var keys []string
	out, err := rawClient(t).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out.Contents {
		keys = append(keys, *o.Key)
	}
	if !slices.Contains(keys, "warehouse/db1/t/part-0.parquet") {
		t.Fatalf("keys %q", keys)
	}
	var names []string
	for info, err := range s.List(ctx, "", "") {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, info.Name)
	}
	if strings.Join(names, "|") != "t/part-0.parquet" {
		t.Fatalf("list %q", names)
	}
}
