package fleet

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

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
