package provision

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"golang.org/x/sync/errgroup"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// Managed policies hold the repository grants that do not fit the role's
// inline policy (RolePolicySizeQuota, 10,240 characters by default, about
// 160 repository ARNs). Each is named <role>-ecr-<n> and lives under the
// IAM path /circleci-ecr-oidc/<role>/, so that one ListPolicies call with
// that path prefix finds every one the tool made for the role, attached or
// not (an interrupted run can leave one unattached), without knowing the
// account ID.
const (
	// managedPolicyPathRoot is the first element of every managed
	// policy's path.
	managedPolicyPathRoot = "/circleci-ecr-oidc/"
	// ResourceManagedPolicy is a customer managed policy the tool owns.
	ResourceManagedPolicy Resource = "managed-policy"
	// ActionAttach attaches a managed policy to the role.
	ActionAttach Action = "attach"
	// ManagedPolicyDescription is put on each managed policy created.
	ManagedPolicyDescription = "ECR repository grants of a CircleCI OIDC role beyond its inline policy; managed by circleci-ecr-oidc"
	// maxPolicyVersions is IAM's limit of stored versions per managed policy.
	maxPolicyVersions = 5
)

// ManagedPolicyPath is the IAM path of the role's managed policies.
func ManagedPolicyPath(roleName string) string {
	return managedPolicyPathRoot + roleName + "/"
}

// ManagedPolicyName names the role's n-th managed policy (n from 1). Policy
// names allow the same characters as role names and up to 128 of them, so
// any valid role name gives a valid policy name.
func ManagedPolicyName(roleName string, n int) string {
	return fmt.Sprintf("%s-ecr-%d", roleName, n)
}

// ManagedPolicyARN is the ARN of a managed policy of the role.
func ManagedPolicyARN(partition, account, roleName, name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:policy%s%s", partition, account, ManagedPolicyPath(roleName), name)
}

// isOwnManagedPolicy reports whether a policy ARN is under the role's own
// managed-policy path.
func isOwnManagedPolicy(policyARN, roleName string) bool {
	return strings.Contains(policyARN, ":policy"+ManagedPolicyPath(roleName))
}

// ObservedManagedPolicy is a managed policy found under the role's path.
type ObservedManagedPolicy struct {
	ARN  string
	Name string
	// DefaultVersion is the ID of the version in force, and Document its
	// decoded text.
	DefaultVersion string
	Document       string
	Tags           map[string]string
}

// ManagedPolicy is one managed policy the plan wants on the role.
type ManagedPolicy struct {
	Name     string          `json:"name"`
	ARN      string          `json:"arn"`
	Document policy.Document `json:"document"`
	// Size is measured as IAM counts it; Repositories is how many
	// repository ARNs or patterns the document grants.
	Size         int `json:"size"`
	Repositories int `json:"repositories"`
}

// observeManagedPolicies lists the customer managed policies under the
// role's path and reads each one's document and tags: two round trips,
// however many policies there are.
func observeManagedPolicies(ctx context.Context, api IAMAPI, roleName string) ([]ObservedManagedPolicy, error) {
	byPath, err := listManagedPolicies(ctx, api, ManagedPolicyPath(roleName))
	if err != nil {
		return nil, err
	}
	found := byPath[ManagedPolicyPath(roleName)]
	return found, readManagedPolicies(ctx, api, found)
}

// listManagedPolicies lists the account's customer managed policies under
// pathPrefix, by path, each path's sorted by name. Documents and tags are
// not read yet (readManagedPolicies). Listing from managedPolicyPathRoot
// finds every role's policies in one call per 100, which lets a sharded
// plan learn all its roles' policies with the first role's reads.
func listManagedPolicies(ctx context.Context, api IAMAPI, pathPrefix string) (map[string][]ObservedManagedPolicy, error) {
	byPath := map[string][]ObservedManagedPolicy{}
	pages := iam.NewListPoliciesPaginator(api, &iam.ListPoliciesInput{
		Scope: iamtypes.PolicyScopeTypeLocal, PathPrefix: aws.String(pathPrefix),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the managed policies under %s: %w", pathPrefix, err)
		}
		for _, p := range page.Policies {
			path := aws.ToString(p.Path)
			byPath[path] = append(byPath[path], ObservedManagedPolicy{
				ARN: aws.ToString(p.Arn), Name: aws.ToString(p.PolicyName),
				DefaultVersion: aws.ToString(p.DefaultVersionId), Tags: map[string]string{},
			})
		}
	}
	for _, list := range byPath {
		slices.SortFunc(list, func(a, b ObservedManagedPolicy) int { return strings.Compare(a.Name, b.Name) })
	}
	return byPath, nil
}

// readManagedPolicies reads the default version's document and the tags of
// each listed policy, in every list, at once within one concurrency bound.
func readManagedPolicies(ctx context.Context, api IAMAPI, lists ...[]ObservedManagedPolicy) error {
	var (
		mu  sync.Mutex
		all []*ObservedManagedPolicy
	)
	for _, list := range lists {
		for i := range list {
			all = append(all, &list[i])
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxConcurrentPolicyReads)
	for _, mp := range all {
		g.Go(func() error {
			out, err := api.GetPolicyVersion(gctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(mp.ARN), VersionId: aws.String(mp.DefaultVersion)})
			if err != nil {
				return fmt.Errorf("read managed policy %s: %w", mp.ARN, err)
			}
			doc, err := policy.Decode(aws.ToString(out.PolicyVersion.Document))
			if err != nil {
				return fmt.Errorf("read managed policy %s: %w", mp.ARN, err)
			}
			mu.Lock()
			mp.Document = doc
			mu.Unlock()
			return nil
		})
		g.Go(func() error {
			tags := map[string]string{}
			pages := iam.NewListPolicyTagsPaginator(api, &iam.ListPolicyTagsInput{PolicyArn: aws.String(mp.ARN)})
			for pages.HasMorePages() {
				page, err := pages.NextPage(gctx)
				if err != nil {
					return fmt.Errorf("read the tags of managed policy %s: %w", mp.ARN, err)
				}
				for _, t := range page.Tags {
					tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
			}
			mu.Lock()
			mp.Tags = tags
			mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

// checkManagedPolicyOwnership applies the role's ownership rule (checkTags)
// to a managed policy found under the role's path.
func checkManagedPolicyOwnership(mp ObservedManagedPolicy, spec Spec) error {
	return checkTags("managed policy "+mp.ARN, mp.Tags, spec, "delete it, choose another --role-name, or pass --adopt to take it over")
}

// planManagedPolicies adds the changes that bring the role's managed
// policies to p.ManagedPolicies: create, update, attach, and delete those
// of ours no longer needed (the repositories shrank back into fewer
// documents). A policy under the role's path that the tool does not own
// stops the plan.
func (p *Plan) planManagedPolicies() error {
	observed := map[string]ObservedManagedPolicy{}
	for _, mp := range p.Observed.ManagedPolicies {
		observed[mp.Name] = mp
	}
	wanted := map[string]bool{}
	for _, mp := range p.ManagedPolicies {
		wanted[mp.Name] = true
		doc, err := mp.Document.JSON()
		if err != nil {
			return err
		}
		desired := &Value{ARN: mp.ARN, Document: doc, Tags: p.Tags(), Attached: true}
		have, ok := observed[mp.Name]
		if !ok {
			p.addStep(Step{Kind: KindManagedPolicy, Desired: desired, Change: Change{Action: ActionCreate, Resource: ResourceManagedPolicy, Name: mp.Name,
				Reason: fmt.Sprintf("holds %d repository grants beyond the inline policy's quota", mp.Repositories), ManagedBy: p.RoleManagedBy}})
			continue
		}
		if err := p.planManagedPolicy(have, desired); err != nil {
			return err
		}
	}
	for _, have := range p.Observed.ManagedPolicies {
		if wanted[have.Name] {
			continue
		}
		owner, err := p.checkManagedPolicy(have)
		if err != nil {
			return err
		}
		p.addStep(Step{Kind: KindManagedPolicy, Observed: p.observedValue(have), Change: Change{Action: ActionDelete, Resource: ResourceManagedPolicy, Name: have.Name,
			Reason: "no longer needed: the repositories fit in fewer documents", ManagedBy: owner}})
	}
	return nil
}

// observedValue is the observed value of a managed policy under the
// role's path.
func (p *Plan) observedValue(have ObservedManagedPolicy) *Value {
	attached := p.Observed.Role != nil && slices.Contains(p.Observed.Role.AttachedPolicies, have.ARN)
	return &Value{ARN: have.ARN, Document: have.Document, Tags: have.Tags, Attached: attached}
}

// planManagedPolicy adds the steps of a managed policy the plan wants that
// exists: its document, its attachment, and, with --adopt, its tags.
func (p *Plan) planManagedPolicy(have ObservedManagedPolicy, desired *Value) error {
	owner, err := p.checkManagedPolicy(have)
	if err != nil {
		return err
	}
	obs := p.observedValue(have)
	doc := Step{Kind: KindManagedPolicy, Observed: obs, Desired: desired, Change: Change{Action: ActionNone, Resource: ResourceManagedPolicy, Name: have.Name, Reason: "matches"}}
	if !policy.Equal(have.Document, desired.Document) {
		doc.Action, doc.Reason, doc.ManagedBy = ActionUpdate, "its document differs from the desired one", owner
	}
	p.addStep(doc)
	attach := Step{Kind: KindAttachment, Observed: obs, Desired: desired, Change: Change{Action: ActionNone, Resource: ResourceManagedPolicy, Name: have.Name, Reason: "attached to role " + p.RoleName}}
	if !obs.Attached {
		attach.Action, attach.Reason, attach.ManagedBy = ActionAttach, "not attached to role "+p.RoleName, cmp.Or(owner, p.RoleManagedBy)
	}
	p.addStep(attach)
	if p.Spec.Adopt && len(missingTags(have.Tags, ownershipTags(p.Spec.OrgID))) > 0 {
		reason := "take it over: add the ownership tags"
		if owner != "" {
			reason = fmt.Sprintf("take it over from %s: set %s=%s", IaCName(owner), ManagedTag, ManagedByTool)
		}
		p.addStep(Step{Kind: KindTags, Observed: obs, Desired: desired, Change: Change{Action: ActionTag, Resource: ResourceManagedPolicy, Name: have.Name, Reason: reason, ManagedBy: owner}})
	}
	return nil
}

// checkManagedPolicy applies the ownership rule to a managed policy found
// under the role's path and returns the export's tool that owns it, if
// one does (managedPolicyOwner): its changes are then marked, not refused.
func (p *Plan) checkManagedPolicy(have ObservedManagedPolicy) (string, error) {
	if owner := managedPolicyOwner(have, p.RoleManagedBy, p.Spec.OrgID); owner != "" {
		return owner, nil
	}
	return "", p.refuse(checkManagedPolicyOwnership(have, p.Spec))
}

// managedPolicy returns the plan's managed policy of that name.
func (p *Plan) managedPolicy(name string) (ManagedPolicy, bool) {
	i := slices.IndexFunc(p.ManagedPolicies, func(mp ManagedPolicy) bool { return mp.Name == name })
	if i < 0 {
		return ManagedPolicy{}, false
	}
	return p.ManagedPolicies[i], true
}
