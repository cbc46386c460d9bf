package provision

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// Action is what a change does.
type Action string

// The actions a plan can contain.
const (
	ActionCreate      Action = "create"
	ActionAddAudience Action = "add-audience"
	ActionUpdate      Action = "update"
	ActionTag         Action = "tag"
)

// Resource is the kind of thing a change acts on.
type Resource string

// The resources a plan can change.
const (
	ResourceProvider    Resource = "oidc-provider"
	ResourceRole        Resource = "iam-role"
	ResourceTrustPolicy Resource = "trust-policy"
	ResourceRolePolicy  Resource = "role-policy"
	// ResourceRepositoryPolicy is the repository policy of a repository in
	// another account (registry.go); its change's Name is the repository ARN.
	ResourceRepositoryPolicy Resource = "repository-policy"
)

// Change is one write the plan will make. Its JSON form is part of the
// command-line contract: {action, resource, name}, plus a reason.
type Change struct {
	Action   Action   `json:"action"`
	Resource Resource `json:"resource"`
	Name     string   `json:"name"`
	// Reason says why the change is needed, for people.
	Reason string `json:"reason,omitempty"`
	// ManagedBy is ManagedByTerraform or ManagedByCloudFormation when the
	// change acts on what an export created (the role's changes when the
	// role was): setup and destroy refuse it without --adopt.
	ManagedBy string `json:"managed_by,omitempty"`
}

func (c Change) String() string {
	return fmt.Sprintf("%s %s %s", c.Action, c.Resource, c.Name)
}

// Plan is the difference between the desired and the observed state, as
// typed changes. It is what the wizard's review screen, plan, --output json
// and Apply all consume.
type Plan struct {
	Spec     Spec      `json:"-"`
	Observed *Observed `json:"-"`

	Account     string `json:"account"`
	Partition   string `json:"partition"`
	Region      string `json:"region"`
	CallerARN   string `json:"caller_arn"`
	ProviderARN string `json:"provider_arn"`
	RoleARN     string `json:"role_arn"`
	RoleName    string `json:"role_name"`
	PolicyName  string `json:"policy_name"`
	// Image is the image URI the snippet pulls.
	Image string `json:"image"`
	// ProviderExists and RoleExists describe the observed state.
	ProviderExists bool `json:"provider_exists"`
	RoleExists     bool `json:"role_exists"`
	// ProviderManagedBy and RoleManagedBy are ManagedByTerraform or
	// ManagedByCloudFormation when an export applied with that tool created
	// the provider or the role for this organization, else "".
	ProviderManagedBy string `json:"provider_managed_by,omitempty"`
	RoleManagedBy     string `json:"role_managed_by,omitempty"`

	TrustPolicy policy.Document `json:"trust_policy"`
	// PermissionsPolicy is the inline policy: ecr:GetAuthorizationToken
	// and the repository grants that fit the inline quota; ManagedPolicies
	// hold the rest (none unless there are more than about 160).
	PermissionsPolicy policy.Document `json:"permissions_policy"`
	ManagedPolicies   []ManagedPolicy `json:"managed_policies"`
	// TrustPolicySize and PermissionsPolicySize are measured as IAM counts.
	TrustPolicySize       int `json:"trust_policy_size"`
	TrustPolicyQuota      int `json:"trust_policy_quota"`
	PermissionsPolicySize int `json:"permissions_policy_size"`
	RolePolicyQuota       int `json:"role_policy_quota"`
	// ManagedPolicyQuota is the size quota of each managed policy, and
	// AttachedPoliciesQuota how many managed policies the role may have.
	ManagedPolicyQuota    int `json:"managed_policy_quota"`
	AttachedPoliciesQuota int `json:"attached_policies_quota"`

	Repositories []RepositoryStatus `json:"repositories"`
	// Steps list every resource of the plan, those that already match
	// included (ActionNone), with their observed and desired values; the
	// executors make them. Changes are the steps that write.
	Steps    []Step   `json:"steps"`
	Changes  []Change `json:"changes"`
	Warnings []string `json:"warnings"`
	// RegistryPolicyStatements are the statements the repository policies
	// of repositories in other accounts need, one per such repository;
	// setup merges those marked managed (--registry-profile).
	RegistryPolicyStatements []RegistryPolicyStatement `json:"registry_policy_statements"`

	mode planMode
}

// planMode says for whom a plan is made other than setup.
type planMode struct {
	// lenient plans despite the ownership refusals (checkOwnership, of
	// the role and its managed policies): verify reports them as failed
	// items instead.
	lenient bool
	// export plans for an empty account that ExportPlan made up: no image
	// is checked, since an export configures none.
	export bool
}

// addStep adds a step to the plan, and to its changes when it writes.
func (p *Plan) addStep(s Step) {
	p.Steps = append(p.Steps, s)
	if s.IsChange() {
		p.Changes = append(p.Changes, s.Change)
	}
}

// refuse returns err unless the plan is lenient (verify's).
func (p *Plan) refuse(err error) error {
	if p.mode.lenient {
		return nil
	}
	return err
}

// HasChanges reports whether applying the plan would write anything.
func (p *Plan) HasChanges() bool { return len(p.Changes) > 0 }

// QuotaError is returned when a document does not fit the account's quota.
type QuotaError struct {
	Document    string
	Size, Quota int
	Hint        string
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("the %s would be %d characters, over the account's quota of %d: %s", e.Document, e.Size, e.Quota, e.Hint)
}

// NewPlan compares the desired state with the observed one. It refuses
// (with an error wrapping ErrNotOwned) to plan changes to a role this tool
// does not own unless spec.Adopt, refuses documents over quota, and fails
// on missing repositories unless spec.AllowMissingRepos. Changes to what an
// export created are planned as usual and marked with the tool that owns
// them (Change.ManagedBy); CheckManagedBy refuses them.
func NewPlan(spec Spec, obs *Observed) (*Plan, error) {
	return newPlan(spec, obs, planMode{})
}

// newPlan is NewPlan, made for verify or export as mode says.
func newPlan(spec Spec, obs *Observed, mode planMode) (*Plan, error) {
	p := &Plan{mode: mode, Steps: []Step{},
		Spec: spec, Observed: obs,
		Account: obs.Account, Partition: obs.Partition, Region: spec.Region, CallerARN: obs.CallerARN,
		ProviderARN:      policy.ProviderARN(obs.Partition, obs.Account, spec.OrgID),
		RoleARN:          fmt.Sprintf("arn:%s:iam::%s:role/%s", obs.Partition, obs.Account, spec.RoleName),
		RoleName:         spec.RoleName,
		PolicyName:       PolicyName,
		ProviderExists:   obs.Provider != nil,
		RoleExists:       obs.Role != nil,
		Repositories:     obs.Repositories,
		TrustPolicyQuota: obs.TrustPolicyQuota, RolePolicyQuota: obs.RolePolicyQuota,
		ManagedPolicyQuota:    cmp.Or(obs.ManagedPolicyQuota, DefaultManagedPolicyQuota),
		AttachedPoliciesQuota: cmp.Or(obs.AttachedPoliciesQuota, DefaultAttachedPoliciesQuota),
		ManagedPolicies:       []ManagedPolicy{},
		Changes:               []Change{}, Warnings: []string{},
	}
	if obs.Role != nil && obs.Role.ARN != "" {
		p.RoleARN = obs.Role.ARN
	}

	arns, err := p.checkRepositories()
	if err != nil {
		return nil, err
	}
	p.TrustPolicy, err = policy.TrustPolicy(spec.trust(obs.Partition, obs.Account, spec.ProjectIDs))
	if err != nil {
		return nil, err
	}
	if err := p.packPermissions(arns); err != nil {
		return nil, err
	}
	if err := p.checkSizes(); err != nil {
		return nil, err
	}
	if !mode.export {
		if p.Image, err = p.image(); err != nil {
			return nil, err
		}
	}
	if len(spec.Branches) > 0 {
		p.Warnings = append(p.Warnings, "--branch pins the role through the V2 token's sub: V1 tokens and custom-webhook pipelines never match, and CircleCI does not document which token aws_auth image pulls present, so a branch-pinned pull role may fail; prefer project restrictions for image pulls")
	}
	if spec.AllProjects {
		p.Warnings = append(p.Warnings, "--all-projects: every project in the organization can assume this role")
	}
	if w := partitionConditionWarning(spec, obs.Partition); w != "" {
		p.Warnings = append(p.Warnings, w)
	}
	if err := p.planProvider(); err != nil {
		return nil, err
	}
	if err := p.planRole(); err != nil {
		return nil, err
	}
	if err := p.planManagedPolicies(); err != nil {
		return nil, err
	}
	if err := p.planRegistry(); err != nil {
		return nil, err
	}
	p.linkRole()
	return p, nil
}

// linkRole makes every step that acts on the role wait for its creation,
// when the plan creates it. The provider does not involve the role; a
// managed policy is created, updated or deleted on its own, and a new one
// waits only for its attachment (createManagedPolicy), so it is written
// while the role is being created.
func (p *Plan) linkRole() {
	if p.RoleExists {
		return
	}
	role := Step{Kind: KindRole, Change: Change{Name: p.RoleName}}.Key()
	for i, s := range p.Steps {
		own := s.Kind == KindProvider || s.Kind == KindRole || (s.Resource == ResourceManagedPolicy && s.Kind != KindAttachment)
		if !own {
			p.Steps[i].After = append(p.Steps[i].After, role)
		}
	}
}

// checkRepositories returns the ARNs to grant, and fails on missing
// repositories unless --allow-missing-repos; it warns about those in
// other accounts.
func (p *Plan) checkRepositories() ([]string, error) {
	var missing []string
	arns := make([]string, 0, len(p.Repositories))
	for _, r := range p.Repositories {
		arns = append(arns, r.ARN)
		switch r.State {
		case RepoMissing:
			missing = append(missing, r.Input)
		case RepoOtherAccount:
			p.Warnings = append(p.Warnings, fmt.Sprintf("repository %s is in another account: its registry must also allow this role in its repository policy; give the registry's owner the statement shown, or pass --registry-profile with credentials for that account to merge it", r.Input))
		}
	}
	if len(missing) > 0 {
		if !p.Spec.AllowMissingRepos {
			return nil, fmt.Errorf("find ECR repositories in %s: %s not found; create them first, fix --repo, or pass --allow-missing-repos", p.Spec.Region, listSome(missing))
		}
		p.Warnings = append(p.Warnings, fmt.Sprintf("repositories not found (granted anyway because of --allow-missing-repos): %s", listSome(missing)))
	}
	return arns, nil
}

// partitionConditionWarning says why the trust policy restricts projects
// through sub in a partition where AWS does not document the project-id
// condition key, or warns when the user chose the key there anyway.
func partitionConditionWarning(spec Spec, partition string) string {
	if spec.AllProjects || policy.ClaimKeyDocumented(partition) {
		return ""
	}
	switch spec.ProjectCondition {
	case "":
		return fmt.Sprintf("partition %s: AWS documents the %s condition key only in the aws partition, so projects are restricted through sub (org/<ORG>/project/<P>/user/*) instead; pass --project-condition claim to use the key anyway", partition, policy.ProjectIDClaim)
	case policy.ClaimKey:
		return fmt.Sprintf("partition %s: AWS documents the %s condition key only in the aws partition; if STS does not supply it here, no token can assume the role: check with verify --assume, or use --project-condition sub", partition, policy.ProjectIDClaim)
	}
	return ""
}

func (p *Plan) checkSizes() error {
	var err error
	if p.TrustPolicySize, err = p.TrustPolicy.Size(); err != nil {
		return err
	}
	if p.PermissionsPolicySize, err = p.PermissionsPolicy.Size(); err != nil {
		return err
	}
	if p.TrustPolicySize > p.TrustPolicyQuota {
		perProject := 0
		if n := len(p.Spec.ProjectIDs); n > 1 {
			// The audiences are in both documents, so the difference is
			// the projects' alone.
			one, _ := policy.TrustPolicy(p.Spec.trust(p.Partition, p.Account, p.Spec.ProjectIDs[:1]))
			base, _ := one.Size()
			perProject = (p.TrustPolicySize - base) / (n - 1)
			fit := 1 + (p.TrustPolicyQuota-base)/max(perProject, 1)
			return &QuotaError{Document: "trust policy", Size: p.TrustPolicySize, Quota: p.TrustPolicyQuota,
				Hint: fmt.Sprintf("%d of the %d projects fit; pass --shard to spread them over roles <name>-1..k, or ask AWS to raise the quota (up to 4096)", max(fit, 0), n)}
		}
		return &QuotaError{Document: "trust policy", Size: p.TrustPolicySize, Quota: p.TrustPolicyQuota, Hint: "shorten the inputs"}
	}
	return nil
}

// packPermissions spreads the repository grants over the inline policy and
// as many managed policies as the role has room for: the attached-policies
// quota less the policies others attached. It never widens a grant; when
// the ARNs do not fit, the error says how many do and which prefix/*
// patterns would make them fit.
func (p *Plan) packPermissions(arns []string) error {
	others, inline := 0, p.RolePolicyQuota
	if role := p.Observed.Role; role != nil {
		for _, a := range role.AttachedPolicies {
			if !isOwnManagedPolicy(a, p.RoleName) {
				others++
			}
		}
		// The role's other inline policies share the aggregate quota.
		inline -= role.OtherInlineSize
	}
	limits := policy.PackLimits{Inline: inline, Managed: p.ManagedPolicyQuota, ManagedCount: max(p.AttachedPoliciesQuota-others, 0)}
	packed, err := packGrants(p.Spec, arns, p.Partition, p.Account, limits)
	var packErr *policy.PackError
	if errors.As(err, &packErr) {
		return &PermissionsQuotaError{Fit: packErr.Fit, Total: packErr.Total, Limits: limits, OtherAttached: others,
			Prefixes: suggestPrefixes(p.Spec.Repositories, packErr.Fit)}
	}
	if err != nil {
		return err
	}
	p.PermissionsPolicy = packed.Inline
	for i, doc := range packed.Managed {
		name := ManagedPolicyName(p.RoleName, i+1)
		size, err := doc.Size()
		if err != nil {
			return err
		}
		p.ManagedPolicies = append(p.ManagedPolicies, ManagedPolicy{
			Name: name, ARN: ManagedPolicyARN(p.Partition, p.Account, p.RoleName, name),
			Document: doc, Size: size, Repositories: len(packed.Groups[i+1]),
		})
	}
	return nil
}

// maxListed is how many names a message lists before it says how many more
// there are: a line naming 1,000 repositories helps nobody, and the JSON
// output's repositories field has them all.
const maxListed = 10

// listSome joins names for a one-line message, the first maxListed of
// them and then how many more.
func listSome(names []string) string {
	if len(names) <= maxListed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
}

// PermissionsQuotaError is returned when the exact repository grants do
// not fit in the inline policy and the managed policies the role may have.
type PermissionsQuotaError struct {
	// Fit of the Total distinct repository ARNs fit.
	Fit, Total int
	Limits     policy.PackLimits
	// OtherAttached counts managed policies others attached to the role.
	OtherAttached int
	// Prefixes are --repo patterns that would bring the grants within
	// the quotas, or nil when the names share no prefix/ to group by.
	Prefixes []string
}

func (e *PermissionsQuotaError) Error() string {
	room := fmt.Sprintf("the inline policy (%d characters) and %d managed policies of %d characters", e.Limits.Inline, e.Limits.ManagedCount, e.Limits.Managed)
	if e.OtherAttached > 0 {
		room += fmt.Sprintf(" (the role already has %d managed policies attached by others)", e.OtherAttached)
	}
	hint := "name the repositories under shared prefixes (team/service) and grant team/* instead of each one"
	if len(e.Prefixes) > 0 {
		hint = "grant prefixes instead of single repositories, e.g. --repo " + strings.Join(e.Prefixes, " --repo ")
	}
	return fmt.Sprintf("grant %d repositories: only %d fit in %s; %s, or ask AWS to raise AttachedPoliciesPerRoleQuota", e.Total, e.Fit, room, hint)
}

// suggestPrefixes picks the name prefixes (the part before the first "/")
// whose team/* patterns, replacing the repositories under them, bring the
// number of grants down to fit, largest groups first. It returns nil when
// even replacing every group would not be enough.
func suggestPrefixes(inputs []string, fit int) []string {
	groups := map[string]int{}
	total := 0
	for _, input := range inputs {
		repo, err := ParseRepository(input)
		if err != nil {
			continue
		}
		total++
		if repo.Pattern {
			continue
		}
		if prefix, _, ok := strings.Cut(repo.Name, "/"); ok {
			groups[prefix]++
		}
	}
	names := slices.SortedFunc(maps.Keys(groups), func(a, b string) int {
		return cmp.Or(cmp.Compare(groups[b], groups[a]), strings.Compare(a, b))
	})
	var out []string
	for _, name := range names {
		if total <= fit {
			break
		}
		if groups[name] < 2 {
			break
		}
		total -= groups[name] - 1
		out = append(out, name+"/*")
	}
	if total > fit {
		return nil
	}
	return out
}

// image returns the snippet's image: the one given, or the first named
// repository at :latest. The image's repository must be granted, or the
// pull the snippet configures would be denied.
func (p *Plan) image() (string, error) {
	if p.Spec.Image != "" {
		img, err := ParseImage(FieldImage, p.Spec.Image)
		if err != nil {
			return "", err
		}
		target := img.RepositoryARN(p.Partition)
		for _, r := range p.Repositories {
			if grants(r.ARN, target) {
				return img.String(), nil
			}
		}
		return "", &InputError{Field: FieldImage, Value: p.Spec.Image, Rule: "its repository is not among the --repo values, so the role could not pull it"}
	}
	for _, r := range p.Repositories {
		repo, err := ParseRepository(r.Input)
		if err != nil || repo.Pattern {
			continue
		}
		return Image{
			Account: cmp.Or(repo.Account, p.Account), Region: cmp.Or(repo.Region, p.Region),
			Domain: registryDomain(cmp.Or(repo.Partition, p.Partition)), Repository: repo.Name, Tag: "latest",
		}.String(), nil
	}
	return "", &InputError{Field: FieldImage, Rule: "is required when every --repo is a prefix/* pattern"}
}

func (p *Plan) planProvider() error {
	prov := p.Observed.Provider
	want := p.Spec.ClientIDs()
	s := Step{Kind: KindProvider, Change: Change{Action: ActionNone, Resource: ResourceProvider, Name: p.ProviderARN,
		Reason: "exists, and its audiences include the organization ID"},
		Desired: &Value{ARN: p.ProviderARN, ClientIDs: want, Tags: p.Tags()}}
	if len(want) > 1 {
		s.Reason += " and " + p.describeAudiences(want[1:])
	}
	if prov == nil {
		s.Action, s.Reason = ActionCreate, "no OIDC provider for "+policy.IssuerURL(p.Spec.OrgID)
		if len(want) > 1 {
			s.Reason += "; its audiences: the organization ID and " + p.describeAudiences(want[1:])
		}
		p.addStep(s)
		return nil
	}
	p.ProviderManagedBy = iacOwner(prov.Tags, p.Spec.OrgID)
	s.Observed = &Value{ARN: p.ProviderARN, ClientIDs: prov.ClientIDs, Tags: prov.Tags}
	// Client IDs are only ever added: the provider is shared, and another
	// tool may rely on those the tool did not add.
	missing := missingClientIDs(prov.ClientIDs, want)
	s.Desired.ClientIDs = append(slices.Clone(prov.ClientIDs), missing...)
	if n := len(s.Desired.ClientIDs); n > MaxClientIDs {
		return &QuotaError{Document: "OIDC provider's client ID list", Size: n, Quota: MaxClientIDs,
			Hint: fmt.Sprintf("IAM counts client IDs, not characters: the provider has %d and needs %d more; remove client IDs nothing uses any more (aws iam remove-client-id-from-open-id-connect-provider)", len(prov.ClientIDs), len(missing))}
	}
	if len(missing) > 0 {
		s.Action, s.ManagedBy = ActionAddAudience, p.ProviderManagedBy
		s.Reason = p.addAudienceReason(prov.ClientIDs, missing)
	}
	if slices.Contains(missing, p.Spec.OrgID) && slices.Contains(prov.ClientIDs, "sts.amazonaws.com") && !slices.Contains(want, "sts.amazonaws.com") {
		p.Warnings = append(p.Warnings, "the provider lists sts.amazonaws.com as an audience; CircleCI tokens carry the organization ID, so that entry matches nothing")
	}
	p.addStep(s)
	return nil
}

// missingClientIDs returns the client IDs of want that have lacks, in
// want's order.
func missingClientIDs(have, want []string) []string {
	var out []string
	for _, id := range want {
		if !slices.Contains(have, id) {
			out = append(out, id)
		}
	}
	return out
}

// describeAudiences names each audience with the setting that gives it:
// "audience api://ci (organization gh/acme custom audience)".
func (p *Plan) describeAudiences(values []string) string {
	parts := make([]string, 0, len(values))
	for _, v := range values {
		if v == p.Spec.OrgID {
			parts = append(parts, "the organization ID")
			continue
		}
		parts = append(parts, fmt.Sprintf("audience %s (%s)", v, orNoSource(p.Spec.audienceSource(v))))
	}
	return strings.Join(parts, ", ")
}

func orNoSource(source string) string {
	return cmp.Or(source, "configured")
}

// audiencesNotAdmitted returns the audiences of the spec that the trust
// policy live refuses: those for which a token meeting its other
// conditions as far as the spec tells them fails its aud condition. A
// document that cannot be read refuses none here; its difference shows
// otherwise.
func (p *Plan) audiencesNotAdmitted(live string) []string {
	doc, err := policy.Parse(live)
	if err != nil {
		return nil
	}
	provider := policy.ProviderPath(p.Spec.OrgID)
	project := "*"
	if len(p.Spec.ProjectIDs) > 0 {
		project = p.Spec.ProjectIDs[0]
	}
	var out []string
	for _, aud := range p.Spec.ClientIDs() {
		d := policy.Evaluate(doc, policy.Request{ProviderARN: p.ProviderARN, Keys: map[string][]string{
			provider + ":aud":                      {aud},
			provider + ":sub":                      {"org/" + p.Spec.OrgID + "/project/" + project + "/user/*"},
			provider + ":" + policy.ProjectIDClaim: {project},
		}})
		if slices.ContainsFunc(d.Failures, func(f policy.ConditionFailure) bool { return strings.EqualFold(policy.ShortKey(f.Key), "aud") }) {
			out = append(out, aud)
		}
	}
	return out
}

// addAudienceReason says which audiences an existing provider lacks, and
// why each is needed.
func (p *Plan) addAudienceReason(have, missing []string) string {
	if len(missing) == 1 && missing[0] == p.Spec.OrgID {
		return fmt.Sprintf("the existing provider's audiences %v lack the organization ID", have)
	}
	return fmt.Sprintf("the existing provider's audiences %v lack %s", have, p.describeAudiences(missing))
}

func (p *Plan) planRole() error {
	role := p.Observed.Role
	trust, err := p.TrustPolicy.JSON()
	if err != nil {
		return err
	}
	perms, err := p.PermissionsPolicy.JSON()
	if err != nil {
		return err
	}
	policyRef := p.RoleName + "/" + PolicyName
	inline := Step{Kind: KindInlinePolicy, Change: Change{Action: ActionNone, Resource: ResourceRolePolicy, Name: policyRef, Reason: "matches"},
		Desired: &Value{PolicyName: PolicyName, Document: perms}}
	if role == nil {
		p.addStep(Step{Kind: KindRole, Change: Change{Action: ActionCreate, Resource: ResourceRole, Name: p.RoleName, Reason: "no role of that name"},
			Desired: &Value{Document: trust, Tags: p.Tags()}})
		inline.Action, inline.Reason = ActionCreate, "new role"
		p.addStep(inline)
		return nil
	}
	p.RoleManagedBy = iacOwner(role.Tags, p.Spec.OrgID)
	if err := checkOwnership(role, p.Spec); err != nil && !errors.Is(err, ErrManagedByIaC) {
		if err := p.refuse(err); err != nil {
			return err
		}
	}
	add := func(s Step) {
		s.ManagedBy = p.RoleManagedBy
		p.addStep(s)
	}
	add(Step{Kind: KindRole, Change: Change{Action: ActionNone, Resource: ResourceRole, Name: p.RoleName, Reason: "exists"},
		Observed: &Value{ARN: role.ARN, Document: role.TrustPolicy, Tags: role.Tags}, Desired: &Value{Document: trust, Tags: p.roleTags()}})
	ts := Step{Kind: KindTrustPolicy, Change: Change{Action: ActionNone, Resource: ResourceTrustPolicy, Name: p.RoleName, Reason: "matches"},
		Observed: &Value{Document: role.TrustPolicy}, Desired: &Value{Document: trust}}
	if !policy.Equal(role.TrustPolicy, trust) {
		ts.Action, ts.Reason = ActionUpdate, "the trust policy differs from the desired one"
		if lacking := p.audiencesNotAdmitted(role.TrustPolicy); len(lacking) > 0 {
			ts.Reason += ": its aud condition lacks " + p.describeAudiences(lacking)
		}
	}
	add(ts)
	switch {
	case role.PermissionsPolicy == "":
		inline.Action, inline.Reason = ActionCreate, "the role has no "+PolicyName+" policy"
	case !policy.Equal(role.PermissionsPolicy, perms):
		inline.Action, inline.Reason = ActionUpdate, "the permissions policy differs from the desired one"
	}
	if role.PermissionsPolicy != "" {
		inline.Observed = &Value{PolicyName: PolicyName, Document: role.PermissionsPolicy}
	}
	add(inline)
	tags, err := p.planRoleTags(role)
	if err != nil {
		return err
	}
	add(tags)
	if extra := role.OtherPolicies(); len(extra) > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("role %s has other policies that also grant permissions (left as they are): %s", p.RoleName, strings.Join(extra, ", ")))
	}
	return nil
}

// planRoleTags is the step of the existing role's tags: the ownership tags
// and the --tag values it lacks.
func (p *Plan) planRoleTags(role *ObservedRole) (Step, error) {
	want := p.roleTags()
	s := Step{Kind: KindTags, Change: Change{Action: ActionNone, Resource: ResourceRole, Name: p.RoleName, Reason: "ownership tags present"},
		Observed: &Value{Tags: role.Tags}, Desired: &Value{Tags: want}}
	missing := missingTags(role.Tags, want)
	if len(missing) == 0 {
		return s, nil
	}
	if err := checkTagCount(p.RoleName, role.Tags, want); err != nil {
		return s, err
	}
	s.Action, s.Reason = ActionTag, "add ownership tags"
	switch {
	case p.RoleManagedBy != "" && p.Spec.Adopt:
		s.Reason = fmt.Sprintf("take it over from %s: set %s=%s", IaCName(p.RoleManagedBy), ManagedTag, ManagedByTool)
	case len(missingTags(role.Tags, keepManagedBy(ownershipTags(p.Spec.OrgID), p.RoleManagedBy, p.Spec.Adopt))) == 0:
		s.Reason = "set tags " + strings.Join(missing, ", ")
	}
	return s, nil
}

// Tags returns the tags put on what the tool creates and on a role it
// owns: the --tag values plus the ownership tags, which always win.
func (p *Plan) Tags() map[string]string {
	tags := maps.Clone(p.Spec.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, ownershipTags(p.Spec.OrgID))
	return tags
}

// roleTags are the tags the existing role should carry: Tags, except that
// a role an export created keeps its tool's ManagedTag value unless setup
// adopts it, so that the tag alone is not a difference.
func (p *Plan) roleTags() map[string]string {
	return keepManagedBy(p.Tags(), p.RoleManagedBy, p.Spec.Adopt)
}

// keepManagedBy returns tags with ManagedTag set to managedBy, the value of
// an export, unless that is "" or the resource is being adopted.
func keepManagedBy(tags map[string]string, managedBy string, adopt bool) map[string]string {
	if managedBy != "" && !adopt {
		tags = maps.Clone(tags)
		tags[ManagedTag] = managedBy
	}
	return tags
}

// ExportTags are the tags an export declares on the provider, the role and
// the managed policies: those of Tags, with ManagedTag naming the tool that
// applies the export (ManagedByTerraform or ManagedByCloudFormation), so
// that setup and destroy leave what it creates to that tool.
func ExportTags(spec Spec, managedBy string) map[string]string {
	tags := (&Plan{Spec: spec}).Tags()
	tags[ManagedTag] = managedBy
	return tags
}

// CheckManagedBy returns an *IaCError when the plan changes what an export
// created and Spec.Adopt is not set: the change belongs in the Terraform
// configuration or CloudFormation template. It names the role before the
// provider before a managed policy.
func (p *Plan) CheckManagedBy() error {
	if p.Spec.Adopt {
		return nil
	}
	var first *Change
	rank := func(c *Change) int {
		switch c.Resource {
		case ResourceProvider:
			return 1
		case ResourceManagedPolicy:
			return 2
		}
		return 0
	}
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.ManagedBy != "" && (first == nil || rank(c) < rank(first)) {
			first = c
		}
	}
	if first == nil {
		return nil
	}
	what := "role " + p.RoleName
	switch first.Resource {
	case ResourceProvider:
		what = "OIDC provider " + p.ProviderARN
	case ResourceManagedPolicy:
		if p.RoleManagedBy == "" {
			what = "managed policy " + first.Name
		}
	}
	return &IaCError{What: what, ManagedBy: first.ManagedBy}
}
