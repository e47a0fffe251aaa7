package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"golang.org/x/term"

	lsql "github.com/lakesql/lakesql/sql"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/storeuri"
)

// Exit statuses of every command.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // bad flags or arguments
)

// cmdIO is what a command reads and writes.
type cmdIO struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command is the flag set of one subcommand, with the flags every
// command that opens a data location shares.
type command struct {
	name     string
	fs       *flag.FlagSet
	data     string
	logLevel string
	io       cmdIO
	// st is the data location openEngine opened; closeEngine closes it.
	st store.Store
}

// newCommand returns a command whose --help prints usage (which explains
// it with an example) and the flags. withData adds --data and --log-level.
func newCommand(name, usage string, withData bool, cio cmdIO) *command {
	c := &command{name: name, fs: flag.NewFlagSet(name, flag.ContinueOnError), io: cio}
	c.fs.SetOutput(cio.stderr)
	if withData {
		c.fs.StringVar(&c.data, "data", "./lakesql-data", "data location: a directory, file://..., s3://bucket/prefix?endpoint=... or mem://name")
		c.fs.StringVar(&c.logLevel, "log-level", "warn", "debug, info, warn or error (logs go to standard error)")
	}
	c.fs.Usage = func() {
		fmt.Fprint(cio.stderr, usage)
		fmt.Fprintln(cio.stderr, "\nFlags:")
		c.fs.PrintDefaults()
	}
	return c
}

// parse parses args, allowing flags after positional arguments
// (`lakesql import shop.t f.csv --header`); "--" ends the flags. It
// returns the positional arguments, or the exit status to return: 0 for
// --help, 2 for a usage error.
func (c *command) parse(args []string, minPos, maxPos int) ([]string, int, bool) {
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		rest := c.fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) < minPos || len(pos) > maxPos {
		want := fmt.Sprintf("%d", minPos)
		if maxPos != minPos {
			want = fmt.Sprintf("%d to %d", minPos, maxPos)
		}
		return nil, c.usageError("want %s arguments, got %d (%s)", want, len(pos), strings.Join(pos, " ")), false
	}
	return pos, exitOK, true
}

// usageError prints a usage error and returns exit status 2.
func (c *command) usageError(format string, args ...any) int {
	fmt.Fprintf(c.io.stderr, "lakesql %s: %s\nRun 'lakesql %s --help' for usage.\n", c.name, fmt.Sprintf(format, args...), c.name)
	return exitUsage
}

// fail prints an error and returns exit status 1.
func (c *command) fail(err error) int {
	fmt.Fprintf(c.io.stderr, "lakesql %s: %s\n", c.name, c.redacted(err.Error()))
	return exitError
}

// redacted hides the data location's credentials in a message.
func (c *command) redacted(s string) string {
	if c.data != "" && c.data != redact(c.data) {
		s = strings.ReplaceAll(s, c.data, redact(c.data))
	}
	return s
}

// logger returns the command's logger (standard error, --log-level).
func (c *command) logger() (*slog.Logger, error) {
	return newLogger(c.io.stderr, c.logLevel)
}

// openEngine opens the data location and an embedded engine over it.
// The caller closes the engine (flushing and releasing any writer lease).
func (c *command) openEngine(ctx context.Context, log *slog.Logger) (*lsql.Embedded, error) {
	st, err := storeuri.Open(ctx, c.data)
	if err != nil {
		return nil, fmt.Errorf("open data location %s: %s", redact(c.data), c.redacted(err.Error()))
	}
	log.Debug("data location opened", "data", redact(c.data))
	c.st = st
	return lsql.NewEmbedded(lsql.Config{Store: st, Logger: log, External: externalResolver(ctx, c.data, nil)}), nil
}

// requireData fails when the data location is a local directory that does
// not exist: commands that read or maintain existing databases should not
// create an empty location on a typo.
func (c *command) requireData() error {
	dir := c.data
	if strings.Contains(dir, "://") {
		var ok bool
		if dir, ok = strings.CutPrefix(dir, "file://"); !ok {
			return nil // another store: opening it tells
		}
	}
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("data location %s does not exist", dir)
	}
	return nil
}

// closeEngine closes the engine (flushing and releasing any writer lease)
// and the data location, reporting a failure.
func (c *command) closeEngine(ctx context.Context, e *lsql.Embedded, code int) int {
	err := e.Close(context.WithoutCancel(ctx))
	err = errors.Join(err, c.st.Close())
	if err != nil {
		fmt.Fprintf(c.io.stderr, "lakesql %s: closing: %s\n", c.name, c.redacted(err.Error()))
		return exitError
	}
	return code
}

// signalContext is cancelled by SIGINT or SIGTERM: a command stops
// cleanly (an import commits nothing).
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// isTerminal reports whether w is a terminal (progress bars go only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// sqlError words an engine error as the mysql client does.
func sqlError(err error) string {
	return fmt.Sprintf("ERROR %d: %s", lsql.ErrorCode(err), errnoSuffix.ReplaceAllString(err.Error(), ""))
}

// errnoSuffix is what a MySQL error's text repeats of its number.
var errnoSuffix = regexp.MustCompile(` \(errno \d+\) \(sqlstate \w+\)$`)

// quoteIdent quotes a SQL identifier.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// quoteString quotes a SQL string literal.
func quoteString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

// dbName is a database's name for a connection: "db" for main,
// "db/branch" otherwise.
func dbName(db, branch string) string {
	if branch == "" || branch == "main" {
		return db
	}
	return db + "/" + branch
}
