package provision

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
)

// Operation is one command's plan as a front end runs it, whatever it
// writes: a role (SetupOperation), the roles of a sharded setup
// (ShardOperation), a destroy (DestroyOperation), a config.yml patch, or
// the same in many accounts (package fleet). The front end shows the plan,
// asks the Confirmation, executes, and reports the outcome the same way for
// every one of them; an operation only says what differs.
type Operation interface {
	// Account is the ID of the account the plan read; "" when the
	// operation is not one account's.
	Account() string
	// Changes is how many writes the plan makes (0: nothing to do), -1
	// when the command makes none by nature (verify); Warnings how many
	// warnings it has.
	Changes() int
	Warnings() int
	// Refusal is why the plan's changes must not be applied (they act on
	// what a Terraform or CloudFormation export created), or nil. It is
	// asked only of a plan with changes.
	Refusal() error
	// WritePlan writes the plan for people.
	WritePlan(w io.Writer) error
	// Confirmation is how to ask before the writes.
	Confirmation() Confirmation
	// Execute makes the writes, reporting each on progress.
	Execute(ctx context.Context, progress func(Event)) (Result, error)
	// WriteDone writes on w, the notes stream, what the writes did once
	// Execute returned res without an error ("Applied 3 change(s).").
	WriteDone(w io.Writer, res Result)
	// Outcome records what became of the plan and returns its JSON object,
	// nil when it has none of its own (a config.yml patch). res is nil
	// when nothing was executed; err is the failure, or why the changes
	// were not made.
	Outcome(res *Result, err error) any
	// WriteOutcome writes for people what the operation gives once it is
	// as the plan wants it: data such as the config.yml snippet on out,
	// what to do with it on notes; or nothing.
	WriteOutcome(out, notes io.Writer) error
	// WriteSummary writes, where the plan is not shown (JSON output), how
	// the operation stands for people: a multi-account run's table of
	// accounts; nothing for one account, whose JSON object says it all.
	WriteSummary(w io.Writer) error
	// Err is the failure the operation's own outcome holds beyond the
	// error the front end saw (the accounts that failed in a multi-account
	// run), or nil.
	Err() error
}

// Confirmation is an operation's question before its writes: the
// question, its affirmative answer ("Yes, apply", "Yes, delete", "Yes,
// write"), what to say when the answer is no, and the error when there is
// no terminal to ask on.
type Confirmation struct {
	Question, Yes, Declined string
	NoTerminal              error
}

// HintError is an error together with what a person can do about it,
// which a front end prints after the error.
type HintError struct {
	Err  error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// NewRolesNote is what to expect once new roles exist.
const NewRolesNote = "The first job may need a retry while IAM propagates new roles (up to about a minute)."

// applyConfirmation is the question before applying n changes; where says
// over what ("to account 123456789012", "over 3 role(s) to account ...").
func applyConfirmation(n int, where string) Confirmation {
	return Confirmation{
		Question: fmt.Sprintf("Apply these %d change(s) %s?", n, where), Yes: "Yes, apply", Declined: "Nothing was changed.",
		NoTerminal: fmt.Errorf("refuse to apply %d change(s) without confirmation: no terminal to ask on; rerun with --yes to apply", n),
	}
}

// oneAccount gives an operation of one account the methods that only a
// multi-account run has something to say in.
type oneAccount struct{}

// WriteSummary writes nothing: one account's JSON object says it all.
func (oneAccount) WriteSummary(io.Writer) error { return nil }

// Err is nil: one account's failure is the error the front end saw.
func (oneAccount) Err() error { return nil }

// SetupOperation is the setup of one role: its plan, applied with Clients.
type SetupOperation struct {
	oneAccount
	Clients Clients
	Plan    *Plan
	Report  *SetupReport
	// PlanOnly makes it the plan command's: nothing is refused, the
	// outcome says whether the account is as setup would leave it, and
	// nothing is written after it.
	PlanOnly bool
	// Guided writes the result as the wizard does: the role, the snippet
	// alone on out and the next steps (SetupReport.WriteReady), without
	// the count of the changes, which the wizard announced.
	Guided bool
}

// NewSetupOperation is the setup of p's role. resolution is what CircleCI
// said, nil without a token.
func NewSetupOperation(clients Clients, p *Plan, resolution *circleci.Resolution) (*SetupOperation, error) {
	report, err := NewSetupReport(p, resolution)
	if err != nil {
		return nil, err
	}
	return &SetupOperation{Clients: clients, Plan: p, Report: report}, nil
}

// Account is the account the plan read.
func (o *SetupOperation) Account() string { return o.Plan.Account }

// Changes is how many changes the plan makes.
func (o *SetupOperation) Changes() int { return len(o.Plan.Changes) }

// Warnings is how many warnings the plan has.
func (o *SetupOperation) Warnings() int { return len(o.Plan.Warnings) }

// Refusal is the plan's refusal to change what an export created; nil for
// the plan command, which changes nothing.
func (o *SetupOperation) Refusal() error {
	if o.PlanOnly {
		return nil
	}
	return o.Plan.CheckManagedBy()
}

// WritePlan writes the plan, with the documents when anything changes.
func (o *SetupOperation) WritePlan(w io.Writer) error {
	return o.Plan.WriteText(w, o.Plan.HasChanges())
}

// Confirmation asks to apply the changes to the account.
func (o *SetupOperation) Confirmation() Confirmation {
	return applyConfirmation(len(o.Plan.Changes), "to account "+o.Plan.Account)
}

// Execute applies the plan.
func (o *SetupOperation) Execute(ctx context.Context, progress func(Event)) (Result, error) {
	return Apply(ctx, o.Clients.IAM, o.Plan, Options{Progress: progress, Registry: o.Clients.Registry})
}

// WriteDone says how many changes were applied and that IAM may need a
// minute; the wizard announced the count, so a guided setup says nothing.
func (o *SetupOperation) WriteDone(w io.Writer, res Result) {
	if !o.Guided {
		fmt.Fprintf(w, "Applied %d change(s). The first job may need a retry while IAM propagates the new role (up to about a minute).\n", len(res.Applied))
	}
}

// Outcome notes the outcome in the report and returns it: what was not
// applied, and the error; applied when nothing failed. For plan, applied
// says whether the account is as setup would leave it.
func (o *SetupOperation) Outcome(res *Result, err error) any {
	if o.PlanOnly {
		o.Report.RecordPlan()
	} else {
		o.Report.Record(res, err)
	}
	return o.Report
}

// WriteOutcome writes the snippet on out and what to do with it on notes;
// plan writes nothing.
func (o *SetupOperation) WriteOutcome(out, notes io.Writer) error {
	switch {
	case o.PlanOnly:
		return nil
	case o.Guided:
		return o.Report.WriteReady(out, notes)
	}
	if _, err := fmt.Fprintf(out, "\n%s", o.Report.Snippet); err != nil {
		return fmt.Errorf("write the snippet: %w", err)
	}
	o.Report.WriteNextStep(notes)
	return nil
}

// SetupOptions say which setup PlanSetup plans.
type SetupOptions struct {
	// Shard spreads the projects over roles <role-name>-1..k (--shard).
	Shard bool
	// PlanOnly makes the operation the plan command's.
	PlanOnly bool
	// CircleCI is what CircleCI said about the organization and the
	// projects, for the JSON output; nil without a CircleCI API token.
	CircleCI *circleci.Resolution
}

// PlanSetup reads the account and plans spec's setup there: the role's
// (a *SetupOperation), or with opts.Shard every role of the sharded setup
// (a *ShardOperation). Its errors are Observe's, NewPlan's and
// PlanShards'; a refusal to change a role this tool does not own
// (ErrNotOwned) comes as a *HintError saying how to take it over.
func PlanSetup(ctx context.Context, clients Clients, spec Spec, opts SetupOptions) (Operation, error) {
	op, err := planSetup(ctx, clients, spec, opts)
	if errors.Is(err, ErrNotOwned) {
		return nil, &HintError{Err: err, Hint: "circleci-ecr-oidc only changes roles it created; --adopt replaces the role's trust policy and adds its pull policy and tags"}
	}
	return op, err
}

// planSetup is PlanSetup without the hint.
func planSetup(ctx context.Context, clients Clients, spec Spec, opts SetupOptions) (Operation, error) {
	if opts.Shard {
		sp, err := PlanShards(ctx, clients, spec)
		if err != nil {
			return nil, err
		}
		op, err := NewShardOperation(clients, sp, opts.CircleCI)
		if err != nil {
			return nil, err
		}
		op.PlanOnly = opts.PlanOnly
		return op, nil
	}
	obs, err := Observe(ctx, clients, spec)
	if err != nil {
		return nil, err
	}
	p, err := NewPlan(spec, obs)
	if err != nil {
		return nil, err
	}
	op, err := NewSetupOperation(clients, p, opts.CircleCI)
	if err != nil {
		return nil, err
	}
	op.PlanOnly = opts.PlanOnly
	return op, nil
}

// ShardOperation is a sharded setup: every role, and the removal of the
// roles no project needs any more.
type ShardOperation struct {
	oneAccount
	Clients Clients
	Plan    *ShardedPlan
	Report  *ShardedReport
	// PlanOnly makes it the plan command's, as for SetupOperation.
	PlanOnly bool
}

// NewShardOperation is the sharded setup sp. resolution is as for
// NewSetupOperation.
func NewShardOperation(clients Clients, sp *ShardedPlan, resolution *circleci.Resolution) (*ShardOperation, error) {
	report, err := NewShardedReport(sp)
	if err != nil {
		return nil, err
	}
	report.CircleCI = resolution
	return &ShardOperation{Clients: clients, Plan: sp, Report: report}, nil
}

// Account is the account the plans read.
func (o *ShardOperation) Account() string { return o.Report.Account }

// Changes is how many changes every role and removal make together.
func (o *ShardOperation) Changes() int { return len(o.Report.Changes) }

// Warnings is how many different warnings the plans have.
func (o *ShardOperation) Warnings() int { return len(o.Report.Warnings) }

// Refusal is the first refusal of the roles' plans and removals to change
// what an export created; nil for the plan command.
func (o *ShardOperation) Refusal() error {
	if o.PlanOnly {
		return nil
	}
	return o.Plan.CheckManagedBy()
}

// WritePlan writes each role's plan, the removals and the warnings.
func (o *ShardOperation) WritePlan(w io.Writer) error { return o.Report.WriteText(w, o.Plan) }

// Confirmation asks to apply the changes over every role.
func (o *ShardOperation) Confirmation() Confirmation {
	return applyConfirmation(len(o.Report.Changes), fmt.Sprintf("over %d role(s) to account %s", len(o.Plan.Plans), o.Report.Account))
}

// Execute applies one graph: every role's changes, then the removals; only
// the first plan creates or extends the provider.
func (o *ShardOperation) Execute(ctx context.Context, progress func(Event)) (Result, error) {
	return ApplyShards(ctx, o.Clients, o.Plan, Options{Progress: progress})
}

// WriteDone says how many changes were applied over how many roles.
func (o *ShardOperation) WriteDone(w io.Writer, res Result) {
	fmt.Fprintf(w, "Applied %d change(s) over %d role(s). %s\n", len(res.Applied), len(o.Plan.Plans), NewRolesNote)
}

// Outcome notes the outcome in the report and returns it, as
// SetupOperation's does.
func (o *ShardOperation) Outcome(res *Result, err error) any {
	if o.PlanOnly {
		o.Report.RecordPlan(o.Plan)
	} else {
		o.Report.Record(res, err)
	}
	return o.Report
}

// WriteOutcome writes each role's snippet; plan writes nothing.
func (o *ShardOperation) WriteOutcome(out, _ io.Writer) error {
	if !o.PlanOnly {
		o.Report.WriteSnippets(out)
	}
	return nil
}

// PlanDestroy reads the account and plans the destroy of the role
// roleName and of the provider of the organization orgID there, the
// export's too when adopt (NewDestroyPlan). Its errors are ObserveDestroy's.
func PlanDestroy(ctx context.Context, clients Clients, orgID, roleName string, adopt bool) (*DestroyOperation, error) {
	st, err := ObserveDestroy(ctx, clients, orgID, roleName)
	if err != nil {
		return nil, err
	}
	return NewDestroyOperation(clients, NewDestroyPlan(orgID, roleName, st, adopt)), nil
}

// DestroyOperation is a destroy: the deletions, in order, and what is
// kept.
type DestroyOperation struct {
	oneAccount
	Clients Clients
	Plan    *DestroyPlan
	Report  *DestroyReport
}

// NewDestroyOperation is the destroy p.
func NewDestroyOperation(clients Clients, p *DestroyPlan) *DestroyOperation {
	return &DestroyOperation{Clients: clients, Plan: p, Report: NewDestroyReport(p)}
}

// Account is the account the plan read.
func (o *DestroyOperation) Account() string { return o.Plan.Account }

// Changes is how many deletions the plan makes.
func (o *DestroyOperation) Changes() int { return len(o.Plan.Deletes) }

// Warnings is 0: a destroy plan has none.
func (o *DestroyOperation) Warnings() int { return 0 }

// Refusal is the plan's refusal to delete what an export created.
func (o *DestroyOperation) Refusal() error { return o.Plan.CheckManagedBy() }

// WritePlan writes what is deleted and what is kept.
func (o *DestroyOperation) WritePlan(w io.Writer) error { return o.Plan.WriteText(w) }

// Confirmation asks to delete the resources from the account.
func (o *DestroyOperation) Confirmation() Confirmation {
	n := len(o.Plan.Deletes)
	return Confirmation{
		Question: fmt.Sprintf("Delete these %d resource(s) from account %s?", n, o.Plan.Account), Yes: "Yes, delete", Declined: "Nothing was deleted.",
		NoTerminal: fmt.Errorf("refuse to delete %d resource(s) without confirmation: no terminal to ask on; rerun with --yes to delete", n),
	}
}

// Execute makes the deletions. A role IAM still finds in use fails with
// the hint to remove what uses it.
func (o *DestroyOperation) Execute(ctx context.Context, progress func(Event)) (Result, error) {
	res, err := Destroy(ctx, o.Clients, o.Plan, progress)
	if errorCode(err) == "DeleteConflict" {
		err = &HintError{Err: err, Hint: "the role is still in use (an instance profile or a policy added meanwhile); remove it in IAM, then run destroy again"}
	}
	return res, err
}

// WriteDone says how many resources were deleted.
func (o *DestroyOperation) WriteDone(w io.Writer, res Result) {
	fmt.Fprintf(w, "Deleted %d resource(s).\n", len(res.Applied))
}

// Outcome notes the outcome in the report and returns it.
func (o *DestroyOperation) Outcome(res *Result, err error) any {
	o.Report.Record(res, err)
	return o.Report
}

// WriteOutcome writes nothing: a destroy gives nothing to use.
func (o *DestroyOperation) WriteOutcome(io.Writer, io.Writer) error { return nil }
