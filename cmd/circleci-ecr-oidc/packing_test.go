package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// grantedRepositories reads back, with the SDK, every repository ARN the
// role's inline policy and attached managed policies grant, sorted.
func grantedRepositories(t *testing.T, api *iam.Client, role string) []string {
	t.Helper()
	ctx := context.Background()
	inline, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(provision.PolicyName)})
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{aws.ToString(inline.PolicyDocument)}
	attached, err := api.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attached.AttachedPolicies {
		p, err := api.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: a.PolicyArn})
		if err != nil {
			t.Fatal(err)
		}
		v, err := api.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: a.PolicyArn, VersionId: p.Policy.DefaultVersionId})
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, aws.ToString(v.PolicyVersion.Document))
	}
	out, err := policy.GrantedResources(docs...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestManyRepositoriesEndToEnd runs the built binary against moto with 400
// repositories, more than the inline policy holds: setup packs them into
// the inline policy and managed policies, a rerun writes nothing, verify
// agrees, shrinking deletes the managed policies, and destroy removes
// everything it made.
func TestManyRepositoriesEndToEnd(t *testing.T) {
	repos := make([]string, 400)
	for i := range repos {
		repos[i] = fmt.Sprintf("team-%d/service-%03d", i%4, i)
	}
	e := startEmulator(t, repos...)
	api := iam.NewFromConfig(e.cfg)
	args := func(repos []string, extra ...string) []string {
		return append([]string{"setup", "--org-id", testOrg, "--project-id", testProject, "--repo", strings.Join(repos, ",")}, extra...)
	}
	want := make([]string, len(repos))
	for i, r := range repos {
		want[i] = "arn:aws:ecr:us-east-1:" + awstest.AccountID + ":repository/" + r
	}
	slices.Sort(want)

	first := mustRun(t, e.env, 0, args(repos, "--yes", "--output", "json")...)
	var res struct {
		provision.Plan
		Applied bool `json:"applied"`
	}
	if err := json.Unmarshal([]byte(first.stdout), &res); err != nil {
		t.Fatalf("setup --output json: %v\n%s", err, first.stdout)
	}
	n := len(res.ManagedPolicies)
	if n != 3 || !res.Applied {
		t.Fatalf("%d managed policies for 400 repositories, want 3", n)
	}
	if got := e.proxy.Writes(); !equalCounts(got, map[string]int{"CreateOpenIDConnectProvider": 1, "CreateRole": 1, "PutRolePolicy": 1, "CreatePolicy": n, "AttachRolePolicy": n}) {
		t.Errorf("first run writes = %v", got)
	}
	t.Logf("first run: %d requests %v", e.proxy.Total(), e.proxy.Counts())
	if got := grantedRepositories(t, api, provision.DefaultRoleName); !slices.Equal(got, want) {
		t.Fatalf("the account grants %d repositories, want exactly the %d requested", len(got), len(want))
	}
	for _, mp := range res.ManagedPolicies {
		p, err := api.GetPolicy(context.Background(), &iam.GetPolicyInput{PolicyArn: aws.String(mp.ARN)})
		if err != nil {
			t.Fatalf("managed policy %s from the JSON output: %v", mp.ARN, err)
		}
		if aws.ToString(p.Policy.Path) != provision.ManagedPolicyPath(provision.DefaultRoleName) || mp.Size > provision.DefaultManagedPolicyQuota {
			t.Errorf("managed policy %s: path %s, %d characters", mp.ARN, aws.ToString(p.Policy.Path), mp.Size)
		}
	}

	e.proxy.Reset()
	rerun := mustRun(t, e.env, 0, args(repos, "--yes")...)
	if w := e.proxy.Writes(); len(w) != 0 || !strings.Contains(rerun.stdout, "No changes") {
		t.Errorf("rerun wrote %v\n%s", w, rerun.stdout)
	}
	t.Logf("rerun: %d requests %v", e.proxy.Total(), e.proxy.Counts())
	mustRun(t, e.env, 0, append([]string{"verify"}, args(repos)[1:]...)...)

	// Shrinking to ten repositories: all fit inline again.
	e.proxy.Reset()
	mustRun(t, e.env, 0, args(repos[:10], "--yes")...)
	if got := e.proxy.Writes(); !equalCounts(got, map[string]int{"PutRolePolicy": 1, "DetachRolePolicy": n, "DeletePolicy": n}) {
		t.Errorf("shrinking writes = %v", got)
	}
	if got := grantedRepositories(t, api, provision.DefaultRoleName); len(got) != 10 {
		t.Errorf("after shrinking the account grants %d repositories, want 10", len(got))
	}

	// Too many for ten managed policies: refused, nothing written, with
	// the prefixes that would fit.
	tooMany := make([]string, 1500)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("team-%d/svc-%04d", i%4, i)
	}
	e.proxy.Reset()
	refused := mustRun(t, e.env, exitError, args(tooMany, "--allow-missing-repos", "--yes")...)
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("refused setup wrote %v", w)
	}
	// 15 batches of 100 names fail; one listing of the registry resolves
	// them, instead of 1,500 calls name by name.
	if got := e.proxy.Counts()["DescribeRepositories"]; got > 16 {
		t.Errorf("looking up 1,500 missing repositories took %d DescribeRepositories calls, want at most 16", got)
	}
	if !strings.Contains(refused.stderr, "grant 1500 repositories: only") || !strings.Contains(refused.stderr, "--repo team-") {
		t.Errorf("refusal:\n%s", refused.stderr)
	}

	// Back to 400, then destroy removes the managed policies too.
	mustRun(t, e.env, 0, args(repos, "--yes")...)
	e.proxy.Reset()
	mustRun(t, e.env, 0, "destroy", "--org-id", testOrg, "--yes")
	if got := e.proxy.Writes(); !equalCounts(got, map[string]int{"DeleteRolePolicy": 1, "DetachRolePolicy": n, "DeletePolicy": n, "DeleteRole": 1, "DeleteOpenIDConnectProvider": 1}) {
		t.Errorf("destroy writes = %v", got)
	}
	left, err := api.ListPolicies(context.Background(), &iam.ListPoliciesInput{PathPrefix: aws.String("/circleci-ecr-oidc/")})
	if err != nil || len(left.Policies) != 0 {
		t.Errorf("after destroy: %d managed policies left (%v)", len(left.Policies), err)
	}
}
