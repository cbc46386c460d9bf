package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/buildinfo"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// orgIDUsage is the help of --org-id, the same in every command.
const orgIDUsage = "CircleCI organization: its ID (a UUID, Organization Settings → Overview), its slug, such as gh/acme, github/acme, bb/acme or circleci/<id>, or its name; a slug or a name is looked up with a CircleCI API token (CIRCLE_TOKEN, CIRCLECI_CLI_TOKEN or the CircleCI CLI's config file)"

func registerCircleCIHost(fs *pflag.FlagSet, v *string) {
	fs.StringVar(v, "circleci-host", "", "CircleCI host that resolves slugs and gives the token audiences, for a server install (default: CIRCLE_HOST, CIRCLECI_CLI_HOST, the CircleCI CLI's config file, else https://circleci.com)")
}

// isID reports whether an --org-id or --project-id value is an ID rather
// than a slug or a name.
func isID(v string) bool { return circleci.LooksLikeUUID(strings.TrimSpace(v)) }

// probe is the spec with placeholders where values are missing or where
// slugs and names stand, so that every other flag can be checked before
// CircleCI is asked.
func (f *specFlags) probe(region string) provision.Spec {
	return f.spec(region).WithPlaceholders()
}

// checkCircleCIHost validates --circleci-host before anything is asked.
func checkCircleCIHost(host string) error {
	if host == "" {
		return nil
	}
	if _, err := circleci.ValidateHost(host, "--circleci-host"); err != nil {
		var he *circleci.HostError
		if errors.As(err, &he) {
			return &provision.InputError{Field: fieldCircleCIHost, Value: he.Value, Rule: he.Rule}
		}
		return err
	}
	return nil
}

// resolution is the resolution of the flags' current values, for the JSON
// output: nil when there was no token, so nothing was asked.
func (f *specFlags) resolution() *circleci.Resolution {
	res := f.circleci.Current(f.orgID, f.projectIDs)
	if res == nil || !res.AudiencesRead {
		return nil
	}
	return res
}

// resolveCircleCI resolves --org-id and --project-id with CircleCI, once
// for the same values; check must have passed. Slugs and names become IDs
// and, with an API token, the token audiences are read; what was resolved
// is said on errOut. A malformed value, or a slug without a token, is bad
// input (exit 2) before any request; CircleCI's refusals are exit 1.
func (f *specFlags) resolveCircleCI(ctx context.Context, errOut io.Writer) error {
	if f.circleci.Current(f.orgID, f.projectIDs) != nil {
		return nil
	}
	res, err := resolveCircleCI(ctx, errOut, f.circleciHost, f.orgID, f.projectIDs)
	if err != nil {
		return err
	}
	f.circleci.Keep(f.orgID, f.projectIDs, res)
	return nil
}

// resolveCircleCI finds the CircleCI token and host, and resolves org and
// projects with them (no request without a token when they are IDs).
func resolveCircleCI(ctx context.Context, errOut io.Writer, host, org string, projects []string) (*circleci.Resolution, error) {
	c, err := circleciClient(host)
	if err != nil {
		return nil, err
	}
	res, err := circleci.Resolve(ctx, c, org, projects)
	if err != nil {
		return nil, circleciError(err)
	}
	if err := res.WriteText(errOut); err != nil {
		return nil, fmt.Errorf("write what was resolved: %w", err)
	}
	return res, nil
}

// circleciClient is the client of the CircleCI token and host found in
// the environment, or nil without a token.
func circleciClient(host string) (*circleci.Client, error) {
	c, err := circleci.FromEnvironment(host, circleci.WithUserAgent("circleci-ecr-oidc/"+buildinfo.Current().Version))
	if err != nil {
		return nil, circleciError(err)
	}
	return c, nil
}

// circleciError maps what is wrong with the input to its flag and exit
// status 2; CircleCI's answers (a rejected token, a project not found,
// CircleCI unavailable) stay errors, exit status 1.
func circleciError(err error) error {
	var (
		slug     *circleci.SlugError
		tokenReq *circleci.TokenRequiredError
		conflict *circleci.OrgConflictError
		host     *circleci.HostError
	)
	switch {
	case errors.As(err, &slug):
		return &provision.InputError{Field: circleciField(slug.Field), Value: slug.Value, Rule: slug.Rule}
	case errors.As(err, &tokenReq):
		return &usageError{fmt.Errorf("%s: %w", flagName(circleciField(tokenReq.Field)), err)}
	case errors.As(err, &conflict):
		return &usageError{fmt.Errorf("--project-id: %w", err)}
	case errors.As(err, &host):
		return &usageError{err}
	}
	return err
}

// circleciField is the input of a circleci error's field.
func circleciField(field string) provision.Field {
	if strings.HasPrefix(field, "project") {
		return provision.FieldProjectID
	}
	return provision.FieldOrgID
}
