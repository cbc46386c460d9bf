package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// manyRepos returns n repository names and registers them in the fake.
func manyRepos(f *fakeAWS, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("team-%d/service-%04d", i%7, i)
		f.repos[out[i]] = true
	}
	return out
}

func packedSpec(repos []string) Spec {
	s := validSpec()
	s.Repositories = repos
	return s
}

// applyPlan plans and applies spec, and returns the plan.
func applyPlan(t *testing.T, f *fakeAWS, spec Spec) *Plan {
	t.Helper()
	p, err := planFor(t, f, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
		t.Fatalf("apply %v: %v", p.Changes, err)
	}
	return p
}

// grantedByAccount returns every repository ARN the role's inline policy
// and attached managed policies grant in the fake, sorted.
func grantedByAccount(t *testing.T, f *fakeAWS, role string) []string {
	t.Helper()
	r := f.roles[role]
	docs := []string{r.inline[PolicyName]}
	for _, a := range r.attached {
		p := f.policies[a]
		for _, v := range p.versions {
			if aws.ToString(v.VersionId) == p.defaultID {
				docs = append(docs, aws.ToString(v.Document))
			}
		}
	}
	out, err := policy.GrantedResources(docs...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantARNs(repos []string) []string {
	out := make([]string, len(repos))
	for i, r := range repos {
		out[i] = "arn:aws:ecr:us-east-1:123456789012:repository/" + r
	}
	slices.Sort(out)
	return out
}

func TestManagedPolicyLifecycle(t *testing.T) {
	f := newFakeAWS()
	repos := manyRepos(f, 400)

	// First run: the inline policy and three managed policies, created
	// and attached.
	p := applyPlan(t, f, packedSpec(repos))
	if len(p.ManagedPolicies) != 3 {
		t.Fatalf("%d managed policies for 400 repositories, want 3", len(p.ManagedPolicies))
	}
	if got := strings.Join(f.writes(), " "); got != "AttachRolePolicy AttachRolePolicy AttachRolePolicy CreateOpenIDConnectProvider CreatePolicy CreatePolicy CreatePolicy CreateRole PutRolePolicy" {
		t.Fatalf("first run writes: %s", got)
	}
	if got := grantedByAccount(t, f, DefaultRoleName); !slices.Equal(got, wantARNs(repos)) {
		t.Fatalf("the account grants %d repositories, want exactly the %d requested", len(got), len(repos))
	}
	for arn, mp := range f.policies {
		if mp.path != ManagedPolicyPath(DefaultRoleName) || !strings.HasPrefix(mp.name, DefaultRoleName+"-ecr-") {
			t.Errorf("managed policy %s: path %s name %s", arn, mp.path, mp.name)
		}
		if !slices.ContainsFunc(mp.tags, func(tag iamtypes.Tag) bool { return aws.ToString(tag.Key) == ManagedTag }) {
			t.Errorf("managed policy %s lacks the ownership tag", arn)
		}
	}

	// Rerun: nothing to change, only reads.
	f.calls = nil
	p, err := planFor(t, f, packedSpec(repos))
	if err != nil {
		t.Fatal(err)
	}
	if p.HasChanges() || len(f.writes()) != 0 {
		t.Fatalf("rerun plans %v, writes %v", p.Changes, f.writes())
	}
	if extra := f.roles[DefaultRoleName]; len((&ObservedRole{Name: DefaultRoleName, AttachedPolicies: extra.attached}).OtherPolicies()) != 0 {
		t.Fatalf("the role's own managed policies are reported as others'")
	}

	// Growing by 100 repositories: the documents shift, one policy is
	// added.
	f.calls = nil
	more := append(slices.Clone(repos), manyRepos(f, 500)[400:]...)
	p = applyPlan(t, f, packedSpec(more))
	if got := changeKeys(p); !slices.Contains(got, "create managed-policy") || !slices.Contains(got, "update managed-policy") {
		t.Fatalf("growing plans %v", got)
	}
	if got := grantedByAccount(t, f, DefaultRoleName); !slices.Equal(got, wantARNs(more)) {
		t.Fatalf("after growing the account grants %d repositories, want %d", len(got), len(more))
	}

	// Shrinking to 10: everything fits inline; the managed policies are
	// detached and deleted, old versions first.
	f.calls = nil
	before := len(f.policies)
	p = applyPlan(t, f, packedSpec(repos[:10]))
	deletes := 0
	for _, c := range p.Changes {
		if c.Action == ActionDelete && c.Resource == ResourceManagedPolicy {
			deletes++
		}
	}
	if deletes != before || before != 5 || len(f.policies) != 0 || len(f.roles[DefaultRoleName].attached) != 0 {
		t.Fatalf("shrinking: %d deletions planned, %d policies and %d attachments left", deletes, len(f.policies), len(f.roles[DefaultRoleName].attached))
	}
	if got := grantedByAccount(t, f, DefaultRoleName); !slices.Equal(got, wantARNs(repos[:10])) {
		t.Fatalf("after shrinking the account grants %v", got)
	}
}

func TestManagedPolicyVersionsRotate(t *testing.T) {
	f := newFakeAWS()
	repos := manyRepos(f, 300)
	applyPlan(t, f, packedSpec(repos))
	arn := ManagedPolicyARN("aws", "123456789012", DefaultRoleName, ManagedPolicyName(DefaultRoleName, 1))
	// Six updates: IAM keeps five versions, so from the fifth on the
	// oldest one not in force is deleted first.
	for i := range 6 {
		f.calls = nil
		sorted := slices.Sorted(slices.Values(repos))
		drop := slices.Delete(sorted, 200+i, 201+i)
		p := applyPlan(t, f, packedSpec(drop))
		if !slices.Contains(changeKeys(p), "update managed-policy") {
			t.Fatalf("update %d plans %v", i, changeKeys(p))
		}
		if n := len(f.policies[arn].versions); n > 5 {
			t.Fatalf("update %d: %d versions", i, n)
		}
		if got := grantedByAccount(t, f, DefaultRoleName); !slices.Equal(got, wantARNs(drop)) {
			t.Fatalf("update %d: the account grants %d repositories, want %d", i, len(got), len(drop))
		}
	}
	if !slices.Contains(f.writes(), "DeletePolicyVersion") {
		t.Fatalf("the last update deleted no old version: %v", f.writes())
	}
}

func TestManagedPolicyRefusals(t *testing.T) {
	t.Run("a foreign policy under the role's path", func(t *testing.T) {
		f := newFakeAWS()
		repos := manyRepos(f, 300)
		name := ManagedPolicyName(DefaultRoleName, 1)
		f.policies[ManagedPolicyARN("aws", "123456789012", DefaultRoleName, name)] = &fakePolicy{name: name, path: ManagedPolicyPath(DefaultRoleName), defaultID: "v1",
			versions: []iamtypes.PolicyVersion{{VersionId: aws.String("v1"), IsDefaultVersion: true, Document: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}}}
		_, err := planFor(t, f, packedSpec(repos))
		if !errors.Is(err, ErrNotOwned) || !strings.Contains(err.Error(), name) {
			t.Fatalf("plan over a foreign managed policy: %v", err)
		}
		if len(f.writes()) != 0 {
			t.Fatalf("writes: %v", f.writes())
		}
	})
	t.Run("others' attached policies leave less room", func(t *testing.T) {
		f := converged(t)
		for i := range 9 {
			f.roles[DefaultRoleName].attached = append(f.roles[DefaultRoleName].attached, fmt.Sprintf("arn:aws:iam::aws:policy/Other%d", i))
		}
		repos := manyRepos(f, 400)
		_, err := planFor(t, f, packedSpec(repos))
		var qerr *PermissionsQuotaError
		if !errors.As(err, &qerr) || qerr.OtherAttached != 9 || qerr.Limits.ManagedCount != 1 {
			t.Fatalf("plan with 9 foreign attachments: %v", err)
		}
		if !strings.Contains(err.Error(), "--repo team-0/*") || !strings.Contains(err.Error(), "9 managed policies attached by others") {
			t.Fatalf("the error should suggest prefixes and name the other attachments: %v", err)
		}
	})
	t.Run("more than 10 managed policies hold", func(t *testing.T) {
		f := newFakeAWS()
		repos := manyRepos(f, 1500)
		_, err := planFor(t, f, packedSpec(repos))
		var qerr *PermissionsQuotaError
		if !errors.As(err, &qerr) || qerr.Fit <= 1000 || qerr.Fit >= 1500 || qerr.Total != 1500 {
			t.Fatalf("plan for 1,500 repositories: %v", err)
		}
		// The suggested prefixes make the plan succeed.
		patterns := qerr.Prefixes
		if len(patterns) == 0 {
			t.Fatalf("no prefixes suggested: %v", err)
		}
		kept := slices.Clone(patterns)
		for _, r := range repos {
			if !slices.ContainsFunc(patterns, func(p string) bool { return strings.HasPrefix(r, strings.TrimSuffix(p, "*")) }) {
				kept = append(kept, r)
			}
		}
		if _, err := planFor(t, f, packedSpec(kept)); err != nil {
			t.Fatalf("plan with the suggested prefixes %v: %v", patterns, err)
		}
	})
	t.Run("the account's raised quota is used", func(t *testing.T) {
		f := newFakeAWS()
		f.summary = map[string]int32{"AssumeRolePolicySizeQuota": 2048, "RolePolicySizeQuota": 10240, "PolicySizeQuota": 6144, "AttachedPoliciesPerRoleQuota": 20}
		repos := manyRepos(f, 1500)
		p, err := planFor(t, f, packedSpec(repos))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.ManagedPolicies) <= 10 || p.AttachedPoliciesQuota != 20 {
			t.Fatalf("%d managed policies under a quota of %d", len(p.ManagedPolicies), p.AttachedPoliciesQuota)
		}
	})
}

func TestManagedPolicyInterruptedRun(t *testing.T) {
	// A run stopped after CreatePolicy and before AttachRolePolicy leaves
	// the policy unattached; the next run only attaches it.
	f := newFakeAWS()
	repos := manyRepos(f, 300)
	f.failures["AttachRolePolicy"] = apiError("ServiceFailure")
	p, err := planFor(t, f, packedSpec(repos))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), f, p, Options{}); err == nil {
		t.Fatal("apply succeeded with AttachRolePolicy failing")
	}
	delete(f.failures, "AttachRolePolicy")
	f.calls = nil
	left := len(f.policies)
	p = applyPlan(t, f, packedSpec(repos))
	attaches := 0
	for _, c := range p.Changes {
		if c.Resource != ResourceManagedPolicy {
			continue
		}
		_, exists := p.observedManagedPolicy(c.Name)
		switch {
		case c.Action == ActionAttach && exists:
			attaches++
		case c.Action == ActionCreate && !exists:
		default:
			t.Errorf("rerun plans %s (the policy exists: %v)", c, exists)
		}
	}
	if left == 0 || attaches != left {
		t.Fatalf("%d policies were left unattached, the rerun attaches %d", left, attaches)
	}
	if got := grantedByAccount(t, f, DefaultRoleName); !slices.Equal(got, wantARNs(repos)) {
		t.Fatalf("the account grants %d repositories, want %d", len(got), len(repos))
	}
}

func TestManagedPolicyVerifyAndDestroy(t *testing.T) {
	f := newFakeAWS()
	repos := manyRepos(f, 300)
	applyPlan(t, f, packedSpec(repos))
	verify := func() *StateReport {
		r, _ := verifyFake(t, f, packedSpec(repos))
		return r
	}
	if r := verify(); !r.OK() {
		t.Fatalf("verify after setup: %+v", r.Failed())
	}
	// Detach the managed policy by hand: verify names it.
	arn := ManagedPolicyARN("aws", "123456789012", DefaultRoleName, ManagedPolicyName(DefaultRoleName, 1))
	f.roles[DefaultRoleName].attached = slices.DeleteFunc(f.roles[DefaultRoleName].attached, func(a string) bool { return a == arn })
	if failed := verify().Failed(); len(failed) != 1 || failed[0].Item != CheckManagedPolicy || !strings.Contains(failed[0].Detail, "not attached") {
		t.Fatalf("verify after a detach: %+v", failed)
	}
	f.roles[DefaultRoleName].attached = append(f.roles[DefaultRoleName].attached, arn, "arn:aws:iam::aws:policy/ReadOnlyAccess")

	st, err := ObserveDestroy(context.Background(), f.clients(), testOrg, DefaultRoleName)
	if err != nil {
		t.Fatal(err)
	}
	dp := NewDestroyPlan(testOrg, DefaultRoleName, st, false)
	var got []string
	for _, c := range dp.Deletes {
		got = append(got, string(c.Action)+" "+string(c.Resource))
	}
	want := []string{"delete role-policy", "detach attached-policy", "delete managed-policy", "delete managed-policy", "delete iam-role", "delete oidc-provider"}
	if !slices.Equal(got, want) {
		t.Fatalf("destroy plans %v, want %v", got, want)
	}
	if _, err := Destroy(context.Background(), f.clients(), dp, nil); err != nil {
		t.Fatal(err)
	}
	if len(f.policies) != 0 || len(f.roles) != 0 {
		t.Fatalf("after destroy: %d policies, %d roles", len(f.policies), len(f.roles))
	}
}

func TestManagedPoliciesPerShard(t *testing.T) {
	f := newFakeAWS()
	spec := shardSpec(manyProjects(60))
	spec.Repositories = manyRepos(f, 300)
	sp, err := PlanShards(context.Background(), f.clients(), mustSpec(t, spec))
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Plans) < 2 {
		t.Fatalf("%d shards for 60 projects", len(sp.Plans))
	}
	applyShards(t, f, sp)
	for i := range sp.Plans {
		role := ShardRoleName(DefaultRoleName, i+1)
		if got := grantedByAccount(t, f, role); !slices.Equal(got, wantARNs(spec.Repositories)) {
			t.Fatalf("%s grants %d repositories, want %d", role, len(got), len(spec.Repositories))
		}
		for _, a := range f.roles[role].attached {
			if !isOwnManagedPolicy(a, role) {
				t.Fatalf("%s has another role's policy %s attached", role, a)
			}
		}
	}
	f.calls = nil
	again, err := PlanShards(context.Background(), f.clients(), mustSpec(t, spec))
	if err != nil {
		t.Fatal(err)
	}
	if again.HasChanges() || len(f.writes()) != 0 {
		for _, p := range again.Plans {
			t.Errorf("%s plans %v", p.RoleName, p.Changes)
		}
		t.Fatalf("the sharded rerun is not a no-op")
	}
}

func TestOtherInlinePoliciesShareTheQuota(t *testing.T) {
	f := converged(t)
	repos := manyRepos(f, 120)
	p, err := planFor(t, f, packedSpec(repos))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.ManagedPolicies) != 0 {
		t.Fatalf("120 repositories alone need %d managed policies", len(p.ManagedPolicies))
	}
	// Someone's 6,000-character inline policy leaves ours about 4,200.
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::` + strings.Repeat("b", 5900) + `"}]}`
	f.roles[DefaultRoleName].inline["theirs"] = big
	p, err = planFor(t, f, packedSpec(repos))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.ManagedPolicies) == 0 || p.PermissionsPolicySize+policy.Size(big) > DefaultRolePolicyQuota {
		t.Fatalf("with another inline policy of %d characters: ours is %d, %d managed policies", policy.Size(big), p.PermissionsPolicySize, len(p.ManagedPolicies))
	}
	var text strings.Builder
	if err := p.WriteText(&text, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), fmt.Sprintf("other inline policies use %d", policy.Size(big))) {
		t.Errorf("the plan does not say what the other inline policy uses:\n%s", text.String())
	}
}

// observedManagedPolicy returns the observed managed policy of that name,
// which the plan itself finds through its steps.
func (p *Plan) observedManagedPolicy(name string) (ObservedManagedPolicy, bool) {
	if p.Observed == nil {
		return ObservedManagedPolicy{}, false
	}
	i := slices.IndexFunc(p.Observed.ManagedPolicies, func(mp ObservedManagedPolicy) bool { return mp.Name == name })
	if i < 0 {
		return ObservedManagedPolicy{}, false
	}
	return p.Observed.ManagedPolicies[i], true
}
