package provision

import (
	"fmt"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// Documents returns the trust and permissions policies that setup writes for
// a validated spec in the given partition and account, without reading the
// account. Repositories named without an ARN resolve to spec.Region, as
// Observe resolves them. It is what export renders: partition and account
// may be placeholders that the export replaces with its target's own
// references (a Terraform data source, a CloudFormation pseudo parameter),
// so they are not validated here. TestDocumentsMatchPlan keeps it in step
// with NewPlan.
func Documents(spec Spec, partition, account string) (trust, permissions policy.Document, err error) {
	trust, err = policy.TrustPolicy(policy.Trust{
		Partition: partition, Account: account, OrgID: spec.OrgID,
		ProjectIDs: spec.ProjectIDs, AllProjects: spec.AllProjects, Condition: spec.ProjectCondition,
		Branches: spec.Branches,
	})
	if err != nil {
		return policy.Document{}, policy.Document{}, err
	}
	arns := make([]string, 0, len(spec.Repositories))
	for _, input := range spec.Repositories {
		repo, err := ParseRepository(input)
		if err != nil {
			return policy.Document{}, policy.Document{}, fmt.Errorf("resolve repository %s: %w", input, err)
		}
		arns = append(arns, repo.ARN(partition, account, spec.Region))
	}
	permissions, err = policy.PermissionsPolicy(spec.Access, arns)
	if err != nil {
		return policy.Document{}, policy.Document{}, err
	}
	return trust, permissions, nil
}
