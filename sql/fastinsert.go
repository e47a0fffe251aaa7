package sql

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/shopspring/decimal"

	"github.com/lakesql/lakesql/internal/base"
)

// The batched upsert path. go-mysql-server parses a 1,000-row VALUES list
// into expressions, plans it, and then inserts row by row, each one a
// lookup, an error carrying the existing row and an update; most of the
// time goes there, not into storage. The server answers the bulk form of
// an OLTP client's writes itself:
//
//	INSERT INTO t [(all columns)] VALUES (literals), ... [ON DUPLICATE KEY UPDATE c = VALUES(c), ...]
//
// on a table with a primary key and no AUTO_INCREMENT: the literals are
// converted by the columns' own types (strict mode: a value out of range
// or too long is an error), each row is looked up once and written, and
// the statement is atomic, in the session's transaction. Anything else
// (expressions, other literal kinds, missing columns, other update
// clauses) takes the normal path.

// insertStmt is a parsed INSERT of literal rows.
type insertStmt struct {
	db      string // "" for the session's
	table   string
	columns []string // nil: all, in order
	rows    [][]literalValue
	// update lists the columns of ON DUPLICATE KEY UPDATE c = VALUES(c);
	// onDup says the clause is there.
	update []string
	onDup  bool
}

// literalValue is a SQL literal: a string, an integer, another number
// (decimal text), or NULL.
type literalValue struct {
	kind byte // 's' string, 'i' integer, 'n' other number, '0' NULL
	text string
}

// parseInsert parses q, or reports that it is not of the fast path's form.
func parseInsert(q string) (*insertStmt, bool) {
	sc := &scanner{s: q}
	if !sc.keyword("INSERT") || !sc.keyword("INTO") {
		return nil, false
	}
	st := &insertStmt{}
	var ok bool
	if st.table, ok = sc.ident(); !ok {
		return nil, false
	}
	if sc.punct('.') {
		st.db = st.table
		if st.table, ok = sc.ident(); !ok {
			return nil, false
		}
	}
	if sc.punct('(') {
		for {
			c, ok := sc.ident()
			if !ok {
				return nil, false
			}
			st.columns = append(st.columns, c)
			if sc.punct(')') {
				break
			}
			if !sc.punct(',') {
				return nil, false
			}
		}
	}
	if !sc.keyword("VALUES") {
		return nil, false
	}
	for {
		if !sc.punct('(') {
			return nil, false
		}
		var row []literalValue
		for {
			v, ok := sc.literal()
			if !ok {
				return nil, false
			}
			row = append(row, v)
			if sc.punct(')') {
				break
			}
			if !sc.punct(',') {
				return nil, false
			}
		}
		st.rows = append(st.rows, row)
		if !sc.punct(',') {
			break
		}
	}
	if sc.keyword("ON") {
		if !sc.keyword("DUPLICATE") || !sc.keyword("KEY") || !sc.keyword("UPDATE") {
			return nil, false
		}
		st.onDup = true
		for {
			c, ok := sc.ident()
			if !ok || !sc.punct('=') || !sc.keyword("VALUES") || !sc.punct('(') {
				return nil, false
			}
			c2, ok := sc.ident()
			if !ok || !strings.EqualFold(c, c2) || !sc.punct(')') {
				return nil, false
			}
			st.update = append(st.update, c)
			if !sc.punct(',') {
				break
			}
		}
	}
	sc.punct(';')
	sc.space()
	return st, sc.i == len(sc.s)
}

// scanner reads the tokens of parseInsert.
type scanner struct {
	s string
	i int
}

func (sc *scanner) space() {
	for sc.i < len(sc.s) && (sc.s[sc.i] == ' ' || sc.s[sc.i] == '\n' || sc.s[sc.i] == '\t' || sc.s[sc.i] == '\r') {
		sc.i++
	}
}

func isIdent(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (sc *scanner) keyword(k string) bool {
	sc.space()
	if len(sc.s)-sc.i < len(k) || !strings.EqualFold(sc.s[sc.i:sc.i+len(k)], k) {
		return false
	}
	if j := sc.i + len(k); j < len(sc.s) && isIdent(sc.s[j]) {
		return false
	}
	sc.i += len(k)
	return true
}

func (sc *scanner) punct(c byte) bool {
	sc.space()
	if sc.i < len(sc.s) && sc.s[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

func (sc *scanner) ident() (string, bool) {
	sc.space()
	if sc.i < len(sc.s) && sc.s[sc.i] == '`' {
		j := strings.IndexByte(sc.s[sc.i+1:], '`')
		if j < 0 {
			return "", false
		}
		id := sc.s[sc.i+1 : sc.i+1+j]
		sc.i += j + 2
		return id, id != ""
	}
	j := sc.i
	for j < len(sc.s) && isIdent(sc.s[j]) {
		j++
	}
	if j == sc.i || sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9' {
		return "", false
	}
	id := sc.s[sc.i:j]
	sc.i = j
	return id, true
}

func (sc *scanner) literal() (literalValue, bool) {
	sc.space()
	if sc.i >= len(sc.s) {
		return literalValue{}, false
	}
	switch c := sc.s[sc.i]; {
	case c == '\'':
		var b strings.Builder
		for j := sc.i + 1; j < len(sc.s); j++ {
			switch sc.s[j] {
			case '\\':
				return literalValue{}, false // escapes: the normal path
			case '\'':
				if j+1 < len(sc.s) && sc.s[j+1] == '\'' {
					b.WriteByte('\'')
					j++
					continue
				}
				sc.i = j + 1
				return literalValue{kind: 's', text: b.String()}, true
			default:
				b.WriteByte(sc.s[j])
			}
		}
		return literalValue{}, false
	case c == '-' || c == '+' || c == '.' || c >= '0' && c <= '9':
		j := sc.i
		if c == '-' || c == '+' {
			j++
		}
		digits, other := 0, false
		for j < len(sc.s) {
			d := sc.s[j]
			switch {
			case d >= '0' && d <= '9':
				digits++
			case d == '.' || d == 'e' || d == 'E':
				other = true
			case (d == '-' || d == '+') && (sc.s[j-1] == 'e' || sc.s[j-1] == 'E'):
			default:
				goto done
			}
			j++
		}
	done:
		if digits == 0 || j < len(sc.s) && isIdent(sc.s[j]) {
			return literalValue{}, false
		}
		text := sc.s[sc.i:j]
		sc.i = j
		if other {
			return literalValue{kind: 'n', text: text}, true
		}
		return literalValue{kind: 'i', text: text}, true
	case sc.keyword("NULL"):
		return literalValue{kind: '0'}, true
	}
	return literalValue{}, false
}

// fastInsert runs q if it is an INSERT of the fast path's form.
func (h *recoverHandler) fastInsert(goctx context.Context, c *mysql.Conn, q string) (*sqltypes.Result, bool, error) {
	if len(q) < 12 || !strings.EqualFold(strings.TrimSpace(q)[:6], "INSERT") {
		return nil, false, nil
	}
	s := h.sessions.get(c.ConnectionID)
	if s == nil {
		return nil, false, nil
	}
	st, ok := parseInsert(q)
	if !ok || len(st.rows) == 0 {
		return nil, false, nil
	}
	dbName := st.db
	if dbName == "" {
		dbName = s.GetCurrentDatabase()
	}
	if dbName == "" {
		return nil, false, nil
	}
	ctx := sql.NewContext(goctx, sql.WithSession(s))
	ctx.SetCurrentDatabase(s.GetCurrentDatabase())
	if t, ok := ctx.GetTransaction().(*Transaction); ok && t != nil && t.readOnly {
		return nil, false, nil
	}
	d, err := h.p.database(ctx, dbName)
	if err != nil {
		return nil, false, nil
	}
	auto := ctx.GetTransaction() == nil && !ctx.GetIgnoreAutoCommit() && autocommit(ctx)
	for attempt := 0; ; attempt++ {
		n, ok, err := h.runInsert(ctx, s, d, st, c.Capabilities&mysql.CapabilityClientFoundRows != 0, auto)
		if !ok {
			return nil, false, nil
		}
		if err != nil && auto && attempt < maxStatementRetries {
			var se *mysql.SQLError
			if errors.As(err, &se) && se.Num == mysql.ERLockDeadlock {
				time.Sleep(time.Duration(attempt+1) * 200 * time.Microsecond)
				continue
			}
		}
		if err != nil {
			return nil, true, err
		}
		s.ClearWarnings()
		s.SetLastQueryInfoInt(sql.RowCount, int64(n))
		h.p.fastInserts.Add(1)
		return &sqltypes.Result{RowsAffected: n}, true, nil
	}
}

// runInsert applies the statement in the session's transaction (in
// autocommit mode in one of its own, committed here). ok=false: the
// statement does not qualify, nothing was done.
func (h *recoverHandler) runInsert(ctx *sql.Context, s *Session, d *Database, st *insertStmt, foundRows, auto bool) (affected uint64, ok bool, err error) {
	if auto {
		defer func() {
			if tx, isTx := ctx.GetTransaction().(*Transaction); isTx && tx != nil {
				s.end(tx)
			}
			ctx.SetTransaction(nil)
		}()
	}
	tbl, found, err := d.GetTableInsensitive(ctx, st.table)
	if err != nil || !found {
		return 0, false, nil
	}
	t, isTable := tbl.(*Table)
	if !isTable || t.keyless() || t.autoIncColumn() >= 0 {
		return 0, false, nil
	}
	// Map the statement's columns to the table's (all of them).
	order := make([]int, len(t.cols))
	if st.columns == nil {
		for i := range order {
			order[i] = i
		}
	} else {
		if len(st.columns) != len(t.cols) {
			return 0, false, nil
		}
		seen := make([]bool, len(t.cols))
		for i, name := range st.columns {
			j := t.colIndex(name)
			if j < 0 || seen[j] {
				return 0, false, nil
			}
			seen[j], order[i] = true, j
		}
	}
	var update []int
	for _, name := range st.update {
		j := t.colIndex(name)
		if j < 0 {
			return 0, false, nil
		}
		update = append(update, j)
	}
	if auth := h.p.auth.Load(); auth != nil && auth.Enabled() {
		privs := []sql.PrivilegeType{sql.PrivilegeType_Insert}
		if st.onDup {
			privs = append(privs, sql.PrivilegeType_Update)
		}
		op := sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{Database: d.st.name, Table: t.meta.Name}, privs...)
		if !auth.UserHasPrivileges(ctx, op) {
			return 0, false, nil
		}
	}
	// Convert every row before writing any.
	rows := make([]sql.Row, len(st.rows))
	for r, lits := range st.rows {
		if len(lits) != len(t.cols) {
			return 0, false, nil
		}
		row := make(sql.Row, len(t.cols))
		for i, lit := range lits {
			c := t.cols[order[i]]
			v, ok, err := convertLiteral(ctx, c, lit)
			if !ok {
				return 0, false, nil
			}
			if err != nil {
				return 0, true, engineError(err)
			}
			row[order[i]] = v
		}
		rows[r] = row
	}
	e := t.newEditor()
	bt, err := e.begin(ctx)
	if err != nil {
		return 0, true, err
	}
	sp := e.sp
	fail := func(err error) (uint64, bool, error) {
		bt.tx.RollbackTo(sp)
		return 0, true, engineError(err)
	}
	for _, row := range rows {
		stored, err := e.stored(row)
		if err != nil {
			return fail(err)
		}
		key, err := e.key(bt, stored)
		if err != nil {
			return fail(err)
		}
		old, exists, err := e.existing(ctx, bt, key)
		if err != nil {
			return fail(err)
		}
		if !exists {
			if err := e.put(ctx, bt, stored, ""); err != nil {
				return fail(err)
			}
			affected++
			continue
		}
		if !st.onDup {
			return fail(dupKeyError(e.keyString(row), old))
		}
		next := append(sql.Row(nil), old...)
		for _, j := range update {
			next[j] = row[j]
		}
		same := true
		for j := range next {
			if n, err := t.cols[j].sql.Compare(ctx, next[j], old[j]); err != nil || n != 0 {
				same = false
				break
			}
		}
		if same {
			if foundRows {
				affected++
			}
			continue
		}
		ns, err := e.stored(next)
		if err != nil {
			return fail(err)
		}
		if err := e.put(ctx, bt, ns, key); err != nil {
			return fail(err)
		}
		affected += 2
	}
	if auto {
		if err := s.commitStatement(ctx); err != nil {
			return 0, true, err
		}
	}
	return affected, true, nil
}

// colIndex is the index of a visible column by name, or -1.
func (t *Table) colIndex(name string) int {
	for i, c := range t.cols {
		if strings.EqualFold(c.col.Name, name) {
			return i
		}
	}
	return -1
}

// convertLiteral converts a literal into a column's value as an INSERT in
// strict mode does, for the literal kinds whose meaning is plain: integers
// into integer columns, numbers into FLOAT, DOUBLE and DECIMAL, strings
// into string, date and time columns, NULL into nullable ones. ok=false:
// the normal path decides.
func convertLiteral(ctx *sql.Context, c colInfo, lit literalValue) (v any, ok bool, err error) {
	var in any
	switch lit.kind {
	case '0':
		if !c.col.Nullable {
			return nil, true, sql.ErrInsertIntoNonNullableProvidedNull.New(c.col.Name)
		}
		return nil, true, nil
	case 'i':
		switch {
		case c.typ.IsInteger():
			// As int64 when it fits: go-mysql-server's unsigned types
			// wrap a too large uint64 instead of refusing it.
			if n, err := strconv.ParseInt(lit.text, 10, 64); err == nil {
				in = n
			} else if n, err := strconv.ParseUint(lit.text, 10, 64); err == nil && c.typ.Kind == base.TypeUint64 {
				in = n
			} else {
				return nil, false, nil
			}
		default:
			if in, ok = number(c, lit.text, false); !ok {
				return nil, false, nil
			}
		}
	case 'n':
		if in, ok = number(c, lit.text, true); !ok {
			return nil, false, nil
		}
	case 's':
		switch {
		case c.typ.IsString(), c.typ.Kind == base.TypeDate, c.typ.Kind == base.TypeDatetime, c.typ.Kind == base.TypeTimestamp:
			in = lit.text
		default:
			return nil, false, nil
		}
	default:
		return nil, false, nil
	}
	out, inRange, err := c.sql.Convert(ctx, in)
	if err != nil {
		return nil, true, err
	}
	if inRange != sql.InRange {
		return nil, true, mysql.NewSQLError(mysql.ERWarnDataOutOfRange, "22003", "Out of range value for column '%s'", c.col.Name)
	}
	if st, isStr := c.sql.(sql.StringType); isStr {
		if s, ok := out.(string); ok && int64(len([]rune(s))) > st.MaxCharacterLength() {
			return nil, true, mysql.NewSQLError(mysql.ERDataTooLong, "22001", "Data too long for column '%s'", c.col.Name)
		}
	}
	return out, true, nil
}

// number reads a numeric literal for a FLOAT, DOUBLE or DECIMAL column:
// exactly (as a decimal) unless it is a non-integer for a float column.
func number(c colInfo, text string, fraction bool) (any, bool) {
	switch c.typ.Kind {
	case base.TypeFloat32, base.TypeFloat64:
		if fraction {
			f, err := strconv.ParseFloat(text, 64)
			return f, err == nil
		}
	case base.TypeDecimal:
	default:
		return nil, false
	}
	d, err := decimal.NewFromString(text)
	return d, err == nil
}
