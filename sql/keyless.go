package sql

import (
	"sync"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"

	"github.com/lakesql/lakesql/internal/parquetio"
)

// UPDATE and DELETE of tables without a primary key. Such a table has a
// hidden row id as its key, but go-mysql-server hands the editor only the
// visible values of the row to change. trackKeyless gives the table node
// of a single-table UPDATE or DELETE a tracker that the statement's scan
// and editor share: the scan records every row it returns with its hidden
// id, and the editor takes the id of the row it is handed from the rows
// returned since the last one it took. In a streaming plan (scan, filter,
// update) that row is among the last few returned; a plan that reorders
// rows (ORDER BY ... LIMIT) falls back to matching by value over a map
// of every live row, as do index lookups. Rows equal in every column are
// indistinguishable, so any one of them not yet changed is the row.

// keylessScans counts the full reads of a keyless table into a map by row
// value that UPDATE and DELETE fall back to (tests check that streaming
// statements do without).
var keylessScans atomic.Int64

// trackWindow bounds the rows a tracker keeps and searches: further back
// rows were filtered out, or a reordering plan holds them (the fallback
// finds them).
const trackWindow = 1024

// keylessTrack holds the rows a tracked scan returned and the editor has
// not taken yet, with their hidden ids, and the ids the statement took.
type keylessTrack struct {
	mu   sync.Mutex
	rows []sql.Row
	keys []parquetio.Key
	used map[parquetio.Key]bool
}

// add records a returned row.
func (k *keylessTrack) add(row sql.Row, key parquetio.Key) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.rows) == trackWindow {
		k.rows, k.keys = k.rows[1:], k.keys[1:]
	}
	k.rows = append(k.rows, row)
	k.keys = append(k.keys, key)
}

// take returns the id of the newest recorded row equal to row not taken
// yet (in a streaming plan, the row just returned), dropping it and the
// rows recorded before it (filtered out).
func (k *keylessTrack) take(row sql.Row) (parquetio.Key, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	sig := rowSignature(row)
	for i := len(k.rows) - 1; i >= 0; i-- {
		if k.used[k.keys[i]] || rowSignature(k.rows[i]) != sig {
			continue
		}
		key := k.keys[i]
		k.markLocked(key)
		k.rows, k.keys = k.rows[i+1:], k.keys[i+1:]
		return key, true
	}
	return "", false
}

// taken reports whether the statement took key already.
func (k *keylessTrack) taken(key parquetio.Key) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.used[key]
}

// mark records that the statement took key (through the fallback).
func (k *keylessTrack) mark(key parquetio.Key) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.markLocked(key)
}

func (k *keylessTrack) markLocked(key parquetio.Key) {
	if k.used == nil {
		k.used = map[parquetio.Key]bool{}
	}
	k.used[key] = true
}

// reset forgets everything: a statement (re)starts.
func (k *keylessTrack) reset() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rows, k.keys, k.used = nil, nil, nil
}

// trackIter returns a scan's rows, recording each with its hidden id.
type trackIter struct {
	it    *rowIter
	track *keylessTrack
}

func (i *trackIter) Next(ctx *sql.Context) (sql.Row, error) {
	row, key, err := i.it.nextWithKey(ctx)
	if err != nil {
		return nil, err
	}
	i.track.add(row, key)
	return row, nil
}

func (i *trackIter) Close(ctx *sql.Context) error { return i.it.Close(ctx) }

// trackKeyless gives the table node of a single-table UPDATE or DELETE of
// a keyless lakesql table a tracker (on a copy of the table, so that the
// scan and the editor the statement gets from that node share it). Plans
// with more than one table node are left as they are.
func trackKeyless(n sql.Node) sql.Node {
	tables := 0
	transform.Inspect(n, func(c sql.Node) bool {
		if _, ok := c.(*plan.ResolvedTable); ok {
			tables++
		}
		return true
	})
	if tables != 1 {
		return n
	}
	out, _, err := transform.Node(n, func(c sql.Node) (sql.Node, transform.TreeIdentity, error) {
		rt, ok := c.(*plan.ResolvedTable)
		if !ok {
			return c, transform.SameTree, nil
		}
		tbl := rt.Table
		pt, wrapped := tbl.(*plan.ProcessTable)
		if wrapped {
			tbl = pt.Underlying()
		}
		t, ok := tbl.(*Table)
		if !ok || !t.keyless() || t.asOf != nil {
			return c, transform.SameTree, nil
		}
		clone := *t
		clone.track = &keylessTrack{}
		var nt sql.Table = &clone
		if wrapped {
			nt = plan.NewProcessTable(&clone, pt.OnPartitionDone, pt.OnPartitionStart, pt.OnRowNext)
		}
		nrt, err := rt.WithTable(nt)
		if err != nil {
			return nil, transform.SameTree, err
		}
		return nrt, transform.NewTree, nil
	})
	if err != nil {
		return n
	}
	return out
}
