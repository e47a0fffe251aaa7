package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	lsql "github.com/lakesql/lakesql/sql"
)

// Output formats of results.
const (
	formatTable = "table"
	formatCSV   = "csv"
	formatTSV   = "tsv"
	formatJSON  = "json"
)

func validFormat(f string) bool {
	switch f {
	case formatTable, formatCSV, formatTSV, formatJSON:
		return true
	}
	return false
}

// printer writes statement results in one format:
//
//	table  aligned, as the mysql client prints them: a header, the rows
//	       (numbers right-aligned), "N rows in set"; writes print
//	       "Query OK, N rows affected"; NULL is NULL
//	csv    RFC 4180 with a header line; NULL is an empty field
//	tsv    a header line, tab-separated values escaped as mysql --batch
//	       does (\t \n \\ \0); NULL is NULL
//	json   one JSON array of objects (column name: value) per result;
//	       integers and decimals are numbers, NULL is null
//
// Machine formats print nothing for statements without a result set. Results
// of several statements follow each other, separated by a blank line.
type printer struct {
	w       *bufio.Writer
	format  string
	results int
}

func newPrinter(w io.Writer, format string) *printer {
	return &printer{w: bufio.NewWriter(w), format: format}
}

// flush writes out what is buffered.
func (p *printer) flush() error { return p.w.Flush() }

// print writes one statement's result.
func (p *printer) print(res *lsql.Result) error {
	if isOK(res) {
		if p.format == formatTable {
			p.separate()
			fmt.Fprintf(p.w, "Query OK, %d %s affected\n", res.RowsAffected, plural(res.RowsAffected, "row", "rows"))
		}
		return p.flush()
	}
	p.separate()
	switch p.format {
	case formatCSV:
		p.csv(res, ',')
	case formatTSV:
		p.tsv(res)
	case formatJSON:
		p.json(res)
	default:
		p.table(res)
	}
	return p.flush()
}

// isOK reports whether a result is a write's (an affected-row count, no
// result set). Embedded clears the columns of go-mysql-server's OkResult
// schema by the name "OkResult"; v0.20.0 names it "__ok_result__".
func isOK(res *lsql.Result) bool {
	if len(res.Columns) == 0 {
		return true
	}
	return len(res.Columns) == 1 && len(res.Rows) == 0 && (res.Columns[0].Name == "__ok_result__" || res.Columns[0].Name == "OkResult")
}

func (p *printer) separate() {
	if p.results > 0 {
		p.w.WriteByte('\n')
	}
	p.results++
}

func plural(n uint64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// text spells a value for the table and tsv formats.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return formatFloat(x)
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// formatFloat spells a DOUBLE as MySQL does: positional notation for
// moderate magnitudes, exponent notation otherwise.
func formatFloat(f float64) string {
	if a := math.Abs(f); a != 0 && (a < 1e-5 || a >= 1e15) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func (p *printer) table(res *lsql.Result) {
	n := uint64(len(res.Rows))
	if n == 0 {
		p.w.WriteString("Empty set\n")
		return
	}
	cells := make([][]string, len(res.Rows))
	width := make([]int, len(res.Columns))
	for i, c := range res.Columns {
		width[i] = utf8.RuneCountInString(c.Name)
	}
	for r, row := range res.Rows {
		cells[r] = make([]string, len(row))
		for i, v := range row {
			s := text(v)
			cells[r][i] = s
			width[i] = max(width[i], utf8.RuneCountInString(s))
		}
	}
	rule := func() {
		for _, w := range width {
			p.w.WriteByte('+')
			p.w.WriteString(strings.Repeat("-", w+2))
		}
		p.w.WriteString("+\n")
	}
	line := func(vals []string, right func(i int) bool) {
		for i, s := range vals {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(s))
			p.w.WriteString("| ")
			if right(i) {
				p.w.WriteString(pad + s)
			} else {
				p.w.WriteString(s + pad)
			}
			p.w.WriteByte(' ')
		}
		p.w.WriteString("|\n")
	}
	names := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		names[i] = c.Name
	}
	rule()
	line(names, func(int) bool { return false })
	rule()
	for r := range cells {
		line(cells[r], func(i int) bool { return res.Columns[i].Kind != 'T' && res.Rows[r][i] != nil })
	}
	rule()
	fmt.Fprintf(p.w, "%d %s in set\n", n, plural(n, "row", "rows"))
}

func (p *printer) csv(res *lsql.Result, sep rune) {
	w := csv.NewWriter(p.w)
	w.Comma = sep
	rec := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		rec[i] = c.Name
	}
	w.Write(rec)
	for _, row := range res.Rows {
		for i, v := range row {
			if v == nil {
				rec[i] = ""
			} else {
				rec[i] = text(v)
			}
		}
		w.Write(rec)
	}
	w.Flush()
}

var tsvEscaper = strings.NewReplacer("\\", `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\x00", `\0`)

func (p *printer) tsv(res *lsql.Result) {
	for i, c := range res.Columns {
		if i > 0 {
			p.w.WriteByte('\t')
		}
		tsvEscaper.WriteString(p.w, c.Name)
	}
	p.w.WriteByte('\n')
	for _, row := range res.Rows {
		for i, v := range row {
			if i > 0 {
				p.w.WriteByte('\t')
			}
			tsvEscaper.WriteString(p.w, text(v))
		}
		p.w.WriteByte('\n')
	}
}

func (p *printer) json(res *lsql.Result) {
	p.w.WriteString("[")
	for r, row := range res.Rows {
		if r > 0 {
			p.w.WriteByte(',')
		}
		p.w.WriteString("\n  {")
		for i, v := range row {
			if i > 0 {
				p.w.WriteString(", ")
			}
			name, _ := json.Marshal(res.Columns[i].Name)
			p.w.Write(name)
			p.w.WriteString(": ")
			p.w.WriteString(jsonValue(res.Columns[i], v))
		}
		p.w.WriteByte('}')
	}
	if len(res.Rows) > 0 {
		p.w.WriteByte('\n')
	}
	p.w.WriteString("]\n")
}

// jsonValue spells a value as JSON: numbers stay numbers (a DECIMAL keeps
// its exact digits), a JSON column's documents stay documents, NULL is
// null.
func jsonValue(c lsql.Column, v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.Quote(formatFloat(x))
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		if (c.Kind == 'R' || c.Type == "JSON") && json.Valid([]byte(x)) {
			return x
		}
	}
	b, _ := json.Marshal(text(v))
	return string(b)
}
