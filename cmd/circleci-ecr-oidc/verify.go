package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/awsconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/token"
)

// verifyOptions are verify's flags and dependencies.
type verifyOptions struct {
	IO    IOStreams
	Flags specFlags
	// TokenFile is a file holding a token, or "-" for stdin.
	TokenFile string
	// Claims builds a synthetic token from key=value pairs instead.
	Claims string
	// Assume calls STS and ECR with the token.
	Assume bool
	// Now is the clock that decides expiry; nil means time.Now.
	Now func() time.Time
}

func newCmdVerify(io IOStreams, runF func(context.Context, *verifyOptions) error) *cobra.Command {
	opts := &verifyOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the live provider and role against setup's flags, and explain whether a token can assume the role",
		Long: `verify takes the same flags as setup and checks, item by item, that the account holds
what setup would create: the provider and its audience, the role and its ownership, the
trust and permissions policies (with the difference shown) and the tags. It never writes.

With --token (a file holding $CIRCLE_OIDC_TOKEN or $CIRCLE_OIDC_TOKEN_V2, or - for stdin)
or --claims (a synthetic token for "what if" checks), it evaluates the role's live trust
policy the way STS does and names the first condition that fails and the claim value that
failed it. The token is decoded offline: its signature is not verified. With --token only,
--repo and --project-id may be left out to skip the state check.

--assume also presents the token to STS (AssumeRoleWithWebIdentity) and asks ECR for a
login token with the credentials it returns, reporting each step; credentials are never
printed.

Exit status: 0 when everything matches and the token is allowed, 1 when something differs
or the token is denied, 2 for bad flags.`,
		Example: `  circleci-ecr-oidc verify --org-id 2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d \
    --repo app --project-id 8e7c4b1e-5a0d-4c3b-9f2e-1d6a7b8c9d0e
  echo "$CIRCLE_OIDC_TOKEN_V2" | circleci-ecr-oidc verify --org-id ... --token -
  circleci-ecr-oidc verify --org-id ... --claims project-id=8e7c4b1e-...,aud=sts.amazonaws.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runVerify(cmd.Context(), opts)
		},
	}
	opts.Flags.register(cmd.Flags())
	// verify reads the role's account only; runVerify refuses the flag
	// rather than ignore it.
	_ = cmd.Flags().MarkHidden("registry-profile")
	cmd.Flags().StringVar(&opts.TokenFile, "token", "", "file holding a CircleCI OIDC token to check, or - for stdin")
	cmd.Flags().StringVar(&opts.Claims, "claims", "", "check a synthetic token with these claims: key=value,... (project-id, aud, sub, vcs-origin, vcs-ref, exp, iss, ...; org-id defaults to --org-id)")
	cmd.Flags().BoolVar(&opts.Assume, "assume", false, "with --token: call sts:AssumeRoleWithWebIdentity and ecr:GetAuthorizationToken and report each step")
	return cmd
}

func runVerify(ctx context.Context, opts *verifyOptions) error {
	f := &opts.Flags
	withToken, withState, err := checkVerifyFlags(opts)
	if err != nil {
		return err
	}
	if err := f.resolveCircleCI(ctx, opts.IO.ErrOut); err != nil {
		return err
	}
	// Decode the token before any AWS call: a bad token is bad input.
	claims, rawToken, err := verifyClaims(opts)
	if err != nil {
		return err
	}
	cfg, err := awsconfig.Load(ctx, f.profile, f.region, f.maxAttempts.LoadOptions()...)
	if err != nil {
		return err
	}
	spec, err := verifySpec(f, cfg.Region, withState)
	if err != nil {
		return err
	}
	clients := provision.NewClients(cfg)
	clients.Account = awsconfig.CredentialsAccount(ctx, cfg)
	fmt.Fprintf(opts.IO.ErrOut, "Reading account state (region %s)...\n", spec.Region)
	obs, err := provision.Observe(ctx, clients, spec)
	if err != nil {
		return awsHint(err)
	}
	out := &provision.VerifyReport{
		Account: obs.Account, Region: spec.Region, OK: true,
		ProviderARN: policy.ProviderARN(obs.Partition, obs.Account, spec.OrgID),
		RoleARN:     fmt.Sprintf("arn:%s:iam::%s:role/%s", obs.Partition, obs.Account, spec.RoleName),
	}
	if obs.Role != nil {
		out.RoleARN = obs.Role.ARN
	}
	if withState {
		if out.State, err = provision.VerifyState(spec, obs); err != nil {
			return err
		}
		out.OK = out.OK && out.State.OK()
	}
	if withToken {
		now := time.Now
		if opts.Now != nil {
			now = opts.Now
		}
		if out.Token, err = provision.CheckToken(ctx, clients.IAM, obs, claims, opts.Claims != "", now()); err != nil {
			return awsHint(err)
		}
		out.OK = out.OK && out.Token.Allowed
	}
	if opts.Assume {
		fmt.Fprintf(opts.IO.ErrOut, "Presenting the token to STS for %s...\n", out.RoleARN)
		out.Assume = provision.AssumeWithConfig(ctx, cfg, out.RoleARN, rawToken)
		out.OK = out.OK && out.Assume.OK
	}
	return writeVerify(opts, out, obs)
}

// checkVerifyFlags checks verify's flags before anything is read, and says
// whether a token is checked and whether the state is compared.
func checkVerifyFlags(opts *verifyOptions) (withToken, withState bool, err error) {
	f := &opts.Flags
	if err := f.validateOutput(); err != nil {
		return false, false, err
	}
	if err := checkCircleCIHost(f.circleciHost); err != nil {
		return false, false, err
	}
	if f.registryProfile != "" {
		return false, false, &provision.InputError{Flag: "--registry-profile", Rule: "does not apply to verify, which checks the role's account only; run plan with it to check the repository policies"}
	}
	switch {
	case opts.TokenFile != "" && opts.Claims != "":
		return false, false, &provision.InputError{Flag: "--claims", Rule: "cannot be combined with --token; check a real token or a synthetic one"}
	case opts.Assume && opts.TokenFile == "":
		return false, false, &provision.InputError{Flag: "--assume", Rule: "needs --token: STS only accepts a token CircleCI signed, never a synthetic one"}
	}
	withToken = opts.TokenFile != "" || opts.Claims != ""
	withState = !withToken || len(f.repos) > 0 || len(f.projectIDs) > 0 || f.allProjects
	if withState {
		if m := f.missing(); len(m) > 0 {
			rule := "is required to compare the account with what setup would create"
			if withToken {
				rule += " (or leave out --repo and --project-id to check only the token)"
			}
			return false, false, &provision.InputError{Flag: strings.Join(m, ", "), Rule: rule}
		}
		if _, err := f.probe("us-east-1").Validate(); err != nil {
			return false, false, err
		}
	} else if err := checkIdentityFlags(f.orgID, f.roleName); err != nil {
		return false, false, err
	}
	if f.region != "" {
		if err := provision.ValidateRegion("--region", f.region); err != nil {
			return false, false, err
		}
	}
	return withToken, withState, nil
}

// verifyClaims decodes --token, or builds the synthetic claims of
// --claims; neither makes an AWS call.
func verifyClaims(opts *verifyOptions) (claims token.Claims, rawToken string, err error) {
	switch {
	case opts.TokenFile != "":
		if rawToken, err = provision.ReadToken("--token", opts.TokenFile, opts.IO.In); err != nil {
			return claims, "", err
		}
		if claims, err = token.Parse(rawToken); err != nil {
			return claims, "", &provision.InputError{Flag: "--token", Value: provision.TokenSource(opts.TokenFile), Rule: err.Error()}
		}
	case opts.Claims != "":
		org, _ := provision.ValidateUUID("--org-id", opts.Flags.spec("").OrgID)
		if claims, err = token.FromKeyValues(token.WithOrg(opts.Claims, org)); err != nil {
			return claims, "", &provision.InputError{Flag: "--claims", Rule: err.Error()}
		}
	}
	return claims, rawToken, nil
}

// verifySpec is what verify reads for: the whole spec when the state is
// compared, else only the organization, the role and the region.
func verifySpec(f *specFlags, region string, withState bool) (provision.Spec, error) {
	if !withState {
		if err := provision.ValidateRegion("--region", region); err != nil {
			return provision.Spec{}, err
		}
		org, _ := provision.ValidateUUID("--org-id", f.spec(region).OrgID)
		return provision.Spec{OrgID: org, RoleName: f.roleName, Region: region}, nil
	}
	spec, err := f.spec(region).Validate()
	if err != nil {
		return provision.Spec{}, err
	}
	return spec, checkRegionPartition(spec)
}

// writeVerify writes the report, as JSON or text, and returns the exit
// status's error when a check failed (the report says what).
func writeVerify(opts *verifyOptions, out *provision.VerifyReport, obs *provision.Observed) error {
	var failed error
	if !out.OK {
		failed = &silentError{code: exitError}
	}
	if opts.Flags.output == "json" {
		return writeJSONThen(opts.IO, out, failed)
	}
	if err := out.WriteText(opts.IO.Out, obs.Partition, obs.CallerARN); err != nil {
		return err
	}
	if out.State != nil && !out.State.OK() {
		fmt.Fprintln(opts.IO.ErrOut, "Run setup with the same flags to repair what differs (plan shows the changes first).")
	}
	return failed
}

// checkIdentityFlags validates the flags that name the provider and role
// when the state check is skipped; a slug or a name as --org-id is checked
// when it is resolved.
func checkIdentityFlags(orgID, roleName string) error {
	if strings.TrimSpace(orgID) == "" {
		return &provision.InputError{Flag: "--org-id", Rule: "is required: the CircleCI organization ID (Organization Settings → Overview), slug or name"}
	}
	if !isID(orgID) {
		return provision.ValidateRoleName("--role-name", roleName)
	}
	if _, err := provision.ValidateUUID("--org-id", orgID); err != nil {
		return err
	}
	return provision.ValidateRoleName("--role-name", roleName)
}
