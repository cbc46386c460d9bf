package fleet_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/fleet"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

const (
	orgID     = "2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d"
	projectID = "8e7c4b1e-5a0d-4c3b-9f2e-1d6a7b8c9d0e"
	repo      = "app"
)

// members are the names of the accounts every test's organization has,
// besides the management account (awstest.AccountID, named "master").
var members = []string{"alpha", "bravo", "charlie", "delta", "echo"}

// world is an organization in moto, with the repository every account
// needs, and the management account's configuration. Every call goes
// through one proxy, which tells the accounts apart by access key.
type world struct {
	moto  *awstest.Moto
	proxy *awstest.Proxy
	base  aws.Config
	org   *awstest.Organization
	// names maps every account ID to its name.
	names map[string]string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	moto := awstest.StartMoto(t)
	proxy := awstest.NewProxy(t, moto.URL())
	base := awstest.Config(t.Context(), t, proxy.URL())
	w := &world{moto: moto, proxy: proxy, base: base, org: awstest.CreateOrganization(t, base, members...), names: map[string]string{awstest.AccountID: "master"}}
	awstest.CreateRepositories(t, base, repo)
	for _, m := range w.org.Members {
		w.names[m.ID] = m.Name
		awstest.CreateRepositories(t, awstest.AssumeRole(t, base, m.RoleARN()), repo)
	}
	proxy.Reset()
	return w
}

// accessKey returns the access key the target's calls are signed with. Its
// credentials are cached, so it is the same for every call of the run.
func accessKey(t *testing.T, tg fleet.Target) string {
	t.Helper()
	creds, err := tg.Config.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatalf("credentials of %s: %v", tg.Label(), err)
	}
	return creds.AccessKeyID
}

// member returns the member account named name.
func (w *world) member(name string) awstest.Account {
	i := slices.IndexFunc(w.org.Members, func(a awstest.Account) bool { return a.Name == name })
	return w.org.Members[i]
}

// asMember returns a configuration acting in the named member account,
// independent of the code under test.
func (w *world) asMember(t *testing.T, name string) aws.Config {
	return awstest.AssumeRole(t, w.base, w.member(name).RoleARN())
}

func orgSelection(edit func(*fleet.Selection)) fleet.Selection {
	s := fleet.Selection{OrgAccounts: true, AccountRole: fleet.DefaultAccountRole, Parallel: fleet.DefaultParallel}
	if edit != nil {
		edit(&s)
	}
	return s
}

func targetNames(targets []fleet.Target) []string {
	var names []string
	for _, t := range targets {
		names = append(names, t.Name)
	}
	return names
}

func noProfiles(context.Context, string) (aws.Config, error) {
	return aws.Config{}, errors.New("no profiles in an organization run")
}

// TestTargetsInOrganization lists the organization in moto: every active
// account, each reached in its own account (the management account with
// the caller's credentials, the others through the account role, with the
// tool's session name), OUs recursively, and the filters.
func TestTargetsInOrganization(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t)
	targets, err := fleet.Targets(ctx, w.base, noProfiles, orgSelection(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1+len(members) || !slices.IsSortedFunc(targets, func(a, b fleet.Target) int { return strings.Compare(a.AccountID, b.AccountID) }) {
		t.Fatalf("targets %v, want the management account and %d members by ID", targetNames(targets), len(members))
	}
	for _, tg := range targets {
		if tg.Name != w.names[tg.AccountID] || tg.Err != nil {
			t.Errorf("target %s named %q (error %v), want %q", tg.AccountID, tg.Name, tg.Err, w.names[tg.AccountID])
		}
		id, err := sts.NewFromConfig(tg.Config).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("GetCallerIdentity in %s: %v", tg.Label(), err)
		}
		wantARN := "arn:aws:sts::" + tg.AccountID + ":assumed-role/" + awstest.AccountRole + "/" + fleet.SessionName
		if tg.AccountID == awstest.AccountID {
			wantARN = "arn:aws:sts::" + awstest.AccountID + ":user/moto"
		}
		if aws.ToString(id.Account) != tg.AccountID || aws.ToString(id.Arn) != wantARN || tg.Caller != (tg.AccountID == awstest.AccountID) {
			t.Errorf("target %s (caller %v) acts as %s in %s, want %s", tg.Label(), tg.Caller, aws.ToString(id.Arn), aws.ToString(id.Account), wantARN)
		}
	}

	select1 := func(edit func(*fleet.Selection)) ([]string, error) {
		t.Helper()
		targets, err := fleet.Targets(ctx, w.base, noProfiles, orgSelection(edit))
		return targetNames(targets), err
	}
	t.Run("filters", func(t *testing.T) {
		got, err := select1(func(s *fleet.Selection) {
			s.Accounts = []string{w.member("delta").ID, w.member("alpha").ID, awstest.AccountID}
			s.ExcludeAccounts = []string{w.member("bravo").ID}
		})
		if err != nil || !slices.Equal(sortedNames(got), []string{"alpha", "delta", "master"}) {
			t.Errorf("--accounts delta,alpha,management --exclude-accounts bravo: %v, %v", got, err)
		}
		var ie *provision.InputError
		if _, err := select1(func(s *fleet.Selection) { s.Accounts = []string{"210987654321"} }); !errors.As(err, &ie) || ie.Value != "210987654321" {
			t.Errorf("--accounts naming an account outside the organization: error %v, want an InputError naming it", err)
		}
	})
	t.Run("organizational units", func(t *testing.T) {
		team := w.org.CreateOU(t, w.org.RootID, "team")
		nested := w.org.CreateOU(t, team, "nested")
		other := w.org.CreateOU(t, w.org.RootID, "other")
		for name, ou := range map[string]string{"alpha": team, "bravo": nested, "charlie": nested, "delta": other} {
			w.org.MoveAccount(t, w.member(name).ID, w.org.RootID, ou)
		}
		for ou, want := range map[string][]string{team: {"alpha", "bravo", "charlie"}, nested: {"bravo", "charlie"}, other: {"delta"}, w.org.RootID: {"alpha", "bravo", "charlie", "delta", "echo", "master"}} {
			got, err := select1(func(s *fleet.Selection) { s.OUs = []string{ou} })
			if err != nil || !slices.Equal(sortedNames(got), want) {
				t.Errorf("--ou %s: %v, %v, want %v", ou, got, err, want)
			}
		}
		if _, err := select1(func(s *fleet.Selection) { s.OUs, s.Accounts = []string{nested}, []string{w.member("alpha").ID} }); err == nil || !strings.Contains(err.Error(), "under "+nested) {
			t.Errorf("--ou nested --accounts alpha: error %v, want alpha is not under the OU", err)
		}
	})
	t.Run("active accounts only", func(t *testing.T) {
		w.org.CloseAccount(t, w.member("echo").ID)
		got, err := select1(nil)
		if err != nil || slices.Contains(got, "echo") || len(got) != len(members) {
			t.Errorf("after closing echo: %v, %v", got, err)
		}
		if _, err := select1(func(s *fleet.Selection) { s.Accounts = []string{w.member("echo").ID} }); err == nil {
			t.Error("--accounts naming a closed account: no error")
		}
	})
}

func sortedNames(names []string) []string {
	return slices.Sorted(slices.Values(names))
}

// roleSnapshot is everything IAM says about a role: it must not change
// when the tool refuses the role.
type roleSnapshot struct {
	Role     string
	Tags     string
	Inline   []string
	Attached []string
}

func snapshotRole(t *testing.T, cfg aws.Config, name string) roleSnapshot {
	t.Helper()
	ctx := t.Context()
	api := iam.NewFromConfig(cfg)
	role, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	inline, err := api.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	attached, err := api.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	s := roleSnapshot{Role: aws.ToString(role.Role.Arn) + " " + aws.ToString(role.Role.AssumeRolePolicyDocument) + " " + aws.ToString(role.Role.Description), Inline: inline.PolicyNames}
	for _, tag := range role.Role.Tags {
		s.Tags += aws.ToString(tag.Key) + "=" + aws.ToString(tag.Value) + ";"
	}
	for _, p := range attached.AttachedPolicies {
		s.Attached = append(s.Attached, aws.ToString(p.PolicyArn))
	}
	return s
}

func validSpec(t *testing.T) provision.Spec {
	t.Helper()
	spec, err := provision.Spec{OrgID: orgID, Repositories: []string{repo}, ProjectIDs: []string{projectID}, Region: awstest.Region}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// checkSetUp reads back, with cfg (the account's own credentials), the
// provider, the role and its pull policy in account, and checks that the
// role trusts that account's provider.
func checkSetUp(t *testing.T, cfg aws.Config, account string) {
	t.Helper()
	ctx := t.Context()
	api := iam.NewFromConfig(cfg)
	providerARN := policy.ProviderARN("aws", account, orgID)
	prov, err := api.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)})
	if err != nil || !slices.Equal(prov.ClientIDList, []string{orgID}) {
		t.Errorf("provider %s: %v (audiences %v)", providerARN, err, prov)
	}
	role, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(provision.DefaultRoleName)})
	if err != nil {
		t.Errorf("role in %s: %v", account, err)
		return
	}
	trust, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if !strings.HasPrefix(aws.ToString(role.Role.Arn), "arn:aws:iam::"+account+":role/") || !strings.Contains(trust, providerARN) {
		t.Errorf("role %s trusts %s, want the provider of account %s", aws.ToString(role.Role.Arn), trust, account)
	}
	pol, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(provision.DefaultRoleName), PolicyName: aws.String(provision.PolicyName)})
	doc, _ := url.QueryUnescape(aws.ToString(pol.PolicyDocument))
	if err != nil || !strings.Contains(doc, "arn:aws:ecr:"+awstest.Region+":"+account+":repository/"+repo) {
		t.Errorf("pull policy in %s: %v %s", account, err, doc)
	}
}

// engine runs setup in every account as the front end does: each account
// planned by provision.PlanSetup with its target's own configuration, the
// plans read as one fleet.Operation (fleet.ReadAndPlan), then, when any
// account has changes, applied by the Operation's Execute.
type engine struct {
	spec provision.Spec
}

// run plans setup in every target and applies the plans that came out. The
// Operation's rows and report say what became of each account.
func (e engine) run(t *testing.T, targets []fleet.Target, parallel int) *fleet.Operation {
	t.Helper()
	ctx := t.Context()
	op, err := fleet.ReadAndPlan(ctx, targets, parallel, io.Discard, nil, func(ctx context.Context, tg fleet.Target) (fleet.AccountPlan, error) {
		return provision.PlanSetup(ctx, tg.Clients(), e.spec, provision.SetupOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	if op.Changes() > 0 {
		if _, err := op.Execute(ctx, func(provision.Event) {}); err != nil {
			t.Fatal(err)
		}
	}
	return op
}

// plansOf returns, in the accounts' order, the plan the setup of each
// account of op applied or would apply, read from the operation's JSON
// report; nil for an account that had none.
func plansOf(t *testing.T, op *fleet.Operation) []*provision.Plan {
	t.Helper()
	var plans []*provision.Plan
	for _, entry := range op.Report(nil).Accounts {
		if entry.Result == nil {
			plans = append(plans, nil)
			continue
		}
		report, ok := entry.Result.(*provision.SetupReport)
		if !ok {
			t.Fatalf("account %s's result is a %T, want a setup report", entry.Account, entry.Result)
		}
		plans = append(plans, report.Plan)
	}
	return plans
}

// TestEngineInEveryAccount sets up the organization's every account in one
// run: charlie holds a foreign role of the same name, and delta's first
// PutRolePolicy is denied. Only those two fail, charlie's role stays as it
// was, and every other account has its provider, role and policy. A rerun
// completes delta and writes nothing anywhere else; a third run plans no
// change at all.
func TestEngineInEveryAccount(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t)
	charlie, delta := w.member("charlie"), w.member("delta")
	foreignBefore := createForeignRole(t, w, "charlie")

	e := engine{spec: validSpec(t)}
	targets, err := fleet.Targets(ctx, w.base, noProfiles, orgSelection(nil))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, tg := range targets {
		keys[tg.AccountID] = accessKey(t, tg)
	}
	w.proxy.FailOperationFor(keys[delta.ID], "PutRolePolicy", 1, 403, "AccessDenied", "User is not authorized to perform: iam:PutRolePolicy")

	op := e.run(t, targets, 4)
	var summary bytes.Buffer
	if err := op.WriteSummary(&summary); err != nil {
		t.Fatal(err)
	}
	t.Logf("first run:\n%s", summary.String())
	checkFirstRun(t, w, targets, op)
	if writes := w.proxy.WritesBy(keys[charlie.ID]); len(writes) != 0 {
		t.Errorf("writes in charlie: %v", writes)
	}

	// The rerun completes delta and writes nothing anywhere else.
	w.proxy.Reset()
	op = e.run(t, targets, 4)
	if total := w.proxy.Writes(); !reflect.DeepEqual(total, map[string]int{"PutRolePolicy": 1}) {
		t.Errorf("rerun wrote %v, want delta's PutRolePolicy only", total)
	}
	for i, r := range op.Rows() {
		id := targets[i].AccountID
		writes := w.proxy.WritesBy(keys[id])
		switch id {
		case charlie.ID:
			if !errors.Is(r.Err, provision.ErrNotOwned) || len(writes) != 0 {
				t.Errorf("rerun in charlie: error %v, writes %v", r.Err, writes)
			}
		case delta.ID:
			if r.Err != nil || r.Changes != 1 || !reflect.DeepEqual(writes, map[string]int{"PutRolePolicy": 1}) {
				t.Errorf("rerun in delta: error %v, %d change(s), writes %v, want only the missing PutRolePolicy", r.Err, r.Changes, writes)
			}
		default:
			if r.Err != nil || r.Changes != 0 || len(writes) != 0 {
				t.Errorf("rerun in %s: error %v, %d change(s), writes %v, want none", targets[i].Label(), r.Err, r.Changes, writes)
			}
		}
	}
	checkSetUp(t, w.asMember(t, "delta"), delta.ID)

	op = e.run(t, targets, 4)
	for i, r := range op.Rows() {
		if targets[i].AccountID != charlie.ID && (r.Err != nil || r.Changes != 0) {
			t.Errorf("third run in %s: error %v, %d change(s)", targets[i].Label(), r.Err, r.Changes)
		}
	}
	if got := snapshotRole(t, w.asMember(t, "charlie"), provision.DefaultRoleName); !reflect.DeepEqual(got, foreignBefore) {
		t.Errorf("charlie's foreign role changed by the runs:\n got %+v\nwant %+v", got, foreignBefore)
	}
}

// createForeignRole creates, in the named member, a role of the tool's
// default name that the tool did not create, and returns its snapshot.
func createForeignRole(t *testing.T, w *world, member string) roleSnapshot {
	t.Helper()
	cfg := w.asMember(t, member)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + w.member(member).ID + `:root"},"Action":"sts:AssumeRole"}]}`
	if _, err := iam.NewFromConfig(cfg).CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(provision.DefaultRoleName), AssumeRolePolicyDocument: aws.String(trust), Description: aws.String("someone else's")}); err != nil {
		t.Fatal(err)
	}
	return snapshotRole(t, cfg, provision.DefaultRoleName)
}

// checkFirstRun checks the first run of TestEngineInEveryAccount: charlie
// refused at planning, delta failed at applying, every other account
// planned and set up in its own account, read back with its credentials.
func checkFirstRun(t *testing.T, w *world, targets []fleet.Target, op *fleet.Operation) {
	t.Helper()
	charlie, delta := w.member("charlie"), w.member("delta")
	rows, plans := op.Rows(), plansOf(t, op)
	if len(rows) != len(targets) || len(plans) != len(targets) {
		t.Fatalf("%d rows and %d plans for %d targets", len(rows), len(plans), len(targets))
	}
	for i, r := range rows {
		id := targets[i].AccountID
		var ae *provision.ApplyError
		switch p := plans[i]; {
		case id == charlie.ID:
			if !errors.Is(r.Err, provision.ErrNotOwned) || !r.Finished || p != nil {
				t.Errorf("charlie: error %v, plan %v, want ErrNotOwned and no plan", r.Err, p)
			}
		case p == nil || len(p.Changes) != 3 || p.Account != id:
			t.Errorf("%s's plan: %+v (error %v), want provider, role and policy in account %s", targets[i].Label(), p, r.Err, id)
		case id == delta.ID:
			if !errors.As(r.Err, &ae) || !strings.Contains(r.Err.Error(), "AccessDenied") {
				t.Errorf("delta's apply: error %v, want the denied PutRolePolicy", r.Err)
			}
		case r.Err != nil || r.Status != "applied 3 change(s)":
			t.Errorf("%s's apply: error %v, status %q", targets[i].Label(), r.Err, r.Status)
		case id == awstest.AccountID:
			checkSetUp(t, w.base, id)
		default:
			checkSetUp(t, w.asMember(t, w.names[id]), id)
		}
	}
	if n := op.Applied(); n != len(targets)-2 {
		t.Errorf("%d accounts applied in full, want every account but charlie and delta", n)
	}
}

// TestEngineThroughProfiles sets up the accounts of shared-config profiles:
// two role_arn profiles reach their members, a profile whose endpoint
// refuses connections and one that does not exist fail, and only they.
func TestEngineThroughProfiles(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t)
	alpha, bravo := w.member("alpha"), w.member("bravo")
	sc := awstest.WriteProfiles(t,
		awstest.Profile{Name: "source"},
		awstest.Profile{Name: "alpha", Endpoint: w.moto.URL(), RoleARN: alpha.RoleARN(), SourceProfile: "source"},
		awstest.Profile{Name: "bravo", Endpoint: w.moto.URL(), RoleARN: bravo.RoleARN(), SourceProfile: "source"},
		awstest.Profile{Name: "refused", Endpoint: awstest.RefusedEndpoint(t)},
	)
	sel := fleet.Selection{Profiles: []string{"alpha", "refused", "missing", "bravo"}, AccountRole: fleet.DefaultAccountRole, Parallel: 2}
	targets, err := fleet.Targets(ctx, w.base, sc.Load, sel)
	if err != nil {
		t.Fatal(err)
	}
	op := engine{spec: validSpec(t)}.run(t, targets, sel.Parallel)
	if got := targetNames(targets); !slices.Equal(got, sel.Profiles) {
		t.Fatalf("targets %v, want the profiles in order", got)
	}
	rows := op.Rows()
	for i, want := range []string{alpha.ID, "", "", bravo.ID} {
		r := rows[i]
		switch targets[i].Profile {
		case "refused":
			if !errors.Is(r.Err, syscall.ECONNREFUSED) || !r.Finished {
				t.Errorf("refused profile: error %v, want connection refused", r.Err)
			}
		case "missing":
			if r.Err == nil || !strings.Contains(r.Err.Error(), "load profile missing: ") {
				t.Errorf("missing profile: error %v, want its load error", r.Err)
			}
		default:
			if r.Err != nil || r.Status != "applied 3 change(s)" {
				t.Errorf("profile %s: error %v, status %q, want its 3 changes applied", targets[i].Profile, r.Err, r.Status)
			}
		}
		// A profile's row names the account its plan read, or none.
		if r.Account != want {
			t.Errorf("profile %s's row names account %q, want %q", targets[i].Profile, r.Account, want)
		}
	}
	checkSetUp(t, w.asMember(t, "alpha"), alpha.ID)
	checkSetUp(t, w.asMember(t, "bravo"), bravo.ID)
}

// TestProviderAccounts reads which accounts of the organization have the
// organization's provider, as the StackSet export does: bravo has it, the
// others do not, and a target that cannot be reached is a failed row that
// fails the whole with a FailedError, while the others are still read.
func TestProviderAccounts(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t)
	if _, err := iam.NewFromConfig(w.asMember(t, "bravo")).CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(policy.IssuerURL(orgID)), ClientIDList: []string{orgID},
	}); err != nil {
		t.Fatal(err)
	}
	targets, err := fleet.Targets(ctx, w.base, noProfiles, orgSelection(nil))
	if err != nil {
		t.Fatal(err)
	}
	targets = append(targets, fleet.Target{Name: "broken", Profile: "broken", Err: errors.New("load profile broken: no such profile")})
	w.proxy.Reset()
	has, rows, err := fleet.ProviderAccounts(ctx, targets, 3, orgID, awstest.Region)
	var failed *fleet.FailedError
	if !errors.As(err, &failed) || !slices.Equal(failed.Accounts, []string{"broken"}) {
		t.Errorf("error %v, want a FailedError naming broken", err)
	}
	if len(has) != 1+len(members) {
		t.Errorf("read %d accounts (%v), want every account of the organization", len(has), has)
	}
	for id, name := range w.names {
		if has[id] != (name == "bravo") {
			t.Errorf("%s has the provider: %v", name, has[id])
		}
	}
	for _, r := range rows {
		want := map[bool]string{true: "provider exists", false: "no provider"}[r.Name == "bravo"]
		if (r.Name == "broken") != (r.Err != nil) || (r.Err == nil && r.Status != want) {
			t.Errorf("row %+v, want status %q", r, want)
		}
	}
	// ReadProviders is the same read as export runs it: the progress line
	// and the summary on notes, and the failure with its consequence.
	var notes bytes.Buffer
	again, err := fleet.ReadProviders(ctx, targets, 3, orgID, awstest.Region, &notes)
	if !errors.As(err, &failed) || !strings.HasSuffix(err.Error(), "; the commands deploy their instances as if they had no provider") || !maps.Equal(again, has) {
		t.Errorf("ReadProviders() = %v, %v; want %v and the FailedError with its consequence", again, err, has)
	}
	if want := fmt.Sprintf("Reading whether %d account(s) have the organization's OIDC provider...\nACCOUNT", len(targets)); !strings.HasPrefix(notes.String(), want) {
		t.Errorf("notes = %q, want the progress line, then the summary", notes.String())
	}
	if writes := w.proxy.Writes(); len(writes) != 0 {
		t.Errorf("reading the providers wrote %v", writes)
	}
}
