package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrNotStarted is wrapped by the error of a target whose function never
// started because the run's context ended first.
var ErrNotStarted = errors.New("not started")

// Outcome is what running a function in one target gave.
type Outcome[T any] struct {
	Target Target
	// Value is the function's result; meaningful when Err is nil (and
	// whatever the function returned with its error otherwise).
	Value T
	// Err is the function's error, the target's own Err (it was never
	// called), or ErrNotStarted wrapped with the context's cause.
	Err error
	// Finished is false when the target's work did not come to an end of
	// its own: it never started, or the context ended while it ran and its
	// error says so. A failure for any other reason is finished.
	Finished bool
}

// Run calls fn for every target, at most parallel at once (at least one),
// and returns the outcomes in the targets' order. A target with Err set is
// not called: its outcome is that error. One target failing never cancels
// the others; every call gets ctx itself. Once ctx ends no further call
// starts: those targets' outcomes wrap ErrNotStarted and ctx's cause, and
// Run returns when the calls already started have returned, so fn must
// honour ctx to stop promptly.
func Run[T any](ctx context.Context, targets []Target, parallel int, fn func(ctx context.Context, t Target) (T, error)) []Outcome[T] {
	return runIndexed(ctx, targets, parallel, func(ctx context.Context, _ int, t Target) (T, error) { return fn(ctx, t) })
}

// runIndexed is Run with each target's index passed to fn.
func runIndexed[T any](ctx context.Context, targets []Target, parallel int, fn func(ctx context.Context, i int, t Target) (T, error)) []Outcome[T] {
	outcomes := make([]Outcome[T], len(targets))
	slots := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, t := range targets {
		outcomes[i].Target = t
		if t.Err != nil {
			outcomes[i].Err, outcomes[i].Finished = t.Err, true
			continue
		}
		if !acquire(ctx, slots) {
			outcomes[i].Err = fmt.Errorf("%w: %w", ErrNotStarted, context.Cause(ctx))
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			v, err := fn(ctx, i, t)
			outcomes[i].Value, outcomes[i].Err = v, err
			outcomes[i].Finished = err == nil || !interrupted(ctx, err)
		})
	}
	wg.Wait()
	return outcomes
}

// acquire takes a slot, or reports false once ctx has ended, even when a
// slot is free at that moment too.
func acquire(ctx context.Context, slots chan struct{}) bool {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	if ctx.Err() != nil {
		<-slots
		return false
	}
	return true
}

// interrupted reports whether err is the end of ctx rather than a failure
// of the target's own.
func interrupted(ctx context.Context, err error) bool {
	if ctx.Err() == nil {
		return false
	}
	return errors.Is(err, ctx.Err()) || errors.Is(err, context.Cause(ctx))
}
