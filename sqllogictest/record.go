package sqllogictest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Kind is what a record does.
type Kind int

const (
	// Statement runs SQL that must succeed (statement ok) or fail
	// (statement error).
	Statement Kind = iota
	// Query runs SQL and compares its result with the expected values.
	Query
	// Halt stops the file.
	Halt
)

// SortMode says how a query's values are ordered before they are compared.
type SortMode string

const (
	// NoSort compares the values in the order the engine returned them.
	NoSort SortMode = "nosort"
	// RowSort sorts the rows, comparing them value by value as strings.
	RowSort SortMode = "rowsort"
	// ValueSort sorts all values as one list, ignoring rows.
	ValueSort SortMode = "valuesort"
)

// Condition is a skipif or onlyif line in front of a record.
type Condition struct {
	// Only is true for onlyif, false for skipif.
	Only bool
	// Engine is the engine the condition names ("mysql", "sqlite", ...).
	Engine string
}

// Record is one record of a test file.
type Record struct {
	// Line is the line of the record's statement, query or halt keyword;
	// file:line names the record in reports and in the failures list.
	Line       int
	Kind       Kind
	Conditions []Condition
	// ExpectError is true for statement error.
	ExpectError bool
	// Types has one letter per result column: I integer, R real (printed
	// with three decimals), T text.
	Types string
	Sort  SortMode
	// Label, when set, names a result that every query with the same
	// label in the file must return.
	Label string
	SQL   string
	// Expected are the expected values, one per line, unless the result
	// is given as a hash: then HashCount values hash to Hash.
	Expected  []string
	HashCount int
	Hash      string
	// HashThreshold is the file's hash-threshold when the record was read
	// (0: never hash).
	HashThreshold int
}

// Hashed reports whether the expected result is "N values hashing to H".
func (r *Record) Hashed() bool { return r.Hash != "" }

// Runs reports whether the record runs on engine: a skipif naming the
// engine or an onlyif naming another engine skips it.
func (r *Record) Runs(engine string) bool {
	for _, c := range r.Conditions {
		if c.Only != (c.Engine == engine) {
			return false
		}
	}
	return true
}

var hashLine = regexp.MustCompile(`^(\d+) values hashing to ([0-9a-f]{32})$`)

// ParseFile reads the records of a test file.
func ParseFile(path string) ([]*Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(path, f)
}

// Parse reads the records of a test file from r; name is used in errors.
//
// The format is sqllogictest's: records are separated by blank lines; a
// line starting with '#' is a comment; skipif/onlyif lines precede the
// record they apply to and may end with a '#' comment. SQL and expected
// values are taken verbatim (a '#' inside them is not a comment), and the
// lines of a multi-line statement are joined with newlines.
func Parse(name string, r io.Reader) ([]*Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	var (
		lines []string
		recs  []*Record
	)
	for sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	blank := func(i int) bool { return i >= len(lines) || strings.TrimSpace(lines[i]) == "" }
	errf := func(i int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", name, i+1, fmt.Sprintf(format, args...))
	}
	threshold := 0
	var conds []Condition
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if blank(i) || strings.HasPrefix(line, "#") {
			continue
		}
		directive, _, _ := strings.Cut(line, "#")
		f := strings.Fields(directive)
		switch f[0] {
		case "skipif", "onlyif":
			if len(f) < 2 {
				return nil, errf(i, "%s without an engine", f[0])
			}
			conds = append(conds, Condition{Only: f[0] == "onlyif", Engine: f[1]})
			continue
		case "hash-threshold":
			if len(f) < 2 {
				return nil, errf(i, "hash-threshold without a number")
			}
			n, err := strconv.Atoi(f[1])
			if err != nil {
				return nil, errf(i, "hash-threshold %q: %v", f[1], err)
			}
			threshold = n
			continue
		case "halt":
			recs = append(recs, &Record{Line: i + 1, Kind: Halt, Conditions: conds})
			conds = nil
			continue
		}
		rec := &Record{Line: i + 1, Conditions: conds, HashThreshold: threshold}
		conds = nil
		switch {
		case f[0] == "statement" && len(f) >= 2 && (f[1] == "ok" || f[1] == "error"):
			rec.Kind = Statement
			rec.ExpectError = f[1] == "error"
		case f[0] == "query" && len(f) >= 2:
			rec.Kind = Query
			rec.Types = f[1]
			rec.Sort = NoSort
			if len(f) >= 3 {
				rec.Sort = SortMode(f[2])
				if rec.Sort != NoSort && rec.Sort != RowSort && rec.Sort != ValueSort {
					return nil, errf(i, "unknown sort mode %q", f[2])
				}
			}
			if len(f) >= 4 {
				rec.Label = f[3]
			}
			for _, c := range rec.Types {
				if c != 'I' && c != 'R' && c != 'T' {
					return nil, errf(i, "unknown column type %q in %q", c, rec.Types)
				}
			}
		default:
			return nil, errf(i, "unknown record %q", strings.TrimSpace(line))
		}
		// The SQL: up to a blank line, or "----" for a query.
		var sqlLines []string
		i++
		for ; !blank(i) && strings.TrimSpace(lines[i]) != "----"; i++ {
			if !strings.HasPrefix(lines[i], "#") {
				sqlLines = append(sqlLines, lines[i])
			}
		}
		rec.SQL = strings.Join(sqlLines, "\n")
		if rec.SQL == "" {
			return nil, errf(rec.Line-1, "record without SQL")
		}
		if i < len(lines) && strings.TrimSpace(lines[i]) == "----" {
			if rec.Kind != Query {
				return nil, errf(i, "---- after a statement")
			}
			for i++; !blank(i); i++ {
				rec.Expected = append(rec.Expected, lines[i])
			}
			if len(rec.Expected) == 1 {
				if m := hashLine.FindStringSubmatch(rec.Expected[0]); m != nil {
					rec.HashCount, _ = strconv.Atoi(m[1])
					rec.Hash = m[2]
					rec.Expected = nil
				}
			}
		}
		recs = append(recs, rec)
	}
	return recs, nil
}
