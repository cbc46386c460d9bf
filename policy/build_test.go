package policy

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/golden"
)

const (
	org      = "2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d"
	project1 = "8e7c4b1e-5a0d-4c3b-9f2e-1d6a7b8c9d0e"
	project2 = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
	account  = "123456789012"
)

func TestTrustPolicyGolden(t *testing.T) {
	tests := []struct {
		golden string
		trust  Trust
	}{
		{"trust-claim-one-project.json", Trust{Partition: "aws", Account: account, OrgID: org, ProjectIDs: []string{project1}}},
		{"trust-claim-two-projects.json", Trust{Partition: "aws", Account: account, OrgID: org, ProjectIDs: []string{project1, project2}, Condition: ClaimKey}},
		{"trust-sub-two-projects.json", Trust{Partition: "aws", Account: account, OrgID: org, ProjectIDs: []string{project2, project1}, Condition: Sub}},
		{"trust-all-projects.json", Trust{Partition: "aws", Account: account, OrgID: org, AllProjects: true}},
		{"trust-china.json", Trust{Partition: "aws-cn", Account: account, OrgID: org, ProjectIDs: []string{project1}}},
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
			compact, _ := doc.JSON()
			if !strings.Contains(compact, `:aud":"`+org+`"`) {
				t.Errorf("trust policy lacks the aud condition: %s", compact)
			}
		})
	}
}

func TestTrustPolicyRefusesNoRestriction(t *testing.T) {
	if _, err := TrustPolicy(Trust{Partition: "aws", Account: account, OrgID: org}); err == nil {
		t.Fatal("TrustPolicy without projects or AllProjects succeeded; want an error")
	}
	if _, err := TrustPolicy(Trust{Partition: "aws", Account: account, OrgID: org, ProjectIDs: []string{project1}, Condition: "aud"}); err == nil {
		t.Fatal("TrustPolicy with an unknown condition form succeeded; want an error")
	}
}

func TestPullPolicyGolden(t *testing.T) {
	doc, err := PermissionsPolicy(AccessPull, []string{
		"arn:aws:ecr:us-east-1:123456789012:repository/tools/builder",
		"arn:aws:ecr:us-east-1:123456789012:repository/app",
		"arn:aws:ecr:us-east-1:123456789012:repository/app",
		"arn:aws:ecr:us-east-1:123456789012:repository/team/*",
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := doc.Indented()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "pull-policy.json"), []byte(s+"\n"))

	// Least privilege: only GetAuthorizationToken may have Resource "*".
	for _, st := range doc.Statement {
		for _, r := range st.Resource {
			if r == "*" && (len(st.Action) != 1 || st.Action[0] != ActionGetAuthorizationToken) {
				t.Errorf("statement %q grants %v on *", st.Sid, st.Action)
			}
		}
	}
}

func TestPullPolicyRefusesWildcards(t *testing.T) {
	for _, bad := range [][]string{nil, {"*"}, {"arn:aws:s3:::bucket"}} {
		if _, err := PermissionsPolicy(AccessPull, bad); err == nil {
			t.Errorf("PermissionsPolicy(pull, %q) succeeded; want an error", bad)
		}
	}
}

func TestSize(t *testing.T) {
	tests := []struct {
		doc  string
		want int
	}{
		{`{}`, 2},
		{"{ \"a\" : \"b\" }", 9},
		{"{\n  \"a\": \"b c\"\n}", 11},
		{`{"a":"\"x y\""}`, 15},
		{`{"a":"é"}`, 9},
	}
	for _, tt := range tests {
		if got := Size(tt.doc); got != tt.want {
			t.Errorf("Size(%q) = %d, want %d", tt.doc, got, tt.want)
		}
	}
	doc, _ := TrustPolicy(Trust{Partition: "aws", Account: account, OrgID: org, ProjectIDs: []string{project1}})
	compact, _ := doc.JSON()
	indented, _ := doc.Indented()
	if Size(compact) != Size(indented) {
		t.Errorf("indentation changed the size: %d vs %d", Size(compact), Size(indented))
	}
	if Size(compact) != len(compact) {
		t.Errorf("compact document size %d != length %d (no whitespace expected)", Size(compact), len(compact))
	}
}

func TestTrustPolicyBranchesGolden(t *testing.T) {
	tests := []struct {
		golden string
		trust  Trust
	}{
		{"trust-claim-branches.json", Trust{Partition: "aws", Account: account, OrgID: org, ProjectIDs: []string{project1, project2}, Branches: []string{"refs/heads/main", "refs/tags/v*"}}},
		{"trust-sub-branch.json", Trust{Partition: "aws", Account: account, OrgID: org, ProjectIDs: []string{project1, project2}, Condition: Sub, Branches: []string{"refs/heads/main"}}},
		{"trust-all-projects-branch.json", Trust{Partition: "aws", Account: account, OrgID: org, AllProjects: true, Branches: []string{"refs/heads/main"}}},
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

func TestPushPolicyGolden(t *testing.T) {
	arns := []string{
		"arn:aws:ecr:us-east-1:123456789012:repository/app",
		"arn:aws:ecr:us-east-1:123456789012:repository/team/*",
	}
	doc, err := PermissionsPolicy(AccessPush, arns)
	if err != nil {
		t.Fatal(err)
	}
	s, err := doc.Indented()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "push-policy.json"), []byte(s+"\n"))

	// Push adds exactly the five push actions to the pull actions, on the
	// named repositories only; GetAuthorizationToken stays alone on "*".
	want := []string{ActionBatchGetImage, ActionGetDownloadURLForLayer, ActionBatchCheckLayerAvailability,
		ActionInitiateLayerUpload, ActionUploadLayerPart, ActionCompleteLayerUpload, ActionPutImage}
	if got := doc.Statement[0].Action; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("push actions = %v, want %v", got, want)
	}
	if st := doc.Statement[1]; len(st.Action) != 1 || st.Action[0] != ActionGetAuthorizationToken || len(st.Resource) != 1 || st.Resource[0] != "*" {
		t.Errorf("login statement = %+v", st)
	}
	for _, r := range doc.Statement[0].Resource {
		if r == "*" {
			t.Errorf("push actions granted on *")
		}
	}
}

// TestPermissionsPolicyPullIsTheDefault: no access level is pull.
func TestPermissionsPolicyPullIsTheDefault(t *testing.T) {
	arns := []string{"arn:aws:ecr:us-east-1:123456789012:repository/app"}
	pull, _ := PermissionsPolicy(AccessPull, arns)
	unset, _ := PermissionsPolicy("", arns)
	jp, _ := pull.JSON()
	ju, _ := unset.JSON()
	if jp == "" || jp != ju {
		t.Errorf("PermissionsPolicy(pull) %s, PermissionsPolicy(\"\") %s", jp, ju)
	}
	if _, err := PermissionsPolicy("admin", arns); err == nil {
		t.Error("PermissionsPolicy with an unknown access level succeeded")
	}
}
