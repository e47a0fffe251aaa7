package memtable

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
	"github.com/lakesql/lakesql/internal/parquetio"
	"github.com/lakesql/lakesql/scan"
)

// Two test tables covering every kind of stored Go value.
//
//	ta: id BIGINT key, a INT, s VARCHAR(16), d DECIMAL(10,2), ts DATETIME(6),
//	    b VARBINARY(8), f DOUBLE
//	tb: k VARCHAR(8) + n INT key, x DECIMAL(40,5), dt DATE, tm TIME(3),
//	    ok BOOLEAN, u TINYINT UNSIGNED, tz TIMESTAMP, r FLOAT, sm SMALLINT
func schemaA() *base.Schema {
	return &base.Schema{Columns: []base.Column{
		{ID: 1, Name: "id", Type: "BIGINT"},
		{ID: 2, Name: "a", Type: "INT", Nullable: true},
		{ID: 3, Name: "s", Type: "VARCHAR(16)", Nullable: true},
		{ID: 4, Name: "d", Type: "DECIMAL(10,2)", Nullable: true},
		{ID: 5, Name: "ts", Type: "DATETIME(6)", Nullable: true},
		{ID: 6, Name: "b", Type: "VARBINARY(8)", Nullable: true},
		{ID: 7, Name: "f", Type: "DOUBLE", Nullable: true},
	}, NextColumnID: 8}
}

func schemaB() *base.Schema {
	return &base.Schema{Columns: []base.Column{
		{ID: 10, Name: "k", Type: "VARCHAR(8)"},
		{ID: 11, Name: "n", Type: "INT"},
		{ID: 12, Name: "x", Type: "DECIMAL(40,5)", Nullable: true},
		{ID: 13, Name: "dt", Type: "DATE", Nullable: true},
		{ID: 14, Name: "tm", Type: "TIME(3)", Nullable: true},
		{ID: 15, Name: "ok", Type: "BOOLEAN", Nullable: true},
		{ID: 16, Name: "u", Type: "TINYINT UNSIGNED", Nullable: true},
		{ID: 17, Name: "tz", Type: "TIMESTAMP", Nullable: true},
		{ID: 18, Name: "r", Type: "FLOAT", Nullable: true},
		{ID: 19, Name: "sm", Type: "SMALLINT", Nullable: true},
	}, NextColumnID: 20}
}

var zone = time.FixedZone("X", 5*3600+1800)

// genA returns a random row of ta with key id: what is applied (varied Go
// types) and what must come back (the normalized values).
func genA(r *rand.Rand, id int64) (in, want []any) {
	in, want = make([]any, 7), make([]any, 7)
	in[0], want[0] = []any{id, int(id), uint16(id)}[r.IntN(3)], id
	null := func() bool { return r.IntN(6) == 0 }
	if !null() {
		v := int32(r.IntN(2000) - 1000)
		in[1], want[1] = []any{int(v), v, int64(v)}[r.IntN(3)], v
	}
	if !null() {
		v := []string{"", "apple", "pear", "zero\x00byte", "ünï"}[r.IntN(5)]
		in[2], want[2] = []any{v, []byte(v)}[r.IntN(2)], v
	}
	if !null() {
		cents := r.Int64N(2_000_000) - 1_000_000
		want[3] = decimal128.FromI64(cents)
		switch r.IntN(3) {
		case 0:
			sign := ""
			if cents < 0 {
				sign = "-"
			}
			a := max(cents, -cents)
			in[3] = fmt.Sprintf("%s%d.%02d", sign, a/100, a%100)
		case 1:
			in[3] = decimal128.FromI64(cents)
		default:
			units := cents / 100
			in[3], want[3] = units, decimal128.FromI64(units*100)
		}
	}
	if !null() {
		us := r.Int64N(4e15) - 1e15
		want[4] = arrow.Timestamp(us)
		if r.IntN(2) == 0 {
			in[4] = arrow.Timestamp(us)
		} else {
			t := time.UnixMicro(us).UTC()
			in[4] = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), zone)
		}
	}
	if !null() {
		v := []byte(fmt.Sprintf("b%d", r.IntN(1000)))
		want[5] = append([]byte{}, v...)
		in[5] = []any{v, string(v)}[r.IntN(2)]
	}
	if !null() {
		if r.IntN(2) == 0 {
			v := r.Float64()*1000 - 500
			in[6], want[6] = v, v
		} else {
			v := r.IntN(100)
			in[6], want[6] = v, float64(v)
		}
	}
	return in, want
}

func genB(r *rand.Rand, k string, n int32) (in, want []any) {
	in, want = make([]any, 10), make([]any, 10)
	in[0], want[0] = k, k
	in[1], want[1] = int(n), n
	null := func() bool { return r.IntN(6) == 0 }
	if !null() {
		u := r.Int64N(1e12) - 5e11
		want[2] = decimal256.FromI64(u)
		if r.IntN(2) == 0 {
			sign := ""
			if u < 0 {
				sign = "-"
			}
			a := max(u, -u)
			in[2] = fmt.Sprintf("%s%d.%05d", sign, a/100000, a%100000)
		} else {
			in[2] = decimal256.FromI64(u)
		}
	}
	if !null() {
		d := int32(r.IntN(40000) - 10000)
		want[3] = arrow.Date32(d)
		if r.IntN(2) == 0 {
			in[3] = arrow.Date32(d)
		} else {
			in[3] = time.Unix(int64(d)*86400+int64(r.IntN(86400)), 0).UTC()
		}
	}
	if !null() {
		us := r.Int64N(2*838*3600e6) - 838*3600e6
		want[4] = arrow.Duration(us)
		in[4] = []any{arrow.Duration(us), time.Duration(us) * time.Microsecond}[r.IntN(2)]
	}
	if !null() {
		v := r.IntN(2) == 0
		in[5], want[5] = v, v
	}
	if !null() {
		v := uint8(r.IntN(256))
		in[6], want[6] = []any{v, int(v), uint64(v)}[r.IntN(3)], v
	}
	if !null() {
		us := r.Int64N(4e15)
		want[7] = arrow.Timestamp(us)
		in[7] = []any{arrow.Timestamp(us), time.UnixMicro(us).In(zone)}[r.IntN(2)]
	}
	if !null() {
		v := float32(r.IntN(1000)) / 4
		in[8], want[8] = []any{v, float64(v)}[r.IntN(2)], v
	}
	if !null() {
		v := int16(r.IntN(60000) - 30000)
		in[9], want[9] = []any{v, int(v)}[r.IntN(2)], v
	}
	return in, want
}

// arrowValue returns element i of arr as the Go value memtable stores, or
// nil for NULL.
func arrowValue(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Int8:
		return a.Value(i)
	case *array.Int16:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Uint8:
		return a.Value(i)
	case *array.Uint16:
		return a.Value(i)
	case *array.Uint32:
		return a.Value(i)
	case *array.Uint64:
		return a.Value(i)
	case *array.Float32:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Decimal128:
		return a.Value(i)
	case *array.Decimal256:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return append([]byte{}, a.Value(i)...)
	case *array.Date32:
		return a.Value(i)
	case *array.Timestamp:
		return a.Value(i)
	case *array.Duration:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	}
	panic(fmt.Sprintf("unexpected array %T", arr))
}

// fmtVals spells values with their types, so that an int32 never equals an
// int64 and a NULL never equals a zero.
func fmtVals(vals []any) string {
	var b strings.Builder
	for _, v := range vals {
		if v == nil {
			b.WriteString("NULL|")
			continue
		}
		fmt.Fprintf(&b, "%T:%v|", v, v)
	}
	return b.String()
}

func project(row []any, idx []int) []any {
	out := make([]any, len(idx))
	for i, j := range idx {
		out[i] = row[j]
	}
	return out
}

// recordRows returns the rows of rec, spelled by fmtVals.
func recordRows(rec arrow.Record) []string {
	var out []string
	for i := range int(rec.NumRows()) {
		vals := make([]any, rec.NumCols())
		for c := range vals {
			vals[c] = arrowValue(rec.Column(c), i)
		}
		out = append(out, fmtVals(vals))
	}
	return out
}

// readAll drains a source's records, checking the Arrow schema.
func readAll(t *testing.T, src scan.Source, schema *base.Schema, columns []int, alloc memory.Allocator) []string {
	t.Helper()
	it, err := src.Records(context.Background(), columns, alloc)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	want, err := parquetio.ArrowSchema(schema, columns)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for it.Next() {
		rec := it.Record()
		if !rec.Schema().Equal(want) {
			t.Fatalf("schema %v, want %v", rec.Schema(), want)
		}
		out = append(out, recordRows(rec)...)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustEncoder(t testing.TB, s *base.Schema, cols ...int) *parquetio.KeyEncoder {
	t.Helper()
	e, err := parquetio.NewKeyEncoder(s, cols)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustKey(t testing.TB, e *parquetio.KeyEncoder, vals ...any) parquetio.Key {
	t.Helper()
	k, err := e.Encode(vals...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func fmtEntry(e Entry) string {
	kind := "row"
	if e.Deleted {
		kind = "deleted"
	}
	return fmt.Sprintf("seq %d %s %v", e.Seq, kind, e.Locations)
}

func mustIndexEncoder(t testing.TB, s *base.Schema, cols ...int) *parquetio.IndexKeyEncoder {
	t.Helper()
	e, err := parquetio.NewIndexKeyEncoder(s, cols)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustIndexKey(t testing.TB, e *parquetio.IndexKeyEncoder, vals ...any) parquetio.Key {
	t.Helper()
	k, err := e.Encode(vals...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
