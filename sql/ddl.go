package sql

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/shopspring/decimal"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/txn"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// notSupported is the error of a statement lakesql refuses.
func notSupported(what string) error {
	return mysql.NewSQLError(mysql.ERNotSupportedYet, "42000", "%s is not supported by lakesql", what)
}

// sameStatementDDL reports whether c only adds indexes to a table that the
// running statement created (CREATE TABLE with indexes is one version),
// and records a creation for the check.
func (s *Session) sameStatementDDL(ctx *sql.Context, c *txn.Commit) bool {
	if c.Operation == "CREATE TABLE" && len(c.Tables) == 1 {
		s.created = createdTable{pid: ctx.Pid(), id: c.Tables[0].ID}
		return false
	}
	if c.Operation == "CREATE INDEX" && len(c.Tables) == 1 && s.created.pid == ctx.Pid() && s.created.id == c.Tables[0].ID {
		return true
	}
	return false
}

type createdTable struct {
	pid uint64
	id  string
}

// writerHead is the branch's newest state at its writer, where DDL applies.
func (d *Database) writerHead(ctx *sql.Context) (*txn.State, error) {
	w, err := d.st.writer(ctx, d.branch)
	if err != nil {
		return nil, translate(err)
	}
	return w.Head().State, nil
}

// CreateTable implements sql.TableCreator. A table without a primary key
// gets a hidden row id as its key (DESIGN.md section 4).
func (d *Database) CreateTable(ctx *sql.Context, name string, sch sql.PrimaryKeySchema, collation sql.CollationID, comment string) error {
	state, err := d.writerHead(ctx)
	if err != nil {
		return err
	}
	if findAny(state, name) != nil {
		return sql.ErrTableAlreadyExists.New(name)
	}
	if strings.HasPrefix(strings.ToLower(name), "lakesql_") {
		return fmt.Errorf("table names beginning with lakesql_ are reserved for system tables")
	}
	meta := txn.Table{ID: newTableID(), Name: name, SchemaID: 1, Properties: map[string]string{}}
	if comment != "" {
		meta.Properties[commentProperty] = comment
	}
	for _, c := range sch.Schema {
		col, props, err := storedColumn(ctx, c, meta.Schema.NextColumnID+1)
		if err != nil {
			return err
		}
		meta.Schema.Columns = append(meta.Schema.Columns, col)
		meta.Schema.NextColumnID = col.ID
		for k, v := range props {
			meta.Properties[k] = v
		}
	}
	for _, o := range sch.PkOrdinals {
		meta.Key = append(meta.Key, meta.Schema.Columns[o].ID)
	}
	if len(meta.Key) == 0 {
		id := meta.Schema.NextColumnID + 1
		meta.Schema.Columns = append(meta.Schema.Columns, base.Column{ID: id, Name: base.RowIDColumn, Type: "BIGINT", Hidden: true})
		meta.Schema.NextColumnID = id
		meta.Key = []int{id}
	}
	meta.Schema.NextColumnID++
	return d.ddl(ctx, "CREATE TABLE", &txn.Commit{Tables: []txn.Table{meta}})
}

// storedColumn converts a column definition; a DEFAULT that is not a
// literal is kept as an expression in a table property.
func storedColumn(ctx *sql.Context, c *sql.Column, id int) (base.Column, map[string]string, error) {
	typ, err := baseType(c.Type)
	if err != nil {
		return base.Column{}, nil, translate(err)
	}
	if c.AutoIncrement {
		if !typ.IsInteger() {
			return base.Column{}, nil, fmt.Errorf("AUTO_INCREMENT column %s must be an integer", c.Name)
		}
	}
	if c.Generated != nil {
		return base.Column{}, nil, notSupported("a generated column")
	}
	if c.OnUpdate != nil {
		return base.Column{}, nil, notSupported("ON UPDATE")
	}
	if strings.EqualFold(c.Name, base.RowIDColumn) {
		return base.Column{}, nil, fmt.Errorf("the column name %s is reserved", base.RowIDColumn)
	}
	col := base.Column{ID: id, Name: c.Name, Type: typ.String(), Nullable: c.Nullable}
	props := map[string]string{}
	if c.AutoIncrement {
		props[autoIncProperty] = strconv.Itoa(id)
	}
	if c.Default != nil {
		if c.Default.IsLiteral() {
			v, err := c.Default.Eval(ctx, nil)
			if err != nil {
				return base.Column{}, nil, err
			}
			lit, err := literal(typ, v)
			if err != nil {
				return base.Column{}, nil, err
			}
			col.Default = &lit
		} else {
			props[defaultProperty(id)] = c.Default.String()
		}
	}
	return col, props, nil
}

// literal spells a value as the SQL literal a column's DEFAULT stores
// (read back by parquetio for rows of files older than the column).
func literal(typ base.Type, v any) (string, error) {
	if v == nil {
		return "NULL", nil
	}
	quote := func(s string) string {
		return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
	}
	switch typ.Kind {
	case base.TypeBool:
		if n, ok := base.AsInt64(v); ok {
			if n != 0 {
				return "1", nil
			}
			return "0", nil
		}
		if b, ok := v.(bool); ok && b {
			return "1", nil
		}
		return "0", nil
	case base.TypeBinary, base.TypeVarbinary, base.TypeBlob:
		switch x := v.(type) {
		case []byte:
			return "x'" + hex.EncodeToString(x) + "'", nil
		case string:
			return "x'" + hex.EncodeToString([]byte(x)) + "'", nil
		}
	case base.TypeDate:
		if t, ok := v.(time.Time); ok {
			return quote(t.Format("2006-01-02")), nil
		}
	case base.TypeDatetime, base.TypeTimestamp:
		if t, ok := v.(time.Time); ok {
			return quote(t.UTC().Format("2006-01-02 15:04:05.999999")), nil
		}
	case base.TypeTime:
		if t, ok := v.(types.Timespan); ok {
			return quote(t.String()), nil
		}
	case base.TypeJSON:
		s, err := toStored(typ, v)
		if err != nil {
			return "", err
		}
		return quote(s.(string)), nil
	}
	switch x := v.(type) {
	case string:
		if typ.IsString() {
			return quote(x), nil
		}
		return x, nil
	case decimal.Decimal:
		return x.String(), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	}
	if typ.IsString() {
		return quote(fmt.Sprint(v)), nil
	}
	return fmt.Sprint(v), nil
}

// DropTable implements sql.TableDropper: a soft delete; older versions
// still read the table until vacuum.
func (d *Database) DropTable(ctx *sql.Context, name string) error {
	state, err := d.writerHead(ctx)
	if err != nil {
		return err
	}
	ts := findTable(state, name)
	if ts == nil {
		return sql.ErrTableNotFound.New(name)
	}
	return d.ddl(ctx, "DROP TABLE", &txn.Commit{Drops: []txn.DropTable{{ID: ts.Meta.ID}}})
}

// RenameTable implements sql.TableRenamer.
func (d *Database) RenameTable(ctx *sql.Context, oldName, newName string) error {
	state, err := d.writerHead(ctx)
	if err != nil {
		return err
	}
	ts := findTable(state, oldName)
	if ts == nil {
		return sql.ErrTableNotFound.New(oldName)
	}
	if other := findAny(state, newName); other != nil && other != ts {
		return sql.ErrTableAlreadyExists.New(newName)
	}
	meta := cloneMeta(ts.Meta)
	meta.Name = newName
	return d.ddl(ctx, "RENAME TABLE", &txn.Commit{Tables: []txn.Table{meta}})
}

func cloneMeta(m txn.Table) txn.Table {
	c := m
	c.Schema.Columns = append([]base.Column(nil), m.Schema.Columns...)
	c.Key = append([]int(nil), m.Key...)
	c.Indexes = append([]base.Index(nil), m.Indexes...)
	c.Properties = map[string]string{}
	for k, v := range m.Properties {
		c.Properties[k] = v
	}
	return c
}

// alter commits a change of the table's metadata made by change on the
// writer's newest metadata.
func (t *Table) alter(ctx *sql.Context, op string, change func(m *txn.Table) error) error {
	if t.asOf != nil {
		return errReadOnlyAsOf
	}
	state, err := t.db.writerHead(ctx)
	if err != nil {
		return err
	}
	ts := state.Table(t.meta.ID)
	if ts == nil {
		return sql.ErrTableNotFound.New(t.meta.Name)
	}
	meta := cloneMeta(ts.Meta)
	if err := change(&meta); err != nil {
		return err
	}
	if err := t.db.ddl(ctx, op, &txn.Commit{Tables: []txn.Table{meta}}); err != nil {
		return err
	}
	t.meta = meta
	nt, err := newTable(ctx, t.db, meta, nil)
	if err != nil {
		return err
	}
	*t = *nt
	return nil
}

// AddColumn implements sql.AlterableTable: no data is rewritten; rows of
// older files show the column's DEFAULT.
func (t *Table) AddColumn(ctx *sql.Context, column *sql.Column, order *sql.ColumnOrder) error {
	return t.alter(ctx, "ADD COLUMN", func(m *txn.Table) error {
		for _, c := range m.Schema.Columns {
			if strings.EqualFold(c.Name, column.Name) {
				return sql.ErrColumnExists.New(column.Name)
			}
		}
		if column.PrimaryKey {
			return notSupported("adding a primary key column")
		}
		if column.AutoIncrement {
			return notSupported("adding an AUTO_INCREMENT column to an existing table")
		}
		id := m.Schema.NextColumnID
		col, props, err := storedColumn(ctx, column, id)
		if err != nil {
			return err
		}
		if !col.Nullable && col.Default == nil {
			// Older rows need a value: MySQL gives the type's zero.
			typ, _ := base.ParseType(col.Type)
			if z := zeroLiteral(typ); z != "" {
				col.Default = &z
			}
		}
		m.Schema.NextColumnID = id + 1
		m.SchemaID++
		for k, v := range props {
			m.Properties[k] = v
		}
		at := len(m.Schema.Columns)
		if order != nil {
			if order.First {
				at = 0
			} else if order.AfterColumn != "" {
				for i, c := range m.Schema.Columns {
					if strings.EqualFold(c.Name, order.AfterColumn) {
						at = i + 1
					}
				}
			}
		}
		// Hidden columns stay last.
		for at > 0 && at == len(m.Schema.Columns) && m.Schema.Columns[at-1].Hidden {
			at--
		}
		m.Schema.Columns = append(m.Schema.Columns[:at], append([]base.Column{col}, m.Schema.Columns[at:]...)...)
		return nil
	})
}

// zeroLiteral is the implicit default of a NOT NULL column MySQL fills
// existing rows with.
func zeroLiteral(t base.Type) string {
	switch {
	case t.IsInteger(), t.Kind == base.TypeFloat32, t.Kind == base.TypeFloat64, t.Kind == base.TypeDecimal, t.Kind == base.TypeBool:
		return "0"
	case t.IsString():
		return "''"
	case t.IsBinary():
		return "x''"
	case t.Kind == base.TypeDate:
		return "'0001-01-01'"
	case t.Kind == base.TypeDatetime, t.Kind == base.TypeTimestamp:
		return "'0001-01-01 00:00:00'"
	case t.Kind == base.TypeTime:
		return "'00:00:00'"
	case t.Kind == base.TypeJSON:
		return "'null'"
	}
	return ""
}

// DropColumn implements sql.AlterableTable.
func (t *Table) DropColumn(ctx *sql.Context, name string) error {
	return t.alter(ctx, "DROP COLUMN", func(m *txn.Table) error {
		for i, c := range m.Schema.Columns {
			if c.Hidden || !strings.EqualFold(c.Name, name) {
				continue
			}
			for _, k := range m.Key {
				if k == c.ID {
					return notSupported("dropping a primary key column")
				}
			}
			m.Schema.Columns = append(m.Schema.Columns[:i], m.Schema.Columns[i+1:]...)
			var kept []base.Index
			for _, ix := range m.Indexes {
				uses := false
				for _, id := range ix.Columns {
					uses = uses || id == c.ID
				}
				if !uses {
					kept = append(kept, ix)
				}
			}
			m.Indexes = kept
			delete(m.Properties, defaultProperty(c.ID))
			m.SchemaID++
			return nil
		}
		return sql.ErrTableColumnNotFound.New(t.meta.Name, name)
	})
}

// ModifyColumn implements sql.AlterableTable: renaming a column (and
// changing its nullability, default or position) is metadata only;
// changing its type would rewrite data and is refused.
func (t *Table) ModifyColumn(ctx *sql.Context, name string, column *sql.Column, order *sql.ColumnOrder) error {
	return t.alter(ctx, "ALTER COLUMN", func(m *txn.Table) error {
		at := -1
		for i, c := range m.Schema.Columns {
			if !c.Hidden && strings.EqualFold(c.Name, name) {
				at = i
			}
		}
		if at < 0 {
			return sql.ErrTableColumnNotFound.New(t.meta.Name, name)
		}
		old := m.Schema.Columns[at]
		if !strings.EqualFold(old.Name, column.Name) {
			for _, c := range m.Schema.Columns {
				if strings.EqualFold(c.Name, column.Name) {
					return sql.ErrColumnExists.New(column.Name)
				}
			}
		}
		col, props, err := storedColumn(ctx, column, old.ID)
		if err != nil {
			return err
		}
		if col.Type != old.Type {
			return notSupported(fmt.Sprintf("changing the type of column %s from %s to %s", old.Name, old.Type, col.Type))
		}
		if old.Nullable && !col.Nullable {
			return notSupported(fmt.Sprintf("making column %s NOT NULL", old.Name))
		}
		// Rows of older files keep reading the old default.
		col.Default = old.Default
		delete(m.Properties, defaultProperty(old.ID))
		for k, v := range props {
			m.Properties[k] = v
		}
		m.Schema.Columns[at] = col
		if order != nil {
			cols := append(m.Schema.Columns[:at:at], m.Schema.Columns[at+1:]...)
			to := len(cols)
			if order.First {
				to = 0
			} else if order.AfterColumn != "" {
				for i, c := range cols {
					if strings.EqualFold(c.Name, order.AfterColumn) {
						to = i + 1
					}
				}
			}
			m.Schema.Columns = append(cols[:to], append([]base.Column{col}, cols[to:]...)...)
		}
		m.SchemaID++
		return nil
	})
}

// CreateIndex implements sql.IndexAlterableTable: the index is recorded in
// the table's metadata (UNIQUE ones are enforced by the writer).
func (t *Table) CreateIndex(ctx *sql.Context, def sql.IndexDef) error {
	if def.IsFullText() || def.IsSpatial() || def.IsVector() {
		return notSupported("a FULLTEXT, SPATIAL or VECTOR index")
	}
	if def.IsPrimary() {
		return notSupported("adding a primary key to an existing table")
	}
	if def.IsUnique() {
		if err := t.checkUniqueData(ctx, def); err != nil {
			return err
		}
	}
	if err := t.alter(ctx, "CREATE INDEX", func(m *txn.Table) error {
		name := def.Name
		if name == "" {
			name = def.Columns[0].Name
		}
		for _, ix := range m.Indexes {
			if strings.EqualFold(ix.Name, name) {
				return sql.ErrDuplicateKey.New(name)
			}
		}
		ix := base.Index{Name: name, Unique: def.IsUnique()}
		for _, ic := range def.Columns {
			found := false
			for _, c := range m.Schema.Columns {
				if !c.Hidden && strings.EqualFold(c.Name, ic.Name) {
					ix.Columns = append(ix.Columns, c.ID)
					found = true
				}
			}
			if !found {
				return sql.ErrKeyColumnDoesNotExist.New(ic.Name)
			}
		}
		m.Indexes = append(m.Indexes, ix)
		return nil
	}); err != nil {
		return err
	}
	return t.buildIndex(ctx, t.meta.Indexes[len(t.meta.Indexes)-1])
}

// checkUniqueData refuses a UNIQUE index over rows that repeat a value of
// its columns (1062, naming the value), as MySQL does; NULLs never repeat.
func (t *Table) checkUniqueData(ctx *sql.Context, def sql.IndexDef) error {
	full := t.WithProjections(nil).(*Table)
	var ords []int
	for _, ic := range def.Columns {
		for i, c := range full.cols {
			if strings.EqualFold(c.col.Name, ic.Name) {
				ords = append(ords, i)
			}
		}
	}
	if len(ords) != len(def.Columns) {
		return nil // an unknown column: CreateIndex says so
	}
	v, err := full.view(ctx)
	if err != nil {
		return err
	}
	iter, err := full.scanRows(ctx, v, nil, nil)
	if err != nil {
		return err
	}
	defer iter.Close(ctx)
	seen := map[string]bool{}
	for {
		row, err := iter.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		vals := make(sql.Row, len(ords))
		null := false
		for i, o := range ords {
			vals[i] = row[o]
			null = null || row[o] == nil
		}
		if null {
			continue
		}
		sig := rowSignature(vals)
		if seen[sig] {
			parts := make([]string, len(vals))
			for i, x := range vals {
				parts[i] = fmt.Sprint(x)
			}
			return sql.NewUniqueKeyErr("["+strings.Join(parts, ",")+"]", false, nil)
		}
		seen[sig] = true
	}
}

// buildIndex writes the index files of a new index for the table's files
// (the statement returns when they are committed; progress is logged).
func (t *Table) buildIndex(ctx *sql.Context, ix base.Index) error {
	w, err := t.db.st.writer(ctx, t.db.branch)
	if err != nil {
		return translate(err)
	}
	start := time.Now()
	n, err := w.BuildIndex(ctx, t.meta.ID, ix)
	if err != nil {
		return translate(err)
	}
	t.db.p.log.Info("index built", "database", t.db.st.name, "branch", t.db.branch, "table", t.meta.Name,
		"index", ix.Name, "files", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// DropIndex implements sql.IndexAlterableTable.
func (t *Table) DropIndex(ctx *sql.Context, name string) error {
	return t.alter(ctx, "DROP INDEX", func(m *txn.Table) error {
		for i, ix := range m.Indexes {
			if strings.EqualFold(ix.Name, name) {
				m.Indexes = append(m.Indexes[:i], m.Indexes[i+1:]...)
				return nil
			}
		}
		return sql.ErrIndexNotFound.New(name)
	})
}

// RenameIndex implements sql.IndexAlterableTable.
func (t *Table) RenameIndex(ctx *sql.Context, from, to string) error {
	return t.alter(ctx, "RENAME INDEX", func(m *txn.Table) error {
		for i, ix := range m.Indexes {
			if strings.EqualFold(ix.Name, from) {
				m.Indexes[i].Name = to
				return nil
			}
		}
		return sql.ErrIndexNotFound.New(from)
	})
}

// Truncate implements sql.TruncateableTable: a truncate action (a
// version); the rows before it are no longer live.
func (t *Table) Truncate(ctx *sql.Context) (int, error) {
	if t.asOf != nil {
		return 0, errReadOnlyAsOf
	}
	if q := strings.TrimSpace(ctx.Query()); !strings.HasPrefix(strings.ToUpper(q), "TRUNCATE") {
		// go-mysql-server runs DELETE without WHERE as a truncate; a
		// DELETE stays a transactional write.
		return t.deleteAll(ctx)
	}
	n, _, err := t.RowCount(ctx)
	if err != nil {
		return 0, err
	}
	if err := t.db.ddl(ctx, "TRUNCATE", &txn.Commit{Truncates: []txn.Truncate{{ID: t.meta.ID}}}); err != nil {
		return 0, err
	}
	return int(n), nil
}

// deleteAll deletes every row in the session's transaction.
func (t *Table) deleteAll(ctx *sql.Context) (int, error) {
	e := t.newEditor()
	bt, err := e.begin(ctx)
	if err != nil {
		return 0, err
	}
	full := t.WithProjections(nil).(*Table)
	v, err := full.view(ctx)
	if err != nil {
		return 0, err
	}
	it, err := full.scanRowsWithKeys(ctx, v, nil, nil)
	if err != nil {
		return 0, err
	}
	var keys []parquetio.Key
	for {
		_, key, err := it.nextWithKey(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			it.Close(ctx)
			return 0, err
		}
		keys = append(keys, key)
	}
	it.Close(ctx)
	for _, k := range keys {
		if err := bt.tx.Delete(t.meta.ID, k); err != nil {
			bt.tx.RollbackTo(e.sp)
			return 0, translate(err)
		}
	}
	return len(keys), nil
}
