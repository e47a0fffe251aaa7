// Package regex implements the API of github.com/dolthub/go-icu-regex on
// top of github.com/dlclark/regexp2, a backtracking engine in pure Go, so
// that go-mysql-server's REGEXP functions work without compiling ICU as
// WebAssembly when the process starts. Patterns use ICU's syntax, as MySQL
// 8 does: the differences from regexp2's (.NET's) syntax are translated,
// see translate.go, and README.md for what still differs from ICU.
//
// Positions are counted in characters (Unicode code points), starting at
// 1; occurrences start at 1.
package regex

import (
	"context"
	stderrors "errors"
	"fmt"
	"sync"

	"github.com/dlclark/regexp2"
	"github.com/dlclark/regexp2/syntax"
	"gopkg.in/src-d/go-errors.v1"
)

// Regex is a regular expression and the text it is matched against. A
// Regex is for use by one goroutine at a time.
type Regex interface {
	// SetRegexString compiles regexStr with flags. It must come before any
	// other call but Close. A failed call leaves no regular expression set.
	SetRegexString(ctx context.Context, regexStr string, flags RegexFlags) error
	// SetMatchString sets the text that later calls search, after
	// SetRegexString (which clears it).
	SetMatchString(ctx context.Context, matchStr string) error
	// IndexOf returns the position of the occurrence-th match found from
	// position start: of its first character, or, with endIndex, of the
	// character after it. Positions and occurrences start at 1; an
	// occurrence below 1 means the first. It returns 0 when there is no
	// such match, and an error when start is not within 1 and the length
	// of the text plus 1.
	IndexOf(ctx context.Context, start int, occurrence int, endIndex bool) (int, error)
	// Matches reports whether there is an occurrence-th match from position
	// start. A start or occurrence below 1 means 1 (go-mysql-server passes
	// 0); a start beyond the length of the text plus 1 is an error.
	Matches(ctx context.Context, start int, occurrence int) (bool, error)
	// Replace returns the text with matches found from position replaced by
	// replacementStr: every match if occurrence is 0, else only the
	// occurrence-th (below 0: the first). The text before position is kept;
	// a position outside 1 to the length of the text plus 1 is an error.
	// In replacementStr, $n and ${name} stand for a capture group, and a
	// backslash makes the next character literal (\$, \\), as in ICU.
	Replace(ctx context.Context, replacementStr string, position int, occurrence int) (string, error)
	// Substring returns the occurrence-th match found from position start,
	// and whether there is one; start is checked as in IndexOf.
	Substring(ctx context.Context, start int, occurrence int) (string, bool, error)
	// StringBufferSize returns the size of the string buffers, in bytes:
	// always 0, as this implementation keeps none.
	StringBufferSize() uint32
	// Close releases the regular expression and the text. Unlike the ICU
	// version, nothing leaks when it is not called.
	Close() error
}

var (
	// ErrRegexNotYetSet is returned by a call that needs a regular
	// expression before SetRegexString succeeded.
	ErrRegexNotYetSet = errors.NewKind("SetRegexString must be called before any other function")
	// ErrMatchNotYetSet is returned by a call that needs the text before
	// SetMatchString.
	ErrMatchNotYetSet = errors.NewKind("SetMatchString must be called as there is nothing to match against")
	// ErrInvalidRegex is returned for a pattern that does not compile; the
	// cause says why.
	ErrInvalidRegex = errors.NewKind("the given regular expression is invalid")

	// errIndexOutOfBounds: a position outside the text (MySQL's
	// ER_REGEXP_INDEX_OUTOFBOUNDS_ERROR), or a replacement naming a group
	// number the pattern does not have.
	errIndexOutOfBounds = errors.NewKind("Index out of bounds in regular expression search.")
	// errInvalidGroupName: a replacement with $ followed by neither a
	// number nor the {name} of a group.
	errInvalidGroupName = errors.NewKind("A capture group has an invalid name.")
)

// ShouldPanic is kept for compatibility with the ICU version, where a Regex
// that was never closed panicked when finalized. Here a Regex holds nothing
// but Go memory: it is never finalized and this has no effect.
var ShouldPanic = true

// SetRegexLeakHandler is kept for compatibility with the ICU version: as a
// Regex here cannot leak, the handler is never called.
func SetRegexLeakHandler(handler func()) {}

// RegexFlags change how a pattern is read; combine them with |. The values
// are ICU's.
type RegexFlags uint32

const (
	// RegexFlags_None sets no flag.
	RegexFlags_None RegexFlags = 0
	// RegexFlags_Case_Insensitive matches letters without regard to case.
	RegexFlags_Case_Insensitive RegexFlags = 2
	// RegexFlags_Comments ignores white space and #-comments in the pattern.
	RegexFlags_Comments RegexFlags = 4
	// RegexFlags_Dot_All lets "." match line terminators too.
	RegexFlags_Dot_All RegexFlags = 32
	// RegexFlags_Literal reads the whole pattern as literal text;
	// RegexFlags_Case_Insensitive still applies, other flags do not.
	RegexFlags_Literal RegexFlags = 16
	// RegexFlags_Multiline lets "^" and "$" match at line ends within the
	// text, not only at its start and end.
	RegexFlags_Multiline RegexFlags = 8
	// RegexFlags_Unix_Lines makes "\n" the only line terminator for ".",
	// "^" and "$".
	RegexFlags_Unix_Lines RegexFlags = 1
	// RegexFlags_Unicode_Word asks ICU for Unicode (UAX #29) word boundaries
	// for \b; it is accepted and ignored here.
	RegexFlags_Unicode_Word RegexFlags = 256
	// RegexFlags_Error_On_Unknown_Escapes makes a backslash before an ASCII
	// letter with no meaning an error instead of the letter itself.
	RegexFlags_Error_On_Unknown_Escapes RegexFlags = 512
)

// CreateRegex returns a Regex. stringBufferInBytes sized ICU's preallocated
// buffers and is ignored here.
func CreateRegex(stringBufferInBytes uint32) Regex {
	return &privateRegex{}
}

// compiled is a compiled pattern; it is safe for concurrent use and shared
// through the cache.
type compiled struct {
	re     *regexp2.Regexp
	groups int
	names  map[string]int
}

type cacheKey struct {
	pattern string
	flags   RegexFlags
}

// The cache of compiled patterns: go-mysql-server compiles the pattern of
// REGEXP_REPLACE again for every row.
const cacheSize = 256

var cache struct {
	sync.Mutex
	m map[cacheKey]*compiled
}

func compile(pattern string, flags RegexFlags) (*compiled, error) {
	key := cacheKey{pattern, flags}
	cache.Lock()
	c, ok := cache.m[key]
	cache.Unlock()
	if ok {
		return c, nil
	}
	var opts regexp2.RegexOptions
	if flags&RegexFlags_Case_Insensitive != 0 {
		opts |= regexp2.IgnoreCase
	}
	c = &compiled{}
	src := ""
	if flags&RegexFlags_Literal != 0 {
		src = literalPattern(pattern)
	} else {
		t, err := translate(pattern, flags)
		if err != nil {
			return nil, ErrInvalidRegex.Wrap(err)
		}
		src, c.groups, c.names = t.pattern, t.groups, t.names
	}
	re, err := regexp2.Compile(src, opts)
	if err != nil {
		// regexp2's message quotes the translated pattern: leave it out.
		var se *syntax.Error
		if stderrors.As(err, &se) {
			err = syntaxError(fmt.Sprintf(se.Code.String(), se.Args...))
		}
		return nil, ErrInvalidRegex.Wrap(err)
	}
	c.re = re
	cache.Lock()
	if cache.m == nil {
		cache.m = make(map[cacheKey]*compiled)
	}
	if len(cache.m) >= cacheSize {
		for k := range cache.m {
			delete(cache.m, k)
			break
		}
	}
	cache.m[key] = c
	cache.Unlock()
	return c, nil
}

// privateRegex implements Regex.
type privateRegex struct {
	c       *compiled
	text    []rune
	textStr string
	textSet bool
}

var _ Regex = (*privateRegex)(nil)

// SetRegexString implements Regex.
func (pr *privateRegex) SetRegexString(ctx context.Context, regexStr string, flags RegexFlags) error {
	pr.c, pr.text, pr.textStr, pr.textSet = nil, nil, "", false
	c, err := compile(regexStr, flags)
	if err != nil {
		return err
	}
	pr.c = c
	return nil
}

// SetMatchString implements Regex.
func (pr *privateRegex) SetMatchString(ctx context.Context, matchStr string) error {
	if pr.c == nil {
		return ErrRegexNotYetSet.New()
	}
	pr.text, pr.textStr, pr.textSet = []rune(matchStr), matchStr, true
	return nil
}

// ready checks that the regular expression and the text are set.
func (pr *privateRegex) ready(ctx context.Context) error {
	if pr.c == nil {
		return ErrRegexNotYetSet.New()
	}
	if !pr.textSet {
		return ErrMatchNotYetSet.New()
	}
	if ctx != nil {
		return ctx.Err()
	}
	return nil
}

// find returns the occurrence-th match from the 1-based position start.
func (pr *privateRegex) find(ctx context.Context, start, occurrence int) (*regexp2.Match, error) {
	if err := pr.ready(ctx); err != nil {
		return nil, err
	}
	if start < 1 || start > len(pr.text)+1 {
		return nil, errIndexOutOfBounds.New()
	}
	m, err := pr.c.re.FindRunesMatchStartingAt(pr.text, start-1)
	for i := 1; i < occurrence && m != nil && err == nil; i++ {
		if ctx != nil {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		m, err = pr.c.re.FindNextMatch(m)
	}
	return m, err
}

// IndexOf implements Regex.
func (pr *privateRegex) IndexOf(ctx context.Context, start int, occurrence int, endIndex bool) (int, error) {
	m, err := pr.find(ctx, start, occurrence)
	if err != nil || m == nil {
		return 0, err
	}
	if endIndex {
		return m.Index + m.Length + 1, nil
	}
	return m.Index + 1, nil
}

// Matches implements Regex.
func (pr *privateRegex) Matches(ctx context.Context, start int, occurrence int) (bool, error) {
	m, err := pr.find(ctx, max(start, 1), occurrence)
	return m != nil, err
}

// Substring implements Regex.
func (pr *privateRegex) Substring(ctx context.Context, start int, occurrence int) (string, bool, error) {
	m, err := pr.find(ctx, start, occurrence)
	if err != nil || m == nil {
		return "", false, err
	}
	return string(m.Runes()), true, nil
}

// Replace implements Regex.
func (pr *privateRegex) Replace(ctx context.Context, replacementStr string, position int, occurrence int) (string, error) {
	m, err := pr.find(ctx, position, 1)
	if err != nil {
		return "", err
	}
	if occurrence < 0 {
		occurrence = 1
	}
	var (
		parts    []replacementPart
		partsErr error
		parsed   bool
		out      []rune
		last     int // the end of the text copied to out
		replaced bool
	)
	for n := 1; m != nil; n++ {
		if occurrence == 0 || n == occurrence {
			if !parsed {
				// As ICU, complain about the replacement only when it is used.
				parts, partsErr = parseReplacement(replacementStr, pr.c)
				parsed = true
			}
			if partsErr != nil {
				return "", partsErr
			}
			if out == nil {
				out = make([]rune, 0, len(pr.text)+len(replacementStr))
			}
			out = append(out, pr.text[last:m.Index]...)
			out = expand(out, parts, m)
			last = m.Index + m.Length
			replaced = true
			if occurrence != 0 {
				break
			}
		}
		if ctx != nil {
			if err := ctx.Err(); err != nil {
				return "", err
			}
		}
		if m, err = pr.c.re.FindNextMatch(m); err != nil {
			return "", err
		}
	}
	if !replaced {
		return pr.textStr, nil
	}
	out = append(out, pr.text[last:]...)
	return string(out), nil
}

// StringBufferSize implements Regex.
func (pr *privateRegex) StringBufferSize() uint32 { return 0 }

// Close implements Regex.
func (pr *privateRegex) Close() error {
	if pr != nil {
		pr.c, pr.text, pr.textStr, pr.textSet = nil, nil, "", false
	}
	return nil
}

// replacementPart is literal text, or a capture group when group >= 0.
type replacementPart struct {
	text  []rune
	group int
}

// parseReplacement reads a replacement string as ICU does: "\" makes the
// next character literal (\uhhhh and \Uhhhhhhhh name one), "$n" is group
// n (the longest run of digits that names an existing group), "${name}" a
// named group; any other "$" is an error.
func parseReplacement(s string, c *compiled) ([]replacementPart, error) {
	src := []rune(s)
	var parts []replacementPart
	var lit []rune
	flush := func() {
		if len(lit) > 0 {
			parts = append(parts, replacementPart{text: lit, group: -1})
			lit = nil
		}
	}
	for i := 0; i < len(src); i++ {
		switch r := src[i]; r {
		case '\\':
			i++
			if i >= len(src) {
				break
			}
			n := 0
			switch src[i] {
			case 'u':
				n = 4
			case 'U':
				n = 8
			}
			if n > 0 && i+n < len(src) {
				if v, ok := hexRune(src[i+1:i+1+n], n, n); ok {
					lit = append(lit, v)
					i += n
					break
				}
			}
			lit = append(lit, src[i])
		case '$':
			i++
			switch {
			case i < len(src) && src[i] == '{':
				end := i + 1
				for end < len(src) && src[end] != '}' {
					end++
				}
				if end >= len(src) {
					return nil, errInvalidGroupName.New()
				}
				g, ok := c.names[string(src[i+1:end])]
				if !ok {
					return nil, errInvalidGroupName.New()
				}
				flush()
				parts = append(parts, replacementPart{group: g})
				i = end
			case i < len(src) && src[i] >= '0' && src[i] <= '9':
				g, digits := 0, 0
				for i < len(src) && src[i] >= '0' && src[i] <= '9' {
					d := int(src[i] - '0')
					if g*10+d > c.groups {
						break
					}
					g = g*10 + d
					digits++
					i++
				}
				if digits == 0 {
					return nil, errIndexOutOfBounds.New()
				}
				i--
				flush()
				parts = append(parts, replacementPart{group: g})
			default:
				return nil, errInvalidGroupName.New()
			}
		default:
			lit = append(lit, r)
		}
	}
	flush()
	return parts, nil
}

// expand appends the replacement for match m to out.
func expand(out []rune, parts []replacementPart, m *regexp2.Match) []rune {
	for _, p := range parts {
		if p.group < 0 {
			out = append(out, p.text...)
			continue
		}
		if g := m.GroupByNumber(p.group); g != nil && len(g.Captures) > 0 {
			out = append(out, g.Runes()...)
		}
	}
	return out
}
