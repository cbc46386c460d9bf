package provision

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
)

var partitionPattern = regexp.MustCompile(`^aws(-[a-z]+)*$`)

// Validate checks the scope and the commands of permissions' flags and
// returns the scope with the organization ID in its canonical form.
func (scope OperatorScope) Validate(commands []string) (OperatorScope, error) {
	for _, c := range commands {
		if !slices.Contains([]string{CommandSetup, CommandPlan, CommandDestroy, CommandRegistry, CommandOrgAccounts}, c) {
			return scope, &InputError{Field: FieldCommand, Value: c, Rule: "must be setup, plan, destroy, registry (the --registry-profile identity), org-accounts (the identity that lists the organization's accounts and assumes the account role) or circleci (the CircleCI API calls)"}
		}
	}
	if scope.AccountRole != "" {
		if err := ValidateRoleName(FieldAccountRole, scope.AccountRole); err != nil {
			return scope, err
		}
	}
	if scope.OrgID != "" {
		org, err := ValidateUUID(FieldOrgID, scope.OrgID)
		if err != nil {
			return scope, err
		}
		scope.OrgID = org
	}
	if a := scope.Account; a != "" && a != "*" {
		if err := ValidateAccountID(FieldAccountID, a); err != nil {
			return scope, err
		}
	}
	if !partitionPattern.MatchString(scope.Partition) {
		return scope, &InputError{Field: FieldPartition, Value: scope.Partition, Rule: "must be an AWS partition such as aws, aws-cn or aws-us-gov"}
	}
	// A pattern is a role name with "*" wildcards.
	if err := ValidateRoleName(FieldRoleName, strings.ReplaceAll(scope.RoleName, "*", "x")); err != nil {
		return scope, err
	}
	return scope, nil
}

// WriteFor writes what the permissions command prints for commands: the
// operator policy alone (asJSON), or for people the actions and the policy.
// CommandCircleCI, given alone, prints the CircleCI API calls and the
// token they need instead, as a list or as JSON.
func (scope OperatorScope) WriteFor(w io.Writer, commands []string, asJSON bool) error {
	if slices.Contains(commands, CommandCircleCI) {
		if len(commands) > 1 {
			return &InputError{Field: FieldCommand, Value: strings.Join(commands, ","), Rule: "circleci prints the CircleCI API calls, not an IAM policy: give it alone"}
		}
		if asJSON {
			return circleci.WriteCallsJSON(w)
		}
		return circleci.WriteCallsText(w)
	}
	scope, err := scope.Validate(commands)
	if err != nil {
		return err
	}
	if asJSON {
		return WriteOperatorPolicy(w, scope, commands)
	}
	return WritePermissions(w, scope, commands)
}

// WriteOperatorPolicy writes the operator policy for commands, alone.
func WriteOperatorPolicy(w io.Writer, scope OperatorScope, commands []string) error {
	doc, err := OperatorPolicy(scope, commands...).Indented()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, doc)
	return err
}

// WritePermissions writes for people the IAM actions commands call, with
// the resource and the reason for each, then the policy that allows them.
func WritePermissions(out io.Writer, scope OperatorScope, commands []string) error {
	doc, err := OperatorPolicy(scope, commands...).Indented()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "IAM actions circleci-ecr-oidc calls for %s:\n\n", strings.Join(commands, ", "))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tRESOURCE\tWHY")
	for _, p := range Permissions {
		if !slices.ContainsFunc(commands, func(c string) bool { return slices.Contains(p.Commands, c) }) {
			continue
		}
		why := p.Why
		if p.Conditional != "" {
			why += " (" + p.Conditional + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Action, p.Scope, why)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nA policy that allows them (--output json prints it alone):\n\n%s\n", doc)
	return nil
}
