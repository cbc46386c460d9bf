package provision

import (
	"context"
	"io"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// The fields of a run's input that are not a Spec's own: the pair a
// missing-value error names together, and the inputs that only choose how
// the spec is set up.
const (
	FieldProjectIDOrAllProjects Field = "project-id or all-projects"
	FieldKeepUnusedRoles        Field = "keep-unused-roles"
	FieldCircleCIHost           Field = "circleci-host"
	FieldRegistryProfile        Field = "registry-profile"
)

// Input is what a front end collects for setup, plan, verify and export
// (from flags, or flags and the wizard's answers), as given: the
// organization and the projects as IDs, slugs or names, nothing validated.
// Its checks come before any CircleCI or AWS call; Spec builds the desired
// state for a region once Resolve has resolved the slugs and names.
type Input struct {
	// OrgID is the CircleCI organization: its ID, slug or name.
	OrgID string
	// Repositories are ECR repository names, ARNs or name prefixes ending
	// in "/*".
	Repositories []string
	// ProjectIDs are the projects allowed to assume the role: IDs or slugs.
	ProjectIDs []string
	// AllProjects admits every project of the organization instead.
	AllProjects bool
	// ProjectCondition is "claim", "sub", or empty for the partition's
	// default.
	ProjectCondition string
	// Branches pin the role to git refs.
	Branches []string
	// Shard spreads the projects over several roles (PlanShards).
	Shard bool
	// KeepUnusedRoles keeps, with Shard, the roles no project needs any
	// more.
	KeepUnusedRoles bool
	RoleName        string
	// Region is the region given, empty for the configured default.
	Region string
	// Profile is the AWS shared config profile, empty for the SDK's chain.
	Profile string
	// Image is the snippet's image, empty for the first repository's.
	Image             string
	Adopt             bool
	AllowMissingRepos bool
	Tags              map[string]string
	// Access is "pull" or "push".
	Access string
	// RegistryProfile is the profile of the registry account that holds
	// repositories named by ARN in another account.
	RegistryProfile string
	// CircleCIHost is the CircleCI API that resolves slugs and names and
	// gives the token audiences; empty for the environment's.
	CircleCIHost string
	// Resolved is what Resolve found for OrgID and ProjectIDs.
	Resolved Resolved
}

// Missing lists the required inputs that were not given.
func (in *Input) Missing() []Field {
	var m []Field
	if in.OrgID == "" {
		m = append(m, FieldOrgID)
	}
	if len(in.Repositories) == 0 {
		m = append(m, FieldRepo)
	}
	if len(in.ProjectIDs) == 0 && !in.AllProjects {
		m = append(m, FieldProjectIDOrAllProjects)
	}
	return m
}

// MissingError reports the missing fields m, in a list; rule says why they
// are required.
func MissingError(m []Field, rule string) error {
	return &InputError{Field: m[0], With: m[1:], Join: ",", Rule: rule}
}

// Spec is the desired state the input gives in region, with the
// organization and projects as Resolve resolved them (IDs, audiences and
// names) once it has. It is not validated.
func (in *Input) Spec(region string) Spec {
	s := Spec{
		OrgID:             in.OrgID,
		Repositories:      in.Repositories,
		ProjectIDs:        in.ProjectIDs,
		AllProjects:       in.AllProjects,
		ProjectCondition:  policy.ProjectCondition(in.ProjectCondition),
		Branches:          in.Branches,
		RoleName:          in.RoleName,
		Region:            region,
		Image:             in.Image,
		Adopt:             in.Adopt,
		AllowMissingRepos: in.AllowMissingRepos,
		KeepUnusedRoles:   in.KeepUnusedRoles,
		Tags:              in.Tags,
		Access:            policy.Access(in.Access),
	}
	in.Resolved.Fill(&s, in.OrgID, in.ProjectIDs)
	return s
}

// Check validates everything that can be checked before CircleCI is asked
// and the AWS configuration is loaded (so before the region is known): a
// bad repository is reported even when no region is configured, and slugs
// stand in for IDs (Resolve checks them). missingRule says why a missing
// value is required.
func (in *Input) Check(missingRule string) error {
	if m := in.Missing(); len(m) > 0 {
		return MissingError(m, missingRule)
	}
	if in.KeepUnusedRoles && !in.Shard {
		return &InputError{Field: FieldKeepUnusedRoles, Rule: "applies only with --shard, whose unused roles it keeps"}
	}
	if err := in.CheckGiven("us-east-1"); err != nil {
		return err
	}
	return in.checkRegion()
}

// CheckGiven validates the values given, with placeholders for the missing
// ones and for slugs and names, as the spec of region: so that a wizard
// never asks around a bad value, and every other value is checked before
// CircleCI is asked.
func (in *Input) CheckGiven(region string) error {
	if err := checkCircleCIHost(in.CircleCIHost); err != nil {
		return err
	}
	_, err := in.Spec(region).WithPlaceholders().Validate()
	return err
}

// checkRegion validates Region when one is given.
func (in *Input) checkRegion() error {
	if in.Region == "" {
		return nil
	}
	return ValidateRegion(FieldRegion, in.Region)
}

// CheckInput checks verify's input with the request before anything is
// read, and notes in the request whether a token is checked and whether
// the state is compared: with a token alone, the repositories and projects
// may be left out.
func (r *VerifyRequest) CheckInput(in *Input) error {
	if err := checkCircleCIHost(in.CircleCIHost); err != nil {
		return err
	}
	if in.RegistryProfile != "" {
		return &InputError{Field: FieldRegistryProfile, Rule: "does not apply to verify, which checks the role's account only; run plan with it to check the repository policies"}
	}
	if err := r.CheckCombination(); err != nil {
		return err
	}
	r.WithToken = r.TokenFile != "" || r.Claims != ""
	r.WithState = !r.WithToken || len(in.Repositories) > 0 || len(in.ProjectIDs) > 0 || in.AllProjects
	if r.WithState {
		if m := in.Missing(); len(m) > 0 {
			rule := "is required to compare the account with what setup would create"
			if r.WithToken {
				rule += " (or leave out --repo and --project-id to check only the token)"
			}
			return MissingError(m, rule)
		}
		if err := in.CheckGiven("us-east-1"); err != nil {
			return err
		}
	} else if err := ValidateIdentity(in.OrgID, in.RoleName); err != nil {
		return err
	}
	return in.checkRegion()
}

// DestroyInput is what a front end collects for destroy, as given: the
// organization as an ID, a slug or a name, nothing validated.
type DestroyInput struct {
	OrgID    string
	RoleName string
	// Region is the region given, empty for the configured default.
	Region string
	// CircleCIHost is where a slug or a name of the organization is
	// resolved; empty for the environment's.
	CircleCIHost string
}

// CheckInput validates the input before any CircleCI or AWS call.
func (in DestroyInput) CheckInput() error {
	if err := ValidateIdentity(in.OrgID, in.RoleName); err != nil {
		return err
	}
	if err := checkCircleCIHost(in.CircleCIHost); err != nil {
		return err
	}
	if in.Region == "" {
		return nil
	}
	return ValidateRegion(FieldRegion, in.Region)
}

// ResolveOrg is the organization ID: OrgID, or the ID CircleCI resolves
// its slug or name to (said on notes). Destroy needs no token audiences, so
// an ID is taken as it is, without a request.
func (in DestroyInput) ResolveOrg(ctx context.Context, notes io.Writer) (string, error) {
	if isID(in.OrgID) {
		return ValidateUUID(FieldOrgID, in.OrgID)
	}
	client, err := circleciClient(in.CircleCIHost)
	if err != nil {
		return "", err
	}
	res, err := resolveCircleCI(ctx, notes, client, nil, in.OrgID, nil)
	if err != nil {
		return "", err
	}
	return res.Org.ID, nil
}
