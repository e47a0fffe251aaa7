package sql

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/lakesql/lakesql/store/mem"
)

// BenchmarkFastPointSelect: the server's point-select fast path alone (no
// network, no vitess), a prepared lookup by primary key in a 100,000-row
// table in files: the CPU a lookup costs the server besides the protocol.
func BenchmarkFastPointSelect(b *testing.B) {
	ctx := context.Background()
	e := NewEmbedded(Config{Store: mem.New(), Logger: slog.New(slog.DiscardHandler)})
	defer e.Close(ctx)
	c := e.Connect("root", "")
	run := func(q string) {
		if _, err := c.Query(ctx, q); err != nil {
			b.Fatalf("%s: %v", q[:min(len(q), 60)], err)
		}
	}
	run("CREATE DATABASE d")
	run("USE d")
	run("CREATE TABLE t (id BIGINT PRIMARY KEY, k INT, v DOUBLE, s VARCHAR(32))")
	const n = 100_000
	for i := 0; i < n; i += 1000 {
		var sb strings.Builder
		sb.WriteString("INSERT INTO t VALUES ")
		for j := i; j < i+1000; j++ {
			if j > i {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "(%d, %d, %d.5, 'value-%d')", j, j%100, j, j)
		}
		run(sb.String())
	}
	run("CALL lakesql_flush()")
	const id = 4242
	e.p.sessions.put(id, c.s)
	h := &recoverHandler{p: e.p, sessions: &e.p.sessions}
	conn := &mysql.Conn{ConnectionID: id}
	b.ResetTimer()
	for b.Loop() {
		bind := map[string]*querypb.BindVariable{"v1": sqltypes.Int64BindVariable(rand.Int64N(n))}
		res, ok, err := h.fastPointSelect(ctx, conn, "SELECT * FROM t WHERE id = ?", bind)
		if !ok || err != nil || len(res.Rows) != 1 {
			b.Fatalf("fast path: %v %v %v", ok, err, res)
		}
	}
}
