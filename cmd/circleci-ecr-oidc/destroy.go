package main

import (
	"context"
	"fmt"
	"io"
	"strings"

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
	if opts.Output != "text" && opts.Output != "json" {
		return &provision.InputError{Field: fieldOutput, Value: opts.Output, Rule: "must be text or json"}
	}
	if err := opts.CheckInput(); err != nil {
		return err
	}
	if opts.Accounts.on() {
		// Before the CircleCI look-up of a slug: bad flags make no call.
		if err := opts.Accounts.check(opts.Profile); err != nil {
			return err
		}
	}
	org, err := opts.ResolveOrg(ctx, opts.IO.ErrOut)
	if err != nil {
		return err
	}
	if opts.Accounts.on() {
		return destroyAccounts(ctx, opts, org)
	}
	cfg, err := awsconfig.Load(ctx, opts.Profile, opts.Region, opts.MaxAttempts.LoadOptions()...)
	if err != nil {
		return err
	}
	if cfg.Region == "" {
		// IAM is global; STS only needs some region to sign for.
		cfg.Region = "us-east-1"
	}
	clients := provision.NewClients(cfg)
	if opts.RegistryProfile != "" {
		if clients.Registry, err = awsconfig.LoadRegistry(ctx, opts.RegistryProfile, cfg.Region, opts.MaxAttempts); err != nil {
			return err
		}
	}
	fmt.Fprintf(opts.IO.ErrOut, "Reading the role, the provider and the roles that trust it...\n")
	st, err := provision.ObserveDestroy(ctx, clients, org, opts.RoleName)
	if err != nil {
		return awsHint(err)
	}
	return opts.pipeline().run(ctx, newDestroyOp(opts, clients, provision.NewDestroyPlan(org, opts.RoleName, st, opts.Adopt)))
}

// pipeline is destroy's: the plan on stdout in text, the question on the
// terminal unless --yes.
func (opts *destroyOptions) pipeline() pipeline {
	pl := pipeline{io: opts.IO, yes: opts.Yes}
	if opts.Output == "text" {
		pl.showTo = opts.IO.Out
	}
	return pl
}

func newDestroyOp(opts *destroyOptions, clients provision.Clients, p *provision.DestroyPlan) *destroyOp {
	return &destroyOp{opts: opts, clients: clients, plan: p, out: provision.NewDestroyReport(p)}
}

// destroyAccounts plans destroy in every account of --profiles or
// --org-accounts, each as destroy plans it there alone, and deletes after
// one confirmation.
func destroyAccounts(ctx context.Context, opts *destroyOptions, org string) error {
	var registry func(region string) provision.RegistryAPI
	if opts.RegistryProfile != "" {
		var err error
		if registry, err = awsconfig.LoadRegistry(ctx, opts.RegistryProfile, opts.Region, opts.MaxAttempts); err != nil {
			return err
		}
	}
	targets, err := opts.Accounts.targets(ctx, opts.Profile, opts.Region, opts.MaxAttempts)
	if err != nil {
		return err
	}
	accounts, err := opts.Accounts.planAccounts(ctx, opts.IO, targets, func(ctx context.Context, t fleet.Target) (fleet.AccountPlan, error) {
		if t.Config.Region == "" {
			t.Config = t.Config.Copy()
			t.Config.Region = "us-east-1" // IAM is global, as for one account
		}
		clients := t.Clients()
		clients.Registry = registry
		st, err := provision.ObserveDestroy(ctx, clients, org, opts.RoleName)
		if err != nil {
			return nil, awsHint(err)
		}
		op := newDestroyOp(opts, clients, provision.NewDestroyPlan(org, opts.RoleName, st, opts.Adopt))
		return accountOp{operation: op, account: op.plan.Account, record: op.record}, nil
	})
	if err != nil {
		return err
	}
	return opts.pipeline().run(ctx, &multiOp{accounts: accounts, io: opts.IO, json: opts.Output == "json", deletes: true})
}

// destroyOp is destroy's plan: the deletions, in order, and what is kept.
type destroyOp struct {
	opts    *destroyOptions
	clients provision.Clients
	plan    *provision.DestroyPlan
	out     *provision.DestroyReport
}

func (o *destroyOp) pending() int           { return len(o.plan.Deletes) }
func (o *destroyOp) show(w io.Writer) error { return o.plan.WriteText(w) }
func (o *destroyOp) refusal() error         { return o.plan.CheckManagedBy() }

func (o *destroyOp) ask() prompt {
	n := len(o.plan.Deletes)
	return prompt{
		question: fmt.Sprintf("Delete these %d resource(s) from account %s?", n, o.plan.Account), yes: "Yes, delete", declined: "Nothing was deleted.",
		noTerminal: fmt.Errorf("refuse to delete %d resource(s) without confirmation: no terminal to ask on; rerun with --yes to delete", n),
	}
}

func (o *destroyOp) execute(ctx context.Context, progress func(provision.Event)) (provision.Result, error) {
	return provision.Destroy(ctx, o.clients, o.plan, progress)
}

func (o *destroyOp) finish(_ context.Context, res *provision.Result, err error) error {
	o.record(res, err)
	switch {
	case err != nil:
		if strings.Contains(err.Error(), "DeleteConflict") {
			err = &hintError{err, "the role is still in use (an instance profile or a policy added meanwhile); remove it in IAM, then run destroy again"}
		}
	case res != nil:
		fmt.Fprintf(o.opts.IO.ErrOut, "Deleted %d resource(s).\n", len(res.Applied))
	}
	return writeDestroyJSON(o.opts, o.out, err)
}

// record notes the outcome in the JSON result and returns it.
func (o *destroyOp) record(res *provision.Result, err error) any {
	o.out.Record(res, flagNamed(err))
	return o.out
}

// writeDestroyJSON prints out when --output json and returns err unchanged.
func writeDestroyJSON(opts *destroyOptions, out *provision.DestroyReport, err error) error {
	if opts.Output != "json" {
		return err
	}
	return writeJSONThen(opts.IO, out, err)
}
