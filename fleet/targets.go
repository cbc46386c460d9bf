package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// OrganizationsAPI lists the AWS Organizations calls Targets makes, with
// the SDK's signatures. *organizations.Client satisfies it.
type OrganizationsAPI interface {
	ListAccounts(ctx context.Context, in *organizations.ListAccountsInput, optFns ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error)
	ListAccountsForParent(ctx context.Context, in *organizations.ListAccountsForParentInput, optFns ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error)
	ListChildren(ctx context.Context, in *organizations.ListChildrenInput, optFns ...func(*organizations.Options)) (*organizations.ListChildrenOutput, error)
}

// STSAPI lists the STS calls Targets makes: the caller's identity, and the
// AssumeRole calls of the credentials it builds. *sts.Client satisfies it.
type STSAPI interface {
	provision.STSAPI
	stscreds.AssumeRoleAPIClient
}

// Target is one account of a multi-account run.
type Target struct {
	// AccountID is the account's 12-digit ID. It is "" for a profile, whose
	// account is only known once its credentials are used (Plan.Account).
	AccountID string
	// Name is the account's name in the organization, or the profile name.
	Name string
	// Profile is the shared-config profile the target comes from, if any.
	Profile string
	// AssumedRole is the ARN of the role assumed in the account; "" for a
	// profile and for the caller's own account.
	AssumedRole string
	// Caller is true for the caller's own account in an organization run,
	// which is reached with the caller's credentials.
	Caller bool
	// Config reaches the account: the profile's configuration, or the
	// caller's with the assumed role's credentials. It is unset when Err is.
	Config aws.Config
	// Err is why the account cannot be reached at all (its profile did not
	// load); Run reports it as the target's outcome without calling out.
	Err error
}

// Clients builds the engine's clients for the target. When the account is
// known the clients name it, so that Observe reads the provider by its ARN
// in its first round trip.
func (t Target) Clients() provision.Clients {
	c := provision.NewClients(t.Config)
	c.Account = t.AccountID
	return c
}

// withDefaultRegion is the target with region when its configuration has
// none ("" keeps it as it is), on a copy of the configuration.
func (t Target) withDefaultRegion(region string) Target {
	if t.Config.Region == "" && region != "" {
		t.Config = t.Config.Copy()
		t.Config.Region = region
	}
	return t
}

// Label names the target for people: "123456789012 (name)", the profile
// name, or the account ID alone.
func (t Target) Label() string {
	switch {
	case t.AccountID == "":
		return t.Name
	case t.Name == "" || t.Name == t.AccountID:
		return t.AccountID
	}
	return t.AccountID + " (" + t.Name + ")"
}

// LoadProfile loads the AWS configuration of a shared-config profile the way
// the front end loads its own (region, retries, logging). Its error is that
// profile's target's failure.
type LoadProfile func(ctx context.Context, profile string) (aws.Config, error)

// Targets returns the accounts sel chooses, after validating it: one target
// per profile, in the order given, or the organization's active accounts
// (under sel.OUs, when set) narrowed by sel.Accounts and sel.ExcludeAccounts,
// by account ID. A profile that fails to load is a target with Err set. In
// an organization run, the caller's own account is reached with base's
// credentials and every other with an AssumeRole provider for
// sel.AccountRole built on base (session name SessionName, cached); load is
// then not called and may be nil. An error means there are no targets: sel
// is invalid (a *provision.InputError, before any call), the organization
// could not be listed, or sel names an account that is not among its
// active accounts (a *provision.InputError too).
func Targets(ctx context.Context, base aws.Config, load LoadProfile, sel Selection) ([]Target, error) {
	sel, err := sel.Validate()
	if err != nil {
		return nil, err
	}
	if len(sel.Profiles) > 0 {
		return profileTargets(ctx, load, sel.Profiles), nil
	}
	return orgTargets(ctx, base, organizations.NewFromConfig(base), sts.NewFromConfig(base), sel)
}

// profileTargets loads each profile; one that fails is its target's error.
func profileTargets(ctx context.Context, load LoadProfile, profiles []string) []Target {
	targets := make([]Target, 0, len(profiles))
	for _, name := range profiles {
		t := Target{Name: name, Profile: name}
		cfg, err := load(ctx, name)
		if err != nil {
			t.Err = fmt.Errorf("load profile %s: %w", name, err)
		} else {
			t.Config = cfg
		}
		targets = append(targets, t)
	}
	return targets
}

// orgTargets lists the organization's accounts while it reads the caller's
// identity, keeps the selected ones and builds their configurations.
func orgTargets(ctx context.Context, base aws.Config, orgAPI OrganizationsAPI, stsAPI STSAPI, sel Selection) ([]Target, error) {
	var (
		callerAccount, partition string
		accounts                 []orgtypes.Account
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		id, err := provision.CallerIdentity(gctx, stsAPI)
		callerAccount, partition = id.Account, id.Partition
		return err
	})
	g.Go(func() error {
		var err error
		if len(sel.OUs) == 0 {
			accounts, err = listAccounts(gctx, orgAPI)
		} else {
			accounts, err = accountsUnderAll(gctx, orgAPI, sel.OUs)
		}
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	accounts, err := selectAccounts(activeOnly(accounts), sel)
	if err != nil {
		return nil, err
	}
	roles := roleCredentials{base: base, sts: stsAPI, partition: partition, role: sel.AccountRole}
	targets := make([]Target, 0, len(accounts))
	for _, a := range accounts {
		t := Target{AccountID: aws.ToString(a.Id), Name: aws.ToString(a.Name), Config: base, Caller: aws.ToString(a.Id) == callerAccount}
		if !t.Caller {
			t.AssumedRole, t.Config = roles.assume(t.AccountID)
		}
		targets = append(targets, t)
	}
	return targets, nil
}

// roleCredentials builds the configuration of each account reached through
// the account role. The STS client is shared: it is safe for concurrent use.
type roleCredentials struct {
	base      aws.Config
	sts       stscreds.AssumeRoleAPIClient
	partition string
	role      string
}

// assume returns the role's ARN in account and a copy of the base
// configuration whose credentials come from assuming it. The provider is
// wrapped in a cache, so the role is assumed once per account and again
// only when its credentials expire.
func (r roleCredentials) assume(account string) (string, aws.Config) {
	roleARN := fmt.Sprintf("arn:%s:iam::%s:role/%s", r.partition, account, r.role)
	cfg := r.base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(r.sts, roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = SessionName
	}))
	return roleARN, cfg
}

// activeOnly keeps the accounts whose state is ACTIVE: suspended, closed
// and not yet activated accounts cannot be changed.
func activeOnly(accounts []orgtypes.Account) []orgtypes.Account {
	return slices.DeleteFunc(accounts, func(a orgtypes.Account) bool { return a.State != orgtypes.AccountStateActive })
}

// selectAccounts applies --accounts and --exclude-accounts to the listed
// accounts and sorts them by ID. Naming an account that was not listed is
// an error in both flags: a mistyped exclusion would otherwise act in the
// very account meant to be left alone.
func selectAccounts(accounts []orgtypes.Account, sel Selection) ([]orgtypes.Account, error) {
	listed := func(id string) bool {
		return slices.ContainsFunc(accounts, func(a orgtypes.Account) bool { return aws.ToString(a.Id) == id })
	}
	where := "among the organization's active accounts"
	if len(sel.OUs) > 0 {
		where = "among the active accounts under " + strings.Join(sel.OUs, ", ")
	}
	for _, f := range []struct {
		field provision.Field
		ids   []string
	}{{FieldAccounts, sel.Accounts}, {FieldExcludeAccounts, sel.ExcludeAccounts}} {
		var unknown []string
		for _, id := range f.ids {
			if !listed(id) {
				unknown = append(unknown, id)
			}
		}
		if len(unknown) > 0 {
			return nil, &provision.InputError{Field: f.field, Value: strings.Join(unknown, ","), Rule: "is not " + where}
		}
	}
	kept := slices.DeleteFunc(accounts, func(a orgtypes.Account) bool {
		id := aws.ToString(a.Id)
		return (len(sel.Accounts) > 0 && !slices.Contains(sel.Accounts, id)) || slices.Contains(sel.ExcludeAccounts, id)
	})
	slices.SortFunc(kept, func(a, b orgtypes.Account) int { return strings.Compare(aws.ToString(a.Id), aws.ToString(b.Id)) })
	return kept, nil
}

// listAccounts lists every account of the organization.
func listAccounts(ctx context.Context, api OrganizationsAPI) ([]orgtypes.Account, error) {
	var accounts []orgtypes.Account
	pages := organizations.NewListAccountsPaginator(api, &organizations.ListAccountsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the organization's accounts: %w", orgHint(err))
		}
		accounts = append(accounts, page.Accounts...)
	}
	return accounts, nil
}

// accountsUnderAll lists the accounts under every parent, each once: one
// of the parents may be below another.
func accountsUnderAll(ctx context.Context, api OrganizationsAPI, parents []string) ([]orgtypes.Account, error) {
	var accounts []orgtypes.Account
	for _, parent := range parents {
		under, err := accountsUnder(ctx, api, parent)
		if err != nil {
			return nil, err
		}
		for _, a := range under {
			if !slices.ContainsFunc(accounts, func(b orgtypes.Account) bool { return aws.ToString(b.Id) == aws.ToString(a.Id) }) {
				accounts = append(accounts, a)
			}
		}
	}
	return accounts, nil
}

// accountsUnder lists the accounts directly under parent and, depth first,
// under every OU below it. The calls are sequential: Organizations allows
// only a few requests per second.
func accountsUnder(ctx context.Context, api OrganizationsAPI, parent string) ([]orgtypes.Account, error) {
	var accounts []orgtypes.Account
	pages := organizations.NewListAccountsForParentPaginator(api, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the accounts under %s: %w", parent, orgHint(err))
		}
		accounts = append(accounts, page.Accounts...)
	}
	children := organizations.NewListChildrenPaginator(api, &organizations.ListChildrenInput{ParentId: aws.String(parent), ChildType: orgtypes.ChildTypeOrganizationalUnit})
	for children.HasMorePages() {
		page, err := children.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the organizational units under %s: %w", parent, orgHint(err))
		}
		for _, child := range page.Children {
			below, err := accountsUnder(ctx, api, aws.ToString(child.Id))
			if err != nil {
				return nil, err
			}
			accounts = append(accounts, below...)
		}
	}
	return accounts, nil
}

// orgHint says what to do about the Organizations errors a caller can fix.
func orgHint(err error) error {
	var (
		notInUse *orgtypes.AWSOrganizationsNotInUseException
		denied   *orgtypes.AccessDeniedException
		noParent *orgtypes.ParentNotFoundException
	)
	switch {
	case errors.As(err, &notInUse):
		return fmt.Errorf("%w (the caller's account is in no organization: choose the accounts with --profiles)", err)
	case errors.As(err, &denied):
		return fmt.Errorf("%w (run from the management account or a delegated administrator, with the permissions `circleci-ecr-oidc permissions --command org-accounts` lists)", err)
	case errors.As(err, &noParent):
		return fmt.Errorf("%w (check --ou: it must be an OU or root ID of the caller's organization)", err)
	}
	return err
}
