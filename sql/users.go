package sql

import (
	"context"
	"errors"
	"fmt"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"

	"github.com/lakesql/lakesql/store"
)

// usersObject holds the server's users and grants (go-mysql-server's
// serialized mysql database), beside the databases in the store.
const usersObject = "_lakesql_users"

// Users loads the users and grants kept in the store into the engine, and
// makes CREATE USER, GRANT and the like persist there. It returns the
// number of users: with none, authentication is off (any client is root),
// which only a loopback listener may allow. Users created while it is off
// take effect at the next start, so that the session creating them keeps
// working.
func Users(ctx context.Context, p *Provider, e *sqle.Engine) (int, error) {
	db := e.Analyzer.Catalog.MySQLDb
	data, err := store.ReadAll(ctx, p.cfg.Store, usersObject)
	switch {
	case errors.Is(err, store.ErrNotExist):
	case err != nil:
		return 0, fmt.Errorf("read users: %w", err)
	default:
		if err := db.LoadData(sql.NewContext(ctx), data); err != nil {
			return 0, fmt.Errorf("load users from %s: %w", usersObject, err)
		}
	}
	db.SetPersister(&usersPersister{p: p})
	if !db.Enabled() {
		// No users: root without a password, from this machine only, and
		// for this process only (ephemeral users are never persisted), so
		// that CREATE USER and GRANT work.
		ed := db.Editor()
		for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
			db.AddEphemeralSuperUser(ed, "root", host, "")
		}
		ed.Close()
		p.auth.Store(db)
		return 0, nil
	}
	p.auth.Store(db)
	n := 0
	rd := db.Reader()
	rd.VisitUsers(func(*mysql_db.User) { n++ })
	rd.Close()
	return n, nil
}

// usersPersister writes the users and grants to the store.
type usersPersister struct{ p *Provider }

func (u *usersPersister) Persist(ctx *sql.Context, data []byte) error {
	if _, err := store.PutBytes(ctx, u.p.cfg.Store, usersObject, data); err != nil {
		return fmt.Errorf("persist users: %w", err)
	}
	u.p.log.Info("users and grants saved", "bytes", len(data))
	return nil
}
