package provision

import (
	"errors"
	"strings"
	"testing"
)

func TestWriteTextSaysWhatHappensToEachResource(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T) *fakeAWS
		provider string
		role     string
	}{
		{"empty account", func(*testing.T) *fakeAWS { f := newFakeAWS(); f.repos["app"] = true; return f }, "will be created", "will be created"},
		{"converged", converged, "exists, matches (no change)", "exists, matches (no change)"},
		{"drifted role", func(t *testing.T) *fakeAWS {
			f := converged(t)
			delete(f.roles[DefaultRoleName].inline, PolicyName)
			return f
		}, "exists, matches (no change)", "exists, will be updated"},
		{"shared provider without our audience", func(t *testing.T) *fakeAWS {
			f := converged(t)
			f.providers[testProviderARN].clientIDs = []string{"other"}
			return f
		}, "the organization ID will be added as an audience", "exists, matches (no change)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := planFor(t, tt.setup(t), validSpec())
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := p.WriteText(&b, false); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(b.String(), "\n")
			for i, l := range lines {
				if strings.HasPrefix(l, "OIDC provider") && !strings.Contains(lines[i+1], tt.provider) {
					t.Errorf("provider state %q, want %q", lines[i+1], tt.provider)
				}
				if strings.HasPrefix(l, "IAM role") && !strings.Contains(lines[i+1], tt.role) {
					t.Errorf("role state %q, want %q", lines[i+1], tt.role)
				}
			}
		})
	}
}

// TestWriteTextShowsNames: when CircleCI named the organization and the
// projects, the plan shows each slug next to its ID, and says so when the
// token settings were read and set no audience besides the organization ID.
func TestWriteTextShowsNames(t *testing.T) {
	const other = "11111111-2222-4333-8444-555555555555"
	named := validSpec()
	named.ProjectIDs = []string{testProject, other}
	named.Names = Names{Org: "gh/acme", Projects: map[string]string{testProject: "gh/acme/app"}}
	named.AudiencesRead = true
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, named)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := p.WriteText(&b, false); err != nil {
		t.Fatal(err)
	}
	want := "Organization   gh/acme (" + testOrg + ")\n" +
		"Projects       gh/acme/app (" + testProject + ")\n" +
		"               " + other + "\n" +
		"Audiences      " + testOrg + " (the organization ID; CircleCI's token settings set no other)\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("plan text lacks\n%s\nin:\n%s", want, b.String())
	}

	// IDs alone, and no token: the plan text is as it always was.
	plain, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := plain.WriteText(&b, false); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Organization", "Projects", "Audiences"} {
		if strings.Contains(b.String(), s) {
			t.Errorf("a plan from IDs alone shows %q:\n%s", s, b.String())
		}
	}
}

// TestEventLine checks the progress line of each kind of event, alone and
// labelled with its account in a multi-account run.
func TestEventLine(t *testing.T) {
	role := Change{Action: ActionCreate, Resource: ResourceRole, Name: "ci"}
	tests := []struct {
		name  string
		event Event
		want  string
	}{
		{"start", Event{Change: role}, ""},
		{"done", Event{Change: role, Done: true}, "  ✓ create iam-role ci"},
		{"failed", Event{Change: role, Done: true, Err: errors.New("AccessDenied")}, "  ✗ create iam-role ci"},
		{"message", Event{Message: "waiting for IAM"}, "  … waiting for IAM"},
		{"account's start", Event{Change: role, Account: "111111111111 (prod)"}, ""},
		{"account's done", Event{Change: role, Done: true, Account: "111111111111 (prod)"}, "111111111111 (prod):  ✓ create iam-role ci"},
		{"account's message", Event{Message: "waiting for IAM", Account: "dev"}, "dev:  … waiting for IAM"},
	}
	for _, tt := range tests {
		if got := tt.event.Line(); got != tt.want {
			t.Errorf("%s: Line() = %q, want %q", tt.name, got, tt.want)
		}
	}
}
