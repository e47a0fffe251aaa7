package local

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
)

// appendSync appends p to a: a Write and its Sync.
func appendSync(a store.Appendable, p []byte, check func() error) error {
	err := a.Write(p, check)
	if serr := a.Sync(); err == nil {
		err = serr
	}
	return err
}

// TestAppendable checks CreateAppendable and appends: the object reads as
// its data, the appends and zeros up to the reserve, an append past the
// reserve grows it, the name is put-if-absent, the ETag stays, and the
// next object takes the spare prepared meanwhile.
func TestAppendable(t *testing.T) {
	ctx := context.Background()
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.CreateAppendable(ctx, "wal/1/a", []byte("head"), 16)
	if err != nil {
		t.Fatal(err)
	}
	ok := func() error { return nil }
	info0, err := st.Stat(ctx, "wal/1/a")
	if err != nil || info0.Size != 16 {
		t.Fatalf("stat: %+v %v", info0, err)
	}
	for _, p := range []string{"-one", "-two"} {
		if err := appendSync(a, []byte(p), ok); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.ReadAll(ctx, st, "wal/1/a")
	want := append([]byte("head-one-two"), 0, 0, 0, 0)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %q %v, want %q", got, err, want)
	}
	if err := appendSync(a, []byte("-three"), ok); err != nil { // past the reserve
		t.Fatal(err)
	}
	if got, _ := store.ReadAll(ctx, st, "wal/1/a"); string(got) != "head-one-two-three" {
		t.Fatalf("read %q after growing", got)
	}
	if info, _ := st.Stat(ctx, "wal/1/a"); info.ETag != info0.ETag || info.ETag == "" {
		t.Fatalf("ETag %q, was %q", info.ETag, info0.ETag)
	}
	refused := errors.New("refused")
	if err := appendSync(a, []byte("-four"), func() error { return refused }); err != refused {
		t.Fatalf("append with a failing check: %v", err)
	}
	if got, _ := store.ReadAll(ctx, st, "wal/1/a"); string(got) != "head-one-two-three" {
		t.Fatalf("a refused append wrote: %q", got)
	}
	// The barrier waits for an append in its check, and then until its
	// Sync.
	inCheck, release := make(chan struct{}), make(chan struct{})
	written := make(chan error, 1)
	go func() {
		written <- a.Write([]byte("-five"), func() error {
			close(inCheck)
			<-release
			return nil
		})
	}()
	<-inCheck
	barrier := make(chan error, 1)
	go func() { barrier <- st.AppendBarrier(ctx, "wal/1/a") }()
	waiting := func(when string) {
		t.Helper()
		select {
		case err := <-barrier:
			t.Fatalf("the barrier returned (%v) %s", err, when)
		case <-time.After(20 * time.Millisecond):
		}
	}
	waiting("during a check")
	close(release)
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	waiting("between a Write and its Sync")
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := <-barrier; err != nil {
		t.Fatal(err)
	}
	if got, _ := store.ReadAll(ctx, st, "wal/1/a"); string(got) != "head-one-two-three-five" {
		t.Fatalf("read %q after the barrier", got)
	}
	if err := a.Sync(); err != nil {
		t.Fatalf("a Sync without a Write: %v", err)
	}
	if err := st.AppendBarrier(ctx, "wal/1/missing"); err != nil {
		t.Fatalf("barrier on a missing object: %v", err)
	}
	a.Close()
	if _, err := st.CreateAppendable(ctx, "wal/1/a", []byte("x"), 16); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Fatalf("create over an existing object: %v", err)
	}
	if got, _ := store.ReadAll(ctx, st, "wal/1/a"); string(got) != "head-one-two-three-five" {
		t.Fatalf("the failed create changed the object: %q", got)
	}
	for i, name := range []string{"wal/1/b", "wal/1/c"} {
		b, err := st.CreateAppendable(ctx, name, []byte{byte('0' + i)}, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
		if got, _ := store.ReadAll(ctx, st, name); len(got) != 1<<20 || got[0] != byte('0'+i) || bytes.Count(got, []byte{0}) != 1<<20-1 {
			t.Fatalf("%s: %d bytes, first %q", name, len(got), got[:1])
		}
	}
	ro, _ := OpenReadOnly(st.Root())
	if _, err := ro.CreateAppendable(ctx, "wal/1/d", nil, 16); err == nil {
		t.Fatal("a read-only store created an object")
	}
}
