package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"gopkg.in/yaml.v3"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/templates"
)

const (
	registryAccount = "210987654321"
	sharedRepo      = "shared/base"
	sharedRepoARN   = "arn:aws:ecr:us-east-1:" + registryAccount + ":repository/" + sharedRepo
	// registryOwnersStatement is in the registry's policy before setup runs.
	registryOwnersStatement = `{"Sid":"TeamPull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}`
)

// crossAccount is the role's account and a registry account, each a moto
// server behind its own counting proxy, reached through profiles of the
// test's own AWS config file: the default profile for the role's account
// and "registry" for the registry, each with its endpoint_url. No
// AWS_ENDPOINT_URL is set, because it would override both.
type crossAccount struct {
	main, registry       *awstest.Proxy
	mainCfg, registryCfg aws.Config
	env                  []string
}

func startCrossAccount(t *testing.T) crossAccount {
	t.Helper()
	ctx := context.Background()
	mainMoto := awstest.StartMoto(t)
	registryMoto := awstest.StartMoto(t, "MOTO_ACCOUNT_ID="+registryAccount)
	c := crossAccount{main: awstest.NewProxy(t, mainMoto.URL()), registry: awstest.NewProxy(t, registryMoto.URL())}
	c.mainCfg = awstest.Config(ctx, t, c.main.URL())
	c.registryCfg = awstest.Config(ctx, t, c.registry.URL())

	api := ecr.NewFromConfig(c.registryCfg)
	if _, err := api.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(sharedRepo)}); err != nil {
		t.Fatal(err)
	}
	existing := `{"Version":"2012-10-17","Statement":[` + registryOwnersStatement + `]}`
	if _, err := api.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String(sharedRepo), PolicyText: aws.String(existing)}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	config := "[default]\nregion = us-east-1\nendpoint_url = " + c.main.URL() + "\n\n" +
		"[profile registry]\nregion = us-east-1\nendpoint_url = " + c.registry.URL() + "\n"
	credentials := "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n\n" +
		"[registry]\naws_access_key_id = registry\naws_secret_access_key = registry\n"
	for name, content := range map[string]string{"config": config, "credentials": credentials} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c.env = awstest.EnvironWithSharedConfig(filepath.Join(dir, "config"), filepath.Join(dir, "credentials"))
	c.main.Reset()
	c.registry.Reset()
	return c
}

func (c crossAccount) repositoryPolicy(t *testing.T) string {
	t.Helper()
	out, err := ecr.NewFromConfig(c.registryCfg).GetRepositoryPolicy(context.Background(), &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String(sharedRepo)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.PolicyText)
}

// TestCrossAccountRegistryPolicy runs setup with a repository in another
// account and --registry-profile: the registry's policy gains our statement
// next to its owner's, after the role exists, and a rerun writes nothing in
// either account.
func TestCrossAccountRegistryPolicy(t *testing.T) {
	c := startCrossAccount(t)
	args := []string{"setup", "--org-id", testOrg, "--repo", sharedRepoARN, "--project-id", testProject, "--registry-profile", "registry", "--yes"}

	first := runCmd(t, c.env, args...)
	if first.code != 0 {
		t.Fatalf("setup exit %d\nstdout: %s\nstderr: %s", first.code, first.stdout, first.stderr)
	}
	wantMain := map[string]int{"CreateOpenIDConnectProvider": 1, "CreateRole": 1, "PutRolePolicy": 1}
	wantRegistry := map[string]int{"SetRepositoryPolicy": 1}
	if got := c.main.Writes(); !equalCounts(got, wantMain) {
		t.Errorf("first run writes in the role's account = %v, want %v", got, wantMain)
	}
	if got := c.registry.Writes(); !equalCounts(got, wantRegistry) {
		t.Errorf("first run writes in the registry account = %v, want %v", got, wantRegistry)
	}
	t.Logf("first run: role account %v; registry account %v", c.main.Counts(), c.registry.Counts())

	roleARN := "arn:aws:iam::" + awstest.AccountID + ":role/" + provision.DefaultRoleName
	doc := c.repositoryPolicy(t)
	parsed, err := policy.Parse(doc)
	if err != nil {
		t.Fatalf("registry policy %s: %v", doc, err)
	}
	if len(parsed.Statement) != 2 {
		t.Fatalf("registry policy has %d statements, want the owner's and ours: %s", len(parsed.Statement), doc)
	}
	// Kept semantically (ECR may reformat a policy; moto keeps it as is).
	owners := `{"Statement":[` + registryOwnersStatement + `]}`
	if !slices.ContainsFunc(parsed.Statement, func(st policy.Statement) bool {
		one, _ := json.Marshal(map[string]any{"Statement": []policy.Statement{st}})
		return policy.Equal(string(one), owners)
	}) {
		t.Errorf("the registry owner's statement is gone: %s", doc)
	}
	want := policy.RepositoryStatement(roleARN, policy.AccessPull)
	if !slices.ContainsFunc(parsed.Statement, func(s policy.Statement) bool {
		return s.Sid == want.Sid && slices.Equal(s.Principal["AWS"], policy.Values{roleARN})
	}) {
		t.Errorf("no statement for %s: %s", roleARN, doc)
	}
	// The role's side: the foreign ARN is granted.
	pol, err := iam.NewFromConfig(c.mainCfg).GetRolePolicy(context.Background(), &iam.GetRolePolicyInput{RoleName: aws.String(provision.DefaultRoleName), PolicyName: aws.String(provision.PolicyName)})
	if err != nil {
		t.Fatal(err)
	}
	if rolePolicy, _ := policy.Decode(aws.ToString(pol.PolicyDocument)); !strings.Contains(rolePolicy, sharedRepoARN) {
		t.Errorf("role policy %s does not grant %s", rolePolicy, sharedRepoARN)
	}

	c.main.Reset()
	c.registry.Reset()
	second := runCmd(t, c.env, args...)
	if second.code != 0 || !strings.Contains(second.stdout, "No changes") {
		t.Fatalf("rerun exit %d\nstdout: %s\nstderr: %s", second.code, second.stdout, second.stderr)
	}
	if w := c.main.Writes(); len(w) != 0 {
		t.Errorf("rerun wrote %v in the role's account", w)
	}
	if w := c.registry.Writes(); len(w) != 0 {
		t.Errorf("rerun wrote %v in the registry account", w)
	}
	t.Logf("rerun: role account %v; registry account %v", c.main.Counts(), c.registry.Counts())
	if got := c.repositoryPolicy(t); got != doc {
		t.Errorf("rerun changed the registry policy:\n%s\nwas\n%s", got, doc)
	}

	// destroy without the registry's credentials keeps the statement and
	// says so; with them, it takes the statement out again, leaving the
	// owner's policy as it was before setup.
	c.main.Reset()
	c.registry.Reset()
	kept := runCmd(t, c.env, "destroy", "--org-id", testOrg)
	if !strings.Contains(kept.stdout, "repository-policy "+sharedRepoARN) || !strings.Contains(kept.stdout, "--registry-profile") || c.registry.Total() != 0 {
		t.Errorf("destroy without --registry-profile (%d registry requests):\n%s", c.registry.Total(), kept.stdout)
	}
	d := runCmd(t, c.env, "destroy", "--org-id", testOrg, "--registry-profile", "registry", "--yes")
	if d.code != 0 {
		t.Fatalf("destroy exit %d\nstdout: %s\nstderr: %s", d.code, d.stdout, d.stderr)
	}
	if got := c.registry.Writes(); !equalCounts(got, map[string]int{"SetRepositoryPolicy": 1}) {
		t.Errorf("destroy writes in the registry account = %v", got)
	}
	if got, want := c.repositoryPolicy(t), `{"Version":"2012-10-17","Statement":[`+registryOwnersStatement+`]}`; got != want {
		t.Errorf("after destroy the registry policy is\n%s\nwant the owner's, as before setup:\n%s", got, want)
	}
}

// TestCrossAccountWithoutRegistryProfile checks that plan, without
// --registry-profile, prints the statement for the registry's owner (text
// and JSON) and never reaches the registry.
func TestCrossAccountWithoutRegistryProfile(t *testing.T) {
	c := startCrossAccount(t)
	args := []string{"plan", "--org-id", testOrg, "--repo", sharedRepoARN, "--project-id", testProject}
	text := runCmd(t, c.env, args...)
	if text.code != 0 || !strings.Contains(text.stdout, "must add this statement to the repository policy of "+sharedRepoARN) {
		t.Fatalf("plan exit %d\nstdout: %s\nstderr: %s", text.code, text.stdout, text.stderr)
	}
	j := runCmd(t, c.env, append(args, "--output", "json")...)
	var out struct {
		Statements []struct {
			Repository string           `json:"repository"`
			Managed    bool             `json:"managed"`
			Statement  policy.Statement `json:"statement"`
		} `json:"registry_policy_statements"`
	}
	if err := json.Unmarshal([]byte(j.stdout), &out); err != nil || j.code != 0 {
		t.Fatalf("plan --output json exit %d, %v\n%s", j.code, err, j.stdout)
	}
	if len(out.Statements) != 1 || out.Statements[0].Managed || out.Statements[0].Repository != sharedRepoARN ||
		out.Statements[0].Statement.Principal["AWS"][0] != "arn:aws:iam::"+awstest.AccountID+":role/"+provision.DefaultRoleName {
		t.Errorf("registry_policy_statements = %+v", out.Statements)
	}
	if n := c.registry.Total(); n != 0 {
		t.Errorf("plan without --registry-profile made %d requests to the registry", n)
	}
}

func TestRegistryProfileMustExist(t *testing.T) {
	c := startCrossAccount(t)
	r := runCmd(t, c.env, "plan", "--org-id", testOrg, "--repo", sharedRepoARN, "--project-id", testProject, "--registry-profile", "nope")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--registry-profile") {
		t.Errorf("exit %d, stderr %s; want %d naming --registry-profile", r.code, r.stderr, exitUsage)
	}
	if n := c.main.Total() + c.registry.Total(); n != 0 {
		t.Errorf("an unknown --registry-profile still made %d AWS requests", n)
	}
}

// TestAccessPushEndToEnd runs setup --access push: the role gets exactly
// the push actions on the named repository, the snippet is the aws-ecr
// orb's build_and_push_image with matching profile names, and export writes
// the same permissions document.
func TestAccessPushEndToEnd(t *testing.T) {
	e := startEmulator(t, "app")
	args := []string{"--org-id", testOrg, "--repo", "app", "--project-id", testProject, "--access", "push"}
	r := runCmd(t, e.env, append([]string{"setup", "--yes"}, args...)...)
	if r.code != 0 {
		t.Fatalf("setup --access push exit %d: %s", r.code, r.stderr)
	}
	pol, err := iam.NewFromConfig(e.cfg).GetRolePolicy(context.Background(), &iam.GetRolePolicyInput{RoleName: aws.String(provision.DefaultRoleName), PolicyName: aws.String(provision.PolicyName)})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := policy.PermissionsPolicy(policy.AccessPush, []string{"arn:aws:ecr:us-east-1:" + awstest.AccountID + ":repository/app"})
	wantJSON, _ := want.JSON()
	if !policy.Equal(aws.ToString(pol.PolicyDocument), wantJSON) {
		t.Errorf("role policy = %s, want %s", aws.ToString(pol.PolicyDocument), wantJSON)
	}

	snippet := r.stdout[strings.Index(r.stdout, "# .circleci/config.yml"):]
	var config struct {
		Orbs map[string]string `yaml:"orbs"`
	}
	if err := yaml.Unmarshal([]byte(snippet), &config); err != nil || config.Orbs["aws-ecr"] == "" {
		t.Errorf("push snippet (err %v):\n%s", err, snippet)
	}
	if strings.Count(snippet, "profile_name: "+templates.PushProfileName) != 2 || !strings.Contains(snippet, "aws-ecr/build_and_push_image") {
		t.Errorf("push snippet lacks the job or the matching profile names:\n%s", snippet)
	}

	// export writes the document setup wrote.
	exp := runCmd(t, hermeticEnv(), append([]string{"export", "--format", "cloudformation", "--region", "us-east-1"}, args...)...)
	if exp.code != 0 {
		t.Fatalf("export exit %d: %s", exp.code, exp.stderr)
	}
	for _, a := range policy.RoleActions(policy.AccessPush) {
		if !strings.Contains(exp.stdout, a) {
			t.Errorf("export lacks %s", a)
		}
	}

	bad := runCmd(t, e.env, append([]string{"plan"}, append(args[:len(args)-1], "admin")...)...)
	if bad.code != exitUsage || !strings.Contains(bad.stderr, "--access") {
		t.Errorf("--access admin: exit %d, stderr %s", bad.code, bad.stderr)
	}
}

func TestSnippetAccessPush(t *testing.T) {
	image := registryAccount + ".dkr.ecr.eu-west-1.amazonaws.com/" + sharedRepo + ":v2"
	r := runCmd(t, hermeticEnv(), "snippet", "--role-arn", "arn:aws:iam::123456789012:role/ci-push", "--image", image, "--access", "push")
	if r.code != 0 {
		t.Fatalf("snippet --access push exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"aws-ecr/build_and_push_image", `account_id: "` + registryAccount + `"`, "region: eu-west-1", `repo: "` + sharedRepo + `"`, `tag: "v2"`, "role_arn: arn:aws:iam::123456789012:role/ci-push"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("push snippet lacks %q:\n%s", want, r.stdout)
		}
	}
	if bad := runCmd(t, hermeticEnv(), "snippet", "--role-arn", "arn:aws:iam::123456789012:role/ci-push", "--image", image, "--access", "admin"); bad.code != exitUsage || !strings.Contains(bad.stderr, "--access") {
		t.Errorf("snippet --access admin: exit %d, stderr %s", bad.code, bad.stderr)
	}
}
