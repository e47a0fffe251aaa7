package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

const usage = `lakesql: a versioned, branchable, SQL-queryable table store

Usage:
  lakesql <command> [flags]

Commands:
  serve       start the MySQL-wire server
  sql         run SQL statements in this process, without a server
  import      load a CSV or Parquet file into a table as one version
  log         list the versions of a branch
  branches    list the branches of a database
  tags        list the tags of a database
  compact     merge a branch's data files (needs the writer lease)
  checkpoint  write a checkpoint of a branch's log
  vacuum      delete files and log entries no retained version needs
  version     print the version
  help        show this help

Exit status: 0 on success, 1 when the command fails, 2 on a usage error.

Run 'lakesql <command> --help' for a command's flags and an example.
`

const versionUsage = `Usage: lakesql version

Prints the version of this lakesql build.

Example:
  lakesql version
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(profiled(func() int { return run(os.Args[1:], os.Stdout, os.Stderr) }))
}

// profiled runs f, writing a CPU profile of it to the file named by
// LAKESQL_CPUPROFILE when that is set (for developers: `go tool pprof`).
func profiled(f func() int) int {
	name := os.Getenv("LAKESQL_CPUPROFILE")
	if name == "" {
		return f()
	}
	out, err := os.Create(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lakesql: LAKESQL_CPUPROFILE:", err)
		return 1
	}
	defer out.Close()
	if err := pprof.StartCPUProfile(out); err != nil {
		fmt.Fprintln(os.Stderr, "lakesql: LAKESQL_CPUPROFILE:", err)
		return 1
	}
	defer pprof.StopCPUProfile()
	return f()
}

func run(args []string, stdout, stderr io.Writer) int {
	return runIO(args, os.Stdin, stdout, stderr)
}

// runIO runs a command with the given standard streams (tests feed
// standard input through it).
func runIO(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cio := cmdIO{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "version", "--version":
		if len(args) > 1 && (args[1] == "--help" || args[1] == "-h" || args[1] == "-help") {
			fmt.Fprint(stdout, versionUsage)
			return 0
		}
		fmt.Fprintf(stdout, "lakesql %s\n", version)
		return 0
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "sql":
		return sqlCmd(args[1:], cio)
	case "import":
		return importCmd(args[1:], cio)
	case "log":
		return logCmd(args[1:], cio)
	case "branches":
		return branchesCmd(args[1:], cio)
	case "tags":
		return tagsCmd(args[1:], cio)
	case "compact":
		return compactCmd(args[1:], cio)
	case "checkpoint":
		return checkpointCmd(args[1:], cio)
	case "vacuum":
		return vacuumCmd(args[1:], cio)
	default:
		fmt.Fprintf(stderr, "lakesql: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
