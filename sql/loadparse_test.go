package sql

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads every record of in, spelling NULL as <NULL>.
func readAll(in io.Reader, f loadFormat, skip int64) ([][]string, error) {
	r := newLoadReader(in, f)
	if err := r.skipRecords(skip); err != nil {
		return nil, err
	}
	var out [][]string
	for {
		fields, null, err := r.next(nil, nil)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		for i := range fields {
			if null[i] {
				fields[i] = "<NULL>"
			}
		}
		out = append(out, fields)
	}
}

// TestLoadReader: LOAD DATA's input is read with MySQL's rules for
// terminators, enclosing quotes, escapes and NULL, whole or a byte at a
// time (records and terminators then straddle every read).
func TestLoadReader(t *testing.T) {
	tab := loadFormat{fieldTerm: "\t", lineTerm: "\n", escape: '\\', hasEscape: true}
	csv := loadFormat{fieldTerm: ",", lineTerm: "\n", escape: '\\', hasEscape: true, enclosed: '"', hasEnclosed: true}
	for _, tc := range []struct {
		name string
		f    loadFormat
		skip int64
		in   string
		want string // records joined by " / ", fields by "|"
	}{
		{"tab defaults", tab, 0, "1\ta\n2\tb\n", "1|a / 2|b"},
		{"no final terminator", tab, 0, "1\ta\n2\tb", "1|a / 2|b"},
		{"empty lines are skipped", tab, 0, "\n1\ta\n\n\n2\tb\n\n", "1|a / 2|b"},
		{"empty fields", tab, 0, "\t\n1\t\n", "| / 1|"},
		{"escapes", tab, 0, `a\tb\nc\\d\0e\Zf\x` + "\n", "a\tb\nc\\d\x00e\x1afx"},
		{"escaped terminators", tab, 0, "a\\\tb\tc\\\nd\n", "a\tb|c\nd"},
		{"\\N is NULL only whole", tab, 0, "\\N\tx\\N\t\\Nx\n", "<NULL>|xN|Nx"},
		{"NULL word is text without quotes", tab, 0, "NULL\tnull\n", "NULL|null"},
		{"quoted fields", csv, 0, `1,"a,b","c` + "\n" + `d"` + "\n", "1|a,b|c\nd"},
		{"doubled quote", csv, 0, `"say ""hi""",x` + "\n", `say "hi"|x`},
		{"quote inside a field", csv, 0, `"a"b",c` + "\n" + `x"y,z` + "\n", `a"b|c / x"y|z`},
		{"escaped quote", csv, 0, `"a\"b",c` + "\n", `a"b|c`},
		{"NULL word with quotes allowed", csv, 0, `NULL,"NULL",\N,"\N"` + "\n", "<NULL>|NULL|<NULL>|N"},
		{"empty quoted field", csv, 0, `"",a,""` + "\n", "|a|"},
		{"unterminated quote runs to the end", csv, 0, `1,"abc` + "\n" + `2,x`, "1|abc\n2,x"},
		{"CRLF lines", loadFormat{fieldTerm: ",", lineTerm: "\r\n", escape: '\\', hasEscape: true}, 0, "1,a\r\n2,b\nc\r\n", "1|a / 2|b\nc"},
		{"multi-byte field terminator", loadFormat{fieldTerm: "||", lineTerm: "\n"}, 0, "a||b|c||d\n", "a|b|c|d"},
		{"no escape: backslash is text, NULL word is NULL", loadFormat{fieldTerm: ",", lineTerm: "\n"}, 0, `a\tb,NULL,\N` + "\n", `a\tb|<NULL>|\N`},
		{"line prefix", loadFormat{fieldTerm: ",", lineTerm: "\n", lineStart: "xxx", escape: '\\', hasEscape: true}, 0,
			"xxx1,a\nskipped\nzzxxx2,b\n", "1|a / 2|b"},
		{"ignore lines counts records", csv, 2, "h1,h2\n\"multi\nline\",x\n1,a\n", "1|a"},
		{"ignore more lines than there are", csv, 5, "1,a\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, oneByte := range []bool{false, true} {
				var in io.Reader = strings.NewReader(tc.in)
				if oneByte {
					in = iotest.OneByteReader(in)
				}
				f := tc.f
				if err := f.check(); err != nil {
					t.Fatal(err)
				}
				recs, err := readAll(in, f, tc.skip)
				if err != nil {
					t.Fatal(err)
				}
				var parts []string
				for _, r := range recs {
					parts = append(parts, strings.Join(r, "|"))
				}
				if got := strings.Join(parts, " / "); got != tc.want {
					t.Errorf("one byte at a time %v: got %q, want %q", oneByte, got, tc.want)
				}
			}
		})
	}
}

// TestLoadReaderErrors: a failing input ends the records with its error;
// formats the reader cannot take are refused.
func TestLoadReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	in := io.MultiReader(strings.NewReader("1\ta\n2\tb"), iotest.ErrReader(boom))
	recs, err := readAll(in, loadFormat{fieldTerm: "\t", lineTerm: "\n"}, 0)
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want boom", err)
	}
	if len(recs) != 1 {
		t.Errorf("%d records before the error, want 1", len(recs))
	}
	for _, f := range []loadFormat{{fieldTerm: "", lineTerm: "\n"}, {fieldTerm: ",", lineTerm: ""}} {
		if err := f.check(); err == nil {
			t.Errorf("format %+v accepted", f)
		}
	}
}

// TestLoadReaderLongRecord: a record longer than a read grows the buffer.
func TestLoadReaderLongRecord(t *testing.T) {
	long := strings.Repeat("x", 3*loadReadSize+17)
	recs, err := readAll(strings.NewReader("a,"+long+"\nb,c\n"), loadFormat{fieldTerm: ",", lineTerm: "\n"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0][1] != long || recs[1][1] != "c" {
		t.Errorf("records %d, first %d bytes", len(recs), len(recs[0][1]))
	}
}
