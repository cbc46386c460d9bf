package wizard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/charmbracelet/huh"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// CircleCI are the CircleCI look-ups the wizard makes when an API token
// was found. With them it offers the organizations the token's user
// belongs to, checks typed project slugs, and on CircleCI cloud lists the
// organization's projects to choose from.
type CircleCI struct {
	// Organizations lists the organizations the token's user belongs to.
	Organizations func(ctx context.Context) ([]Org, error)
	// Project looks up a project by its slug, such as gh/acme/app; an error
	// says why it cannot be used (malformed, not found, not visible).
	Project func(ctx context.Context, slug string) (Project, error)
	// ListProjects lists an organization's projects, every page; nil where
	// CircleCI has no such listing (a server install).
	ListProjects func(ctx context.Context, orgID string) ([]Project, error)
}

// Org is a CircleCI organization.
type Org struct {
	ID, Name string
	// Slug is gh/acme, bb/acme or circleci/<id>.
	Slug string
}

// Project is a CircleCI project.
type Project struct {
	ID, Name string
	// Slug is gh/acme/app; "" when the listing does not give it.
	Slug  string
	OrgID string
	// OrgSlug is the organization's slug, when known.
	OrgSlug string
}

// projectCache keeps the projects looked up by slug, so that a field
// validated on every Enter and blur asks CircleCI once per slug.
type projectCache struct {
	mu   sync.Mutex
	byIn map[string]Project
}

// pickOrg offers the token's organizations. It reports false, with no
// error, when the ID is to be typed instead: the list failed or was empty,
// or the person chose to type it.
func (w *Wizard) pickOrg(ctx context.Context, spec *provision.Spec) (bool, error) {
	fmt.Fprintf(w.out, "Listing your CircleCI organizations...\n")
	orgs, err := w.deps.CircleCI.Organizations(ctx)
	switch {
	case ctx.Err() != nil:
		return false, ctx.Err()
	case err != nil:
		fmt.Fprintf(w.out, "Could not list your CircleCI organizations (%v); type the organization ID below.\n", err)
		return false, nil
	case len(orgs) == 0:
		fmt.Fprintf(w.out, "The CircleCI token's user belongs to no organization; type the organization ID below.\n")
		return false, nil
	}
	slices.SortFunc(orgs, func(a, b Org) int { return strings.Compare(a.Slug, b.Slug) })
	const typeIt = -1
	opts := make([]huh.Option[int], 0, len(orgs)+1)
	for i, o := range orgs {
		opts = append(opts, huh.NewOption(fmt.Sprintf("%s  %s  %s", o.Slug, o.Name, o.ID), i))
	}
	opts = append(opts, huh.NewOption("Another organization: type its ID", typeIt))
	choice := 0
	sel := huh.NewSelect[int]().Title("CircleCI organization").
		Description("The organizations your CircleCI token's user belongs to; / filters.").
		Options(opts...).Value(&choice).Height(min(len(opts), pickerRows) + 2)
	sel.WithTheme(w.theme)
	if err := w.run(ctx, huh.NewGroup(sel)); err != nil {
		return false, err
	}
	if choice == typeIt {
		return false, nil
	}
	o := orgs[choice]
	id, err := provision.ValidateUUID(provision.FieldOrgID, o.ID)
	if err != nil {
		return false, fmt.Errorf("organization %s: CircleCI answered an ID that is not a UUID: %w", o.Slug, err)
	}
	spec.OrgID, spec.Names.Org = id, o.Slug
	w.answered("Organization", o.Slug+" ("+id+")")
	return true, nil
}

// listProjects lists the organization's projects for the picker, or
// returns none when CircleCI cannot list them (the reason is shown).
func (w *Wizard) listProjects(ctx context.Context, orgID string) ([]Project, error) {
	if w.deps.CircleCI.ListProjects == nil {
		return nil, nil
	}
	fmt.Fprintf(w.out, "Listing the organization's CircleCI projects...\n")
	projects, err := w.deps.CircleCI.ListProjects(ctx, orgID)
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		fmt.Fprintf(w.out, "Could not list the projects (%v); type their slugs or IDs below.\n", err)
		return nil, nil
	}
	fmt.Fprintf(w.out, "Found %d projects.\n", len(projects))
	return projects, nil
}

// projectLabels names each listed project for the picker, by name, with
// its ID where two share a name; labels maps a label back to its project.
func projectLabels(projects []Project) (names []string, labels map[string]Project) {
	slices.SortFunc(projects, func(a, b Project) int { return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID)) })
	labels = map[string]Project{}
	for i, p := range projects {
		label := p.Name
		shared := i > 0 && projects[i-1].Name == p.Name || i+1 < len(projects) && projects[i+1].Name == p.Name
		if label == "" || shared {
			label = strings.TrimSpace(p.Name + " " + p.ID)
		}
		names = append(names, label)
		labels[label] = p
	}
	return names, labels
}

// lookupProject resolves one typed project value: an ID is taken as it
// is; a slug is looked up (once) and must belong to the organization.
func (w *Wizard) lookupProject(ctx context.Context, v, orgID, orgSlug string) (Project, error) {
	id, idErr := provision.ValidateUUID(provision.FieldProjectID, v)
	if idErr == nil {
		return Project{ID: id}, nil
	}
	if w.deps.CircleCI == nil || !strings.Contains(v, "/") {
		return Project{}, fieldError(idErr)
	}
	w.cache.mu.Lock()
	defer w.cache.mu.Unlock()
	p, ok := w.cache.byIn[v]
	if !ok {
		var err error
		if p, err = w.deps.CircleCI.Project(ctx, v); err != nil {
			return Project{}, err
		}
		if w.cache.byIn == nil {
			w.cache.byIn = map[string]Project{}
		}
		w.cache.byIn[v] = p
	}
	if !strings.EqualFold(p.OrgID, orgID) {
		return Project{}, fmt.Errorf("%s belongs to organization %s, not to %s", v, cmp.Or(p.OrgSlug, p.OrgID), cmp.Or(orgSlug, orgID))
	}
	if _, err := provision.ValidateUUID(provision.FieldProjectID, p.ID); err != nil {
		return Project{}, fmt.Errorf("%s: CircleCI answered an ID that is not a UUID", v)
	}
	p.ID = strings.ToLower(p.ID)
	return p, nil
}

// resolveProjects turns the picked labels and the typed values into
// project IDs, in order and without repeats, with the slugs it knows (by
// ID). At least one project is required.
func (w *Wizard) resolveProjects(ctx context.Context, spec *provision.Spec, picked []string, labels map[string]Project, typed string) ([]string, map[string]string, error) {
	var chosen []Project
	for _, l := range picked {
		p := labels[l]
		p.ID = strings.ToLower(p.ID)
		if p.Slug == "" && p.Name != "" && (strings.HasPrefix(spec.Names.Org, "gh/") || strings.HasPrefix(spec.Names.Org, "bb/")) {
			// A VCS organization's project is named after its repository.
			p.Slug = spec.Names.Org + "/" + p.Name
		}
		chosen = append(chosen, p)
	}
	for _, v := range splitList(typed) {
		p, err := w.lookupProject(ctx, v, spec.OrgID, spec.Names.Org)
		if err != nil {
			return nil, nil, err
		}
		if p.ID == spec.OrgID {
			return nil, nil, fmt.Errorf("%s is the organization ID; a project ID is on Project Settings → Overview", v)
		}
		chosen = append(chosen, p)
	}
	var ids []string
	names := map[string]string{}
	for _, p := range chosen {
		if slices.Contains(ids, p.ID) {
			continue
		}
		ids = append(ids, p.ID)
		if p.Slug != "" {
			names[p.ID] = p.Slug
		}
	}
	if len(ids) == 0 {
		return nil, nil, errors.New("choose or enter at least one project")
	}
	return ids, names, nil
}

// CircleCILookups are the look-ups of CircleCI made with c, or nil without
// a client (no token). The project listing is API v3, which CircleCI
// server installs lack: there it is tried once, and its 404 says so.
func CircleCILookups(c *circleci.Client) *CircleCI {
	if c == nil {
		return nil
	}
	return &CircleCI{
		Organizations: func(ctx context.Context) ([]Org, error) {
			orgs, err := c.Collaborations(ctx)
			out := make([]Org, 0, len(orgs))
			for _, o := range orgs {
				out = append(out, Org{ID: o.ID, Name: o.Name, Slug: o.Slug})
			}
			return out, err
		},
		Project: func(ctx context.Context, slug string) (Project, error) {
			s, err := circleci.ParseProjectSlug(slug)
			if err != nil {
				return Project{}, err
			}
			p, err := c.Project(ctx, s)
			return Project{ID: p.ID, Name: p.Name, Slug: p.Slug, OrgID: p.OrganizationID, OrgSlug: p.OrganizationSlug}, err
		},
		ListProjects: func(ctx context.Context, orgID string) ([]Project, error) {
			list, err := c.ListProjects(ctx, orgID)
			var nf *circleci.NotFoundError
			if errors.As(err, &nf) && !c.Cloud() {
				return nil, fmt.Errorf("%s has no project listing: CircleCI's API v3 is on CircleCI cloud only", c.Host())
			}
			out := make([]Project, 0, len(list))
			for _, p := range list {
				out = append(out, Project{ID: p.ID, Name: p.Name, OrgID: p.OrgID})
			}
			return out, err
		},
	}
}
