package provision

import (
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
