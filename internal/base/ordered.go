package base

import (
	"runtime"
	"sync"
)

// OrderedMap runs produce on a goroutine, work on each item it sends on
// `workers` goroutines at once, and consume on the results in the order
// the items were sent: reading a file, converting its pieces on every
// core, and appending them in file order. At most 2*workers items are in
// flight. It returns the first error in item order (consume's or work's;
// the producer then stops at its next send), else produce's; every
// goroutine has ended when it returns.
func OrderedMap[In, Out any](workers int, produce func(send func(In) bool) error, work func(In) (Out, error), consume func(Out) error) error {
	if workers < 1 {
		workers = max(runtime.GOMAXPROCS(0), 1)
	}
	type result struct {
		out Out
		err error
	}
	type job struct {
		in  In
		res chan result
	}
	jobs := make(chan job)
	order := make(chan chan result, 2*workers)
	done := make(chan struct{})
	var perr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(jobs)
		perr = produce(func(in In) bool {
			select {
			case <-done: // checked first: select picks among ready cases at random
				return false
			default:
			}
			j := job{in: in, res: make(chan result, 1)}
			select {
			case order <- j.res:
			case <-done:
				return false
			}
			select {
			case jobs <- j:
				return true
			case <-done:
				return false
			}
		})
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				out, err := work(j.in)
				j.res <- result{out, err}
			}
		}()
	}
	var cerr error
	for res := range order {
		if cerr != nil {
			continue // drain until the producer sees done
		}
		r := <-res
		if cerr = r.err; cerr == nil {
			cerr = consume(r.out)
		}
		if cerr != nil {
			close(done)
		}
	}
	wg.Wait()
	if cerr != nil {
		return cerr
	}
	return perr
}
