package fleet

import (
	"context"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/awsconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// Scope is where a command runs: the account of a profile (or of the SDK's
// default chain), or with Many the accounts of a selection. A front end
// fills it from its flags; Plan reads and plans there.
type Scope struct {
	// Many runs in the accounts of Selection rather than in Profile's.
	Many      bool
	Selection Selection
	// Profile is the caller's profile ("" for the default chain): the
	// account of a single-account run, and the credentials that list the
	// organization's accounts.
	Profile string
	// Region is the region asked for; "" takes the configured one.
	Region   string
	Attempts awsconfig.Attempts
	// RegistryProfile holds the credentials of the account of the
	// repositories named by ARN in another account; "" for none.
	RegistryProfile string
	// DefaultRegion is the region when none is asked for or configured;
	// "" leaves it unset. destroy sets it: IAM is global, and STS only needs
	// some region to sign for.
	DefaultRegion string
}

// Place is one account where a command plans: its configuration and the
// engine's clients of it, with the registry account's.
type Place struct {
	Config  aws.Config
	Clients provision.Clients
}

// Plan reads and plans with plan in the scope's account, or with Many in
// every account of the selection, at most Selection.Parallel at once, with
// the progress on notes and each account's error worded by describe; their
// plans are then one *Operation (whose Deletes and AppliedNote the caller
// sets). Nothing calls AWS before every input
// (the selection, the profiles) is valid.
func (s Scope) Plan(ctx context.Context, notes io.Writer, describe func(error) error, plan func(context.Context, Place) (provision.Operation, error)) (provision.Operation, error) {
	if !s.Many {
		cfg, err := awsconfig.Load(ctx, s.Profile, s.Region, s.Attempts.LoadOptions()...)
		if err != nil {
			return nil, err
		}
		if cfg.Region == "" {
			cfg.Region = s.DefaultRegion
		}
		clients, err := awsconfig.Clients(ctx, cfg, s.RegistryProfile, s.Region, s.Attempts)
		if err != nil {
			return nil, err
		}
		return plan(ctx, Place{Config: cfg, Clients: clients})
	}
	if err := s.Selection.Check(s.Profile); err != nil {
		return nil, err
	}
	registry, err := awsconfig.LoadRegistry(ctx, s.RegistryProfile, s.Region, s.Attempts)
	if err != nil {
		return nil, err
	}
	targets, err := s.Selection.Find(ctx, s.Profile, s.Region, s.Attempts)
	if err != nil {
		return nil, err
	}
	op, err := ReadAndPlan(ctx, targets, s.Selection.Parallel, notes, describe, func(ctx context.Context, t Target) (AccountPlan, error) {
		t = t.withDefaultRegion(s.DefaultRegion)
		clients := t.Clients()
		clients.Registry = registry
		return plan(ctx, Place{Config: t.Config, Clients: clients})
	})
	if err != nil {
		return nil, err
	}
	return op, nil
}

// ReadProviders reads, in every account of the scope's selection, whether
// it has orgID's provider, as ReadProviders does, with the progress and
// the summary on notes. In one account (not Many) it reads nothing and
// returns nil, nil.
func (s Scope) ReadProviders(ctx context.Context, orgID, region string, notes io.Writer) (map[string]bool, error) {
	if !s.Many {
		return nil, nil
	}
	targets, err := s.Selection.Find(ctx, s.Profile, s.Region, s.Attempts)
	if err != nil {
		return nil, err
	}
	return ReadProviders(ctx, targets, s.Selection.Parallel, orgID, region, notes)
}
