package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/awsconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/token"
)

// maxTokenBytes bounds what --token reads: a CircleCI token is about 1 KB,
// so anything much larger is the wrong file.
const maxTokenBytes = 64 << 10

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

// verifyResult is verify's JSON output.
type verifyResult struct {
	Account     string `json:"account"`
	Region      string `json:"region"`
	ProviderARN string `json:"provider_arn"`
	RoleARN     string `json:"role_arn"`
	// OK is true when every check ran passed; it decides the exit status.
	OK     bool                    `json:"ok"`
	State  *provision.StateReport  `json:"state,omitempty"`
	Token  *provision.TokenReport  `json:"token,omitempty"`
	Assume *provision.AssumeReport `json:"assume,omitempty"`
}

func runVerify(ctx context.Context, opts *verifyOptions) error {
	f := &opts.Flags
	withToken, withState, err := checkVerifyFlags(opts)
	if err != nil {
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
	out := &verifyResult{
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
		out.Assume = assume(ctx, cfg, out.RoleARN, rawToken)
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
		if _, err := f.spec("us-east-1").Validate(); err != nil {
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
		if rawToken, err = readToken(opts.IO, opts.TokenFile); err != nil {
			return claims, "", err
		}
		if claims, err = token.Parse(rawToken); err != nil {
			return claims, "", &provision.InputError{Flag: "--token", Value: tokenSource(opts.TokenFile), Rule: err.Error()}
		}
	case opts.Claims != "":
		org, _ := provision.ValidateUUID("--org-id", opts.Flags.orgID)
		if claims, err = token.FromKeyValues(withOrg(opts.Claims, org)); err != nil {
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
		org, _ := provision.ValidateUUID("--org-id", f.orgID)
		return provision.Spec{OrgID: org, RoleName: f.roleName, Region: region}, nil
	}
	spec, err := f.spec(region).Validate()
	if err != nil {
		return provision.Spec{}, err
	}
	return spec, checkRegionPartition(spec)
}

// assume presents the token to STS and logs in to ECR with the session.
// AssumeRoleWithWebIdentity is authorized by the token alone, so the call
// is unsigned: the tool's own credentials play no part, as in a CircleCI
// job.
func assume(ctx context.Context, cfg aws.Config, roleARN, rawToken string) *provision.AssumeReport {
	stsAPI := sts.NewFromConfig(cfg, func(o *sts.Options) { o.Credentials = aws.AnonymousCredentials{} })
	ecrFor := func(c aws.Credentials) provision.AuthorizationTokenAPI {
		return ecr.NewFromConfig(cfg, func(o *ecr.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
		})
	}
	return provision.AssumeAndLogin(ctx, stsAPI, ecrFor, roleARN, rawToken)
}

// writeVerify writes the report, as JSON or text, and returns the exit
// status's error when a check failed (the report says what).
func writeVerify(opts *verifyOptions, out *verifyResult, obs *provision.Observed) error {
	var failed error
	if !out.OK {
		failed = &silentError{code: exitError}
	}
	if opts.Flags.output == "json" {
		return writeJSONThen(opts.IO, out, failed)
	}
	if _, err := io.WriteString(opts.IO.Out, verifyText(out, obs.Partition, obs.CallerARN)); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	if out.State != nil && !out.State.OK() {
		fmt.Fprintln(opts.IO.ErrOut, "Run setup with the same flags to repair what differs (plan shows the changes first).")
	}
	return failed
}

// checkIdentityFlags validates the flags that name the provider and role
// when the state check is skipped.
func checkIdentityFlags(orgID, roleName string) error {
	if strings.TrimSpace(orgID) == "" {
		return &provision.InputError{Flag: "--org-id", Rule: "is required: the CircleCI organization ID (Organization Settings → Overview)"}
	}
	if _, err := provision.ValidateUUID("--org-id", orgID); err != nil {
		return err
	}
	return provision.ValidateRoleName("--role-name", roleName)
}

// withOrg adds org-id=<org> to --claims unless the claims already say which
// organization the token is from (org-id, iss or sub), so that a what-if
// check needs only the claims it asks about: FromKeyValues derives iss, aud
// and sub from the org the way CircleCI fills them.
func withOrg(claims, org string) string {
	for pair := range strings.SplitSeq(claims, ",") {
		key, _, _ := strings.Cut(pair, "=")
		switch strings.TrimSpace(key) {
		case "org-id", token.ClaimOrgID, "iss", "sub":
			return claims
		}
	}
	return "org-id=" + org + "," + claims
}

// readToken reads a token from a file or, for "-", stdin. Errors never
// quote the content.
func readToken(streams IOStreams, name string) (string, error) {
	var r io.Reader
	if name == "-" {
		r = streams.In
	} else {
		f, err := os.Open(name)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", &provision.InputError{Flag: "--token", Value: name, Rule: "no such file; save the job's $CIRCLE_OIDC_TOKEN_V2 to a file, or pass - to read stdin"}
			}
			return "", fmt.Errorf("read token file %s: %w", name, err)
		}
		// Read-only: a failed close loses nothing.
		defer func() { _ = f.Close() }()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxTokenBytes+1))
	if err != nil {
		return "", fmt.Errorf("read token from %s: %w", tokenSource(name), err)
	}
	if len(data) > maxTokenBytes {
		return "", &provision.InputError{Flag: "--token", Value: tokenSource(name), Rule: fmt.Sprintf("is larger than %d KiB; a CircleCI token is about 1 KB", maxTokenBytes>>10)}
	}
	return string(data), nil
}

func tokenSource(name string) string {
	if name == "-" {
		return "stdin"
	}
	return name
}

// mark is the text report's symbol for an outcome.
func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

func stepMark(s provision.StepStatus) string {
	switch s {
	case provision.StepPass:
		return "✓"
	case provision.StepSkip:
		return "-"
	default:
		return "✗"
	}
}

// verifyText renders the report for people.
func verifyText(out *verifyResult, partition, caller string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Account %s (%s), region %s, acting as %s\n", out.Account, partition, out.Region, caller)
	if s := out.State; s != nil {
		fmt.Fprintf(&b, "\nLive state compared with what setup would create for these flags:\n")
		for _, c := range s.Checks {
			fmt.Fprintf(&b, "  %s %-19s %s\n", mark(c.OK), c.Item, c.Name)
			fmt.Fprintf(&b, "      %s\n", c.Detail)
			for _, l := range c.Diff {
				fmt.Fprintf(&b, "        %s\n", l)
			}
		}
		for _, w := range s.Warnings {
			fmt.Fprintf(&b, "  Warning: %s\n", w)
		}
		if failed := s.Failed(); len(failed) > 0 {
			names := make([]string, len(failed))
			for i, c := range failed {
				names[i] = c.Item
			}
			fmt.Fprintf(&b, "State: %d of %d items differ (%s).\n", len(failed), len(s.Checks), strings.Join(names, ", "))
		} else {
			fmt.Fprintf(&b, "State: all %d items match.\n", len(s.Checks))
		}
	}
	if t := out.Token; t != nil {
		if t.Synthetic {
			fmt.Fprintf(&b, "\nSynthetic token from --claims (nothing signed, nothing to verify):\n")
		} else {
			fmt.Fprintf(&b, "\nToken claims (decoded offline; signature not verified offline, STS checks it):\n")
		}
		c := t.Claims
		fmt.Fprintf(&b, "  iss         %s\n", orNone(c.Issuer))
		fmt.Fprintf(&b, "  sub         %s (%s layout)\n", orNone(c.Subject), c.Layout)
		fmt.Fprintf(&b, "  aud         %s\n", orNone(strings.Join(c.Audience, ", ")))
		fmt.Fprintf(&b, "  project-id  %s\n", orNone(c.ProjectID))
		if c.VCSOrigin != "" || c.VCSRef != "" {
			fmt.Fprintf(&b, "  vcs         %s %s\n", c.VCSOrigin, c.VCSRef)
		}
		if c.ExpiresAt != nil {
			fmt.Fprintf(&b, "  exp         %s\n", c.ExpiresAt.Format(time.RFC3339))
		}
		fmt.Fprintf(&b, "Evaluated as STS would for %s:\n", t.RoleARN)
		for _, s := range t.Steps {
			fmt.Fprintf(&b, "  %s %-13s %s\n", stepMark(s.Status), s.Name, s.Detail)
		}
		for _, trap := range t.Traps {
			fmt.Fprintf(&b, "  Trap: %s\n", trap)
		}
		fmt.Fprintf(&b, "Verdict: %s\n", t.Verdict)
	}
	if a := out.Assume; a != nil {
		fmt.Fprintf(&b, "\nPresented to AWS (--assume):\n")
		for _, s := range a.Steps {
			fmt.Fprintf(&b, "  %s %-30s %s\n", stepMark(s.Status), s.Name, s.Detail)
		}
		if t := out.Token; t != nil && a.OK != t.Allowed {
			fmt.Fprintf(&b, "  Note: AWS's answer differs from the offline verdict; AWS is the authority (an emulator accepts any token).\n")
		}
	}
	if out.OK {
		fmt.Fprintf(&b, "\nResult: OK\n")
	} else {
		fmt.Fprintf(&b, "\nResult: FAILED\n")
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
