package regex

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// This file turns a pattern in ICU's syntax (the one MySQL 8 documents)
// into an equivalent pattern for regexp2, whose syntax is .NET's. Most of
// the two languages agree; the translator rewrites what differs and
// rejects what regexp2 would read differently and cannot express:
//
//   - line terminators: ICU's ".", "^", "$" and "\Z" know \n, \v, \f, \r,
//     \r\n, U+0085, U+2028 and U+2029 (only \n with RegexFlags_Unix_Lines),
//     .NET's know \n alone, so they become explicit classes and lookarounds;
//     the m and s modes are applied here and never reach regexp2;
//   - RegexFlags_Comments and (?x) are applied here: white space and
//     #-comments are dropped before regexp2 sees the pattern;
//   - capture groups are all numbered left to right (.NET numbers named
//     groups after the unnamed ones), so named groups become plain groups
//     and names are resolved here, for back references and replacements;
//   - back references take as many digits as name a group opened so far,
//     and are written as \k<n> so that no following digit can join them;
//   - ICU-only syntax: possessive quantifiers (as atomic groups), \Q...\E,
//     \x{h...}, \Uhhhhhhhh, \0ooo, \h, \H, \v, \V, \R, \X, long property
//     names (\p{Alphabetic}, \p{Letter}, \p{sc=Greek}), POSIX-like sets
//     ([:alpha:], [[:digit:]], [:^space:]), nested sets and the set
//     operators && (intersection) and -- (difference);
//   - unknown escapes of ASCII letters stand for the letter (an error with
//     RegexFlags_Error_On_Unknown_Escapes), as in ICU;
//   - .NET-only syntax is refused: conditionals, balancing groups,
//     (?'name'...), the n flag, {,n}.

// lineTerm is ICU's set of line terminators, as the body of a class.
const lineTerm = `\n\x0B\f\r\x85\u2028\u2029`

// mode holds the flags that the translator applies itself.
type mode struct {
	multiline, dotAll, comments, unixLines bool
}

// translated is a translated pattern.
type translated struct {
	pattern string
	groups  int            // capture groups, numbered left to right
	names   map[string]int // named groups by name
}

type translator struct {
	src       []rune
	pos       int
	out       []byte
	mode      mode
	strict    bool // RegexFlags_Error_On_Unknown_Escapes
	frames    []frame
	groups    int
	names     map[string]int
	maxRef    int
	atomStart int // where the last quantifiable item begins in out, or -1
}

// frame is an open group.
type frame struct {
	mode  mode
	start int  // where the group begins in out
	flags bool // only a flag setting: nothing to quantify
}

type syntaxError string

func (e syntaxError) Error() string { return string(e) }

func errorf(format string, args ...any) error {
	return syntaxError(fmt.Sprintf(format, args...))
}

// translate translates pattern, with the flags that the translator applies.
func translate(pattern string, flags RegexFlags) (*translated, error) {
	t := &translator{
		src: []rune(pattern),
		mode: mode{
			multiline: flags&RegexFlags_Multiline != 0,
			dotAll:    flags&RegexFlags_Dot_All != 0,
			comments:  flags&RegexFlags_Comments != 0,
			unixLines: flags&RegexFlags_Unix_Lines != 0,
		},
		strict:    flags&RegexFlags_Error_On_Unknown_Escapes != 0,
		atomStart: -1,
	}
	if err := t.run(); err != nil {
		return nil, err
	}
	return &translated{pattern: string(t.out), groups: t.groups, names: t.names}, nil
}

// literalPattern is pattern with every character standing for itself.
func literalPattern(pattern string) string {
	var b []byte
	for _, r := range pattern {
		b = appendLiteral(b, r, false)
	}
	return string(b)
}

func (t *translator) eof() bool { return t.pos >= len(t.src) }

func (t *translator) peek() rune {
	if t.eof() {
		return -1
	}
	return t.src[t.pos]
}

func (t *translator) peekAt(i int) rune {
	if t.pos+i >= len(t.src) {
		return -1
	}
	return t.src[t.pos+i]
}

// skipIgnored skips white space and #-comments in comments mode.
func (t *translator) skipIgnored() {
	if !t.mode.comments {
		return
	}
	for !t.eof() {
		c := t.src[t.pos]
		switch {
		case unicode.Is(unicode.Pattern_White_Space, c):
			t.pos++
		case c == '#':
			for !t.eof() && !isLineTerm(t.src[t.pos]) {
				t.pos++
			}
		default:
			return
		}
	}
}

func isLineTerm(r rune) bool {
	return r >= '\n' && r <= '\r' || r == 0x85 || r == 0x2028 || r == 0x2029
}

// emitAtom writes s, an item that a quantifier may follow.
func (t *translator) emitAtom(s string) {
	t.atomStart = len(t.out)
	t.out = append(t.out, s...)
}

func (t *translator) emitLiteral(r rune) {
	t.atomStart = len(t.out)
	t.out = appendLiteral(t.out, r, false)
}

// appendLiteral writes r as a regexp2 literal, inside a class or not.
func appendLiteral(b []byte, r rune, inClass bool) []byte {
	switch {
	case r < 0x20 || r == 0x7f:
		return fmt.Appendf(b, `\x%02X`, r)
	case r < 0x80 && !isASCIIAlnum(r) && r != '_':
		return append(b, '\\', byte(r))
	case r >= 0x80 && !inClass && unicode.Is(unicode.Pattern_White_Space, r):
		return fmt.Appendf(b, `\u%04X`, r)
	}
	return append(b, string(r)...)
}

func isASCIIAlnum(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

func (t *translator) run() error {
	for {
		t.skipIgnored()
		if t.eof() {
			break
		}
		c := t.src[t.pos]
		t.pos++
		switch c {
		case '\\':
			if err := t.escape(); err != nil {
				return err
			}
		case '[':
			s, err := t.set()
			if err != nil {
				return err
			}
			t.emitAtom(s)
		case '(':
			if err := t.open(); err != nil {
				return err
			}
		case ')':
			if len(t.frames) == 0 {
				return errorf("unmatched closing parenthesis at offset %d", t.pos-1)
			}
			f := t.frames[len(t.frames)-1]
			t.frames = t.frames[:len(t.frames)-1]
			t.mode = f.mode
			t.out = append(t.out, ')')
			t.atomStart = f.start
			if f.flags {
				t.atomStart = -1
			}
		case '|':
			t.out = append(t.out, '|')
			t.atomStart = -1
		case '.':
			switch {
			case t.mode.dotAll:
				t.emitAtom(`[\s\S]`)
			case t.mode.unixLines:
				t.emitAtom(`.`)
			default:
				t.emitAtom(`[^` + lineTerm + `]`)
			}
		case '^':
			switch {
			case !t.mode.multiline:
				t.emitAtom(`\A`)
			case t.mode.unixLines:
				t.emitAtom(`(?:\A|(?<=\n)(?!\z))`)
			default:
				t.emitAtom(`(?:\A|(?<=[` + lineTerm + `])(?!\z))`)
			}
		case '$':
			t.emitAtom(t.dollar(t.mode.multiline))
		case '*', '+', '?':
			if err := t.quantifier(string(c)); err != nil {
				return err
			}
		case '{':
			q, err := t.interval()
			if err != nil {
				return err
			}
			if err := t.quantifier(q); err != nil {
				return err
			}
		default:
			t.emitLiteral(c)
		}
	}
	if len(t.frames) > 0 {
		return errorf("missing closing parenthesis")
	}
	if t.maxRef > t.groups {
		return errorf("back reference to group %d, which does not exist", t.maxRef)
	}
	return nil
}

// dollar is "$" (and "\Z" with multiline false) in the current mode.
func (t *translator) dollar(multiline bool) string {
	switch {
	case t.mode.unixLines && multiline:
		return `(?=\n|\z)`
	case t.mode.unixLines:
		return `(?=\n?\z)`
	case multiline:
		return `(?=[` + lineTerm + `]|\z)(?!(?<=\r)\n)`
	default:
		return `(?=(?:\r\n|[` + lineTerm + `])?\z)(?!(?<=\r)\n)`
	}
}

// quantifier writes q after the last atom, with a lazy or possessive
// suffix if one follows.
func (t *translator) quantifier(q string) error {
	if t.atomStart < 0 {
		return errorf("quantifier %q at offset %d follows nothing it can repeat", q, t.pos-1)
	}
	t.skipIgnored()
	switch t.peek() {
	case '?':
		t.pos++
		t.out = append(t.out, q+"?"...)
	case '+':
		t.pos++
		atom := string(t.out[t.atomStart:])
		t.out = append(t.out[:t.atomStart], "(?>"+atom+q+")"...)
	default:
		t.out = append(t.out, q...)
	}
	t.atomStart = -1
	return nil
}

// interval reads "{n}", "{n,}" or "{n,m}" after the "{".
func (t *translator) interval() (string, error) {
	readNum := func() (int, bool) {
		start := t.pos
		for !t.eof() && t.src[t.pos] >= '0' && t.src[t.pos] <= '9' {
			t.pos++
		}
		if t.pos == start {
			return 0, false
		}
		n, err := strconv.Atoi(string(t.src[start:t.pos]))
		if err != nil || n > 1<<30 {
			return 0, false
		}
		return n, true
	}
	bad := errorf("bad interval at offset %d", t.pos-1)
	lo, ok := readNum()
	if !ok {
		return "", bad
	}
	switch t.peek() {
	case '}':
		t.pos++
		return fmt.Sprintf("{%d}", lo), nil
	case ',':
		t.pos++
		if t.peek() == '}' {
			t.pos++
			return fmt.Sprintf("{%d,}", lo), nil
		}
		hi, ok := readNum()
		if !ok || t.peek() != '}' {
			return "", bad
		}
		t.pos++
		if hi < lo {
			return "", errorf("interval {%d,%d}: the maximum is less than the minimum", lo, hi)
		}
		return fmt.Sprintf("{%d,%d}", lo, hi), nil
	}
	return "", bad
}

// open handles what follows a "(".
func (t *translator) open() error {
	f := frame{mode: t.mode, start: len(t.out)}
	if t.peek() != '?' {
		t.groups++
		t.frames = append(t.frames, f)
		t.out = append(t.out, '(')
		t.atomStart = -1
		return nil
	}
	t.pos++
	switch c := t.peek(); {
	case c == ':' || c == '>' || c == '=' || c == '!':
		t.pos++
		t.out = append(t.out, '(', '?', byte(c))
	case c == '<' && (t.peekAt(1) == '=' || t.peekAt(1) == '!'):
		t.out = append(t.out, '(', '?', '<', byte(t.peekAt(1)))
		t.pos += 2
	case c == '<':
		t.pos++
		name, err := t.groupName('>')
		if err != nil {
			return err
		}
		if _, dup := t.names[name]; dup {
			return errorf("capture group name %q is used twice", name)
		}
		t.groups++
		if t.names == nil {
			t.names = map[string]int{}
		}
		t.names[name] = t.groups
		t.out = append(t.out, '(')
	case c == '#':
		for !t.eof() && t.src[t.pos] != ')' {
			t.pos++
		}
		if t.eof() {
			return errorf("unterminated comment")
		}
		t.pos++
		return nil // the last atom stays quantifiable
	default:
		return t.flagGroup(f)
	}
	t.frames = append(t.frames, f)
	t.atomStart = -1
	return nil
}

// groupName reads a capture group name up to end: an ASCII letter, then
// ASCII letters and digits.
func (t *translator) groupName(end rune) (string, error) {
	start := t.pos
	for !t.eof() && t.src[t.pos] != end {
		c := t.src[t.pos]
		if !isASCIIAlnum(c) || (t.pos == start && c >= '0' && c <= '9') {
			return "", errorf("invalid capture group name at offset %d", t.pos)
		}
		t.pos++
	}
	if t.eof() || t.pos == start {
		return "", errorf("invalid capture group name at offset %d", start)
	}
	name := string(t.src[start:t.pos])
	t.pos++
	return name, nil
}

// flagGroup reads "(?ismwx-ismwx)" or "(?ismwx-ismwx:" after the "(?".
func (t *translator) flagGroup(f frame) error {
	on, off := "", ""
	neg := false
	m := t.mode
	for {
		c := t.peek()
		t.pos++
		switch c {
		case 'i':
			if neg {
				off = "i"
			} else {
				on = "i"
			}
		case 'm':
			m.multiline = !neg
		case 's':
			m.dotAll = !neg
		case 'x':
			m.comments = !neg
		case 'w': // Unicode word boundaries: not supported, \b stays as it is
		case '-':
			if neg {
				return errorf("bad flag setting at offset %d", t.pos-1)
			}
			neg = true
		case ')', ':':
			inline := ""
			switch {
			case on != "" && off != "":
				inline = on + "-" + off
			case on != "":
				inline = on
			case off != "":
				inline = "-" + off
			}
			if c == ')' {
				// The setting lasts to the end of the enclosing group.
				t.mode = m
				if inline != "" {
					t.out = append(t.out, "(?"+inline+")"...)
				}
				t.atomStart = -1
				return nil
			}
			if inline == "" {
				inline = ":"
			} else {
				inline += ":"
			}
			t.out = append(t.out, "(?"+inline...)
			t.frames = append(t.frames, f)
			t.mode = m
			t.atomStart = -1
			return nil
		default:
			return errorf("unsupported group construct at offset %d", t.pos-1)
		}
	}
}

// escape handles what follows a "\" outside a set.
func (t *translator) escape() error {
	if t.eof() {
		return errorf("pattern ends in a backslash")
	}
	c := t.src[t.pos]
	t.pos++
	switch c {
	case 'b', 'B', 'A', 'z', 'G':
		t.out = append(t.out, '\\', byte(c))
		t.atomStart = len(t.out) - 2
		return nil
	case 'Z':
		t.emitAtom(t.dollar(false))
		return nil
	case 'R':
		t.emitAtom(`(?:\r\n|[` + lineTerm + `])`)
		return nil
	case 'X':
		t.emitAtom(`(?>\r\n|\P{M}\p{M}*)`)
		return nil
	case 'Q':
		for !t.eof() {
			if t.src[t.pos] == '\\' && t.peekAt(1) == 'E' {
				t.pos += 2
				return nil
			}
			t.emitLiteral(t.src[t.pos])
			t.pos++
		}
		return nil
	case 'E':
		return nil // a \E without \Q
	case 'k':
		if t.peek() != '<' {
			return errorf("bad named back reference at offset %d", t.pos-2)
		}
		t.pos++
		name, err := t.groupName('>')
		if err != nil {
			return err
		}
		n, ok := t.names[name]
		if !ok {
			return errorf("back reference to unknown group %q", name)
		}
		t.emitAtom(fmt.Sprintf(`\k<%d>`, n))
		return nil
	}
	if c >= '1' && c <= '9' {
		n := int(c - '0')
		for n < t.groups && t.peek() >= '0' && t.peek() <= '9' {
			n = n*10 + int(t.peek()-'0')
			t.pos++
		}
		t.maxRef = max(t.maxRef, n)
		t.emitAtom(fmt.Sprintf(`\k<%d>`, n))
		return nil
	}
	t.pos--
	cls, r, err := t.escapeItem()
	if err != nil {
		return err
	}
	if cls != nil {
		t.emitAtom(cls.render())
	} else {
		t.emitLiteral(r)
	}
	return nil
}

// classTerm is a set of characters: [body], or [^body] when neg.
type classTerm struct {
	body string
	neg  bool
}

func (c *classTerm) render() string {
	if c.neg {
		return "[^" + c.body + "]"
	}
	if strings.HasPrefix(c.body, `\`) && isSingleEscape(c.body) {
		return c.body
	}
	return "[" + c.body + "]"
}

// isSingleEscape reports whether body is one class escape (\d, \p{L}).
func isSingleEscape(body string) bool {
	if len(body) == 2 {
		return true
	}
	return (strings.HasPrefix(body, `\p{`) || strings.HasPrefix(body, `\P{`)) &&
		strings.IndexByte(body, '}') == len(body)-1
}

// escapeItem reads an escape (the "\" consumed) that is a character or a
// class, valid inside and outside sets.
func (t *translator) escapeItem() (*classTerm, rune, error) {
	if t.eof() {
		return nil, 0, errorf("pattern ends in a backslash")
	}
	start := t.pos - 1
	c := t.src[t.pos]
	t.pos++
	switch c {
	case 'd', 'D', 's', 'S', 'w', 'W':
		return &classTerm{body: `\` + string(c)}, 0, nil
	case 'h':
		return &classTerm{body: `\t\p{Zs}`}, 0, nil
	case 'H':
		return &classTerm{body: `\t\p{Zs}`, neg: true}, 0, nil
	case 'v':
		return &classTerm{body: lineTerm}, 0, nil
	case 'V':
		return &classTerm{body: lineTerm, neg: true}, 0, nil
	case 'p', 'P':
		var name string
		if t.peek() == '{' {
			end := t.pos + 1
			for end < len(t.src) && t.src[end] != '}' {
				end++
			}
			if end >= len(t.src) {
				return nil, 0, errorf("unterminated property at offset %d", start)
			}
			name = string(t.src[t.pos+1 : end])
			t.pos = end + 1
		} else if !t.eof() {
			name = string(t.src[t.pos])
			t.pos++
		}
		cls, err := property(name)
		if err != nil {
			return nil, 0, err
		}
		if c == 'P' {
			cls = cls.negate()
		}
		return cls, 0, nil
	case 'a':
		return nil, 0x07, nil
	case 'e':
		return nil, 0x1b, nil
	case 'f':
		return nil, '\f', nil
	case 'n':
		return nil, '\n', nil
	case 'r':
		return nil, '\r', nil
	case 't':
		return nil, '\t', nil
	case 'c':
		if t.eof() {
			return nil, 0, errorf("bad \\c escape at offset %d", start)
		}
		r := t.src[t.pos]
		t.pos++
		return nil, r & 0x1f, nil
	case '0':
		r := rune(0)
		for i := 0; i < 3 && t.peek() >= '0' && t.peek() <= '7'; i++ {
			r = r*8 + t.peek() - '0'
			t.pos++
		}
		return nil, r, nil
	case 'x':
		if t.peek() == '{' {
			end := t.pos + 1
			for end < len(t.src) && t.src[end] != '}' {
				end++
			}
			r, ok := hexRune(t.src[t.pos+1:min(end, len(t.src))], 1, 6)
			if end >= len(t.src) || !ok {
				return nil, 0, errorf("bad \\x{...} escape at offset %d", start)
			}
			t.pos = end + 1
			return nil, r, nil
		}
		n := 0
		for n < 2 && isHex(t.peekAt(n)) {
			n++
		}
		r, ok := hexRune(t.src[t.pos:t.pos+n], 1, 2)
		if !ok {
			return nil, 0, errorf("bad \\x escape at offset %d", start)
		}
		t.pos += n
		return nil, r, nil
	case 'u', 'U':
		n := 4
		if c == 'U' {
			n = 8
		}
		if t.pos+n > len(t.src) {
			return nil, 0, errorf("bad \\%c escape at offset %d", c, start)
		}
		r, ok := hexRune(t.src[t.pos:t.pos+n], n, n)
		if !ok {
			return nil, 0, errorf("bad \\%c escape at offset %d", c, start)
		}
		t.pos += n
		return nil, r, nil
	case 'N':
		return nil, 0, errorf("\\N{name} escapes are not supported")
	case 'b', 'B', 'A', 'z', 'Z', 'G', 'R', 'X', 'k':
		return nil, 0, errorf("\\%c at offset %d is not allowed in a set", c, start)
	}
	if t.strict && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return nil, 0, errorf("unknown escape \\%c at offset %d", c, start)
	}
	// Other escaped characters stand for themselves, as \1 in a set does.
	return nil, c, nil
}

func isHex(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'
}

func hexRune(s []rune, minLen, maxLen int) (rune, bool) {
	if len(s) < minLen || len(s) > maxLen {
		return 0, false
	}
	r := rune(0)
	for _, c := range s {
		if !isHex(c) {
			return 0, false
		}
		switch {
		case c <= '9':
			r = r*16 + c - '0'
		case c <= 'F':
			r = r*16 + c - 'A' + 10
		default:
			r = r*16 + c - 'a' + 10
		}
	}
	if r > unicode.MaxRune {
		return 0, false
	}
	return r, true
}

func (c *classTerm) negate() *classTerm {
	if isSingleEscape(c.body) && !c.neg {
		// \d -> \D, \p{L} -> \P{L}
		b := []byte(c.body)
		if b[1] >= 'a' {
			b[1] -= 'a' - 'A'
		} else {
			b[1] += 'a' - 'A'
		}
		return &classTerm{body: string(b)}
	}
	return &classTerm{body: c.body, neg: !c.neg}
}

// setUnion accumulates the members of a set: body is the inside of one
// regexp2 class, alts are whole one-character expressions.
type setUnion struct {
	body []byte
	alts []string
}

func (u *setUnion) empty() bool { return len(u.body) == 0 && len(u.alts) == 0 }

func (u *setUnion) addTerm(c *classTerm) {
	if !c.neg {
		u.body = append(u.body, c.body...)
	} else {
		u.alts = append(u.alts, c.render())
	}
}

// render is a one-character expression for the union, or negated.
func (u *setUnion) render(neg bool) string {
	if len(u.alts) == 0 {
		if len(u.body) == 0 {
			if neg {
				return `[\s\S]`
			}
			return `[^\s\S]`
		}
		if neg {
			return "[^" + string(u.body) + "]"
		}
		return "[" + string(u.body) + "]"
	}
	parts := u.alts
	if len(u.body) > 0 {
		parts = append([]string{"[" + string(u.body) + "]"}, parts...)
	}
	union := "(?:" + strings.Join(parts, "|") + ")"
	if neg {
		return `(?:(?!` + union + `)[\s\S])`
	}
	return union
}

// set reads a set after its "[" and returns a one-character expression.
func (t *translator) set() (string, error) {
	u, neg, expr, err := t.setBody()
	if err != nil {
		return "", err
	}
	if expr != "" {
		if neg {
			return `(?:(?!` + expr + `)[\s\S])`, nil
		}
		return expr, nil
	}
	return u.render(neg), nil
}

// posixSet reads "[:name:]" or "[:^name:]" at "[" (already consumed) if
// it is there.
func (t *translator) posixSet() (*classTerm, bool, error) {
	if t.peek() != ':' {
		return nil, false, nil
	}
	end := t.pos + 1
	for end+1 < len(t.src) && !(t.src[end] == ':' && t.src[end+1] == ']') {
		if t.src[end] == '[' || t.src[end] == ']' {
			return nil, false, nil
		}
		end++
	}
	if end+1 >= len(t.src) {
		return nil, false, nil
	}
	name := string(t.src[t.pos+1 : end])
	neg := strings.HasPrefix(name, "^")
	cls, err := property(strings.TrimPrefix(name, "^"))
	if err != nil {
		return nil, false, err
	}
	t.pos = end + 2
	if neg {
		cls = cls.negate()
	}
	return cls, true, nil
}

// setBody reads the inside of a set and its "]". It returns either a union
// (expr empty) or, when the set used && or --, a one-character expression.
func (t *translator) setBody() (u *setUnion, neg bool, expr string, err error) {
	start := t.pos - 1
	if cls, ok, err := t.posixSet(); err != nil {
		return nil, false, "", err
	} else if ok {
		u = &setUnion{}
		u.addTerm(cls)
		return u, false, "", nil
	}
	if t.peek() == '^' {
		neg = true
		t.pos++
	}
	u = &setUnion{}
	var left, op string
	first := true
	finish := func() error {
		if u.empty() {
			return errorf("empty operand of a set operator at offset %d", t.pos)
		}
		r := u.render(false)
		switch op {
		case "":
			left = r
		case "&&":
			left = "(?:(?=" + left + ")" + r + ")"
		case "--":
			left = "(?:(?!" + r + ")" + left + ")"
		}
		u = &setUnion{}
		return nil
	}
	for {
		if t.mode.comments {
			for !t.eof() && unicode.Is(unicode.Pattern_White_Space, t.src[t.pos]) {
				t.pos++
			}
		}
		if t.eof() {
			return nil, false, "", errorf("missing closing bracket of the set at offset %d", start)
		}
		c := t.src[t.pos]
		t.pos++
		if c == ']' && !first {
			break
		}
		first = false
		if (c == '&' || c == '-') && t.peek() == c {
			if u.empty() {
				return nil, false, "", errorf("set operator %c%c at offset %d has no left operand", c, c, t.pos-1)
			}
			if err := finish(); err != nil {
				return nil, false, "", err
			}
			op = string([]rune{c, c})
			t.pos++
			continue
		}
		var lo rune
		switch c {
		case '[':
			if cls, ok, err := t.posixSet(); err != nil {
				return nil, false, "", err
			} else if ok {
				u.addTerm(cls)
				continue
			}
			inner, ineg, iexpr, err := t.setBody()
			if err != nil {
				return nil, false, "", err
			}
			switch {
			case iexpr != "" && ineg:
				u.alts = append(u.alts, `(?:(?!`+iexpr+`)[\s\S])`)
			case iexpr != "":
				u.alts = append(u.alts, iexpr)
			case !ineg && len(inner.alts) == 0:
				u.body = append(u.body, inner.body...)
			default:
				u.alts = append(u.alts, inner.render(ineg))
			}
			continue
		case '\\':
			if t.peek() == 'Q' {
				t.pos++
				for !t.eof() && !(t.src[t.pos] == '\\' && t.peekAt(1) == 'E') {
					u.body = appendLiteral(u.body, t.src[t.pos], true)
					t.pos++
				}
				if !t.eof() {
					t.pos += 2
				}
				continue
			}
			if t.peek() == 'E' {
				t.pos++
				continue
			}
			cls, r, err := t.escapeItem()
			if err != nil {
				return nil, false, "", err
			}
			if cls != nil {
				u.addTerm(cls)
				continue
			}
			lo = r
		default:
			lo = c
		}
		// A range lo-hi?
		if t.peek() == '-' && t.peekAt(1) != ']' && t.peekAt(1) != '-' && t.peekAt(1) != '[' && t.peekAt(1) != -1 {
			t.pos++
			hi := t.src[t.pos]
			t.pos++
			if hi == '\\' {
				cls, r, err := t.escapeItem()
				if err != nil {
					return nil, false, "", err
				}
				if cls != nil {
					return nil, false, "", errorf("bad range in a set at offset %d", t.pos)
				}
				hi = r
			}
			if hi < lo {
				return nil, false, "", errorf("range out of order in a set at offset %d", t.pos-1)
			}
			u.body = appendLiteral(u.body, lo, true)
			u.body = append(u.body, '-')
			u.body = appendLiteral(u.body, hi, true)
			continue
		}
		u.body = appendLiteral(u.body, lo, true)
	}
	if op == "" {
		return u, neg, "", nil
	}
	if err := finish(); err != nil {
		return nil, false, "", err
	}
	return nil, neg, left, nil
}

// property is the class of a Unicode property or POSIX-like class name,
// as ICU spells them: "L", "Letter", "gc=Lu", "Greek", "sc=Greek",
// "Alphabetic", "White_Space", "alpha", "digit", ...
func property(name string) (*classTerm, error) {
	propertyOnce.Do(buildProperties)
	key := normalizeProperty(name)
	if k, v, ok := strings.Cut(key, "="); ok {
		switch k {
		case "gc", "generalcategory":
			if c, ok := categoryNames[v]; ok {
				return c, nil
			}
		case "sc", "script", "scx", "scriptextensions":
			if c, ok := scriptNames[v]; ok {
				return c, nil
			}
		}
		return nil, errorf("unknown property %q", name)
	}
	if c, ok := categoryNames[key]; ok {
		return c, nil
	}
	if c, ok := scriptNames[key]; ok {
		return c, nil
	}
	return nil, errorf("unknown property %q", name)
}

func normalizeProperty(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch r {
		case ' ', '_', '-':
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

var (
	propertyOnce  sync.Once
	categoryNames map[string]*classTerm // categories, binary properties, POSIX names
	scriptNames   map[string]*classTerm
)

// buildProperties fills the name tables, at the first use of a property.
func buildProperties() {
	categoryNames = map[string]*classTerm{}
	scriptNames = map[string]*classTerm{}
	for name := range unicode.Categories {
		categoryNames[normalizeProperty(name)] = &classTerm{body: `\p{` + name + `}`}
	}
	for name := range unicode.Properties {
		categoryNames[normalizeProperty(name)] = &classTerm{body: `\p{` + name + `}`}
	}
	for name := range unicode.Scripts {
		scriptNames[normalizeProperty(name)] = &classTerm{body: `\p{` + name + `}`}
	}
	long := map[string]string{
		"letter": "L", "casedletter": "LC", "uppercaseletter": "Lu", "lowercaseletter": "Ll",
		"titlecaseletter": "Lt", "modifierletter": "Lm", "otherletter": "Lo",
		"mark": "M", "combiningmark": "M", "nonspacingmark": "Mn", "spacingmark": "Mc", "enclosingmark": "Me",
		"number": "N", "decimalnumber": "Nd", "letternumber": "Nl", "othernumber": "No",
		"punctuation": "P", "connectorpunctuation": "Pc", "dashpunctuation": "Pd",
		"openpunctuation": "Ps", "closepunctuation": "Pe", "initialpunctuation": "Pi",
		"finalpunctuation": "Pf", "otherpunctuation": "Po",
		"symbol": "S", "mathsymbol": "Sm", "currencysymbol": "Sc", "modifiersymbol": "Sk", "othersymbol": "So",
		"separator": "Z", "spaceseparator": "Zs", "lineseparator": "Zl", "paragraphseparator": "Zp",
		"other": "C", "control": "Cc", "cntrl": "Cc", "format": "Cf", "surrogate": "Cs", "privateuse": "Co",
	}
	for k, v := range long {
		categoryNames[k] = &classTerm{body: `\p{` + v + `}`}
	}
	derived := map[string]*classTerm{
		"alphabetic": {body: `\p{L}\p{Nl}\p{Other_Alphabetic}`},
		"lowercase":  {body: `\p{Ll}\p{Other_Lowercase}`},
		"uppercase":  {body: `\p{Lu}\p{Other_Uppercase}`},
		"math":       {body: `\p{Sm}\p{Other_Math}`},
		"whitespace": {body: `\s`},
		"space":      {body: `\s`},
		"any":        {body: `\s\S`},
		"ascii":      {body: `\x00-\x7F`},
		"digit":      {body: `\d`},
		"xdigit":     {body: `\d\p{Hex_Digit}`},
		"alnum":      {body: `\p{L}\p{Nl}\p{Other_Alphabetic}\d`},
		"punct":      {body: `\p{P}`},
		"blank":      {body: `\t\p{Zs}`},
		"graph":      {body: `\s\p{Cc}\p{Cs}`, neg: true},
		"print":      {body: `\p{Cc}\p{Cs}\p{Zl}\p{Zp}`, neg: true},
	}
	derived["alpha"] = derived["alphabetic"]
	derived["lower"] = derived["lowercase"]
	derived["upper"] = derived["uppercase"]
	for k, v := range derived {
		categoryNames[k] = v
	}
}
