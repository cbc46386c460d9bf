package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/awsconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/fleet"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// destroyOptions are destroy's flags and dependencies.
type destroyOptions struct {
	IO IOStreams
	// DestroyInput is --org-id, --role-name, --region and --circleci-host.
	provision.DestroyInput
	Profile string
	Output  string
	Yes     bool
	// RegistryProfile holds the credentials of the account of foreign
	// repositories the role was granted, whose policies setup gave a
	// statement for the role.
	RegistryProfile string
	// Adopt deletes what a Terraform or CloudFormation export created too.
	Adopt bool
	// MaxAttempts is --max-attempts, as for setup.
	MaxAttempts awsconfig.Attempts
	// Accounts are the multi-account flags, as for setup.
	Accounts accountFlags
}

func newCmdDestroy(io IOStreams, runF func(context.Context, *destroyOptions) error) *cobra.Command {
	opts := &destroyOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "destroy",
		Short: "Delete the role and the OIDC provider that setup created, and nothing else",
		Long: `destroy reads the account and shows what it will delete and what it will keep, and why.
It deletes the role only if it carries the circleci-ecr-oidc:managed=true tag (its
policies are deleted or detached first), and the OIDC provider only if setup created it
and no other role in the account trusts it. A provider it did not create is never
deleted. Running it again when nothing is left changes nothing and exits 0.

A role that a Terraform or CloudFormation export created (tagged
circleci-ecr-oidc:managed=terraform or cloudformation) belongs to that tool: destroy
shows the plan and exits 1 without deleting anything, unless --adopt; such a provider
is kept unless --adopt.

With --registry-profile, the statement setup merged for the role into the repository
policies of repositories in another account is taken out again (every other statement
is kept; a policy left without statements is deleted). Without it, those statements are
listed as kept.

It asks for confirmation on a terminal; --yes skips the question. Without a terminal
and without --yes it prints the plan and exits 1 without deleting anything.

With --profiles or --org-accounts it does this in every account, with one summary and
one confirmation; an account that fails never stops the others, and the exit status
is then 1.`,
		Example: `  circleci-ecr-oidc destroy --org-id 2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d --yes`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runDestroy(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.OrgID, "org-id", "", orgIDUsage)
	fs.StringVar(&opts.RoleName, "role-name", provision.DefaultRoleName, "IAM role name")
	fs.StringVar(&opts.Region, "region", "", "AWS region for the STS call (IAM is global; default: from the profile or AWS_REGION, else us-east-1)")
	fs.StringVar(&opts.Profile, "profile", "", "AWS shared config profile (default: the SDK's default chain)")
	fs.StringVarP(&opts.Output, "output", "o", "text", "output format: text or json")
	fs.BoolVarP(&opts.Yes, "yes", "y", false, "delete without asking for confirmation")
	fs.BoolVar(&opts.Adopt, "adopt", false, "also delete a role, its policies and the provider that a Terraform or CloudFormation export created")
	registerMaxAttempts(fs, &opts.MaxAttempts)
	registerCircleCIHost(fs, &opts.CircleCIHost)
	fs.StringVar(&opts.RegistryProfile, "registry-profile", "", "AWS profile of the account holding repositories granted by ARN: remove the role's statement from their repository policies")
	opts.Accounts.register(fs)
	return cmd
}

func runDestroy(ctx context.Context, opts *destroyOptions) error {
	if err := checkOutput(opts.Output); err != nil {
		return err
	}
	if err := opts.CheckInput(); err != nil {
		return err
	}
	// Before the CircleCI look-up of a slug: bad flags make no call.
	if err := opts.Accounts.check(opts.Profile); err != nil {
		return err
	}
	org, err := opts.ResolveOrg(ctx, opts.IO.ErrOut)
	if err != nil {
		return err
	}
	scope := opts.Accounts.scope(opts.Profile, opts.Region, opts.RegistryProfile, opts.MaxAttempts)
	// IAM is global; STS only needs some region to sign for.
	scope.DefaultRegion = "us-east-1"
	op, err := scope.Plan(ctx, opts.IO.ErrOut, flagNamed, func(ctx context.Context, at fleet.Place) (provision.Operation, error) {
		if !scope.Many {
			fmt.Fprintf(opts.IO.ErrOut, "Reading the role, the provider and the roles that trust it...\n")
		}
		op, err := provision.PlanDestroy(ctx, at.Clients, org, opts.RoleName, opts.Adopt)
		if err != nil {
			return nil, awsHint(err)
		}
		return op, nil
	})
	if err != nil {
		return err
	}
	if many, ok := op.(*fleet.Operation); ok {
		many.Deletes = true
	}
	return opts.pipeline().run(ctx, op)
}

// pipeline is destroy's: the plan on stdout in text, the question on the
// terminal unless --yes.
func (opts *destroyOptions) pipeline() pipeline {
	return pipeline{io: opts.IO, yes: opts.Yes, json: opts.Output == "json"}
}
