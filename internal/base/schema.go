package base

// Schema is a table's columns. Every column has an id that never changes and
// is never reused, so files written under an older schema are read through a
// newer one by column id (a renamed column keeps its id; an added column gets
// a new one and its Default for old rows).
type Schema struct {
	Columns []Column `json:"columns"`
	// NextColumnID is the id the next added column gets.
	NextColumnID int `json:"nextColumnId"`
}

// Column is one column of a Schema.
type Column struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
	// Default is the column's default as a SQL literal, or nil for none.
	Default *string `json:"default,omitempty"`
	// Hidden columns (the hidden row id of keyless tables) are not shown to
	// SQL.
	Hidden bool `json:"hidden,omitempty"`
}

// Index is a secondary index of a table, by column ids.
type Index struct {
	Name    string `json:"name"`
	Columns []int  `json:"columns"`
	Unique  bool   `json:"unique,omitempty"`
}

// ColumnByID returns the column with id, or nil.
func (s *Schema) ColumnByID(id int) *Column {
	for i := range s.Columns {
		if s.Columns[i].ID == id {
			return &s.Columns[i]
		}
	}
	return nil
}

// Position returns the index in Columns of the column with id, or -1.
func (s *Schema) Position(id int) int {
	for i := range s.Columns {
		if s.Columns[i].ID == id {
			return i
		}
	}
	return -1
}

// RowIDColumn names the hidden BIGINT column that keys a table without a
// primary key: its writer assigns each inserted row a unique id (the
// writer's epoch << 40 | a counter), which files store like any column and
// which WAL records, MemTables and deletion vectors use as the key.
const RowIDColumn = "_lakesql_rowid"
