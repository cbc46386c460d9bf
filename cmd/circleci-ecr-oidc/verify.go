package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/awsconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/fleet"
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

With --profiles or --org-accounts it checks every account: the summary table, then each
account's report.

Exit status: 0 when everything matches and the token is allowed (in every account), 1
when something differs or the token is denied (in any), 2 for bad flags.`,
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
	in := verifyInput{claims: claims, rawToken: rawToken, withToken: withToken, withState: withState}
	if f.accounts.on() {
		return verifyAccounts(ctx, opts, in)
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
	out, obs, err := verifyAccount(ctx, opts, cfg, clients, spec, in)
	if err != nil {
		return err
	}
	return writeVerify(opts, out, obs)
}

// verifyInput is what verify checks besides the account: the token's
// claims (and the raw token, for --assume), and which checks run.
type verifyInput struct {
	claims               token.Claims
	rawToken             string
	withToken, withState bool
}

// verifyAccount reads the account of cfg and clients and checks it against
// spec and the token.
func verifyAccount(ctx context.Context, opts *verifyOptions, cfg aws.Config, clients provision.Clients, spec provision.Spec, in verifyInput) (*provision.VerifyReport, *provision.Observed, error) {
	obs, err := provision.Observe(ctx, clients, spec)
	if err != nil {
		return nil, nil, awsHint(err)
	}
	out := &provision.VerifyReport{
		Account: obs.Account, Region: spec.Region, OK: true,
		ProviderARN: policy.ProviderARN(obs.Partition, obs.Account, spec.OrgID),
		RoleARN:     fmt.Sprintf("arn:%s:iam::%s:role/%s", obs.Partition, obs.Account, spec.RoleName),
	}
	if obs.Role != nil {
		out.RoleARN = obs.Role.ARN
	}
	if in.withState {
		if out.State, err = provision.VerifyState(spec, obs); err != nil {
			return nil, nil, err
		}
		out.OK = out.OK && out.State.OK()
	}
	if in.withToken {
		now := time.Now
		if opts.Now != nil {
			now = opts.Now
		}
		if out.Token, err = provision.CheckToken(ctx, clients.IAM, obs, in.claims, opts.Claims != "", now()); err != nil {
			return nil, nil, awsHint(err)
		}
		out.OK = out.OK && out.Token.Allowed
	}
	if opts.Assume {
		fmt.Fprintf(opts.IO.ErrOut, "Presenting the token to STS for %s...\n", out.RoleARN)
		out.Assume = provision.AssumeWithConfig(ctx, cfg, out.RoleARN, in.rawToken)
		out.OK = out.OK && out.Assume.OK
	}
	return out, obs, nil
}

// verifyAccounts verifies every account of --profiles or --org-accounts:
// each account's report under the summary, exit status 1 if any failed.
func verifyAccounts(ctx context.Context, opts *verifyOptions, in verifyInput) error {
	f := &opts.Flags
	targets, err := f.accounts.targets(ctx, f.profile, f.region, f.maxAttempts)
	if err != nil {
		return err
	}
	accounts, err := f.accounts.planAccounts(ctx, opts.IO, targets, func(ctx context.Context, t fleet.Target) (fleet.AccountPlan, error) {
		spec, err := verifySpec(f, t.Config.Region, in.withState)
		if err != nil {
			return nil, err
		}
		out, obs, err := verifyAccount(ctx, opts, t.Config, t.Clients(), spec, in)
		if err != nil {
			return nil, err
		}
		return verifiedAccount{out, obs}, out.Problem()
	})
	if err != nil {
		return err
	}
	pl := pipeline{io: opts.IO}
	if f.output == "text" {
		pl.showTo = opts.IO.Out
	}
	return pl.run(ctx, &multiOp{accounts: accounts, io: opts.IO, json: f.output == "json"})
}

// verifiedAccount is one account's verify report in a multi-account
// verify, which writes nothing.
type verifiedAccount struct {
	report *provision.VerifyReport
	obs    *provision.Observed
}

func (v verifiedAccount) Account() string { return v.report.Account }
func (v verifiedAccount) Changes() int    { return -1 }
func (v verifiedAccount) Refusal() error  { return nil }
func (v verifiedAccount) Warnings() int {
	if v.report.State == nil {
		return 0
	}
	return len(v.report.State.Warnings)
}

func (v verifiedAccount) WritePlan(w io.Writer) error {
	return v.report.WriteText(w, v.obs.Partition, v.obs.CallerARN)
}

func (v verifiedAccount) Execute(context.Context, func(provision.Event)) (provision.Result, error) {
	return provision.Result{}, errors.New("verify writes nothing")
}

func (v verifiedAccount) Outcome(*provision.Result, error) any { return v.report }
func (v verifiedAccount) WriteOutcome(io.Writer) error         { return nil }

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
	if f.accounts.on() {
		if err := f.accounts.check(f.profile); err != nil {
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
