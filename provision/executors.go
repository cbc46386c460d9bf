package provision

import (
	"context"
	"fmt"
	"time"
)

// executor makes one step: the write its action names, with the values the
// step carries. x.sched ends waits (between retries, or for another step);
// x.calls carries the AWS calls themselves.
type executor func(x *execution, t *target, s *Step) error

// executorFor is the one place that maps a kind of resource to the
// executor that writes it; each executor lives in its own exec_*.go file.
// A new kind is a new file and a line here.
func executorFor(k Kind) executor {
	switch k {
	case KindProvider:
		return runProvider
	case KindRole:
		return runRole
	case KindTrustPolicy:
		return runTrustPolicy
	case KindInlinePolicy:
		return runInlinePolicy
	case KindManagedPolicy:
		return runManagedPolicy
	case KindAttachment:
		return runAttachment
	case KindTags:
		return runTags
	case KindRepositoryPolicy:
		return runRepositoryPolicy
	}
	return nil
}

// target is what the executors of one plan's steps share: the clients, the
// options, and the role and organization every step acts for.
type target struct {
	iam      IAMAPI
	registry func(region string) RegistryAPI
	opts     Options
	// spec holds the role's name, the organization and --adopt: the
	// ownership rule a re-read after a lost race applies.
	spec   Spec
	region string
	// roleARN is the role's ARN, which names its repository statements.
	roleARN string
	// roleStep is the graph index of the role's creation, or -1 when the
	// plan does not create the role.
	roleStep int
}

// roleIsNew reports whether the plan creates the role.
func (t *target) roleIsNew() bool { return t.roleStep >= 0 }

// graphOptions say how a plan's steps behave in the graph.
type graphOptions struct {
	// describe phrases a change as the action that failed, verb first.
	describe func(Change) string
	// done, if set, says which errors count as success.
	done func(error) bool
}

// graph turns the steps of one plan that write into the executor's steps,
// their indices starting at offset (a sharded setup runs several plans in
// one graph), each waiting for the steps its After names.
func graph(steps []Step, t *target, offset int, o graphOptions) []step {
	index := map[string]int{}
	t.roleStep = -1
	for _, s := range steps {
		if !s.IsChange() {
			continue
		}
		index[s.Key()] = offset + len(index)
		if s.Kind == KindRole && s.Action == ActionCreate {
			t.roleStep = index[s.Key()]
		}
	}
	out := make([]step, 0, len(index))
	for _, s := range steps {
		if !s.IsChange() {
			continue
		}
		run := executorFor(s.Kind)
		g := step{change: s.Change, describe: o.describe(s.Change), done: o.done}
		for _, key := range s.After {
			if i, ok := index[key]; ok {
				g.after = append(g.after, i)
			}
		}
		g.run = func(x *execution) error {
			if run == nil {
				return unknownStep(&s)
			}
			return run(x, t, &s)
		}
		out = append(out, g)
	}
	return out
}

// unknownStep is the error of a step no executor knows how to make.
func unknownStep(s *Step) error {
	return fmt.Errorf("unknown change %s", s.Change)
}

// waitForRole waits, when the plan creates the role, until it exists.
func (x *execution) waitForRole(t *target) error {
	if t.roleStep < 0 {
		return nil
	}
	return x.waitFor(t.roleStep, "role "+t.spec.RoleName+" to be created")
}

// retryPropagation retries fn while IAM says the entity (what, e.g. "role
// ci-pull") does not exist yet. It waits on x.sched, so an interruption
// ends the waiting but never a call fn has started.
func (x *execution) retryPropagation(t *target, c Change, what string, fn func() error) error {
	return x.retry(t, c, isNotFound, func(wait time.Duration) string {
		return fmt.Sprintf("%s not visible yet (IAM propagation); retrying in %s", what, wait)
	}, "stop waiting for "+what+" to propagate", fn)
}

// retry calls fn again after each of the propagation waits while its
// error is one again says to retry, noting each wait as the change's
// progress.
func (x *execution) retry(t *target, c Change, again func(error) bool, note func(time.Duration) string, stop string, fn func() error) error {
	err := fn()
	for _, wait := range t.opts.PropagationWaits {
		if !again(err) {
			return err
		}
		x.progress(Event{Change: c, Message: note(wait)})
		select {
		case <-time.After(wait):
		case <-x.sched.Done():
			return fmt.Errorf("%s: %w", stop, context.Cause(x.sched))
		}
		err = fn()
	}
	return err
}
