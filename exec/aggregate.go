package exec

import (
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
)

// ErrUnsupported matches the errors of NewHashAggregate and NewTopN for a
// column type or a function over a type that they do not handle; the caller
// then runs the query on the row engine instead.
var ErrUnsupported = errors.New("exec: unsupported")

// Func is an aggregate function.
type Func uint8

// The aggregate functions. The zero Func is invalid.
const (
	// CountStar is COUNT(*): the number of rows, an int64.
	CountStar Func = iota + 1
	// Count is COUNT(col): the number of non-NULL values, an int64.
	Count
	// CountDistinct is COUNT(DISTINCT col): the number of distinct
	// non-NULL values, an int64.
	CountDistinct
	// Sum is SUM(col): a decimal.Decimal over integers and decimals, a
	// float64 over floats; NULL without values.
	Sum
	// Avg is AVG(col): a decimal.Decimal rounded to Aggregate.AvgScale over
	// integers and decimals, a float64 over floats; NULL without values.
	Avg
	// Min is MIN(col): the smallest value, NULL without values.
	Min
	// Max is MAX(col): the largest value, NULL without values.
	Max
)

// String returns the SQL name of f.
func (f Func) String() string {
	switch f {
	case CountStar:
		return "COUNT(*)"
	case Count:
		return "COUNT"
	case CountDistinct:
		return "COUNT(DISTINCT)"
	case Sum:
		return "SUM"
	case Avg:
		return "AVG"
	case Min:
		return "MIN"
	case Max:
		return "MAX"
	}
	return fmt.Sprintf("Func(%d)", uint8(f))
}

// Aggregate is one aggregate of a HashAggregate.
type Aggregate struct {
	// Func is the function.
	Func Func
	// Col is the input column; ignored for CountStar.
	Col int
	// AvgScale is the scale of AVG's DECIMAL result over integer and decimal
	// input (MySQL's is min(input scale + 4, 30)); ignored otherwise.
	AvgScale int32
}

// HashAggregate computes aggregates per group of equal key values over
// Arrow records, with MySQL's semantics (see the package documentation).
// Feed it records with Add; combine aggregates built from the same
// specification on other goroutines with Merge; read the groups with
// Results.
//
// A HashAggregate is not safe for concurrent use: use one per goroutine and
// merge them.
type HashAggregate struct {
	input *arrow.Schema
	keys  []int
	aggs  []Aggregate
	// groups assigns group ids; nil without keys, when every row belongs
	// to group 0.
	groups grouper
	accs   []accumulator
	gids   []uint32
}

// NewHashAggregate returns an empty aggregate of the records of schema
// input, grouped by the key columns keys (none for a global aggregate),
// computing aggs. It returns an error matching ErrUnsupported and naming
// the column when a column's type, or a function over it, is not handled
// (SUM or AVG over strings, binary, dates, timestamps, durations or
// booleans).
func NewHashAggregate(input *arrow.Schema, keys []int, aggs []Aggregate) (*HashAggregate, error) {
	h := &HashAggregate{
		input: input,
		keys:  slices.Clone(keys),
		aggs:  slices.Clone(aggs),
	}
	keyTypes := make([]colType, len(keys))
	for i, c := range keys {
		t, err := columnType(input, c)
		if err != nil {
			return nil, fmt.Errorf("GROUP BY: %w", err)
		}
		keyTypes[i] = t
	}
	for _, a := range aggs {
		t, err := aggregateType(input, a)
		if err != nil {
			return nil, err
		}
		h.accs = append(h.accs, newAccumulator(a, t, len(keys) > 0))
	}
	if len(keys) > 0 {
		h.groups = newGrouper(h.keys, keyTypes)
	} else {
		h.grow(1)
	}
	return h, nil
}

// columnType classifies input column c.
func columnType(input *arrow.Schema, c int) (colType, error) {
	if c < 0 || c >= input.NumFields() {
		return colType{}, fmt.Errorf("exec: column %d out of range [0, %d)", c, input.NumFields())
	}
	f := input.Field(c)
	t, err := classify(f.Type)
	if err != nil {
		return colType{}, fmt.Errorf("column %d %q: %w", c, f.Name, err)
	}
	return t, nil
}

// aggregateType validates a against input and returns the type of its
// column (the zero colType for CountStar).
func aggregateType(input *arrow.Schema, a Aggregate) (colType, error) {
	if a.Func < CountStar || a.Func > Max {
		return colType{}, fmt.Errorf("exec: invalid aggregate function %d", uint8(a.Func))
	}
	if a.Func == CountStar {
		return colType{}, nil
	}
	t, err := columnType(input, a.Col)
	if err != nil {
		return colType{}, fmt.Errorf("%s: %w", a.Func, err)
	}
	if (a.Func == Sum || a.Func == Avg) && !t.kind.isExactNumber() && !t.kind.isFloat() {
		return colType{}, fmt.Errorf("%w: %s over column %d %q of type %s",
			ErrUnsupported, a.Func, a.Col, input.Field(a.Col).Name, input.Field(a.Col).Type)
	}
	if a.Func == Avg && t.kind.isExactNumber() && a.AvgScale < 0 {
		return colType{}, fmt.Errorf("exec: AVG over column %d with negative scale %d", a.Col, a.AvgScale)
	}
	return t, nil
}

// grow makes room for n groups in every accumulator.
func (h *HashAggregate) grow(n int) {
	for _, acc := range h.accs {
		acc.grow(n)
	}
}

// Add folds the rows of rec, which has the input schema, into the
// aggregate. It does not retain rec.
func (h *HashAggregate) Add(rec arrow.Record) error {
	if err := checkRecord(h.input, rec); err != nil {
		return err
	}
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	var gids []uint32
	if h.groups != nil {
		h.gids = grown(h.gids[:0], n)
		gids = h.gids
		h.groups.assign(rec, gids)
		h.grow(h.groups.len())
	}
	for _, acc := range h.accs {
		acc.update(rec, gids)
	}
	return nil
}

// checkRecord returns an error unless rec's columns have the types of
// schema's fields, or are the same byte strings in the other encoding: a
// String or Binary field may arrive as a dictionary array of that value
// type and a dictionary field as a plain array of its value type (a scan
// returns a column as a dictionary array in the records of
// dictionary-encoded file chunks only). The operators take the encoding
// from each record.
func checkRecord(schema *arrow.Schema, rec arrow.Record) error {
	if int(rec.NumCols()) != schema.NumFields() {
		return fmt.Errorf("exec: record has %d columns, want %d", rec.NumCols(), schema.NumFields())
	}
	for i, col := range rec.Columns() {
		if want := schema.Field(i).Type; !arrow.TypeEqual(col.DataType(), want) && !sameBytes(col.DataType(), want) {
			return fmt.Errorf("exec: record column %d has type %s, want %s", i, col.DataType(), want)
		}
	}
	return nil
}

// sameBytes reports whether a and b are both String or both Binary, plain
// or dictionary-encoded (with integer indexes).
func sameBytes(a, b arrow.DataType) bool {
	ta, err := classify(a)
	if err != nil || !ta.kind.isBytes() {
		return false
	}
	tb, err := classify(b)
	return err == nil && tb.kind == ta.kind
}

// Merge folds into h the state of other, an aggregate made by
// NewHashAggregate with the same arguments (typically on another
// goroutine, over another partition of the input). Merging is not ordered:
// only float sums, whose rounding depends on the order of additions, can
// come out differently. other must not be used afterwards.
func (h *HashAggregate) Merge(other *HashAggregate) error {
	switch {
	case other == h:
		return errors.New("exec: merging a HashAggregate into itself")
	case !slices.Equal(h.keys, other.keys) || !slices.Equal(h.aggs, other.aggs) || !sameTypes(h.input, other.input):
		return errors.New("exec: merging HashAggregates of different specifications")
	}
	m := []uint32{0}
	if h.groups != nil {
		m = h.groups.merge(other.groups)
		h.grow(h.groups.len())
	}
	for i, acc := range h.accs {
		acc.merge(other.accs[i], m)
	}
	return nil
}

// sameTypes reports whether a and b have the same column types.
func sameTypes(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.NumFields() {
		if !arrow.TypeEqual(a.Field(i).Type, b.Field(i).Type) {
			return false
		}
	}
	return true
}

// Len returns the number of groups: always 1 without keys.
func (h *HashAggregate) Len() int {
	if h.groups == nil {
		return 1
	}
	return h.groups.len()
}

// Results returns one row per group, in the order the groups first
// appeared: the group's key values (Arrow Go values, nil for NULL) followed
// by one value per aggregate. Without keys there is exactly one row, even
// when no rows were added.
func (h *HashAggregate) Results() [][]any {
	n, nk := h.Len(), len(h.keys)
	width := nk + len(h.accs)
	rows := make([][]any, n)
	cells := make([]any, n*width)
	for g := range rows {
		rows[g] = cells[:width:width]
		cells = cells[width:]
	}
	if h.groups != nil {
		h.groups.fillKeys(rows)
	}
	for i, acc := range h.accs {
		for g, row := range rows {
			row[nk+i] = acc.result(g)
		}
	}
	return rows
}
