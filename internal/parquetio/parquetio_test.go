package parquetio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store/mem"
)

func strp(s string) *string { return &s }

// buildRecord builds a record of all columns of s from rows of Go values.
func buildRecord(t testing.TB, alloc memory.Allocator, s *base.Schema, rows [][]any) arrow.Record {
	t.Helper()
	cols, err := tableColumns(s)
	if err != nil {
		t.Fatal(err)
	}
	arrs := make([]arrow.Array, len(cols))
	for j := range cols {
		b := array.NewBuilder(alloc, cols[j].arrow)
		for _, r := range rows {
			v, err := toScalar(&cols[j], r[j])
			if err != nil {
				t.Fatal(err)
			}
			appendScalar(b, v)
		}
		arrs[j] = b.NewArray()
		b.Release()
	}
	as, _ := ArrowSchema(s, nil)
	rec := array.NewRecord(as, arrs, int64(len(rows)))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

func writeFile(t testing.TB, st *mem.Store, name string, s *base.Schema, alloc memory.Allocator, rows [][]any, batch int, opts WriterOptions) FileStats {
	t.Helper()
	var recs []arrow.Record
	for lo := 0; lo < len(rows); lo += batch {
		recs = append(recs, buildRecord(t, alloc, s, rows[lo:min(len(rows), lo+batch)]))
	}
	fs, err := WriteFile(context.Background(), st, name, s, recs, opts)
	for _, r := range recs {
		r.Release()
	}
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// readAll reads with opts and returns the rows as scalars of the output
// columns (and the positions when asked).
func readAll(t testing.TB, f *File, opts ReadOptions) ([][]scalar, ReadStats) {
	t.Helper()
	rr, err := f.Read(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	p, _ := f.plan(opts)
	var out [][]scalar
	for rr.Next() {
		rec := rr.Record()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]scalar, rec.NumCols())
			for j := range p.out {
				row[j] = scalarAt(&p.out[j], rec.Column(j), i)
			}
			if opts.WithPositions {
				row[len(row)-1] = scalar{i: rec.Column(len(row) - 1).(*array.Int64).Value(i)}
			}
			out = append(out, row)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return out, rr.Stats()
}

func sameScalar(cls class, a, b scalar) bool {
	if a.null || b.null {
		return a.null == b.null
	}
	return cmpScalar(cls, a, b) == 0
}

var allTypes = []string{"TINYINT", "SMALLINT", "INT", "BIGINT", "TINYINT UNSIGNED", "SMALLINT UNSIGNED", "INT UNSIGNED",
	"BIGINT UNSIGNED", "FLOAT", "DOUBLE", "DECIMAL(9,2)", "DECIMAL(18,4)", "DECIMAL(38,10)", "DECIMAL(65,30)",
	"CHAR(10)", "VARCHAR(64)", "TEXT", "JSON", "BINARY(4)", "VARBINARY(64)", "BLOB", "DATE", "DATETIME(6)",
	"TIMESTAMP(6)", "TIME(6)", "BOOLEAN"}

func allTypesSchema() *base.Schema {
	s := &base.Schema{Columns: []base.Column{{ID: 1, Name: "k", Type: "BIGINT"}}}
	for i, ty := range allTypes {
		s.Columns = append(s.Columns, base.Column{ID: i + 2, Name: fmt.Sprintf("c%d", i), Type: ty, Nullable: true})
	}
	s.NextColumnID = len(s.Columns) + 1
	return s
}

// extremes returns interesting values for a type, nil (NULL) included.
func extremes(ty string) []any {
	far := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	future := time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
	switch ty {
	case "TINYINT":
		return []any{nil, int8(math.MinInt8), int8(math.MaxInt8), 0, -1}
	case "SMALLINT":
		return []any{nil, math.MinInt16, math.MaxInt16, 0}
	case "INT":
		return []any{nil, math.MinInt32, math.MaxInt32, 7}
	case "BIGINT":
		return []any{nil, int64(math.MinInt64), int64(math.MaxInt64), 0}
	case "TINYINT UNSIGNED":
		return []any{nil, 0, math.MaxUint8}
	case "SMALLINT UNSIGNED":
		return []any{nil, 0, math.MaxUint16}
	case "INT UNSIGNED":
		return []any{nil, 0, uint32(math.MaxUint32)}
	case "BIGINT UNSIGNED":
		return []any{nil, 0, uint64(math.MaxUint64), uint64(1 << 63)}
	case "FLOAT":
		return []any{nil, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(-1.5), float32(math.MaxFloat32)}
	case "DOUBLE":
		return []any{nil, math.NaN(), math.Inf(1), math.Inf(-1), -0.0, math.MaxFloat64, math.SmallestNonzeroFloat64}
	case "DECIMAL(9,2)":
		return []any{nil, "9999999.99", "-9999999.99", "0.01"}
	case "DECIMAL(18,4)":
		return []any{nil, "99999999999999.9999", "-99999999999999.9999", "1"}
	case "DECIMAL(38,10)":
		return []any{nil, "9999999999999999999999999999.9999999999", "-9999999999999999999999999999.9999999999", "-0.0000000001"}
	case "DECIMAL(65,30)":
		return []any{nil, "99999999999999999999999999999999999.999999999999999999999999999999",
			"-99999999999999999999999999999999999.999999999999999999999999999999", "-0.000000000000000000000000000001", "0"}
	case "CHAR(10)", "VARCHAR(64)", "TEXT":
		return []any{nil, "", "héllo wörld ✓ 日本", strings.Repeat("long", 5000), "a\x00b"}
	case "JSON":
		return []any{nil, `{"a":[1,2,{"b":null}]}`, `""`}
	case "BINARY(4)", "VARBINARY(64)", "BLOB":
		return []any{nil, []byte{}, []byte{0, 0xFF, 0, 1}, bytes.Repeat([]byte{0xAB}, 3000)}
	case "DATE":
		return []any{nil, far, future, arrow.Date32(0), arrow.Date32(-1)}
	case "DATETIME(6)", "TIMESTAMP(6)":
		return []any{nil, far, future, arrow.Timestamp(0), arrow.Timestamp(-1)}
	case "TIME(6)":
		return []any{nil, -(838*time.Hour + 59*time.Minute + 59*time.Second), 838*time.Hour + 59*time.Minute + 59*time.Second + 999999*time.Microsecond, time.Duration(0), -time.Microsecond}
	case "BOOLEAN":
		return []any{nil, true, false}
	}
	panic(ty)
}

func allTypesRows(n int) [][]any {
	rows := make([][]any, n)
	for i := range rows {
		r := []any{int64(i)}
		for _, ty := range allTypes {
			ex := extremes(ty)
			r = append(r, ex[(i*7+len(r))%len(ex)])
		}
		rows[i] = r
	}
	return rows
}

func modelScalars(t testing.TB, s *base.Schema, rows [][]any) [][]scalar {
	cols, _ := tableColumns(s)
	out := make([][]scalar, len(rows))
	for i, r := range rows {
		out[i] = make([]scalar, len(cols))
		for j := range cols {
			v, err := toScalar(&cols[j], r[j])
			if err != nil {
				t.Fatal(err)
			}
			out[i][j] = v
		}
	}
	return out
}

func TestRoundTripAllTypes(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	ctx := context.Background()
	st := mem.New()
	s := allTypesSchema()
	rows := allTypesRows(3000)
	fs := writeFile(t, st, "t/a.parquet", s, alloc, rows, 700, WriterOptions{RowGroupRows: 1000, PageSize: 4096, KeyColumns: []int{1}, CheckKeyOrder: true})
	if fs.Rows != 3000 || fs.Bytes == 0 {
		t.Fatalf("stats: %+v", fs)
	}
	if got := fs.Columns[2]; got.Min != int64(math.MinInt8) || got.Max != int64(math.MaxInt8) || got.NullCount == 0 {
		t.Fatalf("TINYINT stats %+v", got)
	}
	if got := fs.Columns[15]; got.Min != "-99999999999999999999999999999999999.999999999999999999999999999999" {
		t.Fatalf("DECIMAL(65,30) min %v", got.Min)
	}
	if fmt.Sprint(fs.KeyMin, fs.KeyMax) != "[0] [2999]" {
		t.Fatalf("key range %v %v", fs.KeyMin, fs.KeyMax)
	}
	f, err := OpenFile(ctx, st, "t/a.parquet", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.RowGroups()) != 3 || f.NumRows() != 3000 || f.Stats().Rows != 3000 {
		t.Fatalf("row groups %v", f.RowGroups())
	}
	model := modelScalars(t, s, rows)
	cols, _ := tableColumns(s)
	check := func(ids []int, got [][]scalar) {
		t.Helper()
		if len(got) != len(rows) {
			t.Fatalf("%d rows, want %d", len(got), len(rows))
		}
		for i := range got {
			for j, id := range ids {
				k := id - 1
				if !sameScalar(cols[k].class(), got[i][j], model[i][k]) {
					t.Fatalf("row %d column %s (%s): got %+v want %+v", i, cols[k].col.Name, cols[k].typ, got[i][j], model[i][k])
				}
			}
		}
	}
	all := make([]int, len(cols))
	for i := range all {
		all[i] = i + 1
	}
	got, st1 := readAll(t, f, ReadOptions{Alloc: alloc, BatchSize: 512})
	check(all, got)
	if st1.UnplannedReads != 0 {
		t.Errorf("unplanned reads: %+v", st1)
	}
	proj := []int{16, 4, 1, 27}
	got, _ = readAll(t, f, ReadOptions{Alloc: alloc, Columns: proj})
	check(proj, got)
	// The Arrow schema carries ids and types.
	as, _ := ArrowSchema(s, []int{19})
	if v, _ := as.Field(0).Metadata.GetValue(FieldIDKey); v != "19" {
		t.Fatalf("field id %q", v)
	}
	if v, _ := as.Field(0).Metadata.GetValue(SQLTypeKey); v != "JSON" {
		t.Fatalf("sql type %q", v)
	}
}

func TestProjectionReadsOnlyItsChunks(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	st := mem.New()
	s := allTypesSchema()
	writeFile(t, st, "a.parquet", s, alloc, allTypesRows(2000), 2000, WriterOptions{})
	f, err := OpenFile(context.Background(), st, "a.parquet", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, stats := readAll(t, f, ReadOptions{Alloc: alloc, Columns: []int{1}})
	if stats.BytesRead >= f.Stats().Bytes/4 || stats.RangedReads != 1 {
		t.Fatalf("projected read of one BIGINT read %+v of %d bytes", stats, f.Stats().Bytes)
	}
}

func TestSchemaEvolution(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	st := mem.New()
	v1 := &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "id", Type: "BIGINT"},
		{ID: 2, Name: "name", Type: "VARCHAR(20)", Nullable: true},
		{ID: 3, Name: "gone", Type: "INT", Nullable: true},
	}, NextColumnID: 4}
	rows := [][]any{{1, "a", 10}, {2, nil, 20}, {3, "c", nil}}
	writeFile(t, st, "v1.parquet", v1, alloc, rows, 10, WriterOptions{KeyColumns: []int{1}})
	v2 := &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "id", Type: "BIGINT"},
		{ID: 2, Name: "title", Type: "VARCHAR(40)", Nullable: true},
		{ID: 4, Name: "added", Type: "DECIMAL(10,2)", Nullable: true, Default: strp("'12.50'")},
		{ID: 5, Name: "noDefault", Type: "TEXT", Nullable: true},
		{ID: 6, Name: "flag", Type: "BOOLEAN", Default: strp("TRUE")},
	}, NextColumnID: 7}
	f, err := OpenFile(context.Background(), st, "v1.parquet", ReaderOptions{Schema: v2})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr, err := f.Read(context.Background(), ReadOptions{Alloc: alloc, Predicate: Eq(4, "12.5")})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	if !rr.Next() {
		t.Fatal(rr.Err())
	}
	rec := rr.Record()
	if rec.Schema().Field(1).Name != "title" || rec.NumCols() != 5 {
		t.Fatalf("schema %v", rec.Schema())
	}
	var sb strings.Builder
	for i := 0; i < int(rec.NumRows()); i++ {
		for j := 0; j < int(rec.NumCols()); j++ {
			fmt.Fprintf(&sb, "%s ", rec.Column(j).ValueStr(i))
		}
		sb.WriteString("\n")
	}
	want := "1 a 12.5 (null) true \n2 (null) 12.5 (null) true \n3 c 12.5 (null) true \n"
	if sb.String() != want {
		t.Fatalf("got\n%swant\n%s", sb.String(), want)
	}
	if rr.Next() {
		t.Fatal("extra record")
	}
}

// pruneFile writes 100k rows sorted by k in 10 row groups with small
// pages: k = 2*i, v = i % 1000 (NULL every 97th row), s = fmt("s%06d").
func pruneFile(t testing.TB, alloc memory.Allocator) (*mem.Store, *base.Schema, [][]any) {
	s := &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "k", Type: "BIGINT"},
		{ID: 2, Name: "v", Type: "INT", Nullable: true},
		{ID: 3, Name: "s", Type: "VARCHAR(16)", Nullable: true},
		{ID: 4, Name: "d", Type: "DOUBLE", Nullable: true},
	}, NextColumnID: 5}
	rows := make([][]any, 100000)
	for i := range rows {
		var v any = i % 1000
		if i%97 == 0 {
			v = nil
		}
		rows[i] = []any{int64(2 * i), v, fmt.Sprintf("s%06d", i), float64(i) / 3}
	}
	st := mem.New()
	writeFile(t, st, "p.parquet", s, alloc, rows, 8192, WriterOptions{RowGroupRows: 10000, PageSize: 2048, KeyColumns: []int{1}})
	return st, s, rows
}

func TestPruning(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	st, s, rows := pruneFile(t, alloc)
	f, err := OpenFile(context.Background(), st, "p.parquet", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	model := modelScalars(t, s, rows)
	cols, _ := tableColumns(s)
	for _, tc := range []struct {
		name            string
		pred            *Predicate
		skipGroups      bool
		skipPages       bool
		matchModel      func(r []scalar) bool
		minRowsReturned int
	}{
		{"key point", Eq(1, 50000), true, true, func(r []scalar) bool { return r[0].i == 50000 }, 1},
		{"key range", And(Cmp(1, OpGe, 30000), Cmp(1, OpLt, 30100)), true, true, func(r []scalar) bool { return r[0].i >= 30000 && r[0].i < 30100 }, 50},
		{"key IN", In(1, 10, 199998, 7, nil), true, true, func(r []scalar) bool { return r[0].i == 10 || r[0].i == 199998 }, 2},
		{"NOT key", Not(Cmp(1, OpLt, 199000)), true, true, func(r []scalar) bool { return r[0].i >= 199000 }, 500},
		{"string", Cmp(3, OpLe, "s000100"), true, true, func(r []scalar) bool { return r[2].s <= "s000100" }, 101},
		{"or", Or(Eq(1, 4), Eq(3, "s099999")), true, true, func(r []scalar) bool { return r[0].i == 4 || r[2].s == "s099999" }, 2},
		{"other column", Cmp(2, OpGt, 995), false, false, func(r []scalar) bool { return !r[1].null && r[1].i > 995 }, 100},
		{"is null", IsNull(2), false, false, func(r []scalar) bool { return r[1].null }, 100},
		{"ne null", Not(Cmp(2, OpNe, nil)), true, true, func(r []scalar) bool { return false }, 0},
		{"not in with null", Not(In(2, 1, nil)), true, true, func(r []scalar) bool { return false }, 0},
		{"double", Cmp(4, OpLt, 10.0), true, true, func(r []scalar) bool { return r[3].f < 10 }, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, stats := readAll(t, f, ReadOptions{Alloc: alloc, Predicate: tc.pred, WithPositions: true})
			var want [][]scalar
			for i, r := range model {
				if tc.matchModel(r) {
					want = append(want, append(append([]scalar(nil), r...), scalar{i: int64(i)}))
				}
			}
			if len(got) != len(want) || len(want) < tc.minRowsReturned {
				t.Fatalf("%d rows, want %d (stats %+v)", len(got), len(want), stats)
			}
			for i := range got {
				for j := range want[i] {
					cls := clsInt
					if j < len(cols) {
						cls = cols[j].class()
					}
					if !sameScalar(cls, got[i][j], want[i][j]) {
						t.Fatalf("row %d col %d: %+v want %+v", i, j, got[i][j], want[i][j])
					}
				}
			}
			if tc.skipGroups && stats.RowGroupsSkipped == 0 && len(want) > 0 {
				t.Errorf("no row group skipped: %+v", stats)
			}
			if tc.skipPages && stats.PagesSkipped == 0 && stats.RowGroupsRead > 0 {
				t.Errorf("no page skipped: %+v", stats)
			}
			t.Logf("%+v", stats)
		})
	}
}

func TestDeletedAndMask(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	st, _, _ := pruneFile(t, alloc)
	f, err := OpenFile(context.Background(), st, "p.parquet", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	del := roaring.New()
	del.AddRange(0, 50000)
	mask := roaring.BitmapOf(50001, 99999)
	got, _ := readAll(t, f, ReadOptions{Alloc: alloc, Columns: []int{1}, Deleted: del, Mask: mask, WithPositions: true})
	if len(got) != 49998 || got[0][1].i != 50000 || got[1][1].i != 50002 || got[len(got)-1][0].i != 2*99998 {
		t.Fatalf("%d rows, first %+v", len(got), got[:2])
	}
}

func TestRandomized(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 1))
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	for iter := 0; iter < 12; iter++ {
		// A random subset of types, the key first.
		s := &base.Schema{Columns: []base.Column{{ID: 1, Name: "k", Type: "BIGINT"}}}
		for i, ty := range allTypes {
			if rnd.IntN(3) == 0 {
				s.Columns = append(s.Columns, base.Column{ID: i + 2, Name: fmt.Sprintf("c%d", i), Type: ty, Nullable: rnd.IntN(4) != 0})
			}
		}
		n := 1 + rnd.IntN(5000)
		rows := make([][]any, n)
		k := int64(-1000)
		for i := range rows {
			k += 1 + rnd.Int64N(5)
			r := []any{k}
			for _, c := range s.Columns[1:] {
				ex := extremes(c.Type)
				v := ex[rnd.IntN(len(ex))]
				if v == nil && !c.Nullable {
					v = ex[1]
				}
				r = append(r, v)
			}
			rows[i] = r
		}
		st := mem.New()
		writeFile(t, st, "r.parquet", s, alloc, rows, 1+rnd.IntN(2000),
			WriterOptions{RowGroupRows: 1 + rnd.IntN(3000), PageSize: 512 + rnd.IntN(8192), KeyColumns: []int{1}})
		f, err := OpenFile(context.Background(), st, "r.parquet", ReaderOptions{Parallelism: 1 + rnd.IntN(4)})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		model := modelScalars(t, s, rows)
		cols, _ := tableColumns(s)
		for q := 0; q < 10; q++ {
			var proj []int
			var projIdx []int
			for j, c := range s.Columns {
				if rnd.IntN(2) == 0 {
					proj, projIdx = append(proj, c.ID), append(projIdx, j)
				}
			}
			if len(proj) == 0 {
				proj, projIdx = []int{1}, []int{0}
			}
			pred, eval := randomPredicate(rnd, cols, rows, 3)
			del := roaring.New()
			for range rnd.IntN(50) {
				del.Add(uint32(rnd.IntN(n)))
			}
			got, _ := readAll(t, f, ReadOptions{Alloc: alloc, Columns: proj, Predicate: pred, Deleted: del, WithPositions: true,
				BatchSize: 1 + rnd.IntN(3000), Dictionaries: rnd.IntN(2) == 0})
			var want []int
			for i := range rows {
				if !del.Contains(uint32(i)) && eval(model[i]) {
					want = append(want, i)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("seed %d iter %d query %d: %d rows, want %d (pred %s)", seed, iter, q, len(got), len(want), fmtPred(pred))
			}
			for i, w := range want {
				if got[i][len(proj)].i != int64(w) {
					t.Fatalf("seed %d: row %d at position %d, want %d", seed, i, got[i][len(proj)].i, w)
				}
				for j, k := range projIdx {
					if !sameScalar(cols[k].class(), got[i][j], model[w][k]) {
						t.Fatalf("seed %d: row %d col %s: %+v want %+v", seed, w, cols[k].col.Name, got[i][j], model[w][k])
					}
				}
			}
		}
		f.Close()
	}
}

func fmtPred(p *Predicate) string {
	if p == nil {
		return "TRUE"
	}
	switch p.Op {
	case OpAnd, OpOr, OpNot:
		var parts []string
		for _, a := range p.Args {
			parts = append(parts, fmtPred(a))
		}
		return fmt.Sprintf("%v(%s)", []string{"AND", "OR", "NOT"}[p.Op-OpAnd], strings.Join(parts, ", "))
	}
	return fmt.Sprintf("c%d op%d %v %v", p.Column, p.Op, p.Value, p.Values)
}

// randomPredicate returns a predicate and the model's evaluation of it, in
// SQL's three-valued logic (nil: unknown).
func randomPredicate(rnd *rand.Rand, cols []column, rows [][]any, depth int) (*Predicate, func([]scalar) bool) {
	p, ev := randomPred3(rnd, cols, rows, depth)
	return p, func(r []scalar) bool { v := ev(r); return v != nil && *v }
}

func randomPred3(rnd *rand.Rand, cols []column, rows [][]any, depth int) (*Predicate, func([]scalar) *bool) {
	tv := func(b bool) *bool { return &b }
	if depth > 0 && rnd.IntN(3) == 0 {
		a, ea := randomPred3(rnd, cols, rows, depth-1)
		b, eb := randomPred3(rnd, cols, rows, depth-1)
		switch rnd.IntN(3) {
		case 0:
			return And(a, b), func(r []scalar) *bool {
				x, y := ea(r), eb(r)
				if (x != nil && !*x) || (y != nil && !*y) {
					return tv(false)
				}
				if x == nil || y == nil {
					return nil
				}
				return tv(true)
			}
		case 1:
			return Or(a, b), func(r []scalar) *bool {
				x, y := ea(r), eb(r)
				if (x != nil && *x) || (y != nil && *y) {
					return tv(true)
				}
				if x == nil || y == nil {
					return nil
				}
				return tv(false)
			}
		default:
			return Not(a), func(r []scalar) *bool {
				x := ea(r)
				if x == nil {
					return nil
				}
				return tv(!*x)
			}
		}
	}
	j := rnd.IntN(len(cols))
	c := &cols[j]
	pick := func() any {
		if rnd.IntN(10) == 0 {
			return nil
		}
		return rows[rnd.IntN(len(rows))][j]
	}
	switch rnd.IntN(8) {
	case 0:
		return IsNull(c.col.ID), func(r []scalar) *bool { return tv(r[j].null) }
	case 1:
		vals := []any{pick(), pick(), pick()}
		return In(c.col.ID, vals...), func(r []scalar) *bool {
			unknown := r[j].null
			for _, v := range vals {
				s, _ := toScalar(c, v)
				if s.null || r[j].null {
					unknown = true
					continue
				}
				if cmpScalar(c.class(), r[j], s) == 0 {
					return tv(true)
				}
			}
			if unknown {
				return nil
			}
			return tv(false)
		}
	}
	op := Op(rnd.IntN(6))
	v := pick()
	return Cmp(c.col.ID, op, v), func(r []scalar) *bool {
		s, _ := toScalar(c, v)
		if s.null || r[j].null {
			return nil
		}
		return tv(opHolds(op, cmpScalar(c.class(), r[j], s)))
	}
}

func TestCorruption(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	ctx := context.Background()
	st := mem.New()
	s := allTypesSchema()
	writeFile(t, st, "good.parquet", s, alloc, allTypesRows(500), 500, WriterOptions{PageSize: 1024})
	obj, _ := st.Open(ctx, "good.parquet")
	good := make([]byte, obj.Size())
	obj.ReadAt(good, 0)
	obj.Close()
	put := func(name string, b []byte) {
		if _, err := st.Put(ctx, name, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	flip := func(at int) []byte {
		b := bytes.Clone(good)
		b[at] ^= 0xFF
		return b
	}
	footerLen := int(good[len(good)-8]) | int(good[len(good)-7])<<8 | int(good[len(good)-6])<<16
	cases := map[string][]byte{
		"empty":           {},
		"truncated":       good[:len(good)-100],
		"half":            good[:len(good)/2],
		"magic":           append(bytes.Clone(good[:len(good)-4]), 'X', 'X', 'X', 'X'),
		"head magic":      flip(0),
		"footer length":   flip(len(good) - 6),
		"footer start":    flip(len(good) - 8 - footerLen + 1),
		"footer middle":   flip(len(good) - 8 - footerLen/2),
		"footer near end": flip(len(good) - 8 - 3),
	}
	for i := 0; i < 40; i++ {
		cases[fmt.Sprintf("footer byte %d", i)] = flip(len(good) - 8 - footerLen + i*footerLen/40)
	}
	for i := 0; i < 20; i++ {
		cases[fmt.Sprintf("data byte %d", i)] = flip(4 + i*(len(good)-8-footerLen)/20)
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			put(name, b)
			f, err := OpenFile(ctx, st, name, ReaderOptions{})
			if err != nil {
				if !errors.Is(err, base.ErrCorruption) || !strings.Contains(err.Error(), name) {
					t.Fatalf("error %v does not report corruption of %s", err, name)
				}
				return
			}
			defer f.Close()
			// Damage in the data pages may only show when reading: an
			// error must then be corruption too (or the bytes decode).
			rr, err := f.Read(ctx, ReadOptions{Alloc: alloc})
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			for rr.Next() {
			}
			if err := rr.Err(); err != nil && !errors.Is(err, base.ErrCorruption) {
				t.Fatalf("read error %v is not corruption", err)
			}
			rr.Close()
		})
	}
}

func TestPointLookups(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	ctx := context.Background()
	st, s, rows := pruneFile(t, alloc)
	f, err := OpenFile(ctx, st, "p.parquet", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc, err := NewKeyEncoder(s, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	ki, err := f.KeyIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ki2, _ := f.KeyIndex(ctx); ki2 != ki || ki.Len() != 100000 {
		t.Fatal("key index not cached")
	}
	for _, k := range []int64{0, 2, 77776, 199998} {
		key, _ := enc.Encode(k)
		pos, ok := ki.Lookup(key)
		if !ok || pos != k/2 {
			t.Fatalf("lookup %d: %d %v", k, pos, ok)
		}
	}
	// Every key of every row group (their first and last ones included):
	// no false negative.
	for i := range rows {
		key, _ := enc.Encode(rows[i][0])
		may, err := f.MayContain(ctx, key)
		if err != nil || !may {
			t.Fatalf("MayContain(%d) = %v, %v", rows[i][0], may, err)
		}
	}
	misses, bloomMisses := 0, 0
	for _, k := range []int64{-1, 1, 3, 12345, 199997, 199999, 1 << 40} {
		key, _ := enc.Encode(k)
		if _, ok := ki.Lookup(key); ok {
			t.Fatalf("lookup %d found", k)
		}
		misses++
		if may, _ := f.MayContain(ctx, key); !may {
			bloomMisses++
		}
	}
	if bloomMisses < misses-1 {
		t.Errorf("MayContain ruled out only %d of %d absent keys", bloomMisses, misses)
	}
	rec, err := f.ReadRows(ctx, []int64{99999, 5, 40000, 5}, nil, alloc)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if rec.NumRows() != 3 {
		t.Fatalf("%d rows", rec.NumRows())
	}
	for i, p := range []int{5, 40000, 99999} {
		if got := rec.Column(0).(*array.Int64).Value(i); got != rows[p][0] {
			t.Fatalf("row %d key %d", p, got)
		}
		if got := rec.Column(2).(*array.String).Value(i); got != rows[p][2] {
			t.Fatalf("row %d s %q", p, got)
		}
	}
}

func TestKeyOrder(t *testing.T) {
	enc, _ := NewKeyEncoder(&base.Schema{Columns: []base.Column{
		{ID: 1, Name: "a", Type: "INT"}, {ID: 2, Name: "b", Type: "VARCHAR(9)"}, {ID: 3, Name: "c", Type: "DOUBLE"}, {ID: 4, Name: "d", Type: "DECIMAL(40,2)"},
	}}, []int{1, 2, 3, 4})
	tuples := [][]any{
		{-5, "", -1.5, "-1.00"}, {-5, "", -1.5, "0.01"}, {-5, "\x00", math.Inf(-1), "0"}, {-5, "a", 0.0, "0"},
		{-5, "a\x00", 0.0, "0"}, {-5, "ab", -0.5, "0"}, {0, "", 0.0, "0"}, {0, "", 1.0, "0"}, {0, "", math.NaN(), "0"}, {7, "", 0.0, "0"},
	}
	var prev Key
	for i, tu := range tuples {
		k, err := enc.Encode(tu...)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && !(prev < k) {
			t.Fatalf("key %v does not sort after %v", tu, tuples[i-1])
		}
		vals, err := decodeKey(enc.cols, k)
		if err != nil || len(vals) != 4 || vals[0].i != int64(tu[0].(int)) || vals[1].s != tu[1] {
			t.Fatalf("decode %v: %+v %v", tu, vals, err)
		}
		prev = k
	}
}

func TestWriterRejectsUnsortedKeys(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	s := &base.Schema{Columns: []base.Column{{ID: 1, Name: "k", Type: "BIGINT"}}}
	rec := buildRecord(t, alloc, s, [][]any{{1}, {3}, {2}})
	defer rec.Release()
	w, _ := NewWriter(io.Discard, s, WriterOptions{KeyColumns: []int{1}, CheckKeyOrder: true})
	if err := w.Write(rec); err == nil || !strings.Contains(err.Error(), "sorted") {
		t.Fatalf("err %v", err)
	}
}

func TestWriteFileIsPutIfAbsent(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	st := mem.New()
	s := &base.Schema{Columns: []base.Column{{ID: 1, Name: "k", Type: "BIGINT"}}}
	writeFile(t, st, "x.parquet", s, alloc, [][]any{{1}}, 1, WriterOptions{})
	rec := buildRecord(t, alloc, s, [][]any{{2}})
	defer rec.Release()
	if _, err := WriteFile(context.Background(), st, "x.parquet", s, []arrow.Record{rec}, WriterOptions{}); err == nil {
		t.Fatal("overwrote an existing data file")
	}
}

// TestFloatStats: the minimum and maximum of FLOAT and DOUBLE columns
// order NaN above every number, whether a batch has NULLs (the generic
// path) or not (the typed one): each batch case gives the same statistics.
func TestFloatStats(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	s := &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "k", Type: "BIGINT"},
		{ID: 2, Name: "d", Type: "DOUBLE", Nullable: true},
		{ID: 3, Name: "f", Type: "FLOAT", Nullable: true},
	}, NextColumnID: 4}
	nan := math.NaN()
	for _, tc := range []struct {
		name     string
		vals     []float64
		min, max string
	}{
		{"numbers", []float64{3, -2.5, 7, 0}, "-2.5", "7"},
		{"a NaN is the maximum", []float64{3, nan, -1}, "-1", "NaN"},
		{"only NaN", []float64{nan, nan}, "NaN", "NaN"},
		{"infinities", []float64{math.Inf(1), 1, math.Inf(-1)}, "-Inf", "+Inf"},
	} {
		for _, withNull := range []bool{false, true} {
			var rows [][]any
			for i, v := range tc.vals {
				rows = append(rows, []any{int64(i), v, float32(v)})
			}
			if withNull {
				rows = append(rows, []any{int64(len(rows)), nil, nil})
			}
			fs := writeFile(t, mem.New(), "t/a.parquet", s, alloc, rows, 100, WriterOptions{})
			for _, id := range []int{2, 3} {
				c := fs.Columns[id]
				if got := fmt.Sprint(c.Min, " ", c.Max); got != tc.min+" "+tc.max {
					t.Errorf("%s (NULL %v), column %d: min max %s, want %s %s", tc.name, withNull, id, got, tc.min, tc.max)
				}
			}
		}
	}
}
