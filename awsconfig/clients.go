package awsconfig

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// Clients are the engine's clients of cfg, with the account the
// credentials name when they name one without a call (CredentialsAccount);
// with registryProfile, the registry clients of that account too
// (LoadRegistry). It makes no AWS call.
func Clients(ctx context.Context, cfg aws.Config, registryProfile, region string, attempts Attempts) (provision.Clients, error) {
	clients := provision.NewClients(cfg)
	clients.Account = CredentialsAccount(ctx, cfg)
	var err error
	if clients.Registry, err = LoadRegistry(ctx, registryProfile, region, attempts); err != nil {
		return provision.Clients{}, err
	}
	return clients, nil
}

// LoadRegistry loads profile, the credentials (and, in tests, the
// endpoint_url) of the registry account, which holds repositories named by
// ARN in another account; nil without a profile. Like Load it makes no AWS
// call, so a profile that does not exist is reported as bad input of
// provision.FieldRegistryProfile before anything is read.
func LoadRegistry(ctx context.Context, profile, region string, attempts Attempts) (func(region string) provision.RegistryAPI, error) {
	if profile == "" {
		return nil, nil
	}
	cfg, err := Load(ctx, profile, region, attempts.LoadOptions()...)
	var input *provision.InputError
	if errors.As(err, &input) && input.Field == provision.FieldProfile {
		input.Field = provision.FieldRegistryProfile
		input.Rule += " (it holds the credentials of the registry account)"
	}
	if err != nil {
		return nil, err
	}
	return provision.NewRegistryClients(cfg), nil
}
