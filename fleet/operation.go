package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// AccountPlan is one account's part of a multi-account operation: the
// operation the front end would run if the account were the only one
// (setup's, plan's, destroy's, verify's), planned in that account. An
// Operation shows, applies and reports every account through it; of its
// confirmation, notes and summary only the Operation's own are used, and
// its WriteOutcome's notes are dropped (they would repeat in every
// account).
type AccountPlan = provision.Operation

// Operation is a multi-account run as one operation: every account's plan,
// made concurrently, shown together, confirmed once and applied
// concurrently. An account that cannot be read, whose plan is refused or
// whose changes fail is that account's failure and never stops the others.
//
// Operation is itself a provision.Operation, so that the front end runs it
// as it runs one account's.
type Operation struct {
	// Deletes says that the accounts' changes are deletions (destroy), for
	// the question.
	Deletes bool
	// AppliedNote is said once changes were applied in some account, such
	// as provision.NewRolesNote; "" says nothing.
	AppliedNote string

	parallel int
	accounts []*accountRun
	// executed is set once Execute ran.
	executed bool
	// stopped is the cause of the context's end when it ended while the
	// accounts were planned or executed.
	stopped error
}

// accountRun is one account of an Operation and how far it got.
type accountRun struct {
	target Target
	// plan is nil when the account failed before it had one.
	plan AccountPlan
	// err is the account's failure: reading, planning, a refusal, or
	// applying.
	err error
	// finished is false when the run's context ended the account's work.
	finished bool
	// res is set once the account's changes were executed.
	res *provision.Result
}

// PlanEvery plans every target with plan, at most parallel at once. A
// target whose planning fails, or whose plan has changes and a Refusal, is
// that account's failure; plan may return a plan together with its error
// (a verify report that failed), which is still shown. Once ctx ends no
// further account is planned.
func PlanEvery(ctx context.Context, targets []Target, parallel int, plan func(context.Context, Target) (AccountPlan, error)) *Operation {
	op := &Operation{parallel: parallel}
	for _, o := range Run(ctx, targets, parallel, plan) {
		a := &accountRun{target: o.Target, plan: o.Value, err: o.Err, finished: o.Finished}
		if a.err == nil && a.plan.Changes() > 0 {
			a.err = a.plan.Refusal()
		}
		op.accounts = append(op.accounts, a)
	}
	op.noteStop(ctx)
	return op
}

// noteStop remembers why ctx ended, when it did, for Err.
func (op *Operation) noteStop(ctx context.Context) {
	if ctx.Err() != nil {
		op.stopped = context.Cause(ctx)
	}
}

// ready reports whether the account's changes are to be applied.
func (a *accountRun) ready() bool {
	return a.err == nil && a.plan.Changes() > 0
}

// label names the account for people: its ID and name, and for a profile
// the account its plan read.
func (a *accountRun) label() string {
	if a.target.AccountID == "" && a.plan != nil && a.plan.Account() != "" {
		return a.plan.Account() + " (" + a.target.Name + ")"
	}
	return a.target.Label()
}

// Pending is how many changes the accounts to be applied make.
func (op *Operation) Pending() int {
	n := 0
	for _, a := range op.accounts {
		if a.ready() {
			n += a.plan.Changes()
		}
	}
	return n
}

// Ready is how many accounts have changes to apply.
func (op *Operation) Ready() int {
	n := 0
	for _, a := range op.accounts {
		if a.ready() {
			n++
		}
	}
	return n
}

// WritePlan writes the review: the summary table, then each account's plan
// under a header naming the account.
func (op *Operation) WritePlan(w io.Writer) error {
	if err := op.WriteSummary(w); err != nil {
		return err
	}
	for _, a := range op.accounts {
		if a.plan == nil {
			continue
		}
		var b bytes.Buffer
		if err := a.plan.WritePlan(&b); err != nil {
			return fmt.Errorf("write the plan of %s: %w", a.label(), err)
		}
		if _, err := fmt.Fprintf(w, "\n=== %s ===\n%s", a.label(), b.String()); err != nil {
			return err
		}
	}
	return nil
}

// Execute applies every account that has changes and no failure, at most
// Parallel at once, reporting each change on progress with the label of its
// account (Event.Account). A failure stays the account's: Execute returns
// no error, and Err and the summary say which accounts failed. Once ctx
// ends no further account starts, and those in progress stop as a
// single-account run does.
func (op *Operation) Execute(ctx context.Context, progress func(provision.Event)) (provision.Result, error) {
	var ready []*accountRun
	var targets []Target
	for _, a := range op.accounts {
		if a.ready() {
			ready = append(ready, a)
			targets = append(targets, a.target)
		}
	}
	outcomes := runIndexed(ctx, targets, op.parallel, func(ctx context.Context, i int, _ Target) (provision.Result, error) {
		label := ready[i].label()
		return ready[i].plan.Execute(ctx, func(e provision.Event) {
			e.Account = label
			progress(e)
		})
	})
	for i, o := range outcomes {
		a := ready[i]
		a.err, a.finished = o.Err, o.Finished
		if !errors.Is(o.Err, ErrNotStarted) {
			res := o.Value
			a.res = &res
		}
	}
	op.executed = true
	op.noteStop(ctx)
	return provision.Result{}, nil
}

// Rows returns the summary's rows as far as the run got: before Execute,
// each account's plan; after it, what became of each.
func (op *Operation) Rows() []Row {
	rows := make([]Row, 0, len(op.accounts))
	for _, a := range op.accounts {
		r := newRow(a.target, a.err, a.finished)
		if a.plan != nil {
			r.Changes, r.Warnings = a.plan.Changes(), a.plan.Warnings()
			if r.Account == "" {
				r.Account = a.plan.Account()
			}
		}
		switch {
		case a.err != nil:
		case a.res != nil:
			r.Status = doneStatus(a.res.Applied)
		case r.Changes > 0:
			r.Status = "pending"
		case r.Changes == 0:
			r.Status = "no changes"
		}
		rows = append(rows, r)
	}
	return rows
}

// doneStatus is the status of an account whose changes were made: deleted
// resources for a destroy (every change a deletion), applied changes
// otherwise.
func doneStatus(applied []provision.Change) string {
	notDeletion := func(c provision.Change) bool {
		return c.Action != provision.ActionDelete && c.Action != provision.ActionDetach && c.Action != provision.ActionRemoveStatement
	}
	if len(applied) > 0 && !slices.ContainsFunc(applied, notDeletion) {
		return fmt.Sprintf("deleted %d resource(s)", len(applied))
	}
	return fmt.Sprintf("applied %d change(s)", len(applied))
}

// WriteSummary writes the summary table of Rows.
func (op *Operation) WriteSummary(w io.Writer) error {
	return WriteSummary(w, op.Rows())
}

// WritePartials writes, for each account whose changes stopped part way,
// what was and was not done, as a single-account run does.
func (op *Operation) WritePartials(w io.Writer) {
	for _, a := range op.accounts {
		if a.res == nil || a.err == nil || len(a.res.Applied)+len(a.res.NotApplied) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s: %s\n", a.label(), oneLine(a.err.Error()))
		a.res.WritePartial(w)
	}
}

// WriteOutcomes writes, under a header naming each, what every account
// that is now as its plan wants it gives people (AccountPlan.WriteOutcome),
// skipping the accounts that give nothing.
func (op *Operation) WriteOutcomes(w io.Writer) error {
	for _, a := range op.accounts {
		if a.err != nil || (a.res == nil && a.plan.Changes() > 0) {
			continue
		}
		var b bytes.Buffer
		if err := a.plan.WriteOutcome(&b, io.Discard); err != nil {
			return err
		}
		if b.Len() == 0 {
			continue
		}
		if _, err := fmt.Fprintf(w, "\n=== %s ===\n%s", a.label(), strings.TrimPrefix(b.String(), "\n")); err != nil {
			return err
		}
	}
	return nil
}

// Report is the JSON output of a multi-account run: one entry per account,
// in the accounts' order.
type Report struct {
	Accounts []Entry `json:"accounts"`
}

// Report returns the JSON output. unapplied is why the changes of the
// accounts that were to be applied were not (no confirmation), or nil.
func (op *Operation) Report(unapplied error) Report {
	r := Report{Accounts: make([]Entry, 0, len(op.accounts))}
	for _, a := range op.accounts {
		e := Entry{Account: a.target.AccountID, Name: a.target.Name, Profile: a.target.Profile, AssumedRole: a.target.AssumedRole}
		err := a.err
		if err == nil && a.res == nil && a.plan.Changes() > 0 {
			err = unapplied
		}
		if err != nil {
			e.Error = err.Error()
		}
		if a.plan != nil {
			e.Result = a.plan.Outcome(a.res, err)
		}
		r.Accounts = append(r.Accounts, e)
	}
	return r
}

// Err is nil when every account succeeded. Otherwise it names the accounts
// that failed; when the context ended (while planning or executing) before
// every account finished, it says how many did not and wraps the context's
// cause, so that the front end exits as interrupted.
func (op *Operation) Err() error {
	var failed []string
	unfinished := 0
	for _, a := range op.accounts {
		if a.err != nil {
			failed = append(failed, a.label())
			if !a.finished {
				unfinished++
			}
		}
	}
	switch {
	case len(failed) == 0:
		return nil
	case unfinished > 0 && op.stopped != nil:
		return fmt.Errorf("stop with %d of %d account(s) not done (the summary says which; running the same command again completes them): %w", unfinished, len(op.accounts), op.stopped)
	}
	return &FailedError{Accounts: failed, Of: len(op.accounts)}
}

// Applied is how many accounts had all their changes applied.
func (op *Operation) Applied() int {
	n := 0
	for _, a := range op.accounts {
		if a.res != nil && a.err == nil {
			n++
		}
	}
	return n
}

// FailedError says which accounts of a run failed; each one's error is in
// the summary and in its JSON entry.
type FailedError struct {
	// Accounts are the labels of the accounts that failed, in order.
	Accounts []string
	// Of is how many accounts the run had.
	Of int
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("%d of %d account(s) failed: %s; the summary says why, and after fixing the cause the same command changes only what is still missing", len(e.Accounts), e.Of, strings.Join(e.Accounts, ", "))
}

// ReadAndPlan is PlanEvery as a command runs it: it says on notes how many
// accounts it reads, and how many at a time, and words each account's
// planning error with describe, as the front end names its inputs (nil
// keeps the errors as they are). An interruption while reading ends the
// command.
func ReadAndPlan(ctx context.Context, targets []Target, parallel int, notes io.Writer, describe func(error) error, plan func(context.Context, Target) (AccountPlan, error)) (*Operation, error) {
	fmt.Fprintf(notes, "Reading %d account(s), %d at a time...\n", len(targets), min(parallel, len(targets)))
	accounts := PlanEvery(ctx, targets, parallel, func(ctx context.Context, t Target) (AccountPlan, error) {
		p, err := plan(ctx, t)
		if err != nil && describe != nil {
			err = describe(err)
		}
		return p, err
	})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read the accounts: %w", err)
	}
	return accounts, nil
}

// Account is "": the operation is many accounts'.
func (op *Operation) Account() string { return "" }

// Changes is Pending: the changes of the accounts to be applied.
func (op *Operation) Changes() int { return op.Pending() }

// Warnings is how many warnings the accounts' plans have together.
func (op *Operation) Warnings() int {
	n := 0
	for _, a := range op.accounts {
		if a.plan != nil {
			n += max(a.plan.Warnings(), 0)
		}
	}
	return n
}

// Refusal is nil: an account whose plan is refused is that account's
// failure, shown in the summary, and the others go on.
func (op *Operation) Refusal() error { return nil }

// Confirmation asks once for every account to be applied.
func (op *Operation) Confirmation() provision.Confirmation {
	n, k := op.Pending(), op.Ready()
	if op.Deletes {
		return provision.Confirmation{
			Question: fmt.Sprintf("Delete %d resource(s) in %d account(s)?", n, k), Yes: "Yes, delete", Declined: "Nothing was deleted.",
			NoTerminal: fmt.Errorf("refuse to delete %d resource(s) in %d account(s) without confirmation: no terminal to ask on; rerun with --yes to delete", n, k),
		}
	}
	return provision.Confirmation{
		Question: fmt.Sprintf("Apply %d change(s) in %d account(s)?", n, k), Yes: "Yes, apply", Declined: "Nothing was changed.",
		NoTerminal: fmt.Errorf("refuse to apply %d change(s) in %d account(s) without confirmation: no terminal to ask on; rerun with --yes to apply", n, k),
	}
}

// WriteDone writes, once Execute ran, what each account whose changes
// stopped part way did and did not do, then the AppliedNote when some
// account had all its changes applied.
func (op *Operation) WriteDone(w io.Writer, _ provision.Result) {
	op.WritePartials(w)
	if op.AppliedNote != "" && op.Applied() > 0 {
		fmt.Fprintln(w, op.AppliedNote)
	}
}

// Outcome is the JSON Report. err is why the changes of the accounts to be
// applied were not (no confirmation), or nil.
func (op *Operation) Outcome(_ *provision.Result, err error) any { return op.Report(err) }

// WriteOutcome writes, once Execute ran, the final summary on out; then
// what every account that is as its plan wants it gives (WriteOutcomes).
func (op *Operation) WriteOutcome(out, _ io.Writer) error {
	if op.executed {
		if _, err := fmt.Fprintln(out); err != nil {
			return err
		}
		if err := op.WriteSummary(out); err != nil {
			return err
		}
	}
	return op.WriteOutcomes(out)
}
