package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/awsconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/export"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// exportOptions are export's flags and dependencies.
type exportOptions struct {
	IO     IOStreams
	Flags  specFlags
	Format string
	OutDir string
	// Yes is accepted and ignored, so that a setup command line works with
	// the verb changed to export.
	Yes bool
}

func newCmdExport(io IOStreams, runF func(context.Context, *exportOptions) error) *cobra.Command {
	opts := &exportOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write what setup would create as Terraform or CloudFormation (or a StackSet), without writing to AWS",
		Long: `export takes the flags of setup and writes the same OIDC provider, role, trust policy,
inline ECR policy (plus the managed policies that hold the repositories beyond the
inline quota, sized for every partition) and tags as a Terraform configuration
(main.tf) or a CloudFormation template (stack.yaml), to stdout or into --out DIR.

It makes no AWS call: the account ID and partition are resolved when the output is
applied (Terraform data sources, CloudFormation pseudo parameters), and repositories
named without an ARN are in --region (or the configured default region). So it needs
no credentials, and does not check that the repositories exist.

If the organization's OIDC provider exists already, apply the Terraform output with
-var create_oidc_provider=false, or deploy the template with CreateOIDCProvider=false.

--format cloudformation-stackset writes the template of a CloudFormation StackSet
with service-managed permissions (stackset.yaml), which creates the same resources in
every account of the organizational units named with --ou, and in accounts that join
them later; repositories named without an ARN are those of each account, in the
region of its stack instance. It prints on stderr the aws cloudformation
create-stack-set and create-stack-instances commands that deploy it to --ou in
--region (docs/multi-account.md). With --org-accounts (the accounts under --ou) or
--profiles it first reads each account and prints the stack instances of the accounts
that have the organization's provider already with CreateOIDCProvider=false; that is
its only AWS call, and the other formats do not take these flags.`,
		Example: `  circleci-ecr-oidc export --format terraform --out infra/circleci-oidc \
    --org-id 2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d --repo app \
    --project-id 8e7c4b1e-5a0d-4c3b-9f2e-1d6a7b8c9d0e --region us-east-1
  circleci-ecr-oidc export --format cloudformation-stackset --ou ou-ab12-cd34ef56 \
    --org-id 2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d --repo app --all-projects --region us-east-1 > stackset.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runExport(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	opts.Flags.register(fs)
	fs.StringVar(&opts.Format, "format", "", "output format: terraform, cloudformation or cloudformation-stackset (required)")
	fs.StringVar(&opts.OutDir, "out", "", "directory to write the files into, created if missing; files of the same name are replaced (default: stdout)")
	fs.BoolVarP(&opts.Yes, "yes", "y", false, "ignored: export never writes to AWS")
	// Accepted so that a setup command line works unchanged, but they do
	// not apply to an export: it makes no calls and prints no snippet.
	// --registry-profile too: the export writes the role's side only.
	for _, name := range []string{"yes", "output", "adopt", "allow-missing-repos", "image", "registry-profile"} {
		_ = fs.MarkHidden(name)
	}
	return cmd
}

func runExport(ctx context.Context, opts *exportOptions) error {
	f := &opts.Flags
	format, err := export.ParseFormat(opts.Format)
	if err != nil {
		return err
	}
	accounts := opts.readAccounts()
	if f.accounts.ous, err = export.CheckSelection(format, accounts.on(), f.accounts.ous); err != nil {
		return err
	}
	// Before checkExportSpecFlags, which may ask CircleCI.
	if err := accounts.check(f.Profile); err != nil {
		return err
	}
	if err := checkExportSpecFlags(ctx, opts); err != nil {
		return err
	}
	spec, err := exportSpec(ctx, f)
	if err != nil {
		return err
	}
	// With --profiles, --ou only says where the stack set deploys. The map
	// is nil when no account could be read at all (the error says why);
	// else readErr names the accounts that could not be.
	hasProvider, readErr := accounts.scope(f.Profile, f.Region, "", f.maxAttempts).ReadProviders(ctx, spec.OrgID, spec.Region, opts.IO.ErrOut)
	if accounts.on() && hasProvider == nil {
		return readErr
	}
	err = export.Write(format, spec, export.Destination{
		Dir: opts.OutDir, Out: opts.IO.Out, Notes: opts.IO.ErrOut, OUs: f.accounts.ous, HasProvider: hasProvider,
	})
	var quota *export.QuotaError
	if errors.As(err, &quota) {
		// Too many repositories is a problem of the input: exit 2.
		return &usageError{err: err}
	}
	if err != nil {
		return err
	}
	return readErr
}

// exportSpec is the validated spec of the flags in --region, else in the
// configured default region: only that is read (environment or profile);
// loading the configuration makes no AWS call.
func exportSpec(ctx context.Context, f *specFlags) (provision.Spec, error) {
	region := f.Region
	if region == "" {
		cfg, err := awsconfig.Load(ctx, f.Profile, "")
		if err != nil {
			return provision.Spec{}, err
		}
		region = cfg.Region
	}
	return f.Spec(region).ValidateInRegion()
}

// checkExportSpecFlags checks setup's flags as export takes them, then
// resolves the CircleCI slugs; with a token the audiences are read even for
// IDs, so that the export admits them. No token and IDs: no request.
func checkExportSpecFlags(ctx context.Context, opts *exportOptions) error {
	f := &opts.Flags
	if err := f.Check("is required"); err != nil {
		return err
	}
	return f.Resolve(ctx, opts.IO.ErrOut)
}

// readAccounts are the multi-account flags of the accounts the StackSet
// export reads, none when no such flag is given: without --org-accounts,
// --ou only says where the stack set deploys.
func (opts *exportOptions) readAccounts() accountFlags {
	accounts := opts.Flags.accounts
	if !accounts.orgAccounts {
		accounts.ous = nil
	}
	return accounts
}
