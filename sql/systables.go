package sql

import (
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/lakesql/lakesql/txn"
)

const sqltypesDatetime = sqltypes.Datetime

// systemTable is a read-only table lakesql computes: the log, branches,
// tags, files and MemTables of the session's branch (AS OF where it makes
// sense).
type systemTable struct {
	name   string
	schema sql.Schema
	rows   func(ctx *sql.Context) ([]sql.Row, error)
}

var _ sql.Table = (*systemTable)(nil)

func (t *systemTable) Name() string               { return t.name }
func (t *systemTable) String() string             { return t.name }
func (t *systemTable) Schema() sql.Schema         { return t.schema }
func (t *systemTable) Collation() sql.CollationID { return sql.Collation_Default }
func (t *systemTable) IsTemporary() bool          { return false }
func (t *systemTable) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(&partition{}), nil
}
func (t *systemTable) PartitionRows(ctx *sql.Context, _ sql.Partition) (sql.RowIter, error) {
	rows, err := t.rows(ctx)
	if err != nil {
		return nil, err
	}
	return sql.RowsToRowIter(rows...), nil
}

var datetime6 = types.MustCreateDatetimeType(sqltypes.Datetime, 6)

func varchar(n int64) sql.Type { return types.MustCreateStringWithDefaults(sqltypes.VarChar, n) }

func schemaOf(table string, cols ...*sql.Column) sql.Schema {
	for _, c := range cols {
		c.Source = table
		c.Nullable = true
	}
	return cols
}

func msTime(ms int64) any {
	if ms == 0 {
		return nil
	}
	return time.UnixMilli(ms).UTC()
}

// metaRows builds a system table's rows from the database's _meta log,
// read fresh.
func (d *Database) metaRows(build func(*sql.Context, *txn.MetaState) []sql.Row) func(*sql.Context) ([]sql.Row, error) {
	return func(ctx *sql.Context) ([]sql.Row, error) {
		meta, err := d.st.db.RefreshMeta(ctx)
		if err != nil {
			return nil, translate(err)
		}
		return build(ctx, meta), nil
	}
}

// systemTable returns the system table of that name at asOf (nil: the
// session's view of the branch).
func (d *Database) systemTable(ctx *sql.Context, name string, asOf *txn.Snapshot) (sql.Table, bool, error) {
	lname := strings.ToLower(name)
	if !strings.HasPrefix(lname, "lakesql_") {
		return nil, false, nil
	}
	snapshot := func() (*txn.Snapshot, error) {
		if asOf != nil {
			return asOf, nil
		}
		return d.snapshot(ctx)
	}
	if t, ok := d.virtualSystemTable(lname); ok {
		return t, true, nil
	}
	switch lname {
	case "lakesql_log":
		return &systemTable{name: lname, schema: schemaOf(lname,
			&sql.Column{Name: "version", Type: types.Int64},
			&sql.Column{Name: "branch", Type: varchar(255)},
			&sql.Column{Name: "committed_at", Type: datetime6},
			&sql.Column{Name: "operation", Type: varchar(64)},
			&sql.Column{Name: "message", Type: types.LongText},
			&sql.Column{Name: "user", Type: varchar(255)},
		), rows: func(ctx *sql.Context) ([]sql.Row, error) {
			snap, err := snapshot()
			if err != nil {
				return nil, err
			}
			meta, err := d.st.db.Meta(ctx)
			if err != nil {
				return nil, translate(err)
			}
			var out []sql.Row
			vs := snap.State.Versions
			for i := len(vs) - 1; i >= 0; i-- {
				v := vs[i]
				branch := v.BranchID
				if b := meta.BranchByID(v.BranchID); b != nil {
					branch = b.Name
				}
				out = append(out, sql.NewRow(v.Version, branch, msTime(v.Timestamp), v.Operation, v.Message, v.User))
			}
			return out, nil
		}}, true, nil
	case "lakesql_branches":
		return &systemTable{name: lname, schema: schemaOf(lname,
			&sql.Column{Name: "name", Type: varchar(255)},
			&sql.Column{Name: "head_version", Type: types.Int64},
			&sql.Column{Name: "from_branch", Type: varchar(255)},
			&sql.Column{Name: "from_version", Type: types.Int64},
			&sql.Column{Name: "created_at", Type: datetime6},
		), rows: d.metaRows(func(ctx *sql.Context, meta *txn.MetaState) []sql.Row {
			var out []sql.Row
			for _, b := range meta.Branches() {
				var head any
				if h, err := d.st.db.Head(ctx, b.Name); err == nil {
					head = h.Version()
				}
				var from any
				if p := meta.BranchByID(b.FromID); p != nil {
					from = p.Name
				}
				var fromVersion any
				if b.FromID != "" {
					fromVersion = b.FromVersion
				}
				out = append(out, sql.NewRow(b.Name, head, from, fromVersion, msTime(b.CreatedAt)))
			}
			return out
		})}, true, nil
	case "lakesql_tags":
		return &systemTable{name: lname, schema: schemaOf(lname,
			&sql.Column{Name: "name", Type: varchar(255)},
			&sql.Column{Name: "branch", Type: varchar(255)},
			&sql.Column{Name: "version", Type: types.Int64},
			&sql.Column{Name: "created_at", Type: datetime6},
		), rows: d.metaRows(func(ctx *sql.Context, meta *txn.MetaState) []sql.Row {
			var out []sql.Row
			for _, t := range meta.Tags() {
				if t.Deleted {
					continue
				}
				branch := t.BranchID
				if b := meta.BranchByID(t.BranchID); b != nil {
					branch = b.Name
				}
				out = append(out, sql.NewRow(t.Name, branch, t.Version, msTime(t.CreatedAt)))
			}
			return out
		})}, true, nil
	case "lakesql_files":
		return &systemTable{name: lname, schema: schemaOf(lname,
			&sql.Column{Name: "table_name", Type: varchar(255)},
			&sql.Column{Name: "path", Type: varchar(1024)},
			&sql.Column{Name: "kind", Type: varchar(16)},
			&sql.Column{Name: "generation", Type: types.Int64},
			&sql.Column{Name: "row_count", Type: types.Int64},
			&sql.Column{Name: "deleted_rows", Type: types.Int64},
			&sql.Column{Name: "bytes", Type: types.Int64},
		), rows: func(ctx *sql.Context) ([]sql.Row, error) {
			snap, err := snapshot()
			if err != nil {
				return nil, err
			}
			var out []sql.Row
			for _, ts := range snap.State.Tables() {
				ts.Files(func(a *txn.Add) bool {
					out = append(out, sql.NewRow(ts.Meta.Name, a.Path, a.Kind, a.Generation, a.Rows, a.Rows-a.LiveRows(), a.Bytes))
					return true
				})
			}
			return out, nil
		}}, true, nil
	case "lakesql_memtables":
		return &systemTable{name: lname, schema: schemaOf(lname,
			&sql.Column{Name: "table_name", Type: varchar(255)},
			&sql.Column{Name: "row_count", Type: types.Int64},
			&sql.Column{Name: "bytes", Type: types.Int64},
			&sql.Column{Name: "wal_position", Type: types.Uint64},
		), rows: func(ctx *sql.Context) ([]sql.Row, error) {
			if asOf != nil {
				return nil, nil // a version holds no MemTables
			}
			w := d.st.heldWriter(d.branch)
			if w == nil {
				return nil, nil
			}
			infos, err := w.MemTables()
			if err != nil {
				return nil, translate(err)
			}
			state := w.Head().State
			var out []sql.Row
			for _, m := range infos {
				name := m.Table
				if ts := state.Table(m.Table); ts != nil {
					name = ts.Meta.Name
				}
				out = append(out, sql.NewRow(name, m.Rows, m.Bytes, m.LastSeq))
			}
			return out, nil
		}}, true, nil
	}
	return nil, false, nil
}
