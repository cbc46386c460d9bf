package wizard

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// AWSLookups are the wizard's two AWS reads, made with the engine's
// clients c of cfg.
func AWSLookups(cfg aws.Config, c provision.Clients) Deps {
	return Deps{
		Identity: func(ctx context.Context) (Identity, error) {
			api := c.STS
			if cfg.Region == "" {
				// STS needs a region to sign for; the wizard asks for the
				// repositories' region only after showing who is acting.
				api = sts.NewFromConfig(cfg, func(o *sts.Options) { o.Region = "us-east-1" })
			}
			return provision.CallerIdentity(ctx, api)
		},
		ListRepositories: func(ctx context.Context, region string) ([]string, error) {
			return provision.ListRepositoryNames(ctx, c.ECR(region), region)
		},
	}
}
