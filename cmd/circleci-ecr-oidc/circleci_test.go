package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/circlecitest"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// cciToken is distinctive so that a leak into any output is found.
const cciToken = "CCIPAT_cmdT0kenThatMustNeverLeak_5e4d3c2b1a"

const (
	webProject   = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
	otherOrg     = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
	otherApp     = "6f5e4d3c-2b1a-4f0e-8d9c-8b7a6f5e4d3c"
	orgAudience  = "https://ci.acme.example"
	projAudience = "api://acme-app"
)

// startCircleCI starts the CircleCI stand-in with gh/acme (testOrg: app and
// web) and gh/other (its own app), which the token's user belongs to.
func startCircleCI(t *testing.T) *circlecitest.Server {
	t.Helper()
	s := circlecitest.Start(t, cciToken)
	s.AddOrg(circlecitest.Org{ID: testOrg, Name: "acme", Slug: "gh/acme", VCSType: "github"})
	s.AddOrg(circlecitest.Org{ID: otherOrg, Name: "other", Slug: "gh/other", VCSType: "github"})
	s.AddProject(circlecitest.Project{ID: testProject, Name: "app", Slug: "gh/acme/app", OrgID: testOrg, OrgName: "acme", OrgSlug: "gh/acme"})
	s.AddProject(circlecitest.Project{ID: webProject, Name: "web", Slug: "gh/acme/web", OrgID: testOrg, OrgName: "acme", OrgSlug: "gh/acme"})
	s.AddProject(circlecitest.Project{ID: otherApp, Name: "app", Slug: "gh/other/app", OrgID: otherOrg, OrgName: "other", OrgSlug: "gh/other"})
	return s
}

// withEnv returns env with kvs ("K=V") after it, which win.
func withEnv(env []string, kvs ...string) []string {
	return append(slices.Clone(env), kvs...)
}

// circleciEnv points the tool at the stand-in with its token.
func circleciEnv(env []string, s *circlecitest.Server) []string {
	return withEnv(env, "CIRCLE_TOKEN="+cciToken, "CIRCLE_HOST="+s.URL)
}

// assertNoToken fails when any of the outputs holds the token.
func assertNoToken(t *testing.T, runs ...invocation) {
	t.Helper()
	for _, r := range runs {
		if strings.Contains(r.stdout+r.stderr, cciToken) {
			t.Errorf("the CircleCI token leaks:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		}
	}
}

// trustConditions returns the aud and project-id values of a trust policy.
func trustConditions(t *testing.T, api *iam.Client) (aud, projects []string) {
	t.Helper()
	doc, err := policy.Parse(readTrust(t, api))
	if err != nil {
		t.Fatal(err)
	}
	eq := doc.Statement[0].Condition["StringEquals"]
	return eq[policy.ProviderPath(testOrg)+":aud"], eq[policy.ProviderPath(testOrg)+":oidc.circleci.com/project-id"]
}

func binaryOK(t *testing.T, env []string, args ...string) invocation {
	t.Helper()
	r := runBinary(t, env, args...)
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

var slugArgs = []string{"--org-id", "gh/acme", "--project-id", "gh/acme/app", "--repo", "app"}

// TestSetupWithSlugsEndToEnd runs the built binary against moto and the
// CircleCI stand-in with the organization and the project given as slugs:
// the plan shows each slug next to its ID, setup writes the resolved IDs
// into the trust policy, a rerun writes nothing, verify and destroy take the
// slugs too, and the token is in no output.
func TestSetupWithSlugsEndToEnd(t *testing.T) {
	e := startEmulator(t, "app")
	cci := startCircleCI(t)
	env := circleciEnv(e.env, cci)

	plan := binaryOK(t, env, append([]string{"plan"}, slugArgs...)...)
	t.Logf("plan with slugs:\n%s", plan.stdout)
	for _, want := range []string{
		"Organization   gh/acme (" + testOrg + ")\nProjects       gh/acme/app (" + testProject + ")\n",
		"Audiences      " + testOrg + " (the organization ID; CircleCI's token settings set no other)\n",
	} {
		if !strings.Contains(plan.stdout, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	for _, want := range []string{"Resolved gh/acme → " + testOrg + "\n", "Resolved gh/acme/app → " + testProject + "\n"} {
		if !strings.Contains(plan.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, plan.stderr)
		}
	}

	e.proxy.Reset()
	setup := binaryOK(t, env, append([]string{"setup", "--yes"}, slugArgs...)...)
	if w := e.proxy.Writes(); !equalCounts(w, map[string]int{"CreateOpenIDConnectProvider": 1, "CreateRole": 1, "PutRolePolicy": 1}) {
		t.Errorf("setup writes %v", w)
	}
	api := iam.NewFromConfig(e.cfg)
	if aud, projects := trustConditions(t, api); !slices.Equal(aud, []string{testOrg}) || !slices.Equal(projects, []string{testProject}) {
		t.Errorf("trust policy admits aud %v, projects %v; want the resolved %s and %s", aud, projects, testOrg, testProject)
	}

	e.proxy.Reset()
	rerun := binaryOK(t, env, append([]string{"setup", "--yes"}, slugArgs...)...)
	if w := e.proxy.Writes(); len(w) != 0 || !strings.Contains(rerun.stdout, "No changes") {
		t.Errorf("rerun wrote %v:\n%s", w, rerun.stdout)
	}

	js := binaryOK(t, env, append([]string{"plan", "--output", "json"}, slugArgs...)...)
	var out struct {
		CircleCI *circleci.Resolution `json:"circleci"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &out); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, js.stdout)
	}
	want := &circleci.Resolution{
		Org:           circleci.ResolvedOrg{Input: "gh/acme", Slug: "gh/acme", ID: testOrg},
		Projects:      []circleci.ResolvedProject{{Input: "gh/acme/app", Slug: "gh/acme/app", ID: testProject}},
		AudiencesRead: true,
		Audiences:     []circleci.Audience{{Value: testOrg, Source: "organization gh/acme default audience (the organization ID)"}},
	}
	if got, _ := json.Marshal(out.CircleCI); string(got) != string(mustJSON(t, want)) {
		t.Errorf("circleci = %s\nwant       %s", got, mustJSON(t, want))
	}

	shard := binaryOK(t, env, append([]string{"plan", "--shard"}, slugArgs...)...)
	if !strings.Contains(shard.stdout, "admits 1 project(s): gh/acme/app ("+testProject+")") {
		t.Errorf("the sharded plan does not name the project:\n%s", shard.stdout)
	}
	shardJSON := binaryOK(t, env, append([]string{"plan", "--shard", "--output", "json"}, slugArgs...)...)
	var sharded struct {
		CircleCI *circleci.Resolution `json:"circleci"`
	}
	if err := json.Unmarshal([]byte(shardJSON.stdout), &sharded); err != nil || sharded.CircleCI == nil || sharded.CircleCI.Org.ID != testOrg {
		t.Errorf("the sharded JSON lacks circleci (%v):\n%s", err, shardJSON.stdout)
	}
	debug := binaryOK(t, env, append([]string{"plan", "--debug"}, slugArgs...)...)
	verify := binaryOK(t, env, append([]string{"verify", "--output", "json"}, slugArgs...)...)
	var verified struct {
		CircleCI *circleci.Resolution `json:"circleci"`
	}
	if err := json.Unmarshal([]byte(verify.stdout), &verified); err != nil {
		t.Fatalf("verify's stdout is not JSON: %v\n%s", err, verify.stdout)
	}
	if got, _ := json.Marshal(verified.CircleCI); string(got) != string(mustJSON(t, want)) {
		t.Errorf("verify's circleci = %s\nwant                %s", got, mustJSON(t, want))
	}
	destroy := binaryOK(t, env, "destroy", "--org-id", "gh/acme", "--yes", "--output", "json")
	if !strings.Contains(destroy.stdout, `"applied": true`) || !strings.Contains(destroy.stderr, "Resolved gh/acme → "+testOrg) {
		t.Errorf("destroy with a slug:\n%s\n%s", destroy.stdout, destroy.stderr)
	}
	assertNoToken(t, plan, setup, rerun, js, shard, shardJSON, debug, verify, destroy)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSetupWithCustomAudienceEndToEnd: an organization and a project that
// set their jobs' token audience get them, besides the organization ID, on
// the provider setup creates (with every client ID at once: moto lacks
// AddClientIDToOpenIDConnectProvider) and in the trust policy's aud; the
// rerun writes nothing.
func TestSetupWithCustomAudienceEndToEnd(t *testing.T) {
	e := startEmulator(t, "app")
	cci := startCircleCI(t)
	cci.SetOrgClaims(testOrg, circlecitest.Claims{Audience: []string{orgAudience}})
	cci.SetProjectClaims(testOrg, testProject, circlecitest.Claims{Audience: []string{projAudience}})
	env := circleciEnv(e.env, cci)

	plan := binaryOK(t, env, append([]string{"plan"}, slugArgs...)...)
	t.Logf("plan with custom audiences:\n%s", plan.stdout)
	wantAudiences := "Audiences      " + testOrg + " (the organization ID)\n" +
		"               " + projAudience + " (project gh/acme/app custom audience)\n" +
		"               " + orgAudience + " (organization gh/acme custom audience)\n"
	if !strings.Contains(plan.stdout, wantAudiences) {
		t.Errorf("plan lacks\n%s", wantAudiences)
	}

	e.proxy.Reset()
	setup := binaryOK(t, env, append([]string{"setup", "--yes"}, slugArgs...)...)
	if w := e.proxy.Writes(); !equalCounts(w, map[string]int{"CreateOpenIDConnectProvider": 1, "CreateRole": 1, "PutRolePolicy": 1}) {
		t.Errorf("setup writes %v", w)
	}
	api := iam.NewFromConfig(e.cfg)
	prov, err := api.GetOpenIDConnectProvider(context.Background(), &iam.GetOpenIDConnectProviderInput{
		OpenIDConnectProviderArn: aws.String("arn:aws:iam::123456789012:oidc-provider/" + policy.ProviderPath(testOrg)),
	})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := []string{testOrg, projAudience, orgAudience}
	if got := slices.Sorted(slices.Values(prov.ClientIDList)); !slices.Equal(got, slices.Sorted(slices.Values(wantIDs))) {
		t.Errorf("provider client IDs %v, want %v", prov.ClientIDList, wantIDs)
	}
	if aud, _ := trustConditions(t, api); !slices.Equal(slices.Sorted(slices.Values(aud)), slices.Sorted(slices.Values(wantIDs))) {
		t.Errorf("trust policy aud %v, want %v", aud, wantIDs)
	}

	e.proxy.Reset()
	rerun := binaryOK(t, env, append([]string{"setup", "--yes"}, slugArgs...)...)
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("rerun wrote %v", w)
	}
	assertNoToken(t, plan, setup, rerun)
}

// closedPort returns a loopback URL nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	_ = l.Close()
	return url
}

// TestCircleCIFailuresExitCodes runs plan in-process through every class
// of CircleCI failure: bad input exits 2 (malformed values before any
// request anywhere), CircleCI's refusals exit 1 with what to do, and no AWS
// request is made in either case.
func TestCircleCIFailuresExitCodes(t *testing.T) {
	e := startEmulator(t, "app")
	cci := startCircleCI(t)
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".circleci"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".circleci", "cli.yml"), []byte("token: not-"+cciToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string // replace slugArgs' values
		env       []string
		setup     func()
		code      int
		want      []string
		noRequest bool // to the stand-in either
	}{
		{name: "malformed org slug", args: []string{"--org-id", "gl/acme"}, code: 2, want: []string{`invalid --org-id "gl/acme": must start with gh/`}, noRequest: true},
		{name: "malformed project slug", args: []string{"--project-id", "gh/acme"}, code: 2, want: []string{`invalid --project-id "gh/acme": must have three parts`}, noRequest: true},
		{name: "a bad flag besides slugs", args: []string{"--repo", "App"}, code: 2, want: []string{"--repo"}, noRequest: true},
		{name: "a bad host flag", args: []string{"--circleci-host", "http://cci.example.com"}, code: 2, want: []string{"--circleci-host", "must use https"}, noRequest: true},
		{name: "a bad host in the environment", env: []string{"CIRCLE_HOST=ftp://cci.example.com"}, code: 2, want: []string{"from CIRCLE_HOST"}, noRequest: true},
		{name: "a slug without a token", env: []string{"CIRCLE_TOKEN="}, code: 2, want: []string{`--org-id: find the ID of organization "gh/acme"`, "set CIRCLE_TOKEN"}, noRequest: true},
		{name: "projects of two organizations", args: []string{"--project-id", "gh/acme/app,gh/other/app"}, code: 2, want: []string{"--project-id: invalid project \"gh/other/app\": it belongs to organization gh/other, not to the organization given (gh/acme)"}, noRequest: true},
		{name: "a project of another organization", args: []string{"--org-id", testOrg, "--project-id", "gh/other/app"}, code: 2, want: []string{"--project-id: invalid project \"gh/other/app\": it belongs to organization gh/other"}},
		{name: "a rejected token", env: []string{"CIRCLE_TOKEN=wrong"}, code: 1, want: []string{"the token from CIRCLE_TOKEN was rejected"}},
		{name: "a rejected token from the CLI's file", env: []string{"CIRCLE_TOKEN=", "HOME=" + home}, code: 1, want: []string{"the token from ~/.circleci/cli.yml was rejected"}},
		{name: "a project not found", args: []string{"--project-id", "gh/acme/nope"}, code: 1, want: []string{"get project gh/acme/nope: not found, or the token from CIRCLE_TOKEN cannot see it"}},
		{name: "rate limited beyond the retry budget", setup: func() { cci.FailNext("/api/v2/me/collaborations", 1, 429, "3600") }, code: 1, want: []string{"429 (rate limited)", "try again later"}},
		{name: "an unreachable host", env: []string{"CIRCLE_HOST=" + closedPort(t)}, code: 1, want: []string{"reach CircleCI at http://127.0.0.1:", "check the host"}},
		{name: "server errors retried", setup: func() { cci.FailNext("/api/v2/project/gh/acme/app", 2, 503, "") }, code: 0, want: []string{"Resolved gh/acme/app → " + testProject}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"plan", "--region", "us-east-1"}, slugArgs...)
			for i := 0; i+1 < len(tt.args); i += 2 {
				if j := slices.Index(args, tt.args[i]); j >= 0 {
					args[j+1] = tt.args[i+1]
				} else {
					args = append(args, tt.args[i], tt.args[i+1])
				}
			}
			if tt.setup != nil {
				tt.setup()
			}
			e.proxy.Reset()
			before := len(cci.Requests())
			r := runCmd(t, withEnv(circleciEnv(e.env, cci), tt.env...), args...)
			t.Logf("stderr:\n%s", r.stderr)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", r.code, tt.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if tt.code != 0 && strings.Count(r.stderr, "Error: ") != 1 {
				t.Errorf("want one error line:\n%s", r.stderr)
			}
			if n := e.proxy.Total(); tt.code != 0 && n != 0 {
				t.Errorf("made %d AWS requests %v", n, e.proxy.Counts())
			}
			if n := len(cci.Requests()) - before; tt.noRequest && n != 0 {
				t.Errorf("sent %d requests to CircleCI: %v", n, cci.Requests()[before:])
			}
			assertNoToken(t, r)
		})
	}
}

// TestExportResolvesSlugsWithoutAWS: export calls CircleCI to resolve
// slugs and read the audiences, which the export admits, and never AWS;
// with IDs and no token it calls nothing at all.
func TestExportResolvesSlugsWithoutAWS(t *testing.T) {
	e := startEmulator(t)
	cci := startCircleCI(t)
	cci.SetOrgClaims(testOrg, circlecitest.Claims{Audience: []string{orgAudience}})
	r := runCmd(t, circleciEnv(e.env, cci), append([]string{"export", "--format", "terraform", "--region", "us-east-1"}, slugArgs...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, testProject) || !strings.Contains(r.stdout, orgAudience) || !strings.Contains(r.stderr, "Resolved gh/acme/app") {
		t.Errorf("the export lacks the resolved project or the audience:\n%s\n%s", r.stdout, r.stderr)
	}
	if n := e.proxy.Total(); n != 0 {
		t.Errorf("export made %d AWS requests", n)
	}
	assertNoToken(t, r)

	before := len(cci.Requests())
	ids := runCmd(t, withEnv(e.env, "CIRCLE_HOST="+cci.URL), "export", "--format", "terraform", "--region", "us-east-1",
		"--org-id", testOrg, "--project-id", testProject, "--repo", "app")
	if ids.code != 0 || strings.Contains(ids.stdout, orgAudience) {
		t.Fatalf("exit %d; IDs without a token admit the audience nobody read:\n%s\n%s", ids.code, ids.stdout, ids.stderr)
	}
	if n := len(cci.Requests()) - before; n != 0 || e.proxy.Total() != 0 {
		t.Errorf("IDs without a token: %d CircleCI and %d AWS requests", n, e.proxy.Total())
	}
}

// TestWizardPicksFromCircleCI runs setup in a terminal with a CircleCI
// token: the organization is picked from the token's organizations and
// the project from the organization's listing (filtered by name), and the
// role trusts that project's ID.
func TestWizardPicksFromCircleCI(t *testing.T) {
	e := startEmulator(t, "app")
	cci := startCircleCI(t)
	term := startTerminal(t, circleciEnv(e.env, cci), "setup", "--repo", "app", "--region", "us-east-1",
		"--access", "pull", "--role-name", "circleci-ecr-pull", "--image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest")
	capture := func(name string) { t.Logf("screen %s:\n%s", name, strings.TrimRight(term.screen(), "\n")) }

	term.waitText("gh/other  other  " + otherOrg)
	capture("organizations")
	term.keys("Enter") // gh/acme, listed first
	term.waitText("✓ Organization     gh/acme (" + testOrg + ")")
	term.waitText("Who may assume the role?")
	term.keys("Enter")
	term.waitText("• web")
	capture("projects")
	term.keys("/")
	term.typeText("web")
	term.waitFor("web alone", func(s string) bool { got := options(s); return len(got) == 1 && got[0] == "web" })
	term.keys("Enter", "Space")
	term.waitText("✓ web")
	capture("project picked")
	term.keys("Enter")
	term.waitText("Other CircleCI projects (optional)")
	term.keys("Enter")
	term.waitText("Advanced: how the trust policy names the projects")
	term.keys("Enter")
	term.waitText("Apply these 3 change(s) to account 123456789012?")
	if s := term.history(); !strings.Contains(s, "Projects       gh/acme/web ("+webProject+")") || !strings.Contains(s, "Organization   gh/acme ("+testOrg+")") {
		t.Errorf("the review does not name the organization and the project:\n%s", s)
	}
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Fatalf("wrote %v before the confirmation", w)
	}
	term.keys("Left")
	term.keys("Enter")
	if code := term.exitCode(); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, term.history())
	}
	if _, projects := trustConditions(t, iam.NewFromConfig(e.cfg)); !slices.Equal(projects, []string{webProject}) {
		t.Errorf("the role trusts %v, want the picked %s", projects, webProject)
	}
	if strings.Contains(term.history(), cciToken) {
		t.Error("the token is on the screen")
	}
	var bearer bool
	for _, r := range cci.Requests() {
		bearer = bearer || r.Path == "/api/v3/projects" && r.Auth == "Bearer"
	}
	if !bearer {
		t.Errorf("the projects were not listed with API v3: %v", cci.Requests())
	}
}

// runTerminal runs setup in-process as on a terminal in accessible mode,
// with env as the environment.
func runTerminal(t *testing.T, env []string, answers []string, args ...string) invocation {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "CIRCLE") {
			t.Setenv(k, "")
		}
	}
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "CIRCLE") {
			t.Setenv(k, v)
		}
	}
	t.Setenv("ACCESSIBLE", "1")
	isolateHomeFor(t)
	var stdout, stderr strings.Builder
	code := run(context.Background(), args, IOStreams{In: &lineInput{lines: answers}, Out: &stdout, ErrOut: &stderr, StdinTTY: true, StdoutTTY: true})
	return invocation{stdout.String(), stderr.String(), code}
}

// TestWizardWithSlugFlags: an --org-id slug given to the wizard is
// resolved before the questions, so that the projects are listed and a
// typed slug checked against it; without a token, a --project-id slug is
// refused before any question.
func TestWizardWithSlugFlags(t *testing.T) {
	e := startEmulator(t, "app")
	cci := startCircleCI(t)
	flags := []string{"setup", "--repo", "app", "--region", "us-east-1", "--access", "pull", "--role-name", "circleci-ecr-pull",
		"--image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest"}
	r := runTerminal(t, circleciEnv(e.env, cci), []string{
		"",       // specific projects
		"1", "0", // app
		"gh/acme/web", // typed
		"",            // claim
		"y",           // apply
	}, append(flags, "--org-id", "gh/acme")...)
	if r.code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	resolved, asked := strings.Index(r.stderr, "Resolved gh/acme → "+testOrg), strings.Index(r.stderr, "Who may assume the role?")
	if resolved < 0 || asked < resolved {
		t.Errorf("the organization was not resolved before the questions:\n%s", r.stderr)
	}
	// The projects chosen are resolved after the questions, in the
	// organization resolved before them: it is neither looked up nor said
	// again, nor are its unchanged audiences.
	if n, m := strings.Count(r.stderr, "Resolved gh/acme → "), strings.Count(r.stderr, "Token audiences from CircleCI: "); n != 1 || m != 1 {
		t.Errorf("the organization is said %d times and its audiences %d, want once each:\n%s", n, m, r.stderr)
	}
	if n := cci.RequestsTo("/api/v2/me/collaborations"); n != 1 {
		t.Errorf("the organization was looked up %d times, want once", n)
	}
	if _, projects := trustConditions(t, iam.NewFromConfig(e.cfg)); !slices.Equal(projects, []string{testProject, webProject}) {
		t.Errorf("the role trusts %v", projects)
	}
	assertNoToken(t, r)

	e.proxy.Reset()
	noToken := runTerminal(t, withEnv(e.env, "CIRCLE_HOST="+cci.URL), nil, append(flags, "--project-id", "gh/acme/app")...)
	if noToken.code != exitUsage || !strings.Contains(noToken.stderr, `--project-id: find the ID of project "gh/acme/app"`) || strings.Contains(noToken.stderr, "AWS account") {
		t.Errorf("no token: exit %d\n%s", noToken.code, noToken.stderr)
	}
	if e.proxy.Total() != 0 {
		t.Errorf("no token: %d AWS requests", e.proxy.Total())
	}

	// The token pasted as a project, before the wizard asks for the
	// organization: refused without repeating it.
	pasted := runTerminal(t, circleciEnv(e.env, cci), nil, append(flags, "--project-id", cciToken)...)
	if pasted.code != exitUsage || !strings.Contains(pasted.stderr, `invalid --project-id "[token]"`) {
		t.Errorf("token as a project: exit %d\n%s", pasted.code, pasted.stderr)
	}
	assertNoToken(t, pasted)
}
