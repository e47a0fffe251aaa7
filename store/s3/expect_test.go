package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakesql/lakesql/store"
)

// TestOpenExpect records objects with Stat, changes them behind the store's
// back (before and after the open) and checks that OpenExpect and the reads
// of the object it opened fail with store.ErrChanged.
func TestOpenExpect(t *testing.T) {
	ctx := context.Background()
	bucket := newBucket(t)
	st := newTestStore(t, testConfig(t, bucket, "ext"))
	c := rawClient(t)
	const size = 200 << 10 // beyond the 64 KiB Open reads first
	content := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	other := bytes.Repeat([]byte("fedcba9876543210"), size/16) // as long
	overwrite := func(t *testing.T, name string, data []byte) {
		t.Helper()
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("ext/" + name),
			Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data)))})
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name          string
		content       []byte
		before, after func(t *testing.T, name string) // changes before and after the open
		exp           func(e *store.Expect)
		wantOpen      error
		readAt        int64 // where the read after the open begins
		wantRead      error
		why           string
	}{
		{name: "unchanged", content: content},
		{name: "recorded without ETag", content: content, exp: func(e *store.Expect) { e.ETag = "" }},
		{name: "recorded without quotes", content: content, exp: func(e *store.Expect) { e.ETag = strings.Trim(e.ETag, `"`) }},
		{name: "empty", content: []byte{}},
		{
			name: "overwritten after it was recorded", content: content,
			before:   func(t *testing.T, name string) { overwrite(t, name, other) },
			wantOpen: store.ErrChanged, why: "expected ETag",
		},
		{
			name: "empty, then overwritten", content: []byte{},
			before:   func(t *testing.T, name string) { overwrite(t, name, []byte("x")) },
			wantOpen: store.ErrChanged, why: "expected ETag",
		},
		{
			name: "overwritten, recorded without ETag", content: content,
			exp:      func(e *store.Expect) { e.ETag = "" },
			before:   func(t *testing.T, name string) { overwrite(t, name, content[:size-1]) },
			wantOpen: store.ErrChanged, why: "expected size 204800, found 204799",
		},
		{
			name: "other size recorded", content: content,
			exp:      func(e *store.Expect) { e.Size++ },
			wantOpen: store.ErrChanged, why: "expected size 204801, found 204800",
		},
		{
			name: "deleted after it was recorded", content: content,
			before: func(t *testing.T, name string) {
				if err := st.Delete(ctx, name); err != nil {
					t.Fatal(err)
				}
			},
			wantOpen: store.ErrNotExist,
		},
		{
			name: "overwritten after the open", content: content,
			after:  func(t *testing.T, name string) { overwrite(t, name, other) },
			readAt: 100 << 10, wantRead: store.ErrChanged, why: "replaced since it was opened",
		},
		{
			// The first 64 KiB were read at the open: a snapshot.
			name: "overwritten after the open, read in the head", content: content,
			after: func(t *testing.T, name string) { overwrite(t, name, other) },
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "t" + string(rune('a'+i)) + "/f.parquet"
			if _, err := store.PutBytes(ctx, st, name, tc.content); err != nil {
				t.Fatal(err)
			}
			info, err := st.Stat(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			exp := store.Expect{ETag: info.ETag, Size: info.Size, LastModified: info.LastModified}
			if tc.exp != nil {
				tc.exp(&exp)
			}
			if tc.before != nil {
				tc.before(t, name)
			}
			checkErr := func(what string, err, want error) {
				t.Helper()
				if !errors.Is(err, want) {
					t.Fatalf("%s: %v, want %v", what, err, want)
				}
				msg := err.Error()
				if want == store.ErrChanged && (!strings.Contains(msg, "s3://"+bucket+"/ext") || !strings.Contains(msg, name) || !strings.Contains(msg, tc.why)) {
					t.Fatalf("%s: %q does not name the object or say %q", what, msg, tc.why)
				}
				if strings.Contains(msg, os.Getenv("AWS_SECRET_ACCESS_KEY")) {
					t.Fatalf("%s: the error holds the secret: %q", what, msg)
				}
				t.Logf("%s: %v", what, err)
			}
			obj, err := st.OpenExpect(ctx, name, exp)
			if tc.wantOpen != nil {
				checkErr("OpenExpect", err, tc.wantOpen)
				return
			}
			if err != nil {
				t.Fatalf("OpenExpect: %v", err)
			}
			defer obj.Close()
			if tc.after != nil {
				tc.after(t, name)
			}
			want := tc.content[min(tc.readAt, int64(len(tc.content))):]
			if tc.after != nil && tc.wantRead == nil {
				want = tc.content[:headSize]
			}
			buf := make([]byte, len(want))
			n, err := obj.ReadAt(buf, tc.readAt)
			if tc.wantRead != nil {
				checkErr("ReadAt", err, tc.wantRead)
				return
			}
			if (err != nil && err != io.EOF) || !bytes.Equal(buf[:n], want) {
				t.Fatalf("ReadAt: %d bytes, %v; want the %d recorded bytes", n, err, len(want))
			}
		})
	}

	// A plain Open reads with If-Match too: a replaced object fails the
	// same way.
	if _, err := store.PutBytes(ctx, st, "plain", content); err != nil {
		t.Fatal(err)
	}
	obj, err := st.Open(ctx, "plain")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	overwrite(t, "plain", other)
	if _, err := obj.ReadAt(make([]byte, 10), 100<<10); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("ReadAt of a replaced object opened by Open: %v", err)
	}
}

// TestReadOnlyConfig: a read-only store sends no request when it opens, nor
// for a write, and anonymous access takes no credentials.
func TestReadOnlyConfig(t *testing.T) {
	var mu sync.Mutex
	var requests []string
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		requests = append(requests, r.Method+" "+r.URL.Path)
		mu.Unlock()
		return nil, errors.New("no request expected")
	})}
	ctx := context.Background()
	for _, cfg := range []Config{
		{Bucket: "b", Endpoint: "http://127.0.0.1:1", PathStyle: true, ReadOnly: true, AccessKeyID: "k", SecretAccessKey: "s", HTTPClient: client},
		{Bucket: "b", Endpoint: "http://127.0.0.1:1", PathStyle: true, ReadOnly: true, Anonymous: true, HTTPClient: client},
	} {
		s, err := New(ctx, cfg)
		if err != nil {
			t.Fatalf("New(%+v): %v", cfg, err)
		}
		if _, err := store.PutBytes(ctx, s, "a", []byte("x")); err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Fatalf("put to a read-only store: %v", err)
		}
		if err := s.Delete(ctx, "a"); err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Fatalf("delete from a read-only store: %v", err)
		}
		s.Close()
	}
	if len(requests) != 0 {
		t.Fatalf("requests sent: %v", requests)
	}
	_, err := New(ctx, Config{Bucket: "b", Endpoint: "http://127.0.0.1:1", ReadOnly: true, Anonymous: true,
		AccessKeyID: "k", SecretAccessKey: "anonymous-secret", HTTPClient: client})
	if err == nil || !strings.Contains(err.Error(), "anonymous access takes no access key id") || strings.Contains(err.Error(), "anonymous-secret") {
		t.Fatalf("New with Anonymous and credentials: %v", err)
	}
}
