package exec

import (
	"encoding/binary"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
)

// grouper assigns dense group ids (0, 1, 2, ... in order of first
// appearance) to rows by the value of their key columns. All NULL keys form
// one group; -0 and +0 are one group; byte strings compare bytewise.
type grouper interface {
	// assign writes the group id of every row of rec into gids, which has
	// one entry per row, creating groups for keys not seen before.
	assign(rec arrow.Record, gids []uint32)
	// len returns the number of groups.
	len() int
	// fillKeys writes the Arrow Go values of the key of every group g into
	// rows[g], which has a cell per key column (and maybe more after them).
	fillKeys(rows [][]any)
	// merge adds the groups of other, a grouper built by the same
	// newGrouper call, and returns the id here of each of other's groups.
	merge(other grouper) []uint32
}

// The groupers.
var (
	_ grouper = (*fixedGrouper)(nil)
	_ grouper = (*bytesGrouper)(nil)
	_ grouper = (*compositeGrouper)(nil)
)

// newGrouper returns the grouper suited to the key columns cols of types ts:
// a uint64 table (or a direct array for keys of at most 16 bits) for one
// fixed-width column, an intern table for one byte-string column, and an
// encoded-key table otherwise.
func newGrouper(cols []int, ts []colType) grouper {
	if len(cols) == 1 {
		t := ts[0]
		switch {
		case t.kind.fitsUint64():
			return newFixedGrouper(cols[0], t.kind)
		case t.kind.isBytes():
			return &bytesGrouper{col: cols[0], kind: t.kind, table: newBytesTable()}
		}
	}
	return newCompositeGrouper(cols, ts)
}

// nullIntern stands for NULL among intern ids: no intern table gets that
// far, and one more still fits a uint32.
const nullIntern = ^uint32(0) - 1

// gidNone marks a group id not looked up yet in the direct arrays and
// dictionary maps below, which store ids plus one.
const gidNone = 0

// fixedGrouper groups by one column whose values fit a uint64 (see
// toBits).
type fixedGrouper struct {
	col  int
	kind kind
	// direct, for kinds of at most 16 bits, holds the id plus one of the
	// group of every possible key, indexed by the key's low bits; table
	// serves the wider kinds.
	direct []uint32
	mask   uint64
	table  u64Table
	// vals holds the key bits of each group (zero for the NULL group).
	vals    []uint64
	nullID  uint32
	hasNull bool
	scratch []uint64
}

// newFixedGrouper returns a grouper by column col of kind k.
func newFixedGrouper(col int, k kind) *fixedGrouper {
	g := &fixedGrouper{col: col, kind: k}
	switch k {
	case kindBool:
		g.mask = 1
	case kindInt8, kindUint8:
		g.mask = 1<<8 - 1
	case kindInt16, kindUint16:
		g.mask = 1<<16 - 1
	default:
		g.table = newU64Table()
		return g
	}
	g.direct = make([]uint32, g.mask+1)
	return g
}

func (g *fixedGrouper) len() int { return len(g.vals) }

// lookup returns the group of key bits k, creating it when new.
func (g *fixedGrouper) lookup(k uint64) uint32 {
	if g.direct != nil {
		p := &g.direct[k&g.mask]
		if *p == gidNone {
			*p = uint32(len(g.vals)) + 1
			g.vals = append(g.vals, k)
		}
		return *p - 1
	}
	id, inserted := g.table.lookupOrInsert(k, uint32(len(g.vals)))
	if inserted {
		g.vals = append(g.vals, k)
	}
	return id
}

// nullGroup returns the NULL key's group, creating it when new.
func (g *fixedGrouper) nullGroup() uint32 {
	if !g.hasNull {
		g.hasNull, g.nullID = true, uint32(len(g.vals))
		g.vals = append(g.vals, 0)
	}
	return g.nullID
}

func (g *fixedGrouper) assign(rec arrow.Record, gids []uint32) {
	a := rec.Column(g.col)
	switch g.kind {
	case kindInt8:
		assignInts(g, values[int8](a), a, gids)
	case kindInt16:
		assignInts(g, values[int16](a), a, gids)
	case kindInt32:
		assignInts(g, values[int32](a), a, gids)
	case kindInt64:
		assignInts(g, values[int64](a), a, gids)
	case kindUint8:
		assignInts(g, values[uint8](a), a, gids)
	case kindUint16:
		assignInts(g, values[uint16](a), a, gids)
	case kindUint32:
		assignInts(g, values[uint32](a), a, gids)
	case kindUint64:
		assignInts(g, values[uint64](a), a, gids)
	case kindDate32:
		assignInts(g, values[arrow.Date32](a), a, gids)
	case kindTimestamp:
		assignInts(g, values[arrow.Timestamp](a), a, gids)
	case kindDuration:
		assignInts(g, values[arrow.Duration](a), a, gids)
	default:
		// Floats and booleans: compute their key bits first.
		g.scratch = grown(g.scratch[:0], a.Len())
		toBits(g.kind, a, g.scratch)
		assignInts(g, g.scratch, a, gids)
	}
}

// integer lists the Go integer types; the key bits of an integer v are
// uint64(int64(v)), as toBits computes them.
type integer interface {
	signedInt | unsignedInt
}

// assignInts writes the group of every row of a, whose values (or key bits)
// are vals, into gids.
func assignInts[T integer](g *fixedGrouper, vals []T, a arrow.Array, gids []uint32) {
	gids = gids[:len(vals)]
	bm, off := validity(a)
	switch {
	case bm != nil:
		for i, v := range vals {
			if bitutil.BitIsSet(bm, off+i) {
				gids[i] = g.lookup(uint64(int64(v)))
			} else {
				gids[i] = g.nullGroup()
			}
		}
	case g.direct != nil:
		direct, mask := g.direct, g.mask
		for i, v := range vals {
			k := uint64(int64(v))
			id := direct[k&mask]
			if id == gidNone {
				id = g.lookup(k) + 1
			}
			gids[i] = id - 1
		}
	default:
		// The previous row's key and group are remembered, which makes runs
		// of equal keys (clustered or sorted input) cost one comparison a
		// row. The probe for keys seen before is written out here, as the
		// compiler does not inline it; lookup inserts new keys and may grow
		// the table.
		last := uint64(int64(vals[0]))
		lastID := g.lookup(last)
		slots, shift := g.table.slots, g.table.shift
		for i, v := range vals {
			if k := uint64(int64(v)); k != last {
				last = k
				mask := uint64(len(slots) - 1)
				for p := hash64(k) >> shift; ; p = (p + 1) & mask {
					s := slots[p]
					if s.id == 0 {
						lastID = g.lookup(k)
						slots, shift = g.table.slots, g.table.shift
						break
					}
					if s.key == k {
						lastID = s.id - 1
						break
					}
				}
			}
			gids[i] = lastID
		}
	}
}

func (g *fixedGrouper) fillKeys(rows [][]any) {
	for id, v := range g.vals {
		if g.hasNull && uint32(id) == g.nullID {
			rows[id][0] = nil
		} else {
			rows[id][0] = fromBits(g.kind, v)
		}
	}
}

func (g *fixedGrouper) merge(other grouper) []uint32 {
	o := other.(*fixedGrouper)
	m := make([]uint32, len(o.vals))
	for id, k := range o.vals {
		if o.hasNull && uint32(id) == o.nullID {
			m[id] = g.nullGroup()
		} else {
			m[id] = g.lookup(k)
		}
	}
	return m
}

// bytesGrouper groups by one String or Binary column, plain or
// dictionary-encoded; its intern table's ids are the group ids.
type bytesGrouper struct {
	col     int
	kind    kind
	table   *bytesTable
	nullID  uint32
	hasNull bool
	dict    dictMap
}

func (g *bytesGrouper) len() int { return g.table.len() }

// nullGroup returns the NULL key's group, creating it when new.
func (g *bytesGrouper) nullGroup() uint32 {
	if !g.hasNull {
		g.hasNull, g.nullID = true, g.table.reserve()
	}
	return g.nullID
}

func (g *bytesGrouper) assign(rec arrow.Record, gids []uint32) {
	a := rec.Column(g.col)
	c := g.dict.column(a)
	if c.idx != nil {
		g.dict.ids(&c, gids, g.table.intern, g.nullGroup)
		return
	}
	keys := keyList[int32]{offs: c.offs, data: c.data}
	keys.bm, keys.bmOff = validity(a)
	internKeys(g.table, &keys, gids, g.nullGroup)
}

func (g *bytesGrouper) fillKeys(rows [][]any) {
	ks := g.table.snapshot(g.kind)
	lo := 0
	for id, row := range rows {
		hi := lo + g.table.keyLen(uint32(id))
		if g.hasNull && uint32(id) == g.nullID {
			row[0] = nil
		} else {
			row[0] = ks.value(lo, hi)
		}
		lo = hi
	}
}

func (g *bytesGrouper) merge(other grouper) []uint32 {
	o := other.(*bytesGrouper)
	m := make([]uint32, o.len())
	// Intern other's keys in runs around its NULL group, which has none.
	lo := 0
	if o.hasNull {
		g.table.internFrom(o.table, m, 0, int(o.nullID))
		m[o.nullID] = g.nullGroup()
		lo = int(o.nullID) + 1
	}
	g.table.internFrom(o.table, m, lo, len(m))
	return m
}

// dictMap resolves the rows of a byte-string column to ids (group ids or
// intern ids). For a dictionary-encoded column it resolves each dictionary
// entry at most once per record, on first use, and maps every row through
// its entry: the strings themselves are hashed once per record, not once per
// row. It owns the scratch buffers this needs.
type dictMap struct {
	idx     []int32
	entries []uint32 // id plus one of each dictionary entry, gidNone until resolved
}

// column views a as byte strings, using the map's index buffer.
func (d *dictMap) column(a arrow.Array) byteColumn {
	c := newByteColumn(a, d.idx)
	if c.idx != nil {
		d.idx = c.idx[:0]
	}
	return c
}

// ids writes the id of every row of the dictionary column c into dst:
// idOf(bytes) for a value and null() for a NULL row or NULL entry.
func (d *dictMap) ids(c *byteColumn, dst []uint32, idOf func([]byte) uint32, null func() uint32) {
	n := c.entries()
	d.entries = slices.Grow(d.entries[:0], n)[:n]
	clear(d.entries)
	rowNulls := c.rows.NullN() > 0
	for i, j := range c.idx[:len(dst)] {
		if rowNulls && c.rows.IsNull(i) {
			dst[i] = null()
			continue
		}
		id := d.entries[j]
		if id == gidNone {
			if c.dictNulls && c.dict.IsNull(int(j)) {
				id = null() + 1
			} else {
				id = idOf(c.entry(j)) + 1
			}
			d.entries[j] = id
		}
		dst[i] = id - 1
	}
}

// compositeGrouper groups by several columns, or by one decimal column. A
// row's key is encoded into a fixed-width byte string: per column a NULL
// flag byte followed by the value in little-endian order (zeros for NULL),
// with -0 folded into +0 and byte strings replaced by their 4-byte id in a
// per-column intern table. The encoded keys are interned in turn; their ids
// are the group ids.
type compositeGrouper struct {
	cols    []int
	types   []colType
	offs    []int // where each column's NULL flag byte sits in a key
	width   int
	table   *bytesTable
	interns []*bytesTable // per column: the intern table of a byte-string column
	enc     []byte
	bits    []uint64
	ids     []uint32
	dict    dictMap
}

// newCompositeGrouper returns a grouper by the columns cols of types ts.
func newCompositeGrouper(cols []int, ts []colType) *compositeGrouper {
	g := &compositeGrouper{
		cols:    cols,
		types:   ts,
		offs:    make([]int, len(cols)),
		table:   newBytesTable(),
		interns: make([]*bytesTable, len(cols)),
	}
	for i, t := range ts {
		g.offs[i] = g.width
		g.width += 1 + t.kind.fixedWidth()
		if t.kind.isBytes() {
			g.interns[i] = newBytesTable()
		}
	}
	return g
}

func (g *compositeGrouper) len() int { return g.table.len() }

func (g *compositeGrouper) assign(rec arrow.Record, gids []uint32) {
	n, w := len(gids), g.width
	if cap(g.enc) < n*w {
		g.enc = make([]byte, n*w)
	}
	enc := g.enc[:n*w]
	for c, col := range g.cols {
		g.encode(c, rec.Column(col), enc)
	}
	keys := keyList[int]{data: enc, width: w}
	internKeys(g.table, &keys, gids, nil)
}

// encode writes key column c's part of every row's key, whose values are in
// a, into enc.
func (g *compositeGrouper) encode(c int, a arrow.Array, enc []byte) {
	n, w, off := a.Len(), g.width, g.offs[c]
	t := g.types[c]
	switch {
	case t.kind.isBytes():
		g.encodeBytes(c, a, enc)
		return
	case t.kind == kindDecimal128:
		for i, v := range values[decimal128.Num](a) {
			p := enc[i*w+off:]
			binary.LittleEndian.PutUint64(p[1:], v.LowBits())
			binary.LittleEndian.PutUint64(p[9:], uint64(v.HighBits()))
		}
	case t.kind == kindDecimal256:
		for i, v := range values[decimal256.Num](a) {
			p := enc[i*w+off:]
			for j, x := range v.Array() {
				binary.LittleEndian.PutUint64(p[1+8*j:], x)
			}
		}
	default:
		if cap(g.bits) < n {
			g.bits = make([]uint64, n)
		}
		bits := g.bits[:n]
		toBits(t.kind, a, bits)
		putFixed(enc, w, off+1, t.kind.fixedWidth(), bits)
	}
	size := t.kind.fixedWidth()
	hasNulls := a.NullN() > 0
	for i := range n {
		p := enc[i*w+off : i*w+off+1+size]
		if hasNulls && a.IsNull(i) {
			clear(p)
			p[0] = 1
		} else {
			p[0] = 0
		}
	}
}

// putFixed writes the low size bytes of each of bits into enc at offset off
// of each w-byte key.
func putFixed(enc []byte, w, off, size int, bits []uint64) {
	switch size {
	case 1:
		for i, b := range bits {
			enc[i*w+off] = byte(b)
		}
	case 2:
		for i, b := range bits {
			binary.LittleEndian.PutUint16(enc[i*w+off:], uint16(b))
		}
	case 4:
		for i, b := range bits {
			binary.LittleEndian.PutUint32(enc[i*w+off:], uint32(b))
		}
	default:
		for i, b := range bits {
			binary.LittleEndian.PutUint64(enc[i*w+off:], b)
		}
	}
}

// encodeBytes writes byte-string key column c's part of every row's key,
// interning the values.
func (g *compositeGrouper) encodeBytes(c int, a arrow.Array, enc []byte) {
	n, w, off := a.Len(), g.width, g.offs[c]
	if cap(g.ids) < n {
		g.ids = make([]uint32, n)
	}
	ids := g.ids[:n]
	col := g.dict.column(a)
	intern := g.interns[c].intern
	if col.idx != nil {
		g.dict.ids(&col, ids, intern, func() uint32 { return nullIntern })
	} else {
		keys := keyList[int32]{offs: col.offs, data: col.data}
		keys.bm, keys.bmOff = validity(a)
		internKeys(g.interns[c], &keys, ids, func() uint32 { return nullIntern })
	}
	for i, id := range ids {
		p := enc[i*w+off:]
		if id == nullIntern {
			p[0] = 1
			binary.LittleEndian.PutUint32(p[1:], 0)
		} else {
			p[0] = 0
			binary.LittleEndian.PutUint32(p[1:], id)
		}
	}
}

func (g *compositeGrouper) fillKeys(rows [][]any) {
	strs := make([]keySnapshot, len(g.cols))
	ends := make([][]int, len(g.cols))
	for c, t := range g.types {
		if t.kind.isBytes() {
			strs[c] = g.interns[c].snapshot(t.kind)
			ends[c] = g.interns[c].ends()
		}
	}
	key := make([]byte, 0, g.width)
	for id, row := range rows {
		key = g.table.appendKey(key[:0], uint32(id))
		g.decode(key, strs, ends, row)
	}
}

// decode writes the Arrow Go values of the encoded key into dst, taking
// byte strings from strs, whose keys end at ends.
func (g *compositeGrouper) decode(key []byte, strs []keySnapshot, ends [][]int, dst []any) {
	for c, t := range g.types {
		p := key[g.offs[c]:]
		if p[0] == 1 {
			dst[c] = nil
			continue
		}
		p = p[1:]
		switch {
		case t.kind.isBytes():
			id := binary.LittleEndian.Uint32(p)
			lo := 0
			if id > 0 {
				lo = ends[c][id-1]
			}
			dst[c] = strs[c].value(lo, ends[c][id])
		case t.kind == kindDecimal128:
			dst[c] = decimal128.New(int64(binary.LittleEndian.Uint64(p[8:])), binary.LittleEndian.Uint64(p))
		case t.kind == kindDecimal256:
			le := binary.LittleEndian
			dst[c] = decimal256.New(le.Uint64(p[24:]), le.Uint64(p[16:]), le.Uint64(p[8:]), le.Uint64(p))
		default:
			dst[c] = fromBits(t.kind, getFixed(p, t.kind.fixedWidth()))
		}
	}
}

// getFixed reads a size-byte little-endian value.
func getFixed(p []byte, size int) uint64 {
	switch size {
	case 1:
		return uint64(p[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(p))
	case 4:
		return uint64(binary.LittleEndian.Uint32(p))
	}
	return binary.LittleEndian.Uint64(p)
}

func (g *compositeGrouper) merge(other grouper) []uint32 {
	o := other.(*compositeGrouper)
	m := make([]uint32, o.len())
	var key, s []byte
	for id := range m {
		key = o.table.appendKey(key[:0], uint32(id))
		for c, t := range g.types {
			p := key[g.offs[c]:]
			if !t.kind.isBytes() || p[0] == 1 {
				continue
			}
			s = o.interns[c].appendKey(s[:0], binary.LittleEndian.Uint32(p[1:]))
			binary.LittleEndian.PutUint32(p[1:], g.interns[c].intern(s))
		}
		m[id] = g.table.intern(key)
	}
	return m
}
