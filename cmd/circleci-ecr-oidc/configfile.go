package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleciconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// configFileUsage is the help text of setup's --config-file flag.
const configFileUsage = "patch this .circleci/config.yml so that jobs pulling the role's repositories use it (shows a diff; writes after confirmation or --yes)"

// checkConfigFile rejects an unreadable or unparseable --config-file before
// anything happens in AWS, so that a typo does not surface only after the
// role exists.
func checkConfigFile(path string, f *specFlags) error {
	if path == "" {
		return nil
	}
	if f.accounts.on() {
		return &provision.InputError{Field: fieldConfigFile, Value: path, Rule: "does not apply with --profiles or --org-accounts: a config.yml uses one account's role; run setup --config-file in the account its jobs pull from"}
	}
	if f.Shard {
		// A config.yml is one project's, and under --shard each project's
		// jobs use the role that admits it: there is no one role to patch in.
		return &provision.InputError{Field: fieldConfigFile, Value: path, Rule: "does not apply with --shard: each project's jobs use the role that admits it, so paste into each project's config the snippet setup --shard prints for its role"}
	}
	if err := circleciconfig.CheckFile(path); err != nil {
		return &provision.InputError{Field: fieldConfigFile, Value: path, Rule: err.Error()}
	}
	return nil
}

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
	c, cerr := circleciconfig.ReadPatch(opts.ConfigFile, circleciconfig.ForPlan(p))
	if cerr != nil {
		return cerr
	}
	w := opts.IO.Out
	if opts.Flags.output == "json" {
		w = opts.IO.ErrOut
	}
	if serr := c.Show(w, opts.IO.ErrOut); serr != nil {
		return serr
	}
	if c.Changed() && opts.Flags.output != "json" {
		fmt.Fprintf(opts.IO.ErrOut, "Run setup with --config-file %s to write it.\n", opts.ConfigFile)
	}
	return err
}
