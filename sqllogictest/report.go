package sqllogictest

import (
	"cmp"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Files returns the *.test files named by args: files as they are,
// directories searched recursively, in lexical order.
func Files(args ...string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".test") {
				out = append(out, p)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Category is a group of failures with the same kind of reason.
type Category struct {
	Category string
	Count    int
	// Path, Line and Reason are the first failure of the category.
	Path   string
	Line   int
	Reason string
}

// Categorize groups the failed records of results by their reason with
// names, numbers and values taken out, and returns the n largest groups
// (all when n <= 0).
func Categorize(results []*FileResult, n int) []Category {
	byName := map[string]*Category{}
	for _, f := range results {
		for _, r := range f.Records {
			if r.Outcome != Failed {
				continue
			}
			name := category(r.Reason)
			c := byName[name]
			if c == nil {
				c = &Category{Category: name, Path: f.Path, Line: r.Line, Reason: r.Reason}
				byName[name] = c
			}
			c.Count++
		}
	}
	out := make([]Category, 0, len(byName))
	for _, c := range byName {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Category) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Category, b.Category))
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

var (
	quoted = regexp.MustCompile("'[^']*'|\"[^\"]*\"|`[^`]*`")
	// numbers are numbers and names with digits (view_1_tab0_376).
	numbers = regexp.MustCompile(`\b\w*\d\w*(\.\d+)?\b`)
	// failedWithCode splits "statement failed: error 1105: msg".
	failedWithCode = regexp.MustCompile(`^((?:statement|query) failed: error \d+: )(.*)$`)
	wrong          = []struct {
		re   *regexp.Regexp
		name string
	}{
		{regexp.MustCompile(`^expected \d+ values hashing to \w+, got hash`), "wrong result: right number of values, wrong hash"},
		{regexp.MustCompile(`^expected \d+ values hashing to \w+, got \d+ values`), "wrong result: wrong number of values"},
		{regexp.MustCompile(`^expected \d+ values, got`), "wrong result: wrong number of values"},
		{regexp.MustCompile(`^value \d+ .*expected "NULL", got`), "wrong result: a value, expected NULL"},
		{regexp.MustCompile(`^value \d+ .*got "NULL"`), "wrong result: NULL instead of a value"},
		{regexp.MustCompile(`^value \d+ `), "wrong result: a value"},
		{regexp.MustCompile(`^query returned \d+ columns`), "wrong result: wrong number of columns"},
		{regexp.MustCompile(`^result differs from the earlier queries labeled`), "wrong result: differs from its label"},
	}
)

// category is a failure reason with what varies between records taken out.
func category(reason string) string {
	for _, w := range wrong {
		if w.re.MatchString(reason) {
			return w.name
		}
	}
	head, rest := "", reason
	if m := failedWithCode.FindStringSubmatch(reason); m != nil {
		head, rest = m[1], m[2]
	}
	s := head + numbers.ReplaceAllString(quoted.ReplaceAllString(rest, "'?'"), "N")
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}
