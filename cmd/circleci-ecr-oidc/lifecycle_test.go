package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/token"
)

const (
	otherProject = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
	testUser     = "5f1e2d3c-4b5a-4697-8877-665544332211"
	foreignRole  = "foreign-deployer"
)

// verifyArgs are setupArgs for verify: the same flags.
func verifyArgs(extra ...string) []string {
	return append(append([]string{"verify"}, setupArgs[1:]...), extra...)
}

func mustRun(t *testing.T, env []string, want int, args ...string) invocation {
	t.Helper()
	r := runCmd(t, env, args...)
	if r.code != want {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// TestLifecycle drives the binary through setup → verify → drift → verify →
// repair → destroy → destroy again → a provider kept for a foreign role.
func TestLifecycle(t *testing.T) {
	e := startEmulator(t, "app", "tools/builder")
	ctx := context.Background()
	api := iam.NewFromConfig(e.cfg)
	providerARN := policy.ProviderARN("aws", awstest.AccountID, testOrg)

	mustRun(t, e.env, 0, append(setupArgs, "--yes")...)

	e.proxy.Reset()
	ok := mustRun(t, e.env, 0, verifyArgs()...)
	if !strings.Contains(ok.stdout, "State: all 8 items match.") || !strings.Contains(ok.stdout, "Result: OK") {
		t.Errorf("verify after setup:\n%s", ok.stdout)
	}
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("verify wrote %v", w)
	}

	// Drift by hand: the trust policy now admits another project.
	drifted := strings.ReplaceAll(readTrust(t, api), testProject, otherProject)
	if _, err := api.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("circleci-ecr-pull"), PolicyDocument: aws.String(drifted)}); err != nil {
		t.Fatal(err)
	}
	bad := mustRun(t, e.env, exitError, verifyArgs()...)
	for _, want := range []string{"✗ trust-policy", "-             \"" + otherProject + "\"", "+             \"" + testProject + "\"", "State: 1 of 8 items differ (trust-policy)."} {
		if !strings.Contains(bad.stdout, want) {
			t.Errorf("verify after drift lacks %q:\n%s", want, bad.stdout)
		}
	}
	// The report says what differs: stderr says how to repair it, and
	// no error repeats the report.
	if !strings.Contains(bad.stderr, "Run setup with the same flags to repair what differs") || strings.Contains(bad.stderr, "Error:") {
		t.Errorf("verify after drift, stderr:\n%s", bad.stderr)
	}
	t.Logf("verify after drift:\n%s", bad.stdout)
	var js provision.VerifyReport
	j := mustRun(t, e.env, exitError, verifyArgs("--output", "json")...)
	if err := json.Unmarshal([]byte(j.stdout), &js); err != nil {
		t.Fatalf("verify --output json: %v\n%s", err, j.stdout)
	}
	if js.OK || js.State == nil || len(js.State.Failed()) != 1 || js.State.Failed()[0].Item != "trust-policy" || len(js.State.Failed()[0].Diff) == 0 {
		t.Errorf("verify json: %s", j.stdout)
	}

	// setup repairs it, and verify agrees.
	e.proxy.Reset()
	mustRun(t, e.env, 0, append(setupArgs, "--yes")...)
	if got := e.proxy.Writes(); !equalCounts(got, map[string]int{"UpdateAssumeRolePolicy": 1}) {
		t.Errorf("repair writes = %v", got)
	}
	mustRun(t, e.env, 0, verifyArgs()...)

	// destroy without a terminal and without --yes deletes nothing.
	e.proxy.Reset()
	refused := mustRun(t, e.env, exitError, "destroy", "--org-id", testOrg)
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("destroy without --yes wrote %v", w)
	}
	if !strings.Contains(refused.stdout, "Will delete") || !strings.Contains(refused.stderr, "--yes") {
		t.Errorf("refused destroy:\nstdout: %s\nstderr: %s", refused.stdout, refused.stderr)
	}

	e.proxy.Reset()
	d := mustRun(t, e.env, 0, "destroy", "--org-id", testOrg, "--yes")
	if got := e.proxy.Writes(); !equalCounts(got, map[string]int{"DeleteRolePolicy": 1, "DeleteRole": 1, "DeleteOpenIDConnectProvider": 1}) {
		t.Errorf("destroy writes = %v\n%s", got, d.stdout)
	}
	if _, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("circleci-ecr-pull")}); err == nil {
		t.Error("the role is still there after destroy")
	}
	if _, err := api.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)}); err == nil {
		t.Error("the provider is still there after destroy")
	}

	e.proxy.Reset()
	again := mustRun(t, e.env, 0, "destroy", "--org-id", testOrg, "--yes")
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("second destroy wrote %v", w)
	}
	if !strings.Contains(again.stdout, "Nothing to delete") {
		t.Errorf("second destroy:\n%s", again.stdout)
	}

	// A foreign role that trusts the provider keeps it alive.
	mustRun(t, e.env, 0, append(setupArgs, "--yes")...)
	foreignTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + providerARN + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.circleci.com/org/` + testOrg + `:aud":"` + testOrg + `"}}}]}`
	if _, err := api.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(foreignRole), AssumeRolePolicyDocument: aws.String(foreignTrust)}); err != nil {
		t.Fatal(err)
	}
	e.proxy.Reset()
	text := mustRun(t, e.env, 0, "destroy", "--org-id", testOrg, "--yes")
	if got := e.proxy.Writes(); !equalCounts(got, map[string]int{"DeleteRolePolicy": 1, "DeleteRole": 1}) {
		t.Errorf("destroy with a foreign role writes = %v", got)
	}
	for _, want := range []string{"- delete iam-role circleci-ecr-pull", "= oidc-provider " + providerARN, "still trusted by other roles: " + foreignRole} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("destroy with a foreign role lacks %q:\n%s", want, text.stdout)
		}
	}
	t.Logf("destroy with a foreign role:\n%s", text.stdout)
	if _, err := api.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)}); err != nil {
		t.Errorf("the provider a foreign role trusts was deleted: %v", err)
	}
	if _, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(foreignRole)}); err != nil {
		t.Errorf("the foreign role was touched: %v", err)
	}

	// The same in JSON, after setting up again.
	mustRun(t, e.env, 0, append(setupArgs, "--yes")...)
	kept := mustRun(t, e.env, 0, "destroy", "--org-id", testOrg, "--yes", "--output", "json")
	var dj provision.DestroyReport
	if err := json.Unmarshal([]byte(kept.stdout), &dj); err != nil {
		t.Fatalf("destroy json: %v\n%s", err, kept.stdout)
	}
	if !dj.Applied || len(dj.Deleted) != 2 || len(dj.Keeps) != 1 || dj.Keeps[0].Name != providerARN || len(dj.Keeps[0].UsedBy) != 1 || dj.Keeps[0].UsedBy[0] != foreignRole {
		t.Errorf("destroy json = %s", kept.stdout)
	}
}

func readTrust(t *testing.T, api *iam.Client) string {
	t.Helper()
	out, err := api.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("circleci-ecr-pull")})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// tokens mints CircleCI-shaped tokens with a key the test generated.
type tokens struct {
	t   *testing.T
	key *rsa.PrivateKey
	dir string
}

func newTokens(t *testing.T) *tokens {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &tokens{t: t, key: key, dir: t.TempDir()}
}

// claimsV2 are the claims of a $CIRCLE_OIDC_TOKEN_V2 for project on main.
func claimsV2(project string) token.Claims {
	now := time.Now().UTC().Truncate(time.Second)
	sub := token.Subject{OrgID: testOrg, ProjectID: project, UserID: testUser, VCSOrigin: "github.com/acme/app", VCSRef: "refs/heads/main"}
	rerun := false
	return token.Claims{
		Issuer: policy.IssuerURL(testOrg), Audience: []string{testOrg}, Subject: sub.String(),
		IssuedAt: now, ExpiresAt: now.Add(time.Hour),
		CircleCI: token.CircleCIClaims{
			ProjectID: project, OrgID: testOrg, ContextIDs: []string{"6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d"},
			VCSOrigin: "github.com/acme/app", VCSRef: "refs/heads/main", SSHRerun: &rerun,
			JobID: "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9", WorkflowID: "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
			PipelineID: "3b4c5d6e-7f8a-4b9c-8d0e-1f2a3b4c5d6e", PipelineDefinitionID: "4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f",
		},
	}
}

// claimsV1 are the claims of a $CIRCLE_OIDC_TOKEN: the sub has no vcs part.
func claimsV1(project string) token.Claims {
	c := claimsV2(project)
	c.Subject = token.Subject{OrgID: testOrg, ProjectID: project, UserID: testUser}.String()
	return c
}

// file signs c and writes the token to a file, returning its path and the
// raw token.
func (k *tokens) file(name string, c token.Claims) (path, raw string) {
	k.t.Helper()
	raw, err := token.Sign(c, k.key, "test-key")
	if err != nil {
		k.t.Fatal(err)
	}
	path = filepath.Join(k.dir, name+".jwt")
	if err := os.WriteFile(path, []byte(raw+"\n"), 0o600); err != nil {
		k.t.Fatal(err)
	}
	return path, raw
}

func TestVerifyTokens(t *testing.T) {
	e := startEmulator(t, "app")
	base := []string{"--org-id", testOrg, "--repo", "app", "--project-id", testProject}
	mustRun(t, e.env, 0, append(append([]string{"setup"}, base...), "--yes")...)
	// A second role pinned to main through the V2 sub.
	pinned := append(append([]string{}, base...), "--role-name", "circleci-ecr-pull-main", "--branch", "refs/heads/main")
	mustRun(t, e.env, 0, append(append([]string{"setup"}, pinned...), "--yes")...)
	k := newTokens(t)
	verify := func(args []string, file string) []string {
		return append(append(append([]string{"verify"}, args...), "--token"), file)
	}

	wrongAud := claimsV2(testProject)
	wrongAud.Audience = []string{"sts.amazonaws.com"}
	expired := claimsV2(testProject)
	expired.IssuedAt, expired.ExpiresAt = time.Now().Add(-3*time.Hour).Truncate(time.Second), time.Now().Add(-2*time.Hour).Truncate(time.Second)
	root := claimsV2(testProject)
	root.Issuer = "https://oidc.circleci.com"
	// A branch named evil/vcs-ref/refs/heads/main: its sub ends in the
	// pinned ref.
	imitating := claimsV2(testProject)
	imitating.CircleCI.VCSRef = "refs/heads/evil/vcs-ref/refs/heads/main"
	imitating.Subject = token.Subject{OrgID: testOrg, ProjectID: testProject, UserID: testUser, VCSOrigin: "github.com/acme/app", VCSRef: imitating.CircleCI.VCSRef}.String()

	tests := []struct {
		name   string
		args   []string
		claims token.Claims
		code   int
		want   []string
	}{
		{"matching V2", base, claimsV2(testProject), 0, []string{
			"signature not verified offline", "✓ trust-policy", "Verdict: allowed", "Result: OK", "(V2 layout)"}},
		{"matching V1", base, claimsV1(testProject), 0, []string{"Verdict: allowed", "(V1 layout)"}},
		{"wrong project", base, claimsV2(otherProject), exitError, []string{
			"Verdict: denied at trust-policy: oidc.circleci.com/project-id " + otherProject + " does not equal " + testProject}},
		{"wrong audience", base, wrongAud, exitError, []string{
			"Verdict: denied at audience: aud sts.amazonaws.com is not among the provider's client IDs", "Trap: aud is sts.amazonaws.com",
			"aud sts.amazonaws.com does not equal " + testOrg}},
		{"V1 against a branch pin", pinned, claimsV1(testProject), exitError, []string{
			"Verdict: denied at trust-policy: sub org/" + testOrg + "/project/" + testProject + "/user/" + testUser + " does not match",
			"Trap: this is a V1 token"}},
		{"V2 on the pinned branch", pinned, claimsV2(testProject), 0, []string{"Verdict: allowed"}},
		{"V2 on a branch imitating the pin", pinned, imitating, exitError, []string{
			"Verdict: denied at trust-policy: the branch-pin guard denies it: sub org/" + testOrg + "/project/" + testProject + "/user/" + testUser + "/vcs-origin/github.com/acme/app/vcs-ref/refs/heads/evil/vcs-ref/refs/heads/main has a second /vcs-ref/ or /vcs-origin/ segment"}},
		{"expired", base, expired, exitError, []string{"Verdict: denied at expiry: exp", "Trap: the token has expired"}},
		{"root issuer", base, root, exitError, []string{
			"Verdict: denied at issuer: iss https://oidc.circleci.com has no OIDC provider", "Trap: the token comes from CircleCI's root issuer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, raw := k.file(strings.ReplaceAll(tt.name, " ", "-"), tt.claims)
			r := mustRun(t, e.env, tt.code, verify(tt.args, file)...)
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			if strings.Contains(r.stdout+r.stderr, raw) || strings.Contains(r.stdout+r.stderr, strings.Split(raw, ".")[2]) {
				t.Error("the output quotes the raw token")
			}
			t.Logf("verify --token (%s), exit %d:\n%s", tt.name, r.code, r.stdout)
		})
	}

	t.Run("stdin and token only", func(t *testing.T) {
		_, raw := k.file("stdin", claimsV2(testProject))
		r := runCmdStdin(t, e.env, raw, "verify", "--org-id", testOrg, "--token", "-")
		if r.code != 0 || strings.Contains(r.stdout, "Live state") || !strings.Contains(r.stdout, "Verdict: allowed") {
			t.Errorf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("claims what-if", func(t *testing.T) {
		r := mustRun(t, e.env, exitError, "verify", "--org-id", testOrg, "--claims", "project-id="+otherProject)
		if !strings.Contains(r.stdout, "Synthetic token") || !strings.Contains(r.stdout, "oidc.circleci.com/project-id "+otherProject+" does not equal") {
			t.Errorf("stdout:\n%s", r.stdout)
		}
		mustRun(t, e.env, 0, "verify", "--org-id", testOrg, "--claims", "project-id="+testProject)
	})
	t.Run("bad input", func(t *testing.T) {
		garbage := filepath.Join(t.TempDir(), "garbage")
		if err := os.WriteFile(garbage, []byte("not-a-jwt"), 0o600); err != nil {
			t.Fatal(err)
		}
		e.proxy.Reset()
		for _, args := range [][]string{
			{"verify", "--org-id", testOrg, "--token", garbage},
			{"verify", "--org-id", testOrg, "--token", filepath.Join(t.TempDir(), "missing")},
			{"verify", "--org-id", testOrg, "--claims", "colour=blue"},
			{"verify", "--org-id", testOrg, "--claims", "project-id=" + testProject, "--assume"},
			{"verify", "--org-id", testOrg},
			{"verify", "--org-id", testOrg, "--token", garbage, "--claims", "project-id=" + testProject},
			{"destroy"},
			{"destroy", "--org-id", "acme"},
			{"destroy", "--org-id", testOrg, "--role-name", "bad role"},
			{"destroy", "--org-id", testOrg, "--output", "yaml"},
		} {
			r := runCmd(t, e.env, args...)
			if r.code != exitUsage {
				t.Errorf("%v: exit %d, want 2; stderr %s", args, r.code, r.stderr)
			}
		}
		if n := e.proxy.Total(); n != 0 {
			t.Errorf("bad input made %d AWS requests", n)
		}
	})
}

// recorder is a reverse proxy that keeps every response body, so a test can
// learn the secrets AWS (moto) handed out and check they were not printed.
type recorder struct {
	mu     sync.Mutex
	bodies []string
}

func (rec *recorder) start(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		rec.mu.Lock()
		rec.bodies = append(rec.bodies, string(body))
		rec.mu.Unlock()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// secrets returns the credential and authorization token values in the
// recorded responses.
func (rec *recorder) secrets() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []string
	xmlSecret := regexp.MustCompile(`<(AccessKeyId|SecretAccessKey|SessionToken)>([^<]+)</`)
	jsonSecret := regexp.MustCompile(`"authorizationToken"\s*:\s*"([^"]+)"`)
	for _, b := range rec.bodies {
		for _, m := range xmlSecret.FindAllStringSubmatch(b, -1) {
			out = append(out, m[2])
		}
		for _, m := range jsonSecret.FindAllStringSubmatch(b, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

func TestVerifyAssume(t *testing.T) {
	e := startEmulator(t, "app")
	base := []string{"--org-id", testOrg, "--repo", "app", "--project-id", testProject}
	mustRun(t, e.env, 0, append(append([]string{"setup"}, base...), "--yes")...)
	file, raw := newTokens(t).file("assume", claimsV2(testProject))

	rec := &recorder{}
	endpoint := rec.start(t, e.proxy.URL())
	env := append(append([]string{}, e.env...), "AWS_ENDPOINT_URL="+endpoint)
	e.proxy.Reset()
	r := mustRun(t, env, 0, append(append([]string{"verify"}, base...), "--token", file, "--assume")...)
	for _, w := range []string{"✓ sts:AssumeRoleWithWebIdentity", "assumed arn:aws:sts::123456789012:assumed-role/circleci-ecr-pull/circleci-ecr-oidc-verify", "✓ ecr:GetAuthorizationToken", "(credentials not shown)"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
		}
	}
	counts := e.proxy.Counts()
	if counts["AssumeRoleWithWebIdentity"] != 1 || counts["GetAuthorizationToken"] != 1 {
		t.Errorf("requests = %v", counts)
	}
	secrets := rec.secrets()
	if len(secrets) < 4 {
		t.Fatalf("recorded %d secrets, want the three credential values and the ECR token", len(secrets))
	}
	all := r.stdout + r.stderr
	for _, s := range append(secrets, raw) {
		if len(s) >= 8 && strings.Contains(all, s) {
			t.Errorf("output contains a secret %.6s...", s)
		}
	}
	t.Logf("verify --assume:\n%s", r.stdout)

	j := mustRun(t, env, 0, append(append([]string{"verify"}, base...), "--token", file, "--assume", "--output", "json")...)
	var out provision.VerifyReport
	if err := json.Unmarshal([]byte(j.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if out.Assume == nil || !out.Assume.OK || len(out.Assume.Steps) != 2 {
		t.Errorf("assume = %+v", out.Assume)
	}
	for _, s := range rec.secrets() {
		if strings.Contains(j.stdout+j.stderr, s) {
			t.Errorf("JSON output contains a secret %.6s...", s)
		}
	}
}
