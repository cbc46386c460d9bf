package fleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// fakeOrg is an organization: accounts by parent, OUs by parent, served a
// page of pageSize at a time as Organizations does.
type fakeOrg struct {
	mu       sync.Mutex
	accounts map[string][]orgtypes.Account // parent ID → accounts directly under it
	ous      map[string][]string           // parent ID → OU IDs directly under it
	pageSize int
	err      error // returned by every call when set
	calls    []string
}

func account(id, name string, state orgtypes.AccountState) orgtypes.Account {
	return orgtypes.Account{Id: aws.String(id), Name: aws.String(name), State: state}
}

// page returns items[token:token+pageSize] and the next token.
func page[T any](items []T, token *string, size int) ([]T, *string) {
	start, _ := strconv.Atoi(aws.ToString(token))
	end := min(start+size, len(items))
	if end < len(items) {
		return items[start:end], aws.String(strconv.Itoa(end))
	}
	return items[start:end], nil
}

func (f *fakeOrg) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	return f.err
}

func (f *fakeOrg) ListAccounts(_ context.Context, in *organizations.ListAccountsInput, _ ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error) {
	if err := f.record("ListAccounts"); err != nil {
		return nil, err
	}
	var all []orgtypes.Account
	for _, parent := range slices.Sorted(maps.Keys(f.accounts)) {
		all = append(all, f.accounts[parent]...)
	}
	items, next := page(all, in.NextToken, f.pageSize)
	return &organizations.ListAccountsOutput{Accounts: items, NextToken: next}, nil
}

func (f *fakeOrg) ListAccountsForParent(_ context.Context, in *organizations.ListAccountsForParentInput, _ ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error) {
	if err := f.record("ListAccountsForParent " + aws.ToString(in.ParentId)); err != nil {
		return nil, err
	}
	items, next := page(f.accounts[aws.ToString(in.ParentId)], in.NextToken, f.pageSize)
	return &organizations.ListAccountsForParentOutput{Accounts: items, NextToken: next}, nil
}

func (f *fakeOrg) ListChildren(_ context.Context, in *organizations.ListChildrenInput, _ ...func(*organizations.Options)) (*organizations.ListChildrenOutput, error) {
	if err := f.record("ListChildren " + aws.ToString(in.ParentId)); err != nil {
		return nil, err
	}
	if in.ChildType != orgtypes.ChildTypeOrganizationalUnit {
		return nil, fmt.Errorf("ListChildren of type %s, want ORGANIZATIONAL_UNIT", in.ChildType)
	}
	var children []orgtypes.Child
	for _, id := range f.ous[aws.ToString(in.ParentId)] {
		children = append(children, orgtypes.Child{Id: aws.String(id), Type: orgtypes.ChildTypeOrganizationalUnit})
	}
	items, next := page(children, in.NextToken, f.pageSize)
	return &organizations.ListChildrenOutput{Children: items, NextToken: next}, nil
}

// fakeSTS answers GetCallerIdentity as callerARN and records AssumeRole.
type fakeSTS struct {
	callerARN string
	mu        sync.Mutex
	assumed   []sts.AssumeRoleInput
}

func (f *fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	account := strings.Split(f.callerARN, ":")[4]
	return &sts.GetCallerIdentityOutput{Account: aws.String(account), Arn: aws.String(f.callerARN)}, nil
}

func (f *fakeSTS) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.assumed = append(f.assumed, *in)
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{
		AccessKeyId: aws.String("ASIA" + strconv.Itoa(len(f.assumed))), SecretAccessKey: aws.String("secret"), SessionToken: aws.String("token"),
		Expiration: aws.Time(time.Now().Add(time.Hour)),
	}}, nil
}

// baseConfig is the caller's configuration; its credentials are told
// apart from assumed ones by their key ID.
func baseConfig() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDCALLER", "secret", "")}
}

func keyID(t *testing.T, cfg aws.Config) string {
	t.Helper()
	creds, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatalf("retrieve credentials: %v", err)
	}
	return creds.AccessKeyID
}

// bigOrg is an organization of 7 accounts, the caller's (999999999999)
// among them; two are not active. Its tree:
//
//	r-root: 999999999999, 700000000000 (SUSPENDED)
//	  ou-root-teamaaaa: 300000000000, 100000000000
//	    ou-root-nestedaa: 200000000000, 600000000000 (PENDING_CLOSURE)
//	  ou-root-otheraaa: 400000000000
func bigOrg() *fakeOrg {
	return &fakeOrg{
		pageSize: 1,
		accounts: map[string][]orgtypes.Account{
			"r-root":           {account("999999999999", "management", orgtypes.AccountStateActive), account("700000000000", "closed", orgtypes.AccountStateSuspended)},
			"ou-root-teamaaaa": {account("300000000000", "team-c", orgtypes.AccountStateActive), account("100000000000", "team-a", orgtypes.AccountStateActive)},
			"ou-root-nestedaa": {account("200000000000", "team-b", orgtypes.AccountStateActive), account("600000000000", "closing", orgtypes.AccountStatePendingClosure)},
			"ou-root-otheraaa": {account("400000000000", "other", orgtypes.AccountStateActive)},
		},
		ous: map[string][]string{
			"r-root":           {"ou-root-teamaaaa", "ou-root-otheraaa"},
			"ou-root-teamaaaa": {"ou-root-nestedaa"},
		},
	}
}

// show describes a target without its configuration.
func show(t Target) string {
	return fmt.Sprintf("{account %q name %q profile %q role %q caller %v err %v}", t.AccountID, t.Name, t.Profile, t.AssumedRole, t.Caller, t.Err)
}

func ids(targets []Target) []string {
	var out []string
	for _, t := range targets {
		out = append(out, t.AccountID)
	}
	return out
}

// TestOrgTargets checks the whole organization: active accounts only, by
// ID, the caller's own with the caller's credentials and every other with
// the account role assumed once (cached), in the caller's partition.
func TestOrgTargets(t *testing.T) {
	org, stsAPI := bigOrg(), &fakeSTS{callerARN: "arn:aws-cn:iam::999999999999:user/operator"}
	sel, _ := orgSel(func(s *Selection) { s.AccountRole = "Deployer" }).Validate()
	targets, err := orgTargets(t.Context(), baseConfig(), org, stsAPI, sel)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(targets), []string{"100000000000", "200000000000", "300000000000", "400000000000", "999999999999"}; !slices.Equal(got, want) {
		t.Fatalf("targets %v, want the active accounts by ID %v", got, want)
	}
	if !slices.Contains(org.calls, "ListAccounts") || slices.ContainsFunc(org.calls, func(c string) bool { return c != "ListAccounts" }) {
		t.Errorf("calls %v, want ListAccounts pages only", org.calls)
	}
	caller := targets[4]
	if !caller.Caller || caller.AssumedRole != "" || caller.Name != "management" || keyID(t, caller.Config) != "AKIDCALLER" {
		t.Errorf("caller's target = %s, want the caller's credentials and no role", show(caller))
	}
	for _, tg := range targets[:4] {
		wantRole := "arn:aws-cn:iam::" + tg.AccountID + ":role/Deployer"
		if tg.Caller || tg.AssumedRole != wantRole || tg.Profile != "" || tg.Err != nil {
			t.Errorf("target %s, want role %s", show(tg), wantRole)
		}
	}
	if len(stsAPI.assumed) != 0 {
		t.Errorf("roles assumed before any credentials were asked for: %+v", stsAPI.assumed)
	}
	first, second := keyID(t, targets[1].Config), keyID(t, targets[1].Config)
	if first != second || !strings.HasPrefix(first, "ASIA") || len(stsAPI.assumed) != 1 {
		t.Fatalf("credentials %s then %s after %d AssumeRole calls, want one call and its credentials twice", first, second, len(stsAPI.assumed))
	}
	in := stsAPI.assumed[0]
	if aws.ToString(in.RoleArn) != "arn:aws-cn:iam::200000000000:role/Deployer" || aws.ToString(in.RoleSessionName) != SessionName {
		t.Errorf("AssumeRole(%s, session %s), want the account role with session %s", aws.ToString(in.RoleArn), aws.ToString(in.RoleSessionName), SessionName)
	}
	if got := targets[1].Clients().Account; got != "200000000000" {
		t.Errorf("Clients().Account = %q, want the target's account", got)
	}
}

// TestOrgTargetsUnderOU checks that --ou walks the OUs below it, and only
// those; several --ou take the accounts under any of them, each once.
func TestOrgTargetsUnderOU(t *testing.T) {
	for _, c := range []struct {
		ous  []string
		want []string
	}{
		{[]string{"ou-root-teamaaaa"}, []string{"100000000000", "200000000000", "300000000000"}},
		{[]string{"ou-root-nestedaa"}, []string{"200000000000"}},
		{[]string{"r-root"}, []string{"100000000000", "200000000000", "300000000000", "400000000000", "999999999999"}},
		{[]string{"ou-root-nestedaa", "ou-root-otheraaa"}, []string{"200000000000", "400000000000"}},
		{[]string{"ou-root-nestedaa", "ou-root-teamaaaa"}, []string{"100000000000", "200000000000", "300000000000"}},
	} {
		org := bigOrg()
		sel, err := orgSel(func(s *Selection) { s.OUs = c.ous }).Validate()
		if err != nil {
			t.Fatal(err)
		}
		targets, err := orgTargets(t.Context(), baseConfig(), org, &fakeSTS{callerARN: "arn:aws:iam::999999999999:root"}, sel)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(targets); !slices.Equal(got, c.want) {
			t.Errorf("--ou %v: targets %v, want %v", c.ous, got, c.want)
		}
		if slices.Contains(org.calls, "ListAccounts") {
			t.Errorf("--ou %v listed the whole organization: %v", c.ous, org.calls)
		}
	}
}

// TestOrgTargetsFilters checks --accounts and --exclude-accounts, and that
// naming an account that is not an active one listed is an error naming it.
func TestOrgTargetsFilters(t *testing.T) {
	for _, c := range []struct {
		name              string
		ou                string
		accounts, exclude []string
		want              []string
		errFlag, errValue string
	}{
		{name: "keep", accounts: []string{"400000000000", "100000000000"}, want: []string{"100000000000", "400000000000"}},
		{name: "exclude", exclude: []string{"999999999999", "300000000000"}, want: []string{"100000000000", "200000000000", "400000000000"}},
		{name: "keep and exclude", accounts: []string{"100000000000", "200000000000"}, exclude: []string{"300000000000"}, want: []string{"100000000000", "200000000000"}},
		{name: "keep unknown", accounts: []string{"100000000000", "123456789012", "888888888888"}, errFlag: "--accounts", errValue: "123456789012,888888888888"},
		{name: "keep suspended", accounts: []string{"700000000000"}, errFlag: "--accounts", errValue: "700000000000"},
		{name: "exclude unknown", exclude: []string{"123456789012"}, errFlag: "--exclude-accounts", errValue: "123456789012"},
		{name: "keep outside the OU", ou: "ou-root-nestedaa", accounts: []string{"100000000000"}, errFlag: "--accounts", errValue: "100000000000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sel, err := orgSel(func(s *Selection) {
				if c.ou != "" {
					s.OUs = []string{c.ou}
				}
				s.Accounts, s.ExcludeAccounts = c.accounts, c.exclude
			}).Validate()
			if err != nil {
				t.Fatal(err)
			}
			targets, err := orgTargets(t.Context(), baseConfig(), bigOrg(), &fakeSTS{callerARN: "arn:aws:iam::999999999999:root"}, sel)
			if c.errFlag == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := ids(targets); !slices.Equal(got, c.want) {
					t.Errorf("targets %v, want %v", got, c.want)
				}
				return
			}
			var ie *provision.InputError
			if !errors.As(err, &ie) || flagOf(ie) != c.errFlag || ie.Value != c.errValue {
				t.Fatalf("error = %v, want an InputError for %s %s", err, c.errFlag, c.errValue)
			}
			if where := map[bool]string{true: "under " + c.ou, false: "organization's active accounts"}[c.ou != ""]; !strings.Contains(err.Error(), where) {
				t.Errorf("error %q does not say where the account was looked for (%s)", err, where)
			}
		})
	}
}

// TestOrgTargetsListingFails checks that a failed listing fails the whole
// selection, with a hint for the errors a caller can fix.
func TestOrgTargetsListingFails(t *testing.T) {
	for _, c := range []struct {
		err  error
		hint string
	}{
		{&orgtypes.AWSOrganizationsNotInUseException{Message: aws.String("not in an organization")}, "--profiles"},
		{&orgtypes.AccessDeniedException{Message: aws.String("denied")}, "--command org-accounts"},
		{&orgtypes.ParentNotFoundException{Message: aws.String("no parent")}, "check --ou"},
		{errors.New("connection reset"), ""},
	} {
		org := bigOrg()
		org.err = c.err
		for _, ou := range []string{"", "ou-root-teamaaaa"} {
			sel, _ := orgSel(func(s *Selection) {
				if ou != "" {
					s.OUs = []string{ou}
				}
			}).Validate()
			targets, err := orgTargets(t.Context(), baseConfig(), org, &fakeSTS{callerARN: "arn:aws:iam::999999999999:root"}, sel)
			if !errors.Is(err, c.err) || targets != nil {
				t.Errorf("--ou %q: targets %v, error %v, want no targets and an error wrapping %v", ou, targets, err, c.err)
				continue
			}
			if !strings.Contains(err.Error(), c.hint) || !strings.HasPrefix(err.Error(), "list the ") {
				t.Errorf("--ou %q: error %q, want it to say what was listed and hint %q", ou, err, c.hint)
			}
		}
	}
}

// TestProfileTargets checks that profiles keep their order and that one
// that fails to load is that target's error only.
func TestProfileTargets(t *testing.T) {
	var loaded []string
	load := func(_ context.Context, profile string) (aws.Config, error) {
		loaded = append(loaded, profile)
		if profile == "broken" {
			return aws.Config{}, errors.New("profile broken: source_profile loop")
		}
		return aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID-"+profile, "s", "")}, nil
	}
	sel := profileSel(func(s *Selection) { s.Profiles = []string{"prod", "broken", "dev", "prod"} })
	targets, err := Targets(t.Context(), aws.Config{}, load, sel)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"prod", "broken", "dev"}; !slices.Equal(loaded, want) {
		t.Errorf("loaded %v, want each profile once in order %v", loaded, want)
	}
	for i, want := range []string{"prod", "broken", "dev"} {
		tg := targets[i]
		if tg.Name != want || tg.Profile != want || tg.AccountID != "" || tg.AssumedRole != "" {
			t.Errorf("target %d = %s, want profile %s", i, show(tg), want)
		}
		if (tg.Err != nil) != (want == "broken") {
			t.Errorf("target %s error %v", want, tg.Err)
		}
	}
	if !strings.Contains(targets[1].Err.Error(), "load profile broken: ") {
		t.Errorf("load error %q does not name the profile", targets[1].Err)
	}
	if keyID(t, targets[2].Config) != "AKID-dev" {
		t.Errorf("dev's target does not have dev's configuration")
	}
}

// failingTransport fails the test on any request.
type failingTransport struct{ t *testing.T }

func (f failingTransport) Do(r *http.Request) (*http.Response, error) {
	f.t.Errorf("an invalid selection made a request to %s", r.URL)
	return nil, errors.New("no request expected")
}

// TestTargetsValidatesFirst checks that Targets makes no call, and loads
// no profile, for an invalid selection.
func TestTargetsValidatesFirst(t *testing.T) {
	base := baseConfig()
	base.HTTPClient = failingTransport{t}
	load := func(context.Context, string) (aws.Config, error) {
		t.Error("an invalid selection loaded a profile")
		return aws.Config{}, nil
	}
	for _, sel := range []Selection{
		orgSel(func(s *Selection) { s.Accounts = []string{"1"} }),
		orgSel(func(s *Selection) { s.Parallel = 0 }),
		profileSel(func(s *Selection) { s.Profiles = []string{"ok", "not ok"} }),
	} {
		var ie *provision.InputError
		if _, err := Targets(t.Context(), base, load, sel); !errors.As(err, &ie) {
			t.Errorf("Targets(%+v) error = %v, want an InputError", sel, err)
		}
	}
}

func TestTargetLabel(t *testing.T) {
	for _, c := range []struct {
		target Target
		want   string
	}{
		{Target{AccountID: "111111111111", Name: "prod"}, "111111111111 (prod)"},
		{Target{AccountID: "111111111111"}, "111111111111"},
		{Target{AccountID: "111111111111", Name: "111111111111"}, "111111111111"},
		{Target{Name: "dev", Profile: "dev"}, "dev"},
	} {
		if got := c.target.Label(); got != c.want {
			t.Errorf("%s.Label() = %q, want %q", show(c.target), got, c.want)
		}
	}
}
