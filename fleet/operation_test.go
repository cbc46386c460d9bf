package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/golden"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// fakePlan is an account's plan: its changes, what its execution does,
// and what the Operation asked of it.
type fakePlan struct {
	account           string
	changes, warnings int
	refusal           error
	// fail makes Execute apply the first change and fail the rest.
	fail error
	// wait makes Execute close started and block until its context ends.
	wait    bool
	started chan struct{}

	mu       sync.Mutex
	executed bool
}

func (p *fakePlan) Account() string { return p.account }
func (p *fakePlan) Changes() int    { return p.changes }
func (p *fakePlan) Warnings() int   { return p.warnings }
func (p *fakePlan) Refusal() error  { return p.refusal }

func (p *fakePlan) WritePlan(w io.Writer) error {
	_, err := fmt.Fprintf(w, "Account %s: %d change(s)\n", p.account, p.changes)
	return err
}

func (p *fakePlan) change(i int) provision.Change {
	return provision.Change{Action: provision.ActionCreate, Resource: provision.ResourceRole, Name: fmt.Sprint("role-", i)}
}

func (p *fakePlan) Execute(ctx context.Context, progress func(provision.Event)) (provision.Result, error) {
	p.mu.Lock()
	p.executed = true
	p.mu.Unlock()
	res := provision.Result{Applied: []provision.Change{}, NotApplied: []provision.Change{}}
	if p.wait {
		close(p.started)
		<-ctx.Done()
		for i := range p.changes {
			res.NotApplied = append(res.NotApplied, p.change(i))
		}
		return res, fmt.Errorf("stop before all changes were applied: %w", context.Cause(ctx))
	}
	for i := range p.changes {
		c := p.change(i)
		if p.fail != nil && i > 0 {
			res.NotApplied = append(res.NotApplied, c)
			continue
		}
		progress(provision.Event{Change: c, Done: true})
		res.Applied = append(res.Applied, c)
	}
	if p.fail != nil {
		return res, p.fail
	}
	return res, nil
}

// Outcome returns the single-account object, saying what it was given.
func (p *fakePlan) Outcome(res *provision.Result, err error) any {
	out := map[string]any{"account": p.account, "executed": res != nil}
	if res != nil {
		out["applied"] = len(res.Applied)
	}
	if err != nil {
		out["error"] = err.Error()
	}
	return out
}

func (p *fakePlan) WriteOutcome(w, notes io.Writer) error {
	_, err := fmt.Fprintf(w, "snippet of %s\n", p.account)
	fmt.Fprintf(notes, "what to do with the snippet of %s\n", p.account)
	return err
}

func (p *fakePlan) Confirmation() provision.Confirmation  { return provision.Confirmation{} }
func (p *fakePlan) WriteDone(io.Writer, provision.Result) {}
func (p *fakePlan) WriteSummary(io.Writer) error          { return nil }
func (p *fakePlan) Err() error                            { return nil }

// operationWorld is a run over every kind of account: with changes, without,
// one that fails to plan, one whose plan is refused, a profile whose
// account only the plan knows, and one whose changes fail part way.
func operationWorld() ([]Target, map[string]*fakePlan) {
	plans := map[string]*fakePlan{
		"111111111111": {account: "111111111111", changes: 3, warnings: 1},
		"222222222222": {account: "222222222222"},
		"444444444444": {account: "444444444444", changes: 2, refusal: errors.New("refuse to change role ci: a CloudFormation stack created it; pass --adopt")},
		"555555555555": {account: "555555555555", changes: 2},
		"666666666666": {account: "666666666666", changes: 3, fail: errors.New("put role policy: AccessDenied")},
	}
	targets := []Target{
		{AccountID: "111111111111", Name: "production", AssumedRole: "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"},
		{AccountID: "222222222222", Name: "management", Caller: true},
		{AccountID: "333333333333", Name: "sandbox"},
		{AccountID: "444444444444", Name: "legacy"},
		{Name: "dev", Profile: "dev"},
		{AccountID: "666666666666", Name: "staging"},
	}
	return targets, plans
}

func planWorld(ctx context.Context, plans map[string]*fakePlan) func(context.Context, Target) (AccountPlan, error) {
	return func(_ context.Context, t Target) (AccountPlan, error) {
		switch t.Name {
		case "sandbox":
			return nil, errors.New("read caller identity: AccessDenied: not authorized to perform sts:AssumeRole")
		case "dev":
			return plans["555555555555"], nil
		}
		return plans[t.AccountID], ctx.Err()
	}
}

// TestOperation runs the whole operation over operationWorld: the review,
// what is applied, the final summary, the partial results, the outcomes,
// the JSON report and the error, each compared with a golden file.
func TestOperation(t *testing.T) {
	ctx := t.Context()
	targets, plans := operationWorld()
	op := PlanEvery(ctx, targets, 2, planWorld(ctx, plans))
	if op.Pending() != 3+2+3 || op.Ready() != 3 {
		t.Errorf("pending %d in %d accounts, want 8 in 3 (neither the refused nor the failed count)", op.Pending(), op.Ready())
	}
	var out bytes.Buffer
	if err := op.WritePlan(&out); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []string
	if _, err := op.Execute(ctx, func(e provision.Event) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, e.Line())
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines)
	fmt.Fprintf(&out, "--- progress (sorted)\n%s\n--- final summary\n", strings.Join(lines, "\n"))
	if err := op.WriteSummary(&out); err != nil {
		t.Fatal(err)
	}
	out.WriteString("--- partial results\n")
	op.WritePartials(&out)
	out.WriteString("--- outcomes\n")
	if err := op.WriteOutcomes(&out); err != nil {
		t.Fatal(err)
	}
	err := op.Err()
	fmt.Fprintf(&out, "--- error\n%v\n", err)
	golden.Check(t, filepath.Join("testdata", "operation.txt"), out.Bytes())

	var failed *FailedError
	if !errors.As(err, &failed) || !slices.Equal(failed.Accounts, []string{"333333333333 (sandbox)", "444444444444 (legacy)", "666666666666 (staging)"}) {
		t.Errorf("error %v, want a FailedError naming sandbox, legacy and staging", err)
	}
	if plans["444444444444"].executed || plans["222222222222"].executed {
		t.Error("executed the refused plan or the one without changes")
	}
	if op.Applied() != 2 {
		t.Errorf("Applied() = %d, want 2 (production and dev)", op.Applied())
	}
	var report bytes.Buffer
	enc := json.NewEncoder(&report)
	enc.SetIndent("", "  ")
	if err := enc.Encode(op.Report(nil)); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "operation.json"), report.Bytes())
}

// TestOperationNotConfirmed checks the report when the changes were not
// applied for want of a confirmation: the accounts with changes carry that
// reason, the others are as they were.
func TestOperationNotConfirmed(t *testing.T) {
	ctx := t.Context()
	targets, plans := operationWorld()
	op := PlanEvery(ctx, targets, 4, planWorld(ctx, plans))
	noTerminal := errors.New("refuse to apply 8 change(s) in 3 account(s) without confirmation")
	for _, e := range op.Report(noTerminal).Accounts {
		outcome, _ := e.Result.(map[string]any)
		wantErr := map[string]string{
			"111111111111": noTerminal.Error(), "": noTerminal.Error(), "222222222222": "",
			"333333333333": "read caller identity: AccessDenied: not authorized to perform sts:AssumeRole",
			"444444444444": plans["444444444444"].refusal.Error(), "666666666666": noTerminal.Error(),
		}[e.Account]
		if e.Error != wantErr {
			t.Errorf("entry %s (%s): error %q, want %q", e.Account, e.Name, e.Error, wantErr)
		}
		if outcome == nil {
			continue // sandbox: no plan, no outcome
		}
		if got, _ := outcome["error"].(string); outcome["executed"] != false || got != wantErr {
			t.Errorf("entry %s (%s): outcome %v, want nothing executed and the error %q", e.Account, e.Name, outcome, wantErr)
		}
	}
	if err := op.Err(); err == nil {
		t.Error("no error for the accounts that failed to plan")
	}
}

// TestOperationInterrupted ends the context while the first account
// applies (one at a time): it stops as interrupted, the others never
// start, and the error wraps the cause, so that the front end exits 130.
func TestOperationInterrupted(t *testing.T) {
	cause := errors.New("interrupt signal received")
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	first := &fakePlan{account: "111111111111", changes: 2, wait: true, started: make(chan struct{})}
	plans := map[string]*fakePlan{"111111111111": first, "222222222222": {account: "222222222222", changes: 1}, "333333333333": {account: "333333333333"}}
	targets := []Target{{AccountID: "111111111111", Name: "a"}, {AccountID: "222222222222", Name: "b"}, {AccountID: "333333333333", Name: "c"}}
	op := PlanEvery(ctx, targets, 1, func(_ context.Context, t Target) (AccountPlan, error) { return plans[t.AccountID], nil })
	go func() {
		<-first.started
		cancel(cause)
	}()
	_, _ = op.Execute(ctx, func(provision.Event) {})
	rows := op.Rows()
	for i, want := range []string{"interrupted: stop before all changes were applied: interrupt signal received", "not started: interrupt signal received", "no changes"} {
		if got := rows[i].status(); got != want {
			t.Errorf("row %d status %q, want %q", i, got, want)
		}
	}
	err := op.Err()
	if !errors.Is(err, cause) || !strings.Contains(fmt.Sprint(err), "stop with 2 of 3 account(s) not done") {
		t.Errorf("error %v, want one counting 2 accounts not done and wrapping the cause", err)
	}
	if plans["222222222222"].executed {
		t.Error("an account started after the interruption")
	}
	var partial bytes.Buffer
	op.WritePartials(&partial)
	if !strings.Contains(partial.String(), "111111111111 (a): stop before all changes were applied") || !strings.Contains(partial.String(), "Applied 0 of 2 change(s)") {
		t.Errorf("partial results:\n%s", partial.String())
	}
}

// TestReadAndPlan checks the progress line, and that an interruption while
// reading ends the command rather than leave accounts unplanned.
func TestReadAndPlan(t *testing.T) {
	targets := []Target{{AccountID: "111111111111", Name: "a"}, {AccountID: "222222222222", Name: "b"}, {AccountID: "333333333333", Name: "c"}}
	plan := func(_ context.Context, t Target) (AccountPlan, error) {
		return &fakePlan{account: t.AccountID, changes: 1}, nil
	}
	var notes bytes.Buffer
	op, err := ReadAndPlan(t.Context(), targets, 2, &notes, nil, plan)
	if err != nil || op.Pending() != 3 {
		t.Fatalf("ReadAndPlan() = %v, want 3 pending changes", err)
	}
	if want := "Reading 3 account(s), 2 at a time...\n"; notes.String() != want {
		t.Errorf("notes = %q, want %q", notes.String(), want)
	}
	notes.Reset()
	if _, err := ReadAndPlan(t.Context(), targets[:1], 4, &notes, nil, plan); err != nil || notes.String() != "Reading 1 account(s), 1 at a time...\n" {
		t.Errorf("one account: %v, notes %q; want at most as many at a time as accounts", err, notes.String())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := ReadAndPlan(ctx, targets, 2, &notes, nil, plan); !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "read the accounts: ") {
		t.Errorf("interrupted: ReadAndPlan() = %v, want the interruption", err)
	}
}

// TestDoneStatus words a destroy's outcome as deletions and everything
// else, a setup that also removes a shard role included, as changes.
func TestDoneStatus(t *testing.T) {
	ch := func(a provision.Action) provision.Change { return provision.Change{Action: a} }
	for _, tt := range []struct {
		applied []provision.Change
		want    string
	}{
		{[]provision.Change{ch(provision.ActionDelete), ch(provision.ActionDetach), ch(provision.ActionRemoveStatement)}, "deleted 3 resource(s)"},
		{[]provision.Change{ch(provision.ActionCreate), ch(provision.ActionDelete)}, "applied 2 change(s)"},
		{[]provision.Change{ch(provision.ActionCreate)}, "applied 1 change(s)"},
		{nil, "applied 0 change(s)"},
	} {
		if got := doneStatus(tt.applied); got != tt.want {
			t.Errorf("doneStatus(%v) = %q, want %q", tt.applied, got, tt.want)
		}
	}
}

// TestOperationAsOneOperation runs the Operation through the methods a
// front end runs one account's operation with: one question for every
// account, the partial results and the note once executed, the final
// summary before the outcomes, and the accounts' notes left out.
func TestOperationAsOneOperation(t *testing.T) {
	ctx := t.Context()
	targets, plans := operationWorld()
	var op provision.Operation = PlanEvery(ctx, targets, 2, planWorld(ctx, plans))
	accounts := op.(*Operation)
	if op.Account() != "" || op.Changes() != 8 || op.Warnings() != 1 || op.Refusal() != nil {
		t.Errorf("account %q, %d change(s), %d warning(s), refusal %v; want \"\", 8, 1, nil", op.Account(), op.Changes(), op.Warnings(), op.Refusal())
	}
	c := op.Confirmation()
	if c.Question != "Apply 8 change(s) in 3 account(s)?" || c.Yes != "Yes, apply" || c.Declined != "Nothing was changed." ||
		c.NoTerminal.Error() != "refuse to apply 8 change(s) in 3 account(s) without confirmation: no terminal to ask on; rerun with --yes to apply" {
		t.Errorf("confirmation %+v", c)
	}
	accounts.Deletes = true
	c = op.Confirmation()
	if c.Question != "Delete 8 resource(s) in 3 account(s)?" || c.Yes != "Yes, delete" || c.Declined != "Nothing was deleted." ||
		c.NoTerminal.Error() != "refuse to delete 8 resource(s) in 3 account(s) without confirmation: no terminal to ask on; rerun with --yes to delete" {
		t.Errorf("destroy's confirmation %+v", c)
	}

	var out, notes bytes.Buffer
	if err := op.WriteOutcome(&out, &notes); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "ACCOUNT") || !strings.Contains(out.String(), "snippet of 222222222222") || notes.Len() != 0 {
		t.Errorf("before Execute, WriteOutcome() wrote\n%s\nand notes %q; want the outcomes alone", out.String(), notes.String())
	}

	accounts.AppliedNote = provision.NewRolesNote
	res, err := op.Execute(ctx, func(provision.Event) {})
	if err != nil {
		t.Fatalf("Execute() = %v, want the failures left to the accounts", err)
	}
	var done bytes.Buffer
	op.WriteDone(&done, res)
	if !strings.HasPrefix(done.String(), "666666666666 (staging): put role policy: AccessDenied\nApplied 1 of 3 change(s):") || !strings.HasSuffix(done.String(), provision.NewRolesNote+"\n") {
		t.Errorf("WriteDone() =\n%s\nwant the partial results, then the note", done.String())
	}
	out.Reset()
	if err := op.WriteOutcome(&out, &notes); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "\nACCOUNT") || !strings.Contains(out.String(), "applied 3 change(s)") || !strings.Contains(out.String(), "=== 555555555555 (dev) ===\nsnippet of 555555555555") || notes.Len() != 0 {
		t.Errorf("after Execute, WriteOutcome() wrote\n%s\nand notes %q; want the final summary, then the outcomes", out.String(), notes.String())
	}
	report, _ := op.Outcome(&res, nil).(Report)
	if len(report.Accounts) != len(targets) {
		t.Errorf("Outcome() = %+v, want the report of every account", op.Outcome(&res, nil))
	}
	var failed *FailedError
	if !errors.As(op.Err(), &failed) || len(failed.Accounts) != 3 {
		t.Errorf("Err() = %v, want the 3 accounts that failed", op.Err())
	}
}

// TestReadAndPlanDescribes checks that an account's planning error is
// worded as describe words it, and kept as it is without describe.
func TestReadAndPlanDescribes(t *testing.T) {
	targets := []Target{{AccountID: "111111111111", Name: "a"}}
	bad := &provision.InputError{Field: provision.FieldRepo, Value: "arn:aws-cn:ecr:cn-north-1:1:repository/x", Rule: "is in another partition"}
	plan := func(context.Context, Target) (AccountPlan, error) { return nil, bad }
	describe := func(err error) error { return fmt.Errorf("described: %w", err) }
	for _, tt := range []struct {
		describe func(error) error
		want     string
	}{
		{describe, "described: " + bad.Error()},
		{nil, bad.Error()},
	} {
		op, err := ReadAndPlan(t.Context(), targets, 1, io.Discard, tt.describe, plan)
		if err != nil {
			t.Fatal(err)
		}
		rows := op.Rows()
		if len(rows) != 1 || rows[0].Err == nil || rows[0].Err.Error() != tt.want || !errors.Is(rows[0].Err, bad) {
			t.Errorf("row %+v, want the error %q wrapping the input error", rows, tt.want)
		}
	}
}
