package lint

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// modulePackages lists the module's packages with their imports through
// `go list`.
func modulePackages(t *testing.T) (string, []Package) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	module := strings.TrimSpace(string(out))
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports", "./...")
	cmd.Dir = "../.."
	out, err = cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []Package
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		pkgs = append(pkgs, Package{
			Path:        rel,
			Imports:     p.Imports,
			TestImports: append(p.TestImports, p.XTestImports...),
		})
	}
	return module, pkgs
}

func TestImportDirection(t *testing.T) {
	module, pkgs := modulePackages(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	for _, v := range Check(module, pkgs) {
		t.Error(v)
	}
}

// TestCheckFindsViolations proves that Check fails on each kind of wrong
// import, so that TestImportDirection passing means something.
func TestCheckFindsViolations(t *testing.T) {
	const m = "example.com/lakesql"
	pkgs := []Package{
		{Path: "store", Imports: []string{m + "/internal/base", "context"}},
		{Path: "store/s3", Imports: []string{m + "/store", "github.com/aws/aws-sdk-go-v2/service/s3"}},
		{Path: "memwal/wal", Imports: []string{m + "/memwal", m + "/txn"}},
		{Path: "sql", Imports: []string{m + "/memwal", "github.com/dolthub/go-mysql-server/sql"}},
		// Violations:
		{Path: "store/local", Imports: []string{m + "/txn"}},
		{Path: "mergeplan", Imports: []string{m + "/scan"}},
		{Path: "txn", Imports: []string{"github.com/aws/aws-sdk-go-v2/aws"}, TestImports: []string{m + "/sql"}},
		{Path: "cmd/lakesql", Imports: []string{"github.com/dolthub/go-mysql-server/server"}},
		{Path: "internal/base", Imports: []string{"github.com/google/btree"}},
		{Path: "newthing", Imports: []string{"fmt"}},
	}
	got := Check(m, pkgs)
	want := []string{
		"cmd/lakesql: imports github.com/dolthub/go-mysql-server/server; only planner and sql may import go-mysql-server",
		"internal/base: imports github.com/google/btree; internal/base imports the standard library only",
		"mergeplan: imports scan, which is not below it",
		"newthing: not in the layering of DESIGN.md section 6 (add it to internal/lint)",
		"store/local: imports txn, which is not below it",
		"txn: imports github.com/aws/aws-sdk-go-v2/aws; only store/s3 may import the AWS SDK",
		"txn: test imports sql, which is not below it",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Check found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
