package wizard

import (
	"cmp"
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// GivenBy says which questions in answers already. accessSet and
// roleNameSet say whether the access and the role name were given rather
// than left at their defaults, which in holds either way.
func GivenBy(in *provision.Input, accessSet, roleNameSet bool) Given {
	return Given{
		OrgID:            in.OrgID != "",
		Repositories:     len(in.Repositories) > 0,
		Access:           accessSet,
		Projects:         len(in.ProjectIDs) > 0 || in.AllProjects,
		ProjectCondition: in.ProjectCondition != "",
		RoleName:         roleNameSet,
		Region:           in.Region != "",
		Image:            in.Image != "",
	}
}

// FillInput asks for what in leaves out, given says what it holds already,
// and stores the answers in in as if they had been given, so that the run
// goes on as with every value given. It starts from in's spec in region,
// resolved where in.Resolve resolved it. It returns Fill's errors, and
// leaves in unchanged when it fails.
func (w *Wizard) FillInput(ctx context.Context, in *provision.Input, region string, given Given) error {
	spec, err := w.Fill(ctx, startSpec(in, region), given)
	if err != nil {
		return err
	}
	store(in, spec, given)
	return nil
}

// startSpec is the spec the wizard starts from: in's, resolved where
// CircleCI resolved it, and placeholders for project slugs that wait for
// the wizard's organization (store keeps the slugs).
func startSpec(in *provision.Input, region string) provision.Spec {
	s := in.Spec(region)
	if in.Resolved.Current(in.OrgID, in.ProjectIDs) != nil {
		return s
	}
	return s.WithProjectPlaceholders()
}

// store stores the wizard's answers s in in as if they had been given.
// Given values are kept: an organization or project slug stays the slug
// the plan resolves, and the slugs the wizard chose are kept for the plan.
func store(in *provision.Input, s provision.Spec, given Given) {
	if !given.OrgID {
		in.OrgID = s.OrgID
	}
	if !given.Repositories {
		in.Repositories = s.Repositories
	}
	if !given.Projects {
		in.ProjectIDs, in.AllProjects = s.ProjectIDs, s.AllProjects
	}
	in.ProjectCondition, in.RoleName, in.Region, in.Image = string(s.ProjectCondition), s.RoleName, s.Region, s.Image
	in.Access = string(s.Access)
	in.Resolved.Names = s.Names
}

// Start runs the wizard for what in leaves out, as a front end does once
// it knows it may ask: it checks the values given first, so that no
// question is asked around a bad one; resolves a given organization with
// CircleCI, whose client then lists the organizations and projects to pick
// from (what was resolved is said on opts.Out); loads the AWS configuration
// with load for the AWS look-ups; then asks (FillInput). It returns the
// wizard, for the review of the plan.
func Start(ctx context.Context, in *provision.Input, given Given, load func(context.Context) (aws.Config, error), opts Options) (*Wizard, error) {
	if err := in.CheckGiven(cmp.Or(in.Region, "us-east-1")); err != nil {
		return nil, err
	}
	client, err := in.ResolveGiven(ctx, opts.Out)
	if err != nil {
		return nil, err
	}
	cfg, err := load(ctx)
	if err != nil {
		return nil, err
	}
	deps := AWSLookups(cfg, provision.NewClients(cfg))
	deps.CircleCI = CircleCILookups(client)
	w := New(deps, opts)
	return w, w.FillInput(ctx, in, cfg.Region, given)
}
