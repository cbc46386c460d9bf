package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/golden"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// memberNames are the member accounts of every test organization, besides
// the management account (awstest.AccountID).
var memberNames = []string{"alpha", "bravo", "charlie", "delta", "echo"}

// orgWorld is an AWS Organization in one moto_server behind a counting
// proxy: the management account and five members, each with the
// repository "app". env points the tool at the proxy with the management
// account's credentials.
type orgWorld struct {
	moto  *awstest.Moto
	proxy *awstest.Proxy
	base  aws.Config
	org   *awstest.Organization
	env   []string
}

func newOrgWorld(t *testing.T) *orgWorld {
	t.Helper()
	moto := awstest.StartMoto(t)
	proxy := awstest.NewProxy(t, moto.URL())
	base := awstest.Config(t.Context(), t, proxy.URL())
	w := &orgWorld{moto: moto, proxy: proxy, base: base, org: awstest.CreateOrganization(t, base, memberNames...), env: moto.Environ(proxy.URL())}
	awstest.CreateRepositories(t, base, "app")
	for _, m := range w.org.Members {
		awstest.CreateRepositories(t, w.as(t, m.Name), "app")
	}
	proxy.Reset()
	return w
}

// member returns the member account named name.
func (w *orgWorld) member(name string) awstest.Account {
	return w.org.Members[slices.IndexFunc(w.org.Members, func(a awstest.Account) bool { return a.Name == name })]
}

// as returns a configuration acting in the named member, independent of
// the code under test: for seeding and reading back.
func (w *orgWorld) as(t *testing.T, name string) aws.Config {
	t.Helper()
	return awstest.AssumeRole(t, w.base, w.member(name).RoleARN())
}

// accountIDs maps every account's ID to its name, "master" for the
// management account.
func (w *orgWorld) accountIDs() map[string]string {
	ids := map[string]string{awstest.AccountID: "master"}
	for _, m := range w.org.Members {
		ids[m.ID] = m.Name
	}
	return ids
}

// multiArgs are setup's flags for every account.
var multiArgs = []string{"--org-id", testOrg, "--repo", "app", "--project-id", testProject}

// checkAccountSetUp reads back, with cfg (the account's own credentials),
// the provider, the role and its pull policy in account.
func checkAccountSetUp(t *testing.T, cfg aws.Config, account string) {
	t.Helper()
	ctx := t.Context()
	api := iam.NewFromConfig(cfg)
	providerARN := policy.ProviderARN("aws", account, testOrg)
	if _, err := api.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)}); err != nil {
		t.Errorf("provider in %s: %v", account, err)
	}
	role, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(provision.DefaultRoleName)})
	if err != nil {
		t.Errorf("role in %s: %v", account, err)
		return
	}
	trust, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if !strings.HasPrefix(aws.ToString(role.Role.Arn), "arn:aws:iam::"+account+":role/") || !strings.Contains(trust, providerARN) || tagsOf(role.Role.Tags)[provision.ManagedTag] != "true" {
		t.Errorf("role %s (tags %v) trusts %s, want the tool's role trusting the provider of %s", aws.ToString(role.Role.Arn), tagsOf(role.Role.Tags), trust, account)
	}
	pol, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(provision.DefaultRoleName), PolicyName: aws.String(provision.PolicyName)})
	doc, _ := url.QueryUnescape(aws.ToString(pol.PolicyDocument))
	if err != nil || !strings.Contains(doc, "arn:aws:ecr:"+awstest.Region+":"+account+":repository/app") {
		t.Errorf("pull policy in %s: %v %s", account, err, doc)
	}
}

// checkAccountEmpty checks that the tool's role and the organization's
// provider are gone from the account.
func checkAccountEmpty(t *testing.T, cfg aws.Config, account string) {
	t.Helper()
	api := iam.NewFromConfig(cfg)
	if _, err := api.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String(provision.DefaultRoleName)}); err == nil {
		t.Errorf("the role is still in %s", account)
	}
	if _, err := api.GetOpenIDConnectProvider(t.Context(), &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(policy.ProviderARN("aws", account, testOrg))}); err == nil {
		t.Errorf("the provider is still in %s", account)
	}
}

// foreignState is what IAM says about a role and a provider the tool did
// not create, as IAM returns them: they must be byte-identical after it ran.
type foreignState struct {
	Role                   string // ARN, ID, path, description, maximum session, creation date
	Trust                  string
	RoleTags, ProviderTags []iamtypes.Tag
	Inline                 []string
	Attached               []iamtypes.AttachedPolicy
	Provider               string // URL, audiences, thumbprints, creation date
}

func readForeign(t *testing.T, cfg aws.Config, providerARN string) foreignState {
	t.Helper()
	ctx := t.Context()
	api := iam.NewFromConfig(cfg)
	var s foreignState
	if out, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(provision.DefaultRoleName)}); err == nil {
		r := out.Role
		s.Role = strings.Join([]string{aws.ToString(r.Arn), aws.ToString(r.RoleId), aws.ToString(r.Path), aws.ToString(r.Description),
			fmt.Sprint(aws.ToInt32(r.MaxSessionDuration)), aws.ToTime(r.CreateDate).String()}, " ")
		s.Trust, s.RoleTags = aws.ToString(r.AssumeRolePolicyDocument), r.Tags
		inline, err := api.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(provision.DefaultRoleName)})
		if err != nil {
			t.Fatal(err)
		}
		attached, err := api.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(provision.DefaultRoleName)})
		if err != nil {
			t.Fatal(err)
		}
		s.Inline, s.Attached = inline.PolicyNames, attached.AttachedPolicies
	}
	if p, err := api.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)}); err == nil {
		s.Provider = fmt.Sprint(aws.ToString(p.Url), p.ClientIDList, p.ThumbprintList, aws.ToTime(p.CreateDate))
		s.ProviderTags = p.Tags
	}
	return s
}

// seedForeign creates, with cfg, a role of the tool's name that someone
// else made (no ownership tag) when role is set, and the organization's
// provider without the tool's tags when provider is set.
func seedForeign(t *testing.T, cfg aws.Config, account string, role, provider bool) {
	t.Helper()
	api := iam.NewFromConfig(cfg)
	if role {
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"sts:AssumeRole"}]}`
		if _, err := api.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(provision.DefaultRoleName), AssumeRolePolicyDocument: aws.String(trust),
			Description: aws.String("someone else's"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("platform")}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := api.PutRolePolicy(t.Context(), &iam.PutRolePolicyInput{RoleName: aws.String(provision.DefaultRoleName), PolicyName: aws.String("theirs"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if provider {
		if _, err := api.CreateOpenIDConnectProvider(t.Context(), &iam.CreateOpenIDConnectProviderInput{Url: aws.String(policy.IssuerURL(testOrg)), ClientIDList: []string{testOrg},
			Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("platform")}}}); err != nil {
			t.Fatal(err)
		}
	}
}

// summaryRow is one row of a summary table the tool printed.
type summaryRow struct {
	Account, Name, Changes, Warnings, Status string
}

var summaryRowRE = regexp.MustCompile(`^(\S+)\s{2,}(\S+)\s{2,}(\S+)\s{2,}(\S+)\s{2,}(.*)$`)

// lastSummary returns the rows of the last summary table in out, by
// account name.
func lastSummary(t *testing.T, out string) map[string]summaryRow {
	t.Helper()
	i := strings.LastIndex(out, "ACCOUNT ")
	if i < 0 {
		t.Fatalf("no summary table in:\n%s", out)
	}
	rows := map[string]summaryRow{}
	for _, line := range strings.Split(out[i:], "\n")[1:] {
		m := summaryRowRE.FindStringSubmatch(line)
		if m == nil {
			break
		}
		rows[m[2]] = summaryRow{m[1], m[2], m[3], m[4], m[5]}
	}
	return rows
}

// TestSetupEveryOrgAccount runs setup, plan, verify, export and destroy
// with --org-accounts in an organization of five members and the
// management account. charlie holds a foreign role of the tool's name and
// delta the organization's provider, made by someone else. setup fails in
// charlie only, with the ownership error, sets up the others (read back
// with each account's own credentials) and leaves charlie's role
// byte-identical; the rerun writes nothing; destroy removes what the tool
// owns and keeps delta's provider and charlie's role.
func TestSetupEveryOrgAccount(t *testing.T) {
	w := newOrgWorld(t)
	charlie, delta := w.member("charlie"), w.member("delta")
	seedForeign(t, w.as(t, "charlie"), charlie.ID, true, false)
	seedForeign(t, w.as(t, "delta"), delta.ID, false, true)
	charlieBefore := readForeign(t, w.as(t, "charlie"), policy.ProviderARN("aws", charlie.ID, testOrg))
	deltaProviderARN := policy.ProviderARN("aws", delta.ID, testOrg)
	deltaBefore := readForeign(t, w.as(t, "delta"), deltaProviderARN)
	if charlieBefore.Role == "" || len(charlieBefore.Inline) != 1 || deltaBefore.Provider == "" || len(deltaBefore.ProviderTags) != 1 {
		t.Fatalf("the foreign resources were not read: charlie %+v, delta %+v", charlieBefore, deltaBefore)
	}
	w.proxy.Reset()
	setup := append([]string{"setup", "--org-accounts", "--yes"}, multiArgs...)

	first := runCmd(t, w.env, setup...)
	t.Logf("first run, stdout:\n%s\nstderr:\n%s", first.stdout, first.stderr)
	if first.code != exitError {
		t.Fatalf("exit %d, want 1 (charlie fails)", first.code)
	}
	rows := lastSummary(t, first.stdout)
	for id, name := range w.accountIDs() {
		r := rows[name]
		switch {
		case r.Account != id:
			t.Errorf("summary row of %s: %+v, want account %s", name, r, id)
		case name == "charlie":
			if !strings.HasPrefix(r.Status, "failed: ") || !strings.Contains(r.Status, provision.ErrNotOwned.Error()) {
				t.Errorf("charlie's status %q, want the ownership error", r.Status)
			}
		case r.Status != "applied "+r.Changes+" change(s)":
			t.Errorf("%s's status %q, want all %s change(s) applied", name, r.Status, r.Changes)
		}
	}
	if rows["delta"].Changes != "2" || rows["alpha"].Changes != "3" {
		t.Errorf("delta plans %s changes (it has the provider: want 2), alpha %s (want 3)", rows["delta"].Changes, rows["alpha"].Changes)
	}
	if want := "Error: 1 of 6 account(s) failed: " + charlie.ID + " (charlie)"; !strings.Contains(first.stderr, want) {
		t.Errorf("stderr lacks %q", want)
	}
	for _, m := range w.org.Members {
		if m.Name != "charlie" {
			checkAccountSetUp(t, w.as(t, m.Name), m.ID)
		}
	}
	checkAccountSetUp(t, w.base, awstest.AccountID)
	if got := readForeign(t, w.as(t, "charlie"), policy.ProviderARN("aws", charlie.ID, testOrg)); !reflect.DeepEqual(got, charlieBefore) {
		t.Errorf("charlie's foreign role changed:\n got %+v\nwant %+v", got, charlieBefore)
	}

	// The rerun, as JSON: one entry per account, nothing written.
	w.proxy.Reset()
	rerun := runCmd(t, w.env, append(setup, "--output", "json")...)
	if rerun.code != exitError || len(w.proxy.Writes()) != 0 {
		t.Fatalf("rerun: exit %d (want 1), writes %v (want none)\nstderr: %s", rerun.code, w.proxy.Writes(), rerun.stderr)
	}
	checkRerunJSON(t, w, rerun.stdout)

	checkOrgPlanVerifyExport(t, w)

	w.proxy.Reset()
	destroy := []string{"destroy", "--org-id", testOrg, "--org-accounts", "--yes"}
	gone := runCmd(t, w.env, destroy...)
	t.Logf("destroy, stdout:\n%s\nstderr:\n%s", gone.stdout, gone.stderr)
	if gone.code != 0 {
		t.Fatalf("destroy exit %d\nstderr: %s", gone.code, gone.stderr)
	}
	if !strings.Contains(gone.stdout, "deleted 3 resource(s)") || strings.Contains(gone.stdout, "applied ") {
		t.Errorf("destroy's summary does not say what it deleted:\n%s", gone.stdout)
	}
	for _, m := range w.org.Members {
		switch m.Name {
		case "charlie":
		case "delta":
			if _, err := iam.NewFromConfig(w.as(t, "delta")).GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String(provision.DefaultRoleName)}); err == nil {
				t.Error("destroy left the tool's role in delta")
			}
		default:
			checkAccountEmpty(t, w.as(t, m.Name), m.ID)
		}
	}
	checkAccountEmpty(t, w.base, awstest.AccountID)
	if got := readForeign(t, w.as(t, "delta"), deltaProviderARN); !reflect.DeepEqual(got, deltaBefore) {
		t.Errorf("delta's foreign provider changed:\n got %+v\nwant %+v", got, deltaBefore)
	}
	if got := readForeign(t, w.as(t, "charlie"), policy.ProviderARN("aws", charlie.ID, testOrg)); !reflect.DeepEqual(got, charlieBefore) {
		t.Errorf("charlie's foreign role changed by destroy:\n got %+v\nwant %+v", got, charlieBefore)
	}
	w.proxy.Reset()
	if again := runCmd(t, w.env, destroy...); again.code != 0 || len(w.proxy.Writes()) != 0 {
		t.Errorf("destroy rerun: exit %d, writes %v, want 0 and none\nstderr: %s", again.code, w.proxy.Writes(), again.stderr)
	}
}

// checkRerunJSON checks setup's JSON output for the organization: one
// entry per account, each with its identity, the error for charlie only,
// and the single-account result for the others, with nothing to apply.
func checkRerunJSON(t *testing.T, w *orgWorld, stdout string) {
	t.Helper()
	var out struct {
		Accounts []map[string]any `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	ids := w.accountIDs()
	if len(out.Accounts) != len(ids) {
		t.Fatalf("%d entries, want %d", len(out.Accounts), len(ids))
	}
	for _, e := range out.Accounts {
		id, _ := e["account"].(string)
		name := ids[id]
		wantRole := "arn:aws:iam::" + id + ":role/" + awstest.AccountRole
		if name == "master" {
			wantRole = ""
		}
		if role, _ := e["assumed_role"].(string); e["name"] != name || role != wantRole {
			t.Errorf("entry %s: name %v, assumed_role %q, want %s and %q", id, e["name"], role, name, wantRole)
		}
		errText, _ := e["error"].(string)
		if name == "charlie" {
			if !strings.Contains(errText, provision.ErrNotOwned.Error()) || e["role_arn"] != nil {
				t.Errorf("charlie's entry: error %q, role_arn %v, want the ownership error and no result", errText, e["role_arn"])
			}
			continue
		}
		if errText != "" || e["applied"] != true || e["role_arn"] != "arn:aws:iam::"+id+":role/"+provision.DefaultRoleName || len(e["changes"].([]any)) != 0 {
			t.Errorf("%s's entry: error %q, applied %v, role_arn %v, changes %v", name, errText, e["applied"], e["role_arn"], e["changes"])
		}
	}
}

// checkOrgPlanVerifyExport runs the read-only commands over the
// organization after setup: plan and verify fail for charlie alone, and
// pass without it; the StackSet export reads every account and overrides
// the provider for those that have it.
func checkOrgPlanVerifyExport(t *testing.T, w *orgWorld) {
	t.Helper()
	charlie := w.member("charlie")
	empty := w.org.CreateOU(t, w.org.RootID, "empty")
	w.proxy.Reset()
	without := []string{"--org-accounts", "--exclude-accounts", charlie.ID}
	for _, c := range []struct {
		args []string
		want int
	}{
		{append([]string{"plan", "--org-accounts", "--detailed-exitcode"}, multiArgs...), exitError},
		{append(append([]string{"plan", "--detailed-exitcode"}, without...), multiArgs...), exitOK},
		{append([]string{"verify", "--org-accounts"}, multiArgs...), exitError},
		{append(append([]string{"verify"}, without...), multiArgs...), exitOK},
	} {
		if got := runCmd(t, w.env, c.args...); got.code != c.want {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(c.args, " "), got.code, c.want, got.stdout, got.stderr)
		}
	}
	if got := runCmd(t, w.env, append([]string{"plan", "--org-accounts", "--ou", empty}, multiArgs...)...); got.code != exitError || !strings.Contains(got.stderr, "no active account (under --ou) to act in") {
		t.Errorf("plan under an OU without accounts: exit %d, want 1 saying there is no account\nstderr: %s", got.code, got.stderr)
	}
	exp := runCmd(t, w.env, append([]string{"export", "--format", "cloudformation-stackset", "--org-accounts", "--ou", w.org.RootID}, multiArgs...)...)
	var withProvider []string
	for id, name := range w.accountIDs() {
		if name != "charlie" {
			withProvider = append(withProvider, id)
		}
	}
	slices.Sort(withProvider)
	targets := "OrganizationalUnitIds=" + w.org.RootID + ",Accounts=" + strings.Join(withProvider, ",")
	for _, want := range []string{targets + ",AccountFilterType=INTERSECTION", "ParameterValue=false", targets + ",AccountFilterType=DIFFERENCE", "Of the 6 account(s) read, 5 have"} {
		if !strings.Contains(exp.stderr, want) {
			t.Errorf("export stderr lacks %q:\n%s", want, exp.stderr)
		}
	}
	if exp.code != 0 || !strings.Contains(exp.stdout, "AWSTemplateFormatVersion") {
		t.Errorf("export: exit %d, stdout %.200s", exp.code, exp.stdout)
	}
	if writes := w.proxy.Writes(); len(writes) != 0 {
		t.Errorf("plan, verify and export wrote %v", writes)
	}
}

// profilesEnv is the tool's environment for profiles in sc: the shared
// config files and no AWS_ENDPOINT_URL, which would override the
// profiles' endpoints (awstest.WriteProfiles).
func profilesEnv(sc awstest.SharedConfig) []string {
	return awstest.EnvironWithSharedConfig(sc.ConfigFile, sc.CredentialsFile)
}

// TestSetupThroughProfiles runs setup in the accounts of three profiles:
// alpha and bravo assume their member's role (role_arn and
// source_profile), and "refused" points at a port that refuses
// connections. The other two are set up, refused is reported, and the exit
// status is 1; once its endpoint is fixed, the rerun writes only in its
// account (the management account's, by its static keys).
func TestSetupThroughProfiles(t *testing.T) {
	w := newOrgWorld(t)
	alpha, bravo := w.member("alpha"), w.member("bravo")
	profiles := func(refusedEndpoint string) []string {
		return profilesEnv(awstest.WriteProfiles(t,
			awstest.Profile{Name: "source"},
			awstest.Profile{Name: "alpha", Endpoint: w.proxy.URL(), RoleARN: alpha.RoleARN(), SourceProfile: "source"},
			awstest.Profile{Name: "bravo", Endpoint: w.proxy.URL(), RoleARN: bravo.RoleARN(), SourceProfile: "source"},
			awstest.Profile{Name: "refused", Endpoint: refusedEndpoint},
		))
	}
	// Two attempts: a refused connection is retried, and the default 25
	// would only make the test slow.
	setup := append([]string{"setup", "--profiles", "alpha,refused", "--profiles", "bravo", "--yes", "--max-attempts", "2"}, multiArgs...)

	env := profiles(awstest.RefusedEndpoint(t))
	first := runCmd(t, env, setup...)
	t.Logf("first run, stdout:\n%s\nstderr:\n%s", first.stdout, first.stderr)
	if first.code != exitError || !strings.Contains(first.stderr, "Error: 1 of 3 account(s) failed: refused") {
		t.Fatalf("exit %d, want 1 naming the refused profile\nstderr: %s", first.code, first.stderr)
	}
	rows := lastSummary(t, first.stdout)
	if r := rows["refused"]; r.Account != "-" || !strings.HasPrefix(r.Status, "failed: ") || !strings.Contains(r.Status, "connection refused") {
		t.Errorf("refused profile's row %+v, want failed with the refused connection", r)
	}
	for _, m := range []awstest.Account{alpha, bravo} {
		if r := rows[m.Name]; r.Account != m.ID || r.Status != "applied 3 change(s)" {
			t.Errorf("%s's row %+v, want account %s with 3 changes applied", m.Name, r, m.ID)
		}
		checkAccountSetUp(t, w.as(t, m.Name), m.ID)
	}
	summary := first.stdout[strings.LastIndex(first.stdout, "ACCOUNT "):]
	summary = summary[:strings.Index(summary, "\n\n")+1]
	summary = regexp.MustCompile(`failed: .*connection refused.*`).ReplaceAllString(summary, "failed: <the connection to the profile's endpoint is refused>")
	summary = strings.NewReplacer(alpha.ID, "<alpha's ID>", bravo.ID, "<bravo's ID>").Replace(summary)
	golden.Check(t, filepath.Join("testdata", "accounts-summary.txt"), []byte(summary))

	env = profiles(w.proxy.URL())
	plan := append([]string{"plan", "--profiles", "alpha,refused,bravo", "--detailed-exitcode"}, multiArgs...)
	if got := runCmd(t, env, plan...); got.code != exitUsage {
		t.Errorf("plan --detailed-exitcode with the refused profile fixed: exit %d, want 2 (its changes are pending)\nstderr: %s", got.code, got.stderr)
	}
	w.proxy.Reset()
	rerun := runCmd(t, env, setup...)
	if rerun.code != 0 {
		t.Fatalf("rerun exit %d\nstderr: %s", rerun.code, rerun.stderr)
	}
	want := map[string]int{"CreateOpenIDConnectProvider": 1, "CreateRole": 1, "PutRolePolicy": 1}
	if all, mine := w.proxy.Writes(), w.proxy.WritesBy(awstest.AccessKeyID); !reflect.DeepEqual(all, want) || !reflect.DeepEqual(mine, want) {
		t.Errorf("rerun wrote %v, %v of them with the refused profile's keys; want %v, all in its account", all, mine, want)
	}
	checkAccountSetUp(t, w.base, awstest.AccountID)
	if got := runCmd(t, env, plan...); got.code != exitOK {
		t.Errorf("plan --detailed-exitcode after the rerun: exit %d, want 0\nstdout: %s", got.code, got.stdout)
	}
	// With --profiles, --ou only says where the stack set deploys.
	exp := runCmd(t, env, append([]string{"export", "--format", "cloudformation-stackset", "--profiles", "alpha,refused,bravo", "--ou", "ou-ab12-cd34ef56", "--region", awstest.Region}, multiArgs...)...)
	ids := []string{alpha.ID, bravo.ID, awstest.AccountID}
	slices.Sort(ids)
	if want := "OrganizationalUnitIds=ou-ab12-cd34ef56,Accounts=" + strings.Join(ids, ",") + ",AccountFilterType=INTERSECTION"; exp.code != 0 || !strings.Contains(exp.stderr, want) {
		t.Errorf("export over the profiles: exit %d, want 0 and %q in:\n%s", exp.code, want, exp.stderr)
	}
}

// TestAccountFlagsExitTwoWithoutAWSCalls gives every command bad
// multi-account flags: exit 2, a one-line error naming the flag and the
// rule, and no request at all.
func TestAccountFlagsExitTwoWithoutAWSCalls(t *testing.T) {
	e := startEmulator(t)
	spec := []string{"--org-id", testOrg, "--repo", "app", "--project-id", testProject}
	destroy := []string{"destroy", "--org-id", testOrg}
	stackSet := append([]string{"export", "--format", "cloudformation-stackset", "--ou", "ou-ab12-cd34ef56"}, spec...)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"profiles and profile", []string{"setup", "--profiles", "dev", "--profile", "ops"}, "--profiles and --profile cannot be combined"},
		{"profiles and org", []string{"plan", "--profiles", "dev", "--org-accounts"}, "--profiles and --org-accounts cannot be combined"},
		{"profile name with a space", []string{"setup", "--profiles", "dev,my prod"}, `invalid --profiles "my prod"`},
		{"profile missing", []string{"plan", "--profiles", "nope"}, `load profile nope: invalid --profiles "nope": no such profile in the AWS config or credentials file`},
		{"empty profile", []string{"setup", "--profiles", "dev,,prod"}, "--profiles has an empty entry"},
		{"account ID short", []string{"setup", "--org-accounts", "--accounts", "12345678901"}, `invalid --accounts "12345678901": must be a 12-digit AWS account ID`},
		{"excluded account not digits", []string{"verify", "--org-accounts", "--exclude-accounts", "prod"}, `invalid --exclude-accounts "prod"`},
		{"account kept and excluded", []string{"destroy", "--org-accounts", "--accounts", "111111111111", "--exclude-accounts", "111111111111"}, "is also named by --accounts"},
		{"ou malformed", []string{"setup", "--org-accounts", "--ou", "ou-AB12-cd34ef56"}, `invalid --ou "ou-AB12-cd34ef56"`},
		{"ou without org", []string{"plan", "--profiles", "dev", "--ou", "ou-ab12-cd34ef56"}, "--ou needs --org-accounts"},
		{"accounts alone", []string{"setup", "--accounts", "111111111111"}, "--profiles or --org-accounts is required"},
		{"parallel alone", []string{"verify", "--parallel", "4"}, "--profiles or --org-accounts is required"},
		{"parallel zero", []string{"setup", "--org-accounts", "--parallel", "0"}, `invalid --parallel "0": must be from 1 to 256`},
		{"account role bad", []string{"setup", "--org-accounts", "--account-role", "no spaces"}, `invalid --account-role "no spaces"`},
		{"config file", []string{"setup", "--org-accounts", "--config-file", ".circleci/config.yml"}, "--config-file \".circleci/config.yml\": does not apply with --profiles or --org-accounts"},
		{"terraform export", []string{"export", "--format", "terraform", "--org-accounts"}, "--profiles or --org-accounts applies to export only with --format cloudformation-stackset"},
		{"stackset without ou", []string{"export", "--format", "cloudformation-stackset", "--org-accounts"}, "--ou is required with --format cloudformation-stackset"},
		{"stackset bad account", append(slices.Clone(stackSet), "--org-accounts", "--accounts", "1"), `invalid --accounts "1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			switch args[0] {
			case "destroy":
				args = append(slices.Clone(destroy), args[1:]...)
			case "export":
				if !slices.Contains(args, "--org-id") {
					args = append(slices.Clone(args), spec...)
				}
			default:
				args = append(slices.Clone(args), spec...)
			}
			e.proxy.Reset()
			r := runCmd(t, e.env, args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("%s: exit %d, stderr %q; want 2 and %q", strings.Join(args, " "), r.code, r.stderr, tt.want)
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

// TestAccountsInterruptAndExitStatus runs the built binary over the
// organization, with a foreign role in charlie. SIGINT while the proxy
// holds CreateRole stops all accounts at once, as for one account: the two
// accounts applying (--parallel 2) finish the calls in flight and report
// what they did, the others never start, and the process exits 130. The
// rerun completes every account but charlie, whose failure makes the exit
// status 1.
func TestAccountsInterruptAndExitStatus(t *testing.T) {
	const hold = 2 * time.Second
	w := newOrgWorld(t)
	seedForeign(t, w.as(t, "charlie"), w.member("charlie").ID, true, false)
	w.proxy.Reset()
	setup := append([]string{"setup", "--org-accounts", "--yes", "--parallel", "2"}, multiArgs...)
	w.proxy.HoldOperation("CreateRole", hold)
	held := w.proxy.Held("CreateRole")
	r := startBinary(t, w.env, setup...)
	select {
	case <-held:
	case <-time.After(60 * time.Second):
		t.Fatalf("CreateRole never reached the proxy\nstderr: %s", r.errOut.String())
	}
	// Both accounts applying hold their CreateRole: the proxy counts a
	// request when it arrives, before holding it.
	for deadline := time.Now().Add(hold / 2); w.proxy.Counts()["CreateRole"] < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d CreateRole held after %s, want the 2 accounts applying (--parallel 2)", w.proxy.Counts()["CreateRole"], hold/2)
		}
	}
	if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	inv := r.wait(t)
	t.Logf("interrupted run, stdout (summary):\n%s\nstderr:\n%s", inv.stdout[strings.LastIndex(inv.stdout, "ACCOUNT "):], inv.stderr)
	if inv.code != exitAborted {
		t.Fatalf("exit %d, want %d\nstderr: %s", inv.code, exitAborted, inv.stderr)
	}
	rows := lastSummary(t, inv.stdout)
	var interrupted, notStarted []string
	for name, row := range rows {
		switch {
		case strings.HasPrefix(row.Status, "interrupted: "):
			interrupted = append(interrupted, name)
		case strings.HasPrefix(row.Status, "not started: "):
			notStarted = append(notStarted, name)
		case name != "charlie" || !strings.Contains(row.Status, provision.ErrNotOwned.Error()):
			t.Errorf("%s's row after SIGINT: %+v", name, row)
		}
	}
	if len(interrupted) != 2 || len(notStarted) != 3 {
		t.Errorf("after SIGINT: interrupted %v, not started %v; want the 2 accounts applying and the 3 waiting", interrupted, notStarted)
	}
	for want, n := range map[string]int{
		"interrupted: starting no further changes": 2, "Applied 2 of 3 change(s):": 2, "not done  create role-policy": 2,
		"Error: stop with 5 of 6 account(s) not done": 1, "IAM propagates": 0,
	} {
		if got := strings.Count(inv.stderr, want); got != n {
			t.Errorf("stderr has %q %d times, want %d (once per interrupted account)", want, got, n)
		}
	}

	w.proxy.ClearFaults()
	again := runBinary(t, w.env, setup...)
	if again.code != exitError || !strings.Contains(again.stderr, "Error: 1 of 6 account(s) failed: "+w.member("charlie").ID+" (charlie)") {
		t.Fatalf("rerun: exit %d, want 1 for charlie alone\nstderr: %s", again.code, again.stderr)
	}
	for _, m := range w.org.Members {
		if m.Name != "charlie" {
			checkAccountSetUp(t, w.as(t, m.Name), m.ID)
		}
	}
	checkAccountSetUp(t, w.base, awstest.AccountID)
}
