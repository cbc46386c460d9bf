package provision

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// fakeAWS is an in-memory IAM, ECR and STS that records every call, so
// planner and apply tests can assert exactly which reads and writes happen.
type fakeAWS struct {
	mu        sync.Mutex
	calls     []string
	providers map[string]*fakeProvider // by ARN
	roles     map[string]*fakeRole     // by name
	repos     map[string]bool          // by name
	policies  map[string]*fakePolicy   // customer managed policies by ARN
	// summary overrides GetAccountSummary's quotas when set.
	summary map[string]int32
	// failures makes the named operation fail with the given error.
	failures map[string]error
}

type fakeProvider struct {
	url       string
	clientIDs []string
	tags      []iamtypes.Tag
}

type fakeRole struct {
	trust    string
	tags     []iamtypes.Tag
	inline   map[string]string
	attached []string
}

type fakePolicy struct {
	name, path string
	tags       []iamtypes.Tag
	versions   []iamtypes.PolicyVersion // with Document set
	defaultID  string
	nextID     int
}

func newFakeAWS() *fakeAWS {
	return &fakeAWS{providers: map[string]*fakeProvider{}, roles: map[string]*fakeRole{}, repos: map[string]bool{}, policies: map[string]*fakePolicy{}, failures: map[string]error{}}
}

func (f *fakeAWS) clients() Clients {
	return Clients{IAM: f, STS: f, ECR: func(string) ECRAPI { return f }}
}

func (f *fakeAWS) record(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op)
	return f.failures[op]
}

// writes returns the recorded calls that change state.
func (f *fakeAWS) writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var w []string
	for _, c := range f.calls {
		if !strings.HasPrefix(c, "Get") && !strings.HasPrefix(c, "List") && !strings.HasPrefix(c, "Describe") {
			w = append(w, c)
		}
	}
	slices.Sort(w)
	return w
}

func apiError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code}
}

func (f *fakeAWS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	if err := f.record("GetCallerIdentity"); err != nil {
		return nil, err
	}
	return &sts.GetCallerIdentityOutput{Account: aws.String("123456789012"), Arn: aws.String("arn:aws:iam::123456789012:user/admin")}, nil
}

func (f *fakeAWS) DescribeRepositories(_ context.Context, in *ecr.DescribeRepositoriesInput, _ ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error) {
	if err := f.record("DescribeRepositories"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ecr.DescribeRepositoriesOutput{}
	if len(in.RepositoryNames) == 0 {
		// A listing, in one page.
		for _, n := range slices.Sorted(maps.Keys(f.repos)) {
			if f.repos[n] {
				out.Repositories = append(out.Repositories, ecrtypes.Repository{RepositoryName: aws.String(n), RepositoryUri: aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/" + n)})
			}
		}
		return out, nil
	}
	for _, n := range in.RepositoryNames {
		if !f.repos[n] {
			return nil, apiError("RepositoryNotFoundException")
		}
		out.Repositories = append(out.Repositories, ecrtypes.Repository{RepositoryName: aws.String(n), RepositoryUri: aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/" + n)})
	}
	return out, nil
}

func (f *fakeAWS) GetOpenIDConnectProvider(_ context.Context, in *iam.GetOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.GetOpenIDConnectProviderOutput, error) {
	if err := f.record("GetOpenIDConnectProvider"); err != nil {
		return nil, err
	}
	// IAM resources have no resource policies: reading one in another
	// account than the caller's is refused, whether or not it exists.
	if !strings.Contains(aws.ToString(in.OpenIDConnectProviderArn), "::123456789012:") {
		return nil, apiError("AccessDenied")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.providers[aws.ToString(in.OpenIDConnectProviderArn)]
	if !ok {
		return nil, apiError("NoSuchEntity")
	}
	return &iam.GetOpenIDConnectProviderOutput{Url: aws.String(p.url), ClientIDList: slices.Clone(p.clientIDs), Tags: p.tags}, nil
}

func (f *fakeAWS) ListOpenIDConnectProviders(context.Context, *iam.ListOpenIDConnectProvidersInput, ...func(*iam.Options)) (*iam.ListOpenIDConnectProvidersOutput, error) {
	if err := f.record("ListOpenIDConnectProviders"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &iam.ListOpenIDConnectProvidersOutput{}
	for _, arn := range slices.Sorted(maps.Keys(f.providers)) {
		out.OpenIDConnectProviderList = append(out.OpenIDConnectProviderList, iamtypes.OpenIDConnectProviderListEntry{Arn: aws.String(arn)})
	}
	return out, nil
}

func (f *fakeAWS) CreateOpenIDConnectProvider(_ context.Context, in *iam.CreateOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.CreateOpenIDConnectProviderOutput, error) {
	if err := f.record("CreateOpenIDConnectProvider"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := "arn:aws:iam::123456789012:oidc-provider/" + strings.TrimPrefix(aws.ToString(in.Url), "https://")
	if _, ok := f.providers[arn]; ok {
		return nil, apiError("EntityAlreadyExists")
	}
	f.providers[arn] = &fakeProvider{url: aws.ToString(in.Url), clientIDs: in.ClientIDList, tags: in.Tags}
	return &iam.CreateOpenIDConnectProviderOutput{OpenIDConnectProviderArn: aws.String(arn)}, nil
}

func (f *fakeAWS) AddClientIDToOpenIDConnectProvider(_ context.Context, in *iam.AddClientIDToOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.AddClientIDToOpenIDConnectProviderOutput, error) {
	if err := f.record("AddClientIDToOpenIDConnectProvider"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.providers[aws.ToString(in.OpenIDConnectProviderArn)]
	if !ok {
		return nil, apiError("NoSuchEntity")
	}
	if !slices.Contains(p.clientIDs, aws.ToString(in.ClientID)) {
		p.clientIDs = append(p.clientIDs, aws.ToString(in.ClientID))
	}
	return &iam.AddClientIDToOpenIDConnectProviderOutput{}, nil
}

func (f *fakeAWS) role(name string) (*fakeRole, error) {
	r, ok := f.roles[name]
	if !ok {
		return nil, apiError("NoSuchEntity")
	}
	return r, nil
}

func (f *fakeAWS) GetRole(_ context.Context, in *iam.GetRoleInput, _ ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	if err := f.record("GetRole"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.role(aws.ToString(in.RoleName))
	if err != nil {
		return nil, err
	}
	// IAM returns the trust policy URL-encoded.
	return &iam.GetRoleOutput{Role: &iamtypes.Role{
		RoleName: in.RoleName, Arn: aws.String("arn:aws:iam::123456789012:role/" + aws.ToString(in.RoleName)),
		AssumeRolePolicyDocument: aws.String(url.QueryEscape(r.trust)), Tags: r.tags,
	}}, nil
}

func (f *fakeAWS) CreateRole(_ context.Context, in *iam.CreateRoleInput, _ ...func(*iam.Options)) (*iam.CreateRoleOutput, error) {
	if err := f.record("CreateRole"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.RoleName)
	if _, ok := f.roles[name]; ok {
		return nil, apiError("EntityAlreadyExists")
	}
	f.roles[name] = &fakeRole{trust: aws.ToString(in.AssumeRolePolicyDocument), tags: in.Tags, inline: map[string]string{}}
	return &iam.CreateRoleOutput{Role: &iamtypes.Role{RoleName: in.RoleName}}, nil
}

func (f *fakeAWS) UpdateAssumeRolePolicy(_ context.Context, in *iam.UpdateAssumeRolePolicyInput, _ ...func(*iam.Options)) (*iam.UpdateAssumeRolePolicyOutput, error) {
	if err := f.record("UpdateAssumeRolePolicy"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.role(aws.ToString(in.RoleName))
	if err != nil {
		return nil, err
	}
	r.trust = aws.ToString(in.PolicyDocument)
	return &iam.UpdateAssumeRolePolicyOutput{}, nil
}

func (f *fakeAWS) TagRole(_ context.Context, in *iam.TagRoleInput, _ ...func(*iam.Options)) (*iam.TagRoleOutput, error) {
	if err := f.record("TagRole"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.role(aws.ToString(in.RoleName))
	if err != nil {
		return nil, err
	}
	for _, t := range in.Tags {
		r.tags = slices.DeleteFunc(r.tags, func(o iamtypes.Tag) bool { return aws.ToString(o.Key) == aws.ToString(t.Key) })
		r.tags = append(r.tags, t)
	}
	return &iam.TagRoleOutput{}, nil
}

func (f *fakeAWS) GetRolePolicy(_ context.Context, in *iam.GetRolePolicyInput, _ ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error) {
	if err := f.record("GetRolePolicy"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.role(aws.ToString(in.RoleName))
	if err != nil {
		return nil, err
	}
	doc, ok := r.inline[aws.ToString(in.PolicyName)]
	if !ok {
		return nil, apiError("NoSuchEntity")
	}
	return &iam.GetRolePolicyOutput{PolicyDocument: aws.String(url.QueryEscape(doc))}, nil
}

func (f *fakeAWS) PutRolePolicy(_ context.Context, in *iam.PutRolePolicyInput, _ ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error) {
	if err := f.record("PutRolePolicy"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.role(aws.ToString(in.RoleName))
	if err != nil {
		return nil, err
	}
	r.inline[aws.ToString(in.PolicyName)] = aws.ToString(in.PolicyDocument)
	return &iam.PutRolePolicyOutput{}, nil
}

func (f *fakeAWS) ListRolePolicies(_ context.Context, in *iam.ListRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error) {
	if err := f.record("ListRolePolicies"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.role(aws.ToString(in.RoleName))
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(r.inline))
	for n := range r.inline {
		names = append(names, n)
	}
	slices.Sort(names)
	return &iam.ListRolePoliciesOutput{PolicyNames: names}, nil
}

func (f *fakeAWS) ListAttachedRolePolicies(_ context.Context, in *iam.ListAttachedRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error) {
	if err := f.record("ListAttachedRolePolicies"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.role(aws.ToString(in.RoleName))
	if err != nil {
		return nil, err
	}
	out := &iam.ListAttachedRolePoliciesOutput{}
	for _, a := range r.attached {
		out.AttachedPolicies = append(out.AttachedPolicies, iamtypes.AttachedPolicy{PolicyArn: aws.String(a)})
	}
	return out, nil
}

func (f *fakeAWS) GetAccountSummary(context.Context, *iam.GetAccountSummaryInput, ...func(*iam.Options)) (*iam.GetAccountSummaryOutput, error) {
	if err := f.record("GetAccountSummary"); err != nil {
		return nil, err
	}
	if f.summary != nil {
		return &iam.GetAccountSummaryOutput{SummaryMap: f.summary}, nil
	}
	return &iam.GetAccountSummaryOutput{SummaryMap: map[string]int32{"AssumeRolePolicySizeQuota": 2048, "RolePolicySizeQuota": 10240, "PolicySizeQuota": 6144, "AttachedPoliciesPerRoleQuota": 10}}, nil
}

func (f *fakeAWS) policy(arn string) (*fakePolicy, error) {
	p, ok := f.policies[arn]
	if !ok {
		return nil, apiError("NoSuchEntity")
	}
	return p, nil
}

func (f *fakeAWS) ListPolicies(_ context.Context, in *iam.ListPoliciesInput, _ ...func(*iam.Options)) (*iam.ListPoliciesOutput, error) {
	if err := f.record("ListPolicies"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &iam.ListPoliciesOutput{}
	for _, arn := range slices.Sorted(maps.Keys(f.policies)) {
		p := f.policies[arn]
		if strings.HasPrefix(p.path, aws.ToString(in.PathPrefix)) {
			out.Policies = append(out.Policies, iamtypes.Policy{Arn: aws.String(arn), PolicyName: aws.String(p.name), Path: aws.String(p.path), DefaultVersionId: aws.String(p.defaultID)})
		}
	}
	return out, nil
}

func (f *fakeAWS) GetPolicy(_ context.Context, in *iam.GetPolicyInput, _ ...func(*iam.Options)) (*iam.GetPolicyOutput, error) {
	if err := f.record("GetPolicy"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.policy(aws.ToString(in.PolicyArn))
	if err != nil {
		return nil, err
	}
	return &iam.GetPolicyOutput{Policy: &iamtypes.Policy{Arn: in.PolicyArn, PolicyName: aws.String(p.name), Path: aws.String(p.path), DefaultVersionId: aws.String(p.defaultID), Tags: slices.Clone(p.tags)}}, nil
}

func (f *fakeAWS) GetPolicyVersion(_ context.Context, in *iam.GetPolicyVersionInput, _ ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error) {
	if err := f.record("GetPolicyVersion"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.policy(aws.ToString(in.PolicyArn))
	if err != nil {
		return nil, err
	}
	for _, v := range p.versions {
		if aws.ToString(v.VersionId) == aws.ToString(in.VersionId) {
			v := v
			// IAM returns documents URL-encoded.
			v.Document = aws.String(url.QueryEscape(aws.ToString(v.Document)))
			return &iam.GetPolicyVersionOutput{PolicyVersion: &v}, nil
		}
	}
	return nil, apiError("NoSuchEntity")
}

func (f *fakeAWS) ListPolicyTags(_ context.Context, in *iam.ListPolicyTagsInput, _ ...func(*iam.Options)) (*iam.ListPolicyTagsOutput, error) {
	if err := f.record("ListPolicyTags"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.policy(aws.ToString(in.PolicyArn))
	if err != nil {
		return nil, err
	}
	return &iam.ListPolicyTagsOutput{Tags: slices.Clone(p.tags)}, nil
}

func (f *fakeAWS) TagPolicy(_ context.Context, in *iam.TagPolicyInput, _ ...func(*iam.Options)) (*iam.TagPolicyOutput, error) {
	if err := f.record("TagPolicy"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.policy(aws.ToString(in.PolicyArn))
	if err != nil {
		return nil, err
	}
	for _, t := range in.Tags {
		p.tags = slices.DeleteFunc(p.tags, func(o iamtypes.Tag) bool { return aws.ToString(o.Key) == aws.ToString(t.Key) })
		p.tags = append(p.tags, t)
	}
	return &iam.TagPolicyOutput{}, nil
}

func (f *fakeAWS) ListPolicyVersions(_ context.Context, in *iam.ListPolicyVersionsInput, _ ...func(*iam.Options)) (*iam.ListPolicyVersionsOutput, error) {
	if err := f.record("ListPolicyVersions"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.policy(aws.ToString(in.PolicyArn))
	if err != nil {
		return nil, err
	}
	out := &iam.ListPolicyVersionsOutput{}
	for _, v := range p.versions {
		v.Document = nil
		out.Versions = append(out.Versions, v)
	}
	return out, nil
}

func (f *fakeAWS) CreatePolicy(_ context.Context, in *iam.CreatePolicyInput, _ ...func(*iam.Options)) (*iam.CreatePolicyOutput, error) {
	if err := f.record("CreatePolicy"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.policies {
		if p.name == aws.ToString(in.PolicyName) {
			return nil, apiError("EntityAlreadyExists")
		}
	}
	arn := "arn:aws:iam::123456789012:policy" + aws.ToString(in.Path) + aws.ToString(in.PolicyName)
	p := &fakePolicy{name: aws.ToString(in.PolicyName), path: aws.ToString(in.Path), tags: in.Tags}
	p.addVersion(aws.ToString(in.PolicyDocument), true)
	f.policies[arn] = p
	return &iam.CreatePolicyOutput{Policy: &iamtypes.Policy{Arn: aws.String(arn)}}, nil
}

func (p *fakePolicy) addVersion(doc string, setDefault bool) {
	p.nextID++
	id := fmt.Sprintf("v%d", p.nextID)
	created := time.Date(2026, 1, 1, 0, 0, p.nextID, 0, time.UTC)
	for i := range p.versions {
		if setDefault {
			p.versions[i].IsDefaultVersion = false
		}
	}
	p.versions = append(p.versions, iamtypes.PolicyVersion{VersionId: aws.String(id), Document: aws.String(doc), IsDefaultVersion: setDefault, CreateDate: &created})
	if setDefault {
		p.defaultID = id
	}
}

func (f *fakeAWS) CreatePolicyVersion(_ context.Context, in *iam.CreatePolicyVersionInput, _ ...func(*iam.Options)) (*iam.CreatePolicyVersionOutput, error) {
	if err := f.record("CreatePolicyVersion"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.policy(aws.ToString(in.PolicyArn))
	if err != nil {
		return nil, err
	}
	if len(p.versions) >= 5 {
		return nil, apiError("LimitExceeded")
	}
	p.addVersion(aws.ToString(in.PolicyDocument), in.SetAsDefault)
	return &iam.CreatePolicyVersionOutput{}, nil
}

func (f *fakeAWS) DeletePolicyVersion(_ context.Context, in *iam.DeletePolicyVersionInput, _ ...func(*iam.Options)) (*iam.DeletePolicyVersionOutput, error) {
	if err := f.record("DeletePolicyVersion"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.policy(aws.ToString(in.PolicyArn))
	if err != nil {
		return nil, err
	}
	if aws.ToString(in.VersionId) == p.defaultID {
		return nil, apiError("DeleteConflict")
	}
	i := slices.IndexFunc(p.versions, func(v iamtypes.PolicyVersion) bool { return aws.ToString(v.VersionId) == aws.ToString(in.VersionId) })
	if i < 0 {
		return nil, apiError("NoSuchEntity")
	}
	p.versions = slices.Delete(p.versions, i, i+1)
	return &iam.DeletePolicyVersionOutput{}, nil
}

func (f *fakeAWS) AttachRolePolicy(_ context.Context, in *iam.AttachRolePolicyInput, _ ...func(*iam.Options)) (*iam.AttachRolePolicyOutput, error) {
	if err := f.record("AttachRolePolicy"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.role(aws.ToString(in.RoleName))
	if err != nil {
		return nil, err
	}
	if _, err := f.policy(aws.ToString(in.PolicyArn)); err != nil {
		return nil, err
	}
	if !slices.Contains(r.attached, aws.ToString(in.PolicyArn)) {
		r.attached = append(r.attached, aws.ToString(in.PolicyArn))
	}
	return &iam.AttachRolePolicyOutput{}, nil
}

func (f *fakeAWS) DeletePolicy(_ context.Context, in *iam.DeletePolicyInput, _ ...func(*iam.Options)) (*iam.DeletePolicyOutput, error) {
	if err := f.record("DeletePolicy"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.policy(aws.ToString(in.PolicyArn))
	if err != nil {
		return nil, err
	}
	if len(p.versions) > 1 {
		return nil, apiError("DeleteConflict")
	}
	for _, r := range f.roles {
		if slices.Contains(r.attached, aws.ToString(in.PolicyArn)) {
			return nil, apiError("DeleteConflict")
		}
	}
	delete(f.policies, aws.ToString(in.PolicyArn))
	return &iam.DeletePolicyOutput{}, nil
}

func (f *fakeAWS) String() string { return fmt.Sprint(f.calls) }

// The calls below are destroy's.

func (f *fakeAWS) ListRoles(_ context.Context, in *iam.ListRolesInput, _ ...func(*iam.Options)) (*iam.ListRolesOutput, error) {
	if err := f.record("ListRoles"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(f.roles))
	for n := range f.roles {
		names = append(names, n)
	}
	slices.Sort(names)
	// One role per page, so every test exercises pagination.
	start := 0
	if in.Marker != nil {
		start = slices.Index(names, aws.ToString(in.Marker))
		if start < 0 {
			return nil, apiError("InvalidInput")
		}
	}
	out := &iam.ListRolesOutput{}
	if start < len(names) {
		n := names[start]
		r := f.roles[n]
		out.Roles = []iamtypes.Role{{RoleName: aws.String(n), Arn: aws.String("arn:aws:iam::123456789012:role/" + n), AssumeRolePolicyDocument: aws.String(url.QueryEscape(r.trust))}}
	}
	if start+1 < len(names) {
		out.IsTruncated = true
		out.Marker = aws.String(names[start+1])
	}
	return out, nil
}

func (f *fakeAWS) DeleteRolePolicy(_ context.Context, in *iam.DeleteRolePolicyInput, _ ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error) {
	if err := f.record("DeleteRolePolicy"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.role(aws.ToString(in.RoleName))
	if err != nil {
		return nil, err
	}
	if _, ok := r.inline[aws.ToString(in.PolicyName)]; !ok {
		return nil, apiError("NoSuchEntity")
	}
	delete(r.inline, aws.ToString(in.PolicyName))
	return &iam.DeleteRolePolicyOutput{}, nil
}

func (f *fakeAWS) DetachRolePolicy(_ context.Context, in *iam.DetachRolePolicyInput, _ ...func(*iam.Options)) (*iam.DetachRolePolicyOutput, error) {
	if err := f.record("DetachRolePolicy"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.role(aws.ToString(in.RoleName))
	if err != nil {
		return nil, err
	}
	i := slices.Index(r.attached, aws.ToString(in.PolicyArn))
	if i < 0 {
		return nil, apiError("NoSuchEntity")
	}
	r.attached = slices.Delete(r.attached, i, i+1)
	return &iam.DetachRolePolicyOutput{}, nil
}

func (f *fakeAWS) DeleteRole(_ context.Context, in *iam.DeleteRoleInput, _ ...func(*iam.Options)) (*iam.DeleteRoleOutput, error) {
	if err := f.record("DeleteRole"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.role(aws.ToString(in.RoleName))
	if err != nil {
		return nil, err
	}
	// IAM refuses to delete a role that still has policies.
	if len(r.inline) > 0 || len(r.attached) > 0 {
		return nil, apiError("DeleteConflict")
	}
	delete(f.roles, aws.ToString(in.RoleName))
	return &iam.DeleteRoleOutput{}, nil
}

func (f *fakeAWS) DeleteOpenIDConnectProvider(_ context.Context, in *iam.DeleteOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.DeleteOpenIDConnectProviderOutput, error) {
	if err := f.record("DeleteOpenIDConnectProvider"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.OpenIDConnectProviderArn)
	if _, ok := f.providers[arn]; !ok {
		return nil, apiError("NoSuchEntity")
	}
	delete(f.providers, arn)
	return &iam.DeleteOpenIDConnectProviderOutput{}, nil
}
