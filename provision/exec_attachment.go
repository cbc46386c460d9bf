package provision

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// runAttachment attaches one of the role's managed policies to it, or
// detaches a managed policy from the role, leaving the policy itself.
func runAttachment(x *execution, t *target, s *Step) error {
	switch s.Action {
	case ActionAttach:
		return attachManagedPolicy(x, t, s.Change, s.Desired.ARN)
	case ActionDetach:
		_, err := t.iam.DetachRolePolicy(x.calls, &iam.DetachRolePolicyInput{RoleName: aws.String(t.spec.RoleName), PolicyArn: aws.String(s.Observed.ARN)})
		return err
	}
	return unknownStep(s)
}

// attachManagedPolicy attaches the policy to the role, which may have been
// created a moment ago.
func attachManagedPolicy(x *execution, t *target, c Change, policyARN string) error {
	return x.retryPropagation(t, c, "role "+t.spec.RoleName, func() error {
		_, err := t.iam.AttachRolePolicy(x.calls, &iam.AttachRolePolicyInput{RoleName: aws.String(t.spec.RoleName), PolicyArn: aws.String(policyARN)})
		return err
	})
}
