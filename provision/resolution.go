package provision

import (
	"cmp"
	"slices"
	"strings"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
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
	for _, a := range res.ExtraAudiences() {
		s.Audiences = append(s.Audiences, Audience{Value: a.Value, Source: a.Source})
	}
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
