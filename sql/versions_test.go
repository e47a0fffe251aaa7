package sql_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lakesql/lakesql/memwal"
	"github.com/lakesql/lakesql/mergeplan"
	lsql "github.com/lakesql/lakesql/sql"
	"github.com/lakesql/lakesql/store"
	"github.com/lakesql/lakesql/store/local"
	"github.com/lakesql/lakesql/store/mem"
)

// storageModes are the configurations answers must not depend on: the
// default, and MemTables of a few bytes with a flush (and every third
// statement a merge) after every write statement.
var storageModes = []struct {
	name string
	cfg  func(*lsql.Config)
}{
	{"default", nil},
	{"flush-every-statement", func(c *lsql.Config) {
		c.Writer.FlushBytes = 1
		n := 0
		c.AfterStatement = func(ctx context.Context, w *memwal.Branch) error {
			n++
			if err := w.Flush(ctx); err != nil {
				return err
			}
			if n%3 == 0 {
				_, err := w.Compact(ctx, "", mergeOpts)
				return err
			}
			return nil
		}
	}},
}

// TestAsOf: every AS OF form, before and after flushes, merges,
// checkpoints and a restart, with the same answers in every storage mode.
func TestAsOf(t *testing.T) {
	for _, mode := range storageModes {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := local.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			s := startServer(t, serverOpts{store: st, cfg: mode.cfg})
			c := conn(t, s.db(""))
			mustExec(t, c, "CREATE DATABASE d")
			mustExec(t, c, "USE d")
			mustExec(t, c, "CREATE TABLE t (k INT PRIMARY KEY, v VARCHAR(10))") // v1
			mustExec(t, c, "INSERT INTO t VALUES (1, 'a'), (2, 'b')")
			expectRows(t, c, "CALL lakesql_commit('two rows')", "2")
			mustExec(t, c, "UPDATE t SET v = 'B' WHERE k = 2")
			mustExec(t, c, "INSERT INTO t VALUES (3, 'c')")
			expectRows(t, c, "CALL lakesql_tag('v3')", "3")
			time.Sleep(20 * time.Millisecond)
			between := time.Now().UTC()
			time.Sleep(20 * time.Millisecond)
			mustExec(t, c, "DELETE FROM t WHERE k = 1")
			expectRows(t, c, "CALL lakesql_branch('dev')", "4")
			mustExec(t, c, "USE `d/dev`")
			mustExec(t, c, "INSERT INTO t VALUES (10, 'dev')")
			expectRows(t, c, "CALL lakesql_commit()", "5")
			mustExec(t, c, "INSERT INTO t VALUES (11, 'pending')")
			mustExec(t, c, "USE d")
			mustExec(t, c, "INSERT INTO t VALUES (4, 'live')")

			check := func(c execer) {
				t.Helper()
				expectRows(t, c, "SELECT k, v FROM t ORDER BY k", "2 B", "3 c", "4 live")
				expectRows(t, c, "SELECT k, v FROM t AS OF 1 ORDER BY k")
				expectRows(t, c, "SELECT k, v FROM t AS OF 2 ORDER BY k", "1 a", "2 b")
				expectRows(t, c, "SELECT k, v FROM t AS OF '2' ORDER BY k", "1 a", "2 b")
				expectRows(t, c, "SELECT k, v FROM t AS OF 'v3' ORDER BY k", "1 a", "2 B", "3 c")
				expectRows(t, c, "SELECT k, v FROM t AS OF 'main' ORDER BY k", "2 B", "3 c")
				expectRows(t, c, "SELECT k, v FROM t AS OF 'main@3' ORDER BY k", "1 a", "2 B", "3 c")
				expectRows(t, c, "SELECT k, v FROM t AS OF 'dev' ORDER BY k", "2 B", "3 c", "10 dev")
				expectRows(t, c, "SELECT k, v FROM t AS OF 'dev@4' ORDER BY k", "2 B", "3 c")
				expectRows(t, c, fmt.Sprintf("SELECT k, v FROM t AS OF TIMESTAMP('%s') ORDER BY k", between.Format("2006-01-02 15:04:05.000000")), "1 a", "2 B", "3 c")
				expectRows(t, c, fmt.Sprintf("SELECT k, v FROM t AS OF '%s' ORDER BY k", between.Local().Format("2006-01-02 15:04:05.000000")), "1 a", "2 B", "3 c")
				expectRows(t, c, "SELECT a.k, a.v, b.v FROM t AS OF 2 a JOIN t AS OF 'dev' b ON a.k = b.k ORDER BY a.k", "2 b B")
				expectRows(t, c, "SELECT COUNT(*) FROM t AS OF 'v3'", "3")
				expectRows(t, c, "SHOW TABLES AS OF 1", "t")
				expectRows(t, c, "SELECT * FROM `d/dev`.t ORDER BY k", "2 B", "3 c", "10 dev", "11 pending")
			}
			check(c)
			// A fresh session, after a flush, a merge and a checkpoint.
			c2 := conn(t, s.db("d"))
			query(t, c2, "CALL lakesql_flush()")
			query(t, c2, "CALL lakesql_compact()")
			query(t, c2, "CALL lakesql_checkpoint()")
			check(c2)
			// A restart on the same data.
			s.stop()
			s.stop = func() {}
			st2, err := local.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			s2 := startServer(t, serverOpts{store: st2, cfg: mode.cfg})
			check(conn(t, s2.db("d")))
		})
	}
}

var (
	_         store.Store = mem.New()
	mergeOpts             = mergeplan.MergeOptions{}
)
