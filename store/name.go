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
	case len(name) > MaxNameLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxNameLen))
	case !utf8.ValidString(name):
		return bad("not valid UTF-8")
	case strings.HasPrefix(name, "/"):
		return bad("leading slash")
	case strings.HasSuffix(name, "/"):
		return bad("trailing slash")
	case strings.HasPrefix(name, reservedPrefix):
		return bad("the " + reservedPrefix + " prefix is reserved for the store itself")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return bad(fmt.Sprintf("contains the character %U", r))
		}
	}
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "":
			return bad("empty path component")
		case ".", "..":
			return bad(fmt.Sprintf("path component %q", c))
		}
	}
	return nil
}

// ValidatePrefix checks a List prefix: empty, or the beginning of a name
// that ValidateName could accept. Only complete components (those followed by
// a slash) are checked for "." and "..".
func ValidatePrefix(prefix string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: list prefix %q: %s", ErrInvalidName, prefix, why)
	}
	switch {
	case prefix == "":
		return nil
	case len(prefix) > MaxNameLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxNameLen))
	case !utf8.ValidString(prefix):
		return bad("not valid UTF-8")
	case strings.HasPrefix(prefix, "/"):
		return bad("leading slash")
	}
	for _, r := range prefix {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return bad(fmt.Sprintf("contains the character %U", r))
		}
	}
	comps := strings.Split(prefix, "/")
	for _, c := range comps[:len(comps)-1] {
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
