package circlecitest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/circlecitest"
)

const token = "CCIPAT_standin_token"

func get(t *testing.T, url string, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if strings.HasPrefix(string(b), "{") {
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("answer is not JSON: %s", b)
		}
	} else {
		body = map[string]any{"array": string(b)}
	}
	return resp.StatusCode, resp.Header, body
}

func TestAuthentication(t *testing.T) {
	s := circlecitest.Start(t, token)
	v2 := s.URL + "/api/v2/me/collaborations"
	v3 := s.URL + "/api/v3/projects?filter[org_id]=x"
	tests := []struct {
		name   string
		url    string
		header []string
		want   int
		auth   string
	}{
		{"v2 Circle-Token", v2, []string{"Circle-Token", token}, 200, "Circle-Token"},
		{"v2 Bearer", v2, []string{"Authorization", "Bearer " + token}, 200, "Bearer"},
		{"v2 Basic", v2, []string{"Authorization", "Basic " + basic(token)}, 200, "Basic"},
		{"v2 wrong token", v2, []string{"Circle-Token", "nope"}, 401, "Circle-Token"},
		{"v2 none", v2, nil, 401, ""},
		{"v3 Bearer", v3, []string{"Authorization", "Bearer " + token}, 200, "Bearer"},
		{"v3 Circle-Token refused", v3, []string{"Circle-Token", token}, 401, "Circle-Token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Requests())
			status, _, body := get(t, tt.url, tt.header...)
			if status != tt.want {
				t.Errorf("status = %d, want %d", status, tt.want)
			}
			if status == 401 && body["message"] != "You must log in first." {
				t.Errorf("401 body = %v", body)
			}
			if r := s.Requests()[before]; r.Auth != tt.auth {
				t.Errorf("recorded auth %q, want %q", r.Auth, tt.auth)
			}
		})
	}
	if strings.Contains(strings.ToLower(fmtRequests(s)), strings.ToLower(token)) {
		t.Error("the request log holds the token")
	}
}

func basic(user string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	req.SetBasicAuth(user, "")
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func fmtRequests(s *circlecitest.Server) string {
	b, _ := json.Marshal(s.Requests())
	return string(b)
}

func TestProjectAndClaimsShapes(t *testing.T) {
	s := circlecitest.Start(t, token)
	s.AddOrg(circlecitest.Org{ID: "o1", Name: "acme", Slug: "gh/acme", VCSType: "github"})
	s.AddProject(circlecitest.Project{ID: "p1", Name: "app", Slug: "gh/acme/app", OrgID: "o1", OrgName: "acme", OrgSlug: "gh/acme", VCSURL: "https://github.com/acme/app", Provider: "GitHub", DefaultBranch: "main"})
	s.SetOrgClaims("o1", circlecitest.Claims{Audience: []string{"a", "b"}, TTL: "30m0s"})
	auth := []string{"Circle-Token", token}

	for _, slug := range []string{"gh/acme/app", "github/acme/app", "circleci/o1/p1"} {
		status, _, body := get(t, s.URL+"/api/v2/project/"+slug, auth...)
		if status != 200 || body["id"] != "p1" || body["organization_id"] != "o1" || body["slug"] != "gh/acme/app" {
			t.Errorf("GET project %s = %d %v", slug, status, body)
		}
		if vcs, _ := body["vcs_info"].(map[string]any); vcs["default_branch"] != "main" {
			t.Errorf("vcs_info = %v", body["vcs_info"])
		}
	}
	if status, _, body := get(t, s.URL+"/api/v2/project/gh/acme/none", auth...); status != 404 || body["message"] != "Project not found" {
		t.Errorf("unknown project = %d %v", status, body)
	}

	_, _, org := get(t, s.URL+"/api/v2/org/o1/oidc-custom-claims", auth...)
	if org["org_id"] != "o1" || org["ttl"] != "30m0s" || org["audience_updated_at"] == nil {
		t.Errorf("org claims = %v", org)
	}
	if aud, _ := org["audience"].([]any); len(aud) != 2 || aud[0] != "b" {
		t.Errorf("audience = %v, want both, not in the order set", org["audience"])
	}
	status, _, proj := get(t, s.URL+"/api/v2/org/o1/project/p1/oidc-custom-claims", auth...)
	if _, has := proj["audience"]; status != 200 || has || proj["project_id"] != "p1" || proj["org_id"] != "o1" {
		t.Errorf("unset project claims = %d %v, want 200 with the IDs only", status, proj)
	}
}

func TestFaultsAndDelay(t *testing.T) {
	s := circlecitest.Start(t, token)
	auth := []string{"Circle-Token", token}
	path := "/api/v2/me/collaborations"
	s.FailNext(path, 2, http.StatusTooManyRequests, "7")
	for i := range 2 {
		status, h, body := get(t, s.URL+path, auth...)
		if status != 429 || h.Get("Retry-After") != "7" || body["message"] == nil {
			t.Errorf("request %d = %d %v %v", i, status, h, body)
		}
	}
	if status, _, _ := get(t, s.URL+path, auth...); status != 200 {
		t.Errorf("after the faults: %d", status)
	}
	if n := s.RequestsTo(path); n != 3 {
		t.Errorf("RequestsTo = %d, want 3", n)
	}
	s.SetDelay(150 * time.Millisecond)
	start := time.Now()
	get(t, s.URL+path, auth...)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("answered after %s, before the delay", d)
	}
}

func TestV3Pagination(t *testing.T) {
	s := circlecitest.Start(t, token)
	for _, id := range []string{"a", "b", "c"} {
		s.AddProject(circlecitest.Project{ID: id, Name: id, OrgID: "o1"})
	}
	s.AddProject(circlecitest.Project{ID: "z", Name: "z", OrgID: "o2"})
	auth := []string{"Authorization", "Bearer " + token}
	var ids []string
	cursor := ""
	for range 5 {
		u := s.URL + "/api/v3/projects?filter[org_id]=o1&page[limit]=2"
		if cursor != "" {
			u += "&page[cursor]=" + cursor
		}
		status, _, body := get(t, u, auth...)
		if status != 200 {
			t.Fatalf("status %d: %v", status, body)
		}
		for _, d := range body["data"].([]any) {
			ids = append(ids, d.(map[string]any)["id"].(string))
		}
		next, _ := body["page"].(map[string]any)["next"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if strings.Join(ids, ",") != "a,b,c" {
		t.Errorf("ids = %v, want a,b,c", ids)
	}
	if status, _, _ := get(t, s.URL+"/api/v3/projects", auth...); status != 400 {
		t.Errorf("no filter: %d, want 400", status)
	}
}
