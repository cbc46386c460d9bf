package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func numbered(n int) []Target {
	targets := make([]Target, n)
	for i := range targets {
		targets[i] = Target{AccountID: fmt.Sprintf("%012d", i), Name: "acct-" + strconv.Itoa(i)}
	}
	return targets
}

// describe shows an outcome without its target's configuration.
func describe[T any](o Outcome[T]) string {
	return fmt.Sprintf("{%s value %v, error %v, finished %v}", o.Target.Name, o.Value, o.Err, o.Finished)
}

// namesWhere returns the names of the targets whose outcome is one that
// keep holds, in order.
func namesWhere[T any](outcomes []Outcome[T], keep func(Outcome[T]) bool) []string {
	var names []string
	for _, o := range outcomes {
		if keep(o) {
			names = append(names, o.Target.Name)
		}
	}
	return names
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRunBoundsConcurrency holds every call until as many as parallel are
// running, checks that no further one starts meanwhile, then lets them all
// go: at most parallel ran at once, and exactly that many did.
func TestRunBoundsConcurrency(t *testing.T) {
	for _, c := range []struct{ targets, parallel, want int }{
		{20, 3, 3}, {20, 1, 1}, {5, 32, 5}, {4, 0, 1},
	} {
		t.Run(fmt.Sprintf("%d targets, parallel %d", c.targets, c.parallel), func(t *testing.T) {
			var running, most, started atomic.Int32
			release := make(chan struct{})
			done := make(chan []Outcome[string])
			go func() {
				done <- Run(t.Context(), numbered(c.targets), c.parallel, func(_ context.Context, tg Target) (string, error) {
					started.Add(1)
					n := running.Add(1)
					defer running.Add(-1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					<-release
					return tg.Name, nil
				})
			}()
			waitFor(t, fmt.Sprintf("%d calls running", c.want), func() bool { return running.Load() >= int32(c.want) })
			time.Sleep(50 * time.Millisecond)
			if n := started.Load(); n != int32(c.want) {
				t.Errorf("%d calls started while %d were held, want %d", n, c.want, c.want)
			}
			close(release)
			outcomes := <-done
			if m := most.Load(); m != int32(c.want) {
				t.Errorf("at most %d calls ran at once, want %d", m, c.want)
			}
			for i, o := range outcomes {
				if o.Err != nil || !o.Finished || o.Value != "acct-"+strconv.Itoa(i) || o.Target.Name != o.Value {
					t.Errorf("outcome %d = %s", i, describe(o))
				}
			}
		})
	}
}

// TestRunIsolatesFailures checks that failing targets leave the others
// running with a live context, that outcomes keep the targets' order
// whatever order the calls end in, and that a target that could not be
// reached is reported without a call.
func TestRunIsolatesFailures(t *testing.T) {
	targets := numbered(6)
	unreachable := errors.New("load profile p: no such profile")
	targets[4].Err = unreachable
	failed := map[string]error{"acct-1": errors.New("create role: AccessDenied"), "acct-3": errors.New("observe: connection refused")}
	var failures sync.WaitGroup
	failures.Add(len(failed))
	var calls sync.Map
	outcomes := Run(t.Context(), targets, 3, func(ctx context.Context, tg Target) (int, error) {
		calls.Store(tg.Name, true)
		if err := failed[tg.Name]; err != nil {
			failures.Done()
			return -1, err
		}
		// The others end last, and in reverse order, once both failures
		// are in: their context must still be alive.
		failures.Wait()
		n, _ := strconv.Atoi(tg.AccountID)
		time.Sleep(time.Duration(6-n) * 5 * time.Millisecond)
		return n, ctx.Err()
	})
	if _, called := calls.Load("acct-4"); called {
		t.Error("the unreachable target was called")
	}
	for i, o := range outcomes {
		want := failed[o.Target.Name]
		if i == 4 {
			want = unreachable
		}
		if o.Target.AccountID != targets[i].AccountID || !errors.Is(o.Err, want) || (want == nil && o.Value != i) || !o.Finished {
			t.Errorf("outcome %d = %s, want target %d with error %v, finished", i, describe(o), i, want)
		}
	}
	if got, want := namesWhere(outcomes, func(o Outcome[int]) bool { return o.Err != nil }), []string{"acct-1", "acct-3", "acct-4"}; !slices.Equal(got, want) {
		t.Errorf("failed %v, want %v", got, want)
	}
	if got := namesWhere(outcomes, func(o Outcome[int]) bool { return !o.Finished }); len(got) != 0 {
		t.Errorf("unfinished %v, want none", got)
	}
}

// TestRunCancelled cancels a run while three calls are in flight: one is
// interrupted, one fails on its own, one completes anyway. No further call
// starts, and the outcomes say which accounts did not finish.
func TestRunCancelled(t *testing.T) {
	errInterrupted := errors.New("interrupted by the user")
	ctx, cancel := context.WithCancelCause(t.Context())
	var inFlight sync.WaitGroup
	inFlight.Add(3)
	var calls atomic.Int32
	awsFailure := errors.New("AccessDenied")
	done := make(chan []Outcome[string])
	go func() {
		done <- Run(ctx, numbered(6), 3, func(ctx context.Context, tg Target) (string, error) {
			calls.Add(1)
			inFlight.Done()
			<-ctx.Done()
			switch tg.Name {
			case "acct-0":
				return "", fmt.Errorf("stop before all changes were applied: %w", context.Cause(ctx))
			case "acct-1":
				return "", awsFailure
			}
			return "applied", nil
		})
	}()
	inFlight.Wait()
	cancel(errInterrupted)
	outcomes := <-done
	if n := calls.Load(); n != 3 {
		t.Errorf("%d calls, want only the 3 in flight before the cancellation", n)
	}
	check := func(i int, finished bool, want error) {
		t.Helper()
		o := outcomes[i]
		if o.Finished != finished || !errors.Is(o.Err, want) {
			t.Errorf("outcome %d = %s, want finished %v and error %v", i, describe(o), finished, want)
		}
	}
	check(0, false, errInterrupted)
	check(1, true, awsFailure)
	check(2, true, nil)
	for i := 3; i < 6; i++ {
		check(i, false, ErrNotStarted)
		if !errors.Is(outcomes[i].Err, errInterrupted) {
			t.Errorf("outcome %d error %v does not say why it did not start", i, outcomes[i].Err)
		}
	}
	if got, want := namesWhere(outcomes, func(o Outcome[string]) bool { return !o.Finished }), []string{"acct-0", "acct-3", "acct-4", "acct-5"}; !slices.Equal(got, want) {
		t.Errorf("unfinished %v, want %v", got, want)
	}
}

// TestRunAlreadyCancelled checks that a run whose context has ended makes
// no call at all, even though a slot is free.
func TestRunAlreadyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for range 50 {
		outcomes := Run(ctx, numbered(3), 8, func(context.Context, Target) (int, error) {
			t.Fatal("a call started after the context ended")
			return 0, nil
		})
		for i, o := range outcomes {
			if !errors.Is(o.Err, ErrNotStarted) || !errors.Is(o.Err, context.Canceled) || o.Finished {
				t.Fatalf("outcome %d = %s, want not started", i, describe(o))
			}
		}
	}
}
