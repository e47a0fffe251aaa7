package exec

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// benchRows is the number of rows of every benchmark record.
const benchRows = 1 << 20

// benchRecord returns a benchRows-row record of one column per builder
// function, each called once per row.
func benchRecord(b *testing.B, fields []arrow.Field, fill func(bld *array.RecordBuilder, r *rand.Rand)) arrow.Record {
	return benchRecordN(b, benchRows, fields, fill)
}

// benchRecordN is benchRecord with n rows.
func benchRecordN(b *testing.B, n int, fields []arrow.Field, fill func(bld *array.RecordBuilder, r *rand.Rand)) arrow.Record {
	b.Helper()
	schema := arrow.NewSchema(fields, nil)
	bld := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer bld.Release()
	r := rand.New(rand.NewPCG(1, 2))
	for range n {
		fill(bld, r)
	}
	return bld.NewRecordBatch()
}

// reportRows reports the benchmark's throughput in millions of input rows
// per second.
func reportRows(b *testing.B, rows int) {
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrows/s")
}

// randString returns a random string of n lowercase letters.
func randString(r *rand.Rand, n int) string {
	s := make([]byte, n)
	for i := range s {
		s[i] = byte('a' + r.IntN(26))
	}
	return string(s)
}

func BenchmarkHashAggregate(b *testing.B) {
	numbers := benchRecord(b, []arrow.Field{
		{Name: "k", Type: tInt32}, {Name: "v", Type: tInt64}, {Name: "f", Type: tFloat64}, {Name: "d", Type: tInt32},
	}, func(bld *array.RecordBuilder, r *rand.Rand) {
		bld.Field(0).(*array.Int32Builder).Append(int32(r.IntN(1000)))
		bld.Field(1).(*array.Int64Builder).Append(r.Int64N(1 << 40))
		bld.Field(2).(*array.Float64Builder).Append(r.Float64())
		bld.Field(3).(*array.Int32Builder).Append(int32(r.IntN(100000)))
	})
	defer numbers.Release()

	dictValues := make([]string, 1000)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range dictValues {
		dictValues[i] = randString(r, 10)
	}
	strs := benchRecord(b, []arrow.Field{
		{Name: "s", Type: tString}, {Name: "ds", Type: tDictStr},
	}, func(bld *array.RecordBuilder, r *rand.Rand) {
		bld.Field(0).(*array.StringBuilder).Append(randString(r, 10))
		if err := bld.Field(1).(*array.BinaryDictionaryBuilder).AppendString(dictValues[r.IntN(len(dictValues))]); err != nil {
			b.Fatal(err)
		}
	})
	defer strs.Release()

	// Like column s of the analytics benchmark's table: "s%07d" of one of a
	// million values, drawn uniformly, so that ~63 % of the rows are
	// distinct; beside it k, uniform in 0..999, and a dictionary column of
	// 1000 strings. filtered is the tenth of that table that WHERE k < 100
	// keeps: 100,000 rows, ~95,000 distinct.
	tableFields := []arrow.Field{{Name: "s", Type: tString}, {Name: "k", Type: tInt32}, {Name: "ds", Type: tDictStr}}
	tableFill := func(bld *array.RecordBuilder, r *rand.Rand) {
		bld.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("s%07d", r.IntN(1000000)))
		bld.Field(1).(*array.Int32Builder).Append(int32(r.IntN(1000)))
		if err := bld.Field(2).(*array.BinaryDictionaryBuilder).AppendString(dictValues[r.IntN(len(dictValues))]); err != nil {
			b.Fatal(err)
		}
	}
	table := benchRecord(b, tableFields, tableFill)
	defer table.Release()
	filtered := benchRecordN(b, 100000, tableFields, tableFill)
	defer filtered.Release()

	for _, c := range []struct {
		name string
		rec  arrow.Record
		keys []int
		aggs []Aggregate
		// parts, when above one, splits rec into that many slices, each
		// aggregated separately and then merged, as the planner does with
		// the partitions of a table.
		parts int
	}{
		{"global/SUM(int64),COUNT(*)", numbers, nil, []Aggregate{{Func: Sum, Col: 1}, {Func: CountStar}}, 1},
		{"global/COUNT(DISTINCT int32)", numbers, nil, []Aggregate{{Func: CountDistinct, Col: 3}}, 1},
		{"int32_1000_groups/COUNT(*),SUM(int64),AVG(float64)", numbers, []int{0},
			[]Aggregate{{Func: CountStar}, {Func: Sum, Col: 1}, {Func: Avg, Col: 2}}, 1},
		{"string_1M_groups/COUNT(*)", strs, []int{0}, []Aggregate{{Func: CountStar}}, 1},
		{"dictionary_1000_groups/COUNT(*)", strs, []int{1}, []Aggregate{{Func: CountStar}}, 1},
		{"global/COUNT(DISTINCT string_650k)", table, nil, []Aggregate{{Func: CountDistinct, Col: 0}}, 1},
		{"global/COUNT(DISTINCT string_650k)_2_parts", table, nil, []Aggregate{{Func: CountDistinct, Col: 0}}, 2},
		{"int32_1000_groups/COUNT(DISTINCT string_650k)", table, []int{1}, []Aggregate{{Func: CountDistinct, Col: 0}}, 1},
		{"int32_1000_groups/COUNT(DISTINCT dictionary)", table, []int{1}, []Aggregate{{Func: CountDistinct, Col: 2}}, 1},
		{"string_100k_rows_95k_groups/COUNT(*)", filtered, []int{0}, []Aggregate{{Func: CountStar}}, 1},
		{"string_650k_groups/COUNT(*)_2_parts", table, []int{0}, []Aggregate{{Func: CountStar}}, 2},
	} {
		parts := []arrow.Record{c.rec}
		if c.parts > 1 {
			parts = parts[:0]
			n := c.rec.NumRows()
			for i := range int64(c.parts) {
				p := c.rec.NewSlice(n*i/int64(c.parts), n*(i+1)/int64(c.parts))
				defer p.Release()
				parts = append(parts, p)
			}
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				var all *HashAggregate
				for _, p := range parts {
					h, err := NewHashAggregate(c.rec.Schema(), c.keys, c.aggs)
					if err != nil {
						b.Fatal(err)
					}
					if err := h.Add(p); err != nil {
						b.Fatal(err)
					}
					if all == nil {
						all = h
					} else if err := all.Merge(h); err != nil {
						b.Fatal(err)
					}
				}
				if len(all.Results()) == 0 {
					b.Fatal("no groups")
				}
			}
			reportRows(b, int(c.rec.NumRows()))
		})
	}
}

func BenchmarkTopN(b *testing.B) {
	rec := benchRecord(b, []arrow.Field{{Name: "f", Type: tFloat64}, {Name: "i", Type: tInt64}},
		func(bld *array.RecordBuilder, r *rand.Rand) {
			bld.Field(0).(*array.Float64Builder).Append(r.NormFloat64())
			bld.Field(1).(*array.Int64Builder).Append(r.Int64())
		})
	defer rec.Release()
	for _, limit := range []int64{10} {
		b.Run(fmt.Sprintf("float64_DESC_LIMIT_%d", limit), func(b *testing.B) {
			for b.Loop() {
				top, err := NewTopN(rec.Schema(), []SortKey{{Col: 0, Desc: true}}, limit, []int{0, 1})
				if err != nil {
					b.Fatal(err)
				}
				if err := top.Add(rec); err != nil {
					b.Fatal(err)
				}
				if len(top.Results()) != int(limit) {
					b.Fatal("short result")
				}
			}
			reportRows(b, benchRows)
		})
	}
}
