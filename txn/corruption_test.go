package txn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/mem"
)

// buildLog makes a database whose main branch has 12 entries and a
// checkpoint at entry 10.
func buildLog(t *testing.T) (*mem.Store, string) {
	st := mem.New()
	db := mustCreate(t, st, Options{HeadRefresh: -1, SyncCheckpoints: true, CheckpointInterval: 10})
	h := mustCommit(t, db, mustHead(t, db, "main"), createTable("t1", "t"))
	for i := range 11 {
		h = mustCommit(t, db, h, appendFile("t1", fmt.Sprintf("f%d", i), 1))
	}
	return st, h.Branch.ID
}

func rewrite(t *testing.T, st store.Store, name string, change func([]byte) []byte) {
	t.Helper()
	data, err := store.ReadAll(context.Background(), st, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutBytes(context.Background(), st, name, change(data)); err != nil {
		t.Fatal(err)
	}
}

// TestCorruption: a corrupt or truncated entry or checkpoint is an error
// naming the file, never skipped.
func TestCorruption(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		file   func(branch string) string
		change func([]byte) []byte
	}{
		{"truncated entry", entryFile(11), func(b []byte) []byte { return b[:len(b)/2] }},
		{"entry without final newline", entryFile(12), func(b []byte) []byte { return b[:len(b)-1] }},
		{"garbage entry", entryFile(11), func(b []byte) []byte { return []byte("not json\n") }},
		{"unknown action", entryFile(12), func(b []byte) []byte { return append(b, []byte(`{"frobnicate":{}}`+"\n")...) }},
		{"empty entry", entryFile(11), func(b []byte) []byte { return nil }},
		{"entry that does not apply", entryFile(12), func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"path":"f10"`), []byte(`"path":"f1"`), 1)
		}},
		{"truncated checkpoint", checkpointFile(10), func(b []byte) []byte { return b[:len(b)-20] }},
		{"checkpoint with a flipped byte", checkpointFile(10), func(b []byte) []byte {
			c := bytes.Clone(b)
			i := bytes.Index(c, []byte(`"path":"f3"`))
			if i < 0 {
				i = len(c) / 2 // compressed: flip a byte of the data pages
			}
			c[i+8] ^= 0x20
			return c
		}},
		{"empty checkpoint", checkpointFile(10), func(b []byte) []byte { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, branch := buildLog(t)
			file := tc.file(branch)
			rewrite(t, st, file, tc.change)
			db, err := Open(ctx, st, "db", Options{})
			if err == nil {
				defer db.Close()
				_, err = db.Head(ctx, "main")
			}
			if !errors.Is(err, base.ErrCorruption) {
				t.Fatalf("opening the head: %v, want a corruption error", err)
			}
			var ce *base.CorruptionError
			if !errors.As(err, &ce) || ce.File != file {
				t.Fatalf("the error names %q, want %q: %v", fileOf(ce), file, err)
			}
		})
	}
}

func fileOf(ce *base.CorruptionError) string {
	if ce == nil {
		return ""
	}
	return ce.File
}

func entryFile(n int64) func(string) string {
	return func(branch string) string { return fmt.Sprintf("db/_lakesql_log/%s/%020d.json", branch, n) }
}

func checkpointFile(n int64) func(string) string {
	return func(branch string) string {
		return fmt.Sprintf("db/_lakesql_log/%s/_checkpoints/%020d.parquet", branch, n)
	}
}

// TestMissingEntry: a gap in the log is corruption naming the missing entry.
func TestMissingEntry(t *testing.T) {
	ctx := context.Background()
	st, branch := buildLog(t)
	// Without the checkpoint, replay starts at entry 1 and must not jump
	// over a deleted entry 5.
	for _, name := range []string{checkpointFile(10)(branch), "db/_lakesql_log/" + branch + "/_last_checkpoint", entryFile(5)(branch)} {
		if err := st.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	db, err := Open(ctx, st, "db", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.Head(ctx, "main")
	var ce *base.CorruptionError
	if !errors.As(err, &ce) || !strings.HasSuffix(ce.File, fmt.Sprintf("%020d.json", 5)) {
		t.Fatalf("head of a log with a gap: %v", err)
	}
}

// TestProtocol: a database that needs a newer reader or writer is refused
// with a clear error.
func TestProtocol(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	db := mustCreate(t, st, testOptions())
	if _, err := db.commitMeta(ctx, "UPGRADE", func(m *MetaState) (*Entry, error) {
		return &Entry{Protocol: &Protocol{MinReader: ReaderVersion, MinWriter: WriterVersion + 1}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(ctx, st, "db", testOptions())
	if err != nil {
		t.Fatalf("a newer writer version must not stop readers: %v", err)
	}
	defer db2.Close()
	h := mustHead(t, db2, "main")
	if _, err := db2.Commit(ctx, h, createTable("t1", "t")); !errors.Is(err, ErrProtocol) {
		t.Fatalf("commit with an old writer: %v", err)
	}
	if _, err := db.commitMeta(ctx, "UPGRADE", func(m *MetaState) (*Entry, error) {
		return &Entry{Protocol: &Protocol{MinReader: ReaderVersion + 1, MinWriter: WriterVersion + 1}}, nil
	}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("an old writer upgraded the protocol: %v", err)
	}
}
