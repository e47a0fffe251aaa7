package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/txn"
)

// ErrVirtualChanged is returned (wrapped) when a virtual file is missing or
// is not the object that was added: lakesql never serves other data.
var ErrVirtualChanged = errors.New("scan: virtual file changed")

// openVirtual opens the virtual file of a through the Reader's
// VirtualOpener, its columns matched to the table by name as recorded when
// it was added.
func (r *Reader) openVirtual(ctx context.Context, a *txn.Add, opts parquetio.ReaderOptions) (*parquetio.File, error) {
	if r.opts.Virtual == nil {
		return nil, fmt.Errorf("scan: %s is a virtual file and this reader has no container access configured", a.Path)
	}
	obj, err := r.opts.Virtual.OpenVirtual(ctx, a)
	if err != nil {
		return nil, VirtualError(a, err)
	}
	v := a.Virtual
	fo := &parquetio.ForeignOptions{RowIDStart: v.RowIDStart, Key: v.Key,
		Stats: parquetio.FileStats{Rows: a.Rows, Bytes: a.Bytes}}
	for _, c := range v.Columns {
		fo.Columns = append(fo.Columns, parquetio.ForeignColumn{Name: c.Name, ID: c.ID})
	}
	if opts.Schema != nil && len(v.Key) == 1 {
		if c := opts.Schema.ColumnByID(v.Key[0]); c != nil && c.Hidden && c.Name == base.RowIDColumn {
			fo.RowID = c.ID
		}
	}
	if a.KeyRange != nil && fo.RowID == 0 {
		if err := json.Unmarshal(a.KeyRange.Min, &fo.Stats.KeyMin); err != nil {
			obj.Close()
			return nil, base.Corruptf(a.Path, "key range of the add: %v", err)
		}
		if err := json.Unmarshal(a.KeyRange.Max, &fo.Stats.KeyMax); err != nil {
			obj.Close()
			return nil, base.Corruptf(a.Path, "key range of the add: %v", err)
		}
	}
	opts.Foreign = fo
	f, err := parquetio.OpenFile(ctx, oneObject{obj}, a.Path, opts)
	if err != nil {
		obj.Close()
		return nil, VirtualError(a, err)
	}
	return f, nil
}

// VirtualError says that a read of virtual file a failed, naming the file
// and the version that added it; a changed or missing object matches
// ErrVirtualChanged.
func VirtualError(a *txn.Add, err error) error {
	switch {
	case errors.Is(err, store.ErrChanged):
		return fmt.Errorf("%w: %s (added in version %d) is not the object that was added: %v", ErrVirtualChanged, a.Path, a.Virtual.Version, err)
	case errors.Is(err, store.ErrNotExist):
		return fmt.Errorf("%w: %s (added in version %d) is missing: %v", ErrVirtualChanged, a.Path, a.Virtual.Version, err)
	}
	if strings.Contains(err.Error(), a.Path) {
		return fmt.Errorf("scan: reading virtual file (added in version %d): %w", a.Virtual.Version, err)
	}
	return fmt.Errorf("scan: reading virtual file %s (added in version %d): %w", a.Path, a.Virtual.Version, err)
}

// fileError words a failed read of file a: a virtual file's names it and
// the version that added it.
func fileError(a *txn.Add, err error) error {
	if err == nil || a.Virtual == nil || errors.Is(err, ErrVirtualChanged) {
		return err
	}
	return VirtualError(a, err)
}

// oneObject is a store.Reader of one open object, whatever the name.
type oneObject struct{ obj store.Object }

func (o oneObject) Open(context.Context, string) (store.Object, error) { return o.obj, nil }

func (o oneObject) Stat(context.Context, string) (store.Info, error) { return o.obj.Info(), nil }

func (o oneObject) List(context.Context, string, string) iter.Seq2[store.Info, error] {
	return func(yield func(store.Info, error) bool) {}
}
