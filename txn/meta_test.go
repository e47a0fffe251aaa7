package txn

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lakesql/lakesql/store/mem"
)

// TestMetaCheckpoint: the _meta log's checkpoint keeps branches (deleted
// ones too), tags with their tombstones, and containers.
func TestMetaCheckpoint(t *testing.T) {
	ctx := context.Background()
	db := mustCreate(t, mem.New(), testOptions())
	mustCommit(t, db, mustHead(t, db, "main"), createTable("t1", "t"))
	for i := range 4 {
		if _, err := db.CreateBranch(ctx, fmt.Sprintf("b%d", i), "main", 1); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateTag(ctx, fmt.Sprintf("t%d", i), "main", 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteBranch(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteTag(ctx, "t2"); err != nil {
		t.Fatal(err)
	}
	if err := db.PutContainer(ctx, Container{Name: "lake", URI: "s3://bucket/x/"}); err != nil {
		t.Fatal(err)
	}
	n, err := db.CheckpointMeta(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Remove the entries the checkpoint covers: reopening must need only it.
	for i := int64(1); i <= n; i++ {
		if err := db.st.Delete(ctx, db.metaL.entryName(i)); err != nil {
			t.Fatal(err)
		}
	}
	db2, err := Open(ctx, db.st, "db", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	m, err := db2.Meta(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Entry != n || len(m.Branches()) != 4 || len(m.DeletedBranches()) != 1 || len(m.Tags()) != 3 || m.Container("lake") == nil {
		t.Fatalf("after the checkpoint: entry %d, %d branches, %d deleted, %d tags", m.Entry, len(m.Branches()), len(m.DeletedBranches()), len(m.Tags()))
	}
	if _, err := db2.CreateTag(ctx, "t2", "main", 1); !errors.Is(err, ErrExists) {
		t.Fatalf("a deleted tag's name was reused after a checkpoint: %v", err)
	}
	if _, err := db2.Head(ctx, "b3"); err != nil {
		t.Fatal(err)
	}
	if _, err := db2.Head(ctx, "b1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted branch: %v", err)
	}
}
