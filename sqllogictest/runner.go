package sqllogictest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Outcome is what became of a record.
type Outcome uint8

const (
	Passed Outcome = iota
	Failed
	// Skipped: a skipif/onlyif condition excluded the record.
	Skipped
)

func (o Outcome) String() string {
	switch o {
	case Passed:
		return "passed"
	case Failed:
		return "failed"
	}
	return "skipped"
}

// RecordResult is the outcome of one record.
type RecordResult struct {
	Line    int
	Outcome Outcome
	// Reason says, on one line, why the record failed.
	Reason string
	// SQL and Answer are set when Runner.Answers is: Answer sums up what
	// the engine answered ("ok 3" for a statement that affected 3 rows,
	// "error 1146", or "12 values <md5>"), so that two runs of a file can
	// be compared.
	SQL    string
	Answer string
	// Elapsed is how long the record ran.
	Elapsed time.Duration
}

// Counts are the number of records per outcome.
type Counts struct {
	Passed, Failed, Skipped int
}

// Add adds o's counts to c.
func (c *Counts) Add(o Counts) {
	c.Passed += o.Passed
	c.Failed += o.Failed
	c.Skipped += o.Skipped
}

// Total is the number of records counted.
func (c Counts) Total() int { return c.Passed + c.Failed + c.Skipped }

func (c Counts) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", c.Passed, c.Failed, c.Skipped)
}

// FileResult is the outcome of one file.
type FileResult struct {
	Path string
	// Records has one entry per statement or query record before the end
	// of the file or its halt, in file order.
	Records []RecordResult
	Counts
	Elapsed time.Duration
	// Err is set when the file could not be run at all (a parse error, a
	// database that could not be created).
	Err error
}

func (f *FileResult) String() string {
	if f.Err != nil {
		return fmt.Sprintf("%s: error: %v", f.Path, f.Err)
	}
	return fmt.Sprintf("%s: %v (%.1fs)", f.Path, f.Counts, f.Elapsed.Seconds())
}

func (f *FileResult) add(r RecordResult) {
	f.Records = append(f.Records, r)
	switch r.Outcome {
	case Passed:
		f.Passed++
	case Failed:
		f.Failed++
	default:
		f.Skipped++
	}
}

// DefaultTimeout bounds each statement or query.
const DefaultTimeout = 30 * time.Second

// Runner runs test files against a backend.
//
// A statement or query that runs longer than Timeout fails. Its session is
// abandoned (closed once the statement returns), a fresh one is opened and
// the file's statements that ran before it are replayed in it, so that the
// rest of the file runs on the same tables. If the replay fails too, the
// rest of the file fails with the reason "not run".
type Runner struct {
	Backend Backend
	// Engine is the dialect named by skipif/onlyif (default "mysql").
	Engine string
	// Timeout bounds each record (default DefaultTimeout).
	Timeout time.Duration
	// Workers is how many files run at once (default GOMAXPROCS).
	Workers int
	// Answers keeps each record's SQL and answer in the results.
	Answers bool
}

func (r *Runner) engine() string { return cmp.Or(r.Engine, "mysql") }

func (r *Runner) timeout() time.Duration { return cmp.Or(r.Timeout, DefaultTimeout) }

// Run runs files on up to Workers goroutines, the largest files first,
// and returns their results in the order of paths. done, if not nil, is
// called (from one goroutine at a time) as each file finishes.
func (r *Runner) Run(ctx context.Context, paths []string, done func(*FileResult)) []*FileResult {
	workers := cmp.Or(r.Workers, runtime.GOMAXPROCS(0))
	order := make([]int, len(paths))
	size := make([]int64, len(paths))
	for i, p := range paths {
		order[i] = i
		if fi, err := os.Stat(p); err == nil {
			size[i] = fi.Size()
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(size[b], size[a]) })
	results := make([]*FileResult, len(paths))
	next := make(chan int)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for range min(workers, len(paths)) {
		wg.Go(func() {
			for i := range next {
				res := r.RunFile(ctx, paths[i])
				results[i] = res
				if done != nil {
					mu.Lock()
					done(res)
					mu.Unlock()
				}
			}
		})
	}
	for _, i := range order {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// RunFile runs one file in a fresh database.
func (r *Runner) RunFile(ctx context.Context, path string) *FileResult {
	start := time.Now()
	res := &FileResult{Path: path}
	defer func() { res.Elapsed = time.Since(start) }()
	recs, err := ParseFile(path)
	if err != nil {
		res.Err = err
		return res
	}
	f := &fileRun{r: r, res: res, labels: map[string]string{}}
	if f.s, err = r.Backend.Open(ctx); err != nil {
		res.Err = fmt.Errorf("open a database: %w", err)
		return res
	}
	defer func() {
		if f.s != nil {
			if err := f.s.Close(context.WithoutCancel(ctx)); err != nil && res.Err == nil {
				res.Err = fmt.Errorf("close the database: %w", err)
			}
		}
	}()
	for i, rec := range recs {
		if !rec.Runs(r.engine()) {
			if rec.Kind != Halt {
				res.add(RecordResult{Line: rec.Line, Outcome: Skipped})
			}
			continue
		}
		if rec.Kind == Halt {
			break
		}
		if f.s == nil {
			for _, rest := range recs[i:] {
				if rest.Kind != Halt && rest.Runs(r.engine()) {
					res.add(RecordResult{Line: rest.Line, Outcome: Failed, Reason: "not run: " + f.lost})
				}
			}
			break
		}
		if ctx.Err() != nil {
			res.Err = ctx.Err()
			break
		}
		t0 := time.Now()
		rr := f.run(ctx, rec)
		rr.Elapsed = time.Since(t0)
		res.add(rr)
	}
	return res
}

// fileRun is the state of one file's run.
type fileRun struct {
	r      *Runner
	res    *FileResult
	s      Session // nil once lost
	lost   string  // why s was lost
	labels map[string]string
	// replay holds the statements run so far, to rebuild the database in
	// a fresh session after a timeout.
	replay []string
}

func (f *fileRun) run(ctx context.Context, rec *Record) RecordResult {
	rr := RecordResult{Line: rec.Line}
	if f.r.Answers {
		rr.SQL = rec.SQL
	}
	fail := func(format string, args ...any) RecordResult {
		rr.Outcome = Failed
		rr.Reason = oneLine(fmt.Sprintf(format, args...), 400)
		return rr
	}
	out, err, timedOut, abandoned := f.exec(ctx, f.s, rec.SQL)
	if timedOut {
		rr.Answer = "timeout"
		if abandoned {
			f.s = nil
			f.reopen(ctx)
		}
		return fail("timeout after %v", f.r.timeout())
	}
	if rec.Kind == Statement {
		f.replay = append(f.replay, rec.SQL)
	}
	if err != nil {
		rr.Answer = fmt.Sprintf("error %d", f.s.ErrorCode(err))
	}
	switch {
	case rec.Kind == Statement && rec.ExpectError:
		if err == nil {
			rr.Answer = "ok"
			return fail("statement succeeded, expected an error")
		}
		return rr
	case rec.Kind == Statement:
		if err != nil {
			return fail("statement failed: %s", f.errText(err))
		}
		rr.Answer = fmt.Sprintf("ok %d", out.RowsAffected)
		return rr
	}
	// A query.
	if err != nil {
		return fail("query failed: %s", f.errText(err))
	}
	if out.Columns != len(rec.Types) {
		rr.Answer = fmt.Sprintf("%d columns", out.Columns)
		return fail("query returned %d columns, expected %d (%s)", out.Columns, len(rec.Types), rec.Types)
	}
	values := formatRows(out.Rows, rec.Types)
	sortValues(values, len(rec.Types), rec.Sort)
	hash := hashValues(values)
	rr.Answer = fmt.Sprintf("%d values %s", len(values), hash)
	if rec.Hashed() {
		if len(values) != rec.HashCount {
			return fail("expected %d values hashing to %s, got %d values%s", rec.HashCount, rec.Hash, len(values), preview(values))
		}
		if hash != rec.Hash {
			return fail("expected %d values hashing to %s, got hash %s%s", rec.HashCount, rec.Hash, hash, preview(values))
		}
	} else {
		if len(values) != len(rec.Expected) {
			return fail("expected %d values, got %d%s", len(rec.Expected), len(values), preview(values))
		}
		for i, v := range values {
			if v != rec.Expected[i] {
				return fail("value %d (row %d, column %d): expected %q, got %q%s",
					i+1, i/len(rec.Types)+1, i%len(rec.Types)+1, rec.Expected[i], v, preview(values))
			}
		}
	}
	if rec.Label != "" {
		if prev, ok := f.labels[rec.Label]; !ok {
			f.labels[rec.Label] = hash
		} else if prev != hash {
			return fail("result differs from the earlier queries labeled %s", rec.Label)
		}
	}
	return rr
}

// exec runs sql in s with the runner's timeout. On a timeout, abandoned
// says whether the statement still runs: then s is closed in the
// background once it returns, and must not be used any more.
func (f *fileRun) exec(ctx context.Context, s Session, sql string) (res *Result, err error, timedOut, abandoned bool) {
	qctx, cancel := context.WithTimeout(ctx, f.r.timeout())
	type answer struct {
		res *Result
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		res, err := s.Query(qctx, sql)
		ch <- answer{res, err}
	}()
	var a answer
	select {
	case a = <-ch:
	case <-qctx.Done():
		select {
		case a = <-ch:
		default:
			go func() {
				<-ch
				cancel()
				s.Close(context.WithoutCancel(ctx))
			}()
			return nil, qctx.Err(), true, true
		}
	}
	cancel()
	if a.err != nil && errors.Is(a.err, context.DeadlineExceeded) {
		return nil, a.err, true, false // canceled by the timeout; s is free
	}
	return a.res, a.err, false, false
}

// reopen replaces a session abandoned after a timeout with a fresh one in
// which the statements run so far are replayed (their errors ignored: they
// were checked the first time).
func (f *fileRun) reopen(ctx context.Context) {
	s, err := f.r.Backend.Open(ctx)
	if err != nil {
		f.lost = fmt.Sprintf("after a timeout, a new database could not be opened: %v", err)
		return
	}
	for _, q := range f.replay {
		_, _, timedOut, abandoned := f.exec(ctx, s, q)
		if timedOut {
			f.lost = "after a timeout, replaying the file's statements timed out"
			if !abandoned {
				s.Close(context.WithoutCancel(ctx))
			}
			return
		}
	}
	f.s = s
}

func (f *fileRun) errText(err error) string {
	return fmt.Sprintf("error %d: %v", f.s.ErrorCode(err), err)
}

// preview shows the first values of a wrong result.
func preview(values []string) string {
	const n = 8
	if len(values) == 0 {
		return ": (no values)"
	}
	if len(values) > n {
		return fmt.Sprintf(": [%s ...]", strings.Join(values[:n], " "))
	}
	return fmt.Sprintf(": [%s]", strings.Join(values, " "))
}

// oneLine puts s on one line of at most max bytes.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
