package provision

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// runInlinePolicy puts the role's inline policy (created or updated alike:
// PutRolePolicy replaces it) or deletes one of the role's inline policies.
func runInlinePolicy(x *execution, t *target, s *Step) error {
	role := aws.String(t.spec.RoleName)
	switch s.Action {
	case ActionCreate, ActionUpdate:
		return x.retryPropagation(t, s.Change, "role "+t.spec.RoleName, func() error {
			_, err := t.iam.PutRolePolicy(x.calls, &iam.PutRolePolicyInput{
				RoleName: role, PolicyName: aws.String(s.Desired.PolicyName), PolicyDocument: aws.String(s.Desired.Document),
			})
			return err
		})
	case ActionDelete:
		_, err := t.iam.DeleteRolePolicy(x.calls, &iam.DeleteRolePolicyInput{RoleName: role, PolicyName: aws.String(s.Observed.PolicyName)})
		return err
	}
	return unknownStep(s)
}
