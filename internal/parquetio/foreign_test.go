package parquetio

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/store/mem"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// fRow is a row of the foreign files of these tests, written by
// parquet-go's GenericWriter: no field ids, no lakesql metadata.
type fRow struct {
	ID    int64   `parquet:"id"`
	Name  *string `parquet:"Name,optional,dict,snappy"`
	Score float64 `parquet:"score,zstd"`
	Qty   *int32  `parquet:"qty,optional"`
	Small int16   `parquet:"small"`
	Day   int32   `parquet:"day,date"`
	TS    int64   `parquet:"ts,timestamp(microsecond)"`
	Amt   int64   `parquet:"amt,decimal(2:12)"`
	Flag  *bool   `parquet:"flag,optional"`
}

// foreignTable is the table of fRow files: the file's columns under other
// ids and (for Name) another case, plus a column the files lack.
func foreignTable() *base.Schema {
	return &base.Schema{Columns: []base.Column{
		{ID: 11, Name: "id", Type: "BIGINT"},
		{ID: 12, Name: "name", Type: "VARCHAR(40)", Nullable: true},
		{ID: 13, Name: "score", Type: "DOUBLE"},
		{ID: 14, Name: "qty", Type: "INT", Nullable: true},
		{ID: 15, Name: "small", Type: "SMALLINT"},
		{ID: 16, Name: "day", Type: "DATE"},
		{ID: 17, Name: "ts", Type: "TIMESTAMP(6)"},
		{ID: 18, Name: "amt", Type: "DECIMAL(12,2)"},
		{ID: 19, Name: "flag", Type: "BOOLEAN", Nullable: true},
		{ID: 20, Name: "note", Type: "VARCHAR(10)", Nullable: true, Default: strp("'none'")},
	}, NextColumnID: 21}
}

func ptr[T any](v T) *T { return &v }

// fRows returns n rows with ids base, base+3, ...: NULLs in the optional
// columns, few distinct names (dictionary pages).
func fRows(n int, base int64) []fRow {
	rows := make([]fRow, n)
	for i := range rows {
		r := fRow{ID: base + 3*int64(i), Score: float64(i) * 0.5, Small: int16(i%600 - 300), Day: int32(18000 + i%400),
			TS: 1_700_000_000_000_000 + int64(i)*1_000_003, Amt: int64(i)*137 - 100_000}
		if i%7 != 0 {
			r.Name = ptr(fmt.Sprintf("name-%02d", i%50))
		}
		if i%5 != 0 {
			r.Qty = ptr(int32(i%1000 - 500))
		}
		if i%3 != 0 {
			r.Flag = ptr(i%2 == 0)
		}
		rows[i] = r
	}
	return rows
}

// want returns the row as scalars of foreignTable's columns ids (in
// order); rowID, when not nil, comes first.
func (r fRow) want(ids []int, rowID *int64) []scalar {
	out := make([]scalar, 0, len(ids))
	for _, id := range ids {
		var v scalar
		switch id {
		case 1:
			v = scalar{i: *rowID}
		case 11:
			v = scalar{i: r.ID}
		case 12:
			v = scalar{null: r.Name == nil}
			if r.Name != nil {
				v.s = *r.Name
			}
		case 13:
			v = scalar{f: r.Score}
		case 14:
			v = scalar{null: r.Qty == nil}
			if r.Qty != nil {
				v.i = int64(*r.Qty)
			}
		case 15:
			v = scalar{i: int64(r.Small)}
		case 16:
			v = scalar{i: int64(r.Day)}
		case 17:
			v = scalar{i: r.TS}
		case 18:
			v = scalar{d: decimal256.FromI64(r.Amt)}
		case 19:
			v = scalar{null: r.Flag == nil}
			if r.Flag != nil && *r.Flag {
				v.i = 1
			}
		case 20:
			v = scalar{s: "none"}
		default:
			panic(id)
		}
		out = append(out, v)
	}
	return out
}

// encodeForeign writes rows with parquet-go's GenericWriter.
func encodeForeign[T any](t testing.TB, rows []T, opts ...parquet.WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func putObject(t testing.TB, st *mem.Store, name string, b []byte) {
	t.Helper()
	if _, err := st.Put(context.Background(), name, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}

// editFooter rewrites the footer of a Parquet file with edit applied; the
// bytes it no longer refers to (e.g. the page index) stay in place.
func editFooter(t testing.TB, b []byte, edit func(*format.FileMetaData)) []byte {
	t.Helper()
	n := int(binary.LittleEndian.Uint32(b[len(b)-8:]))
	body, footer := b[:len(b)-8-n], b[len(b)-8-n:len(b)-8]
	var md format.FileMetaData
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), footer, &md); err != nil {
		t.Fatal(err)
	}
	edit(&md)
	nf, err := thrift.Marshal(new(thrift.CompactProtocol), &md)
	if err != nil {
		t.Fatal(err)
	}
	out := append(slices.Clone(body), nf...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(nf)))
	return append(out, "PAR1"...)
}

func dropPageIndex(md *format.FileMetaData) {
	for i := range md.RowGroups {
		for j := range md.RowGroups[i].Columns {
			c := &md.RowGroups[i].Columns[j]
			c.ColumnIndexOffset, c.ColumnIndexLength, c.OffsetIndexOffset, c.OffsetIndexLength = 0, 0, 0, 0
		}
	}
}

func dropStatistics(md *format.FileMetaData) {
	dropPageIndex(md)
	for i := range md.RowGroups {
		for j := range md.RowGroups[i].Columns {
			md.RowGroups[i].Columns[j].MetaData.Statistics = format.Statistics{}
		}
	}
}

func checkRows(t *testing.T, what string, got [][]scalar, want [][]scalar) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("%s: row %d has %d values, want %d", what, i, len(got[i]), len(want[i]))
		}
		for j := range want[i] {
			a, b := got[i][j], want[i][j]
			same := a.null == b.null && (a.null || (a.i == b.i && a.u == b.u && a.f == b.f && a.s == b.s && a.d == b.d))
			if !same {
				t.Fatalf("%s: row %d column %d = %+v, want %+v", what, i, j, a, b)
			}
		}
	}
}

func keyOf(t testing.TB, e *KeyEncoder, vals ...any) Key {
	t.Helper()
	k, err := e.Encode(vals...)
	if err != nil {
		t.Fatal(err)
	}
	return Key(strings.Clone(string(k)))
}

// TestForeignKeyed inspects and reads a keyed foreign file, written in
// several ways, through OpenFile with ReaderOptions.Foreign, comparing
// every read with the rows written.
func TestForeignKeyed(t *testing.T) {
	ctx := context.Background()
	const n = 5000
	allIDs := []int{11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	wopts := []parquet.WriterOption{parquet.MaxRowsPerRowGroup(1000), parquet.PageBufferSize(2048), parquet.Compression(&snappy.Codec{})}
	tests := []struct {
		name      string
		idBase    int64
		opts      []parquet.WriterOption
		edit      func(*format.FileMetaData)
		pageIndex bool
		stats     bool
	}{
		{name: "page index", idBase: 100, pageIndex: true, stats: true},
		{name: "no page index", idBase: 100, edit: dropPageIndex, stats: true},
		{name: "no statistics", idBase: 100, edit: dropStatistics},
		{name: "data page v1 and dictionary fallback", idBase: 100, pageIndex: true, stats: true,
			opts: []parquet.WriterOption{parquet.DataPageVersion(1), parquet.DictionaryMaxBytes(64)}},
		// Ids beyond 2^53: KeyMin/KeyMax decoded from JSON as float64 do
		// not give the key exactly; OpenFile reads the first and last rows.
		{name: "ids beyond 2^53", idBase: 1<<55 + 1, pageIndex: true, stats: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := mem.New()
			rows := fRows(n, tc.idBase)
			b := encodeForeign(t, rows, append(slices.Clone(wopts), tc.opts...)...)
			if tc.edit != nil {
				b = editFooter(t, b, tc.edit)
			}
			putObject(t, st, "ext/f.parquet", b)
			table := foreignTable()
			enc, err := NewKeyEncoder(table, []int{11})
			if err != nil {
				t.Fatal(err)
			}

			info, err := InspectForeign(ctx, st, "ext/f.parquet", table, []int{11})
			if err != nil {
				t.Fatal(err)
			}
			wantCols := []ForeignColumn{{"id", 11}, {"Name", 12}, {"score", 13}, {"qty", 14}, {"small", 15}, {"day", 16},
				{"ts", 17}, {"amt", 18}, {"flag", 19}}
			if !slices.Equal(info.Columns, wantCols) {
				t.Fatalf("columns %v, want %v", info.Columns, wantCols)
			}
			if info.Stats.Rows != n || info.Stats.Bytes != int64(len(b)) {
				t.Errorf("stats rows %d bytes %d, want %d %d", info.Stats.Rows, info.Stats.Bytes, n, len(b))
			}
			if len(info.Keys) != n {
				t.Fatalf("%d keys, want %d", len(info.Keys), n)
			}
			for i, k := range info.Keys {
				if want := keyOf(t, enc, rows[i].ID); k != want {
					t.Fatalf("key %d = %x, want %x", i, k, want)
				}
			}
			if fmt.Sprint(info.Stats.KeyMin, info.Stats.KeyMax) != fmt.Sprint([]any{rows[0].ID}, []any{rows[n-1].ID}) {
				t.Errorf("key range %v..%v", info.Stats.KeyMin, info.Stats.KeyMax)
			}
			if tc.stats {
				nameNulls, qtyNulls := int64(0), int64(0)
				for _, r := range rows {
					if r.Name == nil {
						nameNulls++
					}
					if r.Qty == nil {
						qtyNulls++
					}
				}
				want := map[int]ColumnStats{
					11: {Min: rows[0].ID, Max: rows[n-1].ID},
					12: {Min: "name-00", Max: "name-49", NullCount: nameNulls},
					13: {Min: 0.0, Max: float64(n-1) * 0.5},
					14: {Min: int64(-499), Max: int64(499), NullCount: qtyNulls},
					15: {Min: int64(-300), Max: int64(299)},
					16: {Min: "2019-04-14", Max: "2020-05-17"},
					17: {Min: "2023-11-14 22:13:20", Max: jsonValue(&column{typ: base.Type{Kind: base.TypeTimestamp}}, scalar{i: rows[n-1].TS})},
					18: {Min: "-1000.00", Max: fmt.Sprintf("%.2f", float64(rows[n-1].Amt)/100)},
					19: {Min: false, Max: true, NullCount: int64((n + 2) / 3)},
				}
				for id, ws := range want {
					if gs, ok := info.Stats.Columns[id]; !ok || fmt.Sprint(gs) != fmt.Sprint(ws) {
						t.Errorf("column %d stats %+v (present %v), want %+v", id, gs, ok, ws)
					}
				}
				if len(info.Stats.Columns) != len(want) {
					t.Errorf("stats of %d columns, want %d", len(info.Stats.Columns), len(want))
				}
			} else if len(info.Stats.Columns) != 0 {
				t.Errorf("stats %v from a footer without statistics", info.Stats.Columns)
			}

			// As the commit log keeps them: JSON, decoded into any.
			js, err := json.Marshal(info.Stats)
			if err != nil {
				t.Fatal(err)
			}
			var logged FileStats
			if err := json.Unmarshal(js, &logged); err != nil {
				t.Fatal(err)
			}
			keyCols, _ := selectColumns(table, []int{11})
			if _, exact := keyFromJSON(keyCols, logged.KeyMin); exact != (tc.idBase < 1<<53) {
				t.Fatalf("KeyMin %v from JSON exact: %v", logged.KeyMin, exact)
			}
			cache := NewPageCache(32 << 20)
			f, err := OpenFile(ctx, st, "ext/f.parquet", ReaderOptions{Schema: table, PageCache: cache, Parallelism: 2,
				Foreign: &ForeignOptions{Columns: info.Columns, Key: []int{11}, Stats: logged}})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if lo, hi := f.KeyRange(); lo != info.Keys[0] || hi != info.Keys[n-1] {
				t.Fatalf("key range %x..%x, want %x..%x", lo, hi, info.Keys[0], info.Keys[n-1])
			}
			if f.NumRows() != n || f.Stats().Rows != n || !slices.Equal(f.KeyColumns(), []int{11}) {
				t.Fatalf("rows %d stats %+v key %v", f.NumRows(), f.Stats(), f.KeyColumns())
			}
			wantRows := func(ids []int, keep func(i int) bool) [][]scalar {
				var out [][]scalar
				for i, r := range rows {
					if keep == nil || keep(i) {
						out = append(out, r.want(ids, nil))
					}
				}
				return out
			}

			got, _ := readAll(t, f, ReadOptions{})
			checkRows(t, "full read", got, wantRows(allIDs, nil))

			got, _ = readAll(t, f, ReadOptions{Columns: []int{20, 13, 11}, BatchSize: 333})
			checkRows(t, "projection", got, wantRows([]int{20, 13, 11}, nil))

			lo, hi := rows[1200].ID, rows[1300].ID
			got, rs := readAll(t, f, ReadOptions{Columns: []int{11, 12}, Predicate: And(Cmp(11, OpGe, lo), Cmp(11, OpLt, hi))})
			checkRows(t, "key range predicate", got, wantRows([]int{11, 12}, func(i int) bool { return i >= 1200 && i < 1300 }))
			if tc.stats && rs.RowGroupsSkipped < 4 {
				t.Errorf("key range: %d row groups skipped, want 4 (stats %+v)", rs.RowGroupsSkipped, rs)
			}
			if tc.pageIndex && rs.PagesSkipped == 0 {
				t.Errorf("key range: no page skipped with a page index (stats %+v)", rs)
			}
			if !tc.stats && rs.RowGroupsSkipped != 0 {
				t.Errorf("key range: %d row groups skipped without statistics", rs.RowGroupsSkipped)
			}

			got, _ = readAll(t, f, ReadOptions{Columns: []int{11}, Predicate: IsNull(12)})
			checkRows(t, "IS NULL", got, wantRows([]int{11}, func(i int) bool { return rows[i].Name == nil }))
			got, _ = readAll(t, f, ReadOptions{Columns: []int{14, 19}, Predicate: Or(Cmp(14, OpGt, 490), Eq(20, "x"))})
			checkRows(t, "nullable predicate", got, wantRows([]int{14, 19}, func(i int) bool { return rows[i].Qty != nil && *rows[i].Qty > 490 }))
			got, rs = readAll(t, f, ReadOptions{Predicate: Eq(20, "none"), Columns: []int{11}})
			checkRows(t, "default predicate", got, wantRows([]int{11}, nil))
			got, rs = readAll(t, f, ReadOptions{Predicate: Eq(20, "other"), Columns: []int{11}})
			checkRows(t, "default predicate", got, nil)

			deleted := roaring.New()
			for i := 0; i < n; i += 11 {
				deleted.Add(uint32(i))
			}
			got, _ = readAll(t, f, ReadOptions{Columns: []int{11}, WithPositions: true, Deleted: deleted})
			var wantPos [][]scalar
			for i, r := range rows {
				if !deleted.Contains(uint32(i)) {
					wantPos = append(wantPos, []scalar{{i: r.ID}, {i: int64(i)}})
				}
			}
			checkRows(t, "positions", got, wantPos)

			rnd := rand.New(rand.NewPCG(1, 2))
			for _, count := range []int{1, 20, 100} {
				pos := make([]int64, count)
				for i := range pos {
					pos[i] = rnd.Int64N(n)
				}
				slices.Sort(pos)
				pos = slices.Compact(pos)
				for range 2 { // the second time through the page cache
					rec, err := f.ReadRows(ctx, pos, nil, memory.DefaultAllocator)
					if err != nil {
						t.Fatal(err)
					}
					cols, _ := tableColumns(table)
					var got, want [][]scalar
					for i, x := range pos {
						row := make([]scalar, len(cols))
						for j := range cols {
							row[j] = scalarAt(&cols[j], rec.Column(j), i)
						}
						got = append(got, row)
						want = append(want, rows[x].want(allIDs, nil))
					}
					rec.Release()
					checkRows(t, fmt.Sprintf("ReadRows of %d", len(pos)), got, want)
				}
			}
			if cs := cache.Stats(); tc.pageIndex != (cs.Hits > 0) {
				t.Errorf("page cache %+v with page index %v", cs, tc.pageIndex)
			}

			for _, i := range []int{0, 1, 999, 1000, 2500, n - 1} {
				pos, ok, err := f.FindKey(ctx, keyOf(t, enc, rows[i].ID))
				if err != nil || !ok || pos != int64(i) {
					t.Errorf("FindKey(row %d) = %d %v %v", i, pos, ok, err)
				}
			}
			for _, id := range []int64{rows[0].ID - 1, rows[10].ID + 1, rows[n-1].ID + 3} {
				if pos, ok, err := f.FindKey(ctx, keyOf(t, enc, id)); err != nil || ok {
					t.Errorf("FindKey(%d) = %d %v %v, want absent", id, pos, ok, err)
				}
			}
			if may, err := f.MayContain(ctx, keyOf(t, enc, rows[n-1].ID+3)); err != nil || may {
				t.Errorf("MayContain past the key range = %v %v", may, err)
			}
			k, err := f.KeyIndex(ctx)
			if err != nil || k.Len() != n {
				t.Fatalf("KeyIndex: %v", err)
			}
		})
	}
}

// TestForeignRowID reads a foreign file of a keyless table: the hidden row
// id is not in the file; reads synthesize it from the positions.
func TestForeignRowID(t *testing.T) {
	ctx := context.Background()
	const n = 3000
	for _, pageIndex := range []bool{true, false} {
		t.Run(fmt.Sprintf("page index %v", pageIndex), func(t *testing.T) {
			st := mem.New()
			rows := fRows(n, 5)
			rows[10].ID, rows[11].ID = rows[11].ID, rows[10].ID // no order needed without a key
			b := encodeForeign(t, rows, parquet.MaxRowsPerRowGroup(700), parquet.PageBufferSize(1024))
			if !pageIndex {
				b = editFooter(t, b, dropPageIndex)
			}
			putObject(t, st, "f.parquet", b)
			table := foreignTable()
			table.Columns = append([]base.Column{{ID: 1, Name: base.RowIDColumn, Type: "BIGINT", Hidden: true}}, table.Columns...)
			for _, key := range [][]int{nil, {1}} {
				info, err := InspectForeign(ctx, st, "f.parquet", table, key)
				if err != nil {
					t.Fatalf("key %v: %v", key, err)
				}
				if info.Keys != nil || info.Stats.KeyMin != nil || len(info.Columns) != 9 || info.Stats.Rows != n {
					t.Fatalf("key %v: %+v", key, info)
				}
			}
			info, _ := InspectForeign(ctx, st, "f.parquet", table, []int{1})
			const start = int64(7) << 40
			f, err := OpenFile(ctx, st, "f.parquet", ReaderOptions{Schema: table,
				Foreign: &ForeignOptions{Columns: info.Columns, RowID: 1, RowIDStart: start, Key: []int{1}, Stats: info.Stats}})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			enc, _ := NewKeyEncoder(table, []int{1})
			if lo, hi := f.KeyRange(); lo != keyOf(t, enc, start) || hi != keyOf(t, enc, start+n-1) {
				t.Fatalf("key range %x..%x", lo, hi)
			}
			if c := f.Schema().ColumnByID(1); c == nil || !c.Hidden {
				t.Fatalf("file schema %+v lacks the row id", f.Schema())
			}
			ids := []int{1, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
			want := func(keep func(i int) bool, ids []int) [][]scalar {
				var out [][]scalar
				for i, r := range rows {
					if keep == nil || keep(i) {
						out = append(out, r.want(ids, ptr(start+int64(i))))
					}
				}
				return out
			}
			got, _ := readAll(t, f, ReadOptions{})
			checkRows(t, "full read", got, want(nil, ids))
			got, rs := readAll(t, f, ReadOptions{Columns: []int{12, 1}, WithPositions: true,
				Predicate: And(Cmp(1, OpGe, start+1500), Cmp(1, OpLe, start+1600))})
			wantPos := want(func(i int) bool { return i >= 1500 && i <= 1600 }, []int{12, 1})
			for i := range wantPos {
				wantPos[i] = append(wantPos[i], scalar{i: 1500 + int64(i)})
			}
			checkRows(t, "row id predicate", got, wantPos)
			if rs.RowGroupsSkipped != 4 {
				t.Errorf("row id predicate: %d row groups skipped, want 4", rs.RowGroupsSkipped)
			}
			got, _ = readAll(t, f, ReadOptions{Columns: []int{1}, Predicate: Eq(14, 7)})
			checkRows(t, "row id of matches", got, want(func(i int) bool { return rows[i].Qty != nil && *rows[i].Qty == 7 }, []int{1}))

			for _, pos := range [][]int64{{2999}, {0, 5, 699, 700, 2100}, func() []int64 {
				var p []int64
				for x := int64(0); x < n; x += 29 {
					p = append(p, x)
				}
				return p
			}()} {
				rec, err := f.ReadRows(ctx, pos, []int{1, 11, 12}, memory.DefaultAllocator)
				if err != nil {
					t.Fatal(err)
				}
				cols, _ := selectColumns(table, []int{1, 11, 12})
				var got, wantRows [][]scalar
				for i, x := range pos {
					got = append(got, []scalar{scalarAt(&cols[0], rec.Column(0), i), scalarAt(&cols[1], rec.Column(1), i),
						scalarAt(&cols[2], rec.Column(2), i)})
					wantRows = append(wantRows, rows[x].want([]int{1, 11, 12}, ptr(start+x)))
				}
				rec.Release()
				checkRows(t, fmt.Sprintf("ReadRows of %d", len(pos)), got, wantRows)
			}

			for _, x := range []int64{0, 1, 1234, n - 1} {
				pos, ok, err := f.FindKey(ctx, keyOf(t, enc, start+x))
				if err != nil || !ok || pos != x {
					t.Errorf("FindKey(start+%d) = %d %v %v", x, pos, ok, err)
				}
			}
			for _, id := range []int64{start - 1, start + n, 0} {
				if _, ok, err := f.FindKey(ctx, keyOf(t, enc, id)); err != nil || ok {
					t.Errorf("FindKey(%d) found, err %v", id, err)
				}
			}
			if may, err := f.MayContain(ctx, keyOf(t, enc, start+10)); err != nil || !may {
				t.Errorf("MayContain(start+10) = %v %v", may, err)
			}
			k, err := f.KeyIndex(ctx)
			if err != nil || k.Len() != n {
				t.Fatalf("KeyIndex: %v", err)
			}
			if pos, ok := k.Lookup(keyOf(t, enc, start+77)); !ok || pos != 77 {
				t.Errorf("KeyIndex.Lookup(start+77) = %d %v", pos, ok)
			}
		})
	}
}

// cRow has a composite key (a string and a narrow integer read as INT).
type cRow struct {
	Region string   `parquet:"region"`
	Seq    int8     `parquet:"seq"`
	V      *float32 `parquet:"v,optional"`
}

// TestForeignCompositeKey checks key order over two columns, FindKey
// through the key index and bloom-less lookups, and an INT32 INT(8)
// column read as INT.
func TestForeignCompositeKey(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	var rows []cRow
	for _, region := range []string{"eu\x00a", "eu", "us-east", "us-west"} {
		for s := int8(-3); s < 100; s += 2 {
			rows = append(rows, cRow{Region: region, Seq: s, V: ptr(float32(s) / 4)})
		}
	}
	slices.SortFunc(rows, func(a, b cRow) int {
		if c := strings.Compare(a.Region, b.Region); c != 0 {
			return c
		}
		return int(a.Seq) - int(b.Seq)
	})
	putObject(t, st, "c.parquet", encodeForeign(t, rows, parquet.MaxRowsPerRowGroup(40)))
	table := &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "REGION", Type: "VARCHAR(16)"}, {ID: 2, Name: "seq", Type: "INT"}, {ID: 3, Name: "v", Type: "FLOAT", Nullable: true}}}
	info, err := InspectForeign(ctx, st, "c.parquet", table, []int{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(info.Stats.KeyMin, info.Stats.KeyMax) != `[eu -3] [us-west 99]` {
		t.Errorf("key range %v %v", info.Stats.KeyMin, info.Stats.KeyMax)
	}
	f, err := OpenFile(ctx, st, "c.parquet", ReaderOptions{Schema: table,
		Foreign: &ForeignOptions{Columns: info.Columns, Key: []int{1, 2}, Stats: info.Stats}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc, _ := NewKeyEncoder(table, []int{1, 2})
	for i, r := range rows {
		pos, ok, err := f.FindKey(ctx, keyOf(t, enc, r.Region, int32(r.Seq)))
		if err != nil || !ok || pos != int64(i) {
			t.Fatalf("FindKey(%q, %d) = %d %v %v, want %d", r.Region, r.Seq, pos, ok, err, i)
		}
		if info.Keys[i] != keyOf(t, enc, r.Region, int32(r.Seq)) {
			t.Fatalf("key %d differs", i)
		}
	}
	for _, k := range [][]any{{"eu", 0}, {"eu\x00", 1}, {"us-east", 100}, {"zz", 1}, {"a", 1}} {
		if _, ok, err := f.FindKey(ctx, keyOf(t, enc, k...)); ok || err != nil {
			t.Errorf("FindKey(%v) found, err %v", k, err)
		}
	}
	got, _ := readAll(t, f, ReadOptions{Predicate: Cmp(2, OpLt, -2)})
	var want [][]scalar
	for _, r := range rows {
		if r.Seq < -2 {
			want = append(want, []scalar{{s: r.Region}, {i: int64(r.Seq)}, {f: float64(*r.V)}})
		}
	}
	checkRows(t, "INT(8) read as INT", got, want)
}

// TestForeignErrors checks each reason InspectForeign refuses a file.
func TestForeignErrors(t *testing.T) {
	ctx := context.Background()
	type idRow struct {
		ID int64 `parquet:"id"`
	}
	type unknownRow struct {
		ID  int64 `parquet:"id"`
		Zzz int32 `parquet:"zzz"`
	}
	type wideRow struct {
		ID  int64 `parquet:"id"`
		Qty int64 `parquet:"qty"`
	}
	type millisRow struct {
		ID int64 `parquet:"id"`
		TS int64 `parquet:"ts,timestamp(millisecond)"`
	}
	type nanosRow struct {
		ID int64 `parquet:"id"`
		TS int64 `parquet:"ts,timestamp(nanosecond)"`
	}
	type localRow struct {
		ID int64 `parquet:"id"`
		TS int64 `parquet:"ts,timestamp(microsecond:local)"`
	}
	type nestedRow struct {
		ID    int64 `parquet:"id"`
		Inner struct {
			A int32 `parquet:"a"`
		} `parquet:"inner"`
	}
	type repeatedRow struct {
		ID   int64   `parquet:"id"`
		Tags []int32 `parquet:"tags"`
	}
	type scoreRow struct {
		Score float64 `parquet:"score"`
	}
	type optRow struct {
		ID *int64 `parquet:"id,optional"`
	}
	type plainIntRow struct {
		ID    int64 `parquet:"id"`
		Small int32 `parquet:"small"`
	}
	type decRow struct {
		ID  int64   `parquet:"id"`
		Amt [5]byte `parquet:"amt,decimal(2:10)"`
	}
	type twinRow struct {
		ID  int64 `parquet:"id"`
		ID2 int64 `parquet:"ID"`
	}
	schema := func(extra ...base.Column) *base.Schema {
		return &base.Schema{Columns: append([]base.Column{{ID: 1, Name: "id", Type: "BIGINT"}}, extra...)}
	}
	tests := []struct {
		name  string
		data  func(t *testing.T) []byte
		table *base.Schema
		key   []int
		want  []string // substrings of the error
	}{
		{"unknown column", func(t *testing.T) []byte { return encodeForeign(t, []unknownRow{{1, 2}}) }, schema(), []int{1},
			[]string{`column "zzz"`, "no column"}},
		{"type mismatch", func(t *testing.T) []byte { return encodeForeign(t, []wideRow{{1, 2}}) },
			schema(base.Column{ID: 2, Name: "qty", Type: "INT"}), []int{1},
			[]string{`column "qty"`, "INT64", "table's INT", "reads it as BIGINT"}},
		{"narrowing", func(t *testing.T) []byte { return encodeForeign(t, []plainIntRow{{1, 2}}) },
			schema(base.Column{ID: 2, Name: "small", Type: "SMALLINT"}), []int{1},
			[]string{`column "small"`, "INT32", "SMALLINT", "reads it as INT"}},
		{"timestamp millis", func(t *testing.T) []byte { return encodeForeign(t, []millisRow{{1, 2}}) },
			schema(base.Column{ID: 2, Name: "ts", Type: "TIMESTAMP(6)"}), []int{1},
			[]string{`column "ts"`, "unit=MILLIS", "TIMESTAMP(6)", "timestamps in milliseconds"}},
		{"timestamp nanos", func(t *testing.T) []byte { return encodeForeign(t, []nanosRow{{1, 2}}) },
			schema(base.Column{ID: 2, Name: "ts", Type: "DATETIME(6)"}), []int{1},
			[]string{`column "ts"`, "unit=NANOS", "timestamps in nanoseconds"}},
		{"wall clock for an instant", func(t *testing.T) []byte { return encodeForeign(t, []localRow{{1, 2}}) },
			schema(base.Column{ID: 2, Name: "ts", Type: "TIMESTAMP"}), []int{1},
			[]string{`column "ts"`, "isAdjustedToUTC=false", "reads it as DATETIME(6)"}},
		{"decimal storage", func(t *testing.T) []byte { return encodeForeign(t, []decRow{{ID: 1}}) },
			schema(base.Column{ID: 2, Name: "amt", Type: "DECIMAL(10,2)"}), []int{1},
			[]string{`column "amt"`, "FIXED_LEN_BYTE_ARRAY(5)", "only as INT64"}},
		{"nested column", func(t *testing.T) []byte { return encodeForeign(t, []nestedRow{{ID: 1}}) },
			schema(base.Column{ID: 2, Name: "inner", Type: "INT"}), []int{1},
			[]string{`column "inner"`, "nested", "flat columns"}},
		{"repeated column", func(t *testing.T) []byte { return encodeForeign(t, []repeatedRow{{1, []int32{1}}}) },
			schema(base.Column{ID: 2, Name: "tags", Type: "INT"}), []int{1},
			[]string{`column "tags"`, "repeated"}},
		{"two file columns for one", func(t *testing.T) []byte { return encodeForeign(t, []twinRow{{1, 2}}) }, schema(), nil,
			[]string{`"ID"`, `as file column "id"`}},
		{"missing key column", func(t *testing.T) []byte { return encodeForeign(t, []scoreRow{{1}}) },
			schema(base.Column{ID: 2, Name: "score", Type: "DOUBLE"}), []int{1},
			[]string{`key column "id" is missing`}},
		{"unsorted key", func(t *testing.T) []byte {
			return encodeForeign(t, []idRow{{1}, {2}, {5}, {4}, {6}}, parquet.MaxRowsPerRowGroup(2))
		}, schema(), []int{1}, []string{"row 3", "key [4] is less than the previous row's key [5]", "sorted"}},
		{"duplicate key", func(t *testing.T) []byte { return encodeForeign(t, []idRow{{1}, {2}, {2}}) }, schema(), []int{1},
			[]string{"row 2", "key [2] duplicates the previous row's key [2]"}},
		{"NULL key", func(t *testing.T) []byte { return encodeForeign(t, []optRow{{ptr(int64(1))}, {nil}}) }, schema(), []int{1},
			[]string{`column "id"`, "row 1", "NULL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := mem.New()
			putObject(t, st, "bad.parquet", tc.data(t))
			_, err := InspectForeign(ctx, st, "bad.parquet", tc.table, tc.key)
			if err == nil {
				t.Fatal("no error")
			}
			var fe *ForeignError
			if !errors.Is(err, ErrForeign) || !errors.As(err, &fe) || fe.File != "bad.parquet" {
				t.Fatalf("error %v (%T) is not a ForeignError of bad.parquet", err, err)
			}
			for _, s := range append(tc.want, "bad.parquet") {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
	// The same files are fine where they fit: the optional key column
	// without NULLs, the unsorted file in a keyless table.
	st := mem.New()
	putObject(t, st, "ok.parquet", encodeForeign(t, []optRow{{ptr(int64(1))}, {ptr(int64(3))}}))
	if _, err := InspectForeign(ctx, st, "ok.parquet", schema(), []int{1}); err != nil {
		t.Errorf("optional key column without NULLs: %v", err)
	}
	putObject(t, st, "unsorted.parquet", encodeForeign(t, []idRow{{3}, {1}, {1}}))
	if _, err := InspectForeign(ctx, st, "unsorted.parquet", schema(), nil); err != nil {
		t.Errorf("unsorted keyless: %v", err)
	}
	if _, err := InspectForeign(ctx, st, "missing.parquet", schema(), nil); err == nil || errors.Is(err, ErrForeign) {
		t.Errorf("missing object: %v", err)
	}
}

// tRow has a column of each other type InferSchema reads.
type tRow struct {
	U8  uint8    `parquet:"u8"`
	U16 uint16   `parquet:"u16"`
	U32 uint32   `parquet:"u32"`
	U64 uint64   `parquet:"u64"`
	I8  int8     `parquet:"i8"`
	F32 float32  `parquet:"f32"`
	B   []byte   `parquet:"b"`
	J   string   `parquet:"j,json"`
	E   string   `parquet:"e,enum"`
	DT  int64    `parquet:"dt,timestamp(microsecond:local)"`
	TM  int64    `parquet:"tm,time(microsecond)"`
	D9  int32    `parquet:"d9,decimal(2:9)"`
	D38 [16]byte `parquet:"d38,decimal(4:38)"`
	S   *string  `parquet:"s,optional"`
}

// TestInferSchema infers the schema of foreign files, checks that it
// round-trips (InspectForeign accepts the file against it, reads give the
// values written) and that unreadable columns are named.
func TestInferSchema(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	putObject(t, st, "f.parquet", encodeForeign(t, fRows(100, 0)))
	var tRows []tRow
	for i := range 50 {
		var d38 [16]byte
		binary.BigEndian.PutUint64(d38[:8], ^uint64(0)) // -1 - i in 128 bits
		binary.BigEndian.PutUint64(d38[8:], ^uint64(i))
		r := tRow{U8: uint8(200 + i), U16: 60000, U32: 4_000_000_000, U64: 1<<63 + uint64(i), I8: int8(-i), F32: float32(i) / 8,
			B: []byte{0, byte(i)}, J: fmt.Sprintf(`{"i":%d}`, i), E: "x", DT: int64(i) * 1e6, TM: int64(i) * 1e3, D9: int32(-i * 100), D38: d38}
		if i%2 == 0 {
			r.S = ptr("s")
		}
		tRows = append(tRows, r)
	}
	putObject(t, st, "t.parquet", encodeForeign(t, tRows))
	tests := []struct {
		file string
		want string
	}{
		{"f.parquet", "1 id BIGINT false, 2 Name TEXT true, 3 score DOUBLE false, 4 qty INT true, 5 small SMALLINT false, " +
			"6 day DATE false, 7 ts TIMESTAMP(6) false, 8 amt DECIMAL(12,2) false, 9 flag BOOLEAN true"},
		{"t.parquet", "1 u8 TINYINT UNSIGNED false, 2 u16 SMALLINT UNSIGNED false, 3 u32 INT UNSIGNED false, " +
			"4 u64 BIGINT UNSIGNED false, 5 i8 TINYINT false, 6 f32 FLOAT false, 7 b BLOB false, 8 j JSON false, 9 e TEXT false, " +
			"10 dt DATETIME(6) false, 11 tm TIME(6) false, 12 d9 DECIMAL(9,2) false, 13 d38 DECIMAL(38,4) false, 14 s TEXT true"},
	}
	for _, tc := range tests {
		cols, err := InferSchema(ctx, st, tc.file)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range cols {
			got = append(got, fmt.Sprintf("%d %s %s %v", c.ID, c.Name, c.Type, c.Nullable))
		}
		if s := strings.Join(got, ", "); s != tc.want {
			t.Errorf("%s: inferred\n%s\nwant\n%s", tc.file, s, tc.want)
		}
		table := &base.Schema{Columns: cols, NextColumnID: len(cols) + 1}
		info, err := InspectForeign(ctx, st, tc.file, table, []int{1})
		if tc.file == "t.parquet" {
			info, err = InspectForeign(ctx, st, tc.file, table, nil)
		}
		if err != nil {
			t.Fatalf("%s: the inferred schema does not fit: %v", tc.file, err)
		}
		for i, fc := range info.Columns {
			if fc.ID != cols[i].ID || fc.Name != cols[i].Name {
				t.Errorf("%s: column %d maps %+v", tc.file, i, fc)
			}
		}
		f, err := OpenFile(ctx, st, tc.file, ReaderOptions{Schema: table, Foreign: &ForeignOptions{Columns: info.Columns}})
		if err != nil {
			t.Fatal(err)
		}
		got2, _ := readAll(t, f, ReadOptions{})
		f.Close()
		if tc.file == "f.parquet" {
			var want [][]scalar
			for _, r := range fRows(100, 0) {
				want = append(want, r.want([]int{11, 12, 13, 14, 15, 16, 17, 18, 19}, nil))
			}
			checkRows(t, "f.parquet", got2, want)
			continue
		}
		for i, r := range tRows {
			s := scalar{null: true}
			if r.S != nil {
				s = scalar{s: *r.S}
			}
			want := []scalar{{u: uint64(r.U8)}, {u: uint64(r.U16)}, {u: uint64(r.U32)}, {u: r.U64}, {i: int64(r.I8)},
				{f: float64(r.F32)}, {s: string(r.B)}, {s: r.J}, {s: r.E}, {i: r.DT}, {i: r.TM},
				{d: decimal256.FromI64(int64(r.D9))}, {d: decimal256.FromI64(int64(-1 - i))}, s}
			checkRows(t, "t.parquet", got2[i:i+1], [][]scalar{want})
		}
	}

	type millisRow struct {
		TS int64 `parquet:"ts,timestamp(millisecond)"`
	}
	type nestedRow struct {
		Inner struct {
			A int32 `parquet:"a"`
		} `parquet:"inner"`
	}
	type caseRow struct {
		A int32 `parquet:"a"`
		B int32 `parquet:"A"`
	}
	for name, b := range map[string][]byte{
		"millis": encodeForeign(t, []millisRow{{1}}),
		"nested": encodeForeign(t, []nestedRow{{}}),
		"case":   encodeForeign(t, []caseRow{{}}),
	} {
		putObject(t, st, name, b)
		cols, err := InferSchema(ctx, st, name)
		var fe *ForeignError
		if !errors.As(err, &fe) || fe.File != name || fe.Column == "" {
			t.Errorf("%s: inferred %v, error %v", name, cols, err)
		}
	}
}

// TestForeignOpenChecks checks that OpenFile refuses a mapping that does
// not fit the file (the object changed since it was added).
func TestForeignOpenChecks(t *testing.T) {
	ctx := context.Background()
	st := mem.New()
	putObject(t, st, "f.parquet", encodeForeign(t, fRows(10, 0)))
	table := foreignTable()
	tests := []struct {
		name    string
		opts    ReaderOptions
		corrupt bool
	}{
		{"no schema", ReaderOptions{Foreign: &ForeignOptions{}}, false},
		{"missing column", ReaderOptions{Schema: table, Foreign: &ForeignOptions{Columns: []ForeignColumn{{"gone", 11}}}}, true},
		{"changed type", ReaderOptions{Schema: table, Foreign: &ForeignOptions{Columns: []ForeignColumn{{"qty", 11}}}}, true},
		{"unknown id", ReaderOptions{Schema: table, Foreign: &ForeignOptions{Columns: []ForeignColumn{{"id", 99}}}}, false},
		{"unmapped key", ReaderOptions{Schema: table, Foreign: &ForeignOptions{Columns: []ForeignColumn{{"id", 11}}, Key: []int{13}}}, false},
		{"row count changed", ReaderOptions{Schema: table, Foreign: &ForeignOptions{Stats: FileStats{Rows: 11}}}, true},
		{"row id not BIGINT", ReaderOptions{Schema: table, Foreign: &ForeignOptions{RowID: 12}}, false},
	}
	for _, tc := range tests {
		f, err := OpenFile(ctx, st, "f.parquet", tc.opts)
		if err == nil {
			f.Close()
			t.Errorf("%s: opened", tc.name)
			continue
		}
		if errors.Is(err, base.ErrCorruption) != tc.corrupt || !strings.Contains(err.Error(), "f.parquet") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// A file of lakesql's own opens as a foreign file too, by name.
	s := &base.Schema{Columns: []base.Column{{ID: 1, Name: "k", Type: "BIGINT"}, {ID: 2, Name: "v", Type: "VARCHAR(8)", Nullable: true}}}
	var rows [][]any
	for i := range 100 {
		rows = append(rows, []any{int64(i), fmt.Sprint(i)})
	}
	writeFile(t, st, "own.parquet", s, memory.DefaultAllocator, rows, 30, WriterOptions{KeyColumns: []int{1}, RowGroupRows: 40})
	info, err := InspectForeign(ctx, st, "own.parquet", s, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(ctx, st, "own.parquet", ReaderOptions{Schema: s, Foreign: &ForeignOptions{Columns: info.Columns, Key: []int{1}, Stats: info.Stats}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc, _ := NewKeyEncoder(s, []int{1})
	// lakesql files have bloom filters on the key: MayContain consults them.
	if pos, ok, err := f.FindKey(ctx, keyOf(t, enc, int64(57))); !ok || pos != 57 || err != nil {
		t.Errorf("FindKey(57) = %d %v %v", pos, ok, err)
	}
}
