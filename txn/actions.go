package txn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/lakesql/lakesql/internal/base"
)

// Protocol versions. A reader older than MinReader, or a writer older than
// MinWriter, refuses the database with ErrProtocol.
const (
	ReaderVersion = 1
	WriterVersion = 1
)

// Protocol is the protocol action: the oldest reader and writer that may use
// the database.
type Protocol struct {
	MinReader int `json:"minReader"`
	MinWriter int `json:"minWriter"`
}

// Branch is the branch action of the _meta log: it creates a branch or, with
// Deleted, deletes it.
type Branch struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	// FromID is the parent branch's id ("" for main), FromEntry and
	// FromVersion the parent's entry and user version at the fork.
	FromID      string `json:"fromId,omitempty"`
	FromEntry   int64  `json:"fromEntry,omitempty"`
	FromVersion int64  `json:"fromVersion,omitempty"`
	// FromTimestamp is the timestamp of the fork point's entry: the
	// branch's own entries are later.
	FromTimestamp int64 `json:"fromTimestamp,omitempty"`
	CreatedAt     int64 `json:"createdAt"`
	Deleted       bool  `json:"deleted,omitempty"`
	// DeletedAt is when the branch was deleted (Unix ms).
	DeletedAt int64 `json:"deletedAt,omitempty"`
}

// Tag is the tag action of the _meta log: an immutable name for a version of
// a branch. A deleted tag stays as a tombstone so that its name is never
// reused.
type Tag struct {
	Name      string `json:"name"`
	BranchID  string `json:"branchId"`
	Version   int64  `json:"version"`
	CreatedAt int64  `json:"createdAt"`
	Deleted   bool   `json:"deleted,omitempty"`
}

// Container is the container action of the _meta log: a database-wide named
// location of files that live outside the database.
type Container struct {
	Name       string            `json:"name"`
	URI        string            `json:"uri"`
	Properties map[string]string `json:"properties,omitempty"`
	Deleted    bool              `json:"deleted,omitempty"`
}

// Table is the table action: it creates a table or replaces its metadata
// (rename, schema change, new index). The id never changes.
type Table struct {
	ID     string      `json:"id"`
	Name   string      `json:"name"`
	Schema base.Schema `json:"schema"`
	// SchemaID increases with every schema change; WAL records name it.
	SchemaID int64 `json:"schemaId"`
	// Key lists the primary key's column ids; empty for a keyless table.
	Key        []int             `json:"key,omitempty"`
	Indexes    []base.Index      `json:"indexes,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
}

// DropTable drops a table. Its files stay readable by older versions until
// vacuum.
type DropTable struct {
	ID string `json:"id"`
}

// Truncate removes every file of a table.
type Truncate struct {
	ID string `json:"id"`
}

// DeletionVector marks deleted rows of a data file: a serialized roaring
// bitmap of row positions, inline or in a file at Path[Offset:Offset+Size].
type DeletionVector struct {
	Inline      []byte `json:"inline,omitempty"`
	Path        string `json:"path,omitempty"`
	Offset      int64  `json:"offset,omitempty"`
	Size        int64  `json:"size,omitempty"`
	Cardinality int64  `json:"cardinality"`
}

// KeyRange is the smallest and largest key of a data file, encoded by the
// writer.
type KeyRange struct {
	Min json.RawMessage `json:"min"`
	Max json.RawMessage `json:"max"`
}

// File kinds.
const (
	KindBase    = "base"
	KindFlushed = "flushed"
)

// Add adds a data file to a table, or, together with a Remove of the same
// path in the same entry, replaces its deletion vector.
type Add struct {
	Table string `json:"table"`
	// Path is the file's name relative to the database prefix.
	Path string `json:"path"`
	Kind string `json:"kind"`
	// Generation and BaseRowID are assigned at commit from the log's
	// high-water marks (a deletion-vector update keeps the file's own).
	Generation int64 `json:"generation"`
	BaseRowID  int64 `json:"baseRowId"`
	Rows       int64 `json:"rows"`
	Bytes      int64 `json:"bytes"`
	// Stats are the per-column statistics (min, max, null count) as the
	// file writer encodes them.
	Stats    json.RawMessage `json:"stats,omitempty"`
	KeyRange *KeyRange       `json:"keyRange,omitempty"`
	DV       *DeletionVector `json:"dv,omitempty"`
	// Indexes are the file's secondary-index files, one per index of the
	// table when the file was written or the index built.
	Indexes []IndexFile `json:"indexes,omitempty"`
	// Virtual is set for a file that lives outside the database (a
	// virtual file): Path is then its URL, inside a container.
	Virtual    *Virtual `json:"virtual,omitempty"`
	DataChange bool     `json:"dataChange"`
}

// IndexFile is a data file's sorted index of one secondary index: the
// index columns' values and each row's position in the data file, sorted
// by value (a Parquet file in the database's store).
type IndexFile struct {
	// Index is the name of the index it was written for (informative),
	// Columns the index's column ids, which decide what the file holds.
	Index   string `json:"index"`
	Columns []int  `json:"columns"`
	// Path is the index file's name relative to the database prefix.
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
}

// IndexFile returns the file's index file for an index on columns, or
// nil. An index file depends on the columns alone: a renamed index, or two
// indexes on the same columns, use the same files.
func (a *Add) IndexFile(columns []int) *IndexFile {
	for i := range a.Indexes {
		if f := &a.Indexes[i]; slices.Equal(f.Columns, columns) {
			return f
		}
	}
	return nil
}

// Virtual describes a virtual file: a Parquet file that another tool wrote
// and the table references in place. What the reader recorded when it was
// added lets every later read check that the object is still the same.
type Virtual struct {
	// Container names the container the URL was added through (reads
	// resolve the URL again, by the longest matching prefix).
	Container string `json:"container"`
	// ETag, Size and LastModified (Unix ms) describe the object as it was
	// added; a read of another object fails.
	ETag         string `json:"etag,omitempty"`
	Size         int64  `json:"size"`
	LastModified int64  `json:"lastModified,omitempty"`
	// Columns maps the file's columns, by name, to the table's column ids.
	Columns []VirtualColumn `json:"columns"`
	// RowIDStart is the hidden row id of the file's first row, for a
	// table without a primary key: row i has RowIDStart + i.
	RowIDStart int64 `json:"rowIdStart,omitempty"`
	// Key lists the table's key column ids when the file was added.
	Key []int `json:"key,omitempty"`
	// Version is the version that added the file (assigned at commit).
	Version int64 `json:"version,omitempty"`
}

// VirtualColumn maps one column of a virtual file to a table column.
type VirtualColumn struct {
	Name string `json:"name"`
	ID   int    `json:"id"`
}

// IsVirtualPath reports whether a file path is a URL (a virtual file's)
// rather than a name inside the database.
func IsVirtualPath(p string) bool { return strings.Contains(p, "://") }

// LiveRows is the number of rows not deleted by the deletion vector.
func (a *Add) LiveRows() int64 {
	if a.DV == nil {
		return a.Rows
	}
	return a.Rows - a.DV.Cardinality
}

// Remove removes a data file from a table (a deletion-vector update is a
// Remove and an Add of the same path).
type Remove struct {
	Table string `json:"table"`
	Path  string `json:"path"`
	// DeletionTimestamp is when the file was removed (Unix ms); vacuum
	// deletes it once it is older than the retention.
	DeletionTimestamp int64 `json:"deletionTimestamp"`
	Bytes             int64 `json:"bytes,omitempty"`
	DataChange        bool  `json:"dataChange"`
}

// WALPosition records how far the write-ahead log of an epoch is persisted in
// files; a new writer's first entry claims its epoch with one.
type WALPosition struct {
	Epoch    int64 `json:"epoch"`
	Position int64 `json:"position"`
}

// Txn records the last version an exactly-once application committed.
type Txn struct {
	AppID   string `json:"appId"`
	Version int64  `json:"version"`
}

// CommitInfo describes an entry. Every entry has one, first.
type CommitInfo struct {
	// ID is unique per commit attempt: a writer recognises its own entry
	// by it after a lost response.
	ID string `json:"id"`
	// Timestamp is Unix milliseconds, strictly increasing along a branch.
	Timestamp int64  `json:"timestamp"`
	Operation string `json:"operation"`
	User      string `json:"user,omitempty"`
	Message   string `json:"message,omitempty"`
	// ReadEntry is the entry the commit was prepared against (before any
	// rebase).
	ReadEntry int64 `json:"readEntry"`
	// UserVersion is set when the entry creates a version.
	UserVersion int64 `json:"userVersion,omitempty"`
	// AmendsVersion is set when the entry joins the branch's newest
	// version (its number): that version reads this entry from then on.
	AmendsVersion int64 `json:"amendsVersion,omitempty"`
	// Epoch is the committing writer's lease epoch (0: no lease).
	Epoch      int64 `json:"epoch,omitempty"`
	DataChange bool  `json:"dataChange"`
}

// Entry is one log entry: a commit's actions. In its file each action is one
// line of JSON, commitInfo first.
type Entry struct {
	// Number is the entry's position in its log (its file name), not
	// part of its content.
	Number     int64
	CommitInfo CommitInfo
	Protocol   *Protocol
	Branches   []Branch
	Tags       []Tag
	Containers []Container
	Tables     []Table
	Drops      []DropTable
	Truncates  []Truncate
	Removes    []Remove
	Adds       []Add
	WAL        *WALPosition
	Txns       []Txn
}

// line is one action line: exactly one field is set.
type line struct {
	CommitInfo  *CommitInfo  `json:"commitInfo,omitempty"`
	Protocol    *Protocol    `json:"protocol,omitempty"`
	Branch      *Branch      `json:"branch,omitempty"`
	Tag         *Tag         `json:"tag,omitempty"`
	Container   *Container   `json:"container,omitempty"`
	Table       *Table       `json:"table,omitempty"`
	DropTable   *DropTable   `json:"dropTable,omitempty"`
	Truncate    *Truncate    `json:"truncate,omitempty"`
	Remove      *Remove      `json:"remove,omitempty"`
	Add         *Add         `json:"add,omitempty"`
	WALPosition *WALPosition `json:"walPosition,omitempty"`
	Txn         *Txn         `json:"txn,omitempty"`
}

// Marshal encodes the entry as newline-delimited JSON.
func (e *Entry) Marshal() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	put := func(l line) {
		if err := enc.Encode(l); err != nil {
			panic(fmt.Sprintf("txn: encoding an action: %v", err)) // only plain data types
		}
	}
	put(line{CommitInfo: &e.CommitInfo})
	if e.Protocol != nil {
		put(line{Protocol: e.Protocol})
	}
	for i := range e.Branches {
		put(line{Branch: &e.Branches[i]})
	}
	for i := range e.Tags {
		put(line{Tag: &e.Tags[i]})
	}
	for i := range e.Containers {
		put(line{Container: &e.Containers[i]})
	}
	for i := range e.Tables {
		put(line{Table: &e.Tables[i]})
	}
	for i := range e.Drops {
		put(line{DropTable: &e.Drops[i]})
	}
	for i := range e.Truncates {
		put(line{Truncate: &e.Truncates[i]})
	}
	for i := range e.Removes {
		put(line{Remove: &e.Removes[i]})
	}
	for i := range e.Adds {
		put(line{Add: &e.Adds[i]})
	}
	if e.WAL != nil {
		put(line{WALPosition: e.WAL})
	}
	for i := range e.Txns {
		put(line{Txn: &e.Txns[i]})
	}
	return buf.Bytes()
}

// ParseEntry decodes an entry. file names it in a corruption error. Every
// line must be one known action; the first must be commitInfo; the entry
// must end with a newline (a missing one means a truncated file).
func ParseEntry(file string, data []byte) (*Entry, error) {
	if len(data) == 0 {
		return nil, base.Corruptf(file, "empty log entry")
	}
	if data[len(data)-1] != '\n' {
		return nil, base.Corruptf(file, "log entry does not end with a newline (truncated?)")
	}
	e := &Entry{}
	n := 0
	for rest := data; len(rest) > 0; n++ {
		i := bytes.IndexByte(rest, '\n')
		raw := rest[:i]
		rest = rest[i+1:]
		var l line
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return nil, base.Corruptf(file, "line %d: %v", n+1, err)
		}
		if dec.More() {
			return nil, base.Corruptf(file, "line %d: more than one JSON value", n+1)
		}
		if err := e.addLine(&l, n); err != nil {
			return nil, base.Corruptf(file, "line %d: %v", n+1, err)
		}
	}
	if e.CommitInfo.ID == "" {
		return nil, base.Corruptf(file, "commitInfo has no id")
	}
	return e, nil
}

func (e *Entry) addLine(l *line, n int) error {
	set := 0
	count := func(ok bool) {
		if ok {
			set++
		}
	}
	count(l.CommitInfo != nil)
	count(l.Protocol != nil)
	count(l.Branch != nil)
	count(l.Tag != nil)
	count(l.Container != nil)
	count(l.Table != nil)
	count(l.DropTable != nil)
	count(l.Truncate != nil)
	count(l.Remove != nil)
	count(l.Add != nil)
	count(l.WALPosition != nil)
	count(l.Txn != nil)
	if set != 1 {
		return fmt.Errorf("a line holds %d actions, want 1", set)
	}
	if (n == 0) != (l.CommitInfo != nil) {
		return fmt.Errorf("commitInfo must be the first line, and only it")
	}
	switch {
	case l.CommitInfo != nil:
		e.CommitInfo = *l.CommitInfo
	case l.Protocol != nil:
		if e.Protocol != nil {
			return fmt.Errorf("two protocol actions")
		}
		e.Protocol = l.Protocol
	case l.Branch != nil:
		e.Branches = append(e.Branches, *l.Branch)
	case l.Tag != nil:
		e.Tags = append(e.Tags, *l.Tag)
	case l.Container != nil:
		e.Containers = append(e.Containers, *l.Container)
	case l.Table != nil:
		e.Tables = append(e.Tables, *l.Table)
	case l.DropTable != nil:
		e.Drops = append(e.Drops, *l.DropTable)
	case l.Truncate != nil:
		e.Truncates = append(e.Truncates, *l.Truncate)
	case l.Remove != nil:
		e.Removes = append(e.Removes, *l.Remove)
	case l.Add != nil:
		e.Adds = append(e.Adds, *l.Add)
	case l.WALPosition != nil:
		if e.WAL != nil {
			return fmt.Errorf("two walPosition actions")
		}
		e.WAL = l.WALPosition
	case l.Txn != nil:
		e.Txns = append(e.Txns, *l.Txn)
	}
	return nil
}

// DataTables returns the ids of the tables whose data or metadata the entry
// changes, sorted.
func (e *Entry) DataTables() []string {
	var ids []string
	for _, t := range e.Tables {
		ids = append(ids, t.ID)
	}
	for _, d := range e.Drops {
		ids = append(ids, d.ID)
	}
	for _, t := range e.Truncates {
		ids = append(ids, t.ID)
	}
	for _, r := range e.Removes {
		ids = append(ids, r.Table)
	}
	for _, a := range e.Adds {
		ids = append(ids, a.Table)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
