package provision

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// WebIdentityAPI is the STS call verify --assume makes. *sts.Client
// satisfies it; the CLI builds it with anonymous credentials, because
// AssumeRoleWithWebIdentity is authorized by the token alone.
type WebIdentityAPI interface {
	AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error)
}

// AuthorizationTokenAPI is the ECR call verify --assume makes with the
// assumed role's credentials. *ecr.Client satisfies it.
type AuthorizationTokenAPI interface {
	GetAuthorizationToken(ctx context.Context, in *ecr.GetAuthorizationTokenInput, optFns ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error)
}

// Steps of AssumeAndLogin.
const (
	StepAssume   = "sts:AssumeRoleWithWebIdentity"
	StepECRLogin = "ecr:GetAuthorizationToken"
)

// AssumeSessionName is the role session name verify --assume uses, so that
// CloudTrail shows where the session came from.
const AssumeSessionName = "circleci-ecr-oidc-verify"

// AssumeReport is the outcome of AssumeAndLogin. It never holds credentials,
// session tokens, the web identity token or the ECR authorization token.
type AssumeReport struct {
	Steps []TokenStep `json:"steps"`
	// OK is true when both calls succeeded.
	OK bool `json:"ok"`
}

// AssumeAndLogin does what a CircleCI job does with its token: it calls
// AssumeRoleWithWebIdentity for roleARN with rawToken, then
// ecr:GetAuthorizationToken with the credentials it got, built by ecrFor.
// Each step is reported with what AWS answered, never with a secret: the
// credentials only pass from the first call's output into ecrFor.
func AssumeAndLogin(ctx context.Context, stsAPI WebIdentityAPI, ecrFor func(aws.Credentials) AuthorizationTokenAPI, roleARN, rawToken string) *AssumeReport {
	r := &AssumeReport{Steps: []TokenStep{}}
	out, err := stsAPI.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String(AssumeSessionName), WebIdentityToken: aws.String(rawToken),
	})
	if err != nil {
		r.Steps = append(r.Steps,
			TokenStep{Name: StepAssume, Status: StepFail, Detail: fmt.Sprintf("assume role %s: %v", roleARN, err)},
			TokenStep{Name: StepECRLogin, Status: StepSkip, Detail: "not tried: no credentials"})
		return r
	}
	if out.Credentials == nil {
		r.Steps = append(r.Steps,
			TokenStep{Name: StepAssume, Status: StepFail, Detail: "assume role " + roleARN + ": STS answered without credentials"},
			TokenStep{Name: StepECRLogin, Status: StepSkip, Detail: "not tried: no credentials"})
		return r
	}
	detail := "assumed " + roleARN
	if out.AssumedRoleUser != nil {
		detail = "assumed " + aws.ToString(out.AssumedRoleUser.Arn)
	}
	if out.Credentials.Expiration != nil {
		detail += fmt.Sprintf("; credentials expire %s", out.Credentials.Expiration.UTC().Format(time.RFC3339))
	}
	r.Steps = append(r.Steps, TokenStep{Name: StepAssume, Status: StepPass, Detail: detail + " (credentials not shown)"})

	creds := aws.Credentials{
		AccessKeyID:     aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(out.Credentials.SessionToken),
		Source:          "AssumeRoleWithWebIdentity",
		CanExpire:       out.Credentials.Expiration != nil,
	}
	if out.Credentials.Expiration != nil {
		creds.Expires = *out.Credentials.Expiration
	}
	auth, err := ecrFor(creds).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		r.Steps = append(r.Steps, TokenStep{Name: StepECRLogin, Status: StepFail, Detail: fmt.Sprintf("get an ECR authorization token as the role: %v", err)})
		return r
	}
	loginDetail := "the role can log in to ECR"
	if len(auth.AuthorizationData) > 0 {
		d := auth.AuthorizationData[0]
		loginDetail += " at " + aws.ToString(d.ProxyEndpoint)
		if d.ExpiresAt != nil {
			loginDetail += fmt.Sprintf(" (authorization token expires %s; not shown)", d.ExpiresAt.UTC().Format(time.RFC3339))
		}
	}
	r.Steps = append(r.Steps, TokenStep{Name: StepECRLogin, Status: StepPass, Detail: loginDetail})
	r.OK = true
	return r
}
