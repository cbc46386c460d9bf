package provision

import (
	"errors"
	"reflect"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
)

const (
	testOrgID     = "2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d"
	testProjectID = "8e7c4b1e-5a0d-4c3b-9f2e-1d6a7b8c9d0e"
)

func TestSpecWithPlaceholders(t *testing.T) {
	tests := []struct {
		name string
		in   Spec
		want Spec
	}{
		{"IDs stay", Spec{OrgID: testOrgID, Repositories: []string{"app"}, ProjectIDs: []string{testProjectID}},
			Spec{OrgID: testOrgID, Repositories: []string{"app"}, ProjectIDs: []string{testProjectID}}},
		{"missing values", Spec{},
			Spec{OrgID: PlaceholderOrgID, Repositories: []string{PlaceholderRepo}, ProjectIDs: []string{PlaceholderProjectID}}},
		{"slugs", Spec{OrgID: "gh/acme", Repositories: []string{"app"}, ProjectIDs: []string{"gh/acme/app", testProjectID}},
			Spec{OrgID: PlaceholderOrgID, Repositories: []string{"app"}, ProjectIDs: []string{PlaceholderProjectID, testProjectID}}},
		{"all projects", Spec{OrgID: testOrgID, Repositories: []string{"app"}, AllProjects: true},
			Spec{OrgID: testOrgID, Repositories: []string{"app"}, ProjectIDs: []string{}, AllProjects: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.WithPlaceholders(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("WithPlaceholders() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSpecWithProjectPlaceholders(t *testing.T) {
	given := []string{"gh/acme/app", testProjectID}
	got := Spec{OrgID: "gh/acme", ProjectIDs: given}.WithProjectPlaceholders()
	if want := []string{PlaceholderProjectID, testProjectID}; !reflect.DeepEqual(got.ProjectIDs, want) || got.OrgID != "gh/acme" {
		t.Errorf("WithProjectPlaceholders() = %+v, want projects %v and the org as given", got, want)
	}
	if given[0] != "gh/acme/app" {
		t.Errorf("WithProjectPlaceholders() changed the given slice: %v", given)
	}
	if got := (Spec{}).WithProjectPlaceholders(); got.ProjectIDs != nil {
		t.Errorf("WithProjectPlaceholders() of no projects = %#v, want nil", got.ProjectIDs)
	}
}

func TestSpecFillResolution(t *testing.T) {
	res := &circleci.Resolution{
		Org:           circleci.ResolvedOrg{Slug: "gh/acme", ID: testOrgID},
		Projects:      []circleci.ResolvedProject{{Input: "gh/acme/app", Slug: "gh/acme/app", ID: testProjectID}},
		AudiencesRead: true,
		Audiences:     []circleci.Audience{{Value: testOrgID, Source: "organization"}, {Value: "custom", Source: "project gh/acme/app custom audience"}},
	}
	s := Spec{OrgID: "gh/acme", ProjectIDs: []string{"gh/acme/app"}}
	s.FillResolution(res)
	want := Spec{
		OrgID: testOrgID, ProjectIDs: []string{testProjectID}, AudiencesRead: true,
		Audiences: []Audience{{Value: "custom", Source: "project gh/acme/app custom audience"}},
		Names:     Names{Org: "gh/acme", Projects: map[string]string{testProjectID: "gh/acme/app"}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("FillResolution() = %+v, want %+v", s, want)
	}
}

func TestValidateIdentity(t *testing.T) {
	tests := []struct {
		name, org, role string
		wantFlag        string
	}{
		{"ID", testOrgID, DefaultRoleName, ""},
		{"slug waits for CircleCI", "gh/acme", DefaultRoleName, ""},
		{"name waits for CircleCI", "Acme Corp", DefaultRoleName, ""},
		{"no organization", "  ", DefaultRoleName, "--org-id"},
		{"bad role with a slug", "gh/acme", "bad role", "--role-name"},
		{"bad role with an ID", testOrgID, "bad role", "--role-name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateIdentity(tt.org, tt.role)
			var input *InputError
			switch {
			case tt.wantFlag == "" && err != nil:
				t.Fatalf("ValidateIdentity() = %v, want nil", err)
			case tt.wantFlag != "" && (!errors.As(err, &input) || flagOf(input) != tt.wantFlag):
				t.Fatalf("ValidateIdentity() = %v, want an InputError for %s", err, tt.wantFlag)
			}
		})
	}
}

// TestResolved checks the resolution cache: kept for the values asked
// about, with the wizard's slugs where CircleCI answered none.
func TestResolved(t *testing.T) {
	var r Resolved
	projects := []string{testProjectID}
	if r.Current(testOrgID, projects) != nil {
		t.Fatal("Current() of an empty cache is not nil")
	}
	r.Names = Names{Org: "gh/acme", Projects: map[string]string{testProjectID: "gh/acme/app"}}
	res := &circleci.Resolution{Org: circleci.ResolvedOrg{ID: testOrgID}, Projects: []circleci.ResolvedProject{{Input: testProjectID, ID: testProjectID}}}
	r.Keep(testOrgID, projects, res)
	projects[0] = "changed after Keep"
	got := r.Current(testOrgID, []string{testProjectID})
	if got != res || got.Org.Slug != "gh/acme" || got.Projects[0].Slug != "gh/acme/app" {
		t.Fatalf("Current() = %+v, want the kept resolution with the wizard's slugs", got)
	}
	if r.Current("gh/acme", []string{testProjectID}) != nil || r.Current(testOrgID, nil) != nil {
		t.Error("Current() of other values is not nil")
	}
	var s Spec
	r.Fill(&s, testOrgID, []string{testProjectID})
	if s.OrgID != testOrgID || s.Names.Org != "gh/acme" {
		t.Errorf("Fill() = %+v, want the resolution's IDs and slugs", s)
	}
	other := Spec{OrgID: "gh/other"}
	r.Fill(&other, "gh/other", nil)
	if other.OrgID != "gh/other" {
		t.Errorf("Fill() of other values changed the spec: %+v", other)
	}
}
