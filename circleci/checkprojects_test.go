package circleci

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckProjects(t *testing.T) {
	const id = "8e7c4b1e-5a0d-4c3b-9f2e-1d6a7b8c9d0e"
	tests := []struct {
		name      string
		projects  []string
		haveToken bool
		want      any
	}{
		{"IDs need no token", []string{id, " " + id + " "}, false, nil},
		{"slug with a token", []string{id, "gh/acme/app"}, true, nil},
		{"slug without a token", []string{id, "gh/acme/app"}, false, &TokenRequiredError{}},
		{"malformed slug", []string{"gh/acme"}, true, &SlugError{}},
		{"malformed before the token", []string{"xx/acme/app"}, false, &SlugError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c *Client
			if tt.haveToken {
				c = New(testCredentials(t, "CCIPAT_x"))
			}
			err := CheckProjects(c, tt.projects)
			var slug *SlugError
			var token *TokenRequiredError
			switch tt.want.(type) {
			case nil:
				if err != nil {
					t.Fatalf("CheckProjects() = %v, want nil", err)
				}
			case *SlugError:
				if !errors.As(err, &slug) || slug.Field != "project" {
					t.Fatalf("CheckProjects() = %v, want a project SlugError", err)
				}
			case *TokenRequiredError:
				if !errors.As(err, &token) || token.Field != "project" || token.Value != "gh/acme/app" {
					t.Fatalf("CheckProjects() = %v, want a TokenRequiredError for the slug", err)
				}
			}
		})
	}
}

// TestCheckProjectsRedactsTheToken: a token pasted as a project value is
// not repeated in the error, as Resolve does not repeat it.
func TestCheckProjectsRedactsTheToken(t *testing.T) {
	const token = "CCIPAT_cmdT0kenThatMustNeverLeak_0123456789abcdef"
	err := CheckProjects(New(testCredentials(t, token)), []string{token})
	var slug *SlugError
	if !errors.As(err, &slug) || strings.Contains(err.Error(), token) || slug.Value != "[token]" {
		t.Fatalf("CheckProjects() = %v, want a SlugError without the token", err)
	}
}

// testCredentials are credentials of token for the default host, loaded
// as FromEnvironment loads them from CIRCLE_TOKEN.
func testCredentials(t *testing.T, token string) Credentials {
	t.Helper()
	creds, err := LoadCredentials(func(k string) string { return map[string]string{"CIRCLE_TOKEN": token}[k] }, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return creds
}
