package provision

import (
	"fmt"
	"io"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// SetupReport is the JSON output of setup and plan: the plan plus what
// happened.
type SetupReport struct {
	*Plan
	// Applied is true when the account matches the desired state at the
	// end of the run: the changes were applied, or none were needed.
	Applied bool `json:"applied"`
	// NotApplied lists planned changes that were not made.
	NotApplied []Change `json:"not_applied"`
	Snippet    string   `json:"snippet"`
	// CircleCI is what CircleCI said about the organization and the
	// projects; omitted without a CircleCI API token.
	CircleCI *circleci.Resolution `json:"circleci,omitempty"`
	Error    string               `json:"error,omitempty"`
}

// NewSetupReport is the report of p before anything is applied: every
// change not applied yet, and the role's config.yml snippet. resolution is
// what CircleCI said, nil without a token.
func NewSetupReport(p *Plan, resolution *circleci.Resolution) (*SetupReport, error) {
	snippet, err := p.Snippet()
	if err != nil {
		return nil, err
	}
	return &SetupReport{Plan: p, Snippet: snippet, NotApplied: p.Changes, CircleCI: resolution}, nil
}

// RecordPlan notes plan's outcome: applied says whether the account is as
// setup would leave it.
func (r *SetupReport) RecordPlan() { r.Applied = !r.HasChanges() }

// Record notes setup's outcome: what was not applied (res is nil when
// nothing was executed), and the error; applied when nothing failed.
func (r *SetupReport) Record(res *Result, err error) {
	recordOutcome(res, err, &r.Applied, &r.NotApplied, &r.Error)
}

// recordOutcome is the outcome of an apply as setup's reports note it.
func recordOutcome(res *Result, err error, applied *bool, notApplied *[]Change, errText *string) {
	if res != nil {
		*notApplied = res.NotApplied
	}
	if err != nil {
		*errText = err.Error()
		return
	}
	*applied, *notApplied = true, []Change{}
}

// WriteNextStep writes, after the snippet, what to do with it: merge it
// into the job's config (for push, its orbs and workflow too) and remove
// the AWS keys.
func (r *SetupReport) WriteNextStep(w io.Writer) {
	if r.Spec.Access == policy.AccessPush {
		fmt.Fprintf(w, "Next: merge the snippet's orbs and workflow into .circleci/config.yml, and remove AWS keys from the job's contexts and project. No context is needed for OIDC; if the job gets no token, docs/troubleshooting.md lists the causes.\n")
		return
	}
	fmt.Fprintf(w, "Next: paste the snippet into the job in .circleci/config.yml, and remove AWS keys from its contexts and project. No context is needed for OIDC; if the pull reports no token, docs/troubleshooting.md lists the causes.\n")
}

// WriteReady is the wizard's result: the role, the snippet alone on out (so
// that `setup > snippet.yml` captures just it) and the next steps on notes.
func (r *SetupReport) WriteReady(out, notes io.Writer) error {
	fmt.Fprintf(notes, "\nRole %s is ready. The config.yml snippet:\n\n", r.RoleARN)
	if _, err := fmt.Fprint(out, r.Snippet); err != nil {
		return fmt.Errorf("write the snippet: %w", err)
	}
	fmt.Fprintf(notes, "\nNext steps:\n")
	fmt.Fprintf(notes, "  1. Paste the snippet into the job in .circleci/config.yml. No context is needed: CircleCI issues the job its OIDC token.\n")
	fmt.Fprintf(notes, "  2. Remove AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the job's contexts and project: static keys take precedence.\n")
	fmt.Fprintf(notes, "  3. The first pull may fail while IAM propagates the new role; rerun the job after a minute.\n")
	fmt.Fprintf(notes, "  4. If the pull reports no OIDC token, docs/troubleshooting.md lists the causes (forked pull requests, CircleCI server before 4.4, static keys).\n")
	return nil
}

// RecordPlan notes plan --shard's outcome, as SetupReport's does.
func (out *ShardedReport) RecordPlan(sp *ShardedPlan) { out.Applied = !sp.HasChanges() }

// Record notes setup --shard's outcome, as SetupReport's does.
func (out *ShardedReport) Record(res *Result, err error) {
	recordOutcome(res, err, &out.Applied, &out.NotApplied, &out.Error)
}
