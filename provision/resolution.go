package provision

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/buildinfo"
)

// Placeholders that stand in for missing values, and for slugs and names
// until CircleCI resolves them, while the other values are checked; they
// never reach AWS.
const (
	PlaceholderOrgID     = "00000000-0000-4000-8000-000000000001"
	PlaceholderProjectID = "00000000-0000-4000-8000-000000000002"
	PlaceholderRepo      = "placeholder"
)

// isID reports whether an organization or project value is an ID rather
// than a slug or a name.
func isID(v string) bool { return circleci.LooksLikeUUID(strings.TrimSpace(v)) }

// WithPlaceholders is s with placeholders where values are missing or
// where slugs and names stand, so that every other value can be validated
// before CircleCI is asked.
func (s Spec) WithPlaceholders() Spec {
	if !isID(s.OrgID) {
		s.OrgID = PlaceholderOrgID
	}
	if len(s.Repositories) == 0 {
		s.Repositories = []string{PlaceholderRepo}
	}
	ids := make([]string, 0, len(s.ProjectIDs))
	for _, p := range s.ProjectIDs {
		if !isID(p) {
			p = PlaceholderProjectID
		}
		ids = append(ids, p)
	}
	if len(ids) == 0 && !s.AllProjects {
		ids = append(ids, PlaceholderProjectID)
	}
	s.ProjectIDs = ids
	return s
}

// WithProjectPlaceholders is s with a placeholder for each project slug or
// name, which waits for an organization still to be chosen.
func (s Spec) WithProjectPlaceholders() Spec {
	s.ProjectIDs = slices.Clone(s.ProjectIDs)
	for i, p := range s.ProjectIDs {
		if !isID(p) {
			s.ProjectIDs[i] = PlaceholderProjectID
		}
	}
	return s
}

// FillResolution puts what CircleCI resolved into s: the IDs, the
// audiences besides the organization ID, and the slugs.
func (s *Spec) FillResolution(res *circleci.Resolution) {
	s.OrgID, s.ProjectIDs, s.AudiencesRead = res.Org.ID, res.ProjectIDs(), res.AudiencesRead
	s.Audiences = append(s.Audiences, res.ExtraAudiences()...)
	s.Names = Names{Org: res.Org.Slug}
	for _, p := range res.Projects {
		if p.Slug != "" {
			if s.Names.Projects == nil {
				s.Names.Projects = map[string]string{}
			}
			s.Names.Projects[p.ID] = p.Slug
		}
	}
}

// ValidateIdentity validates the organization and the role that name the
// provider and role when nothing else is compared (destroy, verify of a
// token alone); a slug or a name as the organization is checked when
// CircleCI resolves it.
func ValidateIdentity(orgID, roleName string) error {
	if strings.TrimSpace(orgID) == "" {
		return &InputError{Field: FieldOrgID, Rule: "is required: the CircleCI organization ID (Organization Settings → Overview), slug or name"}
	}
	if isID(orgID) {
		if _, err := ValidateUUID(FieldOrgID, orgID); err != nil {
			return err
		}
	}
	return ValidateRoleName(FieldRoleName, roleName)
}

// Resolved is what CircleCI said about an organization and its projects,
// kept for the values it was asked for, so that the same values are
// resolved once per run.
type Resolved struct {
	org      string
	projects []string
	res      *circleci.Resolution
	// client is the CircleCI client of the environment, found once per
	// run (reading it means reading the CircleCI CLI's config files);
	// clientFound says whether it was, as it is nil without a token.
	client      *circleci.Client
	clientFound bool
	// Names are the slugs a wizard chose from CircleCI's lists: the values
	// it fills in are IDs, whose slugs the plan still shows.
	Names Names
}

// Current returns the resolution when it is of org and projects, else nil.
func (r *Resolved) Current(org string, projects []string) *circleci.Resolution {
	if r.res == nil || r.org != org || !slices.Equal(r.projects, projects) {
		return nil
	}
	return r.res
}

// Keep keeps res as the resolution of org and projects, with the slugs of
// Names where CircleCI answered none.
func (r *Resolved) Keep(org string, projects []string, res *circleci.Resolution) {
	res.Org.Slug = cmp.Or(res.Org.Slug, r.Names.Org)
	for i, p := range res.Projects {
		res.Projects[i].Slug = cmp.Or(p.Slug, r.Names.Projects[p.ID])
	}
	r.org, r.projects, r.res = org, slices.Clone(projects), res
}

// Fill puts the current resolution of org and projects, if any, into s.
func (r *Resolved) Fill(s *Spec, org string, projects []string) {
	if res := r.Current(org, projects); res != nil {
		s.FillResolution(res)
	}
}

// Resolve resolves OrgID and ProjectIDs with CircleCI, once for the same
// values; Check must have passed. Slugs and names become IDs and, with an
// API token, the token audiences are read; what was resolved is said on
// notes. A malformed value, or a slug without a token, is an *InputError
// before any request; CircleCI's refusals are other errors.
func (in *Input) Resolve(ctx context.Context, notes io.Writer) error {
	if in.Resolved.Current(in.OrgID, in.ProjectIDs) != nil {
		return nil
	}
	client, err := in.client()
	if err != nil {
		return err
	}
	// The same organization with other projects (a wizard's, after the
	// organization given) is not looked up, or said, again.
	var prev *circleci.Resolution
	if r := in.Resolved.res; r != nil && in.Resolved.org == in.OrgID {
		prev = r
	}
	res, err := resolveCircleCI(ctx, notes, client, prev, in.OrgID, in.ProjectIDs)
	if err != nil {
		return err
	}
	in.Resolved.Keep(in.OrgID, in.ProjectIDs, res)
	return nil
}

// Resolution is the resolution of the input's current values, for a
// report: nil when there was no token, so nothing was asked.
func (in *Input) Resolution() *circleci.Resolution {
	res := in.Resolved.Current(in.OrgID, in.ProjectIDs)
	if res == nil || !res.AudiencesRead {
		return nil
	}
	return res
}

// ResolveGiven resolves a given organization (with the given projects)
// before a wizard's questions, so that it lists the projects of its ID;
// without an organization, a project slug waits for the one the wizard
// asks for, but is checked now. It returns the CircleCI client for the
// wizard's look-ups, nil without a token.
func (in *Input) ResolveGiven(ctx context.Context, notes io.Writer) (*circleci.Client, error) {
	client, err := in.client()
	if err != nil {
		return nil, err
	}
	if in.OrgID != "" {
		return client, in.Resolve(ctx, notes)
	}
	if err := circleci.CheckProjects(client, in.ProjectIDs); err != nil {
		return nil, circleciError(err)
	}
	return client, nil
}

// checkCircleCIHost validates a given CircleCI host before anything is
// asked.
func checkCircleCIHost(host string) error {
	if host == "" {
		return nil
	}
	if _, err := circleci.ValidateHost(host, string(FieldCircleCIHost)); err != nil {
		var he *circleci.HostError
		if errors.As(err, &he) {
			return &InputError{Field: FieldCircleCIHost, Value: he.Value, Rule: he.Rule}
		}
		return err
	}
	return nil
}

// client is the CircleCI client of the environment's token and the
// input's host, found on the first call only; nil without a token.
func (in *Input) client() (*circleci.Client, error) {
	if !in.Resolved.clientFound {
		c, err := circleciClient(in.CircleCIHost)
		if err != nil {
			return nil, err
		}
		in.Resolved.client, in.Resolved.clientFound = c, true
	}
	return in.Resolved.client, nil
}

// resolveCircleCI resolves org and projects with c, the client of the
// CircleCI token and host (nil without a token: no request when they are
// IDs), and says on notes what was resolved. prev, when not nil, is an
// earlier resolution of org: only the projects are looked up, and only
// what is new is said.
func resolveCircleCI(ctx context.Context, notes io.Writer, c *circleci.Client, prev *circleci.Resolution, org string, projects []string) (*circleci.Resolution, error) {
	var res *circleci.Resolution
	var err error
	if prev != nil {
		res, err = prev.ResolveProjects(ctx, c, projects)
	} else {
		res, err = circleci.Resolve(ctx, c, org, projects)
	}
	if err != nil {
		return nil, circleciError(err)
	}
	if err := res.WriteTextSince(notes, prev); err != nil {
		return nil, fmt.Errorf("write what was resolved: %w", err)
	}
	return res, nil
}

// circleciClient is the client of the CircleCI token and host found in
// the environment (host, when given, overrides it), nil without a token.
func circleciClient(host string) (*circleci.Client, error) {
	c, err := circleci.FromEnvironment(host, circleci.WithUserAgent("circleci-ecr-oidc/"+buildinfo.Current().Version))
	if err != nil {
		return nil, circleciError(err)
	}
	return c, nil
}

// circleciError makes what is wrong with the input an *InputError of its
// field; CircleCI's answers (a rejected token, a project not found,
// CircleCI unavailable) stay as they are.
func circleciError(err error) error {
	var (
		slug     *circleci.SlugError
		tokenReq *circleci.TokenRequiredError
		conflict *circleci.OrgConflictError
		host     *circleci.HostError
	)
	switch {
	case errors.As(err, &slug):
		return &InputError{Field: circleciField(slug.Field), Value: slug.Value, Rule: slug.Rule}
	case errors.As(err, &tokenReq):
		return &InputError{Field: circleciField(tokenReq.Field), Err: err}
	case errors.As(err, &conflict):
		return &InputError{Field: FieldProjectID, Err: err}
	case errors.As(err, &host):
		// The host of the environment or the CLI's config file, which
		// its message names.
		return &InputError{Err: err}
	}
	return err
}

// circleciField is the field of a circleci error's field.
func circleciField(field string) Field {
	if strings.HasPrefix(field, "project") {
		return FieldProjectID
	}
	return FieldOrgID
}
