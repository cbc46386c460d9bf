package fleet

import (
	"context"
	"errors"
	"io"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// VerifiedAccount is one account's verify report in a multi-account
// verify, which writes nothing.
type VerifiedAccount struct {
	Report   *provision.VerifyReport
	Observed *provision.Observed
}

// Account is the account verified.
func (v VerifiedAccount) Account() string { return v.Report.Account }

// Changes is -1: verify plans no change.
func (v VerifiedAccount) Changes() int { return -1 }

// Refusal is nil: verify applies nothing to refuse.
func (v VerifiedAccount) Refusal() error { return nil }

// Warnings counts the state check's warnings.
func (v VerifiedAccount) Warnings() int {
	if v.Report.State == nil {
		return 0
	}
	return len(v.Report.State.Warnings)
}

// WritePlan writes the account's report for people.
func (v VerifiedAccount) WritePlan(w io.Writer) error {
	return v.Report.WriteText(w, v.Observed.Partition, v.Observed.CallerARN)
}

// Execute fails: verify writes nothing, and the pipeline never asks it to.
func (v VerifiedAccount) Execute(context.Context, func(provision.Event)) (provision.Result, error) {
	return provision.Result{}, errors.New("verify writes nothing")
}

// Outcome is the account's report, its entry in the JSON output.
func (v VerifiedAccount) Outcome(*provision.Result, error) any { return v.Report }

// Confirmation is never asked: verify has nothing to confirm.
func (v VerifiedAccount) Confirmation() provision.Confirmation { return provision.Confirmation{} }

// WriteDone writes nothing: nothing is executed.
func (v VerifiedAccount) WriteDone(io.Writer, provision.Result) {}

// WriteOutcome writes nothing: the report was the plan.
func (v VerifiedAccount) WriteOutcome(io.Writer, io.Writer) error { return nil }

// WriteSummary writes nothing: the multi-account run's summary is the
// Operation's.
func (v VerifiedAccount) WriteSummary(io.Writer) error { return nil }

// Err is nil: the report's problem is the account's planning error.
func (v VerifiedAccount) Err() error { return nil }
