package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	lsql "github.com/lakesql/lakesql/sql"
)

const sqlUsage = `Usage: lakesql sql [flags]

Runs SQL statements in this process, without a server, over a data
location, and prints their results. Statements come from -q (several may
be separated by ';') or, without -q, from standard input. The first
failing statement stops the run: it prints "ERROR <code>: <message>" (the
MySQL error number) and exits with status 1.

Writes take the branch's writer lease; while a server holds it, they fail
naming the server, and queries read the newest version.

Examples:
  lakesql sql --data ./lakesql-data -q "CREATE DATABASE shop"
  lakesql sql --db shop -q "SELECT * FROM stock AS OF 2; SELECT * FROM lakesql_log"
  lakesql sql --db shop/what-if --format csv -q "SELECT * FROM stock" > stock.csv
  lakesql sql --db shop < script.sql
`

func sqlCmd(args []string, cio cmdIO) int {
	c := newCommand("sql", sqlUsage, true, cio)
	var query, db, format string
	c.fs.StringVar(&query, "q", "", "statements to run, separated by ';' (default: read them from standard input)")
	c.fs.StringVar(&db, "db", "", "the session's database; db/branch for another branch than main")
	c.fs.StringVar(&format, "format", formatTable, "output: table, csv, tsv or json")
	if _, code, ok := c.parse(args, 0, 0); !ok {
		return code
	}
	if !validFormat(format) {
		return c.usageError("--format %q: want table, csv, tsv or json", format)
	}
	log, err := c.logger()
	if err != nil {
		return c.usageError("%v", err)
	}
	var src io.Reader = cio.stdin
	if flagSet(c, "q") {
		src = strings.NewReader(query)
	}
	ctx, stop := signalContext()
	defer stop()
	e, err := c.openEngine(ctx, log)
	if err != nil {
		return c.fail(err)
	}
	code := runStatements(ctx, e, db, src, newPrinter(cio.stdout, format), cio.stderr)
	return c.closeEngine(ctx, e, code)
}

// flagSet reports whether a flag was given on the command line.
func flagSet(c *command, name string) bool {
	set := false
	c.fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// runStatements runs the statements of src one by one in one session,
// printing each result; it stops at the first error.
func runStatements(ctx context.Context, e *lsql.Embedded, db string, src io.Reader, p *printer, stderr io.Writer) int {
	conn := e.Connect("root", db)
	defer conn.Close()
	sp := newSplitter(src)
	for {
		q, line, err := sp.next()
		if err == io.EOF {
			return exitOK
		}
		if err != nil {
			p.flush()
			fmt.Fprintf(stderr, "lakesql sql: reading statements: %v\n", err)
			return exitError
		}
		res, err := conn.Query(ctx, q)
		if err != nil {
			p.flush()
			fmt.Fprintf(stderr, "%s\n", sqlError(err))
			if line > 0 {
				fmt.Fprintf(stderr, "(in the statement starting on line %d: %s)\n", line, abbreviate(q, 80))
			}
			return exitError
		}
		if err := p.print(res); err != nil {
			fmt.Fprintf(stderr, "lakesql sql: writing results: %v\n", err)
			return exitError
		}
	}
}

// abbreviate shortens s to n characters on one line.
func abbreviate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-3]) + "..."
	}
	return s
}
