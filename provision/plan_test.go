package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

const testProviderARN = "arn:aws:iam::123456789012:oidc-provider/oidc.circleci.com/org/" + testOrg

func mustSpec(t *testing.T, s Spec) Spec {
	t.Helper()
	v, err := s.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func planFor(t *testing.T, f *fakeAWS, s Spec) (*Plan, error) {
	t.Helper()
	obs, err := Observe(context.Background(), f.clients(), mustSpec(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return NewPlan(mustSpec(t, s), obs)
}

func changeKeys(p *Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, string(c.Action)+" "+string(c.Resource))
	}
	slices.Sort(out)
	return out
}

func ownedTags(org string) []iamtypes.Tag {
	return []iamtypes.Tag{{Key: aws.String(ManagedTag), Value: aws.String("true")}, {Key: aws.String(OrgIDTag), Value: aws.String(org)}}
}

// converged returns a fake account in the state a first run leaves.
func converged(t *testing.T) *fakeAWS {
	t.Helper()
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	return f
}

func TestPlan(t *testing.T) {
	trustFor := func(t *testing.T, projects ...string) string {
		doc, err := policy.TrustPolicy(policy.Trust{Partition: "aws", Account: "123456789012", OrgID: testOrg, ProjectIDs: projects})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := doc.JSON()
		return s
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T) *fakeAWS
		spec    func(*Spec)
		want    []string
		wantErr string
		check   func(*testing.T, *Plan)
	}{
		{
			name:  "empty account creates everything",
			setup: func(*testing.T) *fakeAWS { f := newFakeAWS(); f.repos["app"] = true; return f },
			want:  []string{"create iam-role", "create oidc-provider", "create role-policy"},
		},
		{
			name: "provider exists with other audiences gets ours added, never recreated",
			setup: func(*testing.T) *fakeAWS {
				f := newFakeAWS()
				f.repos["app"] = true
				f.providers[testProviderARN] = &fakeProvider{clientIDs: []string{"sts.amazonaws.com", "other"}}
				return f
			},
			want: []string{"add-audience oidc-provider", "create iam-role", "create role-policy"},
			check: func(t *testing.T, p *Plan) {
				if !slices.ContainsFunc(p.Warnings, func(w string) bool { return strings.Contains(w, "sts.amazonaws.com") }) {
					t.Errorf("no warning about the sts.amazonaws.com audience: %v", p.Warnings)
				}
			},
		},
		{
			name: "provider exists with our audience and no tags is reused untouched",
			setup: func(*testing.T) *fakeAWS {
				f := newFakeAWS()
				f.repos["app"] = true
				f.providers[testProviderARN] = &fakeProvider{clientIDs: []string{testOrg}}
				return f
			},
			want: []string{"create iam-role", "create role-policy"},
		},
		{
			name:  "converged account plans nothing",
			setup: converged,
			want:  nil,
		},
		{
			name: "trust policy changed by hand is restored",
			setup: func(t *testing.T) *fakeAWS {
				f := converged(t)
				f.roles[DefaultRoleName].trust = trustFor(t, otherProj)
				return f
			},
			want: []string{"update trust-policy"},
		},
		{
			name: "action added by hand is removed",
			setup: func(t *testing.T) *fakeAWS {
				f := converged(t)
				r := f.roles[DefaultRoleName]
				r.inline[PolicyName] = strings.Replace(r.inline[PolicyName], `"ecr:BatchGetImage"`, `"ecr:BatchGetImage","ecr:PutImage"`, 1)
				return f
			},
			want: []string{"update role-policy"},
		},
		{
			name: "policy deleted by hand is put back",
			setup: func(t *testing.T) *fakeAWS {
				f := converged(t)
				delete(f.roles[DefaultRoleName].inline, PolicyName)
				return f
			},
			want: []string{"create role-policy"},
		},
		{
			name: "reordered and reformatted documents plan nothing",
			setup: func(t *testing.T) *fakeAWS {
				f := converged(t)
				r := f.roles[DefaultRoleName]
				r.trust = `{"Statement":[{"Condition":{"StringEquals":{"oidc.circleci.com/org/` + testOrg + `:oidc.circleci.com/project-id":["` + testProject + `"],"oidc.circleci.com/org/` + testOrg + `:aud":["` + testOrg + `"]}},"Action":["sts:AssumeRoleWithWebIdentity"],"Principal":{"Federated":["` + testProviderARN + `"]},"Effect":"Allow"}],
					"Version":"2012-10-17"}`
				r.inline[PolicyName] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken"],"Resource":["*"],"Sid":"GetRegistryLoginToken"},{"Sid":"PullNamedRepositories","Effect":"Allow","Action":["ecr:GetDownloadUrlForLayer","ecr:BatchGetImage"],"Resource":"arn:aws:ecr:us-east-1:123456789012:repository/app"}]}`
				return f
			},
			want: nil,
		},
		{
			name: "role not owned is refused",
			setup: func(t *testing.T) *fakeAWS {
				f := newFakeAWS()
				f.repos["app"] = true
				f.roles[DefaultRoleName] = &fakeRole{trust: `{"Version":"2012-10-17","Statement":[]}`, inline: map[string]string{}}
				return f
			},
			wantErr: "not managed by circleci-ecr-oidc",
		},
		{
			name: "role not owned is adopted with --adopt",
			setup: func(t *testing.T) *fakeAWS {
				f := newFakeAWS()
				f.repos["app"] = true
				f.roles[DefaultRoleName] = &fakeRole{trust: `{"Version":"2012-10-17","Statement":[]}`, inline: map[string]string{}, attached: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}}
				return f
			},
			spec: func(s *Spec) { s.Adopt = true },
			want: []string{"create oidc-provider", "create role-policy", "tag iam-role", "update trust-policy"},
			check: func(t *testing.T, p *Plan) {
				if !slices.ContainsFunc(p.Warnings, func(w string) bool { return strings.Contains(w, "AdministratorAccess") }) {
					t.Errorf("no warning about the attached policy: %v", p.Warnings)
				}
			},
		},
		{
			name: "role owned for another organization is refused",
			setup: func(t *testing.T) *fakeAWS {
				f := converged(t)
				f.roles[DefaultRoleName].tags = ownedTags(otherProj)
				return f
			},
			wantErr: "created for CircleCI organization " + otherProj,
		},
		{
			name:  "adding a project updates only the trust policy",
			setup: converged,
			spec:  func(s *Spec) { s.ProjectIDs = append(s.ProjectIDs, otherProj) },
			want:  []string{"update trust-policy"},
		},
		{
			name:  "adding a repository updates only the permissions",
			setup: func(t *testing.T) *fakeAWS { f := converged(t); f.repos["web"] = true; return f },
			spec:  func(s *Spec) { s.Repositories = append(s.Repositories, "web") },
			want:  []string{"update role-policy"},
		},
		{
			name:    "missing repository is an error naming it",
			setup:   func(*testing.T) *fakeAWS { f := newFakeAWS(); f.repos["app"] = true; return f },
			spec:    func(s *Spec) { s.Repositories = []string{"app", "ghost", "team/*"} },
			wantErr: "ghost not found",
		},
		{
			name:  "missing repository allowed with --allow-missing-repos",
			setup: func(*testing.T) *fakeAWS { return newFakeAWS() },
			spec:  func(s *Spec) { s.Repositories = []string{"ghost"}; s.AllowMissingRepos = true },
			want:  []string{"create iam-role", "create oidc-provider", "create role-policy"},
			check: func(t *testing.T, p *Plan) {
				if len(p.Warnings) == 0 {
					t.Error("no warning for the missing repository")
				}
			},
		},
		{
			name:    "trust policy over quota says how many projects fit",
			setup:   func(*testing.T) *fakeAWS { f := newFakeAWS(); f.repos["app"] = true; return f },
			spec:    func(s *Spec) { s.ProjectIDs = manyProjects(60) },
			wantErr: "projects fit",
		},
		{
			name:    "image outside the granted repositories is refused",
			setup:   func(*testing.T) *fakeAWS { f := newFakeAWS(); f.repos["app"] = true; return f },
			spec:    func(s *Spec) { s.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/other:1" },
			wantErr: "--image",
		},
		{
			name:  "image under a granted prefix is accepted",
			setup: func(*testing.T) *fakeAWS { return newFakeAWS() },
			spec: func(s *Spec) {
				s.Repositories = []string{"team/*"}
				s.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api:1.2"
			},
			want: []string{"create iam-role", "create oidc-provider", "create role-policy"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.setup(t)
			s := validSpec()
			if tt.spec != nil {
				tt.spec(&s)
			}
			p, err := planFor(t, f, s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(flagText(err), tt.wantErr) {
					t.Fatalf("NewPlan() error = %v, want one containing %q", err, tt.wantErr)
				}
				if w := f.writes(); len(w) > 0 {
					t.Errorf("planning wrote %v", w)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewPlan() = %v", err)
			}
			if got := changeKeys(p); !slices.Equal(got, tt.want) {
				t.Errorf("changes = %v, want %v", got, tt.want)
			}
			if w := f.writes(); len(w) > 0 {
				t.Errorf("planning wrote %v; observing must only read", w)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func manyProjects(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	return out
}

func TestApplyConvergesAndRerunWritesNothing(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	f.providers[testProviderARN] = &fakeProvider{clientIDs: []string{"other-audience"}}
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(context.Background(), f, p, Options{})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(res.Applied) != 3 || len(res.NotApplied) != 0 {
		t.Errorf("result = %+v", res)
	}
	want := []string{"AddClientIDToOpenIDConnectProvider", "CreateRole", "PutRolePolicy"}
	if got := f.writes(); !slices.Equal(got, want) {
		t.Errorf("writes = %v, want %v", got, want)
	}
	prov := f.providers[testProviderARN]
	if !slices.Equal(prov.clientIDs, []string{"other-audience", testOrg}) || len(prov.tags) != 0 {
		t.Errorf("shared provider changed beyond the audience: %+v", prov)
	}
	f.calls = nil
	p2, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	if p2.HasChanges() {
		t.Errorf("rerun plans %v", changeKeys(p2))
	}
	if _, err := Apply(context.Background(), f, p2, Options{}); err != nil {
		t.Fatal(err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("rerun wrote %v", w)
	}
}

func TestApplyStopsOnFailureAndReports(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	f.failures["CreateRole"] = apiError("AccessDenied")
	res, err := Apply(context.Background(), f, p, Options{})
	var applyErr *ApplyError
	if !errors.As(err, &applyErr) {
		t.Fatalf("Apply error = %v, want *ApplyError", err)
	}
	if !strings.Contains(err.Error(), "create role "+DefaultRoleName) || errorCode(err) != "AccessDenied" {
		t.Errorf("error %q does not name the action and the AWS error", err)
	}
	notApplied := make([]string, 0)
	for _, c := range res.NotApplied {
		notApplied = append(notApplied, string(c.Resource))
	}
	if !slices.Contains(notApplied, string(ResourceRole)) || !slices.Contains(notApplied, string(ResourceRolePolicy)) {
		t.Errorf("not applied = %v, want the role and its policy", notApplied)
	}
	if slices.Contains(f.writes(), "PutRolePolicy") {
		t.Error("PutRolePolicy ran although the role was not created")
	}

	delete(f.failures, "CreateRole")
	p2, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), f, p2, Options{}); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if len(f.providers) != 1 || len(f.roles) != 1 {
		t.Errorf("after rerun: %d providers, %d roles", len(f.providers), len(f.roles))
	}
}

func TestApplyRaceLostReReads(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	// Another run creates both between our plan and our apply.
	other, _ := planFor(t, f, validSpec())
	if _, err := Apply(context.Background(), f, other, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
		t.Fatalf("apply after losing the race: %v", err)
	}
	if len(f.providers) != 1 || len(f.roles) != 1 {
		t.Errorf("%d providers, %d roles", len(f.providers), len(f.roles))
	}
}

func TestApplyRaceLostToForeignRoleFails(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	foreign := `{"Version":"2012-10-17","Statement":[]}`
	f.roles[DefaultRoleName] = &fakeRole{trust: foreign, inline: map[string]string{}}
	_, err = Apply(context.Background(), f, p, Options{})
	if !errors.Is(err, ErrNotOwned) {
		t.Fatalf("Apply error = %v, want ErrNotOwned", err)
	}
	if r := f.roles[DefaultRoleName]; r.trust != foreign || len(r.inline) != 0 || len(r.tags) != 0 {
		t.Errorf("foreign role was changed: %+v", r)
	}
}

func TestApplyRetriesPropagation(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	f.failures["PutRolePolicy"] = apiError("NoSuchEntity")
	var messages []string
	waits := []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err = Apply(context.Background(), f, p, Options{
			PropagationWaits: waits,
			Progress: func(e Event) {
				if e.Message != "" {
					messages = append(messages, e.Message)
					if len(messages) == 2 {
						f.mu.Lock()
						delete(f.failures, "PutRolePolicy")
						f.mu.Unlock()
					}
				}
			},
		})
	}()
	<-done
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(messages) != 2 || !strings.Contains(messages[0], "propagation") {
		t.Errorf("progress messages = %q", messages)
	}
}

// TestPlanProjectConditionByPartition: where AWS does not document the
// project-id condition key (China, GovCloud, ...), an unset condition
// restricts projects through sub, and the plan says so; a chosen claim
// condition is kept there with a warning.
func TestPlanProjectConditionByPartition(t *testing.T) {
	tests := []struct {
		partition string
		condition policy.ProjectCondition
		wantKey   string // the condition key that restricts projects
		warning   string
	}{
		{"aws", "", policy.ProjectIDClaim, ""},
		{"aws", policy.Sub, "sub", ""},
		{"aws-us-gov", "", "sub", "partition aws-us-gov: AWS documents the oidc.circleci.com/project-id condition key only in the aws partition, so projects are restricted through sub"},
		{"aws-cn", "", "sub", "partition aws-cn: AWS documents"},
		{"aws-cn", policy.ClaimKey, policy.ProjectIDClaim, "if STS does not supply it here, no token can assume the role"},
		{"aws-cn", policy.Sub, "sub", ""},
	}
	for _, tt := range tests {
		t.Run(tt.partition+"/"+string(tt.condition), func(t *testing.T) {
			f := newFakeAWS()
			f.repos["app"] = true
			s := validSpec()
			s.ProjectCondition = tt.condition
			spec := mustSpec(t, s)
			obs, err := Observe(context.Background(), f.clients(), spec)
			if err != nil {
				t.Fatal(err)
			}
			obs.Partition = tt.partition
			p, err := NewPlan(spec, obs)
			if err != nil {
				t.Fatal(err)
			}
			cond := p.TrustPolicy.Statement[0].Condition
			provider := policy.ProviderPath(testOrg)
			switch tt.wantKey {
			case "sub":
				if got := cond["StringLike"][provider+":sub"]; len(got) != 1 || got[0] != "org/"+testOrg+"/project/"+testProject+"/user/*" {
					t.Errorf("sub patterns = %q", got)
				}
				if _, ok := cond["StringEquals"][provider+":"+policy.ProjectIDClaim]; ok {
					t.Error("the claim key is in the trust policy too")
				}
			default:
				if got := cond["StringEquals"][provider+":"+policy.ProjectIDClaim]; len(got) != 1 || got[0] != testProject {
					t.Errorf("project-id values = %q", got)
				}
			}
			var found bool
			for _, w := range p.Warnings {
				if strings.Contains(w, "partition ") {
					found = tt.warning != "" && strings.Contains(w, tt.warning)
					if !found {
						t.Errorf("unexpected warning %q", w)
					}
				}
			}
			if tt.warning != "" && !found {
				t.Errorf("warnings %q lack %q", p.Warnings, tt.warning)
			}
		})
	}
}
