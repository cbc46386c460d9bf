// Package circlecitest is a stand-in for the parts of CircleCI's API that
// package circleci calls, for tests: an httptest server that answers with
// the documented response shapes (see /work/shared/facts.md, "CircleCI API,
// for resolving names to IDs"), from organizations, projects and token
// settings a test configures.
//
// It checks authentication as CircleCI does (API v2: the Circle-Token
// header, a Bearer token or Basic with the token as user name; API v3:
// Bearer only; otherwise 401 "You must log in first."), pages its v3
// project listing (page.next / page[cursor]), can fail the next N requests
// of a path with any status, and records every request
// (method, path, query, which kind of credential was sent) without the
// token's value. It does not import package circleci, so that package's own
// tests can use it.
package circlecitest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Org is an organization the token's user belongs to.
type Org struct {
	ID   string
	Name string
	// Slug as the API gives it: gh/acme, bb/acme or circleci/<id>.
	Slug    string
	VCSType string
	// HyphenatedVCSType answers "vcs-type" instead of "vcs_type", the
	// spelling of the published schema.
	HyphenatedVCSType bool
}

// Project is a project the token can see.
type Project struct {
	ID   string
	Name string
	// Slug in the short form the API answers with: gh/acme/app or
	// circleci/<org-short-id>/<project-short-id>.
	Slug          string
	OrgID         string
	OrgName       string
	OrgSlug       string
	VCSURL        string
	Provider      string
	DefaultBranch string
}

// Claims are the token settings of an organization or a project; the zero
// value is "nothing set".
type Claims struct {
	Audience []string
	TTL      string
}

// Request is one request the server received. Auth names the kind of
// credential sent ("Circle-Token", "Bearer", "Basic" or ""), never its value.
type Request struct {
	Method    string
	Path      string
	Query     url.Values
	Auth      string
	Accept    string
	UserAgent string
}

type fault struct {
	status     int
	retryAfter string
}

// Server is the stand-in. Configure it before or between requests; all
// methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to use as the CircleCI host (http://127.0.0.1:port).
	URL string

	srv   *httptest.Server
	token string

	mu            sync.Mutex
	orgs          []Org
	projects      []Project
	orgClaims     map[string]Claims
	projectClaims map[[2]string]Claims
	v3PageSize    int
	faults        map[string][]fault
	delay         time.Duration
	requests      []Request
}

// Start starts a stand-in that accepts token and stops it when t ends.
func Start(t testing.TB, token string) *Server {
	t.Helper()
	s := New(token)
	t.Cleanup(s.Close)
	return s
}

// New starts a stand-in that accepts token; Close stops it.
func New(token string) *Server {
	s := &Server{
		token:         token,
		orgClaims:     map[string]Claims{},
		projectClaims: map[[2]string]Claims{},
		v3PageSize:    20,
		faults:        map[string][]fault{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Env is the environment that points CircleCI's CLI conventions, and so
// this tool, at the stand-in: CIRCLE_TOKEN and CIRCLE_HOST.
func (s *Server) Env() map[string]string {
	return map[string]string{"CIRCLE_TOKEN": s.token, "CIRCLE_HOST": s.URL}
}

// AddOrg adds an organization to the token's collaborations.
func (s *Server) AddOrg(o Org) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orgs = append(s.orgs, o)
}

// AddProject adds a project the token can see.
func (s *Server) AddProject(p Project) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects = append(s.projects, p)
}

// SetOrgClaims sets an organization's token settings.
func (s *Server) SetOrgClaims(orgID string, c Claims) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orgClaims[orgID] = c
}

// SetProjectClaims sets a project's token settings.
func (s *Server) SetProjectClaims(orgID, projectID string, c Claims) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projectClaims[[2]string{orgID, projectID}] = c
}

// SetPageSize sets how many items a page of the v3 project listing holds
// (default 20); page[limit] in a request overrides it, as in the real API.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.v3PageSize = max(n, 1)
}

// FailNext answers the next n requests of path with status and CircleCI's
// error body for it; retryAfter, when not "", is sent as Retry-After.
func (s *Server) FailNext(path string, n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[path] = append(s.faults[path], fault{status: status, retryAfter: retryAfter})
	}
}

// SetDelay makes every answer wait d (or until the request is cancelled),
// for timeout tests.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// RequestsTo returns how many requests path received.
func (s *Server) RequestsTo(path string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

var statusMessages = map[int]string{
	http.StatusUnauthorized:        "You must log in first.",
	http.StatusForbidden:           "Permission denied",
	http.StatusNotFound:            "Not found",
	http.StatusTooManyRequests:     "Rate limit exceeded",
	http.StatusInternalServerError: "Internal server error",
	http.StatusBadGateway:          "Bad gateway",
	http.StatusServiceUnavailable:  "Service unavailable",
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	if msg == "" {
		msg = statusMessages[status]
	}
	writeJSON(w, status, map[string]string{"message": msg})
}

// authKind names the credential a request carries and whether it is the
// expected token.
func (s *Server) authKind(r *http.Request) (kind string, ok bool) {
	if t := r.Header.Get("Circle-Token"); t != "" {
		return "Circle-Token", t == s.token
	}
	if h := r.Header.Get("Authorization"); h != "" {
		if t, found := strings.CutPrefix(h, "Bearer "); found {
			return "Bearer", t == s.token
		}
		if u, _, found := r.BasicAuth(); found {
			return "Basic", u == s.token
		}
		return "Authorization", false
	}
	return "", false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	kind, authOK := s.authKind(r)
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Auth: kind,
		Accept: r.Header.Get("Accept"), UserAgent: r.Header.Get("User-Agent"),
	})
	delay := s.delay
	var f *fault
	if q := s.faults[r.URL.Path]; len(q) > 0 {
		f = &q[0]
		s.faults[r.URL.Path] = q[1:]
	}
	s.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if f != nil {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		writeError(w, f.status, "")
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	v3 := strings.HasPrefix(r.URL.Path, "/api/v3/")
	if !authOK || v3 && kind != "Bearer" {
		writeError(w, http.StatusUnauthorized, "")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	path := r.URL.Path
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	switch {
	case path == "/api/v2/me/collaborations":
		s.serveCollaborations(w)
	case len(parts) == 6 && parts[0] == "api" && parts[1] == "v2" && parts[2] == "project":
		s.serveProject(w, parts[3], parts[4], parts[5])
	case len(parts) == 5 && parts[1] == "v2" && parts[2] == "org" && parts[4] == "oidc-custom-claims":
		s.serveClaims(w, parts[3], "")
	case len(parts) == 7 && parts[1] == "v2" && parts[2] == "org" && parts[4] == "project" && parts[6] == "oidc-custom-claims":
		s.serveClaims(w, parts[3], parts[5])
	case path == "/api/v3/projects":
		s.serveV3Projects(w, r.URL.Query())
	default:
		writeError(w, http.StatusNotFound, "Not found")
	}
}

func (s *Server) serveCollaborations(w http.ResponseWriter) {
	out := make([]map[string]string, 0, len(s.orgs))
	for _, o := range s.orgs {
		key := "vcs_type"
		if o.HyphenatedVCSType {
			key = "vcs-type"
		}
		out = append(out, map[string]string{"id": o.ID, "name": o.Name, "slug": o.Slug, key: o.VCSType, "avatar_url": "https://avatars.example/" + o.Name})
	}
	writeJSON(w, http.StatusOK, out)
}

// shortPrefix maps the long VCS spellings the API accepts to the short ones
// it answers with.
func shortPrefix(p string) string {
	switch p {
	case "github":
		return "gh"
	case "bitbucket":
		return "bb"
	}
	return p
}

func (s *Server) serveProject(w http.ResponseWriter, prefix, org, name string) {
	slug := shortPrefix(prefix) + "/" + org + "/" + name
	for _, p := range s.projects {
		// circleci/<orgID>/<projectID> resolves too, as for the real API.
		if p.Slug == slug || prefix == "circleci" && org == p.OrgID && name == p.ID {
			writeJSON(w, http.StatusOK, map[string]any{
				"slug": p.Slug, "name": p.Name, "id": p.ID,
				"organization_name": p.OrgName, "organization_slug": p.OrgSlug, "organization_id": p.OrgID,
				"vcs_info": map[string]string{"vcs_url": p.VCSURL, "provider": p.Provider, "default_branch": p.DefaultBranch},
			})
			return
		}
	}
	writeError(w, http.StatusNotFound, "Project not found")
}

// serveClaims answers a GET of oidc-custom-claims: 200 even when nothing is
// set, with audience and ttl (and their *_updated_at) only when set. An
// organization the token does not belong to, or a project not in it, gets
// 404; what the real API answers there is not documented.
func (s *Server) serveClaims(w http.ResponseWriter, orgID, projectID string) {
	if !slices.ContainsFunc(s.orgs, func(o Org) bool { return o.ID == orgID }) {
		writeError(w, http.StatusNotFound, "Organization not found")
		return
	}
	body := map[string]any{"org_id": orgID}
	c := s.orgClaims[orgID]
	if projectID != "" {
		if !slices.ContainsFunc(s.projects, func(p Project) bool { return p.ID == projectID && p.OrgID == orgID }) {
			writeError(w, http.StatusNotFound, "Project not found")
			return
		}
		body["project_id"] = projectID
		c = s.projectClaims[[2]string{orgID, projectID}]
	}
	const updated = "2026-08-01T12:00:00Z"
	if len(c.Audience) > 0 {
		// The real API does not keep the order; answering reversed makes a
		// client that relies on it fail.
		aud := slices.Clone(c.Audience)
		slices.Reverse(aud)
		body["audience"], body["audience_updated_at"] = aud, updated
	}
	if c.TTL != "" {
		body["ttl"], body["ttl_updated_at"] = c.TTL, updated
	}
	writeJSON(w, http.StatusOK, body)
}

func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

// decodeCursor returns the offset a cursor stands for, or false.
func decodeCursor(c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
	return n, err == nil && n >= 0
}

func (s *Server) serveV3Projects(w http.ResponseWriter, q url.Values) {
	orgID := q.Get("filter[org_id]")
	if orgID == "" {
		writeError(w, http.StatusBadRequest, "filter[org_id] is required")
		return
	}
	size := s.v3PageSize
	if l := q.Get("page[limit]"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "page[limit] must be a positive number")
			return
		}
		size = n
	}
	offset := 0
	if c := q.Get("page[cursor]"); c != "" {
		var ok bool
		if offset, ok = decodeCursor(c); !ok {
			writeError(w, http.StatusBadRequest, "invalid page[cursor]")
			return
		}
	}
	var matching []Project
	for _, p := range s.projects {
		if p.OrgID == orgID {
			matching = append(matching, p)
		}
	}
	data := []map[string]any{}
	end := min(offset+size, len(matching))
	for _, p := range matching[min(offset, len(matching)):end] {
		data = append(data, map[string]any{
			"id":         p.ID,
			"attributes": map[string]any{"name": p.Name},
			"references": map[string]any{"org": map[string]any{"id": p.OrgID}},
		})
	}
	page := map[string]any{"next": nil, "prev": nil}
	if end < len(matching) {
		page["next"] = encodeCursor(end)
	}
	if offset > 0 {
		page["prev"] = encodeCursor(max(offset-size, 0))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "page": page})
}
