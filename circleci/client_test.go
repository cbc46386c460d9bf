package circleci_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/circlecitest"
)

// testToken is distinctive so that any leak into output is found.
const testToken = "CCIPAT_T0k3nThatMustNeverLeak_9f8e7d6c5b4a"

const (
	acmeID  = "11111111-1111-4111-8111-111111111111"
	bbID    = "22222222-2222-4222-8222-222222222222"
	appID   = "33333333-3333-4333-8333-333333333333"
	webID   = "44444444-4444-4444-8444-444444444444"
	glID    = "55555555-5555-4555-8555-555555555555"
	glAppID = "66666666-6666-4666-8666-666666666666"
)

// fastRetry keeps retry tests quick.
var fastRetry = circleci.RetryPolicy{MaxAttempts: 4, BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxElapsed: 5 * time.Second}

// newStandIn starts a stand-in with two organizations named acme (GitHub
// and Bitbucket), a GitLab one, and projects in them.
func newStandIn(t *testing.T) *circlecitest.Server {
	t.Helper()
	s := circlecitest.Start(t, testToken)
	s.AddOrg(circlecitest.Org{ID: acmeID, Name: "acme", Slug: "gh/acme", VCSType: "github"})
	s.AddOrg(circlecitest.Org{ID: bbID, Name: "acme", Slug: "bb/acme", VCSType: "bitbucket", HyphenatedVCSType: true})
	s.AddOrg(circlecitest.Org{ID: glID, Name: "Lab Org", Slug: "circleci/" + glID, VCSType: "circleci"})
	s.AddProject(circlecitest.Project{ID: appID, Name: "app", Slug: "gh/acme/app", OrgID: acmeID, OrgName: "acme", OrgSlug: "gh/acme", VCSURL: "https://github.com/acme/app", Provider: "GitHub", DefaultBranch: "main"})
	s.AddProject(circlecitest.Project{ID: webID, Name: "web", Slug: "gh/acme/web", OrgID: acmeID, OrgName: "acme", OrgSlug: "gh/acme"})
	s.AddProject(circlecitest.Project{ID: glAppID, Name: "lab-app", Slug: "circleci/Xy12/Ab34", OrgID: glID, OrgName: "Lab Org", OrgSlug: "circleci/Xy12"})
	return s
}

func newClient(t *testing.T, s *circlecitest.Server, token string, opts ...circleci.Option) *circleci.Client {
	t.Helper()
	creds := credentialsFrom(t, map[string]string{"CIRCLE_TOKEN": token, "CIRCLE_HOST": s.URL})
	return circleci.New(creds, append([]circleci.Option{circleci.WithRetryPolicy(fastRetry)}, opts...)...)
}

// credentialsFrom loads the credentials that the environment env gives, as
// FromEnvironment does, with no home directory and so no CLI file.
func credentialsFrom(t *testing.T, env map[string]string) circleci.Credentials {
	t.Helper()
	creds, err := circleci.LoadCredentials(func(k string) string { return env[k] }, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

// assertNoToken fails when err, in any rendering, contains the token.
func assertNoToken(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%v %+v %#v", err, err, err)} {
		if strings.Contains(s, testToken) {
			t.Errorf("the token leaks into %q", s)
		}
	}
}

func TestCollaborations(t *testing.T) {
	s := newStandIn(t)
	c := newClient(t, s, testToken, circleci.WithUserAgent("circleci-ecr-oidc/1.2.3"))
	orgs, err := c.Collaborations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []circleci.Organization{
		{ID: acmeID, Name: "acme", Slug: "gh/acme", VCSType: "github"},
		{ID: bbID, Name: "acme", Slug: "bb/acme", VCSType: "bitbucket"}, // answered as vcs-type
		{ID: glID, Name: "Lab Org", Slug: "circleci/" + glID, VCSType: "circleci"},
	}
	if !slices.Equal(orgs, want) {
		t.Errorf("Collaborations() = %+v, want %+v", orgs, want)
	}
	reqs := s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("made %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "GET" || r.Path != "/api/v2/me/collaborations" || r.Auth != "Circle-Token" || r.Accept != "application/json" || r.UserAgent != "circleci-ecr-oidc/1.2.3" {
		t.Errorf("request = %+v", r)
	}
}

func TestResolveOrg(t *testing.T) {
	s := newStandIn(t)
	c := newClient(t, s, testToken)
	tests := []struct {
		query   string
		wantID  string
		wantErr string
	}{
		{query: "gh/acme", wantID: acmeID},
		{query: "github/acme", wantID: acmeID},
		{query: "bitbucket/acme", wantID: bbID},
		{query: "bb/acme", wantID: bbID},
		{query: "circleci/" + glID, wantID: glID},
		{query: "lab org", wantID: glID},
		{query: " Lab Org ", wantID: glID},
		{query: strings.ToUpper(bbID), wantID: bbID},
		{query: "acme", wantErr: `find CircleCI organization "acme": the name matches bb/acme and gh/acme; give the slug instead`},
		{query: "gh/other", wantErr: `find CircleCI organization "gh/other": the token from CIRCLE_TOKEN can see only these organizations: Lab Org, acme`},
		{query: "other", wantErr: "can see only these organizations: Lab Org, acme"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			org, err := c.ResolveOrg(context.Background(), tt.query)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr && !strings.HasSuffix(err.Error(), tt.wantErr) {
					t.Fatalf("ResolveOrg(%q) error = %v, want %q", tt.query, err, tt.wantErr)
				}
				return
			}
			if err != nil || org.ID != tt.wantID {
				t.Errorf("ResolveOrg(%q) = %+v, %v, want ID %s", tt.query, org, err, tt.wantID)
			}
		})
	}
	var nf *circleci.OrgNotFoundError
	if _, err := c.ResolveOrg(context.Background(), "nope"); !errors.As(err, &nf) || !slices.Equal(nf.Visible, []string{"Lab Org", "acme"}) {
		t.Errorf("want *OrgNotFoundError listing the visible names, got %#v", err)
	}
}

func TestProject(t *testing.T) {
	s := newStandIn(t)
	c := newClient(t, s, testToken)
	wantApp := circleci.Project{Slug: "gh/acme/app", Name: "app", ID: appID, OrganizationName: "acme", OrganizationSlug: "gh/acme", OrganizationID: acmeID}
	wantLab := circleci.Project{Slug: "circleci/Xy12/Ab34", Name: "lab-app", ID: glAppID, OrganizationName: "Lab Org", OrganizationSlug: "circleci/Xy12", OrganizationID: glID}
	tests := []struct {
		slug     string
		wantPath string
		want     circleci.Project
	}{
		{slug: "gh/acme/app", wantPath: "/api/v2/project/gh/acme/app", want: wantApp},
		{slug: "github/acme/app", wantPath: "/api/v2/project/gh/acme/app", want: wantApp},
		{slug: "circleci/Xy12/Ab34", wantPath: "/api/v2/project/circleci/Xy12/Ab34", want: wantLab},
		{slug: "circleci/" + glID + "/" + glAppID, wantPath: "/api/v2/project/circleci/" + glID + "/" + glAppID, want: wantLab},
	}
	for _, tt := range tests {
		t.Run(tt.slug, func(t *testing.T) {
			slug, err := circleci.ParseProjectSlug(tt.slug)
			if err != nil {
				t.Fatal(err)
			}
			before := len(s.Requests())
			p, err := c.Project(context.Background(), slug)
			if err != nil || p != tt.want {
				t.Fatalf("Project(%s) = %+v, %v, want %+v", tt.slug, p, err, tt.want)
			}
			if reqs := s.Requests()[before:]; len(reqs) != 1 || reqs[0].Path != tt.wantPath {
				t.Errorf("requests = %+v, want one to %s", reqs, tt.wantPath)
			}
		})
	}
}

func TestProjectNotFound(t *testing.T) {
	s := newStandIn(t)
	c := newClient(t, s, testToken)
	slug, _ := circleci.ParseProjectSlug("gh/acme/nope")
	_, err := c.Project(context.Background(), slug)
	var nf *circleci.NotFoundError
	if !errors.As(err, &nf) || nf.Kind != "project" || nf.Name != "gh/acme/nope" {
		t.Fatalf("want *NotFoundError for project gh/acme/nope, got %#v", err)
	}
	want := "get project gh/acme/nope: not found, or the token from CIRCLE_TOKEN cannot see it (CircleCI answers 404 for both)"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q, want it to start with %q", err, want)
	}
	if n := s.RequestsTo("/api/v2/project/gh/acme/nope"); n != 1 {
		t.Errorf("a 404 was requested %d times, want 1 (no retry)", n)
	}
}

func TestOIDCClaims(t *testing.T) {
	s := newStandIn(t)
	s.SetOrgClaims(bbID, circlecitest.Claims{Audience: []string{"b-aud", "a-aud"}, TTL: "30m0s"})
	s.SetProjectClaims(acmeID, webID, circlecitest.Claims{Audience: []string{"web-aud"}})
	c := newClient(t, s, testToken)
	ctx := context.Background()

	org, err := c.OrgOIDCClaims(ctx, acmeID)
	if err != nil || org.AudienceSet || org.Audience != nil || org.TTL != "" {
		t.Errorf("OrgOIDCClaims(unset) = %+v, %v, want nothing set", org, err)
	}
	bb, err := c.OrgOIDCClaims(ctx, bbID)
	if err != nil || !bb.AudienceSet || !slices.Equal(bb.Audience, []string{"a-aud", "b-aud"}) || bb.TTL != "30m0s" {
		t.Errorf("OrgOIDCClaims(set) = %+v, %v, want sorted audiences and the TTL", bb, err)
	}
	app, err := c.ProjectOIDCClaims(ctx, acmeID, appID)
	if err != nil || app.AudienceSet {
		t.Errorf("ProjectOIDCClaims(unset) = %+v, %v", app, err)
	}
	web, err := c.ProjectOIDCClaims(ctx, acmeID, webID)
	if err != nil || !web.AudienceSet || !slices.Equal(web.Audience, []string{"web-aud"}) {
		t.Errorf("ProjectOIDCClaims(set) = %+v, %v", web, err)
	}
	wantPaths := []string{
		"/api/v2/org/" + acmeID + "/oidc-custom-claims",
		"/api/v2/org/" + bbID + "/oidc-custom-claims",
		"/api/v2/org/" + acmeID + "/project/" + appID + "/oidc-custom-claims",
		"/api/v2/org/" + acmeID + "/project/" + webID + "/oidc-custom-claims",
	}
	var paths []string
	for _, r := range s.Requests() {
		paths = append(paths, r.Path)
	}
	if !slices.Equal(paths, wantPaths) {
		t.Errorf("paths = %q, want %q", paths, wantPaths)
	}

	// IDs are checked before any request.
	var se *circleci.SlugError
	if _, err := c.OrgOIDCClaims(ctx, "gh/acme"); !errors.As(err, &se) || se.Field != "org-id" {
		t.Errorf("OrgOIDCClaims(slug) error = %v, want an org-id *SlugError", err)
	}
	if _, err := c.ProjectOIDCClaims(ctx, acmeID, "../x"); !errors.As(err, &se) || se.Field != "project-id" {
		t.Errorf("ProjectOIDCClaims(bad) error = %v, want a project-id *SlugError", err)
	}
	if n := len(s.Requests()); n != len(wantPaths) {
		t.Errorf("invalid IDs made requests: %d in all", n)
	}
	// A project outside the organization: 404.
	var nf *circleci.NotFoundError
	if _, err := c.ProjectOIDCClaims(ctx, bbID, appID); !errors.As(err, &nf) {
		t.Errorf("ProjectOIDCClaims(other org) error = %v, want *NotFoundError", err)
	}
}

func TestListProjects(t *testing.T) {
	s := newStandIn(t)
	const many = "77777777-7777-4777-8777-777777777777"
	s.AddOrg(circlecitest.Org{ID: many, Name: "many", Slug: "gh/many", VCSType: "github"})
	var want []circleci.ProjectSummary
	for i := range 5 {
		id := fmt.Sprintf("88888888-8888-4888-8888-%012d", i)
		s.AddProject(circlecitest.Project{ID: id, Name: fmt.Sprintf("p%d", i), Slug: fmt.Sprintf("gh/many/p%d", i), OrgID: many})
		want = append(want, circleci.ProjectSummary{ID: id, Name: fmt.Sprintf("p%d", i), OrgID: many})
	}
	s.SetPageSize(2)
	c := newClient(t, s, testToken)

	got, err := c.ListProjects(context.Background(), many)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ListProjects = %+v, %v, want %+v", got, err, want)
	}
	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("made %d requests, want 3 pages", len(reqs))
	}
	for i, r := range reqs {
		if r.Path != "/api/v3/projects" || r.Auth != "Bearer" || r.Query.Get("filter[org_id]") != many {
			t.Errorf("request %d = %+v, want a Bearer GET of /api/v3/projects for the org", i, r)
		}
		if (i == 0) != (r.Query.Get("page[cursor]") == "") {
			t.Errorf("request %d cursor = %q", i, r.Query.Get("page[cursor]"))
		}
	}

	// An organization without projects is an empty list, not an error.
	got, err = c.ListProjects(context.Background(), bbID)
	if err != nil || len(got) != 0 {
		t.Errorf("ListProjects(empty org) = %+v, %v", got, err)
	}
	var se *circleci.SlugError
	if _, err := c.ListProjects(context.Background(), "acme"); !errors.As(err, &se) {
		t.Errorf("ListProjects(name) error = %v, want *SlugError", err)
	}
}

func TestRetryThenSucceed(t *testing.T) {
	s := newStandIn(t)
	c := newClient(t, s, testToken)
	s.FailNext("/api/v2/me/collaborations", 2, http.StatusInternalServerError, "")
	s.FailNext("/api/v2/project/gh/acme/app", 1, http.StatusTooManyRequests, "1")
	if _, err := c.Collaborations(context.Background()); err != nil {
		t.Fatalf("Collaborations after two 500s: %v", err)
	}
	if n := s.RequestsTo("/api/v2/me/collaborations"); n != 3 {
		t.Errorf("made %d requests, want 3", n)
	}
	slug, _ := circleci.ParseProjectSlug("gh/acme/app")
	start := time.Now()
	if _, err := c.Project(context.Background(), slug); err != nil {
		t.Fatalf("Project after a 429: %v", err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %s, before the 1 s Retry-After", d)
	}
	if n := s.RequestsTo("/api/v2/project/gh/acme/app"); n != 2 {
		t.Errorf("made %d requests, want 2", n)
	}
}

func TestRetryGivesUp(t *testing.T) {
	s := newStandIn(t)
	c := newClient(t, s, testToken)
	s.FailNext("/api/v2/me/collaborations", 10, http.StatusServiceUnavailable, "")
	_, err := c.Collaborations(context.Background())
	var ue *circleci.UnavailableError
	if !errors.As(err, &ue) || ue.Attempts != 4 || ue.Status != 503 {
		t.Fatalf("error = %#v, want *UnavailableError after 4 attempts", err)
	}
	if !strings.HasPrefix(err.Error(), "get "+s.URL+"/api/v2/me/collaborations: CircleCI answered 503 to 4 attempts over ") {
		t.Errorf("error = %q", err)
	}
	if n := s.RequestsTo("/api/v2/me/collaborations"); n != 4 {
		t.Errorf("made %d requests, want 4", n)
	}

	// A Retry-After beyond the time budget ends the retries at once.
	s2 := newStandIn(t)
	c2 := newClient(t, s2, testToken, circleci.WithRetryPolicy(circleci.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxElapsed: 2 * time.Second}))
	s2.FailNext("/api/v2/me/collaborations", 1, http.StatusTooManyRequests, "60")
	start := time.Now()
	_, err = c2.Collaborations(context.Background())
	if !errors.As(err, &ue) || ue.Attempts != 1 || ue.RetryAfter != time.Minute || time.Since(start) > time.Second {
		t.Fatalf("error = %#v after %s, want a prompt *UnavailableError naming the 1m wait", err, time.Since(start))
	}
	if !strings.Contains(err.Error(), "429 (rate limited) to 1 attempts") || !strings.Contains(err.Error(), "asked to wait 1m0s more") {
		t.Errorf("error = %q", err)
	}
}

func TestRetryStopsWhenCancelled(t *testing.T) {
	s := newStandIn(t)
	c := newClient(t, s, testToken, circleci.WithRetryPolicy(circleci.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour, MaxElapsed: 3 * time.Hour}))
	s.FailNext("/api/v2/me/collaborations", 1, http.StatusBadGateway, "")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Collaborations(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("error = %v after %s, want the context's deadline promptly", err, time.Since(start))
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	s := newStandIn(t)
	c := newClient(t, s, testToken)
	s.FailNext("/api/v2/me/collaborations", 1, http.StatusForbidden, "")
	_, err := c.Collaborations(context.Background())
	var ae *circleci.APIError
	if !errors.As(err, &ae) || ae.Status != 403 || ae.Message != "Permission denied" {
		t.Fatalf("error = %#v, want *APIError 403", err)
	}
	if n := s.RequestsTo("/api/v2/me/collaborations"); n != 1 {
		t.Errorf("made %d requests, want 1", n)
	}
}

func TestRejectedToken(t *testing.T) {
	s := newStandIn(t)
	c := newClient(t, s, "CCIPAT_wrong")
	_, err := c.Collaborations(context.Background())
	var ae *circleci.AuthError
	if !errors.As(err, &ae) || ae.TokenSource != "CIRCLE_TOKEN" || ae.Message != "You must log in first." {
		t.Fatalf("error = %#v, want *AuthError from CIRCLE_TOKEN", err)
	}
	want := "authenticate to " + s.URL + ": the token from CIRCLE_TOKEN was rejected (You must log in first.)"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q, want it to start with %q", err, want)
	}
	if strings.Contains(err.Error(), "CCIPAT_wrong") {
		t.Errorf("error shows the token: %q", err)
	}
}

func TestUnreachableHost(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := "http://" + l.Addr().String()
	_ = l.Close()
	creds := credentialsFrom(t, map[string]string{"CIRCLE_TOKEN": testToken, "CIRCLE_HOST": host})
	_, err = circleci.New(creds, circleci.WithRetryPolicy(fastRetry)).Collaborations(context.Background())
	var ce *circleci.ConnectionError
	if !errors.As(err, &ce) || ce.Timeout || ce.Host != host {
		t.Fatalf("error = %#v, want a *ConnectionError for %s", err, host)
	}
	if !strings.HasPrefix(err.Error(), "reach CircleCI at "+host+": ") {
		t.Errorf("error = %q", err)
	}
	assertNoToken(t, err)
}

func TestTimeout(t *testing.T) {
	s := newStandIn(t)
	s.SetDelay(2 * time.Second)
	c := newClient(t, s, testToken, circleci.WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond}))
	start := time.Now()
	_, err := c.Collaborations(context.Background())
	var ce *circleci.ConnectionError
	if !errors.As(err, &ce) || !ce.Timeout {
		t.Fatalf("error = %#v, want a timed-out *ConnectionError", err)
	}
	if !strings.HasPrefix(err.Error(), "reach CircleCI at "+s.URL+": timed out") {
		t.Errorf("error = %q", err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("took %s despite a 100 ms timeout", d)
	}
	assertNoToken(t, err)
}

// TestTokenNeverInOutput drives every error path with a distinctive token,
// including a server that echoes it in its message.
func TestTokenNeverInOutput(t *testing.T) {
	s := newStandIn(t)
	ctx := context.Background()
	c := newClient(t, s, testToken)
	slug, _ := circleci.ParseProjectSlug("gh/acme/none")
	var errs []error
	collect := func(_ any, err error) {
		if err == nil {
			t.Errorf("an error path returned no error")
		}
		errs = append(errs, err)
	}

	collect(c.Project(ctx, slug)) // 404
	s.FailNext("/api/v2/me/collaborations", 10, 500, "")
	collect(c.Collaborations(ctx)) // 5xx exhausted
	s.FailNext("/api/v3/projects", 1, 429, "3600")
	collect(c.ListProjects(ctx, acmeID)) // 429 beyond budget
	s.FailNext("/api/v2/org/"+acmeID+"/oidc-custom-claims", 1, 401, "")
	collect(c.OrgOIDCClaims(ctx, acmeID)) // 401
	collect(c.ResolveOrg(ctx, "gh/nobody"))
	collect(c.OrgOIDCClaims(ctx, testToken)) // the token passed as an ID

	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("Circle-Token") + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v2/me/collaborations":
			w.WriteHeader(http.StatusBadRequest)
		case "/api/v3/projects":
			w.WriteHeader(http.StatusUnauthorized)
		default:
			_, _ = fmt.Fprintf(w, `{"slug": %q, `, tok) // truncated JSON
			return
		}
		_, _ = fmt.Fprintf(w, `{"message": "bad token %s"}`, tok)
	}))
	t.Cleanup(echo.Close)
	creds := credentialsFrom(t, map[string]string{"CIRCLE_TOKEN": testToken, "CIRCLE_HOST": echo.URL})
	e := circleci.New(creds, circleci.WithRetryPolicy(fastRetry))
	collect(e.Collaborations(ctx)) // 400 echoing the token
	collect(e.ListProjects(ctx, acmeID))
	app, _ := circleci.ParseProjectSlug("gh/acme/app")
	collect(e.Project(ctx, app)) // malformed JSON quoting the token

	for _, err := range errs {
		assertNoToken(t, err)
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error spans lines: %q", err)
		}
	}
	if !strings.Contains(errs[len(errs)-3].Error(), "bad token [token]") {
		t.Errorf("the echoed token was not redacted: %q", errs[len(errs)-3])
	}
	// The stand-in's request log never holds the token either.
	if strings.Contains(fmt.Sprintf("%+v", s.Requests()), testToken) {
		t.Error("the stand-in recorded the token")
	}
}
