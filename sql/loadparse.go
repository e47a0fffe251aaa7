package sql

import (
	"errors"
	"io"
)

// LOAD DATA's input format, read as MySQL reads it (go-mysql-server's own
// reader splits lines and fields without regard to quotes or escapes):
//
//   - a record ends at LINES TERMINATED BY outside an enclosed field; with
//     LINES STARTING BY, everything up to and including the prefix is
//     skipped, and a line without it is skipped whole;
//   - a field ends at FIELDS TERMINATED BY; a field that begins with the
//     ENCLOSED BY character ends at the next one followed by a field or
//     line terminator (or the end), and holds terminators as text; the
//     character twice inside it stands for itself;
//   - the ESCAPED BY character (default '\') makes the next character
//     literal, except \0 \b \n \r \t \Z (NUL, backspace, newline, return,
//     tab, ^Z); an unenclosed field that is exactly \N is NULL, and so is
//     the unenclosed word NULL when fields may be enclosed or there is no
//     escape character;
//   - an empty line is skipped (MySQL would make a row of defaults of it).

// loadFormat is LOAD DATA's FIELDS and LINES clauses.
type loadFormat struct {
	fieldTerm, lineStart, lineTerm string
	enclosed, escape               byte
	hasEnclosed, hasEscape         bool
}

// check refuses formats the reader cannot take. An escape character that
// is also the enclosing one only escapes itself, as doubling does: it is
// dropped.
func (f *loadFormat) check() error {
	if f.hasEscape && f.hasEnclosed && f.escape == f.enclosed {
		f.hasEscape = false
	}
	if f.fieldTerm == "" {
		return errors.New("LOAD DATA with an empty FIELDS TERMINATED BY (fixed-width rows) is not supported")
	}
	if f.lineTerm == "" {
		return errors.New("LOAD DATA with an empty LINES TERMINATED BY is not supported")
	}
	return nil
}

// loadReadSize is how much loadReader reads at a time.
const loadReadSize = 256 << 10

// loadReader reads LOAD DATA records from a stream.
type loadReader struct {
	f   loadFormat
	src io.Reader
	buf []byte // read, not yet consumed: buf[pos:]
	pos int
	eof bool
	err error
	// field collects the current field's bytes; line counts the records
	// read, for messages.
	field []byte
	line  int
}

func newLoadReader(src io.Reader, f loadFormat) *loadReader {
	return &loadReader{f: f, src: src, buf: make([]byte, 0, loadReadSize)}
}

// need makes at least n bytes available at pos unless the input ends
// first; it reports whether they are.
func (r *loadReader) need(n int) bool {
	for len(r.buf)-r.pos < n && !r.eof {
		if r.pos > 0 {
			r.buf = r.buf[:copy(r.buf, r.buf[r.pos:])]
			r.pos = 0
		}
		if cap(r.buf)-len(r.buf) < loadReadSize/2 {
			nb := make([]byte, len(r.buf), 2*cap(r.buf))
			copy(nb, r.buf)
			r.buf = nb
		}
		m, err := r.src.Read(r.buf[len(r.buf):cap(r.buf)])
		r.buf = r.buf[:len(r.buf)+m]
		if err == io.EOF {
			r.eof = true
		} else if err != nil {
			r.eof, r.err = true, err
		}
	}
	return len(r.buf)-r.pos >= n
}

// at reports whether s comes next.
func (r *loadReader) at(s string) bool {
	if !r.need(len(s)) {
		return false
	}
	return string(r.buf[r.pos:r.pos+len(s)]) == s
}

// skipLinePrefix skips to just after LINES STARTING BY, skipping the
// lines that lack it; false at the end of the input.
func (r *loadReader) skipLinePrefix() bool {
	for r.need(1) {
		if r.at(r.f.lineStart) {
			r.pos += len(r.f.lineStart)
			return true
		}
		if r.at(r.f.lineTerm) {
			r.pos += len(r.f.lineTerm)
			continue
		}
		r.pos++
	}
	return false
}

// next appends the next record's fields to fields and null (one entry
// each per field; a NULL field's text is ""), and returns them; at the
// end of the input it returns io.EOF. The strings are fresh copies.
func (r *loadReader) next(fields []string, null []bool) ([]string, []bool, error) {
	for {
		if r.f.lineStart != "" && !r.skipLinePrefix() {
			return fields, null, r.end()
		}
		if !r.need(1) {
			return fields, null, r.end()
		}
		if r.f.lineStart == "" && r.at(r.f.lineTerm) {
			r.pos += len(r.f.lineTerm) // an empty line
			continue
		}
		r.line++
		for {
			s, isNull, last := r.readField()
			fields, null = append(fields, s), append(null, isNull)
			if last {
				return fields, null, r.err
			}
		}
	}
}

// skipRecords reads n records and drops them (IGNORE n LINES).
func (r *loadReader) skipRecords(n int64) error {
	var fields []string
	var null []bool
	for ; n > 0; n-- {
		var err error
		if fields, null, err = r.next(fields[:0], null[:0]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
	return nil
}

// end is the error that ends the input.
func (r *loadReader) end() error {
	if r.err != nil {
		return r.err
	}
	return io.EOF
}

// readField reads one field; last reports that it ended its record.
func (r *loadReader) readField() (s string, isNull, last bool) {
	f := &r.f
	r.field = r.field[:0]
	quoted := f.hasEnclosed && r.need(1) && r.buf[r.pos] == f.enclosed
	enclosed := quoted // inside the quotes
	if quoted {
		r.pos++
	}
	escapedN := false // the field so far is exactly \N
	for {
		if !r.need(1) {
			last = true
			break
		}
		c := r.buf[r.pos]
		if enclosed && c == f.enclosed && !(f.hasEscape && c == f.escape) {
			if r.need(2) && r.buf[r.pos+1] == f.enclosed {
				r.field = append(r.field, c) // doubled: the character itself
				r.pos += 2
				escapedN = false
				continue
			}
			r.pos++
			if !r.need(1) || r.at(f.fieldTerm) || r.at(f.lineTerm) {
				enclosed = false // closed: a terminator follows
				continue
			}
			r.field = append(r.field, c) // a quote inside the field
			escapedN = false
			continue
		}
		if !enclosed {
			if r.at(f.fieldTerm) {
				r.pos += len(f.fieldTerm)
				break
			}
			if r.at(f.lineTerm) {
				r.pos += len(f.lineTerm)
				last = true
				break
			}
		}
		r.pos++
		if f.hasEscape && c == f.escape && r.need(1) {
			e := r.buf[r.pos]
			r.pos++
			escapedN = e == 'N' && len(r.field) == 0 && !quoted
			r.field = append(r.field, unescape(e))
			continue
		}
		escapedN = false
		r.field = append(r.field, c)
	}
	switch {
	case escapedN && len(r.field) == 1:
		return "", true, last
	case !quoted && (f.hasEnclosed || !f.hasEscape) && string(r.field) == "NULL":
		return "", true, last
	}
	return string(r.field), false, last
}

// unescape is the character an escape sequence's second byte stands for.
func unescape(c byte) byte {
	switch c {
	case '0':
		return 0
	case 'b':
		return '\b'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'Z':
		return 26
	}
	return c
}
