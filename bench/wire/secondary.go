package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

const (
	createIndex = "CREATE INDEX ts ON t (s)"
	indexQuery  = "SELECT id, k, v, s FROM t WHERE s = ?"
	// scanQuery asks the same with a predicate that no index serves: a
	// full scan. go-mysql-server, and so lakesql, parses IGNORE INDEX but
	// still plans the lookup on ts (the report shows that target's EXPLAIN
	// of ignoreQuery); CONCAT(s, '') hides the column from every target's
	// planner, so every target runs the same query.
	scanQuery   = "SELECT id, k, v, s FROM t WHERE CONCAT(s, '') = ?"
	ignoreQuery = "SELECT id, k, v, s FROM t IGNORE INDEX (ts) WHERE s = ?"
	// freshGen is the generation of the rows the fresh upsert writes.
	freshGen = 2
)

// A model is the content of t as the workload wrote it: rows 0..rows-1 of
// generation 0, some of them overwritten and more rows added by the
// upserts. It answers which rows hold a value of s without a copy of the
// table: the loaded rows holding value n are n, n+sValues, ... (sNumber),
// and the written ones are few.
type model struct {
	rows    int64
	written map[int64]uint64   // id -> generation, of the rows upserted after the load
	byValue map[uint32][]int64 // value number -> ids in written holding it; nil until holding needs it
}

func newModel(rows int) *model {
	return &model{rows: int64(rows), written: map[int64]uint64{}}
}

// write records that row id now holds generation gen.
func (m *model) write(id int64, gen uint64) {
	m.written[id] = gen
	m.byValue = nil
}

// gen returns the generation row id holds, and whether it exists.
func (m *model) gen(id int64) (uint64, bool) {
	if g, ok := m.written[id]; ok {
		return g, true
	}
	return 0, id >= 0 && id < m.rows
}

// value returns the number of the value of s that row id holds.
func (m *model) value(id int64) uint32 {
	g, _ := m.gen(id)
	return sNumber(id, g)
}

// holding returns the ids of the rows whose s is value number n, in order.
func (m *model) holding(n uint32) []int64 {
	if m.byValue == nil {
		m.byValue = map[uint32][]int64{}
		for id, g := range m.written {
			v := sNumber(id, g)
			m.byValue[v] = append(m.byValue[v], id)
		}
	}
	var ids []int64
	for id := int64(n); id < m.rows; id += sValues {
		if _, ok := m.written[id]; !ok {
			ids = append(ids, id)
		}
	}
	ids = append(ids, m.byValue[n]...)
	slices.Sort(ids)
	return ids
}

// A probe is one lookup by s and its expected answer.
type probe struct {
	value string
	kind  string  // which value it asks for, for error messages
	want  []int64 // ids, in order
}

// secondary is the secondary-index part of the workload, run after the
// other measures on their table: CREATE INDEX ts ON t (s), a fresh upsert
// that moves o.freshRows existing rows to new values of s, EXPLAIN of the
// lookup, o.lookups lookups through ts and o.scans lookups by full scan.
// Its methods run in that order.
type secondary struct {
	o            options
	db           *sql.DB
	m            *model
	memTableRows func(ctx context.Context, db *sql.DB, table string) (int64, error) // nil but on lakesql
	note         func(string)

	moved  []int64  // the rows the fresh upsert rewrote
	before []uint32 // their values of s before it
	probes []probe
	fresh  int64 // rows in the MemTable after the fresh upsert (lakesql)
}

// buildIndex creates ts.
func (x *secondary) buildIndex(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if _, err := x.db.ExecContext(ctx, createIndex); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// upsert rewrites o.freshRows existing rows, spread evenly over the loaded
// ids, with generation freshGen (new k, v and s) in batches with ON
// DUPLICATE KEY UPDATE, records them in the model and plans the lookups.
func (x *secondary) upsert(ctx context.Context) (time.Duration, error) {
	stride := x.o.rows / x.o.freshRows
	for i := range x.o.freshRows {
		id := int64(i*stride + stride/2)
		x.moved = append(x.moved, id)
		x.before = append(x.before, x.m.value(id))
	}
	var stmt []byte
	start := time.Now()
	for lo := 0; lo < len(x.moved); lo += batchRows {
		ids := x.moved[lo:min(lo+batchRows, len(x.moved))]
		stmt = append(insertSQL(stmt[:0], ids, freshGen), onDuplicate...)
		if _, err := x.db.ExecContext(ctx, string(stmt)); err != nil {
			return 0, fmt.Errorf("rows %d..%d: %w", lo, lo+len(ids)-1, err)
		}
	}
	elapsed := time.Since(start)
	for _, id := range x.moved {
		x.m.write(id, freshGen)
	}
	x.plan()
	if x.memTableRows != nil {
		n, err := x.memTableRows(ctx, x.db, "t")
		if err != nil {
			return 0, fmt.Errorf("reading the MemTable's size: %w", err)
		}
		x.fresh = n
	}
	return elapsed, nil
}

// plan draws the lookups: half of them for the new values the fresh upsert
// wrote (the rewritten row and the loaded rows holding the value), a
// quarter for the old values of rewritten rows (which must no longer find
// them), a quarter for the values of rows the fresh upsert did not touch.
func (x *secondary) plan() {
	rng := rand.New(rand.NewPCG(uint64(x.o.rows), 2))
	x.probes = make([]probe, x.o.lookups)
	for i := range x.probes {
		var n uint32
		var kind string
		switch i % 4 {
		case 0, 2:
			id := x.moved[rng.IntN(len(x.moved))]
			n, kind = x.m.value(id), fmt.Sprintf("the value the fresh upsert gave id %d", id)
		case 1:
			j := rng.IntN(len(x.before))
			n, kind = x.before[j], fmt.Sprintf("the value id %d held before the fresh upsert", x.moved[j])
		case 3:
			id := rng.Int64N(x.m.rows)
			for try := 0; try < 100 && x.m.written[id] == freshGen; try++ {
				id = rng.Int64N(x.m.rows)
			}
			n, kind = x.m.value(id), fmt.Sprintf("the value of id %d, not rewritten", id)
		}
		x.probes[i] = probe{value: sValue(n), kind: kind, want: x.m.holding(n)}
	}
}

// explain notes whether the target plans the lookup on ts, what it makes of
// IGNORE INDEX, and that the scan query uses no index.
func (x *secondary) explain(ctx context.Context) error {
	value := x.probes[0].value
	for _, q := range []struct {
		query, want string // want: the key EXPLAIN should show
	}{
		{indexQuery, "ts"},
		{ignoreQuery, ""},
		{scanQuery, ""},
	} {
		text := strings.Replace(q.query, "?", "'"+value+"'", 1)
		cols, err := explainRow(ctx, x.db, text)
		if err != nil {
			return fmt.Errorf("EXPLAIN %s: %w", text, err)
		}
		var shown []string
		for _, c := range []string{"type", "possible_keys", "key", "rows", "extra"} {
			if v, ok := cols[c]; ok {
				shown = append(shown, c+"="+v)
			}
		}
		key := cols["key"]
		var verdict string
		switch {
		case q.want == "ts" && key == "ts":
			verdict = "uses the index ts"
		case q.want == "ts":
			verdict = "does NOT use the index ts: its lookup figure is not an index lookup"
		case q.query == ignoreQuery && key != "NULL":
			verdict = "IGNORE INDEX is not honored"
		case q.query == ignoreQuery:
			verdict = "IGNORE INDEX is honored"
		case key != "NULL":
			verdict = "uses an index: its scan figure is not a full scan"
		default:
			verdict = "a full scan"
		}
		x.note(fmt.Sprintf("EXPLAIN `%s`: %s (%s)", text, strings.Join(shown, ", "), verdict))
	}
	return nil
}

// explainRow runs EXPLAIN query and returns its first row by lower-case
// column name, "NULL" for NULL.
func explainRow(ctx context.Context, db *sql.DB, query string) (map[string]string, error) {
	rs, err := db.QueryContext(ctx, "EXPLAIN "+query)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	names, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	if !rs.Next() {
		if err := rs.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("no rows")
	}
	vals := make([]sql.NullString, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rs.Scan(ptrs...); err != nil {
		return nil, err
	}
	cols := map[string]string{}
	for i, n := range names {
		cols[strings.ToLower(n)] = "NULL"
		if vals[i].Valid {
			cols[strings.ToLower(n)] = vals[i].String
		}
	}
	return cols, rs.Close()
}

// lookups runs the planned lookups through indexQuery from one connection
// and checks every answer. As the PK lookups, the queries do not get ctx.
func (x *secondary) lookups(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	for i, p := range x.probes {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		rs, err := x.db.Query(indexQuery, p.value)
		if err := x.check(rs, err, p); err != nil {
			return 0, fmt.Errorf("lookup %d of %d, %s: %w", i+1, len(x.probes), p.kind, err)
		}
	}
	elapsed := time.Since(start)
	n, least, most := 0, len(x.probes[0].want), 0
	for _, p := range x.probes {
		n += len(p.want)
		least, most = min(least, len(p.want)), max(most, len(p.want))
	}
	x.note(fmt.Sprintf("the lookups by s returned %.1f rows on average (%d to %d)", float64(n)/float64(len(x.probes)), least, most))
	return elapsed, nil
}

// scans runs the first o.scans planned lookups through scanQuery and
// checks them.
func (x *secondary) scans(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	for i, p := range x.probes[:min(x.o.scans, len(x.probes))] {
		rs, err := x.db.QueryContext(ctx, scanQuery, p.value)
		if err := x.check(rs, err, p); err != nil {
			return 0, fmt.Errorf("scan %d, %s: %w", i+1, p.kind, err)
		}
	}
	return time.Since(start), nil
}

// check reads the answer rs (or its error) to probe p and compares it
// with the model: the same set of ids, each with its current values.
func (x *secondary) check(rs *sql.Rows, err error, p probe) error {
	if err != nil {
		return fmt.Errorf("s = '%s': %w", p.value, err)
	}
	defer rs.Close()
	var got []int64
	for rs.Next() {
		var id int64
		var r row
		if err := rs.Scan(&id, &r.k, &r.v, &r.s); err != nil {
			return fmt.Errorf("s = '%s': %w", p.value, err)
		}
		gen, ok := x.m.gen(id)
		if !ok {
			return fmt.Errorf("s = '%s': got id %d, which does not exist", p.value, id)
		}
		if want := rowOf(id, gen); !r.same(want) {
			return fmt.Errorf("s = '%s': id %d: got %v, want %v (generation %d)", p.value, id, r, want, gen)
		}
		got = append(got, id)
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("s = '%s': %w", p.value, err)
	}
	slices.Sort(got)
	if !slices.Equal(got, p.want) {
		return fmt.Errorf("s = '%s': got ids %v, want %v", p.value, got, p.want)
	}
	return nil
}

// checkMemTable notes how many rows the target's MemTable held after the
// fresh upsert and after the lookups, where the target has one.
func (x *secondary) checkMemTable(ctx context.Context) error {
	if x.memTableRows == nil {
		return nil
	}
	n, err := x.memTableRows(ctx, x.db, "t")
	if err != nil {
		return fmt.Errorf("reading the MemTable's size: %w", err)
	}
	verdict := "the lookups read the fresh upserts from the MemTable"
	if n < x.fresh || x.fresh < int64(x.o.freshRows) {
		verdict = "a flush moved (some of) the fresh upserts to files before or during the lookups"
	}
	x.note(fmt.Sprintf("MemTable of t: %s rows after the fresh upsert of %s, %s after the lookups (%s)",
		commas(int(x.fresh)), commas(x.o.freshRows), commas(int(n)), verdict))
	return nil
}
