package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/awsconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/fleet"
)

// accountFlags are the flags that run a command in many accounts
// (docs/multi-account.md). Package fleet does the work; this only reads
// the flags and prints.
type accountFlags struct {
	profiles, ous, accounts, excludeAccounts []string
	orgAccounts                              bool
	accountRole                              string
	parallel                                 int
	set                                      *pflag.FlagSet
}

func (f *accountFlags) register(fs *pflag.FlagSet) {
	f.set = fs
	fs.StringSliceVar(&f.profiles, "profiles", nil, "run in the account of each of these AWS shared-config profiles (repeatable, comma-separated; SSO and role_arn profiles included)")
	fs.BoolVar(&f.orgAccounts, "org-accounts", false, "run in every active account of the caller's AWS Organization, from its management or a delegated administrator account")
	fs.StringSliceVar(&f.ous, "ou", nil, "organizational unit (ou-...) or root (r-...) ID (repeatable): with --org-accounts, only the accounts under it, recursively; for export --format cloudformation-stackset, where the stack set deploys")
	fs.StringVar(&f.accountRole, "account-role", fleet.DefaultAccountRole, "with --org-accounts: the role assumed in each account but the caller's own")
	fs.StringSliceVar(&f.accounts, "accounts", nil, "with --org-accounts: only these 12-digit account IDs (repeatable, comma-separated)")
	fs.StringSliceVar(&f.excludeAccounts, "exclude-accounts", nil, "with --org-accounts: leave out these 12-digit account IDs (repeatable, comma-separated)")
	fs.IntVar(&f.parallel, "parallel", fleet.DefaultParallel, fmt.Sprintf("with --profiles or --org-accounts: how many accounts are read and changed at once, 1 to %d", fleet.MaxParallel))
}

// selection is the flags' fleet.Selection, not validated.
func (f *accountFlags) selection() fleet.Selection {
	return fleet.Selection{
		Profiles: f.profiles, OrgAccounts: f.orgAccounts, OUs: f.ous, AccountRole: f.accountRole,
		Accounts: f.accounts, ExcludeAccounts: f.excludeAccounts, Parallel: f.parallel,
	}
}

// on reports whether the command runs in many accounts: any of the flags
// was given (a flag without --profiles or --org-accounts is then an error
// of check, not silently a single-account run).
func (f *accountFlags) on() bool {
	return f.set != nil && (f.selection().IsSet() || f.set.Changed("account-role") || f.set.Changed("parallel"))
}

// check validates the flags, when any is given, without any call; profile
// is --profile, which --profiles excludes.
func (f *accountFlags) check(profile string) error {
	if !f.on() {
		return nil
	}
	return f.selection().Check(profile)
}

// scope is where the command runs: in the accounts these flags select when
// any is given, else in profile's; registryProfile is --registry-profile.
func (f *accountFlags) scope(profile, region, registryProfile string, attempts awsconfig.Attempts) fleet.Scope {
	return fleet.Scope{
		Many: f.on(), Selection: f.selection(), Profile: profile, Region: region,
		RegistryProfile: registryProfile, Attempts: attempts,
	}
}
