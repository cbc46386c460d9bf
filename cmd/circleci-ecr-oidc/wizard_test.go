package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"golang.org/x/sync/errgroup"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/templates"
)

// terminal is the built binary running in a detached tmux session: a real
// pseudo-terminal whose screen can be read back as text.
type terminal struct {
	t       *testing.T
	sock    string
	exitRC  string
	started time.Time
}

const (
	session     = "wizard"
	screenWait  = 60 * time.Second
	pollEvery   = 25 * time.Millisecond
	termColumns = "200"
	termRows    = "50"
)

// startTerminal runs the binary with args in tmux, with exactly env as its
// environment (plus TERM). It needs tmux: without it the test is skipped on
// a developer machine and fails in CI.
func startTerminal(t *testing.T, env []string, args ...string) *terminal {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if ci := strings.ToLower(os.Getenv("CI")); ci != "" && ci != "false" && ci != "0" {
			t.Fatalf("tmux is required in CI for the terminal tests: %v", err)
		}
		t.Skipf("tmux not found, skipping the terminal test: %v", err)
	}
	// A short private directory: the socket path must fit a sockaddr_un.
	dir, err := os.MkdirTemp("", "wz")
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, sock: filepath.Join(dir, "s"), exitRC: filepath.Join(dir, "rc")}
	var script strings.Builder
	script.WriteString("env -i TERM=\"$TERM\"")
	for _, kv := range isolateHome(env) {
		script.WriteString(" " + shellQuote(kv))
	}
	script.WriteString(" " + shellQuote(binary))
	for _, a := range args {
		script.WriteString(" " + shellQuote(a))
	}
	// Keep the pane open after the exit so that the last screen can be read.
	fmt.Fprintf(&script, "\necho $? > %s.tmp && mv %s.tmp %s\nexec sleep 600\n", term.exitRC, term.exitRC, term.exitRC)
	scriptPath := filepath.Join(dir, "run.sh")
	if err := os.WriteFile(scriptPath, []byte(script.String()), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last screen:\n%s", term.history())
		}
		_ = exec.Command("tmux", "-S", term.sock, "kill-server").Run()
		_ = os.RemoveAll(dir)
	})
	term.started = time.Now()
	term.tmux("-f", "/dev/null", "new-session", "-d", "-s", session, "-x", termColumns, "-y", termRows, "sh "+scriptPath)
	return term
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (term *terminal) tmux(args ...string) string {
	term.t.Helper()
	// -u: UTF-8 whatever the locale, for the form's box and check marks.
	out, err := exec.Command("tmux", append([]string{"-u", "-S", term.sock}, args...)...).CombinedOutput()
	if err != nil {
		term.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is the visible screen as text.
func (term *terminal) screen() string { return term.tmux("capture-pane", "-p", "-t", session) }

// history is the screen with everything that scrolled off it.
func (term *terminal) history() string {
	out, _ := exec.Command("tmux", "-u", "-S", term.sock, "capture-pane", "-p", "-S", "-", "-t", session).CombinedOutput()
	return string(out)
}

// waitFor waits until ok accepts the screen and returns how long it took.
func (term *terminal) waitFor(what string, ok func(screen string) bool) time.Duration {
	term.t.Helper()
	start := time.Now()
	var s string
	for time.Since(start) < screenWait {
		if s = term.screen(); ok(s) {
			return time.Since(start)
		}
		time.Sleep(pollEvery)
	}
	term.t.Fatalf("waited %s for %s; screen:\n%s", screenWait, what, s)
	return 0
}

// waitText waits until the screen shows text.
func (term *terminal) waitText(text string) time.Duration {
	term.t.Helper()
	return term.waitFor(strconv.Quote(text), func(s string) bool { return strings.Contains(s, text) })
}

// keys sends tmux key names such as Enter, Escape, Space, Down, C-u.
func (term *terminal) keys(keys ...string) {
	term.t.Helper()
	term.tmux(append([]string{"send-keys", "-t", session}, keys...)...)
}

// typeText types text literally.
func (term *terminal) typeText(text string) {
	term.t.Helper()
	term.tmux("send-keys", "-t", session, "-l", "--", text)
}

// exitCode waits for the binary to exit and returns its status.
func (term *terminal) exitCode() int {
	term.t.Helper()
	deadline := time.Now().Add(screenWait)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(term.exitRC); err == nil {
			code, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				term.t.Fatal(err)
			}
			return code
		}
		time.Sleep(pollEvery)
	}
	term.t.Fatalf("the binary did not exit within %s; screen:\n%s", screenWait, term.screen())
	return -1
}

// answerEveryQuestion walks the wizard from the first question to the
// review, with keystrokes only, and logs each screen.
func answerEveryQuestion(t *testing.T, term *terminal) {
	t.Helper()
	capture := func(name string) { t.Logf("screen %s:\n%s", name, strings.TrimRight(term.screen(), "\n")) }

	term.waitText("AWS region of the repositories")
	capture("1 AWS context and region")
	term.keys("Enter")

	term.waitText("CircleCI organization ID")
	term.typeText("gh/acme")
	term.waitText("✗ not a UUID yet")
	capture("2 organization ID, invalid as typed")
	term.keys("Enter")
	term.waitText("* must be a UUID")
	term.keys("C-u")
	term.typeText(testOrg)
	term.waitText("✓ a valid UUID")
	capture("2 organization ID, valid")
	term.keys("Enter")

	term.waitText("• web/frontend")
	term.keys("Space", "Down", "Down", "Space")
	term.waitText("✓ web/frontend")
	capture("3 repositories")
	term.keys("Enter")
	term.waitText("Other repositories (optional)")
	term.typeText("team/*")
	capture("3 repositories typed")
	term.keys("Enter")

	term.waitText("What may CircleCI jobs do with these repositories?")
	capture("3 access")
	term.keys("Enter")

	term.waitText("Who may assume the role?")
	capture("4 who may assume")
	term.keys("Enter")
	term.waitText("CircleCI project IDs")
	term.typeText(testProject)
	term.waitText("✓ 1 valid project ID(s)")
	capture("4 project IDs")
	term.keys("Enter")
	term.waitText("Advanced: how the trust policy names the projects")
	capture("4 project condition")
	term.keys("Enter")

	term.waitText("IAM role name")
	capture("5 role name")
	term.keys("Enter")
	term.waitText("Image for the config.yml snippet")
	capture("5 image")
	term.keys("Enter")

	term.waitText("Apply these 3 change(s) to account 123456789012?")
	t.Logf("screen 6 review (with scrollback):\n%s", strings.TrimRight(term.history(), "\n"))
}

func TestWizardOnTerminalAppliesWhatWasAnswered(t *testing.T) {
	e := startEmulator(t, "app", "tools/builder", "web/frontend")
	term := startTerminal(t, e.env, "setup")
	answerEveryQuestion(t, term)
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Fatalf("wrote %v before the confirmation", w)
	}

	// No is preselected: move to Yes, then answer.
	term.keys("Left")
	term.keys("Enter")
	term.waitText("Next steps:")
	if code := term.exitCode(); code != exitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	t.Logf("screen 7 result:\n%s", strings.TrimRight(term.screen(), "\n"))
	want := map[string]int{"CreateOpenIDConnectProvider": 1, "CreateRole": 1, "PutRolePolicy": 1}
	if got := e.proxy.Writes(); !equalCounts(got, want) {
		t.Errorf("writes = %v, want %v", got, want)
	}
	for _, s := range []string{"✓ create iam-role circleci-ecr-pull", "oidc_role_arn: arn:aws:iam::123456789012:role/circleci-ecr-pull",
		"image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest", "No context is needed", "AWS_ACCESS_KEY_ID", "rerun the job", "no OIDC token"} {
		if !strings.Contains(term.history(), s) {
			t.Errorf("the terminal lacks %q", s)
		}
	}

	// Read the role back through the SDK.
	ctx := context.Background()
	api := iam.NewFromConfig(e.cfg)
	role, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("circleci-ecr-pull")})
	if err != nil {
		t.Fatalf("read the role back: %v", err)
	}
	trust, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	for _, s := range []string{`:aud":"` + testOrg + `"`, `oidc.circleci.com/project-id":"` + testProject + `"`} {
		if !strings.Contains(strings.ReplaceAll(trust, " ", ""), s) {
			t.Errorf("trust policy lacks %s:\n%s", s, trust)
		}
	}
	pol, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("circleci-ecr-pull"), PolicyName: aws.String("circleci-ecr-oidc-pull")})
	if err != nil {
		t.Fatal(err)
	}
	perms, _ := url.QueryUnescape(aws.ToString(pol.PolicyDocument))
	for _, r := range []string{"repository/app", "repository/web/frontend", "repository/team/*"} {
		if !strings.Contains(perms, r) {
			t.Errorf("permissions policy lacks %s:\n%s", r, perms)
		}
	}
	if strings.Contains(perms, "tools/builder") {
		t.Errorf("permissions policy grants a repository that was not chosen:\n%s", perms)
	}
}

func TestWizardEscOnReviewWritesNothing(t *testing.T) {
	e := startEmulator(t, "app", "tools/builder", "web/frontend")
	term := startTerminal(t, e.env, "setup")
	answerEveryQuestion(t, term)
	term.keys("Escape")
	if code := term.exitCode(); code != exitAborted {
		t.Fatalf("exit %d, want %d", code, exitAborted)
	}
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("wrote %v after Esc", w)
	}
	ctx := context.Background()
	api := iam.NewFromConfig(e.cfg)
	if _, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("circleci-ecr-pull")}); err == nil {
		t.Error("the role exists after Esc")
	}
	providers, err := api.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(providers.OpenIDConnectProviderList); n != 0 {
		t.Errorf("%d OIDC providers exist after Esc", n)
	}
	t.Logf("screen after Esc on the review:\n%s", strings.TrimRight(term.screen(), "\n"))
	if !strings.Contains(term.screen(), "aborted: nothing was changed") {
		t.Errorf("the screen does not say nothing was changed:\n%s", term.screen())
	}
}

func TestWizardDeclineAndEscElsewhere(t *testing.T) {
	e := startEmulator(t, "app")
	// Flags answer every question but the organization ID.
	args := []string{"setup", "--region", "us-east-1", "--repo", "app", "--access", "pull", "--all-projects", "--role-name", "ci", "--image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"}

	// Esc on the first question.
	term := startTerminal(t, e.env, args...)
	term.waitText("CircleCI organization ID")
	if s := term.screen(); strings.Contains(s, "AWS region of the repositories") || strings.Contains(s, "IAM role name") {
		t.Errorf("asked a question whose flag was given:\n%s", s)
	}
	term.keys("Escape")
	if code := term.exitCode(); code != exitAborted {
		t.Errorf("Esc on the first question: exit %d, want %d", code, exitAborted)
	}

	// Enter on the review takes the default, No: exit 0, nothing written.
	term = startTerminal(t, e.env, args...)
	term.waitText("CircleCI organization ID")
	term.typeText(testOrg)
	term.keys("Enter")
	term.waitText("Apply these 3 change(s)")
	term.keys("Enter")
	if code := term.exitCode(); code != exitOK {
		t.Errorf("declining: exit %d, want 0", code)
	}
	if !strings.Contains(term.screen(), "Nothing was changed.") {
		t.Errorf("declining does not say so:\n%s", term.screen())
	}
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("wrote %v after declining", w)
	}
}

// TestWizardPickerWithThousandsOfRepositories fills the emulator with
// 3,000 repositories: the picker lists them all, moving and filtering stay
// quick, and filtering by a name brings it to the top.
func TestWizardPickerWithThousandsOfRepositories(t *testing.T) {
	const n = 3000
	ctx := context.Background()
	moto := awstest.StartMoto(t)
	cfg := awstest.Config(ctx, t, moto.URL())
	api := ecr.NewFromConfig(cfg)
	// moto serves one request at a time (about 5 ms per CreateRepository
	// here, so some 15 s for 3,000): a few workers keep it busy, more do
	// not help.
	const workers = 8
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i := range n {
		g.Go(func() error {
			_, err := api.CreateRepository(gctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(fmt.Sprintf("service-%04d", i))})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("create %d repositories: %v", n, err)
	}
	t.Logf("created %d repositories in moto in %s (%d workers)", n, time.Since(start).Round(time.Millisecond), workers)
	proxy := awstest.NewProxy(t, moto.URL())

	term := startTerminal(t, moto.Environ(proxy.URL()), "setup", "--org-id", testOrg, "--region", "us-east-1")
	// The list is shown with its help line. (How that line wraps depends
	// on when the form learns the terminal's width, which under load can
	// come late; the test does not depend on it.)
	loaded := term.waitFor("the picker", func(s string) bool {
		return strings.Contains(s, "• service-0001") && strings.Contains(s, "x or space selects")
	})
	t.Logf("picker shown %s after start (listing took %d DescribeRepositories calls)", loaded.Round(time.Millisecond), proxy.Counts()["DescribeRepositories"])
	if !strings.Contains(term.screen(), fmt.Sprintf("Found %d repositories in us-east-1.", n)) {
		t.Errorf("the picker does not list all %d repositories:\n%s", n, term.screen())
	}
	t.Logf("screen picker loaded:\n%s", strings.TrimRight(term.screen(), "\n"))
	if got := options(term.screen()); len(got) == 0 || got[0] != "service-0000" {
		t.Errorf("first option %v, want service-0000", got)
	}

	// Time keys from keystroke to screen (the screen is polled every 25 ms).
	var moves time.Duration
	for i := 1; i <= 5; i++ {
		term.keys("Down")
		moves += term.waitText(fmt.Sprintf("> • service-%04d", i))
	}
	t.Logf("cursor move: %s per key, keystroke to screen", (moves / 5).Round(time.Millisecond))

	term.keys("/")
	term.typeText("service-2718")
	filtered := term.waitFor("service-2718 at the top", func(s string) bool {
		got := options(s)
		return len(got) == 1 && got[0] == "service-2718"
	})
	t.Logf("filter: %s from keystrokes to the match on top", filtered.Round(time.Millisecond))
	t.Logf("screen picker filtered:\n%s", strings.TrimRight(term.screen(), "\n"))
	term.keys("Enter", "Space")
	term.waitText("✓ service-2718")
	term.keys("Enter")
	term.waitText("Other repositories (optional)")
	term.keys("C-c")
	if code := term.exitCode(); code != exitAborted {
		t.Errorf("Ctrl-C: exit %d, want %d", code, exitAborted)
	}
	if w := proxy.Writes(); len(w) != 0 {
		t.Errorf("wrote %v", w)
	}
}

var optionLine = regexp.MustCompile(`^┃\s+(?:>\s)?[•✓] (\S+)`)

// options returns the picker's visible options, top first.
func options(screen string) []string {
	var out []string
	for _, line := range strings.Split(screen, "\n") {
		if m := optionLine.FindStringSubmatch(line); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// lineInput feeds one line per Read, as a terminal in line mode does.
type lineInput struct{ lines []string }

func (l *lineInput) Read(p []byte) (int, error) {
	if len(l.lines) == 0 {
		return 0, io.EOF
	}
	line := l.lines[0] + "\n"
	n := copy(p, line)
	if n < len(line) {
		l.lines[0] = line[n : len(line)-1]
	} else {
		l.lines = l.lines[1:]
	}
	return n, nil
}

// TestWizardAccessibleStdoutIsOnlyTheSnippet runs setup in-process as on a
// terminal in accessible mode (ACCESSIBLE set, as huh's examples use):
// every prompt, the plan and the progress go to stderr, and stdout carries
// only the snippet, so `setup > snippet.yml` captures just that.
func TestWizardAccessibleStdoutIsOnlyTheSnippet(t *testing.T) {
	e := startEmulator(t, "app")
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
		}
	}
	for _, kv := range e.env {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v)
		}
	}
	t.Setenv("ACCESSIBLE", "1")
	isolateHomeFor(t)
	in := &lineInput{lines: []string{
		"", // region: keep us-east-1
		"not-an-id", testOrg,
		"1", "0", // pick app
		"",          // nothing typed
		"",          // access: pull
		"",          // specific projects
		testProject, // project IDs
		"",          // claim
		"",          // role name
		"",          // image
		"y",         // apply
	}}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"setup"}, IOStreams{In: in, Out: &stdout, ErrOut: &stderr, StdinTTY: true, StdoutTTY: true})
	if code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr.String())
	}
	snippet, err := templates.RenderSnippet(templates.Snippet{
		Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest", RoleARN: "arn:aws:iam::123456789012:role/circleci-ecr-pull", Region: "us-east-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if stdout.String() != snippet {
		t.Errorf("stdout is not exactly the snippet:\n%s", stdout.String())
	}
	for _, s := range []string{"AWS account  123456789012", "must be a UUID", "Trust policy of circleci-ecr-pull", "[y/N]", "✓ create iam-role", "Next steps"} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
		}
	}
	if w := e.proxy.Writes(); w["CreateRole"] != 1 {
		t.Errorf("writes %v", w)
	}

	// Without a terminal the wizard never starts: the missing flags are named.
	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"setup"}, IOStreams{In: &lineInput{}, Out: &stdout, ErrOut: &stderr})
	if code != exitUsage || !strings.Contains(stderr.String(), "--org-id, --repo, --project-id or --all-projects") {
		t.Errorf("no terminal: exit %d, stderr %q", code, stderr.String())
	}

	// plan never asks, even on a terminal: it names the missing flags.
	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"plan"}, IOStreams{In: &lineInput{lines: []string{""}}, Out: &stdout, ErrOut: &stderr, StdinTTY: true, StdoutTTY: true})
	if code != exitUsage || !strings.Contains(stderr.String(), "--org-id, --repo, --project-id or --all-projects") || stdout.Len() != 0 {
		t.Errorf("plan on a terminal: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

// TestWizardWithShardAppliesEveryRole: setup --shard on a terminal with a
// flag missing asks for it, then plans, confirms and applies the sharded
// setup, not a single role.
func TestWizardWithShardAppliesEveryRole(t *testing.T) {
	e := startEmulator(t, "app")
	projects := projectIDs(60)
	term := startTerminal(t, e.env, "setup", "--shard", "--repo", "app", "--project-id", strings.Join(projects, ","),
		"--project-condition", "claim", "--access", "pull", "--region", "us-east-1", "--role-name", "circleci-ecr-pull")
	term.waitText("CircleCI organization ID")
	term.typeText(testOrg)
	term.waitText("✓ a valid UUID")
	term.keys("Enter")
	term.waitText("Image for the config.yml snippet")
	term.keys("Enter")
	term.waitText("over 2 role(s)")
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Fatalf("wrote %v before the confirmation", w)
	}
	term.keys("Left")
	term.keys("Enter")
	if code := term.exitCode(); code != exitOK {
		t.Fatalf("exit %d, want 0:\n%s", code, term.history())
	}
	api := iam.NewFromConfig(e.cfg)
	admitted := 0
	for i := 1; i <= 2; i++ {
		role, err := api.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(provision.ShardRoleName("circleci-ecr-pull", i))})
		if err != nil {
			t.Fatalf("shard role %d: %v", i, err)
		}
		trust, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
		admitted += len(provision.ProjectsAdmitted(trust, testOrg))
	}
	if admitted != len(projects) {
		t.Errorf("the shard roles admit %d projects, want %d", admitted, len(projects))
	}
	if _, err := api.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("circleci-ecr-pull")}); err == nil {
		t.Error("an unsharded role circleci-ecr-pull was created too")
	}
}

// TestDestroyAsksToDelete: destroy's confirmation on a terminal asks to
// delete ("Yes, delete", not "Yes, apply"), and No deletes nothing.
func TestDestroyAsksToDelete(t *testing.T) {
	e := startEmulator(t, "app")
	mustRun(t, e.env, 0, "setup", "--org-id", testOrg, "--repo", "app", "--project-id", testProject, "--yes")
	e.proxy.Reset()
	term := startTerminal(t, e.env, "destroy", "--org-id", testOrg)
	term.waitText("Delete these 3 resource(s) from account 123456789012?")
	if s := term.screen(); !strings.Contains(s, "Yes, delete") || strings.Contains(s, "Yes, apply") {
		t.Errorf("the question offers:\n%s", s)
	}
	term.keys("Enter") // No is preselected
	term.waitText("Nothing was deleted.")
	if code := term.exitCode(); code != exitOK {
		t.Errorf("exit %d", code)
	}
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("wrote %v", w)
	}
}
