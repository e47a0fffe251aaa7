package planner

import (
	"context"
	"testing"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"
)

const benchRows = 1 << 20

// benchTable returns a context and two engines, GMS alone and GMS with the
// rules, over one memory table t (g TINYINT, v BIGINT, d DECIMAL(15,2)) of
// benchRows rows in 10 groups.
func benchTable(b *testing.B) (*sql.Context, map[string]*sqle.Engine) {
	b.Helper()
	db := memory.NewDatabase("db")
	pro := memory.NewDBProvider(db)
	ctx := sql.NewContext(context.Background(), sql.WithSession(memory.NewSession(sql.NewBaseSession(), pro)))
	ctx.SetCurrentDatabase("db")
	tbl := memory.NewTable(db, "t", sql.NewPrimaryKeySchema(sql.Schema{
		{Name: "g", Type: types.Int8, Source: "t", Nullable: true},
		{Name: "v", Type: types.Int64, Source: "t", Nullable: true},
		{Name: "d", Type: types.MustCreateColumnDecimalType(15, 2), Source: "t", Nullable: true},
	}), db.GetForeignKeyCollection())
	db.AddTable("t", tbl)
	ins := tbl.Inserter(ctx)
	for i := range benchRows {
		// Values below 2^53: both paths are right, only the time differs.
		v := int64(i)*7919 - benchRows*3000
		row := sql.Row{int8(i % 10), v, decimal.New(v%100000000, -2)}
		if err := ins.Insert(ctx, row); err != nil {
			b.Fatal(err)
		}
	}
	if err := ins.Close(ctx); err != nil {
		b.Fatal(err)
	}
	engines := map[string]*sqle.Engine{
		"gms":   sqle.New(analyzer.NewBuilder(pro).Build(), nil),
		"exact": sqle.New(Register(analyzer.NewBuilder(pro)).Build(), nil),
	}
	b.Cleanup(func() {
		for _, e := range engines {
			_ = e.Close()
		}
	})
	return ctx, engines
}

// BenchmarkSum runs aggregates over benchRows rows through the engine, with
// GMS's float64 aggregates and with the exact ones, and reports ns/row.
func BenchmarkSum(b *testing.B) {
	ctx, engines := benchTable(b)
	for _, q := range []struct{ name, query string }{
		// The floor: the scan and the GroupBy without a sum.
		{"count-bigint", "SELECT COUNT(v) FROM t"},
		{"sum-bigint", "SELECT SUM(v) FROM t"},
		{"avg-bigint", "SELECT AVG(v) FROM t"},
		{"sum-bigint-group-by", "SELECT g, SUM(v) FROM t GROUP BY g"},
		{"sum-decimal", "SELECT SUM(d) FROM t"},
	} {
		for _, name := range []string{"gms", "exact"} {
			b.Run(q.name+"/"+name, func(b *testing.B) {
				eng := engines[name]
				start := time.Now()
				for b.Loop() {
					_, iter, _, err := eng.Query(ctx, q.query)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := sql.RowIterToRows(ctx, iter); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*benchRows), "ns/row")
			})
		}
	}
}

// BenchmarkSumBuffer measures the aggregation buffers alone: GMS's Sum and
// the exact one over prebuilt BIGINT and DECIMAL rows.
func BenchmarkSumBuffer(b *testing.B) {
	const n = 1 << 16
	ints, decs := make([]sql.Row, n), make([]sql.Row, n)
	for i := range n {
		v := int64(i)*7919 - n*3000
		ints[i] = sql.Row{v}
		decs[i] = sql.Row{decimal.New(v, -2)}
	}
	for _, arg := range []struct {
		name string
		typ  sql.Type
		rows []sql.Row
	}{
		{"bigint", types.Int64, ints},
		{"decimal", types.MustCreateColumnDecimalType(15, 2), decs},
	} {
		gms := aggregation.NewSum(expression.NewGetField(0, arg.typ, "x", true)).WithId(1).(sql.Aggregation)
		exact, ok := newExactAgg(gms)
		if !ok {
			b.Fatal("not exact")
		}
		for _, agg := range []struct {
			name string
			agg  sql.Aggregation
		}{{"gms", gms}, {"exact", exact}} {
			b.Run(arg.name+"/"+agg.name, func(b *testing.B) {
				ctx := sql.NewEmptyContext()
				b.ReportAllocs()
				start := time.Now()
				for b.Loop() {
					buf, err := agg.agg.NewBuffer()
					if err != nil {
						b.Fatal(err)
					}
					for _, row := range arg.rows {
						if err := buf.Update(ctx, row); err != nil {
							b.Fatal(err)
						}
					}
					if _, err := buf.Eval(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*n), "ns/row")
			})
		}
	}
}
