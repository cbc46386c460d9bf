package provision

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// IAMAPI lists the IAM calls the engine makes, with the SDK's signatures.
// *iam.Client satisfies it.
type IAMAPI interface {
	GetOpenIDConnectProvider(ctx context.Context, in *iam.GetOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.GetOpenIDConnectProviderOutput, error)
	ListOpenIDConnectProviders(ctx context.Context, in *iam.ListOpenIDConnectProvidersInput, optFns ...func(*iam.Options)) (*iam.ListOpenIDConnectProvidersOutput, error)
	CreateOpenIDConnectProvider(ctx context.Context, in *iam.CreateOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.CreateOpenIDConnectProviderOutput, error)
	AddClientIDToOpenIDConnectProvider(ctx context.Context, in *iam.AddClientIDToOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.AddClientIDToOpenIDConnectProviderOutput, error)
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	CreateRole(ctx context.Context, in *iam.CreateRoleInput, optFns ...func(*iam.Options)) (*iam.CreateRoleOutput, error)
	UpdateAssumeRolePolicy(ctx context.Context, in *iam.UpdateAssumeRolePolicyInput, optFns ...func(*iam.Options)) (*iam.UpdateAssumeRolePolicyOutput, error)
	TagRole(ctx context.Context, in *iam.TagRoleInput, optFns ...func(*iam.Options)) (*iam.TagRoleOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, optFns ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, optFns ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	ListRolePolicies(ctx context.Context, in *iam.ListRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	ListAttachedRolePolicies(ctx context.Context, in *iam.ListAttachedRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	GetAccountSummary(ctx context.Context, in *iam.GetAccountSummaryInput, optFns ...func(*iam.Options)) (*iam.GetAccountSummaryOutput, error)
	// The calls below manage the policies that hold repository grants
	// beyond the inline policy's quota (see managed.go).
	ListPolicies(ctx context.Context, in *iam.ListPoliciesInput, optFns ...func(*iam.Options)) (*iam.ListPoliciesOutput, error)
	GetPolicy(ctx context.Context, in *iam.GetPolicyInput, optFns ...func(*iam.Options)) (*iam.GetPolicyOutput, error)
	GetPolicyVersion(ctx context.Context, in *iam.GetPolicyVersionInput, optFns ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error)
	ListPolicyTags(ctx context.Context, in *iam.ListPolicyTagsInput, optFns ...func(*iam.Options)) (*iam.ListPolicyTagsOutput, error)
	ListPolicyVersions(ctx context.Context, in *iam.ListPolicyVersionsInput, optFns ...func(*iam.Options)) (*iam.ListPolicyVersionsOutput, error)
	CreatePolicy(ctx context.Context, in *iam.CreatePolicyInput, optFns ...func(*iam.Options)) (*iam.CreatePolicyOutput, error)
	CreatePolicyVersion(ctx context.Context, in *iam.CreatePolicyVersionInput, optFns ...func(*iam.Options)) (*iam.CreatePolicyVersionOutput, error)
	DeletePolicyVersion(ctx context.Context, in *iam.DeletePolicyVersionInput, optFns ...func(*iam.Options)) (*iam.DeletePolicyVersionOutput, error)
	// TagPolicy tags a managed policy setup adopts (--adopt).
	TagPolicy(ctx context.Context, in *iam.TagPolicyInput, optFns ...func(*iam.Options)) (*iam.TagPolicyOutput, error)
	AttachRolePolicy(ctx context.Context, in *iam.AttachRolePolicyInput, optFns ...func(*iam.Options)) (*iam.AttachRolePolicyOutput, error)
	DeletePolicy(ctx context.Context, in *iam.DeletePolicyInput, optFns ...func(*iam.Options)) (*iam.DeletePolicyOutput, error)
	// The calls below are destroy's (see destroy.go).
	ListRoles(ctx context.Context, in *iam.ListRolesInput, optFns ...func(*iam.Options)) (*iam.ListRolesOutput, error)
	DeleteRolePolicy(ctx context.Context, in *iam.DeleteRolePolicyInput, optFns ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	DetachRolePolicy(ctx context.Context, in *iam.DetachRolePolicyInput, optFns ...func(*iam.Options)) (*iam.DetachRolePolicyOutput, error)
	DeleteRole(ctx context.Context, in *iam.DeleteRoleInput, optFns ...func(*iam.Options)) (*iam.DeleteRoleOutput, error)
	DeleteOpenIDConnectProvider(ctx context.Context, in *iam.DeleteOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.DeleteOpenIDConnectProviderOutput, error)
}

// ECRAPI lists the ECR calls the engine makes. *ecr.Client satisfies it.
type ECRAPI interface {
	DescribeRepositories(ctx context.Context, in *ecr.DescribeRepositoriesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
}

// RegistryAPI lists the ECR calls the engine makes in a registry account
// (another account holding repositories the role uses), with the
// credentials of --registry-profile. *ecr.Client satisfies it.
type RegistryAPI interface {
	GetRepositoryPolicy(ctx context.Context, in *ecr.GetRepositoryPolicyInput, optFns ...func(*ecr.Options)) (*ecr.GetRepositoryPolicyOutput, error)
	SetRepositoryPolicy(ctx context.Context, in *ecr.SetRepositoryPolicyInput, optFns ...func(*ecr.Options)) (*ecr.SetRepositoryPolicyOutput, error)
	// DeleteRepositoryPolicy is destroy's, for a policy whose only
	// statement was the role's (ECR refuses a policy without statements).
	DeleteRepositoryPolicy(ctx context.Context, in *ecr.DeleteRepositoryPolicyInput, optFns ...func(*ecr.Options)) (*ecr.DeleteRepositoryPolicyOutput, error)
}

// STSAPI lists the STS calls the engine makes. *sts.Client satisfies it.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Clients are the AWS clients the engine uses. ECR is per region because a
// repository ARN may name another region than the spec's.
type Clients struct {
	IAM IAMAPI
	STS STSAPI
	ECR func(region string) ECRAPI
	// Registry, if set, reaches the registry account of repositories in
	// other accounts (--registry-profile): the plan then reads and merges
	// their repository policies. Nil means the plan only prints the
	// statement the registry owner must add.
	Registry func(region string) RegistryAPI
	// Account is the account the credentials name before any call is made
	// (aws.Credentials.AccountID: AWS_ACCOUNT_ID, aws_account_id in the
	// profile, SSO), or "". With it Observe reads the organization's
	// provider by its ARN in the first round trip instead of listing the
	// providers first; GetCallerIdentity still decides, and a different
	// answer only costs the listing after all.
	Account string
}

// NewClients builds the SDK clients once from a loaded configuration (the
// SDK's default chain: profile, environment, AWS_ENDPOINT_URL, retryer).
func NewClients(cfg aws.Config) Clients {
	ecrClient := ecr.NewFromConfig(cfg)
	return Clients{
		IAM: iam.NewFromConfig(cfg),
		STS: sts.NewFromConfig(cfg),
		ECR: func(region string) ECRAPI {
			if region == "" || region == cfg.Region {
				return ecrClient
			}
			return ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.Region = region })
		},
	}
}

// NewRegistryClients returns the Registry field of Clients for a
// configuration loaded from --registry-profile.
func NewRegistryClients(cfg aws.Config) func(region string) RegistryAPI {
	client := ecr.NewFromConfig(cfg)
	return func(region string) RegistryAPI {
		if region == "" || region == cfg.Region {
			return client
		}
		return ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.Region = region })
	}
}

// errorCode returns the AWS error code of err, or "".
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// isNotFound reports whether err says the IAM entity does not exist.
func isNotFound(err error) bool {
	return errorCode(err) == "NoSuchEntity"
}

// isAlreadyExists reports whether err says the IAM entity exists already,
// which on create means another run won the race.
func isAlreadyExists(err error) bool {
	return errorCode(err) == "EntityAlreadyExists"
}
