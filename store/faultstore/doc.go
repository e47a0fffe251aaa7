// Package faultstore wraps a store.Store and injects faults into it, so that
// tests of the code built on a store (the commit log, the WAL, crash
// recovery) can prove that nothing is lost or corrupted when the store
// misbehaves.
//
// A Store passes every call through to the inner store unless a Rule fires.
// A rule selects operations (Open, ReadAt on opened objects, Stat, List, Put,
// Delete; an object name prefix; an optional predicate), skips the first
// After of them, fires at most Times times, and fires with probability Prob
// drawn from the store's seeded random source. When it fires, its Fault
// decides what happens:
//
//   - Err: the operation fails without reaching the inner store, with Err
//     or, by default, ErrInjected.
//   - Latency: the operation is delayed first; the delay honours the
//     context's cancellation. A fault with nothing but a Latency only slows
//     the operation down.
//   - LostResponse: a Put or Delete is performed on the inner store and then
//     reported as failed, as when the network drops the reply: the caller
//     cannot tell that it succeeded.
//   - Crash: the store enters the crashed state. With LostResponse, the
//     crash comes right after the Put or Delete has landed ("crash mid
//     commit").
//
// In the crashed state every operation fails with ErrCrashed, including ReadAt
// on objects opened earlier and List sequences being read. Recover leaves the
// crashed state, like a process restarting on the same disk: the inner
// store's contents persist, but objects opened before the crash stay dead.
//
// Failures are *Error values wrapping ErrInjected, ErrCrashed, the rule's
// Err or the context's error, so errors.Is tells them apart. Stats counts
// the operations seen and the faults injected. With one goroutine, the same
// seed and the same sequence of operations inject the same faults, so a
// failing randomized test can be replayed from its seed.
//
// A test that loses the response to the second commit and crashes:
//
//	fs := faultstore.New(mem.New(), faultstore.Options{
//		Seed: 1,
//		Logf: t.Logf,
//		Rules: []faultstore.Rule{{
//			Ops:    faultstore.OpPut,
//			Prefix: "_log/",
//			After:  1,
//			Times:  1,
//			Fault:  faultstore.Fault{LostResponse: true, Crash: true},
//		}},
//	})
//	// ... commit twice through fs; the second commit fails with ErrCrashed
//	// although its log entry is in the store ...
//	fs.Recover()
//	// ... reopen the table on fs and check that both commits are visible.
//
// Random gives the Options of a store that fails operations at random.
package faultstore
