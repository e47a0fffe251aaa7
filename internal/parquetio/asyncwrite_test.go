package parquetio

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/lakesql/lakesql/internal/base"

	"github.com/lakesql/lakesql/store/mem"
)

// TestColumnGoroutines: records of at least parallelWriteRows rows are
// encoded by one goroutine per column after Write returns; the rows come
// back in order and whole across row groups, also when small records
// follow large ones, and the statistics count every row.
func TestColumnGoroutines(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	ctx := context.Background()
	st := mem.New()
	s := allTypesSchema()
	rows := allTypesRows(3*parallelWriteRows + 1234)
	batches := []int{parallelWriteRows + 7, 3, parallelWriteRows * 2, 100}
	var sizes []int
	for lo, b := 0, 0; lo < len(rows); b++ {
		hi := min(len(rows), lo+batches[b%len(batches)])
		sizes = append(sizes, hi-lo)
		lo = hi
	}
	w, err := CreateFile(ctx, st, "t/a.parquet", s, WriterOptions{RowGroupRows: 5000, KeyColumns: []int{1}, CheckKeyOrder: true})
	if err != nil {
		t.Fatal(err)
	}
	lo := 0
	for _, n := range sizes {
		rec := buildRecord(t, alloc, s, rows[lo:lo+n])
		err := w.Write(rec)
		rec.Release() // the column goroutines hold their own references
		if err != nil {
			t.Fatal(err)
		}
		lo += n
	}
	fs, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if fs.Rows != int64(len(rows)) {
		t.Fatalf("stats count %d rows, want %d", fs.Rows, len(rows))
	}
	f, err := OpenFile(ctx, st, "t/a.parquet", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := len(f.RowGroups()), (len(rows)+4999)/5000; got != want {
		t.Errorf("%d row groups, want %d", got, want)
	}
	got, _ := readAll(t, f, ReadOptions{})
	model := modelScalars(t, s, rows)
	cols, _ := tableColumns(s)
	if len(got) != len(model) {
		t.Fatalf("%d rows back, want %d", len(got), len(model))
	}
	for i := range got {
		for k := range cols {
			if !sameScalar(cols[k].class(), got[i][k], model[i][k]) {
				t.Fatalf("row %d column %s: got %+v want %+v", i, cols[k].col.Name, got[i][k], model[i][k])
			}
		}
	}
}

// TestColumnGoroutinesEnd: Abort and Close end the column goroutines
// (none is left running) and release every record.
func TestColumnGoroutinesEnd(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	ctx := context.Background()
	s := allTypesSchema()
	rows := allTypesRows(2 * parallelWriteRows)
	before := runtime.NumGoroutine()
	for _, abort := range []bool{true, false} {
		w, err := CreateFile(ctx, mem.New(), "t/a.parquet", s, WriterOptions{RowGroupRows: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			rec := buildRecord(t, alloc, s, rows)
			err := w.Write(rec)
			rec.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
		if abort {
			w.Abort(errors.New("abandoned"))
		} else if _, err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after the writers ended, %d before", n, before)
	}
}

// TestAscendingIntegersDelta: an integer column whose first values ascend
// in small steps is written DELTA_BINARY_PACKED (like the first key
// column), others keep their encoding; every value reads back.
func TestAscendingIntegersDelta(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer alloc.AssertSize(t, 0)
	ctx := context.Background()
	st := mem.New()
	s := &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "k", Type: "BIGINT"},
		{ID: 2, Name: "id", Type: "BIGINT", Nullable: true},
		{ID: 3, Name: "n", Type: "INT", Nullable: true},
		{ID: 4, Name: "r", Type: "BIGINT", Nullable: true},
	}, NextColumnID: 5}
	rnd := rand.New(rand.NewPCG(1, 2))
	var rows [][]any
	for i := range 20000 {
		var n any = int32(i / 3)
		if i > 10000 && i%7 == 0 {
			n = nil // NULLs later on do not matter
		}
		rows = append(rows, []any{int64(i), int64(1_000_000 + i*5), n, rnd.Int64()})
	}
	writeFile(t, st, "t/a.parquet", s, alloc, rows, 5000, WriterOptions{KeyColumns: []int{1}})
	obj, err := st.Open(ctx, "t/a.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	pf, err := parquet.OpenFile(obj, obj.Size())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"k": true, "id": true, "n": true, "r": false}
	for _, c := range pf.Metadata().RowGroups[0].Columns {
		name := c.MetaData.PathInSchema[0]
		if got := slices.Contains(c.MetaData.Encoding, format.DeltaBinaryPacked); got != want[name] {
			t.Errorf("column %s: encodings %v, delta %v", name, c.MetaData.Encoding, want[name])
		}
	}
	f, err := OpenFile(ctx, st, "t/a.parquet", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _ := readAll(t, f, ReadOptions{})
	model := modelScalars(t, s, rows)
	cols, _ := tableColumns(s)
	for i := range model {
		for k := range cols {
			if !sameScalar(cols[k].class(), got[i][k], model[i][k]) {
				t.Fatalf("row %d column %s: got %+v want %+v", i, cols[k].col.Name, got[i][k], model[i][k])
			}
		}
	}
}
