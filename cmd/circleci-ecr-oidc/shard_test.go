package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

func projectIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i+1, i+1)
	}
	return out
}

// TestShardSpreadsProjectsOverRoles runs setup --shard with more projects
// than one trust policy holds: several roles, each within the quota, every
// project on exactly one, a JSON list of which project uses which role, and
// a rerun that writes nothing.
func TestShardSpreadsProjectsOverRoles(t *testing.T) {
	e := startEmulator(t, "app")
	projects := projectIDs(120)
	args := []string{"setup", "--org-id", testOrg, "--repo", "app", "--project-id", strings.Join(projects, ",")}

	unsharded := runCmd(t, e.env, append(args, "--yes")...)
	if unsharded.code != exitError || !strings.Contains(unsharded.stderr, "projects fit") || !strings.Contains(unsharded.stderr, "--shard") {
		t.Fatalf("without --shard: exit %d, stderr %s", unsharded.code, unsharded.stderr)
	}
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Fatalf("a refused run wrote %v", w)
	}

	r := runCmd(t, e.env, append(args, "--shard", "--yes", "--output", "json")...)
	if r.code != 0 {
		t.Fatalf("setup --shard exit %d: %s", r.code, r.stderr)
	}
	var out struct {
		RoleARN string `json:"role_arn"`
		Applied bool   `json:"applied"`
		Shards  []struct {
			RoleName string   `json:"role_name"`
			Projects []string `json:"projects"`
			Snippet  string   `json:"snippet"`
		} `json:"shards"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if !out.Applied || len(out.Shards) < 3 {
		t.Fatalf("applied %v over %d roles", out.Applied, len(out.Shards))
	}
	t.Logf("120 projects over %d roles; writes %v", len(out.Shards), e.proxy.Writes())
	if n := e.proxy.Writes()["CreateOpenIDConnectProvider"]; n != 1 {
		t.Errorf("provider created %d times", n)
	}

	api := iam.NewFromConfig(e.cfg)
	seen := map[string]string{}
	for i, s := range out.Shards {
		if want := provision.ShardRoleName(provision.DefaultRoleName, i+1); s.RoleName != want {
			t.Errorf("shard %d is %s, want %s", i, s.RoleName, want)
		}
		if !strings.Contains(s.Snippet, "role/"+s.RoleName) {
			t.Errorf("snippet of %s names another role", s.RoleName)
		}
		role, err := api.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(s.RoleName)})
		if err != nil {
			t.Fatal(err)
		}
		trust, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
		if size := policy.Size(trust); size > provision.DefaultTrustPolicyQuota {
			t.Errorf("%s trust policy is %d characters", s.RoleName, size)
		}
		admitted := provision.ProjectsAdmitted(trust, testOrg)
		if fmt.Sprint(admitted) != fmt.Sprint(s.Projects) {
			t.Errorf("%s admits %d projects, JSON lists %d", s.RoleName, len(admitted), len(s.Projects))
		}
		for _, p := range admitted {
			if other, dup := seen[p]; dup {
				t.Errorf("project %s on %s and %s", p, other, s.RoleName)
			}
			seen[p] = s.RoleName
		}
	}
	if len(seen) != len(projects) {
		t.Errorf("%d of %d projects admitted", len(seen), len(projects))
	}

	e.proxy.Reset()
	again := runCmd(t, e.env, append(args, "--shard", "--yes")...)
	if again.code != 0 {
		t.Fatalf("rerun exit %d: %s", again.code, again.stderr)
	}
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("rerun wrote %v", w)
	}
	t.Logf("rerun: %d requests, no writes", e.proxy.Total())
	if plan := runCmd(t, e.env, "plan", "--org-id", testOrg, "--repo", "app", "--project-id", strings.Join(projects, ","), "--shard", "--detailed-exitcode"); plan.code != 0 {
		t.Errorf("plan --shard --detailed-exitcode after setup: exit %d\n%s", plan.code, plan.stderr)
	}
}

// TestShardRemovingProjectsRevokesThem: setup --shard with 60 projects makes
// two roles; rerun with every project of the second role removed deletes
// that role (the plan says so first), so none of the removed projects is
// admitted any more, and the provider and the first role stay.
func TestShardRemovingProjectsRevokesThem(t *testing.T) {
	e := startEmulator(t, "app")
	projects := projectIDs(60)
	base := []string{"--org-id", testOrg, "--repo", "app", "--shard"}
	mustRun(t, e.env, 0, append(append([]string{"setup"}, base...), "--project-id", strings.Join(projects, ","), "--yes")...)
	api := iam.NewFromConfig(e.cfg)
	admits := func(name string) []string {
		role, err := api.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			return nil
		}
		trust, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
		return provision.ProjectsAdmitted(trust, testOrg)
	}
	first, second := provision.ShardRoleName(provision.DefaultRoleName, 1), provision.ShardRoleName(provision.DefaultRoleName, 2)
	kept, removed := admits(first), admits(second)
	if len(kept) == 0 || len(removed) == 0 {
		t.Fatalf("role 1 admits %d projects, role 2 %d", len(kept), len(removed))
	}

	plan := mustRun(t, e.env, 2, append(append([]string{"plan"}, base...), "--project-id", strings.Join(kept, ","), "--detailed-exitcode")...)
	if !strings.Contains(plan.stdout, "Role "+second+" admits no requested project any more: it is deleted") || !strings.Contains(plan.stdout, "delete iam-role "+second) {
		t.Errorf("plan does not show the removal:\n%s", plan.stdout)
	}
	if !strings.Contains(plan.stderr, "Run setup with the same flags to apply.") {
		t.Errorf("plan --shard does not say how to apply its changes, as plan does:\n%s", plan.stderr)
	}
	e.proxy.Reset()
	mustRun(t, e.env, 0, append(append([]string{"setup"}, base...), "--project-id", strings.Join(kept, ","), "--yes")...)
	w := e.proxy.Writes()
	if w["DeleteRole"] != 1 || w["DeleteRolePolicy"] != 1 || w["DeleteOpenIDConnectProvider"] != 0 {
		t.Errorf("writes %v; want the second role and its policy deleted, the provider kept", w)
	}
	if got := admits(second); got != nil {
		t.Errorf("role %s still admits %d projects", second, len(got))
	}
	if got := admits(first); fmt.Sprint(got) != fmt.Sprint(kept) {
		t.Errorf("role %s admits %d projects, want %d", first, len(got), len(kept))
	}
	e.proxy.Reset()
	mustRun(t, e.env, 0, append(append([]string{"setup"}, base...), "--project-id", strings.Join(kept, ","), "--yes")...)
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("rerun wrote %v", w)
	}
}

// TestShardKeepUnusedRolesClosesThem: with --keep-unused-roles, the second
// role of TestShardRemovingProjectsRevokesThem is kept, with a trust policy
// that admits no one (shown in the plan first), and the rerun writes
// nothing; without --shard the flag is refused before any call.
func TestShardKeepUnusedRolesClosesThem(t *testing.T) {
	e := startEmulator(t, "app")
	projects := projectIDs(60)
	base := []string{"--org-id", testOrg, "--repo", "app", "--shard"}
	mustRun(t, e.env, 0, append(append([]string{"setup"}, base...), "--project-id", strings.Join(projects, ","), "--yes")...)
	api := iam.NewFromConfig(e.cfg)
	trust := func(name string) string {
		role, err := api.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			t.Fatalf("read role %s: %v", name, err)
		}
		doc, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
		return doc
	}
	first, second := provision.ShardRoleName(provision.DefaultRoleName, 1), provision.ShardRoleName(provision.DefaultRoleName, 2)
	kept := provision.ProjectsAdmitted(trust(first), testOrg)
	keep := append(append([]string{}, base...), "--project-id", strings.Join(kept, ","), "--keep-unused-roles")

	plan := mustRun(t, e.env, 2, append(append([]string{"plan"}, keep...), "--detailed-exitcode")...)
	if !strings.Contains(plan.stdout, "Role "+second+" admits no requested project any more: it is kept") || strings.Contains(plan.stdout, "delete iam-role") {
		t.Errorf("plan does not show the closing:\n%s", plan.stdout)
	}
	e.proxy.Reset()
	mustRun(t, e.env, 0, append(append([]string{"setup"}, keep...), "--yes")...)
	if w := e.proxy.Writes(); w["UpdateAssumeRolePolicy"] != 1 || w["DeleteRole"] != 0 || len(w) != 1 {
		t.Errorf("writes %v; want only the second role's trust policy replaced", w)
	}
	closed, _ := policy.AdmitNoOne().JSON()
	if got := trust(second); !policy.Equal(got, closed) {
		t.Errorf("role %s trusts %s, want the policy that admits no one", second, got)
	}
	e.proxy.Reset()
	mustRun(t, e.env, 0, append(append([]string{"setup"}, keep...), "--yes")...)
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("rerun wrote %v", w)
	}
	e.proxy.Reset()
	r := runCmd(t, e.env, "setup", "--org-id", testOrg, "--repo", "app", "--project-id", kept[0], "--keep-unused-roles", "--yes")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--keep-unused-roles") || e.proxy.Total() != 0 {
		t.Errorf("--keep-unused-roles without --shard: exit %d, %d requests, stderr %s", r.code, e.proxy.Total(), r.stderr)
	}
}
