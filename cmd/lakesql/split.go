package main

import (
	"bufio"
	"errors"
	"io"
	"strings"
)

// splitter reads SQL statements one at a time from a script, so that
// `lakesql sql` runs each as soon as it is complete (a pipe need not be
// closed first). Statements end at a ';' outside quotes and comments:
//
//	'...' "..." `...`    quoted; a doubled quote or (not in backquotes) a
//	                     backslash escapes the next character
//	-- comment, # comment  to the end of the line (MySQL wants a space or a
//	                     control character after "--"); dropped
//	/* comment */        dropped, except /*! ... */ and /*+ ... */, which
//	                     MySQL executes or reads as hints; kept
//
// A statement that is only blanks and comments is skipped; the last one
// needs no ';'. The scan is bytewise: every byte it looks for is ASCII, and
// no byte of a multi-byte UTF-8 character is.
type splitter struct {
	r    *bufio.Reader
	line int // 1-based line of the next byte
}

func newSplitter(r io.Reader) *splitter { return &splitter{r: bufio.NewReader(r), line: 1} }

// errUnterminated is a script ending inside a quote or a comment.
var errUnterminated = errors.New("the script ends inside a quoted string or a /* comment */")

// next returns the next statement (without its ';'), trimmed, and the line
// it starts on; io.EOF after the last.
func (s *splitter) next() (string, int, error) {
	var b strings.Builder
	start := 0
	mark := func() { // the statement starts on this line
		if start == 0 {
			start = s.line
		}
	}
	for {
		c, err := s.r.ReadByte()
		if err == io.EOF {
			if q := strings.TrimSpace(b.String()); q != "" {
				return q, start, nil
			}
			return "", 0, io.EOF
		}
		if err != nil {
			return "", 0, err
		}
		switch {
		case c == '\n':
			s.line++
			b.WriteByte(c)
		case c == ';':
			if q := strings.TrimSpace(b.String()); q != "" {
				return q, start, nil
			}
			b.Reset()
			start = 0
		case c == '\'' || c == '"' || c == '`':
			mark()
			b.WriteByte(c)
			if err := s.quoted(&b, c); err != nil {
				return "", 0, err
			}
		case c == '#' || c == '-' && s.peekDashComment():
			if err := s.skipLine(); err != nil {
				return "", 0, err
			}
			b.WriteByte('\n')
		case c == '/' && s.peek(1) == "*":
			s.r.ReadByte()
			keep := s.peek(1) == "!" || s.peek(1) == "+"
			if keep {
				mark()
			}
			if err := s.comment(&b, keep); err != nil {
				return "", 0, err
			}
		default:
			if !isSpace(c) {
				mark()
			}
			b.WriteByte(c)
		}
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// peek returns up to n bytes ahead without consuming them.
func (s *splitter) peek(n int) string {
	p, _ := s.r.Peek(n)
	return string(p)
}

// peekDashComment reports whether a '-' just read starts a "-- " comment.
func (s *splitter) peekDashComment() bool {
	p := s.peek(2)
	if len(p) == 0 || p[0] != '-' {
		return false
	}
	return len(p) == 1 || p[1] <= ' ' // "--" at the end, or before a space or control character
}

// skipLine drops the rest of a line comment, keeping the line count.
func (s *splitter) skipLine() error {
	for {
		c, err := s.r.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if c == '\n' {
			s.line++
			return nil
		}
	}
}

// quoted copies a quoted string up to and including its closing quote q.
func (s *splitter) quoted(b *strings.Builder, q byte) error {
	for {
		c, err := s.r.ReadByte()
		if err == io.EOF {
			return errUnterminated
		}
		if err != nil {
			return err
		}
		b.WriteByte(c)
		switch {
		case c == '\n':
			s.line++
		case c == '\\' && q != '`':
			n, err := s.r.ReadByte()
			if err == io.EOF {
				return errUnterminated
			}
			if err != nil {
				return err
			}
			if n == '\n' {
				s.line++
			}
			b.WriteByte(n)
		case c == q:
			if s.peek(1) == string(q) {
				n, _ := s.r.ReadByte()
				b.WriteByte(n)
				continue
			}
			return nil
		}
	}
}

// comment reads a /* comment */ after its "/*", copying it when keep.
func (s *splitter) comment(b *strings.Builder, keep bool) error {
	if keep {
		b.WriteString("/*")
	} else {
		b.WriteByte(' ')
	}
	for {
		c, err := s.r.ReadByte()
		if err == io.EOF {
			return errUnterminated
		}
		if err != nil {
			return err
		}
		if c == '\n' {
			s.line++
		}
		if c == '*' && s.peek(1) == "/" {
			s.r.ReadByte()
			if keep {
				b.WriteString("*/")
			}
			return nil
		}
		if keep {
			b.WriteByte(c)
		}
	}
}
