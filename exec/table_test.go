package exec

import (
	"math"
	"math/big"
	"testing"
)

func TestInt128AddsExactly(t *testing.T) {
	big2 := func(v int128) string { return v.bigInt().String() }
	var a int128
	for range 3 {
		a.addInt64(math.MaxInt64)
	}
	if got, want := big2(a), "27670116110564327421"; got != want {
		t.Errorf("3 × MaxInt64 = %s, want %s", got, want)
	}
	a = int128{}
	a.addInt64(math.MinInt64)
	a.addInt64(math.MinInt64)
	a.addInt64(1)
	if got, want := big2(a), "-18446744073709551615"; got != want {
		t.Errorf("2 × MinInt64 + 1 = %s, want %s", got, want)
	}
	a = int128{}
	a.addUint64(math.MaxUint64)
	a.addUint64(math.MaxUint64)
	a.addInt64(-1)
	if got, want := big2(a), "36893488147419103229"; got != want {
		t.Errorf("2 × MaxUint64 - 1 = %s, want %s", got, want)
	}
	if a.isInt64() || !(int128{hi: -1, lo: math.MaxUint64}).isInt64() {
		t.Error("isInt64 is wrong")
	}
}

func TestInt128AddReportsOverflow(t *testing.T) {
	maxI := int128{hi: math.MaxInt64, lo: math.MaxUint64}
	minI := int128{hi: math.MinInt64}
	one, minusOne := int128{lo: 1}, int128{hi: -1, lo: math.MaxUint64}
	for _, c := range []struct {
		a, b     int128
		overflow bool
	}{
		{maxI, one, true},
		{minI, minusOne, true},
		{maxI, minusOne, false},
		{minI, one, false},
		{maxI, minI, false},
		{int128{lo: math.MaxUint64}, one, false},
	} {
		sum, overflow := c.a.add(c.b)
		if overflow != c.overflow {
			t.Errorf("%s + %s: overflow %t, want %t", c.a.bigInt(), c.b.bigInt(), overflow, c.overflow)
			continue
		}
		if want := new(big.Int).Add(c.a.bigInt(), c.b.bigInt()); !overflow && sum.bigInt().Cmp(want) != 0 {
			t.Errorf("%s + %s = %s, want %s", c.a.bigInt(), c.b.bigInt(), sum.bigInt(), want)
		}
	}
}

func TestU64TableHandsOutDenseIDs(t *testing.T) {
	tab := newU64Table()
	const n = 10000
	keys := func(i int) uint64 { return uint64(i) << 40 } // only high bits differ
	for i := range n {
		id, inserted := tab.lookupOrInsert(keys(i), uint32(i))
		if id != uint32(i) || !inserted {
			t.Fatalf("insert %d: id %d inserted %t", i, id, inserted)
		}
	}
	for i := range n {
		if id, inserted := tab.lookupOrInsert(keys(i), n); id != uint32(i) || inserted {
			t.Fatalf("lookup %d: id %d inserted %t", i, id, inserted)
		}
	}
}

func TestPairTableDistinguishesGroups(t *testing.T) {
	tab := newPairTable()
	// Every group sees the same values: each pair is new once.
	for round, want := range []bool{true, false} {
		for g := range uint32(100) {
			for v := range uint64(100) {
				if got := tab.insert(g, v<<32); got != want {
					t.Fatalf("round %d: insert(%d, %d) = %t, want %t", round, g, v<<32, got, want)
				}
			}
		}
	}
}
