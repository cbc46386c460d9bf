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
	calls, endCalls := outlive(ctx, opts.InterruptGrace)
	defer endCalls()
	sched, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &run{steps: steps, applied: make([]bool, len(steps)), slots: make(chan struct{}, opts.Limit), cancel: cancel, sink: opts.Progress}
	r.x = &execution{sched: sched, calls: calls, progress: r.progress, done: make([]chan struct{}, len(steps))}
	for i := range steps {
		r.x.done[i] = make(chan struct{})
	}
	// Say why an interrupted run does not end at once.
	stopNote := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		n := r.inFlight
		r.mu.Unlock()
		if n > 0 {
			r.progress(Event{Message: fmt.Sprintf("interrupted: starting no further changes; waiting for %d change(s) in flight to finish, so that the report is exact", n)})
		}
	})
	defer stopNote()
	var wg sync.WaitGroup
	for i := range steps {
		wg.Go(func() { r.runStep(i) })
	}
	wg.Wait()
	return r.result()
}

// run is the state of one execute call.
type run struct {
	steps []step
	x     *execution
	// slots bound how many steps run at once.
	slots  chan struct{}
	cancel context.CancelFunc
	sink   func(Event)
	sinkMu sync.Mutex

	mu       sync.Mutex
	applied  []bool
	inFlight int
	firstErr error
}

// progress passes an event to the sink, one at a time.
func (r *run) progress(e Event) {
	if r.sink == nil {
		return
	}
	r.sinkMu.Lock()
	defer r.sinkMu.Unlock()
	r.sink(e)
}

// fail records the first failure and stops steps from starting.
func (r *run) fail(err error) {
	r.mu.Lock()
	if r.firstErr == nil {
		r.firstErr = err
	}
	r.mu.Unlock()
	r.cancel()
}

// runStep runs step i once the steps it comes after have succeeded and a
// slot is free, unless the run stops starting work first.
func (r *run) runStep(i int) {
	s, sched := r.steps[i], r.x.sched
	for _, j := range s.after {
		select {
		case <-r.x.done[j]:
		case <-sched.Done():
			return
		}
	}
	select {
	case r.slots <- struct{}{}:
	case <-sched.Done():
		return
	}
	defer func() { <-r.slots }()
	if sched.Err() != nil {
		return
	}
	r.mu.Lock()
	r.inFlight++
	r.mu.Unlock()
	r.progress(Event{Change: s.change})
	err := s.run(r.x)
	if err != nil && s.done != nil && s.done(err) {
		err = nil
	}
	r.mu.Lock()
	r.inFlight--
	r.mu.Unlock()
	r.progress(Event{Change: s.change, Done: true, Err: err})
	if err != nil {
		if cause := context.Cause(r.x.calls); cause != nil && errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w; it may or may not have been applied", cause)
		}
		r.fail(fmt.Errorf("%s: %w", s.describe, err))
		return
	}
	r.mu.Lock()
	r.applied[i] = true
	r.mu.Unlock()
	close(r.x.done[i])
}

// result says what was and was not applied, in the steps' order, with an
// *ApplyError on failure or interruption.
func (r *run) result() (Result, error) {
	res := Result{Applied: []Change{}, NotApplied: []Change{}}
	for i, s := range r.steps {
		if r.applied[i] {
			res.Applied = append(res.Applied, s.change)
		} else {
			res.NotApplied = append(res.NotApplied, s.change)
		}
	}
	switch {
	case r.firstErr != nil:
		return res, &ApplyError{Result: res, Err: r.firstErr}
	case len(res.NotApplied) > 0:
		return res, &ApplyError{Result: res, Err: fmt.Errorf("stop before all changes were applied: %w", context.Cause(r.x.sched))}
	}
	return res, nil
}
