// Command lakesql is the command line of lakesql: the MySQL-wire server,
// embedded queries, imports and maintenance commands.
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
  serve     start the MySQL-wire server
  version   print the version
  help      show this help

Run 'lakesql <command> --help' for a command's flags and an example.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

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
	case "version", "--version":
		fmt.Fprintf(stdout, "lakesql %s\n", version)
		return 0
	case "serve":
		return serve(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "lakesql: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
