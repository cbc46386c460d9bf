package provision

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// RoleDescription is the description put on roles the tool creates.
const RoleDescription = "Lets CircleCI jobs pull ECR images with OIDC; managed by circleci-ecr-oidc"

// Event reports the progress of one change during Apply.
type Event struct {
	Change Change
	// Done is false when the change starts or waits, true when it ended.
	Done bool
	// Err is the change's error when it ended in failure.
	Err error
	// Message is a progress note such as a propagation wait.
	Message string
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

// applySteps turns the plan's changes into the executor's steps, their
// indices starting at offset (a sharded setup runs several plans in one
// graph). Changes on the role wait for the role's creation; a new managed
// policy is created meanwhile and waits for the role only to be attached.
func (p *Plan) applySteps(api IAMAPI, opts Options, offset int) []step {
	roleCreate := slices.IndexFunc(p.Changes, func(c Change) bool {
		return c.Action == ActionCreate && c.Resource == ResourceRole
	})
	steps := make([]step, len(p.Changes))
	for i, c := range p.Changes {
		s := step{change: c, describe: describeChange(c)}
		if roleCreate >= 0 && i != roleCreate && waitsForRole(c) {
			s.after = []int{offset + roleCreate}
		}
		s.run = func(x *execution) error {
			roleReady := func() error {
				if roleCreate < 0 {
					return nil
				}
				return x.waitFor(offset+roleCreate, "role "+p.RoleName+" to be created")
			}
			o := opts
			o.Progress = x.progress
			return applyChange(x.sched, x.calls, api, p, c, o, roleReady)
		}
		steps[i] = s
	}
	return steps
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

// waitsForRole reports whether a change must wait for the role's creation
// before it starts. The provider does not involve the role; a managed
// policy is created, updated or deleted on its own, and a new one waits
// only for its attachment (createManagedPolicy), so it is written while
// the role is being created.
func waitsForRole(c Change) bool {
	switch c.Resource {
	case ResourceProvider:
		return false
	case ResourceManagedPolicy:
		return c.Action == ActionAttach
	}
	return true
}

// describeChange phrases a change as the verb-first action that failed.
func describeChange(c Change) string {
	switch {
	case c.Resource == ResourceProvider && c.Action == ActionCreate:
		return "create OIDC provider " + c.Name
	case c.Resource == ResourceProvider:
		return "add the organization ID as an audience of " + c.Name
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

// applyChange makes one change. sched ends waits between retries; ctx
// carries the AWS calls themselves (see Apply).
func applyChange(sched, ctx context.Context, api IAMAPI, p *Plan, c Change, opts Options, roleReady func() error) error {
	switch {
	case c.Resource == ResourceManagedPolicy:
		return applyManagedPolicy(sched, ctx, api, p, c, opts, roleReady)
	case c.Resource == ResourceProvider && c.Action == ActionCreate:
		return createProvider(sched, ctx, api, p, c, opts)
	case c.Resource == ResourceProvider && c.Action == ActionAddAudience:
		return addAudience(ctx, api, p)
	case c.Resource == ResourceRole && c.Action == ActionCreate:
		return createRole(sched, ctx, api, p, c, opts)
	case c.Resource == ResourceRepositoryPolicy:
		return setRepositoryPolicy(sched, ctx, p, c, opts)
	}
	// The rest act on a role that may have been created a moment ago.
	return retryPropagation(sched, opts, c, "role "+p.RoleName, func() error {
		switch c.Resource {
		case ResourceTrustPolicy:
			doc, err := p.TrustPolicy.JSON()
			if err != nil {
				return err
			}
			_, err = api.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(p.RoleName), PolicyDocument: aws.String(doc)})
			return err
		case ResourceRolePolicy:
			doc, err := p.PermissionsPolicy.JSON()
			if err != nil {
				return err
			}
			_, err = api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(p.RoleName), PolicyName: aws.String(PolicyName), PolicyDocument: aws.String(doc)})
			return err
		case ResourceRole:
			_, err := api.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(p.RoleName), Tags: iamTags(p.Tags())})
			return err
		}
		return fmt.Errorf("unknown change %s", c)
	})
}

// retryPropagation retries fn while IAM says the entity (what, e.g. "role
// ci-pull") does not exist yet. It waits on sched, so an interruption ends
// the waiting but never a call fn has started.
func retryPropagation(sched context.Context, opts Options, c Change, what string, fn func() error) error {
	err := fn()
	for _, wait := range opts.PropagationWaits {
		if !isNotFound(err) {
			return err
		}
		opts.Progress(Event{Change: c, Message: fmt.Sprintf("%s not visible yet (IAM propagation); retrying in %s", what, wait)})
		select {
		case <-time.After(wait):
		case <-sched.Done():
			return fmt.Errorf("stop waiting for %s to propagate: %w", what, context.Cause(sched))
		}
		err = fn()
	}
	return err
}

func createProvider(sched, ctx context.Context, api IAMAPI, p *Plan, c Change, opts Options) error {
	_, err := api.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url:          aws.String(policy.IssuerURL(p.Spec.OrgID)),
		ClientIDList: []string{p.Spec.OrgID},
		Tags:         iamTags(p.Tags()),
	})
	if !isAlreadyExists(err) {
		return err
	}
	// Another run created it between our read and this write (or our own
	// earlier attempt landed and its answer was lost): re-read, and give it
	// our audience if it lacks it, as the plan would have. Its tags are
	// left alone: the provider is shared.
	var out *iam.GetOpenIDConnectProviderOutput
	err = retryPropagation(sched, opts, c, "OIDC provider "+p.ProviderARN, func() error {
		var err error
		out, err = api.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(p.ProviderARN)})
		return err
	})
	if err != nil {
		return fmt.Errorf("re-read OIDC provider created concurrently: %w", err)
	}
	if slices.Contains(out.ClientIDList, p.Spec.OrgID) {
		return nil
	}
	return addAudience(ctx, api, p)
}

func addAudience(ctx context.Context, api IAMAPI, p *Plan) error {
	_, err := api.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{
		OpenIDConnectProviderArn: aws.String(p.ProviderARN), ClientID: aws.String(p.Spec.OrgID),
	})
	return err
}

func createRole(sched, ctx context.Context, api IAMAPI, p *Plan, c Change, opts Options) error {
	doc, err := p.TrustPolicy.JSON()
	if err != nil {
		return err
	}
	_, err = api.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(p.RoleName),
		AssumeRolePolicyDocument: aws.String(doc),
		Description:              aws.String(RoleDescription),
		Tags:                     iamTags(p.Tags()),
	})
	if !isAlreadyExists(err) {
		return err
	}
	// Another run won the race (or our own earlier attempt landed and its
	// answer was lost). Continue only if the role passes the same ownership
	// rule the plan applies; the dependent changes then converge it (they
	// are idempotent puts), and the trust policy and tags are converged
	// here, since the plan, expecting a new role, holds no changes for them.
	var out *iam.GetRoleOutput
	err = retryPropagation(sched, opts, c, "role "+p.RoleName, func() error {
		var err error
		out, err = api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(p.RoleName)})
		return err
	})
	if err != nil {
		return fmt.Errorf("re-read role created concurrently: %w", err)
	}
	existing := &ObservedRole{Tags: map[string]string{}}
	for _, t := range out.Role.Tags {
		existing.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if err := checkOwnership(existing, p.Spec); err != nil {
		return fmt.Errorf("another run created a role named %s meanwhile: %w", p.RoleName, err)
	}
	current, err := policy.Decode(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		return fmt.Errorf("re-read role created concurrently: %w", err)
	}
	if !policy.Equal(current, doc) {
		if _, err := api.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(p.RoleName), PolicyDocument: aws.String(doc)}); err != nil {
			return err
		}
	}
	if len(missingTags(existing.Tags, p.Tags())) == 0 {
		return nil
	}
	if err := checkTagCount(p.RoleName, existing.Tags, p.Tags()); err != nil {
		return err
	}
	_, err = api.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(p.RoleName), Tags: iamTags(p.Tags())})
	return err
}

func iamTags(tags map[string]string) []iamtypes.Tag {
	out := make([]iamtypes.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, iamtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
