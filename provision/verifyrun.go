package provision

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/token"
)

// VerifyRequest is what verify checks besides the account's state: a real
// token (TokenFile, a file or "-" for stdin) or synthetic Claims
// (key=value,...), and whether the token is presented to STS (Assume).
type VerifyRequest struct {
	TokenFile string
	Claims    string
	Assume    bool
	// WithToken and WithState say which checks run: the token's against
	// the live trust policy, and the state's against the spec.
	WithToken, WithState bool
	// Now is the clock that decides expiry; nil means time.Now.
	Now func() time.Time

	claims   token.Claims
	rawToken string
}

// CheckCombination refuses the token flags that cannot go together, before
// anything is read.
func (r *VerifyRequest) CheckCombination() error {
	switch {
	case r.TokenFile != "" && r.Claims != "":
		return &InputError{Field: FieldClaims, Rule: "cannot be combined with --token; check a real token or a synthetic one"}
	case r.Assume && r.TokenFile == "":
		return &InputError{Field: FieldAssume, Rule: "needs --token: STS only accepts a token CircleCI signed, never a synthetic one"}
	}
	return nil
}

// DecodeToken decodes the token of TokenFile (read from stdin for "-"), or
// builds the synthetic claims of Claims, whose org-id defaults to orgID;
// neither makes an AWS call, so a bad token is bad input.
func (r *VerifyRequest) DecodeToken(stdin io.Reader, orgID string) error {
	var err error
	switch {
	case r.TokenFile != "":
		if r.rawToken, err = ReadToken(FieldToken, r.TokenFile, stdin); err != nil {
			return err
		}
		if r.claims, err = token.Parse(r.rawToken); err != nil {
			return &InputError{Field: FieldToken, Value: TokenSource(r.TokenFile), Rule: err.Error()}
		}
	case r.Claims != "":
		org, _ := ValidateUUID(FieldOrgID, orgID)
		if r.claims, err = token.FromKeyValues(token.WithOrg(r.Claims, org)); err != nil {
			return &InputError{Field: FieldClaims, Rule: err.Error()}
		}
	}
	return nil
}

// Spec is what verify reads for in s.Region: the whole spec, validated,
// when the state is compared, else only the organization, the role and the
// region.
func (r *VerifyRequest) Spec(s Spec) (Spec, error) {
	if !r.WithState {
		if err := ValidateRegion(FieldRegion, s.Region); err != nil {
			return Spec{}, err
		}
		org, _ := ValidateUUID(FieldOrgID, s.OrgID)
		return Spec{OrgID: org, RoleName: s.RoleName, Region: s.Region}, nil
	}
	return s.ValidateInRegion()
}

// VerifyAccount reads the account of cfg and clients and checks it against
// spec and the decoded token; with Assume it says on notes when it presents
// the token to STS. It never writes.
func VerifyAccount(ctx context.Context, cfg aws.Config, clients Clients, spec Spec, r *VerifyRequest, notes io.Writer) (*VerifyReport, *Observed, error) {
	obs, err := Observe(ctx, clients, spec)
	if err != nil {
		return nil, nil, err
	}
	out := &VerifyReport{
		Account: obs.Account, Region: spec.Region, OK: true,
		ProviderARN: policy.ProviderARN(obs.Partition, obs.Account, spec.OrgID),
		RoleARN:     fmt.Sprintf("arn:%s:iam::%s:role/%s", obs.Partition, obs.Account, spec.RoleName),
	}
	if obs.Role != nil {
		out.RoleARN = obs.Role.ARN
	}
	if r.WithState {
		if out.State, err = VerifyState(spec, obs); err != nil {
			return nil, nil, err
		}
		out.OK = out.OK && out.State.OK()
	}
	if r.WithToken {
		now := time.Now
		if r.Now != nil {
			now = r.Now
		}
		if out.Token, err = CheckToken(ctx, clients.IAM, obs, r.claims, r.Claims != "", now()); err != nil {
			return nil, nil, err
		}
		out.OK = out.OK && out.Token.Allowed
	}
	if r.Assume {
		fmt.Fprintf(notes, "Presenting the token to STS for %s...\n", out.RoleARN)
		out.Assume = AssumeWithConfig(ctx, cfg, out.RoleARN, r.rawToken)
		out.OK = out.OK && out.Assume.OK
	}
	return out, obs, nil
}
