package txn

import (
	"bytes"
	"errors"
	"testing"

	"github.com/lakesql/lakesql/internal/base"
)

// FuzzParseEntry: the action parser never panics, rejects only with a
// corruption error, and what it accepts survives a round trip through
// Marshal unchanged.
func FuzzParseEntry(f *testing.F) {
	full := &Entry{
		CommitInfo: CommitInfo{ID: "c1", Timestamp: 5, Operation: "WRITE", UserVersion: 2, DataChange: true, Epoch: 3},
		Protocol:   &Protocol{MinReader: 1, MinWriter: 1},
		Branches:   []Branch{{Name: "dev", ID: "b1", FromID: "b0", FromEntry: 3, FromVersion: 2}},
		Tags:       []Tag{{Name: "v1", BranchID: "b0", Version: 1, Deleted: true}},
		Containers: []Container{{Name: "ext", URI: "s3://x/y", Properties: map[string]string{"a": "b"}}},
		Tables:     []Table{{ID: "t1", Name: "stock", Key: []int{1}, Properties: map[string]string{"k": "v"}}},
		Drops:      []DropTable{{ID: "t2"}},
		Truncates:  []Truncate{{ID: "t3"}},
		Removes:    []Remove{{Table: "t1", Path: "a", DeletionTimestamp: 4, DataChange: true}},
		Adds: []Add{{Table: "t1", Path: "a", Kind: KindFlushed, Rows: 10, Generation: 2,
			DV: &DeletionVector{Inline: []byte{1, 2, 3}, Cardinality: 1}, KeyRange: &KeyRange{Min: []byte("1"), Max: []byte("9")},
			Stats: []byte(`{"1":{"min":1}}`)}},
		WAL:  &WALPosition{Epoch: 3, Position: 77},
		Txns: []Txn{{AppID: "loader", Version: 4}},
	}
	f.Add(full.Marshal())
	f.Add((&Entry{CommitInfo: CommitInfo{ID: "x"}}).Marshal())
	f.Add([]byte("{\"commitInfo\":{\"id\":\"a\"}}\n{\"add\":{\"table\":\"t\",\"path\":\"p\"},\"remove\":{}}\n"))
	f.Add([]byte("\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEntry("entry.json", data)
		if err != nil {
			if !errors.Is(err, base.ErrCorruption) {
				t.Fatalf("rejected without a corruption error: %v", err)
			}
			return
		}
		again, err := ParseEntry("entry.json", e.Marshal())
		if err != nil {
			t.Fatalf("an accepted entry does not parse after Marshal: %v", err)
		}
		if !bytes.Equal(again.Marshal(), e.Marshal()) {
			t.Fatalf("round trip changed the entry:\n%s\n%s", e.Marshal(), again.Marshal())
		}
	})
}
