package sql

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/lakesql/lakesql/memwal"
	"github.com/lakesql/lakesql/txn"
)

// Session is a client's session: go-mysql-server's base session plus the
// open transaction's per-branch memwal transactions.
type Session struct {
	*sql.BaseSession
	p *Provider
	// created is the table the session's last CREATE TABLE created.
	created createdTable
	// inRetry: a write statement is running inside a retryIter.
	inRetry bool
}

var (
	_ sql.TransactionSession    = (*Session)(nil)
	_ sql.LifecycleAwareSession = (*Session)(nil)
)

// NewSession returns a session of the provider over a base session.
func (p *Provider) NewSession(base *sql.BaseSession) *Session {
	return &Session{BaseSession: base, p: p}
}

// Transaction is a SQL transaction: one memwal transaction per branch it
// touched (a transaction is atomic per branch; DESIGN.md keeps a
// transaction inside one branch's region), begun lazily, so that starting
// one (which go-mysql-server does for every statement) costs nothing.
type Transaction struct {
	readOnly   bool
	branches   []*branchTxn
	savepoints []savepoint
	// scans keeps the rows of small tables' scans (see cachedScan).
	scans map[string][]sql.Row
}

// writes counts the transaction's writes so far (a scan cached before a
// write is not reused after it).
func (t *Transaction) writes() int {
	n := 0
	for _, b := range t.branches {
		if b.tx != nil {
			n += b.tx.Savepoint()
		}
	}
	return n
}

type savepoint struct {
	name  string
	marks map[*branchTxn]int
}

// branchTxn is a transaction's view of one branch: a memwal transaction in
// the process that holds the branch's writer, else the branch's newest
// version (read-only).
type branchTxn struct {
	st     *dbState
	branch string
	w      *memwal.Branch
	tx     *memwal.Txn
	head   *txn.Snapshot
}

func (t *Transaction) String() string {
	var parts []string
	for _, b := range t.branches {
		parts = append(parts, b.st.name+"/"+b.branch)
	}
	return "lakesql transaction [" + strings.Join(parts, ", ") + "]"
}

// IsReadOnly implements sql.Transaction.
func (t *Transaction) IsReadOnly() bool { return t.readOnly }

// StartTransaction implements sql.TransactionSession.
func (s *Session) StartTransaction(ctx *sql.Context, tc sql.TransactionCharacteristic) (sql.Transaction, error) {
	return &Transaction{readOnly: tc == sql.ReadOnly}, nil
}

// transaction returns the session's open transaction, starting one when
// there is none (procedures may run outside go-mysql-server's statement
// transaction handling).
func (s *Session) transaction(ctx *sql.Context) *Transaction {
	if t, ok := ctx.GetTransaction().(*Transaction); ok && t != nil {
		return t
	}
	t := &Transaction{}
	ctx.SetTransaction(t)
	return t
}

// branchTxn returns the transaction's view of a branch, beginning it on
// first use. write demands the branch's writer.
func (s *Session) branchTxn(ctx *sql.Context, st *dbState, branch string, write bool) (*branchTxn, error) {
	t := s.transaction(ctx)
	for _, b := range t.branches {
		if b.st == st && b.branch == branch {
			if write && b.tx == nil {
				return nil, b.notWriter(ctx)
			}
			return b, nil
		}
	}
	bt := &branchTxn{st: st, branch: branch}
	w, err := st.writer(ctx, branch)
	switch {
	case err == nil:
		tx, err := w.Begin()
		if err != nil {
			return nil, err
		}
		bt.w, bt.tx = w, tx
	case write:
		return nil, err
	default:
		var nw *notWriterError
		if !errors.As(err, &nw) {
			return nil, err
		}
		h, err := st.db.Head(ctx, branch)
		if err != nil {
			return nil, err
		}
		bt.head = h
	}
	// Savepoints taken before this branch joined roll it back entirely.
	for i := range t.savepoints {
		t.savepoints[i].marks[bt] = 0
	}
	t.branches = append(t.branches, bt)
	return bt, nil
}

func (b *branchTxn) notWriter(ctx context.Context) error {
	_, err := b.st.writer(ctx, b.branch)
	if err == nil {
		return fmt.Errorf("branch %s/%s: this transaction began reading it before this process became its writer; commit and retry", b.st.name, b.branch)
	}
	return err
}

// snapshot is the log state the branch is read at.
func (b *branchTxn) snapshot() *txn.Snapshot {
	if b.tx != nil {
		return b.tx.Snapshot().Log
	}
	return b.head
}

// CommitTransaction implements sql.TransactionSession: each branch's writes
// become durable and visible. A write-write conflict is error 1213; the
// transaction is over either way.
func (s *Session) CommitTransaction(ctx *sql.Context, tx sql.Transaction) error {
	t, ok := tx.(*Transaction)
	if !ok || t == nil {
		return nil
	}
	return s.commit(ctx, t)
}

func (s *Session) commit(ctx *sql.Context, t *Transaction) error {
	defer s.end(t)
	err := s.commitBranches(ctx, t)
	if ctx.GetTransaction() == t {
		ctx.SetTransaction(nil)
	}
	return err
}

// commitBranches commits each branch's memwal transaction.
func (s *Session) commitBranches(ctx *sql.Context, t *Transaction) error {
	var errs []error
	for _, b := range t.branches {
		if b.tx == nil {
			continue
		}
		empty := b.tx.Empty()
		if _, err := b.tx.Commit(ctx); err != nil {
			errs = append(errs, err)
			continue
		}
		if !empty && s.p.cfg.AfterStatement != nil {
			if err := s.p.cfg.AfterStatement(ctx, b.w); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return translate(errors.Join(errs...))
}

// end releases what the transaction holds.
func (s *Session) end(t *Transaction) {
	for _, b := range t.branches {
		if b.tx != nil {
			b.tx.Rollback()
		}
	}
	t.branches = nil
	t.savepoints = nil
	t.scans = nil
}

// Rollback implements sql.TransactionSession.
func (s *Session) Rollback(ctx *sql.Context, tx sql.Transaction) error {
	if t, ok := tx.(*Transaction); ok && t != nil {
		s.end(t)
		if ctx.GetTransaction() == t {
			ctx.SetTransaction(nil)
		}
	}
	return nil
}

// CreateSavepoint implements sql.TransactionSession.
func (s *Session) CreateSavepoint(ctx *sql.Context, tx sql.Transaction, name string) error {
	t, ok := tx.(*Transaction)
	if !ok {
		return nil
	}
	sp := savepoint{name: strings.ToLower(name), marks: map[*branchTxn]int{}}
	for _, b := range t.branches {
		if b.tx != nil {
			sp.marks[b] = b.tx.Savepoint()
		}
	}
	// A savepoint of the same name replaces the older one.
	t.savepoints = slices.DeleteFunc(t.savepoints, func(o savepoint) bool { return o.name == sp.name })
	t.savepoints = append(t.savepoints, sp)
	return nil
}

func (t *Transaction) findSavepoint(name string) (int, error) {
	name = strings.ToLower(name)
	for i := len(t.savepoints) - 1; i >= 0; i-- {
		if t.savepoints[i].name == name {
			return i, nil
		}
	}
	return 0, sql.ErrSavepointDoesNotExist.New(name)
}

// savepointOf finds the named savepoint of a transaction.
func savepointOf(tx sql.Transaction, name string) (*Transaction, int, error) {
	t, ok := tx.(*Transaction)
	if !ok || t == nil {
		return nil, 0, sql.ErrSavepointDoesNotExist.New(name)
	}
	i, err := t.findSavepoint(name)
	return t, i, err
}

// RollbackToSavepoint implements sql.TransactionSession.
func (s *Session) RollbackToSavepoint(ctx *sql.Context, tx sql.Transaction, name string) error {
	t, i, err := savepointOf(tx, name)
	if err != nil {
		return err
	}
	sp := t.savepoints[i]
	for _, b := range t.branches {
		if b.tx != nil {
			b.tx.RollbackTo(sp.marks[b])
		}
	}
	t.savepoints = t.savepoints[:i+1]
	return nil
}

// ReleaseSavepoint implements sql.TransactionSession.
func (s *Session) ReleaseSavepoint(ctx *sql.Context, tx sql.Transaction, name string) error {
	t, i, err := savepointOf(tx, name)
	if err != nil {
		return err
	}
	t.savepoints = t.savepoints[:i]
	return nil
}

// CommandBegin implements sql.LifecycleAwareSession.
func (s *Session) CommandBegin() error { return nil }

// CommandEnd implements sql.LifecycleAwareSession.
func (s *Session) CommandEnd() {}

// SessionEnd implements sql.LifecycleAwareSession: an open transaction is
// rolled back when its client goes away.
func (s *Session) SessionEnd() {
	if t, ok := s.GetTransaction().(*Transaction); ok && t != nil {
		s.end(t)
	}
}

// sessionOf returns the lakesql session of a context.
func sessionOf(ctx *sql.Context) (*Session, error) {
	s, ok := ctx.Session.(*Session)
	if !ok {
		return nil, fmt.Errorf("lakesql: session %T is not a lakesql session", ctx.Session)
	}
	return s, nil
}
