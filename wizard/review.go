package wizard

import (
	"context"
	"fmt"

	"github.com/charmbracelet/huh"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// Review shows the setup's plan, with both policy documents exactly as they
// will be written and what already exists marked as such, then asks the
// setup's question whether to apply it. The answer defaults to No. It
// returns ErrAborted when the person quits instead of answering.
func (w *Wizard) Review(ctx context.Context, op *provision.SetupOperation) (bool, error) {
	p := op.Plan
	// The plan is printed, not put in a form: it is often taller than the
	// terminal, and a redrawing form would cut its top off, while printed
	// text stays in the scrollback above the question.
	fmt.Fprintf(w.out, "\nReview: this is what setup will do. Nothing has been written yet.\n\n")
	if err := p.WriteText(w.out, true); err != nil {
		return false, fmt.Errorf("show the plan: %w", err)
	}
	fmt.Fprintln(w.out)
	c := op.Confirmation()
	return w.Confirm(ctx, c.Question, c.Yes)
}

// Confirm asks a yes/no question whose affirmative answer reads yes (e.g.
// "Yes, apply", "Yes, delete"); the answer defaults to No. It returns
// ErrAborted when the person quits instead of answering.
func (w *Wizard) Confirm(ctx context.Context, question, yes string) (bool, error) {
	ok := false
	c := huh.NewConfirm().
		Title(question).
		Affirmative(yes).
		Negative("No").
		Value(&ok)
	if !w.accessible {
		c.Description("No is preselected. ←/→ or y/n to choose, enter to answer; Esc quits without changes.")
	}
	if err := w.run(ctx, huh.NewGroup(c)); err != nil {
		return false, err
	}
	return ok, nil
}
