package circleciconfig

import (
	"context"
	"fmt"
	"io"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// FilePatch is a provision.Operation too, so that a front end shows,
// confirms and writes the patch as it applies a plan: the plan is the
// diff, the one write is the file's. Its notes go with the diff, on the
// writer WritePlan is given. It has no JSON object of its own: the setup
// that patches the file reports in its own.
var _ provision.Operation = (*FilePatch)(nil)

// Account is "": a file is no account's.
func (c *FilePatch) Account() string { return "" }

// Changes is how many images the patch gives the role.
func (c *FilePatch) Changes() int { return len(c.Report.Changes) }

// Warnings is 0: what is left as it is comes as notes with the diff.
func (c *FilePatch) Warnings() int { return 0 }

// Refusal is nil: the file is the user's to change.
func (c *FilePatch) Refusal() error { return nil }

// WritePlan writes the diff and its notes (Show) on w.
func (c *FilePatch) WritePlan(w io.Writer) error { return c.Show(w, w) }

// Confirmation asks to write the file.
func (c *FilePatch) Confirmation() provision.Confirmation {
	return provision.Confirmation{
		Question: fmt.Sprintf("Write these changes to %s?", c.path), Yes: "Yes, write", Declined: fmt.Sprintf("Left %s as it was.", c.path),
		NoTerminal: fmt.Errorf("refuse to write %s without confirmation: no terminal to ask on; rerun with --yes to write it, or apply the diff above by hand", c.path),
	}
}

// Execute writes the file (Write); it makes no AWS change to report.
func (c *FilePatch) Execute(context.Context, func(provision.Event)) (provision.Result, error) {
	return provision.Result{}, c.Write()
}

// WriteDone says which role the images now pull with.
func (c *FilePatch) WriteDone(w io.Writer, _ provision.Result) {
	fmt.Fprintf(w, "Updated %s: %d image(s) now pull with %s.\n", c.path, len(c.Report.Changes), c.roleARN)
}

// Outcome is nil: the patch has no JSON object of its own.
func (c *FilePatch) Outcome(*provision.Result, error) any { return nil }

// WriteOutcome writes nothing: the file is the outcome.
func (c *FilePatch) WriteOutcome(io.Writer, io.Writer) error { return nil }

// WriteSummary writes nothing: the diff says it all.
func (c *FilePatch) WriteSummary(io.Writer) error { return nil }

// Err is nil: the write's error is the only failure.
func (c *FilePatch) Err() error { return nil }
