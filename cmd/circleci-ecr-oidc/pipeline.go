package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/wizard"
)

// pipeline runs an operation, whatever it writes (a role, the roles of a
// sharded setup, a destroy, a config.yml patch, or any of them in many
// accounts): show → refuse? → confirm → execute → report (plan: show →
// report). Validation, questions for what is missing, and the reads and
// planning that make the operation come before it.
type pipeline struct {
	io IOStreams
	// yes skips the confirmation (--yes).
	yes bool
	// json reports the outcome as the operation's JSON object on stdout
	// (--output json), with its summary on stderr.
	json bool
	// showTo receives the plan; nil shows it on stdout in text, and
	// nothing in JSON, where finish writes the plan as part of the result.
	showTo io.Writer
	// confirm asks the question; nil asks on the terminal with the
	// wizard's confirm. The wizard's review sets it to show the plan, then
	// ask: the pipeline shows the plan first only without it (or --yes).
	confirm func(ctx context.Context) (bool, error)
	// accessible asks with plain line prompts (--accessible).
	accessible bool
	// announce, if set, is printed on stderr before the writes start.
	announce string
	// planOnly stops once the plan is shown (the plan command): finish
	// gets no result and no error, whatever is pending.
	planOnly bool
	// detailedExitcode makes pending changes exit status 2 (plan's
	// --detailed-exitcode).
	detailedExitcode bool
	// then, if set, runs once the outcome is reported, with the command's
	// error so far, and returns the command's error (setup's --config-file
	// patch, plan's diff of it).
	then func(ctx context.Context, err error) error
}

func (pl pipeline) run(ctx context.Context, op provision.Operation) error {
	pending, shown := op.Changes(), false
	showTo := pl.showTo
	if showTo == nil && !pl.json {
		showTo = pl.io.Out
	}
	show := func() error {
		if showTo == nil || shown {
			return nil
		}
		shown = true
		return op.WritePlan(showTo)
	}
	if pending <= 0 || pl.yes || pl.confirm == nil {
		if err := show(); err != nil {
			return err
		}
	}
	if pending <= 0 || pl.planOnly {
		return pl.finish(ctx, op, nil, nil)
	}
	if err := op.Refusal(); err != nil {
		if serr := show(); serr != nil {
			return serr
		}
		return pl.finish(ctx, op, nil, err)
	}
	if !pl.yes {
		c := op.Confirmation()
		if !pl.io.CanPrompt() {
			return pl.finish(ctx, op, nil, c.NoTerminal)
		}
		ask := pl.confirm
		if ask == nil {
			ask = func(ctx context.Context) (bool, error) {
				w := wizard.New(wizard.Deps{}, wizard.Options{In: pl.io.In, Out: pl.io.ErrOut, Accessible: pl.accessible})
				return w.Confirm(ctx, c.Question, c.Yes)
			}
		}
		ok, err := ask(ctx)
		if err != nil {
			return wizardError(err)
		}
		if !ok {
			fmt.Fprintln(pl.io.ErrOut, c.Declined)
			return nil
		}
	}
	if pl.announce != "" {
		fmt.Fprintln(pl.io.ErrOut, pl.announce)
	}
	// A line per write on stderr. The sink needs no lock of its own, even
	// when a multi-account run calls it from several accounts at once:
	// run() serializes every write to stderr.
	res, err := op.Execute(ctx, func(e provision.Event) {
		if line := e.Line(); line != "" {
			fmt.Fprintln(pl.io.ErrOut, line)
		}
	})
	if err != nil {
		res.WritePartial(pl.io.ErrOut)
		return pl.finish(ctx, op, &res, awsHint(err))
	}
	return pl.finish(ctx, op, &res, nil)
}

// finish reports the outcome and returns the command's error: err, which
// is why nothing or not everything was executed (res is nil when nothing
// was), or the failure the outcome holds; plan's status for pending
// changes. In JSON the operation's summary goes to stderr and its object
// to stdout; in text, once it worked, what it gives (the snippet) and, for
// plan, how to apply.
func (pl pipeline) finish(ctx context.Context, op provision.Operation, res *provision.Result, err error) error {
	if res != nil && err == nil {
		op.WriteDone(pl.io.ErrOut, *res)
	}
	result := op.Outcome(res, flagNamed(err))
	status := cmp.Or(err, op.Err())
	var reported *provision.ReportedError
	if errors.As(status, &reported) {
		// The outcome shows what failed: exit status 1 without an error.
		status = &silentError{code: exitError}
	}
	if status == nil && pl.planOnly && pl.detailedExitcode && op.Changes() > 0 {
		status = &silentError{code: exitUsage}
	}
	switch {
	case pl.json:
		if werr := op.WriteSummary(pl.io.ErrOut); werr != nil {
			return werr
		}
		if result != nil {
			status = writeJSONThen(pl.io, result, status)
		}
	case err == nil:
		if werr := op.WriteOutcome(pl.io.Out, pl.io.ErrOut); werr != nil {
			return werr
		}
		if pl.planOnly && op.Changes() > 0 {
			fmt.Fprintln(pl.io.ErrOut, "Run setup with the same flags to apply.")
		}
	}
	if pl.then != nil {
		return pl.then(ctx, status)
	}
	return status
}

func writeJSONThen(io IOStreams, out any, err error) error {
	enc := json.NewEncoder(io.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if jerr := enc.Encode(out); jerr != nil {
		return fmt.Errorf("write JSON output: %w", jerr)
	}
	return err
}
