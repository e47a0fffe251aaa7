package wal

import (
	"bytes"
	"testing"
)

// TestBuilder checks that a Builder encodes what encode encodes for the
// same changes, and refuses a change without a table and a wrong count.
func TestBuilder(t *testing.T) {
	changes := []Change{
		{Kind: ChangePut, TableID: "t1", SchemaID: 3, Key: []byte("k1"), Row: []byte("row one")},
		{Kind: ChangeDelete, TableID: "t2", SchemaID: -1, Key: []byte("k2")},
		{Kind: ChangePut, TableID: "t1", SchemaID: 3, Key: []byte{}, Row: []byte{}},
	}
	want, err := encode(changes)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuilder(len(changes), 0)
	for _, c := range changes {
		if c.Kind == ChangeDelete {
			b.Delete(c.TableID, c.SchemaID, string(c.Key))
		} else {
			b.Put(c.TableID, c.SchemaID, string(c.Key), c.Row)
		}
	}
	got, err := b.Body()
	if err != nil || !bytes.Equal(got.b, want.b) {
		t.Fatalf("Body = %x, %v; encode = %x", got.b, err, want.b)
	}
	rec, err := decodeRecord(appendFrame(nil, 7, got.b)[frameHeaderLen:])
	if err != nil || len(rec.Changes) != len(changes) || string(rec.Changes[0].Row) != "row one" {
		t.Fatalf("decoded %+v, %v", rec, err)
	}

	b = NewBuilder(1, 0)
	b.Put("", 1, "k", nil)
	if _, err := b.Body(); err == nil {
		t.Error("a change without a table id was accepted")
	}
	b = NewBuilder(2, 0)
	b.Delete("t", 1, "k")
	if _, err := b.Body(); err == nil {
		t.Error("one change for a record of two was accepted")
	}
}
