package sql

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/lakesql/lakesql/txn"
)

// Database is one branch of a lakesql database: "db" is main, "db/branch"
// another branch (a revision database, as in Dolt).
type Database struct {
	p      *Provider
	st     *dbState
	name   string // as SQL shows it: "shop" or "shop/dev"
	branch string
}

var (
	_ sql.Database                = (*Database)(nil)
	_ sql.VersionedDatabase       = (*Database)(nil)
	_ sql.TableCreator            = (*Database)(nil)
	_ sql.TableDropper            = (*Database)(nil)
	_ sql.TableRenamer            = (*Database)(nil)
	_ sql.ViewDatabase            = (*Database)(nil)
	_ sql.TriggerDatabase         = (*Database)(nil)
	_ sql.StoredProcedureDatabase = (*Database)(nil)
	_ sql.AliasedDatabase         = (*Database)(nil)
	_ sql.CollatedDatabase        = (*Database)(nil)
)

// GetCollation implements sql.CollatedDatabase.
func (d *Database) GetCollation(ctx *sql.Context) sql.CollationID { return sql.Collation_Default }

// SetCollation implements sql.CollatedDatabase: only the default.
func (d *Database) SetCollation(ctx *sql.Context, c sql.CollationID) error {
	if c != sql.Collation_Default {
		return notSupported(fmt.Sprintf("the collation %s (lakesql compares strings as %s)", c, sql.Collation_Default))
	}
	return nil
}

// Name implements sql.Database.
func (d *Database) Name() string { return d.name }

// AliasedName implements sql.AliasedDatabase: privileges are granted on
// the database, whatever the branch.
func (d *Database) AliasedName() string { return d.st.name }

// Branch is the branch the database object reads and writes.
func (d *Database) Branch() string { return d.branch }

// snapshot is the log state the session reads the branch at: its
// transaction's, or the branch's head.
func (d *Database) snapshot(ctx *sql.Context) (*txn.Snapshot, error) {
	s, err := sessionOf(ctx)
	if err != nil {
		return nil, err
	}
	bt, err := s.branchTxn(ctx, d.st, d.branch, false)
	if err != nil {
		return nil, translate(err)
	}
	return bt.snapshot(), nil
}

// GetTableInsensitive implements sql.Database.
func (d *Database) GetTableInsensitive(ctx *sql.Context, name string) (sql.Table, bool, error) {
	if t, ok, err := d.systemTable(ctx, name, nil); ok || err != nil {
		return t, ok, err
	}
	snap, err := d.snapshot(ctx)
	if err != nil {
		return nil, false, err
	}
	return d.tableAt(ctx, snap, name, nil)
}

func (d *Database) tableAt(ctx *sql.Context, snap *txn.Snapshot, name string, asOf *txn.Snapshot) (sql.Table, bool, error) {
	ts := findTable(snap.State, name)
	if ts == nil {
		return nil, false, nil
	}
	t, err := d.st.table(ctx, d, ts, asOf)
	if err != nil {
		return nil, false, err
	}
	return t, true, nil
}

// findTable finds a table by name, case-insensitively.
func findTable(s *txn.State, name string) *txn.TableState {
	if t := s.TableByName(name); t != nil && !isView(&t.Meta) {
		return t
	}
	for _, t := range s.Tables() {
		if strings.EqualFold(t.Meta.Name, name) && !isView(&t.Meta) {
			return t
		}
	}
	return nil
}

// GetTableNames implements sql.Database.
func (d *Database) GetTableNames(ctx *sql.Context) ([]string, error) {
	snap, err := d.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return tableNames(snap.State), nil
}

func tableNames(s *txn.State) []string {
	var out []string
	for _, t := range s.Tables() {
		if !isView(&t.Meta) {
			out = append(out, t.Meta.Name)
		}
	}
	sort.Strings(out)
	return out
}

// resolveAsOf resolves an AS OF value: go-mysql-server passes strings
// (also for integers) and time.Time.
func (d *Database) resolveAsOf(ctx *sql.Context, asOf any) (*txn.Snapshot, error) {
	var ref txn.Ref
	var text string
	switch v := asOf.(type) {
	case time.Time:
		ref = txn.Ref{Kind: txn.RefTime, Time: v}
		text = v.Format("'2006-01-02 15:04:05.999999'")
	case string:
		text = "'" + v + "'"
		r, err := txn.ParseRef(v, time.Local)
		if err != nil {
			return nil, errUnknownRef(text, err)
		}
		ref = r
	case []byte:
		return d.resolveAsOf(ctx, string(v))
	default:
		if n, ok := asOf.(fmt.Stringer); ok {
			return d.resolveAsOf(ctx, n.String())
		}
		return d.resolveAsOf(ctx, fmt.Sprint(asOf))
	}
	if ref.Kind == txn.RefName {
		// AS OF 'branch' is the branch's newest version: look for other
		// processes' commits too.
		if _, err := d.st.db.RefreshHead(ctx, ref.Name); err != nil {
			var nf *txn.NotFoundError
			if !errorsAs(err, &nf) {
				return nil, translate(err)
			}
		}
	}
	s, err := d.st.db.Resolve(ctx, d.branch, ref)
	if err != nil {
		return nil, errUnknownRef(text, err)
	}
	return s, nil
}

// GetTableInsensitiveAsOf implements sql.VersionedDatabase.
func (d *Database) GetTableInsensitiveAsOf(ctx *sql.Context, name string, asOf any) (sql.Table, bool, error) {
	snap, err := d.resolveAsOf(ctx, asOf)
	if err != nil {
		return nil, false, err
	}
	if t, ok, err := d.systemTable(ctx, name, snap); ok || err != nil {
		return t, ok, err
	}
	return d.tableAt(ctx, snap, name, snap)
}

// GetTableNamesAsOf implements sql.VersionedDatabase.
func (d *Database) GetTableNamesAsOf(ctx *sql.Context, asOf any) ([]string, error) {
	snap, err := d.resolveAsOf(ctx, asOf)
	if err != nil {
		return nil, err
	}
	return tableNames(snap.State), nil
}

// newTableID returns a fresh table id.
func newTableID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "t" + hex.EncodeToString(b[:])
}

// userOf is the session's user for commit metadata.
func userOf(ctx *sql.Context) string {
	if ctx == nil || ctx.Session == nil {
		return ""
	}
	return ctx.Client().User
}

// ddl commits a table change on the branch's writer as a version.
func (d *Database) ddl(ctx *sql.Context, op string, c *txn.Commit) error {
	w, err := d.st.writer(ctx, d.branch)
	if err != nil {
		return translate(err)
	}
	s, err := sessionOf(ctx)
	if err != nil {
		return err
	}
	// DDL commits the session's open transaction first (go-mysql-server
	// does too, but a procedure or a transaction begun before may not).
	if t, ok := ctx.GetTransaction().(*Transaction); ok && t != nil {
		if err := s.commit(ctx, t); err != nil {
			return err
		}
	}
	c.Operation = op
	c.User = userOf(ctx)
	c.Epoch = w.Epoch()
	version := !s.sameStatementDDL(ctx, c)
	if version {
		_, err = w.CommitDDL(ctx, c)
	} else {
		c.AmendsVersion = true // one statement, one version: its last entry
		_, err = w.CommitTables(ctx, c)
	}
	if err != nil {
		return translate(err)
	}
	d.p.log.Info("ddl committed", "database", d.st.name, "branch", d.branch, "operation", op)
	return nil
}

// GetTriggers implements sql.TriggerDatabase.
func (d *Database) GetTriggers(ctx *sql.Context) ([]sql.TriggerDefinition, error) { return nil, nil }

// CreateTrigger implements sql.TriggerDatabase.
func (d *Database) CreateTrigger(ctx *sql.Context, def sql.TriggerDefinition) error {
	return notSupported("CREATE TRIGGER")
}

// DropTrigger implements sql.TriggerDatabase.
func (d *Database) DropTrigger(ctx *sql.Context, name string) error {
	return sql.ErrTriggerDoesNotExist.New(name)
}

// GetStoredProcedure implements sql.StoredProcedureDatabase.
func (d *Database) GetStoredProcedure(ctx *sql.Context, name string) (sql.StoredProcedureDetails, bool, error) {
	return sql.StoredProcedureDetails{}, false, nil
}

// GetStoredProcedures implements sql.StoredProcedureDatabase.
func (d *Database) GetStoredProcedures(ctx *sql.Context) ([]sql.StoredProcedureDetails, error) {
	return nil, nil
}

// SaveStoredProcedure implements sql.StoredProcedureDatabase.
func (d *Database) SaveStoredProcedure(ctx *sql.Context, spd sql.StoredProcedureDetails) error {
	return notSupported("CREATE PROCEDURE")
}

// DropStoredProcedure implements sql.StoredProcedureDatabase.
func (d *Database) DropStoredProcedure(ctx *sql.Context, name string) error {
	return sql.ErrStoredProcedureDoesNotExist.New(name)
}
