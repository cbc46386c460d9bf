package circleci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/golden"
)

func TestCallsGolden(t *testing.T) {
	var text, js bytes.Buffer
	if err := circleci.WriteCallsText(&text); err != nil {
		t.Fatal(err)
	}
	if err := circleci.WriteCallsJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "calls.txt"), text.Bytes())
	golden.Check(t, filepath.Join("testdata", "calls.json"), js.Bytes())
	var decoded struct {
		Token string          `json:"token"`
		Calls []circleci.Call `json:"calls"`
	}
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil || len(decoded.Calls) != len(circleci.Calls) || decoded.Token == "" {
		t.Errorf("JSON does not decode to the calls: %v", err)
	}
}

// endpointPattern turns an endpoint with {parameters} into a regular
// expression for request paths: {project-slug} is three segments, any
// other parameter one.
func endpointPattern(endpoint string) *regexp.Regexp {
	re := regexp.QuoteMeta(endpoint)
	re = strings.ReplaceAll(re, `\{project-slug\}`, `[^/]+/[^/]+/[^/]+`)
	re = regexp.MustCompile(`\\\{[a-z-]+\\\}`).ReplaceAllString(re, `[^/]+`)
	return regexp.MustCompile("^" + re + "$")
}

// TestCallsListEveryRequest runs every lookup the client offers against
// the stand-in (Resolve with a slug, a name and IDs, and ListProjects) and
// checks that each request matches a listed call with the same credential,
// and that every listed call was made.
func TestCallsListEveryRequest(t *testing.T) {
	s := newStandIn(t)
	s.SetPageSize(1)
	c := newClient(t, s, testToken)
	ctx := context.Background()
	if _, err := circleci.Resolve(ctx, c, "gh/acme", []string{"gh/acme/app", webID}); err != nil {
		t.Fatal(err)
	}
	if _, err := circleci.Resolve(ctx, c, "lab org", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListProjects(ctx, acmeID); err != nil {
		t.Fatal(err)
	}
	auth := map[string]string{"Circle-Token": circleci.AuthCircleTokenHeader, "Bearer": circleci.AuthBearerHeader}
	used := map[string]bool{}
	for _, r := range s.Requests() {
		matched := false
		for _, call := range circleci.Calls {
			if r.Method == call.Method && endpointPattern(call.Endpoint).MatchString(r.Path) {
				matched = true
				used[call.Endpoint] = true
				if auth[r.Auth] != call.Auth {
					t.Errorf("%s %s sent %s, Calls says %s", r.Method, r.Path, r.Auth, call.Auth)
				}
			}
		}
		if !matched {
			t.Errorf("%s %s is not in circleci.Calls", r.Method, r.Path)
		}
	}
	for _, call := range circleci.Calls {
		if !used[call.Endpoint] {
			t.Errorf("Calls lists %s, which no lookup made", call.Endpoint)
		}
	}
}

// TestCallsDocumented keeps docs/permissions.md in step with Calls.
func TestCallsDocumented(t *testing.T) {
	md, err := os.ReadFile(filepath.Join("..", "docs", "permissions.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range circleci.Calls {
		if !strings.Contains(string(md), "`"+c.Method+" "+c.Endpoint) {
			t.Errorf("docs/permissions.md does not list %s %s", c.Method, c.Endpoint)
		}
	}
}
