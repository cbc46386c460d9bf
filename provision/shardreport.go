package provision

import (
	"fmt"
	"io"
	"strings"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
)

// ShardedReport is a sharded setup or plan as its JSON output shows it. The
// top-level role_arn and snippet are the first role's, so that scripts
// written for one role keep working; shards lists every role.
type ShardedReport struct {
	Account     string         `json:"account"`
	Partition   string         `json:"partition"`
	Region      string         `json:"region"`
	CallerARN   string         `json:"caller_arn"`
	ProviderARN string         `json:"provider_arn"`
	RoleARN     string         `json:"role_arn"`
	Changes     []Change       `json:"changes"`
	NotApplied  []Change       `json:"not_applied"`
	Applied     bool           `json:"applied"`
	Snippet     string         `json:"snippet"`
	Shards      []ShardReport  `json:"shards"`
	UnusedRoles []string       `json:"unused_roles"`
	Removals    []ShardRemoval `json:"removals"`
	// Closed are the unused roles kept by --keep-unused-roles, each with
	// the trust policy that admits no one.
	Closed []*ClosedRole `json:"closed_roles"`
	// Steps are every role's steps and the removals', in plan order.
	Steps    []Step   `json:"steps"`
	Warnings []string `json:"warnings"`
	Error    string   `json:"error,omitempty"`
	// CircleCI is as in SetupReport.
	CircleCI *circleci.Resolution `json:"circleci,omitempty"`
}

// ShardRemoval is a shard role of ours that admits no requested project any
// more, and what its removal deletes and keeps.
type ShardRemoval struct {
	RoleName string   `json:"role_name"`
	RoleARN  string   `json:"role_arn"`
	Deletes  []Change `json:"deletes"`
	Keeps    []Kept   `json:"keeps"`
}

// ShardReport is one role of a sharded setup and the projects it admits.
type ShardReport struct {
	RoleName         string   `json:"role_name"`
	RoleARN          string   `json:"role_arn"`
	Projects         []string `json:"projects"`
	Changes          []Change `json:"changes"`
	TrustPolicySize  int      `json:"trust_policy_size"`
	TrustPolicyQuota int      `json:"trust_policy_quota"`
	Snippet          string   `json:"snippet"`
}

// NewShardedReport summarizes sp, with each role's config.yml snippet.
func NewShardedReport(sp *ShardedPlan) (*ShardedReport, error) {
	first := sp.Plans[0]
	out := &ShardedReport{
		Account: first.Account, Partition: first.Partition, Region: first.Region, CallerARN: first.CallerARN,
		ProviderARN: first.ProviderARN, RoleARN: first.RoleARN,
		Changes: sp.Changes(), NotApplied: sp.Changes(), UnusedRoles: []string{}, Removals: []ShardRemoval{}, Closed: []*ClosedRole{}, Warnings: []string{}, Steps: []Step{},
	}
	seen := map[string]bool{}
	for _, p := range sp.Plans {
		snippet, err := p.Snippet()
		if err != nil {
			return nil, err
		}
		if out.Snippet == "" {
			out.Snippet = snippet
		}
		out.Steps = append(out.Steps, p.Steps...)
		for _, w := range p.Warnings {
			if !seen[w] {
				seen[w] = true
				out.Warnings = append(out.Warnings, w)
			}
		}
		out.Shards = append(out.Shards, ShardReport{
			RoleName: p.RoleName, RoleARN: p.RoleARN, Projects: p.Spec.ProjectIDs, Changes: p.Changes,
			TrustPolicySize: p.TrustPolicySize, TrustPolicyQuota: p.TrustPolicyQuota, Snippet: snippet,
		})
	}
	for _, r := range sp.Removals {
		out.UnusedRoles = append(out.UnusedRoles, r.RoleName)
		out.Removals = append(out.Removals, ShardRemoval{RoleName: r.RoleName, RoleARN: r.RoleARN, Deletes: r.Deletes, Keeps: r.Keeps})
		out.Steps = append(out.Steps, r.Steps...)
	}
	for _, c := range sp.Closed {
		out.UnusedRoles = append(out.UnusedRoles, c.RoleName)
		out.Closed = append(out.Closed, c)
		out.Steps = append(out.Steps, c.Step)
	}
	return out, nil
}

// WriteText prints, for each role, the projects it admits and its
// plan, then the roles it deletes or closes and the warnings once.
func (out *ShardedReport) WriteText(w io.Writer, sp *ShardedPlan) error {
	for i, p := range sp.Plans {
		labels := make([]string, len(p.Spec.ProjectIDs))
		for j, id := range p.Spec.ProjectIDs {
			labels[j] = p.Spec.ProjectLabel(id)
		}
		fmt.Fprintf(w, "== Role %d of %d: %s admits %d project(s): %s\n", i+1, len(sp.Plans), p.RoleName, len(p.Spec.ProjectIDs), strings.Join(labels, ", "))
		q := *p
		q.Warnings = nil // printed once below
		if err := q.WriteText(w, p.HasChanges()); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	for _, r := range sp.Removals {
		fmt.Fprintf(w, "== Role %s admits no requested project any more: it is deleted, so that it stops admitting the projects removed from --project-id\n", r.RoleName)
		if err := r.WriteItems(w); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	for _, c := range sp.Closed {
		if !c.Step.IsChange() {
			fmt.Fprintf(w, "== Role %s admits no one (kept by --keep-unused-roles): no change\n\n", c.RoleName)
			continue
		}
		fmt.Fprintf(w, "== Role %s admits no requested project any more: it is kept (--keep-unused-roles) and its trust policy is replaced by one that admits no one\n", c.RoleName)
		fmt.Fprintf(w, "  ~ update trust-policy %s\n      (%s)\n\n", c.RoleName, c.Step.Reason)
	}
	for _, warning := range out.Warnings {
		fmt.Fprintf(w, "Warning: %s\n", warning)
	}
	return nil
}

// WriteSnippets prints each role's snippet; every project's jobs use
// the snippet of the role that admits it.
func (out *ShardedReport) WriteSnippets(w io.Writer) {
	for _, s := range out.Shards {
		fmt.Fprintf(w, "\n# Jobs of projects %s:\n%s", strings.Join(s.Projects, ", "), s.Snippet)
	}
}
