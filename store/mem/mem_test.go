package mem_test

import (
	"testing"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/mem"
	"github.com/lakesql/lakesql/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return mem.New() })
}

func BenchmarkMem(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return mem.New() })
}
