package provision

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
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
	// Progress, if set, is called from the goroutine running each change.
	Progress func(Event)
	// PropagationWaits are the pauses before retrying a write that failed
	// with NoSuchEntity because IAM has not yet propagated a role created a
	// moment earlier. Nil means DefaultPropagationWaits.
	PropagationWaits []time.Duration
}

// DefaultPropagationWaits bound the propagation retries to about 30 seconds.
var DefaultPropagationWaits = []time.Duration{
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 15 * time.Second,
}

// Apply makes the plan's changes. Changes on the role wait for the role's
// creation; everything else runs concurrently. The first failure cancels
// the changes not yet started; changes in flight finish. On failure or
// cancellation it returns an *ApplyError with what was and was not applied.
func Apply(ctx context.Context, api IAMAPI, p *Plan, opts Options) (Result, error) {
	if opts.Progress == nil {
		opts.Progress = func(Event) {}
	}
	if opts.PropagationWaits == nil {
		opts.PropagationWaits = DefaultPropagationWaits
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu       sync.Mutex
		applied  = make([]bool, len(p.Changes))
		firstErr error
		wg       sync.WaitGroup
	)
	roleCreated := make(chan struct{})
	roleCreateIndex := slices.IndexFunc(p.Changes, func(c Change) bool {
		return c.Action == ActionCreate && c.Resource == ResourceRole
	})
	if roleCreateIndex < 0 {
		close(roleCreated)
	}
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	for i, c := range p.Changes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.Resource != ResourceProvider && i != roleCreateIndex {
				select {
				case <-roleCreated:
				case <-ctx.Done():
					return
				}
			}
			if ctx.Err() != nil {
				return
			}
			opts.Progress(Event{Change: c})
			err := applyChange(ctx, api, p, c, opts)
			opts.Progress(Event{Change: c, Done: true, Err: err})
			if err != nil {
				fail(fmt.Errorf("%s: %w", describeChange(c), err))
				return
			}
			mu.Lock()
			applied[i] = true
			mu.Unlock()
			if i == roleCreateIndex {
				close(roleCreated)
			}
		}()
	}
	wg.Wait()

	var res Result
	res.Applied, res.NotApplied = []Change{}, []Change{}
	for i, c := range p.Changes {
		if applied[i] {
			res.Applied = append(res.Applied, c)
		} else {
			res.NotApplied = append(res.NotApplied, c)
		}
	}
	switch {
	case firstErr != nil:
		return res, &ApplyError{Result: res, Err: firstErr}
	case len(res.NotApplied) > 0:
		return res, &ApplyError{Result: res, Err: fmt.Errorf("stop before all changes were applied: %w", context.Cause(ctx))}
	}
	return res, nil
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
	default:
		return "put inline policy " + c.Name
	}
}

func applyChange(ctx context.Context, api IAMAPI, p *Plan, c Change, opts Options) error {
	switch {
	case c.Resource == ResourceProvider && c.Action == ActionCreate:
		return createProvider(ctx, api, p)
	case c.Resource == ResourceProvider && c.Action == ActionAddAudience:
		return addAudience(ctx, api, p)
	case c.Resource == ResourceRole && c.Action == ActionCreate:
		return createRole(ctx, api, p)
	}
	// The rest act on a role that may have been created a moment ago.
	return retryPropagation(ctx, opts, c, func() error {
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

// retryPropagation retries fn while IAM says the role does not exist yet.
func retryPropagation(ctx context.Context, opts Options, c Change, fn func() error) error {
	err := fn()
	for _, wait := range opts.PropagationWaits {
		if !isNotFound(err) {
			return err
		}
		opts.Progress(Event{Change: c, Message: fmt.Sprintf("role %s not visible yet (IAM propagation); retrying in %s", c.Name, wait)})
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		}
		err = fn()
	}
	return err
}

func createProvider(ctx context.Context, api IAMAPI, p *Plan) error {
	_, err := api.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url:          aws.String(policy.IssuerURL(p.Spec.OrgID)),
		ClientIDList: []string{p.Spec.OrgID},
		Tags:         iamTags(p.Tags()),
	})
	if !isAlreadyExists(err) {
		return err
	}
	// Another run created it between our read and this write: re-read and
	// make sure it has our audience, as the plan would have.
	prov, err := observeProvider(ctx, api, p.ProviderARN)
	if err != nil {
		return err
	}
	if prov != nil && slices.Contains(prov.ClientIDs, p.Spec.OrgID) {
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

func createRole(ctx context.Context, api IAMAPI, p *Plan) error {
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
	// Another run won the race. Continue only if what it created is ours;
	// the dependent changes then converge it (they are idempotent puts).
	out, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(p.RoleName)})
	if err != nil {
		return fmt.Errorf("re-read role created concurrently: %w", err)
	}
	for _, t := range out.Role.Tags {
		if aws.ToString(t.Key) == ManagedTag && aws.ToString(t.Value) == "true" {
			current, err := policy.Decode(aws.ToString(out.Role.AssumeRolePolicyDocument))
			if err != nil || policy.Equal(current, doc) {
				return err
			}
			_, err = api.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(p.RoleName), PolicyDocument: aws.String(doc)})
			return err
		}
	}
	return fmt.Errorf("a role named %s appeared meanwhile: %w", p.RoleName, ErrNotOwned)
}

func iamTags(tags map[string]string) []iamtypes.Tag {
	out := make([]iamtypes.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, iamtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
