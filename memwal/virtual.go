package memwal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/mergeplan"
	"github.com/lakesql/lakesql/txn"
)

// ErrKeyConflict is returned (wrapped) when virtual files would add a key
// twice, or a key the table holds.
var ErrKeyConflict = errors.New("memwal: duplicate key in added files")

// VirtualFile is a virtual file to add: its add action (Path the URL,
// Virtual filled, Stats and KeyRange from its footer and keys) and, for a
// table with a primary key, the encoded key of every row in file order.
type VirtualFile struct {
	Add  txn.Add
	Keys []parquetio.Key
}

// AddFiles adds virtual files to a table in one commit, the way Bulk adds
// written rows: writers pause, the MemTable is flushed, and under the
// commit mutex the files' keys are checked to be unique among themselves
// and new to the table (the offending key is named otherwise). A keyless
// table's files get a block of fresh hidden row ids each (Virtual.RowIDStart).
func (b *Branch) AddFiles(ctx context.Context, tableID string, files []VirtualFile, o BulkOptions) (*txn.Snapshot, error) {
	if o.Operation == "" {
		o.Operation = "ADD FILES"
	}
	head, t, done, err := b.exclusiveTable(ctx, tableID, "add files")
	if err != nil {
		return nil, err
	}
	defer done()
	ts := head.State.Table(tableID)
	if ts == nil {
		return nil, fmt.Errorf("memwal: add files: table %s does not exist", tableID)
	}
	kc := t.meta.Schema.ColumnByID(t.meta.Key[0])
	hidden := len(t.meta.Key) == 1 && kc != nil && kc.Hidden
	c := &txn.Commit{Operation: o.Operation, Message: o.Message, User: o.User, CreatesVersion: o.Version, Epoch: b.epoch}
	var keys []fileKey
	for i := range files {
		a := files[i].Add
		v := *a.Virtual
		a.Virtual = &v
		a.Table = tableID
		v.Key = slices.Clone(t.meta.Key)
		if hidden {
			if a.Rows > 0 {
				end := b.rowIDs.Add(a.Rows)
				v.RowIDStart = b.epoch<<40 | (end - a.Rows + 1)
				lo, _ := json.Marshal([]any{v.RowIDStart})
				hi, _ := json.Marshal([]any{v.RowIDStart + a.Rows - 1})
				a.KeyRange = &txn.KeyRange{Min: lo, Max: hi}
			}
		} else {
			for j, k := range files[i].Keys {
				keys = append(keys, fileKey{key: k, file: i, row: int64(j)})
			}
		}
		c.Adds = append(c.Adds, a)
	}
	if err := b.checkNewKeys(ctx, head, ts, t, files, keys); err != nil {
		return nil, err
	}
	return b.commitTables(ctx, head, c, tableID)
}

// fileKey is one row's key of an added file.
type fileKey struct {
	key  parquetio.Key
	file int
	row  int64
}

// checkNewKeys checks that keys (of the added files) are unique and that no
// file of head holds a live row of any of them. The MemTable is flushed.
func (b *Branch) checkNewKeys(ctx context.Context, head *txn.Snapshot, ts *txn.TableState, t *tableInfo, files []VirtualFile, keys []fileKey) error {
	if len(keys) == 0 {
		return nil
	}
	render := func(k fileKey) string {
		vals, err := t.enc.JSON(k.key)
		if err != nil {
			return fmt.Sprintf("%x", string(k.key))
		}
		js, _ := json.Marshal(vals)
		return string(js)
	}
	slices.SortFunc(keys, func(a, b fileKey) int { return strings.Compare(string(a.key), string(b.key)) })
	for i := 1; i < len(keys); i++ {
		if keys[i].key == keys[i-1].key {
			a, z := keys[i-1], keys[i]
			return fmt.Errorf("%w: key %s is in %s (row %d) and in %s (row %d)", ErrKeyConflict, render(z),
				files[a.file].Add.Path, a.row, files[z.file].Add.Path, z.row)
		}
	}
	if ts.FileCount() == 0 {
		return nil
	}
	locs, found, err := b.reader.LocateAll(ctx, b.scanTable(ts), keysOf(keys))
	if err != nil {
		return err
	}
	for i, ok := range found {
		if ok {
			return fmt.Errorf("%w: key %s of %s (row %d) is in the table already (file %s)", ErrKeyConflict, render(keys[i]),
				files[keys[i].file].Add.Path, keys[i].row, locs[i].Path)
		}
	}
	return nil
}

func keysOf(ks []fileKey) []parquetio.Key {
	out := make([]parquetio.Key, len(ks))
	for i, k := range ks {
		out[i] = k.key
	}
	return out
}

// Materialize copies the virtual files of a table ("" for every table)
// into the database's store: each is rewritten by the merge job, alone, as
// a managed file (its swap a data-preserving entry), and then a version is
// committed (older versions keep reading the originals). It returns the
// number of files materialized; with none, no version is made.
func (b *Branch) Materialize(ctx context.Context, tableID, user string) (int, error) {
	done, err := b.materialize(ctx, tableID)
	if err != nil || done == 0 {
		return done, err
	}
	_, err = b.CommitTables(ctx, &txn.Commit{Operation: "MATERIALIZE", CreatesVersion: true, User: user,
		Message: fmt.Sprintf("%d virtual files copied into the store", done)})
	return done, err
}

func (b *Branch) materialize(ctx context.Context, tableID string) (int, error) {
	b.mergeMu.Lock()
	defer b.mergeMu.Unlock()
	head, tables, err := b.mergeHead()
	if err != nil {
		return 0, err
	}
	done := 0
	for _, ts := range head.State.Tables() {
		id := ts.Meta.ID
		if tableID != "" && id != tableID || tables[id] == nil {
			continue
		}
		var virtual []*txn.Add
		ts.Files(func(a *txn.Add) bool {
			if a.Virtual != nil {
				virtual = append(virtual, a)
			}
			return true
		})
		for _, a := range virtual {
			m := mergeplan.Merge{Reason: mergeplan.ReasonMaterialize, Inputs: []string{a.Path}, Kind: mergeplan.Flushed}
			if a.Kind == txn.KindBase {
				m.Kind = mergeplan.Base
			}
			if err := b.merge(ctx, &ts.Meta, tables[id].enc, m, []*txn.Add{a}); err != nil {
				return done, fmt.Errorf("memwal: materializing %s of table %s: %w", a.Path, ts.Meta.Name, err)
			}
			done++
		}
	}
	return done, nil
}
