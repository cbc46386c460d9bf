package circleci_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/circlecitest"
)

// cleanCircleCIEnv points the home directory and $XDG_CONFIG_HOME at an
// empty directory and unsets every variable that gives a token or a host.
func cleanCircleCIEnv(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	for _, k := range []string{"CIRCLE_TOKEN", "CIRCLECI_CLI_TOKEN", "CIRCLE_CLI_TOKEN", "CIRCLE_HOST", "CIRCLECI_CLI_HOST"} {
		t.Setenv(k, "")
	}
	return home
}

// toServer sends every request to the server at a base URL, whatever
// host it names.
type toServer struct{ base string }

func (r toServer) RoundTrip(req *http.Request) (*http.Response, error) {
	u, err := url.Parse(r.base)
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = u.Scheme, u.Host, u.Host
	return http.DefaultTransport.RoundTrip(req)
}

func TestFromEnvironment(t *testing.T) {
	t.Run("no token is no client", func(t *testing.T) {
		cleanCircleCIEnv(t)
		c, err := circleci.FromEnvironment("https://cci.example.com")
		if c != nil || err != nil {
			t.Errorf("FromEnvironment = %v, %v; want nil, nil", c, err)
		}
	})
	t.Run("the environment's token and host", func(t *testing.T) {
		cleanCircleCIEnv(t)
		s := newStandIn(t)
		t.Setenv("CIRCLE_TOKEN", testToken)
		t.Setenv("CIRCLE_HOST", s.URL)
		c, err := circleci.FromEnvironment("")
		if err != nil {
			t.Fatal(err)
		}
		if c.Host() != s.URL || c.Cloud() {
			t.Errorf("host %q, cloud %v", c.Host(), c.Cloud())
		}
		if _, err := c.Collaborations(context.Background()); err != nil {
			t.Errorf("the client does not reach the stand-in: %v", err)
		}
		// What CircleCI does not answer names where the token came from.
		slug, _ := circleci.ParseProjectSlug("gh/acme/nope")
		var nf *circleci.NotFoundError
		if _, err := c.Project(context.Background(), slug); !errors.As(err, &nf) || nf.TokenSource != "CIRCLE_TOKEN" {
			t.Errorf("error %v, want a *NotFoundError naming CIRCLE_TOKEN", err)
		}
	})
	t.Run("the old CLI's file, on cloud by default", func(t *testing.T) {
		home := cleanCircleCIEnv(t)
		if err := os.MkdirAll(filepath.Join(home, ".circleci"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, ".circleci", "cli.yml"), []byte("token: not-the-stand-in's\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		// Calls to cloud reach the stand-in, which rejects the file's token.
		c, err := circleci.FromEnvironment("", circleci.WithHTTPClient(&http.Client{Transport: toServer{newStandIn(t).URL}}))
		if err != nil {
			t.Fatal(err)
		}
		if !c.Cloud() || c.Host() != circleci.DefaultHost {
			t.Errorf("host %q, cloud %v", c.Host(), c.Cloud())
		}
		var ae *circleci.AuthError
		if _, err := c.Collaborations(context.Background()); !errors.As(err, &ae) || ae.TokenSource != "~/.circleci/cli.yml" || ae.Host != circleci.DefaultHost {
			t.Errorf("error %v, want an *AuthError naming ~/.circleci/cli.yml and %s", err, circleci.DefaultHost)
		}
	})
	t.Run("a bad host from the environment", func(t *testing.T) {
		cleanCircleCIEnv(t)
		t.Setenv("CIRCLE_TOKEN", testToken)
		t.Setenv("CIRCLE_HOST", "http://cci.example.com")
		_, err := circleci.FromEnvironment("")
		var he *circleci.HostError
		if !errors.As(err, &he) || he.Source != "CIRCLE_HOST" {
			t.Errorf("error %v, want a *HostError from CIRCLE_HOST", err)
		}
	})
}

// TestResolveNeverEchoesTheToken: a token pasted where an organization or
// a project belongs is not repeated in the error, which keeps its type.
func TestResolveNeverEchoesTheToken(t *testing.T) {
	s := newStandIn(t)
	c := newClient(t, s, testToken)
	ctx := context.Background()
	tests := []struct {
		name     string
		org      string
		projects []string
		check    func(error) bool
	}{
		{"as the organization name", testToken, nil, func(err error) bool { var e *circleci.OrgNotFoundError; return errors.As(err, &e) }},
		{"as a project value", acmeID, []string{testToken}, func(err error) bool { var e *circleci.SlugError; return errors.As(err, &e) }},
		{"inside a project slug", acmeID, []string{"gh/acme/" + testToken}, func(err error) bool { var e *circleci.NotFoundError; return errors.As(err, &e) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := circleci.Resolve(ctx, c, tt.org, tt.projects)
			if err == nil || !tt.check(err) {
				t.Fatalf("error %v (%T), not of the expected type", err, err)
			}
			assertNoToken(t, err)
			if !strings.Contains(err.Error(), "[token]") {
				t.Errorf("error %q does not show where the token was", err)
			}
		})
	}
}

func TestResolutionWriteTextSince(t *testing.T) {
	s := newStandIn(t)
	s.SetOrgClaims(acmeID, circlecitest.Claims{Audience: []string{"api://acme"}})
	c := newClient(t, s, testToken)
	r, err := circleci.Resolve(context.Background(), c, "github/acme", []string{"gh/acme/app", webID})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := r.WriteTextSince(&b, nil); err != nil {
		t.Fatal(err)
	}
	want := "Resolved github/acme (gh/acme) → " + acmeID + "\n" +
		"Resolved gh/acme/app → " + appID + "\n" +
		"Token audiences from CircleCI: api://acme (organization gh/acme custom audience)\n"
	if b.String() != want {
		t.Errorf("WriteTextSince(nil) =\n%s\nwant\n%s", b.String(), want)
	}

	// IDs alone without a token: nothing was looked up, nothing is said.
	r, err = circleci.Resolve(context.Background(), nil, acmeID, []string{appID})
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := r.WriteTextSince(&b, nil); err != nil || b.Len() != 0 {
		t.Errorf("WriteTextSince(nil) without a token wrote %q, %v", b.String(), err)
	}
}

// TestResolveProjectsAfterTheOrg resolves an organization slug, then
// projects in it as a wizard does once they are chosen: the organization
// is not looked up again, a project of another organization is still
// refused, and WriteTextSince says only what is new.
func TestResolveProjectsAfterTheOrg(t *testing.T) {
	s := newStandIn(t)
	s.SetProjectClaims(acmeID, webID, circlecitest.Claims{Audience: []string{"web-aud"}})
	c := newClient(t, s, testToken)
	ctx := context.Background()
	org, err := circleci.Resolve(ctx, c, "gh/acme", nil)
	if err != nil {
		t.Fatal(err)
	}
	before := len(s.Requests())

	same, err := org.ResolveProjects(ctx, c, []string{appID})
	if err != nil {
		t.Fatal(err)
	}
	paths := requestPaths(s)[before:]
	if want := []string{orgClaimsPath(acmeID), projectClaimsPath(acmeID, appID)}; !slices.Equal(sortedCopy(paths), sortedCopy(want)) {
		t.Errorf("requests %v, want only the token settings %v", paths, want)
	}
	if same.Org != org.Org {
		t.Errorf("Org = %+v, want the first resolution's %+v", same.Org, org.Org)
	}
	var b strings.Builder
	if err := same.WriteTextSince(&b, org); err != nil || b.Len() != 0 {
		t.Errorf("WriteTextSince with nothing new = %q, %v; want nothing", b.String(), err)
	}

	more, err := org.ResolveProjects(ctx, c, []string{appID, "gh/acme/web"})
	if err != nil {
		t.Fatal(err)
	}
	if got := more.ProjectIDs(); !slices.Equal(got, []string{appID, webID}) {
		t.Errorf("ProjectIDs() = %v", got)
	}
	b.Reset()
	if err := more.WriteTextSince(&b, same); err != nil {
		t.Fatal(err)
	}
	want := "Resolved gh/acme/web → " + webID + "\n" +
		"Token audiences from CircleCI: " + acmeID + " (organization gh/acme default audience (the organization ID)), web-aud (project gh/acme/web custom audience)\n"
	if b.String() != want {
		t.Errorf("WriteTextSince =\n%s\nwant\n%s", b.String(), want)
	}

	// A slug of another organization is refused before any request, as
	// Resolve refuses it against the organization slug.
	before = len(s.Requests())
	_, err = org.ResolveProjects(ctx, c, []string{"gh/other/app"})
	var conflict *circleci.OrgConflictError
	if !errors.As(err, &conflict) || len(s.Requests()) != before {
		t.Errorf("ResolveProjects(gh/other/app) = %v after %d requests, want an *OrgConflictError and none", err, len(s.Requests())-before)
	}

	// The token pasted as a project is refused without being repeated, as
	// Resolve refuses it.
	if _, err := org.ResolveProjects(ctx, c, []string{testToken}); err == nil || strings.Contains(err.Error(), testToken) {
		t.Errorf("ResolveProjects(token) = %v, want an error without the token", err)
	}
}

func sortedCopy(s []string) []string { return slices.Sorted(slices.Values(s)) }
