package parquetio

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lakesql/lakesql/internal/base"
)

// TestFilterOnSlices: a filter over a slice of a string array (offsets
// absolute, ValueBytes starting at the slice's first value) compares the
// slice's own values.
func TestFilterOnSlices(t *testing.T) {
	s := &base.Schema{Columns: []base.Column{{ID: 1, Name: "s", Type: "VARCHAR(10)", Nullable: true}}}
	f, err := CompileFilter(s, Eq(1, "pear"))
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewStringBuilder(memory.DefaultAllocator)
	b.AppendValues([]string{"apple", "fig", "pear", "plum", "pear"}, nil)
	full := b.NewArray()
	defer full.Release()
	for _, tc := range []struct {
		lo, hi int64
		want   []bool
	}{{0, 5, []bool{false, false, true, false, true}}, {2, 3, []bool{true}}, {3, 5, []bool{false, true}}, {1, 2, []bool{false}}} {
		arr := array.NewSlice(full, tc.lo, tc.hi)
		rec := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil), []arrow.Array{arr}, tc.hi-tc.lo)
		got, err := f.Mask(rec, []int{1})
		if err != nil {
			t.Fatal(err)
		}
		for i := range tc.want {
			if got[i] != tc.want[i] {
				t.Errorf("slice [%d, %d): mask %v, want %v", tc.lo, tc.hi, got, tc.want)
				break
			}
		}
		rec.Release()
		arr.Release()
	}
}
