package txn

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lakesql/lakesql/store/mem"
)

func TestValidateContainer(t *testing.T) {
	for _, tc := range []struct {
		c       Container
		bad     string // a fragment of the error; "" for valid
		platfrm string
	}{
		{c: Container{Name: "lake", URI: "s3://bucket/x/"}, platfrm: "s3"},
		{c: Container{Name: "lake", URI: "s3://bucket/"}, platfrm: "s3"},
		{c: Container{Name: "dir", URI: "file:///data/parquet/"}, platfrm: "file"},
		{c: Container{Name: "lake", URI: "s3://bucket/x/", Properties: map[string]string{
			"endpoint": "http://127.0.0.1:9000", "region": "eu-west-1", "path_style": "true", "anonymous": "false"}}, platfrm: "s3"},
		{c: Container{Name: "lake", URI: "s3://bucket/x"}, bad: `must end in "/"`},
		{c: Container{Name: "lake", URI: "gs://bucket/x/"}, bad: "not supported"},
		{c: Container{Name: "lake", URI: "s3:///x/"}, bad: "names no bucket"},
		{c: Container{Name: "lake", URI: "s3://bucket/x/?k=v"}, bad: "must not have a query"},
		{c: Container{Name: "lake", URI: "s3://key:secret@bucket/x/"}, bad: "credentials"},
		{c: Container{Name: "dir", URI: "file://host/x/"}, bad: "local path"},
		{c: Container{Name: "lake", URI: "s3://b/x/", Properties: map[string]string{"endpoint": "ftp://x"}}, bad: "endpoint"},
		{c: Container{Name: "lake", URI: "s3://b/x/", Properties: map[string]string{"path_style": "yes"}}, bad: "true or false"},
		{c: Container{Name: "lake", URI: "s3://b/x/", Properties: map[string]string{"platform": "file"}}, bad: "does not match"},
		{c: Container{Name: "lake", URI: "s3://b/x/", Properties: map[string]string{"secret_access_key": "x"}}, bad: "unknown option"},
		{c: Container{Name: "dir", URI: "file:///x/", Properties: map[string]string{"endpoint": "http://h"}}, bad: "for s3 containers"},
		{c: Container{Name: "a/b", URI: "s3://b/x/"}, bad: "container name"},
	} {
		err := ValidateContainer(&tc.c)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%+v: %v", tc.c, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%+v: got %v, want an error about %q", tc.c, err, tc.bad)
		case tc.bad == "" && tc.c.Properties[ContainerPlatform] != tc.platfrm:
			t.Errorf("%+v: platform %q, want %q", tc.c, tc.c.Properties[ContainerPlatform], tc.platfrm)
		}
	}
}

func virtualAdd(table, url, container string, rows int64) Add {
	return Add{Table: table, Path: url, Kind: KindBase, Rows: rows, Bytes: rows * 10,
		Virtual: &Virtual{Container: container, ETag: `"e1"`, Size: rows * 10, Columns: []VirtualColumn{{Name: "a", ID: 1}}}}
}

func TestExternalFilesAndContainerDelete(t *testing.T) {
	ctx := context.Background()
	db := mustCreate(t, mem.New(), testOptions())
	for _, c := range []Container{{Name: "wide", URI: "s3://bucket/"}, {Name: "narrow", URI: "s3://bucket/sales/"}, {Name: "unused", URI: "file:///tmp/x/"}} {
		if err := db.CreateContainer(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateContainer(ctx, Container{Name: "wide", URI: "s3://other/"}); !errors.Is(err, ErrExists) {
		t.Fatalf("a second container of one name: %v", err)
	}
	m, err := db.Meta(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]string{
		"s3://bucket/sales/2024.parquet": "narrow", "s3://bucket/other.parquet": "wide", "s3://bucketx/a.parquet": "",
	} {
		got := ""
		if c := m.ResolveContainer(url); c != nil {
			got = c.Name
		}
		if got != want {
			t.Errorf("ResolveContainer(%s) = %q, want %q", url, got, want)
		}
	}

	h := mustCommit(t, db, mustHead(t, db, "main"), createTable("t1", "sales"))
	h = mustCommit(t, db, h, &Commit{Operation: "ADD FILES", CreatesVersion: true, Adds: []Add{
		virtualAdd("t1", "s3://bucket/sales/a.parquet", "narrow", 5),
		virtualAdd("t1", "s3://bucket/b.parquet", "wide", 7),
	}})
	added := h.Version()
	if f := h.State.Table("t1").File("s3://bucket/sales/a.parquet"); f == nil || f.Virtual.Version != added {
		t.Fatalf("the adding version is not recorded: %+v", f)
	}
	// The virtual part survives a checkpoint.
	if _, err := db.Checkpoint(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(ctx, db.st, "db", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if f := mustHead(t, db2, "main").State.Table("t1").File("s3://bucket/b.parquet"); f == nil || f.Virtual == nil ||
		f.Virtual.Container != "wide" || f.Virtual.ETag != `"e1"` || len(f.Virtual.Columns) != 1 || f.Virtual.Version != added {
		t.Fatalf("after a checkpoint: %+v", f)
	}
	// A URL path without virtual metadata, or the reverse, is refused.
	if _, err := db.Commit(ctx, h, &Commit{Operation: "W", Adds: []Add{{Table: "t1", Path: "s3://bucket/c.parquet", Rows: 1}}}); err == nil {
		t.Fatal("a URL path without virtual metadata was committed")
	}
	if _, err := db.CreateTag(ctx, "v1", "main", added); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateBranch(ctx, "dev", "main", added); err != nil {
		t.Fatal(err)
	}
	// main drops one file; the tag and the branch keep it.
	h = mustCommit(t, db, h, &Commit{Operation: "MATERIALIZE", CreatesVersion: true,
		Removes: []Remove{{Table: "t1", Path: "s3://bucket/sales/a.parquet"}}})

	files, err := db.ExternalFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.URL+" "+f.Container+" "+f.Branch+" "+f.Table)
		if f.AddedVersion != added || f.FirstVersion > f.LastVersion {
			t.Errorf("%+v: versions", f)
		}
	}
	want := []string{
		"s3://bucket/b.parquet wide dev sales",
		"s3://bucket/b.parquet wide main sales",
		"s3://bucket/sales/a.parquet narrow dev sales",
		"s3://bucket/sales/a.parquet narrow main sales", // tag v1 and the retention window keep it
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("ExternalFiles:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	if err := db.DeleteContainer(ctx, "narrow"); !errors.Is(err, ErrContainerInUse) || !strings.Contains(err.Error(), "s3://bucket/sales/a.parquet") {
		t.Fatalf("deleting a container in use: %v", err)
	}
	if err := db.DeleteContainer(ctx, "unused"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteContainer(ctx, "unused"); err == nil {
		t.Fatal("deleting a deleted container succeeded")
	}
	m, err = db.RefreshMeta(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Container("unused") != nil || m.Container("narrow") == nil {
		t.Fatal("containers after the deletes")
	}
}
