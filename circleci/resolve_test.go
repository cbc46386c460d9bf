package circleci_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/circlecitest"
)

// requestPaths lists the paths the stand-in received, in order.
func requestPaths(s *circlecitest.Server) []string {
	var out []string
	for _, r := range s.Requests() {
		out = append(out, r.Path)
	}
	return out
}

func orgClaimsPath(org string) string { return "/api/v2/org/" + org + "/oidc-custom-claims" }
func projectClaimsPath(org, project string) string {
	return "/api/v2/org/" + org + "/project/" + project + "/oidc-custom-claims"
}

// TestResolveBadInputMakesNoRequest checks that every value is checked, and
// the organizations of the project slugs compared, before the first
// request, with or without a token.
func TestResolveBadInputMakesNoRequest(t *testing.T) {
	tests := []struct {
		name      string
		org       string
		projects  []string
		noToken   bool
		wantField string // of a *SlugError or *TokenRequiredError
		conflict  bool   // an *OrgConflictError
		wantErr   string
	}{
		{name: "empty org", org: " ", wantField: "org", wantErr: `invalid org " ": must not be empty`},
		{name: "org slug without a name", org: "gh/", wantField: "org", wantErr: `invalid org "gh/": organization must not be empty`},
		{name: "org slug with an unknown prefix", org: "gl/acme", wantField: "org", wantErr: "must start with gh/, github/, bb/, bitbucket/ or circleci/"},
		{name: "org slug with three parts", org: "gh/acme/app", wantField: "org", wantErr: "must have two parts"},
		{name: "org name with a control character", org: "ac\nme", wantField: "org", wantErr: "without control characters"},
		{name: "project name alone", org: acmeID, projects: []string{"app"}, wantField: "project", wantErr: `invalid project "app": must start with gh/`},
		{name: "project slug with two parts", org: acmeID, projects: []string{"gh/acme"}, wantField: "project", wantErr: "must have three parts"},
		{name: "project slug with a dot-dot", org: acmeID, projects: []string{appID, "gh/acme/.."}, wantField: "project", wantErr: `project must not be "." or ".."`},
		{name: "malformed project without a token", org: acmeID, projects: []string{"gh/acme/a b"}, noToken: true, wantField: "project", wantErr: "may contain only"},
		{name: "projects of two organizations", org: acmeID, projects: []string{"gh/acme/app", "bb/acme/app"}, conflict: true,
			wantErr: `invalid project "bb/acme/app": it belongs to organization bb/acme, but project "gh/acme/app" to gh/acme; one run sets up one organization`},
		{name: "projects of two organizations without a token", org: acmeID, projects: []string{"gh/acme/app", "gh/other/app"}, noToken: true, conflict: true, wantErr: "organization gh/other, but project"},
		{name: "project of another organization than the org slug", org: "github/acme", projects: []string{"bitbucket/acme/app"}, conflict: true,
			wantErr: `invalid project "bitbucket/acme/app": it belongs to organization bb/acme, not to the organization given (gh/acme)`},
		{name: "org slug without a token", org: "gh/acme", projects: []string{appID}, noToken: true, wantField: "org",
			wantErr: `find the ID of organization "gh/acme": looking it up needs a CircleCI API token and none was found; set CIRCLE_TOKEN to a personal API token (https://app.circleci.com/settings/user/tokens), or give the organization ID instead (CircleCI: Organization Settings → Overview)`},
		{name: "org name without a token", org: "acme", noToken: true, wantField: "org", wantErr: "set CIRCLE_TOKEN"},
		{name: "project slug without a token", org: acmeID, projects: []string{appID, "gh/acme/app"}, noToken: true, wantField: "project",
			wantErr: `find the ID of project "gh/acme/app": looking it up needs a CircleCI API token and none was found; set CIRCLE_TOKEN to a personal API token (https://app.circleci.com/settings/user/tokens), or give the project ID instead (CircleCI: Project Settings → Overview)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStandIn(t)
			var c *circleci.Client
			if !tt.noToken {
				c = newClient(t, s, testToken)
			}
			r, err := circleci.Resolve(context.Background(), c, tt.org, tt.projects)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Resolve = %+v, %v; want an error containing %q", r, err, tt.wantErr)
			}
			var se *circleci.SlugError
			var tr *circleci.TokenRequiredError
			var oc *circleci.OrgConflictError
			switch {
			case tt.conflict:
				if !errors.As(err, &oc) {
					t.Errorf("error %T, want *OrgConflictError", err)
				}
			case errors.As(err, &se):
				if se.Field != tt.wantField {
					t.Errorf("SlugError field %q, want %q", se.Field, tt.wantField)
				}
			case errors.As(err, &tr):
				if tr.Field != tt.wantField {
					t.Errorf("TokenRequiredError field %q, want %q", tr.Field, tt.wantField)
				}
			default:
				t.Errorf("error %T, want a *SlugError or *TokenRequiredError", err)
			}
			if n := len(s.Requests()); n != 0 {
				t.Errorf("made %d requests (%q), want none", n, requestPaths(s))
			}
		})
	}
}

func TestResolveWithoutTokenTakesIDsAsTheyAre(t *testing.T) {
	upper := strings.ToUpper(appID)
	r, err := circleci.Resolve(context.Background(), nil, " "+strings.ToUpper(acmeID), []string{upper, webID, upper})
	if err != nil {
		t.Fatal(err)
	}
	want := &circleci.Resolution{
		Org:       circleci.ResolvedOrg{Input: " " + strings.ToUpper(acmeID), ID: acmeID},
		Projects:  []circleci.ResolvedProject{{Input: upper, ID: appID}, {Input: webID, ID: webID}},
		Audiences: []circleci.Audience{},
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("Resolve = %+v, want %+v", r, want)
	}
	lookedUp := r.Org.Slug != "" || slices.ContainsFunc(r.Projects, func(p circleci.ResolvedProject) bool { return p.Slug != "" })
	if r.AudiencesRead || len(r.ExtraAudiences()) != 0 || lookedUp {
		t.Errorf("without a token nothing is read: %+v", r)
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name     string
		org      string
		projects []string
		claims   func(*circlecitest.Server)
		// want holds every slug or name resolved with its ID: the
		// organization's and each project's Slug beside its ID.
		want circleci.Resolution
		// wantExtra are the values of ExtraAudiences.
		wantExtra []string
		wantPaths []string // in any order
	}{
		{
			name: "slugs, nothing set: the default audience", org: "github/acme", projects: []string{"gh/acme/app", webID, "gh/acme/app"},
			want: circleci.Resolution{
				Org:           circleci.ResolvedOrg{Input: "github/acme", Slug: "gh/acme", ID: acmeID},
				Projects:      []circleci.ResolvedProject{{Input: "gh/acme/app", Slug: "gh/acme/app", ID: appID}, {Input: webID, ID: webID}},
				AudiencesRead: true,
				Audiences:     []circleci.Audience{{Value: acmeID, Source: "organization gh/acme default audience (the organization ID)"}},
			},
			wantPaths: []string{"/api/v2/me/collaborations", "/api/v2/project/gh/acme/app", orgClaimsPath(acmeID), projectClaimsPath(acmeID, appID), projectClaimsPath(acmeID, webID)},
		},
		{
			name: "IDs only: no look-up, the audiences still read", org: acmeID, projects: []string{appID},
			claims: func(s *circlecitest.Server) {
				s.SetOrgClaims(acmeID, circlecitest.Claims{Audience: []string{"org-aud"}})
				s.SetProjectClaims(acmeID, appID, circlecitest.Claims{Audience: []string{"sts.amazonaws.com", acmeID}})
			},
			want: circleci.Resolution{
				Org: circleci.ResolvedOrg{Input: acmeID, ID: acmeID}, Projects: []circleci.ResolvedProject{{Input: appID, ID: appID}},
				AudiencesRead: true,
				Audiences: []circleci.Audience{
					{Value: acmeID, Source: "project " + appID + " custom audience"},
					{Value: "org-aud", Source: "organization " + acmeID + " custom audience"},
					{Value: "sts.amazonaws.com", Source: "project " + appID + " custom audience"},
				},
			},
			wantExtra: []string{"org-aud", "sts.amazonaws.com"},
			wantPaths: []string{orgClaimsPath(acmeID), projectClaimsPath(acmeID, appID)},
		},
		{
			name: "an audience set at both levels names both", org: acmeID, projects: []string{"gh/acme/app", "gh/acme/web"},
			claims: func(s *circlecitest.Server) {
				s.SetOrgClaims(acmeID, circlecitest.Claims{Audience: []string{"shared", "b"}})
				s.SetProjectClaims(acmeID, appID, circlecitest.Claims{Audience: []string{"shared"}})
			},
			want: circleci.Resolution{
				// The organization's slug comes from the projects' answers.
				Org: circleci.ResolvedOrg{Input: acmeID, Slug: "gh/acme", ID: acmeID},
				Projects: []circleci.ResolvedProject{
					{Input: "gh/acme/app", Slug: "gh/acme/app", ID: appID}, {Input: "gh/acme/web", Slug: "gh/acme/web", ID: webID},
				},
				AudiencesRead: true,
				Audiences: []circleci.Audience{
					{Value: "b", Source: "organization gh/acme custom audience"},
					{Value: "shared", Source: "organization gh/acme custom audience, project gh/acme/app custom audience"},
				},
			},
			wantExtra: []string{"b", "shared"},
			wantPaths: []string{"/api/v2/project/gh/acme/app", "/api/v2/project/gh/acme/web", orgClaimsPath(acmeID), projectClaimsPath(acmeID, appID), projectClaimsPath(acmeID, webID)},
		},
		{
			name: "an organization by name with a circleci/ project slug", org: "lab org", projects: []string{"circleci/Xy12/Ab34"},
			claims: func(s *circlecitest.Server) {
				s.SetProjectClaims(glID, glAppID, circlecitest.Claims{Audience: []string{"lab"}})
			},
			want: circleci.Resolution{
				Org:           circleci.ResolvedOrg{Input: "lab org", Slug: "circleci/" + glID, ID: glID},
				Projects:      []circleci.ResolvedProject{{Input: "circleci/Xy12/Ab34", Slug: "circleci/Xy12/Ab34", ID: glAppID}},
				AudiencesRead: true,
				Audiences: []circleci.Audience{
					{Value: glID, Source: "organization circleci/" + glID + " default audience (the organization ID)"},
					{Value: "lab", Source: "project circleci/Xy12/Ab34 custom audience"},
				},
			},
			wantExtra: []string{"lab"},
			wantPaths: []string{"/api/v2/me/collaborations", "/api/v2/project/circleci/Xy12/Ab34", orgClaimsPath(glID), projectClaimsPath(glID, glAppID)},
		},
		{
			name: "no projects: the organization's level alone", org: "bb/acme",
			want: circleci.Resolution{
				Org: circleci.ResolvedOrg{Input: "bb/acme", Slug: "bb/acme", ID: bbID}, Projects: []circleci.ResolvedProject{},
				AudiencesRead: true,
				Audiences:     []circleci.Audience{{Value: bbID, Source: "organization bb/acme default audience (the organization ID)"}},
			},
			wantPaths: []string{"/api/v2/me/collaborations", orgClaimsPath(bbID)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStandIn(t)
			if tt.claims != nil {
				tt.claims(s)
			}
			r, err := circleci.Resolve(context.Background(), newClient(t, s, testToken), tt.org, tt.projects)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*r, tt.want) {
				t.Errorf("Resolve =\n  %+v\nwant\n  %+v", *r, tt.want)
			}
			var extra []string
			for _, a := range r.ExtraAudiences() {
				extra = append(extra, a.Value)
			}
			if !slices.Equal(extra, tt.wantExtra) {
				t.Errorf("ExtraAudiences = %q, want %q", extra, tt.wantExtra)
			}
			paths := requestPaths(s)
			slices.Sort(paths)
			slices.Sort(tt.wantPaths)
			if !slices.Equal(paths, tt.wantPaths) {
				t.Errorf("requests %q, want %q", paths, tt.wantPaths)
			}
		})
	}
}

func TestResolveFailures(t *testing.T) {
	tests := []struct {
		name     string
		org      string
		projects []string
		setup    func(*circlecitest.Server)
		token    string
		check    func(*testing.T, error)
	}{
		{
			name: "a project of another organization than the org ID", org: bbID, projects: []string{"gh/acme/app"},
			check: func(t *testing.T, err error) {
				var oc *circleci.OrgConflictError
				want := `invalid project "gh/acme/app": it belongs to organization gh/acme, not to the organization given (` + bbID + ")"
				if !errors.As(err, &oc) || !strings.HasPrefix(err.Error(), want) {
					t.Errorf("error %v, want an *OrgConflictError %q", err, want)
				}
			},
		},
		{
			name: "a project of another organization than the org name", org: "Lab Org", projects: []string{"gh/acme/app"},
			check: func(t *testing.T, err error) {
				var oc *circleci.OrgConflictError
				if !errors.As(err, &oc) || oc.ProjectOrg != "gh/acme" || oc.Org != "Lab Org" {
					t.Errorf("error %#v, want an *OrgConflictError naming gh/acme and Lab Org", err)
				}
			},
		},
		{
			name: "an unknown project", org: acmeID, projects: []string{"gh/acme/nope"},
			check: func(t *testing.T, err error) {
				var nf *circleci.NotFoundError
				if !errors.As(err, &nf) || nf.Name != "gh/acme/nope" {
					t.Errorf("error %v, want a *NotFoundError for gh/acme/nope", err)
				}
			},
		},
		{
			name: "an unknown organization", org: "gh/nope",
			check: func(t *testing.T, err error) {
				var nf *circleci.OrgNotFoundError
				if !errors.As(err, &nf) {
					t.Errorf("error %v, want an *OrgNotFoundError", err)
				}
			},
		},
		{
			name: "a rejected token", org: acmeID, projects: []string{appID}, token: "wrong",
			check: func(t *testing.T, err error) {
				var ae *circleci.AuthError
				if !errors.As(err, &ae) {
					t.Errorf("error %v, want an *AuthError", err)
				}
			},
		},
		{
			name: "token settings unavailable", org: acmeID, projects: []string{appID},
			setup: func(s *circlecitest.Server) {
				s.FailNext(projectClaimsPath(acmeID, appID), 10, http.StatusServiceUnavailable, "")
			},
			check: func(t *testing.T, err error) {
				var ue *circleci.UnavailableError
				if !errors.As(err, &ue) || ue.Status != http.StatusServiceUnavailable {
					t.Errorf("error %v, want an *UnavailableError", err)
				}
			},
		},
		{
			name: "an answered ID that is not a UUID", org: acmeID, projects: []string{"gh/acme/odd"},
			setup: func(s *circlecitest.Server) {
				s.AddProject(circlecitest.Project{ID: "../../x", Name: "odd", Slug: "gh/acme/odd", OrgID: acmeID, OrgSlug: "gh/acme"})
			},
			check: func(t *testing.T, err error) {
				want := `resolve project gh/acme/odd: http://127.0.0.1`
				if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), `answered the ID "../../x", which is not a UUID`) {
					t.Errorf("error %v, want %q... which is not a UUID", err, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStandIn(t)
			if tt.setup != nil {
				tt.setup(s)
			}
			r, err := circleci.Resolve(context.Background(), newClient(t, s, cmpOr(tt.token, testToken)), tt.org, tt.projects)
			if err == nil {
				t.Fatalf("Resolve = %+v, want an error", r)
			}
			assertNoToken(t, err)
			tt.check(t, err)
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
