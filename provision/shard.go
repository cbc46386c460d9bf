package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"golang.org/x/sync/errgroup"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// maxShards bounds how many roles --shard may spread projects over; with
// the largest trust-policy quota (4,096) that is far beyond any real
// organization's project count.
const maxShards = 100

// ShardRoleName returns the name of the i-th (1-based) role of a sharded
// setup: <base>-<i>.
func ShardRoleName(base string, i int) string {
	return base + "-" + strconv.Itoa(i)
}

// ProjectsAdmitted returns the CircleCI project IDs a trust policy written
// by this tool admits, from the project-id claim condition or the
// org/<ORG>/project/<P>/user/* sub patterns. Other conditions are ignored.
func ProjectsAdmitted(trust, orgID string) []string {
	doc, err := policy.Parse(trust)
	if err != nil {
		return nil
	}
	prefix := "org/" + orgID + "/project/"
	var out []string
	for _, st := range doc.Statement {
		for op, conds := range st.Condition {
			for key, values := range conds {
				k := strings.ToLower(key)
				switch {
				case op == "StringEquals" && strings.HasSuffix(k, ":"+policy.ProjectIDClaim):
					out = append(out, values...)
				case op == "StringLike" && strings.HasSuffix(k, ":sub"):
					for _, v := range values {
						rest, ok := strings.CutPrefix(v, prefix)
						if p, _, found := strings.Cut(rest, "/"); ok && found && p != "*" {
							out = append(out, p)
						}
					}
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// AssignShards distributes projects over roles so that each role's project
// set fits (as fits decides). It keeps every requested project on the role
// that admits it today, so that a job's role ARN does not change when
// other projects are added or removed, and puts new projects, in sorted
// order, on the first role with room, opening a new role when none has.
// current[i] lists the projects role i+1 admits today.
func AssignShards(projects []string, current [][]string, fits func([]string) bool) ([][]string, error) {
	wanted := map[string]bool{}
	for _, p := range projects {
		wanted[p] = true
	}
	placed := map[string]bool{}
	groups := make([][]string, len(current))
	for i, cur := range current {
		for _, p := range cur {
			if wanted[p] && !placed[p] {
				groups[i] = append(groups[i], p)
				placed[p] = true
			}
		}
	}
	fresh := slices.Clone(projects)
	slices.Sort(fresh)
	for _, p := range slices.Compact(fresh) {
		if placed[p] {
			continue
		}
		if !fits([]string{p}) {
			return nil, fmt.Errorf("assign project %s: a trust policy for this one project alone exceeds the quota", p)
		}
		i := slices.IndexFunc(groups, func(g []string) bool { return fits(append(slices.Clone(g), p)) })
		if i < 0 {
			if len(groups) >= maxShards {
				return nil, fmt.Errorf("assign project %s: more than %d roles would be needed", p, maxShards)
			}
			groups = append(groups, nil)
			i = len(groups) - 1
		}
		groups[i] = append(groups[i], p)
		placed[p] = true
	}
	for i := range groups {
		slices.Sort(groups[i])
	}
	return groups, nil
}

// ShardedPlan is the plan of a sharded setup: one Plan per role, in role
// order. Only the first carries the provider's change, since the roles
// share the organization's provider.
type ShardedPlan struct {
	Plans []*Plan
	// Removals delete the shard roles that no longer admit any requested
	// project, with their policies, so that no role goes on admitting
	// projects the user removed. They never delete the provider.
	Removals []*DestroyPlan
	// Closed are those roles instead when the user keeps them
	// (Spec.KeepUnusedRoles): each gets a trust policy that admits no one.
	Closed []*ClosedRole
}

// Changes are every write of the sharded plan, in the order it lists
// them: each role's changes, the removals' deletions, then the closings.
func (s *ShardedPlan) Changes() []Change {
	all := []Change{}
	for _, p := range s.Plans {
		all = append(all, p.Changes...)
	}
	for _, r := range s.Removals {
		all = append(all, r.Deletes...)
	}
	for _, closed := range s.Closed {
		all = append(all, changesOf([]Step{closed.Step})...)
	}
	return all
}

// HasChanges reports whether any role's plan writes anything.
func (s *ShardedPlan) HasChanges() bool { return len(s.Changes()) > 0 }

// CheckManagedBy is the first refusal of the roles' plans and removals to
// change what an export created (Plan.CheckManagedBy), or nil.
func (s *ShardedPlan) CheckManagedBy() error {
	for _, p := range s.Plans {
		if err := p.CheckManagedBy(); err != nil {
			return err
		}
	}
	for _, r := range s.Removals {
		if err := r.CheckManagedBy(); err != nil {
			return err
		}
	}
	return nil
}

// shardNumbers lists, sorted, the N of every role named base-N (1 <= N <=
// maxShards) in the account. It lists all roles, so that a gap left by a
// role deleted by hand hides none of the roles after it.
func shardNumbers(ctx context.Context, api IAMAPI, base string) ([]int, error) {
	var numbers []int
	err := eachRole(ctx, api, "find the shard roles "+base+"-N", func(r iamtypes.Role) {
		// Role names are unique without regard to case.
		name := aws.ToString(r.RoleName)
		if len(name) <= len(base)+1 || !strings.EqualFold(name[:len(base)+1], base+"-") {
			return
		}
		digits := name[len(base)+1:]
		n, err := strconv.Atoi(digits)
		if err == nil && n >= 1 && n <= maxShards && strconv.Itoa(n) == digits {
			numbers = append(numbers, n)
		}
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(numbers)
	return slices.Compact(numbers), nil
}

// observeShardRoles returns the existing roles base-1 ... base-k, where k is
// the highest of the shard numbers found (shardNumbers); missing roles in
// between are nil.
// Role 1 (first, possibly nil) was already observed; the others are read
// concurrently, at most shardReadBound at a time.
func observeShardRoles(ctx context.Context, api IAMAPI, base string, numbers []int, first *ObservedRole) ([]*ObservedRole, error) {
	if len(numbers) == 0 {
		if first != nil {
			return []*ObservedRole{first}, nil
		}
		return nil, nil
	}
	roles := make([]*ObservedRole, numbers[len(numbers)-1])
	roles[0] = first
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(shardReadBound)
	for _, n := range numbers {
		if n == 1 {
			continue
		}
		g.Go(func() error {
			r, err := observeRole(gctx, api, ShardRoleName(base, n))
			roles[n-1] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return roles, nil
}

// shardReadBound bounds the shard roles read at once; each read is four
// concurrent calls.
const shardReadBound = 8

// PlanShards plans a setup that spreads spec.ProjectIDs over roles
// <RoleName>-1..k, each with a trust policy within the account's quota. It
// reads every existing shard role first, so that projects stay on the role
// they are on, and plans the deletion of each role of ours that no longer
// admits any requested project.
func PlanShards(ctx context.Context, c Clients, spec Spec) (*ShardedPlan, error) {
	if spec.AllProjects {
		return nil, &InputError{Field: FieldShard, Rule: "does not apply to --all-projects, whose trust policy does not grow with projects"}
	}
	base := spec.RoleName
	if err := ValidateRoleName(FieldRoleName, ShardRoleName(base, maxShards)); err != nil {
		return nil, &InputError{Field: FieldRoleName, Value: base, Rule: "leaves no room for the -N suffix of --shard (at most 60 characters)"}
	}
	first := spec
	first.RoleName = ShardRoleName(base, 1)
	obs, numbers, err := observeFirstShard(ctx, c, first, base)
	if err != nil {
		return nil, err
	}
	roles, managed, current, err := observeShards(ctx, c, spec, obs, numbers)
	if err != nil {
		return nil, err
	}
	fits := func(projects []string) bool {
		doc, err := policy.TrustPolicy(spec.trust(obs.Partition, obs.Account, projects))
		if err != nil {
			return false
		}
		size, err := doc.Size()
		return err == nil && size <= obs.TrustPolicyQuota
	}
	groups, err := AssignShards(spec.ProjectIDs, current, fits)
	if err != nil {
		return nil, err
	}
	sp := &ShardedPlan{}
	for i := range max(len(groups), len(roles)) {
		name := ShardRoleName(base, i+1)
		var role *ObservedRole
		if i < len(roles) {
			role = roles[i]
		}
		if i >= len(groups) || len(groups[i]) == 0 {
			if role != nil && spec.KeepUnusedRoles {
				c, err := closedRole(spec, name, role, current[i])
				if err != nil {
					return nil, err
				}
				sp.Closed = append(sp.Closed, c)
			} else if role != nil {
				found := managed[name]
				if i == 0 {
					found = obs.ManagedPolicies
				}
				sp.Removals = append(sp.Removals, removalPlan(spec.OrgID, name, obs, role, found, spec.Adopt))
			}
			continue
		}
		s := spec
		s.RoleName, s.ProjectIDs = name, groups[i]
		o := *obs
		o.Role, o.ManagedPolicies = role, obs.ManagedPolicies
		if i > 0 {
			o.ManagedPolicies = managed[name]
		}
		p, err := NewPlan(s, &o)
		if err != nil {
			return nil, err
		}
		if len(sp.Plans) > 0 {
			// The first role's plan holds the provider's step.
			p.Steps = slices.DeleteFunc(p.Steps, func(st Step) bool { return st.Kind == KindProvider })
			p.Changes = changesOf(p.Steps)
		}
		sp.Plans = append(sp.Plans, p)
	}
	if len(sp.Plans) == 0 {
		return nil, errors.New("plan shards: no project to assign")
	}
	return sp, nil
}

// observeFirstShard observes the first shard role as setup observes a
// role, and lists the numbers of the existing shard roles. The account's
// roles are listed with the first role's reads, not after them: the list
// needs only the base name.
func observeFirstShard(ctx context.Context, c Clients, first Spec, base string) (obs *Observed, numbers []int, err error) {
	og, octx := errgroup.WithContext(ctx)
	og.Go(func() (err error) {
		obs, err = Observe(octx, c, first)
		return err
	})
	og.Go(func() (err error) {
		numbers, err = shardNumbers(octx, c.IAM, base)
		return err
	})
	if err := og.Wait(); err != nil {
		return nil, nil, err
	}
	return obs, numbers, nil
}

// observeShards reads the existing shard roles, in order, and the projects
// each admits, refusing a role the tool may not change; meanwhile, the
// documents and tags of the other shard roles' managed policies, which the
// first role's reads (obs) listed.
func observeShards(ctx context.Context, c Clients, spec Spec, obs *Observed, numbers []int) ([]*ObservedRole, map[string][]ObservedManagedPolicy, [][]string, error) {
	base := spec.RoleName
	managed := map[string][]ObservedManagedPolicy{}
	var roles []*ObservedRole
	rg, rctx := errgroup.WithContext(ctx)
	rg.Go(func() error {
		var err error
		roles, err = observeShardRoles(rctx, c.IAM, base, numbers, obs.Role)
		return err
	})
	var lists [][]ObservedManagedPolicy
	for n := 2; n <= maxShards; n++ {
		if found := obs.managedByPath[ManagedPolicyPath(ShardRoleName(base, n))]; len(found) > 0 {
			managed[ShardRoleName(base, n)] = found
			lists = append(lists, found)
		}
	}
	rg.Go(func() error { return readManagedPolicies(rctx, c.IAM, lists...) })
	if err := rg.Wait(); err != nil {
		return nil, nil, nil, err
	}
	current := make([][]string, len(roles))
	for i, role := range roles {
		if role == nil {
			continue
		}
		named := spec
		named.RoleName = ShardRoleName(base, i+1)
		if err := checkOwnership(role, named); err != nil {
			return nil, nil, nil, err
		}
		current[i] = ProjectsAdmitted(role.TrustPolicy, spec.OrgID)
	}
	return roles, managed, current, nil
}

// ApplyShards makes a sharded plan's changes as one graph: every role's
// changes, as Apply makes them, and the removals (or, kept, the closing)
// of the roles no longer needed, each once every kept role's changes have
// succeeded. The writes to a repository policy that several roles share
// are serialized (RepositoryLocks). What changes an export created is
// refused before any write, as in Apply.
func ApplyShards(ctx context.Context, c Clients, sp *ShardedPlan, opts Options) (Result, error) {
	if err := sp.CheckManagedBy(); err != nil {
		return Result{Applied: []Change{}, NotApplied: sp.Changes()}, err
	}
	opts = opts.withDefaults()
	if opts.Registry == nil {
		opts.Registry = c.Registry
	}
	var steps []step
	for _, p := range sp.Plans {
		steps = append(steps, p.applySteps(c.IAM, opts, len(steps))...)
	}
	kept := make([]int, len(steps))
	for i := range kept {
		kept[i] = i
	}
	for _, r := range sp.Removals {
		steps = append(steps, after(kept, r.destroySteps(c, len(steps)))...)
	}
	for _, closed := range sp.Closed {
		steps = append(steps, after(kept, closed.steps(c.IAM, opts, len(steps)))...)
	}
	return execute(ctx, steps, executeOptions{Progress: opts.Progress, InterruptGrace: opts.InterruptGrace})
}

// after makes each of steps wait for the steps numbered first.
func after(first []int, steps []step) []step {
	for i := range steps {
		steps[i].after = append(steps[i].after, first...)
	}
	return steps
}

// removalPlan plans the deletion of a shard role of ours that no longer
// admits a requested project: its policies, its managed policies and the
// role, as destroy would, but never the provider, which the other shard
// roles trust. Like the plans of the other shard roles, it takes a role an
// export created only with adopt (checkOwnership refused it before).
func removalPlan(orgID, name string, obs *Observed, role *ObservedRole, managed []ObservedManagedPolicy, adopt bool) *DestroyPlan {
	p := NewDestroyPlan(orgID, name, &DestroyState{
		Account: obs.Account, Partition: obs.Partition, CallerARN: obs.CallerARN,
		Role: role, ManagedPolicies: managed,
	}, adopt)
	for i := range p.Steps {
		if p.Steps[i].Kind == KindRole {
			admitted := ProjectsAdmitted(role.TrustPolicy, orgID)
			p.Steps[i].Reason = fmt.Sprintf("admits no requested project any more (its trust policy admits %s)", listSome(admitted))
		}
	}
	p.Deletes = changesOf(p.Steps)
	return p
}
