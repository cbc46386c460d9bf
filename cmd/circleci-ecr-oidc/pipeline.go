package main

import (
	"context"
	"fmt"
	"io"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/wizard"
)

// operation is one command's plan, whatever it writes: a role (setup and
// the wizard), the roles of a sharded setup, a destroy, or a config.yml
// patch. The pipeline shows, confirms, executes and reports every one of
// them the same way; an operation only says what differs.
type operation interface {
	// pending is how many writes the plan makes; 0 means nothing to do.
	pending() int
	// show writes the plan for people.
	show(w io.Writer) error
	// refusal is why the plan must not be applied (what an export created
	// belongs to Terraform or CloudFormation), or nil.
	refusal() error
	// ask says how to ask for the confirmation.
	ask() prompt
	// execute makes the writes, reporting each on progress.
	execute(ctx context.Context, progress func(provision.Event)) (provision.Result, error)
	// finish writes the outcome and returns err. res is nil when nothing
	// was executed (no changes, a refusal, no confirmation).
	finish(ctx context.Context, res *provision.Result, err error) error
}

// prompt is an operation's confirmation: the question, its affirmative
// answer ("Yes, apply", "Yes, delete"), what to say when the answer is no,
// and the error when there is no terminal to ask on.
type prompt struct {
	question, yes, declined string
	noTerminal              error
}

// pipeline runs an operation: show → refuse? → confirm → execute → report
// (plan: show → report).
// Validation, questions for what is missing, and the reads and planning
// that make the operation come before it.
type pipeline struct {
	io IOStreams
	// yes skips the confirmation (--yes).
	yes bool
	// showTo receives the plan; nil shows nothing (JSON output, where
	// finish writes the plan as part of the result).
	showTo io.Writer
	// confirm asks the question; nil asks on the terminal with the
	// wizard's confirm. The wizard's review sets it to show the plan and
	// then ask, and sets reviewShows so that the plan is shown once.
	confirm     func(ctx context.Context, op operation) (bool, error)
	reviewShows bool
	// accessible asks with plain line prompts (--accessible).
	accessible bool
	// announce, if set, is printed on stderr before the writes start.
	announce string
	// progress receives each write's start and end; nil prints a line per
	// write on stderr.
	progress func(provision.Event)
	// planOnly stops once the plan is shown (the plan command): finish
	// gets no result and no error, whatever is pending.
	planOnly bool
}

func (pl pipeline) run(ctx context.Context, op operation) error {
	pending, shown := op.pending(), false
	show := func() error {
		if pl.showTo == nil || shown {
			return nil
		}
		shown = true
		return op.show(pl.showTo)
	}
	if pending == 0 || pl.yes || !pl.reviewShows {
		if err := show(); err != nil {
			return err
		}
	}
	if pending == 0 || pl.planOnly {
		return op.finish(ctx, nil, nil)
	}
	if err := op.refusal(); err != nil {
		if serr := show(); serr != nil {
			return serr
		}
		return op.finish(ctx, nil, err)
	}
	if !pl.yes {
		pr := op.ask()
		if !pl.io.CanPrompt() {
			return op.finish(ctx, nil, pr.noTerminal)
		}
		ask := pl.confirm
		if ask == nil {
			ask = func(ctx context.Context, _ operation) (bool, error) {
				w := wizard.New(wizard.Deps{}, wizard.Options{In: pl.io.In, Out: pl.io.ErrOut, Accessible: pl.accessible})
				return w.Confirm(ctx, pr.question, pr.yes)
			}
		}
		ok, err := ask(ctx, op)
		if err != nil {
			return wizardError(err)
		}
		if !ok {
			fmt.Fprintln(pl.io.ErrOut, pr.declined)
			return nil
		}
	}
	if pl.announce != "" {
		fmt.Fprintln(pl.io.ErrOut, pl.announce)
	}
	progress := pl.progress
	if progress == nil {
		progress = progressPrinter(pl.io)
	}
	res, err := op.execute(ctx, progress)
	if err != nil {
		res.WritePartial(pl.io.ErrOut)
		return op.finish(ctx, &res, awsHint(err))
	}
	return op.finish(ctx, &res, nil)
}
