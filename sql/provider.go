package sql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"

	"github.com/lakesql/lakesql/memwal"
	"github.com/lakesql/lakesql/scan"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/external"
	"github.com/lakesql/lakesql/txn"
)

// catalogPrefix holds one empty marker object per database: CREATE
// DATABASE creates it with put-if-absent, SHOW DATABASES lists them.
const catalogPrefix = "_lakesql_databases/"

// Config configures a Provider.
type Config struct {
	// Store holds every database, each under its own name as a prefix.
	Store store.Store
	// Txn configures each database's commit log.
	Txn txn.Options
	// Writer configures each branch writer (MemTable size, ...).
	Writer memwal.Options
	// FlushInterval, when positive, flushes every branch writer this often
	// (a storage entry, no version), and then runs its merge job.
	FlushInterval time.Duration
	// Logger receives what the provider does (default slog.Default()).
	Logger *slog.Logger
	// AfterStatement, when set, runs after every committed write
	// statement with the writer of its branch (tests use it to flush
	// after every statement, so that answers must not depend on flushes).
	AfterStatement func(ctx context.Context, w *memwal.Branch) error
	// NoIndexLookups answers lookups on secondary indexes by scanning
	// instead of through the index files and the MemTables' indexes
	// (the metamorphic tests compare both).
	NoIndexLookups bool
	// NoVectorize keeps every query on go-mysql-server's row path instead
	// of the vectorized nodes (aggregations and top-N sorts on Arrow
	// batches; the metamorphic tests compare both).
	NoVectorize bool
	// PageCacheBytes bounds each database's cache of decoded pages, which
	// lookups read through (0: scan.DefaultPageCacheBytes; negative: none).
	PageCacheBytes int64
	// External opens virtual files in containers with the server's
	// read-time credentials (default: a resolver that takes them from the
	// environment only).
	External *external.Resolver
}

// Provider is the go-mysql-server database provider over a store: every
// database is a txn.DB under its name, with a branch writer per branch that
// this process holds the lease of.
type Provider struct {
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	dbs  map[string]*dbState // open databases by name
	revs map[string]*Database
	// sessions are the server's sessions by connection id.
	sessions sessions
	// fastSelects and fastInserts count the statements answered without
	// planning.
	fastSelects, fastInserts atomic.Int64
	// auth, once Users ran, checks privileges where lakesql answers
	// without go-mysql-server (the point-select fast path).
	auth atomic.Pointer[mysql_db.MySQLDb]
	done chan struct{}
	wg   sync.WaitGroup
}

var (
	_ sql.DatabaseProvider                = (*Provider)(nil)
	_ sql.MutableDatabaseProvider         = (*Provider)(nil)
	_ sql.CollatedDatabaseProvider        = (*Provider)(nil)
	_ sql.ExternalStoredProcedureProvider = (*Provider)(nil)
)

// NewProvider returns a provider over cfg.Store.
func NewProvider(cfg Config) *Provider {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Txn.Logger == nil {
		cfg.Txn.Logger = cfg.Logger
	}
	if cfg.Writer.Logger == nil {
		cfg.Writer.Logger = cfg.Logger
	}
	if cfg.External == nil {
		cfg.External = external.New(external.Config{})
	}
	p := &Provider{cfg: cfg, log: cfg.Logger, dbs: map[string]*dbState{}, revs: map[string]*Database{}, done: make(chan struct{})}
	if cfg.FlushInterval > 0 {
		p.wg.Add(1)
		go p.flushLoop(cfg.FlushInterval)
	}
	return p
}

func (p *Provider) flushLoop(every time.Duration) {
	defer p.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		for _, w := range p.writers() {
			if err := w.Flush(context.Background()); err != nil {
				if !errors.Is(err, memwal.ErrClosed) {
					p.log.Warn("background flush failed", "err", err)
				}
				continue
			}
			w.MaybeMerge() // small interval flushes pile up otherwise
		}
	}
}

func (p *Provider) writers() []*memwal.Branch {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*memwal.Branch
	for _, d := range p.dbs {
		d.mu.Lock()
		for _, w := range d.writers {
			if w.b != nil {
				out = append(out, w.b)
			}
		}
		d.mu.Unlock()
	}
	return out
}

// IndexStats returns how many data files this provider's scans read
// through their index files, and how many MemTable lookups its scans
// answered from the MemTables' indexes.
func (p *Provider) IndexStats() (files, memtables int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.dbs {
		f, m := d.reader.IndexStats()
		files += f
		memtables += m
	}
	return files, memtables
}

// FastSelects is the number of point selects the server answered without
// planning them.
func (p *Provider) FastSelects() int64 { return p.fastSelects.Load() }

// FastInserts is the number of INSERTs of literal rows the server ran
// without planning them.
func (p *Provider) FastInserts() int64 { return p.fastInserts.Load() }

// Close flushes and closes every branch writer (releasing their leases)
// and the databases.
func (p *Provider) Close(ctx context.Context) error {
	close(p.done)
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, d := range p.dbs {
		errs = append(errs, d.close(ctx))
	}
	p.dbs = map[string]*dbState{}
	p.revs = map[string]*Database{}
	errs = append(errs, p.cfg.External.Close())
	return errors.Join(errs...)
}

// external is the resolver of virtual files' containers.
func (p *Provider) external() *external.Resolver { return p.cfg.External }

// splitName splits "db/branch" into its parts; the branch is "" for "db".
func splitName(name string) (db, branch string) {
	db, branch, _ = strings.Cut(name, "/")
	return strings.ToLower(db), branch
}

// validDBName refuses names the store or revision names cannot hold.
func validDBName(name string) error {
	if name == "" || strings.ContainsAny(name, "/\\\x00") || strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("invalid database name %q: it must not be empty, contain '/' or '\\', or start with '_' or '.'", name)
	}
	return store.ValidateName(name)
}

// Database implements sql.DatabaseProvider: "db" is its main branch,
// "db/branch" (a revision database) another branch.
func (p *Provider) Database(ctx *sql.Context, name string) (sql.Database, error) {
	d, err := p.database(ctx, name)
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (p *Provider) database(ctx context.Context, name string) (*Database, error) {
	key := strings.ToLower(name)
	p.mu.Lock()
	if d := p.revs[key]; d != nil && !d.st.closed() {
		p.mu.Unlock()
		if d.branch != txn.MainBranch {
			if err := d.st.checkBranch(ctx, d.branch); err != nil {
				p.mu.Lock()
				delete(p.revs, key)
				p.mu.Unlock()
				return nil, err
			}
		}
		return d, nil
	}
	p.mu.Unlock()
	dbName, branch := splitName(name)
	st, err := p.open(ctx, dbName)
	if err != nil {
		return nil, err
	}
	display := dbName
	if branch == "" {
		branch = txn.MainBranch
	} else {
		display = dbName + "/" + branch
		if err := st.checkBranch(ctx, branch); err != nil {
			return nil, err
		}
	}
	d := &Database{p: p, st: st, name: display, branch: branch}
	p.mu.Lock()
	p.revs[key] = d
	p.mu.Unlock()
	return d, nil
}

// open returns the open state of a database, opening it on first use.
func (p *Provider) open(ctx context.Context, name string) (*dbState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d := p.dbs[name]; d != nil {
		return d, nil
	}
	if validDBName(name) != nil {
		return nil, sql.ErrDatabaseNotFound.New(name)
	}
	if _, err := p.cfg.Store.Stat(ctx, catalogPrefix+name); err != nil {
		if errors.Is(err, store.ErrNotExist) {
			return nil, sql.ErrDatabaseNotFound.New(name)
		}
		return nil, err
	}
	db, err := txn.Open(ctx, p.cfg.Store, name, p.cfg.Txn)
	if err != nil {
		return nil, fmt.Errorf("open database %q: %w", name, err)
	}
	d := newDBState(p, name, db)
	p.dbs[name] = d
	return d, nil
}

// HasDatabase implements sql.DatabaseProvider.
func (p *Provider) HasDatabase(ctx *sql.Context, name string) bool {
	_, err := p.database(ctx, name)
	return err == nil
}

// AllDatabases implements sql.DatabaseProvider: the databases' main
// branches (revision databases are not listed, as in Dolt).
func (p *Provider) AllDatabases(ctx *sql.Context) []sql.Database {
	names, err := p.databaseNames(ctx)
	if err != nil {
		p.log.Warn("listing databases failed", "err", err)
	}
	var out []sql.Database
	for _, n := range names {
		d, err := p.database(ctx, n)
		if err != nil {
			continue
		}
		out = append(out, d)
	}
	return out
}

func (p *Provider) databaseNames(ctx context.Context) ([]string, error) {
	var names []string
	for info, err := range p.cfg.Store.List(ctx, catalogPrefix, "") {
		if err != nil {
			return names, err
		}
		names = append(names, strings.TrimPrefix(info.Name, catalogPrefix))
	}
	sort.Strings(names)
	return names, nil
}

// CreateDatabase implements sql.MutableDatabaseProvider: a new database
// whose main branch is at version 0.
func (p *Provider) CreateDatabase(ctx *sql.Context, name string) error {
	name = strings.ToLower(name)
	if err := validDBName(name); err != nil {
		return err
	}
	if _, err := p.cfg.Store.Stat(ctx, catalogPrefix+name); err == nil {
		return sql.ErrDatabaseExists.New(name)
	}
	db, err := txn.Create(ctx, p.cfg.Store, name, p.cfg.Txn)
	if err != nil && !errors.Is(err, txn.ErrExists) {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	if db != nil {
		db.Close()
	}
	if _, err := store.PutBytes(ctx, p.cfg.Store, catalogPrefix+name, nil, store.IfAbsent()); err != nil {
		if errors.Is(err, store.ErrPreconditionFailed) {
			return sql.ErrDatabaseExists.New(name)
		}
		return err
	}
	p.log.Info("database created", "database", name)
	return nil
}

// CreateCollatedDatabase implements sql.CollatedDatabaseProvider: lakesql
// compares strings bytewise (utf8mb4_0900_bin); a database asking for
// another collation is refused.
func (p *Provider) CreateCollatedDatabase(ctx *sql.Context, name string, collation sql.CollationID) error {
	if collation != sql.Collation_Default && collation != sql.Collation_Unspecified {
		return notSupported(fmt.Sprintf("the collation %s (lakesql compares strings as %s)", collation, sql.Collation_Default))
	}
	return p.CreateDatabase(ctx, name)
}

// DropDatabase implements sql.MutableDatabaseProvider: the database
// disappears from the catalog at once (its writers stop and release their
// leases), then its objects are deleted.
func (p *Provider) DropDatabase(ctx *sql.Context, name string) error {
	name = strings.ToLower(name)
	if _, err := p.cfg.Store.Stat(ctx, catalogPrefix+name); err != nil {
		if errors.Is(err, store.ErrNotExist) {
			return sql.ErrDatabaseNotFound.New(name)
		}
		return err
	}
	p.mu.Lock()
	d := p.dbs[name]
	delete(p.dbs, name)
	for k, r := range p.revs {
		if r.st == d || strings.HasPrefix(k, name+"/") || k == name {
			delete(p.revs, k)
		}
	}
	p.mu.Unlock()
	if d != nil {
		if err := d.close(ctx); err != nil {
			p.log.Warn("closing dropped database", "database", name, "err", err)
		}
	}
	if err := p.cfg.Store.Delete(ctx, catalogPrefix+name); err != nil && !errors.Is(err, store.ErrNotExist) {
		return err
	}
	var n int
	for info, err := range p.cfg.Store.List(ctx, name+"/", "") {
		if err != nil {
			return err
		}
		if err := p.cfg.Store.Delete(ctx, info.Name); err != nil && !errors.Is(err, store.ErrNotExist) {
			return err
		}
		n++
	}
	p.log.Info("database dropped", "database", name, "objects_deleted", n)
	return nil
}

// dbState is an open database: its log, a reader of its files shared by
// all its branches, and the writers of the branches this process holds.
type dbState struct {
	p      *Provider
	name   string
	db     *txn.DB
	reader *scan.Reader

	mu       sync.Mutex
	writers  map[string]*writerState
	autoIncs map[string]*autoInc // by branch/table id
	tables   map[tableKey]*Table // built tables, see table
	isClosed bool
}

// tableKey identifies a table's metadata at a log state: a TableState is
// immutable and replaced by every change of the table.
type tableKey struct {
	db   *Database
	ts   *txn.TableState
	asOf *txn.Snapshot
}

// table returns the go-mysql-server view of a table, building it once per
// table state (a copy, so that callers may change it).
func (d *dbState) table(ctx *sql.Context, db *Database, ts *txn.TableState, asOf *txn.Snapshot) (*Table, error) {
	k := tableKey{db: db, ts: ts, asOf: asOf}
	d.mu.Lock()
	t := d.tables[k]
	d.mu.Unlock()
	if t == nil {
		var err error
		if t, err = newTable(ctx, db, ts.Meta, asOf); err != nil {
			return nil, err
		}
		d.mu.Lock()
		if d.tables == nil || len(d.tables) > 1024 {
			d.tables = map[tableKey]*Table{}
		}
		d.tables[k] = t
		d.mu.Unlock()
	}
	c := *t
	return &c, nil
}

// writerState is a branch's writer, or why this process is not it.
type writerState struct {
	b     *memwal.Branch
	err   error // the lease is held elsewhere
	tried time.Time
}

// leaseRetry is how long a process that found a branch's lease held waits
// before it tries to take it again.
const leaseRetry = 2 * time.Second

func newDBState(p *Provider, name string, db *txn.DB) *dbState {
	reader := scan.NewReader(p.cfg.Store, name, scan.Options{Virtual: &virtualOpener{db: db, res: p.cfg.External}, PageCacheBytes: p.cfg.PageCacheBytes})
	return &dbState{p: p, name: name, db: db, reader: reader, writers: map[string]*writerState{}}
}

func (d *dbState) closed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.isClosed
}

// checkBranch returns ErrDatabaseNotFound (1049) for a branch that does
// not exist.
func (d *dbState) checkBranch(ctx context.Context, branch string) error {
	if _, err := d.db.Branch(ctx, branch); err != nil {
		var nf *txn.NotFoundError
		if errors.As(err, &nf) {
			if m, err := d.db.RefreshMeta(ctx); err == nil && m.Branch(branch) != nil {
				return nil
			}
			return sql.ErrDatabaseNotFound.New(d.name + "/" + branch)
		}
		return err
	}
	return nil
}

// writer returns the branch's writer, opening it (taking the lease) on
// first use. When another process holds the lease it returns an error
// naming the holder, and tries again after leaseRetry.
func (d *dbState) writer(ctx context.Context, branch string) (*memwal.Branch, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.isClosed {
		return nil, fmt.Errorf("database %q was dropped", d.name)
	}
	ws := d.writers[branch]
	if ws != nil && ws.b != nil {
		return ws.b, nil
	}
	if ws != nil && time.Since(ws.tried) < leaseRetry {
		return nil, ws.err
	}
	opts := d.p.cfg.Writer
	opts.Reader = d.reader
	b, err := memwal.Open(ctx, d.db, branch, opts)
	if err != nil {
		err = &notWriterError{db: d.name, branch: branch, err: err}
		d.writers[branch] = &writerState{err: err, tried: time.Now()}
		return nil, err
	}
	d.p.log.Info("branch writer opened", "database", d.name, "branch", branch, "epoch", b.Epoch())
	d.writers[branch] = &writerState{b: b}
	return b, nil
}

// heldWriter returns the branch's writer if this process already holds it.
func (d *dbState) heldWriter(branch string) *memwal.Branch {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ws := d.writers[branch]; ws != nil {
		return ws.b
	}
	return nil
}

// dropWriter closes the branch's writer (a deleted branch).
func (d *dbState) dropWriter(ctx context.Context, branch string) {
	d.mu.Lock()
	ws := d.writers[branch]
	delete(d.writers, branch)
	d.mu.Unlock()
	if ws != nil && ws.b != nil {
		ws.b.Abandon()
	}
}

func (d *dbState) close(ctx context.Context) error {
	d.mu.Lock()
	d.isClosed = true
	ws := d.writers
	d.writers = map[string]*writerState{}
	d.mu.Unlock()
	var errs []error
	for name, w := range ws {
		if w.b != nil {
			if err := w.b.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("close branch %s/%s: %w", d.name, name, err))
			}
		}
	}
	errs = append(errs, d.reader.Close(), d.db.Close())
	return errors.Join(errs...)
}

// notWriterError: this process does not hold the branch's writer lease.
type notWriterError struct {
	db, branch string
	err        error
}

func (e *notWriterError) Error() string {
	return fmt.Sprintf("branch %s of database %s is read-only here: %v; write through the process that holds it", e.branch, e.db, e.err)
}

func (e *notWriterError) Unwrap() error { return e.err }
