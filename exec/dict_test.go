package exec

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A scan with dictionaries returns a string column as a dictionary array
// in the records of dictionary-encoded file chunks and plain in the others
// (PLAIN chunks, MemTable rows), against one declared schema. These tests
// feed the operators such mixtures.

// mixEncodings re-encodes, at random, the byte-string columns of recs
// (whose rows are rows): a plain column becomes a dictionary array (int32
// or int16 indexes, unused and NULL entries, NULL rows on both) and a
// dictionary column a plain one. Each record gets the schema of its
// columns; the caller's records are released.
func mixEncodings(r *rand.Rand, mem memory.Allocator, recs []arrow.Record, rows [][][]any) []arrow.Record {
	out := make([]arrow.Record, len(recs))
	for k, rec := range recs {
		n := int(rec.NumCols())
		arrs := make([]arrow.Array, n)
		fields := append([]arrow.Field(nil), rec.Schema().Fields()...)
		vals := rowsToCols(n, rows[k])
		for c, col := range rec.Columns() {
			vt := col.DataType()
			if dt, ok := vt.(*arrow.DictionaryType); ok {
				vt = dt.ValueType
			}
			ct, _ := classify(vt)
			switch {
			case !ct.kind.isBytes() || r.IntN(2) == 0:
				col.Retain()
				arrs[c] = col
			case col.DataType().ID() == arrow.DICTIONARY:
				arrs[c] = buildArray(mem, vt, vals[c])
			default:
				it := []arrow.DataType{arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int16}[r.IntN(2)]
				arrs[c] = randDict(r, mem, &arrow.DictionaryType{IndexType: it, ValueType: vt}, vals[c])
			}
			fields[c].Type = arrs[c].DataType()
		}
		out[k] = array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, rec.NumRows())
		for _, a := range arrs {
			a.Release()
		}
		rec.Release()
	}
	return out
}

// stringRecords builds the records of TestOperatorsTakeMixedEncodings:
// column 0 a string in the encoding given per record, column 1 an int64.
// A dictionary record's dictionary has an unused entry and a NULL entry
// that some NULL rows use; other NULL rows have a NULL index.
func stringRecords(mem memory.Allocator, dicts []bool, strs [][]any, nums [][]any) []arrow.Record {
	recs := make([]arrow.Record, len(strs))
	for i := range strs {
		var s arrow.Array
		if dicts[i] {
			dict := []any{"unused", nil}
			pos := map[string]int{}
			idx := make([]any, len(strs[i]))
			for j, v := range strs[i] {
				switch {
				case v != nil:
					k, ok := pos[v.(string)]
					if !ok {
						k = len(dict)
						pos[v.(string)] = k
						dict = append(dict, v)
					}
					idx[j] = k
				case j%2 == 0:
					idx[j] = 1 // the NULL entry
				}
			}
			s = buildDict(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: tString}, dict, idx)
		} else {
			s = buildArray(mem, tString, strs[i])
		}
		v := buildArray(mem, tInt64, nums[i])
		fields := []arrow.Field{{Name: "c0", Type: s.DataType(), Nullable: true}, {Name: "c1", Type: tInt64, Nullable: true}}
		recs[i] = array.NewRecordBatch(arrow.NewSchema(fields, nil), []arrow.Array{s, v}, int64(s.Len()))
		s.Release()
		v.Release()
	}
	return recs
}

// TestOperatorsTakeMixedEncodings: a HashAggregate and a TopN over a
// declared String column take records where it is a dictionary array
// and records where it is plain, with NULL rows, NULL entries and NULL
// indexes, as if every record were plain; and over a declared dictionary
// column, plain records.
func TestOperatorsTakeMixedEncodings(t *testing.T) {
	mem := newAllocator(t)
	strs := [][]any{
		{"b", "a", nil, "b", "c"},
		{"a", nil, "c", nil, "a", "d"},
		{"d", "b", nil},
		{"", "a"},
	}
	nums := [][]any{
		{int64(1), int64(2), int64(3), int64(4), int64(5)},
		{int64(6), int64(7), int64(8), int64(9), int64(10), int64(11)},
		{int64(12), int64(13), int64(14)},
		{int64(15), int64(16)},
	}
	aggs := []Aggregate{{Func: CountStar}, {Func: Count}, {Func: CountDistinct}, {Func: Min}, {Func: Max}}
	// GROUP BY s, and the same aggregates without keys.
	wantGroups := [][]any{
		{"a", int64(4), int64(4), int64(1), "a", "a"},
		{"b", int64(3), int64(3), int64(1), "b", "b"},
		{"c", int64(2), int64(2), int64(1), "c", "c"},
		{"d", int64(2), int64(2), int64(1), "d", "d"},
		{"", int64(1), int64(1), int64(1), "", ""},
		{nil, int64(4), int64(0), int64(0), nil, nil},
	}
	wantGlobal := [][]any{{int64(16), int64(12), int64(5), "", "d"}}
	// COUNT(DISTINCT s) GROUP BY c1 % 2 (a third column).
	wantParity := [][]any{
		{int64(0), int64(4)}, // a, b, c, d
		{int64(1), int64(4)}, // b, c, d, ""
	}
	wantTop := [][]any{{"d", int64(11)}, {"d", int64(12)}, {"c", int64(5)}, {"c", int64(8)}, {"b", int64(1)}}
	wantBottom := [][]any{{nil, int64(3)}, {nil, int64(7)}, {nil, int64(9)}, {nil, int64(14)}, {"", int64(15)}, {"a", int64(2)}}
	for _, declared := range []arrow.DataType{tString, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: tString}} {
		schema := schemaOf(declared, tInt64)
		for _, dicts := range [][]bool{{true, false, true, false}, {false, true, false, true}, {true, true, true, true}, {false, false, false, false}} {
			recs := stringRecords(mem, dicts, strs, nums)
			h := must(NewHashAggregate(schema, []int{0}, aggs))
			g := must(NewHashAggregate(schema, nil, aggs))
			top := must(NewTopN(schema, []SortKey{{Col: 0, Desc: true}, {Col: 1}}, 5, []int{0, 1}))
			bottom := must(NewTopN(schema, []SortKey{{Col: 0}, {Col: 1}}, 6, []int{0, 1}))
			// Partials over halves of the records, merged.
			h2 := must(NewHashAggregate(schema, []int{0}, aggs))
			for i, rec := range recs {
				dst := h
				if i >= 2 {
					dst = h2
				}
				for _, err := range []error{dst.Add(rec), g.Add(rec), top.Add(rec), bottom.Add(rec)} {
					if err != nil {
						t.Fatalf("declared %s, dictionaries %v: %v", declared, dicts, err)
					}
				}
			}
			if err := h.Merge(h2); err != nil {
				t.Fatal(err)
			}
			assertSameRows(t, h.Results(), wantGroups)
			assertSameRows(t, g.Results(), wantGlobal)
			assertRowsInOrder(t, top.Results(), wantTop)
			assertRowsInOrder(t, bottom.Results(), wantBottom)
			par := must(NewHashAggregate(schemaOf(declared, tInt64, tInt64), []int{2}, []Aggregate{{Func: CountDistinct, Col: 0}}))
			for _, rec := range recs {
				pb := array.NewInt64Builder(mem)
				for _, v := range rec.Column(1).(*array.Int64).Int64Values() {
					pb.Append(v % 2)
				}
				p := pb.NewArray()
				pb.Release()
				fields := append(rec.Schema().Fields(), arrow.Field{Name: "c2", Type: tInt64})
				withPar := array.NewRecordBatch(arrow.NewSchema(fields, nil), []arrow.Array{rec.Column(0), rec.Column(1), p}, rec.NumRows())
				p.Release()
				if err := par.Add(withPar); err != nil {
					t.Fatal(err)
				}
				withPar.Release()
			}
			assertSameRows(t, par.Results(), wantParity)
			for _, rec := range recs {
				rec.Release()
			}
		}
	}
}

// TestHashAggregateRejectsOtherBytes: a record whose column holds other
// values than the declared ones is refused, dictionary or not.
func TestHashAggregateRejectsOtherBytes(t *testing.T) {
	h := must(NewHashAggregate(schemaOf(tString), []int{0}, []Aggregate{{Func: CountStar}}))
	mem := newAllocator(t)
	for _, typ := range []arrow.DataType{tBinary, tDictBin, tInt32} {
		schema := schemaOf(typ)
		rec := buildRecord(mem, schema, make([]any, 1))
		if err := h.Add(rec); err == nil {
			t.Errorf("Add accepted a record of %s for a String column", typ)
		}
		rec.Release()
	}
}
