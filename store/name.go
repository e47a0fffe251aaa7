package store

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxNameLen is the longest object name a store accepts, in bytes. It is
// S3's limit on key length.
const MaxNameLen = 1024

// ValidateName checks that name can name an object in every backend: not
// empty, at most MaxNameLen bytes of valid UTF-8 with no control characters,
// slash-separated components that are neither empty, "." nor "..", no
// leading or trailing slash, and not inside the reserved ".lakesql-" space.
// Such a name can never resolve outside a store's root.
func ValidateName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidName, name, why)
	}
	switch {
	case name == "":
		return bad("empty")
	case strings.HasSuffix(name, "/"):
		return bad("trailing slash")
	case strings.HasPrefix(name, reservedPrefix):
		return bad("the " + reservedPrefix + " prefix is reserved for the store itself")
	}
	return checkPath(name, false, bad)
}

// ValidatePrefix checks a List prefix: empty, or the beginning of a name
// that ValidateName could accept. Only complete components (those followed by
// a slash) are checked for "." and "..".
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return checkPath(prefix, true, func(why string) error {
		return fmt.Errorf("%w: list prefix %q: %s", ErrInvalidName, prefix, why)
	})
}

// checkPath holds the rules names and prefixes share. A prefix's last
// component may be incomplete, so it is not checked.
func checkPath(p string, prefix bool, bad func(string) error) error {
	switch {
	case len(p) > MaxNameLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxNameLen))
	case !utf8.ValidString(p):
		return bad("not valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return bad("leading slash")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return bad(fmt.Sprintf("contains the character %U", r))
		}
	}
	comps := strings.Split(p, "/")
	if prefix {
		comps = comps[:len(comps)-1]
	}
	for _, c := range comps {
		switch c {
		case "":
			return bad("empty path component")
		case ".", "..":
			return bad(fmt.Sprintf("path component %q", c))
		}
	}
	return nil
}

// reservedPrefix begins names a backend keeps for itself (the local
// backend's temporary files); objects cannot have such names.
const reservedPrefix = ".lakesql-"
