package faultstore_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/faultstore"
	"github.com/lakesql/lakesql/store/mem"
)

// A commit's log entry lands, but the store crashes before the writer hears
// back. After recovery the entry is there.
func Example() {
	ctx := context.Background()
	fs := faultstore.New(mem.New(), faultstore.Options{
		Rules: []faultstore.Rule{{
			Ops:    faultstore.OpPut,
			Prefix: "_log/",
			After:  1, // let the first commit through
			Times:  1,
			Fault:  faultstore.Fault{LostResponse: true, Crash: true},
		}},
	})
	for _, name := range []string{"_log/1", "_log/2", "_log/3"} {
		_, err := store.PutBytes(ctx, fs, name, []byte("commit"), store.IfAbsent())
		fmt.Printf("put %s: crashed=%v err=%v\n", name, errors.Is(err, faultstore.ErrCrashed), err)
	}
	fs.Recover()
	for info, err := range fs.List(ctx, "_log/", "") {
		if err != nil {
			panic(err)
		}
		fmt.Println("found", info.Name)
	}
	fmt.Println("crashes:", fs.Stats().Crashes)
	// Output:
	// put _log/1: crashed=false err=<nil>
	// put _log/2: crashed=true err=Put _log/2: faultstore: store crashed
	// put _log/3: crashed=true err=Put _log/3: faultstore: store crashed
	// found _log/1
	// found _log/2
	// crashes: 1
}
