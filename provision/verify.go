package provision

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// Items of the live-state check, in the order Verify reports them.
const (
	CheckProvider          = "oidc-provider"
	CheckProviderAudience  = "provider-audience"
	CheckRole              = "iam-role"
	CheckOwnership         = "ownership"
	CheckTrustPolicy       = "trust-policy"
	CheckPermissionsPolicy = "permissions-policy"
	CheckManagedPolicy     = "managed-policy"
	CheckTags              = "tags"
	CheckRepositories      = "repositories"
)

// Check is one item of the live-state check: whether the account holds what
// setup would create for the same flags.
type Check struct {
	// Item is one of the Check* constants.
	Item string `json:"item"`
	// Name is the resource checked (an ARN or a role/policy name).
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Detail says what was found, and when not OK what differs.
	Detail string `json:"detail"`
	// ManagedBy is ManagedByTerraform or ManagedByCloudFormation on the
	// provider and ownership items when an export created the resource.
	ManagedBy string `json:"managed_by,omitempty"`
	// Diff holds the document difference, line by line, of the canonical
	// indented JSON: "- " lines are in the live document only, "+ " lines
	// only in the one setup would write, "  " lines are shared context.
	Diff []string `json:"diff,omitempty"`
}

// StateReport is the outcome of VerifyState.
type StateReport struct {
	Account     string  `json:"account"`
	Partition   string  `json:"partition"`
	Region      string  `json:"region"`
	CallerARN   string  `json:"caller_arn"`
	ProviderARN string  `json:"provider_arn"`
	RoleARN     string  `json:"role_arn"`
	Checks      []Check `json:"checks"`
	// Warnings note what does not make the state differ but deserves a look,
	// such as other policies on the role.
	Warnings []string `json:"warnings"`
}

// OK reports whether every check passed.
func (r *StateReport) OK() bool {
	return !slices.ContainsFunc(r.Checks, func(c Check) bool { return !c.OK })
}

// Failed returns the checks that did not pass.
func (r *StateReport) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// VerifyState reports, item by item, whether the observed state is what
// setup would create for spec. It is a rendering of the plan: each item is
// one of its steps, OK when the step is ActionNone, its detail (and the
// document difference) drawn from the step's observed and desired values.
// Unlike NewPlan it does not stop at the first problem: the plan is made
// leniently, so that a role this tool does not own, or a missing
// repository, is one failed item among the others and the report shows
// everything at once. It only fails when the desired documents cannot be
// built (bad input or a quota).
func VerifyState(spec Spec, obs *Observed) (*StateReport, error) {
	lenient := spec
	// Compared as setup without --adopt would: an export's role keeps its
	// tool's ManagedTag value.
	lenient.Adopt, lenient.AllowMissingRepos = false, true
	p, err := newPlan(lenient, obs, planMode{lenient: true})
	if err != nil {
		return nil, err
	}
	return p.stateReport(spec.AllowMissingRepos), nil
}

// stateReport renders the plan's steps as the items of the live-state
// check, in the order of the Check* constants.
func (p *Plan) stateReport(allowMissingRepos bool) *StateReport {
	r := &StateReport{
		Account: p.Account, Partition: p.Partition, Region: p.Region, CallerARN: p.CallerARN,
		ProviderARN: p.ProviderARN, RoleARN: p.RoleARN, Checks: []Check{}, Warnings: []string{},
	}
	byKind := map[Kind][]Check{}
	for _, s := range p.Steps {
		if s.Kind != KindProvider && s.Kind != KindRole && !p.RoleExists {
			continue // a missing role is one item; what it would hold is not checked
		}
		byKind[s.Kind] = append(byKind[s.Kind], p.stepChecks(s)...)
	}
	for _, k := range []Kind{KindProvider, KindRole, KindTrustPolicy, KindInlinePolicy, KindManagedPolicy, KindTags} {
		r.Checks = append(r.Checks, byKind[k]...)
	}
	r.Checks = append(r.Checks, p.repositoryChecks(allowMissingRepos)...)
	// The plan's warnings include the role's other policies.
	for _, w := range p.Warnings {
		if !strings.HasPrefix(w, "repositories not found") {
			r.Warnings = append(r.Warnings, w)
		}
	}
	return r
}

// stepChecks renders one step as the items it stands for. Attachments
// are rendered with their managed policy's document, and a repository
// policy is not an item of the check.
func (p *Plan) stepChecks(s Step) []Check {
	switch s.Kind {
	case KindProvider:
		return p.providerChecks(s)
	case KindRole:
		return p.roleChecks(s)
	case KindTrustPolicy:
		c := documentCheck(CheckTrustPolicy, s.Name, s.Observed.Document, s.Desired.Document, "the trust policy")
		if lacking := p.audiencesNotAdmitted(s.Observed.Document); !c.OK && len(lacking) > 0 {
			c.Detail += fmt.Sprintf("; its aud condition refuses %s, so STS denies the tokens that carry it; run setup to add %s",
				p.describeAudiences(lacking), audienceFix(lacking, p.Spec.OrgID))
		}
		return []Check{c}
	case KindInlinePolicy:
		if s.Observed == nil {
			return []Check{{Item: CheckPermissionsPolicy, Name: s.Name, Detail: "missing: the role has no inline policy " + PolicyName}}
		}
		return []Check{documentCheck(CheckPermissionsPolicy, s.Name, s.Observed.Document, s.Desired.Document, "the permissions policy")}
	case KindManagedPolicy:
		return []Check{p.managedPolicyCheck(s)}
	case KindTags:
		if s.Resource == ResourceRole {
			return []Check{tagsCheck(s)}
		}
	}
	return nil
}

func (p *Plan) providerChecks(s Step) []Check {
	if s.Observed == nil {
		return []Check{{Item: CheckProvider, Name: s.Name, Detail: "missing: no OIDC provider for " + policy.IssuerURL(p.Spec.OrgID) + " in this account"}}
	}
	owner := "not created by circleci-ecr-oidc (shared; setup only adds its audience)"
	switch {
	case p.ProviderManagedBy != "":
		owner = fmt.Sprintf("managed by %s (tagged %s=%s by a circleci-ecr-oidc export)", IaCName(p.ProviderManagedBy), ManagedTag, p.ProviderManagedBy)
	case s.Observed.Tags[ManagedTag] == ManagedByTool:
		owner = "created by circleci-ecr-oidc"
	}
	exists := Check{Item: CheckProvider, Name: s.Name, OK: true, Detail: "exists, " + owner, ManagedBy: p.ProviderManagedBy}
	return []Check{exists, p.audienceCheck(s)}
}

// audienceCheck says whether the provider's client IDs hold the
// organization ID and every configured audience, and how to add those
// they lack.
func (p *Plan) audienceCheck(s Step) Check {
	want := p.Spec.ClientIDs()
	c := Check{Item: CheckProviderAudience, Name: s.Name, OK: true, Detail: "client IDs include the organization ID " + p.Spec.OrgID}
	if len(want) > 1 {
		c.Detail += " and " + p.describeAudiences(want[1:])
	}
	if !s.IsChange() {
		return c
	}
	ids := s.Observed.ClientIDs
	missing := missingClientIDs(ids, s.Desired.ClientIDs)
	others := slices.DeleteFunc(slices.Clone(missing), func(id string) bool { return id == p.Spec.OrgID })
	c.OK = false
	if len(others) < len(missing) {
		c.Detail = fmt.Sprintf("client IDs %s lack the organization ID %s, so STS rejects every CircleCI token with \"Incorrect token audience\"", listOrNone(ids), p.Spec.OrgID)
		if slices.Contains(ids, "sts.amazonaws.com") && !slices.Contains(want, "sts.amazonaws.com") {
			c.Detail += "; sts.amazonaws.com is copied from GitHub examples and matches no CircleCI token"
		}
	}
	if len(others) > 0 {
		if len(others) < len(missing) {
			c.Detail += "; they also lack "
		} else {
			c.Detail = fmt.Sprintf("client IDs %s lack ", listOrNone(ids))
		}
		c.Detail += fmt.Sprintf("%s, so STS rejects the tokens that carry it with \"Incorrect token audience\"; run setup to add %s",
			p.describeAudiences(others), audienceFix(others, p.Spec.OrgID))
	}
	return c
}

// audienceFix names what setup would add: "audience X", "audiences X and
// Y" or "the organization ID".
func audienceFix(values []string, orgID string) string {
	var names []string
	for _, v := range values {
		if v == orgID {
			names = append(names, "the organization ID")
		} else {
			names = append(names, v)
		}
	}
	switch {
	case len(values) == 1 && values[0] == orgID:
		return names[0]
	case len(values) == 1:
		return "audience " + names[0]
	}
	return "audiences " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func (p *Plan) roleChecks(s Step) []Check {
	if s.Observed == nil {
		return []Check{{Item: CheckRole, Name: s.Name, Detail: "missing: no role named " + s.Name}}
	}
	tags := s.Observed.Tags
	own := Check{Item: CheckOwnership, Name: s.Name, OK: true, Detail: fmt.Sprintf("tagged %s=true for organization %s", ManagedTag, p.Spec.OrgID)}
	if iac := p.RoleManagedBy; iac != "" {
		own.ManagedBy = iac
		own.Detail = fmt.Sprintf("managed by %s: tagged %s=%s for organization %s by a circleci-ecr-oidc export; setup and destroy leave it to %s unless --adopt", IaCName(iac), ManagedTag, iac, p.Spec.OrgID, IaCName(iac))
	} else if err := checkOwnership(&ObservedRole{Tags: tags}, Spec{RoleName: s.Name, OrgID: p.Spec.OrgID}); err != nil {
		own.OK = false
		own.Detail = fmt.Sprintf("not managed by circleci-ecr-oidc for this organization (%s=%q, %s=%q); setup refuses to change it without --adopt", ManagedTag, tags[ManagedTag], OrgIDTag, tags[OrgIDTag])
	}
	return []Check{{Item: CheckRole, Name: s.Observed.ARN, OK: true, Detail: "exists"}, own}
}

// managedPolicyCheck renders a managed policy's step: each one the plan
// wants must exist, match and be attached, and none of ours may be left
// over.
func (p *Plan) managedPolicyCheck(s Step) Check {
	switch s.Action {
	case ActionCreate:
		mp, _ := p.managedPolicy(s.Name)
		return Check{Item: CheckManagedPolicy, Name: s.Desired.ARN, Detail: fmt.Sprintf("missing: it would hold %d of the repository grants", mp.Repositories)}
	case ActionDelete:
		return Check{Item: CheckManagedPolicy, Name: s.Observed.ARN, Detail: "left over: setup would delete it, the repositories fit in fewer documents"}
	}
	c := documentCheck(CheckManagedPolicy, s.Observed.ARN, s.Observed.Document, s.Desired.Document, "the managed policy")
	if c.OK && !s.Observed.Attached {
		c.OK, c.Detail = false, "matches, but is not attached to role "+p.RoleName
	}
	return c
}

// tagsCheck renders the role's tags step: the tags it lacks or holds with
// another value.
func tagsCheck(s Step) Check {
	want := s.Desired.Tags
	missing := missingTags(s.Observed.Tags, want)
	if len(missing) == 0 {
		return Check{Item: CheckTags, Name: s.Name, OK: true, Detail: "ownership tags present"}
	}
	parts := make([]string, 0, len(missing))
	for _, k := range missing {
		have, ok := lookupValueFold(s.Observed.Tags, k)
		if !ok {
			parts = append(parts, fmt.Sprintf("%s missing (want %q)", k, want[k]))
		} else {
			parts = append(parts, fmt.Sprintf("%s=%q (want %q)", k, have, want[k]))
		}
	}
	return Check{Item: CheckTags, Name: s.Name, Detail: strings.Join(parts, "; ")}
}

// repositoryChecks says whether every named repository exists.
func (p *Plan) repositoryChecks(allowMissing bool) []Check {
	var missing []string
	for _, repo := range p.Repositories {
		if repo.State == RepoMissing {
			missing = append(missing, repo.Input)
		}
	}
	name := strings.Join(p.Spec.Repositories, ", ")
	switch {
	case len(p.Repositories) == 0:
		return nil
	case len(missing) == 0:
		return []Check{{Item: CheckRepositories, Name: name, OK: true, Detail: "every named repository exists (patterns and other accounts' repositories are not looked up)"}}
	}
	c := Check{Item: CheckRepositories, Name: name, OK: allowMissing, Detail: fmt.Sprintf("not found in %s: %s", p.Region, listSome(missing))}
	if allowMissing {
		c.Detail += " (allowed by --allow-missing-repos)"
	}
	return []Check{c}
}

// documentCheck compares a live document with the desired one semantically
// (policy.Equal) and, when they differ, attaches a line diff of their
// canonical forms, so reordering or URL encoding never shows as a change.
func documentCheck(item, name, live, desired, what string) Check {
	if policy.Equal(live, desired) {
		return Check{Item: item, Name: name, OK: true, Detail: "matches"}
	}
	c := Check{Item: item, Name: name, Detail: what + " differs from the one setup would write (- live, + setup)"}
	liveLines, lerr := canonicalLines(live)
	wantLines, werr := canonicalLines(desired)
	if lerr != nil {
		c.Detail = fmt.Sprintf("%s cannot be read: %v", what, lerr)
		return c
	}
	if werr != nil {
		return c
	}
	c.Diff = LineDiff(liveLines, wantLines)
	return c
}

// canonicalLines returns the document's canonical form, indented, as lines.
func canonicalLines(doc string) ([]string, error) {
	canon, err := policy.Canonical(doc)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(canon), "", "  "); err != nil {
		return nil, fmt.Errorf("indent policy document: %w", err)
	}
	return strings.Split(buf.String(), "\n"), nil
}

// diffContext is how many unchanged lines LineDiff keeps around a change.
const diffContext = 2

// LineDiff returns a minimal line diff of a and b (longest common
// subsequence): "- " for lines only in a, "+ " for lines only in b, and up to
// two unchanged "  " lines of context around each change; "  ..." stands for
// unchanged lines left out. It returns nil when a and b are equal. Policy
// documents are small, so the quadratic table is fine.
func LineDiff(a, b []string) []string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
	}
	var all []line
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			all = append(all, line{' ', a[i]})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			// Removals first, as diff -u shows them.
			all = append(all, line{'-', a[i]})
			i++
		default:
			all = append(all, line{'+', b[j]})
			j++
		}
	}
	keep := make([]bool, len(all))
	changed := false
	for k, l := range all {
		if l.op == ' ' {
			continue
		}
		changed = true
		for c := max(0, k-diffContext); c <= min(len(all)-1, k+diffContext); c++ {
			keep[c] = true
		}
	}
	if !changed {
		return nil
	}
	var out []string
	skipped := false
	for k, l := range all {
		if !keep[k] {
			if !skipped {
				out = append(out, "  ...")
			}
			skipped = true
			continue
		}
		skipped = false
		out = append(out, string(l.op)+" "+l.text)
	}
	return out
}

func listOrNone(values []string) string {
	if len(values) == 0 {
		return "(none)"
	}
	return "[" + strings.Join(values, ", ") + "]"
}
