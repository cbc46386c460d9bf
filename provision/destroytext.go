package provision

import (
	"fmt"
	"io"
	"strings"
)

// managedByNote marks a change to what an export created, in text output.
func managedByNote(managedBy string) string {
	if managedBy == "" {
		return ""
	}
	return " [managed by " + IaCName(managedBy) + "]"
}

// WriteItems writes what a destroy plan deletes, in order, and what
// it keeps, with the reasons.
func (p *DestroyPlan) WriteItems(w io.Writer) error {
	var b strings.Builder
	if len(p.Deletes) > 0 {
		fmt.Fprintf(&b, "Will delete, in this order (%d):\n", len(p.Deletes))
		for _, c := range p.Deletes {
			fmt.Fprintf(&b, "  - %s %s %s%s\n      (%s)\n", c.Action, c.Resource, c.Name, managedByNote(c.ManagedBy), c.Reason)
		}
	}
	if len(p.Keeps) > 0 {
		fmt.Fprintf(&b, "\nWill keep:\n")
		for _, k := range p.Keeps {
			fmt.Fprintf(&b, "  = %s %s\n      (%s)\n", k.Resource, k.Name, k.Reason)
			if len(k.UsedBy) > 0 && !strings.Contains(k.Reason, "other roles") {
				fmt.Fprintf(&b, "      trusted by: %s\n", strings.Join(k.UsedBy, ", "))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteText writes the destroy plan for people.
func (p *DestroyPlan) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Account %s (%s), acting as %s\n", p.Account, p.Partition, p.CallerARN)
	fmt.Fprintf(&b, "OIDC provider  %s\nIAM role       %s\n", p.ProviderARN, p.RoleARN)
	switch {
	case len(p.Deletes) == 0 && len(p.Keeps) == 0:
		fmt.Fprintf(&b, "\nNothing to delete: there is no role named %s and no OIDC provider for the organization.\n", p.RoleName)
	case len(p.Deletes) == 0:
		fmt.Fprintf(&b, "\nNothing to delete.\n")
	default:
		fmt.Fprintln(&b)
	}
	_ = p.WriteItems(&b)
	_, err := io.WriteString(w, b.String())
	return err
}
