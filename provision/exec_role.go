package provision

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// RoleDescription is the description put on roles the tool creates.
const RoleDescription = "Lets CircleCI jobs pull ECR images with OIDC; managed by circleci-ecr-oidc"

// runRole creates the role, with its trust policy and tags, or deletes it
// (after its policies: the plan orders that).
func runRole(x *execution, t *target, s *Step) error {
	switch s.Action {
	case ActionCreate:
		return createRole(x, t, s)
	case ActionDelete:
		_, err := t.iam.DeleteRole(x.calls, &iam.DeleteRoleInput{RoleName: aws.String(t.spec.RoleName)})
		return err
	}
	return unknownStep(s)
}

func createRole(x *execution, t *target, s *Step) error {
	name, doc, tags := t.spec.RoleName, s.Desired.Document, s.Desired.Tags
	_, err := t.iam.CreateRole(x.calls, &iam.CreateRoleInput{
		RoleName:                 aws.String(name),
		AssumeRolePolicyDocument: aws.String(doc),
		Description:              aws.String(RoleDescription),
		Tags:                     iamTags(tags),
	})
	if !isAlreadyExists(err) {
		return err
	}
	// Another run won the race (or our own earlier attempt landed and its
	// answer was lost). Continue only if the role passes the same ownership
	// rule the plan applies; the dependent changes then converge it (they
	// are idempotent puts), and the trust policy and tags are converged
	// here, since the plan, expecting a new role, holds no changes for them.
	var out *iam.GetRoleOutput
	err = x.retryPropagation(t, s.Change, "role "+name, func() error {
		var err error
		out, err = t.iam.GetRole(x.calls, &iam.GetRoleInput{RoleName: aws.String(name)})
		return err
	})
	if err != nil {
		return fmt.Errorf("re-read role created concurrently: %w", err)
	}
	existing := &ObservedRole{Tags: map[string]string{}}
	for _, tag := range out.Role.Tags {
		existing.Tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	if err := checkOwnership(existing, t.spec); err != nil {
		return fmt.Errorf("another run created a role named %s meanwhile: %w", name, err)
	}
	current, err := policy.Decode(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		return fmt.Errorf("re-read role created concurrently: %w", err)
	}
	if !policy.Equal(current, doc) {
		if _, err := t.iam.UpdateAssumeRolePolicy(x.calls, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(doc)}); err != nil {
			return err
		}
	}
	if len(missingTags(existing.Tags, tags)) == 0 {
		return nil
	}
	if err := checkTagCount(name, existing.Tags, tags); err != nil {
		return err
	}
	_, err = t.iam.TagRole(x.calls, &iam.TagRoleInput{RoleName: aws.String(name), Tags: iamTags(tags)})
	return err
}
