package regex

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

var ctx = context.Background()

// newRegex returns a Regex with pattern set, and text if it is not nil.
func newRegex(t *testing.T, pattern string, flags RegexFlags, text *string) Regex {
	t.Helper()
	r := CreateRegex(0)
	t.Cleanup(func() { r.Close() })
	if err := r.SetRegexString(ctx, pattern, flags); err != nil {
		t.Fatalf("SetRegexString(%q, %d): %v", pattern, flags, err)
	}
	if text != nil {
		if err := r.SetMatchString(ctx, *text); err != nil {
			t.Fatalf("SetMatchString(%q): %v", *text, err)
		}
	}
	return r
}

func TestFlagValues(t *testing.T) {
	// ICU's values: go-mysql-server only uses the names, but they are
	// part of the API.
	for _, tc := range []struct {
		flag RegexFlags
		want uint32
	}{
		{RegexFlags_None, 0}, {RegexFlags_Unix_Lines, 1}, {RegexFlags_Case_Insensitive, 2},
		{RegexFlags_Comments, 4}, {RegexFlags_Multiline, 8}, {RegexFlags_Literal, 16},
		{RegexFlags_Dot_All, 32}, {RegexFlags_Unicode_Word, 256}, {RegexFlags_Error_On_Unknown_Escapes, 512},
	} {
		if uint32(tc.flag) != tc.want {
			t.Errorf("flag %d, want %d", tc.flag, tc.want)
		}
	}
}

func TestMatches(t *testing.T) {
	const (
		i = RegexFlags_Case_Insensitive
		m = RegexFlags_Multiline
		s = RegexFlags_Dot_All
		u = RegexFlags_Unix_Lines
		x = RegexFlags_Comments
		l = RegexFlags_Literal
		e = RegexFlags_Error_On_Unknown_Escapes
	)
	for _, tc := range []struct {
		pattern string
		flags   RegexFlags
		text    string
		want    bool
	}{
		{`b`, 0, "abc", true},
		{`B`, 0, "abc", false},
		{`B`, i, "abc", true},
		{`(?i)B`, 0, "abc", true},
		{`(?i:B)C`, 0, "abc", false},
		{`(?-i)B`, i, "abc", false},
		{`ÉTÉ`, i, "été", true},
		{`^abc$`, 0, "abc", true},
		{`^$`, 0, "", true},
		{`x*`, 0, "", true},

		// Line terminators: ICU knows \r, \r\n, \v, \f, U+0085, U+2028 and
		// U+2029 besides \n, unless RegexFlags_Unix_Lines.
		{`a.b`, 0, "a\nb", false},
		{`a.b`, 0, "a\rb", false},
		{`a.b`, 0, "a\u2028b", false},
		{`a.b`, u, "a\rb", true},
		{`a.b`, u, "a\nb", false},
		{`a.b`, s, "a\nb", true},
		{`(?s)a.b`, 0, "a\rb", true},
		{`(?s:a.)b`, 0, "a\nb", true},
		{`(?s:a)(?-s).b`, s, "a\nb", false},
		{`abc$`, 0, "abc\n", true},
		{`abc$`, 0, "abc\r\n", true},
		{`abc$`, u, "abc\r\n", false},
		{`abc$`, 0, "abc\n\n", false},
		{`abc\Z`, 0, "abc\r\n", true},
		{`abc\z`, 0, "abc\n", false},
		{`^b`, 0, "a\nb", false},
		{`^b`, m, "a\nb", true},
		{`^b`, m, "a\rb", true},
		{`^b`, m | u, "a\rb", false},
		{`(?m)^b$`, 0, "a\nb\nc", true},
		{`a$`, m, "a\r\nb", true},
		{`a$`, m, "a\nb", true},
		{`a$`, 0, "a\nb", false},
		// Multiline ^ does not match after a line terminator at the end.
		{`(?m)^$`, 0, "a\n", false},
		{`(?m)^$`, 0, "a\n\n", true},

		// Comments mode, from the flag or inline.
		{`a b # comment` + "\n" + ` c`, x, "abc", true},
		{`a b`, 0, "abc", false},
		{`(?x) a \  b`, 0, "a b", true},
		{`(?x)[a b]+`, 0, "ab", true},
		{`a#b`, 0, "a#b", true},

		// Literal: nothing is special, case-insensitivity still applies.
		{`a.c`, l, "abc", false},
		{`a.c(`, l, "a.c(", true},
		{`A.C`, l | i, "a.c", true},

		// Unknown escapes of letters are the letter, or an error (below).
		{`\y`, 0, "y", true},
		{`\%`, e, "%", true},

		// Backreferences, groups, lookaround.
		{`(a+)b\1`, 0, "aabaa", true},
		{`^(a+)b\1$`, 0, "aaba", false},
		{`(a)\1`, i, "aA", true},
		{`(?<w>\w+) \k<w>`, 0, "hey hey", true},
		{`^(?<w>\w+) \k<w>$`, 0, "hey you", false},
		{`(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\10`, 0, "abcdefghijj", true},
		{`(a)\10`, 0, "aa0", true}, // one group: \1 then "0"
		{`foo(?=bar)`, 0, "foobar", true},
		{`foo(?!bar)`, 0, "foobar", false},
		{`(?<=\$)\d+`, 0, "cost $42", true},
		{`(?<!\$)\b\d+`, 0, "cost $42", false},
		{`a++a`, 0, "aaa", false},
		{`a+a`, 0, "aaa", true},
		{`(?>a+)a`, 0, "aaa", false},
		{`(?:ab)*+b`, 0, "ababb", true},

		// ICU-only syntax.
		{`^[[:alpha:]]+$`, 0, "héllo", true},
		{`^[[:alpha:]]+$`, 0, "h3llo", false},
		{`^[[:^digit:]]+$`, 0, "abc", true},
		{`^[:digit:]+$`, 0, "123", true},
		{`^[[:alnum:][:space:]]+$`, 0, "a1 b2", true},
		{`^[[:punct:]]+$`, 0, "!?.,", true},
		{`^\p{Alphabetic}+$`, 0, "Ωmega", true},
		{`^\p{Lu}\p{Ll}+$`, 0, "Hello", true},
		{`^\p{script=Greek}+$`, 0, "αβγ", true},
		{`^\P{L}+$`, 0, "123", true},
		{`^[a-z&&[^aeiou]]+$`, 0, "bcd", true},
		{`^[a-z&&[^aeiou]]+$`, 0, "bad", false},
		{`^[\p{L}--[a-z]]+$`, 0, "ÀB", true},
		{`^[\p{L}--[a-z]]+$`, 0, "Ab", false},
		{`^[a[0-9]]+$`, 0, "a1", true},
		{`^[^a[0-9]]+$`, 0, "bc", true},
		{`^[^a[0-9]]+$`, 0, "b1", false},
		{`\Qa.b\E`, 0, "axb", false},
		{`\Qa.b\E`, 0, "a.b", true},
		{`^\x{e9}\u00e9\U000000e9$`, 0, "ééé", true},
		{`^\x41\0101$`, 0, "AA", true},
		{`^\h\v$`, 0, "\t\n", true},
		{`^a\Rb$`, 0, "a\r\nb", true},
		{`^[\]]$`, 0, "]", true},
		{`[]a]`, 0, "]", true},
		{`[\1]`, 0, "1", true},
		{`^a{2}$`, 0, "aa", true},
		{`^a{2,}+$`, 0, "aaa", true},
		{`^a{1,2}?$`, 0, "aa", true},
		{`a(?#comment)+`, 0, "aa", true},
		{`😀+`, 0, "x😀😀", true},
	} {
		t.Run(fmt.Sprintf("%q/%d/%q", tc.pattern, tc.flags, tc.text), func(t *testing.T) {
			r := newRegex(t, tc.pattern, tc.flags, &tc.text)
			got, err := r.Matches(ctx, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIndexOf(t *testing.T) {
	for _, tc := range []struct {
		pattern, text string
		start, occ    int
		end           bool
		want          int
	}{
		{`dog`, "dog cat dog", 1, 1, false, 1},
		{`dog`, "dog cat dog", 1, 2, false, 9},
		{`dog`, "dog cat dog", 2, 1, false, 9},
		{`dog`, "dog cat dog", 1, 3, false, 0},
		{`dog`, "dog cat dog", 1, 0, false, 1},
		{`dog`, "dog cat dog", 1, -1, false, 1},
		{`dog`, "dog cat dog", 1, 1, true, 4},
		{`dog`, "dog cat dog", 1, 2, true, 12},
		{`doggo`, "dog cat dog", 1, 1, false, 0},
		// Positions count characters, not bytes.
		{`w`, "héllo wörld", 1, 1, false, 7},
		{`ö`, "héllo wörld", 1, 1, true, 9},
		{`l`, "héllo wörld", 5, 1, false, 10},
		{`y`, "😀x😀y", 1, 1, false, 4},
		{`😀`, "😀x😀y", 2, 1, false, 3},
		// The end of the text is a valid start.
		{`x*`, "abc", 4, 1, false, 4},
		{`b`, "abc", 4, 1, false, 0},
		// ^ is the start of the text, not of the search; lookbehind sees
		// before the start.
		{`^b`, "abc", 2, 1, false, 0},
		{`(?<=a)b`, "ab", 2, 1, false, 2},
		// Empty matches advance by one character.
		{`x*`, "ab", 1, 3, false, 3},
		{`x*`, "ab", 1, 4, false, 0},
	} {
		t.Run(fmt.Sprintf("%q/%q/%d/%d/%v", tc.pattern, tc.text, tc.start, tc.occ, tc.end), func(t *testing.T) {
			r := newRegex(t, tc.pattern, 0, &tc.text)
			got, err := r.IndexOf(ctx, tc.start, tc.occ, tc.end)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("IndexOf = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestSubstring(t *testing.T) {
	for _, tc := range []struct {
		pattern, text string
		start, occ    int
		want          string
		ok            bool
	}{
		{`[a-z]+`, "abc def ghi", 1, 1, "abc", true},
		{`[a-z]+`, "abc def ghi", 1, 3, "ghi", true},
		{`[a-z]+`, "abc def ghi", 2, 2, "def", true},
		{`[a-z]+`, "abc def ghi", 1, 4, "", false},
		{`[j-z]+`, "abc def ghi", 1, 1, "", false},
		{`\w+`, "naïve café", 1, 2, "café", true},
		{`\w+`, "naïve café", 3, 1, "ïve", true},
		{`(a)(b)?`, "xa", 1, 1, "a", true},
		{`.+`, "line1\r\nline2", 1, 2, "line2", true},
		{`\R`, "a\r\nb", 1, 1, "\r\n", true},
		{`x*`, "", 1, 1, "", true},
	} {
		t.Run(fmt.Sprintf("%q/%q/%d/%d", tc.pattern, tc.text, tc.start, tc.occ), func(t *testing.T) {
			r := newRegex(t, tc.pattern, 0, &tc.text)
			got, ok, err := r.Substring(ctx, tc.start, tc.occ)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || ok != tc.ok {
				t.Fatalf("Substring = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestReplace(t *testing.T) {
	for _, tc := range []struct {
		pattern, text, repl string
		pos, occ            int
		want                string
	}{
		{`b`, "a b c", "X", 1, 0, "a X c"},
		{`[0-4]`, "0123456789", "X", 1, 0, "XXXXX56789"},
		{`[0-4]`, "0123456789", "X", 2, 0, "0XXXX56789"},
		{`[0-4]`, "0123456789", "X", 2, 2, "01X3456789"},
		{`[a-z]+`, "abc def ghi", "X", 1, 3, "abc def X"},
		{`[a-z]+`, "abc def ghi", "X", 1, 4, "abc def ghi"},
		{`[a-z]+`, "abc def ghi", "X", 1, -1, "X def ghi"},
		{`z`, "abc", "X", 1, 0, "abc"},
		// Group references and escapes, ICU's way.
		{`(a)(b)`, "abc", "$2$1", 1, 0, "bac"},
		{`b`, "abc", "$0$0", 1, 0, "abbc"},
		{`(a)`, "ab", "$10", 1, 0, "a0b"},
		{`(?<x>b)`, "abc", "[${x}]", 1, 0, "a[b]c"},
		{`(?<x>b)(c)`, "abc", "$2$1", 1, 0, "acb"},
		{`b`, "abc", `\$1`, 1, 0, "a$1c"},
		{`b`, "abc", `\\`, 1, 0, `a\c`},
		{`b`, "abc", `\u0041\U0001F600`, 1, 0, "aA😀c"},
		{`b`, "abc", `${`, 1, 0, "error"},
		{`(x)?b`, "ab", "[$1]", 1, 0, "a[]"},
		{`z`, "abc", "$9", 1, 0, "abc"}, // no match: the replacement is not read
		// Empty matches.
		{`x*`, "abc", "-", 1, 0, "-a-b-c-"},
		{`a*`, "baaac", "-", 1, 0, "-b--c-"},
		// Positions count characters.
		{`l`, "héllo", "L", 4, 0, "hélLo"},
		{`ö`, "wörld wörld", "o", 3, 0, "wörld world"},
		{`$`, "abc", "!", 4, 0, "abc!"},
	} {
		t.Run(fmt.Sprintf("%q/%q/%q/%d/%d", tc.pattern, tc.text, tc.repl, tc.pos, tc.occ), func(t *testing.T) {
			r := newRegex(t, tc.pattern, 0, &tc.text)
			got, err := r.Replace(ctx, tc.repl, tc.pos, tc.occ)
			if tc.want == "error" {
				if err == nil {
					t.Fatalf("Replace = %q, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("Replace = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBadReplacement(t *testing.T) {
	for _, repl := range []string{"$", "$x", "${", "${nope}", "$2", "${1}"} {
		text := "abc"
		r := newRegex(t, `(b)`, 0, &text)
		if got, err := r.Replace(ctx, repl, 1, 0); err == nil {
			t.Errorf("Replace(%q) = %q, want an error", repl, got)
		}
	}
}

func TestPositionOutOfBounds(t *testing.T) {
	text := "héllo" // 5 characters, 6 bytes
	r := newRegex(t, `l`, 0, &text)
	for _, pos := range []int{0, -1, 7} {
		if _, err := r.IndexOf(ctx, pos, 1, false); !errIndexOutOfBounds.Is(err) {
			t.Errorf("IndexOf at %d: %v", pos, err)
		}
		if _, _, err := r.Substring(ctx, pos, 1); !errIndexOutOfBounds.Is(err) {
			t.Errorf("Substring at %d: %v", pos, err)
		}
		if _, err := r.Replace(ctx, "L", pos, 0); !errIndexOutOfBounds.Is(err) {
			t.Errorf("Replace at %d: %v", pos, err)
		}
	}
	// Matches reads a start below 1 as 1: go-mysql-server passes 0.
	if ok, err := r.Matches(ctx, 0, 0); !ok || err != nil {
		t.Errorf("Matches(0, 0) = %v, %v", ok, err)
	}
	if n, err := r.IndexOf(ctx, 6, 1, false); n != 0 || err != nil {
		t.Errorf("IndexOf at the end = %d, %v", n, err)
	}
}

func TestInvalidPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		flags   RegexFlags
	}{
		{`(`, 0}, {`)`, 0}, {`(abc`, 0}, {`abc)`, 0}, {`a**`, 0}, {`*a`, 0}, {`(*)b`, 0},
		{`[a`, 0}, {`a[]b`, 0}, {`[z-a]`, 0}, {`a{2,1}`, 0}, {`a{`, 0}, {`a{x}`, 0}, {`a{,2}`, 0},
		{`\`, 0}, {`a\`, 0}, {`\1`, 0}, {`(a)\2`, 0}, {`\k<nope>`, 0}, {`(?<1a>x)`, 0},
		{`(?<a>x)(?<a>y)`, 0}, {`(?P<a>x)`, 0}, {`(?(1)a|b)`, 0}, {`(?'a'x)`, 0}, {`(?n)a`, 0},
		{`\p{Nope}`, 0}, {`[[:nope:]]`, 0}, {`w(?# comment`, 0}, {`[a&&]`, 0}, {`\N{LATIN SMALL LETTER A}`, 0},
		{`\y`, RegexFlags_Error_On_Unknown_Escapes}, {`\x{110000}`, 0}, {`\u12`, 0},
	} {
		r := CreateRegex(0)
		err := r.SetRegexString(ctx, tc.pattern, tc.flags)
		if !ErrInvalidRegex.Is(err) {
			t.Errorf("SetRegexString(%q, %d) = %v, want ErrInvalidRegex", tc.pattern, tc.flags, err)
		}
		// A failed SetRegexString leaves no regular expression.
		if err := r.SetMatchString(ctx, "a"); !ErrRegexNotYetSet.Is(err) {
			t.Errorf("after %q: SetMatchString = %v, want ErrRegexNotYetSet", tc.pattern, err)
		}
		r.Close()
	}
}

func TestCallOrder(t *testing.T) {
	r := CreateRegex(1024)
	defer r.Close()
	calls := func() []error {
		_, e1 := r.IndexOf(ctx, 1, 1, false)
		_, e2 := r.Matches(ctx, 1, 1)
		_, e3 := r.Replace(ctx, "x", 1, 0)
		_, _, e4 := r.Substring(ctx, 1, 1)
		return []error{e1, e2, e3, e4}
	}
	if err := r.SetMatchString(ctx, "abc"); !ErrRegexNotYetSet.Is(err) {
		t.Errorf("SetMatchString first: %v", err)
	}
	for i, err := range calls() {
		if !ErrRegexNotYetSet.Is(err) {
			t.Errorf("call %d before SetRegexString: %v", i, err)
		}
	}
	if err := r.SetRegexString(ctx, "b", 0); err != nil {
		t.Fatal(err)
	}
	for i, err := range calls() {
		if !ErrMatchNotYetSet.Is(err) {
			t.Errorf("call %d before SetMatchString: %v", i, err)
		}
	}
	if err := r.SetMatchString(ctx, "abc"); err != nil {
		t.Fatal(err)
	}
	for i, err := range calls() {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	// A new regular expression needs the text again.
	if err := r.SetRegexString(ctx, "c", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.IndexOf(ctx, 1, 1, false); !ErrMatchNotYetSet.Is(err) {
		t.Errorf("IndexOf after a new SetRegexString: %v", err)
	}
	if r.StringBufferSize() != 0 {
		t.Errorf("StringBufferSize = %d", r.StringBufferSize())
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for i, err := range calls() {
		if !ErrRegexNotYetSet.Is(err) {
			t.Errorf("call %d after Close: %v", i, err)
		}
	}
	SetRegexLeakHandler(func() { t.Error("leak handler called") })
}

func TestCanceled(t *testing.T) {
	text := "aaa"
	r := newRegex(t, "a", 0, &text)
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Replace(c, "b", 1, 0); err != context.Canceled {
		t.Fatalf("Replace with a canceled context: %v", err)
	}
}

func TestCacheShared(t *testing.T) {
	// Compiled patterns are shared between Regexes and goroutines; the
	// cache stays bounded.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range cacheSize + 50 {
				r := CreateRegex(0)
				if err := r.SetRegexString(ctx, fmt.Sprintf("(a)%d|%d", n, g), 0); err != nil {
					t.Error(err)
					return
				}
				r.SetMatchString(ctx, fmt.Sprintf("xa%d", n))
				if got, err := r.Replace(ctx, "<$1>", 1, 0); err != nil || got != "x<a>" {
					t.Errorf("Replace = %q, %v", got, err)
				}
				r.Close()
			}
		}()
	}
	wg.Wait()
	cache.Lock()
	defer cache.Unlock()
	if len(cache.m) > cacheSize {
		t.Fatalf("cache holds %d patterns", len(cache.m))
	}
}
