package circleci

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// Organization is one organization the token's user belongs to.
type Organization struct {
	ID   string
	Name string
	// Slug is as the API gives it: gh/acme, bb/acme or circleci/<id>.
	Slug    string
	VCSType string
}

// Collaborations lists the organizations the token's user belongs to
// (GET /api/v2/me/collaborations, not paginated).
func (c *Client) Collaborations(ctx context.Context) ([]Organization, error) {
	var raw []struct {
		ID            string `json:"id"`
		Name          string `json:"name"`
		Slug          string `json:"slug"`
		VCSType       string `json:"vcs_type"`
		VCSTypeHyphen string `json:"vcs-type"`
	}
	if err := c.getJSON(ctx, "/api/v2/me/collaborations", nil, authCircleToken, &raw); err != nil {
		return nil, c.notFound(err, "organizations of", "the token's user")
	}
	orgs := make([]Organization, 0, len(raw))
	for _, r := range raw {
		// The API answers vcs_type; its published schema spells vcs-type.
		orgs = append(orgs, Organization{ID: r.ID, Name: r.Name, Slug: r.Slug, VCSType: orDefault(r.VCSType, r.VCSTypeHyphen)})
	}
	return orgs, nil
}

// ResolveOrg finds the organization that slugOrName names among those the
// token can see: an org slug (gh/acme matches github/acme, bb/acme matches
// bitbucket/acme), an organization ID, or a name (case-insensitive, as VCS
// organization names are). A name on more than one VCS is an
// *AmbiguousOrgError; no match is an *OrgNotFoundError listing the visible
// names.
func (c *Client) ResolveOrg(ctx context.Context, slugOrName string) (Organization, error) {
	orgs, err := c.Collaborations(ctx)
	if err != nil {
		return Organization{}, err
	}
	query := strings.TrimSpace(slugOrName)
	wantSlug, slugErr := ParseOrgSlug(query)
	var matches []Organization
	for _, o := range orgs {
		switch {
		case slugErr == nil:
			if have, err := ParseOrgSlug(o.Slug); err == nil && have == wantSlug {
				matches = append(matches, o)
			}
		case LooksLikeUUID(query):
			if strings.EqualFold(o.ID, query) {
				matches = append(matches, o)
			}
		case strings.EqualFold(o.Name, query):
			matches = append(matches, o)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		names := make([]string, 0, len(orgs))
		for _, o := range orgs {
			names = append(names, o.Name)
		}
		sort.Strings(names)
		return Organization{}, &OrgNotFoundError{Query: query, TokenSource: c.creds.TokenSource, Visible: slices.Compact(names)}
	default:
		slugs := make([]string, 0, len(matches))
		for _, o := range matches {
			slugs = append(slugs, o.Slug)
		}
		sort.Strings(slugs)
		return Organization{}, &AmbiguousOrgError{Query: query, Slugs: slugs}
	}
}

// Project is a CircleCI project with the IDs the trust policy needs.
type Project struct {
	Slug             string
	Name             string
	ID               string
	OrganizationName string
	OrganizationSlug string
	OrganizationID   string
}

// Project gets a project by slug (GET /api/v2/project/{slug}). A 404 is a
// *NotFoundError: the project does not exist or the token cannot see it.
func (c *Client) Project(ctx context.Context, slug ProjectSlug) (Project, error) {
	var raw struct {
		Slug             string `json:"slug"`
		Name             string `json:"name"`
		ID               string `json:"id"`
		OrganizationName string `json:"organization_name"`
		OrganizationSlug string `json:"organization_slug"`
		OrganizationID   string `json:"organization_id"`
	}
	if err := c.getJSON(ctx, "/api/v2/project/"+slug.PathEscaped(), nil, authCircleToken, &raw); err != nil {
		return Project{}, c.notFound(err, "project", slug.String())
	}
	return Project(raw), nil
}

// OIDCClaims are the token settings of an organization or a project.
type OIDCClaims struct {
	// Audience is the configured audience list, sorted (the API does not
	// keep the order). Empty when AudienceSet is false.
	Audience []string
	// AudienceSet is false when the level sets no audience, so its jobs'
	// tokens carry the default: the organization ID.
	AudienceSet bool
	// TTL is the configured token lifetime as the API normalises it
	// ("30m0s"), or "" when not set.
	TTL string
}

// OrgOIDCClaims gets an organization's token settings
// (GET /api/v2/org/{orgID}/oidc-custom-claims). orgID must be a UUID.
func (c *Client) OrgOIDCClaims(ctx context.Context, orgID string) (OIDCClaims, error) {
	if err := c.checkUUID("org-id", orgID); err != nil {
		return OIDCClaims{}, err
	}
	return c.oidcClaims(ctx, "/api/v2/org/"+url.PathEscape(orgID)+"/oidc-custom-claims", "organization", orgID)
}

// ProjectOIDCClaims gets a project's token settings
// (GET /api/v2/org/{orgID}/project/{projectID}/oidc-custom-claims). Both IDs
// must be UUIDs.
func (c *Client) ProjectOIDCClaims(ctx context.Context, orgID, projectID string) (OIDCClaims, error) {
	if err := c.checkUUID("org-id", orgID); err != nil {
		return OIDCClaims{}, err
	}
	if err := c.checkUUID("project-id", projectID); err != nil {
		return OIDCClaims{}, err
	}
	return c.oidcClaims(ctx, "/api/v2/org/"+url.PathEscape(orgID)+"/project/"+url.PathEscape(projectID)+"/oidc-custom-claims", "project", projectID)
}

func (c *Client) oidcClaims(ctx context.Context, path, kind, id string) (OIDCClaims, error) {
	// GET answers 200 even when nothing is set; audience and ttl are then
	// absent.
	var raw struct {
		Audience []string `json:"audience"`
		TTL      string   `json:"ttl"`
	}
	if err := c.getJSON(ctx, path, nil, authCircleToken, &raw); err != nil {
		return OIDCClaims{}, c.notFound(err, kind+" token settings of", id)
	}
	// An empty list is treated as "not set": a token with no audience
	// could not be used with IAM at all, so CircleCI falling back to the
	// default is the only reading that makes sense.
	aud := sortedUnique(raw.Audience)
	return OIDCClaims{Audience: aud, AudienceSet: len(aud) > 0, TTL: raw.TTL}, nil
}

func sortedUnique(s []string) []string {
	out := slices.Clone(s)
	out = slices.DeleteFunc(out, func(v string) bool { return v == "" })
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

// ProjectSummary is one project of an organization's listing.
type ProjectSummary struct {
	ID    string
	Name  string
	OrgID string
}

// maxPages stops a listing whose server keeps handing out cursors.
const maxPages = 1000

// ListProjects lists an organization's projects with API v3
// (GET /api/v3/projects?filter[org_id]=<orgID>, Bearer auth only), following
// page[cursor] from page.next until it is empty. v3 exists on CircleCI
// cloud only; a Server install answers 404, reported as a *NotFoundError.
func (c *Client) ListProjects(ctx context.Context, orgID string) ([]ProjectSummary, error) {
	if err := c.checkUUID("org-id", orgID); err != nil {
		return nil, err
	}
	var out []ProjectSummary
	cursor := ""
	seen := map[string]bool{}
	for range maxPages {
		q := url.Values{"filter[org_id]": {orgID}}
		if cursor != "" {
			q.Set("page[cursor]", cursor)
		}
		var page struct {
			Data []struct {
				ID         string `json:"id"`
				Attributes struct {
					Name string `json:"name"`
				} `json:"attributes"`
				References struct {
					Org struct {
						ID string `json:"id"`
					} `json:"org"`
				} `json:"references"`
			} `json:"data"`
			Page struct {
				Next *string `json:"next"`
			} `json:"page"`
		}
		if err := c.getJSON(ctx, "/api/v3/projects", q, authBearer, &page); err != nil {
			return nil, c.notFound(err, "projects of organization", orgID)
		}
		for _, d := range page.Data {
			out = append(out, ProjectSummary{ID: d.ID, Name: d.Attributes.Name, OrgID: d.References.Org.ID})
		}
		if page.Page.Next == nil || *page.Page.Next == "" {
			return out, nil
		}
		cursor = *page.Page.Next
		if seen[cursor] {
			return nil, fmt.Errorf("list projects of organization %s: CircleCI repeated the page cursor %q", orgID, cursor)
		}
		seen[cursor] = true
	}
	return nil, fmt.Errorf("list projects of organization %s: more than %d pages", orgID, maxPages)
}

// notFound turns the internal not-found marker into a *NotFoundError.
func (c *Client) notFound(err error, kind, name string) error {
	if errors.Is(err, errNotFound) {
		return &NotFoundError{Kind: kind, Name: name, TokenSource: c.creds.TokenSource}
	}
	return err
}
