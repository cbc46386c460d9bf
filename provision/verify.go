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

// VerifyState compares the observed state with what setup would create for
// spec, item by item. Unlike NewPlan it does not stop at the first problem: a
// role this tool does not own, or a missing repository, is one failed item
// among the others, so that the report shows everything at once. It only
// fails when the desired documents cannot be built (bad input or a quota).
func VerifyState(spec Spec, obs *Observed) (*StateReport, error) {
	// Build the desired state as setup would, without its refusals: they
	// become failed items below.
	lenient := spec
	lenient.Adopt, lenient.AllowMissingRepos = true, true
	p, err := NewPlan(lenient, obs)
	if err != nil {
		return nil, err
	}
	r := &StateReport{
		Account: p.Account, Partition: p.Partition, Region: p.Region, CallerARN: p.CallerARN,
		ProviderARN: p.ProviderARN, RoleARN: p.RoleARN, Checks: []Check{}, Warnings: []string{},
	}
	add := func(c Check) { r.Checks = append(r.Checks, c) }

	prov := obs.Provider
	if prov == nil {
		add(Check{Item: CheckProvider, Name: p.ProviderARN, Detail: "missing: no OIDC provider for " + policy.IssuerURL(spec.OrgID) + " in this account"})
	} else {
		owner := "not created by circleci-ecr-oidc (shared; setup only adds its audience)"
		switch {
		case p.ProviderManagedBy != "":
			owner = fmt.Sprintf("managed by %s (tagged %s=%s by a circleci-ecr-oidc export)", IaCName(p.ProviderManagedBy), ManagedTag, p.ProviderManagedBy)
		case prov.Tags[ManagedTag] == ManagedByTool:
			owner = "created by circleci-ecr-oidc"
		}
		add(Check{Item: CheckProvider, Name: p.ProviderARN, OK: true, Detail: "exists, " + owner, ManagedBy: p.ProviderManagedBy})
		switch {
		case slices.Contains(prov.ClientIDs, spec.OrgID):
			add(Check{Item: CheckProviderAudience, Name: p.ProviderARN, OK: true, Detail: "client IDs include the organization ID " + spec.OrgID})
		default:
			d := fmt.Sprintf("client IDs %s lack the organization ID %s, so STS rejects every CircleCI token with \"Incorrect token audience\"", listOrNone(prov.ClientIDs), spec.OrgID)
			if slices.Contains(prov.ClientIDs, "sts.amazonaws.com") {
				d += "; sts.amazonaws.com is copied from GitHub examples and matches no CircleCI token"
			}
			add(Check{Item: CheckProviderAudience, Name: p.ProviderARN, Detail: d})
		}
	}

	role := obs.Role
	if role == nil {
		add(Check{Item: CheckRole, Name: spec.RoleName, Detail: "missing: no role named " + spec.RoleName})
	} else {
		add(Check{Item: CheckRole, Name: role.ARN, OK: true, Detail: "exists"})
		own := Check{Item: CheckOwnership, Name: spec.RoleName, OK: true, Detail: fmt.Sprintf("tagged %s=true for organization %s", ManagedTag, spec.OrgID)}
		if iac := p.RoleManagedBy; iac != "" {
			own.ManagedBy = iac
			own.Detail = fmt.Sprintf("managed by %s: tagged %s=%s for organization %s by a circleci-ecr-oidc export; setup and destroy leave it to %s unless --adopt", IaCName(iac), ManagedTag, iac, spec.OrgID, IaCName(iac))
		} else if err := checkOwnership(role, Spec{RoleName: spec.RoleName, OrgID: spec.OrgID}); err != nil {
			own.OK = false
			own.Detail = fmt.Sprintf("not managed by circleci-ecr-oidc for this organization (%s=%q, %s=%q); setup refuses to change it without --adopt", ManagedTag, role.Tags[ManagedTag], OrgIDTag, role.Tags[OrgIDTag])
		}
		add(own)

		trust, err := p.TrustPolicy.JSON()
		if err != nil {
			return nil, err
		}
		add(documentCheck(CheckTrustPolicy, spec.RoleName, role.TrustPolicy, trust, "the trust policy"))
		perms, err := p.PermissionsPolicy.JSON()
		if err != nil {
			return nil, err
		}
		policyRef := spec.RoleName + "/" + PolicyName
		if role.PermissionsPolicy == "" {
			add(Check{Item: CheckPermissionsPolicy, Name: policyRef, Detail: "missing: the role has no inline policy " + PolicyName})
		} else {
			add(documentCheck(CheckPermissionsPolicy, policyRef, role.PermissionsPolicy, perms, "the permissions policy"))
		}
		checks, err := managedPolicyChecks(p)
		if err != nil {
			return nil, err
		}
		for _, c := range checks {
			add(c)
		}

		// An export's role is compared with its own ManagedTag value.
		want := keepManagedBy(p.Tags(), p.RoleManagedBy, false)
		if missing := missingTags(role.Tags, want); len(missing) > 0 {
			parts := make([]string, 0, len(missing))
			for _, k := range missing {
				have, ok := lookupValueFold(role.Tags, k)
				if !ok {
					parts = append(parts, fmt.Sprintf("%s missing (want %q)", k, want[k]))
				} else {
					parts = append(parts, fmt.Sprintf("%s=%q (want %q)", k, have, want[k]))
				}
			}
			add(Check{Item: CheckTags, Name: spec.RoleName, Detail: strings.Join(parts, "; ")})
		} else {
			add(Check{Item: CheckTags, Name: spec.RoleName, OK: true, Detail: "ownership tags present"})
		}
		if extra := role.OtherPolicies(); len(extra) > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("role %s has other policies that also grant permissions: %s", spec.RoleName, strings.Join(extra, ", ")))
		}
	}

	var missing []string
	for _, repo := range obs.Repositories {
		if repo.State == RepoMissing {
			missing = append(missing, repo.Input)
		}
	}
	switch {
	case len(obs.Repositories) == 0:
	case len(missing) == 0:
		add(Check{Item: CheckRepositories, Name: strings.Join(spec.Repositories, ", "), OK: true, Detail: "every named repository exists (patterns and other accounts' repositories are not looked up)"})
	default:
		c := Check{Item: CheckRepositories, Name: strings.Join(spec.Repositories, ", "), OK: spec.AllowMissingRepos,
			Detail: fmt.Sprintf("not found in %s: %s", spec.Region, listSome(missing))}
		if spec.AllowMissingRepos {
			c.Detail += " (allowed by --allow-missing-repos)"
		}
		add(c)
	}
	for _, w := range p.Warnings {
		if !strings.HasPrefix(w, "repositories not found") {
			r.Warnings = append(r.Warnings, w)
		}
	}
	return r, nil
}

// documentCheck compares a live document with the desired one semantically
// (policy.Equal) and, when they differ, attaches a line diff of their
// canonical forms, so reordering or URL encoding never shows as a change.
// managedPolicyChecks checks the managed policies that hold repository
// grants beyond the inline policy: each one the plan wants must exist,
// match and be attached, and none of ours may be left over.
func managedPolicyChecks(p *Plan) ([]Check, error) {
	var out []Check
	attached := map[string]bool{}
	if role := p.Observed.Role; role != nil {
		for _, a := range role.AttachedPolicies {
			attached[a] = true
		}
	}
	for _, mp := range p.ManagedPolicies {
		have, ok := p.observedManagedPolicy(mp.Name)
		if !ok {
			out = append(out, Check{Item: CheckManagedPolicy, Name: mp.ARN, Detail: fmt.Sprintf("missing: it would hold %d of the repository grants", mp.Repositories)})
			continue
		}
		doc, err := mp.Document.JSON()
		if err != nil {
			return nil, err
		}
		c := documentCheck(CheckManagedPolicy, have.ARN, have.Document, doc, "the managed policy")
		if c.OK && !attached[have.ARN] {
			c.OK, c.Detail = false, "matches, but is not attached to role "+p.RoleName
		}
		out = append(out, c)
	}
	for _, have := range p.Observed.ManagedPolicies {
		if _, wanted := p.managedPolicy(have.Name); !wanted {
			out = append(out, Check{Item: CheckManagedPolicy, Name: have.ARN, Detail: "left over: setup would delete it, the repositories fit in fewer documents"})
		}
	}
	return out, nil
}

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
