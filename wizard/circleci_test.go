package wizard

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/circlecitest"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

const (
	otherOrgID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	project3   = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
	wizToken   = "CCIPAT_wizardTokenNeverShown"
)

// standIn is CircleCI with gh/acme (app and web) and gh/other (tool).
func standIn(t *testing.T) *circlecitest.Server {
	t.Helper()
	s := circlecitest.Start(t, wizToken)
	s.AddOrg(circlecitest.Org{ID: orgID, Name: "acme", Slug: "gh/acme", VCSType: "github"})
	s.AddOrg(circlecitest.Org{ID: otherOrgID, Name: "other", Slug: "gh/other", VCSType: "github"})
	s.AddProject(circlecitest.Project{ID: project1, Name: "app", Slug: "gh/acme/app", OrgID: orgID, OrgSlug: "gh/acme"})
	s.AddProject(circlecitest.Project{ID: project2, Name: "web", Slug: "gh/acme/web", OrgID: orgID, OrgSlug: "gh/acme"})
	s.AddProject(circlecitest.Project{ID: project3, Name: "tool", Slug: "gh/other/tool", OrgID: otherOrgID, OrgSlug: "gh/other"})
	s.SetPageSize(1) // one project per v3 page: the listing follows the cursor
	return s
}

func circleciDeps(t *testing.T, s *circlecitest.Server) *CircleCI {
	t.Helper()
	env := s.Env()
	creds, err := circleci.LoadCredentials(func(k string) string { return env[k] }, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return CircleCILookups(circleci.New(creds))
}

func fillWith(t *testing.T, cci *CircleCI, spec provision.Spec, given Given, in *lines) (provision.Spec, string, error) {
	t.Helper()
	deps := (&fakeAWS{}).deps()
	deps.CircleCI = cci
	var out strings.Builder
	got, err := New(deps, Options{In: in, Out: &out, Accessible: true}).Fill(context.Background(), spec, given)
	if err == nil && len(in.queue) > 0 {
		t.Errorf("answers left unread: %q\noutput:\n%s", in.queue, out.String())
	}
	return got, out.String(), err
}

// TestFillAccessibleCircleCIOrganizationAndProjects: with a token, the
// organization is chosen from the token's, a project from the
// organization's listing, another typed as a slug (one of another
// organization refused first); the spec holds IDs and their slugs.
func TestFillAccessibleCircleCIOrganizationAndProjects(t *testing.T) {
	s := standIn(t)
	given := Given{Access: true, Region: true, Repositories: true, RoleName: true, Image: true}
	spec := provision.Spec{Region: "us-east-1", Repositories: []string{"app"}}
	got, out, err := fillWith(t, circleciDeps(t, s), spec, given, answers(
		"1",      // gh/acme, listed first
		"",       // specific projects
		"1", "0", // pick app (sorted first), confirm
		"gh/other/tool", // of another organization
		"gh/acme/web",
		"", // condition: claim
	))
	if err != nil {
		t.Fatalf("Fill: %v\n%s", err, out)
	}
	t.Logf("output:\n%s", out)
	want := provision.Names{Org: "gh/acme", Projects: map[string]string{project1: "gh/acme/app", project2: "gh/acme/web"}}
	if got.OrgID != orgID || !reflect.DeepEqual(got.ProjectIDs, []string{project1, project2}) || !reflect.DeepEqual(got.Names, want) {
		t.Errorf("org %s, projects %v, names %+v", got.OrgID, got.ProjectIDs, got.Names)
	}
	for _, w := range []string{"gh/acme  acme  " + orgID, "gh/other  other  " + otherOrgID, "Found 2 projects.", "gh/other/tool belongs to organization gh/other, not to gh/acme"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, wizToken) {
		t.Errorf("the token is shown:\n%s", out)
	}
	if n := s.RequestsTo("/api/v3/projects"); n != 2 {
		t.Errorf("listed projects with %d requests, want 2 pages", n)
	}
}

// TestFillAccessibleCircleCIFallsBackToTyping: when CircleCI cannot list
// the organizations or the projects, the wizard says so and asks for IDs
// (or slugs) as without a token.
func TestFillAccessibleCircleCIFallsBackToTyping(t *testing.T) {
	fail := errors.New("CircleCI answered 503")
	cci := &CircleCI{
		Organizations: func(context.Context) ([]Org, error) { return nil, fail },
		Project: func(context.Context, string) (Project, error) {
			return Project{ID: project2, Slug: "gh/acme/web", OrgID: orgID}, nil
		},
		ListProjects: func(context.Context, string) ([]Project, error) { return nil, fail },
	}
	given := Given{Access: true, Region: true, Repositories: true, RoleName: true, Image: true, ProjectCondition: true}
	spec := provision.Spec{Region: "us-east-1", Repositories: []string{"app"}}
	got, out, err := fillWith(t, cci, spec, given, answers(orgID, "", project1+" gh/acme/web"))
	if err != nil {
		t.Fatalf("Fill: %v\n%s", err, out)
	}
	if got.OrgID != orgID || !reflect.DeepEqual(got.ProjectIDs, []string{project1, project2}) || got.Names.Projects[project2] != "gh/acme/web" {
		t.Errorf("org %s, projects %v, names %+v", got.OrgID, got.ProjectIDs, got.Names)
	}
	for _, w := range []string{"Could not list your CircleCI organizations (CircleCI answered 503)", "Could not list the projects (CircleCI answered 503)"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}
