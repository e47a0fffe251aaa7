package storeuri

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/store/mem"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct {
		uri  string
		kind string
	}{
		{filepath.Join(dir, "plain"), "local"},
		{"file://" + filepath.Join(dir, "uri"), "local"},
		{"file://localhost" + filepath.Join(dir, "host"), "local"},
		{"mem://test", "mem"},
	} {
		st, err := Open(ctx, tc.uri)
		if err != nil {
			t.Fatalf("%s: %v", tc.uri, err)
		}
		switch st.(type) {
		case *local.Store:
			if tc.kind != "local" {
				t.Fatalf("%s opened a local store", tc.uri)
			}
		case *mem.Store:
			if tc.kind != "mem" {
				t.Fatalf("%s opened a mem store", tc.uri)
			}
		default:
			t.Fatalf("%s opened %T", tc.uri, st)
		}
		if _, err := store.PutBytes(ctx, st, "x/y", []byte("z")); err != nil {
			t.Fatalf("%s: %v", tc.uri, err)
		}
		st.Close()
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ uri, want string }{
		{"", "empty location"},
		{"gs://bucket/x", `unknown scheme "gs"`},
		{"ftp://host/x?secret_access_key=hush", `unknown scheme "ftp"`},
		{"file://otherhost/x", "not host"},
		{"file:///x?y=1", "takes no query"},
		{"s3://bucket/p?bogus=1", "bogus"},
		{"s3:///prefix", "bucket"},
	} {
		_, err := Open(ctx, tc.uri)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q) = %v, want an error containing %q", tc.uri, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hush") {
			t.Errorf("Open(%q) leaks a secret: %v", tc.uri, err)
		}
	}
}
