package local_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
)

// TestOpenExpect opens files of a directory that lakesql does not own (no
// ETag attribute), recorded by Stat, after changes before and after the open.
func TestOpenExpect(t *testing.T) {
	ctx := context.Background()
	content := bytes.Repeat([]byte("0123456789abcdef"), 1024)
	other := bytes.Repeat([]byte("fedcba9876543210"), 1024) // as long
	recordedAt := time.Date(2026, 3, 4, 5, 6, 7, 890_123_456, time.UTC)
	setTime := func(t *testing.T, p string, mt time.Time) {
		t.Helper()
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	write := func(t *testing.T, p string, data []byte) {
		t.Helper()
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		// before changes the file after it was recorded, before the open;
		// after changes it once it is open.
		before, after func(t *testing.T, p string)
		// exp changes the recorded Expect.
		exp      func(e *store.Expect)
		wantOpen error
		wantRead error
		why      string // what the error says
	}{
		{name: "unchanged"},
		{name: "recorded to the millisecond", exp: func(e *store.Expect) { e.LastModified = e.LastModified.Truncate(time.Millisecond) }},
		{name: "recorded without ETag", exp: func(e *store.Expect) { e.ETag = "" }},
		{
			name:   "longer",
			before: func(t *testing.T, p string) { write(t, p, append(content, 'x')); setTime(t, p, recordedAt) },
			// The size differs; the ETag is not even computed.
			wantOpen: store.ErrChanged, why: "expected size 16384, found 16385",
		},
		{
			name:     "touched",
			before:   func(t *testing.T, p string) { setTime(t, p, recordedAt.Add(time.Second)) },
			wantOpen: store.ErrChanged, why: "expected modification time 2026-03-04T05:06:07.890Z, found 2026-03-04T05:06:08.890Z",
		},
		{
			name:     "same size and time, other content",
			before:   func(t *testing.T, p string) { write(t, p, other); setTime(t, p, recordedAt) },
			wantOpen: store.ErrChanged, why: "expected ETag",
		},
		{
			name:     "missing",
			before:   func(t *testing.T, p string) { os.Remove(p) },
			wantOpen: store.ErrNotExist,
		},
		{
			name:     "rewritten in place after the open",
			after:    func(t *testing.T, p string) { write(t, p, other) },
			wantRead: store.ErrChanged, why: "changed in place since it was opened",
		},
		{
			name: "rewritten in place after the open, time put back",
			after: func(t *testing.T, p string) {
				f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.Write([]byte("more"))
				f.Close()
				setTime(t, p, recordedAt)
			},
			wantRead: store.ErrChanged, why: "size 16384, now 16388",
		},
		{
			name:     "touched after the open",
			after:    func(t *testing.T, p string) { setTime(t, p, recordedAt.Add(time.Nanosecond)) },
			wantRead: store.ErrChanged, why: "changed in place since it was opened",
		},
		{
			// The open file keeps the old inode: its bytes are the
			// expected ones.
			name: "replaced by a rename after the open",
			after: func(t *testing.T, p string) {
				tmp := p + ".new"
				write(t, tmp, other)
				if err := os.Rename(tmp, p); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "part", "f.parquet")
			os.Mkdir(filepath.Dir(p), 0o755)
			write(t, p, content)
			setTime(t, p, recordedAt)
			s, err := local.OpenReadOnly(dir)
			if err != nil {
				t.Fatal(err)
			}
			info, err := s.Stat(ctx, "part/f.parquet")
			if err != nil {
				t.Fatal(err)
			}
			exp := store.Expect{ETag: info.ETag, Size: info.Size, LastModified: info.LastModified}
			if tc.exp != nil {
				tc.exp(&exp)
			}
			if tc.before != nil {
				tc.before(t, p)
			}
			checkErr := func(what string, err, want error) {
				t.Helper()
				if !errors.Is(err, want) {
					t.Fatalf("%s: %v, want %v", what, err, want)
				}
				if want == store.ErrChanged && (!strings.Contains(err.Error(), s.String()+": part/f.parquet: ") || !strings.Contains(err.Error(), tc.why)) {
					t.Fatalf("%s: %q does not name the file or say %q", what, err, tc.why)
				}
			}
			obj, err := store.OpenExpect(ctx, s, "part/f.parquet", exp)
			if tc.wantOpen != nil {
				checkErr("OpenExpect", err, tc.wantOpen)
				return
			}
			if err != nil {
				t.Fatalf("OpenExpect: %v", err)
			}
			defer obj.Close()
			if tc.after != nil {
				tc.after(t, p)
			}
			buf := make([]byte, len(content)+10)
			n, err := obj.ReadAt(buf, 0)
			if tc.wantRead != nil {
				checkErr("ReadAt", err, tc.wantRead)
				return
			}
			if err != io.EOF || !bytes.Equal(buf[:n], content) {
				t.Fatalf("ReadAt: %d bytes, %v; want the recorded content and io.EOF", n, err)
			}
		})
	}
}

// TestOpenReadOnly: a read-only store creates nothing in its directory and
// refuses writes.
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := local.OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := store.ReadAll(ctx, s, "f"); err != nil || string(got) != "x" {
		t.Fatalf("read %q, %v", got, err)
	}
	if _, err := store.PutBytes(ctx, s, "g", []byte("y")); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("put to a read-only store: %v", err)
	}
	if err := s.Delete(ctx, "f"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("delete from a read-only store: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "f" {
		t.Fatalf("the directory holds %v (%v), want only f", entries, err)
	}
	if _, err := local.OpenReadOnly(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenReadOnly of a missing directory: %v", err)
	}
	if _, err := local.OpenReadOnly(filepath.Join(dir, "f")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("OpenReadOnly of a file: %v", err)
	}
}
