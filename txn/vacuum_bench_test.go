package txn

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lakesql/lakesql/store"
)

// BenchmarkVacuum10kFiles vacuums a database holding 10,000 unreachable
// data files (written and never committed), on each backend.
func BenchmarkVacuum10kFiles(b *testing.B) {
	const files = 10000
	ctx := context.Background()
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			st, _ := be.open(b)
			setupTable(b, st)
			db, err := Open(ctx, st, "db", Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			for range b.N {
				b.StopTimer()
				writeFiles(b, st, files)
				time.Sleep(1100 * time.Millisecond) // older than the (forced) retention, by a second-granular clock
				b.StartTimer()
				start := time.Now()
				rep, err := db.Vacuum(ctx, VacuumOptions{Retention: time.Millisecond, Force: true})
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.Files) != files {
					b.Fatalf("vacuum deleted %d files, want %d", len(rep.Files), files)
				}
				b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/vacuum")
			}
		})
	}
}

func writeFiles(b *testing.B, st store.Store, n int) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := store.PutBytes(context.Background(), st, fmt.Sprintf("db/data/t1/orphan-%05d.parquet", i), []byte("x")); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
}
