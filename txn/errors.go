package txn

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of the commit log, grouped. Match them with errors.Is; retryable
// errors say so.
var (
	// ErrConflict matches every *ConflictError: a concurrent commit won
	// the race and the two cannot both apply. It is retryable: prepare
	// the commit again against the new head.
	ErrConflict = errors.New("txn: conflicting concurrent commit")
	// ErrFenced: a writer of a newer epoch has taken over the branch. It is
	// terminal for this writer and does not match ErrConflict.
	ErrFenced = errors.New("txn: fenced: a newer writer epoch owns the branch")
	// ErrCommitUnknown: a commit's outcome could not be learned (its
	// request failed ambiguously and reading it back failed too). The
	// entry may or may not exist; refresh the head and look for the
	// commit id.
	ErrCommitUnknown = errors.New("txn: commit outcome unknown")
	// ErrProtocol: the database needs a newer lakesql.
	ErrProtocol = errors.New("txn: unsupported protocol version")
	// ErrInvalidName: a branch, tag or table name is not allowed.
	ErrInvalidName = errors.New("txn: invalid name")
	// ErrNotFound matches every *NotFoundError: an unknown database,
	// branch, tag, version or timestamp.
	ErrNotFound = errors.New("txn: not found")
	// ErrExists: a database, branch or tag of that name exists (or, for a
	// tag, existed).
	ErrExists = errors.New("txn: already exists")
	// ErrRetention: an operation would need log or files that vacuum may
	// delete, or a retention too short without force.
	ErrRetention = errors.New("txn: outside the retention window")
)

// NotFoundError says what was looked for and not found.
type NotFoundError struct {
	// What is the kind of thing: "database", "branch", "tag", "ref",
	// "version".
	What string
	// Name is what was looked for.
	Name string
	// Detail adds context, such as the newest version that exists.
	Detail string
}

func (e *NotFoundError) Error() string {
	s := fmt.Sprintf("%s %q not found", e.What, e.Name)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Is makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// ConflictKind says which conflict rule a commit broke.
type ConflictKind int

// The conflict rules (DESIGN.md section 3).
const (
	// ConflictFileRemoved: the commit removes or updates a file that the
	// winner removed.
	ConflictFileRemoved ConflictKind = iota + 1
	// ConflictDeletionVector: the commit removes or updates a file whose
	// deletion vector the winner changed.
	ConflictDeletionVector
	// ConflictConcurrentAppend: the commit rewrote files of a table it
	// read, and the winner added files to that table.
	ConflictConcurrentAppend
	// ConflictTable: one side changed a table's metadata, dropped or
	// truncated it, and the other changed the same table.
	ConflictTable
	// ConflictTableName: both sides gave a table the same name.
	ConflictTableName
	// ConflictRefName: both sides created a branch or tag of one name.
	ConflictRefName
	// ConflictApp: both sides recorded a version of one exactly-once
	// application.
	ConflictApp
	// ConflictProtocol: a side changed the protocol.
	ConflictProtocol
)

var conflictHelp = map[ConflictKind][2]string{
	ConflictFileRemoved:      {"file removed concurrently", "another commit removed a file this one removes or updates; retry against the new state"},
	ConflictDeletionVector:   {"deletion vector changed concurrently", "another commit deleted rows of a file this one removes or updates; retry against the new state"},
	ConflictConcurrentAppend: {"concurrent append", "another commit added data to a table this one read and rewrote; retry so that the new data is read"},
	ConflictTable:            {"concurrent table change", "the table's metadata changed, or it was dropped or truncated, while the other side changed it; retry"},
	ConflictTableName:        {"table name taken concurrently", "another commit created or renamed a table to the same name"},
	ConflictRefName:          {"name taken concurrently", "another commit created a branch or tag of the same name"},
	ConflictApp:              {"concurrent application version", "another commit recorded a version of the same application; re-read its version before retrying"},
	ConflictProtocol:         {"concurrent protocol change", "the database protocol changed; reopen the database"},
}

func (k ConflictKind) String() string {
	if h, ok := conflictHelp[k]; ok {
		return h[0]
	}
	return fmt.Sprintf("ConflictKind(%d)", int(k))
}

// Help says what the conflict means and what to do.
func (k ConflictKind) Help() string { return conflictHelp[k][1] }

// ConflictError is a lost commit race that cannot be rebased. It matches
// ErrConflict and is retryable.
type ConflictError struct {
	Kind ConflictKind
	// Winner is the log entry that won (in the branch's log, or _meta).
	Winner int64
	// Table, Files and Name say what collided, where they apply.
	Table string
	Files []string
	Name  string
}

func (e *ConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "txn: conflict with entry %d: %s", e.Winner, e.Kind)
	if e.Table != "" {
		fmt.Fprintf(&b, " (table %s)", e.Table)
	}
	if e.Name != "" {
		fmt.Fprintf(&b, " (name %q)", e.Name)
	}
	if len(e.Files) > 0 {
		fmt.Fprintf(&b, " (files %s)", strings.Join(e.Files, ", "))
	}
	b.WriteString(": ")
	b.WriteString(e.Kind.Help())
	return b.String()
}

// Is makes errors.Is(err, ErrConflict) hold.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
