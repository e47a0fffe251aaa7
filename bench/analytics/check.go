package main

import (
	"fmt"
	"strings"
)

// referenceOrder is the order in which engines' answers are preferred as
// the reference when as many engines agree with one as with another.
var referenceOrder = []string{duckParquet, duckNative, mariaDB, lakesqlManaged, lakesqlVirtual}

// check compares the engines' answers to one query. The reference is the
// answer the most engines agree with (ties go by referenceOrder); every
// engine whose answer differs from it gets its wrong set. ordered says the
// query fixes the order of its rows.
func check(ms map[string]*measurement, ordered bool) {
	var ref string
	var agree []string
	for _, name := range referenceOrder {
		m, ok := ms[name]
		if !ok || m.err != nil {
			continue
		}
		var with []string
		for _, other := range referenceOrder {
			if o, ok := ms[other]; ok && o.err == nil && diff(m.rows, o.rows, ordered) == "" {
				with = append(with, other)
			}
		}
		if len(with) > len(agree) {
			ref, agree = name, with
		}
	}
	if ref == "" {
		return
	}
	for name, m := range ms {
		if m.err != nil || name == ref {
			continue
		}
		if s := diff(ms[ref].rows, m.rows, ordered); s != "" {
			m.wrong = fmt.Sprintf("%s (reference: the answer of %s)", s, strings.Join(agree, ", "))
		}
	}
}
