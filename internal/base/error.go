package base

import (
	"errors"
	"fmt"
)

// ErrCorruption matches every corruption error: a stored file that cannot be
// what lakesql wrote (bad framing, a failed checksum, a truncated or
// unparsable entry). Corruption is never skipped silently.
var ErrCorruption = errors.New("corruption")

// ErrUnsupportedType matches the error for a column type lakesql does not
// store.
var ErrUnsupportedType = errors.New("unsupported type")

// CorruptionError reports a corrupt file, naming it.
type CorruptionError struct {
	// File is the object's name in its store.
	File string
	// Err says what is wrong.
	Err error
}

// Error implements error.
func (e *CorruptionError) Error() string {
	return fmt.Sprintf("corruption in %s: %v", e.File, e.Err)
}

// Unwrap returns the cause.
func (e *CorruptionError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrCorruption) hold.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorruption }

// Corruptf returns a CorruptionError for file with a formatted cause.
func Corruptf(file, format string, args ...any) error {
	return &CorruptionError{File: file, Err: fmt.Errorf(format, args...)}
}
