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
	b.Helper()
	schema := arrow.NewSchema(fields, nil)
	bld := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer bld.Release()
	r := rand.New(rand.NewPCG(1, 2))
	for range benchRows {
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

	for _, c := range []struct {
		name string
		rec  arrow.Record
		keys []int
		aggs []Aggregate
	}{
		{"global/SUM(int64),COUNT(*)", numbers, nil, []Aggregate{{Func: Sum, Col: 1}, {Func: CountStar}}},
		{"global/COUNT(DISTINCT int32)", numbers, nil, []Aggregate{{Func: CountDistinct, Col: 3}}},
		{"int32_1000_groups/COUNT(*),SUM(int64),AVG(float64)", numbers, []int{0},
			[]Aggregate{{Func: CountStar}, {Func: Sum, Col: 1}, {Func: Avg, Col: 2}}},
		{"string_1M_groups/COUNT(*)", strs, []int{0}, []Aggregate{{Func: CountStar}}},
		{"dictionary_1000_groups/COUNT(*)", strs, []int{1}, []Aggregate{{Func: CountStar}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				h, err := NewHashAggregate(c.rec.Schema(), c.keys, c.aggs)
				if err != nil {
					b.Fatal(err)
				}
				if err := h.Add(c.rec); err != nil {
					b.Fatal(err)
				}
				if len(h.Results()) == 0 {
					b.Fatal("no groups")
				}
			}
			reportRows(b, benchRows)
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
