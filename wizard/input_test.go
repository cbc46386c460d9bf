package wizard

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

func TestGivenBy(t *testing.T) {
	tests := []struct {
		name       string
		in         provision.Input
		access, rn bool
		want       Given
	}{
		{name: "nothing", in: provision.Input{RoleName: provision.DefaultRoleName, Access: "pull"}, want: Given{}},
		{name: "defaults set explicitly", in: provision.Input{RoleName: "r", Access: "push"}, access: true, rn: true, want: Given{Access: true, RoleName: true}},
		{name: "values", in: provision.Input{OrgID: "gh/acme", Repositories: []string{"app"}, ProjectCondition: "sub", Region: "eu-west-1", Image: "img"},
			want: Given{OrgID: true, Repositories: true, ProjectCondition: true, Region: true, Image: true}},
		{name: "projects", in: provision.Input{ProjectIDs: []string{project1}}, want: Given{Projects: true}},
		{name: "all projects", in: provision.Input{AllProjects: true}, want: Given{Projects: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := GivenBy(&tt.in, tt.access, tt.rn); got != tt.want {
				t.Errorf("GivenBy() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStartSpec(t *testing.T) {
	in := provision.Input{OrgID: "gh/acme", ProjectIDs: []string{"gh/acme/app", project1}, Repositories: []string{"app"}}
	// Not resolved yet: project slugs wait for the wizard's organization.
	got := startSpec(&in, "us-east-1")
	if want := []string{provision.PlaceholderProjectID, project1}; !reflect.DeepEqual(got.ProjectIDs, want) || got.OrgID != "gh/acme" || got.Region != "us-east-1" {
		t.Errorf("startSpec() = %+v, want projects %v", got, want)
	}
	// Resolved: the IDs CircleCI gave.
	in.Resolved.Keep(in.OrgID, in.ProjectIDs, &circleci.Resolution{
		Org:      circleci.ResolvedOrg{Slug: "gh/acme", ID: orgID},
		Projects: []circleci.ResolvedProject{{Input: "gh/acme/app", ID: project2}, {Input: project1, ID: project1}},
	})
	got = startSpec(&in, "us-east-1")
	if want := []string{project2, project1}; !reflect.DeepEqual(got.ProjectIDs, want) || got.OrgID != orgID {
		t.Errorf("resolved startSpec() = %+v, want org %s and projects %v", got, orgID, want)
	}
}

func TestStoreKeepsGivenValues(t *testing.T) {
	answer := provision.Spec{
		OrgID: orgID, Repositories: []string{"app"}, ProjectIDs: []string{project1}, ProjectCondition: policy.Sub,
		RoleName: "r", Region: "eu-west-1", Image: "img", Access: policy.AccessPush,
		Names: provision.Names{Org: "gh/acme", Projects: map[string]string{project1: "gh/acme/app"}},
	}
	in := provision.Input{OrgID: "gh/acme", ProjectIDs: []string{"gh/acme/app"}}
	store(&in, answer, Given{OrgID: true, Projects: true})
	want := provision.Input{
		OrgID: "gh/acme", ProjectIDs: []string{"gh/acme/app"}, Repositories: []string{"app"}, ProjectCondition: "sub",
		RoleName: "r", Region: "eu-west-1", Image: "img", Access: "push",
	}
	want.Resolved.Names = answer.Names
	if !reflect.DeepEqual(in, want) {
		t.Errorf("store() = %+v\nwant %+v", in, want)
	}
	in = provision.Input{}
	store(&in, answer, Given{})
	if in.OrgID != orgID || !reflect.DeepEqual(in.ProjectIDs, []string{project1}) {
		t.Errorf("store() of answered values = %+v, want the answers", in)
	}
}

func TestFillInput(t *testing.T) {
	aws := &fakeAWS{repos: []string{"app"}}
	in := provision.Input{Repositories: []string{"app"}, AllProjects: true, RoleName: provision.DefaultRoleName, Access: "pull"}
	given := GivenBy(&in, true, true)
	given.Image = true
	w := New(aws.deps(), Options{In: answers("", orgID), Out: io.Discard, Accessible: true})
	if err := w.FillInput(context.Background(), &in, "us-east-1", given); err != nil {
		t.Fatal(err)
	}
	if in.OrgID != orgID || in.Region != "us-east-1" || !in.AllProjects || in.RoleName != provision.DefaultRoleName {
		t.Errorf("FillInput() left %+v, want the organization and region answered and the rest kept", in)
	}
	// Quitting leaves the input as it was.
	before := provision.Input{Repositories: []string{"app"}, AllProjects: true}
	after := before
	w = New(aws.deps(), Options{In: answers("", orgID), Out: io.Discard, Accessible: true})
	if err := w.FillInput(context.Background(), &after, "us-east-1", Given{}); !errors.Is(err, ErrAborted) || !reflect.DeepEqual(after, before) {
		t.Errorf("FillInput() = %v, left %+v; want ErrAborted and the input unchanged", err, after)
	}
}

// TestStartChecksBeforeAsking checks that Start refuses a bad given value
// before it loads the AWS configuration or asks anything, and that a
// configuration that fails to load stops it before any question.
func TestStartChecksBeforeAsking(t *testing.T) {
	t.Setenv("CIRCLE_TOKEN", "")
	t.Setenv("CIRCLECI_CLI_TOKEN", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	loadFailure := errors.New("load AWS configuration: no profile")
	for _, tt := range []struct {
		name      string
		in        provision.Input
		wantField provision.Field
		wantLoad  bool
	}{
		{name: "bad repository", in: provision.Input{Repositories: []string{"Bad Repo!"}, RoleName: provision.DefaultRoleName, Access: "pull"}, wantField: provision.FieldRepo},
		{name: "bad region", in: provision.Input{Region: "mars-1", RoleName: provision.DefaultRoleName, Access: "pull"}, wantField: provision.FieldRegion},
		{name: "configuration fails", in: provision.Input{RoleName: provision.DefaultRoleName, Access: "pull"}, wantLoad: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			loaded := false
			var out strings.Builder
			w, err := Start(t.Context(), &tt.in, Given{}, func(context.Context) (aws.Config, error) {
				loaded = true
				return aws.Config{}, loadFailure
			}, Options{In: strings.NewReader(""), Out: &out, Accessible: true})
			var input *provision.InputError
			switch {
			case tt.wantField != "" && (!errors.As(err, &input) || input.Field != tt.wantField):
				t.Errorf("Start() error = %v, want an input error of %s", err, tt.wantField)
			case tt.wantField == "" && !errors.Is(err, loadFailure):
				t.Errorf("Start() error = %v, want the load's", err)
			}
			if loaded != tt.wantLoad || w != nil || out.Len() != 0 {
				t.Errorf("loaded %v (want %v), wizard %v, asked %q: want nothing asked", loaded, tt.wantLoad, w, out.String())
			}
		})
	}
}
