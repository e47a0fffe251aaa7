package memwal

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lakesql/lakesql/exec"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/memwal/memtable"
	"github.com/lakesql/lakesql/mergeplan"
	"github.com/lakesql/lakesql/scan"
	"github.com/lakesql/lakesql/scan/dv"
	"github.com/lakesql/lakesql/txn"
)

// Compact runs the merge job once over one table ("" for every table): it
// plans merges (mergeplan) — files whose deletion vectors hide much of them
// are rewritten, overlapping flushed files merged into key-disjoint ones —
// and commits each as a data-preserving entry. The MemTables' locations in
// merged files are remapped to the new files in the same step that
// publishes them. It returns the number of merges committed.
//
// Compact runs in the branch's writer, one merge job at a time (mergeMu).
// A merge reads and writes without the commit mutex, so flushes go on
// meanwhile; it takes the mutex only to commit (see merge). A merge whose
// table changed meanwhile is dropped, and the job ends there.
func (b *Branch) Compact(ctx context.Context, tableID string, opts mergeplan.MergeOptions) (int, error) {
	b.mergeMu.Lock()
	defer b.mergeMu.Unlock()
	head, tables, err := b.mergeHead()
	if err != nil {
		return 0, err
	}
	done := 0
	for _, ts := range head.State.Tables() {
		id := ts.Meta.ID
		if tableID != "" && id != tableID || len(ts.Meta.Key) == 0 || tables[id] == nil {
			continue
		}
		byPath := map[string]*txn.Add{}
		var files []mergeplan.File
		ts.Files(func(a *txn.Add) bool {
			byPath[a.Path] = a
			files = append(files, planFile(a, &ts.Meta, tables[id].enc))
			return true
		})
		for _, m := range mergeplan.PlanMerges(files, opts) {
			inputs := make([]*txn.Add, len(m.Inputs))
			for i, p := range m.Inputs {
				inputs[i] = byPath[p]
			}
			err := b.merge(ctx, &ts.Meta, tables[id].enc, m, inputs)
			if errors.Is(err, errTableChanged) {
				b.opts.Logger.Info("memwal: merge dropped", "branch", b.name, "table", ts.Meta.Name, "reason", err)
				return done, nil
			}
			if err != nil {
				return done, fmt.Errorf("memwal: merge of table %s (%s): %w", ts.Meta.Name, m.Reason, err)
			}
			done++
		}
	}
	return done, nil
}

// errTableChanged drops a merge whose table was dropped, truncated or
// altered, or lost an input, while the merge was written.
var errTableChanged = errors.New("memwal: the table changed during the merge")

// mergeHead returns the head and the tables a merge plans over, or the
// writer's failure.
func (b *Branch) mergeHead() (*txn.Snapshot, map[string]*tableInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mu.head, b.tableInfos(), b.mu.err
}

// planFile describes a file for mergeplan; its key range comes from the
// add action, encoded like the keys.
func planFile(a *txn.Add, meta *txn.Table, enc *parquetio.KeyEncoder) mergeplan.File {
	f := mergeplan.File{Path: a.Path, Rows: a.Rows, Bytes: a.Bytes, Generation: a.Generation, Kind: mergeplan.Flushed}
	if a.Kind == txn.KindBase {
		f.Kind = mergeplan.Base
	}
	if a.DV != nil {
		f.Deleted = a.DV.Cardinality
	}
	if a.KeyRange != nil && enc != nil {
		lo, err1 := decodeKeyJSON(meta, enc, a.KeyRange.Min)
		hi, err2 := decodeKeyJSON(meta, enc, a.KeyRange.Max)
		if err1 == nil && err2 == nil {
			f.Keys = &mergeplan.Range{Min: mergeplan.Key(lo), Max: mergeplan.Key(hi)}
		}
	}
	return f
}

// decodeKeyJSON encodes a key recorded as a JSON array of values (integers
// and strings; other key types are not planned for probe depth).
func decodeKeyJSON(meta *txn.Table, enc *parquetio.KeyEncoder, raw json.RawMessage) (parquetio.Key, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var vals []any
	if err := dec.Decode(&vals); err != nil || len(vals) != len(meta.Key) {
		return "", fmt.Errorf("key range %s", raw)
	}
	for i, id := range meta.Key {
		c := meta.Schema.ColumnByID(id)
		if c == nil {
			return "", fmt.Errorf("key column %d", id)
		}
		typ, err := base.ParseType(c.Type)
		if err != nil {
			return "", err
		}
		switch v := vals[i].(type) {
		case json.Number:
			if !typ.IsInteger() {
				return "", fmt.Errorf("key type %s", typ)
			}
			n, err := v.Int64()
			if err != nil {
				return "", err
			}
			vals[i] = n
		case string:
			if !typ.IsString() {
				return "", fmt.Errorf("key type %s", typ)
			}
		default:
			return "", fmt.Errorf("key value %v", v)
		}
	}
	return enc.Encode(vals...)
}

// merge rewrites inputs (as the head the merge was planned at has them)
// into one key-sorted file, without the commit mutex, and then commits the
// swap under it at the head then current, carrying over the deletes made
// meanwhile (carryDeletes).
func (b *Branch) merge(ctx context.Context, meta *txn.Table, enc *parquetio.KeyEncoder,
	m mergeplan.Merge, inputs []*txn.Add) error {
	rows, err := b.mergedRows(ctx, meta, enc, inputs)
	if err != nil {
		return err
	}
	defer rows.release()
	c := &txn.Commit{Operation: "MERGE", Preserve: true, Epoch: b.epoch}
	for _, in := range inputs {
		c.Removes = append(c.Removes, txn.Remove{Table: meta.ID, Path: in.Path})
	}
	// remap[i][p] is the output position of input i's row p, or -1.
	remap := make([][]int64, len(inputs))
	for i, in := range inputs {
		remap[i] = make([]int64, in.Rows)
		for p := range remap[i] {
			remap[i][p] = -1
		}
	}
	var outPath string
	if rows.rec != nil {
		kind := txn.KindFlushed
		if m.Kind == mergeplan.Base {
			kind = txn.KindBase
		}
		add, err := b.writeFile(ctx, meta, kind, []arrow.Record{rows.rec})
		rows.release() // written: only where the rows came from is needed
		if err != nil {
			return err
		}
		c.Adds = append(c.Adds, add)
		b.warmKeyIndex(ctx, meta, enc, &add)
		outPath = add.Path
		for i := range rows.file {
			if in, p := rows.file[i], rows.pos[i]; p >= 0 && p < int64(len(remap[in])) {
				remap[in][p] = int64(i)
			}
		}
	}

	b.opts.hook("merge-written")
	b.commitMu.Lock()
	defer b.commitMu.Unlock()
	head, _, err := b.mergeHead()
	if err != nil {
		return err
	}
	if err := b.carryDeletes(ctx, head, meta, inputs, remap, c); err != nil {
		return err
	}
	next, err := b.commit(ctx, head, c)
	if err != nil {
		return err
	}
	b.warm(next, c.Adds)
	inputOf := make(map[string]int, len(inputs))
	for i, in := range inputs {
		inputOf[in.Path] = i
	}
	// Publish the new files and the remapped locations together.
	b.mu.Lock()
	defer b.mu.Unlock()
	to := func(l memtable.Location) (memtable.Location, bool) {
		in, ok := inputOf[l.Path]
		if !ok || l.Position < 0 || l.Position >= int64(len(remap[in])) || remap[in][l.Position] < 0 {
			return memtable.Location{}, false
		}
		return memtable.Location{Path: outPath, Position: remap[in][l.Position]}, true
	}
	for _, mt := range append([]*memtable.MemTable{b.mu.live}, b.mu.frozen...) {
		mt.Remap(meta.ID, to) // a MemTable released has nothing to mask
	}
	b.mu.head = next
	b.mu.filesGen++
	return nil
}

// carryDeletes brings merge c up to head, where it commits: the rows of its
// inputs that commits since it read them deleted (a flush, a bulk write
// superseding them) are deleted in its output too, through a deletion
// vector (remap gives their output positions). A table dropped or altered,
// or an input gone (a truncate, a bulk replace), drops the merge
// (errTableChanged).
func (b *Branch) carryDeletes(ctx context.Context, head *txn.Snapshot, meta *txn.Table, inputs []*txn.Add, remap [][]int64, c *txn.Commit) error {
	ts := head.State.Table(meta.ID)
	if ts == nil || ts.Meta.SchemaID != meta.SchemaID || !reflect.DeepEqual(ts.Meta.Indexes, meta.Indexes) {
		return errTableChanged
	}
	var deleted []int64
	for i, in := range inputs {
		now := ts.File(in.Path)
		if now == nil {
			return fmt.Errorf("%w: %s is gone", errTableChanged, in.Path)
		}
		if sameDV(now.DV, in.DV) {
			continue
		}
		was, err := dv.Load(ctx, b.st, b.db.Prefix(), in.DV)
		if err != nil {
			return err
		}
		is, err := dv.Load(ctx, b.st, b.db.Prefix(), now.DV)
		if err != nil {
			return err
		}
		is.AndNot(was)
		for it := is.Iterator(); it.HasNext(); {
			if p := int64(it.Next()); p < int64(len(remap[i])) && remap[i][p] >= 0 {
				deleted = append(deleted, remap[i][p])
			}
		}
	}
	if len(deleted) == 0 {
		return nil
	}
	bm, err := dv.FromPositions(deleted)
	if err != nil {
		return err
	}
	w := dv.NewWriter(b.db.Prefix(), meta.ID, dv.WriterOptions{})
	d, err := w.Add(c.Adds[0].Path, bm)
	if err != nil {
		return err
	}
	c.Adds[0].DV = &d
	return w.Finish(ctx, b.st)
}

// sameDV reports whether two deletion vector descriptors are the same
// vector.
func sameDV(a, b *txn.DeletionVector) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Path == b.Path && a.Offset == b.Offset && a.Size == b.Size && a.Cardinality == b.Cardinality && bytes.Equal(a.Inline, b.Inline)
}

// mergeRows is a merge's output: the inputs' live rows in key order (rec,
// nil for none) and where each came from: input file[i], position pos[i].
type mergeRows struct {
	rec  arrow.Record
	file []int32
	pos  []int64
}

// release releases the record, once.
func (r *mergeRows) release() {
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
}

// mergedRows reads the inputs' live rows (minus their deletion vectors;
// rows the MemTables supersede stay: they are live in files) and orders
// them by key, merging the inputs' key-sorted runs. The rows stay Arrow
// arrays throughout: they are concatenated, their keys encoded from the
// key columns, and the output taken from them in the merged order.
func (b *Branch) mergedRows(ctx context.Context, meta *txn.Table, enc *parquetio.KeyEncoder, inputs []*txn.Add) (*mergeRows, error) {
	recs, err := b.readInputs(ctx, meta, inputs)
	if err != nil || len(recs) == 0 {
		return &mergeRows{}, err
	}
	all, err := parquetio.ConcatRecords(b.opts.Alloc, recs[0].Schema(), recs)
	release(recs)
	if err != nil {
		return nil, err
	}
	defer all.Release()
	keyArrs := make([]arrow.Array, len(meta.Key))
	for i, id := range meta.Key {
		keyArrs[i] = all.Column(meta.Schema.Position(id))
	}
	// Rows are ordered by their keys: a BIGINT key by its values (keys
	// cannot be NULL), any other by its encoding, which costs a string
	// per row.
	var byKey func(a, b *int32) int
	if ints, ok := keyArrs[0].(*array.Int64); ok && len(keyArrs) == 1 {
		vals := ints.Int64Values()
		byKey = func(a, b *int32) int { return cmp.Compare(vals[*a], vals[*b]) }
	} else {
		keys, err := enc.EncodeArrays(keyArrs)
		if err != nil {
			return nil, err
		}
		byKey = func(a, b *int32) int { return strings.Compare(string(keys[*a]), string(keys[*b])) }
	}
	order := make([]int32, all.NumRows())
	for i := range order {
		order[i] = int32(i)
	}
	order = mergeRuns(order, byKey)
	n := len(meta.Schema.Columns)
	data := array.NewRecordBatch(arrow.NewSchema(all.Schema().Fields()[:n], nil), all.Columns()[:n], all.NumRows())
	defer data.Release()
	out := &mergeRows{rec: exec.TakeRecord(b.opts.Alloc, data, order),
		file: make([]int32, len(order)), pos: make([]int64, len(order))}
	files, positions := all.Column(n).(*array.Int32).Int32Values(), all.Column(n+1).(*array.Int64).Int64Values()
	for i, j := range order {
		out.file[i], out.pos[i] = files[j], positions[j]
	}
	return out, nil
}

// readInputs reads every column of the inputs' live rows, with their file
// (index in inputs) and position columns, in the order of inputs.
func (b *Branch) readInputs(ctx context.Context, meta *txn.Table, inputs []*txn.Add) ([]arrow.Record, error) {
	t := &scan.Table{Schema: &meta.Schema, Files: inputs}
	cols := make([]int, len(meta.Schema.Columns))
	for i, c := range meta.Schema.Columns {
		cols[i] = c.ID
	}
	it, err := b.reader.Scan(ctx, t, scan.Request{Columns: cols, WithLocation: true, Alloc: b.opts.Alloc}, nil)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var recs []arrow.Record
	for it.Next() {
		r := it.Record()
		if r.NumRows() > 0 {
			r.Retain()
			recs = append(recs, r)
		}
	}
	if err := it.Err(); err != nil {
		release(recs)
		return nil, err
	}
	return recs, nil
}

func isFenced(err error) bool { return errors.Is(err, txn.ErrFenced) }

// mergeRuns sorts rows that come as runs in order (each input file's rows,
// key-sorted in the file) by merging the runs, k ways; it sorts outright
// when there are many runs.
func mergeRuns[T any](rows []T, compare func(a, b *T) int) []T {
	var starts []int
	for i := range rows {
		if i == 0 || compare(&rows[i-1], &rows[i]) > 0 {
			starts = append(starts, i)
		}
	}
	if len(starts) <= 1 {
		return rows
	}
	if len(starts) > 16 {
		slices.SortFunc(rows, func(a, b T) int { return compare(&a, &b) })
		return rows
	}
	ends := append(starts[1:len(starts):len(starts)], len(rows))
	next := slices.Clone(starts)
	out := make([]T, 0, len(rows))
	for len(out) < len(rows) {
		best := -1
		for r := range next {
			if next[r] < ends[r] && (best < 0 || compare(&rows[next[r]], &rows[next[best]]) < 0) {
				best = r
			}
		}
		out = append(out, rows[next[best]])
		next[best]++
	}
	return out
}
