package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// symbol marks a change in the text plan the way Terraform does.
func symbol(a Action) string {
	switch a {
	case ActionCreate:
		return "+"
	case ActionDelete:
		return "-"
	default:
		return "~"
	}
}

// WriteText writes the plan for people: where it acts, each resource and
// what will happen to it, the documents that will be written, and warnings.
// withDocuments adds the full trust and permissions documents.
func (p *Plan) WriteText(w io.Writer, withDocuments bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Account %s (%s), region %s, acting as %s\n\n", p.Account, p.Partition, p.Region, p.CallerARN)
	p.writeResources(&b)
	p.writeChanges(&b)
	if withDocuments {
		if err := p.writeDocuments(&b); err != nil {
			return err
		}
	}
	if err := p.writeRegistryStatements(&b, withDocuments); err != nil {
		return err
	}
	for _, warn := range p.Warnings {
		fmt.Fprintf(&b, "\nWarning: %s\n", warn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// resourceStates says, for people, what the plan does to the provider and
// to the role.
func (p *Plan) resourceStates() (provState, roleState string) {
	provState, roleState = "exists, matches (no change)", "exists, matches (no change)"
	for _, c := range p.Changes {
		switch {
		case c.Resource == ResourceRepositoryPolicy:
			// Shown with the repositories below; not the role's.
		case c.Action == ActionCreate && c.Resource == ResourceProvider:
			provState = "will be created"
		case c.Resource == ResourceProvider:
			provState = "exists (shared): " + p.audiencesToAdd()
		case !p.RoleExists:
			roleState = "will be created"
		default:
			roleState = "exists, will be updated (see the changes below)"
		}
	}
	if p.ProviderManagedBy != "" {
		provState += "; managed by " + IaCName(p.ProviderManagedBy)
	}
	if p.RoleManagedBy != "" {
		roleState += "; managed by " + IaCName(p.RoleManagedBy)
	}
	return provState, roleState
}

// audiencesToAdd says which audiences the provider's step adds.
func (p *Plan) audiencesToAdd() string {
	for _, s := range p.Steps {
		if s.Kind != KindProvider || s.Action != ActionAddAudience {
			continue
		}
		missing := missingClientIDs(s.Observed.ClientIDs, s.Desired.ClientIDs)
		if len(missing) == 1 && missing[0] == p.Spec.OrgID {
			break
		}
		return p.describeAudiences(missing) + " will be added"
	}
	return "the organization ID will be added as an audience"
}

// writeResources writes the provider, the role, the repositories and the
// documents' sizes.
func (p *Plan) writeResources(b *strings.Builder) {
	provState, roleState := p.resourceStates()
	fmt.Fprintf(b, "OIDC provider  %s\n               %s\n", p.ProviderARN, provState)
	fmt.Fprintf(b, "IAM role       %s\n               %s\n", p.RoleARN, roleState)
	p.writeNames(b)
	switch {
	case len(p.Spec.Audiences) > 0:
		// Shown only when there is more than the organization ID, which
		// every plan admits, or when CircleCI was asked.
		fmt.Fprintf(b, "Audiences      %s (the organization ID)\n", p.Spec.OrgID)
		for _, a := range p.Spec.Audiences {
			fmt.Fprintf(b, "               %s (%s)\n", a.Value, orNoSource(a.Source))
		}
	case p.Spec.AudiencesRead:
		fmt.Fprintf(b, "Audiences      %s (the organization ID; CircleCI's token settings set no other)\n", p.Spec.OrgID)
	}
	fmt.Fprintf(b, "Repositories\n")
	for _, r := range p.Repositories {
		fmt.Fprintf(b, "  %-40s %s\n", r.ARN, r.State)
	}
	fmt.Fprintf(b, "Trust policy   %d of %d characters; permissions policy %d of %d", p.TrustPolicySize, p.TrustPolicyQuota, p.PermissionsPolicySize, p.RolePolicyQuota)
	if p.Observed != nil && p.Observed.Role != nil && p.Observed.Role.OtherInlineSize > 0 {
		fmt.Fprintf(b, " (the role's other inline policies use %d of them)", p.Observed.Role.OtherInlineSize)
	}
	b.WriteString("\n")
	if len(p.ManagedPolicies) > 0 {
		fmt.Fprintf(b, "Managed policies for the repositories beyond the inline quota (%d of at most %d on the role, %d characters each at most):\n",
			len(p.ManagedPolicies), p.AttachedPoliciesQuota, p.ManagedPolicyQuota)
		for _, mp := range p.ManagedPolicies {
			fmt.Fprintf(b, "  %-40s %d repositories, %d characters\n", mp.Name, mp.Repositories, mp.Size)
		}
	}
}

// writeNames writes the organization's and the projects' slugs next to
// their IDs, when CircleCI named them; nothing when only IDs are known.
func (p *Plan) writeNames(b *strings.Builder) {
	n := p.Spec.Names
	if n.Org == "" && len(n.Projects) == 0 {
		return
	}
	org := p.Spec.OrgID
	if n.Org != "" {
		org = n.Org + " (" + p.Spec.OrgID + ")"
	}
	fmt.Fprintf(b, "Organization   %s\n", org)
	label := "Projects       "
	for _, id := range p.Spec.ProjectIDs {
		fmt.Fprintf(b, "%s%s\n", label, p.Spec.ProjectLabel(id))
		label = "               "
	}
}

// writeChanges writes each change with its reason, and what refuses them.
func (p *Plan) writeChanges(b *strings.Builder) {
	if len(p.Changes) == 0 {
		fmt.Fprintf(b, "\nNo changes. The account already matches.\n")
		return
	}
	fmt.Fprintf(b, "\nPlan: %d change(s)\n", len(p.Changes))
	for _, c := range p.Changes {
		fmt.Fprintf(b, "  %s %s %s %s%s\n", symbol(c.Action), c.Action, c.Resource, c.Name, managedByNote(c.ManagedBy))
		if c.Reason != "" {
			fmt.Fprintf(b, "      (%s)\n", c.Reason)
		}
	}
	var iac *IaCError
	if errors.As(p.CheckManagedBy(), &iac) {
		fmt.Fprintf(b, "\nNote: %s is managed by %s (tagged %s=%s): setup refuses these changes; change the %s instead, or pass --adopt to take it over.\n",
			iac.What, IaCName(iac.ManagedBy), ManagedTag, iac.ManagedBy, iacSource(iac.ManagedBy))
	}
}

// writeDocuments writes the trust, permissions and managed policies in
// full.
func (p *Plan) writeDocuments(b *strings.Builder) error {
	trust, err := p.TrustPolicy.Indented()
	if err != nil {
		return err
	}
	perms, err := p.PermissionsPolicy.Indented()
	if err != nil {
		return err
	}
	fmt.Fprintf(b, "\nTrust policy of %s:\n%s\n", p.RoleName, indent(trust))
	fmt.Fprintf(b, "\nPermissions policy %s:\n%s\n", PolicyName, indent(perms))
	for _, mp := range p.ManagedPolicies {
		doc, err := mp.Document.Indented()
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "\nManaged policy %s:\n%s\n", mp.ARN, indent(doc))
	}
	return nil
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// writeRegistryStatements shows the repository-policy statements of
// repositories in other accounts: always those the registry's owner must add
// (they are the user's next step), and with withDocuments also those setup
// merges itself.
func (p *Plan) writeRegistryStatements(b *strings.Builder, withDocuments bool) error {
	for _, e := range p.RegistryPolicyStatements {
		if e.Managed && !withDocuments {
			continue
		}
		raw, err := json.MarshalIndent(e.Statement, "", "  ")
		if err != nil {
			return fmt.Errorf("encode repository policy statement: %w", err)
		}
		st := string(raw)
		if e.Managed {
			fmt.Fprintf(b, "\nRepository policy of %s (merged with --registry-profile; other statements are kept), statement:\n%s\n", e.Repository, indent(st))
			continue
		}
		fmt.Fprintf(b, "\nThe registry's owner must add this statement to the repository policy of %s\n(or run setup with --registry-profile to merge it):\n%s\n", e.Repository, indent(st))
	}
	return nil
}

// Line is the progress line for the event, as the commands print it on
// stderr: a message, or a step's end; "" for a step's start. The change of
// an account of a multi-account run is prefixed with its label and ":".
func (e Event) Line() string {
	line := e.line()
	if line == "" || e.Account == "" {
		return line
	}
	return e.Account + ":" + line
}

// line is the event's line without its account.
func (e Event) line() string {
	switch {
	case e.Message != "":
		return "  … " + e.Message
	case !e.Done:
		return ""
	case e.Err != nil:
		return fmt.Sprintf("  ✗ %s %s %s", e.Change.Action, e.Change.Resource, e.Change.Name)
	default:
		return fmt.Sprintf("  ✓ %s %s %s", e.Change.Action, e.Change.Resource, e.Change.Name)
	}
}

// WritePartial writes what an interrupted or failed execution did and did
// not do, and that a rerun completes the rest; nothing when it had no
// changes to make (such as a file write).
func (r Result) WritePartial(w io.Writer) {
	if len(r.Applied)+len(r.NotApplied) == 0 {
		return
	}
	fmt.Fprintf(w, "Applied %d of %d change(s):\n", len(r.Applied), len(r.Applied)+len(r.NotApplied))
	for _, c := range r.Applied {
		fmt.Fprintf(w, "  done      %s\n", c)
	}
	for _, c := range r.NotApplied {
		fmt.Fprintf(w, "  not done  %s\n", c)
	}
	fmt.Fprintf(w, "Run the same command again to complete the rest (after fixing the cause, if it failed); it changes only what is still missing.\n")
}
