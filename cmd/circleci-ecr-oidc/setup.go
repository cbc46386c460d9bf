package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleciconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/fleet"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// setupOptions are setup's flags and dependencies.
type setupOptions struct {
	IO    IOStreams
	Flags specFlags
	Yes   bool
	// Accessible selects plain line prompts (also ACCESSIBLE=anything).
	Accessible bool
	// ConfigFile is the config.yml to patch after a successful setup (for
	// plan: whose patch to show without writing).
	ConfigFile string
	// planOnly stops after the plan is shown: the plan command.
	planOnly bool
	// DetailedExitcode is plan's --detailed-exitcode.
	DetailedExitcode bool
}

func newCmdSetup(io IOStreams, runF func(context.Context, *setupOptions) error) *cobra.Command {
	opts := &setupOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Create or update the OIDC provider, the role and its ECR pull policy",
		Long: `setup reads the account, shows the plan, and after confirmation (or --yes) makes
only the changes the plan lists. Without a terminal and without --yes it prints the
plan and exits non-zero without writing.

With --profiles or --org-accounts it sets up many accounts at once: it reads every
account (--parallel at a time), shows a summary table and each account's plan, asks
once, then applies concurrently. An account that fails never stops the others; the
summary says which failed and why, the exit status is then 1, and running the same
command again completes only what is missing (docs/multi-account.md).`,
		Example: `  circleci-ecr-oidc setup --org-id 2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d \
    --repo app,tools/builder --project-id 8e7c4b1e-5a0d-4c3b-9f2e-1d6a7b8c9d0e \
    --region us-east-1 --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runSetup(cmd.Context(), opts)
		},
	}
	opts.Flags.register(cmd.Flags())
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "apply without asking for confirmation")
	registerShard(cmd.Flags(), &opts.Flags)
	cmd.Flags().BoolVar(&opts.Accessible, "accessible", false, "ask with plain line prompts for screen readers (also: ACCESSIBLE=1)")
	cmd.Flags().StringVar(&opts.ConfigFile, "config-file", "", configFileUsage)
	return cmd
}

func registerShard(fs *pflag.FlagSet, f *specFlags) {
	fs.BoolVar(&f.Shard, "shard", false, "spread the --project-id values over roles <role-name>-1..k, each trust policy within the account's quota")
	fs.BoolVar(&f.KeepUnusedRoles, "keep-unused-roles", false, "with --shard: keep a role <role-name>-N that no longer admits any requested project, with a trust policy that admits no one, instead of deleting it")
}

func runSetup(ctx context.Context, opts *setupOptions) error {
	if err := circleciconfig.CheckInput(opts.ConfigFile, opts.Flags.Shard, opts.Flags.accounts.on()); err != nil {
		return err
	}
	if wantsWizard(opts) {
		return runSetupWizard(ctx, opts)
	}
	op, err := planSetup(ctx, opts)
	if err != nil {
		return err
	}
	return opts.pipeline(op).run(ctx, op)
}

// planSetup validates the flags, resolves the CircleCI organization and
// projects, reads the account and plans the setup: one role, or with
// --shard every role of the sharded setup; with --profiles or
// --org-accounts, that in every account, each as setup plans it there
// alone. No AWS call happens before every input is valid.
func planSetup(ctx context.Context, opts *setupOptions) (provision.Operation, error) {
	f := &opts.Flags
	if err := f.check(); err != nil {
		return nil, err
	}
	if err := f.Resolve(ctx, opts.IO.ErrOut); err != nil {
		return nil, err
	}
	scope := f.accounts.scope(f.Profile, f.Region, f.RegistryProfile, f.maxAttempts)
	op, err := scope.Plan(ctx, opts.IO.ErrOut, flagNamed, func(ctx context.Context, at fleet.Place) (provision.Operation, error) {
		spec, err := f.Spec(at.Config.Region).ValidateInRegion()
		if err != nil {
			return nil, err
		}
		switch {
		case scope.Many: // ReadAndPlan says what it reads.
		case f.Shard:
			fmt.Fprintf(opts.IO.ErrOut, "Reading account state (region %s, roles %s-N)...\n", spec.Region, spec.RoleName)
		default:
			fmt.Fprintf(opts.IO.ErrOut, "Reading account state (region %s)...\n", spec.Region)
		}
		op, err := provision.PlanSetup(ctx, at.Clients, spec, provision.SetupOptions{Shard: f.Shard, PlanOnly: opts.planOnly, CircleCI: f.Resolution()})
		if err != nil {
			return nil, awsHint(err)
		}
		return op, nil
	})
	if many, ok := op.(*fleet.Operation); ok {
		many.AppliedNote = provision.NewRolesNote
	}
	return op, err
}

// pipeline is setup's for op: the plan on stdout in text, the question on
// the terminal unless --yes. With --config-file, the file's patch (setup)
// or its diff (plan) follows a role's setup.
func (opts *setupOptions) pipeline(op provision.Operation) pipeline {
	pl := pipeline{io: opts.IO, yes: opts.Yes, json: opts.Flags.output == "json", accessible: accessible(opts), planOnly: opts.planOnly, detailedExitcode: opts.DetailedExitcode}
	if single, ok := op.(*provision.SetupOperation); ok && opts.ConfigFile != "" {
		pl.then = func(ctx context.Context, err error) error {
			if opts.planOnly {
				return showPlannedConfig(opts, single.Plan, err)
			}
			if err != nil {
				// A failed setup never touches the file.
				return err
			}
			return patchConfigFile(ctx, opts, single.Plan)
		}
	}
	return pl
}

// check validates every flag that can be checked before CircleCI is asked
// and the AWS configuration is loaded (provision.Input.Check), then the
// multi-account flags, when any is given.
func (f *specFlags) check() error {
	if err := checkOutput(f.output); err != nil {
		return err
	}
	rule := "is required (no terminal to ask on, so every required value must come as a flag)"
	if f.accounts.on() {
		rule = "is required with --profiles or --org-accounts (the wizard sets up one account)"
	}
	if err := f.Check(rule); err != nil {
		return err
	}
	return f.accounts.check(f.Profile)
}
