package exec

import (
	"bytes"
	"cmp"
	"fmt"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/shopspring/decimal"
)

// CondOp is the operation of a Cond node.
type CondOp uint8

// The operations of a Cond. Comparisons read L and R; IsNull and Like read
// L; And and Or combine two or more Args, Not one.
const (
	CondEq CondOp = iota + 1
	CondNe
	CondLt
	CondLe
	CondGt
	CondGe
	// CondNullSafeEq is MySQL's <=>: true when both sides are NULL, false
	// when one is, otherwise =.
	CondNullSafeEq
	CondAnd
	CondOr
	CondNot
	CondIsNull
	// CondLike is MySQL's LIKE of a string column against a constant
	// pattern: % matches any run of characters, _ one character, and the
	// escape character makes the next one literal.
	CondLike
)

// Operand is one side of a comparison: a column of the input, or a constant.
type Operand struct {
	// Col is the input column when Const is false.
	Col int
	// IsConst says the operand is Value.
	IsConst bool
	// Value is the constant: nil for NULL, an int64 or uint64 against an
	// integer column, a float64 against a floating-point one, a
	// decimal.Decimal against a DECIMAL one, a string against a string or
	// binary one.
	Value any
}

// ColOperand is the operand that reads column c.
func ColOperand(c int) Operand { return Operand{Col: c} }

// ConstOperand is the constant operand v.
func ConstOperand(v any) Operand { return Operand{IsConst: true, Value: v} }

// Cond is a condition on the rows of a record with SQL's three-valued
// logic: a comparison with NULL is NULL (unknown), NOT NULL is NULL, AND is
// false when either side is false, OR true when either side is true. A
// Filter keeps the rows for which it is true.
//
// Comparisons are between values of one class, as MySQL compares them:
// signed integers (and dates, times, durations of one Arrow type),
// unsigned integers, floating point, decimals of one scale, byte strings
// (compared as bytes: binary collations only). Anything else is refused by
// NewFilter with an error matching ErrUnsupported.
type Cond struct {
	Op   CondOp
	L, R Operand
	Args []Cond
	// Pattern and Escape are CondLike's.
	Pattern string
	Escape  rune
}

// Truth values, ordered so that AND is the minimum and OR the maximum.
const (
	tFalse uint8 = 0
	tNull  uint8 = 1
	tTrue  uint8 = 2
)

// condNode evaluates a compiled Cond into one truth value per row.
type condNode interface {
	eval(rec arrow.Record, out []uint8)
}

// Filter keeps the rows of records for which a Cond is true. A Filter is
// not safe for concurrent use: use one per goroutine.
type Filter struct {
	root  condNode
	truth []uint8
	sel   []int32
}

// NewFilter compiles c for records of the input schema.
func NewFilter(input *arrow.Schema, c Cond) (*Filter, error) {
	root, err := compileCond(input, c)
	if err != nil {
		return nil, err
	}
	return &Filter{root: root}, nil
}

// Apply returns the rows of rec for which the condition is true, as a
// record of rec's schema that the caller releases: rec itself (retained)
// when every row is kept, nil when none is.
func (f *Filter) Apply(rec arrow.Record) (arrow.Record, error) {
	n := int(rec.NumRows())
	f.truth = grown(f.truth, n)[:n]
	f.root.eval(rec, f.truth)
	f.sel = f.sel[:0]
	for i, t := range f.truth {
		if t == tTrue {
			f.sel = append(f.sel, int32(i))
		}
	}
	switch len(f.sel) {
	case 0:
		return nil, nil
	case n:
		rec.Retain()
		return rec, nil
	}
	return TakeRecord(memory.DefaultAllocator, rec, f.sel), nil
}

func compileCond(input *arrow.Schema, c Cond) (condNode, error) {
	switch c.Op {
	case CondAnd, CondOr:
		if len(c.Args) < 2 {
			return nil, fmt.Errorf("exec: %d arguments of AND/OR", len(c.Args))
		}
		n := &logicNode{or: c.Op == CondOr}
		for _, a := range c.Args {
			k, err := compileCond(input, a)
			if err != nil {
				return nil, err
			}
			n.args = append(n.args, k)
		}
		return n, nil
	case CondNot:
		if len(c.Args) != 1 {
			return nil, fmt.Errorf("exec: %d arguments of NOT", len(c.Args))
		}
		k, err := compileCond(input, c.Args[0])
		if err != nil {
			return nil, err
		}
		return &notNode{arg: k}, nil
	case CondIsNull:
		if c.L.IsConst {
			return &constNode{v: boolTruth(c.L.Value == nil)}, nil
		}
		if err := checkCol(input, c.L.Col); err != nil {
			return nil, err
		}
		return &isNullNode{col: c.L.Col}, nil
	case CondLike:
		return compileLike(input, c)
	case CondEq, CondNe, CondLt, CondLe, CondGt, CondGe, CondNullSafeEq:
		return compileCompare(input, c)
	}
	return nil, fmt.Errorf("%w: condition operation %d", ErrUnsupported, c.Op)
}

func checkCol(input *arrow.Schema, col int) error {
	if col < 0 || col >= input.NumFields() {
		return fmt.Errorf("exec: column %d of %d", col, input.NumFields())
	}
	return nil
}

func boolTruth(b bool) uint8 {
	if b {
		return tTrue
	}
	return tFalse
}

// constNode is a condition with the same truth for every row.
type constNode struct{ v uint8 }

func (n *constNode) eval(_ arrow.Record, out []uint8) {
	for i := range out {
		out[i] = n.v
	}
}

// logicNode is AND (the minimum truth) or OR (the maximum).
type logicNode struct {
	or      bool
	args    []condNode
	scratch []uint8
}

func (n *logicNode) eval(rec arrow.Record, out []uint8) {
	n.args[0].eval(rec, out)
	n.scratch = grown(n.scratch, len(out))[:len(out)]
	for _, a := range n.args[1:] {
		a.eval(rec, n.scratch)
		if n.or {
			for i, t := range n.scratch {
				out[i] = max(out[i], t)
			}
		} else {
			for i, t := range n.scratch {
				out[i] = min(out[i], t)
			}
		}
	}
}

// notNode swaps true and false; NULL stays NULL.
type notNode struct{ arg condNode }

func (n *notNode) eval(rec arrow.Record, out []uint8) {
	n.arg.eval(rec, out)
	for i, t := range out {
		out[i] = tTrue - t
	}
}

// isNullNode is IS NULL of a column.
type isNullNode struct {
	col  int
	dict dictMap
}

func (n *isNullNode) eval(rec arrow.Record, out []uint8) {
	a := rec.Column(n.col)
	if hasNullEntries(a) {
		c := n.dict.column(a)
		for i := range out {
			out[i] = boolTruth(c.null(i))
		}
		return
	}
	for i := range out {
		out[i] = boolTruth(a.IsNull(i))
	}
}

// valueClass is how a comparison reads its operands' values.
type valueClass uint8

const (
	classSigned valueClass = iota + 1
	classUnsigned
	classFloat
	classDecimal
	classBytes
)

// classOf returns the comparison class of a column of type t; temporal
// types compare as signed integers, but only with their own Arrow type.
func classOf(t arrow.DataType) (valueClass, colType, error) {
	ct, err := classify(t)
	if err != nil {
		return 0, ct, err
	}
	switch ct.kind {
	case kindInt8, kindInt16, kindInt32, kindInt64, kindDate32, kindTimestamp, kindDuration, kindBool:
		return classSigned, ct, nil
	case kindUint8, kindUint16, kindUint32, kindUint64:
		return classUnsigned, ct, nil
	case kindFloat32, kindFloat64:
		return classFloat, ct, nil
	case kindDecimal128:
		return classDecimal, ct, nil
	case kindString, kindBinary:
		return classBytes, ct, nil
	}
	return 0, ct, fmt.Errorf("%w: comparison of %s", ErrUnsupported, t)
}

// temporal reports whether k is a date, time or duration kind, which only
// compares with its own Arrow type.
func (k kind) temporal() bool {
	return k == kindDate32 || k == kindTimestamp || k == kindDuration || k == kindBool
}

// side is a compiled comparison operand.
type side struct {
	isConst bool
	null    bool // a NULL constant
	col     int
	kind    kind

	// The constant, or the current record's values (u64: order codes of
	// integers, dates and times).
	u64  []uint64
	f64  []float64
	d128 []decimal128.Num
	b    []byte
	col8 byteColumn
	dict dictMap
}

// cmpNode compares two operands of one class.
type cmpNode struct {
	op    CondOp
	class valueClass
	l, r  side
	// entryTruth caches the truth of each dictionary entry against a
	// constant, for a dictionary-encoded byte column.
	entryTruth []uint8
}

func compileCompare(input *arrow.Schema, c Cond) (condNode, error) {
	if c.L.IsConst && c.R.IsConst {
		return nil, fmt.Errorf("%w: comparison of two constants", ErrUnsupported)
	}
	l, r := c.L, c.R
	op := c.Op
	if l.IsConst {
		// Keep the column on the left: flip the operation.
		l, r = r, l
		op = flip(op)
	}
	if err := checkCol(input, l.Col); err != nil {
		return nil, err
	}
	lt := input.Field(l.Col).Type
	class, lct, err := classOf(lt)
	if err != nil {
		return nil, err
	}
	n := &cmpNode{op: op, class: class, l: side{col: l.Col, kind: lct.kind}}
	if r.IsConst {
		n.r = side{isConst: true, null: r.Value == nil}
		if !n.r.null {
			if err := n.r.setConst(class, lct, r.Value); err != nil {
				return nil, err
			}
		}
		return n, nil
	}
	if err := checkCol(input, r.Col); err != nil {
		return nil, err
	}
	rt := input.Field(r.Col).Type
	rclass, rct, err := classOf(rt)
	if err != nil {
		return nil, err
	}
	switch {
	case rclass != class:
		return nil, fmt.Errorf("%w: comparison of %s with %s", ErrUnsupported, lt, rt)
	case (lct.kind.temporal() || rct.kind.temporal()) && !arrow.TypeEqual(lt, rt):
		return nil, fmt.Errorf("%w: comparison of %s with %s", ErrUnsupported, lt, rt)
	case class == classDecimal && lct.scale != rct.scale:
		return nil, fmt.Errorf("%w: comparison of decimals of scales %d and %d", ErrUnsupported, lct.scale, rct.scale)
	}
	n.r = side{col: r.Col, kind: rct.kind}
	return n, nil
}

// flip returns the operation with its operands swapped.
func flip(op CondOp) CondOp {
	switch op {
	case CondLt:
		return CondGt
	case CondLe:
		return CondGe
	case CondGt:
		return CondLt
	case CondGe:
		return CondLe
	}
	return op
}

// setConst converts v to the representation of class for a column of
// type ct, refusing a constant that does not compare exactly.
func (s *side) setConst(class valueClass, ct colType, v any) error {
	bad := func() error {
		return fmt.Errorf("%w: constant %v (%T) against a column of kind %d", ErrUnsupported, v, v, ct.kind)
	}
	switch class {
	case classSigned:
		x, ok := v.(int64)
		if !ok || ct.kind.temporal() {
			return bad()
		}
		s.u64 = []uint64{uint64(x) ^ 1<<63} // its order code, as orderCodes makes them
	case classUnsigned:
		switch x := v.(type) {
		case uint64:
			s.u64 = []uint64{x}
		case int64:
			if x < 0 {
				return bad()
			}
			s.u64 = []uint64{uint64(x)}
		default:
			return bad()
		}
	case classFloat:
		x, ok := v.(float64)
		if !ok {
			return bad()
		}
		s.f64 = []float64{normFloat64(x)}
	case classDecimal:
		d, ok := v.(decimal.Decimal)
		if !ok || d.Exponent() < -ct.scale {
			return bad()
		}
		num, ok := decimalNum(d, ct.scale)
		if !ok {
			return bad()
		}
		s.d128 = []decimal128.Num{num}
	case classBytes:
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		s.b = []byte(x)
	default:
		return bad()
	}
	return nil
}

// decimalNum returns d scaled to scale as a 128-bit decimal.
func decimalNum(d decimal.Decimal, scale int32) (decimal128.Num, bool) {
	coef := d.Shift(scale).BigInt()
	num := decimal128.FromBigInt(coef)
	return num, num.BigInt().Cmp(coef) == 0
}

// load reads the current record's values of a column side.
func (s *side) load(class valueClass, a arrow.Array) {
	n := a.Len()
	switch class {
	case classSigned, classUnsigned:
		// Order codes (TopN's) compare like the values across the widths
		// of one class: signed ones are sign-extended with the sign bit
		// flipped, unsigned ones zero-extended.
		s.u64 = grown(s.u64, n)[:n]
		orderCodes(s.kind, a, s.u64)
	case classFloat:
		s.f64 = grown(s.f64, n)[:n]
		if s.kind == kindFloat32 {
			for i, v := range values[float32](a) {
				s.f64[i] = normFloat64(float64(v))
			}
		} else {
			for i, v := range values[float64](a) {
				s.f64[i] = normFloat64(v)
			}
		}
	case classDecimal:
		s.d128 = values[decimal128.Num](a)
	case classBytes:
		s.col8 = s.dict.column(a)
	}
}

// truthOf maps a comparison result to the truth of op.
func truthOf(op CondOp, c int) uint8 {
	switch op {
	case CondEq, CondNullSafeEq:
		return boolTruth(c == 0)
	case CondNe:
		return boolTruth(c != 0)
	case CondLt:
		return boolTruth(c < 0)
	case CondLe:
		return boolTruth(c <= 0)
	case CondGt:
		return boolTruth(c > 0)
	}
	return boolTruth(c >= 0) // CondGe
}

func (n *cmpNode) eval(rec arrow.Record, out []uint8) {
	la := rec.Column(n.l.col)
	n.l.load(n.class, la)
	if n.r.isConst && n.r.null {
		if n.op == CondNullSafeEq {
			// x <=> NULL is x IS NULL.
			for i := range out {
				out[i] = boolTruth(n.l.isNull(la, i))
			}
			return
		}
		for i := range out {
			out[i] = tNull
		}
		return
	}
	var ra arrow.Array
	if !n.r.isConst {
		ra = rec.Column(n.r.col)
		n.r.load(n.class, ra)
	} else if n.class == classBytes && n.l.col8.idx != nil {
		n.evalDictConst(la, out)
		return
	}
	lNulls := n.l.hasNulls(la)
	rNulls := ra != nil && n.r.hasNulls(ra)
	for i := range out {
		if lNulls || rNulls {
			ln := lNulls && n.l.isNull(la, i)
			rn := rNulls && n.r.isNull(ra, i)
			if ln || rn {
				if n.op == CondNullSafeEq {
					out[i] = boolTruth(ln && rn)
				} else {
					out[i] = tNull
				}
				continue
			}
		}
		out[i] = truthOf(n.op, n.compare(i))
	}
}

// hasNulls reports whether the loaded column a of a side has NULL rows
// (or NULL dictionary entries).
func (s *side) hasNulls(a arrow.Array) bool {
	return a.NullN() > 0 || (s.kind.isBytes() && s.col8.dictNulls)
}

// isNull reports whether row i of the loaded column a of a side is NULL.
func (s *side) isNull(a arrow.Array, i int) bool {
	if s.kind.isBytes() {
		return s.col8.null(i)
	}
	return a.IsNull(i)
}

// compare compares row i's operands.
func (n *cmpNode) compare(i int) int {
	j := i
	if n.r.isConst {
		j = 0
	}
	switch n.class {
	case classSigned, classUnsigned:
		return cmp.Compare(n.l.u64[i], n.r.u64[j])
	case classFloat:
		return cmp.Compare(n.l.f64[i], n.r.f64[j])
	case classDecimal:
		return n.l.d128[i].Cmp(n.r.d128[j])
	}
	var rb []byte
	if n.r.isConst {
		rb = n.r.b
	} else {
		rb = n.r.col8.at(i)
	}
	return bytes.Compare(n.l.col8.at(i), rb)
}

// evalDictConst compares a dictionary-encoded byte column with a constant
// once per dictionary entry.
func (n *cmpNode) evalDictConst(a arrow.Array, out []uint8) {
	c := &n.l.col8
	entries := c.entries()
	n.entryTruth = grown(n.entryTruth, entries)[:entries]
	for j := range entries {
		if c.dictNulls && c.dict.IsNull(j) {
			n.entryTruth[j] = tNull
			continue
		}
		n.entryTruth[j] = truthOf(n.op, bytes.Compare(c.entry(int32(j)), n.r.b))
	}
	rowNulls := a.NullN() > 0
	for i := range out {
		if rowNulls && a.IsNull(i) {
			out[i] = tNull
			continue
		}
		out[i] = n.entryTruth[c.idx[i]]
	}
	if n.op == CondNullSafeEq {
		for i, t := range out {
			if t == tNull {
				out[i] = tFalse
			}
		}
	}
}

// likeNode is LIKE of a string column against a constant pattern.
type likeNode struct {
	col        int
	m          likeMatcher
	dict       dictMap
	entryTruth []uint8
}

func compileLike(input *arrow.Schema, c Cond) (condNode, error) {
	if c.L.IsConst {
		return nil, fmt.Errorf("%w: LIKE of a constant", ErrUnsupported)
	}
	if err := checkCol(input, c.L.Col); err != nil {
		return nil, err
	}
	ct, err := classify(input.Field(c.L.Col).Type)
	if err != nil {
		return nil, err
	}
	if ct.kind != kindString {
		return nil, fmt.Errorf("%w: LIKE of a %s column", ErrUnsupported, input.Field(c.L.Col).Type)
	}
	m, err := compileLikePattern(c.Pattern, c.Escape)
	if err != nil {
		return nil, err
	}
	return &likeNode{col: c.L.Col, m: m}, nil
}

func (n *likeNode) eval(rec arrow.Record, out []uint8) {
	a := rec.Column(n.col)
	c := n.dict.column(a)
	if c.idx != nil {
		entries := c.entries()
		n.entryTruth = grown(n.entryTruth, entries)[:entries]
		for j := range entries {
			if c.dictNulls && c.dict.IsNull(j) {
				n.entryTruth[j] = tNull
			} else {
				n.entryTruth[j] = boolTruth(n.m.match(c.entry(int32(j))))
			}
		}
		for i := range out {
			if a.IsNull(i) {
				out[i] = tNull
			} else {
				out[i] = n.entryTruth[c.idx[i]]
			}
		}
		return
	}
	nulls := a.NullN() > 0
	for i := range out {
		if nulls && a.IsNull(i) {
			out[i] = tNull
			continue
		}
		out[i] = boolTruth(n.m.match(c.at(i)))
	}
}

// likeItem is one element of a LIKE pattern: a literal character, _ (any
// one character) or % (any run of characters).
type likeItem struct {
	r    rune
	one  bool
	many bool
}

// likeMatcher matches byte strings against a LIKE pattern, character by
// character, as go-mysql-server does for a binary UTF-8 collation: a
// string that is not valid UTF-8 matches nothing. Patterns made of
// literal runs and % only (no _) match on bytes, which is the same for
// valid UTF-8.
type likeMatcher struct {
	items []likeItem
	// segments are the literal runs between %s (empty ones where the
	// pattern begins or ends with %); simple says the pattern has no _ and
	// they are all there is to match.
	segments [][]byte
	simple   bool
}

// compileLikePattern parses pattern with escape as the escape character.
func compileLikePattern(pattern string, escape rune) (likeMatcher, error) {
	if !utf8.ValidString(pattern) {
		return likeMatcher{}, fmt.Errorf("%w: LIKE pattern is not valid UTF-8", ErrUnsupported)
	}
	var m likeMatcher
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == escape:
			if i+1 == len(rs) {
				return likeMatcher{}, fmt.Errorf("%w: LIKE pattern ends with its escape character", ErrUnsupported)
			}
			i++
			m.items = append(m.items, likeItem{r: rs[i]})
		case r == '_':
			m.items = append(m.items, likeItem{one: true})
		case r == '%':
			if len(m.items) == 0 || !m.items[len(m.items)-1].many {
				m.items = append(m.items, likeItem{many: true})
			}
		default:
			m.items = append(m.items, likeItem{r: r})
		}
	}
	m.simple = true
	var cur []byte
	for _, it := range m.items {
		switch {
		case it.one:
			m.simple = false
		case it.many:
			m.segments = append(m.segments, cur)
			cur = nil
		default:
			cur = utf8.AppendRune(cur, it.r)
		}
	}
	m.segments = append(m.segments, cur)
	return m, nil
}

// match reports whether s matches the pattern.
func (m *likeMatcher) match(s []byte) bool {
	var ok bool
	if m.simple {
		ok = m.matchSegments(s)
	} else {
		ok = m.matchItems(s)
	}
	return ok && utf8.Valid(s)
}

// matchSegments matches a pattern without _: the first run is a prefix
// (when the pattern does not begin with %), the last a suffix (when it
// does not end with %), the others found leftmost in order between them.
func (m *likeMatcher) matchSegments(s []byte) bool {
	segs := m.segments
	if len(segs) == 1 {
		return bytes.Equal(s, segs[0])
	}
	first, last := segs[0], segs[len(segs)-1]
	if !bytes.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	if len(s) < len(last) || !bytes.HasSuffix(s, last) {
		return false
	}
	s = s[:len(s)-len(last)]
	for _, seg := range segs[1 : len(segs)-1] {
		i := bytes.Index(s, seg)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
	}
	return true
}

// matchItems matches character by character, remembering the last % to
// retry from when a later item fails (greedy wildcard matching).
func (m *likeMatcher) matchItems(s []byte) bool {
	items := m.items
	i, j := 0, 0
	star, starAt := -1, 0
	for i < len(s) {
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case j < len(items) && items[j].many:
			star, starAt = j, i
			j++
			continue
		case j < len(items) && (items[j].one || items[j].r == r):
			i += size
			j++
			continue
		case star >= 0:
			_, skip := utf8.DecodeRune(s[starAt:])
			starAt += skip
			i, j = starAt, star+1
			continue
		}
		return false
	}
	for j < len(items) && items[j].many {
		j++
	}
	return j == len(items)
}

// Value returns the Go value of row i of a, an array of a type the
// operators take, as the operators return values (nil for NULL; strings and
// byte slices copied), so that callers can build rows from records.
func Value(a arrow.Array, i int) any { return goValue(a, i) }
