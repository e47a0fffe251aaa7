package sql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/memwal"
	"github.com/lakesql/lakesql/memwal/lease"
	"github.com/lakesql/lakesql/memwal/memtable"
	"github.com/lakesql/lakesql/txn"
)

// Bulk loads (`lakesql import`) write rows straight into Parquet data files
// through the branch writer's columnar bulk path (memwal.Branch.BulkRecords)
// and commit them as one version, without a WAL record or a MemTable:
//
//	NewBulkLoader   take the branch's writer lease (fails at once, naming
//	                the holder, when a server holds it), resolve the table
//	ConvertText,    convert a batch of source rows, column by column, into
//	ConvertValues   an Arrow record of the table's types, checking each
//	                value (NOT NULL, length, range): errors name the column
//	                and the row (*RowError); safe on several goroutines
//	AddParquet      a Parquet file whose columns fit the table: decoded
//	                straight into its types (row groups in parallel)
//	Append          keep a converted record, in order
//	Add, AddText    one row at a time (gathered into records of batchRows)
//	Commit          BulkRecords: flush the MemTable, sort by key (a keyed
//	                table; without Upsert a key twice or already in the
//	                table fails the load and nothing is written), deletion
//	                vectors for the file rows upserted keys supersede, one
//	                data file and one IMPORT version
//
// Memory: a load must be one version, so the loader holds the converted
// records (Arrow columns, about the size of the data) until Commit. LOAD
// DATA inside the server takes its own path (editor + Txn.SetBulk).

// BulkLoadOptions configure a bulk load.
type BulkLoadOptions struct {
	// Columns names the table columns the rows' values are for, in order
	// (case-insensitively); nil means every visible column in table order.
	// Columns not named get their literal DEFAULT, or NULL.
	Columns []string
	// Upsert lets rows replace the table's rows of their keys; the last
	// row of a key in the load wins. Without it, a key that is already in
	// the table, or twice in the rows, fails the load and nothing is
	// written. Tables without a primary key cannot upsert.
	Upsert bool
	// Ignore keeps, of a key twice in the rows, the first row, and of a
	// key the table holds, the table's row: the other rows are skipped
	// (LOAD DATA ... IGNORE). Upsert takes precedence.
	Ignore bool
	// EmptyIsDefault reads an empty text field of a column that is not a
	// string type as the column's literal DEFAULT, or NULL without one
	// (LOAD DATA's reading); otherwise it is a value that does not convert.
	EmptyIsDefault bool
	// User and Message describe the version in the log.
	User, Message string
	// Operation names the version's operation (default "IMPORT").
	Operation string
}

// DuplicateKeyError is a load without Upsert finding a key twice: in two of
// its rows, or in a row and the table.
type DuplicateKeyError struct {
	Table string
	// Key spells the key's values: "[5]", "[5,abc]".
	Key string
	// Row is the (1-based) row of the load holding the key; FirstRow is
	// the earlier row with the same key, 0 when the key is in the table.
	Row, FirstRow int
}

func (e *DuplicateKeyError) Error() string {
	if e.FirstRow == 0 {
		return fmt.Sprintf("duplicate key %s: row %d has a key that table %s already holds", e.Key, e.Row, e.Table)
	}
	return fmt.Sprintf("duplicate key %s: rows %d and %d have the same key", e.Key, e.FirstRow, e.Row)
}

// BulkLoader loads rows into one table of one branch: Add converts and
// checks each row as it comes (so the caller need not keep its source's
// values), Commit writes them all as one version. A BulkLoader is used by
// one goroutine; it holds no resources beyond its rows (the writer belongs
// to the engine), so an abandoned one needs no Close.
type BulkLoader struct {
	w     *memwal.Branch
	meta  txn.Table
	name  string // db.table, for messages
	o     BulkLoadOptions
	cols  []loadColumn // one per schema column
	visib []Column     // the visible columns, for callers
	// keyPos are the key columns' positions in the schema; nil for a
	// table without a primary key (its hidden row id is the writer's).
	keyPos []int
	enc    *parquetio.KeyEncoder
	schema *arrow.Schema // the table's Arrow schema (every column)
	// n counts the rows handed to the bulk write. Rows added one at a
	// time (Add, AddText) wait in pend (each a slice of slab) until
	// batchRows of them make a record.
	n     int
	bw    *memwal.BulkWriter // the bulk write, from the first record
	ctx   context.Context    // NewBulkLoader's, for the bulk write
	pend  [][]any
	slab  []any
	width int // values per input row
	// counts are the committed write's.
	counts memwal.BulkCounts
}

// batchRows is how many rows Add and AddText gather into one record.
const batchRows = 16 << 10

// loadColumn says where a schema column's values come from.
type loadColumn struct {
	col base.Column
	typ base.Type
	// src is the index of the column's value in an added row, or -1: the
	// column takes def (the hidden row id takes nil, the writer's).
	src  int
	def  any
	conv func(v any) (any, error)
	// text converts a text field (AddText): conv without boxing the text
	// first for the common types.
	text func(s string) (any, error)
	// emptyDef says an empty text field is the column's default, empty
	// (Options.EmptyIsDefault, a column not of a string type).
	emptyDef bool
	empty    any
}

// BulkLoad writes rows (the visible columns in table order, or
// o.Columns; values as Go integers, floats, strings, []byte, time.Time or
// nil) into a table of db's branch ("" for main) through the branch
// writer's bulk path and commits them as one version with operation IMPORT.
// It takes the writer lease like any writer: when another process holds it,
// the error names the holder and says to use LOAD DATA through that server.
func (e *Embedded) BulkLoad(ctx context.Context, db, branch, table string, rows [][]any, o BulkLoadOptions) (version int64, err error) {
	l, err := e.NewBulkLoader(ctx, db, branch, table, o)
	if err != nil {
		return 0, err
	}
	defer l.Abort()
	for i, r := range rows {
		if err := l.Add(r); err != nil {
			return 0, fmt.Errorf("row %d: %w", i+1, err)
		}
	}
	return l.Commit(ctx)
}

// NewBulkLoader prepares a bulk load into table of db's branch ("" for
// main): it takes the branch's writer lease (see BulkLoad) and resolves the
// table and the columns the rows hold.
func (e *Embedded) NewBulkLoader(ctx context.Context, db, branch, table string, o BulkLoadOptions) (*BulkLoader, error) {
	name := db
	if branch != "" && branch != txn.MainBranch {
		name = db + "/" + branch
	}
	d, err := e.p.database(ctx, name)
	if err != nil {
		return nil, err
	}
	w, err := d.st.writer(ctx, d.branch)
	if err != nil {
		return nil, leaseHint(err, d.st.name, d.branch)
	}
	ts := findTable(w.Head().State, table)
	if ts == nil {
		return nil, fmt.Errorf("table %s.%s does not exist on branch %s", d.st.name, table, d.branch)
	}
	return newBulkLoader(ctx, w, ts.Meta, d.st.name+"."+ts.Meta.Name, o)
}

// newBulkLoader prepares a bulk load into table meta (named name in
// messages) of the branch w writes.
func newBulkLoader(ctx context.Context, w *memwal.Branch, meta txn.Table, name string, o BulkLoadOptions) (*BulkLoader, error) {
	if o.Operation == "" {
		o.Operation = "IMPORT"
	}
	l := &BulkLoader{w: w, meta: meta, name: name, o: o, ctx: ctx}
	if err := l.resolve(); err != nil {
		return nil, err
	}
	return l, nil
}

// PrepareLoad takes the writer lease of db's branch ("" for main) for a
// load, so that a load fails before it reads its input when another process
// writes the branch (the error names it, see BulkLoad), and so that a table
// the load needs can be created first.
func (e *Embedded) PrepareLoad(ctx context.Context, db, branch string) error {
	name := db
	if branch != "" && branch != txn.MainBranch {
		name = db + "/" + branch
	}
	d, err := e.p.database(ctx, name)
	if err != nil {
		return err
	}
	if _, err := d.st.writer(ctx, d.branch); err != nil {
		return leaseHint(err, d.st.name, d.branch)
	}
	return nil
}

// leaseHint words a writer error for a load: who holds the lease and what
// to do about it.
func leaseHint(err error, db, branch string) error {
	var held *lease.HeldError
	if errors.As(err, &held) {
		return &loadLeaseError{err: err, msg: fmt.Sprintf("branch %s of database %s is being written by another process (%s, lease epoch %d, until %s): load the file through that server with LOAD DATA, or stop it and try again",
			branch, db, held.Holder, held.Epoch, held.Expiry.Format(time.RFC3339))}
	}
	return err
}

// loadLeaseError is a load refused because another process holds the
// writer lease; it unwraps to the lease's *lease.HeldError.
type loadLeaseError struct {
	msg string
	err error
}

func (e *loadLeaseError) Error() string { return e.msg }
func (e *loadLeaseError) Unwrap() error { return e.err }

// resolve builds the columns' sources and converters.
func (l *BulkLoader) resolve() error {
	m := &l.meta
	keyless := false
	for _, id := range m.Key {
		for i, c := range m.Schema.Columns {
			if c.ID == id {
				l.keyPos = append(l.keyPos, i)
				keyless = keyless || c.Hidden
			}
		}
	}
	if keyless {
		l.keyPos = nil
		if l.o.Upsert {
			return fmt.Errorf("table %s has no primary key, so rows cannot replace others: load without upsert", l.name)
		}
	} else {
		enc, err := parquetio.NewKeyEncoder(&m.Schema, m.Key)
		if err != nil {
			return err
		}
		l.enc = enc
	}
	as, err := parquetio.ArrowSchema(&m.Schema, nil)
	if err != nil {
		return err
	}
	l.schema = as
	src := map[string]int{}
	for i, n := range l.o.Columns {
		k := strings.ToLower(n)
		if _, dup := src[k]; dup {
			return fmt.Errorf("column %s is named twice", n)
		}
		src[k] = i
	}
	l.cols = make([]loadColumn, len(m.Schema.Columns))
	vis := 0
	for i, c := range m.Schema.Columns {
		typ, err := base.ParseType(c.Type)
		if err != nil {
			return err
		}
		lc := loadColumn{col: c, typ: typ, src: -1}
		if !c.Hidden {
			st, err := sqlType(typ)
			if err != nil {
				return err
			}
			l.visib = append(l.visib, Column{Name: c.Name, Type: strings.ToUpper(st.String()), Kind: kindOf(st)})
			if l.o.Columns == nil {
				lc.src = vis
			} else if j, ok := src[strings.ToLower(c.Name)]; ok {
				lc.src = j
				delete(src, strings.ToLower(c.Name))
			}
			vis++
			if lc.conv, err = converter(c, typ); err != nil {
				return err
			}
			lc.text = textConverter(typ, lc.conv)
			if lc.src >= 0 && l.o.EmptyIsDefault && !isStringKind(typ.Kind) {
				lc.emptyDef = true
				if lc.empty, err = l.emptyDefault(c, typ, lc.conv); err != nil {
					return err
				}
			}
			if lc.src < 0 {
				if lc.def, err = l.defaultOf(c, typ, lc.conv); err != nil {
					return err
				}
			}
		}
		l.cols[i] = lc
	}
	if len(src) > 0 {
		var unknown []string
		for _, i := range src {
			unknown = append(unknown, l.o.Columns[i])
		}
		slices.Sort(unknown)
		return fmt.Errorf("table %s has no column %s", l.name, strings.Join(unknown, ", "))
	}
	l.width = vis
	if l.o.Columns != nil {
		l.width = len(l.o.Columns)
	}
	return nil
}

// defaultOf is the stored value of a column the load does not name.
func (l *BulkLoader) defaultOf(c base.Column, typ base.Type, conv func(any) (any, error)) (any, error) {
	if expr, ok := l.meta.Properties[defaultProperty(c.ID)]; ok {
		return nil, fmt.Errorf("column %s has DEFAULT %s, an expression a load does not evaluate: the rows must hold the column", c.Name, expr)
	}
	if c.Default == nil {
		if !c.Nullable {
			return nil, fmt.Errorf("column %s is NOT NULL without a DEFAULT: the rows must hold it", c.Name)
		}
		return nil, nil
	}
	lit := strings.TrimSpace(*c.Default)
	var v any
	switch {
	case strings.EqualFold(lit, "NULL"):
		v = nil
	case len(lit) >= 3 && (lit[0] == 'x' || lit[0] == 'X') && lit[1] == '\'':
		b, err := hexBytes(lit[2 : len(lit)-1])
		if err != nil {
			return nil, fmt.Errorf("column %s: DEFAULT %s: %w", c.Name, lit, err)
		}
		v = b
	case len(lit) >= 2 && lit[0] == '\'':
		v = strings.ReplaceAll(strings.ReplaceAll(lit[1:len(lit)-1], "''", "'"), `\\`, `\`)
	default:
		v = lit
	}
	if v == nil {
		if !c.Nullable {
			return nil, fmt.Errorf("column %s is NOT NULL with DEFAULT NULL: the rows must hold it", c.Name)
		}
		return nil, nil
	}
	out, err := conv(v)
	if err != nil {
		return nil, fmt.Errorf("column %s: DEFAULT %s: %w", c.Name, lit, err)
	}
	return out, nil
}

// emptyDefault is the value of an empty text field of column c under
// EmptyIsDefault: its literal DEFAULT, or NULL (nil; the row then fails
// when c is NOT NULL). A DEFAULT expression is an error: the load cannot
// evaluate it.
func (l *BulkLoader) emptyDefault(c base.Column, typ base.Type, conv func(any) (any, error)) (any, error) {
	if _, ok := l.meta.Properties[defaultProperty(c.ID)]; ok {
		return l.defaultOf(c, typ, conv) // refused
	}
	if c.Default == nil || strings.EqualFold(strings.TrimSpace(*c.Default), "NULL") {
		return nil, nil
	}
	return l.defaultOf(c, typ, conv)
}

// isStringKind reports whether k is a character or byte string type.
func isStringKind(k base.TypeKind) bool {
	switch k {
	case base.TypeChar, base.TypeVarchar, base.TypeText, base.TypeBinary, base.TypeVarbinary, base.TypeBlob:
		return true
	}
	return false
}

func hexBytes(s string) ([]byte, error) {
	if len(s)%2 != 0 {
		return nil, errors.New("odd number of hex digits")
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		n, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, err
		}
		out[i] = byte(n)
	}
	return out, nil
}

// Columns are the table's visible columns, in table order.
func (l *BulkLoader) Columns() []Column { return slices.Clone(l.visib) }

// Keyless reports whether the table has no primary key.
func (l *BulkLoader) Keyless() bool { return l.enc == nil }

// Rows is the number of rows added so far.
func (l *BulkLoader) Rows() int { return l.n + len(l.pend) }

// newRow returns the slice the next row is converted into.
func (l *BulkLoader) newRow() []any {
	w := len(l.cols)
	if len(l.slab) < w {
		l.slab = make([]any, w*batchRows)
	}
	out := l.slab[:w:w]
	l.slab = l.slab[w:]
	return out
}

// keep keeps a converted row; a full batch becomes a record.
func (l *BulkLoader) keep(out []any) error {
	l.pend = append(l.pend, out)
	if len(l.pend) >= batchRows {
		return l.flushPending()
	}
	return nil
}

// flushPending makes the rows Add and AddText gathered a record.
func (l *BulkLoader) flushPending() error {
	if len(l.pend) == 0 {
		return nil
	}
	rec, err := memtable.BuildRecord(memory.DefaultAllocator, &l.meta.Schema, l.pend)
	if err != nil {
		return err
	}
	l.pend, l.slab = l.pend[:0], nil
	return l.keepRecord(rec)
}

// keepRecord hands a record to the bulk write (begun at the first). It
// takes over the caller's reference.
func (l *BulkLoader) keepRecord(rec arrow.Record) error {
	defer rec.Release()
	if l.bw == nil {
		bw, err := l.w.BeginBulk(l.ctx, l.meta.ID, memwal.BulkRecordsOptions{
			BulkOptions: memwal.BulkOptions{Operation: l.o.Operation, Version: true, Message: l.o.Message, User: l.o.User},
			SchemaID:    l.meta.SchemaID,
			Refuse:      !l.o.Upsert && !l.o.Ignore,
			Skip:        l.o.Ignore && !l.o.Upsert,
		})
		if err != nil {
			if ts := l.w.Head().State.Table(l.meta.ID); ts == nil || ts.Meta.SchemaID != l.meta.SchemaID {
				return fmt.Errorf("table %s was dropped or altered during the load; nothing was written", l.name)
			}
			return translate(err)
		}
		l.bw = bw
	}
	if err := l.bw.Write(l.ctx, rec); err != nil {
		return translate(err)
	}
	l.n += int(rec.NumRows())
	return nil
}

// Append adds a record that ConvertText or ConvertValues returned, in
// order. The loader takes over the caller's reference. The first record
// begins the bulk write: from then on the branch's other writers wait
// until Commit or Abort (see memwal.BulkWriter); a table without a key
// has each record encoded into the data file as it comes.
func (l *BulkLoader) Append(rec arrow.Record) error { return l.failed(l.appendRecord(rec)) }

func (l *BulkLoader) appendRecord(rec arrow.Record) error {
	if err := l.flushPending(); err != nil {
		rec.Release()
		return err
	}
	if !rec.Schema().Equal(l.schema) {
		rec.Release()
		return fmt.Errorf("a record of schema %s, want %s", rec.Schema(), l.schema)
	}
	return l.keepRecord(rec)
}

// failed ends the load when err is not nil, and returns err.
func (l *BulkLoader) failed(err error) error {
	if err != nil {
		l.Abort()
	}
	return err
}

// Abort abandons the load: nothing is written, the branch's writers
// resume. An error of Add, AddText, Append or AddParquet ends the load
// itself (nothing was or will be written; the loader is not to be used
// again), as Commit does; a caller that gives up otherwise must Abort.
// Abort after the end does nothing.
func (l *BulkLoader) Abort() {
	if l.bw != nil {
		l.bw.Abort()
		l.bw = nil
	}
	l.release()
}

// release forgets every row.
func (l *BulkLoader) release() {
	l.pend, l.slab, l.n = nil, nil, 0
}

// Add converts one row (values for Options.Columns, or every visible
// column in table order) and keeps it for Commit. The loader keeps no
// reference to row.
func (l *BulkLoader) Add(row []any) error { return l.failed(l.add(row)) }

func (l *BulkLoader) add(row []any) error {
	if len(row) != l.width {
		return fmt.Errorf("%d values for %d columns", len(row), l.width)
	}
	out := l.newRow()
	for i := range l.cols {
		c := &l.cols[i]
		if c.src < 0 {
			out[i] = c.def
			continue
		}
		v := row[c.src]
		if v == nil {
			if !c.col.Nullable {
				return notNullError(c.col.Name)
			}
			continue
		}
		sv, err := c.conv(v)
		if err != nil {
			return fmt.Errorf("column %s %s: %w", c.col.Name, c.typ, err)
		}
		out[i] = sv
	}
	return l.keep(out)
}

// AddText is Add for text fields (a CSV record): fields[i] is the value of
// the i-th column, or NULL when null[i]. Numbers are parsed without boxing
// the text first. The loader may keep the strings of text columns (they
// are not copied).
func (l *BulkLoader) AddText(fields []string, null []bool) error {
	return l.failed(l.addText(fields, null))
}

func (l *BulkLoader) addText(fields []string, null []bool) error {
	if len(fields) != l.width || len(null) != l.width {
		return fmt.Errorf("%d values for %d columns", len(fields), l.width)
	}
	out := l.newRow()
	for i := range l.cols {
		c := &l.cols[i]
		if c.src < 0 {
			out[i] = c.def
			continue
		}
		if null[c.src] {
			if !c.col.Nullable {
				return notNullError(c.col.Name)
			}
			continue
		}
		sv, err := c.text(fields[c.src])
		if err != nil {
			return fmt.Errorf("column %s %s: %w", c.col.Name, c.typ, err)
		}
		out[i] = sv
	}
	return l.keep(out)
}

// Counts says, after Commit, what the load did with its rows: how many it
// took, wrote, and how many rows of the table they replaced.
func (l *BulkLoader) Counts() memwal.BulkCounts { return l.counts }

// Commit writes the rows through the bulk path as one version and returns
// it. Without Upsert it first refuses keys that repeat or exist (a
// *DuplicateKeyError), writing nothing.
func (l *BulkLoader) Commit(ctx context.Context) (int64, error) {
	if err := l.flushPending(); err != nil {
		l.Abort()
		return 0, err
	}
	defer l.Abort()
	if l.bw == nil {
		return l.w.Head().Version(), nil
	}
	bw := l.bw
	l.bw = nil
	snap, err := bw.Commit(ctx)
	l.counts = bw.Counts()
	var dup *memwal.BulkDuplicateError
	if errors.As(err, &dup) {
		e := &DuplicateKeyError{Table: l.name, Key: l.keyString(dup.Key), Row: dup.Row + 1}
		if dup.FirstRow >= 0 {
			e.FirstRow = dup.FirstRow + 1
		}
		return 0, e
	}
	if err != nil {
		return 0, translate(err)
	}
	return snap.Version(), nil
}

// keyString spells a key (its stored values, in key order) for messages.
func (l *BulkLoader) keyString(key []any) string {
	parts := make([]string, len(l.keyPos))
	for j, p := range l.keyPos {
		parts[j] = fmt.Sprint(fromStored(l.cols[p].typ, key[j]))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Converting values. A converter turns a source value (a Go integer,
// float, string, []byte, bool, time.Time or time.Duration; never nil) into
// the Go type the MemTable stores for the column (see memwal/memtable),
// checking what normalizing alone would not: lengths of CHAR/VARCHAR/BINARY
// values, integers of float and string sources, JSON. Strings are parsed
// as MySQL reads literals; what the fast paths do not recognize (other
// date and time spellings) goes through go-mysql-server's conversion.

var errNotNumber = errors.New("not a number")

// valueError is a value a load cannot take, of a kind that has its own
// MySQL error code (valueError.code); other conversion errors are plain.
type valueError struct {
	kind valueKind
	msg  string
}

type valueKind uint8

const (
	valueNull     valueKind = iota + 1 // NULL for a NOT NULL column
	valueTooLong                       // longer than the column
	valueOutRange                      // a number outside the type's range
)

func (e *valueError) Error() string { return e.msg }

func notNullError(col string) error {
	return &valueError{kind: valueNull, msg: fmt.Sprintf("column %s is NOT NULL", col)}
}

func rangeError(msg string) error { return &valueError{kind: valueOutRange, msg: msg} }

func converter(c base.Column, t base.Type) (func(any) (any, error), error) {
	switch {
	case t.IsInteger():
		return intConverter(t), nil
	}
	switch t.Kind {
	case base.TypeFloat32, base.TypeFloat64:
		return func(v any) (any, error) {
			if f, ok := v.(float64); ok && t.Kind == base.TypeFloat64 && !math.IsNaN(f) && !math.IsInf(f, 0) {
				return v, nil // stored as it is: no new boxing
			}
			f, err := asFloat(v)
			if err != nil {
				return nil, err
			}
			if t.Kind == base.TypeFloat32 {
				if math.Abs(f) > math.MaxFloat32 && !math.IsInf(f, 0) {
					return nil, rangeError("out of range")
				}
				return float32(f), nil
			}
			return f, nil
		}, nil
	case base.TypeDecimal:
		return decimalConverter(t), nil
	case base.TypeChar, base.TypeVarchar, base.TypeText, base.TypeJSON:
		return func(v any) (any, error) {
			s, err := asString(v)
			if err != nil {
				return nil, err
			}
			switch t.Kind {
			case base.TypeChar, base.TypeVarchar:
				if len(s) > t.Length && utf8.RuneCountInString(s) > t.Length {
					return nil, &valueError{kind: valueTooLong, msg: fmt.Sprintf("value too long (%d characters)", utf8.RuneCountInString(s))}
				}
			case base.TypeJSON:
				if !json.Valid([]byte(s)) {
					return nil, errors.New("not a valid JSON document")
				}
			}
			if _, ok := v.(string); ok {
				return v, nil
			}
			return s, nil
		}, nil
	case base.TypeBinary, base.TypeVarbinary, base.TypeBlob:
		return func(v any) (any, error) {
			var b []byte
			switch x := v.(type) {
			case []byte:
				b = slices.Clone(x)
			default:
				s, err := asString(v)
				if err != nil {
					return nil, err
				}
				b = []byte(s)
			}
			if t.Kind != base.TypeBlob && len(b) > t.Length {
				return nil, &valueError{kind: valueTooLong, msg: fmt.Sprintf("value too long (%d bytes)", len(b))}
			}
			if t.Kind == base.TypeBinary && len(b) < t.Length {
				b = append(b, make([]byte, t.Length-len(b))...) // MySQL pads BINARY with zero bytes
			}
			return b, nil
		}, nil
	case base.TypeBool:
		return func(v any) (any, error) {
			switch x := v.(type) {
			case bool:
				return x, nil
			case string:
				switch strings.ToLower(strings.TrimSpace(x)) {
				case "1", "true", "t", "yes", "y", "on":
					return true, nil
				case "0", "false", "f", "no", "n", "off":
					return false, nil
				}
				return nil, fmt.Errorf("not a boolean: %q", x)
			}
			f, err := asFloat(v)
			if err != nil {
				return nil, err
			}
			return f != 0, nil
		}, nil
	case base.TypeDate, base.TypeDatetime, base.TypeTimestamp, base.TypeTime:
		return temporalConverter(t)
	}
	return nil, fmt.Errorf("%w: %s", base.ErrUnsupportedType, t)
}

// textConverter converts text fields: integers and floats are parsed
// straight from the text (no boxing of the text first); what does not
// parse, and every other type, goes through conv, which also words the
// errors.
func textConverter(t base.Type, conv func(any) (any, error)) func(string) (any, error) {
	switch t.Kind {
	case base.TypeInt8, base.TypeInt16, base.TypeInt32, base.TypeInt64:
		bits := map[base.TypeKind]int{base.TypeInt8: 8, base.TypeInt16: 16, base.TypeInt32: 32, base.TypeInt64: 64}[t.Kind]
		return func(s string) (any, error) {
			n, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				return conv(s)
			}
			switch t.Kind {
			case base.TypeInt8:
				return int8(n), nil
			case base.TypeInt16:
				return int16(n), nil
			case base.TypeInt32:
				return int32(n), nil
			}
			return n, nil
		}
	case base.TypeFloat64:
		return func(s string) (any, error) {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return conv(s)
			}
			return f, nil
		}
	}
	return func(s string) (any, error) { return conv(s) }
}

func intConverter(t base.Type) func(any) (any, error) {
	var lo, hi int64
	var uhi uint64
	switch t.Kind {
	case base.TypeInt8:
		lo, hi = math.MinInt8, math.MaxInt8
	case base.TypeInt16:
		lo, hi = math.MinInt16, math.MaxInt16
	case base.TypeInt32:
		lo, hi = math.MinInt32, math.MaxInt32
	case base.TypeInt64:
		lo, hi = math.MinInt64, math.MaxInt64
	case base.TypeUint8:
		uhi = math.MaxUint8
	case base.TypeUint16:
		uhi = math.MaxUint16
	case base.TypeUint32:
		uhi = math.MaxUint32
	case base.TypeUint64:
		uhi = math.MaxUint64
	}
	outOfRange := func(v any) (any, error) { return nil, rangeError(fmt.Sprintf("%v is out of range", v)) }
	if t.IsUnsigned() {
		return func(v any) (any, error) {
			var u uint64
			switch x := v.(type) {
			case uint64:
				u = x
			case string:
				s := strings.TrimSpace(x)
				n, err := strconv.ParseUint(s, 10, 64)
				if err != nil {
					f, ferr := strconv.ParseFloat(s, 64)
					if ferr != nil || f < 0 || f >= math.MaxUint64 {
						if ferr == nil || errors.Is(err, strconv.ErrRange) {
							return outOfRange(x)
						}
						return nil, fmt.Errorf("not an integer: %q", x)
					}
					n = uint64(math.Round(f))
				}
				u = n
			default:
				if n, ok := base.AsUint64(v); ok {
					u = n
				} else if _, ok := base.AsInt64(v); ok {
					return outOfRange(v) // negative
				} else {
					f, err := asFloat(v)
					if err != nil {
						return nil, err
					}
					if f < 0 || f >= math.MaxUint64 || f != f {
						return outOfRange(v)
					}
					u = uint64(math.Round(f))
				}
			}
			if u > uhi {
				return outOfRange(v)
			}
			switch t.Kind {
			case base.TypeUint8:
				return uint8(u), nil
			case base.TypeUint16:
				return uint16(u), nil
			case base.TypeUint32:
				return uint32(u), nil
			}
			if _, ok := v.(uint64); ok {
				return v, nil
			}
			return u, nil
		}
	}
	return func(v any) (any, error) {
		var n int64
		switch x := v.(type) {
		case int64:
			n = x
		case string:
			s := strings.TrimSpace(x)
			i, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				// MySQL rounds a decimal literal into an integer column.
				f, ferr := strconv.ParseFloat(s, 64)
				if ferr != nil || errors.Is(err, strconv.ErrRange) || f < math.MinInt64 || f >= math.MaxInt64 {
					if ferr == nil || errors.Is(err, strconv.ErrRange) {
						return outOfRange(x)
					}
					return nil, fmt.Errorf("not an integer: %q", x)
				}
				i = int64(math.Round(f))
			}
			n = i
		default:
			if i, ok := base.AsInt64(v); ok {
				n = i
			} else if _, ok := base.AsUint64(v); ok {
				return outOfRange(v)
			} else {
				f, err := asFloat(v)
				if err != nil {
					return nil, err
				}
				if f < math.MinInt64 || f >= math.MaxInt64 || f != f {
					return outOfRange(v)
				}
				n = int64(math.Round(f))
			}
		}
		if n < lo || n > hi {
			return outOfRange(v)
		}
		switch t.Kind {
		case base.TypeInt8:
			return int8(n), nil
		case base.TypeInt16:
			return int16(n), nil
		case base.TypeInt32:
			return int32(n), nil
		}
		if _, ok := v.(int64); ok {
			return v, nil
		}
		return n, nil
	}
}

// asFloat reads a finite number (MySQL stores no NaN or infinity).
func asFloat(v any) (float64, error) {
	f, err := asAnyFloat(v)
	if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return 0, fmt.Errorf("%v is not a finite number", v)
	}
	return f, err
}

func asAnyFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return 0, rangeError(fmt.Sprintf("%s is out of range", x))
			}
			return 0, fmt.Errorf("not a number: %q", x)
		}
		return f, nil
	case []byte:
		return asFloat(string(x))
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case decimal.Decimal:
		f, _ := x.Float64()
		return f, nil
	}
	if n, ok := base.AsInt64(v); ok {
		return float64(n), nil
	}
	if n, ok := base.AsUint64(v); ok {
		return float64(n), nil
	}
	return 0, fmt.Errorf("%w: %v (%T)", errNotNumber, v, v)
}

// asString spells a value as text.
func asString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case time.Time:
		return x.Format("2006-01-02 15:04:05.999999"), nil
	case decimal.Decimal:
		return x.String(), nil
	}
	if n, ok := base.AsInt64(v); ok {
		return strconv.FormatInt(n, 10), nil
	}
	if n, ok := base.AsUint64(v); ok {
		return strconv.FormatUint(n, 10), nil
	}
	return "", fmt.Errorf("cannot store %v (%T) as text", v, v)
}

func decimalConverter(t base.Type) func(any) (any, error) {
	return func(v any) (any, error) {
		var d decimal.Decimal
		switch x := v.(type) {
		case string:
			s := strings.TrimSpace(x)
			// Exact when it has no more fractional digits than the
			// scale (the common case): no big-number arithmetic.
			if n, err := parquetio.ParseDecimal(s, t.Precision, t.Scale); err == nil {
				return storedDecimal(t, n)
			}
			var err error
			if d, err = decimal.NewFromString(s); err != nil {
				return nil, fmt.Errorf("not a decimal: %q", x)
			}
		case []byte:
			s := string(x)
			var err error
			if d, err = decimal.NewFromString(strings.TrimSpace(s)); err != nil {
				return nil, fmt.Errorf("not a decimal: %q", s)
			}
		case decimal.Decimal:
			d = x
		case float64, float32:
			f, err := asFloat(x) // NewFromFloat panics on NaN and infinities
			if err != nil {
				return nil, err
			}
			d = decimal.NewFromFloat(f)
		case bool:
			if x {
				d = decimal.NewFromInt(1)
			}
		default:
			if n, ok := base.AsInt64(v); ok {
				d = decimal.NewFromInt(n)
			} else if u, ok := base.AsUint64(v); ok {
				d, _ = decimal.NewFromString(strconv.FormatUint(u, 10))
			} else {
				return nil, fmt.Errorf("cannot store %v (%T) as a decimal", v, v)
			}
		}
		// MySQL rounds extra fractional digits half away from zero.
		n, ok, err := parquetio.DecimalValue(d.Round(int32(t.Scale)).StringFixed(int32(t.Scale)), t)
		if err != nil || !ok { // too many digits for the precision
			return nil, rangeError(fmt.Sprintf("%s is out of range", d))
		}
		return storedDecimal(t, n)
	}
}

// storedDecimal is an unscaled decimal as the MemTable stores it.
func storedDecimal(t base.Type, n decimal256.Num) (any, error) {
	if !n.FitsInPrecision(int32(t.Precision)) {
		return nil, rangeError(fmt.Sprintf("%s is out of range", n.ToString(int32(t.Scale))))
	}
	if t.Precision <= 38 {
		a := n.Array()
		return decimal128.New(int64(a[1]), a[0]), nil
	}
	return n, nil
}

// timeLayouts are the spellings the temporal fast path parses (as UTC
// wall clock unless they carry a zone).
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02",
}

func temporalConverter(t base.Type) (func(any) (any, error), error) {
	st, err := sqlType(t)
	if err != nil {
		return nil, err
	}
	unit := int64(1)
	for range 6 - min(max(t.Precision, 0), 6) {
		unit *= 10
	}
	round := func(us int64) int64 { // to the column's fractional digits, half away from zero
		if unit == 1 {
			return us
		}
		r := us % unit
		us -= r
		if r >= unit/2 {
			us += unit
		} else if r <= -unit/2 {
			us -= unit
		}
		return us
	}
	stored := func(x time.Time) (any, error) {
		switch t.Kind {
		case base.TypeDate:
			return arrow.Date32(time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400), nil
		case base.TypeDatetime:
			// Wall clock: the fields as written, whatever the zone.
			x = time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC)
		}
		return arrow.Timestamp(round(x.UnixMicro())), nil
	}
	return func(v any) (any, error) {
		if t.Kind == base.TypeTime {
			if d, ok := v.(time.Duration); ok {
				return arrow.Duration(round(d.Microseconds())), nil
			}
		} else if x, ok := v.(time.Time); ok {
			return stored(x)
		}
		if s, ok := v.(string); ok && t.Kind != base.TypeTime {
			for _, layout := range timeLayouts {
				if x, err := time.Parse(layout, s); err == nil {
					return stored(x)
				}
			}
		}
		cv, _, err := st.Convert(context.Background(), v)
		if err != nil {
			return nil, fmt.Errorf("cannot read %v as %s", v, t)
		}
		switch x := cv.(type) {
		case time.Time:
			return stored(x)
		case types.Timespan:
			return arrow.Duration(round(x.AsMicroseconds())), nil
		}
		return nil, fmt.Errorf("cannot read %v as %s", v, t)
	}, nil
}
