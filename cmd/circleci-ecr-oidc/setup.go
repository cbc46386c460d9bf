package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/awsconfig"
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

func runSetup(ctx context.Context, opts *setupOptions) error {
	if err := checkConfigFile(opts.ConfigFile, &opts.Flags); err != nil {
		return err
	}
	if wantsWizard(opts) {
		return runSetupWizard(ctx, opts)
	}
	op, err := planSetup(ctx, opts)
	if err != nil {
		return err
	}
	return opts.pipeline().run(ctx, op)
}

// planSetup validates the flags, reads the account and plans the setup:
// one role, or with --shard every role of the sharded setup; with
// --profiles or --org-accounts, that in every account.
func planSetup(ctx context.Context, opts *setupOptions) (operation, error) {
	if opts.Flags.accounts.on() {
		return planSetupAccounts(ctx, opts)
	}
	if opts.Flags.Shard {
		sp, clients, err := planShards(ctx, opts.IO, &opts.Flags)
		if err != nil {
			return nil, err
		}
		return newShardOp(opts, sp, clients)
	}
	p, clients, err := preparePlan(ctx, opts.IO, &opts.Flags)
	if err != nil {
		return nil, err
	}
	return newSetupOp(opts, clients, p)
}

// newSetupOp is the setup of the plan's role.
func newSetupOp(opts *setupOptions, clients provision.Clients, p *provision.Plan) (*setupOp, error) {
	out, err := provision.NewSetupReport(p, opts.Flags.Resolution())
	if err != nil {
		return nil, err
	}
	return &setupOp{opts: opts, clients: clients, plan: p, out: out}, nil
}

// planSetupAccounts plans setup (or its --shard) in every account of
// --profiles or --org-accounts: each account's plan is the one setup makes
// there alone.
func planSetupAccounts(ctx context.Context, opts *setupOptions) (operation, error) {
	f := &opts.Flags
	targets, registry, err := f.accountTargets(ctx, opts.IO.ErrOut)
	if err != nil {
		return nil, err
	}
	accounts, err := f.accounts.planAccounts(ctx, opts.IO, targets, func(ctx context.Context, t fleet.Target) (fleet.AccountPlan, error) {
		spec, err := f.Spec(t.Config.Region).ValidateInRegion()
		if err != nil {
			return nil, err
		}
		clients := t.Clients()
		clients.Registry = registry
		if f.Shard {
			sp, err := provision.PlanShards(ctx, clients, spec)
			if err != nil {
				return nil, err
			}
			op, err := newShardOp(opts, sp, clients)
			if err != nil {
				return nil, err
			}
			return accountOp{operation: op, account: op.out.Account, warnings: len(op.out.Warnings), planOnly: opts.planOnly,
				record: op.record, outcome: func(w io.Writer) { op.out.WriteSnippets(w) }}, nil
		}
		p, err := observeAndPlan(ctx, clients, spec)
		if err != nil {
			return nil, err
		}
		op, err := newSetupOp(opts, clients, p)
		if err != nil {
			return nil, err
		}
		return accountOp{operation: op, account: p.Account, warnings: len(p.Warnings), planOnly: opts.planOnly,
			record: op.record, outcome: func(w io.Writer) { fmt.Fprintf(w, "\n%s", op.out.Snippet) }}, nil
	})
	if err != nil {
		return nil, err
	}
	return &multiOp{accounts: accounts, io: opts.IO, json: f.output == "json", planOnly: opts.planOnly, pendingStatus: opts.pendingStatus,
		appliedNote: "The first job may need a retry while IAM propagates new roles (up to about a minute)."}, nil
}

// pipeline is setup's: the plan on stdout in text, the question on the
// terminal unless --yes.
func (opts *setupOptions) pipeline() pipeline {
	pl := pipeline{io: opts.IO, yes: opts.Yes, accessible: accessible(opts), planOnly: opts.planOnly}
	if opts.Flags.output == "text" {
		pl.showTo = opts.IO.Out
	}
	return pl
}

// setupOp is the setup of one role, from the flags or the wizard.
type setupOp struct {
	opts    *setupOptions
	clients provision.Clients
	plan    *provision.Plan
	out     *provision.SetupReport
	// wizard prints the result as the wizard does: the snippet alone on
	// stdout, the next steps on stderr.
	wizard bool
}

func (o *setupOp) pending() int           { return len(o.plan.Changes) }
func (o *setupOp) show(w io.Writer) error { return o.plan.WriteText(w, o.plan.HasChanges()) }
func (o *setupOp) refusal() error         { return o.plan.CheckManagedBy() }

func (o *setupOp) ask() prompt {
	n := len(o.plan.Changes)
	return prompt{
		question: fmt.Sprintf("Apply these %d change(s) to account %s?", n, o.plan.Account), yes: "Yes, apply", declined: "Nothing was changed.",
		noTerminal: fmt.Errorf("refuse to apply %d change(s) without confirmation: no terminal to ask on; rerun with --yes to apply", n),
	}
}

func (o *setupOp) execute(ctx context.Context, progress func(provision.Event)) (provision.Result, error) {
	return provision.Apply(ctx, o.clients.IAM, o.plan, provision.Options{Progress: progress, Registry: o.clients.Registry})
}

// finish writes the result (JSON, or the snippet) and then, when setup
// worked, patches --config-file; a failed setup never touches the file.
func (o *setupOp) finish(ctx context.Context, res *provision.Result, err error) error {
	if o.opts.planOnly {
		return o.finishPlan()
	}
	streams := o.opts.IO
	o.record(res, err)
	if err != nil {
		if o.opts.Flags.output == "json" {
			return writeJSONThen(streams, o.out, err)
		}
		return err
	}
	if res != nil && !o.wizard {
		fmt.Fprintf(streams.ErrOut, "Applied %d change(s). The first job may need a retry while IAM propagates the new role (up to about a minute).\n", len(res.Applied))
	}
	var werr error
	if o.wizard {
		werr = wizardResult(o.opts.IO, o.opts.Flags.output, o.out)
	} else {
		werr = writeResult(streams, o.opts.Flags.output, o.out, nil)
	}
	return thenPatchConfig(ctx, o.opts, o.plan, werr)
}

// record notes the outcome in the JSON result and returns it: what was not
// applied, and the error; applied when nothing failed. For plan, applied
// says whether the account is as setup would leave it.
func (o *setupOp) record(res *provision.Result, err error) any {
	if o.opts.planOnly {
		o.out.RecordPlan()
	} else {
		o.out.Record(res, flagNamed(err))
	}
	return o.out
}

// finishPlan is plan's outcome: the JSON result, or in text the hint to
// apply; then the diff --config-file would get; exit status 2 for pending
// changes under --detailed-exitcode.
func (o *setupOp) finishPlan() error {
	opts, changes := o.opts, o.plan.HasChanges()
	o.record(nil, nil)
	pending := opts.pendingStatus(changes)
	if opts.Flags.output == "json" {
		return showPlannedConfig(opts, o.plan, writeJSONThen(opts.IO, o.out, pending))
	}
	if changes {
		fmt.Fprintln(opts.IO.ErrOut, "Run setup with the same flags to apply.")
	}
	return showPlannedConfig(opts, o.plan, pending)
}

// preparePlan validates the flags, loads the AWS configuration, reads the
// account and plans. No AWS call happens before every input is valid.
func preparePlan(ctx context.Context, io IOStreams, f *specFlags) (*provision.Plan, provision.Clients, error) {
	spec, clients, err := prepareSpec(ctx, io.ErrOut, f)
	if err != nil {
		return nil, clients, err
	}
	fmt.Fprintf(io.ErrOut, "Reading account state (region %s)...\n", spec.Region)
	p, err := observeAndPlan(ctx, clients, spec)
	return p, clients, err
}

// observeAndPlan reads the account and plans spec there.
func observeAndPlan(ctx context.Context, clients provision.Clients, spec provision.Spec) (*provision.Plan, error) {
	obs, err := provision.Observe(ctx, clients, spec)
	if err != nil {
		return nil, awsHint(err)
	}
	p, err := provision.NewPlan(spec, obs)
	if err != nil {
		return nil, planHint(err)
	}
	return p, nil
}

// planHint adds the hint that helps with a refusal to plan.
func planHint(err error) error {
	if errors.Is(err, provision.ErrNotOwned) {
		return &hintError{err, "circleci-ecr-oidc only changes roles it created; --adopt replaces the role's trust policy and adds its pull policy and tags"}
	}
	return err
}

// prepareSpec validates the flags, resolves the CircleCI organization and
// projects, and builds the AWS clients from the SDK's configuration chain,
// without any AWS call. Progress goes to errOut.
func prepareSpec(ctx context.Context, errOut io.Writer, f *specFlags) (provision.Spec, provision.Clients, error) {
	if err := f.check(); err != nil {
		return provision.Spec{}, provision.Clients{}, err
	}
	if err := f.Resolve(ctx, errOut); err != nil {
		return provision.Spec{}, provision.Clients{}, err
	}
	cfg, err := awsconfig.Load(ctx, f.Profile, f.Region, f.maxAttempts.LoadOptions()...)
	if err != nil {
		return provision.Spec{}, provision.Clients{}, err
	}
	spec, err := f.Spec(cfg.Region).ValidateInRegion()
	if err != nil {
		return provision.Spec{}, provision.Clients{}, err
	}
	clients, err := awsconfig.Clients(ctx, cfg, f.RegistryProfile, f.Region, f.maxAttempts)
	return spec, clients, err
}

// check validates every flag that can be checked before CircleCI is asked
// and the AWS configuration is loaded (provision.Input.Check), then the
// multi-account flags, when any is given.
func (f *specFlags) check() error {
	if err := f.validateOutput(); err != nil {
		return err
	}
	rule := "is required (no terminal to ask on, so every required value must come as a flag)"
	if f.accounts.on() {
		rule = "is required with --profiles or --org-accounts (the wizard sets up one account)"
	}
	if err := f.Check(rule); err != nil {
		return err
	}
	if f.accounts.on() {
		return f.accounts.check(f.Profile)
	}
	return nil
}

// accountTargets is the front of every multi-account setup and plan, as
// prepareSpec is of one account's: the flags checked (no call), the
// CircleCI organization and projects resolved once for every account, then
// the accounts found, and the registry account's clients when
// --registry-profile is given, shared by all.
func (f *specFlags) accountTargets(ctx context.Context, errOut io.Writer) ([]fleet.Target, func(region string) provision.RegistryAPI, error) {
	if err := f.check(); err != nil {
		return nil, nil, err
	}
	if err := f.Resolve(ctx, errOut); err != nil {
		return nil, nil, err
	}
	registry, err := awsconfig.LoadRegistry(ctx, f.RegistryProfile, f.Region, f.maxAttempts)
	if err != nil {
		return nil, nil, err
	}
	targets, err := f.accounts.targets(ctx, f.Profile, f.Region, f.maxAttempts)
	return targets, registry, err
}

// writeResult prints the outcome: JSON as one object, or in text the
// snippet (the pipeline showed the plan). It returns err unchanged.
func writeResult(io IOStreams, format string, out *provision.SetupReport, err error) error {
	if format == "json" {
		return writeJSONThen(io, out, err)
	}
	fmt.Fprintf(io.Out, "\n%s", out.Snippet)
	out.WriteNextStep(io.ErrOut)
	return err
}

func writeJSONThen(io IOStreams, out any, err error) error {
	enc := json.NewEncoder(io.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if jerr := enc.Encode(out); jerr != nil {
		return fmt.Errorf("write JSON output: %w", jerr)
	}
	return err
}

// progressPrinter returns the progress sink for Apply, Destroy and
// ApplyShards. It needs no lock of its own: the executor never calls a sink
// twice at once, and run() serializes every write to stderr.
func progressPrinter(io IOStreams) func(provision.Event) {
	return func(e provision.Event) {
		if line := e.Line(); line != "" {
			fmt.Fprintln(io.ErrOut, line)
		}
	}
}
