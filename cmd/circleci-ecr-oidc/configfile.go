package main

import (
	"context"
	"errors"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleciconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// configFileUsage is the help text of setup's --config-file flag.
const configFileUsage = "patch this .circleci/config.yml so that jobs pulling the role's repositories use it (shows a diff; writes after confirmation or --yes)"

// patchConfigFile shows on stderr the diff that gives the plan's role to
// every docker image of --config-file in the role's repositories, then
// writes it through the pipeline: after confirmation on a terminal, or with
// --yes; without either it writes nothing and fails, as setup does for the
// plan. The diff goes to stderr because stdout carries the snippet or the
// JSON result.
func patchConfigFile(ctx context.Context, opts *setupOptions, p *provision.Plan) error {
	c, err := circleciconfig.ReadPatch(opts.ConfigFile, circleciconfig.ForPlan(p))
	if err != nil {
		return err
	}
	pl := opts.pipeline(c)
	pl.showTo = opts.IO.ErrOut
	return pl.run(ctx, c)
}

// showPlannedConfig prints after plan's output the diff that setup would
// make to --config-file: on stdout with the text plan, whose data it is,
// and on stderr with --output json, whose stdout is one JSON object. plan
// never writes the file. err, plan's own outcome, passes through; a
// pending-changes status still shows the diff.
func showPlannedConfig(opts *planOptions, p *provision.Plan, err error) error {
	var pending *silentError
	if opts.ConfigFile == "" || (err != nil && !errors.As(err, &pending)) {
		return err
	}
	json := opts.Flags.output == "json"
	w := opts.IO.Out
	if json {
		w = opts.IO.ErrOut
	}
	if serr := circleciconfig.ShowPlanned(opts.ConfigFile, p, w, opts.IO.ErrOut, !json); serr != nil {
		return serr
	}
	return err
}
