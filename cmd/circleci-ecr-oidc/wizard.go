package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/awsconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/wizard"
)

// wantsWizard reports whether setup should ask for what the flags left out:
// only on a terminal, so that CI and pipes keep failing with the list of
// missing flags; never for plan, which only reads.
func wantsWizard(opts *setupOptions) bool {
	return len(opts.Flags.Missing()) > 0 && opts.IO.CanPrompt() && !opts.Flags.accounts.on() && !opts.planOnly
}

// accessible reports whether prompts should be huh's accessible line
// prompts: --accessible, ACCESSIBLE set to anything (as huh's examples
// use), or a dumb terminal, which cannot redraw.
func accessible(opts *setupOptions) bool {
	return opts.Accessible || os.Getenv("ACCESSIBLE") != "" || os.Getenv("TERM") == "dumb"
}

// profileShown says which AWS profile is in use and where it comes from.
func profileShown(f *specFlags) string {
	switch p := os.Getenv("AWS_PROFILE"); {
	case f.Profile != "":
		return f.Profile + " (from --profile)"
	case p != "":
		return p + " (from AWS_PROFILE; change with --profile)"
	}
	return ""
}

// runSetupWizard is setup on a terminal with required values missing. The
// wizard fills the flags that were not given; from there the path is the
// one the flags take (validate, observe, plan), then the wizard's review,
// Apply with a line per change, the result (the snippet alone on stdout,
// everything else on stderr) and, with --config-file, the file's patch.
func runSetupWizard(ctx context.Context, opts *setupOptions) error {
	f := &opts.Flags
	if err := checkOutput(f.output); err != nil {
		return err
	}
	// --access and --role-name have default values, so only an explicit
	// flag counts as given.
	given := wizard.GivenBy(&f.Input, f.set != nil && f.set.Changed("access"), f.set != nil && f.set.Changed("role-name"))
	// A bad flag is reported before any question, as without the wizard.
	wz, err := wizard.Start(ctx, &f.Input, given, func(ctx context.Context) (aws.Config, error) {
		return awsconfig.Load(ctx, f.Profile, f.Region, f.maxAttempts.LoadOptions()...)
	}, wizard.Options{In: opts.IO.In, Out: opts.IO.ErrOut, Accessible: accessible(opts), Profile: profileShown(f)})
	if err != nil {
		return wizardError(err)
	}
	op, err := planSetup(ctx, opts)
	if err != nil {
		return err
	}
	pl := opts.pipeline(op)
	if single, ok := op.(*provision.SetupOperation); ok {
		// The plan goes to stderr with the questions, the review shows it
		// before asking, and the snippet alone goes to stdout.
		single.Guided = true
		pl.showTo, pl.announce = opts.IO.ErrOut, fmt.Sprintf("Applying %d change(s):", len(single.Plan.Changes))
		pl.confirm = func(ctx context.Context) (bool, error) { return wz.Review(ctx, single) }
	}
	return pl.run(ctx, op)
}

// wizardError maps a quit to errAborted (exit 130).
func wizardError(err error) error {
	if errors.Is(err, wizard.ErrAborted) {
		return fmt.Errorf("%w: nothing was changed", errAborted)
	}
	if err != nil {
		return awsHint(err)
	}
	return nil
}
