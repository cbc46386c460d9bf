package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// planOptions are plan's flags and dependencies.
type planOptions struct {
	IO               IOStreams
	Flags            specFlags
	DetailedExitcode bool
	// ConfigFile is the config.yml whose patch plan shows without writing.
	ConfigFile string
}

func newCmdPlan(io IOStreams, runF func(context.Context, *planOptions) error) *cobra.Command {
	opts := &planOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what setup would change, without writing anything",
		Long: `plan takes the same flags as setup, reads the account and prints the changes setup
would make. It never writes. With --detailed-exitcode it exits 2 when changes are
pending, so a scheduled job can detect drift.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPlan(cmd.Context(), opts)
		},
	}
	opts.Flags.register(cmd.Flags())
	registerShard(cmd.Flags(), &opts.Flags)
	cmd.Flags().BoolVar(&opts.DetailedExitcode, "detailed-exitcode", false, "exit 0 when nothing would change, 2 when changes are pending, 1 on any error (invalid input included), as Terraform does")
	cmd.Flags().StringVar(&opts.ConfigFile, "config-file", "", "show the diff setup --config-file would make to this .circleci/config.yml (never writes it)")
	return cmd
}

func runPlan(ctx context.Context, opts *planOptions) error {
	if err := checkConfigFile(opts.ConfigFile, opts.Flags.shard); err != nil {
		return err
	}
	if opts.Flags.shard {
		return runShardedPlan(ctx, opts)
	}
	p, _, err := preparePlan(ctx, opts.IO, &opts.Flags)
	if err != nil {
		return err
	}
	snippet, err := p.Snippet()
	if err != nil {
		return err
	}
	var pending error
	if opts.DetailedExitcode && p.HasChanges() {
		pending = &silentError{code: exitUsage}
	}
	out := &result{Plan: p, Snippet: snippet, Applied: !p.HasChanges(), NotApplied: p.Changes}
	if opts.Flags.output == "json" {
		return showPlannedConfig(opts, p, writeJSONThen(opts.IO, out, pending))
	}
	if err := p.WriteText(opts.IO.Out, p.HasChanges()); err != nil {
		return err
	}
	if p.HasChanges() {
		fmt.Fprintln(opts.IO.ErrOut, "Run setup with the same flags to apply.")
	}
	return showPlannedConfig(opts, p, pending)
}
