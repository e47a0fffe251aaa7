package store

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"db/_lakesql_log/main/00000000000000000001.json", true},
		{"with space/ünï/🦆", true},
		{"a.b/.hidden/x..y", true},
		{strings.Repeat("n", MaxNameLen), true},
		{"", false},
		{"/a", false},
		{"a/", false},
		{"a//b", false},
		{"..", false},
		{"a/../b", false},
		{"a/./b", false},
		{".", false},
		{"a\x00b", false},
		{"a\tb", false},
		{"a\x7fb", false},
		{`a\b`, false},
		{"\xc3\x28", false},
		{".lakesql-tmp/x", false},
		{strings.Repeat("n", MaxNameLen+1), false},
	} {
		err := ValidateName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, not ErrInvalidName", tc.name, err)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		ok     bool
	}{
		{"", true},
		{"a", true},
		{"a/", true},
		{"a/b", true},
		{"a/.", true},  // the beginning of "a/.x"
		{"a/..", true}, // the beginning of "a/..x"
		{"/", false},
		{"/a", false},
		{"../", false},
		{"a/../b", false},
		{"a//", false},
		{"a\nb", false},
	} {
		err := ValidatePrefix(tc.prefix)
		if (err == nil) != tc.ok {
			t.Errorf("ValidatePrefix(%q) = %v, want ok=%v", tc.prefix, err, tc.ok)
		}
	}
}

func TestApplyPutOptions(t *testing.T) {
	o, err := ApplyPutOptions([]PutOption{IfMatch(`"x"`)})
	if err != nil || o.IfMatch != `"x"` || o.IfAbsent {
		t.Fatalf("IfMatch: %+v, %v", o, err)
	}
	if _, err := ApplyPutOptions([]PutOption{IfAbsent(), IfMatch(`"x"`)}); err == nil {
		t.Fatal("IfAbsent with IfMatch was accepted")
	}
}
