package provision

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// Ownership tags put on what the tool creates. A role without ManagedTag is
// not ours and is never changed without --adopt.
const (
	ManagedTag = "circleci-ecr-oidc:managed"
	OrgIDTag   = "circleci-ecr-oidc:org-id"
)

// PolicyName is the name of the inline permissions policy on the role.
const PolicyName = "circleci-ecr-oidc-pull"

// Documented default quotas, used when GetAccountSummary is not allowed.
const (
	DefaultTrustPolicyQuota      = 2048
	DefaultRolePolicyQuota       = 10240
	DefaultManagedPolicyQuota    = 6144
	DefaultAttachedPoliciesQuota = 10
	maxNamesPerDescribeCall      = 100
	// maxConcurrentDescribes bounds concurrent reads of one kind, so that
	// 1,000 repository names (10 batches) take one round trip without a
	// burst that invites throttling.
	maxConcurrentDescribes = 10
	// maxConcurrentPolicyReads bounds the concurrent reads of managed
	// policies (a document and the tags of each), across every role of a
	// sharded plan: one role's 10 policies take one round trip.
	maxConcurrentPolicyReads     = 24
	quotaTrustPolicySize         = "AssumeRolePolicySizeQuota"
	quotaRolePolicyAggregate     = "RolePolicySizeQuota"
	quotaManagedPolicySize       = "PolicySizeQuota"
	quotaAttachedPoliciesPerRole = "AttachedPoliciesPerRoleQuota"
)

// Observed is the state of the account as read before planning.
type Observed struct {
	Account   string
	Partition string
	// CallerARN is the identity the tool acts as.
	CallerARN string
	// Provider is nil when no provider exists for the organization's issuer.
	Provider *ObservedProvider
	// Role is nil when no role of that name exists.
	Role *ObservedRole
	// Repositories has one entry for each --repo, in order.
	Repositories []RepositoryStatus
	// TrustPolicyQuota and RolePolicyQuota are the account's limits in
	// characters, ManagedPolicyQuota that of one managed policy, and
	// AttachedPoliciesQuota how many managed policies a role may have.
	// Zero means the documented default.
	TrustPolicyQuota, RolePolicyQuota         int
	ManagedPolicyQuota, AttachedPoliciesQuota int
	// ManagedPolicies are the customer managed policies under the role's
	// own path (ManagedPolicyPath), sorted by name.
	ManagedPolicies []ObservedManagedPolicy
	// managedByPath lists, by path, every managed policy under
	// managedPolicyPathRoot, read or not: PlanShards reads the other
	// shard roles' from it.
	managedByPath map[string][]ObservedManagedPolicy
	// QuotaSource says where the quotas come from ("GetAccountSummary" or "documented defaults").
	QuotaSource string
	// RegistryPolicies has the repository policies of the named
	// repositories in other accounts, read with Clients.Registry; nil when
	// it is not set.
	RegistryPolicies []ObservedRepositoryPolicy
}

// ObservedProvider is an existing IAM OIDC provider.
type ObservedProvider struct {
	ARN       string
	ClientIDs []string
	Tags      map[string]string
}

// ObservedRole is an existing IAM role and what is attached to it.
type ObservedRole struct {
	ARN  string
	Name string
	// TrustPolicy is the decoded trust policy document.
	TrustPolicy string
	Tags        map[string]string
	// InlinePolicies names every inline policy, ours included.
	InlinePolicies []string
	// AttachedPolicies lists the ARNs of attached managed policies.
	AttachedPolicies []string
	// PermissionsPolicy is our inline policy's decoded document, "" if absent.
	PermissionsPolicy string
	// OtherInlineSize is the size, as IAM counts it, of the role's other
	// inline policies: they share RolePolicySizeQuota with ours.
	OtherInlineSize int
}

// OtherPolicies lists the role's policies besides ours (our inline policy
// and the managed policies under the role's own path): ("inline NAME",
// "attached ARN"): they also grant permissions, and the tool reports them
// but never removes them.
func (r *ObservedRole) OtherPolicies() []string {
	var out []string
	for _, name := range r.InlinePolicies {
		if name != PolicyName {
			out = append(out, "inline "+name)
		}
	}
	for _, a := range r.AttachedPolicies {
		if !isOwnManagedPolicy(a, r.Name) {
			out = append(out, "attached "+a)
		}
	}
	return out
}

// RepositoryState says what the look-up found for one --repo.
type RepositoryState string

// Repository look-up outcomes.
const (
	RepoFound        RepositoryState = "found"
	RepoMissing      RepositoryState = "missing"
	RepoPattern      RepositoryState = "pattern (not looked up)"
	RepoOtherAccount RepositoryState = "other account (not looked up)"
)

// RepositoryStatus is one repository, resolved to its ARN.
type RepositoryStatus struct {
	Input string          `json:"input"`
	ARN   string          `json:"arn"`
	State RepositoryState `json:"state"`
	// URI is the registry URI of a found repository.
	URI string `json:"uri,omitempty"`
}

// Observe reads the account's state for spec. It only reads, and keeps the
// number of sequential round trips low: the caller identity, the provider
// (found by listing the account's providers, whose ARNs need no account ID
// to match), the role with its policies, the quotas and the repositories
// named without an ARN are all read at once. Only repository ARNs in the
// caller's own account, and registry policies, wait for the identity.
func Observe(ctx context.Context, c Clients, spec Spec) (*Observed, error) {
	obs := &Observed{}
	var byName, byARN map[int]string
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		byARN, err = obs.observeCallerThenAccount(gctx, c, spec)
		return err
	})
	var provider providerRead
	g.Go(func() error {
		var err error
		provider, err = readOrFindProvider(gctx, c, spec.Region, spec.OrgID)
		return err
	})
	g.Go(func() error {
		var err error
		byName, err = lookupRepositories(gctx, c, spec, func(r Repository) bool { return !r.Pattern && r.Account == "" })
		return err
	})
	g.Go(func() error {
		r, err := observeRole(gctx, c.IAM, spec.RoleName)
		obs.Role = r
		return err
	})
	g.Go(func() error {
		q := observeQuotas(gctx, c.IAM)
		obs.TrustPolicyQuota, obs.RolePolicyQuota, obs.QuotaSource = q.TrustPolicy, q.RolePolicy, q.Source
		obs.ManagedPolicyQuota, obs.AttachedPoliciesQuota = q.ManagedPolicy, q.AttachedPolicies
		return nil
	})
	g.Go(func() error {
		var err error
		if obs.managedByPath, err = listManagedPolicies(gctx, c.IAM, managedPolicyPathRoot); err != nil {
			return err
		}
		obs.ManagedPolicies = obs.managedByPath[ManagedPolicyPath(spec.RoleName)]
		return readManagedPolicies(gctx, c.IAM, obs.ManagedPolicies)
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var err error
	if obs.Provider, err = provider.confirm(ctx, c.IAM, obs.Partition, obs.Account, spec.OrgID); err != nil {
		return nil, err
	}
	maps.Copy(byName, byARN)
	obs.Repositories = repositoryStatuses(spec, obs.Partition, obs.Account, byName)
	obs.resolveRegistryStates()
	return obs, nil
}

// observeCallerThenAccount reads who the caller is, checks its partition
// (which stops the reads as soon as it is known: the front ends check the
// region's before any call, the caller's is the one that counts), then
// reads what needs the caller's account: the repositories named by an ARN
// in it, and with registry clients the policies of those in other accounts.
func (obs *Observed) observeCallerThenAccount(ctx context.Context, c Clients, spec Spec) (byARN map[int]string, err error) {
	if obs.Account, obs.Partition, obs.CallerARN, err = observeCaller(ctx, c.STS); err != nil {
		return nil, err
	}
	if err := spec.CheckPartition(obs.Partition, "caller "+obs.CallerARN); err != nil {
		return nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		byARN, err = lookupRepositories(gctx, c, spec, func(r Repository) bool { return !r.Pattern && r.Account == obs.Account })
		return err
	})
	if c.Registry != nil {
		g.Go(func() error {
			pols, err := observeRegistryPolicies(gctx, c.Registry, spec, obs.Partition, obs.Account)
			obs.RegistryPolicies = pols
			return err
		})
	}
	return byARN, g.Wait()
}

// guessProviderARN is the organization's provider ARN when it is known up
// front, because the credentials name the account and the region's
// partition is known: then the provider is read directly, in the first
// round trip, rather than found by listing the providers and read in the
// next. It is "" otherwise.
func guessProviderARN(c Clients, region, orgID string) string {
	if partition := RegionPartition(region); c.Account != "" && partition != "" {
		return policy.ProviderARN(partition, c.Account, orgID)
	}
	return ""
}

// providerRead is the organization's provider as read before the
// caller's account is known: at the guessed ARN, or found by listing.
type providerRead struct {
	guessed  string // "" when found by listing
	provider *ObservedProvider
	// err is the error of reading at guessed, which counts only once the
	// guess is confirmed: in another account than the caller's, IAM
	// refuses the read (AccessDenied) rather than saying it is missing.
	err error
}

// readOrFindProvider reads the provider at the ARN guessProviderARN
// guesses, or when nothing can be guessed finds the organization's
// provider among the account's.
func readOrFindProvider(ctx context.Context, c Clients, region, orgID string) (providerRead, error) {
	if guessed := guessProviderARN(c, region, orgID); guessed != "" {
		p, err := observeProvider(ctx, c.IAM, guessed)
		return providerRead{guessed: guessed, provider: p, err: err}, nil
	}
	p, err := findProvider(ctx, c.IAM, orgID)
	return providerRead{provider: p}, err
}

// confirm returns the provider read once the caller's partition and
// account are known. When the credentials named another account than the
// caller is in, the guess was wrong, and whatever reading there gave: it
// finds the provider as without a guess.
func (r providerRead) confirm(ctx context.Context, api IAMAPI, partition, account, orgID string) (*ObservedProvider, error) {
	if r.guessed == "" || r.guessed == policy.ProviderARN(partition, account, orgID) {
		return r.provider, r.err
	}
	return findProvider(ctx, api, orgID)
}

// findProvider finds the organization's provider among the account's OIDC
// providers and reads it; nil when there is none. Listing needs no account
// ID, so it runs alongside the caller-identity call.
func findProvider(ctx context.Context, api IAMAPI, orgID string) (*ObservedProvider, error) {
	out, err := api.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		return nil, fmt.Errorf("list OIDC providers: %w", err)
	}
	suffix := ":oidc-provider/" + policy.ProviderPath(orgID)
	for _, p := range out.OpenIDConnectProviderList {
		if arn := aws.ToString(p.Arn); strings.HasSuffix(arn, suffix) {
			return observeProvider(ctx, api, arn)
		}
	}
	return nil, nil
}

func observeCaller(ctx context.Context, api STSAPI) (account, partition, callerARN string, err error) {
	id, err := api.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", "", fmt.Errorf("read caller identity: %w", err)
	}
	caller, err := arn.Parse(aws.ToString(id.Arn))
	if err != nil {
		return "", "", "", fmt.Errorf("read caller identity: unexpected ARN %q: %w", aws.ToString(id.Arn), err)
	}
	return aws.ToString(id.Account), caller.Partition, caller.String(), nil
}

func observeProvider(ctx context.Context, api IAMAPI, providerARN string) (*ObservedProvider, error) {
	out, err := api.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read OIDC provider %s: %w", providerARN, err)
	}
	p := &ObservedProvider{ARN: providerARN, ClientIDs: out.ClientIDList, Tags: map[string]string{}}
	for _, t := range out.Tags {
		p.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return p, nil
}

// observeRole reads the role and, concurrently, its inline policy names,
// attached policies and our inline policy's document. The three policy reads
// are issued together with GetRole so that a rerun costs one round trip.
func observeRole(ctx context.Context, api IAMAPI, name string) (*ObservedRole, error) {
	var (
		role     *ObservedRole
		inline   []string
		attached []string
		ours     string
	)
	// Each read sets its own variable; Wait orders them before the reads
	// below.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { role, err = readRole(gctx, api, name); return err })
	g.Go(func() (err error) { inline, err = listInlinePolicies(gctx, api, name); return err })
	g.Go(func() (err error) { attached, err = listAttachedPolicies(gctx, api, name); return err })
	g.Go(func() (err error) { ours, err = readOwnInlinePolicy(gctx, api, name); return err })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if role == nil {
		return nil, nil
	}
	role.InlinePolicies = inline
	role.AttachedPolicies = attached
	role.PermissionsPolicy = ours
	size, err := otherInlineSize(ctx, api, name, inline)
	if err != nil {
		return nil, err
	}
	role.OtherInlineSize = size
	return role, nil
}

// readRole reads the role's ARN, trust policy and tags; nil when there is
// no such role.
func readRole(ctx context.Context, api IAMAPI, name string) (*ObservedRole, error) {
	out, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read role %s: %w", name, err)
	}
	trust, err := policy.Decode(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		return nil, fmt.Errorf("read role %s trust policy: %w", name, err)
	}
	r := &ObservedRole{ARN: aws.ToString(out.Role.Arn), Name: aws.ToString(out.Role.RoleName), TrustPolicy: trust, Tags: map[string]string{}}
	for _, t := range out.Role.Tags {
		r.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return r, nil
}

// listInlinePolicies lists the names of the role's inline policies; none
// when there is no such role.
func listInlinePolicies(ctx context.Context, api IAMAPI, name string) ([]string, error) {
	pages := iam.NewListRolePoliciesPaginator(api, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	return collectRolePages(ctx, pages, "list inline policies of role "+name, func(page *iam.ListRolePoliciesOutput) []string {
		return page.PolicyNames
	})
}

// listAttachedPolicies lists the ARNs of the managed policies attached to
// the role; none when there is no such role.
func listAttachedPolicies(ctx context.Context, api IAMAPI, name string) ([]string, error) {
	pages := iam.NewListAttachedRolePoliciesPaginator(api, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	return collectRolePages(ctx, pages, "list attached policies of role "+name, func(page *iam.ListAttachedRolePoliciesOutput) []string {
		arns := make([]string, 0, len(page.AttachedPolicies))
		for _, ap := range page.AttachedPolicies {
			arns = append(arns, aws.ToString(ap.PolicyArn))
		}
		return arns
	})
}

// iamPages is the shape of the IAM client's paginators.
type iamPages[O any] interface {
	HasMorePages() bool
	NextPage(ctx context.Context, optFns ...func(*iam.Options)) (O, error)
}

// collectRolePages collects the items of every page of a listing of the
// role's; none when there is no such role. what names the listing in an
// error.
func collectRolePages[O any](ctx context.Context, pages iamPages[O], what string, items func(O) []string) ([]string, error) {
	var out []string
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if isNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, items(page)...)
	}
	return out, nil
}

// readOwnInlinePolicy reads the document of the role's inline policy
// PolicyName; "" when there is none.
func readOwnInlinePolicy(ctx context.Context, api IAMAPI, name string) (string, error) {
	out, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(PolicyName)})
	if isNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read inline policy %s of role %s: %w", PolicyName, name, err)
	}
	doc, err := policy.Decode(aws.ToString(out.PolicyDocument))
	if err != nil {
		return "", fmt.Errorf("read inline policy %s of role %s: %w", PolicyName, name, err)
	}
	return doc, nil
}

// otherInlineSize reads the role's inline policies other than ours, all at
// once, and adds up their sizes. A role with none, the usual case, costs
// no request.
func otherInlineSize(ctx context.Context, api IAMAPI, role string, names []string) (int, error) {
	var (
		mu    sync.Mutex
		total int
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxConcurrentDescribes)
	for _, n := range names {
		if n == PolicyName {
			continue
		}
		g.Go(func() error {
			out, err := api.GetRolePolicy(gctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(n)})
			if isNotFound(err) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read inline policy %s of role %s, which shares the inline quota: %w", n, role, err)
			}
			doc, err := policy.Decode(aws.ToString(out.PolicyDocument))
			if err != nil {
				return fmt.Errorf("read inline policy %s of role %s: %w", n, role, err)
			}
			mu.Lock()
			total += policy.Size(doc)
			mu.Unlock()
			return nil
		})
	}
	err := g.Wait()
	return total, err
}

// quotas are the account's IAM limits the documents must fit.
type quotas struct {
	TrustPolicy, RolePolicy, ManagedPolicy, AttachedPolicies int
	// Source is "GetAccountSummary" or "documented defaults".
	Source string
}

// observeQuotas reads the account's policy quotas. An identity without
// iam:GetAccountSummary falls back to the documented defaults rather than
// failing: the quota guard then errs on the safe (smaller) side.
func observeQuotas(ctx context.Context, api IAMAPI) quotas {
	q := quotas{
		TrustPolicy: DefaultTrustPolicyQuota, RolePolicy: DefaultRolePolicyQuota,
		ManagedPolicy: DefaultManagedPolicyQuota, AttachedPolicies: DefaultAttachedPoliciesQuota,
		Source: "documented defaults",
	}
	out, err := api.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	if err != nil {
		return q
	}
	for key, field := range map[string]*int{
		quotaTrustPolicySize: &q.TrustPolicy, quotaRolePolicyAggregate: &q.RolePolicy,
		quotaManagedPolicySize: &q.ManagedPolicy, quotaAttachedPoliciesPerRole: &q.AttachedPolicies,
	} {
		if v, ok := out.SummaryMap[key]; ok && v > 0 {
			*field, q.Source = int(v), "GetAccountSummary"
		}
	}
	return q
}

// lookupRepositories looks up, in the caller's account, the repositories
// of spec that want selects, batched per region, and returns the URIs of
// those that exist by their index in spec.Repositories. ECR fails a whole
// batch when one name is missing, so a failed batch is resolved against
// the region's full repository listing, read at most once per region: a
// page per 1,000 repositories instead of a call per name.
func lookupRepositories(ctx context.Context, c Clients, spec Spec, want func(Repository) bool) (map[int]string, error) {
	byRegion := map[string][]int{}
	for i, input := range spec.Repositories {
		repo, err := ParseRepository(input)
		if err != nil {
			return nil, err
		}
		if want(repo) {
			region := cmp.Or(repo.Region, spec.Region)
			byRegion[region] = append(byRegion[region], i)
		}
	}
	var mu sync.Mutex
	found := map[int]string{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxConcurrentDescribes)
	for _, region := range slices.Sorted(maps.Keys(byRegion)) {
		api := c.ECR(region)
		listing := sync.OnceValues(func() (map[string]string, error) { return listRepositories(gctx, api, region) })
		for batch := range slices.Chunk(byRegion[region], maxNamesPerDescribeCall) {
			g.Go(func() error {
				uris, err := describe(gctx, api, spec.Repositories, batch, listing)
				mu.Lock()
				defer mu.Unlock()
				maps.Copy(found, uris)
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return found, nil
}

// repositoryStatuses resolves every --repo to its ARN and what the look-up
// found (found holds the URIs of existing repositories by index).
func repositoryStatuses(spec Spec, partition, account string, found map[int]string) []RepositoryStatus {
	statuses := make([]RepositoryStatus, len(spec.Repositories))
	for i, input := range spec.Repositories {
		repo, _ := ParseRepository(input) // validated by Spec.Validate
		statuses[i] = RepositoryStatus{Input: input, ARN: repo.ARN(partition, account, spec.Region)}
		switch uri, ok := found[i]; {
		case repo.Pattern:
			statuses[i].State = RepoPattern
		case !repo.Local(account):
			statuses[i].State = RepoOtherAccount
		case ok:
			statuses[i].State, statuses[i].URI = RepoFound, uri
		default:
			statuses[i].State = RepoMissing
		}
	}
	return statuses
}

// describe looks up the repositories at the given indexes and returns the
// URIs of those that exist. When some are missing, ECR names only one, so
// the batch is resolved from listing (the region's every repository).
func describe(ctx context.Context, api ECRAPI, inputs []string, batch []int, listing func() (map[string]string, error)) (map[int]string, error) {
	names := make([]string, len(batch))
	byName := map[string]int{}
	for j, i := range batch {
		repo, _ := ParseRepository(inputs[i])
		names[j] = repo.Name
		byName[repo.Name] = i
	}
	found := map[int]string{}
	out, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: names})
	if err == nil {
		for _, r := range out.Repositories {
			if i, ok := byName[aws.ToString(r.RepositoryName)]; ok {
				found[i] = aws.ToString(r.RepositoryUri)
			}
		}
		return found, nil
	}
	if errorCode(err) != "RepositoryNotFoundException" {
		return nil, fmt.Errorf("look up ECR repositories %v: %w", names, err)
	}
	if len(batch) == 1 {
		return found, nil
	}
	all, err := listing()
	if err != nil {
		return nil, err
	}
	for name, i := range byName {
		if uri, ok := all[name]; ok {
			found[i] = uri
		}
	}
	return found, nil
}

// listRepositories returns the URI of every repository in the region's
// registry, by name.
func listRepositories(ctx context.Context, api ECRAPI, region string) (map[string]string, error) {
	all := map[string]string{}
	pages := ecr.NewDescribeRepositoriesPaginator(api, &ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(1000)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the ECR repositories in %s: %w", region, err)
		}
		for _, r := range page.Repositories {
			all[aws.ToString(r.RepositoryName)] = aws.ToString(r.RepositoryUri)
		}
	}
	return all, nil
}

// ErrNotOwned is returned (wrapped) when the named role exists but was not
// created by this tool and --adopt was not given.
var ErrNotOwned = errors.New("role is not managed by circleci-ecr-oidc")

// Identity is who the credentials act as.
type Identity struct {
	// Account is the 12-digit account ID everything will be created in.
	Account string
	// Partition is the ARN partition, such as aws or aws-cn.
	Partition string
	// ARN is the caller's ARN (user, assumed role, ...).
	ARN string
}

// CallerIdentity reads who the credentials act as (the wizard shows it
// before it asks anything).
func CallerIdentity(ctx context.Context, api STSAPI) (Identity, error) {
	account, partition, caller, err := observeCaller(ctx, api)
	return Identity{Account: account, Partition: partition, ARN: caller}, err
}

// ListRepositoryNames returns the name of every repository in the region's
// registry, sorted.
func ListRepositoryNames(ctx context.Context, api ECRAPI, region string) ([]string, error) {
	all, err := listRepositories(ctx, api, region)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(all)), nil
}

// ObserveProvider reads only the caller's identity and the organization's
// OIDC provider in the account, nil when it has none: what the StackSet
// export needs to know of each account. When the credentials name the
// account (Clients.Account) the provider is read by its ARN alongside the
// identity, one round trip; else it is found among the account's
// providers, also alongside. A wrong guess costs the listing after all.
func ObserveProvider(ctx context.Context, c Clients, region, orgID string) (Identity, *ObservedProvider, error) {
	var (
		id       Identity
		provider providerRead
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		id, err = CallerIdentity(gctx, c.STS)
		return err
	})
	g.Go(func() error {
		var err error
		provider, err = readOrFindProvider(gctx, c, region, orgID)
		return err
	})
	if err := g.Wait(); err != nil {
		return Identity{}, nil, err
	}
	p, err := provider.confirm(ctx, c.IAM, id.Partition, id.Account, orgID)
	if err != nil {
		return Identity{}, nil, err
	}
	return id, p, nil
}
