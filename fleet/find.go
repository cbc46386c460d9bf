package fleet

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/awsconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// Check validates the selection without any call, as Validate does, and
// that it names no profiles together with profile, the caller's own
// profile (--profile), which Profiles excludes.
func (s Selection) Check(profile string) error {
	if len(s.Profiles) > 0 && profile != "" {
		return &provision.InputError{Field: FieldProfiles, With: []provision.Field{provision.FieldProfile}, Join: "and", Rule: "cannot be combined: --profiles names the profile of every account"}
	}
	_, err := s.Validate()
	return err
}

// Find finds the accounts of the selection as a command does: each profile
// loaded as the caller's own profile is (awsconfig.Load with region and
// attempts), or the organization's accounts, listed with the credentials
// of profile (or the default chain). The selection is checked first
// (Check), so that a bad one makes no call. A profile that does not exist
// is a *provision.InputError naming FieldProfiles.
func (s Selection) Find(ctx context.Context, profile, region string, attempts awsconfig.Attempts) ([]Target, error) {
	if err := s.Check(profile); err != nil {
		return nil, err
	}
	base := func(ctx context.Context) (aws.Config, error) {
		return awsconfig.Load(ctx, profile, region, attempts.LoadOptions()...)
	}
	load := func(ctx context.Context, name string) (aws.Config, error) {
		// A profile that does not exist is a mistyped flag, as for
		// --profile; one that fails to load otherwise is its account's
		// failure.
		cfg, err := awsconfig.Load(ctx, name, region, attempts.LoadOptions()...)
		var input *provision.InputError
		if errors.As(err, &input) && input.Field == provision.FieldProfile {
			input.Field = FieldProfiles
		}
		return cfg, err
	}
	return FindTargets(ctx, base, load, s)
}

// FindTargets finds the accounts of sel: the profiles', each loaded with
// load, or the organization's, listed with the configuration base loads
// (called only for sel.OrgAccounts). An organization without an active
// account is an error, and so is a profile whose load failed with a
// *provision.InputError (a profile that does not exist is mistyped input);
// a profile that fails to load otherwise is its target's failure.
func FindTargets(ctx context.Context, base func(context.Context) (aws.Config, error), load LoadProfile, sel Selection) ([]Target, error) {
	var baseCfg aws.Config
	if sel.OrgAccounts {
		var err error
		if baseCfg, err = base(ctx); err != nil {
			return nil, err
		}
	}
	targets, err := Targets(ctx, baseCfg, load, sel)
	if err == nil && len(targets) == 0 {
		// Profiles are never none: the organization (under --ou) is empty.
		return nil, errors.New("find the accounts: the organization has no active account (under --ou) to act in")
	}
	for _, t := range targets {
		var input *provision.InputError
		if errors.As(t.Err, &input) {
			return nil, t.Err
		}
	}
	return targets, err
}
