package provision

import (
	"fmt"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// ClosedRole is a shard role of ours that admits no requested project any
// more and that the user asked to keep (--keep-unused-roles): its trust
// policy is replaced by one that admits no one (policy.AdmitNoOne), so that
// it stops admitting the projects removed from --project-id, while the role,
// its ARN and its policies stay for a later run to reuse.
type ClosedRole struct {
	RoleName string `json:"role_name"`
	RoleARN  string `json:"role_arn"`
	// Admitted are the projects its trust policy admitted when read.
	Admitted []string `json:"admitted"`
	// Step replaces the trust policy, or matches (ActionNone) when the role
	// is closed already.
	Step Step `json:"step"`
	spec Spec
}

// closedRole plans the closing of role, a shard role named name whose trust
// policy admits the projects admitted (ProjectsAdmitted).
func closedRole(spec Spec, name string, role *ObservedRole, admitted []string) (*ClosedRole, error) {
	closed, err := policy.AdmitNoOne().JSON()
	if err != nil {
		return nil, fmt.Errorf("build the closed trust policy: %w", err)
	}
	s := Step{Kind: KindTrustPolicy,
		Change:   Change{Action: ActionNone, Resource: ResourceTrustPolicy, Name: name, Reason: "admits no one already (kept by --keep-unused-roles)"},
		Observed: &Value{Document: role.TrustPolicy}, Desired: &Value{Document: closed}}
	if !policy.Equal(role.TrustPolicy, closed) {
		s.Action = ActionUpdate
		s.Reason = fmt.Sprintf("admits no requested project any more (its trust policy admits %s): kept by --keep-unused-roles, with a trust policy that admits no one", listSome(admitted))
	}
	rs := spec
	rs.RoleName = name
	return &ClosedRole{RoleName: name, RoleARN: role.ARN, Admitted: admitted, Step: s, spec: rs}, nil
}

// steps are the closing's step in the executor's graph, numbered from
// offset, for the role's account.
func (c *ClosedRole) steps(api IAMAPI, opts Options, offset int) []step {
	if !c.Step.IsChange() {
		return nil
	}
	t := &target{iam: api, registry: opts.Registry, opts: opts, spec: c.spec, roleARN: c.RoleARN}
	return graph([]Step{c.Step}, t, offset, graphOptions{describe: describeChange})
}
