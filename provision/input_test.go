package provision

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/circlecitest"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// noCircleCI points the home directory at an empty one and unsets every
// variable that gives a CircleCI token or host: no token, so no request.
func noCircleCI(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	for _, k := range []string{"CIRCLE_TOKEN", "CIRCLECI_CLI_TOKEN", "CIRCLE_CLI_TOKEN", "CIRCLE_HOST", "CIRCLECI_CLI_HOST"} {
		t.Setenv(k, "")
	}
}

// validInput is an input with every required value, as IDs.
func validInput() Input {
	return Input{OrgID: testOrgID, Repositories: []string{"app"}, ProjectIDs: []string{testProjectID}, RoleName: DefaultRoleName, Access: "pull"}
}

func TestInputMissing(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Input)
		want []Field
	}{
		{"complete", func(*Input) {}, nil},
		{"all projects instead", func(in *Input) { in.ProjectIDs, in.AllProjects = nil, true }, nil},
		{"nothing", func(in *Input) { *in = Input{} }, []Field{FieldOrgID, FieldRepo, FieldProjectIDOrAllProjects}},
		{"no projects", func(in *Input) { in.ProjectIDs = nil }, []Field{FieldProjectIDOrAllProjects}},
		{"no organization", func(in *Input) { in.OrgID = "" }, []Field{FieldOrgID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			tt.edit(&in)
			if got := in.Missing(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Missing() = %v, want %v", got, tt.want)
			}
		})
	}
	err := MissingError([]Field{FieldOrgID, FieldRepo, FieldProjectIDOrAllProjects}, "is required")
	if want := "org-id, repo, project-id or all-projects is required"; err.Error() != want {
		t.Errorf("MissingError() = %q, want %q", err, want)
	}
}

func TestInputSpec(t *testing.T) {
	in := Input{
		OrgID: "gh/acme", Repositories: []string{"app"}, ProjectIDs: []string{"gh/acme/app"}, ProjectCondition: "sub",
		Branches: []string{"refs/heads/main"}, KeepUnusedRoles: true, RoleName: "r", Image: "img", Adopt: true,
		AllowMissingRepos: true, Tags: map[string]string{"team": "a"}, Access: "push", Region: "eu-west-1",
	}
	want := Spec{
		OrgID: "gh/acme", Repositories: []string{"app"}, ProjectIDs: []string{"gh/acme/app"}, ProjectCondition: policy.Sub,
		Branches: []string{"refs/heads/main"}, KeepUnusedRoles: true, RoleName: "r", Image: "img", Adopt: true,
		AllowMissingRepos: true, Tags: map[string]string{"team": "a"}, Access: policy.AccessPush, Region: "us-east-1",
	}
	if got := in.Spec("us-east-1"); !reflect.DeepEqual(got, want) {
		t.Errorf("Spec() = %+v\nwant %+v", got, want)
	}
	// Once resolved, the spec holds the IDs CircleCI gave.
	in.Resolved.Keep(in.OrgID, in.ProjectIDs, &circleci.Resolution{
		Org:      circleci.ResolvedOrg{Slug: "gh/acme", ID: testOrgID},
		Projects: []circleci.ResolvedProject{{Input: "gh/acme/app", Slug: "gh/acme/app", ID: testProjectID}},
	})
	got := in.Spec("us-east-1")
	if got.OrgID != testOrgID || !reflect.DeepEqual(got.ProjectIDs, []string{testProjectID}) || got.Names.Org != "gh/acme" {
		t.Errorf("resolved Spec() = %+v, want the resolved IDs and names", got)
	}
}

// inputErr returns err's *InputError, failing the test without one.
func inputErr(t *testing.T, err error) *InputError {
	t.Helper()
	var in *InputError
	if !errors.As(err, &in) {
		t.Fatalf("error %v (%T) is not an *InputError", err, err)
	}
	return in
}

func TestInputCheck(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*Input)
		wantField Field
		wantText  string
	}{
		{"valid", func(*Input) {}, "", ""},
		{"slugs stand for IDs", func(in *Input) { in.OrgID, in.ProjectIDs = "gh/acme", []string{"gh/acme/app"} }, "", ""},
		{"missing", func(in *Input) { in.OrgID, in.Repositories = "", nil }, FieldOrgID, "org-id, repo because"},
		{"keep unused roles without shard", func(in *Input) { in.KeepUnusedRoles = true }, FieldKeepUnusedRoles, "keep-unused-roles applies only with --shard"},
		{"keep unused roles with shard", func(in *Input) { in.KeepUnusedRoles, in.Shard = true, true }, "", ""},
		{"bad host", func(in *Input) { in.CircleCIHost = "ftp://x/y" }, FieldCircleCIHost, `invalid circleci-host "ftp://x/y"`},
		{"bad repository before the region", func(in *Input) { in.Repositories, in.Region = []string{"Bad"}, "nowhere" }, FieldRepo, `invalid repo "Bad"`},
		{"bad region", func(in *Input) { in.Region = "nowhere" }, FieldRegion, `invalid region "nowhere"`},
		{"bad project condition", func(in *Input) { in.ProjectCondition = "both" }, FieldProjectCondition, `invalid project-condition "both"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			tt.edit(&in)
			err := in.Check("because")
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("CheckInput() = %v, want nil", err)
				}
				return
			}
			if got := inputErr(t, err); got.Field != tt.wantField || !strings.HasPrefix(got.Error(), tt.wantText) {
				t.Errorf("Check() = %q (field %s), want field %s and %q...", err, got.Field, tt.wantField, tt.wantText)
			}
		})
	}
}

func TestInputCheckGiven(t *testing.T) {
	// Missing values get placeholders: only what is given is checked.
	if err := (&Input{Repositories: []string{"app"}}).CheckGiven("us-east-1"); err != nil {
		t.Errorf("CheckGiven() of a partial input = %v, want nil", err)
	}
	err := (&Input{Image: "not an image"}).CheckGiven("us-east-1")
	if got := inputErr(t, err); got.Field != FieldImage {
		t.Errorf("CheckGiven() = %v, want an image error", err)
	}
	err = (&Input{}).CheckGiven("nowhere")
	if got := inputErr(t, err); got.Field != FieldRegion {
		t.Errorf("CheckGiven(nowhere) = %v, want a region error", err)
	}
}

func TestVerifyRequestCheckInput(t *testing.T) {
	tests := []struct {
		name                 string
		req                  VerifyRequest
		edit                 func(*Input)
		wantErr              string
		wantToken, wantState bool
	}{
		{"state", VerifyRequest{}, func(*Input) {}, "", false, true},
		{"token alone", VerifyRequest{TokenFile: "-"}, func(in *Input) { in.Repositories, in.ProjectIDs = nil, nil }, "", true, false},
		{"token and state", VerifyRequest{Claims: "aud=x"}, func(*Input) {}, "", true, true},
		{"state missing", VerifyRequest{}, func(in *Input) { in.Repositories = nil }, "repo is required to compare the account with what setup would create", false, true},
		{"token, state half given", VerifyRequest{TokenFile: "-"}, func(in *Input) { in.Repositories = nil },
			"repo is required to compare the account with what setup would create (or leave out --repo and --project-id to check only the token)", true, true},
		{"token alone, no organization", VerifyRequest{TokenFile: "-"}, func(in *Input) { *in = Input{RoleName: DefaultRoleName} },
			"org-id is required: the CircleCI organization ID (Organization Settings → Overview), slug or name", true, false},
		{"registry profile", VerifyRequest{}, func(in *Input) { in.RegistryProfile = "reg" }, "registry-profile does not apply to verify", false, false},
		{"token and claims", VerifyRequest{TokenFile: "-", Claims: "aud=x"}, func(*Input) {}, "claims cannot be combined with --token", false, false},
		{"bad host first", VerifyRequest{}, func(in *Input) { in.CircleCIHost, in.RegistryProfile = "x", "reg" }, `invalid circleci-host "x"`, false, false},
		{"bad region last", VerifyRequest{}, func(in *Input) { in.Region = "nowhere" }, `invalid region "nowhere"`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, req := validInput(), tt.req
			tt.edit(&in)
			err := req.CheckInput(&in)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("CheckInput() = %v, want nil", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.HasPrefix(inputErr(t, err).Error(), tt.wantErr)) {
				t.Fatalf("CheckInput() = %v, want %q...", err, tt.wantErr)
			}
			if req.WithToken != tt.wantToken || req.WithState != tt.wantState {
				t.Errorf("WithToken, WithState = %v, %v; want %v, %v", req.WithToken, req.WithState, tt.wantToken, tt.wantState)
			}
		})
	}
}

func TestDestroyInputCheck(t *testing.T) {
	tests := []struct {
		name    string
		in      DestroyInput
		wantErr Field
	}{
		{"ID", DestroyInput{OrgID: testOrgID, RoleName: DefaultRoleName}, ""},
		{"slug and region", DestroyInput{OrgID: "gh/acme", RoleName: DefaultRoleName, Region: "eu-west-1"}, ""},
		{"no organization", DestroyInput{RoleName: DefaultRoleName}, FieldOrgID},
		{"bad role", DestroyInput{OrgID: testOrgID, RoleName: "a b"}, FieldRoleName},
		{"bad host", DestroyInput{OrgID: testOrgID, RoleName: DefaultRoleName, CircleCIHost: "x"}, FieldCircleCIHost},
		{"bad region", DestroyInput{OrgID: testOrgID, RoleName: DefaultRoleName, Region: "nowhere"}, FieldRegion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.CheckInput()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("CheckInput() = %v, want nil", err)
				}
				return
			}
			if got := inputErr(t, err); got.Field != tt.wantErr {
				t.Errorf("CheckInput() = %v, want field %s", err, tt.wantErr)
			}
		})
	}
}

func TestDestroyInputOrg(t *testing.T) {
	noCircleCI(t)
	ctx := context.Background()
	// An ID needs no token and no request, and is lowercased.
	org, err := DestroyInput{OrgID: strings.ToUpper(testOrgID)}.ResolveOrg(ctx, nil)
	if err != nil || org != testOrgID {
		t.Errorf("ResolveOrg() of an ID = %q, %v; want %q", org, err, testOrgID)
	}
	// A slug without a token is bad input of the organization.
	_, err = DestroyInput{OrgID: "gh/acme"}.ResolveOrg(ctx, nil)
	if got := inputErr(t, err); got.Field != FieldOrgID || !strings.HasPrefix(got.Error(), `org-id: find the ID of organization "gh/acme": looking it up needs a CircleCI API token`) {
		t.Errorf("ResolveOrg() of a slug without a token = %q", err)
	}
	// With a token CircleCI resolves it, and what was resolved is said.
	s := circlecitest.Start(t, "token-1")
	s.AddOrg(circlecitest.Org{ID: testOrgID, Name: "acme", Slug: "gh/acme", VCSType: "github"})
	t.Setenv("CIRCLE_TOKEN", "token-1")
	t.Setenv("CIRCLE_HOST", s.URL)
	var notes bytes.Buffer
	org, err = DestroyInput{OrgID: "gh/acme"}.ResolveOrg(ctx, &notes)
	if err != nil || org != testOrgID || !strings.Contains(notes.String(), "gh/acme") {
		t.Errorf("ResolveOrg() of a slug = %q, %v, notes %q; want %q and the slug said", org, err, notes.String(), testOrgID)
	}
}

func TestInputResolve(t *testing.T) {
	noCircleCI(t)
	s := circlecitest.Start(t, "token-1")
	s.AddOrg(circlecitest.Org{ID: testOrgID, Name: "acme", Slug: "gh/acme", VCSType: "github"})
	s.AddProject(circlecitest.Project{ID: testProjectID, Name: "app", Slug: "gh/acme/app", OrgID: testOrgID, OrgName: "acme", OrgSlug: "gh/acme"})
	t.Setenv("CIRCLE_TOKEN", "token-1")
	in := validInput()
	in.OrgID, in.ProjectIDs, in.CircleCIHost = "gh/acme", []string{"gh/acme/app"}, s.URL
	ctx := context.Background()
	var notes bytes.Buffer
	if err := in.Resolve(ctx, &notes); err != nil {
		t.Fatal(err)
	}
	n := len(s.Requests())
	if err := in.Resolve(ctx, &notes); err != nil || len(s.Requests()) != n {
		t.Errorf("a second Resolve of the same values = %v after %d more requests; want nil after none", err, len(s.Requests())-n)
	}
	if ua := s.Requests()[0].UserAgent; !strings.HasPrefix(ua, "circleci-ecr-oidc/") {
		t.Errorf("User-Agent = %q, want circleci-ecr-oidc/<version>", ua)
	}
	if spec := in.Spec("us-east-1"); spec.OrgID != testOrgID || spec.ProjectIDs[0] != testProjectID || !spec.AudiencesRead {
		t.Errorf("Spec() after Resolve = %+v, want the IDs and the audiences read", spec)
	}
	if res := in.Resolution(); res == nil || res.Org.ID != testOrgID {
		t.Errorf("Resolution() = %+v, want the organization's", res)
	}
	// Another value is another resolution: until resolved, none.
	in.ProjectIDs = []string{testProjectID}
	if res := in.Resolution(); res != nil {
		t.Errorf("Resolution() of other values = %+v, want nil", res)
	}
	// It is resolved with the client found the first time: the
	// environment is not read again.
	t.Setenv("CIRCLE_TOKEN", "token-2")
	if err := in.Resolve(ctx, &notes); err != nil {
		t.Errorf("Resolve() of other values = %v, want the first client's token to be used", err)
	}
}

func TestInputResolveGiven(t *testing.T) {
	noCircleCI(t)
	ctx := context.Background()
	// No organization: a project slug waits for it, but needs a token.
	in := Input{ProjectIDs: []string{"gh/acme/app"}}
	client, err := in.ResolveGiven(ctx, nil)
	if got := inputErr(t, err); got.Field != FieldProjectID || client != nil {
		t.Errorf("ResolveGiven() of a slug without a token = %v, %v; want a project-id error", client, err)
	}
	in.ProjectIDs = []string{"not a slug"}
	_, err = in.ResolveGiven(ctx, nil)
	if got := inputErr(t, err); got.Field != FieldProjectID || got.Value != "not a slug" {
		t.Errorf("ResolveGiven() of a malformed slug = %v", err)
	}
	// IDs without a token: no client, nothing to ask.
	in = validInput()
	if client, err := in.ResolveGiven(ctx, &bytes.Buffer{}); client != nil || err != nil {
		t.Errorf("ResolveGiven() of IDs without a token = %v, %v; want nil, nil", client, err)
	}
}

func TestCircleCIError(t *testing.T) {
	tokenReq := &circleci.TokenRequiredError{Field: "project", Value: "gh/acme/app"}
	conflict := &circleci.OrgConflictError{Project: "gh/other/app", ProjectOrg: "gh/other", Org: "gh/acme"}
	host := &circleci.HostError{Source: "CIRCLE_HOST", Value: "x", Rule: "must be a URL like https://circleci.com"}
	refused := &circleci.AuthError{Host: "https://circleci.com", TokenSource: "CIRCLE_TOKEN"}
	tests := []struct {
		name      string
		err       error
		wantField Field
		wantText  string
	}{
		{"slug", &circleci.SlugError{Field: "organization", Value: "x/", Rule: "r"}, FieldOrgID, `invalid org-id "x/": r`},
		{"project slug", &circleci.SlugError{Field: "project", Value: "x", Rule: "r"}, FieldProjectID, `invalid project-id "x": r`},
		{"token required", tokenReq, FieldProjectID, "project-id: " + tokenReq.Error()},
		{"organization token required", &circleci.TokenRequiredError{Field: "org", Value: "gh/acme"}, FieldOrgID, "org-id: "},
		{"conflict", conflict, FieldProjectID, "project-id: " + conflict.Error()},
		{"host of the environment", host, "", host.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := inputErr(t, circleciError(tt.err))
			if got.Field != tt.wantField || !strings.HasPrefix(got.Error(), tt.wantText) {
				t.Errorf("circleciError() = %q (field %q), want %q (field %q)", got, got.Field, tt.wantText, tt.wantField)
			}
			// The command line's names replace the field's.
			flag := got.Describe(func(f Field) string { return "--" + string(f) })
			if tt.wantField != "" && !strings.Contains(flag, "--"+string(tt.wantField)) {
				t.Errorf("Describe() = %q, want the field's flag", flag)
			}
		})
	}
	// CircleCI's refusals are not bad input.
	var in *InputError
	if err := circleciError(refused); errors.As(err, &in) || err != error(refused) {
		t.Errorf("circleciError(AuthError) = %v, want it unchanged", err)
	}
}

func TestInputErrorWithErr(t *testing.T) {
	cause := errors.New("looking it up needs a token")
	err := &InputError{Field: FieldOrgID, Err: cause}
	if got, want := err.Describe(func(f Field) string { return "--" + string(f) }), "--org-id: looking it up needs a token"; got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
	if !errors.Is(err, cause) {
		t.Error("errors.Is does not find Err")
	}
	if got := (&InputError{Err: cause}).Error(); got != cause.Error() {
		t.Errorf("Error() without a field = %q, want Err's message", got)
	}
}
