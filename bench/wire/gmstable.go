package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// keyedDatabase is the gms target's database: CREATE TABLE makes a
// keyedTable. It is safe for concurrent use.
type keyedDatabase struct {
	name string
	mu   struct {
		sync.Mutex
		tables map[string]*keyedTable // by lower-case name
	}
}

var _ sql.TableCreator = (*keyedDatabase)(nil)

func newKeyedDatabase(name string) *keyedDatabase {
	db := &keyedDatabase{name: name}
	db.mu.tables = map[string]*keyedTable{}
	return db
}

func (db *keyedDatabase) Name() string { return db.name }

func (db *keyedDatabase) GetTableInsensitive(_ *sql.Context, name string) (sql.Table, bool, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	t, ok := db.mu.tables[strings.ToLower(name)]
	return t, ok, nil
}

func (db *keyedDatabase) GetTableNames(*sql.Context) ([]string, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	var names []string
	for _, t := range db.mu.tables {
		names = append(names, t.name)
	}
	slices.Sort(names)
	return names, nil
}

// CreateTable accepts tables whose primary key is one integer column.
func (db *keyedDatabase) CreateTable(_ *sql.Context, name string, schema sql.PrimaryKeySchema, collation sql.CollationID, _ string) error {
	if len(schema.PkOrdinals) != 1 || !types.IsInteger(schema.Schema[schema.PkOrdinals[0]].Type) {
		return fmt.Errorf("table %s: the gms target stores only tables whose primary key is one integer column", name)
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if _, ok := db.mu.tables[strings.ToLower(name)]; ok {
		return sql.ErrTableAlreadyExists.New(name)
	}
	t := &keyedTable{db: db.name, name: name, schema: schema, collation: collation, pk: schema.PkOrdinals[0]}
	t.mu.pos = map[int64]int{}
	db.mu.tables[strings.ToLower(name)] = t
	return nil
}

// keyedTable keeps its rows in insertion order in a slice, with a hash
// index from primary key to position. It answers point lookups on the key
// through pkIndex and scans everything else. It is the least storage that
// GMS can run this workload on, so that the gms figures are the engine's
// and the protocol's cost.
//
// It is safe for concurrent use, but a statement is not atomic: rows
// written before a failing row of a multi-row INSERT stay (DiscardChanges
// does nothing), and a scan sees the updates made while it runs. There is
// no DELETE.
type keyedTable struct {
	db, name  string
	schema    sql.PrimaryKeySchema
	collation sql.CollationID
	pk        int // ordinal of the key column

	mu struct {
		sync.RWMutex
		rows []sql.Row     // a stored row is never modified: Update stores a copy of the new one
		pos  map[int64]int // key -> index in rows
	}
}

var (
	_ sql.PrimaryKeyTable       = (*keyedTable)(nil)
	_ sql.InsertableTable       = (*keyedTable)(nil)
	_ sql.UpdatableTable        = (*keyedTable)(nil)
	_ sql.IndexAddressableTable = (*keyedTable)(nil)
	_ sql.IndexedTable          = (*keyedTable)(nil)
)

func (t *keyedTable) Name() string                           { return t.name }
func (t *keyedTable) String() string                         { return t.name }
func (t *keyedTable) Schema() sql.Schema                     { return t.schema.Schema }
func (t *keyedTable) PrimaryKeySchema() sql.PrimaryKeySchema { return t.schema }
func (t *keyedTable) Collation() sql.CollationID             { return t.collation }

// A scanPartition is the whole table; a keysPartition the rows of some keys.
type (
	scanPartition struct{}
	keysPartition []int64
)

func (scanPartition) Key() []byte { return []byte("scan") }
func (keysPartition) Key() []byte { return []byte("keys") }

func (t *keyedTable) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(scanPartition{}), nil
}

func (t *keyedTable) PartitionRows(_ *sql.Context, p sql.Partition) (sql.RowIter, error) {
	switch p := p.(type) {
	case scanPartition:
		return &scanIter{t: t}, nil
	case keysPartition:
		t.mu.RLock()
		defer t.mu.RUnlock()
		var rows []sql.Row
		for _, k := range p {
			if i, ok := t.mu.pos[k]; ok {
				rows = append(rows, t.mu.rows[i])
			}
		}
		return sql.RowsToRowIter(rows...), nil
	default:
		return nil, fmt.Errorf("table %s: unexpected partition %T", t.name, p)
	}
}

// scanIter reads the table in chunks, taking the lock once per chunk.
type scanIter struct {
	t     *keyedTable
	next  int // position in t.mu.rows of the row after buf
	buf   []sql.Row
	bufAt int
}

func (it *scanIter) Next(*sql.Context) (sql.Row, error) {
	if it.bufAt == len(it.buf) {
		it.t.mu.RLock()
		rows := it.t.mu.rows[min(it.next, len(it.t.mu.rows)):]
		it.buf = append(it.buf[:0], rows[:min(len(rows), 1024)]...)
		it.t.mu.RUnlock()
		it.next += len(it.buf)
		it.bufAt = 0
		if len(it.buf) == 0 {
			return nil, io.EOF
		}
	}
	it.bufAt++
	return it.buf[it.bufAt-1], nil
}

func (it *scanIter) Close(*sql.Context) error { return nil }

// key returns the primary key of row.
func (t *keyedTable) key(row sql.Row) (int64, error) {
	if k, ok := intKey(row[t.pk]); ok {
		return k, nil
	}
	return 0, fmt.Errorf("table %s: primary key %v (%T) is not an int64", t.name, row[t.pk], row[t.pk])
}

// intKey converts a Go integer that fits in an int64.
func intKey(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case int32:
		return int64(v), true
	case int16:
		return int64(v), true
	case int8:
		return int64(v), true
	case int:
		return int64(v), true
	case uint64:
		return int64(v), v <= math.MaxInt64
	case uint32:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint8:
		return int64(v), true
	}
	return 0, false
}

func (t *keyedTable) Inserter(*sql.Context) sql.RowInserter { return editor{t} }
func (t *keyedTable) Updater(*sql.Context) sql.RowUpdater   { return editor{t} }

// editor writes through to the table.
type editor struct{ t *keyedTable }

func (editor) StatementBegin(*sql.Context)              {}
func (editor) DiscardChanges(*sql.Context, error) error { return nil }
func (editor) StatementComplete(*sql.Context) error     { return nil }
func (editor) Close(*sql.Context) error                 { return nil }

// Insert adds row, or fails with GMS's unique-key error that carries the
// existing row: INSERT ... ON DUPLICATE KEY UPDATE then calls Update.
func (e editor) Insert(_ *sql.Context, row sql.Row) error {
	k, err := e.t.key(row)
	if err != nil {
		return err
	}
	t := e.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.mu.pos[k]; ok {
		return sql.NewUniqueKeyErr(fmt.Sprintf("[%d]", k), true, t.mu.rows[i])
	}
	t.mu.pos[k] = len(t.mu.rows)
	t.mu.rows = append(t.mu.rows, slices.Clone(row))
	return nil
}

// Update replaces old by new, which may have another key.
func (e editor) Update(_ *sql.Context, old, new sql.Row) error {
	oldKey, err := e.t.key(old)
	if err != nil {
		return err
	}
	newKey, err := e.t.key(new)
	if err != nil {
		return err
	}
	t := e.t
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.mu.pos[oldKey]
	if !ok {
		return fmt.Errorf("table %s: no row with key %d to update", t.name, oldKey)
	}
	if newKey != oldKey {
		if j, ok := t.mu.pos[newKey]; ok {
			return sql.NewUniqueKeyErr(fmt.Sprintf("[%d]", newKey), true, t.mu.rows[j])
		}
		delete(t.mu.pos, oldKey)
		t.mu.pos[newKey] = i
	}
	t.mu.rows[i] = slices.Clone(new)
	return nil
}

func (t *keyedTable) GetIndexes(*sql.Context) ([]sql.Index, error) {
	return []sql.Index{pkIndex{t}}, nil
}

// PreciseMatch is true: pkIndex supports only point lookups, which it
// answers exactly.
func (t *keyedTable) PreciseMatch() bool { return true }

func (t *keyedTable) IndexedAccess(*sql.Context, sql.IndexLookup) sql.IndexedTable { return t }

// LookupPartitions returns the keys of the lookup's point ranges as one
// partition.
func (t *keyedTable) LookupPartitions(_ *sql.Context, lookup sql.IndexLookup) (sql.PartitionIter, error) {
	ranges, ok := lookup.Ranges.(sql.MySQLRangeCollection)
	if !ok {
		return nil, fmt.Errorf("table %s: unexpected ranges %T", t.name, lookup.Ranges)
	}
	var keys keysPartition
	if !lookup.IsEmptyRange {
		for _, r := range ranges {
			k, ok := pointKey(r)
			if !ok {
				return nil, fmt.Errorf("table %s: not a point lookup: %v", t.name, r)
			}
			keys = append(keys, k)
		}
	}
	return sql.PartitionsToPartitionIter(keys), nil
}

// pointKey returns the key of r if r is [k, k] for an integer k.
func pointKey(r sql.Range) (int64, bool) {
	mr, ok := r.(sql.MySQLRange)
	if !ok || len(mr) != 1 {
		return 0, false
	}
	lo, ok1 := mr[0].LowerBound.(sql.Below)
	hi, ok2 := mr[0].UpperBound.(sql.Above)
	if !ok1 || !ok2 {
		return 0, false
	}
	l, ok1 := intKey(lo.Key)
	h, ok2 := intKey(hi.Key)
	return l, ok1 && ok2 && l == h
}

// pkIndex is the primary key of a keyedTable, for point lookups only.
type pkIndex struct{ t *keyedTable }

var _ sql.Index = pkIndex{}

func (i pkIndex) column() string {
	c := i.t.schema.Schema[i.t.pk]
	return expression.NewGetFieldWithTable(i.t.pk, 0, c.Type, i.t.db, i.t.name, c.Name, c.Nullable).String()
}

func (i pkIndex) ID() string              { return "PRIMARY" }
func (i pkIndex) Database() string        { return i.t.db }
func (i pkIndex) Table() string           { return i.t.name }
func (i pkIndex) Expressions() []string   { return []string{i.column()} }
func (i pkIndex) IsUnique() bool          { return true }
func (i pkIndex) IsSpatial() bool         { return false }
func (i pkIndex) IsFullText() bool        { return false }
func (i pkIndex) IsVector() bool          { return false }
func (i pkIndex) Comment() string         { return "" }
func (i pkIndex) IndexType() string       { return "HASH" }
func (i pkIndex) IsGenerated() bool       { return false }
func (i pkIndex) PrefixLengths() []uint16 { return nil }

func (i pkIndex) ColumnExpressionTypes() []sql.ColumnExpressionType {
	return []sql.ColumnExpressionType{{Expression: i.column(), Type: i.t.schema.Schema[i.t.pk].Type}}
}

func (i pkIndex) CanSupportOrderBy(sql.Expression) bool { return false }

// CanSupport accepts point ranges only: anything else is a scan.
func (i pkIndex) CanSupport(_ *sql.Context, ranges ...sql.Range) bool {
	for _, r := range ranges {
		if _, ok := pointKey(r); !ok {
			return false
		}
	}
	return true
}
