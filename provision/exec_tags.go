package provision

import (
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// runTags puts the desired tags on the role or on a managed policy.
func runTags(x *execution, t *target, s *Step) error {
	if s.Action != ActionTag {
		return unknownStep(s)
	}
	switch s.Resource {
	case ResourceRole:
		return x.retryPropagation(t, s.Change, "role "+t.spec.RoleName, func() error {
			_, err := t.iam.TagRole(x.calls, &iam.TagRoleInput{RoleName: aws.String(t.spec.RoleName), Tags: iamTags(s.Desired.Tags)})
			return err
		})
	case ResourceManagedPolicy:
		_, err := t.iam.TagPolicy(x.calls, &iam.TagPolicyInput{PolicyArn: aws.String(s.Observed.ARN), Tags: iamTags(s.Desired.Tags)})
		return err
	}
	return unknownStep(s)
}

func iamTags(tags map[string]string) []iamtypes.Tag {
	out := make([]iamtypes.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, iamtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
