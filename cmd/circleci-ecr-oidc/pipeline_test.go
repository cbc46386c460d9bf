package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// fakeOperation is an operation that says what the pipeline asked of it.
type fakeOperation struct {
	changes int
	// fail is Execute's error; failure is Err's.
	fail, failure error
	executed      bool
	outcome       error
}

func (o *fakeOperation) Account() string { return "123456789012" }
func (o *fakeOperation) Changes() int    { return o.changes }
func (o *fakeOperation) Warnings() int   { return 0 }
func (o *fakeOperation) Refusal() error  { return nil }

func (o *fakeOperation) WritePlan(w io.Writer) error {
	_, err := fmt.Fprintf(w, "plan: %d change(s)\n", o.changes)
	return err
}

func (o *fakeOperation) Confirmation() provision.Confirmation {
	return provision.Confirmation{Question: "Apply?", Yes: "Yes, apply", Declined: "Nothing was changed.", NoTerminal: errors.New("refuse to apply without confirmation")}
}

func (o *fakeOperation) Execute(_ context.Context, progress func(provision.Event)) (provision.Result, error) {
	o.executed = true
	c := provision.Change{Action: provision.ActionCreate, Resource: provision.ResourceRole, Name: "ci"}
	progress(provision.Event{Change: c, Done: true})
	if o.fail != nil {
		return provision.Result{Applied: []provision.Change{c}, NotApplied: []provision.Change{c}}, o.fail
	}
	return provision.Result{Applied: []provision.Change{c}}, nil
}

func (o *fakeOperation) WriteDone(w io.Writer, res provision.Result) {
	fmt.Fprintf(w, "done: %d\n", len(res.Applied))
}

func (o *fakeOperation) Outcome(_ *provision.Result, err error) any {
	o.outcome = err
	return map[string]any{"error": fmt.Sprint(err)}
}

func (o *fakeOperation) WriteOutcome(out, notes io.Writer) error {
	fmt.Fprintln(out, "snippet")
	fmt.Fprintln(notes, "next step")
	return nil
}

func (o *fakeOperation) WriteSummary(w io.Writer) error {
	_, err := fmt.Fprintln(w, "summary")
	return err
}

func (o *fakeOperation) Err() error { return o.failure }

// TestPipelineFinish runs operations through the pipeline and checks what
// each stream gets and the command's error: in text and in JSON, after a
// failure with the engine's hint, for plan, without a terminal, and with a
// failure the outcome holds.
func TestPipelineFinish(t *testing.T) {
	inUse := &provision.HintError{Err: errors.New("delete the role: DeleteConflict"), Hint: "the role is still in use"}
	failedAccounts := errors.New("1 of 2 account(s) failed")
	tests := []struct {
		name                string
		pl                  pipeline
		op                  *fakeOperation
		wantOut, wantErrOut string
		wantErr, wantHint   string
		wantCode            int
		wantExecuted        bool
	}{
		{name: "text", pl: pipeline{yes: true}, op: &fakeOperation{changes: 1},
			wantOut: "plan: 1 change(s)\nsnippet\n", wantErrOut: "  ✓ create iam-role ci\ndone: 1\nnext step\n", wantExecuted: true},
		{name: "json after a failure with a hint", pl: pipeline{yes: true, json: true}, op: &fakeOperation{changes: 1, fail: inUse},
			wantOut: "{\n  \"error\": \"delete the role: DeleteConflict\"\n}\n", wantErrOut: "  ✓ create iam-role ci\nApplied 1 of 2 change(s):", wantErr: inUse.Error(), wantHint: "the role is still in use", wantExecuted: true},
		{name: "plan with changes", pl: pipeline{planOnly: true, detailedExitcode: true}, op: &fakeOperation{changes: 2},
			wantOut: "plan: 2 change(s)\nsnippet\n", wantErrOut: "next step\nRun setup with the same flags to apply.\n", wantErr: "exit status 2", wantCode: exitUsage},
		{name: "no terminal", pl: pipeline{}, op: &fakeOperation{changes: 1},
			wantOut: "plan: 1 change(s)\n", wantErrOut: "", wantErr: "refuse to apply without confirmation"},
		{name: "failure the outcome holds", pl: pipeline{json: true}, op: &fakeOperation{failure: failedAccounts},
			wantOut: "{\n  \"error\": \"<nil>\"\n}\n", wantErrOut: "summary\n", wantErr: failedAccounts.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			tt.pl.io = IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
			err := tt.pl.run(context.Background(), tt.op)
			if got := fmt.Sprint(err); (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && got != tt.wantErr) {
				t.Errorf("run() = %v, want %q", err, tt.wantErr)
			}
			if hintFor(err) != tt.wantHint {
				t.Errorf("hint %q, want %q", hintFor(err), tt.wantHint)
			}
			if tt.wantCode != 0 && exitCode(context.Background(), err) != tt.wantCode {
				t.Errorf("exit status %d, want %d", exitCode(context.Background(), err), tt.wantCode)
			}
			if out.String() != tt.wantOut || !strings.HasPrefix(errOut.String(), tt.wantErrOut) || (tt.wantErrOut == "" && errOut.Len() != 0) {
				t.Errorf("stdout %q, stderr %q; want %q, %q...", out.String(), errOut.String(), tt.wantOut, tt.wantErrOut)
			}
			if tt.op.executed != tt.wantExecuted {
				t.Errorf("executed %v", tt.op.executed)
			}
		})
	}
}
