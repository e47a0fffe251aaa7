package memwal

import (
	"context"
	"fmt"

	"github.com/lakesql/lakesql/txn"
)

// The bulk paths (Bulk, AddFiles, a bulk transaction's commit) write files
// straight into the log while nothing else writes: these are their common
// steps.

// pause stops writers (their commits wait) until the returned resume runs.
func (b *Branch) pause() (resume func()) {
	b.mu.Lock()
	b.mu.paused = true
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		b.mu.paused = false
		b.mu.published2.Broadcast()
		b.mu.Unlock()
	}
}

// exclusive pauses writers, flushes the MemTable and takes the commit
// mutex: it returns the head then (after the flush, and after any merge
// that took the commit mutex in between: writers are paused, so nothing
// else moves it) and done, which releases both.
func (b *Branch) exclusive(ctx context.Context) (head *txn.Snapshot, done func(), err error) {
	resume := b.pause()
	if _, err := b.flush(ctx, nil); err != nil {
		resume()
		return nil, nil, err
	}
	b.commitMu.Lock()
	return b.Head(), func() {
		b.commitMu.Unlock()
		resume()
	}, nil
}

// exclusiveTable is exclusive for a bulk write to table tableID (what the
// error says it was for: op), which must exist and have a key.
func (b *Branch) exclusiveTable(ctx context.Context, tableID, op string) (*txn.Snapshot, *tableInfo, func(), error) {
	head, done, err := b.exclusive(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	t := b.tableInfos()[tableID]
	if t == nil || t.enc == nil {
		done()
		return nil, nil, nil, fmt.Errorf("memwal: %s: table %s does not exist or has no key", op, tableID)
	}
	return head, t, done, nil
}

// commitTables commits c at head (under the commit mutex) and publishes it
// as a change of tables at table level: open transactions that wrote to
// them conflict with it.
func (b *Branch) commitTables(ctx context.Context, head *txn.Snapshot, c *txn.Commit, tables ...string) (*txn.Snapshot, error) {
	next, err := b.commit(ctx, head, c)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.mu.head = next
	b.mu.filesGen++
	b.mu.ddlGen++
	for _, id := range tables {
		b.mu.tableGen[id] = b.mu.ddlGen
	}
	b.mu.Unlock()
	b.warm(next, c.Adds)
	return next, nil
}

// commit commits c at head; a writer fenced by another fails for good.
func (b *Branch) commit(ctx context.Context, head *txn.Snapshot, c *txn.Commit) (*txn.Snapshot, error) {
	next, err := b.db.Commit(ctx, head, c)
	if err != nil && isFenced(err) {
		b.fail(fmt.Errorf("%w: %v", ErrFailed, err))
	}
	return next, err
}
