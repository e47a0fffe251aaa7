package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// csvReader reads CSV records (RFC 4180): fields separated by one byte,
// optionally enclosed in double quotes (a doubled quote inside is one
// quote; quoted fields may span lines), records ended by \n or \r\n; blank
// lines are skipped. An unquoted empty field and an unquoted \N are NULL;
// a quoted empty field ("") is the empty string.
//
// It is written for import speed: a line without quotes becomes one
// string, and its fields are substrings of it (no copy per field).
type csvReader struct {
	r     *bufio.Reader
	data  []byte // without r: the rest of a chunk (newCSVChunk)
	sep   byte
	line  int   // lines read so far
	start int   // the line the last record started on
	bytes int64 // bytes read so far
	acc   []byte
	// fields and nulls are the last record's, reused.
	fields []string
	nulls  []bool
}

func newCSVReader(r io.Reader, sep byte) *csvReader {
	return &csvReader{r: bufio.NewReaderSize(r, 1<<20), sep: sep}
}

// newCSVChunk returns a reader of data, a piece of a file that holds
// whole records and follows its line `line`.
func newCSVChunk(data []byte, sep byte, line int) *csvReader {
	return &csvReader{data: data, sep: sep, line: line}
}

// readLine returns the next line without its line end; io.EOF after the
// last. The slice is valid until the next call.
func (c *csvReader) readLine() ([]byte, error) {
	if c.r == nil {
		if len(c.data) == 0 {
			return nil, io.EOF
		}
		line := c.data
		if i := bytes.IndexByte(c.data, '\n'); i >= 0 {
			line, c.data = c.data[:i+1], c.data[i+1:]
		} else {
			c.data = nil
		}
		return c.trim(line), nil
	}
	line, err := c.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		c.acc = append(c.acc[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = c.r.ReadSlice('\n')
			c.acc = append(c.acc, line...)
		}
		line = c.acc
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(line) == 0 && err == io.EOF {
		return nil, io.EOF
	}
	return c.trim(line), nil
}

// trim counts a line read and cuts its line end (and a byte order mark
// from the first).
func (c *csvReader) trim(line []byte) []byte {
	c.line++
	c.bytes += int64(len(line))
	if c.line == 1 {
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	return bytes.TrimSuffix(line, []byte{'\r'})
}

// read returns the next record's fields and which of them are NULL; both
// are reused by the next call. io.EOF after the last record.
func (c *csvReader) read() ([]string, []bool, error) {
	var line []byte
	for {
		l, err := c.readLine()
		if err != nil {
			return nil, nil, err
		}
		if len(l) > 0 {
			line = l
			break
		}
	}
	c.start = c.line
	c.fields, c.nulls = c.fields[:0], c.nulls[:0]
	if bytes.IndexByte(line, '"') < 0 {
		s := string(line)
		for {
			i := strings.IndexByte(s, c.sep)
			f := s
			if i >= 0 {
				f = s[:i]
			}
			c.fields = append(c.fields, f)
			c.nulls = append(c.nulls, f == "" || f == `\N`)
			if i < 0 {
				return c.fields, c.nulls, nil
			}
			s = s[i+1:]
		}
	}
	return c.readQuoted(line)
}

// readQuoted parses a record with quotes, reading more lines while a
// quoted field is open.
func (c *csvReader) readQuoted(line []byte) ([]string, []bool, error) {
	var b strings.Builder
	rest := string(line) // line is reused by the next readLine
	for {
		// At the start of a field.
		if len(rest) == 0 || rest[0] != '"' {
			i := strings.IndexByte(rest, c.sep)
			f := rest
			if i >= 0 {
				f = rest[:i]
			}
			if strings.IndexByte(f, '"') >= 0 {
				return nil, nil, fmt.Errorf("line %d: a quote inside the unquoted field %q (quote the whole field, doubling the quotes inside it)", c.line, f)
			}
			c.fields = append(c.fields, f)
			c.nulls = append(c.nulls, f == "" || f == `\N`)
			if i < 0 {
				return c.fields, c.nulls, nil
			}
			rest = rest[i+1:]
			continue
		}
		// A quoted field.
		b.Reset()
		rest = rest[1:]
		for {
			i := strings.IndexByte(rest, '"')
			if i < 0 {
				b.WriteString(rest)
				b.WriteByte('\n')
				next, err := c.readLine()
				if err == io.EOF {
					return nil, nil, fmt.Errorf("line %d: a quoted field is not closed before the end of the file", c.start)
				}
				if err != nil {
					return nil, nil, err
				}
				rest = string(next)
				continue
			}
			b.WriteString(rest[:i])
			rest = rest[i+1:]
			if len(rest) > 0 && rest[0] == '"' {
				b.WriteByte('"')
				rest = rest[1:]
				continue
			}
			break
		}
		c.fields = append(c.fields, b.String())
		c.nulls = append(c.nulls, false)
		switch {
		case len(rest) == 0:
			return c.fields, c.nulls, nil
		case rest[0] == c.sep:
			rest = rest[1:]
			if len(rest) == 0 { // a trailing separator: one more, empty field
				c.fields = append(c.fields, "")
				c.nulls = append(c.nulls, true)
				return c.fields, c.nulls, nil
			}
		default:
			return nil, nil, fmt.Errorf("line %d: %q follows a closing quote (a quote inside a quoted field is written twice: \"\")", c.line, abbreviate(rest, 20))
		}
	}
}

// csvSource is a CSV file being imported: its first records are read
// ahead to name and type the columns.
type csvSource struct {
	r      *csvReader
	cols   []srcColumn
	sample [][]string // records read ahead (NULL as nil strings: see nulls)
	snulls [][]bool
	slines []int // the lines the sampled records start on
	header bool
}

// srcColumn is a column of a file: its name and the SQL type inferred or
// mapped for it.
type srcColumn struct {
	name     string
	typ      string
	nullable bool
}

// sampleRows is how many records type inference reads.
const sampleRows = 10000

func newCSVSource(r io.Reader, sep byte, header bool) (*csvSource, error) {
	s := &csvSource{r: newCSVReader(r, sep), header: header}
	var names []string
	if header {
		f, _, err := s.r.read()
		if err == io.EOF {
			return nil, errors.New("the file is empty (no header line)")
		}
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for i, n := range f {
			n = strings.TrimSpace(n)
			if n == "" {
				n = fmt.Sprintf("c%d", i+1)
			}
			if seen[strings.ToLower(n)] {
				return nil, fmt.Errorf("line 1: the header names column %s twice", n)
			}
			seen[strings.ToLower(n)] = true
			names = append(names, n)
		}
	}
	for len(s.sample) < sampleRows {
		f, nulls, err := s.r.read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if names == nil {
			for i := range f {
				names = append(names, fmt.Sprintf("c%d", i+1))
			}
		}
		if len(f) != len(names) {
			return nil, fmt.Errorf("line %d: %d fields, want %d", s.r.start, len(f), len(names))
		}
		s.sample = append(s.sample, append([]string(nil), f...))
		s.snulls = append(s.snulls, append([]bool(nil), nulls...))
		s.slines = append(s.slines, s.r.start)
	}
	if names == nil {
		return nil, errors.New("the file is empty")
	}
	for i, n := range names {
		s.cols = append(s.cols, srcColumn{name: n, typ: inferType(s.sample, s.snulls, i), nullable: true})
	}
	return s, nil
}

func (s *csvSource) columns() []srcColumn { return s.cols }

// textBatch is a batch of records: width fields (and NULL flags) per
// record, the lines they start on, and the bytes read so far.
type textBatch struct {
	fields []string
	nulls  []bool
	lines  []int
	bytes  int64
}

// csvPiece is what an import reads of a CSV file, in file order: the
// records sampled for type inference (batch), then the rest of the file in
// chunks of whole records, which workers parse in parallel.
type csvPiece struct {
	batch *textBatch
	chunk []byte
	line  int   // of a chunk: the lines before it
	bytes int64 // the bytes read up to its end
}

// chunkBytes is about the size of a chunk (a variable for tests).
var chunkBytes = 1 << 20

// produce sends the sampled records and then the rest of the file in
// chunks; it returns when send refuses one (the consumer stopped), at the
// end, or at a read error.
func (s *csvSource) produce(send func(csvPiece) bool) error {
	if len(s.sample) > 0 {
		b := &textBatch{lines: s.slines, bytes: s.r.bytes}
		for i, f := range s.sample {
			b.fields = append(b.fields, f...)
			b.nulls = append(b.nulls, s.snulls[i]...)
		}
		s.sample, s.snulls, s.slines = nil, nil, nil
		if !send(csvPiece{batch: b}) {
			return nil
		}
	}
	if s.r.r == nil {
		return nil
	}
	line, read := s.r.line, s.r.bytes
	var carry []byte
	for {
		data := make([]byte, len(carry)+chunkBytes)
		copy(data, carry)
		n, err := io.ReadFull(s.r.r, data[len(carry):])
		data = data[:len(carry)+n]
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return err
		}
		if eof && len(data) == 0 {
			return nil
		}
		cut := len(data) - 1 // the end of the last whole record
		if !eof {
			cut = recordsEnd(data)
		}
		if cut < 0 { // a record longer than the data: read more
			carry = data
			continue
		}
		chunk := data[:cut+1]
		carry = append([]byte(nil), data[cut+1:]...)
		read += int64(len(chunk))
		if len(chunk) > 0 && !send(csvPiece{chunk: chunk, line: line, bytes: read}) {
			return nil
		}
		line += bytes.Count(chunk, []byte{'\n'})
		if eof {
			return nil
		}
	}
}

// recordsEnd returns the position of the last line end of data that is
// not inside a quoted field (data starts at a record), or -1. Quotes come
// in pairs ("" inside a quoted field too), so a line end is inside a field
// when an odd number of quotes precede it.
func recordsEnd(data []byte) int {
	if bytes.IndexByte(data, '"') < 0 {
		return bytes.LastIndexByte(data, '\n')
	}
	in, last := false, -1
	for i, c := range data {
		switch c {
		case '"':
			in = !in
		case '\n':
			if !in {
				last = i
			}
		}
	}
	return last
}

// parse reads the records of a chunk into a batch.
func (s *csvSource) parse(p csvPiece) (*textBatch, error) {
	if p.batch != nil {
		return p.batch, nil
	}
	w := len(s.cols)
	guess := bytes.Count(p.chunk, []byte{'\n'}) + 1
	b := &textBatch{fields: make([]string, 0, w*guess), nulls: make([]bool, 0, w*guess), lines: make([]int, 0, guess), bytes: p.bytes}
	r := newCSVChunk(p.chunk, s.r.sep, p.line)
	for {
		f, nulls, err := r.read()
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
		if len(f) != w {
			return nil, fmt.Errorf("line %d: %d fields, want %d", r.start, len(f), w)
		}
		b.fields = append(b.fields, f...)
		b.nulls = append(b.nulls, nulls...)
		b.lines = append(b.lines, r.start)
	}
}

// Type inference. A column is the first of these that every non-NULL
// sampled value fits: BOOLEAN (true/false), BIGINT, DOUBLE, DATE
// (YYYY-MM-DD), DATETIME(p) (YYYY-MM-DD hh:mm:ss[.f], p the most
// fractional digits), TIMESTAMP(p) (the same with a zone: Z or +hh:mm),
// else VARCHAR(n) with n at least 255 and twice the longest sampled value,
// or TEXT past 16383 characters. Decimal fractions become DOUBLE, as in
// DuckDB; create the table first for DECIMAL.

func inferType(sample [][]string, nulls [][]bool, col int) string {
	isBool, isInt, isFloat, isDate, isDatetime, isTimestamp := true, true, true, true, true, true
	prec, maxLen, seen := 0, 0, false
	for r, rec := range sample {
		if nulls[r][col] {
			continue
		}
		v := strings.TrimSpace(rec[col])
		seen = true
		maxLen = max(maxLen, utf8.RuneCountInString(rec[col]))
		if isBool {
			isBool = strings.EqualFold(v, "true") || strings.EqualFold(v, "false")
		}
		if isInt {
			_, err := strconv.ParseInt(v, 10, 64)
			isInt = err == nil
		}
		if isFloat {
			_, err := strconv.ParseFloat(v, 64)
			isFloat = err == nil && strings.ContainsAny(v, "0123456789")
		}
		if isDate {
			_, err := time.Parse("2006-01-02", v)
			isDate = err == nil
		}
		if isDatetime || isTimestamp {
			p, zone, ok := datetimeShape(v)
			isDatetime = isDatetime && ok && !zone
			isTimestamp = isTimestamp && ok && zone
			prec = max(prec, p)
		}
	}
	switch {
	case !seen:
		return "VARCHAR(255)"
	case isBool:
		return "BOOLEAN"
	case isInt:
		return "BIGINT"
	case isFloat:
		return "DOUBLE"
	case isDate:
		return "DATE"
	case isDatetime, isTimestamp:
		name := "DATETIME"
		if isTimestamp {
			name = "TIMESTAMP"
		}
		if prec > 0 {
			return fmt.Sprintf("%s(%d)", name, prec)
		}
		return name
	case 2*maxLen <= 255:
		return "VARCHAR(255)"
	case 2*maxLen <= 16383:
		return fmt.Sprintf("VARCHAR(%d)", 2*maxLen)
	}
	return "TEXT"
}

// datetimeShape reads "YYYY-MM-DD hh:mm:ss[.f][zone]" (or with a T): its
// fractional digits (at most 6 count) and whether it has a zone.
func datetimeShape(v string) (prec int, zone, ok bool) {
	if len(v) < 19 || (v[10] != ' ' && v[10] != 'T') {
		return 0, false, false
	}
	t := v[:10] + "T" + v[11:]
	if _, err := time.Parse("2006-01-02T15:04:05.999999999", t); err == nil {
		zone = false
	} else if _, err := time.Parse(time.RFC3339Nano, t); err == nil {
		zone = true
	} else {
		return 0, false, false
	}
	if len(v) > 19 && v[19] == '.' {
		i := 20
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		prec = min(i-20, 6)
	}
	return prec, zone, true
}
