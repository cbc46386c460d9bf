package policy

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/golden"
)

func TestAudienceValues(t *testing.T) {
	tests := []struct {
		name      string
		audiences []string
		want      Values
	}{
		{name: "none: the organization ID alone", want: Values{org}},
		{name: "the organization ID first, the others sorted", audiences: []string{"z-aud", "a-aud"}, want: Values{org, "a-aud", "z-aud"}},
		{name: "repeats and the organization ID dropped", audiences: []string{"b", org, "b", "a"}, want: Values{org, "a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AudienceValues(org, tt.audiences); !slices.Equal(got, tt.want) {
				t.Errorf("AudienceValues = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTrustPolicyAudiencesGolden(t *testing.T) {
	tests := []struct {
		golden string
		trust  Trust
	}{
		{"trust-claim-audiences.json", Trust{Partition: "aws", Account: account, OrgID: org, ProjectIDs: []string{project1},
			Audiences: []string{"https://ci.example.com", org, "api://acme-ci", "https://ci.example.com"}}},
		{"trust-sub-audiences.json", Trust{Partition: "aws", Account: account, OrgID: org, ProjectIDs: []string{project1}, Condition: Sub,
			Audiences: []string{"api://acme-ci"}}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			doc, err := TrustPolicy(tt.trust)
			if err != nil {
				t.Fatal(err)
			}
			s, err := doc.Indented()
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tt.golden), []byte(s+"\n"))
		})
	}
}

func TestTrustPolicyRefusesUncomparableAudiences(t *testing.T) {
	for _, bad := range []string{"", "${aws:username}", "prefix-${x}"} {
		_, err := TrustPolicy(Trust{Partition: "aws", Account: account, OrgID: org, ProjectIDs: []string{project1}, Audiences: []string{"ok", bad}})
		if err == nil || !strings.Contains(err.Error(), "audience") {
			t.Errorf("TrustPolicy with audience %q: error %v, want one naming the audience", bad, err)
		}
	}
}

// TestTrustPolicyAudienceConditionAdmitsExactlyTheListed evaluates the
// trust policies (each project form) against tokens that meet every other
// condition: only an aud equal to the organization ID or to a listed
// audience may assume the role; a prefix, an extension, another case, a
// wildcard read as a pattern, sts.amazonaws.com or no aud may not.
func TestTrustPolicyAudienceConditionAdmitsExactlyTheListed(t *testing.T) {
	const user = "a1b2c3d4-5555-4d5e-8f60-456789abcdef"
	provider := ProviderPath(org)
	listed := []string{"api://acme-ci", "https://ci.example.com/*"}
	tests := []struct {
		name    string
		aud     []string
		listed  []string // the Trust's Audiences; nil means listed
		allowed bool
	}{
		{name: "the organization ID", aud: []string{org}, allowed: true},
		{name: "a listed audience", aud: []string{"api://acme-ci"}, allowed: true},
		{name: "a listed audience holding *, compared literally", aud: []string{"https://ci.example.com/*"}, allowed: true},
		{name: "what the * would match as a pattern", aud: []string{"https://ci.example.com/x"}},
		{name: "a prefix of a listed audience", aud: []string{"api://acme"}},
		{name: "a listed audience extended", aud: []string{"api://acme-ci-evil"}},
		{name: "a listed audience in another case", aud: []string{"API://ACME-CI"}},
		{name: "the organization ID in upper case", aud: []string{strings.ToUpper(org)}},
		{name: "the organization ID as a prefix", aud: []string{org + "x"}},
		{name: "sts.amazonaws.com, not listed", aud: []string{"sts.amazonaws.com"}},
		{name: "sts.amazonaws.com when listed", aud: []string{"sts.amazonaws.com"}, listed: []string{"sts.amazonaws.com"}, allowed: true},
		{name: "a listed audience when none is listed", aud: []string{"api://acme-ci"}, listed: []string{}},
		{name: "no aud", aud: nil},
		{name: "a listed and an unlisted audience together", aud: []string{"api://acme-ci", "evil"}},
	}
	forms := []Trust{
		{ProjectIDs: []string{project1}, Condition: ClaimKey},
		{ProjectIDs: []string{project1}, Condition: Sub},
		{AllProjects: true},
		{ProjectIDs: []string{project1}, Branches: []string{"refs/heads/main"}},
	}
	for _, form := range forms {
		for _, tt := range tests {
			trust := form
			trust.Partition, trust.Account, trust.OrgID = "aws", account, org
			trust.Audiences = listed
			if tt.listed != nil {
				trust.Audiences = tt.listed
			}
			name := string(form.Condition) + strings.Join(form.Branches, "") + map[bool]string{true: "all-projects"}[form.AllProjects]
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				doc, err := TrustPolicy(trust)
				if err != nil {
					t.Fatal(err)
				}
				keys := map[string][]string{
					provider + ":sub":               {"org/" + org + "/project/" + project1 + "/user/" + user + "/vcs-origin/github.com/acme/app/vcs-ref/refs/heads/main"},
					provider + ":" + ProjectIDClaim: {project1},
					provider + ":aud":               tt.aud,
				}
				d := Evaluate(doc, Request{ProviderARN: ProviderARN("aws", account, org), Keys: keys})
				if d.Allowed != tt.allowed {
					t.Errorf("aud %q: allowed = %v, want %v (%s)", tt.aud, d.Allowed, tt.allowed, strings.Join(d.Reasons, "; "))
				}
				if !tt.allowed && !d.Allowed && (d.Failed == nil || ShortKey(d.Failed.Key) != "aud") {
					t.Errorf("aud %q: denied by %+v, want by the aud condition", tt.aud, d.Failed)
				}
			})
		}
	}
}
