package mem_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/mem"
)

// TestOpenExpect checks store.OpenExpect's generic path (the memory store is
// no store.CheckedOpener): it compares the opened object's Info with the
// Expect, field by field, skipping zero fields.
func TestOpenExpect(t *testing.T) {
	ctx := context.Background()
	s := mem.NewNamed("t")
	now := time.Date(2026, 1, 2, 3, 4, 5, 678_100_000, time.UTC)
	s.SetClock(func() time.Time { return now })
	info, err := store.PutBytes(ctx, s, "a", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	recorded := store.Expect{ETag: info.ETag, Size: info.Size, LastModified: info.LastModified}
	with := func(f func(*store.Expect)) store.Expect {
		e := recorded
		f(&e)
		return e
	}
	tests := []struct {
		name    string
		object  string
		exp     store.Expect
		wantErr error
		why     string // the error names the object and says this
	}{
		{name: "unchanged", object: "a", exp: recorded},
		{name: "nothing expected", object: "a", exp: store.Expect{}},
		{name: "only the size", object: "a", exp: store.Expect{Size: 5}},
		{name: "same millisecond", object: "a", exp: with(func(e *store.Expect) { e.LastModified = now.Add(400 * time.Microsecond) })},
		{name: "same instant elsewhere", object: "a", exp: with(func(e *store.Expect) { e.LastModified = now.In(time.FixedZone("x", 3600)) })},
		{name: "other ETag", object: "a", exp: with(func(e *store.Expect) { e.ETag = `"other"` }),
			wantErr: store.ErrChanged, why: `expected ETag "other", found ` + info.ETag},
		{name: "other size", object: "a", exp: with(func(e *store.Expect) { e.Size = 6 }),
			wantErr: store.ErrChanged, why: "expected size 6, found 5"},
		{name: "other millisecond", object: "a", exp: with(func(e *store.Expect) { e.LastModified = now.Add(time.Millisecond) }),
			wantErr: store.ErrChanged, why: "expected modification time 2026-01-02T03:04:05.679Z, found 2026-01-02T03:04:05.678Z"},
		{name: "two differences", object: "a", exp: store.Expect{Size: 7, LastModified: now.Add(-time.Second)},
			wantErr: store.ErrChanged, why: "expected size 7, found 5; expected modification time 2026-01-02T03:04:04.678Z, found 2026-01-02T03:04:05.678Z"},
		{name: "missing", object: "b", exp: recorded, wantErr: store.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj, err := store.OpenExpect(ctx, s, tc.object, tc.exp)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("OpenExpect: %v, want %v", err, tc.wantErr)
				}
				if errors.Is(err, store.ErrChanged) && errors.Is(err, store.ErrNotExist) {
					t.Fatalf("OpenExpect: %v matches both ErrChanged and ErrNotExist", err)
				}
				if !strings.Contains(err.Error(), "mem://t: "+tc.object) || !strings.Contains(err.Error(), tc.why) {
					t.Fatalf("OpenExpect: %q does not name the object or say %q", err, tc.why)
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenExpect: %v", err)
			}
			defer obj.Close()
			got, err := io.ReadAll(io.NewSectionReader(obj, 0, obj.Size()))
			if err != nil || string(got) != "hello" {
				t.Fatalf("read %q, %v", got, err)
			}
		})
	}

	// Overwritten after it was recorded, with as many bytes at the same
	// time: only the ETag tells.
	if _, err := store.PutBytes(ctx, s, "a", []byte("world")); err != nil {
		t.Fatal(err)
	}
	if _, err := store.OpenExpect(ctx, s, "a", recorded); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("OpenExpect of an overwritten object: %v", err)
	}
}
