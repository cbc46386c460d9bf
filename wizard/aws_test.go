package wizard

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

type fakeSTS struct{}

func (fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return &sts.GetCallerIdentityOutput{Account: aws.String("123456789012"), Arn: aws.String("arn:aws-cn:iam::123456789012:user/ops")}, nil
}

type fakeECR struct{ names []string }

func (f fakeECR) DescribeRepositories(context.Context, *ecr.DescribeRepositoriesInput, ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error) {
	out := &ecr.DescribeRepositoriesOutput{}
	for _, n := range f.names {
		out.Repositories = append(out.Repositories, ecrtypes.Repository{RepositoryName: aws.String(n)})
	}
	return out, nil
}

// TestAWSLookups checks that the wizard's look-ups read through the
// engine's clients: the caller's identity, and each region's repositories.
func TestAWSLookups(t *testing.T) {
	var regions []string
	c := provision.Clients{STS: fakeSTS{}, ECR: func(region string) provision.ECRAPI {
		regions = append(regions, region)
		return fakeECR{names: []string{"tools/builder", "app"}}
	}}
	deps := AWSLookups(aws.Config{Region: "cn-north-1"}, c)
	id, err := deps.Identity(t.Context())
	if want := (Identity{Account: "123456789012", Partition: "aws-cn", ARN: "arn:aws-cn:iam::123456789012:user/ops"}); err != nil || id != want {
		t.Errorf("Identity() = %+v, %v; want %+v", id, err, want)
	}
	names, err := deps.ListRepositories(t.Context(), "cn-northwest-1")
	if err != nil || !slices.Contains(names, "app") || !slices.Contains(names, "tools/builder") {
		t.Errorf("ListRepositories() = %v, %v; want both repositories", names, err)
	}
	if !slices.Equal(regions, []string{"cn-northwest-1"}) {
		t.Errorf("ECR clients of regions %v, want the one asked for", regions)
	}
}
