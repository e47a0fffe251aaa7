package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
)

// ReadAll returns the whole content of the named object.
func ReadAll(ctx context.Context, r Reader, name string) ([]byte, error) {
	obj, err := r.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	buf := make([]byte, obj.Size())
	if _, err := obj.ReadAt(buf, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("store: reading %s: %w", name, err)
	}
	return buf, nil
}

// PutBytes stores data under name; see Writer.Put.
func PutBytes(ctx context.Context, w Writer, name string, data []byte, opts ...PutOption) (Info, error) {
	return w.Put(ctx, name, bytes.NewReader(data), opts...)
}

// SectionReader returns an io.Reader over the object's bytes [off, off+n).
func SectionReader(obj Object, off, n int64) *io.SectionReader {
	return io.NewSectionReader(obj, off, n)
}
