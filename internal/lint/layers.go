package lint

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Package is one package of the module with its imports.
type Package struct {
	// Path is the import path relative to the module ("store/s3").
	Path string
	// Imports are the full import paths of the package's own files.
	Imports []string
	// TestImports are the full import paths of its test files.
	TestImports []string
}

// layers lists the module's components from the bottom up: a package may
// import packages of lower layers and of its own component, nothing else.
var layers = [][]string{
	{"internal/base"},
	{"store"},
	{"internal/parquetio"},
	{"txn"},
	{"mergeplan"},
	{"scan"},
	{"exec"},
	{"memwal"},
	{"planner"},
	{"sql"},
	{"cmd/lakesql", "sqllogictest"},
}

// exempt packages stand outside the layering: they only hold tests.
var exempt = []string{"internal/lint"}

// restricted names external modules that only some components may import.
var restricted = []struct {
	prefixes []string
	allowed  []string
	what     string
}{
	{[]string{"github.com/aws/aws-sdk-go-v2", "github.com/aws/smithy-go"}, []string{"store/s3"}, "the AWS SDK"},
	{[]string{"github.com/dolthub/go-mysql-server", "github.com/dolthub/vitess"}, []string{"planner", "sql"}, "go-mysql-server"},
}

// within reports whether the relative package path p is dir or below it.
func within(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// component returns the layering component of p and its layer, or -1.
func component(p string) (string, int) {
	best, layer := "", -1
	for i, comps := range layers {
		for _, c := range comps {
			if within(p, c) && len(c) > len(best) {
				best, layer = c, i
			}
		}
	}
	return best, layer
}

// Check returns every violation of the import rules in pkgs, sorted. module
// is the module path, used to tell the module's own imports apart.
func Check(module string, pkgs []Package) []string {
	var out []string
	for _, p := range pkgs {
		if slices.ContainsFunc(exempt, func(e string) bool { return within(p.Path, e) }) {
			continue
		}
		comp, layer := component(p.Path)
		if layer < 0 {
			out = append(out, fmt.Sprintf("%s: not in the layering of DESIGN.md section 6 (add it to internal/lint)", p.Path))
			continue
		}
		check := func(imp, kind string) {
			if rel, ok := strings.CutPrefix(imp, module+"/"); ok {
				icomp, ilayer := component(rel)
				if icomp == comp {
					return
				}
				if ilayer < 0 || ilayer >= layer {
					out = append(out, fmt.Sprintf("%s: %simports %s, which is not below it", p.Path, kind, rel))
				}
				return
			}
			for _, r := range restricted {
				if !slices.ContainsFunc(r.prefixes, func(pre string) bool { return within(imp, pre) }) {
					continue
				}
				if !slices.ContainsFunc(r.allowed, func(a string) bool { return within(p.Path, a) }) {
					out = append(out, fmt.Sprintf("%s: %simports %s; only %s may import %s",
						p.Path, kind, imp, strings.Join(r.allowed, " and "), r.what))
				}
			}
			if comp == "internal/base" && kind == "" && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
				out = append(out, fmt.Sprintf("%s: imports %s; internal/base imports the standard library only", p.Path, imp))
			}
		}
		for _, imp := range p.Imports {
			check(imp, "")
		}
		for _, imp := range p.TestImports {
			check(imp, "test ")
		}
	}
	sort.Strings(out)
	return out
}
