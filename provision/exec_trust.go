package provision

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// runTrustPolicy replaces the role's trust policy with the desired one. The
// role may have been created a moment ago, so IAM's propagation is waited
// out.
func runTrustPolicy(x *execution, t *target, s *Step) error {
	if s.Action != ActionUpdate {
		return unknownStep(s)
	}
	return x.retryPropagation(t, s.Change, "role "+t.spec.RoleName, func() error {
		_, err := t.iam.UpdateAssumeRolePolicy(x.calls, &iam.UpdateAssumeRolePolicyInput{
			RoleName: aws.String(t.spec.RoleName), PolicyDocument: aws.String(s.Desired.Document),
		})
		return err
	})
}
