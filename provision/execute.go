package provision

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// step is one node of the graph the executor runs: a change, the steps
// that must have succeeded before it starts, and the write itself.
type step struct {
	change Change
	// after are the indices of the steps this one waits for.
	after []int
	// run makes the write. x.sched ends waits (between retries, or for
	// another step); x.calls carries the AWS calls themselves.
	run func(x *execution) error
	// describe phrases the change as the action that failed, verb first.
	describe string
	// done, if set, says which errors count as success (a deletion of
	// something already gone).
	done func(error) bool
}

// execution is what a running step sees of the executor.
type execution struct {
	// sched ends when the run stops starting work: an interruption or the
	// first failure.
	sched context.Context
	// calls carries AWS calls; it outlives sched by the interrupt grace,
	// so that a call already sent is never cut off half way.
	calls context.Context
	// progress is the run's progress sink; calls to it never overlap.
	progress func(Event)
	done     []chan struct{}
}

// waitFor blocks until step i has succeeded, or the run stops starting
// work. It lets a step do part of its work before a step it needs (a
// managed policy is created while the role is, and attached after).
func (x *execution) waitFor(i int, what string) error {
	select {
	case <-x.done[i]:
		return nil
	case <-x.sched.Done():
		return fmt.Errorf("stop waiting for %s: %w", what, context.Cause(x.sched))
	}
}

// executeOptions tune execute.
type executeOptions struct {
	// Progress receives every step's start and end, and notes; execute
	// serializes its calls, so any writer will do.
	Progress func(Event)
	// InterruptGrace bounds how long calls in flight at an interruption may
	// still take (DefaultInterruptGrace when zero).
	InterruptGrace time.Duration
	// Limit bounds how many steps run at once (DefaultExecuteLimit when
	// zero).
	Limit int
}

// DefaultExecuteLimit is how many writes run at once: enough for the
// independent changes of a large sharded setup (5 roles with 9 managed
// policies each: about 100 writes) to go out together, as they did before
// there was a bound, and a bound all the same on what one run sends IAM at
// once; throttling beyond it is the retryer's (25 attempts).
const DefaultExecuteLimit = 128

// execute runs the steps of a graph, each once every step it comes after
// has succeeded, at most opts.Limit at a time. The first failure, or the
// end of ctx (an interruption), stops steps from starting; steps in flight
// finish, because an AWS call cut off half way leaves unknown whether it
// landed, and the report must say exactly what was done. It returns what
// was and was not applied, in the steps' order, and on failure or
// interruption an *ApplyError with the same result; its error wraps ctx's
// cause when ctx ended.
func execute(ctx context.Context, steps []step, opts executeOptions) (Result, error) {
	if opts.InterruptGrace <= 0 {
		opts.InterruptGrace = DefaultInterruptGrace
	}
	if opts.Limit <= 0 {
		opts.Limit = DefaultExecuteLimit
	}
	var (
		mu       sync.Mutex
		sinkMu   sync.Mutex
		applied  = make([]bool, len(steps))
		inFlight int
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, opts.Limit)
	)
	progress := func(e Event) {
		if opts.Progress == nil {
			return
		}
		sinkMu.Lock()
		defer sinkMu.Unlock()
		opts.Progress(e)
	}
	calls, endCalls := outlive(ctx, opts.InterruptGrace)
	defer endCalls()
	sched, cancel := context.WithCancel(ctx)
	defer cancel()
	x := &execution{sched: sched, calls: calls, progress: progress, done: make([]chan struct{}, len(steps))}
	for i := range steps {
		x.done[i] = make(chan struct{})
	}
	// Say why an interrupted run does not end at once.
	stopNote := context.AfterFunc(ctx, func() {
		mu.Lock()
		n := inFlight
		mu.Unlock()
		if n > 0 {
			progress(Event{Message: fmt.Sprintf("interrupted: starting no further changes; waiting for %d change(s) in flight to finish, so that the report is exact", n)})
		}
	})
	defer stopNote()
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}

	for i, s := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, j := range s.after {
				select {
				case <-x.done[j]:
				case <-sched.Done():
					return
				}
			}
			select {
			case slots <- struct{}{}:
			case <-sched.Done():
				return
			}
			defer func() { <-slots }()
			if sched.Err() != nil {
				return
			}
			mu.Lock()
			inFlight++
			mu.Unlock()
			progress(Event{Change: s.change})
			err := s.run(x)
			if err != nil && s.done != nil && s.done(err) {
				err = nil
			}
			mu.Lock()
			inFlight--
			mu.Unlock()
			progress(Event{Change: s.change, Done: true, Err: err})
			if err != nil {
				if cause := context.Cause(calls); cause != nil && errors.Is(err, context.Canceled) {
					err = fmt.Errorf("%w; it may or may not have been applied", cause)
				}
				fail(fmt.Errorf("%s: %w", s.describe, err))
				return
			}
			mu.Lock()
			applied[i] = true
			mu.Unlock()
			close(x.done[i])
		}()
	}
	wg.Wait()

	res := Result{Applied: []Change{}, NotApplied: []Change{}}
	for i, s := range steps {
		if applied[i] {
			res.Applied = append(res.Applied, s.change)
		} else {
			res.NotApplied = append(res.NotApplied, s.change)
		}
	}
	switch {
	case firstErr != nil:
		return res, &ApplyError{Result: res, Err: firstErr}
	case len(res.NotApplied) > 0:
		return res, &ApplyError{Result: res, Err: fmt.Errorf("stop before all changes were applied: %w", context.Cause(sched))}
	}
	return res, nil
}
