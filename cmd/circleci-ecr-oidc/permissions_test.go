package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// globMatch matches an IAM action or resource pattern, where "*" matches
// any run of characters ("/" included) and "?" one character.
func globMatch(pattern, value string, foldCase bool) bool {
	re := regexp.QuoteMeta(pattern)
	re = strings.ReplaceAll(re, `\*`, ".*")
	re = strings.ReplaceAll(re, `\?`, ".")
	if foldCase {
		re = "(?i)" + re
	}
	return regexp.MustCompile("^" + re + "$").MatchString(value)
}

// allows reports whether an Allow statement of doc grants action on
// resource. The operator policy has no Deny or Not* elements.
func allows(doc policy.Document, action, resource string) bool {
	for _, s := range doc.Statement {
		if s.Effect != "Allow" {
			continue
		}
		if slices.ContainsFunc(s.Action, func(a string) bool { return globMatch(a, action, true) }) &&
			slices.ContainsFunc(s.Resource, func(r string) bool { return globMatch(r, resource, false) }) {
			return true
		}
	}
	return false
}

// TestPermissionsCoverSetupCalls runs setup against the emulator behind the
// counting proxy (a cold run, a run that repairs drift, and an adoption),
// then destroy twice (keeping, then deleting the provider),
// maps every request to its IAM action and checks that the policy printed by
// `permissions --output json` allows each on the resource it acts on, and
// that the policy allows nothing the runs did not call unless Permissions
// documents when it is needed.
func TestPermissionsCoverSetupCalls(t *testing.T) {
	e := startEmulator(t, "app", "tools/builder")
	printedPolicy := func(command string) policy.Document {
		t.Helper()
		printed := runCmd(t, hermeticEnv(), "permissions", "--output", "json", "--command", command, "--account-id", awstest.AccountID, "--org-id", testOrg)
		if printed.code != 0 {
			t.Fatalf("permissions exit %d: %s", printed.code, printed.stderr)
		}
		doc, err := policy.Parse(printed.stdout)
		if err != nil {
			t.Fatalf("permissions printed no policy document: %v\n%s", err, printed.stdout)
		}
		return doc
	}
	setupPolicy, destroyPolicy := printedPolicy(provision.CommandSetup), printedPolicy(provision.CommandDestroy)

	ctx := context.Background()
	api := iam.NewFromConfig(e.cfg)
	used := map[string]bool{}
	check := func(doc policy.Document, run, roleName string) {
		t.Helper()
		resources := map[string]string{
			"sts:GetCallerIdentity":    "*",
			"iam:GetAccountSummary":    "*",
			"ecr:DescribeRepositories": "arn:aws:ecr:us-east-1:" + awstest.AccountID + ":repository/app",
			"iam:ListPolicies":         "*",
		}
		for _, r := range e.proxy.Requests() {
			if r.Operation == awstest.UnknownOperation {
				t.Errorf("%s: unidentified request %+v", run, r)
				continue
			}
			action := r.Service + ":" + r.Operation
			used[action] = true
			resource, ok := resources[action]
			switch {
			case ok:
			case strings.Contains(r.Operation, "OpenIDConnectProvider"):
				resource = policy.ProviderARN("aws", awstest.AccountID, testOrg)
			case strings.Contains(r.Operation, "Policy") && !strings.Contains(r.Operation, "Role"):
				// The customer managed policies of the role.
				resource = provision.ManagedPolicyARN("aws", awstest.AccountID, roleName, provision.ManagedPolicyName(roleName, 1))
			default:
				resource = "arn:aws:iam::" + awstest.AccountID + ":role/" + roleName
			}
			if !allows(doc, action, resource) {
				t.Errorf("%s: the tool called %s on %s, which the printed policy does not allow", run, action, resource)
			}
		}
		t.Logf("%s: %v", run, e.proxy.Counts())
		e.proxy.Reset()
	}

	if r := runCmd(t, e.env, append(setupArgs, "--yes")...); r.code != 0 {
		t.Fatalf("cold setup exit %d: %s", r.code, r.stderr)
	}
	check(setupPolicy, "cold run", provision.DefaultRoleName)

	// Drift: someone replaced the trust policy and deleted the pull policy.
	open := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
	if _, err := api.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(provision.DefaultRoleName), PolicyDocument: aws.String(open)}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(provision.DefaultRoleName), PolicyName: aws.String(provision.PolicyName)}); err != nil {
		t.Fatal(err)
	}
	e.proxy.Reset()
	if r := runCmd(t, e.env, append(setupArgs, "--yes")...); r.code != 0 {
		t.Fatalf("drift setup exit %d: %s", r.code, r.stderr)
	}
	check(setupPolicy, "drift run", provision.DefaultRoleName)

	// Adoption of a role the tool did not create.
	const adopted = "circleci-ecr-adopted"
	if _, err := api.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(adopted), AssumeRolePolicyDocument: aws.String(open)}); err != nil {
		t.Fatal(err)
	}
	e.proxy.Reset()
	if r := runCmd(t, e.env, append(setupArgs, "--yes", "--adopt", "--role-name", adopted)...); r.code != 0 {
		t.Fatalf("adopt setup exit %d: %s", r.code, r.stderr)
	}
	check(setupPolicy, "adopt run", adopted)

	// Packed runs: 300 repositories need managed policies beyond the
	// inline one; one repository fewer updates them.
	packed := make([]string, 300)
	for i := range packed {
		packed[i] = fmt.Sprintf("team/service-%03d", i)
	}
	for _, run := range []struct {
		name  string
		repos []string
	}{{"packed run", packed}, {"packed update", packed[1:]}} {
		args := []string{"setup", "--org-id", testOrg, "--project-id", testProject, "--repo", strings.Join(run.repos, ","), "--allow-missing-repos", "--yes"}
		if r := runCmd(t, e.env, args...); r.code != 0 {
			t.Fatalf("%s exit %d: %s", run.name, r.code, r.stderr)
		}
		check(setupPolicy, run.name, provision.DefaultRoleName)
	}

	// destroy: first a role whose provider another role still trusts (the
	// provider is kept), then the last role and the provider.
	if r := runCmd(t, e.env, "destroy", "--org-id", testOrg, "--role-name", adopted, "--yes"); r.code != 0 {
		t.Fatalf("destroy %s exit %d: %s", adopted, r.code, r.stderr)
	}
	check(destroyPolicy, "destroy, provider kept", adopted)
	if r := runCmd(t, e.env, "destroy", "--org-id", testOrg, "--yes"); r.code != 0 {
		t.Fatalf("destroy exit %d: %s", r.code, r.stderr)
	}
	check(destroyPolicy, "destroy, provider deleted", provision.DefaultRoleName)

	var unused []string
	for _, s := range slices.Concat(setupPolicy.Statement, destroyPolicy.Statement) {
		for _, a := range s.Action {
			if used[a] || slices.Contains(unused, a) {
				continue
			}
			unused = append(unused, a)
			i := slices.IndexFunc(provision.Permissions, func(p provision.Permission) bool { return p.Action == a })
			if i < 0 || (provision.Permissions[i].Conditional == "" && !provision.Permissions[i].AuthorizationOnly) {
				t.Errorf("the policy allows %s, which the tool never called and Permissions does not document as conditional", a)
			}
		}
	}
	t.Logf("allowed but not called in these runs (documented as conditional): %v", unused)
}

// TestPermissionsDocMatchesCommand keeps docs/permissions.md in step with
// the command: the policy it shows is the command's default output.
func TestPermissionsDocMatchesCommand(t *testing.T) {
	r := runCmd(t, hermeticEnv(), "permissions", "--output", "json")
	if r.code != 0 {
		t.Fatalf("permissions exit %d: %s", r.code, r.stderr)
	}
	md, err := os.ReadFile("../../docs/permissions.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "```json\n"+r.stdout+"```") {
		t.Errorf("docs/permissions.md does not show the policy `circleci-ecr-oidc permissions --output json` prints; paste it in:\n%s", r.stdout)
	}
	for _, p := range provision.Permissions {
		if !strings.Contains(string(md), "`"+p.Action+"`") {
			t.Errorf("docs/permissions.md does not mention %s", p.Action)
		}
	}
}

func TestAllows(t *testing.T) {
	doc := policy.Document{Statement: []policy.Statement{
		{Effect: "Allow", Action: policy.Values{"iam:GetRole"}, Resource: policy.Values{"arn:aws:iam::*:role/circleci-ecr-*"}},
	}}
	for _, c := range []struct {
		action, resource string
		want             bool
	}{
		{"iam:GetRole", "arn:aws:iam::123456789012:role/circleci-ecr-pull", true},
		{"IAM:getrole", "arn:aws:iam::123456789012:role/circleci-ecr-pull", true},
		{"iam:GetRole", "arn:aws:iam::123456789012:role/other", false},
		{"iam:CreateRole", "arn:aws:iam::123456789012:role/circleci-ecr-pull", false},
	} {
		if got := allows(doc, c.action, c.resource); got != c.want {
			t.Errorf("allows(%s, %s) = %v", c.action, c.resource, got)
		}
	}
}

func TestPermissionsRejectsBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"--output", "yaml"},
		{"--command", "deploy"},
		{"--account-id", "1234"},
		{"--org-id", "acme"},
		{"--role-name", "bad name"},
		{"--partition", "azure"},
	} {
		r := runCmd(t, hermeticEnv(), append([]string{"permissions"}, args...)...)
		if r.code != exitUsage {
			t.Errorf("permissions %v: exit %d, want %d (stderr %s)", args, r.code, exitUsage, r.stderr)
		}
	}
}
