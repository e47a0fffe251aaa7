package sql

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/scan"
)

// The point-lookup fast path. Parsing and analyzing a statement costs
// go-mysql-server more than the lookup itself, so the server answers the
// most common statement of an OLTP client,
//
//	SELECT * | col, ... FROM table WHERE pk = literal-or-?
//
// on a table with a one-column primary key, without planning it: the key
// goes straight to the key path (MemTable, then the files' key ranges,
// bloom filters and key pages), in the session's transaction exactly as
// the planned statement would read it. Anything else, or any doubt, takes
// the normal path.

// pointSelectStmt is a parsed SELECT cols FROM [db.]table WHERE col = lit.
type pointSelectStmt struct {
	columns []string // nil for *
	db      string   // "" for the session's
	table   string
	keyCol  string
	// lit is "?" (a parameter), or a literal: an integer, or a string
	// (quoted true; text without the quotes).
	lit    literalValue
	param  bool
	quoted bool
}

// parsePointSelect parses q with parseInsert's scanner, or reports that it
// is not of the fast path's form: the key literal is a parameter, a plain
// integer (optionally negative) or a string without escapes.
func parsePointSelect(q string) (*pointSelectStmt, bool) {
	sc := &scanner{s: q}
	if !sc.keyword("SELECT") {
		return nil, false
	}
	st := &pointSelectStmt{}
	if !sc.punct('*') {
		for {
			c, ok := sc.ident()
			if !ok {
				return nil, false
			}
			st.columns = append(st.columns, c)
			if !sc.punct(',') {
				break
			}
		}
	}
	if !sc.keyword("FROM") {
		return nil, false
	}
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
	if !sc.keyword("WHERE") {
		return nil, false
	}
	if st.keyCol, ok = sc.ident(); !ok || !sc.punct('=') {
		return nil, false
	}
	if sc.punct('?') {
		st.param = true
	} else {
		sc.space()
		from := sc.i
		if st.lit, ok = sc.literal(); !ok {
			return nil, false
		}
		raw := sc.s[from:sc.i]
		switch {
		case st.lit.kind == 'i' && raw[0] != '+':
		case st.lit.kind == 's' && !strings.Contains(raw[1:len(raw)-1], "'"):
			st.quoted = true
		default:
			return nil, false
		}
	}
	sc.punct(';')
	sc.space()
	return st, sc.i == len(sc.s)
}

// sessions maps connection ids to sessions, for the fast path.
type sessions struct {
	mu sync.Mutex
	m  map[uint32]*Session
}

func (ss *sessions) put(id uint32, s *Session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = map[uint32]*Session{}
	}
	ss.m[id] = s
}

func (ss *sessions) get(id uint32) *Session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.m[id]
}

func (ss *sessions) drop(id uint32) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// fastMemory is the memory manager of the point selects' contexts, which
// cache nothing: one for all instead of a new one per lookup.
var fastMemory = sql.NewMemoryManager(sql.ProcessMemory)

// fastPointSelect answers query if it is a point select the fast path
// takes; ok=false sends it down the normal path. bind gives a '?' its
// value (prepared statements).
func (h *recoverHandler) fastPointSelect(goctx context.Context, c *mysql.Conn, query string, bind map[string]*querypb.BindVariable) (res *sqltypes.Result, ok bool, err error) {
	st, ok := parsePointSelect(query)
	if !ok {
		return nil, false, nil
	}
	s := h.sessions.get(c.ConnectionID)
	if s == nil {
		return nil, false, nil
	}
	dbName := s.GetCurrentDatabase()
	if st.db != "" {
		dbName = st.db // db.table
	}
	if dbName == "" {
		return nil, false, nil
	}
	keyText, quoted := st.lit.text, st.quoted
	if st.param {
		bv := bind["v1"]
		if bv == nil || len(bind) != 1 {
			return nil, false, nil
		}
		v := sqltypes.MakeTrusted(bv.Type, bv.Value)
		switch {
		case v.IsIntegral():
			keyText = v.ToString()
		case v.IsText() || v.IsBinary() || v.Type() == sqltypes.VarChar:
			keyText, quoted = v.ToString(), true
		default:
			return nil, false, nil
		}
	}
	ctx := sql.NewContext(goctx, sql.WithSession(s), sql.WithMemoryManager(fastMemory))
	// In autocommit mode the read is a transaction of its own; inside an
	// open one it reads there.
	if ctx.GetTransaction() == nil && !ctx.GetIgnoreAutoCommit() && autocommit(ctx) {
		defer func() {
			if tx, ok := ctx.GetTransaction().(*Transaction); ok && tx != nil {
				s.end(tx)
			}
			ctx.SetTransaction(nil)
		}()
	}
	d, err := h.p.database(ctx, dbName)
	if err != nil {
		return nil, false, nil
	}
	tbl, found, err := d.GetTableInsensitive(ctx, st.table)
	if err != nil || !found {
		return nil, false, nil
	}
	t, isTable := tbl.(*Table)
	if !isTable {
		return nil, false, nil
	}
	if auth := h.p.auth.Load(); auth != nil && auth.Enabled() {
		op := sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{Database: d.st.name, Table: t.meta.Name}, sql.PrivilegeType_Select)
		if !auth.UserHasPrivileges(ctx, op) {
			return nil, false, nil // the normal path refuses it
		}
	}
	// The column is the one-column primary key, or the first column of a
	// secondary index.
	var kc *base.Column
	var ix *base.Index
	if len(t.keyIdx) == 1 && !t.keyless() && strings.EqualFold(t.meta.Schema.Columns[t.keyIdx[0]].Name, st.keyCol) {
		kc = &t.meta.Schema.Columns[t.keyIdx[0]]
	} else if !h.p.cfg.NoIndexLookups {
		for i := range t.meta.Indexes {
			c := t.meta.Schema.ColumnByID(t.meta.Indexes[i].Columns[0])
			if c != nil && !c.Hidden && strings.EqualFold(c.Name, st.keyCol) {
				kc, ix = c, &t.meta.Indexes[i]
				break
			}
		}
	}
	if kc == nil {
		return nil, false, nil
	}
	j := slices.IndexFunc(t.cols, func(c colInfo) bool { return c.col.ID == kc.ID })
	if j < 0 {
		return nil, false, nil
	}
	typ := t.cols[j].typ
	var key any
	switch {
	case typ.IsInteger() && !quoted:
		if typ.IsUnsigned() {
			n, err := strconv.ParseUint(keyText, 10, 64)
			if err != nil {
				return nil, false, nil
			}
			key = n
		} else {
			n, err := strconv.ParseInt(keyText, 10, 64)
			if err != nil {
				return nil, false, nil
			}
			key = n
		}
	case (typ.Kind == base.TypeVarchar || typ.Kind == base.TypeText) && quoted:
		key = keyText
	default:
		return nil, false, nil
	}
	shape, ok := t.pointShape(ctx, st.columns)
	if !ok {
		return nil, false, nil
	}
	s.ClearWarnings()
	var rows []sql.Row
	if ix != nil {
		rows, err = lookupIndex(ctx, t, *ix, kc.ID, key)
	} else {
		rows, err = lookupKey(ctx, t, key)
	}
	if err != nil {
		return nil, true, engineError(err)
	}
	res = &sqltypes.Result{Fields: shape.fields}
	for _, row := range rows {
		vals := make([]sqltypes.Value, len(shape.out))
		for i, j := range shape.out {
			if vals[i], err = resultValue(ctx, t.sch[j].Type, t.cols[j].typ, row[j]); err != nil {
				return nil, true, engineError(err)
			}
		}
		res.Rows = append(res.Rows, vals)
	}
	h.p.fastSelects.Add(1)
	return res, true, nil
}

// lookupKey reads the row of a one-column key in the session's
// transaction, as a planned SELECT would.
func lookupKey(ctx *sql.Context, t *Table, key any) ([]sql.Row, error) {
	v, err := t.view(ctx)
	if err != nil {
		return nil, err
	}
	enc := t.enc
	if enc == nil {
		return nil, fmt.Errorf("lakesql: table %s has no key", t.meta.Name)
	}
	k, err := enc.Encode(key)
	if err != nil {
		return nil, nil // no key of the column's type: no row
	}
	row, found, err := t.lookupRow(ctx, v, k, true)
	if err != nil || !found {
		return nil, err
	}
	return []sql.Row{row}, nil
}

// lookupIndex reads the rows whose column col (the first of secondary
// index ix) equals v, through the index, in the session's transaction, as
// the planned SELECT would.
func lookupIndex(ctx *sql.Context, t *Table, ix base.Index, col int, v any) ([]sql.Row, error) {
	full := t.WithProjections(nil).(*Table)
	view, err := full.view(ctx)
	if err != nil {
		return nil, err
	}
	enc, err := parquetio.NewIndexKeyEncoder(&t.meta.Schema, ix.Columns[:1])
	if err != nil {
		return nil, err
	}
	k, err := enc.Encode(v)
	if err != nil {
		return nil, nil // no value of the column's type: no row
	}
	match := parquetio.Eq(col, v)
	iter, err := full.indexRows(ctx, view, match, nil, &scan.IndexQuery{Name: ix.Name, Columns: ix.Columns, Match: match, Points: []any{v}, Lo: k, Hi: k})
	if err != nil {
		return nil, err
	}
	defer iter.Close(ctx)
	var rows []sql.Row
	for {
		row, err := iter.Next(ctx)
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
}

// pointShape is a point select's projection: the visible columns it
// returns (indexes into t.cols) and their descriptions.
type pointShape struct {
	out    []int
	fields []*querypb.Field
}

// pointShapes caches a table's point select shapes, by projection and
// result character set; the Table copies of one cached table share it.
type pointShapes struct {
	mu sync.Mutex
	m  map[string]*pointShape
}

// pointShape returns the shape of a point select of columns (nil: all);
// ok=false when a column does not exist.
func (t *Table) pointShape(ctx *sql.Context, columns []string) (*pointShape, bool) {
	var buf [128]byte
	key := strconv.AppendInt(buf[:0], int64(ctx.GetCharacterSetResults()), 10)
	if columns == nil {
		key = append(key, '*')
	}
	for _, c := range columns {
		key = append(append(key, ','), c...)
	}
	if t.shapes != nil {
		t.shapes.mu.Lock()
		shape := t.shapes.m[string(key)]
		t.shapes.mu.Unlock()
		if shape != nil {
			return shape, true
		}
	}
	shape := &pointShape{}
	if columns == nil {
		for i := range t.cols {
			shape.out = append(shape.out, i)
		}
	}
	for _, name := range columns {
		j := t.colIndex(name)
		if j < 0 {
			return nil, false
		}
		shape.out = append(shape.out, j)
	}
	sch := make(sql.Schema, len(shape.out))
	for i, j := range shape.out {
		sch[i] = t.sch[j]
	}
	shape.fields = fields(ctx, sch)
	if t.shapes != nil {
		t.shapes.mu.Lock()
		if t.shapes.m == nil || len(t.shapes.m) >= 64 {
			t.shapes.m = map[string]*pointShape{}
		}
		t.shapes.m[string(key)] = shape
		t.shapes.mu.Unlock()
	}
	return shape, true
}

// resultValue is v, a value of a column of SQL type st (base type bt), as
// a result value: integers are formatted here, the rest by the type.
func resultValue(ctx *sql.Context, st sql.Type, bt base.Type, v any) (sqltypes.Value, error) {
	if v == nil {
		return sqltypes.NULL, nil
	}
	if bt.IsInteger() {
		var b []byte
		switch x := v.(type) {
		case int8:
			b = strconv.AppendInt(nil, int64(x), 10)
		case int16:
			b = strconv.AppendInt(nil, int64(x), 10)
		case int32:
			b = strconv.AppendInt(nil, int64(x), 10)
		case int64:
			b = strconv.AppendInt(nil, x, 10)
		case uint8:
			b = strconv.AppendUint(nil, uint64(x), 10)
		case uint16:
			b = strconv.AppendUint(nil, uint64(x), 10)
		case uint32:
			b = strconv.AppendUint(nil, uint64(x), 10)
		case uint64:
			b = strconv.AppendUint(nil, x, 10)
		}
		if b != nil {
			return sqltypes.MakeTrusted(st.Type(), b), nil
		}
	}
	return st.SQL(ctx, nil, v)
}

// fields describes result columns as go-mysql-server's handler does.
func fields(ctx *sql.Context, s sql.Schema) []*querypb.Field {
	out := make([]*querypb.Field, len(s))
	for i, c := range s {
		charset := uint32(sql.Collation_Default.CharacterSet())
		if ct, ok := c.Type.(sql.TypeWithCollation); ok {
			charset = uint32(ct.Collation().CharacterSet())
		}
		if types.IsBinaryType(c.Type) {
			charset = uint32(sql.Collation_binary)
		} else if cs := ctx.GetCharacterSetResults(); cs != sql.CharacterSet_Unspecified {
			charset = uint32(cs)
		}
		var flags querypb.MySqlFlag
		if !c.Nullable {
			flags |= querypb.MySqlFlag_NOT_NULL_FLAG
		}
		if c.PrimaryKey {
			flags |= querypb.MySqlFlag_PRI_KEY_FLAG
		}
		if types.IsUnsigned(c.Type) {
			flags |= querypb.MySqlFlag_UNSIGNED_FLAG
		}
		f := &querypb.Field{Name: c.Name, OrgName: c.Name, Table: c.Source, OrgTable: c.Source, Database: c.DatabaseSource,
			Type: c.Type.Type(), Charset: charset, ColumnLength: c.Type.MaxTextResponseByteLength(ctx), Flags: uint32(flags)}
		if dt, ok := c.Type.(sql.DecimalType); ok {
			f.Decimals = uint32(dt.Scale())
		} else if dt, ok := c.Type.(sql.DatetimeType); ok {
			f.Decimals = uint32(dt.Precision())
		}
		out[i] = f
	}
	return out
}
