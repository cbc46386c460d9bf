package main

import (
	"context"

	"github.com/spf13/cobra"
)

// planOptions are plan's flags and dependencies: setup's, stopping after
// the plan is shown.
type planOptions = setupOptions

func newCmdPlan(io IOStreams, runF func(context.Context, *planOptions) error) *cobra.Command {
	opts := &planOptions{IO: io, planOnly: true}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what setup would change, without writing anything",
		Long: `plan takes the same flags as setup, reads the account and prints the changes setup
would make. It never writes. With --detailed-exitcode it exits 2 when changes are
pending, so a scheduled job can detect drift.

With --profiles or --org-accounts it plans in every account: the summary table, then
each account's plan; --detailed-exitcode exits 2 when any account has changes and
none failed, 1 when any failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			// setup's path up to the plan, shown (with --config-file, the
			// file's diff too) and never applied.
			return runSetup(cmd.Context(), opts)
		},
	}
	opts.Flags.register(cmd.Flags())
	registerShard(cmd.Flags(), &opts.Flags)
	cmd.Flags().BoolVar(&opts.DetailedExitcode, "detailed-exitcode", false, "exit 0 when nothing would change, 2 when changes are pending, 1 on any error (invalid input included), as Terraform does")
	cmd.Flags().StringVar(&opts.ConfigFile, "config-file", "", "show the diff setup --config-file would make to this .circleci/config.yml (never writes it)")
	return cmd
}
