package circleci

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/sync/errgroup"
)

// ResolvedOrg is the organization a run sets up.
type ResolvedOrg struct {
	// Input is the value as given: an ID, a slug or a name.
	Input string `json:"input"`
	// Slug is the organization's slug when it is known without an extra
	// request: from a slug or name that was looked up, or from a project's
	// answer. "" when only the ID is known.
	Slug string `json:"slug,omitempty"`
	// ID is the organization ID (lowercase UUID).
	ID string `json:"id"`
}

// ResolvedProject is one project a run admits.
type ResolvedProject struct {
	// Input is the value as given: an ID or a slug.
	Input string `json:"input"`
	// Slug is the project's slug as CircleCI answers with it; "" when the
	// input was an ID.
	Slug string `json:"slug,omitempty"`
	// ID is the project ID (lowercase UUID).
	ID string `json:"id"`
}

// Audience is a token audience the jobs in question carry, and why.
type Audience struct {
	Value string `json:"value"`
	// Source says which setting gives it, for example "organization gh/acme
	// custom audience" or "project gh/acme/app custom audience"; several
	// are joined with ", ".
	Source string `json:"source"`
}

// Resolution is what [Resolve] found: the IDs behind the values given, and
// the audiences the organization's and the projects' job tokens carry.
type Resolution struct {
	Org ResolvedOrg `json:"org"`
	// Projects are in the order given, without repeated inputs.
	Projects []ResolvedProject `json:"projects"`
	// AudiencesRead is false when there was no token, so nothing was asked
	// and Audiences is empty (never nil, so that JSON shows []): the
	// audiences are then unknown, not absent.
	AudiencesRead bool `json:"audiences_read"`
	// Audiences are sorted by value. The organization's level contributes
	// its custom audiences, or the default, the organization ID, when it
	// sets none; each project contributes its own custom audiences (a
	// project without them carries the organization's).
	Audiences []Audience `json:"audiences"`
}

// ProjectIDs returns the distinct project IDs, in the order given.
func (r *Resolution) ProjectIDs() []string {
	var out []string
	for _, p := range r.Projects {
		if !slices.Contains(out, p.ID) {
			out = append(out, p.ID)
		}
	}
	return out
}

// ExtraAudiences returns the audiences other than the organization ID: what
// the IAM provider's client IDs and the trust policy's aud condition need
// besides the organization ID, which they always hold.
func (r *Resolution) ExtraAudiences() []Audience {
	var out []Audience
	for _, a := range r.Audiences {
		if a.Value != r.Org.ID {
			out = append(out, a)
		}
	}
	return out
}

// TokenRequiredError says a slug or a name was given but no API token was
// found to look it up. No request was made: the command layer maps it, as a
// *SlugError, to the flag of Field and exit status 2.
type TokenRequiredError struct {
	// Field is "org" or "project".
	Field string
	Value string
}

func (e *TokenRequiredError) Error() string {
	where := "Organization Settings → Overview"
	if e.Field == "project" {
		where = "Project Settings → Overview"
	}
	return fmt.Sprintf("find the ID of %s %q: looking it up needs a CircleCI API token and none was found; set CIRCLE_TOKEN to a personal API token (https://app.circleci.com/settings/user/tokens), or give the %s ID instead (CircleCI: %s)",
		fieldNoun(e.Field), e.Value, fieldNoun(e.Field), where)
}

// OrgConflictError says the values name more than one organization: project
// slugs of different organizations, or a project of another organization
// than the one given. One run sets up one organization's provider, so this is
// bad input; the command layer maps it to the project flag and exit status 2.
type OrgConflictError struct {
	// Project is the project value given, and ProjectOrg its organization
	// (a slug, or an ID once CircleCI answered).
	Project, ProjectOrg string
	// Org is the organization it conflicts with: the one given, or that of
	// the project value Other.
	Org, Other string
}

func (e *OrgConflictError) Error() string {
	if e.Other != "" {
		return fmt.Sprintf("invalid project %q: it belongs to organization %s, but project %q to %s; one run sets up one organization, so run once per organization",
			e.Project, e.ProjectOrg, e.Other, e.Org)
	}
	return fmt.Sprintf("invalid project %q: it belongs to organization %s, not to the organization given (%s); name projects of that organization, or give its organization",
		e.Project, e.ProjectOrg, e.Org)
}

func fieldNoun(field string) string {
	if field == "project" {
		return "project"
	}
	return "organization"
}

// orgRef is the organization value, parsed: exactly one of id, slug and
// name is set.
type orgRef struct {
	input string
	id    string
	slug  *OrgSlug
	name  string
}

// projectRef is a project value, parsed: an ID or a slug.
type projectRef struct {
	input string
	id    string
	slug  *ProjectSlug
}

// maxNameLen bounds an organization name: GitLab's group names are at most
// 255 characters, GitHub's and Bitbucket's shorter.
const maxNameLen = 255

func parseOrgRef(input string) (orgRef, error) {
	v := strings.TrimSpace(input)
	switch {
	case v == "":
		return orgRef{}, &SlugError{Field: "org", Value: input, Rule: "must not be empty: give the organization ID, its slug (gh/acme) or its name"}
	case LooksLikeUUID(v):
		return orgRef{input: input, id: strings.ToLower(v)}, nil
	case strings.Contains(v, "/"):
		s, err := ParseOrgSlug(v)
		if err != nil {
			return orgRef{}, err
		}
		return orgRef{input: input, slug: &s}, nil
	case len(v) > maxNameLen || strings.ContainsFunc(v, unicode.IsControl):
		return orgRef{}, &SlugError{Field: "org", Value: input, Rule: fmt.Sprintf("an organization name is at most %d characters, without control characters", maxNameLen)}
	}
	return orgRef{input: input, name: v}, nil
}

func parseProjectRefs(inputs []string) ([]projectRef, error) {
	var out []projectRef
	for _, input := range inputs {
		v := strings.TrimSpace(input)
		ref := projectRef{input: input}
		if LooksLikeUUID(v) {
			ref.id = strings.ToLower(v)
		} else {
			s, err := ParseProjectSlug(v)
			if err != nil {
				return nil, err
			}
			ref.slug = &s
		}
		if !slices.ContainsFunc(out, func(r projectRef) bool { return r.key() == ref.key() }) {
			out = append(out, ref)
		}
	}
	return out, nil
}

// key identifies the project a ref names, as far as its text tells.
func (r projectRef) key() string {
	if r.slug != nil {
		return r.slug.String()
	}
	return r.id
}

// sameVCSOrg reports whether two VCS organizations are certainly the same
// (true, true) or certainly different (false, true). circleci/ slugs carry
// opaque IDs whose relation to other spellings only CircleCI knows.
func sameVCSOrg(a, b OrgSlug) (same, known bool) {
	if a.Prefix == prefixCircleCI || b.Prefix == prefixCircleCI {
		return false, false
	}
	// GitHub and Bitbucket names are case-insensitive.
	return a.Prefix == b.Prefix && strings.EqualFold(a.Org, b.Org), true
}

// checkSlugOrgs refuses, before any request, project slugs that name
// another organization than each other or than the organization slug.
func checkSlugOrgs(org orgRef, projects []projectRef) error {
	var first *projectRef
	for i := range projects {
		p := &projects[i]
		if p.slug == nil {
			continue
		}
		if org.slug != nil {
			if same, known := sameVCSOrg(*org.slug, p.slug.OrgSlug()); known && !same {
				return &OrgConflictError{Project: p.input, ProjectOrg: p.slug.OrgSlug().String(), Org: org.slug.String()}
			}
		}
		if first == nil {
			first = p
			continue
		}
		if same, known := sameVCSOrg(first.slug.OrgSlug(), p.slug.OrgSlug()); known && !same {
			return &OrgConflictError{Project: p.input, ProjectOrg: p.slug.OrgSlug().String(), Other: first.input, Org: first.slug.OrgSlug().String()}
		}
	}
	return nil
}

// Resolve turns an organization value (an ID, a slug such as gh/acme,
// github/acme, bb/acme or circleci/<id>, or a name) and project values (IDs,
// or slugs such as gh/acme/app, bitbucket/acme/app or
// circleci/<org>/<project>) into IDs, and reads the token audiences the
// organization's and the projects' jobs carry.
//
// c is nil when no API token was found. Then IDs are returned as they are,
// with no request and no audiences read (AudiencesRead false), and a slug or
// a name is a *TokenRequiredError. With a token, the audiences are read
// even when every value is an ID.
//
// Every value is checked before the first request: a malformed one is a
// *SlugError (Field "org" or "project"), and project slugs of different
// organizations, or of another organization than the organization slug,
// are an *OrgConflictError. Once CircleCI answered, a project of another
// organization is an *OrgConflictError too. Other failures are the client's
// typed errors ([NotFoundError], [AuthError], ...).
//
// With a client, no error holds the token, even where a value given is the
// token itself (pasted into the wrong flag).
func Resolve(ctx context.Context, c *Client, org string, projects []string) (*Resolution, error) {
	return resolve(ctx, c, org, projects, nil)
}

// redactInputs takes the token out of the values given that err quotes,
// keeping err's type; if the token is still in its text (a wrapped value),
// only the text is kept.
func (c *Client) redactInputs(err error) error {
	var (
		slug     *SlugError
		orgNF    *OrgNotFoundError
		ambig    *AmbiguousOrgError
		conflict *OrgConflictError
		notFound *NotFoundError
	)
	if errors.As(err, &slug) {
		slug.Value = c.redact(slug.Value)
	}
	if errors.As(err, &orgNF) {
		orgNF.Query = c.redact(orgNF.Query)
	}
	if errors.As(err, &ambig) {
		ambig.Query = c.redact(ambig.Query)
	}
	if errors.As(err, &conflict) {
		conflict.Project, conflict.Other, conflict.Org = c.redact(conflict.Project), c.redact(conflict.Other), c.redact(conflict.Org)
	}
	if errors.As(err, &notFound) {
		notFound.Name = c.redact(notFound.Name)
	}
	if msg := err.Error(); c.redact(msg) != msg {
		return errors.New(c.redact(msg))
	}
	return err
}

// ResolveProjects resolves projects as Resolve would with r's organization
// value, without looking the organization up again: a wizard resolves a
// given organization first, to list its projects, and the projects chosen
// after. The token audiences are read again, as projects can set their
// own. r must come from Resolve with the same client.
func (r *Resolution) ResolveProjects(ctx context.Context, c *Client, projects []string) (*Resolution, error) {
	return resolve(ctx, c, r.Org.Input, projects, &r.Org)
}

// resolve is Resolve; known, when not nil, is org already resolved. With
// a client, its errors are redacted (redactInputs).
func resolve(ctx context.Context, c *Client, org string, projects []string, known *ResolvedOrg) (*Resolution, error) {
	r, err := lookUp(ctx, c, org, projects, known)
	if err != nil && c != nil {
		return nil, c.redactInputs(err)
	}
	return r, err
}

// lookUp is resolve before its errors are redacted.
func lookUp(ctx context.Context, c *Client, org string, projects []string, known *ResolvedOrg) (*Resolution, error) {
	oref, err := parseOrgRef(org)
	if err != nil {
		return nil, err
	}
	prefs, err := parseProjectRefs(projects)
	if err != nil {
		return nil, err
	}
	if err := checkSlugOrgs(oref, prefs); err != nil {
		return nil, err
	}
	if c == nil {
		return resolveWithoutToken(oref, prefs)
	}
	r := &Resolution{Org: ResolvedOrg{Input: org, ID: oref.id}, Projects: []ResolvedProject{}}
	if known != nil {
		r.Org = *known
	}
	if r.Org.ID == "" {
		o, err := c.ResolveOrg(ctx, org)
		if err != nil {
			return nil, err
		}
		if err := c.answeredUUID("organization "+o.Slug, o.ID); err != nil {
			return nil, err
		}
		r.Org.ID, r.Org.Slug = strings.ToLower(o.ID), o.Slug
	}
	var answeredOrgSlug string
	if r.Projects, answeredOrgSlug, err = c.resolveProjects(ctx, oref, r.Org.ID, prefs); err != nil {
		return nil, err
	}
	r.Org.Slug = cmp.Or(r.Org.Slug, answeredOrgSlug)
	if r.Audiences, err = c.readAudiences(ctx, r.Org, r.Projects); err != nil {
		return nil, err
	}
	r.AudiencesRead = true
	return r, nil
}

func resolveWithoutToken(org orgRef, projects []projectRef) (*Resolution, error) {
	if org.id == "" {
		return nil, &TokenRequiredError{Field: "org", Value: org.input}
	}
	r := &Resolution{Org: ResolvedOrg{Input: org.input, ID: org.id}, Projects: []ResolvedProject{}, Audiences: []Audience{}}
	for _, p := range projects {
		if p.id == "" {
			return nil, &TokenRequiredError{Field: "project", Value: p.input}
		}
		r.Projects = append(r.Projects, ResolvedProject{Input: p.input, ID: p.id})
	}
	return r, nil
}

// answeredUUID checks an ID CircleCI answered with: it goes into IAM
// documents and request paths, so anything but a UUID is refused as an
// unexpected answer (not as bad input: the person typed no ID).
func (c *Client) answeredUUID(what, id string) error {
	if !LooksLikeUUID(id) {
		return fmt.Errorf("resolve %s: %s answered the ID %q, which is not a UUID; check that the CircleCI host (from %s) is CircleCI's API", what, c.creds.Host, c.redact(id), c.creds.HostSource)
	}
	return nil
}

// concurrentReads bounds the requests Resolve has in flight at once.
const concurrentReads = 4

// resolveProjects looks up the project slugs, concurrently, and checks that
// each belongs to the organization orgID. It also returns the
// organization's slug as the first answer gave it ("" without answers).
func (c *Client) resolveProjects(ctx context.Context, org orgRef, orgID string, refs []projectRef) ([]ResolvedProject, string, error) {
	out := make([]ResolvedProject, len(refs))
	answers := make([]Project, len(refs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrentReads)
	for i, ref := range refs {
		out[i] = ResolvedProject{Input: ref.input, ID: ref.id}
		if ref.slug == nil {
			continue
		}
		g.Go(func() error {
			p, err := c.Project(gctx, *ref.slug)
			answers[i] = p
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, "", err
	}
	orgSlug := ""
	for i, p := range answers {
		if refs[i].slug == nil {
			continue
		}
		if !strings.EqualFold(p.OrganizationID, orgID) {
			return nil, "", &OrgConflictError{Project: refs[i].input, ProjectOrg: orDefault(p.OrganizationSlug, p.OrganizationID), Org: strings.TrimSpace(org.input)}
		}
		if err := c.answeredUUID("project "+refs[i].slug.String(), p.ID); err != nil {
			return nil, "", err
		}
		out[i].ID, out[i].Slug = strings.ToLower(p.ID), orDefault(p.Slug, refs[i].slug.String())
		orgSlug = cmp.Or(orgSlug, p.OrganizationSlug)
	}
	return out, orgSlug, nil
}

// readAudiences reads the token settings of the organization and of each
// distinct project, concurrently, and lists the audiences they give.
func (c *Client) readAudiences(ctx context.Context, org ResolvedOrg, projects []ResolvedProject) ([]Audience, error) {
	type level struct {
		source string
		claims OIDCClaims
	}
	levels := []level{{source: "organization " + orDefault(org.Slug, org.ID)}}
	ids := []string{""}
	for _, p := range projects {
		if !slices.Contains(ids, p.ID) {
			ids = append(ids, p.ID)
			levels = append(levels, level{source: "project " + orDefault(p.Slug, p.ID)})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrentReads)
	for i, id := range ids {
		g.Go(func() error {
			var err error
			if id == "" {
				levels[i].claims, err = c.OrgOIDCClaims(gctx, org.ID)
			} else {
				levels[i].claims, err = c.ProjectOIDCClaims(gctx, org.ID, id)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sources := map[string][]string{}
	for i, l := range levels {
		switch {
		case l.claims.AudienceSet:
			for _, a := range l.claims.Audience {
				sources[a] = append(sources[a], l.source+" custom audience")
			}
		case i == 0:
			sources[org.ID] = append(sources[org.ID], l.source+" default audience (the organization ID)")
		}
	}
	out := make([]Audience, 0, len(sources))
	for _, v := range slices.Sorted(maps.Keys(sources)) {
		out = append(out, Audience{Value: v, Source: strings.Join(sources[v], ", ")})
	}
	return out, nil
}
