package wal

import (
	"encoding/binary"
	"fmt"
)

// Builder encodes a record's changes one at a time into a Body for
// SubmitBody: a caller builds the body (outside its lock) without a list
// of Changes, and a key or row it passes may be reused once the call
// returns.
type Builder struct {
	b     []byte
	count int // the changes announced
	n     int // the changes added
	err   error
}

// NewBuilder starts the body of a record of count changes; size is a hint
// of their encoded size.
func NewBuilder(count, size int) *Builder {
	b := make([]byte, 0, binary.MaxVarintLen64+max(size, 0))
	return &Builder{b: binary.AppendUvarint(b, uint64(count)), count: count}
}

// Put adds a change that inserts or replaces the row with key.
func (b *Builder) Put(tableID string, schemaID int64, key string, row []byte) {
	b.add(ChangePut, tableID, schemaID, key, row)
}

// Delete adds a change that deletes the row with key.
func (b *Builder) Delete(tableID string, schemaID int64, key string) {
	b.add(ChangeDelete, tableID, schemaID, key, nil)
}

func (b *Builder) add(kind ChangeKind, tableID string, schemaID int64, key string, row []byte) {
	if tableID == "" && b.err == nil {
		b.err = fmt.Errorf("wal: change %d: no table id", b.n)
	}
	b.b = appendChange(b.b, kind, tableID, schemaID, key, row)
	b.n++
}

// Body returns the encoded changes, or an error when a change was invalid
// or their number is not the one announced.
func (b *Builder) Body() (Body, error) {
	if b.err != nil {
		return Body{}, b.err
	}
	if b.n != b.count {
		return Body{}, fmt.Errorf("wal: %d changes added to a record of %d", b.n, b.count)
	}
	return Body{b: b.b}, nil
}
