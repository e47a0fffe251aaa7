package sql

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/lakesql/lakesql/internal/base"
)

// LOAD DATA. go-mysql-server plans it as an INSERT whose source reads the
// file; lakesql reads the file itself (loadReader: MySQL's rules for
// terminators, quotes and escapes) and takes one of two paths:
//
//   - the bulk path of imports, for an autocommit LOAD DATA into a table
//     without AUTO_INCREMENT or UNIQUE indexes, with no user variables or
//     SET clause (loadBulk): records are converted in batches on every
//     core (BulkLoader.ConvertText) and written by the branch's
//     BulkWriter into one data file, committed as one version (operation
//     LOAD DATA); REPLACE upserts, IGNORE (and LOCAL, as in MySQL) skips
//     rows whose key repeats, else a repeated key fails the load (1062)
//     and nothing is written;
//   - otherwise the INSERT gets the rows from loadSource, and its
//     transaction stages them and commits them through the bulk path at
//     COMMIT (editor.StatementComplete).
//
// Both read a field the same way: a missing field is empty, an empty field
// of a column that is not a string type is the column's DEFAULT (NULL
// without one), extra fields are ignored.

// loadBatchRows is how many records a bulk LOAD DATA converts at a time.
const loadBatchRows = 8 << 10

// loadFormatOf is the format of LOAD DATA's FIELDS and LINES clauses.
func loadFormatOf(ld *plan.LoadData) (loadFormat, error) {
	f := loadFormat{fieldTerm: ld.FieldsTerminatedBy, lineStart: ld.LinesStartingBy, lineTerm: ld.LinesTerminatedBy}
	if ld.FieldsEnclosedBy != "" {
		f.enclosed, f.hasEnclosed = ld.FieldsEnclosedBy[0], true
	}
	if ld.FieldsEscapedBy != "" {
		f.escape, f.hasEscape = ld.FieldsEscapedBy[0], true
	}
	err := f.check()
	return f, err
}

// openLoadInput opens LOAD DATA's input: the client's file (LOCAL, when
// local_infile allows it), or a file of the server's under
// secure_file_priv.
func openLoadInput(ctx *sql.Context, ld *plan.LoadData) (io.ReadCloser, error) {
	if ld.Local {
		if _, v, ok := sql.SystemVariables.GetGlobal("local_infile"); !ok || v == int8(0) {
			return nil, errors.New("LOAD DATA LOCAL is disabled: SET GLOBAL local_infile = 1 to allow it")
		}
		return ctx.LoadInfile(ld.File)
	}
	_, dir, _ := sql.SystemVariables.GetGlobal("secure_file_priv")
	if d, _ := dir.(string); d != "" {
		if err := underDir(d, ld.File); err != nil {
			return nil, err
		}
	}
	f, err := os.Open(ld.File)
	if err != nil {
		return nil, sql.ErrLoadDataCannotOpen.New(err.Error())
	}
	return f, nil
}

// underDir refuses a file outside dir (secure_file_priv).
func underDir(dir, file string) error {
	d, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	f, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	if rel, err := filepath.Rel(d, f); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return sql.ErrSecureFilePriv.New()
	}
	return nil
}

// loadTarget is the lakesql table an INSERT writes, or nil.
func loadTarget(ins *plan.InsertInto) *Table {
	var t *Table
	transform.Inspect(ins.Destination, func(n sql.Node) bool {
		if rt, ok := n.(*plan.ResolvedTable); ok {
			t, _ = rt.UnderlyingTable().(*Table)
			return false
		}
		return t == nil
	})
	return t
}

// loadBulk runs an autocommit LOAD DATA through the bulk path when it may
// take it (see the top of the file); ok is false, with nothing read, when
// it may not.
func loadBulk(ctx *sql.Context, ins *plan.InsertInto, ld *plan.LoadData) (iter sql.RowIter, ok bool, err error) {
	t := loadTarget(ins)
	if t == nil || t.asOf != nil || !autocommit(ctx) || len(ins.Checks()) > 0 ||
		t.autoIncColumn() >= 0 || hasUnique(t) || len(ld.SetExprs) > 0 {
		return nil, false, nil
	}
	for _, v := range ld.UserVars {
		if v != nil {
			return nil, false, nil
		}
	}
	s, err := sessionOf(ctx)
	if err != nil || s.inRetry {
		return nil, false, err
	}
	f, err := loadFormatOf(ld)
	if err != nil {
		return nil, true, err
	}
	bt, err := s.branchTxn(ctx, t.db.st, t.db.branch, true)
	if err != nil {
		return nil, true, translate(err)
	}
	if !bt.tx.Empty() {
		return nil, false, nil
	}
	var cols []string // nil: every column
	if len(ld.ColNames) > 0 {
		cols = ld.ColNames
	}
	o := BulkLoadOptions{
		Columns:        cols,
		Upsert:         ld.IsReplace && !t.keyless(),
		Ignore:         ld.IsIgnore,
		EmptyIsDefault: true,
		Operation:      "LOAD DATA",
		User:           userOf(ctx),
	}
	l, err := newBulkLoader(ctx, bt.w, t.meta, t.db.st.name+"."+t.meta.Name, o)
	if err != nil {
		return nil, false, nil // e.g. a DEFAULT expression: the INSERT evaluates it
	}
	defer l.Abort()
	start := time.Now()
	in, err := openLoadInput(ctx, ld)
	if err != nil {
		return nil, true, err
	}
	defer in.Close()
	r := newLoadReader(in, f)
	if err := r.skipRecords(ld.IgnoreNum); err != nil {
		return nil, true, err
	}
	if err := loadRecords(r, l); err != nil {
		return nil, true, translate(err)
	}
	if _, err := l.Commit(ctx); err != nil {
		return nil, true, translate(err)
	}
	c := l.Counts()
	s.p.log.Info("LOAD DATA through the bulk path", "table", l.name, "file", ld.File, "rows", c.Rows,
		"written", c.Written, "replaced", c.Replaced, "seconds", time.Since(start).Seconds())
	affected := c.Written
	if o.Upsert {
		affected = c.Rows + c.Replaced + (c.Rows - c.Written) // MySQL: a replaced row counts twice
	}
	ctx.SetLastQueryInfoInt(sql.RowCount, int64(affected))
	return sql.RowsToRowIter(sql.NewRow(types.OkResult{RowsAffected: uint64(affected)})), true, nil
}

// loadDataOf returns the LOAD DATA an INSERT's source reads (under the
// projection go-mysql-server puts over it), or nil.
func loadDataOf(src sql.Node) *plan.LoadData {
	for {
		switch n := src.(type) {
		case *plan.LoadData:
			return n
		case *plan.Project:
			src = n.Child
		default:
			return nil
		}
	}
}

// withLoadSource returns src with its LOAD DATA read by loadSource.
func withLoadSource(src sql.Node) sql.Node {
	if p, ok := src.(*plan.Project); ok {
		return plan.NewProject(p.Projections, withLoadSource(p.Child))
	}
	return &loadSource{ld: src.(*plan.LoadData)}
}

// hasUnique reports whether t has a UNIQUE secondary index.
func hasUnique(t *Table) bool {
	for _, ix := range t.meta.Indexes {
		if ix.Unique {
			return true
		}
	}
	return false
}

// loadBatch is a batch of records read for conversion: first is the line
// of its first record.
type loadBatch struct {
	fields []string
	null   []bool
	n      int
	first  int
}

// loadRecords reads every record of r into l: batches converted on every
// core, appended in order.
func loadRecords(r *loadReader, l *BulkLoader) error {
	w := l.Width()
	produce := func(send func(*loadBatch) bool) error {
		for {
			b := &loadBatch{first: r.line + 1}
			var err error
			for b.n < loadBatchRows {
				start := len(b.fields)
				b.fields, b.null, err = r.next(b.fields, b.null)
				if err != nil {
					break
				}
				b.fields, b.null = fitFields(b.fields, b.null, start, w)
				b.n++
			}
			if b.n > 0 && !send(b) {
				return nil
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	work := func(b *loadBatch) (arrow.Record, error) {
		rec, err := l.ConvertText(b.fields, b.null, b.n)
		var re *RowError
		if errors.As(err, &re) {
			return nil, loadRowError(b.first+re.Row, re.Err)
		}
		return rec, err
	}
	return base.OrderedMap(0, produce, work, l.Append)
}

// fitFields makes the record at fields[start:] w fields long: missing
// ones are empty, extra ones dropped.
func fitFields(fields []string, null []bool, start, w int) ([]string, []bool) {
	for len(fields)-start < w {
		fields, null = append(fields, ""), append(null, false)
	}
	return fields[:start+w], null[:start+w]
}

// loadRowError is a LOAD DATA value failing at row (the file's record,
// from 1, counting ignored ones), with MySQL's code for its kind: NULL in
// a NOT NULL column 1048, too long 1406, out of range 1264, any other
// value that does not convert 1366.
func loadRowError(row int, err error) error {
	var ve *valueError
	var se *mysql.SQLError
	switch {
	case errors.As(err, &se):
		return mysql.NewSQLError(se.Num, se.State, "LOAD DATA, row %d: %s", row, se.Message)
	case !errors.As(err, &ve):
		return mysql.NewSQLError(mysql.ERTruncatedWrongValueForField, "HY000", "LOAD DATA, row %d: %v", row, err)
	case ve.kind == valueNull:
		return mysql.NewSQLError(mysql.ERBadNullError, "23000", "LOAD DATA, row %d: %v", row, err)
	case ve.kind == valueTooLong:
		return mysql.NewSQLError(mysql.ERDataTooLong, "22001", "LOAD DATA, row %d: %v", row, err)
	default:
		return mysql.NewSQLError(mysql.ERWarnDataOutOfRange, "22003", "LOAD DATA, row %d: %v", row, err)
	}
}

// loadSource is LOAD DATA as the source of its INSERT (the path that is not
// the bulk one): it reads the file and gives the INSERT a row of each
// record, evaluating user variables and SET as go-mysql-server does.
type loadSource struct {
	ld *plan.LoadData
}

var _ sql.ExecSourceRel = (*loadSource)(nil)

func (s *loadSource) Resolved() bool       { return s.ld.Resolved() }
func (s *loadSource) String() string       { return s.ld.String() }
func (s *loadSource) Schema() sql.Schema   { return s.ld.Schema() }
func (s *loadSource) Children() []sql.Node { return nil }
func (s *loadSource) IsReadOnly() bool     { return false }
func (s *loadSource) WithChildren(children ...sql.Node) (sql.Node, error) {
	if len(children) != 0 {
		return nil, sql.ErrInvalidChildrenNumber.New(s, len(children), 0)
	}
	return s, nil
}

// RowIter implements sql.ExecSourceRel.
func (s *loadSource) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	ld := s.ld
	f, err := loadFormatOf(ld)
	if err != nil {
		return nil, err
	}
	in, err := openLoadInput(ctx, ld)
	if err != nil {
		return nil, err
	}
	r := newLoadReader(in, f)
	if err := r.skipRecords(ld.IgnoreNum); err != nil {
		in.Close()
		return nil, err
	}
	it := &loadRowIter{ld: ld, in: in, r: r, sch: ld.Schema()}
	names := ld.ColNames
	if len(names) == 0 {
		for _, c := range it.sch {
			names = append(names, c.Name)
		}
	}
	// Each input field sets a user variable (-1) or a column, in order.
	for i, col := 0, 0; i < len(ld.UserVars) && col < len(names); i++ {
		if ld.UserVars[i] != nil {
			it.fieldCol = append(it.fieldCol, -1)
			continue
		}
		it.fieldCol = append(it.fieldCol, it.sch.IndexOfColName(names[col]))
		col++
	}
	return it, nil
}

// loadRowIter is loadSource's iterator.
type loadRowIter struct {
	ld  *plan.LoadData
	in  io.ReadCloser
	r   *loadReader
	sch sql.Schema
	// fieldCol is the schema column of each input field, -1 for a user
	// variable.
	fieldCol []int
	fields   []string
	null     []bool
}

func (it *loadRowIter) Next(ctx *sql.Context) (sql.Row, error) {
	var err error
	it.fields, it.null, err = it.r.next(it.fields[:0], it.null[:0])
	if err != nil {
		return nil, err
	}
	it.fields, it.null = fitFields(it.fields, it.null, 0, len(it.fieldCol))
	return it.row(ctx)
}

// row evaluates the record in it.fields: the values of the INSERT's
// columns in order, then the SET columns.
func (it *loadRowIter) row(ctx *sql.Context) (sql.Row, error) {
	ld := it.ld
	raw := make(sql.Row, len(it.fields))
	for i, s := range it.fields {
		if !it.null[i] {
			raw[i] = s
		}
	}
	exprs := make([]sql.Expression, len(it.sch))
	next := 0
	for i, col := range it.fieldCol {
		if col < 0 {
			set := ld.UserVars[i].(*expression.SetField)
			v, err := set.RightChild.Eval(ctx, raw)
			if err != nil {
				return nil, err
			}
			if err := ctx.SetUserVariable(ctx, set.LeftChild.(*expression.UserVar).Name, v, types.ApproximateTypeFromValue(v)); err != nil {
				return nil, err
			}
			continue
		}
		if next >= len(exprs) {
			continue
		}
		exprs[next] = it.fieldExpr(col, raw[i])
		next++
	}
	next = 0
	for _, col := range it.fieldCol {
		if col < 0 || next >= len(exprs) {
			continue
		}
		if col < len(ld.SetExprs) && ld.SetExprs[col] != nil {
			v, err := ld.SetExprs[col].Eval(ctx, raw)
			if err != nil {
				return nil, err
			}
			exprs[next] = expression.NewLiteral(v, ld.SetExprs[col].Type())
		}
		next++
	}
	if len(ld.ColNames) == 0 {
		for i, e := range exprs {
			if e == nil {
				exprs[i] = it.sch[i].Default
			}
		}
	}
	return evalLoadRow(ctx, exprs)
}

// fieldExpr is the value of a field for schema column col: NULL, the
// text, or for an empty field of a column not of a string type its
// DEFAULT (NULL without one).
func (it *loadRowIter) fieldExpr(col int, v any) sql.Expression {
	if v == nil {
		return expression.NewLiteral(nil, types.Null)
	}
	s := v.(string)
	if s == "" && col >= 0 {
		c := it.sch[col]
		if _, isString := c.Type.(sql.StringType); !isString {
			if c.Default != nil {
				return c.Default
			}
			return expression.NewLiteral(nil, types.Null)
		}
	}
	return expression.NewLiteral(s, types.LongText)
}

// evalLoadRow evaluates a row's expressions; DEFAULT expressions, which
// may read other columns, last.
func evalLoadRow(ctx *sql.Context, exprs []sql.Expression) (sql.Row, error) {
	row := make(sql.Row, len(exprs))
	var later []int
	for i, e := range exprs {
		if e == nil {
			continue
		}
		if d, ok := e.(*sql.ColumnDefaultValue); ok && !d.IsLiteral() {
			later = append(later, i)
			continue
		}
		v, err := e.Eval(ctx, row)
		if err != nil {
			return nil, err
		}
		row[i] = v
	}
	for _, i := range later {
		v, err := exprs[i].Eval(ctx, row)
		if err != nil {
			return nil, err
		}
		row[i] = v
	}
	return row, nil
}

func (it *loadRowIter) Close(*sql.Context) error { return it.in.Close() }
