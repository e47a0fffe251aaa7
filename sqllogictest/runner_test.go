package sqllogictest

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	const file = `# a comment
hash-threshold 8

statement ok
CREATE TABLE t(a INTEGER, b TEXT)

skipif sqlite # a reason
onlyif mysql
statement error
INSERT INTO t VALUES('#not a comment')

query IT rowsort label-1
SELECT a,
  b FROM t
----
1
x

query I nosort
SELECT a FROM t
----
30 values hashing to 3c13dee48d9356ae19af2515e05e6b54

query T valuesort
SELECT b FROM t

onlyif sqlite
halt
`
	recs, err := Parse("f.test", strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 6 {
		t.Fatalf("%d records, want 6", len(recs))
	}
	if r := recs[0]; r.Line != 4 || r.Kind != Statement || r.ExpectError || r.SQL != "CREATE TABLE t(a INTEGER, b TEXT)" || r.HashThreshold != 8 {
		t.Errorf("record 0: %+v", r)
	}
	if r := recs[1]; r.Line != 9 || !r.ExpectError || r.SQL != "INSERT INTO t VALUES('#not a comment')" ||
		len(r.Conditions) != 2 || !r.Runs("mysql") || r.Runs("sqlite") || r.Runs("postgresql") {
		t.Errorf("record 1: %+v", r)
	}
	if r := recs[2]; r.Kind != Query || r.Types != "IT" || r.Sort != RowSort || r.Label != "label-1" ||
		r.SQL != "SELECT a,\n  b FROM t" || strings.Join(r.Expected, ",") != "1,x" || r.Hashed() {
		t.Errorf("record 2: %+v", r)
	}
	if r := recs[3]; !r.Hashed() || r.HashCount != 30 || r.Hash != "3c13dee48d9356ae19af2515e05e6b54" || r.Expected != nil {
		t.Errorf("record 3: %+v", r)
	}
	if r := recs[4]; r.Kind != Query || r.Sort != ValueSort || r.Expected != nil {
		t.Errorf("record 4: %+v", r)
	}
	if r := recs[5]; r.Kind != Halt || r.Runs("mysql") {
		t.Errorf("record 5: %+v", r)
	}
	for _, bad := range []string{"statement maybe\nSELECT 1\n", "query X\nSELECT 1\n", "query I upsidedown\nSELECT 1\n", "frobnicate\n"} {
		if _, err := Parse("bad.test", strings.NewReader(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestFormatValue(t *testing.T) {
	for _, c := range []struct {
		v    any
		typ  byte
		want string
	}{
		{nil, 'I', "NULL"},
		{nil, 'T', "NULL"},
		{int64(-7), 'I', "-7"},
		{uint64(18446744073709551615), 'I', "18446744073709551615"},
		{float64(2.9), 'I', "2"},
		{float64(-2.9), 'I', "-2"},
		{float64(-0.5), 'I', "0"},
		{"171.4000", 'I', "171"},
		{"-3.75", 'I', "-3"},
		{"12abc", 'I', "12"},
		{"abc", 'I', "0"},
		{int64(3), 'R', "3.000"},
		{float64(1) / 3, 'R', "0.333"},
		{"171.4000", 'R', "171.400"},
		{"-0.0004", 'R', "-0.000"},
		{"", 'T', "(empty)"},
		{"a\tb\x01é", 'T', "a@b@@@"},
		{"x y", 'T', "x y"},
		{int64(5), 'T', "5"},
		{float64(1.5), 'T', "1.5"},
		{float64(1e20), 'T', "1e20"},
		{[]byte("bin"), 'T', "bin"},
		{float32(1.1), 'T', "1.1"},
		{float32(1.1), 'R', "1.100"},
		{int32(-4), 'I', "-4"},
	} {
		if got := FormatValue(c.v, c.typ); got != c.want {
			t.Errorf("FormatValue(%#v, %c) = %q, want %q", c.v, c.typ, got, c.want)
		}
	}
}

func TestSortAndHash(t *testing.T) {
	v := []string{"b", "2", "a", "10", "a", "1"}
	sortValues(v, 2, RowSort)
	if got := strings.Join(v, " "); got != "a 1 a 10 b 2" {
		t.Errorf("rowsort: %s", got)
	}
	v = []string{"b", "2", "a", "10"}
	sortValues(v, 2, ValueSort)
	if got := strings.Join(v, " "); got != "10 2 a b" {
		t.Errorf("valuesort: %s", got)
	}
	if got, want := hashValues([]string{"1", "2"}), fmt.Sprintf("%x", md5.Sum([]byte("1\n2\n"))); got != want {
		t.Errorf("hash %s, want %s", got, want)
	}
}

// fakeBackend is a database of one list of integers: "INSERT n" appends,
// "SELECT" returns them, "FAIL" fails, "SLOW" blocks, ignoring its
// context, until released.
type fakeBackend struct {
	mu      sync.Mutex
	opened  int
	closed  int
	release chan struct{}
}

func (b *fakeBackend) Open(context.Context) (Session, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opened++
	return &fakeSession{b: b}, nil
}

type fakeSession struct {
	b    *fakeBackend
	rows [][]any
}

func (s *fakeSession) Query(ctx context.Context, q string) (*Result, error) {
	switch {
	case strings.HasPrefix(q, "INSERT "):
		var n int64
		for _, c := range strings.TrimPrefix(q, "INSERT ") {
			n = n*10 + int64(c-'0')
		}
		s.rows = append(s.rows, []any{n})
		return &Result{RowsAffected: 1}, nil
	case q == "SELECT":
		return &Result{Columns: 1, Rows: s.rows}, nil
	case q == "SLOW":
		<-s.b.release
		return &Result{}, nil
	}
	return nil, errors.New("fake: cannot " + q)
}

func (s *fakeSession) ErrorCode(error) int { return 1105 }

func (s *fakeSession) Close(context.Context) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.closed++
	return nil
}

// TestRunFile: outcomes, skips, halt, labels, and a timeout after which
// the file goes on in a fresh session with its statements replayed.
func TestRunFile(t *testing.T) {
	const file = `statement ok
INSERT 3

statement ok
INSERT 1

statement error
FAIL

statement error
INSERT 2

query I rowsort
SELECT
----
1
2
3

query I nosort
SELECT
----
3
1

query I nosort label-a
SELECT
----
2 values hashing to 6d7fce9fee471194aa8b5b6e47267f03

statement ok
SLOW

query I valuesort label-a
SELECT
----
1
2
3

query I nosort
SELECT
----
9

skipif mysql
statement ok
FAIL

onlyif sqlite
halt

query II nosort
SELECT
----

halt

statement ok
FAIL
`
	path := filepath.Join(t.TempDir(), "f.test")
	if err := os.WriteFile(path, []byte(file), 0o666); err != nil {
		t.Fatal(err)
	}
	b := &fakeBackend{release: make(chan struct{})}
	r := &Runner{Backend: b, Timeout: 50 * time.Millisecond}
	res := r.RunFile(context.Background(), path)
	close(b.release)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := []struct {
		line    int
		outcome Outcome
		reason  string
	}{
		{1, Passed, ""},
		{4, Passed, ""},
		{7, Passed, ""},
		{10, Failed, "statement succeeded, expected an error"},
		{13, Passed, ""},
		{20, Failed, "expected 2 values, got 3: [3 1 2]"},
		{26, Failed, "expected 2 values hashing to 6d7fce9fee471194aa8b5b6e47267f03, got 3 values: [3 1 2]"},
		{31, Failed, "timeout after 50ms"},
		{34, Passed, ""},
		{41, Failed, "expected 1 values, got 3: [3 1 2]"},
		{47, Skipped, ""},
		{53, Failed, "query returned 1 columns, expected 2 (II)"},
	}
	if len(res.Records) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(res.Records), len(want), res.Records)
	}
	for i, w := range want {
		got := res.Records[i]
		if got.Line != w.line || got.Outcome != w.outcome || got.Reason != w.reason {
			t.Errorf("record %d: got line %d %v %q, want line %d %v %q", i, got.Line, got.Outcome, got.Reason, w.line, w.outcome, w.reason)
		}
	}
	if res.Counts != (Counts{Passed: 5, Failed: 6, Skipped: 1}) {
		t.Errorf("counts %v", res.Counts)
	}
	if b.opened != 2 {
		t.Errorf("opened %d sessions, want 2 (one after the timeout)", b.opened)
	}
}

func TestCategory(t *testing.T) {
	for reason, want := range map[string]string{
		"statement failed: error 1105: table \"t1\" has 12 columns":                     "statement failed: error 1105: table '?' has N columns",
		"query failed: error 1064: syntax error at position 33 near 'x'":                "query failed: error 1064: syntax error at position N near '?'",
		"expected 30 values hashing to 3c13dee48d9356ae19af2515e05e6b54, got hash 0123": "wrong result: right number of values, wrong hash",
	} {
		if got := category(reason); got != want {
			t.Errorf("category(%q) = %q, want %q", reason, got, want)
		}
	}
}
