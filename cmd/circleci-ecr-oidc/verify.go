package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/fleet"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// verifyOptions are verify's flags and dependencies.
type verifyOptions struct {
	IO    IOStreams
	Flags specFlags
	// Request is --token (a file holding a token, or "-" for stdin),
	// --claims (a synthetic token from key=value pairs instead) and
	// --assume (call STS and ECR with the token).
	Request provision.VerifyRequest
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
	cmd.Flags().StringVar(&opts.Request.TokenFile, "token", "", "file holding a CircleCI OIDC token to check, or - for stdin")
	cmd.Flags().StringVar(&opts.Request.Claims, "claims", "", "check a synthetic token with these claims: key=value,... (project-id, aud, sub, vcs-origin, vcs-ref, exp, iss, ...; org-id defaults to --org-id)")
	cmd.Flags().BoolVar(&opts.Request.Assume, "assume", false, "with --token: call sts:AssumeRoleWithWebIdentity and ecr:GetAuthorizationToken and report each step")
	return cmd
}

func runVerify(ctx context.Context, opts *verifyOptions) error {
	f, req := &opts.Flags, &opts.Request
	if err := checkVerifyFlags(opts); err != nil {
		return err
	}
	if err := f.Resolve(ctx, opts.IO.ErrOut); err != nil {
		return err
	}
	// Decode the token before any AWS call: a bad token is bad input.
	if err := req.DecodeToken(opts.IO.In, f.Spec("").OrgID); err != nil {
		return err
	}
	scope := f.accounts.scope(f.Profile, f.Region, "", f.maxAttempts)
	op, err := scope.Plan(ctx, opts.IO.ErrOut, flagNamed, func(ctx context.Context, at fleet.Place) (provision.Operation, error) {
		spec, err := req.Spec(f.Spec(at.Config.Region))
		if err != nil {
			return nil, err
		}
		if !scope.Many {
			fmt.Fprintf(opts.IO.ErrOut, "Reading account state (region %s)...\n", spec.Region)
		}
		out, obs, err := provision.VerifyAccount(ctx, at.Config, at.Clients, spec, req, opts.IO.ErrOut)
		if err != nil {
			return nil, awsHint(err)
		}
		out.CircleCI = f.Resolution()
		verified := provision.VerifyOperation{Report: out, Observed: obs}
		if scope.Many {
			// The account's failure, in the summary.
			return verified, out.Problem()
		}
		return verified, nil
	})
	if err != nil {
		return err
	}
	return pipeline{io: opts.IO, json: f.output == "json"}.run(ctx, op)
}

// checkVerifyFlags checks verify's flags before anything is read, and
// notes in the request whether a token is checked and whether the state is
// compared (provision.VerifyRequest.CheckInput).
func checkVerifyFlags(opts *verifyOptions) error {
	f := &opts.Flags
	if err := checkOutput(f.output); err != nil {
		return err
	}
	if err := opts.Request.CheckInput(&f.Input); err != nil {
		return err
	}
	return f.accounts.check(f.Profile)
}
