package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

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
	// Unused lists existing shard roles that no project needs any more;
	// they are left in place (destroy them by name).
	Unused []string
}

// HasChanges reports whether any role's plan writes anything.
func (s *ShardedPlan) HasChanges() bool {
	return slices.ContainsFunc(s.Plans, (*Plan).HasChanges)
}

// shardProbeWave is how many shard roles are read at once while looking for
// the end of the sequence: a rerun with up to this many roles costs one
// round trip more than an unsharded one.
const shardProbeWave = 4

// observeShardRoles returns the existing roles base-1, base-2, ... up to the
// first name that does not exist, given role 1 as already observed. Roles
// are read in concurrent waves rather than one after another.
func observeShardRoles(ctx context.Context, api IAMAPI, base string, first *ObservedRole) ([]*ObservedRole, error) {
	if first == nil {
		return nil, nil
	}
	roles := []*ObservedRole{first}
	for next := 2; next <= maxShards; next += shardProbeWave {
		wave := make([]*ObservedRole, min(shardProbeWave, maxShards-next+1))
		g, gctx := errgroup.WithContext(ctx)
		for j := range wave {
			g.Go(func() error {
				r, err := observeRole(gctx, api, ShardRoleName(base, next+j))
				wave[j] = r
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		for _, r := range wave {
			if r == nil {
				return roles, nil
			}
			roles = append(roles, r)
		}
	}
	return roles, nil
}

// PlanShards plans a setup that spreads spec.ProjectIDs over roles
// <RoleName>-1..k, each with a trust policy within the account's quota. It
// reads the existing shard roles first (until the first name that does not
// exist) so that projects stay on the role they are on.
func PlanShards(ctx context.Context, c Clients, spec Spec) (*ShardedPlan, error) {
	if spec.AllProjects {
		return nil, &InputError{Flag: "--shard", Rule: "does not apply to --all-projects, whose trust policy does not grow with projects"}
	}
	base := spec.RoleName
	if err := ValidateRoleName("--role-name", ShardRoleName(base, maxShards)); err != nil {
		return nil, &InputError{Flag: "--role-name", Value: base, Rule: "leaves no room for the -N suffix of --shard (at most 60 characters)"}
	}
	first := spec
	first.RoleName = ShardRoleName(base, 1)
	obs, err := Observe(ctx, c, first)
	if err != nil {
		return nil, err
	}
	// The existing shard roles, in order, and the projects each admits;
	// meanwhile, the documents and tags of the other shard roles' managed
	// policies, which the first role's reads listed.
	managed := map[string][]ObservedManagedPolicy{}
	var roles []*ObservedRole
	rg, rctx := errgroup.WithContext(ctx)
	rg.Go(func() error {
		var err error
		roles, err = observeShardRoles(rctx, c.IAM, base, obs.Role)
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
		return nil, err
	}
	current := make([][]string, len(roles))
	for i, role := range roles {
		named := spec
		named.RoleName = ShardRoleName(base, i+1)
		if err := checkOwnership(role, named); err != nil {
			return nil, err
		}
		current[i] = ProjectsAdmitted(role.TrustPolicy, spec.OrgID)
	}
	fits := func(projects []string) bool {
		doc, err := policy.TrustPolicy(policy.Trust{Partition: obs.Partition, Account: obs.Account, OrgID: spec.OrgID,
			ProjectIDs: projects, Condition: spec.ProjectCondition, Branches: spec.Branches})
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
	for i, group := range groups {
		s := spec
		s.RoleName, s.ProjectIDs = ShardRoleName(base, i+1), group
		o := *obs
		o.Role, o.ManagedPolicies = nil, obs.ManagedPolicies
		if i > 0 {
			o.ManagedPolicies = managed[s.RoleName]
		}
		if i < len(roles) {
			o.Role = roles[i]
		}
		if len(group) == 0 {
			sp.Unused = append(sp.Unused, s.RoleName)
			continue
		}
		p, err := NewPlan(s, &o)
		if err != nil {
			return nil, err
		}
		if len(sp.Plans) > 0 {
			p.Changes = slices.DeleteFunc(p.Changes, func(ch Change) bool { return ch.Resource == ResourceProvider })
		}
		sp.Plans = append(sp.Plans, p)
	}
	for i := len(groups); i < len(roles); i++ {
		sp.Unused = append(sp.Unused, ShardRoleName(base, i+1))
	}
	if len(sp.Plans) == 0 {
		return nil, errors.New("plan shards: no project to assign")
	}
	return sp, nil
}
