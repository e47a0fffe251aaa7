package txn

import (
	"testing"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/store/s3/s3test"
)

func init() {
	extraBackends = append(extraBackends, backend{"minio", func(t testing.TB) (store.Store, string) {
		return s3test.NewStore(t)
	}})
	openBackendURI = func(backend, uri string) (store.Store, error) {
		if backend == "local" {
			return local.Open(uri)
		}
		return s3test.Open(uri)
	}
}
