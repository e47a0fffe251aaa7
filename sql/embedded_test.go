package sql_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	lsql "github.com/lakesql/lakesql/sql"
	"github.com/lakesql/lakesql/store/mem"
)

func TestEmbedded(t *testing.T) {
	ctx := context.Background()
	e := lsql.NewEmbedded(lsql.Config{Store: mem.New(), Logger: slog.New(slog.DiscardHandler)})
	defer e.Close(ctx)
	c := e.Connect("root", "")
	defer c.Close()
	for _, q := range []string{"CREATE DATABASE d", "USE d", "CREATE TABLE t (a INT PRIMARY KEY, b VARCHAR(10), c DECIMAL(5,2))"} {
		if _, err := c.Query(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	res, err := c.Query(ctx, "INSERT INTO t VALUES (1, 'x', 1.5), (2, NULL, 2)")
	if err != nil || res.RowsAffected != 2 {
		t.Fatalf("insert: %v, %+v", err, res)
	}
	res, err = c.Query(ctx, "SELECT a, b, c FROM t ORDER BY a")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Rows); got != "[[1 x 1.50] [2 <nil> 2.00]]" {
		t.Fatalf("rows %s", got)
	}
	if k := string([]byte{res.Columns[0].Kind, res.Columns[1].Kind, res.Columns[2].Kind}); k != "ITR" {
		t.Fatalf("kinds %q (%+v)", k, res.Columns)
	}
	_, err = c.Query(ctx, "INSERT INTO t VALUES (1, 'y', 0)")
	if code := lsql.ErrorCode(err); code != 1062 {
		t.Fatalf("duplicate: %v (code %d), want 1062", err, code)
	}
	_, err = c.Query(ctx, "SELECT * FROM nope")
	if code := lsql.ErrorCode(err); code != 1146 {
		t.Fatalf("unknown table: %v (code %d), want 1146", err, code)
	}
}
