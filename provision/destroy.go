package provision

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"golang.org/x/sync/errgroup"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// Actions and resources of a destroy plan.
const (
	// ActionDelete deletes a role, an inline policy or a provider.
	ActionDelete Action = "delete"
	// ActionDetach detaches a managed policy from the role; the managed
	// policy itself is left alone.
	ActionDetach Action = "detach"
	// ResourceAttachedPolicy is a managed policy attached to the role.
	ResourceAttachedPolicy Resource = "attached-policy"
	// ActionRemoveStatement takes the role's statement out of the
	// repository policy of a repository in another account.
	ActionRemoveStatement Action = "remove-statement"
)

// DestroyState is what ObserveDestroy read: everything destroy decides on.
type DestroyState struct {
	Account   string
	Partition string
	CallerARN string
	// Role is nil when no role of that name exists.
	Role *ObservedRole
	// ManagedPolicies are the managed policies under the role's own path
	// (ManagedPolicyPath), attached or not.
	ManagedPolicies []ObservedManagedPolicy
	// Provider is nil when the organization has no provider in the account.
	Provider *ObservedProvider
	// TrustingRoles names every role in the account, the named one
	// included, whose trust policy names the provider as a federated
	// principal, sorted.
	TrustingRoles []string
	// ForeignRepositories are the repository ARNs in other accounts that
	// the role's policies grant, sorted: setup may have put a statement for
	// the role into their repository policies (--registry-profile).
	ForeignRepositories []string
	// RegistryPolicies are those repositories' policies, read through
	// Clients.Registry; nil when it is not set.
	RegistryPolicies []ObservedRepositoryPolicy
}

// Kept is something destroy leaves in place, and why.
type Kept struct {
	Resource Resource `json:"resource"`
	Name     string   `json:"name"`
	Reason   string   `json:"reason"`
	// UsedBy names the other roles that trust a kept provider.
	UsedBy []string `json:"used_by,omitempty"`
	// ManagedBy is ManagedByTerraform or ManagedByCloudFormation for a
	// provider kept because an export created it.
	ManagedBy string `json:"managed_by,omitempty"`
}

// DestroyPlan says what destroy deletes, in order, and what it keeps.
type DestroyPlan struct {
	Account     string `json:"account"`
	Partition   string `json:"partition"`
	CallerARN   string `json:"caller_arn"`
	OrgID       string `json:"org_id"`
	ProviderARN string `json:"provider_arn"`
	RoleName    string `json:"role_name"`
	RoleARN     string `json:"role_arn"`
	// Deletes are the writes, in the order they must happen: the role's
	// policies, the role, then the provider.
	Deletes []Change `json:"deletes"`
	Keeps   []Kept   `json:"keeps"`
	// Adopt is --adopt: delete what an export created too.
	Adopt bool `json:"-"`
	// Steps are the deletions as typed steps, with what was observed of
	// each resource and the deletions each waits for; Deletes are their
	// changes.
	Steps []Step `json:"steps"`
}

// ObserveDestroy reads what destroy needs for the organization's provider
// and the named role: the caller, the role with its policies and tags, the
// provider with its tags, and, when the provider exists, every role in the
// account whose trust policy federates it (ListRoles, all pages). It only
// reads.
func ObserveDestroy(ctx context.Context, c Clients, orgID, roleName string) (*DestroyState, error) {
	st := &DestroyState{}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		if st.Account, st.Partition, st.CallerARN, err = observeCaller(gctx, c.STS); err != nil {
			return err
		}
		providerARN := policy.ProviderARN(st.Partition, st.Account, orgID)
		p, err := observeProvider(gctx, c.IAM, providerARN)
		if err != nil || p == nil {
			return err
		}
		st.Provider = p
		st.TrustingRoles, err = rolesTrusting(gctx, c.IAM, providerARN)
		return err
	})
	g.Go(func() error {
		r, err := observeRole(gctx, c.IAM, roleName)
		st.Role = r
		return err
	})
	g.Go(func() error {
		var err error
		st.ManagedPolicies, err = observeManagedPolicies(gctx, c.IAM, roleName)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if st.Role == nil {
		return st, nil
	}
	st.ForeignRepositories = foreignRepositories(st.Account, st.Role, st.ManagedPolicies)
	if c.Registry != nil && len(st.ForeignRepositories) > 0 {
		var err error
		if st.RegistryPolicies, err = readRegistryPolicies(ctx, c.Registry, st.ForeignRepositories); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// foreignRepositories lists the repository ARNs (not patterns) in other
// accounts that the role's inline policy and its own managed policies
// grant.
func foreignRepositories(account string, role *ObservedRole, managed []ObservedManagedPolicy) []string {
	docs := []string{role.PermissionsPolicy}
	for _, mp := range managed {
		docs = append(docs, mp.Document)
	}
	var out []string
	for _, d := range docs {
		// A document that cannot be parsed names no repository we can
		// act on; destroy goes on without it.
		resources, _ := policy.GrantedResources(d)
		for _, r := range resources {
			repo, err := ParseRepository(r)
			if err == nil && !repo.Pattern && repo.Account != "" && !repo.Local(account) {
				out = append(out, r)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// rolesTrusting lists every role whose trust policy names providerARN as a
// federated principal (in Principal or NotPrincipal). A trust policy that
// cannot be parsed counts as trusting the provider if its text mentions the
// ARN at all: keeping a provider is always the safe mistake.
func rolesTrusting(ctx context.Context, api IAMAPI, providerARN string) ([]string, error) {
	var names []string
	err := eachRole(ctx, api, "find those that trust "+providerARN, func(r iamtypes.Role) {
		if trusts(aws.ToString(r.AssumeRolePolicyDocument), providerARN) {
			names = append(names, aws.ToString(r.RoleName))
		}
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// eachRole calls visit for every role in the account (ListRoles, all
// pages); why completes the error "list roles to ...".
func eachRole(ctx context.Context, api IAMAPI, why string, visit func(iamtypes.Role)) error {
	pages := iam.NewListRolesPaginator(api, &iam.ListRolesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list roles to %s: %w", why, err)
		}
		for _, r := range page.Roles {
			visit(r)
		}
	}
	return nil
}

// trusts reports whether a (possibly URL-encoded) trust policy names the
// provider as a federated principal.
func trusts(document, providerARN string) bool {
	doc, err := policy.Parse(document)
	if err != nil {
		decoded, derr := policy.Decode(document)
		if derr != nil {
			decoded = document
		}
		return strings.Contains(decoded, providerARN)
	}
	for _, st := range doc.Statement {
		for _, p := range []policy.Principals{st.Principal, st.NotPrincipal} {
			if slices.Contains(p["Federated"], providerARN) {
				return true
			}
		}
	}
	return false
}

// NewDestroyPlan decides, from state alone, what destroy deletes:
//
//   - the role, only if it carries ManagedTag=true and no other
//     organization's OrgIDTag; its inline policies are deleted and its
//     managed policies detached first, as IAM requires;
//   - the provider, only if it carries ManagedTag=true (this tool created
//     it) and no role other than one being deleted trusts it.
//
// A role an export created (ManagedTag=terraform or cloudformation) is
// planned for deletion like the tool's own, with each deletion marked with
// that tool (Change.ManagedBy): CheckManagedBy refuses the plan unless
// adopt. Such a provider is deleted only with adopt, and kept otherwise:
// destroy keeps every provider it did not create.
//
// Everything else that exists is kept, with the reason. A provider this
// tool did not create is never deleted. With nothing left, the plan is
// empty, so a second destroy is a no-op.
func NewDestroyPlan(orgID, roleName string, st *DestroyState, adopt bool) *DestroyPlan {
	p := &DestroyPlan{
		Account: st.Account, Partition: st.Partition, CallerARN: st.CallerARN, OrgID: orgID,
		ProviderARN: policy.ProviderARN(st.Partition, st.Account, orgID),
		RoleName:    roleName,
		RoleARN:     fmt.Sprintf("arn:%s:iam::%s:role/%s", st.Partition, st.Account, roleName),
		Deletes:     []Change{}, Keeps: []Kept{}, Adopt: adopt, Steps: []Step{},
	}
	deleteRole := false
	if r := st.Role; r != nil {
		if r.ARN != "" {
			p.RoleARN = r.ARN
		}
		deleteRole = p.planRoleDeletion(st)
	}
	if st.Role == nil {
		// An interrupted setup can leave the role's managed policies
		// without the role.
		p.deleteManagedPolicies(st.ManagedPolicies, "")
	}
	if st.Provider != nil {
		p.planProviderDeletion(st, deleteRole)
	}
	p.linkDeletions()
	return p
}

// addDelete adds a deletion step.
func (p *DestroyPlan) addDelete(s Step) {
	p.Steps = append(p.Steps, s)
	p.Deletes = append(p.Deletes, s.Change)
}

// planRoleDeletion plans the deletion of the role and all it holds, if
// it is ours (or an export's) for the organization, and reports whether
// it is; otherwise it keeps the role.
func (p *DestroyPlan) planRoleDeletion(st *DestroyState) bool {
	r, roleName := st.Role, p.RoleName
	owner, managed := r.Tags[OrgIDTag], r.Tags[ManagedTag]
	switch {
	case managed != ManagedByTool && IaCName(managed) == "":
		p.Keeps = append(p.Keeps, Kept{Resource: ResourceRole, Name: roleName,
			Reason: fmt.Sprintf("not created by circleci-ecr-oidc (no %s=true tag)", ManagedTag)})
		return false
	case owner != "" && owner != p.OrgID:
		p.Keeps = append(p.Keeps, Kept{Resource: ResourceRole, Name: roleName,
			Reason: fmt.Sprintf("created by circleci-ecr-oidc for another CircleCI organization, %s", owner)})
		return false
	}
	roleIaC := iacOwner(r.Tags, p.OrgID)
	add := func(s Step) {
		s.ManagedBy = roleIaC
		p.addDelete(s)
	}
	for _, name := range slices.Sorted(slices.Values(r.InlinePolicies)) {
		reason := "inline policy of the role; IAM deletes a role only without policies"
		if name == PolicyName {
			reason = "the ECR pull policy setup wrote"
		}
		add(Step{Kind: KindInlinePolicy, Observed: &Value{PolicyName: name},
			Change: Change{Action: ActionDelete, Resource: ResourceRolePolicy, Name: roleName + "/" + name, Reason: reason}})
	}
	for _, a := range slices.Sorted(slices.Values(r.AttachedPolicies)) {
		if isOwnManagedPolicy(a, roleName) && ownsManagedPolicy(st.ManagedPolicies, a, p.OrgID, roleIaC) {
			continue // deleted below, with the other policies of ours
		}
		add(Step{Kind: KindAttachment, Observed: &Value{ARN: a, Attached: true},
			Change: Change{Action: ActionDetach, Resource: ResourceAttachedPolicy, Name: roleName + "/" + a,
				Reason: "managed policy attached to the role; it is detached, not deleted"}})
	}
	p.deleteManagedPolicies(st.ManagedPolicies, roleIaC, r.AttachedPolicies...)
	p.removeRegistryStatements(st)
	reason := fmt.Sprintf("tagged %s=true: created by circleci-ecr-oidc", ManagedTag)
	if roleIaC != "" {
		reason = fmt.Sprintf("tagged %s=%s: created by %s from a circleci-ecr-oidc export", ManagedTag, roleIaC, IaCName(roleIaC))
	}
	add(Step{Kind: KindRole, Observed: &Value{ARN: p.RoleARN, Document: r.TrustPolicy, Tags: r.Tags},
		Change: Change{Action: ActionDelete, Resource: ResourceRole, Name: roleName, Reason: reason}})
	return true
}

// planProviderDeletion deletes the organization's provider only if this
// tool created it (or, with adopt, an export did) and no role but the one
// deleted trusts it; otherwise it keeps it, saying why.
func (p *DestroyPlan) planProviderDeletion(st *DestroyState, deleteRole bool) {
	prov := st.Provider
	var users []string
	for _, name := range st.TrustingRoles {
		if deleteRole && name == p.RoleName {
			continue
		}
		users = append(users, name)
	}
	provIaC := iacOwner(prov.Tags, p.OrgID)
	switch {
	case prov.Tags[ManagedTag] != ManagedByTool && provIaC == "":
		p.Keeps = append(p.Keeps, Kept{Resource: ResourceProvider, Name: p.ProviderARN,
			Reason: fmt.Sprintf("not created by circleci-ecr-oidc (no %s=true tag); it was there before setup and is never deleted", ManagedTag), UsedBy: users})
	case len(users) > 0:
		p.Keeps = append(p.Keeps, Kept{Resource: ResourceProvider, Name: p.ProviderARN,
			Reason: "still trusted by other roles: " + strings.Join(users, ", "), UsedBy: users, ManagedBy: provIaC})
	case provIaC != "" && !p.Adopt:
		p.Keeps = append(p.Keeps, Kept{Resource: ResourceProvider, Name: p.ProviderARN, ManagedBy: provIaC,
			Reason: fmt.Sprintf("managed by %s, tagged %s=%s: %s, or pass --adopt to delete it", IaCName(provIaC), ManagedTag, provIaC, iacRemoval(provIaC))})
	default:
		reason := fmt.Sprintf("tagged %s=true and no other role trusts it", ManagedTag)
		if provIaC != "" {
			reason = fmt.Sprintf("tagged %s=%s (created by %s), --adopt, and no other role trusts it", ManagedTag, provIaC, IaCName(provIaC))
		}
		p.addDelete(Step{Kind: KindProvider, Observed: &Value{ARN: p.ProviderARN, ClientIDs: prov.ClientIDs, Tags: prov.Tags},
			Change: Change{Action: ActionDelete, Resource: ResourceProvider, Name: p.ProviderARN, Reason: reason, ManagedBy: provIaC}})
	}
}

// linkDeletions orders the deletions: the role's policies, attachments and
// repository statements go first, together; the role waits for all of
// them (IAM deletes a role only without policies, and ECR turns a deleted
// role's ARN in a policy into an ID no one can read); the provider waits
// for the role, so that it is never deleted while the role still trusts
// it.
func (p *DestroyPlan) linkDeletions() {
	var before, roles []string
	for _, s := range p.Steps {
		switch s.Kind {
		case KindRole:
			roles = append(roles, s.Key())
		case KindProvider:
		default:
			before = append(before, s.Key())
		}
	}
	for i, s := range p.Steps {
		switch s.Kind {
		case KindRole:
			p.Steps[i].After = before
		case KindProvider:
			p.Steps[i].After = append(slices.Clone(before), roles...)
		}
	}
}

// CheckManagedBy returns an *IaCError, before any deletion, when the plan
// deletes what an export created and Adopt is not set: that belongs to
// Terraform or CloudFormation. It names the role when it is one of them.
func (p *DestroyPlan) CheckManagedBy() error {
	if p.Adopt {
		return nil
	}
	i := slices.IndexFunc(p.Deletes, func(c Change) bool { return c.ManagedBy != "" && c.Resource == ResourceRole })
	if i < 0 {
		i = slices.IndexFunc(p.Deletes, func(c Change) bool { return c.ManagedBy != "" })
	}
	if i < 0 {
		return nil
	}
	c := p.Deletes[i]
	what := string(c.Resource) + " " + c.Name
	if c.Resource == ResourceRole {
		what = "role " + c.Name
	}
	return &IaCError{What: what, ManagedBy: c.ManagedBy, Delete: true}
}

// ownsManagedPolicy reports whether the policy with that ARN, found under
// the role's path, carries the ownership tags for the organization, or was
// created by the export that created the role (roleIaC).
func ownsManagedPolicy(found []ObservedManagedPolicy, policyARN, orgID, roleIaC string) bool {
	i := slices.IndexFunc(found, func(mp ObservedManagedPolicy) bool { return mp.ARN == policyARN })
	return i >= 0 && managedPolicyDeletable(found[i], orgID, roleIaC)
}

// managedPolicyDeletable reports whether destroy deletes a managed policy
// found under the role's path: the tool's for the organization, or an
// export's (managedPolicyOwner).
func managedPolicyDeletable(mp ObservedManagedPolicy, orgID, roleIaC string) bool {
	return managedPolicyOwner(mp, roleIaC, orgID) != "" || checkManagedPolicyOwnership(mp, Spec{OrgID: orgID}) == nil
}

// deleteManagedPolicies plans the deletion of the managed policies under
// the role's path that are ours or the role's export's, and keeps the
// others.
func (p *DestroyPlan) deleteManagedPolicies(found []ObservedManagedPolicy, roleIaC string, attachedTo ...string) {
	attached := map[string]bool{}
	for _, a := range attachedTo {
		attached[a] = true
	}
	for _, mp := range found {
		if !managedPolicyDeletable(mp, p.OrgID, roleIaC) {
			p.Keeps = append(p.Keeps, Kept{Resource: ResourceManagedPolicy, Name: mp.ARN,
				Reason: fmt.Sprintf("under the role's path but not created by circleci-ecr-oidc for this organization (%s=%q, %s=%q)", ManagedTag, mp.Tags[ManagedTag], OrgIDTag, mp.Tags[OrgIDTag])})
			continue
		}
		p.addDelete(Step{Kind: KindManagedPolicy, Observed: &Value{ARN: mp.ARN, Document: mp.Document, Tags: mp.Tags, Attached: attached[mp.ARN]},
			Change: Change{Action: ActionDelete, Resource: ResourceManagedPolicy, Name: mp.ARN, ManagedBy: managedPolicyOwner(mp, roleIaC, p.OrgID),
				Reason: "holds repository grants setup wrote beyond the inline policy; detached, its old versions deleted, then deleted"}})
	}
}

// removeRegistryStatements plans taking the role's statement out of the
// repository policies of the repositories in other accounts that the role
// was granted, when they could be read (--registry-profile); otherwise it
// keeps them, saying which statement the registry's owner should remove.
func (p *DestroyPlan) removeRegistryStatements(st *DestroyState) {
	sid := policy.RepositorySid(p.RoleARN)
	for _, arn := range st.ForeignRepositories {
		i := slices.IndexFunc(st.RegistryPolicies, func(o ObservedRepositoryPolicy) bool { return o.ARN == arn })
		if i < 0 {
			p.Keeps = append(p.Keeps, Kept{Resource: ResourceRepositoryPolicy, Name: arn,
				Reason: fmt.Sprintf("in another account, not read: its policy may hold statement %s for this role; pass --registry-profile with that account's credentials to remove it, or ask the registry's owner to", sid)})
			continue
		}
		observed := st.RegistryPolicies[i]
		_, removed, remaining, err := policy.RemoveStatement(observed.Policy, sid)
		switch {
		case err != nil:
			p.Keeps = append(p.Keeps, Kept{Resource: ResourceRepositoryPolicy, Name: arn, Reason: fmt.Sprintf("its policy cannot be parsed (%v); remove statement %s by hand", err, sid)})
		case !removed:
		default:
			reason := fmt.Sprintf("statement %s, which setup merged for this role; the other %d statement(s) are kept", sid, remaining)
			if remaining == 0 {
				reason = fmt.Sprintf("statement %s, which setup merged for this role, is the only one: the repository policy is deleted", sid)
			}
			p.addDelete(Step{Kind: KindRepositoryPolicy, Observed: &Value{ARN: arn, Document: observed.Policy},
				Change: Change{Action: ActionRemoveStatement, Resource: ResourceRepositoryPolicy, Name: arn, Reason: reason}})
		}
	}
}

// Destroy makes the plan's deletions in order and stops at the first
// failure, returning an *ApplyError with what was and was not done. An
// entity that is already gone (NoSuchEntity) counts as deleted, so an
// interrupted destroy can simply be run again. A plan that deletes what an
// export created, without Adopt, is refused before any deletion
// (CheckManagedBy). As in Apply, the end of ctx
// (an interruption) starts no further deletion but lets the one in flight
// finish, within DefaultInterruptGrace, so the report is exact.
func Destroy(ctx context.Context, c Clients, p *DestroyPlan, progress func(Event)) (Result, error) {
	if err := p.CheckManagedBy(); err != nil {
		return Result{Applied: []Change{}, NotApplied: p.Deletes}, err
	}
	return execute(ctx, p.destroySteps(c, 0), executeOptions{Progress: progress})
}

// destroySteps turns the plan's deletions into the executor's steps, their
// indices starting at offset, each waiting for the deletions its After
// names (linkDeletions).
func (p *DestroyPlan) destroySteps(c Clients, offset int) []step {
	t := &target{iam: c.IAM, registry: c.Registry, spec: Spec{RoleName: p.RoleName, OrgID: p.OrgID, Adopt: p.Adopt}, roleARN: p.RoleARN}
	return graph(p.Steps, t, offset, graphOptions{describe: Change.String, done: isNotFound})
}
