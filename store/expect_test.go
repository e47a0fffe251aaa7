package store_test

import (
	"context"
	"errors"
	"iter"
	"strings"
	"testing"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/mem"
)

// checked is a Reader with its own OpenExpect, which store.OpenExpect must
// call instead of comparing Infos.
type checked struct {
	store.Reader
	got *store.Expect
}

var errChecked = errors.New("checked by the store")

func (c *checked) OpenExpect(ctx context.Context, name string, exp store.Expect) (store.Object, error) {
	*c.got = exp
	return nil, errChecked
}

// bare is a Reader without a String method.
type bare struct{ r store.Reader }

func (b bare) Open(ctx context.Context, name string) (store.Object, error) {
	return b.r.Open(ctx, name)
}
func (b bare) Stat(ctx context.Context, name string) (store.Info, error) { return b.r.Stat(ctx, name) }
func (b bare) List(ctx context.Context, prefix, startAfter string) iter.Seq2[store.Info, error] {
	return b.r.List(ctx, prefix, startAfter)
}

func TestOpenExpectDispatch(t *testing.T) {
	ctx := context.Background()
	m := mem.New()
	info, err := store.PutBytes(ctx, m, "a", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	// A CheckedOpener decides alone, even where the Infos agree.
	var got store.Expect
	exp := store.Expect{ETag: info.ETag, Size: 1}
	if _, err := store.OpenExpect(ctx, &checked{Reader: m, got: &got}, "a", exp); !errors.Is(err, errChecked) || got != exp {
		t.Fatalf("OpenExpect through a CheckedOpener: %v, with %+v", err, got)
	}
	// A Reader without a name is named by its type.
	_, err = store.OpenExpect(ctx, bare{m}, "a", store.Expect{Size: 2})
	if !errors.Is(err, store.ErrChanged) || !strings.Contains(err.Error(), "store_test.bare: a: expected size 2, found 1") {
		t.Fatalf("OpenExpect of a changed object through a bare Reader: %v", err)
	}
}
