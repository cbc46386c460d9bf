package fleet

import (
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// Defaults of the multi-account flags.
const (
	// DefaultAccountRole is the role AWS Organizations creates in every
	// account it creates, trusting the management account.
	DefaultAccountRole = provision.DefaultAccountRole
	// DefaultParallel is how many accounts are read or changed at once.
	// IAM's request quotas are per account, so the bound is about the
	// caller's machine and the STS and Organizations calls it makes.
	DefaultParallel = 32
	// MaxParallel bounds --parallel: more gains nothing but open
	// connections and throttled STS calls.
	MaxParallel = 256
)

// SessionName is the role session name of every role Targets assumes, so
// that CloudTrail shows which tool acted in a member account.
const SessionName = "circleci-ecr-oidc"

// Selection is how a multi-account run chooses its accounts: the accounts
// of the named profiles, or those of the organization (or of some of its OUs),
// narrowed by Accounts and ExcludeAccounts.
type Selection struct {
	// Profiles are shared-config profile names (--profiles), in the order
	// given; static keys, SSO, and role_arn with source_profile all work.
	Profiles []string
	// OrgAccounts selects the organization's active accounts
	// (--org-accounts), listed with the caller's credentials.
	OrgAccounts bool
	// OUs narrow OrgAccounts to the accounts under these organizational
	// units or roots, recursively (--ou, repeatable); empty keeps all.
	OUs []string
	// AccountRole is the role assumed in each account of the organization
	// but the caller's own (--account-role).
	AccountRole string
	// Accounts keeps only these accounts of the organization (--accounts);
	// empty keeps all.
	Accounts []string
	// ExcludeAccounts drops these accounts (--exclude-accounts).
	ExcludeAccounts []string
	// Parallel is how many accounts are worked on at once (--parallel).
	Parallel int
}

// IsSet reports whether the selection asks for a multi-account run at all:
// a front end runs in one account when it does not.
func (s Selection) IsSet() bool {
	return len(s.Profiles) > 0 || s.OrgAccounts || len(s.OUs) > 0 || len(s.Accounts) > 0 || len(s.ExcludeAccounts) > 0
}

// The fields of a multi-account run.
const (
	FieldProfiles        provision.Field = "profiles"
	FieldOrgAccounts     provision.Field = "org-accounts"
	FieldAccounts        provision.Field = "accounts"
	FieldExcludeAccounts provision.Field = "exclude-accounts"
	FieldParallel        provision.Field = "parallel"
)

// Validate checks the selection before any AWS call and returns it
// normalized: names and IDs trimmed, repeats dropped (the first kept). A bad
// value is a *provision.InputError naming the field and the rule: exactly
// one of --profiles and --org-accounts; --ou, --accounts and
// --exclude-accounts only with --org-accounts; profile names the AWS CLI can
// read; 12-digit account IDs, none both kept and excluded; OU or root IDs;
// an IAM role name for --account-role; --parallel from 1 to MaxParallel.
func (s Selection) Validate() (Selection, error) {
	if err := s.checkSource(); err != nil {
		return Selection{}, err
	}
	var err error
	if s.Profiles, err = normalize(FieldProfiles, s.Profiles, checkProfileName); err != nil {
		return Selection{}, err
	}
	if s.Accounts, err = normalize(FieldAccounts, s.Accounts, checkAccountID(FieldAccounts)); err != nil {
		return Selection{}, err
	}
	if s.ExcludeAccounts, err = normalize(FieldExcludeAccounts, s.ExcludeAccounts, checkAccountID(FieldExcludeAccounts)); err != nil {
		return Selection{}, err
	}
	for _, id := range s.Accounts {
		if slices.Contains(s.ExcludeAccounts, id) {
			return Selection{}, &provision.InputError{Field: FieldExcludeAccounts, Value: id, Rule: "is also named by --accounts: keep the account or exclude it, not both"}
		}
	}
	if s.OUs, err = NormalizeOUs(s.OUs); err != nil {
		return Selection{}, err
	}
	s.AccountRole = strings.TrimSpace(s.AccountRole)
	if err := provision.ValidateRoleName(provision.FieldAccountRole, s.AccountRole); err != nil {
		return Selection{}, err
	}
	if s.Parallel < 1 || s.Parallel > MaxParallel {
		return Selection{}, &provision.InputError{Field: FieldParallel, Value: strconv.Itoa(s.Parallel), Rule: "must be from 1 to " + strconv.Itoa(MaxParallel)}
	}
	return s, nil
}

// checkSource checks that the accounts come from exactly one source, and
// that the flags narrowing the organization's accounts come with it.
func (s Selection) checkSource() error {
	switch {
	case len(s.Profiles) > 0 && s.OrgAccounts:
		return &provision.InputError{Field: FieldProfiles, With: []provision.Field{FieldOrgAccounts}, Join: "and", Rule: "cannot be combined: choose the accounts by profiles or from the organization"}
	case len(s.Profiles) == 0 && !s.OrgAccounts:
		return &provision.InputError{Field: FieldProfiles, With: []provision.Field{FieldOrgAccounts}, Join: "or", Rule: "is required to choose the accounts of a multi-account run"}
	}
	if s.OrgAccounts {
		return nil
	}
	for _, f := range []struct {
		field provision.Field
		set   bool
	}{{provision.FieldOU, len(s.OUs) > 0}, {FieldAccounts, len(s.Accounts) > 0}, {FieldExcludeAccounts, len(s.ExcludeAccounts) > 0}} {
		if f.set {
			return &provision.InputError{Field: f.field, Rule: "needs --org-accounts: it narrows the organization's accounts (with --profiles, name only the profiles to use)"}
		}
	}
	return nil
}

// normalize trims each value, rejects an empty one, checks the others and
// drops repeats, keeping the first of each.
func normalize(field provision.Field, values []string, check func(string) error) ([]string, error) {
	var out []string
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			return nil, &provision.InputError{Field: field, Rule: "has an empty entry (a stray comma?)"}
		}
		if err := check(v); err != nil {
			return nil, err
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// NormalizeOUs checks --ou values as every command takes them: each
// trimmed, none empty, each an organizational unit or root ID; repeats are
// dropped (the first kept). A bad value is a *provision.InputError of
// provision.FieldOU.
func NormalizeOUs(ous []string) ([]string, error) {
	return normalize(provision.FieldOU, ous, func(id string) error { return provision.ValidateOU(provision.FieldOU, id) })
}

func checkAccountID(field provision.Field) func(string) error {
	return func(id string) error { return provision.ValidateAccountID(field, id) }
}

// profileNameForbidden are the characters the AWS CLI cannot read back in
// a profile's section header, [profile NAME]: it splits the header into
// words as a shell does (botocore's build_profile_map), so quotes and
// backslashes are consumed and a space makes a third word; "]" ends the
// header, and "#" and ";" start a comment for the SDKs.
const profileNameForbidden = `[]#;"'\`

func checkProfileName(name string) error {
	bad := strings.ContainsAny(name, profileNameForbidden) || strings.ContainsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	})
	if bad {
		return &provision.InputError{Field: FieldProfiles, Value: name, Rule: `a profile name is a word without spaces, quotes, brackets, backslashes, "#" or ";", as the AWS CLI reads it from [profile NAME]`}
	}
	return nil
}
