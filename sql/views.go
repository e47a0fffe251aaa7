package sql

import (
	"sort"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/lakesql/lakesql/txn"
)

// Views are table entries of the branch's log whose metadata says so: a
// view is versioned, branched and read AS OF like a table, and holds no
// data. Its definition is kept as go-mysql-server hands it over.
const (
	kindProperty       = "kind"
	kindView           = "view"
	viewDefinitionProp = "view.definition"
	viewCreateProp     = "view.create"
)

func isView(m *txn.Table) bool { return m.Properties[kindProperty] == kindView }

// findView finds a view by name, case-insensitively.
func findView(s *txn.State, name string) *txn.TableState {
	for _, t := range s.Tables() {
		if isView(&t.Meta) && strings.EqualFold(t.Meta.Name, name) {
			return t
		}
	}
	return nil
}

// findAny finds a table or view by name.
func findAny(s *txn.State, name string) *txn.TableState {
	if t := findTable(s, name); t != nil {
		return t
	}
	return findView(s, name)
}

func viewDefinition(m *txn.Table) sql.ViewDefinition {
	return sql.ViewDefinition{Name: m.Name, TextDefinition: m.Properties[viewDefinitionProp], CreateViewStatement: m.Properties[viewCreateProp]}
}

// CreateView implements sql.ViewDatabase: a version, like other DDL.
func (d *Database) CreateView(ctx *sql.Context, name, selectStatement, createViewStmt string) error {
	state, err := d.writerHead(ctx)
	if err != nil {
		return err
	}
	if findAny(state, name) != nil {
		return sql.ErrExistingView.New(d.name, name)
	}
	meta := txn.Table{ID: newTableID(), Name: name, SchemaID: 1, Properties: map[string]string{
		kindProperty: kindView, viewDefinitionProp: selectStatement, viewCreateProp: createViewStmt,
	}}
	return d.ddl(ctx, "CREATE VIEW", &txn.Commit{Tables: []txn.Table{meta}})
}

// DropView implements sql.ViewDatabase.
func (d *Database) DropView(ctx *sql.Context, name string) error {
	state, err := d.writerHead(ctx)
	if err != nil {
		return err
	}
	v := findView(state, name)
	if v == nil {
		return sql.ErrViewDoesNotExist.New(d.name, name)
	}
	return d.ddl(ctx, "DROP VIEW", &txn.Commit{Drops: []txn.DropTable{{ID: v.Meta.ID}}})
}

// GetViewDefinition implements sql.ViewDatabase.
func (d *Database) GetViewDefinition(ctx *sql.Context, name string) (sql.ViewDefinition, bool, error) {
	snap, err := d.snapshot(ctx)
	if err != nil {
		return sql.ViewDefinition{}, false, err
	}
	v := findView(snap.State, name)
	if v == nil {
		return sql.ViewDefinition{}, false, nil
	}
	return viewDefinition(&v.Meta), true, nil
}

// AllViews implements sql.ViewDatabase.
func (d *Database) AllViews(ctx *sql.Context) ([]sql.ViewDefinition, error) {
	snap, err := d.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	var out []sql.ViewDefinition
	for _, t := range snap.State.Tables() {
		if isView(&t.Meta) {
			out = append(out, viewDefinition(&t.Meta))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
