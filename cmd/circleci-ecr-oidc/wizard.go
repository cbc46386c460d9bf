package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/awsconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/wizard"
)

// wantsWizard reports whether setup should ask for what the flags left out:
// only on a terminal, so that CI and pipes keep failing with the list of
// missing flags.
func wantsWizard(opts *setupOptions) bool {
	return len(opts.Flags.missing()) > 0 && opts.IO.CanPrompt() && !opts.Flags.accounts.on()
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
	case f.profile != "":
		return f.profile + " (from --profile)"
	case p != "":
		return p + " (from AWS_PROFILE; change with --profile)"
	}
	return ""
}

func newWizard(opts *setupOptions, deps wizard.Deps) *wizard.Wizard {
	return wizard.New(deps, wizard.Options{
		In: opts.IO.In, Out: opts.IO.ErrOut, Accessible: accessible(opts), Profile: profileShown(&opts.Flags),
	})
}

// runSetupWizard is setup on a terminal with required values missing. The
// wizard fills the flags that were not given; from there the path is the
// one the flags take (validate, observe, plan), then the wizard's review,
// Apply with a line per change, the result (the snippet alone on stdout,
// everything else on stderr) and, with --config-file, the file's patch.
func runSetupWizard(ctx context.Context, opts *setupOptions) error {
	f := &opts.Flags
	if err := f.validateOutput(); err != nil {
		return err
	}
	// A bad flag is reported before any question, as without the wizard.
	if err := checkGivenFlags(f); err != nil {
		return err
	}
	client, err := resolveGiven(ctx, opts)
	if err != nil {
		return err
	}
	cfg, err := awsconfig.Load(ctx, f.profile, f.region, f.maxAttempts.LoadOptions()...)
	if err != nil {
		return err
	}
	deps := wizard.AWSLookups(cfg, provision.NewClients(cfg))
	deps.CircleCI = wizard.CircleCILookups(client)
	wz := newWizard(opts, deps)
	given := givenFlags(f)
	spec, err := wz.Fill(ctx, f.wizardSpec(cfg.Region), given)
	if err != nil {
		return wizardError(err)
	}
	f.setSpec(spec, given)
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
		pl.confirm = func(ctx context.Context) (bool, error) { return wz.Review(ctx, single.Plan) }
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

// givenFlags says which questions the flags answered already.
func givenFlags(f *specFlags) wizard.Given {
	return wizard.Given{
		OrgID:            f.orgID != "",
		Repositories:     len(f.repos) > 0,
		Access:           f.set != nil && f.set.Changed("access"),
		Projects:         len(f.projectIDs) > 0 || f.allProjects,
		ProjectCondition: f.projectCondition != "",
		// --role-name has a default value, so only an explicit flag counts.
		RoleName: f.set != nil && f.set.Changed("role-name"),
		Region:   f.region != "",
		Image:    f.image != "",
	}
}

// setSpec stores the wizard's answers as if they had been flags. Given
// flags keep their values: an --org-id or --project-id slug stays the slug
// the plan resolves, and the slugs the wizard chose are kept for the plan.
func (f *specFlags) setSpec(s provision.Spec, given wizard.Given) {
	if !given.OrgID {
		f.orgID = s.OrgID
	}
	if !given.Repositories {
		f.repos = s.Repositories
	}
	if !given.Projects {
		f.projectIDs, f.allProjects = s.ProjectIDs, s.AllProjects
	}
	f.projectCondition, f.roleName, f.region, f.image = string(s.ProjectCondition), s.RoleName, s.Region, s.Image
	f.access = string(s.Access)
	f.circleci.Names = s.Names
}

// resolveGiven resolves a given --org-id (with the given --project-id
// values) before the questions, so that the wizard lists the projects of
// its ID; without --org-id, a project slug waits for the organization the
// wizard asks for, but is checked now. It returns the CircleCI client for
// the wizard's look-ups, nil without a token.
func resolveGiven(ctx context.Context, opts *setupOptions) (*circleci.Client, error) {
	f := &opts.Flags
	client, err := circleciClient(f.circleciHost)
	if err != nil {
		return nil, err
	}
	if f.orgID != "" {
		return client, f.resolveCircleCI(ctx, opts.IO.ErrOut)
	}
	if err := circleci.CheckProjects(f.projectIDs, client != nil); err != nil {
		return nil, circleciError(err)
	}
	return client, nil
}

// wizardSpec is the spec the wizard starts from: the flags, resolved where
// CircleCI resolved them, and placeholders for project slugs that wait for
// the wizard's organization (setSpec keeps the slugs).
func (f *specFlags) wizardSpec(region string) provision.Spec {
	s := f.spec(region)
	if f.circleci.Current(f.orgID, f.projectIDs) != nil {
		return s
	}
	return s.WithProjectPlaceholders()
}

// checkGivenFlags validates the flags that were given, with placeholders
// for the missing ones and for slugs, so that the wizard never asks around
// a bad flag.
func checkGivenFlags(f *specFlags) error {
	if err := checkCircleCIHost(f.circleciHost); err != nil {
		return err
	}
	_, err := f.probe(cmp.Or(f.region, "us-east-1")).Validate()
	return err
}
