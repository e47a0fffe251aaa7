package sql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/exec"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/store"
)

// Batch conversion: ConvertText and ConvertValues turn a batch of source
// rows into one Arrow record of the table's schema, column by column, for
// Append. They only read the loader's resolved columns, so several
// goroutines may convert batches at once (import does, one per core); the
// records are appended in order by one.

// RowError is a batch conversion failing at one of its rows.
type RowError struct {
	// Row is the failing row of the batch, from 0.
	Row int
	Err error
}

func (e *RowError) Error() string { return e.Err.Error() }
func (e *RowError) Unwrap() error { return e.Err }

// ConvertText converts n text records (a CSV file's): field j of record r
// is fields[r*Width()+j], NULL when null[r*Width()+j]. The record holds
// copies of the strings. A value that does not convert is a *RowError.
func (l *BulkLoader) ConvertText(fields []string, null []bool, n int) (arrow.Record, error) {
	if len(fields) != n*l.width || len(null) != n*l.width {
		return nil, fmt.Errorf("%d fields for %d records of %d columns", len(fields), n, l.width)
	}
	return l.convert(n, func(c *loadColumn, b array.Builder) error {
		return l.textColumn(c, b, fields, null, n)
	}, nil)
}

// ConvertValues is ConvertText for n rows of Go values (as Add takes
// them): value j of row r is vals[r*Width()+j].
func (l *BulkLoader) ConvertValues(vals []any, n int) (arrow.Record, error) {
	if len(vals) != n*l.width {
		return nil, fmt.Errorf("%d values for %d rows of %d columns", len(vals), n, l.width)
	}
	return l.convert(n, func(c *loadColumn, b array.Builder) error {
		for r := range n {
			v := vals[r*l.width+c.src]
			if v == nil {
				if !c.col.Nullable {
					return &RowError{Row: r, Err: notNullError(c.col.Name)}
				}
				b.AppendNull()
				continue
			}
			sv, err := c.conv(v)
			if err != nil {
				return &RowError{Row: r, Err: fmt.Errorf("column %s %s: %w", c.col.Name, c.typ, err)}
			}
			exec.AppendValue(b, sv)
		}
		return nil
	}, nil)
}

// Width is the number of values of each source row (Options.Columns, or
// the visible columns).
func (l *BulkLoader) Width() int { return l.width }

// convert builds a record of n rows: column fills each column the batch
// holds, or given returns the array of column i as it is (nil: fill it);
// the columns the batch lacks get their default (the hidden row id NULL:
// the writer assigns it).
func (l *BulkLoader) convert(n int, column func(c *loadColumn, b array.Builder) error, given func(i int) arrow.Array) (arrow.Record, error) {
	cols := make([]arrow.Array, len(l.cols))
	release := func() {
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
	}
	for i := range l.cols {
		c := &l.cols[i]
		if given != nil {
			if a := given(i); a != nil {
				a.Retain()
				cols[i] = a
				continue
			}
		}
		b := array.NewBuilder(memory.DefaultAllocator, l.schema.Field(i).Type)
		b.Reserve(n)
		var err error
		if c.src < 0 {
			for range n {
				exec.AppendValue(b, c.def)
			}
		} else {
			err = column(c, b)
		}
		if err != nil {
			b.Release()
			release()
			return nil, err
		}
		cols[i] = b.NewArray()
		b.Release()
	}
	rec := array.NewRecordBatch(l.schema, cols, int64(n))
	release()
	return rec, nil
}

// textColumn converts column c of n text records into b. The common types
// parse straight into their builders; the others, and values the fast
// paths do not take, go through c.conv.
func (l *BulkLoader) textColumn(c *loadColumn, b array.Builder, fields []string, null []bool, n int) error {
	w := l.width
	nullErr := func(r int) error {
		return &RowError{Row: r, Err: notNullError(c.col.Name)}
	}
	slow := func(r int, s string) error {
		v, err := c.conv(s)
		if err != nil {
			return &RowError{Row: r, Err: fmt.Errorf("column %s %s: %w", c.col.Name, c.typ, err)}
		}
		exec.AppendValue(b, v)
		return nil
	}
	// fast appends a value the column's builder takes as it is parsed
	// (nil: none does) and reports whether it did.
	var fast func(s string) bool
	switch bb := b.(type) {
	case *array.Int64Builder:
		if c.typ.Kind == base.TypeInt64 {
			fast = func(s string) bool {
				v, err := strconv.ParseInt(s, 10, 64)
				if err == nil {
					bb.UnsafeAppend(v)
				}
				return err == nil
			}
		}
	case *array.Int32Builder:
		if c.typ.Kind == base.TypeInt32 {
			fast = func(s string) bool {
				v, err := strconv.ParseInt(s, 10, 32)
				if err == nil {
					bb.UnsafeAppend(int32(v))
				}
				return err == nil
			}
		}
	case *array.Float64Builder:
		if c.typ.Kind == base.TypeFloat64 {
			fast = func(s string) bool {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
					return false
				}
				bb.UnsafeAppend(v)
				return true
			}
		}
	case *array.StringBuilder:
		switch c.typ.Kind {
		case base.TypeChar, base.TypeVarchar:
			limit := c.typ.Length // bytes: a longer value may still fit in characters (conv counts them)
			fast = func(s string) bool {
				if len(s) > limit {
					return false
				}
				bb.Append(s)
				return true
			}
		case base.TypeText:
			fast = func(s string) bool { bb.Append(s); return true }
		}
		if fast != nil {
			size := 0
			for r := range n {
				size += len(fields[r*w+c.src])
			}
			bb.ReserveData(size)
		}
	}
	for r := range n {
		j := r*w + c.src
		if null[j] || c.emptyDef && fields[j] == "" && c.empty == nil {
			if !c.col.Nullable {
				return nullErr(r)
			}
			b.AppendNull()
			continue
		}
		if c.emptyDef && fields[j] == "" {
			exec.AppendValue(b, c.empty)
			continue
		}
		if fast != nil && fast(fields[j]) {
			continue
		}
		if err := slow(r, fields[j]); err != nil {
			return err
		}
	}
	return nil
}

// AddParquet appends every row of the Parquet file name of r, decoded
// straight into the table's column types, when the file's columns fit the
// table's as lakesql_add_files requires (parquetio.InspectForeign: each
// file column names a table column and decodes to its type exactly). It
// returns false, having added nothing, when they do not: the caller then
// converts the file's values (ConvertValues). Values are checked as
// ConvertValues checks them (NOT NULL, CHAR/VARCHAR lengths, JSON); the
// error of a bad value is a *RowError whose Row counts the file's rows from
// 0. progress, when not nil, gets the number of rows read so far.
func (l *BulkLoader) AddParquet(ctx context.Context, r store.Reader, name string, progress func(rows int64)) (bool, error) {
	ok, err := l.addParquet(ctx, r, name, progress)
	return ok, l.failed(err)
}

func (l *BulkLoader) addParquet(ctx context.Context, r store.Reader, name string, progress func(rows int64)) (bool, error) {
	info, err := parquetio.InspectForeign(ctx, r, name, &l.meta.Schema, nil)
	if errors.Is(err, parquetio.ErrForeign) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	pos := map[int]int{} // table column id -> position in the records read
	var ids []int
	for _, fc := range info.Columns {
		pos[fc.ID] = len(ids)
		ids = append(ids, fc.ID)
	}
	for _, c := range l.cols {
		if _, mapped := pos[c.col.ID]; mapped != (c.src >= 0) {
			return false, nil // the file's columns are not the load's
		}
	}
	f, err := parquetio.OpenFile(ctx, r, name, parquetio.ReaderOptions{
		Schema:         &l.meta.Schema,
		PageCacheBytes: -1,
		Foreign:        &parquetio.ForeignOptions{Columns: info.Columns},
	})
	if err != nil {
		return false, err
	}
	defer f.Close()
	rr, err := f.Read(ctx, parquetio.ReadOptions{Columns: ids})
	if err != nil {
		return false, err
	}
	defer rr.Close()
	var first int64 // the file row of the record's first
	for rr.Next() {
		in := rr.Record()
		n := int(in.NumRows())
		rec, err := l.convert(n, func(c *loadColumn, b array.Builder) error {
			return nil // unused: every column the file has is taken below
		}, func(i int) arrow.Array {
			if p, ok := pos[l.cols[i].col.ID]; ok {
				return in.Column(p)
			}
			return nil
		})
		if err != nil {
			return true, err
		}
		if err := l.checkArrays(rec); err != nil {
			rec.Release()
			var re *RowError
			if errors.As(err, &re) {
				re.Row += int(first)
			}
			return true, err
		}
		if err := l.appendRecord(rec); err != nil {
			return true, err
		}
		first += int64(n)
		if progress != nil {
			progress(first)
		}
	}
	return true, rr.Err()
}

// checkArrays checks the values of a record's columns that the load takes
// from its source as they are (AddParquet): NOT NULL, the lengths of
// CHAR/VARCHAR values, JSON documents.
func (l *BulkLoader) checkArrays(rec arrow.Record) error {
	for i := range l.cols {
		c := &l.cols[i]
		if c.src < 0 {
			continue
		}
		a := rec.Column(i)
		if !c.col.Nullable && a.NullN() > 0 {
			for r := range a.Len() {
				if a.IsNull(r) {
					return &RowError{Row: r, Err: notNullError(c.col.Name)}
				}
			}
		}
		s, ok := a.(*array.String)
		if !ok {
			continue
		}
		switch c.typ.Kind {
		case base.TypeChar, base.TypeVarchar:
			offs := s.ValueOffsets()
			for r := range s.Len() {
				if int(offs[r+1]-offs[r]) <= c.typ.Length || s.IsNull(r) {
					continue
				}
				if _, err := c.conv(s.Value(r)); err != nil {
					return &RowError{Row: r, Err: fmt.Errorf("column %s %s: %w", c.col.Name, c.typ, err)}
				}
			}
		case base.TypeJSON:
			for r := range s.Len() {
				if s.IsNull(r) {
					continue
				}
				if _, err := c.conv(s.Value(r)); err != nil {
					return &RowError{Row: r, Err: fmt.Errorf("column %s %s: %w", c.col.Name, c.typ, err)}
				}
			}
		}
	}
	return nil
}
