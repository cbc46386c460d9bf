package main

import (
	"github.com/spf13/cobra"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// permissionsOptions are the flags of permissions.
type permissionsOptions struct {
	IO       IOStreams
	Output   string
	Commands []string
	Scope    provision.OperatorScope
}

func newCmdPermissions(io IOStreams) *cobra.Command {
	opts := &permissionsOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "permissions",
		Short: "Print the IAM policy the identity running setup or plan needs (no AWS calls)",
		Long: `permissions prints the IAM actions circleci-ecr-oidc calls, why and when, and an IAM
policy that allows exactly those: reads on "*" only where IAM requires it, writes scoped
to the organization's OIDC provider and to the role name. With --output json it prints
the policy document alone, ready for aws iam put-role-policy or create-policy.

plan needs only the reads; setup needs the reads and the writes. For repositories in
another account, --command registry prints what the --registry-profile identity needs
in that account (read and set repository policies). --command circleci prints the
CircleCI API calls instead, and the token they need.`,
		Example: `  circleci-ecr-oidc permissions --output json --account-id 123456789012 \
    --org-id 2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d > operator-policy.json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runPermissions(opts) },
	}
	fs := cmd.Flags()
	fs.StringVarP(&opts.Output, "output", "o", "text", "output format: text (actions and policy) or json (the policy document alone)")
	fs.StringSliceVar(&opts.Commands, "command", []string{provision.CommandSetup}, "commands to allow: setup (includes plan), plan or destroy (repeatable); org-accounts prints what the identity of --org-accounts needs in the management account; registry prints the policy of the --registry-profile identity in a registry account (with --account-id of that account); circleci, alone, prints the CircleCI API calls and the token they need")
	fs.StringVar(&opts.Scope.OrgID, "org-id", "", "CircleCI organization ID to scope the provider actions to (default: any organization)")
	fs.StringVar(&opts.Scope.Account, "account-id", "", "AWS account ID to scope the resources to (default: any account, *)")
	fs.StringVar(&opts.Scope.RoleName, "role-name", provision.DefaultOperatorRoleName, "role name, or a pattern with *, that setup may create and change")
	fs.StringVar(&opts.Scope.Partition, "partition", "aws", "AWS partition: aws, aws-cn, aws-us-gov, ...")
	return cmd
}

func runPermissions(opts *permissionsOptions) error {
	if err := checkOutput(opts.Output); err != nil {
		return err
	}
	return opts.Scope.WriteFor(opts.IO.Out, opts.Commands, opts.Output == "json")
}
