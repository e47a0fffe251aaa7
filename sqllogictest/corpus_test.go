package sqllogictest

import (
	"bufio"
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakesql/lakesql/planner"
	lsql "github.com/lakesql/lakesql/sql"
)

var (
	update    = flag.Bool("update", false, "rewrite testdata/failures.txt with the records that fail now")
	filesFlag = flag.String("slt.files", "", "run only the files of testdata/ whose path (e.g. corpus/select1.test) matches this regexp")
	timeout   = flag.Duration("slt.timeout", DefaultTimeout, "per-record timeout")
)

const (
	failuresFile            = "testdata/failures.txt"
	metamorphicFailuresFile = "testdata/metamorphic-failures.txt"
)

// suiteDirs are the directories of testdata/ TestCorpus runs.
var suiteDirs = []string{"corpus", "lakesql"}

// shortDirs are what TestCorpus runs with -short.
var shortDirs = []string{"corpus/evidence", "lakesql"}

// testFiles lists the files of dirs (below testdata/) that -slt.files
// selects, as paths relative to testdata/.
func testFiles(t *testing.T, dirs ...string) []string {
	t.Helper()
	var re *regexp.Regexp
	if *filesFlag != "" {
		var err error
		if re, err = regexp.Compile(*filesFlag); err != nil {
			t.Fatalf("-slt.files: %v", err)
		}
	}
	var out []string
	for _, d := range dirs {
		paths, err := Files(filepath.Join("testdata", filepath.FromSlash(d)))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			rel := filepath.ToSlash(strings.TrimPrefix(p, "testdata"+string(filepath.Separator)))
			if re == nil || re.MatchString(rel) {
				out = append(out, rel)
			}
		}
	}
	if len(out) == 0 {
		t.Skip("no test files selected")
	}
	return out
}

// run runs the files (relative to testdata/) and reports each as it
// finishes.
func run(t *testing.T, r *Runner, files []string) []*FileResult {
	t.Helper()
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join("testdata", filepath.FromSlash(f))
	}
	results := r.Run(context.Background(), paths, func(f *FileResult) { t.Log(f) })
	for i, f := range results {
		f.Path = files[i]
		if f.Err != nil {
			t.Errorf("%s: %v", f.Path, f.Err)
		}
	}
	return results
}

// slowFiles take about as long alone as the rest of the corpus together
// (select4.test joins up to eight tables; see the package doc for the
// figures): the tests run them with a longer per-record timeout.
var slowFiles = []string{"corpus/select4.test"}

// recordTimeout is the per-record timeout for files: slowTimeout when
// they include a slow file.
func recordTimeout(files []string) time.Duration {
	// The slow files' many-table joins take seconds a query on a busy
	// machine: give them room rather than flaky timeouts.
	if slices.ContainsFunc(files, func(f string) bool { return slices.Contains(slowFiles, f) }) {
		return max(*timeout, slowTimeout)
	}
	return *timeout
}

// slowTimeout is the per-record timeout when slowFiles run.
const slowTimeout = 3 * time.Minute

// TestCorpus runs the public corpus and lakesql's own files in-process on
// mem stores and compares the failing records with testdata/failures.txt:
// a failure not on the list is a regression and fails the test, as does a
// file in which fewer records pass than the list's baseline for it; a
// listed record that passes now is reported, and -update rewrites the list
// and the baselines of the files that ran.
//
// With -short it runs
// only corpus/evidence and lakesql/; -slt.files selects files by regexp.
func TestCorpus(t *testing.T) {
	t.Parallel()
	dirs := suiteDirs
	if testing.Short() {
		dirs = shortDirs
	}
	files := testFiles(t, dirs...)
	r := &Runner{Backend: &Embedded{}, Timeout: recordTimeout(files)}
	start := time.Now()
	results := run(t, r, files)
	wall := time.Since(start)

	var total Counts
	for _, f := range results {
		total.Add(f.Counts)
	}
	t.Logf("per directory:\n%s", directoryTable(results))
	t.Logf("slowest records:\n%s", slowest(results, 10))
	for _, c := range Categorize(results, 10) {
		t.Logf("%6d  %s\n        e.g. %s:%d: %s", c.Count, c.Category, c.Path, c.Line, c.Reason)
	}
	t.Logf("%v in %.1fs wall", total, wall.Seconds())

	now := map[string]string{}
	for _, f := range results {
		for _, r := range f.Records {
			if r.Outcome == Failed {
				now[fmt.Sprintf("%s:%d", f.Path, r.Line)] = r.Reason
			}
		}
	}
	checkKnown(t, failuresFile, results, now, true)
}

// checkKnown compares the records that fail now (file:line -> reason)
// with the list in the file name: a failure not on the list fails the
// test, a listed record of a file that ran and no longer fails is
// reported. With baselines, a file in which fewer records passed than
// the list's baseline for it fails the test too. With -update the list's
// entries (and baselines) for the files that ran are replaced.
func checkKnown(t *testing.T, name string, results []*FileResult, now map[string]string, baselines bool) {
	t.Helper()
	list, err := readFailures(name)
	if err != nil && !(*update && os.IsNotExist(err)) {
		t.Fatal(err)
	}
	ran := map[string]bool{}
	for _, f := range results {
		ran[f.Path] = true
	}
	var regressions, fixed []string
	for key, reason := range now {
		if _, ok := list.entries[key]; !ok {
			regressions = append(regressions, key+": "+reason)
		}
	}
	for key := range list.entries {
		if _, ok := now[key]; !ok && ran[fileOf(key)] {
			fixed = append(fixed, key)
		}
	}
	slices.Sort(regressions)
	slices.Sort(fixed)
	if *update {
		for key := range list.entries {
			if ran[fileOf(key)] {
				delete(list.entries, key)
			}
		}
		for key, reason := range now {
			list.entries[key] = reason
		}
		if baselines {
			for _, f := range results {
				list.passed[f.Path] = f.Passed
			}
		}
		if err := list.write(name); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d failing records (%d new, %d no longer failing)", name, len(list.entries), len(regressions), len(fixed))
		return
	}
	if len(fixed) > 0 {
		t.Logf("%d records of %s pass now; run with -update to take them off the list:\n%s",
			len(fixed), name, strings.Join(head(fixed, 50), "\n"))
	}
	if len(regressions) > 0 {
		t.Errorf("%d records fail that are not in %s (regressions; -update accepts them):\n%s",
			len(regressions), name, strings.Join(head(regressions, 100), "\n"))
	}
	if baselines {
		for _, f := range results {
			if base, ok := list.passed[f.Path]; ok && f.Passed < base {
				t.Errorf("%s: %d records passed, below the baseline of %d in %s", f.Path, f.Passed, base, name)
			}
		}
	}
}

// slowest lists the n records that took longest.
func slowest(results []*FileResult, n int) string {
	type rec struct {
		key string
		d   time.Duration
	}
	var recs []rec
	for _, f := range results {
		for _, r := range f.Records {
			recs = append(recs, rec{fmt.Sprintf("%s:%d", f.Path, r.Line), r.Elapsed})
		}
	}
	slices.SortFunc(recs, func(a, b rec) int { return cmp.Compare(b.d, a.d) })
	var b strings.Builder
	for _, r := range recs[:min(n, len(recs))] {
		fmt.Fprintf(&b, "%8.2fs  %s\n", r.d.Seconds(), r.key)
	}
	return b.String()
}

func head(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("... and %d more", len(s)-n))
	}
	return s
}

// fileOf is the file of a failures-list key "corpus/select1.test:123".
func fileOf(key string) string {
	i := strings.LastIndexByte(key, ':')
	if i < 0 {
		return key
	}
	return key[:i]
}

// failureList is testdata/failures.txt: the records known to fail, one
// "file:line<TAB>reason" a line, and per file the number of records that
// passed when it was written ("# passed <file> <n>").
type failureList struct {
	entries map[string]string
	passed  map[string]int
}

const passedPrefix = "# passed "

func readFailures(name string) (*failureList, error) {
	l := &failureList{entries: map[string]string{}, passed: map[string]int{}}
	f, err := os.Open(name)
	if err != nil {
		return l, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, passedPrefix); ok {
			file, n, _ := strings.Cut(rest, " ")
			if l.passed[file], err = strconv.Atoi(n); err != nil {
				return l, fmt.Errorf("%s: %q: %v", name, line, err)
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, reason, _ := strings.Cut(line, "\t")
		l.entries[key] = reason
	}
	return l, sc.Err()
}

func (l *failureList) write(name string) error {
	keys := make([]string, 0, len(l.entries))
	for k := range l.entries {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		fa, fb := fileOf(a), fileOf(b)
		la, _ := strconv.Atoi(a[len(fa)+1:])
		lb, _ := strconv.Atoi(b[len(fb)+1:])
		return cmp.Or(cmp.Compare(fa, fb), cmp.Compare(la, lb))
	})
	var b strings.Builder
	b.WriteString("# Records of testdata/ that fail today, as file:line<TAB>reason. The test fails when\n")
	b.WriteString("# a record not listed here fails: this list may only shrink. Rewrite it with\n")
	b.WriteString("# go test ./sqllogictest/ -run <the test> -update.\n")
	if len(l.passed) > 0 {
		b.WriteString("# \"passed\" lines are each file's passing records at the last -update; fewer fail\n")
		b.WriteString("# TestCorpus.\n")
		files := make([]string, 0, len(l.passed))
		for f := range l.passed {
			files = append(files, f)
		}
		slices.Sort(files)
		for _, f := range files {
			fmt.Fprintf(&b, "%s%s %d\n", passedPrefix, f, l.passed[f])
		}
	}
	for _, k := range keys {
		fmt.Fprintf(&b, "%s\t%s\n", k, l.entries[k])
	}
	return os.WriteFile(name, []byte(b.String()), 0o666)
}

// directoryTable sums results up per directory: records per outcome, and
// speed in records per second of one core (files run one per core).
func directoryTable(results []*FileResult) string {
	type dir struct {
		files int
		Counts
		elapsed time.Duration
	}
	dirs := map[string]*dir{}
	var names []string
	for _, f := range results {
		name := path.Dir(f.Path)
		d := dirs[name]
		if d == nil {
			d = &dir{}
			dirs[name] = d
			names = append(names, name)
		}
		d.files++
		d.Add(f.Counts)
		d.elapsed += f.Elapsed
	}
	slices.Sort(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%-32s %5s %8s %8s %8s %8s %7s %9s %9s\n", "directory", "files", "records", "passed", "failed", "skipped", "pass%", "seconds", "records/s")
	for _, n := range names {
		d := dirs[n]
		run := d.Passed + d.Failed
		pct := 0.0
		if run > 0 {
			pct = 100 * float64(d.Passed) / float64(run)
		}
		fmt.Fprintf(&b, "%-32s %5d %8d %8d %8d %8d %6.1f%% %9.1f %9.0f\n", n, d.files, d.Total(), d.Passed, d.Failed, d.Skipped,
			pct, d.elapsed.Seconds(), float64(d.Total())/d.elapsed.Seconds())
	}
	return b.String()
}

// volatile matches queries whose answers may differ between storage
// schedules: the storage system tables, and anything that reads the
// clock.
var volatile = regexp.MustCompile(`(?i)lakesql_files|lakesql_memtables|committed_at|created_at|\bnow\s*\(|current_time|current_date|sysdate|utc_time|utc_date|unix_timestamp|curtime|curdate`)

// storageProc matches the procedures whose results describe storage work
// (log entries, merges): TestMetamorphic compares only whether they
// succeeded.
var storageProc = regexp.MustCompile(`(?i)\bcall\s+lakesql_(flush|compact|checkpoint|vacuum)\b`)

// metamorphicDirs are the files TestMetamorphic runs: all of testdata.
var metamorphicDirs = []string{"lakesql", "corpus"}

// TestMetamorphic runs files twice, on the default configuration (on mem
// stores) but with lookups on secondary indexes answered by scans and every
// query on go-mysql-server's row path (no vectorized nodes), and with
// one-byte MemTables, a flush after every write statement and a merge
// every CompactEvery statements on the local store (the corpus's run on
// it), lookups going through the index files, aggregations and top-N
// sorts vectorized, and requires the same
// answer from every
// record (statement outcomes and affected rows, error codes, query
// results), except for volatile queries. Whether the answers are right is
// TestCorpus's business. Known differences are listed in
// testdata/metamorphic-failures.txt, under TestCorpus's rules (-update
// rewrites it).
func TestMetamorphic(t *testing.T) {
	t.Parallel()
	files := testFiles(t, metamorphicDirs...)
	if testing.Short() {
		files = slices.DeleteFunc(files, func(f string) bool { return !strings.HasPrefix(f, "lakesql/") })
	}
	start := time.Now()
	to := recordTimeout(files)
	def := run(t, &Runner{Backend: &Embedded{Config: lsql.Config{NoIndexLookups: true, NoVectorize: true}}, Timeout: to, Answers: true}, files)
	mid := time.Now()
	vectorized := planner.VectorizedRuns()
	meta := run(t, &Runner{Backend: &Embedded{Metamorphic: true, Dir: t.TempDir()}, Timeout: to, Answers: true}, files)
	// TestCorpus may run in parallel and vectorize too: only the
	// metamorphic run's own count is certain to be above zero.
	if n := planner.VectorizedRuns() - vectorized; n == 0 {
		t.Errorf("the metamorphic run ran no vectorized node")
	} else {
		t.Logf("the metamorphic run ran vectorized nodes %d times", n)
	}
	t.Logf("default run %.1fs, metamorphic run %.1fs", mid.Sub(start).Seconds(), time.Since(mid).Seconds())
	compared := 0
	now := map[string]string{}
	for i := range files {
		a, b := def[i], meta[i]
		if len(a.Records) != len(b.Records) {
			t.Errorf("%s: %d records in the default run, %d in the metamorphic one", files[i], len(a.Records), len(b.Records))
			continue
		}
		for j, ra := range a.Records {
			rb := b.Records[j]
			if ra.Outcome == Skipped || volatile.MatchString(ra.SQL) {
				continue
			}
			compared++
			ansA, ansB := ra.Answer, rb.Answer
			if storageProc.MatchString(ra.SQL) {
				ansA, ansB = succeeded(ansA), succeeded(ansB)
			}
			if ansA != ansB {
				now[fmt.Sprintf("%s:%d", files[i], ra.Line)] = oneLine(fmt.Sprintf("default answer %q, metamorphic answer %q (%s)", ansA, ansB, rb.Reason), 400)
			}
		}
	}
	t.Logf("compared %d answers, %d differ", compared, len(now))
	checkKnown(t, metamorphicFailuresFile, def, now, false)
}

// succeeded reduces a storage procedure's answer to whether it succeeded:
// what it reports (merges done, log entries) depends on the schedule.
func succeeded(answer string) string {
	if strings.HasPrefix(answer, "error") || answer == "timeout" {
		return "failed"
	}
	return "succeeded"
}
