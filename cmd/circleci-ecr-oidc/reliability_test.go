package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// The reliability scenarios of issue 5: the built binary against moto_server
// behind the fault-injecting proxy. Each logs its figures (requests, faults
// injected, retries = attempts - calls, end-state comparison), which the
// closing note of the issue quotes; run with go test -v -run Reliab.

const (
	relRole   = provision.DefaultRoleName
	relPolicy = provision.PolicyName
)

// relSetup is setup with every required flag and --yes, on fresh slices.
func relSetup(extra ...string) []string {
	return slices.Concat(setupArgs, []string{"--yes"}, extra)
}

// TestReliability runs the scenarios one after another on one moto_server,
// wiped between them: starting a server per scenario would cost more than
// the scenarios themselves. Each scenario gets its own proxy.
func TestReliability(t *testing.T) {
	moto := awstest.StartMoto(t)
	for _, sc := range []struct {
		name string
		run  func(*testing.T, func(t *testing.T, repos ...string) e2eEnv)
	}{
		{"faults_at_default_settings", testFaultsAtDefaultSettings},
		{"non_retryable_create_role_failure", testNonRetryableCreateRoleFailure},
		{"partial_failure_access_denied", testPartialFailureAccessDenied},
		{"concurrent_runs", testConcurrentRuns},
		{"interrupt_while_write_in_flight", testInterruptWhileWriteInFlight},
		{"foreign_role_untouched", testForeignRoleUntouched},
		{"propagation_retry", testPropagationRetry},
		{"concurrent_modification_is_retried", testConcurrentModificationIsRetried},
		{"flag_validation", testFlagValidation},
		{"gives_up_with_a_hint", testGivesUpWithAHint},
		{"debug_logs_retries_not_secrets", testDebugLogsRetriesNotSecrets},
	} {
		t.Run(sc.name, func(t *testing.T) {
			sc.run(t, func(t *testing.T, repos ...string) e2eEnv { return relEmulator(t, moto, repos...) })
		})
	}
}

// relEmulator is startEmulator on a shared, wiped moto_server: a new proxy
// in front of it and the repositories created.
func relEmulator(t *testing.T, moto *awstest.Moto, repos ...string) e2eEnv {
	t.Helper()
	moto.Reset(t)
	proxy, cfg := awstest.Behind(t, moto, repos...)
	return e2eEnv{proxy: proxy, cfg: cfg, env: moto.Environ(proxy.URL())}
}

// relState is what a setup run leaves in the account, read back through
// the SDK.
type relState struct {
	Providers    []string
	ClientIDs    []string
	ProviderTags map[string]string
	Roles        int // roles named relRole
	Trust        string
	RoleTags     map[string]string
	Inline       []string
	Permissions  string
	Attached     []string
}

func readRelState(t *testing.T, cfg aws.Config) relState {
	t.Helper()
	ctx := context.Background()
	api := iam.NewFromConfig(cfg)
	var s relState
	provs, err := api.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		t.Fatalf("list OIDC providers: %v", err)
	}
	for _, p := range provs.OpenIDConnectProviderList {
		s.Providers = append(s.Providers, aws.ToString(p.Arn))
	}
	providerARN := policy.ProviderARN("aws", awstest.AccountID, testOrg)
	prov, err := api.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)})
	if err != nil {
		t.Fatalf("read provider: %v", err)
	}
	s.ClientIDs = slices.Sorted(slices.Values(prov.ClientIDList))
	s.ProviderTags = tagsOf(prov.Tags)
	roles, err := api.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		t.Fatalf("list roles: %v", err)
	}
	for _, r := range roles.Roles {
		if aws.ToString(r.RoleName) == relRole {
			s.Roles++
		}
	}
	role, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(relRole)})
	if err != nil {
		t.Fatalf("read role: %v", err)
	}
	s.Trust, _ = url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	s.RoleTags = tagsOf(role.Role.Tags)
	inline, err := api.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(relRole)})
	if err != nil {
		t.Fatalf("list inline policies: %v", err)
	}
	s.Inline = inline.PolicyNames
	pol, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(relRole), PolicyName: aws.String(relPolicy)})
	if err != nil {
		t.Fatalf("read inline policy: %v", err)
	}
	s.Permissions, _ = url.QueryUnescape(aws.ToString(pol.PolicyDocument))
	attached, err := api.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(relRole)})
	if err != nil {
		t.Fatalf("list attached policies: %v", err)
	}
	for _, a := range attached.AttachedPolicies {
		s.Attached = append(s.Attached, aws.ToString(a.PolicyArn))
	}
	return s
}

func tagsOf(tags []iamtypes.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// diff lists how got differs from want, comparing documents semantically
// (policy.Equal) and everything else exactly; empty means equal.
func (got relState) diff(want relState) []string {
	var d []string
	check := func(name string, equal bool, g, w any) {
		if !equal {
			d = append(d, fmt.Sprintf("%s: got %v, want %v", name, g, w))
		}
	}
	check("providers", slices.Equal(got.Providers, want.Providers), got.Providers, want.Providers)
	check("provider client IDs", slices.Equal(got.ClientIDs, want.ClientIDs), got.ClientIDs, want.ClientIDs)
	check("provider tags", maps.Equal(got.ProviderTags, want.ProviderTags), got.ProviderTags, want.ProviderTags)
	check("roles", got.Roles == want.Roles, got.Roles, want.Roles)
	check("trust policy", policy.Equal(got.Trust, want.Trust), got.Trust, want.Trust)
	check("role tags", maps.Equal(got.RoleTags, want.RoleTags), got.RoleTags, want.RoleTags)
	check("inline policies", slices.Equal(got.Inline, want.Inline), got.Inline, want.Inline)
	check("permissions policy", policy.Equal(got.Permissions, want.Permissions), got.Permissions, want.Permissions)
	check("attached policies", slices.Equal(got.Attached, want.Attached), got.Attached, want.Attached)
	return d
}

// expectConverged fails unless a plan with the same flags has nothing to do.
func expectConverged(t *testing.T, e e2eEnv, extra ...string) {
	t.Helper()
	args := slices.Concat([]string{"plan", "--detailed-exitcode"}, setupArgs[1:], extra)
	if r := runCmd(t, e.env, args...); r.code != 0 {
		t.Errorf("plan after convergence exit %d (2 = changes pending)\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// faultMatrix is issue 11's fault matrix: every 3rd request throttled,
// every 5th answered 503, the connection of every 7th reset. More than half
// of all requests fail (57 of every 105), and because reads go out
// concurrently one call can draw several faults in a row.
func faultMatrix(p *awstest.Proxy) {
	p.ThrottleEvery(3)
	p.ServerErrorEvery(5, 503)
	p.ResetEvery(7)
}

// faultedRun is what one run through the fault matrix cost.
type faultedRun struct {
	calls, attempts int // requests of the undisturbed run, of this run
	faults          map[string]int
	writes          map[string]int
	elapsed         time.Duration
	// worstCall is the operation called once in the undisturbed run whose
	// single call here needed the most attempts, and that number.
	worstCall     string
	worstAttempts int
}

func (r faultedRun) retries() int { return r.attempts - r.calls }

func (r faultedRun) String() string {
	return fmt.Sprintf("%d requests in %s for %d calls: faults %v (total %d), retries %d; most attempts by one call %d (%s); write attempts %v",
		r.attempts, r.elapsed.Round(time.Millisecond), r.calls, r.faults, sum(r.faults), r.retries(), r.worstAttempts, r.worstCall, r.writes)
}

// runFaulted runs the binary through e's proxy, which it resets first so
// that the fault matrix starts at request 1, and measures the run against
// the undisturbed run's per-operation counts.
func runFaulted(t *testing.T, e e2eEnv, undisturbed map[string]int, args ...string) (invocation, faultedRun) {
	t.Helper()
	e.proxy.Reset()
	start := time.Now()
	r := runCmd(t, e.env, args...)
	run := faultedRun{calls: sum(undisturbed), attempts: e.proxy.Total(), faults: e.proxy.Faults(), writes: e.proxy.Writes(), elapsed: time.Since(start)}
	for op, n := range e.proxy.Counts() {
		if undisturbed[op] == 1 && n > run.worstAttempts {
			run.worstCall, run.worstAttempts = op, n
		}
	}
	return r, run
}

// testFaultsAtDefaultSettings runs setup and then the same setup again,
// once on a clean emulator and once through the fault matrix, with the
// retry settings at their defaults: no --max-attempts, no AWS_MAX_ATTEMPTS,
// no max_attempts in the (empty) profile. Both faulted runs must succeed,
// the rerun with zero writes, every fault costing exactly one retry, and
// the end state must equal the undisturbed run's.
func testFaultsAtDefaultSettings(t *testing.T, fresh func(t *testing.T, repos ...string) e2eEnv) {
	args := relSetup("--tag", "team=platform")
	clean := fresh(t, "app", "tools/builder")
	if r := runCmd(t, clean.env, args...); r.code != 0 {
		t.Fatalf("undisturbed setup exit %d\nstderr: %s", r.code, r.stderr)
	}
	setupCalls := clean.proxy.Counts()
	want := readRelState(t, clean.cfg)
	clean.proxy.Reset()
	if r := runCmd(t, clean.env, args...); r.code != 0 || len(clean.proxy.Writes()) != 0 {
		t.Fatalf("undisturbed rerun exit %d, writes %v\nstderr: %s", r.code, clean.proxy.Writes(), r.stderr)
	}
	rerunCalls := clean.proxy.Counts()

	faulty := fresh(t, "app", "tools/builder") // wipes the account
	for _, kv := range faulty.env {
		for _, v := range []string{"AWS_MAX_ATTEMPTS=", "AWS_RETRY_MODE=", "AWS_PROFILE="} {
			if strings.HasPrefix(kv, v) {
				t.Fatalf("the environment sets %s: this test is of the defaults", kv)
			}
		}
	}
	if slices.Contains(args, "--max-attempts") {
		t.Fatal("this test is of the defaults: no --max-attempts")
	}
	faultMatrix(faulty.proxy)
	r, setup := runFaulted(t, faulty, setupCalls, args...)
	if r.code != 0 {
		t.Fatalf("setup under faults exit %d after %s\nstderr: %s", r.code, setup.elapsed, r.stderr)
	}
	got := readRelState(t, faulty.cfg)
	again, rerun := runFaulted(t, faulty, rerunCalls, args...)
	faulty.proxy.ClearFaults()
	if again.code != 0 || !strings.Contains(again.stdout, "No changes") {
		t.Fatalf("rerun under faults exit %d after %s\nstdout: %s\nstderr: %s", again.code, rerun.elapsed, again.stdout, again.stderr)
	}
	if len(rerun.writes) != 0 {
		t.Errorf("rerun under faults wrote %v, want no write", rerun.writes)
	}
	afterRerun := readRelState(t, faulty.cfg)
	d := got.diff(want)
	for _, line := range d {
		t.Errorf("end state differs from the undisturbed run's: %s", line)
	}
	for _, line := range afterRerun.diff(want) {
		t.Errorf("after the rerun, end state differs from the undisturbed run's: %s", line)
	}
	if got.RoleTags["team"] != "platform" || got.ProviderTags["team"] != "platform" {
		t.Errorf("--tag missing: role tags %v, provider tags %v", got.RoleTags, got.ProviderTags)
	}
	for name, run := range map[string]faultedRun{"setup": setup, "rerun": rerun} {
		if run.retries() != sum(run.faults) {
			t.Errorf("%s: retries = %d, faults injected = %d: every fault should cost exactly one retry and nothing else", name, run.retries(), sum(run.faults))
		}
	}
	t.Logf("fault matrix at default settings (no --max-attempts, no AWS_MAX_ATTEMPTS): setup %v; rerun %v; end state equal to the undisturbed run's after both: %v (compared %d providers, client IDs %v, trust and inline policy via policy.Equal, tags)",
		setup, rerun, len(d) == 0 && !t.Failed(), len(got.Providers), got.ClientIDs)
}

// testNonRetryableCreateRoleFailure fails CreateRole once with
// AccessDenied: not retried, exit 1 with the denied action named; the rerun
// converges and leaves exactly one provider.
func testNonRetryableCreateRoleFailure(t *testing.T, fresh func(t *testing.T, repos ...string) e2eEnv) {
	e := fresh(t, "app", "tools/builder")
	// A message that does not name the action: the hint must.
	e.proxy.FailOperation("CreateRole", 1, 403, "AccessDenied", "Access denied by a service control policy")
	r := runCmd(t, e.env, relSetup()...)
	first, faults := e.proxy.Counts(), e.proxy.Faults()
	if r.code != exitError {
		t.Fatalf("exit %d, want %d\nstderr: %s", r.code, exitError, r.stderr)
	}
	for _, want := range []string{"create role " + relRole, "AccessDenied", "not allowed iam:CreateRole", "not done  create iam-role " + relRole, "not done  create role-policy"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if first["CreateRole"] != 1 || first["PutRolePolicy"] != 0 {
		t.Errorf("first run CreateRole %d time(s), PutRolePolicy %d: AccessDenied must not be retried nor the policy attempted", first["CreateRole"], first["PutRolePolicy"])
	}

	e.proxy.Reset()
	again := runCmd(t, e.env, relSetup()...)
	if again.code != 0 {
		t.Fatalf("rerun exit %d\nstderr: %s", again.code, again.stderr)
	}
	rerun := e.proxy.Writes()
	s := readRelState(t, e.cfg)
	if len(s.Providers) != 1 || s.Roles != 1 || !slices.Equal(s.Inline, []string{relPolicy}) {
		t.Errorf("after rerun: %d providers, %d roles, inline %v; want 1, 1, [%s]", len(s.Providers), s.Roles, s.Inline, relPolicy)
	}
	expectConverged(t, e)
	t.Logf("non-retryable CreateRole: first run %d requests %v, faults %v, exit %d; rerun writes %v; end state: %d provider(s), %d role(s), inline %v, plan converged",
		sum(first), first, faults, r.code, rerun, len(s.Providers), s.Roles, s.Inline)
}

// testPartialFailureAccessDenied denies PutRolePolicy: the
// provider and role are made, the policy is not, the report says so and
// names the denied action; the rerun, once allowed, converges.
func testPartialFailureAccessDenied(t *testing.T, fresh func(t *testing.T, repos ...string) e2eEnv) {
	e := fresh(t, "app", "tools/builder")
	e.proxy.FailOperation("PutRolePolicy", 1, 403, "AccessDenied",
		"User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:PutRolePolicy on resource: role circleci-ecr-pull")
	r := runCmd(t, e.env, relSetup()...)
	first := e.proxy.Counts()
	if r.code != exitError {
		t.Fatalf("exit %d, want %d\nstderr: %s", r.code, exitError, r.stderr)
	}
	for _, want := range []string{
		"Applied 2 of 3 change(s)", "done      create oidc-provider", "done      create iam-role " + relRole,
		"not done  create role-policy " + relRole + "/" + relPolicy, "put inline policy", "AccessDenied", "iam:PutRolePolicy",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	e.proxy.Reset()
	again := runCmd(t, e.env, relSetup()...)
	if again.code != 0 {
		t.Fatalf("rerun exit %d\nstderr: %s", again.code, again.stderr)
	}
	rerun := e.proxy.Writes()
	if !equalCounts(rerun, map[string]int{"PutRolePolicy": 1}) {
		t.Errorf("rerun writes %v, want only the missing policy", rerun)
	}
	expectConverged(t, e)
	t.Logf("partial failure (PutRolePolicy AccessDenied): first run %d requests, exit %d, 2 of 3 applied; rerun writes %v; plan converged", sum(first), r.code, rerun)
}

// running is a started binary.
type running struct {
	cmd         *exec.Cmd
	out, errOut bytes.Buffer
}

func startBinary(t *testing.T, env []string, args ...string) *running {
	t.Helper()
	r := &running{cmd: exec.Command(binary, args...)}
	r.cmd.Env = isolateHome(env)
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.errOut
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Kill()
			_ = r.cmd.Wait()
		}
	})
	return r
}

func (r *running) wait(t *testing.T) invocation {
	t.Helper()
	err := r.cmd.Wait()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return invocation{r.out.String(), r.errOut.String(), code}
}

// testConcurrentRuns starts five setup processes on the same
// inputs at once: every one succeeds (the losers of each creation race
// re-read and converge) and the account holds one of each thing.
func testConcurrentRuns(t *testing.T, fresh func(t *testing.T, repos ...string) e2eEnv) {
	const n = 5
	e := fresh(t, "app", "tools/builder")
	runs := make([]*running, n)
	for i := range runs {
		runs[i] = startBinary(t, e.env, relSetup()...)
	}
	noChange := 0
	for i, r := range runs {
		inv := r.wait(t)
		if inv.code != 0 {
			t.Errorf("run %d exit %d\nstderr: %s", i, inv.code, inv.stderr)
		}
		if strings.Contains(inv.stdout, "No changes") {
			noChange++
		}
	}
	writes, total := e.proxy.Writes(), e.proxy.Total()
	s := readRelState(t, e.cfg)
	if len(s.Providers) != 1 || s.Roles != 1 || !slices.Equal(s.Inline, []string{relPolicy}) {
		t.Errorf("after %d concurrent runs: providers %v, %d roles, inline %v; want one of each", n, s.Providers, s.Roles, s.Inline)
	}
	expectConverged(t, e)
	t.Logf("concurrent runs: %d processes, all exit 0: %v, %d planned no change; %d requests, writes %v (creates beyond the first lost the race and re-read); end state: %d provider, %d role, inline %v",
		n, !t.Failed(), noChange, total, writes, len(s.Providers), s.Roles, s.Inline)
}

// testInterruptWhileWriteInFlight sends SIGINT while the proxy
// holds CreateRole for 2 s: the process waits for the call, exits 130 and
// lists what was and was not applied; the rerun completes the rest.
func testInterruptWhileWriteInFlight(t *testing.T, fresh func(t *testing.T, repos ...string) e2eEnv) {
	const hold = 2 * time.Second
	e := fresh(t, "app", "tools/builder")
	e.proxy.HoldOperation("CreateRole", hold)
	held := e.proxy.Held("CreateRole")
	r := startBinary(t, e.env, relSetup()...)
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatalf("CreateRole never reached the proxy\nstderr: %s", r.errOut.String())
	}
	sent := time.Now()
	if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	inv := r.wait(t)
	waited := time.Since(sent)
	first := e.proxy.Writes()
	if inv.code != exitAborted {
		t.Fatalf("exit %d, want %d\nstderr: %s", inv.code, exitAborted, inv.stderr)
	}
	for _, want := range []string{
		"interrupted: starting no further changes", "Applied 2 of 3 change(s)",
		"done      create oidc-provider", "done      create iam-role " + relRole,
		"not done  create role-policy " + relRole + "/" + relPolicy, "interrupt signal received",
	} {
		if !strings.Contains(inv.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, inv.stderr)
		}
	}
	if waited < hold/2 {
		t.Errorf("exited %s after SIGINT; it should have waited for the held CreateRole (%s)", waited, hold)
	}
	// What the report calls done is in the account; the rest is not.
	api := iam.NewFromConfig(e.cfg)
	if _, err := api.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(relRole)}); err != nil {
		t.Errorf("role reported as done is missing: %v", err)
	}
	_, err := api.GetRolePolicy(context.Background(), &iam.GetRolePolicyInput{RoleName: aws.String(relRole), PolicyName: aws.String(relPolicy)})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NoSuchEntity" {
		t.Errorf("policy reported as not done: GetRolePolicy error %v", err)
	}

	e.proxy.ClearFaults()
	e.proxy.Reset()
	again := runCmd(t, e.env, relSetup()...)
	if again.code != 0 {
		t.Fatalf("rerun exit %d\nstderr: %s", again.code, again.stderr)
	}
	rerun := e.proxy.Writes()
	if !equalCounts(rerun, map[string]int{"PutRolePolicy": 1}) {
		t.Errorf("rerun writes %v, want only the policy left undone", rerun)
	}
	expectConverged(t, e)
	t.Logf("interrupt: SIGINT while CreateRole was held %s; exit %d after waiting %s for the call in flight; first run writes %v, 2 of 3 applied; rerun writes %v; plan converged",
		hold, inv.code, waited.Round(time.Millisecond), first, rerun)
}

// roleSnapshot is everything about a role that setup must not touch, as
// the raw strings IAM returns.
type roleSnapshot struct {
	Trust, Description string
	Tags               []iamtypes.Tag
	Inline             map[string]string
	Attached           []string
}

func snapshotRole(t *testing.T, api *iam.Client, name string) roleSnapshot {
	t.Helper()
	ctx := context.Background()
	role, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	s := roleSnapshot{Trust: aws.ToString(role.Role.AssumeRolePolicyDocument), Description: aws.ToString(role.Role.Description), Tags: role.Role.Tags, Inline: map[string]string{}}
	names, err := api.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names.PolicyNames {
		p, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(n)})
		if err != nil {
			t.Fatal(err)
		}
		s.Inline[n] = aws.ToString(p.PolicyDocument)
	}
	attached, err := api.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attached.AttachedPolicies {
		s.Attached = append(s.Attached, aws.ToString(a.PolicyArn))
	}
	return s
}

// testForeignRoleUntouched puts a role of the same name that
// this tool did not create (no tags, another trust policy, an inline and
// an attached policy) in the way: setup and plan refuse, write nothing,
// and the role reads back byte-identical.
func testForeignRoleUntouched(t *testing.T, fresh func(t *testing.T, repos ...string) e2eEnv) {
	e := fresh(t, "app", "tools/builder")
	ctx := context.Background()
	api := iam.NewFromConfig(e.cfg)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if _, err := api.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(relRole), AssumeRolePolicyDocument: aws.String(trust), Description: aws.String("someone else's")}); err != nil {
		t.Fatal(err)
	}
	inline := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	if _, err := api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(relRole), PolicyName: aws.String("legacy"), PolicyDocument: aws.String(inline)}); err != nil {
		t.Fatal(err)
	}
	managed, err := api.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("legacy-managed"), PolicyDocument: aws.String(inline)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(relRole), PolicyArn: managed.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	before := snapshotRole(t, api, relRole)
	e.proxy.Reset()

	setup := runCmd(t, e.env, relSetup("--tag", "team=platform")...)
	plan := runCmd(t, e.env, slices.Concat([]string{"plan"}, setupArgs[1:])...)
	writes, total := e.proxy.Writes(), e.proxy.Total()
	if setup.code == 0 || plan.code == 0 {
		t.Errorf("setup exit %d, plan exit %d; both must refuse the foreign role", setup.code, plan.code)
	}
	if !strings.Contains(setup.stderr, "not managed by circleci-ecr-oidc") || !strings.Contains(setup.stderr, "--adopt") {
		t.Errorf("stderr does not explain the refusal and --adopt:\n%s", setup.stderr)
	}
	if len(writes) != 0 {
		t.Errorf("wrote %v although the plan was refused", writes)
	}
	after := snapshotRole(t, api, relRole)
	identical := reflect.DeepEqual(before, after)
	if !identical {
		t.Errorf("foreign role changed:\nbefore %+v\nafter  %+v", before, after)
	}
	t.Logf("foreign role: setup exit %d, plan exit %d, %d requests, writes %v; trust policy, description, tags, %d inline and %d attached policies byte-identical: %v",
		setup.code, plan.code, total, writes, len(after.Inline), len(after.Attached), identical)
}

// testPropagationRetry answers NoSuchEntity twice to the
// PutRolePolicy that follows CreateRole, as IAM can while a new role
// propagates: setup retries with progress lines on stderr and succeeds.
func testPropagationRetry(t *testing.T, fresh func(t *testing.T, repos ...string) e2eEnv) {
	e := fresh(t, "app", "tools/builder")
	e.proxy.FailOperation("PutRolePolicy", 2, 404, "NoSuchEntity", "The role with name circleci-ecr-pull cannot be found.")
	start := time.Now()
	r := runCmd(t, e.env, relSetup()...)
	elapsed := time.Since(start)
	counts := e.proxy.Counts()
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
	}
	if n := strings.Count(r.stderr, "not visible yet (IAM propagation)"); n != 2 {
		t.Errorf("%d propagation progress lines, want 2:\n%s", n, r.stderr)
	}
	if !strings.Contains(r.stderr, "first job may need a retry") {
		t.Errorf("final message does not warn about propagation:\n%s", r.stderr)
	}
	if counts["PutRolePolicy"] != 3 {
		t.Errorf("PutRolePolicy attempts = %d, want 3", counts["PutRolePolicy"])
	}
	expectConverged(t, e)
	t.Logf("propagation: PutRolePolicy NoSuchEntity x2, %d attempts, exit %d in %s; 2 progress lines; converged", counts["PutRolePolicy"], r.code, elapsed.Round(time.Millisecond))
}

// testConcurrentModificationIsRetried answers IAM's
// ConcurrentModification (409) twice: the SDK retryer retries it. With
// --max-attempts 1 the same fault fails the run, which shows the flag
// reaches the retryer.
func testConcurrentModificationIsRetried(t *testing.T, fresh func(t *testing.T, repos ...string) e2eEnv) {
	e := fresh(t, "app", "tools/builder")
	e.proxy.FailOperation("PutRolePolicy", 2, 409, "ConcurrentModification", "Cannot perform the operation due to a concurrent modification.")
	r := runCmd(t, e.env, relSetup()...)
	retried := e.proxy.Counts()["PutRolePolicy"]
	if r.code != 0 || retried != 3 {
		t.Fatalf("exit %d with %d PutRolePolicy attempts, want 0 and 3\nstderr: %s", r.code, retried, r.stderr)
	}

	e.proxy.Reset()
	e.proxy.FailOperation("TagRole", 1, 409, "ConcurrentModification", "Cannot perform the operation due to a concurrent modification.")
	once := runCmd(t, e.env, relSetup("--tag", "team=platform", "--max-attempts", "1")...)
	tagAttempts := e.proxy.Counts()["TagRole"]
	if once.code != exitError || tagAttempts != 1 || !strings.Contains(once.stderr, "ConcurrentModification") {
		t.Errorf("--max-attempts 1: exit %d, %d TagRole attempt(s), want 1 and 1\nstderr: %s", once.code, tagAttempts, once.stderr)
	}
	e.proxy.Reset()
	if again := runCmd(t, e.env, relSetup("--tag", "team=platform")...); again.code != 0 {
		t.Errorf("rerun exit %d\nstderr: %s", again.code, again.stderr)
	}
	s := readRelState(t, e.cfg)
	if s.RoleTags["team"] != "platform" {
		t.Errorf("role tags %v lack team=platform", s.RoleTags)
	}
	if _, ok := s.ProviderTags["team"]; ok {
		t.Errorf("the existing provider was retagged: %v", s.ProviderTags)
	}
	expectConverged(t, e, "--tag", "team=platform")
	t.Logf("ConcurrentModification: PutRolePolicy 409 x2 retried, %d attempts, exit %d; with --max-attempts 1 TagRole 409 x1: %d attempt, exit %d; rerun converged, provider not retagged",
		retried, r.code, tagAttempts, once.code)
}

// testGivesUpWithAHint throttles every request: a run whose calls can
// never succeed ends once a call has used its attempts (two here, to keep
// the test short), with AWS's error and a hint on what to do.
func testGivesUpWithAHint(t *testing.T, fresh func(t *testing.T, repos ...string) e2eEnv) {
	e := fresh(t, "app", "tools/builder")
	e.proxy.ThrottleEvery(1)
	start := time.Now()
	r := runCmd(t, e.env, slices.Concat([]string{"plan"}, setupArgs[1:], []string{"--max-attempts", "2"})...)
	elapsed := time.Since(start)
	if r.code != exitError {
		t.Fatalf("exit %d, want %d\nstderr: %s", r.code, exitError, r.stderr)
	}
	// The reads go out together, so the first to give up may be IAM's
	// (Throttling) or ECR's (ThrottlingException).
	if !strings.Contains(r.stderr, "Throttling: Rate exceeded") && !strings.Contains(r.stderr, "ThrottlingException: Rate exceeded") {
		t.Errorf("stderr lacks AWS's throttling error:\n%s", r.stderr)
	}
	for _, want := range []string{"exceeded maximum number of attempts, 2", "\nHint: AWS kept throttling or failing this call through all its attempts; wait a few minutes and run the same command again"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("wrote %v", w)
	}
	t.Logf("always throttled, --max-attempts 2: exit %d after %s and %d requests", r.code, elapsed.Round(time.Millisecond), e.proxy.Total())
}

// testDebugLogsRetriesNotSecrets runs setup with --debug through a proxy
// that throttles every 3rd request and with credentials that include a
// session token: the SDK's retries are logged, and neither the secret key,
// the session token nor any signature is.
func testDebugLogsRetriesNotSecrets(t *testing.T, fresh func(t *testing.T, repos ...string) e2eEnv) {
	const (
		keyID   = "AKIADEBUGLOGTEST0001"
		secret  = "debug-secret-access-key-must-not-be-logged"
		session = "debug-session-token-must-not-be-logged"
	)
	e := fresh(t, "app", "tools/builder")
	e.proxy.ThrottleEvery(3)
	// exec keeps the last of duplicate variables.
	env := append(slices.Clone(e.env), "AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_SESSION_TOKEN="+session)
	r := runCmd(t, env, relSetup("--debug")...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
	}
	retries := strings.Count(r.stderr, "DEBUG retrying request")
	if retries == 0 {
		t.Errorf("--debug logged no retry although %d requests were throttled:\n%s", e.proxy.Faults()[awstest.FaultThrottle], r.stderr)
	}
	var leaks []string
	for _, leak := range []string{secret, session, keyID, "Signature=", "Authorization:", "X-Amz-Security-Token", "Credential="} {
		if strings.Contains(r.stderr, leak) || strings.Contains(r.stdout, leak) {
			t.Errorf("--debug output contains %q", leak)
			leaks = append(leaks, leak)
		}
	}
	t.Logf("--debug: %d throttled requests, %d retries logged, %d lines on stderr; credentials or signatures in the output: %v", e.proxy.Faults()[awstest.FaultThrottle], retries, strings.Count(r.stderr, "\n"), leaks)
}

// testFlagValidation refuses bad --max-attempts and --tag values
// with exit 2, one line naming the flag, and no AWS request.
func testFlagValidation(t *testing.T, fresh func(t *testing.T, repos ...string) e2eEnv) {
	e := fresh(t)
	tests := []struct {
		flag  string
		extra []string
	}{
		{"--max-attempts", []string{"--max-attempts", "0"}},
		{"--max-attempts", []string{"--max-attempts", "51"}},
		{"--max-attempts", []string{"--max-attempts", "three"}},
		{"--tag", []string{"--tag", "team"}},
		{"--tag", []string{"--tag", "=platform"}},
		{"--tag", []string{"--tag", "aws:team=x"}},
		{"--tag", []string{"--tag", "circleci-ecr-oidc:managed=false"}},
		{"--tag", []string{"--tag", "team=a", "--tag", "Team=b"}},
		{"--tag", []string{"--tag", "team=a;b"}},
		{"--tag", []string{"--tag", strings.Repeat("k", 129) + "=v"}},
	}
	for _, tt := range tests {
		for _, cmd := range []string{"setup", "plan"} {
			args := slices.Concat([]string{cmd}, setupArgs[1:], tt.extra)
			e.proxy.Reset()
			r := runCmd(t, e.env, args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.flag) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("%s %v: exit %d, stderr %q; want exit 2 and one line naming %s", cmd, tt.extra, r.code, r.stderr, tt.flag)
			}
			if n := e.proxy.Total(); n != 0 {
				t.Errorf("%s %v: %d AWS requests for invalid input", cmd, tt.extra, n)
			}
		}
	}
}
