package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// VerifyOperation is verify's report as an operation, which a front end
// shows as it shows a plan, in one account or as one account of many:
// verify writes nothing.
type VerifyOperation struct {
	Report   *VerifyReport
	Observed *Observed
}

// Account is the account verified.
func (v VerifyOperation) Account() string { return v.Report.Account }

// Changes is -1: verify plans no change.
func (v VerifyOperation) Changes() int { return -1 }

// Refusal is nil: verify applies nothing to refuse.
func (v VerifyOperation) Refusal() error { return nil }

// Warnings counts the state check's warnings.
func (v VerifyOperation) Warnings() int {
	if v.Report.State == nil {
		return 0
	}
	return len(v.Report.State.Warnings)
}

// WritePlan writes the account's report for people.
func (v VerifyOperation) WritePlan(w io.Writer) error {
	return v.Report.WriteText(w, v.Observed.Partition, v.Observed.CallerARN)
}

// Execute fails: verify writes nothing, and the pipeline never asks it to.
func (v VerifyOperation) Execute(context.Context, func(Event)) (Result, error) {
	return Result{}, errors.New("verify writes nothing")
}

// Outcome is the account's report, its entry in the JSON output.
func (v VerifyOperation) Outcome(*Result, error) any { return v.Report }

// Confirmation is never asked: verify has nothing to confirm.
func (v VerifyOperation) Confirmation() Confirmation { return Confirmation{} }

// WriteDone writes nothing: nothing is executed.
func (v VerifyOperation) WriteDone(io.Writer, Result) {}

// WriteOutcome writes nothing on out, the report was the plan; on notes,
// when the account differs from what setup would leave, how to repair it.
func (v VerifyOperation) WriteOutcome(_, notes io.Writer) error {
	if v.Report.State != nil && !v.Report.State.OK() {
		_, err := fmt.Fprintln(notes, "Run setup with the same flags to repair what differs (plan shows the changes first).")
		return err
	}
	return nil
}

// WriteSummary writes nothing: the multi-account run's summary is the
// Operation's.
func (v VerifyOperation) WriteSummary(io.Writer) error { return nil }

// Err is the report's problem as a ReportedError, nil when every check
// passed. In a multi-account verify the problem is the account's planning
// error instead, and the Operation does not ask for Err.
func (v VerifyOperation) Err() error {
	if err := v.Report.Problem(); err != nil {
		return &ReportedError{Err: err}
	}
	return nil
}

// ReportedError is a failure the operation's report shows already, such as
// verify's failed checks: the front end exits non-zero without saying it
// again.
type ReportedError struct{ Err error }

func (e *ReportedError) Error() string { return e.Err.Error() }
func (e *ReportedError) Unwrap() error { return e.Err }
