// Command lakesql is the command line of lakesql: the MySQL-wire server,
// embedded queries, imports and maintenance commands.
//
// The SQL server arrives with the SQL front end; until then the command
// explains what it will do and exits with status 2.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `lakesql: a versioned, branchable, SQL-queryable table store

Usage:
  lakesql <command> [flags]

Commands:
  serve     start the MySQL-wire server (not available yet: it arrives with the SQL front end)
  help      show this help
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "serve":
		fmt.Fprintln(stderr, "lakesql serve: the SQL server is not built yet in this version")
		return 2
	default:
		fmt.Fprintf(stderr, "lakesql: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
