package provision

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"golang.org/x/sync/errgroup"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// Cross-account repositories. A role may use a repository in another
// account only if both sides allow it: the role's permissions policy (which
// NewPlan always grants) and the repository's own policy in the registry
// account. With Clients.Registry (--registry-profile) the plan reads each
// such repository's policy and merges one statement for the role into it;
// without, it lists the statement for the registry's owner to add.

// ObservedRepositoryPolicy is what Observe read about a repository in
// another account through Clients.Registry.
type ObservedRepositoryPolicy struct {
	// ARN is the repository's ARN, as in RepositoryStatus.
	ARN string
	// Found is false when the registry has no such repository.
	Found bool
	// Policy is the repository policy as the registry returned it; "" when
	// the repository has none.
	Policy string
}

// RegistryPolicyStatement is the statement the repository policy of a
// repository in another account needs so that the role may use it.
type RegistryPolicyStatement struct {
	// Repository is the repository's ARN, or ARN pattern.
	Repository string `json:"repository"`
	// Statement names the role as principal with the access level's actions.
	Statement policy.Statement `json:"statement"`
	// Managed is true when setup merges the statement into the repository
	// policy itself (--registry-profile), false when the registry's owner
	// must add it.
	Managed bool `json:"managed"`
}

// observeRegistryPolicies reads, concurrently, the repository policy of
// every named repository (not pattern) in another account.
func observeRegistryPolicies(ctx context.Context, registry func(region string) RegistryAPI, spec Spec, partition, account string) ([]ObservedRepositoryPolicy, error) {
	var arns []string
	for _, input := range spec.Repositories {
		repo, err := ParseRepository(input)
		if err != nil {
			return nil, err
		}
		if repo.Pattern || repo.Local(account) {
			continue
		}
		arns = append(arns, repo.ARN(partition, account, spec.Region))
	}
	return readRegistryPolicies(ctx, registry, arns)
}

// readRegistryPolicies reads, concurrently, the repository policy of each
// repository ARN through the registry's clients.
func readRegistryPolicies(ctx context.Context, registry func(region string) RegistryAPI, arns []string) ([]ObservedRepositoryPolicy, error) {
	var (
		mu  sync.Mutex
		out = []ObservedRepositoryPolicy{}
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxConcurrentDescribes)
	for _, arn := range arns {
		repo, err := ParseRepository(arn)
		if err != nil {
			return nil, err
		}
		api := registry(repo.Region)
		g.Go(func() error {
			got, err := readRepositoryPolicy(gctx, api, repo, arn)
			if err != nil {
				return err
			}
			mu.Lock()
			out = append(out, got)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b ObservedRepositoryPolicy) int { return strings.Compare(a.ARN, b.ARN) })
	return out, nil
}

// readRepositoryPolicy reads one repository's policy in its registry: ""
// when it has none, Found false when the repository does not exist.
func readRepositoryPolicy(ctx context.Context, api RegistryAPI, repo Repository, arn string) (ObservedRepositoryPolicy, error) {
	got := ObservedRepositoryPolicy{ARN: arn, Found: true}
	res, err := api.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RegistryId: aws.String(repo.Account), RepositoryName: aws.String(repo.Name)})
	switch errorCode(err) {
	case "":
		if err != nil {
			return got, fmt.Errorf("read the repository policy of %s with --registry-profile: %w", arn, err)
		}
		got.Policy = aws.ToString(res.PolicyText)
	case "RepositoryPolicyNotFoundException":
	case "RepositoryNotFoundException":
		got.Found = false
	default:
		return got, fmt.Errorf("read the repository policy of %s with --registry-profile: %w", arn, err)
	}
	return got, nil
}

// RepositoryLocks serialize the read-merge-write of each repository policy
// within one run, so that two roles' statements (the shards of a sharded
// setup) merged into the same policy do not overwrite each other. ECR has
// no conditional write, so another process writing meanwhile can still win
// the race; the re-read just before each write keeps that window short.
type RepositoryLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// NewRepositoryLocks returns an empty set of locks.
func NewRepositoryLocks() *RepositoryLocks {
	return &RepositoryLocks{locks: map[string]*sync.Mutex{}}
}

// lock locks the repository ARN's policy and returns the unlock.
func (l *RepositoryLocks) lock(arn string) func() {
	l.mu.Lock()
	m, ok := l.locks[arn]
	if !ok {
		m = &sync.Mutex{}
		l.locks[arn] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// registryPolicy returns what Observe read for a repository ARN, if it read
// the registry at all.
func (o *Observed) registryPolicy(arn string) (ObservedRepositoryPolicy, bool) {
	for _, p := range o.RegistryPolicies {
		if p.ARN == arn {
			return p, true
		}
	}
	return ObservedRepositoryPolicy{}, false
}

// resolveRegistryStates turns "other account (not looked up)" into found or
// missing for the repositories Observe could read through the registry.
func (o *Observed) resolveRegistryStates() {
	for i, r := range o.Repositories {
		if r.State != RepoOtherAccount {
			continue
		}
		if p, ok := o.registryPolicy(r.ARN); ok {
			o.Repositories[i].State = RepoMissing
			if p.Found {
				o.Repositories[i].State = RepoFound
			}
		}
	}
}

// planRegistry plans the repository-policy side of every repository in
// another account: a change that merges the role's statement where the
// registry could be read and the statement differs, and otherwise the
// statement for the registry's owner.
func (p *Plan) planRegistry() error {
	p.RegistryPolicyStatements = []RegistryPolicyStatement{}
	st := policy.RepositoryStatement(p.RoleARN, p.Spec.Access)
	foreign := 0
	for _, r := range p.Repositories {
		repo, err := ParseRepository(r.Input)
		if err != nil {
			return err
		}
		if repo.Local(p.Account) {
			continue
		}
		foreign++
		entry := RegistryPolicyStatement{Repository: r.ARN, Statement: st}
		observed, read := p.Observed.registryPolicy(r.ARN)
		switch {
		case repo.Pattern:
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s names repositories in another account by prefix: a repository policy belongs to one repository, so the owner of each matching repository must add the statement shown for it", r.Input))
		case read && observed.Found:
			entry.Managed = true
			merged, changed, err := policy.MergeStatement(observed.Policy, st)
			if err != nil {
				return fmt.Errorf("merge the role's statement into the repository policy of %s: %w", r.ARN, err)
			}
			if !changed {
				p.addStep(Step{Kind: KindRepositoryPolicy, Change: Change{Action: ActionNone, Resource: ResourceRepositoryPolicy, Name: r.ARN, Reason: "holds the statement " + st.Sid},
					Observed: &Value{ARN: r.ARN, Document: observed.Policy}, Desired: &Value{ARN: r.ARN, Document: observed.Policy, Statement: &st}})
				if narrowed, _ := policy.Narrowed(observed.Policy, st); narrowed {
					p.Warnings = append(p.Warnings, fmt.Sprintf("the repository policy of %s holds the statement %s for role %s with a condition its owner added; it is kept as the owner narrowed it", r.ARN, st.Sid, p.RoleName))
				}
				break
			}
			c := Change{Action: ActionUpdate, Resource: ResourceRepositoryPolicy, Name: r.ARN,
				Reason: "add or update the statement " + st.Sid + " for role " + p.RoleName + "; the policy's other statements are kept"}
			if observed.Policy == "" {
				c.Action, c.Reason = ActionCreate, "the repository has no policy; allow role "+p.RoleName
			}
			p.addStep(Step{Kind: KindRepositoryPolicy, Change: c, Observed: &Value{ARN: r.ARN, Document: observed.Policy},
				Desired: &Value{ARN: r.ARN, Document: merged, Statement: &st}})
		case read:
			p.Warnings = append(p.Warnings, fmt.Sprintf("repository %s does not exist in its registry, so its policy cannot allow the role yet; run setup again once it exists", r.ARN))
		}
		p.RegistryPolicyStatements = append(p.RegistryPolicyStatements, entry)
	}
	// Observe reads the registry only when it has a client for it, and then
	// leaves a non-nil list even if there was nothing to read.
	if foreign == 0 && p.Observed.RegistryPolicies != nil {
		p.Warnings = append(p.Warnings, "--registry-profile is not used: no --repo is an ARN in another account than "+p.Account)
	}
	return nil
}
