package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/pflag"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/awsconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/fleet"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// accountFlags are the flags that run a command in many accounts
// (docs/multi-account.md). Package fleet does the work; this only reads
// the flags and prints.
type accountFlags struct {
	profiles, ous, accounts, excludeAccounts []string
	orgAccounts                              bool
	accountRole                              string
	parallel                                 int
	set                                      *pflag.FlagSet
}

func (f *accountFlags) register(fs *pflag.FlagSet) {
	f.set = fs
	fs.StringSliceVar(&f.profiles, "profiles", nil, "run in the account of each of these AWS shared-config profiles (repeatable, comma-separated; SSO and role_arn profiles included)")
	fs.BoolVar(&f.orgAccounts, "org-accounts", false, "run in every active account of the caller's AWS Organization, from its management or a delegated administrator account")
	fs.StringSliceVar(&f.ous, "ou", nil, "organizational unit (ou-...) or root (r-...) ID (repeatable): with --org-accounts, only the accounts under it, recursively; for export --format cloudformation-stackset, where the stack set deploys")
	fs.StringVar(&f.accountRole, "account-role", fleet.DefaultAccountRole, "with --org-accounts: the role assumed in each account but the caller's own")
	fs.StringSliceVar(&f.accounts, "accounts", nil, "with --org-accounts: only these 12-digit account IDs (repeatable, comma-separated)")
	fs.StringSliceVar(&f.excludeAccounts, "exclude-accounts", nil, "with --org-accounts: leave out these 12-digit account IDs (repeatable, comma-separated)")
	fs.IntVar(&f.parallel, "parallel", fleet.DefaultParallel, fmt.Sprintf("with --profiles or --org-accounts: how many accounts are read and changed at once, 1 to %d", fleet.MaxParallel))
}

// selection is the flags' fleet.Selection, not validated.
func (f *accountFlags) selection() fleet.Selection {
	return fleet.Selection{
		Profiles: f.profiles, OrgAccounts: f.orgAccounts, OUs: f.ous, AccountRole: f.accountRole,
		Accounts: f.accounts, ExcludeAccounts: f.excludeAccounts, Parallel: f.parallel,
	}
}

// on reports whether the command runs in many accounts: any of the flags
// was given (a flag without --profiles or --org-accounts is then an error
// of check, not silently a single-account run).
func (f *accountFlags) on() bool {
	return f.set != nil && (f.selection().IsSet() || f.set.Changed("account-role") || f.set.Changed("parallel"))
}

// check validates the flags without any call; profile is --profile,
// which --profiles excludes.
func (f *accountFlags) check(profile string) error {
	if len(f.profiles) > 0 && profile != "" {
		return &provision.InputError{Field: fleet.FieldProfiles, With: []provision.Field{provision.FieldProfile}, Join: "and", Rule: "cannot be combined: --profiles names the profile of every account"}
	}
	_, err := f.selection().Validate()
	return err
}

// targets finds the accounts: the profiles', each loaded as --profile is,
// or the organization's, listed with the credentials of --profile (or the
// default chain). Checked flags come first, so a bad one makes no call.
func (f *accountFlags) targets(ctx context.Context, profile, region string, attempts awsconfig.Attempts) ([]fleet.Target, error) {
	if err := f.check(profile); err != nil {
		return nil, err
	}
	base := func(ctx context.Context) (aws.Config, error) {
		return awsconfig.Load(ctx, profile, region, attempts.LoadOptions()...)
	}
	load := func(ctx context.Context, name string) (aws.Config, error) {
		// A profile that does not exist is a mistyped flag, as for
		// --profile; one that fails to load otherwise is its account's
		// failure.
		cfg, err := awsconfig.Load(ctx, name, region, attempts.LoadOptions()...)
		var input *provision.InputError
		if errors.As(err, &input) && input.Field == provision.FieldProfile {
			input.Field = fleet.FieldProfiles
		}
		return cfg, err
	}
	return fleet.FindTargets(ctx, base, load, f.selection())
}

// planAccounts reads every target and plans in it with plan, at most
// --parallel at once. An interruption while reading ends the command. An
// account's invalid input, such as a --repo ARN in another partition, is
// reported by its flag, as run reports the command's own.
func (f *accountFlags) planAccounts(ctx context.Context, io IOStreams, targets []fleet.Target, plan func(context.Context, fleet.Target) (fleet.AccountPlan, error)) (*fleet.Operation, error) {
	return fleet.ReadAndPlan(ctx, targets, f.parallel, io.ErrOut, func(ctx context.Context, t fleet.Target) (fleet.AccountPlan, error) {
		p, err := plan(ctx, t)
		return p, flagNamed(err)
	})
}

// accountOp is a single-account operation as one account of a
// multi-account operation.
type accountOp struct {
	operation
	account  string
	warnings int
	// planOnly is the plan command's: it refuses nothing.
	planOnly bool
	// record notes the outcome in the operation's JSON result and returns it.
	record func(res *provision.Result, err error) any
	// outcome writes the text the account's success gives (its snippets).
	outcome func(w io.Writer)
}

func (a accountOp) Account() string             { return a.account }
func (a accountOp) Changes() int                { return a.pending() }
func (a accountOp) Warnings() int               { return a.warnings }
func (a accountOp) WritePlan(w io.Writer) error { return a.show(w) }
func (a accountOp) Outcome(res *provision.Result, err error) any {
	return a.record(res, err)
}

func (a accountOp) Refusal() error {
	if a.planOnly {
		return nil
	}
	return a.refusal()
}

func (a accountOp) Execute(ctx context.Context, progress func(provision.Event)) (provision.Result, error) {
	return a.execute(ctx, progress)
}

func (a accountOp) WriteOutcome(w io.Writer) error {
	if a.outcome != nil && !a.planOnly {
		a.outcome(w)
	}
	return nil
}

// multiOp is the operation over every account of a multi-account run,
// through the same pipeline as one account's.
type multiOp struct {
	accounts *fleet.Operation
	io       IOStreams
	json     bool
	// deletes makes the question destroy's.
	deletes bool
	// appliedNote is printed on stderr once changes were applied.
	appliedNote string
	// planOnly is the plan command's; pendingStatus its exit status for
	// pending changes.
	planOnly      bool
	pendingStatus func(pending bool) error
}

func (o *multiOp) pending() int           { return o.accounts.Pending() }
func (o *multiOp) show(w io.Writer) error { return o.accounts.WriteText(w) }

// refusal is nil: an account whose plan is refused is that account's
// failure, shown in the summary, and the others go on.
func (o *multiOp) refusal() error { return nil }

func (o *multiOp) ask() prompt {
	n, k := o.accounts.Pending(), o.accounts.Ready()
	if o.deletes {
		return prompt{
			question: fmt.Sprintf("Delete %d resource(s) in %d account(s)?", n, k), yes: "Yes, delete", declined: "Nothing was deleted.",
			noTerminal: fmt.Errorf("refuse to delete %d resource(s) in %d account(s) without confirmation: no terminal to ask on; rerun with --yes to delete", n, k),
		}
	}
	return prompt{
		question: fmt.Sprintf("Apply %d change(s) in %d account(s)?", n, k), yes: "Yes, apply", declined: "Nothing was changed.",
		noTerminal: fmt.Errorf("refuse to apply %d change(s) in %d account(s) without confirmation: no terminal to ask on; rerun with --yes to apply", n, k),
	}
}

// execute applies every account, each change's line prefixed with its
// account; the failures are the accounts', reported by finish.
func (o *multiOp) execute(ctx context.Context, _ func(provision.Event)) (provision.Result, error) {
	o.accounts.Execute(ctx, func(account string, e provision.Event) {
		if line := e.Line(); line != "" {
			fmt.Fprintf(o.io.ErrOut, "%s:%s\n", account, line)
		}
	})
	return provision.Result{}, nil
}

// finish writes the outcome: in JSON one object with an entry per account
// (the summary on stderr), in text the final summary and each account's
// snippets. err is why nothing was applied (no terminal to confirm on).
func (o *multiOp) finish(ctx context.Context, res *provision.Result, err error) error {
	if res != nil {
		o.accounts.WritePartials(o.io.ErrOut)
		if o.appliedNote != "" && o.accounts.Applied() > 0 {
			fmt.Fprintln(o.io.ErrOut, o.appliedNote)
		}
	}
	status := err
	if status == nil {
		status = o.accounts.Err(ctx)
	}
	if status == nil && o.planOnly {
		status = o.pendingStatus(o.accounts.Pending() > 0)
	}
	if o.json {
		if werr := o.accounts.WriteSummary(o.io.ErrOut); werr != nil {
			return werr
		}
		return writeJSONThen(o.io, o.accounts.Report(err), status)
	}
	if err != nil {
		return err
	}
	if res != nil {
		fmt.Fprintln(o.io.Out)
		if werr := o.accounts.WriteSummary(o.io.Out); werr != nil {
			return werr
		}
	}
	if werr := o.accounts.WriteOutcomes(o.io.Out); werr != nil {
		return werr
	}
	if o.planOnly && o.accounts.Pending() > 0 {
		fmt.Fprintln(o.io.ErrOut, "Run setup with the same flags to apply.")
	}
	return status
}
