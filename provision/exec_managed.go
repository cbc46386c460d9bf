package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// runManagedPolicy creates one of the role's managed policies (and attaches
// it once the role exists), updates its document, or deletes it.
func runManagedPolicy(x *execution, t *target, s *Step) error {
	switch s.Action {
	case ActionCreate:
		return createManagedPolicy(x, t, s)
	case ActionUpdate:
		return updateManagedPolicy(x.calls, t.iam, s.Desired.ARN, s.Desired.Document)
	case ActionDelete:
		return deleteManagedPolicy(x.calls, t.iam, t.spec.RoleName, s.Observed.ARN, s.Observed.Attached)
	}
	return unknownStep(s)
}

// createManagedPolicy creates the policy and then, once the role exists,
// attaches it. A policy that appeared meanwhile (a concurrent run, or our
// own earlier attempt whose answer was lost) is taken only if it passes the
// ownership rule, and its document is then converged.
func createManagedPolicy(x *execution, t *target, s *Step) error {
	want := s.Desired
	_, err := t.iam.CreatePolicy(x.calls, &iam.CreatePolicyInput{
		PolicyName: aws.String(s.Name), Path: aws.String(ManagedPolicyPath(t.spec.RoleName)),
		PolicyDocument: aws.String(want.Document), Description: aws.String(ManagedPolicyDescription),
		Tags: iamTags(want.Tags),
	})
	if isAlreadyExists(err) {
		err = convergeRacedManagedPolicy(x, t, s)
	}
	if err != nil {
		return err
	}
	if err := x.waitForRole(t); err != nil {
		return err
	}
	return attachManagedPolicy(x, t, s.Change, want.ARN)
}

func convergeRacedManagedPolicy(x *execution, t *target, s *Step) error {
	arn, doc := s.Desired.ARN, s.Desired.Document
	var got *iam.GetPolicyOutput
	err := x.retryPropagation(t, s.Change, "managed policy "+arn, func() error {
		var err error
		got, err = t.iam.GetPolicy(x.calls, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
		return err
	})
	if err != nil {
		return fmt.Errorf("re-read managed policy created concurrently: %w", err)
	}
	existing := ObservedManagedPolicy{ARN: arn, Name: s.Name, DefaultVersion: aws.ToString(got.Policy.DefaultVersionId), Tags: map[string]string{}}
	for _, tag := range got.Policy.Tags {
		existing.Tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	if err := checkManagedPolicyOwnership(existing, t.spec); err != nil {
		return fmt.Errorf("another run created managed policy %s meanwhile: %w", s.Name, err)
	}
	version, err := t.iam.GetPolicyVersion(x.calls, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String(existing.DefaultVersion)})
	if err != nil {
		return fmt.Errorf("re-read managed policy created concurrently: %w", err)
	}
	current, err := policy.Decode(aws.ToString(version.PolicyVersion.Document))
	if err != nil {
		return fmt.Errorf("re-read managed policy created concurrently: %w", err)
	}
	if policy.Equal(current, doc) {
		return nil
	}
	return updateManagedPolicy(x.calls, t.iam, arn, doc)
}

// updateManagedPolicy makes doc the policy's default version. IAM keeps at
// most five versions, so when five exist the oldest that is not in force
// is deleted first; versions are listed right before, so the decision
// rests on a fresh read.
func updateManagedPolicy(ctx context.Context, api IAMAPI, policyARN, doc string) error {
	versions, err := listPolicyVersions(ctx, api, policyARN)
	if err != nil {
		return err
	}
	if len(versions) >= maxPolicyVersions {
		if oldest := oldestNonDefault(versions); oldest != "" {
			if _, err := api.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(policyARN), VersionId: aws.String(oldest)}); err != nil && !isNotFound(err) {
				return fmt.Errorf("delete old version %s of managed policy %s to make room: %w", oldest, policyARN, err)
			}
		}
	}
	_, err = api.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(policyARN), PolicyDocument: aws.String(doc), SetAsDefault: true})
	return err
}

func listPolicyVersions(ctx context.Context, api IAMAPI, policyARN string) ([]iamtypes.PolicyVersion, error) {
	var versions []iamtypes.PolicyVersion
	pages := iam.NewListPolicyVersionsPaginator(api, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(policyARN)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the versions of managed policy %s: %w", policyARN, err)
		}
		versions = append(versions, page.Versions...)
	}
	return versions, nil
}

// oldestNonDefault returns the ID of the oldest version not in force, or "".
func oldestNonDefault(versions []iamtypes.PolicyVersion) string {
	var oldest *iamtypes.PolicyVersion
	for i := range versions {
		v := &versions[i]
		if v.IsDefaultVersion {
			continue
		}
		if oldest == nil || (v.CreateDate != nil && oldest.CreateDate != nil && v.CreateDate.Before(*oldest.CreateDate)) {
			oldest = v
		}
	}
	if oldest == nil {
		return ""
	}
	return aws.ToString(oldest.VersionId)
}

// deleteManagedPolicy detaches the policy from the role when the read
// before found it attached, deletes its old versions, which IAM requires,
// and then the policy. What is already gone counts as done, so an
// interrupted run can be repeated.
func deleteManagedPolicy(ctx context.Context, api IAMAPI, roleName, policyARN string, attached bool) error {
	if attached {
		_, err := api.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(roleName), PolicyArn: aws.String(policyARN)})
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("detach managed policy %s from role %s: %w", policyARN, roleName, err)
		}
	}
	versions, err := listPolicyVersions(ctx, api, policyARN)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, v := range versions {
		if v.IsDefaultVersion {
			continue
		}
		if _, err := api.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(policyARN), VersionId: v.VersionId}); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete version %s of managed policy %s: %w", aws.ToString(v.VersionId), policyARN, err)
		}
	}
	_, err = api.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(policyARN)})
	if isNotFound(err) {
		return nil
	}
	return err
}
