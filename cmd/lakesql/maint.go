package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	lsql "github.com/lakesql/lakesql/sql"
	"github.com/lakesql/lakesql/txn"
)

// The operators' commands: the same operations as the SQL system tables
// and procedures, run through the embedded engine (vacuum through the
// commit log directly, for --force).

const logUsage = `Usage: lakesql log [flags] db

Lists the versions of a branch of a database: the system table
lakesql_log (version, branch, committed_at, operation, message, user).

Examples:
  lakesql log --data ./lakesql-data shop
  lakesql log --branch what-if --format json shop
`

const branchesUsage = `Usage: lakesql branches [flags] db

Lists the branches of a database: the system table lakesql_branches (name,
head_version, from_branch, from_version, created_at).

Example:
  lakesql branches --data ./lakesql-data shop
`

const tagsUsage = `Usage: lakesql tags [flags] db

Lists the tags of a database: the system table lakesql_tags (name, branch,
version, created_at).

Example:
  lakesql tags --data ./lakesql-data shop
`

const compactUsage = `Usage: lakesql compact [flags] db

Runs the merge job once on a branch, as CALL lakesql_compact([table]):
files whose deletion vectors hide much of them are rewritten, overlapping
flushed files merged and piles of small files compacted, so that scans and
key lookups read fewer files. It preserves data (no version) and needs the
branch's writer lease: while a server holds it, compact fails naming that
server (run CALL lakesql_compact() through it instead; a server also runs
the merge job by itself after its flushes).

Examples:
  lakesql compact --data ./lakesql-data shop
  lakesql compact --branch what-if --table stock shop
`

const checkpointUsage = `Usage: lakesql checkpoint [flags] db

Writes a checkpoint of a branch's newest log entry now, as CALL
lakesql_checkpoint(), so that opening the branch reads one checkpoint
instead of many entries. Any process may write one, also while a server
runs.

Example:
  lakesql checkpoint --data ./lakesql-data --branch main shop
`

const vacuumUsage = `Usage: lakesql vacuum [flags] db

Deletes what no retained version needs any more, as CALL
lakesql_vacuum(retain_hours, dry_run): data and deletion-vector files
removed (or written and never committed) longer ago than the retention,
log entries before the retained versions (after writing a checkpoint at
the cutoff), and the WAL of deleted branches. Retained are every branch
head and tag, every version inside the retention window, and the newest
version before it on each branch: AS OF older versions stops working.

It may run while a server runs. A retention under one hour needs --force:
readers of recent versions could lose their files. --dry-run lists what
would be deleted and deletes nothing.

Examples:
  lakesql vacuum --data ./lakesql-data --dry-run shop
  lakesql vacuum --retain 720h shop                 # keep 30 days of versions
  lakesql vacuum --retain 0 --force shop            # keep only the newest versions
`

// listCmd runs a system table query: log, branches, tags.
func listCmd(name, usage, query string, withBranch bool, args []string, cio cmdIO) int {
	c := newCommand(name, usage, true, cio)
	branch, format := "main", formatTable
	if withBranch {
		c.fs.StringVar(&branch, "branch", "main", "the branch")
	}
	c.fs.StringVar(&format, "format", formatTable, "output: table, csv, tsv or json")
	pos, code, ok := c.parse(args, 1, 1)
	if !ok {
		return code
	}
	if !validFormat(format) {
		return c.usageError("--format %q: want table, csv, tsv or json", format)
	}
	return c.embedded(pos[0], branch, func(ctx context.Context, conn *lsql.Conn) error {
		res, err := conn.Query(ctx, query)
		if err != nil {
			return errors.New(sqlError(err))
		}
		return newPrinter(cio.stdout, format).print(res)
	})
}

// embedded runs fn in a session on db's branch, checking that both exist.
func (c *command) embedded(db, branch string, fn func(ctx context.Context, conn *lsql.Conn) error) int {
	log, err := c.logger()
	if err != nil {
		return c.usageError("%v", err)
	}
	if d, b, ok := strings.Cut(db, "/"); ok { // db/branch, as SQL names it
		if branch != "main" && branch != b {
			return c.usageError("%s names branch %s, --branch %s", db, b, branch)
		}
		db, branch = d, b
	}
	if err := c.requireData(); err != nil {
		return c.fail(err)
	}
	ctx, stop := signalContext()
	defer stop()
	e, err := c.openEngine(ctx, log)
	if err != nil {
		return c.fail(err)
	}
	conn := e.Connect("root", dbName(db, branch))
	defer conn.Close()
	if _, err := conn.Query(ctx, "SHOW TABLES"); err != nil {
		if lsql.ErrorCode(err) == 1049 {
			err = fmt.Errorf("database %s does not exist", db)
			if branch != "main" {
				err = fmt.Errorf("database %s does not exist or has no branch %s", db, branch)
			}
		}
		return c.closeEngine(ctx, e, c.fail(err))
	}
	if err := fn(ctx, conn); err != nil {
		return c.closeEngine(ctx, e, c.fail(err))
	}
	return c.closeEngine(ctx, e, exitOK)
}

func logCmd(args []string, cio cmdIO) int {
	return listCmd("log", logUsage, "SELECT * FROM lakesql_log", true, args, cio)
}

func branchesCmd(args []string, cio cmdIO) int {
	return listCmd("branches", branchesUsage, "SELECT * FROM lakesql_branches", false, args, cio)
}

func tagsCmd(args []string, cio cmdIO) int {
	return listCmd("tags", tagsUsage, "SELECT * FROM lakesql_tags", false, args, cio)
}

func compactCmd(args []string, cio cmdIO) int {
	c := newCommand("compact", compactUsage, true, cio)
	var branch, table string
	c.fs.StringVar(&branch, "branch", "main", "the branch")
	c.fs.StringVar(&table, "table", "", "compact only this table (default: every table)")
	pos, code, ok := c.parse(args, 1, 1)
	if !ok {
		return code
	}
	return c.embedded(pos[0], branch, func(ctx context.Context, conn *lsql.Conn) error {
		q := "CALL lakesql_compact()"
		if table != "" {
			q = "CALL lakesql_compact(" + quoteString(table) + ")"
		}
		start := time.Now()
		res, err := conn.Query(ctx, q)
		if err != nil {
			return writerHint(err, "CALL lakesql_compact()")
		}
		fmt.Fprintf(cio.stdout, "%v merges committed in %.2f s\n", firstValue(res), time.Since(start).Seconds())
		return nil
	})
}

func checkpointCmd(args []string, cio cmdIO) int {
	c := newCommand("checkpoint", checkpointUsage, true, cio)
	var branch string
	c.fs.StringVar(&branch, "branch", "main", "the branch")
	pos, code, ok := c.parse(args, 1, 1)
	if !ok {
		return code
	}
	return c.embedded(pos[0], branch, func(ctx context.Context, conn *lsql.Conn) error {
		res, err := conn.Query(ctx, "CALL lakesql_checkpoint()")
		if err != nil {
			return errors.New(sqlError(err))
		}
		fmt.Fprintf(cio.stdout, "checkpoint written at entry %v of branch %s\n", firstValue(res), branch)
		return nil
	})
}

// writerHint adds to an error of a command that needs the writer lease what
// to do when a server holds it.
func writerHint(err error, call string) error {
	msg := sqlError(err)
	if strings.Contains(err.Error(), "written by") {
		msg += "\n(a server holds the branch's writer lease: run " + call + " through it)"
	}
	return errors.New(msg)
}

func firstValue(res *lsql.Result) any {
	if len(res.Rows) == 0 || len(res.Rows[0]) == 0 {
		return "?"
	}
	return res.Rows[0][0]
}

func vacuumCmd(args []string, cio cmdIO) int {
	c := newCommand("vacuum", vacuumUsage, true, cio)
	var retain time.Duration
	var dryRun, force bool
	format := formatTable
	c.fs.DurationVar(&retain, "retain", 0, "keep versions this far back, e.g. 168h (default: the database's retention, 7 days)")
	c.fs.BoolVar(&dryRun, "dry-run", false, "list what would be deleted, delete nothing")
	c.fs.BoolVar(&force, "force", false, "allow a retention under one hour")
	c.fs.StringVar(&format, "format", formatTable, "output of the dry-run listing: table, csv, tsv or json")
	pos, code, ok := c.parse(args, 1, 1)
	if !ok {
		return code
	}
	if !validFormat(format) {
		return c.usageError("--format %q: want table, csv, tsv or json", format)
	}
	if retain < 0 {
		return c.usageError("--retain %s: must not be negative", retain)
	}
	if flagSet(c, "retain") && retain < time.Hour && !force {
		return c.usageError("--retain %s is under one hour: readers of recent versions could lose their files; add --force to go ahead", retain)
	}
	if retain == 0 && flagSet(c, "retain") {
		retain = time.Nanosecond // "keep nothing but the retained heads"; 0 would mean the default
	}
	db, _, _ := strings.Cut(pos[0], "/")
	return c.embedded(db, "main", func(ctx context.Context, conn *lsql.Conn) error {
		log, _ := c.logger()
		tdb, err := txn.Open(ctx, c.st, strings.ToLower(db), txn.Options{Logger: log})
		if err != nil {
			return err
		}
		defer tdb.Close()
		pr := newStageProgress(cio)
		start := time.Now()
		rep, err := tdb.Vacuum(ctx, txn.VacuumOptions{Retention: retain, Force: force, DryRun: dryRun, Progress: pr.report})
		pr.done()
		if err != nil {
			return err
		}
		took := time.Since(start).Seconds()
		if dryRun {
			res := &lsql.Result{Columns: []lsql.Column{{Name: "path", Kind: 'T'}, {Name: "bytes", Kind: 'I'}, {Name: "reason", Kind: 'T'}}}
			for _, f := range rep.Files {
				res.Rows = append(res.Rows, []any{f.Path, f.Bytes, f.Reason})
			}
			for _, o := range rep.LogObjects {
				res.Rows = append(res.Rows, []any{o, nil, "log before the retained versions"})
			}
			if err := newPrinter(cio.stdout, format).print(res); err != nil {
				return err
			}
			if format == formatTable {
				fmt.Fprintf(cio.stdout, "dry run: would delete %d files (%s) and %d log objects; versions before %s would stop being readable\n",
					len(rep.Files), formatBytes(rep.Bytes), len(rep.LogObjects), rep.Cutoff.UTC().Format(time.RFC3339))
			}
			return nil
		}
		fmt.Fprintf(cio.stdout, "deleted %d files (%s) and %d log objects, kept %d data objects, in %.2f s; versions before %s are no longer readable\n",
			len(rep.Files), formatBytes(rep.Bytes), len(rep.LogObjects), rep.Kept, took, rep.Cutoff.UTC().Format(time.RFC3339))
		return nil
	})
}

// stageProgress shows a vacuum's stages: a line per stage on standard
// error, and a bar for stages with a known size when it is a terminal.
type stageProgress struct {
	cio   cmdIO
	stage string
	bar   *progressbar.ProgressBar
	tty   bool
}

func newStageProgress(cio cmdIO) *stageProgress {
	return &stageProgress{cio: cio, tty: isTerminal(cio.stderr)}
}

func (p *stageProgress) report(stage string, done, total int) {
	if stage != p.stage {
		p.finishBar()
		p.stage = stage
		if stage == "done" {
			return
		}
		if !p.tty || total <= 0 {
			fmt.Fprintf(p.cio.stderr, "vacuum: %s\n", stage)
		}
		if p.tty && total > 0 {
			p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.cio.stderr),
				progressbar.OptionSetDescription("vacuum: "+stage), progressbar.OptionShowCount(),
				progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionSetWidth(30))
		}
	}
	if p.bar != nil {
		p.bar.Set(done)
	}
}

func (p *stageProgress) finishBar() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.cio.stderr)
		p.bar = nil
	}
}

func (p *stageProgress) done() { p.finishBar() }
