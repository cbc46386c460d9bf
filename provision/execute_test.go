package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSteps returns n steps named s0..s(n-1) whose run records its start
// and end, sleeps a little, and fails for the names in failing.
func fakeSteps(n int, log *[]string, mu *sync.Mutex, running, peak *atomic.Int32, failing ...string) []step {
	steps := make([]step, n)
	for i := range steps {
		name := fmt.Sprintf("s%d", i)
		steps[i] = step{change: Change{Action: ActionCreate, Resource: ResourceRolePolicy, Name: name}, describe: "write " + name}
		steps[i].run = func(*execution) error {
			now := running.Add(1)
			for {
				old := peak.Load()
				if now <= old || peak.CompareAndSwap(old, now) {
					break
				}
			}
			mu.Lock()
			*log = append(*log, "start "+name)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
			running.Add(-1)
			mu.Lock()
			*log = append(*log, "end "+name)
			mu.Unlock()
			if slices.Contains(failing, name) {
				return errors.New("refused")
			}
			return nil
		}
	}
	return steps
}

func TestExecuteOrderLimitAndFailure(t *testing.T) {
	t.Run("dependencies and the concurrency limit", func(t *testing.T) {
		var (
			log           []string
			mu            sync.Mutex
			running, peak atomic.Int32
		)
		steps := fakeSteps(20, &log, &mu, &running, &peak)
		steps[19].after = []int{0, 5, 10}
		steps[5].after = []int{0}
		res, err := execute(context.Background(), steps, executeOptions{Limit: 3})
		if err != nil || len(res.Applied) != 20 {
			t.Fatalf("applied %d, err %v", len(res.Applied), err)
		}
		if p := peak.Load(); p > 3 || p < 2 {
			t.Errorf("at most %d steps ran at once, want 2 or 3 under a limit of 3", p)
		}
		at := func(entry string) int { return slices.Index(log, entry) }
		for _, dep := range []string{"s0", "s5", "s10"} {
			if at("end "+dep) > at("start s19") {
				t.Errorf("s19 started before %s ended: %v", dep, log)
			}
		}
		if at("end s0") > at("start s5") {
			t.Errorf("s5 started before s0 ended")
		}
	})
	t.Run("a failure starts nothing that waits for it", func(t *testing.T) {
		var (
			log           []string
			mu            sync.Mutex
			running, peak atomic.Int32
		)
		steps := fakeSteps(3, &log, &mu, &running, &peak, "s0")
		steps[1].after = []int{0}
		steps[2].after = []int{1}
		res, err := execute(context.Background(), steps, executeOptions{})
		var ae *ApplyError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), "write s0: refused") {
			t.Fatalf("err %v", err)
		}
		if len(res.Applied) != 0 || len(res.NotApplied) != 3 || slices.Contains(log, "start s1") {
			t.Errorf("applied %v, log %v", res.Applied, log)
		}
	})
	t.Run("an error the step counts as done", func(t *testing.T) {
		var (
			log           []string
			mu            sync.Mutex
			running, peak atomic.Int32
		)
		steps := fakeSteps(2, &log, &mu, &running, &peak, "s0")
		steps[0].done = func(err error) bool { return err.Error() == "refused" }
		steps[1].after = []int{0}
		if res, err := execute(context.Background(), steps, executeOptions{}); err != nil || len(res.Applied) != 2 {
			t.Errorf("applied %v, err %v", res.Applied, err)
		}
	})
}

// TestExecuteProgressSinkIsSerialized: the executor calls the sink from
// many goroutines but never twice at once, so a sink needs no lock.
func TestExecuteProgressSinkIsSerialized(t *testing.T) {
	var (
		log           []string
		mu            sync.Mutex
		running, peak atomic.Int32
		inSink        atomic.Int32
		overlaps      atomic.Int32
		events        int
	)
	steps := fakeSteps(40, &log, &mu, &running, &peak)
	sink := func(Event) {
		if inSink.Add(1) > 1 {
			overlaps.Add(1)
		}
		events++ // unsynchronized on purpose: the race detector checks it
		time.Sleep(100 * time.Microsecond)
		inSink.Add(-1)
	}
	if _, err := execute(context.Background(), steps, executeOptions{Progress: sink}); err != nil {
		t.Fatal(err)
	}
	if overlaps.Load() != 0 || events != 80 {
		t.Errorf("%d overlapping sink calls, %d events (want 0 and 80)", overlaps.Load(), events)
	}
}

// TestExecuteInterruptFinishesInFlight: at an interruption the steps in
// flight finish and are reported as applied; nothing else starts.
func TestExecuteInterruptFinishesInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	release := make(chan struct{})
	steps := []step{
		{change: Change{Name: "slow"}, describe: "slow", run: func(x *execution) error {
			close(started)
			<-release
			return x.calls.Err() // the call's context outlives the interruption
		}},
		{change: Change{Name: "later"}, describe: "later", after: []int{0}, run: func(*execution) error { return nil }},
	}
	var notes []string
	go func() {
		<-started
		cancel()
		time.Sleep(20 * time.Millisecond)
		close(release)
	}()
	res, err := execute(ctx, steps, executeOptions{Progress: func(e Event) {
		if e.Message != "" {
			notes = append(notes, e.Message)
		}
	}})
	if !errors.Is(err, context.Canceled) || len(res.Applied) != 1 || res.Applied[0].Name != "slow" || len(res.NotApplied) != 1 {
		t.Fatalf("applied %v, not applied %v, err %v", res.Applied, res.NotApplied, err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "waiting for 1 change(s) in flight") {
		t.Errorf("notes %q", notes)
	}
}
