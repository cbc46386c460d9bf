package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

const exportOtherProject = "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b"

// exportSpecArgs are the spec flags of the export tests: a repository by
// name, a prefix pattern, two projects, a branch pin and an extra tag.
var exportSpecArgs = []string{"--org-id", testOrg, "--repo", "app,team/*", "--project-id", testProject + "," + exportOtherProject,
	"--branch", "refs/heads/main", "--tag", "team=platform", "--region", "us-east-1"}

// inStrictCI reports whether the tests run in CI, where a missing tool is a
// failure rather than a reason to skip.
func inStrictCI() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("CI"))) {
	case "", "false", "0":
		return false
	}
	return true
}

// requireTool returns the path of an external tool the test needs. Outside
// CI a missing tool skips the test, saying so; in CI it fails it.
func requireTool(t *testing.T, name, why string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if inStrictCI() {
			t.Fatalf("%s is required in CI (%s) but is not on PATH: %v", name, why, err)
		}
		t.Skipf("skipping: %s is not on PATH (needed to %s); CI never skips this test", name, why)
	}
	return path
}

// terraformMirror finds a local filesystem mirror holding the hashicorp/aws
// provider, so that terraform init works offline. TF_PROVIDER_MIRROR names
// one explicitly.
func terraformMirror(t *testing.T) string {
	t.Helper()
	home, _ := os.UserHomeDir()
	candidates := []string{
		os.Getenv("TF_PROVIDER_MIRROR"),
		"/opt/tf-plugins",
		filepath.Join(home, ".terraform.d", "plugins"),
		filepath.Join(home, ".local", "share", "terraform", "plugins"),
		"/usr/local/share/terraform/plugins",
		"/usr/share/terraform/plugins",
	}
	for _, dir := range candidates {
		if dir == "" {
			continue
		}
		if m, _ := filepath.Glob(filepath.Join(dir, "registry.terraform.io", "hashicorp", "aws", "*")); len(m) > 0 {
			return dir
		}
	}
	msg := "no local filesystem mirror with registry.terraform.io/hashicorp/aws found (set TF_PROVIDER_MIRROR to its root)"
	if inStrictCI() {
		t.Fatal(msg)
	}
	t.Skip("skipping: " + msg)
	return ""
}

// terraform runs terraform in dir and fails the test on a non-zero exit.
func terraform(t *testing.T, bin, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("terraform %s: %s", args[0], time.Since(start).Round(10*time.Millisecond))
	return string(out)
}

// iamState is what setup or an export created, read back through the SDK.
type iamState struct {
	Trust, Permissions string
	RoleDescription    string
	RoleTags           map[string]string
	ProviderARN        string
	ClientIDs          []string
	ProviderTags       map[string]string
	Providers          int
}

func readIAMState(t *testing.T, cfg aws.Config, roleName string) iamState {
	t.Helper()
	ctx := context.Background()
	api := iam.NewFromConfig(cfg)
	var s iamState
	role, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(roleName)})
	if err != nil {
		t.Fatalf("read role %s: %v", roleName, err)
	}
	s.Trust, _ = url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	s.RoleDescription = aws.ToString(role.Role.Description)
	s.RoleTags = map[string]string{}
	for _, tag := range role.Role.Tags {
		s.RoleTags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	pol, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String("circleci-ecr-oidc-pull")})
	if err != nil {
		t.Fatalf("read inline policy: %v", err)
	}
	s.Permissions, _ = url.QueryUnescape(aws.ToString(pol.PolicyDocument))
	list, err := api.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		t.Fatal(err)
	}
	s.Providers = len(list.OpenIDConnectProviderList)
	s.ProviderARN = policy.ProviderARN("aws", awstest.AccountID, testOrg)
	prov, err := api.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(s.ProviderARN)})
	if err != nil {
		t.Fatalf("read provider: %v", err)
	}
	s.ClientIDs = slices.Sorted(slices.Values(prov.ClientIDList))
	s.ProviderTags = map[string]string{}
	for _, tag := range prov.Tags {
		s.ProviderTags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return s
}

func indentJSON(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// exportedState is what an export applied with Terraform should create when
// setup created want: the same, but tagged as Terraform's.
func exportedState(want iamState) iamState {
	want.RoleTags = maps.Clone(want.RoleTags)
	want.RoleTags[provision.ManagedTag] = provision.ManagedByTerraform
	want.ProviderTags = maps.Clone(want.ProviderTags)
	want.ProviderTags[provision.ManagedTag] = provision.ManagedByTerraform
	return want
}

// compareIAMState asserts that got matches the reference semantically: the
// documents through policy.Equal (IAM may reorder or re-encode them).
func compareIAMState(t *testing.T, got, want iamState, provider bool) {
	t.Helper()
	if !policy.Equal(got.Trust, want.Trust) {
		t.Errorf("trust policy differs from setup's:\n got %s\nwant %s", got.Trust, want.Trust)
	}
	if !policy.Equal(got.Permissions, want.Permissions) {
		t.Errorf("permissions policy differs from setup's:\n got %s\nwant %s", got.Permissions, want.Permissions)
	}
	if got.RoleDescription != want.RoleDescription {
		t.Errorf("role description %q, setup's %q", got.RoleDescription, want.RoleDescription)
	}
	if !maps.Equal(got.RoleTags, want.RoleTags) {
		t.Errorf("role tags %v, setup's %v", got.RoleTags, want.RoleTags)
	}
	if !slices.Equal(got.ClientIDs, want.ClientIDs) {
		t.Errorf("provider audiences %v, setup's %v", got.ClientIDs, want.ClientIDs)
	}
	if provider && !maps.Equal(got.ProviderTags, want.ProviderTags) {
		t.Errorf("provider tags %v, setup's %v", got.ProviderTags, want.ProviderTags)
	}
	if got.Providers != 1 {
		t.Errorf("account has %d OIDC providers, want 1", got.Providers)
	}
}

// TestExportTerraformRoundTrip applies the Terraform export with the
// hashicorp/aws provider from the local mirror against moto_server and
// compares what it created with what setup creates for the same flags,
// first creating the provider, then adopting one that exists.
func TestExportTerraformRoundTrip(t *testing.T) {
	tf := requireTool(t, "terraform", "validate and apply the Terraform export")
	mirror := terraformMirror(t)
	moto := awstest.StartMoto(t)
	cfg := awstest.Config(context.Background(), t, moto.URL())
	env := moto.Environ(moto.URL())

	// The reference: what setup creates.
	awstest.CreateRepositories(t, cfg, "app")
	if r := runBinary(t, env, append([]string{"setup", "--yes"}, exportSpecArgs...)...); r.code != 0 {
		t.Fatalf("setup exit %d: %s", r.code, r.stderr)
	}
	want := readIAMState(t, cfg, "circleci-ecr-pull")
	t.Logf("setup created:\ntrust policy %s\npermissions policy %s\nprovider audiences %v, tags %v; role tags %v",
		indentJSON(want.Trust), indentJSON(want.Permissions), want.ClientIDs, want.ProviderTags, want.RoleTags)

	dir := t.TempDir()
	if r := runBinary(t, env, append([]string{"export", "--format", "terraform", "--out", dir}, exportSpecArgs...)...); r.code != 0 {
		t.Fatalf("export exit %d: %s", r.code, r.stderr)
	}
	tfEnv := append(terraformEnv(t, mirror, env), "AWS_EC2_METADATA_DISABLED=true")
	terraform(t, tf, dir, tfEnv, "init", "-input=false", "-no-color")
	terraform(t, tf, dir, tfEnv, "validate", "-no-color")
	terraform(t, tf, dir, tfEnv, "fmt", "-check", "-diff", "-no-color")

	// The two applies run in parallel, each against its own emulator; the
	// initialized directory is shared, each with its own state file.
	t.Run("create provider", func(t *testing.T) {
		t.Parallel()
		moto.Reset(t)
		terraform(t, tf, dir, tfEnv, "apply", "-auto-approve", "-input=false", "-no-color", "-state=create.tfstate")
		got := readIAMState(t, cfg, "circleci-ecr-pull")
		t.Logf("terraform created:\ntrust policy %s\npermissions policy %s\nprovider audiences %v, tags %v; role tags %v",
			indentJSON(got.Trust), indentJSON(got.Permissions), got.ClientIDs, got.ProviderTags, got.RoleTags)
		compareIAMState(t, got, exportedState(want), true)

		// plan compares what Terraform created as usual: nothing to do.
		awstest.CreateRepositories(t, cfg, "app")
		if r := runBinary(t, env, append([]string{"plan", "--detailed-exitcode"}, exportSpecArgs...)...); r.code != 0 {
			t.Errorf("plan after terraform apply exit %d, want 0 (no changes)\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("adopt provider", func(t *testing.T) {
		t.Parallel()
		moto := awstest.StartMoto(t)
		cfg := awstest.Config(context.Background(), t, moto.URL())
		env := slices.Clone(tfEnv)
		env = append(env, "AWS_ENDPOINT_URL="+moto.URL()) // later entries win
		// A provider created elsewhere, without our tags: Terraform must use
		// it, not create a second one or fail with EntityAlreadyExists.
		if _, err := iam.NewFromConfig(cfg).CreateOpenIDConnectProvider(context.Background(), &iam.CreateOpenIDConnectProviderInput{
			Url: aws.String(policy.IssuerURL(testOrg)), ClientIDList: []string{testOrg},
		}); err != nil {
			t.Fatal(err)
		}
		terraform(t, tf, dir, env, "apply", "-auto-approve", "-input=false", "-no-color", "-state=adopt.tfstate", "-var", "create_oidc_provider=false")
		got := readIAMState(t, cfg, "circleci-ecr-pull")
		compareIAMState(t, got, exportedState(want), false)
		if len(got.ProviderTags) != 0 {
			t.Errorf("the adopted provider was changed: tags %v", got.ProviderTags)
		}
	})
}

// TestExportTerraformOwnedByTerraform applies the Terraform export against
// moto_server, over what an earlier version's export (tagged managed=true)
// created, which it retags in place, and then runs the tool on what
// Terraform created, through a counting proxy: verify and plan compare it as usual and say Terraform
// manages it; setup with a pending change and destroy exit 1 with zero
// writes, saying to change the Terraform configuration instead; and setup
// --adopt takes the role over, after which destroy deletes it but keeps the
// provider, still Terraform's.
func TestExportTerraformOwnedByTerraform(t *testing.T) {
	tf := requireTool(t, "terraform", "apply the Terraform export")
	mirror := terraformMirror(t)
	moto := awstest.StartMoto(t)
	proxy, cfg := awstest.Behind(t, moto, "app")
	env := moto.Environ(proxy.URL())

	dir := t.TempDir()
	if r := runBinary(t, env, append([]string{"export", "--format", "terraform", "--out", dir}, exportSpecArgs...)...); r.code != 0 {
		t.Fatalf("export exit %d: %s", r.code, r.stderr)
	}
	// Terraform talks to moto directly: the proxy counts the tool's calls.
	tfEnv := append(terraformEnv(t, mirror, moto.Environ(moto.URL())), "AWS_EC2_METADATA_DISABLED=true")
	terraform(t, tf, dir, tfEnv, "init", "-input=false", "-no-color")

	// First what an earlier version exported, tagged managed=true; applying
	// the current export over it retags the resources in place.
	mainTF := filepath.Join(dir, "main.tf")
	current, err := os.ReadFile(mainTF)
	if err != nil {
		t.Fatal(err)
	}
	const ours, theirs = `"circleci-ecr-oidc:managed" = "true"`, `"circleci-ecr-oidc:managed" = "terraform"`
	earlier := strings.Replace(string(current), theirs, ours, 1)
	if earlier == string(current) {
		t.Fatalf("the export has no %s", theirs)
	}
	if err := os.WriteFile(mainTF, []byte(earlier), 0o644); err != nil {
		t.Fatal(err)
	}
	terraform(t, tf, dir, tfEnv, "apply", "-auto-approve", "-input=false", "-no-color")
	roleID := func() string {
		t.Helper()
		out, err := iam.NewFromConfig(cfg).GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("circleci-ecr-pull")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Role.RoleId)
	}
	before := roleID()
	if err := os.WriteFile(mainTF, current, 0o644); err != nil {
		t.Fatal(err)
	}
	terraform(t, tf, dir, tfEnv, "apply", "-auto-approve", "-input=false", "-no-color")
	st := readIAMState(t, cfg, "circleci-ecr-pull")
	if roleID() != before || st.RoleTags[provision.ManagedTag] != "terraform" || st.ProviderTags[provision.ManagedTag] != "terraform" {
		t.Fatalf("re-applying the export replaced the role (%v) or did not retag it: role tags %v, provider tags %v", roleID() != before, st.RoleTags, st.ProviderTags)
	}
	proxy.Reset()

	noWrites := func(what string) {
		t.Helper()
		if w := proxy.Writes(); len(w) != 0 {
			t.Errorf("%s wrote %v", what, w)
		}
		proxy.Reset()
	}
	run := func(want int, args ...string) invocation {
		t.Helper()
		r := runBinary(t, env, args...)
		if r.code != want {
			t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
		}
		return r
	}
	spec := func(cmd string, extra ...string) []string {
		return append(append([]string{cmd}, exportSpecArgs...), extra...)
	}

	verify := run(0, spec("verify")...)
	if !strings.Contains(verify.stdout, "managed by Terraform") || !strings.Contains(verify.stdout, "Result: OK") {
		t.Errorf("verify does not say Terraform manages the resources:\n%s", verify.stdout)
	}
	t.Logf("verify:\n%s", verify.stdout)
	noWrites("verify")
	plan := run(0, spec("plan", "--detailed-exitcode")...)
	if !strings.Contains(plan.stdout, "No changes") || !strings.Contains(plan.stdout, "managed by Terraform") {
		t.Errorf("plan:\n%s", plan.stdout)
	}
	noWrites("plan")

	// A pending change: setup refuses before any write, in text and JSON.
	another := []string{"--project-id", "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"}
	setup := run(exitError, spec("setup", append(another, "--yes")...)...)
	for _, want := range []string{"role circleci-ecr-pull: it is managed by Terraform", "change the Terraform configuration", "--adopt"} {
		if !strings.Contains(setup.stderr, want) {
			t.Errorf("setup's refusal lacks %q:\n%s", want, setup.stderr)
		}
	}
	if !strings.Contains(setup.stdout, "update trust-policy circleci-ecr-pull [managed by Terraform]") {
		t.Errorf("setup's plan does not mark the change:\n%s", setup.stdout)
	}
	t.Logf("setup with a pending change:\n%s%s", setup.stdout, setup.stderr)
	noWrites("setup without --adopt")
	js := run(exitError, spec("setup", append(another, "--yes", "--output", "json")...)...)
	var out struct {
		RoleManagedBy     string `json:"role_managed_by"`
		ProviderManagedBy string `json:"provider_managed_by"`
		Changes           []struct {
			Resource  string `json:"resource"`
			ManagedBy string `json:"managed_by"`
		} `json:"changes"`
		Applied bool   `json:"applied"`
		Error   string `json:"error"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &out); err != nil {
		t.Fatalf("setup --output json: %v\n%s", err, js.stdout)
	}
	if out.RoleManagedBy != "terraform" || out.ProviderManagedBy != "terraform" || out.Applied || !strings.Contains(out.Error, "managed by Terraform") ||
		len(out.Changes) == 0 || out.Changes[0].ManagedBy != "terraform" {
		t.Errorf("setup --output json: %s", js.stdout)
	}
	noWrites("setup --output json without --adopt")

	// destroy exits non-zero without a write, and verify still passes.
	destroy := run(exitError, "destroy", "--org-id", testOrg, "--yes")
	for _, want := range []string{"refuse to delete role circleci-ecr-pull: it is managed by Terraform", "terraform destroy", "--adopt"} {
		if !strings.Contains(destroy.stderr, want) {
			t.Errorf("destroy's refusal lacks %q:\n%s", want, destroy.stderr)
		}
	}
	if !strings.Contains(destroy.stdout, "delete iam-role circleci-ecr-pull [managed by Terraform]") {
		t.Errorf("destroy's plan does not mark the role:\n%s", destroy.stdout)
	}
	t.Logf("destroy:\n%s%s", destroy.stdout, destroy.stderr)
	noWrites("destroy without --adopt")
	run(0, spec("verify")...)
	noWrites("verify after destroy")

	// --adopt takes the role over: one TagRole, and then it is the tool's.
	run(0, spec("setup", "--yes", "--adopt")...)
	if got := proxy.Writes(); !equalCounts(got, map[string]int{"TagRole": 1}) {
		t.Errorf("setup --adopt writes %v, want one TagRole", got)
	}
	st = readIAMState(t, cfg, "circleci-ecr-pull")
	if st.RoleTags[provision.ManagedTag] != provision.ManagedByTool || st.ProviderTags[provision.ManagedTag] != provision.ManagedByTerraform {
		t.Errorf("after setup --adopt: role tags %v, provider tags %v", st.RoleTags, st.ProviderTags)
	}
	proxy.Reset()
	gone := run(0, "destroy", "--org-id", testOrg, "--yes")
	if got := proxy.Writes(); !equalCounts(got, map[string]int{"DeleteRolePolicy": 1, "DeleteRole": 1}) {
		t.Errorf("destroy after --adopt writes %v\n%s", got, gone.stdout)
	}
	if !strings.Contains(gone.stdout, "managed by Terraform") || !strings.Contains(gone.stdout, "= oidc-provider") {
		t.Errorf("destroy does not say why it keeps the provider:\n%s", gone.stdout)
	}
}

// TestExportCloudFormationLints checks exported templates with cfn-lint,
// the AWS CloudFormation linter: no errors; warnings are logged.
func TestExportCloudFormationLints(t *testing.T) {
	lint := requireTool(t, "cfn-lint", "lint the CloudFormation export")
	dir := t.TempDir()
	variants := map[string][]string{
		"names-patterns-arns": {"--org-id", testOrg, "--repo", "app,team/*,arn:aws:ecr:eu-west-1:210987654321:repository/shared/base", "--project-id", testProject + "," + exportOtherProject},
		"sub":                 {"--org-id", testOrg, "--repo", "app", "--project-id", testProject, "--project-condition", "sub", "--role-name", "ci-pull"},
		"all-projects":        {"--org-id", testOrg, "--repo", "tools/*", "--all-projects", "--image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/tools/builder:1"},
	}
	var files []string
	for name, args := range variants {
		r := runBinary(t, hermeticEnv(), append([]string{"export", "--format", "cloudformation", "--region", "us-east-1"}, args...)...)
		if r.code != 0 {
			t.Fatalf("export %s exit %d: %s", name, r.code, r.stderr)
		}
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	slices.Sort(files)
	// The golden files too: one with a branch pin and an extra tag, one
	// with 400 repositories and so managed policies.
	files = append(files, filepath.Join("..", "..", "export", "testdata", "stack.yaml"),
		filepath.Join("..", "..", "export", "testdata", "many", "stack.yaml"))
	cmd := exec.Command(lint, files...)
	out, err := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	// cfn-lint's exit status is a bit mask: 1 fatal, 2 error, 4 warning,
	// 8 informational.
	if err != nil && code < 0 {
		t.Fatalf("run cfn-lint: %v", err)
	}
	if code&3 != 0 {
		t.Fatalf("cfn-lint found errors (exit %d):\n%s", code, out)
	}
	t.Logf("cfn-lint exit %d on %d templates; output: %q", code, len(files), out)
}

// TestExportTerraformValidatesManaged runs terraform init, validate and
// fmt -check on the golden Terraform export with 400 repositories, whose
// grants beyond the inline policy are in managed policies (aws_iam_policy
// and aws_iam_role_policy_attachment), with the hashicorp/aws provider from
// the local mirror. It needs no AWS emulator.
func TestExportTerraformValidatesManaged(t *testing.T) {
	tf := requireTool(t, "terraform", "validate the Terraform export")
	mirror := terraformMirror(t)
	golden, err := os.ReadFile(filepath.Join("..", "..", "export", "testdata", "many", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(golden), `resource "aws_iam_policy" "ecr_1"`) {
		t.Fatal("the golden export with 400 repositories has no managed policy")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), golden, 0o644); err != nil {
		t.Fatal(err)
	}
	tfEnv := terraformEnv(t, mirror, hermeticEnv())
	terraform(t, tf, dir, tfEnv, "init", "-input=false", "-no-color")
	terraform(t, tf, dir, tfEnv, "validate", "-no-color")
	terraform(t, tf, dir, tfEnv, "fmt", "-check", "-diff", "-no-color")
}

// TestExportTerraformManagedRoundTrip applies the Terraform export of 400
// repositories against moto_server and checks what it created against the
// plan setup makes for the same flags: the inline policy and the attached
// managed policies, under setup's path and with its tags, grant exactly the
// plan's repositories, each document within its quota; and setup takes the
// managed policies for its own.
func TestExportTerraformManagedRoundTrip(t *testing.T) {
	tf := requireTool(t, "terraform", "apply the Terraform export")
	mirror := terraformMirror(t)
	moto := awstest.StartMoto(t)
	cfg := awstest.Config(context.Background(), t, moto.URL())
	env := moto.Environ(moto.URL())
	var repos []string
	for i := range 400 {
		repos = append(repos, fmt.Sprintf("team-%02d/service-%04d", i%7, i))
	}
	const role = "ci-many"
	args := []string{"--org-id", testOrg, "--project-id", testProject, "--region", "us-east-1", "--role-name", role, "--repo", strings.Join(repos, ",")}

	type plan struct {
		PermissionsPolicy json.RawMessage `json:"permissions_policy"`
		ManagedPolicies   []struct {
			Name     string          `json:"name"`
			Document json.RawMessage `json:"document"`
		} `json:"managed_policies"`
		Changes []struct{ Action, Resource, Name string } `json:"changes"`
	}
	readPlan := func() plan {
		t.Helper()
		r := runBinary(t, env, append([]string{"plan", "--allow-missing-repos", "--output", "json"}, args...)...)
		if r.code != 0 {
			t.Fatalf("plan exit %d: %s", r.code, r.stderr)
		}
		var p plan
		if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
			t.Fatalf("plan output: %v\n%s", err, r.stdout)
		}
		return p
	}
	before := readPlan()
	if len(before.ManagedPolicies) == 0 {
		t.Fatal("the plan for 400 repositories has no managed policies")
	}
	want := []string{string(before.PermissionsPolicy)}
	for _, mp := range before.ManagedPolicies {
		want = append(want, string(mp.Document))
	}

	dir := t.TempDir()
	if r := runBinary(t, env, append([]string{"export", "--format", "terraform", "--out", dir}, args...)...); r.code != 0 {
		t.Fatalf("export exit %d: %s", r.code, r.stderr)
	}
	tfEnv := append(terraformEnv(t, mirror, env), "AWS_EC2_METADATA_DISABLED=true")
	terraform(t, tf, dir, tfEnv, "init", "-input=false", "-no-color")
	terraform(t, tf, dir, tfEnv, "apply", "-auto-approve", "-input=false", "-no-color")

	ctx := context.Background()
	api := iam.NewFromConfig(cfg)
	inline, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String("circleci-ecr-oidc-pull")})
	if err != nil {
		t.Fatalf("read inline policy: %v", err)
	}
	doc, _ := url.QueryUnescape(aws.ToString(inline.PolicyDocument))
	got := []string{doc}
	if size := policy.Size(doc); size > 10240 {
		t.Errorf("the inline policy is %d characters, over 10240", size)
	}
	attached, err := api.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		t.Fatal(err)
	}
	if len(attached.AttachedPolicies) == 0 || len(attached.AttachedPolicies) > 10 {
		t.Fatalf("%d managed policies attached, want 1 to 10", len(attached.AttachedPolicies))
	}
	for _, a := range attached.AttachedPolicies {
		p, err := api.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: a.PolicyArn})
		if err != nil {
			t.Fatal(err)
		}
		if path := aws.ToString(p.Policy.Path); path != "/circleci-ecr-oidc/"+role+"/" {
			t.Errorf("managed policy %s has path %s", aws.ToString(a.PolicyName), path)
		}
		tags := map[string]string{}
		for _, tag := range p.Policy.Tags {
			tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		if tags["circleci-ecr-oidc:managed"] != "terraform" || tags["circleci-ecr-oidc:org-id"] != testOrg {
			t.Errorf("managed policy %s lacks the ownership tags: %v", aws.ToString(a.PolicyName), tags)
		}
		v, err := api.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: a.PolicyArn, VersionId: p.Policy.DefaultVersionId})
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := url.QueryUnescape(aws.ToString(v.PolicyVersion.Document))
		if size := policy.Size(doc); size > 6144 {
			t.Errorf("managed policy %s is %d characters, over 6144", aws.ToString(a.PolicyName), size)
		}
		got = append(got, doc)
	}
	if g, w := grantedARNs(t, got), grantedARNs(t, want); !slices.Equal(g, w) {
		t.Errorf("terraform's documents grant %d repository ARNs, setup's plan %d", len(g), len(w))
	}
	t.Logf("setup's plan: inline + %d managed policies; terraform created inline + %d", len(before.ManagedPolicies), len(attached.AttachedPolicies))

	// plan compares what Terraform created as usual and does not refuse;
	// it may move grants between the documents, which are packed for the
	// longest partition (docs/export.md), and marks such changes as
	// Terraform's.
	after := readPlan()
	for _, c := range after.Changes {
		if c.Action == "create" {
			t.Errorf("plan after terraform apply wants to %s %s %s", c.Action, c.Resource, c.Name)
		}
	}
	t.Logf("plan after terraform apply: %v", after.Changes)
}

// terraformEnv returns base plus the environment that makes terraform
// install the aws provider from the local filesystem mirror only, without
// prompts, telemetry or a plugin cache.
func terraformEnv(t *testing.T, mirror string, base []string) []string {
	t.Helper()
	cliConfig := filepath.Join(t.TempDir(), "terraform.rc")
	rc := `provider_installation {
  filesystem_mirror {
    path    = "` + mirror + `"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
`
	if err := os.WriteFile(cliConfig, []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}
	return append(slices.Clone(base), "TF_CLI_CONFIG_FILE="+cliConfig, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1", "TF_PLUGIN_CACHE_DIR=")
}

// grantedARNs lists the repository ARNs the documents grant, sorted, with
// duplicates kept.
func grantedARNs(t *testing.T, docs []string) []string {
	t.Helper()
	out, err := policy.GrantedResources(docs...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExportTooManyRepositories checks that repositories beyond what the
// inline policy and ten managed policies hold are refused as an input
// problem (exit 2) in one line that says how many fit and suggests
// prefix/* patterns.
func TestExportTooManyRepositories(t *testing.T) {
	var repos []string
	for i := range 1500 {
		repos = append(repos, fmt.Sprintf("team-%02d/service-%04d", i%7, i))
	}
	for _, format := range []string{"terraform", "cloudformation"} {
		r := runBinary(t, hermeticEnv(), "export", "--format", format, "--org-id", testOrg, "--project-id", testProject,
			"--region", "us-east-1", "--repo", strings.Join(repos, ","))
		if r.code != exitUsage {
			t.Errorf("%s: exit %d, want %d; stderr %q", format, r.code, exitUsage, r.stderr)
		}
		line, _, _ := strings.Cut(strings.TrimSpace(r.stderr), "\n")
		if r.stdout != "" || !strings.Contains(line, "grant 1500 repositories: only ") || !strings.Contains(line, "--repo team-00/*") {
			t.Errorf("%s: stdout %q, stderr %q; want one line saying how many fit and suggesting --repo team-00/*", format, r.stdout, r.stderr)
		}
		t.Logf("%s: %s", format, line)
	}
}

// hermeticEnv is the test process's environment without AWS settings, so
// that export shows it needs no credentials.
func hermeticEnv() []string {
	return awstest.EnvironWithSharedConfig(os.DevNull, os.DevNull)
}

func TestExportCommand(t *testing.T) {
	args := append([]string{"export", "--format", "terraform"}, exportSpecArgs...)
	stdout := runBinary(t, hermeticEnv(), args...)
	if stdout.code != 0 || !strings.Contains(stdout.stdout, `resource "aws_iam_role" "circleci"`) {
		t.Fatalf("export to stdout exit %d\nstdout: %s\nstderr: %s", stdout.code, stdout.stdout, stdout.stderr)
	}
	dir := filepath.Join(t.TempDir(), "new", "dir")
	// --yes and the other setup-only flags are accepted, so that a setup
	// command line works with the verb changed.
	files := runBinary(t, hermeticEnv(), append(args, "--out", dir, "--yes", "--output", "json")...)
	if files.code != 0 || files.stdout != "" {
		t.Fatalf("export --out exit %d, stdout %q, stderr %s", files.code, files.stdout, files.stderr)
	}
	written, err := os.ReadFile(filepath.Join(dir, "main.tf"))
	if err != nil || string(written) != stdout.stdout {
		t.Errorf("main.tf differs from the stdout export (err %v)", err)
	}
	if !strings.Contains(files.stderr, "terraform -chdir="+dir+" init") {
		t.Errorf("stderr lacks the next step: %s", files.stderr)
	}

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no format", exportSpecArgs, "--format is required"},
		{"bad format", append([]string{"--format", "pulumi"}, exportSpecArgs...), "must be terraform, cloudformation or cloudformation-stackset"},
		{"missing flags", []string{"--format", "terraform", "--org-id", testOrg}, "--repo"},
		{"bad org", []string{"--format", "terraform", "--org-id", "acme", "--repo", "app", "--all-projects"}, "--org-id"},
		{"no region", []string{"--format", "terraform", "--org-id", testOrg, "--repo", "app", "--all-projects"}, "--region is required"},
		// A bad --region is reported before CircleCI is asked about a slug,
		// as setup reports it.
		{"bad region and a slug", []string{"--format", "terraform", "--org-id", "gh/acme", "--repo", "app", "--all-projects", "--region", "mars-1"}, `invalid --region "mars-1"`},
	} {
		r := runBinary(t, hermeticEnv(), append([]string{"export"}, c.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q", c.name, r.code, r.stderr, exitUsage, c.want)
		}
	}
}
