package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestSetupOperation runs one role's setup as a front end does: the
// question, the writes, the note on them, the JSON report and what people
// get, as setup, as the wizard's setup and as plan.
func TestSetupOperation(t *testing.T) {
	tests := []struct {
		name                     string
		planOnly, guided         bool
		wantDone, wantOut, notes string
		wantApplied              bool
	}{
		{name: "setup", wantDone: "Applied 3 change(s). The first job may need a retry while IAM propagates the new role (up to about a minute).\n",
			wantOut: "\n# .circleci/config.yml", notes: "Next: paste the snippet into the job", wantApplied: true},
		{name: "wizard", guided: true, wantOut: "# .circleci/config.yml", notes: "is ready. The config.yml snippet:", wantApplied: true},
		{name: "plan", planOnly: true, wantApplied: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWS()
			f.repos["app"] = true
			generic, err := PlanSetup(t.Context(), f.clients(), mustSpec(t, validSpec()), SetupOptions{PlanOnly: tt.planOnly})
			if err != nil {
				t.Fatal(err)
			}
			op, ok := generic.(*SetupOperation)
			if !ok {
				t.Fatalf("PlanSetup() = %T, want a *SetupOperation", generic)
			}
			op.Guided = tt.guided
			c := op.Confirmation()
			wantQuestion := fmt.Sprintf("Apply these 3 change(s) to account %s?", op.Account())
			if op.Changes() != 3 || c.Question != wantQuestion || c.Yes != "Yes, apply" || c.Declined != "Nothing was changed." ||
				c.NoTerminal.Error() != "refuse to apply 3 change(s) without confirmation: no terminal to ask on; rerun with --yes to apply" {
				t.Errorf("%d change(s), confirmation %+v", op.Changes(), c)
			}
			var res *Result
			if !tt.planOnly {
				r, err := op.Execute(t.Context(), nil)
				if err != nil {
					t.Fatal(err)
				}
				res = &r
			}
			var done, out, notes bytes.Buffer
			if res != nil {
				op.WriteDone(&done, *res)
			}
			report, _ := op.Outcome(res, nil).(*SetupReport)
			if err := op.WriteOutcome(&out, &notes); err != nil {
				t.Fatal(err)
			}
			if done.String() != tt.wantDone {
				t.Errorf("WriteDone() = %q, want %q", done.String(), tt.wantDone)
			}
			if report == nil || report.Applied != tt.wantApplied || (tt.wantApplied && len(report.NotApplied) != 0) {
				t.Errorf("Outcome() = %+v, want applied %v", report, tt.wantApplied)
			}
			if !strings.HasPrefix(out.String(), tt.wantOut) || !strings.Contains(notes.String(), tt.notes) || (tt.planOnly && out.Len()+notes.Len() != 0) {
				t.Errorf("WriteOutcome() wrote\n%s\nand notes\n%s", out.String(), notes.String())
			}
		})
	}
}

// TestSetupOperationRecordsFailure checks that a failure is the report's
// error and leaves it not applied.
func TestSetupOperationRecordsFailure(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	op, err := PlanSetup(t.Context(), f.clients(), mustSpec(t, validSpec()), SetupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	failed := errors.New("create the role: AccessDenied")
	report, _ := op.Outcome(&Result{NotApplied: []Change{{Action: ActionCreate}}}, failed).(*SetupReport)
	if report == nil || report.Applied || report.Error != failed.Error() || len(report.NotApplied) != 1 {
		t.Errorf("Outcome() = %+v, want the failure recorded", report)
	}
	if op.Err() != nil {
		t.Errorf("Err() = %v, want nil: one account's failure is the front end's error", op.Err())
	}
}

// TestShardOperation runs a sharded setup: the question names the roles,
// the note counts them, and every role's snippet is the outcome.
func TestShardOperation(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	spec := mustSpec(t, shardSpec([]string{testProject, otherProj}))
	generic, err := PlanSetup(t.Context(), f.clients(), spec, SetupOptions{Shard: true})
	if err != nil {
		t.Fatal(err)
	}
	op, ok := generic.(*ShardOperation)
	if !ok {
		t.Fatalf("PlanSetup(Shard) = %T, want a *ShardOperation", generic)
	}
	n, roles := op.Changes(), len(op.Plan.Plans)
	if want := fmt.Sprintf("Apply these %d change(s) over %d role(s) to account %s?", n, roles, op.Account()); n == 0 || op.Confirmation().Question != want {
		t.Errorf("question %q, want %q", op.Confirmation().Question, want)
	}
	res, err := op.Execute(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var done, out bytes.Buffer
	op.WriteDone(&done, res)
	if want := fmt.Sprintf("Applied %d change(s) over %d role(s). %s\n", n, roles, NewRolesNote); done.String() != want {
		t.Errorf("WriteDone() = %q, want %q", done.String(), want)
	}
	if err := op.WriteOutcome(&out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "# Jobs of projects ") || !strings.Contains(out.String(), "role/circleci-ecr-pull-1") {
		t.Errorf("WriteOutcome() = %v:\n%s", err, out.String())
	}
	op.PlanOnly = true
	out.Reset()
	if err := op.WriteOutcome(&out, &bytes.Buffer{}); err != nil || out.Len() != 0 {
		t.Errorf("plan's WriteOutcome() = %v, wrote %q; want nothing", err, out.String())
	}
}

// TestDestroyOperation deletes a converged setup, and gives the hint to
// remove what still uses a role IAM refuses to delete.
func TestDestroyOperation(t *testing.T) {
	f := converged(t)
	op, err := PlanDestroy(t.Context(), f.clients(), testOrg, DefaultRoleName, false)
	if err != nil {
		t.Fatal(err)
	}
	n := op.Changes()
	c := op.Confirmation()
	if n == 0 || c.Question != fmt.Sprintf("Delete these %d resource(s) from account %s?", n, op.Account()) || c.Yes != "Yes, delete" || c.Declined != "Nothing was deleted." ||
		c.NoTerminal.Error() != fmt.Sprintf("refuse to delete %d resource(s) without confirmation: no terminal to ask on; rerun with --yes to delete", n) {
		t.Errorf("%d deletion(s), confirmation %+v", n, c)
	}

	f.failures["DeleteRole"] = apiError("DeleteConflict")
	res, err := op.Execute(t.Context(), nil)
	var hinted *HintError
	var applyErr *ApplyError
	if !errors.As(err, &hinted) || !strings.Contains(hinted.Hint, "the role is still in use") || !errors.As(err, &applyErr) {
		t.Fatalf("Execute() = %v, want the apply error with the hint about what uses the role", err)
	}
	if report, _ := op.Outcome(&res, err).(*DestroyReport); report == nil || report.Applied || report.Error != err.Error() {
		t.Errorf("Outcome() = %+v, want the failure recorded", report)
	}

	delete(f.failures, "DeleteRole")
	again, err := PlanDestroy(t.Context(), f.clients(), testOrg, DefaultRoleName, false)
	if err != nil {
		t.Fatal(err)
	}
	res, err = again.Execute(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var done bytes.Buffer
	again.WriteDone(&done, res)
	if want := fmt.Sprintf("Deleted %d resource(s).\n", len(res.Applied)); len(res.Applied) == 0 || done.String() != want {
		t.Errorf("WriteDone() = %q, want %q", done.String(), want)
	}
}

// TestPlanSetupErrors checks that PlanSetup returns no operation with its
// error, so that a front end never holds a nil one.
func TestPlanSetupErrors(t *testing.T) {
	f := newFakeAWS()
	f.failures["GetCallerIdentity"] = apiError("ExpiredToken")
	for _, shard := range []bool{false, true} {
		op, err := PlanSetup(context.Background(), f.clients(), mustSpec(t, validSpec()), SetupOptions{Shard: shard})
		if err == nil || op != nil {
			t.Errorf("shard %v: PlanSetup() = %v, %v; want no operation and the error", shard, op, err)
		}
	}
}

// TestPlanSetupHintsAdoptForAForeignRole checks that a role of the same
// name this tool did not create is refused with the hint to take it over,
// sharded or not.
func TestPlanSetupHintsAdoptForAForeignRole(t *testing.T) {
	for _, shard := range []bool{false, true} {
		f := newFakeAWS()
		spec := mustSpec(t, validSpec())
		name := spec.RoleName
		if shard {
			name = ShardRoleName(spec.RoleName, 1)
		}
		f.repos["app"] = true
		f.roles[name] = &fakeRole{trust: `{"Version":"2012-10-17","Statement":[]}`, inline: map[string]string{}}
		op, err := PlanSetup(context.Background(), f.clients(), spec, SetupOptions{Shard: shard})
		var hinted *HintError
		if !errors.As(err, &hinted) || !errors.Is(err, ErrNotOwned) || !strings.Contains(hinted.Hint, "--adopt") || op != nil {
			t.Errorf("shard %v: PlanSetup() = %v, %v; want ErrNotOwned with the hint to adopt", shard, op, err)
		}
	}
}
