package circleci_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
)

func TestParseOrgSlug(t *testing.T) {
	tests := []struct {
		in       string
		want     string
		wantRule string
	}{
		{in: "gh/acme", want: "gh/acme"},
		{in: "github/acme", want: "gh/acme"},
		{in: "bb/acme", want: "bb/acme"},
		{in: "bitbucket/acme-co", want: "bb/acme-co"},
		{in: "circleci/9a1b2c3d-0000-4000-8000-000000000001", want: "circleci/9a1b2c3d-0000-4000-8000-000000000001"},
		{in: "circleci/AbC123", want: "circleci/AbC123"},
		{in: "acme", wantRule: "must start with gh/"},
		{in: "", wantRule: "must start with gh/"},
		{in: "gitlab/acme", wantRule: "must start with gh/"},
		{in: "GH/acme", wantRule: "must start with gh/"},
		{in: "gh/", wantRule: "organization must not be empty"},
		{in: "gh", wantRule: "must have two parts"},
		{in: "gh/acme/app", wantRule: "must have two parts"},
		{in: "gh/ac me", wantRule: "may contain only"},
		{in: "gh/..", wantRule: `must not be "." or ".."`},
		{in: "gh/acme%2F", wantRule: "may contain only"},
		{in: "gh/" + strings.Repeat("a", 101), wantRule: "at most 100"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := circleci.ParseOrgSlug(tt.in)
			if tt.wantRule != "" {
				var se *circleci.SlugError
				if !errors.As(err, &se) || se.Field != "org" || se.Value != tt.in || !strings.Contains(se.Rule, tt.wantRule) {
					t.Fatalf("ParseOrgSlug(%q) error = %v, want a *SlugError for org with rule containing %q", tt.in, err, tt.wantRule)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseOrgSlug(%q): %v", tt.in, err)
			}
			if got.String() != tt.want {
				t.Errorf("ParseOrgSlug(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseProjectSlug(t *testing.T) {
	tests := []struct {
		in       string
		want     string
		wantRule string
	}{
		{in: "gh/acme/app", want: "gh/acme/app"},
		{in: "github/acme/app.web", want: "gh/acme/app.web"},
		{in: "bb/acme/app_1", want: "bb/acme/app_1"},
		{in: "bitbucket/acme/app", want: "bb/acme/app"},
		{in: "circleci/Org1/Proj2", want: "circleci/Org1/Proj2"},
		{in: "acme/app", wantRule: "must start with gh/"},
		{in: "gh/acme", wantRule: "must have three parts"},
		{in: "gh/acme/app/", wantRule: "must have three parts"},
		{in: "gh//app", wantRule: "organization must not be empty"},
		{in: "gh/acme/", wantRule: "project must not be empty"},
		{in: "gh/acme/..", wantRule: `project must not be "." or ".."`},
		{in: "gh/acme/app?x=1", wantRule: "project may contain only"},
		{in: "gh/acme/app#x", wantRule: "project may contain only"},
		{in: "gh/acme/ap\np", wantRule: "project may contain only"},
		{in: "gh/acmé/app", wantRule: "organization may contain only"},
		{in: " gh/acme/app", wantRule: "must start with gh/"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := circleci.ParseProjectSlug(tt.in)
			if tt.wantRule != "" {
				var se *circleci.SlugError
				if !errors.As(err, &se) || se.Field != "project" || se.Value != tt.in || !strings.Contains(se.Rule, tt.wantRule) {
					t.Fatalf("ParseProjectSlug(%q) error = %v, want a *SlugError for project with rule containing %q", tt.in, err, tt.wantRule)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseProjectSlug(%q): %v", tt.in, err)
			}
			if got.String() != tt.want {
				t.Errorf("ParseProjectSlug(%q) = %s, want %s", tt.in, got, tt.want)
			}
			if org := got.OrgSlug(); org.Prefix != got.Prefix || org.Org != got.Org {
				t.Errorf("OrgSlug() = %+v, want the project's prefix and org", org)
			}
		})
	}
}

func TestProjectSlugPathEscaped(t *testing.T) {
	// Parsed slugs hold no character that needs escaping, so build one
	// directly: each segment is escaped and the separators stay.
	s := circleci.ProjectSlug{Prefix: "gh", Org: "a b", Project: "c/d?"}
	if got, want := s.PathEscaped(), "gh/a%20b/c%2Fd%3F"; got != want {
		t.Errorf("PathEscaped() = %q, want %q", got, want)
	}
}

func TestLooksLikeUUID(t *testing.T) {
	tests := map[string]bool{
		"9a1b2c3d-0000-4000-8000-000000000001":  true,
		"9A1B2C3D-ABCD-4000-8000-00000000000F":  true,
		"9a1b2c3d00004000800000000000000001":    false,
		"9a1b2c3d-0000-4000-8000-00000000000g":  false,
		"9a1b2c3d-0000-4000-8000-0000000000011": false,
		"9a1b2c3d_0000-4000-8000-000000000001":  false,
		"gh/acme":                               false,
		"":                                      false,
	}
	for in, want := range tests {
		if got := circleci.LooksLikeUUID(in); got != want {
			t.Errorf("LooksLikeUUID(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzParseProjectSlug(f *testing.F) {
	for _, s := range []string{"gh/acme/app", "github/a/b", "bitbucket/x/y.z", "circleci/o/p", "gh/a", "gh/a/b/c", "gh/../x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := circleci.ParseProjectSlug(in)
		if err != nil {
			var se *circleci.SlugError
			if !errors.As(err, &se) || se.Field != "project" {
				t.Fatalf("ParseProjectSlug(%q) error %v is not a project *SlugError", in, err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		again, err := circleci.ParseProjectSlug(got.String())
		if err != nil || again != got {
			t.Fatalf("%q parsed to %+v, whose String %q parses to %+v, %v", in, got, got.String(), again, err)
		}
		if got.PathEscaped() != got.String() {
			t.Fatalf("a parsed slug needs no escaping, but %q escapes to %q", got, got.PathEscaped())
		}
		if _, err := circleci.ParseOrgSlug(got.OrgSlug().String()); err != nil {
			t.Fatalf("the org slug %q of %q does not parse: %v", got.OrgSlug(), in, err)
		}
	})
}
