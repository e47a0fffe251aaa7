package sql

import (
	"io"
	"strconv"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// AUTO_INCREMENT. A table's counter lives in the process that writes its
// branch and starts, on first use, at one more than the column's largest
// value (as InnoDB did before 8.0): values are unique and increasing, and
// a rolled-back insert leaves a gap, as in MySQL.

var _ sql.AutoIncrementTable = (*Table)(nil)

// autoInc is one table's counter.
type autoInc struct {
	mu   sync.Mutex
	init bool
	next uint64
}

// autoIncColumn is the index of the AUTO_INCREMENT column in t.cols, or -1.
func (t *Table) autoIncColumn() int {
	id, ok := t.meta.Properties[autoIncProperty]
	if !ok {
		return -1
	}
	for i, c := range t.cols {
		if strconv.Itoa(c.col.ID) == id {
			return i
		}
	}
	return -1
}

// counter returns the table's counter, starting it from the column's
// largest value.
func (t *Table) counter(ctx *sql.Context) (*autoInc, error) {
	if t.asOf != nil {
		return nil, errReadOnlyAsOf
	}
	col := t.autoIncColumn()
	if col < 0 {
		// go-mysql-server recognizes this very error (by its text, in
		// SHOW CREATE TABLE): information_schema.tables and SHOW CREATE
		// TABLE then show no counter.
		return nil, sql.ErrNoAutoIncrementCol
	}
	st := t.db.st
	key := t.db.branch + "/" + t.meta.ID
	st.mu.Lock()
	if st.autoIncs == nil {
		st.autoIncs = map[string]*autoInc{}
	}
	a := st.autoIncs[key]
	if a == nil {
		a = &autoInc{}
		st.autoIncs[key] = a
	}
	st.mu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.init {
		max, err := t.maxOf(ctx, col)
		if err != nil {
			return nil, err
		}
		a.next, a.init = max+1, true
	}
	return a, nil
}

// maxOf is the largest value of column col (0 for none or negatives).
func (t *Table) maxOf(ctx *sql.Context, col int) (uint64, error) {
	full := t.WithProjections([]string{t.cols[col].col.Name}).(*Table)
	v, err := full.view(ctx)
	if err != nil {
		return 0, err
	}
	iter, err := full.scanRows(ctx, v, nil, nil)
	if err != nil {
		return 0, err
	}
	defer iter.Close(ctx)
	var max uint64
	for {
		row, err := iter.Next(ctx)
		if err == io.EOF {
			return max, nil
		}
		if err != nil {
			return 0, err
		}
		if n, ok := asCounter(ctx, row[0]); ok && n > max {
			max = n
		}
	}
}

func asCounter(ctx *sql.Context, v any) (uint64, bool) {
	if v == nil {
		return 0, false
	}
	if c, err := types.Int64.Compare(ctx, v, 0); err != nil || c <= 0 {
		return 0, false
	}
	n, _, err := types.Uint64.Convert(ctx, v)
	if err != nil {
		return 0, false
	}
	return n.(uint64), true
}

// PeekNextAutoIncrementValue implements sql.AutoIncrementTable.
func (t *Table) PeekNextAutoIncrementValue(ctx *sql.Context) (uint64, error) {
	if t.asOf != nil {
		return 0, sql.ErrNoAutoIncrementCol // a past version has no counter to show
	}
	a, err := t.counter(ctx)
	if err != nil {
		return 0, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.next, nil
}

// GetNextAutoIncrementValue implements sql.AutoIncrementTable: the value
// an insert without one gets; a larger given value moves the counter.
func (t *Table) GetNextAutoIncrementValue(ctx *sql.Context, given any) (uint64, error) {
	a, err := t.counter(ctx)
	if err != nil {
		return 0, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if n, ok := asCounter(ctx, given); ok && n > a.next {
		a.next = n
	}
	return a.next, nil
}

// inserted moves the counter past a value an insert wrote.
func (t *Table) inserted(ctx *sql.Context, row sql.Row) {
	col := t.autoIncColumn()
	if col < 0 || col >= len(row) {
		return
	}
	n, ok := asCounter(ctx, row[col])
	if !ok {
		return
	}
	a, err := t.counter(ctx)
	if err != nil {
		return
	}
	a.mu.Lock()
	if n >= a.next {
		a.next = n + 1
	}
	a.mu.Unlock()
}

// AutoIncrementSetter implements sql.AutoIncrementTable.
func (t *Table) AutoIncrementSetter(ctx *sql.Context) sql.AutoIncrementSetter {
	return &autoIncSetter{t: t}
}

type autoIncSetter struct{ t *Table }

func (s *autoIncSetter) SetAutoIncrementValue(ctx *sql.Context, v uint64) error {
	a, err := s.t.counter(ctx)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.next = v
	return nil
}

func (s *autoIncSetter) AcquireAutoIncrementLock(ctx *sql.Context) (func(), error) {
	return func() {}, nil
}

func (s *autoIncSetter) Close(*sql.Context) error { return nil }
