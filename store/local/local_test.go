package local_test

import (
	"testing"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/store/storetest"
)

func TestMain(m *testing.M) {
	storetest.Main(m, func(uri string) (store.Store, error) { return local.Open(uri) })
}

func newStore(t testing.TB) store.Store {
	s, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
}

func TestProcessRace(t *testing.T) {
	storetest.RunProcessRace(t, t.TempDir())
}

func BenchmarkLocal(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return newStore(b) })
}
