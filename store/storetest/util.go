package storetest

import (
	"slices"
)

func equal(a, b []string) bool { return slices.Equal(a, b) }

func sortStrings(s []string) { slices.Sort(s) }

func slicesWithout(s []string, drop string) []string {
	return slices.DeleteFunc(slices.Clone(s), func(x string) bool { return x == drop })
}
