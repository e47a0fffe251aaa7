package exec

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
)

// SortKey is one ORDER BY column of a TopN.
type SortKey struct {
	// Col is the input column.
	Col int
	// Desc sorts in descending order.
	Desc bool
}

// TopN keeps the first limit rows of its input in ORDER BY order, with
// MySQL's semantics: NULL sorts first ascending and last descending, values
// compare as MIN and MAX compare them, and rows with equal keys keep the
// order in which they were added (Merge appends the other TopN's rows after
// the receiver's).
//
// Rows are kept in a heap whose root is the worst kept row; once limit rows
// are kept, a new row costs a comparison with the root, usually on the
// first key alone, and only rows that beat it are copied.
//
// A TopN is not safe for concurrent use: use one per goroutine and merge
// them.
type TopN struct {
	input    *arrow.Schema
	keys     []SortKey
	keyTypes []colType
	limit    int64
	out      []int
	// rows is a heap ordered by after: rows[0] is the kept row that sorts
	// last.
	rows []topRow
	// seq is the number of rows added so far, the sequence number of the
	// next one.
	seq  uint64
	cols []sortCol
}

// topRow is a kept row: its sort key values, its output values and its
// sequence number, which breaks ties.
type topRow struct {
	keys []keyVal
	out  []any
	seq  uint64
}

// keyVal is a kept sort key value.
type keyVal struct {
	null bool
	// code is the order code of a fixed-width value (see orderCodes).
	code uint64
	d128 decimal128.Num
	d256 decimal256.Num
	// b is a private copy of a byte string.
	b []byte
}

// NewTopN returns an empty TopN over records of schema input that keeps the
// first limit rows in the order of keys and outputs the columns out. It
// returns an error matching ErrUnsupported when a column's type is not
// handled.
func NewTopN(input *arrow.Schema, keys []SortKey, limit int64, out []int) (*TopN, error) {
	if limit < 0 {
		return nil, fmt.Errorf("exec: negative LIMIT %d", limit)
	}
	t := &TopN{
		input:    input,
		keys:     slices.Clone(keys),
		keyTypes: make([]colType, len(keys)),
		limit:    limit,
		out:      slices.Clone(out),
		cols:     make([]sortCol, len(keys)),
	}
	for i, k := range keys {
		ct, err := columnType(input, k.Col)
		if err != nil {
			return nil, fmt.Errorf("ORDER BY: %w", err)
		}
		t.keyTypes[i] = ct
	}
	for _, c := range out {
		if _, err := columnType(input, c); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Add offers the rows of rec, which has the input schema, to the TopN. It
// does not retain rec.
func (t *TopN) Add(rec arrow.Record) error {
	if err := checkRecord(t.input, rec); err != nil {
		return err
	}
	n := int(rec.NumRows())
	base := t.seq
	t.seq += uint64(n)
	if n == 0 || t.limit == 0 {
		return nil
	}
	for k, key := range t.keys {
		t.cols[k].reset(t.keyTypes[k], key.Desc, rec.Column(key.Col))
	}
	defer t.forgetRecord()
	var first *sortCol
	if len(t.cols) > 0 && t.cols[0].kind.fitsUint64() && !t.cols[0].hasNulls {
		first = &t.cols[0]
	}
	for i := 0; i < n; i++ {
		if int64(len(t.rows)) < t.limit {
			t.push(rec, i, base)
			continue
		}
		if root := &t.rows[0]; first != nil && !root.keys[0].null {
			// Skip the rows that sort strictly after the root on the first
			// key: one comparison each.
			i = first.skipAfter(i, root.keys[0].code)
			if i == n {
				break
			}
		}
		if t.cmpRow(i, &t.rows[0]) < 0 {
			t.replaceRoot(rec, i, base)
		}
	}
	return nil
}

// forgetRecord drops the references to the current record's arrays, which
// the caller may release once Add returns.
func (t *TopN) forgetRecord() {
	for k := range t.cols {
		c := &t.cols[k]
		c.a, c.d128, c.d256, c.bytes = nil, nil, nil, byteColumn{}
	}
}

// cmpRow compares row i of the current record with kept row r in output
// order; a tie on every key puts the new row after r, which was added
// earlier.
func (t *TopN) cmpRow(i int, r *topRow) int {
	for k := range t.cols {
		if c := t.cols[k].cmpRow(i, &r.keys[k]); c != 0 {
			return c
		}
	}
	return 1
}

// cmpKept compares two kept rows in output order.
func (t *TopN) cmpKept(a, b *topRow) int {
	for k, key := range t.keys {
		c := compareKeyVals(t.keyTypes[k].kind, &a.keys[k], &b.keys[k])
		if key.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(a.seq, b.seq)
}

// load copies row i of rec into r, reusing r's buffers.
func (t *TopN) load(r *topRow, rec arrow.Record, i int, base uint64) {
	if r.keys == nil {
		r.keys = make([]keyVal, len(t.keys))
		r.out = make([]any, len(t.out))
	}
	for k := range t.cols {
		t.cols[k].load(i, &r.keys[k])
	}
	for j, c := range t.out {
		r.out[j] = goValue(rec.Column(c), i)
	}
	r.seq = base + uint64(i)
}

// push adds row i of rec to the heap.
func (t *TopN) push(rec arrow.Record, i int, base uint64) {
	t.rows = append(t.rows, topRow{})
	t.load(&t.rows[len(t.rows)-1], rec, i, base)
	t.up(len(t.rows) - 1)
}

// replaceRoot replaces the heap's root with row i of rec.
func (t *TopN) replaceRoot(rec arrow.Record, i int, base uint64) {
	t.load(&t.rows[0], rec, i, base)
	t.down(0)
}

// up restores the heap order above node j.
func (t *TopN) up(j int) {
	for j > 0 {
		p := (j - 1) / 2
		if t.cmpKept(&t.rows[j], &t.rows[p]) <= 0 {
			return
		}
		t.rows[j], t.rows[p] = t.rows[p], t.rows[j]
		j = p
	}
}

// down restores the heap order below node j.
func (t *TopN) down(j int) {
	n := len(t.rows)
	for {
		c := 2*j + 1
		if c >= n {
			return
		}
		if r := c + 1; r < n && t.cmpKept(&t.rows[r], &t.rows[c]) > 0 {
			c = r
		}
		if t.cmpKept(&t.rows[c], &t.rows[j]) <= 0 {
			return
		}
		t.rows[j], t.rows[c] = t.rows[c], t.rows[j]
		j = c
	}
}

// Merge folds into t the rows kept by other, a TopN made by NewTopN with
// the same arguments; other's rows count as added after all of t's. other
// must not be used afterwards.
func (t *TopN) Merge(other *TopN) error {
	switch {
	case other == t:
		return errors.New("exec: merging a TopN into itself")
	case t.limit != other.limit || !slices.Equal(t.keys, other.keys) || !slices.Equal(t.out, other.out) || !sameTypes(t.input, other.input):
		return errors.New("exec: merging TopNs of different specifications")
	}
	for _, r := range other.rows {
		r.seq += t.seq
		switch {
		case int64(len(t.rows)) < t.limit:
			t.rows = append(t.rows, r)
			t.up(len(t.rows) - 1)
		case t.cmpKept(&r, &t.rows[0]) < 0:
			t.rows[0] = r
			t.down(0)
		}
	}
	t.seq += other.seq
	other.rows = nil
	return nil
}

// Results returns the kept rows in output order, at most limit of them:
// the values of the output columns (Arrow Go values, nil for NULL).
func (t *TopN) Results() [][]any {
	sorted := make([]*topRow, len(t.rows))
	for i := range t.rows {
		sorted[i] = &t.rows[i]
	}
	slices.SortFunc(sorted, t.cmpKept)
	res := make([][]any, len(sorted))
	for i, r := range sorted {
		res[i] = slices.Clone(r.out)
	}
	return res
}

// sortCol is one sort key column of the current record.
type sortCol struct {
	kind     kind
	desc     bool
	a        arrow.Array
	hasNulls bool
	// codes holds the order codes of a fixed-width column.
	codes []uint64
	d128  []decimal128.Num
	d256  []decimal256.Num
	bytes byteColumn
	dict  dictMap
}

// reset points c at column a of a new record.
func (c *sortCol) reset(t colType, desc bool, a arrow.Array) {
	c.kind, c.desc, c.a = t.kind, desc, a
	c.hasNulls = a.NullN() > 0
	switch {
	case t.kind.isBytes():
		c.bytes = c.dict.column(a)
		c.hasNulls = c.hasNulls || c.bytes.dictNulls
	case t.kind == kindDecimal128:
		c.d128 = values[decimal128.Num](a)
	case t.kind == kindDecimal256:
		c.d256 = values[decimal256.Num](a)
	default:
		c.codes = grown(c.codes[:0], a.Len())
		orderCodes(t.kind, a, c.codes)
	}
}

// null reports whether row i is NULL.
func (c *sortCol) null(i int) bool {
	if !c.hasNulls {
		return false
	}
	if c.kind.isBytes() {
		return c.bytes.null(i)
	}
	return c.a.IsNull(i)
}

// skipAfter returns the first row from i on whose code does not sort
// strictly after code, or len(codes). The column has no NULLs.
func (c *sortCol) skipAfter(i int, code uint64) int {
	codes := c.codes
	if c.desc {
		for i < len(codes) && codes[i] < code {
			i++
		}
		return i
	}
	for i < len(codes) && codes[i] > code {
		i++
	}
	return i
}

// cmpRow compares row i with the kept value v in output order.
func (c *sortCol) cmpRow(i int, v *keyVal) int {
	var r int
	switch rowNull := c.null(i); {
	case rowNull || v.null:
		r = cmpNulls(rowNull, v.null)
	case c.kind == kindDecimal128:
		r = c.d128[i].Cmp(v.d128)
	case c.kind == kindDecimal256:
		r = c.d256[i].Cmp(v.d256)
	case c.kind.isBytes():
		r = bytes.Compare(c.bytes.at(i), v.b)
	default:
		r = cmp.Compare(c.codes[i], v.code)
	}
	if c.desc {
		return -r
	}
	return r
}

// load copies row i into v, reusing v's byte buffer.
func (c *sortCol) load(i int, v *keyVal) {
	v.null = c.null(i)
	if v.null {
		return
	}
	switch {
	case c.kind == kindDecimal128:
		v.d128 = c.d128[i]
	case c.kind == kindDecimal256:
		v.d256 = c.d256[i]
	case c.kind.isBytes():
		v.b = append(v.b[:0], c.bytes.at(i)...)
	default:
		v.code = c.codes[i]
	}
}

// cmpNulls orders NULL before every value, in ascending order.
func cmpNulls(aNull, bNull bool) int {
	switch {
	case aNull == bNull:
		return 0
	case aNull:
		return -1
	}
	return 1
}

// compareKeyVals compares two kept values of kind k in ascending order.
func compareKeyVals(k kind, a, b *keyVal) int {
	switch {
	case a.null || b.null:
		return cmpNulls(a.null, b.null)
	case k == kindDecimal128:
		return a.d128.Cmp(b.d128)
	case k == kindDecimal256:
		return a.d256.Cmp(b.d256)
	case k.isBytes():
		return bytes.Compare(a.b, b.b)
	}
	return cmp.Compare(a.code, b.code)
}

// orderCodes writes the order code of every row of a (whose kind satisfies
// fitsUint64) into dst: a uint64 that sorts like the value. Signed values
// have their sign bit flipped; floats (with -0 folded into +0) have all bits
// flipped when negative and the sign bit set otherwise. The loops are
// branch-free, as the signs of the values are not predictable.
func orderCodes(k kind, a arrow.Array, dst []uint64) {
	switch k {
	case kindInt8:
		signedCodes(values[int8](a), dst)
	case kindInt16:
		signedCodes(values[int16](a), dst)
	case kindInt32:
		signedCodes(values[int32](a), dst)
	case kindInt64:
		signedCodes(values[int64](a), dst)
	case kindDate32:
		signedCodes(values[arrow.Date32](a), dst)
	case kindTimestamp:
		signedCodes(values[arrow.Timestamp](a), dst)
	case kindDuration:
		signedCodes(values[arrow.Duration](a), dst)
	case kindFloat32:
		for i, v := range values[float32](a) {
			b := math.Float32bits(normFloat32(v))
			dst[i] = uint64(b ^ (uint32(int32(b)>>31) | 1<<31))
		}
	case kindFloat64:
		for i, v := range values[float64](a) {
			b := math.Float64bits(normFloat64(v))
			dst[i] = b ^ (uint64(int64(b)>>63) | 1<<63)
		}
	default:
		// Unsigned integers and booleans sort like their key bits.
		toBits(k, a, dst)
	}
}

// signedCodes writes the order codes of signed integers.
func signedCodes[T signedInt](vals []T, dst []uint64) {
	dst = dst[:len(vals)]
	for i, v := range vals {
		dst[i] = uint64(int64(v)) ^ 1<<63
	}
}
