package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestRecordsEnd(t *testing.T) {
	for _, tc := range []struct {
		data string
		want int
	}{
		{"", -1},
		{"a,b", -1},                                // no line end at all
		{"a,b\n", 3},                               // one record
		{"a\nb\nc", 3},                             // the last line is not whole
		{"a\r\nb\r\n", 5},                          // CRLF
		{"a\r\nb\r\nc", 5},                         // CRLF, then a partial line
		{"1,\"x\ny\"\n", 7},                        // a quoted newline, then the record's end
		{"1,2\n3,\"x\n", 3},                        // a quoted newline at the end: inside the field
		{"1,2\r\n3,\"x\r\n", 4},                    // the same with CRLF
		{"1,\"x\n", -1},                            // the first record is not whole
		{"\"\"\n", 2},                              // an empty quoted field
		{"1,\"he said \"\"hi\"\"\nmore\"\n", 23},   // doubled quotes, then a quoted newline
		{"1,\"he said \"\"hi\"\"\nmore", -1},       // ... not closed yet
		{"1,\"a\"\"\"\n2,\"\"\"b\n", 7},            // a field ending in a doubled quote; one starting with one, open
		{"1,\"a,b\"\n2,\"c\nd\ne\"\n3,x\n", 21},    // several records, the last line end
		{"1,\"a,b\"\n2,\"c\nd\ne\"\n3,\"x\ny", 17}, // ... the last record open
	} {
		if got := recordsEnd([]byte(tc.data)); got != tc.want {
			t.Errorf("recordsEnd(%q) = %d, want %d", tc.data, got, tc.want)
		}
	}
}

// csvCase is a generated CSV file and what its records hold.
type csvCase struct {
	text  strings.Builder
	line  int // lines written so far
	lines []int
	rows  []map[string]any // id, name, qty, note as the JSON output gives them
}

// record appends a record; fields are written as given (quoted or not),
// want is what it holds.
func (c *csvCase) record(fields []string, crlf bool, want map[string]any) {
	c.lines = append(c.lines, c.line+1)
	rec := strings.Join(fields, ",")
	c.text.WriteString(rec)
	c.line += strings.Count(rec, "\n")
	if crlf {
		c.text.WriteString("\r\n")
	} else {
		c.text.WriteString("\n")
	}
	c.line++
	c.rows = append(c.rows, want)
}

func (c *csvCase) blank() {
	c.text.WriteString("\n")
	c.line++
}

// quote quotes a CSV field, doubling its quotes.
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// genCSV writes a header and n records of id, name, qty, note: names with
// quoted newlines, doubled quotes, separators and now and then a value
// longer than a chunk; NULLs; CRLF and LF line ends; blank lines. bad,
// when at least 0, gives record bad a qty that is not a number.
func genCSV(n, bad int) *csvCase {
	c := &csvCase{}
	c.text.WriteString("id,name,qty,note\n")
	c.line = 1
	for i := range n {
		name := fmt.Sprintf("n%d", i)
		field := name
		switch {
		case i%50 == 0:
			var b strings.Builder
			for j := range 12 {
				fmt.Fprintf(&b, "long %d line %d, \"quoted\" and more text\n", i, j)
			}
			name = b.String()
			field = quote(name)
		case i%7 == 0:
			name = fmt.Sprintf("two\nlines %d", i)
			field = quote(name)
		case i%11 == 0:
			name = fmt.Sprintf(`say "hi" %d`, i)
			field = quote(name)
		case i%13 == 0:
			name = fmt.Sprintf("a,b %d\n\n", i) // an empty line inside a field
			field = quote(name)
		case i%17 == 0:
			name = fmt.Sprintf("\"%d\"", i) // quotes at both ends of the value
			field = quote(name)
		}
		want := map[string]any{"id": json.Number(fmt.Sprint(i)), "name": name}
		qty := fmt.Sprint(i * 3)
		want["qty"] = json.Number(qty)
		if i%9 == 0 {
			qty = ""
			want["qty"] = nil
		}
		if i == bad {
			qty = "12x"
		}
		note := ""
		switch i % 4 {
		case 0:
			note, want["note"] = `\N`, nil
		case 1:
			note, want["note"] = `""`, ""
		case 2:
			note, want["note"] = fmt.Sprintf("note%d", i), fmt.Sprintf("note%d", i)
		case 3:
			note, want["note"] = quote(fmt.Sprintf("x\ny%d", i)), fmt.Sprintf("x\ny%d", i)
		}
		c.record([]string{fmt.Sprint(i), field, qty, note}, i%3 == 1, want)
		if i%97 == 5 {
			c.blank()
		}
	}
	return c
}

// smallChunks makes import cut the file after its sample into chunks of
// about n bytes for the test.
func smallChunks(t *testing.T, n int) {
	old := chunkBytes
	chunkBytes = n
	t.Cleanup(func() { chunkBytes = old })
}

// TestImportCSVChunks: a CSV file of more records than type inference
// samples, its rest cut into chunks of 200 bytes (quoted newlines, CRLF
// line ends, records longer than a chunk and a last record without a line
// end crossing their ends), imports every record with its exact values.
func TestImportCSVChunks(t *testing.T) {
	smallChunks(t, 200)
	dir := newShop(t)
	n := sampleRows + 1200
	c := genCSV(n, -1)
	text := strings.TrimSuffix(strings.TrimSuffix(c.text.String(), "\n"), "\r") // no line end at the end
	csv := writeFile(t, t.TempDir(), "big.csv", text)
	out, errOut, code := lakesql(t, "", "import", "--data", dir, "--header", "shop.big", csv)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, fmt.Sprintf("imported %d rows into shop.big", n)) {
		t.Errorf("summary %q", out)
	}
	res := mustRun(t, "sql", "--data", dir, "--db", "shop", "--format", "json", "-q", "SELECT id, name, qty, note FROM big ORDER BY id")
	dec := json.NewDecoder(strings.NewReader(res))
	dec.UseNumber()
	var got []map[string]any
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%v: %.300s", err, res)
	}
	if len(got) != n {
		t.Fatalf("%d rows, want %d", len(got), n)
	}
	bad := 0
	for i, g := range got {
		w := c.rows[i]
		for _, k := range []string{"id", "name", "qty", "note"} {
			if fmt.Sprintf("%#v", g[k]) != fmt.Sprintf("%#v", w[k]) {
				t.Errorf("record %d (line %d) %s: %#v, want %#v", i, c.lines[i], k, g[k], w[k])
				bad++
			}
		}
		if bad > 10 {
			t.Fatal("too many differences")
		}
	}
}

// TestImportCSVChunkErrorLine: a bad value several chunks past the sample
// names its exact line (quoted newlines and blank lines before it, in
// earlier chunks and its own), and nothing is imported, into a table with
// a key (rows sorted at commit) or without (rows streamed into the data
// file as they come).
func TestImportCSVChunkErrorLine(t *testing.T) {
	smallChunks(t, 200)
	dir := newShop(t)
	mustRun(t, "sql", "--data", dir, "--db", "shop", "-q",
		"CREATE TABLE big (id BIGINT PRIMARY KEY, name VARCHAR(1000), qty BIGINT, note VARCHAR(255)); INSERT INTO big VALUES (-1, 'kept', 0, NULL);"+
			"CREATE TABLE nokey (id BIGINT, name VARCHAR(1000), qty BIGINT, note VARCHAR(255)); INSERT INTO nokey VALUES (-1, 'kept', 0, NULL)")
	for _, table := range []string{"big", "nokey"} {
		for _, bad := range []int{sampleRows + 350, sampleRows + 351, sampleRows + 699} {
			c := genCSV(sampleRows+700, bad)
			csv := writeFile(t, t.TempDir(), "bad.csv", c.text.String())
			_, errOut, code := lakesql(t, "", "import", "--data", dir, "--header", "shop."+table, csv)
			want := fmt.Sprintf("bad.csv line %d: column qty BIGINT: not an integer", c.lines[bad])
			if code != 1 || !strings.Contains(errOut, want) {
				t.Errorf("%s, record %d: exit %d: %s\nwant %q", table, bad, code, errOut, want)
			}
		}
		if got := query(t, dir, "shop", "SELECT COUNT(*), MIN(id) FROM "+table); got != "COUNT(*)\tMIN(id)\n1\t-1\n" {
			t.Errorf("%s: a failed import changed the table: %q", table, got)
		}
	}
	// The table takes a good file after the failures.
	c := genCSV(sampleRows+300, -1)
	mustRun(t, "import", "--data", dir, "--header", "shop.nokey", writeFile(t, t.TempDir(), "good.csv", c.text.String()))
	if got, want := query(t, dir, "shop", "SELECT COUNT(*), COUNT(DISTINCT id) FROM nokey"), fmt.Sprintf("COUNT(*)\tCOUNT(DISTINCT id)\n%d\t%d\n", sampleRows+301, sampleRows+301); got != want {
		t.Errorf("after a good import: %q, want %q", got, want)
	}
}
