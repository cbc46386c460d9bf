package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"gopkg.in/yaml.v3"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

const (
	testOrg     = "2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d"
	testProject = "8e7c4b1e-5a0d-4c3b-9f2e-1d6a7b8c9d0e"
)

// binary is the tool built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "circleci-ecr-oidc-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "circleci-ecr-oidc")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build the binary for end-to-end tests: " + err.Error())
	}
	isolateCircleCI(dir)
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// The home directory and $XDG_CONFIG_HOME of the person running the tests,
// and the empty ones the tool's runs get instead (isolateHome).
var (
	realHome, realXDGConfig = os.Getenv("HOME"), os.Getenv("XDG_CONFIG_HOME")
	testHome                string
)

// isolateCircleCI keeps the tests from the CircleCI token and host of the
// person running them (a token in their environment or their CircleCI CLI
// config would make every run call CircleCI): it unsets the variables, and
// makes testHome, under dir, the home directory of the tool's runs.
func isolateCircleCI(dir string) {
	for _, k := range []string{"CIRCLE_TOKEN", "CIRCLECI_CLI_TOKEN", "CIRCLE_CLI_TOKEN", "CIRCLE_HOST", "CIRCLECI_CLI_HOST"} {
		_ = os.Unsetenv(k)
	}
	testHome = filepath.Join(dir, "home")
	if err := os.MkdirAll(testHome, 0o700); err != nil {
		panic(err)
	}
}

// isolateHome is env for a run of the tool, with the test home directory
// for the real one: only the tool's runs get it, so that the go, git and
// terraform the tests run keep their caches and settings. A HOME the test
// set itself is kept.
func isolateHome(env []string) []string {
	out := []string{"HOME=" + testHome, "XDG_CONFIG_HOME=" + filepath.Join(testHome, ".config")}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "HOME" && v == realHome || k == "XDG_CONFIG_HOME" && v == realXDGConfig {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// isolateHomeFor gives the process the test home directory while t runs,
// for tests that call run with the process's environment.
func isolateHomeFor(t *testing.T) {
	t.Helper()
	t.Setenv("HOME", testHome)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(testHome, ".config"))
}

type invocation struct {
	stdout, stderr string
	code           int
}

// runBinary runs the built tool with env, no terminal and an empty stdin.
// runCmd runs the command line in this process, as main runs it, with the
// process environment replaced by env while it runs, and no terminal: the
// race detector and coverage see the command code. Runs are serialized,
// since the environment is the process's.
func runCmd(t *testing.T, env []string, args ...string) invocation {
	t.Helper()
	return runCmdStdin(t, env, "", args...)
}

// envMu serializes the in-process runs, which swap the environment.
var envMu sync.Mutex

// runCmdStdin is runCmd with stdin.
func runCmdStdin(t *testing.T, env []string, stdin string, args ...string) invocation {
	t.Helper()
	envMu.Lock()
	defer envMu.Unlock()
	saved := os.Environ()
	setEnviron := func(kvs []string) {
		os.Clearenv()
		for _, kv := range kvs {
			if k, v, ok := strings.Cut(kv, "="); ok {
				if err := os.Setenv(k, v); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	setEnviron(isolateHome(env))
	defer setEnviron(saved)
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
	return invocation{out.String(), errOut.String(), code}
}

// runBinary runs the built tool with env, no terminal: for what only a
// process shows (its exit status as the shell sees it, signals), and for
// tests that run beside others (t.Parallel), which must not share the
// process environment.
func runBinary(t *testing.T, env []string, args ...string) invocation {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = isolateHome(env)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return invocation{out.String(), errOut.String(), code}
}

type e2eEnv struct {
	proxy *awstest.Proxy
	cfg   aws.Config
	env   []string
}

func startEmulator(t *testing.T, repos ...string) e2eEnv {
	t.Helper()
	moto := awstest.StartMoto(t)
	proxy, cfg := awstest.Behind(t, moto, repos...)
	return e2eEnv{proxy: proxy, cfg: cfg, env: moto.Environ(proxy.URL())}
}

var setupArgs = []string{"setup", "--org-id", testOrg, "--repo", "app,tools/builder", "--project-id", testProject}

func TestSetupEndToEnd(t *testing.T) {
	e := startEmulator(t, "app", "tools/builder")

	first := runCmd(t, e.env, append(setupArgs, "--yes")...)
	if first.code != 0 {
		t.Fatalf("setup exit %d\nstderr: %s", first.code, first.stderr)
	}
	want := map[string]int{"CreateOpenIDConnectProvider": 1, "CreateRole": 1, "PutRolePolicy": 1}
	if got := e.proxy.Writes(); !equalCounts(got, want) {
		t.Errorf("first run writes = %v, want %v", got, want)
	}
	t.Logf("first run: %d requests %v", e.proxy.Total(), e.proxy.Counts())
	if !strings.Contains(first.stdout, "oidc_role_arn: arn:aws:iam::123456789012:role/circleci-ecr-pull") {
		t.Errorf("stdout lacks the snippet:\n%s", first.stdout)
	}

	e.proxy.Reset()
	second := runCmd(t, e.env, append(setupArgs, "--yes")...)
	if second.code != 0 || !strings.Contains(second.stdout, "No changes") {
		t.Fatalf("rerun exit %d\nstdout: %s\nstderr: %s", second.code, second.stdout, second.stderr)
	}
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("rerun wrote %v", w)
	}
	t.Logf("rerun: %d requests %v", e.proxy.Total(), e.proxy.Counts())

	// JSON output is one parseable object that matches the account.
	e.proxy.Reset()
	j := runCmd(t, e.env, append(setupArgs, "--yes", "--output", "json")...)
	if j.code != 0 {
		t.Fatalf("json run exit %d: %s", j.code, j.stderr)
	}
	var out struct {
		Account           string            `json:"account"`
		Region            string            `json:"region"`
		ProviderARN       string            `json:"provider_arn"`
		RoleARN           string            `json:"role_arn"`
		Changes           []json.RawMessage `json:"changes"`
		Applied           bool              `json:"applied"`
		Snippet           string            `json:"snippet"`
		TrustPolicy       json.RawMessage   `json:"trust_policy"`
		PermissionsPolicy json.RawMessage   `json:"permissions_policy"`
	}
	if err := json.Unmarshal([]byte(j.stdout), &out); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, j.stdout)
	}
	if out.Account != awstest.AccountID || out.Region != "us-east-1" || out.Changes == nil || len(out.Changes) != 0 || !out.Applied {
		t.Errorf("json = %+v", out)
	}
	api := iam.NewFromConfig(e.cfg)
	role, err := api.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("circleci-ecr-pull")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(role.Role.Arn) != out.RoleARN {
		t.Errorf("role_arn %s, account has %s", out.RoleARN, aws.ToString(role.Role.Arn))
	}
	trust, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if !policy.Equal(trust, string(out.TrustPolicy)) {
		t.Errorf("trust_policy in JSON differs from the role's:\n%s\n%s", out.TrustPolicy, trust)
	}
	pol, err := api.GetRolePolicy(context.Background(), &iam.GetRolePolicyInput{RoleName: aws.String("circleci-ecr-pull"), PolicyName: aws.String("circleci-ecr-oidc-pull")})
	if err != nil {
		t.Fatal(err)
	}
	perms, _ := url.QueryUnescape(aws.ToString(pol.PolicyDocument))
	if !policy.Equal(perms, string(out.PermissionsPolicy)) {
		t.Errorf("permissions_policy in JSON differs from the role's:\n%s\n%s", out.PermissionsPolicy, perms)
	}
	if _, err := api.GetOpenIDConnectProvider(context.Background(), &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(out.ProviderARN)}); err != nil {
		t.Errorf("provider_arn %s not in the account: %v", out.ProviderARN, err)
	}
	var snippet map[string]any
	if err := yaml.Unmarshal([]byte(out.Snippet), &snippet); err != nil {
		t.Errorf("snippet is not YAML: %v", err)
	}
}

func TestSetupWithoutTerminalOrYesWritesNothing(t *testing.T) {
	e := startEmulator(t, "app", "tools/builder")
	r := runCmd(t, e.env, setupArgs...)
	if r.code != exitError {
		t.Errorf("exit %d, want %d", r.code, exitError)
	}
	if !strings.Contains(r.stderr, "--yes") || !strings.Contains(r.stdout, "Plan: 3 change(s)") {
		t.Errorf("want the plan on stdout and a --yes hint on stderr\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("wrote %v without confirmation", w)
	}
}

func TestPlanDetailedExitcode(t *testing.T) {
	e := startEmulator(t, "app")
	args := []string{"plan", "--org-id", testOrg, "--repo", "app", "--project-id", testProject, "--detailed-exitcode"}
	if r := runCmd(t, e.env, args...); r.code != 2 {
		t.Errorf("plan with pending changes exit %d, want 2\n%s", r.code, r.stderr)
	}
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("plan wrote %v", w)
	}
	if r := runCmd(t, e.env, "setup", "--org-id", testOrg, "--repo", "app", "--project-id", testProject, "--yes"); r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	if r := runCmd(t, e.env, args...); r.code != 0 {
		t.Errorf("plan with nothing pending exit %d, want 0\n%s", r.code, r.stderr)
	}
	// As in Terraform, 2 means only "changes pending": invalid input and
	// flag errors are errors (1), and still send nothing to AWS.
	e.proxy.Reset()
	for _, bad := range [][]string{
		{"plan", "--detailed-exitcode", "--org-id", "acme", "--repo", "app", "--project-id", testProject},
		{"plan", "--detailed-exitcode", "--no-such-flag"},
		{"plan", "--no-such-flag", "--detailed-exitcode"},
		{"plan", "--detailed-exitcode=true", "--org-id", testOrg, "--repo", "App", "--project-id", testProject},
	} {
		if r := runCmd(t, e.env, bad...); r.code != exitError || !strings.Contains(r.stderr, "Error: ") {
			t.Errorf("%v: exit %d, want 1\n%s", bad, r.code, r.stderr)
		}
	}
	if r := runCmd(t, e.env, "plan", "--detailed-exitcode=false", "--org-id", "acme", "--repo", "app", "--project-id", testProject); r.code != exitUsage {
		t.Errorf("--detailed-exitcode=false with invalid input: exit %d, want 2", r.code)
	}
	if n := e.proxy.Total(); n != 0 {
		t.Errorf("invalid input sent %d requests", n)
	}
}

// TestConfigFileWithShardIsRefused: --config-file under --shard used to be
// ignored silently; it is refused before any AWS call, and the file is left
// as it was.
func TestConfigFileWithShardIsRefused(t *testing.T) {
	e := startEmulator(t, "app")
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yml")
	const config = "version: 2.1\njobs:\n  build:\n    docker:\n      - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest\n    steps: [checkout]\n"
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"setup", "plan"} {
		r := runCmd(t, e.env, cmd, "--shard", "--org-id", testOrg, "--repo", "app", "--project-id", testProject, "--config-file", path, "--yes")
		if cmd == "plan" {
			r = runCmd(t, e.env, cmd, "--shard", "--org-id", testOrg, "--repo", "app", "--project-id", testProject, "--config-file", path)
		}
		if r.code != exitUsage || !strings.Contains(r.stderr, "--config-file") || !strings.Contains(r.stderr, "does not apply with --shard") {
			t.Errorf("%s: exit %d\n%s", cmd, r.code, r.stderr)
		}
	}
	if n := e.proxy.Total(); n != 0 {
		t.Errorf("sent %d requests", n)
	}
	if got, _ := os.ReadFile(path); string(got) != config {
		t.Errorf("config.yml changed:\n%s", got)
	}
}

// TestInvalidInputExitsTwoWithoutAWSCalls runs every invalid flag through
// the binary: exit 2, a one-line error naming the flag, and no request.
func TestInvalidInputExitsTwoWithoutAWSCalls(t *testing.T) {
	e := startEmulator(t)
	base := map[string]string{"--org-id": testOrg, "--repo": "app", "--project-id": testProject, "--region": "us-east-1"}
	tests := []struct {
		name     string
		override map[string]string
		extra    []string
		flag     string
	}{
		{"org not uuid", map[string]string{"--org-id": "acme"}, nil, "--org-id"},
		{"org missing", map[string]string{"--org-id": ""}, nil, "--org-id"},
		{"repo uppercase", map[string]string{"--repo": "App"}, nil, "--repo"},
		{"repo bad arn", map[string]string{"--repo": "arn:aws:ecr::123456789012:repository/app"}, nil, "--repo"},
		{"repo bare star", map[string]string{"--repo": "*"}, nil, "--repo"},
		{"project not uuid", map[string]string{"--project-id": "web"}, nil, "--project-id"},
		{"projects missing", map[string]string{"--project-id": ""}, nil, "--project-id"},
		{"projects and all", nil, []string{"--all-projects"}, "--all-projects"},
		{"role name too long", map[string]string{"--role-name": strings.Repeat("r", 65)}, nil, "--role-name"},
		{"role name bad char", map[string]string{"--role-name": "ci role"}, nil, "--role-name"},
		{"region malformed", map[string]string{"--region": "useast1"}, nil, "--region"},
		{"image not ecr", map[string]string{"--image": "alpine:3"}, nil, "--image"},
		{"output unknown", map[string]string{"--output": "yaml"}, nil, "--output"},
		{"condition unknown", map[string]string{"--project-condition": "aud"}, nil, "--project-condition"},
		{"unknown flag", nil, []string{"--bogus"}, "--bogus"},
		{"profile missing", map[string]string{"--profile": "nope"}, nil, "--profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"setup"}
			for _, k := range []string{"--org-id", "--repo", "--project-id", "--region"} {
				v, ok := tt.override[k]
				if !ok {
					v = base[k]
				}
				if v != "" {
					args = append(args, k, v)
				}
			}
			for k, v := range tt.override {
				if _, isBase := base[k]; !isBase {
					args = append(args, k, v)
				}
			}
			args = append(args, tt.extra...)
			e.proxy.Reset()
			r := runCmd(t, e.env, args...)
			if r.code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", r.code, exitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.flag) {
				t.Errorf("stderr %q does not name %s", r.stderr, tt.flag)
			}
			if lines := strings.Count(strings.TrimSpace(r.stderr), "\n") + 1; lines != 1 {
				t.Errorf("error takes %d lines, want 1: %q", lines, r.stderr)
			}
			if n := e.proxy.Total(); n != 0 {
				t.Errorf("made %d AWS requests (%v) for invalid input", n, e.proxy.Counts())
			}
		})
	}
}

// TestOtherPartitionExitsTwoWithoutAWSCalls gives every command that takes
// --repo and --image values in another partition than the region's: the
// region's partition is the account's (credentials work only there), so the
// grant could never match, and that is known before any AWS call.
func TestOtherPartitionExitsTwoWithoutAWSCalls(t *testing.T) {
	e := startEmulator(t)
	const chinaRepo = "arn:aws-cn:ecr:cn-north-1:123456789012:repository/app"
	tests := []struct {
		name  string
		args  []string
		flag  string
		other string
	}{
		{"repo", []string{"--repo", "app," + chinaRepo}, "--repo", "aws-cn"},
		{"image", []string{"--repo", "app", "--image", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1"}, "--image", "aws-cn"},
		{"aws repo from a china region", []string{"--repo", "arn:aws:ecr:us-east-1:123456789012:repository/app", "--region", "cn-north-1"}, "--repo", "aws"},
	}
	for _, tt := range tests {
		for _, command := range []string{"setup", "plan", "export", "verify"} {
			t.Run(tt.name+"/"+command, func(t *testing.T) {
				args := []string{command, "--org-id", testOrg, "--project-id", testProject}
				if !slices.Contains(tt.args, "--region") {
					args = append(args, "--region", "us-east-1")
				}
				args = append(args, tt.args...)
				if command == "export" {
					args = append(args, "--format", "terraform")
				}
				e.proxy.Reset()
				r := runCmd(t, e.env, args...)
				if r.code != exitUsage {
					t.Errorf("exit %d, want %d; stderr: %s", r.code, exitUsage, r.stderr)
				}
				account := map[string]string{"aws-cn": "aws", "aws": "aws-cn"}[tt.other]
				for _, want := range []string{tt.flag, "partition " + tt.other, "partition " + account + " (region "} {
					if !strings.Contains(r.stderr, want) {
						t.Errorf("stderr %q does not say %q", r.stderr, want)
					}
				}
				if lines := strings.Count(strings.TrimSpace(r.stderr), "\n") + 1; lines != 1 {
					t.Errorf("error takes %d lines, want 1: %q", lines, r.stderr)
				}
				if n := e.proxy.Total(); n != 0 {
					t.Errorf("made %d AWS requests (%v)", n, e.proxy.Counts())
				}
			})
		}
	}
}

func TestSnippetMakesNoAWSCalls(t *testing.T) {
	e := startEmulator(t)
	r := runCmd(t, e.env, "snippet", "--role-arn", "arn:aws:iam::123456789012:role/ci/circleci-ecr-pull", "--image", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.0")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if e.proxy.Total() != 0 {
		t.Errorf("snippet made %d requests", e.proxy.Total())
	}
	if !strings.Contains(r.stdout, "region: eu-west-1") || !strings.Contains(r.stdout, "role/ci/circleci-ecr-pull") {
		t.Errorf("snippet:\n%s", r.stdout)
	}
	bad := runCmd(t, e.env, "snippet", "--role-arn", "arn:aws:iam::123456789012:user/bob", "--image", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.0")
	if bad.code != exitUsage || !strings.Contains(bad.stderr, "--role-arn") {
		t.Errorf("bad role ARN: exit %d, stderr %s", bad.code, bad.stderr)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestDestroyMaxAttempts: destroy takes --max-attempts as setup does: an
// invalid value is refused before any call, and a valid one bounds the
// retries of a throttled call.
func TestDestroyMaxAttempts(t *testing.T) {
	e := startEmulator(t)
	r := runCmd(t, e.env, "destroy", "--org-id", testOrg, "--max-attempts", "0", "--yes")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--max-attempts") || e.proxy.Total() != 0 {
		t.Errorf("--max-attempts 0: exit %d, %d requests\n%s", r.code, e.proxy.Total(), r.stderr)
	}
	e.proxy.ThrottleEvery(1)
	r = runCmd(t, e.env, "destroy", "--org-id", testOrg, "--max-attempts", "2", "--yes")
	if r.code != exitError || !strings.Contains(r.stderr, "exceeded maximum number of attempts, 2") {
		t.Errorf("throttled destroy with --max-attempts 2: exit %d\n%s", r.code, r.stderr)
	}
}

// TestPlanJSONCarriesTheSteps: --output json lists every resource as a step
// with its observed and desired values: before setup the role's step
// creates it from nothing; after, every step matches and changes is empty.
func TestPlanJSONCarriesTheSteps(t *testing.T) {
	e := startEmulator(t, "app")
	args := []string{"plan", "--org-id", testOrg, "--repo", "app", "--project-id", testProject, "--output", "json"}
	type step struct {
		Action   string          `json:"action"`
		Kind     string          `json:"kind"`
		Name     string          `json:"name"`
		Observed json.RawMessage `json:"observed"`
		Desired  *struct {
			Document string `json:"document"`
		} `json:"desired"`
	}
	var before, after struct {
		Steps   []step            `json:"steps"`
		Changes []json.RawMessage `json:"changes"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, e.env, 0, args...).stdout), &before); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]step{}
	for _, s := range before.Steps {
		kinds[s.Kind] = s
	}
	// A new role is created with its trust policy: its step carries it.
	role := kinds["role"]
	if role.Action != "create" || string(role.Observed) != "null" || role.Desired == nil || !strings.Contains(role.Desired.Document, testProject) {
		t.Errorf("before setup: role step %+v", role)
	}
	if len(before.Changes) == 0 || len(before.Steps) < len(before.Changes) {
		t.Errorf("%d steps, %d changes", len(before.Steps), len(before.Changes))
	}
	mustRun(t, e.env, 0, "setup", "--org-id", testOrg, "--repo", "app", "--project-id", testProject, "--yes")
	if err := json.Unmarshal([]byte(mustRun(t, e.env, 0, args...).stdout), &after); err != nil {
		t.Fatal(err)
	}
	if len(after.Changes) != 0 || len(after.Steps) < 4 {
		t.Errorf("after setup: %d changes, %d steps", len(after.Changes), len(after.Steps))
	}
	for _, s := range after.Steps {
		if s.Action != "none" || string(s.Observed) == "null" {
			t.Errorf("after setup, step %s %s: action %s, observed %s", s.Kind, s.Name, s.Action, s.Observed)
		}
	}
}

// TestKnownAccountReadsTheProviderFirst: when the credentials name the
// account (AWS_ACCOUNT_ID), the rerun reads the provider by its ARN with the
// other first reads instead of listing the providers first, so nothing
// waits on the caller identity; a wrong account in the credentials costs
// only the listing after all, never a wrong plan.
func TestKnownAccountReadsTheProviderFirst(t *testing.T) {
	e := startEmulator(t, "app")
	args := []string{"setup", "--org-id", testOrg, "--repo", "app", "--project-id", testProject, "--yes"}
	mustRun(t, e.env, 0, args...)
	for _, tc := range []struct {
		account        string
		wantListings   int
		wantProviderGs int
	}{
		{"123456789012", 0, 1}, // moto's account: the ARN is right
		{"999999999999", 1, 2}, // wrong: read by the guessed ARN, then listed
		{"", 1, 1},             // unknown: listed, then read
	} {
		e.proxy.Reset()
		env := append(slices.Clone(e.env), "AWS_ACCOUNT_ID="+tc.account)
		r := mustRun(t, env, 0, args...)
		counts := e.proxy.Counts()
		if w := e.proxy.Writes(); len(w) != 0 || !strings.Contains(r.stdout, "No changes") {
			t.Errorf("account %q: writes %v\n%s", tc.account, w, r.stdout)
		}
		if counts["ListOpenIDConnectProviders"] != tc.wantListings || counts["GetOpenIDConnectProvider"] != tc.wantProviderGs {
			t.Errorf("account %q: %d listings and %d provider reads, want %d and %d", tc.account,
				counts["ListOpenIDConnectProviders"], counts["GetOpenIDConnectProvider"], tc.wantListings, tc.wantProviderGs)
		}
	}
}
