package main

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go/logging"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/awsconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/buildinfo"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

func newRootCmd(io IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "circleci-ecr-oidc",
		Short: "Let CircleCI jobs pull images from Amazon ECR with OIDC instead of stored AWS keys",
		Long: `circleci-ecr-oidc creates, in your AWS account, the IAM OIDC identity provider for
your CircleCI organization, an IAM role that only the projects you name can assume,
and a least-privilege ECR pull policy; then prints the .circleci/config.yml snippet.

It reads before it writes, shows the plan, and is safe to run again: a second run
with the same inputs changes nothing.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	// --version is the root's own flag rather than cobra's built-in one so
	// that it can print JSON too (--version --output json).
	var showVersion bool
	var versionOutput string
	root.Flags().BoolVarP(&showVersion, "version", "v", false, "print the version, commit, build date, Go version and platform")
	root.Flags().StringVarP(&versionOutput, "output", "o", "text", "output format of --version: text or json")
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkOutput(versionOutput); err != nil {
			return err
		}
		if !showVersion {
			if cmd.Flags().Changed("output") {
				return &usageError{errors.New("--output without a command applies only to --version; give a command (such as plan --output json) or add --version")}
			}
			return cmd.Help()
		}
		return buildinfo.Write(io.Out, cmd.Name(), buildinfo.Current(), versionOutput)
	}
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	var debug bool
	root.PersistentFlags().BoolVar(&debug, "debug", false, "log the AWS SDK's warnings and retries to stderr (never requests, responses, credentials or signatures)")
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) {
		if debug {
			cmd.SetContext(awsconfig.WithLogger(cmd.Context(), logging.NewStandardLogger(io.ErrOut)))
		}
	}
	root.AddCommand(newCmdSetup(io, nil), newCmdPlan(io, nil), newCmdSnippet(io))
	root.AddCommand(newCmdVerify(io, nil), newCmdDestroy(io, nil))
	root.AddCommand(newCmdExport(io, nil), newCmdPermissions(io), newCmdGenDocs(io), newCmdGenReleaseFiles(io))
	return root
}

// registerMaxAttempts adds --max-attempts, which every command that calls
// AWS takes.
func registerMaxAttempts(fs *pflag.FlagSet, v *awsconfig.Attempts) {
	fs.Var(v, "max-attempts", fmt.Sprintf("attempts per AWS call, first try included, %d to %d; waits between attempts grow to %s and a call stops after %g minutes (default: AWS_MAX_ATTEMPTS, else the profile's max_attempts, else %d)",
		awsconfig.MinAttempts, awsconfig.MaxAttempts, awsconfig.MaxRetryWait, awsconfig.CallTimeLimit.Minutes(), awsconfig.DefaultAttempts))
}

// orgIDUsage is the help of --org-id, the same in every command.
const orgIDUsage = "CircleCI organization: its ID (a UUID, Organization Settings → Overview), its slug, such as gh/acme, github/acme, bb/acme or circleci/<id>, or its name; a slug or a name is looked up with a CircleCI API token (CIRCLE_TOKEN, CIRCLECI_CLI_TOKEN or the CircleCI CLI's config file)"

func registerCircleCIHost(fs *pflag.FlagSet, v *string) {
	fs.StringVar(v, "circleci-host", "", "CircleCI host that resolves slugs and gives the token audiences, for a server install (default: CIRCLE_HOST, CIRCLECI_CLI_HOST, the CircleCI CLI's config file, else https://circleci.com)")
}

// specFlags are the flags of setup and plan: those that fill a
// provision.Input, and the command line's own.
type specFlags struct {
	provision.Input
	output      string
	maxAttempts awsconfig.Attempts
	// accounts are the multi-account flags: --profiles, --org-accounts...
	accounts accountFlags
	// set tells flags given explicitly from defaults.
	set *pflag.FlagSet
}

func (f *specFlags) register(fs *pflag.FlagSet) {
	f.set = fs
	fs.StringVar(&f.OrgID, "org-id", "", orgIDUsage)
	fs.StringSliceVar(&f.Repositories, "repo", nil, "ECR repository name, repository ARN, or name prefix ending in /* (repeatable, comma-separated)")
	fs.StringSliceVar(&f.ProjectIDs, "project-id", nil, "CircleCI project allowed to assume the role: its ID (a UUID, Project Settings → Overview) or its slug, such as gh/acme/app, bitbucket/acme/app or circleci/<org>/<project>, looked up with a CircleCI API token (repeatable, comma-separated)")
	fs.BoolVar(&f.AllProjects, "all-projects", false, "allow every project of the organization instead of --project-id")
	fs.StringVar(&f.ProjectCondition, "project-condition", "", "how projects are restricted: claim (oidc.circleci.com/project-id; the default in the aws partition) or sub (the default where AWS does not document that key: aws-cn, aws-us-gov, ...)")
	fs.StringArrayVar(&f.Branches, "branch", nil, "pin the role to a git ref such as refs/heads/main (repeatable; * and ? are wildcards; V2 tokens only)")
	fs.StringVar(&f.RoleName, "role-name", provision.DefaultRoleName, "IAM role name")
	fs.StringVar(&f.Region, "region", "", "AWS region of the repositories (default: from the profile or AWS_REGION)")
	fs.StringVar(&f.Profile, "profile", "", "AWS shared config profile (default: the SDK's default chain)")
	fs.StringVar(&f.Image, "image", "", "image URI for the snippet (default: the first named repository at :latest)")
	fs.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	fs.BoolVar(&f.Adopt, "adopt", false, "take over an existing role that circleci-ecr-oidc did not create, or that a Terraform or CloudFormation export created")
	fs.BoolVar(&f.AllowMissingRepos, "allow-missing-repos", false, "grant repositories that do not exist yet instead of failing")
	registerMaxAttempts(fs, &f.maxAttempts)
	fs.Var(&tagsValue{tags: &f.Tags}, "tag", "extra tag KEY=VALUE for the role and provider this tool creates, and for a role it owns (repeatable)")
	fs.StringVar(&f.Access, "access", string(policy.AccessPull), "what the role may do with the repositories: pull, or push (pull plus the ECR push actions)")
	registerCircleCIHost(fs, &f.CircleCIHost)
	fs.StringVar(&f.RegistryProfile, "registry-profile", "", "AWS profile of the account holding --repo ARNs in another account: setup then merges the role's statement into their repository policies")
	f.accounts.register(fs)
}

// checkOutput checks an --output value, which every command takes.
func checkOutput(format string) error {
	if format != "text" && format != "json" {
		return &provision.InputError{Field: fieldOutput, Value: format, Rule: "must be text or json"}
	}
	return nil
}

// awsHint adds to err the hint for a common AWS failure, if there is one.
func awsHint(err error) error {
	if hint := awsconfig.Hint(err); hint != "" {
		return &provision.HintError{Err: err, Hint: hint}
	}
	return err
}
