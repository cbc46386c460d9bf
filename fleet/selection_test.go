package fleet

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// orgSel and profileSel are valid selections the table cases start from.
func orgSel(edit func(*Selection)) Selection {
	s := Selection{OrgAccounts: true, AccountRole: DefaultAccountRole, Parallel: DefaultParallel}
	if edit != nil {
		edit(&s)
	}
	return s
}

func profileSel(edit func(*Selection)) Selection {
	s := Selection{Profiles: []string{"dev"}, AccountRole: DefaultAccountRole, Parallel: DefaultParallel}
	if edit != nil {
		edit(&s)
	}
	return s
}

func TestSelectionValidateRejects(t *testing.T) {
	for _, c := range []struct {
		name     string
		sel      Selection
		flag     string // the flag the error names
		contains string // part of the rule
	}{
		{"no source", Selection{AccountRole: DefaultAccountRole, Parallel: 1}, "--profiles or --org-accounts", "is required"},
		{"both sources", profileSel(func(s *Selection) { s.OrgAccounts = true }), "--profiles and --org-accounts", "cannot be combined"},
		{"ou without org", profileSel(func(s *Selection) { s.OUs = []string{"ou-ab12-abcdefgh"} }), "--ou", "needs --org-accounts"},
		{"ou alone", Selection{OUs: []string{"ou-ab12-abcdefgh"}, AccountRole: DefaultAccountRole, Parallel: 1}, "--profiles or --org-accounts", "is required"},
		{"accounts without org", profileSel(func(s *Selection) { s.Accounts = []string{"111111111111"} }), "--accounts", "needs --org-accounts"},
		{"exclude without org", profileSel(func(s *Selection) { s.ExcludeAccounts = []string{"111111111111"} }), "--exclude-accounts", "needs --org-accounts"},
		{"short account", orgSel(func(s *Selection) { s.Accounts = []string{"11111111111"} }), "--accounts", "12-digit"},
		{"long account", orgSel(func(s *Selection) { s.Accounts = []string{"1111111111111"} }), "--accounts", "12-digit"},
		{"account with letters", orgSel(func(s *Selection) { s.Accounts = []string{"11111111111a"} }), "--accounts", "12-digit"},
		{"account as ARN", orgSel(func(s *Selection) { s.Accounts = []string{"arn:aws:iam::111111111111:root"} }), "--accounts", "12-digit"},
		{"empty account", orgSel(func(s *Selection) { s.Accounts = []string{"111111111111", ""} }), "--accounts", "empty entry"},
		{"bad exclusion", orgSel(func(s *Selection) { s.ExcludeAccounts = []string{"prod"} }), "--exclude-accounts", "12-digit"},
		{"kept and excluded", orgSel(func(s *Selection) {
			s.Accounts = []string{"111111111111", "222222222222"}
			s.ExcludeAccounts = []string{"222222222222"}
		}), "--exclude-accounts", "also named by --accounts"},
		{"ou without prefix", orgSel(func(s *Selection) { s.OUs = []string{"ab12-abcdefgh"} }), "--ou", "organizational unit ID"},
		{"ou uppercase", orgSel(func(s *Selection) { s.OUs = []string{"ou-AB12-abcdefgh"} }), "--ou", "organizational unit ID"},
		{"ou root part short", orgSel(func(s *Selection) { s.OUs = []string{"ou-ab1-abcdefgh"} }), "--ou", "organizational unit ID"},
		{"ou second part short", orgSel(func(s *Selection) { s.OUs = []string{"ou-ab12-abcdefg"} }), "--ou", "organizational unit ID"},
		{"ou second part long", orgSel(func(s *Selection) { s.OUs = []string{"ou-ab12-" + strings.Repeat("a", 33)} }), "--ou", "organizational unit ID"},
		{"ou trailing text", orgSel(func(s *Selection) { s.OUs = []string{"ou-ab12-abcdefgh/x"} }), "--ou", "organizational unit ID"},
		{"root short", orgSel(func(s *Selection) { s.OUs = []string{"r-ab1"} }), "--ou", "root ID"},
		{"root long", orgSel(func(s *Selection) { s.OUs = []string{"r-" + strings.Repeat("a", 33)} }), "--ou", "root ID"},
		{"organization ID", orgSel(func(s *Selection) { s.OUs = []string{"o-abcdefghij"} }), "--ou", "organizational unit ID"},
		{"account as ou", orgSel(func(s *Selection) { s.OUs = []string{"111111111111"} }), "--ou", "organizational unit ID"},
		{"profile with space", profileSel(func(s *Selection) { s.Profiles = []string{"my profile"} }), "--profiles", "without spaces"},
		{"profile with bracket", profileSel(func(s *Selection) { s.Profiles = []string{"dev]"} }), "--profiles", "brackets"},
		{"profile with hash", profileSel(func(s *Selection) { s.Profiles = []string{"dev#1"} }), "--profiles", `"#"`},
		{"profile with semicolon", profileSel(func(s *Selection) { s.Profiles = []string{"dev;x"} }), "--profiles", `";"`},
		{"profile with quote", profileSel(func(s *Selection) { s.Profiles = []string{`dev"`} }), "--profiles", "quotes"},
		{"profile with backslash", profileSel(func(s *Selection) { s.Profiles = []string{`dev\x`} }), "--profiles", "backslashes"},
		{"profile with tab", profileSel(func(s *Selection) { s.Profiles = []string{"dev\tx"} }), "--profiles", "without spaces"},
		{"empty profile", profileSel(func(s *Selection) { s.Profiles = []string{"dev", " "} }), "--profiles", "empty entry"},
		{"empty role", orgSel(func(s *Selection) { s.AccountRole = "" }), "--account-role", "IAM role name"},
		{"role with path", orgSel(func(s *Selection) { s.AccountRole = "admin/Deployer" }), "--account-role", "IAM role name"},
		{"role too long", orgSel(func(s *Selection) { s.AccountRole = strings.Repeat("r", 65) }), "--account-role", "IAM role name"},
		{"parallel zero", orgSel(func(s *Selection) { s.Parallel = 0 }), "--parallel", "from 1 to 256"},
		{"parallel negative", orgSel(func(s *Selection) { s.Parallel = -3 }), "--parallel", "from 1 to 256"},
		{"parallel too many", orgSel(func(s *Selection) { s.Parallel = MaxParallel + 1 }), "--parallel", "from 1 to 256"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.sel.Validate()
			var ie *provision.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Validate() error = %v, want an *InputError", err)
			}
			if flagOf(ie) != c.flag || !strings.Contains(ie.Rule, c.contains) {
				t.Errorf("Validate() = flag %q rule %q, want flag %q and a rule containing %q", flagOf(ie), ie.Rule, c.flag, c.contains)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestSelectionValidateAccepts(t *testing.T) {
	for _, c := range []struct {
		name string
		sel  Selection
		want Selection
	}{
		{"profiles trimmed, repeats dropped in order",
			profileSel(func(s *Selection) { s.Profiles = []string{" prod", "dev", "prod ", "sso.admin@acme", "team/ci-1"} }),
			profileSel(func(s *Selection) { s.Profiles = []string{"prod", "dev", "sso.admin@acme", "team/ci-1"} })},
		{"profile named default", profileSel(func(s *Selection) { s.Profiles = []string{"default"} }), profileSel(func(s *Selection) { s.Profiles = []string{"default"} })},
		{"non-ASCII profile", profileSel(func(s *Selection) { s.Profiles = []string{"prüfung"} }), profileSel(func(s *Selection) { s.Profiles = []string{"prüfung"} })},
		{"whole organization", orgSel(nil), orgSel(nil)},
		{"ou", orgSel(func(s *Selection) { s.OUs = []string{" ou-ab12-abcdefgh"} }), orgSel(func(s *Selection) { s.OUs = []string{"ou-ab12-abcdefgh"} })},
		{"longest ou", orgSel(func(s *Selection) { s.OUs = []string{"ou-" + strings.Repeat("a", 32) + "-" + strings.Repeat("0", 32)} }), orgSel(func(s *Selection) { s.OUs = []string{"ou-" + strings.Repeat("a", 32) + "-" + strings.Repeat("0", 32)} })},
		{"root", orgSel(func(s *Selection) { s.OUs = []string{"r-ab12"} }), orgSel(func(s *Selection) { s.OUs = []string{"r-ab12"} })},
		{"accounts and exclusions",
			orgSel(func(s *Selection) {
				s.Accounts = []string{"111111111111", " 222222222222", "111111111111"}
				s.ExcludeAccounts = []string{"333333333333"}
			}),
			orgSel(func(s *Selection) {
				s.Accounts = []string{"111111111111", "222222222222"}
				s.ExcludeAccounts = []string{"333333333333"}
			})},
		{"other role", orgSel(func(s *Selection) { s.AccountRole = " CircleCIDeployer " }), orgSel(func(s *Selection) { s.AccountRole = "CircleCIDeployer" })},
		{"one at a time", orgSel(func(s *Selection) { s.Parallel = 1 }), orgSel(func(s *Selection) { s.Parallel = 1 })},
		{"most at once", orgSel(func(s *Selection) { s.Parallel = MaxParallel }), orgSel(func(s *Selection) { s.Parallel = MaxParallel })},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.sel.Validate()
			if err != nil {
				t.Fatalf("Validate() error = %v", err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Validate() = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestSelectionIsSet(t *testing.T) {
	for _, c := range []struct {
		sel  Selection
		want bool
	}{
		{Selection{AccountRole: DefaultAccountRole, Parallel: DefaultParallel}, false},
		{Selection{Profiles: []string{"dev"}}, true},
		{Selection{OrgAccounts: true}, true},
		// Flags that need --org-accounts make a multi-account run too,
		// so that Validate says what they need instead of being ignored.
		{Selection{OUs: []string{"ou-ab12-abcdefgh"}}, true},
		{Selection{Accounts: []string{"111111111111"}}, true},
		{Selection{ExcludeAccounts: []string{"111111111111"}}, true},
	} {
		if got := c.sel.IsSet(); got != c.want {
			t.Errorf("%+v.IsSet() = %v, want %v", c.sel, got, c.want)
		}
	}
}

// TestSelectionCheck checks what Check adds to Validate: --profiles
// excludes --profile.
func TestSelectionCheck(t *testing.T) {
	profiles := Selection{Profiles: []string{"prod"}, AccountRole: DefaultAccountRole, Parallel: DefaultParallel}
	org := Selection{OrgAccounts: true, AccountRole: DefaultAccountRole, Parallel: DefaultParallel}
	tests := []struct {
		name      string
		sel       Selection
		profile   string
		wantField provision.Field
	}{
		{"profiles alone", profiles, "", ""},
		{"profiles and profile", profiles, "admin", FieldProfiles},
		{"organization with profile", org, "admin", ""},
		{"invalid selection", Selection{Profiles: []string{"prod"}, AccountRole: DefaultAccountRole, Parallel: 0}, "", FieldParallel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.sel.Check(tt.profile)
			var input *provision.InputError
			switch {
			case tt.wantField == "" && err != nil:
				t.Errorf("Check() = %v, want nil", err)
			case tt.wantField != "" && (!errors.As(err, &input) || input.Field != tt.wantField):
				t.Errorf("Check() = %v, want an input error naming %s", err, tt.wantField)
			}
		})
	}
	err := profiles.Check("admin")
	var input *provision.InputError
	if errors.As(err, &input) && (len(input.With) != 1 || input.With[0] != provision.FieldProfile) {
		t.Errorf("Check() = %+v, want profiles named with profile", input)
	}
}
