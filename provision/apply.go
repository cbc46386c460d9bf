package provision

import (
	"context"
	"fmt"
	"time"
)

// Event reports the progress of one change during Apply.
type Event struct {
	Change Change
	// Done is false when the change starts or waits, true when it ended.
	Done bool
	// Err is the change's error when it ended in failure.
	Err error
	// Message is a progress note such as a propagation wait.
	Message string
	// Account labels the account of the change in a run over many
	// accounts; "" for one account.
	Account string
}

// Result says which changes Apply made and which it did not.
type Result struct {
	Applied    []Change `json:"applied"`
	NotApplied []Change `json:"not_applied"`
}

// ApplyError is returned when Apply stops early. It carries the Result so
// the front end can say exactly what was and was not done.
type ApplyError struct {
	Result Result
	Err    error
}

func (e *ApplyError) Error() string { return e.Err.Error() }
func (e *ApplyError) Unwrap() error { return e.Err }

// Options tune Apply.
type Options struct {
	// Progress, if set, is called from the goroutine running each change,
	// and once, with only a Message, when ctx ends while changes are in
	// flight. It must be safe for concurrent use.
	Progress func(Event)
	// PropagationWaits are the pauses before retrying a write that failed
	// with NoSuchEntity because IAM has not yet propagated a role created a
	// moment earlier. Nil means DefaultPropagationWaits.
	PropagationWaits []time.Duration
	// InterruptGrace bounds how long AWS calls already in flight when ctx
	// ends may still take to return. Zero means DefaultInterruptGrace.
	InterruptGrace time.Duration
	// Registry reaches the registry account for repository-policy changes
	// (Clients.Registry); a plan with such changes fails them without it.
	Registry func(region string) RegistryAPI
	// RepositoryLocks serialize the writes to each repository policy; the
	// Apply calls of one run (a sharded setup's roles) share them. Nil
	// means a set of its own.
	RepositoryLocks *RepositoryLocks
}

// DefaultInterruptGrace is long enough for an IAM write and the SDK's
// retries of it, and short enough that an interrupted run still ends soon.
const DefaultInterruptGrace = 30 * time.Second

// DefaultPropagationWaits bound the propagation retries to about 30 seconds.
var DefaultPropagationWaits = []time.Duration{
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 15 * time.Second,
}

// Apply makes the plan's changes. Changes on the role wait for the role's
// creation; everything else runs concurrently. The first failure, or the
// end of ctx (an interruption), stops changes from starting; changes in
// flight finish, because an AWS call cut off half way leaves unknown
// whether it landed, and the report must say exactly what was done. Their
// calls run on a context that outlives ctx by at most opts.InterruptGrace.
// On failure or cancellation Apply returns an *ApplyError with what was and
// was not applied; its error wraps ctx's cause when ctx ended. A plan that
// changes what an export created, without Spec.Adopt, is refused before
// any write (CheckManagedBy).
func Apply(ctx context.Context, api IAMAPI, p *Plan, opts Options) (Result, error) {
	if err := p.CheckManagedBy(); err != nil {
		return Result{Applied: []Change{}, NotApplied: p.Changes}, err
	}
	opts = opts.withDefaults()
	return execute(ctx, p.applySteps(api, opts, 0), executeOptions{Progress: opts.Progress, InterruptGrace: opts.InterruptGrace})
}

// withDefaults fills the options left unset.
func (opts Options) withDefaults() Options {
	if opts.Progress == nil {
		opts.Progress = func(Event) {}
	}
	if opts.PropagationWaits == nil {
		opts.PropagationWaits = DefaultPropagationWaits
	}
	if opts.InterruptGrace <= 0 {
		opts.InterruptGrace = DefaultInterruptGrace
	}
	if opts.RepositoryLocks == nil {
		opts.RepositoryLocks = NewRepositoryLocks()
	}
	return opts
}

// applySteps turns the plan's steps that write into the executor's steps,
// their indices starting at offset (a sharded setup runs several plans in
// one graph). Each waits for the steps its After names: the role's
// creation, for the changes on the role.
func (p *Plan) applySteps(api IAMAPI, opts Options, offset int) []step {
	t := &target{iam: api, registry: opts.Registry, opts: opts, spec: p.Spec, region: p.Region, roleARN: p.RoleARN}
	return graph(p.Steps, t, offset, graphOptions{describe: describeChange})
}

// outlive returns a context for AWS calls that keeps ctx's values but not
// its cancellation: it ends grace after ctx ends, or when stop is called.
// Its cause then wraps context.Canceled, so that running out of grace
// still reads as the interruption it follows.
func outlive(ctx context.Context, grace time.Duration) (calls context.Context, stop func()) {
	calls, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stopAfter := context.AfterFunc(ctx, func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel(fmt.Errorf("give up waiting %s for the AWS call after the interruption: %w", grace, context.Canceled))
		case <-calls.Done():
		}
	})
	return calls, func() {
		stopAfter()
		cancel(nil)
	}
}

// describeChange phrases a change as the verb-first action that failed.
func describeChange(c Change) string {
	switch {
	case c.Resource == ResourceProvider && c.Action == ActionCreate:
		return "create OIDC provider " + c.Name
	case c.Resource == ResourceProvider:
		return "add the missing audiences to " + c.Name
	case c.Resource == ResourceRole && c.Action == ActionCreate:
		return "create role " + c.Name
	case c.Resource == ResourceRole:
		return "tag role " + c.Name
	case c.Resource == ResourceTrustPolicy:
		return "update the trust policy of role " + c.Name
	case c.Resource == ResourceRepositoryPolicy:
		return "set the repository policy of " + c.Name
	case c.Resource == ResourceManagedPolicy && c.Action == ActionCreate:
		return "create and attach managed policy " + c.Name
	case c.Resource == ResourceManagedPolicy && c.Action == ActionUpdate:
		return "update managed policy " + c.Name
	case c.Resource == ResourceManagedPolicy && c.Action == ActionAttach:
		return "attach managed policy " + c.Name
	case c.Resource == ResourceManagedPolicy && c.Action == ActionTag:
		return "tag managed policy " + c.Name
	case c.Resource == ResourceManagedPolicy:
		return "delete managed policy " + c.Name
	default:
		return "put inline policy " + c.Name
	}
}
