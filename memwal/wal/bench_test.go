package wal

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/store/mem"
)

// BenchmarkAppend measures Append throughput of 1 KiB records with 1, 8
// and 64 concurrent appenders, on mem and local stores. It reports records/s
// and segments/s; b.N is the number of records.
func BenchmarkAppend(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"mem", func(*testing.B) store.Store { return mem.New() }},
		{"local", func(b *testing.B) store.Store {
			st, err := local.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	}
	row := make([]byte, 1024)
	for i := range row {
		row[i] = byte(i * 7)
	}
	for _, s := range stores {
		for _, appenders := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/appenders=%d", s.name, appenders), func(b *testing.B) {
				st := s.open(b)
				defer st.Close()
				w := mustWriter(b, st, 1, Options{})
				var next atomic.Int64
				var wg sync.WaitGroup
				b.SetBytes(int64(len(row)))
				b.ResetTimer()
				for g := range appenders {
					wg.Go(func() {
						key := make([]byte, 8)
						for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
							key[0], key[1] = byte(g), byte(i)
							changes := []Change{{Kind: ChangePut, TableID: "t", SchemaID: 1, Key: key, Row: row}}
							if _, err := w.Append(context.Background(), changes); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				mustClose(b, w)
				m := w.Metrics()
				secs := b.Elapsed().Seconds()
				b.ReportMetric(float64(m.Records)/secs, "records/s")
				b.ReportMetric(float64(m.Segments)/secs, "segments/s")
				b.ReportMetric(m.AvgBatch(), "records/segment")
			})
		}
	}
}
