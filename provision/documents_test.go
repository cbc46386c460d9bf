package provision

import (
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// TestDocumentsMatchPlan checks that Documents, which export renders, builds
// exactly the documents a plan against the account would write.
func TestDocumentsMatchPlan(t *testing.T) {
	other := "arn:aws:ecr:eu-west-1:210987654321:repository/shared/base"
	specs := map[string]Spec{
		"claim":        validSpec(),
		"sub":          {OrgID: testOrg, Repositories: []string{"app", "team/*", other}, ProjectIDs: []string{testProject}, ProjectCondition: policy.Sub, Region: "eu-central-1"},
		"all projects": {OrgID: testOrg, Repositories: []string{"app", "tools/builder"}, AllProjects: true, ProjectCondition: policy.Sub, Region: "us-east-1"},
		"push":         {OrgID: testOrg, Repositories: []string{"app", "team/*", "arn:aws:ecr:eu-west-1:210987654321:repository/shared/base"}, ProjectIDs: []string{testProject}, Region: "us-east-1", Access: policy.AccessPush},
		"branches":     {OrgID: testOrg, Repositories: []string{"app"}, ProjectIDs: []string{testProject}, Branches: []string{"refs/heads/main", "refs/tags/v*"}, Region: "us-east-1", Tags: map[string]string{"team": "platform"}},
	}
	for name, s := range specs {
		t.Run(name, func(t *testing.T) {
			f := newFakeAWS()
			f.repos["app"], f.repos["tools/builder"] = true, true
			p, err := planFor(t, f, s)
			if err != nil {
				t.Fatal(err)
			}
			trust, perms, err := Documents(mustSpec(t, s), "aws", "123456789012")
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name      string
				got, want policy.Document
			}{
				{"trust policy", trust, p.TrustPolicy},
				{"permissions policy", perms, p.PermissionsPolicy},
			} {
				got, _ := c.got.JSON()
				want, _ := c.want.JSON()
				if got != want {
					t.Errorf("%s differs from the plan's:\n got %s\nwant %s", c.name, got, want)
				}
			}
		})
	}
}
