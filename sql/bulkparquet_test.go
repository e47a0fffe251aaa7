package sql_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	lsql "github.com/lakesql/lakesql/sql"
	"github.com/lakesql/lakesql/store/mem"
)

// The batch paths of the bulk loader: AddParquet, ConvertText,
// ConvertValues, Append and Commit.

const loadTable = "CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR(8) NOT NULL, score DOUBLE, qty INT, day DATE, doc JSON)"

// loadRow is a row of a Parquet file that fits table t: every visible
// column, by name, in types lakesql decodes to t's exactly. Name is
// optional in the file (so that a file can hold a NULL for the NOT NULL
// column).
type loadRow struct {
	ID    int64    `parquet:"id"`
	Name  *string  `parquet:"name,optional"`
	Score *float64 `parquet:"score,optional"`
	Qty   *int32   `parquet:"qty,optional"`
	Day   int32    `parquet:"day,date"`
	Doc   *string  `parquet:"doc,optional"`
}

// loadRowDict is loadRow with the names dictionary-encoded.
type loadRowDict struct {
	ID    int64    `parquet:"id"`
	Name  *string  `parquet:"name,optional,dict"`
	Score *float64 `parquet:"score,optional"`
	Qty   *int32   `parquet:"qty,optional"`
	Day   int32    `parquet:"day,date"`
	Doc   *string  `parquet:"doc,optional"`
}

func ptrTo[T any](v T) *T { return &v }

// loadRows returns n rows with ids from 0, keys in reverse order: NULLs in
// the nullable columns now and then, a name of 8 characters but more bytes
// (it fits VARCHAR(8)).
func loadRows(n int) []loadRow {
	rows := make([]loadRow, n)
	for i := range rows {
		r := loadRow{ID: int64(n - 1 - i), Name: ptrTo(fmt.Sprintf("n%d", i%13)), Day: int32(19000 + i)}
		if i%5 != 0 {
			r.Score = ptrTo(float64(i) / 4)
		}
		if i%7 != 0 {
			r.Qty = ptrTo(int32(i*3 - 100))
		}
		if i%3 == 0 {
			r.Doc = ptrTo(fmt.Sprintf(`{"i": %d}`, i))
		}
		if i == 4 {
			r.Name = ptrTo("héllo wö") // 8 characters, 10 bytes
		}
		rows[i] = r
	}
	return rows
}

// wantRow spells a row as SELECT id, name, score, qty, day, doc gives it.
func (r loadRow) want() string {
	s := func(p any) string {
		switch p := p.(type) {
		case *string:
			if p != nil {
				return *p
			}
		case *float64:
			if p != nil {
				return fmt.Sprint(*p)
			}
		case *int32:
			if p != nil {
				return fmt.Sprint(*p)
			}
		}
		return "<nil>"
	}
	return fmt.Sprintf("[%d %s %s %s %s %s]", r.ID, s(r.Name), s(r.Score), s(r.Qty), dayString(r.Day), s(r.Doc))
}

// dayString spells days since 1970-01-01 as YYYY-MM-DD.
func dayString(d int32) string {
	// Civil-from-days (proleptic Gregorian).
	z := int64(d) + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
		y++
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, day)
}

func encodeParquet[T any](t *testing.T, rows []T, rowGroup int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, parquet.MaxRowsPerRowGroup(rowGroup))
	// Write in pieces so that row groups end where MaxRowsPerRowGroup says.
	for lo := 0; lo < len(rows); lo += 10 {
		if _, err := w.Write(rows[lo:min(lo+10, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// loadEnv is an engine with database d holding table t, and a store the
// files to load are put in.
type loadEnv struct {
	e     *lsql.Embedded
	c     *lsql.Conn
	files *mem.Store
}

func newLoadEnv(t *testing.T, stmts ...string) *loadEnv {
	t.Helper()
	ctx := context.Background()
	e := lsql.NewEmbedded(lsql.Config{Store: mem.New(), Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() {
		if !t.Failed() { // a load left holding the writers would not close
			e.Close(ctx)
		}
	})
	c := e.Connect("root", "")
	t.Cleanup(c.Close)
	for _, q := range append([]string{"CREATE DATABASE d", "USE d", loadTable}, stmts...) {
		if _, err := c.Query(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return &loadEnv{e: e, c: c, files: mem.New()}
}

func (env *loadEnv) put(t *testing.T, name string, b []byte) {
	t.Helper()
	if _, err := env.files.Put(context.Background(), name, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}

func (env *loadEnv) loader(t *testing.T, o lsql.BulkLoadOptions) *lsql.BulkLoader {
	t.Helper()
	l, err := env.e.NewBulkLoader(context.Background(), "d", "", "t", o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// execWithin runs a statement that must finish within 10 s: a load left
// holding the branch's writers would make it wait.
func (env *loadEnv) execWithin(t *testing.T, q string) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := env.c.Query(context.Background(), q)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still waiting after 10 s (a load holds the writers)", q)
	}
}

func (env *loadEnv) rows(t *testing.T, q string) []string {
	t.Helper()
	res, err := env.c.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var out []string
	for _, r := range res.Rows {
		out = append(out, fmt.Sprint(r))
	}
	return out
}

// TestBulkLoaderAddParquet: a file whose columns fit the table is added
// whole (row groups of several records, plain and dictionary-encoded
// strings), the progress counts its rows, and the rows read back as
// written, beside rows converted from values in the same load.
func TestBulkLoaderAddParquet(t *testing.T) {
	ctx := context.Background()
	env := newLoadEnv(t)
	rows := loadRows(95)
	env.put(t, "plain.parquet", encodeParquet(t, rows, 20))
	// The same rows with ids 1000 up, the names dictionary-encoded.
	dict := make([]loadRowDict, len(rows))
	for i, r := range rows {
		r.ID += 1000
		dict[i] = loadRowDict(r)
	}
	env.put(t, "dict.parquet", encodeParquet(t, dict, 30))

	l := env.loader(t, lsql.BulkLoadOptions{})
	var progress []int64
	ok, err := l.AddParquet(ctx, env.files, "plain.parquet", func(n int64) { progress = append(progress, n) })
	if err != nil || !ok {
		t.Fatalf("AddParquet: %v, %v", ok, err)
	}
	if l.Rows() != len(rows) {
		t.Errorf("Rows() %d after a file of %d", l.Rows(), len(rows))
	}
	if len(progress) == 0 || progress[len(progress)-1] != int64(len(rows)) {
		t.Errorf("progress %v, want it to end at %d", progress, len(rows))
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] <= progress[i-1] {
			t.Errorf("progress %v does not increase", progress)
		}
	}
	if ok, err := l.AddParquet(ctx, env.files, "dict.parquet", nil); err != nil || !ok {
		t.Fatalf("AddParquet of the dictionary-encoded file: %v, %v", ok, err)
	}
	// Rows converted from values, in the same load.
	rec, err := l.ConvertValues([]any{int64(5000), "v", 1.5, nil, "2024-02-29", `[1]`, int64(5001), "w", nil, int64(7), nil, nil}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(rec); err != nil {
		t.Fatal(err)
	}
	if l.Rows() != 2*len(rows)+2 {
		t.Errorf("Rows() %d, want %d", l.Rows(), 2*len(rows)+2)
	}
	if _, err := l.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := env.rows(t, "SELECT id, name, score, qty, day, doc FROM t ORDER BY id")
	var want []string
	for i := len(rows) - 1; i >= 0; i-- { // ids ascending
		want = append(want, rows[i].want())
	}
	for i := len(rows) - 1; i >= 0; i-- {
		r := rows[i]
		r.ID += 1000
		want = append(want, r.want())
	}
	want = append(want, "[5000 v 1.5 <nil> 2024-02-29 [1]]", "[5001 w <nil> 7 <nil> <nil>]")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestBulkLoaderAddParquetBadValues: a NULL in the NOT NULL column, a
// value too long for its VARCHAR and an invalid JSON document are
// *RowErrors whose Row counts the file's rows from 0, across row groups;
// the load then commits nothing.
func TestBulkLoaderAddParquetBadValues(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		row  int
		edit func(r *loadRow)
		want string
	}{
		{"null name in the first row group", 3, func(r *loadRow) { r.Name = nil }, "NOT NULL"},
		{"null name in a later row group", 47, func(r *loadRow) { r.Name = nil }, "NOT NULL"},
		{"too long", 61, func(r *loadRow) { r.Name = ptrTo("ninechars") }, "too long"},
		{"too long, multibyte", 20, func(r *loadRow) { r.Name = ptrTo("héllo wöx") }, "too long"},
		{"not JSON", 89, func(r *loadRow) { r.Doc = ptrTo("{") }, "JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newLoadEnv(t)
			rows := loadRows(90)
			tc.edit(&rows[tc.row])
			env.put(t, "f.parquet", encodeParquet(t, rows, 20))
			// The dictionary-encoded spelling of the same file.
			dict := make([]loadRowDict, len(rows))
			for i, r := range rows {
				dict[i] = loadRowDict(r)
			}
			env.put(t, "g.parquet", encodeParquet(t, dict, 20))
			for _, name := range []string{"f.parquet", "g.parquet"} {
				l := env.loader(t, lsql.BulkLoadOptions{})
				ok, err := l.AddParquet(ctx, env.files, name, nil)
				var re *lsql.RowError
				if !errors.As(err, &re) {
					t.Fatalf("%s: %v, %v; want a *RowError", name, ok, err)
				}
				if re.Row != tc.row || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: RowError at row %d: %v; want row %d and %q", name, re.Row, err, tc.row, tc.want)
				}
				if !ok {
					t.Errorf("%s: AddParquet said the file does not fit, yet failed on a value", name)
				}
			}
			// The failed loads ended themselves: a write goes through.
			env.execWithin(t, "INSERT INTO t (id, name) VALUES (-1, 'after')")
			if got := env.rows(t, "SELECT id, name FROM t"); fmt.Sprint(got) != "[[-1 after]]" {
				t.Errorf("rows after failed loads: %v", got)
			}
		})
	}
}

// TestBulkLoaderAddParquetMisfit: files whose columns do not fit the
// table (a type, a column the table lacks, a column the load takes but
// the file lacks) give false and add nothing.
func TestBulkLoaderAddParquetMisfit(t *testing.T) {
	ctx := context.Background()
	env := newLoadEnv(t)
	type wideQty struct { // qty as INT64 for an INT column
		ID    int64    `parquet:"id"`
		Name  string   `parquet:"name"`
		Score *float64 `parquet:"score,optional"`
		Qty   int64    `parquet:"qty"`
		Day   int32    `parquet:"day,date"`
		Doc   *string  `parquet:"doc,optional"`
	}
	type textID struct { // the key as text
		ID    string   `parquet:"id"`
		Name  string   `parquet:"name"`
		Score *float64 `parquet:"score,optional"`
		Qty   *int32   `parquet:"qty,optional"`
		Day   int32    `parquet:"day,date"`
		Doc   *string  `parquet:"doc,optional"`
	}
	type extra struct { // a column the table lacks
		ID    int64    `parquet:"id"`
		Name  string   `parquet:"name"`
		Score *float64 `parquet:"score,optional"`
		Qty   *int32   `parquet:"qty,optional"`
		Day   int32    `parquet:"day,date"`
		Doc   *string  `parquet:"doc,optional"`
		Other int64    `parquet:"other"`
	}
	type fewer struct { // no doc
		ID    int64    `parquet:"id"`
		Name  string   `parquet:"name"`
		Score *float64 `parquet:"score,optional"`
		Qty   *int32   `parquet:"qty,optional"`
		Day   int32    `parquet:"day,date"`
	}
	env.put(t, "wide.parquet", encodeParquet(t, []wideQty{{ID: 1, Name: "a", Qty: 5, Day: 1}}, 10))
	env.put(t, "text.parquet", encodeParquet(t, []textID{{ID: "1", Name: "a", Day: 1}}, 10))
	env.put(t, "extra.parquet", encodeParquet(t, []extra{{ID: 1, Name: "a", Day: 1, Other: 9}}, 10))
	env.put(t, "fewer.parquet", encodeParquet(t, []fewer{{ID: 1, Name: "a", Day: 1}}, 10))
	for _, name := range []string{"wide.parquet", "text.parquet", "extra.parquet", "fewer.parquet"} {
		l := env.loader(t, lsql.BulkLoadOptions{})
		ok, err := l.AddParquet(ctx, env.files, name, func(int64) { t.Errorf("%s: progress reported", name) })
		if ok || err != nil {
			t.Errorf("%s: AddParquet = %v, %v; want false, nil", name, ok, err)
		}
		if l.Rows() != 0 {
			t.Errorf("%s: Rows() = %d after a file that does not fit", name, l.Rows())
		}
	}
	// A load of some of the columns takes a file of just those.
	l := env.loader(t, lsql.BulkLoadOptions{Columns: []string{"id", "name", "score", "qty", "day"}})
	ok, err := l.AddParquet(ctx, env.files, "fewer.parquet", nil)
	if !ok || err != nil || l.Rows() != 1 {
		t.Fatalf("a file of the load's columns: %v, %v, %d rows", ok, err, l.Rows())
	}
	// ... but not one with a column more.
	l2 := env.loader(t, lsql.BulkLoadOptions{Columns: []string{"id", "name", "score", "qty", "day"}})
	env.put(t, "all.parquet", encodeParquet(t, loadRows(3), 10))
	if ok, err := l2.AddParquet(ctx, env.files, "all.parquet", nil); ok || err != nil || l2.Rows() != 0 {
		t.Errorf("a file with a column the load does not take: %v, %v, %d rows", ok, err, l2.Rows())
	}
	if _, err := l.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := env.rows(t, "SELECT id, name, doc FROM t"); fmt.Sprint(got) != "[[1 a <nil>]]" {
		t.Errorf("rows: %v", got)
	}
}

// TestBulkLoaderBatchErrors: ConvertText and ConvertValues name the
// failing row of their batch; Commit refuses a key twice across batches
// (and a key the table holds) with a *DuplicateKeyError of 1-based rows
// over the whole load, and writes nothing; with Upsert the last row wins.
func TestBulkLoaderBatchErrors(t *testing.T) {
	ctx := context.Background()
	env := newLoadEnv(t, "INSERT INTO t (id, name) VALUES (100, 'held')")
	l := env.loader(t, lsql.BulkLoadOptions{})
	w := l.Width()
	if w != 6 {
		t.Fatalf("Width() %d, want 6", w)
	}
	text := func(recs ...[]string) ([]string, []bool) {
		var f []string
		var n []bool
		for _, r := range recs {
			for _, v := range r {
				f = append(f, v)
				n = append(n, v == "")
			}
		}
		return f, n
	}
	for _, tc := range []struct {
		recs [][]string
		row  int
		want string
	}{
		{[][]string{{"1", "a", "1.5", "2", "2024-01-01", ""}, {"2", "b", "", "x", "", ""}}, 1, "not an integer"},
		{[][]string{{"1", "a", "", "", "", ""}, {"2", "b", "", "", "", ""}, {"3", "", "", "", "", ""}}, 2, "NOT NULL"},
		{[][]string{{"1", "much too long", "", "", "", ""}}, 0, "too long"},
		{[][]string{{"1", "a", "", "", "", ""}, {"2", "b", "zz", "", "", ""}}, 1, "not a number"},
		{[][]string{{"1", "a", "", "", "", ""}, {"9", "b", "", "", "", "{"}}, 1, "JSON"},
	} {
		f, n := text(tc.recs...)
		_, err := l.ConvertText(f, n, len(tc.recs))
		var re *lsql.RowError
		if !errors.As(err, &re) || re.Row != tc.row || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ConvertText %q: %v, want a RowError at row %d with %q", tc.recs, err, tc.row, tc.want)
		}
	}
	_, err := l.ConvertValues([]any{int64(1), "a", nil, nil, nil, nil, int64(2), "b", nil, "1e20", nil, nil}, 2)
	var re *lsql.RowError
	if !errors.As(err, &re) || re.Row != 1 || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("ConvertValues of an INT out of range: %v", err)
	}
	if _, err := l.ConvertText([]string{"1"}, []bool{false}, 1); err == nil {
		t.Error("ConvertText of too few fields: no error")
	}
	if l.Rows() != 0 {
		t.Errorf("Rows() %d after failed conversions", l.Rows())
	}

	// Keys: row 2 of the first batch and row 2 of the second (rows 2 and
	// 5 of the load) are the same.
	batches := [][][]string{
		{{"10", "a", "", "", "", ""}, {"11", "b", "", "", "", ""}, {"12", "c", "", "", "", ""}},
		{{"13", "d", "", "", "", ""}, {"11", "e", "", "", "", ""}},
	}
	add := func(l *lsql.BulkLoader) {
		t.Helper()
		for _, b := range batches {
			f, n := text(b...)
			rec, err := l.ConvertText(f, n, len(b))
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Append(rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A load given up: Abort ends it, nothing is written, writes go on.
	add(l)
	l.Abort()
	env.execWithin(t, "INSERT INTO t (id, name) VALUES (101, 'tx')")
	if got := env.rows(t, "SELECT id, name FROM t ORDER BY id"); fmt.Sprint(got) != "[[100 held] [101 tx]]" {
		t.Errorf("after an aborted load: %v", got)
	}
	env.execWithin(t, "DELETE FROM t WHERE id = 101")

	l = env.loader(t, lsql.BulkLoadOptions{})
	add(l)
	_, err = l.Commit(ctx)
	var dup *lsql.DuplicateKeyError
	if !errors.As(err, &dup) || dup.Row != 5 || dup.FirstRow != 2 || dup.Key != "[11]" {
		t.Errorf("a key twice: %v (%+v)", err, dup)
	}
	// A key the table holds.
	l = env.loader(t, lsql.BulkLoadOptions{})
	f, n := text([]string{"20", "x", "", "", "", ""}, []string{"100", "y", "", "", "", ""})
	rec, err := l.ConvertText(f, n, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(rec); err != nil {
		t.Fatal(err)
	}
	_, err = l.Commit(ctx)
	if !errors.As(err, &dup) || dup.Row != 2 || dup.FirstRow != 0 || dup.Key != "[100]" {
		t.Errorf("a key the table holds: %v (%+v)", err, dup)
	}
	env.execWithin(t, "INSERT INTO t (id, name) VALUES (102, 'tx')")
	env.execWithin(t, "DELETE FROM t WHERE id = 102")
	if got := env.rows(t, "SELECT id, name FROM t ORDER BY id"); fmt.Sprint(got) != "[[100 held]]" {
		t.Errorf("refused loads wrote rows: %v", got)
	}
	// Upsert: the last row of a key wins, over the table's row too.
	l = env.loader(t, lsql.BulkLoadOptions{Upsert: true})
	add(l)
	f, n = text([]string{"100", "new", "", "", "", ""})
	if rec, err = l.ConvertText(f, n, 1); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(rec); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := env.rows(t, "SELECT id, name FROM t ORDER BY id"); fmt.Sprint(got) != "[[10 a] [11 e] [12 c] [13 d] [100 new]]" {
		t.Errorf("after the upsert: %v", got)
	}
}
