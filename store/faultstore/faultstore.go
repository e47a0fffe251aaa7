package faultstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/lakesql/lakesql/store"
)

// ErrInjected is the error of an injected fault that names no error of its
// own, and of every lost response.
var ErrInjected = errors.New("faultstore: injected fault")

// ErrCrashed is the error of every operation on a crashed store, and of the
// operation that crashed it.
var ErrCrashed = errors.New("faultstore: store crashed")

// Op is a set of store operations, to select those a Rule applies to.
type Op uint16

// The operations. OpReadAt is ReadAt on an object opened through the Store.
const (
	OpOpen Op = 1 << iota
	OpReadAt
	OpStat
	OpList
	OpPut
	OpDelete

	// OpAll is every operation.
	OpAll = OpOpen | OpReadAt | OpStat | OpList | OpPut | OpDelete
)

var opNames = [...]string{"Open", "ReadAt", "Stat", "List", "Put", "Delete"}

// String names the operation ("Put"), or the set of them ("Open|Put", "All").
func (op Op) String() string {
	switch op {
	case 0:
		return "none"
	case OpAll:
		return "All"
	}
	var b strings.Builder
	for i, name := range opNames {
		if op&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(name)
		}
	}
	if rest := op &^ OpAll; rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		fmt.Fprintf(&b, "Op(%#x)", uint16(rest))
	}
	return b.String()
}

// Error is the error of an operation failed by the Store: by an injected
// fault, by the crashed state, or by the context's cancellation during an
// injected latency. Err is ErrInjected, ErrCrashed, the Fault's Err or the
// context's error.
type Error struct {
	Op   Op
	Name string // the object name; for List, the prefix
	Err  error
}

func (e *Error) Error() string {
	if e.Name == "" {
		return e.Op.String() + ": " + e.Err.Error()
	}
	return e.Op.String() + " " + e.Name + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Fault is what happens to an operation when a Rule fires.
//
// A zero Fault fails the operation with ErrInjected; a Fault with only a
// Latency delays it and lets it through.
type Fault struct {
	// Err is the error the operation fails with, without reaching the
	// inner store. When nil, the operation fails with ErrInjected unless
	// the Fault only delays it. With LostResponse it is the error reported
	// after the inner store performed the operation; with Crash it is
	// unused (the error is ErrCrashed).
	Err error
	// Latency delays the operation before anything else happens. The
	// delay ends early, failing the operation with the context's error,
	// when the context is done (ReadAt has no context and always waits).
	Latency time.Duration
	// LostResponse makes a Put or Delete reach the inner store and then
	// fail with Err, by default ErrInjected: the caller cannot know that it
	// succeeded. For the other operations, which change nothing, a lost
	// response is a plain failure.
	LostResponse bool
	// Crash puts the store in the crashed state and fails the operation
	// with ErrCrashed. With LostResponse, a Put or Delete reaches the inner
	// store first: the store crashes right after the change has landed.
	Crash bool
}

// lost reports whether f lets op reach the inner store and then reports a
// failure.
func (f *Fault) lost(op Op) bool {
	return f.LostResponse && (op == OpPut || op == OpDelete)
}

// failsBefore reports whether f fails op before it reaches the inner store.
func (f *Fault) failsBefore(op Op) bool {
	return !f.lost(op) && (f.Err != nil || f.Crash || f.LostResponse || f.Latency == 0)
}

func (f *Fault) err() error {
	if f.Err != nil {
		return f.Err
	}
	return ErrInjected
}

func (f *Fault) describe(op Op) string {
	var parts []string
	if f.Latency > 0 {
		parts = append(parts, "delay "+f.Latency.String())
	}
	switch {
	case f.lost(op):
		parts = append(parts, "lost response")
	case f.failsBefore(op) && !f.Crash:
		parts = append(parts, "error: "+f.err().Error())
	}
	if f.Crash {
		parts = append(parts, "crash")
	}
	return strings.Join(parts, ", ")
}

// Rule selects operations and the Fault to inject into them. The zero values
// of its selectors select everything: a Rule with only a Fault fires on every
// operation.
type Rule struct {
	// Ops is the set of operations the rule applies to; 0 means OpAll.
	Ops Op
	// Prefix, when not empty, restricts the rule to object names that
	// begin with it. For List the name is the List prefix.
	Prefix string
	// Match, when not nil, must also accept the operation. It is called
	// with the Store's lock held and must not use the Store.
	Match func(op Op, name string) bool
	// After is the number of matching operations the rule lets through
	// before it may fire.
	After int
	// Times is the most times the rule fires; 0 means no limit.
	Times int
	// Prob is the probability that the rule fires on a matching operation
	// (once past After and within Times), drawn from the Store's seeded
	// source; 0 means always.
	Prob float64
	// ListItems is, for List, how many items the sequence yields before
	// the fault strikes; 0 fails it before the first. A sequence with
	// fewer items fails at its end. A Latency is always waited first.
	ListItems int
	// Fault is what happens to the operation when the rule fires.
	Fault Fault
}

func (r *Rule) validate() {
	bad := func(format string, args ...any) {
		panic(fmt.Sprintf("faultstore: invalid rule: "+format, args...))
	}
	switch {
	case r.Ops&^OpAll != 0:
		bad("unknown operations %v", r.Ops&^OpAll)
	case r.After < 0:
		bad("After %d < 0", r.After)
	case r.Times < 0:
		bad("Times %d < 0", r.Times)
	case r.ListItems < 0:
		bad("ListItems %d < 0", r.ListItems)
	case math.IsNaN(r.Prob) || r.Prob < 0 || r.Prob > 1:
		bad("Prob %v outside [0, 1]", r.Prob)
	case r.Fault.Latency < 0:
		bad("Latency %v < 0", r.Fault.Latency)
	}
}

func (r *Rule) matches(op Op, name string) bool {
	ops := r.Ops
	if ops == 0 {
		ops = OpAll
	}
	return ops&op != 0 && strings.HasPrefix(name, r.Prefix) && (r.Match == nil || r.Match(op, name))
}

// ruleState is a Rule with its counters.
type ruleState struct {
	Rule
	seen  int // matching operations
	fired int
}

// Options configure a Store.
type Options struct {
	// Seed seeds the random source of rules with a Prob.
	Seed int64
	// Rules are the initial rules, in order; see Store.AddRule.
	Rules []Rule
	// Logf, when not nil, traces every injected fault and every crash and
	// recovery (t.Logf fits). It may be called concurrently.
	Logf func(format string, args ...any)
}

// Random returns the Options of a store that fails the operations in ops
// (0 means OpAll) at random, each with probability prob, deterministically
// for a seed. Half of the failures are plain errors, half lost responses
// (which for Put and Delete land on the inner store).
func Random(seed int64, prob float64, ops Op) Options {
	opts := Options{Seed: seed}
	if !(prob > 0) { // also NaN
		return opts
	}
	half := min(prob, 1) / 2
	opts.Rules = []Rule{
		{Ops: ops, Prob: half},
		// Consulted only when the first did not fire, so that together
		// they fire with probability prob.
		{Ops: ops, Prob: half / (1 - half), Fault: Fault{LostResponse: true}},
	}
	return opts
}

// Counts are the tallies of one kind of operation.
type Counts struct {
	// Calls is the number of operations started, including rejected ones.
	Calls int
	// Rejected is the number that failed with ErrCrashed because the store
	// was crashed (or, for ReadAt, had crashed since the object was opened).
	Rejected int
	// Injected is the number a rule fired on.
	Injected int
	// Delayed is the number an injected latency delayed.
	Delayed int
	// Errors is the number an injected fault failed before they reached
	// the inner store, including those that crashed it.
	Errors int
	// Lost is the number performed on the inner store and reported as
	// failed, including those that crashed the store right after.
	Lost int
	// Crashes is the number that crashed the store.
	Crashes int
}

// Faults is the number of operations failed by an injected fault.
func (c Counts) Faults() int { return c.Errors + c.Lost }

func (c *Counts) add(d Counts) {
	c.Calls += d.Calls
	c.Rejected += d.Rejected
	c.Injected += d.Injected
	c.Delayed += d.Delayed
	c.Errors += d.Errors
	c.Lost += d.Lost
	c.Crashes += d.Crashes
}

// Stats are a Store's tallies, per kind of operation.
type Stats struct {
	Open, ReadAt, Stat, List, Put, Delete Counts
	// Crashes is the number of times the store entered the crashed
	// state, by a rule or by Store.Crash.
	Crashes int
	// Recoveries is the number of times Store.Recover left it.
	Recoveries int
}

// Of returns the sum of the Counts of the operations in ops.
func (s Stats) Of(ops Op) Counts {
	var c Counts
	for i := range len(opNames) {
		if op := Op(1) << i; ops&op != 0 {
			c.add(*s.counts(op))
		}
	}
	return c
}

// Total returns the sum of the Counts of every operation.
func (s Stats) Total() Counts { return s.Of(OpAll) }

func (s *Stats) counts(op Op) *Counts {
	switch op {
	case OpOpen:
		return &s.Open
	case OpReadAt:
		return &s.ReadAt
	case OpStat:
		return &s.Stat
	case OpList:
		return &s.List
	case OpPut:
		return &s.Put
	case OpDelete:
		return &s.Delete
	}
	panic(fmt.Sprintf("faultstore: not a single operation: %v", op))
}

// Store wraps an inner store.Store and injects faults into the operations
// that go through it. It is safe for concurrent use; with one goroutine, the
// same seed and the same operations inject the same faults.
type Store struct {
	inner store.Store
	logf  func(format string, args ...any)

	mu struct {
		sync.Mutex
		rng     *rand.Rand
		rules   []*ruleState
		crashed bool
		// epoch counts crashes, from 1; objects and List sequences of
		// an earlier epoch are dead.
		epoch uint64
		stats Stats
	}
}

var _ store.Store = (*Store)(nil)

// New returns a Store that injects faults into inner by opts. It panics on an
// invalid rule (a negative count, a Prob outside [0, 1], unknown Ops). Closing
// the Store closes inner.
func New(inner store.Store, opts Options) *Store {
	s := &Store{inner: inner, logf: opts.Logf}
	s.mu.rng = rand.New(rand.NewPCG(uint64(opts.Seed), 0x6c616b6573716c)) // "lakesql"
	s.mu.epoch = 1
	for _, r := range opts.Rules {
		s.AddRule(r)
	}
	return s
}

// Inner returns the wrapped store, to look at its contents past the faults.
func (s *Store) Inner() store.Store { return s.inner }

// AddRule appends a rule. Every rule counts the operations it matches (for
// its After), but on each operation only the first rule, in order, that fires
// injects its fault; the rules after it are not drawn for. It panics on an
// invalid rule.
func (s *Store) AddRule(r Rule) {
	r.validate()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.rules = append(s.mu.rules, &ruleState{Rule: r})
}

// ClearRules removes every rule: operations pass through (unless the store is
// crashed).
func (s *Store) ClearRules() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.rules = nil
}

// Crash puts the store in the crashed state now.
func (s *Store) Crash() {
	s.crash(0, "")
}

// Crashed reports whether the store is in the crashed state.
func (s *Store) Crashed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.crashed
}

// Recover leaves the crashed state, as a process restarting after a crash:
// what the inner store holds persists, but the objects opened before the
// crash keep failing with ErrCrashed. The rules and their counters stay.
func (s *Store) Recover() {
	s.mu.Lock()
	was := s.mu.crashed
	s.mu.crashed = false
	if was {
		s.mu.stats.Recoveries++
	}
	s.mu.Unlock()
	if was && s.logf != nil {
		s.logf("faultstore: %s: recovered", s)
	}
}

// Stats returns the store's tallies so far.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.stats
}

// String names the store: faultstore(<inner>).
func (s *Store) String() string { return "faultstore(" + s.inner.String() + ")" }

// Close closes the inner store, crashed or not.
func (s *Store) Close() error { return s.inner.Close() }

// Open opens the named object; ReadAt on it is subject to the rules too.
func (s *Store) Open(ctx context.Context, name string) (store.Object, error) {
	out, err := s.start(ctx, OpOpen, name, 0)
	if err != nil {
		return nil, err
	}
	obj, err := s.inner.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	return &object{s: s, inner: obj, name: name, epoch: out.epoch}, nil
}

// Stat describes the named object.
func (s *Store) Stat(ctx context.Context, name string) (store.Info, error) {
	if _, err := s.start(ctx, OpStat, name, 0); err != nil {
		return store.Info{}, err
	}
	return s.inner.Stat(ctx, name)
}

// Put stores the content of r under name.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, opts ...store.PutOption) (store.Info, error) {
	out, err := s.start(ctx, OpPut, name, 0)
	if err != nil {
		return store.Info{}, err
	}
	info, err := s.inner.Put(ctx, name, r, opts...)
	if ferr := s.finish(OpPut, name, out); ferr != nil {
		return store.Info{}, ferr
	}
	return info, err
}

// Delete removes the named object.
func (s *Store) Delete(ctx context.Context, name string) error {
	out, err := s.start(ctx, OpDelete, name, 0)
	if err != nil {
		return err
	}
	err = s.inner.Delete(ctx, name)
	if ferr := s.finish(OpDelete, name, out); ferr != nil {
		return ferr
	}
	return err
}

// List yields the objects whose names begin with prefix and sort after
// startAfter. The rules are consulted when the sequence starts; a crash
// fails it at the next item.
func (s *Store) List(ctx context.Context, prefix, startAfter string) iter.Seq2[store.Info, error] {
	return func(yield func(store.Info, error) bool) {
		out, err := s.decide(OpList, prefix, 0)
		if err != nil {
			yield(store.Info{}, err)
			return
		}
		failing := false
		if out.fired {
			s.trace(OpList, prefix, out)
			if err := s.delay(ctx, OpList, prefix, out); err != nil {
				yield(store.Info{}, err)
				return
			}
			failing = out.fault.failsBefore(OpList)
		}
		if failing && out.listItems == 0 {
			yield(store.Info{}, s.strike(OpList, prefix, out))
			return
		}
		n := 0
		for info, err := range s.inner.List(ctx, prefix, startAfter) {
			if err == nil {
				err = s.check(OpList, prefix, out.epoch)
			}
			if err != nil {
				yield(store.Info{}, err)
				return
			}
			if !yield(info, nil) {
				return
			}
			n++
			if failing && n == out.listItems {
				break
			}
		}
		if failing {
			yield(store.Info{}, s.strike(OpList, prefix, out))
		}
	}
}

// object is an Object opened through a Store.
type object struct {
	s     *Store
	inner store.Object
	name  string
	epoch uint64 // of the Open
}

func (o *object) ReadAt(p []byte, off int64) (int, error) {
	if _, err := o.s.start(context.Background(), OpReadAt, o.name, o.epoch); err != nil {
		return 0, err
	}
	return o.inner.ReadAt(p, off)
}

// Close closes the inner object, whatever the state of the store.
func (o *object) Close() error     { return o.inner.Close() }
func (o *object) Size() int64      { return o.inner.Size() }
func (o *object) Info() store.Info { return o.inner.Info() }

// outcome is the fate of one operation.
type outcome struct {
	fired     bool
	rule      int // index of the rule that fired
	fault     Fault
	listItems int
	epoch     uint64 // when the operation started
}

// decide counts the operation and picks the fault to inject, if any. It fails
// the operation when the store is crashed, or has crashed since epoch (when
// not 0).
func (s *Store) decide(op Op, name string, epoch uint64) (outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mu.stats.counts(op)
	c.Calls++
	if s.mu.crashed || (epoch != 0 && epoch != s.mu.epoch) {
		c.Rejected++
		return outcome{}, &Error{Op: op, Name: name, Err: ErrCrashed}
	}
	out := outcome{epoch: s.mu.epoch}
	for i, r := range s.mu.rules {
		if !r.matches(op, name) {
			continue
		}
		r.seen++
		if out.fired || r.seen <= r.After || (r.Times > 0 && r.fired >= r.Times) {
			continue
		}
		if r.Prob > 0 && r.Prob < 1 && s.mu.rng.Float64() >= r.Prob {
			continue
		}
		r.fired++
		out.fired, out.rule, out.fault, out.listItems = true, i, r.Fault, r.ListItems
		c.Injected++
		if r.Fault.Latency > 0 {
			c.Delayed++
		}
	}
	return out, nil
}

// start runs an operation up to the inner store: it decides its fault, waits
// its latency and fails it if the fault says so. When start returns no
// error, the operation goes to the inner store, and then to finish.
func (s *Store) start(ctx context.Context, op Op, name string, epoch uint64) (outcome, error) {
	out, err := s.decide(op, name, epoch)
	if err != nil || !out.fired {
		return out, err
	}
	s.trace(op, name, out)
	if err := s.delay(ctx, op, name, out); err != nil {
		return out, err
	}
	if out.fault.failsBefore(op) {
		return out, s.strike(op, name, out)
	}
	return out, nil
}

// delay waits the fault's latency, and then checks that the store has not
// crashed meanwhile.
func (s *Store) delay(ctx context.Context, op Op, name string, out outcome) error {
	if out.fault.Latency <= 0 {
		return nil
	}
	t := time.NewTimer(out.fault.Latency)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return &Error{Op: op, Name: name, Err: ctx.Err()}
	case <-t.C:
	}
	return s.check(op, name, out.epoch)
}

// strike fails an operation, before it reaches the inner store, by its fault.
func (s *Store) strike(op Op, name string, out outcome) error {
	if out.fault.Crash {
		s.crash(op, name)
		s.count(op, func(c *Counts) { c.Errors++ })
		return &Error{Op: op, Name: name, Err: ErrCrashed}
	}
	s.count(op, func(c *Counts) { c.Errors++ })
	return &Error{Op: op, Name: name, Err: out.fault.err()}
}

// finish returns the error of an operation whose response is lost, after the
// inner store performed it, or nil.
func (s *Store) finish(op Op, name string, out outcome) error {
	if !out.fired || !out.fault.lost(op) {
		return nil
	}
	s.count(op, func(c *Counts) { c.Lost++ })
	if out.fault.Crash {
		s.crash(op, name)
		return &Error{Op: op, Name: name, Err: ErrCrashed}
	}
	return &Error{Op: op, Name: name, Err: out.fault.err()}
}

// check fails an operation that started at epoch when the store has crashed
// since.
func (s *Store) check(op Op, name string, epoch uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.mu.crashed && epoch == s.mu.epoch {
		return nil
	}
	s.mu.stats.counts(op).Rejected++
	return &Error{Op: op, Name: name, Err: ErrCrashed}
}

// crash enters the crashed state, because of op on name (0 for Store.Crash).
func (s *Store) crash(op Op, name string) {
	s.mu.Lock()
	was := s.mu.crashed
	if !was {
		s.mu.crashed = true
		s.mu.epoch++
		s.mu.stats.Crashes++
		if op != 0 {
			s.mu.stats.counts(op).Crashes++
		}
	}
	s.mu.Unlock()
	if !was && s.logf != nil {
		if op == 0 {
			s.logf("faultstore: %s: crashed", s)
		} else {
			s.logf("faultstore: %s: crashed by %s %s", s, op, name)
		}
	}
}

func (s *Store) count(op Op, f func(*Counts)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.mu.stats.counts(op))
}

func (s *Store) trace(op Op, name string, out outcome) {
	if s.logf != nil {
		s.logf("faultstore: %s %s: rule %d: %s", op, name, out.rule, out.fault.describe(op))
	}
}
