package sql

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/lakesql/lakesql/memwal"
	"github.com/lakesql/lakesql/mergeplan"
	"github.com/lakesql/lakesql/txn"
)

// The procedures of DESIGN.md section 1. Those that create a version, and
// lakesql_branch / lakesql_tag, first commit the session's open
// transaction, as dolt_commit does.

var procedures = func() sql.ExternalStoredProcedureRegistry {
	r := sql.NewExternalStoredProcedureRegistry()
	version := sql.Schema{{Name: "version", Type: types.Int64}}
	reg := func(name string, schema sql.Schema, readOnly bool, fns ...any) {
		for _, fn := range fns {
			r.Register(sql.ExternalStoredProcedureDetails{Name: name, Schema: schema, Function: fn, ReadOnly: readOnly})
		}
	}
	reg("lakesql_commit", version, false, procCommit0, procCommit)
	reg("lakesql_branch", version, false, procBranch, procBranchAt)
	reg("lakesql_branch_delete", sql.Schema{{Name: "status", Type: types.Int64}}, false, procBranchDelete)
	reg("lakesql_tag", version, false, procTag, procTagAt)
	reg("lakesql_tag_delete", sql.Schema{{Name: "status", Type: types.Int64}}, false, procTagDelete)
	reg("lakesql_flush", sql.Schema{{Name: "entry", Type: types.Int64}}, false, procFlush)
	reg("lakesql_compact", sql.Schema{{Name: "merges", Type: types.Int64}}, false, procCompact0, procCompact)
	reg("lakesql_checkpoint", sql.Schema{{Name: "entry", Type: types.Int64}}, false, procCheckpoint)
	reg("lakesql_vacuum", sql.Schema{
		{Name: "dry_run", Type: types.Boolean},
		{Name: "files", Type: types.Int64},
		{Name: "bytes", Type: types.Int64},
		{Name: "log_objects", Type: types.Int64},
		{Name: "cutoff", Type: types.MustCreateDatetimeType(sqltypesDatetime, 6)},
	}, false, procVacuum0, procVacuum1, procVacuum2)
	return r
}()

// ExternalStoredProcedure implements sql.ExternalStoredProcedureProvider.
func (p *Provider) ExternalStoredProcedure(ctx *sql.Context, name string, n int) (*sql.ExternalStoredProcedureDetails, error) {
	return procedures.LookupByNameAndParamCount(name, n)
}

// ExternalStoredProcedures implements sql.ExternalStoredProcedureProvider.
func (p *Provider) ExternalStoredProcedures(ctx *sql.Context, name string) ([]sql.ExternalStoredProcedureDetails, error) {
	return procedures.LookupByName(name)
}

// current returns the session's database (its branch) for a procedure.
func current(ctx *sql.Context) (*Session, *Database, error) {
	s, err := sessionOf(ctx)
	if err != nil {
		return nil, nil, err
	}
	name := ctx.GetCurrentDatabase()
	if name == "" {
		return nil, nil, sql.ErrNoDatabaseSelected.New()
	}
	d, err := s.p.database(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	return s, d, nil
}

// commitOpen commits the session's open transaction.
func (s *Session) commitOpen(ctx *sql.Context) error {
	if t, ok := ctx.GetTransaction().(*Transaction); ok && t != nil {
		return s.commit(ctx, t)
	}
	return nil
}

func rows(vals ...any) (sql.RowIter, error) {
	return sql.RowsToRowIter(sql.NewRow(vals...)), nil
}

func procCommit0(ctx *sql.Context) (sql.RowIter, error) { return procCommit(ctx, "") }

func procCommit(ctx *sql.Context, message string) (sql.RowIter, error) {
	s, d, err := current(ctx)
	if err != nil {
		return nil, err
	}
	v, err := d.commitVersion(ctx, s, message)
	if err != nil {
		return nil, err
	}
	return rows(v)
}

// commitVersion commits the session's transaction and makes a version of
// the branch's pending writes (none pending: the newest version).
func (d *Database) commitVersion(ctx *sql.Context, s *Session, message string) (int64, error) {
	if err := s.commitOpen(ctx); err != nil {
		return 0, err
	}
	w, err := d.st.writer(ctx, d.branch)
	if err != nil {
		return 0, translate(err)
	}
	snap, err := w.CommitVersion(ctx, message, userOf(ctx))
	if err != nil {
		return 0, translate(err)
	}
	d.p.log.Info("version committed", "database", d.st.name, "branch", d.branch, "version", snap.Version())
	return snap.Version(), nil
}

// newestVersion is the version a branch or tag without a ref forks: the
// session branch's pending writes committed first, in the process that
// holds its writer; elsewhere the branch's newest version.
func (d *Database) newestVersion(ctx *sql.Context, s *Session) (branch string, v int64, err error) {
	if w := d.st.heldWriter(d.branch); w != nil {
		v, err := d.commitVersion(ctx, s, "")
		return d.branch, v, err
	}
	if _, err := d.st.writer(ctx, d.branch); err == nil {
		v, err := d.commitVersion(ctx, s, "")
		return d.branch, v, err
	}
	h, err := d.st.db.RefreshHead(ctx, d.branch)
	if err != nil {
		return "", 0, translate(err)
	}
	return d.branch, h.Version(), nil
}

// refVersion resolves a procedure's ref argument to a branch and version.
func (d *Database) refVersion(ctx *sql.Context, s *Session, ref string) (string, int64, error) {
	if err := s.commitOpen(ctx); err != nil {
		return "", 0, err
	}
	snap, err := d.resolveAsOf(ctx, ref)
	if err != nil {
		return "", 0, err
	}
	return snap.Branch.Name, snap.Version(), nil
}

func procBranch(ctx *sql.Context, name string) (sql.RowIter, error) {
	return branchProc(ctx, name, nil)
}

func procBranchAt(ctx *sql.Context, name, ref string) (sql.RowIter, error) {
	return branchProc(ctx, name, &ref)
}

func branchProc(ctx *sql.Context, name string, ref *string) (sql.RowIter, error) {
	s, d, err := current(ctx)
	if err != nil {
		return nil, err
	}
	var from string
	var v int64
	if ref == nil {
		from, v, err = d.newestVersion(ctx, s)
	} else {
		from, v, err = d.refVersion(ctx, s, *ref)
	}
	if err != nil {
		return nil, err
	}
	if _, err := d.st.db.CreateBranch(ctx, name, from, v); err != nil {
		return nil, procError("lakesql_branch", err)
	}
	d.p.log.Info("branch created", "database", d.st.name, "branch", name, "from", from, "version", v)
	return rows(v)
}

func procBranchDelete(ctx *sql.Context, name string) (sql.RowIter, error) {
	s, d, err := current(ctx)
	if err != nil {
		return nil, err
	}
	if name == txn.MainBranch {
		return nil, fmt.Errorf("lakesql_branch_delete: the main branch cannot be deleted")
	}
	if err := s.commitOpen(ctx); err != nil {
		return nil, err
	}
	if err := d.st.db.DeleteBranch(ctx, name); err != nil {
		return nil, procError("lakesql_branch_delete", err)
	}
	d.st.dropWriter(ctx, name)
	d.p.forget(d.st.name + "/" + name)
	d.p.log.Info("branch deleted", "database", d.st.name, "branch", name)
	return rows(int64(0))
}

func procTag(ctx *sql.Context, name string) (sql.RowIter, error) { return tagProc(ctx, name, nil) }

func procTagAt(ctx *sql.Context, name, ref string) (sql.RowIter, error) {
	return tagProc(ctx, name, &ref)
}

func tagProc(ctx *sql.Context, name string, ref *string) (sql.RowIter, error) {
	s, d, err := current(ctx)
	if err != nil {
		return nil, err
	}
	var branch string
	var v int64
	if ref == nil {
		branch, v, err = d.newestVersion(ctx, s)
	} else {
		branch, v, err = d.refVersion(ctx, s, *ref)
	}
	if err != nil {
		return nil, err
	}
	if _, err := d.st.db.CreateTag(ctx, name, branch, v); err != nil {
		return nil, procError("lakesql_tag", err)
	}
	d.p.log.Info("tag created", "database", d.st.name, "tag", name, "branch", branch, "version", v)
	return rows(v)
}

func procTagDelete(ctx *sql.Context, name string) (sql.RowIter, error) {
	_, d, err := current(ctx)
	if err != nil {
		return nil, err
	}
	if err := d.st.db.DeleteTag(ctx, name); err != nil {
		return nil, procError("lakesql_tag_delete", err)
	}
	return rows(int64(0))
}

// committedWriter commits the session's open transaction and returns the
// session's database and its branch writer, for a procedure that writes.
func committedWriter(ctx *sql.Context) (*Database, *memwal.Branch, error) {
	s, d, err := current(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := s.commitOpen(ctx); err != nil {
		return nil, nil, err
	}
	w, err := d.st.writer(ctx, d.branch)
	if err != nil {
		return nil, nil, translate(err)
	}
	return d, w, nil
}

func procFlush(ctx *sql.Context) (sql.RowIter, error) {
	_, w, err := committedWriter(ctx)
	if err != nil {
		return nil, err
	}
	if err := w.Flush(ctx); err != nil {
		return nil, translate(err)
	}
	return rows(w.Head().Entry())
}

func procCompact0(ctx *sql.Context) (sql.RowIter, error) { return procCompact(ctx, "") }

func procCompact(ctx *sql.Context, table string) (sql.RowIter, error) {
	_, d, err := current(ctx)
	if err != nil {
		return nil, err
	}
	w, err := d.st.writer(ctx, d.branch)
	if err != nil {
		return nil, translate(err)
	}
	id := ""
	if table != "" {
		ts := findTable(w.Head().State, table)
		if ts == nil {
			return nil, sql.ErrTableNotFound.New(table)
		}
		id = ts.Meta.ID
	}
	n, err := w.Compact(ctx, id, mergeplan.MergeOptions{})
	if err != nil {
		return nil, translate(err)
	}
	d.p.log.Info("compacted", "database", d.st.name, "branch", d.branch, "table", table, "merges", n)
	return rows(int64(n))
}

func procCheckpoint(ctx *sql.Context) (sql.RowIter, error) {
	_, d, err := current(ctx)
	if err != nil {
		return nil, err
	}
	if w := d.st.heldWriter(d.branch); w != nil {
		// Make the checkpoint cover everything acknowledged.
		if err := w.Flush(ctx); err != nil {
			return nil, translate(err)
		}
	}
	n, err := d.st.db.Checkpoint(ctx, d.branch)
	if err != nil {
		return nil, translate(err)
	}
	return rows(n)
}

func procVacuum0(ctx *sql.Context) (sql.RowIter, error) { return vacuum(ctx, "", false) }

func procVacuum1(ctx *sql.Context, hours string) (sql.RowIter, error) {
	return vacuum(ctx, hours, false)
}

func procVacuum2(ctx *sql.Context, hours string, dryRun bool) (sql.RowIter, error) {
	return vacuum(ctx, hours, dryRun)
}

func vacuum(ctx *sql.Context, hours string, dryRun bool) (sql.RowIter, error) {
	_, d, err := current(ctx)
	if err != nil {
		return nil, err
	}
	o := txn.VacuumOptions{DryRun: dryRun}
	if hours = strings.TrimSpace(hours); hours != "" {
		h, err := strconv.ParseFloat(hours, 64)
		if err != nil || h < 0 {
			return nil, fmt.Errorf("lakesql_vacuum: retain_hours must be a number of hours, not %q", hours)
		}
		o.Retention = time.Duration(h * float64(time.Hour))
		if o.Retention < time.Hour {
			return nil, fmt.Errorf("lakesql_vacuum: a retention under one hour (%s) would break readers of recent versions; use `lakesql vacuum --force` from the command line", o.Retention)
		}
	}
	start := time.Now()
	rep, err := d.st.db.Vacuum(ctx, o)
	if err != nil {
		return nil, translate(err)
	}
	d.p.log.Info("vacuum", "database", d.st.name, "dry_run", rep.DryRun, "files", len(rep.Files), "bytes", rep.Bytes,
		"log_objects", len(rep.LogObjects), "took", time.Since(start).Round(time.Millisecond))
	return rows(boolInt(rep.DryRun), int64(len(rep.Files)), rep.Bytes, int64(len(rep.LogObjects)), rep.Cutoff.UTC())
}

func boolInt(b bool) int8 {
	if b {
		return 1
	}
	return 0
}

// procError words a procedure's failure.
func procError(proc string, err error) error {
	return translate(fmt.Errorf("%s: %w", proc, err))
}

// forget drops a cached revision database (a deleted branch).
func (p *Provider) forget(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.revs, strings.ToLower(name))
}
