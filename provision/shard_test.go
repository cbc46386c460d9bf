package provision

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/token"
)

func TestAssignShards(t *testing.T) {
	// fits admits at most three projects per role.
	fits := func(ps []string) bool { return len(ps) <= 3 }
	tests := []struct {
		name     string
		projects []string
		current  [][]string
		want     [][]string
	}{
		{"empty account, fits one role", []string{"b", "a"}, nil, [][]string{{"a", "b"}}},
		{"empty account, needs three roles", []string{"g", "f", "e", "d", "c", "b", "a"}, nil, [][]string{{"a", "b", "c"}, {"d", "e", "f"}, {"g"}}},
		{"projects stay where they are", []string{"a", "b", "c", "d"}, [][]string{{"d", "a"}, {"b"}}, [][]string{{"a", "d", "c"}, {"b"}}},
		{"a new project sorted first does not move others", []string{"0", "a", "b", "c", "d"}, [][]string{{"a", "b", "c"}, {"d"}}, [][]string{{"a", "b", "c"}, {"0", "d"}}},
		{"removed projects leave their role", []string{"a", "d"}, [][]string{{"a", "b", "c"}, {"d"}}, [][]string{{"a"}, {"d"}}},
		{"a role whose projects all left stays empty", []string{"d"}, [][]string{{"a"}, {"d"}}, [][]string{nil, {"d"}}},
		{"freed room is reused before a new role", []string{"a", "c", "x"}, [][]string{{"a", "b", "c"}, {"d", "e", "f"}}, [][]string{{"a", "c", "x"}, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AssignShards(tt.projects, tt.current, fits)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				slices.Sort(tt.want[i])
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("AssignShards = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := AssignShards([]string{"a"}, nil, func([]string) bool { return false }); err == nil {
		t.Error("a project that fits nowhere was assigned")
	}
}

func TestProjectsAdmitted(t *testing.T) {
	for _, cond := range []policy.ProjectCondition{policy.ClaimKey, policy.Sub} {
		for _, branches := range [][]string{nil, {"refs/heads/main"}} {
			doc, err := policy.TrustPolicy(policy.Trust{Partition: "aws", Account: "123456789012", OrgID: testOrg,
				ProjectIDs: []string{testProject, otherProj}, Condition: cond, Branches: branches})
			if err != nil {
				t.Fatal(err)
			}
			s, _ := doc.JSON()
			want := []string{otherProj, testProject}
			if got := ProjectsAdmitted(s, testOrg); !slices.Equal(got, want) {
				t.Errorf("%s %v: ProjectsAdmitted = %v, want %v", cond, branches, got, want)
			}
		}
	}
	if got := ProjectsAdmitted(`{"Statement":[]}`, testOrg); len(got) != 0 {
		t.Errorf("empty policy admits %v", got)
	}
}

func shardSpec(projects []string) Spec {
	return Spec{OrgID: testOrg, Repositories: []string{"app"}, ProjectIDs: projects, Region: "us-east-1"}
}

func applyShards(t *testing.T, f *fakeAWS, sp *ShardedPlan) {
	t.Helper()
	for _, p := range sp.Plans {
		if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range sp.Removals {
		if _, err := Destroy(context.Background(), f.clients(), r, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// admittedBy maps each project the fake's roles admit to the roles that
// admit it.
func admittedBy(f *fakeAWS) map[string][]string {
	out := map[string][]string{}
	for name, r := range f.roles {
		for _, p := range ProjectsAdmitted(r.trust, testOrg) {
			out[p] = append(out[p], name)
		}
	}
	return out
}

// twoShardRoles sets up the 60 projects of manyProjects(60) for the
// repository app, which takes two shard roles, and returns the account with
// the projects each role admits: kept (role 1's) and removed (role 2's),
// which the tests then take out of the request.
func twoShardRoles(t *testing.T) (f *fakeAWS, kept, removed []string) {
	t.Helper()
	f = newFakeAWS()
	f.repos["app"] = true
	sp, err := PlanShards(context.Background(), f.clients(), mustSpec(t, shardSpec(manyProjects(60))))
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Plans) != 2 {
		t.Fatalf("%d roles for 60 projects, want 2", len(sp.Plans))
	}
	applyShards(t, f, sp)
	kept = ProjectsAdmitted(f.roles[ShardRoleName(DefaultRoleName, 1)].trust, testOrg)
	removed = ProjectsAdmitted(f.roles[ShardRoleName(DefaultRoleName, 2)].trust, testOrg)
	if len(removed) == 0 {
		t.Fatal("role 2 admits nothing")
	}
	return f, kept, removed
}

// TestPlanShardsRevokesRemovedProjects: a shard role all of whose projects
// were removed from --project-id is deleted (with its policy), not left
// admitting them; the provider stays, and the rerun is clean.
func TestPlanShardsRevokesRemovedProjects(t *testing.T) {
	f, kept, removed := twoShardRoles(t)
	second := ShardRoleName(DefaultRoleName, 2)

	shrunk, err := PlanShards(context.Background(), f.clients(), mustSpec(t, shardSpec(kept)))
	if err != nil {
		t.Fatal(err)
	}
	if len(shrunk.Plans) != 1 || len(shrunk.Removals) != 1 || shrunk.Removals[0].RoleName != second || !shrunk.HasChanges() {
		t.Fatalf("plans %d, removals %+v", len(shrunk.Plans), shrunk.Removals)
	}
	var deletes []string
	for _, c := range shrunk.Removals[0].Deletes {
		deletes = append(deletes, string(c.Action)+" "+string(c.Resource))
		if c.Resource == ResourceProvider {
			t.Errorf("a shard removal deletes the provider: %v", c)
		}
	}
	if !slices.Contains(deletes, "delete iam-role") || !slices.Contains(deletes, "delete role-policy") {
		t.Errorf("removal deletes %v", deletes)
	}
	applyShards(t, f, shrunk)
	if _, ok := f.roles[second]; ok {
		t.Errorf("role %s still exists", second)
	}
	for _, p := range removed {
		if roles := admittedBy(f)[p]; len(roles) > 0 {
			t.Errorf("removed project %s is still admitted by %v", p, roles)
		}
	}
	if len(f.providers) != 1 {
		t.Errorf("%d providers after the removal, want 1", len(f.providers))
	}
	f.calls = nil
	again, err := PlanShards(context.Background(), f.clients(), mustSpec(t, shardSpec(kept)))
	if err != nil {
		t.Fatal(err)
	}
	if again.HasChanges() || len(f.writes()) != 0 {
		t.Errorf("rerun plans changes or writes %v", f.writes())
	}
}

// TestPlanShardsSeesPastAGap: with role 2 of 3 deleted by hand, role 3 is
// still found, so its projects stay on it instead of being placed twice.
func TestPlanShardsSeesPastAGap(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	projects := manyProjects(100)
	sp, err := PlanShards(context.Background(), f.clients(), mustSpec(t, shardSpec(projects)))
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Plans) < 3 {
		t.Fatalf("%d roles for 100 projects, want at least 3", len(sp.Plans))
	}
	applyShards(t, f, sp)
	second, third := ShardRoleName(DefaultRoleName, 2), ShardRoleName(DefaultRoleName, 3)
	onThird := ProjectsAdmitted(f.roles[third].trust, testOrg)
	delete(f.roles, second)

	again, err := PlanShards(context.Background(), f.clients(), mustSpec(t, shardSpec(projects)))
	if err != nil {
		t.Fatal(err)
	}
	applyShards(t, f, again)
	for p, roles := range admittedBy(f) {
		if len(roles) != 1 {
			t.Errorf("project %s is admitted by %v, want exactly one role", p, roles)
		}
	}
	if got := ProjectsAdmitted(f.roles[third].trust, testOrg); !slices.Equal(got, onThird) {
		t.Errorf("role 3 admits %d projects now, %d before: its projects moved", len(got), len(onThird))
	}
	if len(admittedBy(f)) != 100 {
		t.Errorf("%d projects admitted, want 100", len(admittedBy(f)))
	}
}

func TestPlanShardsConvergesAndKeepsProjectsInPlace(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	projects := manyProjects(120)
	sp, err := PlanShards(context.Background(), f.clients(), mustSpec(t, shardSpec(projects)))
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Plans) < 3 {
		t.Fatalf("%d roles for 120 projects; want several", len(sp.Plans))
	}
	providerCreates := 0
	for i, p := range sp.Plans {
		if p.RoleName != ShardRoleName(DefaultRoleName, i+1) {
			t.Errorf("role %d is named %s", i, p.RoleName)
		}
		if p.TrustPolicySize > p.TrustPolicyQuota {
			t.Errorf("%s trust policy %d > quota %d", p.RoleName, p.TrustPolicySize, p.TrustPolicyQuota)
		}
		for _, c := range p.Changes {
			if c.Resource == ResourceProvider {
				providerCreates++
			}
		}
	}
	if providerCreates != 1 {
		t.Errorf("%d provider changes across shards, want 1", providerCreates)
	}
	applyShards(t, f, sp)
	before := map[string]string{}
	for name, r := range f.roles {
		for _, p := range ProjectsAdmitted(r.trust, testOrg) {
			before[p] = name
		}
	}
	if len(before) != 120 {
		t.Fatalf("%d projects admitted after apply, want 120", len(before))
	}

	f.calls = nil
	again, err := PlanShards(context.Background(), f.clients(), mustSpec(t, shardSpec(projects)))
	if err != nil {
		t.Fatal(err)
	}
	if again.HasChanges() || len(f.writes()) != 0 {
		t.Errorf("rerun plans changes or writes %v", f.writes())
	}

	// A new project whose ID sorts first lands where there is room (or on a
	// new role) without moving anyone: exactly one role changes.
	newcomer := "00000000-aaaa-4000-8000-000000000000"
	grown, err := PlanShards(context.Background(), f.clients(), mustSpec(t, shardSpec(append(slices.Clone(projects), newcomer))))
	if err != nil {
		t.Fatal(err)
	}
	var touched []string
	for _, p := range grown.Plans {
		if p.HasChanges() {
			touched = append(touched, p.RoleName)
		}
	}
	if len(touched) != 1 {
		t.Errorf("adding one project changes roles %v, want exactly one", touched)
	}
	applyShards(t, f, grown)
	for name, r := range f.roles {
		for _, p := range ProjectsAdmitted(r.trust, testOrg) {
			if was, ok := before[p]; ok && was != name {
				t.Errorf("project %s moved from %s to %s", p, was, name)
			}
		}
	}
}

func TestPlanShardsRefusesForeignShardRole(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	f.roles[ShardRoleName(DefaultRoleName, 1)] = &fakeRole{trust: `{"Version":"2012-10-17","Statement":[]}`, inline: map[string]string{}}
	if _, err := PlanShards(context.Background(), f.clients(), mustSpec(t, shardSpec(manyProjects(3)))); err == nil || !strings.Contains(err.Error(), "not managed") {
		t.Fatalf("PlanShards on a foreign role: %v", err)
	}
}

// TestShardedDocumentsProperty checks, for random sets of up to 500
// projects and 2,000 repositories, that every generated document fits its
// quota, that the trust policies together admit exactly the requested
// projects (evaluated with the policy package's evaluator on V1 and V2
// tokens), and that each role's inline and managed policies together grant
// exactly the requested repositories. A set that cannot fit must be
// refused with the number that fits and prefixes that make it fit.
func TestShardedDocumentsProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	providerPath := policy.ProviderPath(testOrg)
	providerARN := policy.ProviderARN("aws", "123456789012", testOrg)
	refused := 0
	for round := range 16 {
		nProjects := 1 + rng.IntN(500)
		nRepos := 1 + rng.IntN(2000)
		attachQuota := []int32{10, 20}[rng.IntN(2)]
		if round == 0 {
			// The largest case the issue names, within the raised quota.
			nProjects, nRepos, attachQuota = 500, 2000, 20
		}
		cond := []policy.ProjectCondition{policy.ClaimKey, policy.Sub}[rng.IntN(2)]
		projects := make([]string, nProjects)
		for i := range projects {
			projects[i] = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()>>16)
		}
		repos := make([]string, nRepos)
		f := newFakeAWS()
		f.summary = map[string]int32{"AssumeRolePolicySizeQuota": 2048, "RolePolicySizeQuota": 10240, "PolicySizeQuota": 6144, "AttachedPoliciesPerRoleQuota": attachQuota}
		for i := range repos {
			repos[i] = fmt.Sprintf("team-%d/svc-%d", rng.IntN(20), i)
			f.repos[repos[i]] = true
		}
		spec := mustSpec(t, Spec{OrgID: testOrg, Repositories: repos, ProjectIDs: projects, ProjectCondition: cond, Region: "us-east-1"})
		sp, err := PlanShards(context.Background(), f.clients(), spec)
		var qerr *PermissionsQuotaError
		if errors.As(err, &qerr) {
			refused++
			if qerr.Total != nRepos || qerr.Fit >= nRepos || qerr.Fit < 1000 || len(qerr.Prefixes) == 0 {
				t.Fatalf("round %d: %d repositories under %d attached policies refused with %+v", round, nRepos, attachQuota, qerr)
			}
			// The suggested prefixes, with the repositories outside them,
			// must plan.
			kept := slices.Clone(qerr.Prefixes)
			for _, r := range repos {
				if !slices.ContainsFunc(qerr.Prefixes, func(p string) bool { return strings.HasPrefix(r, strings.TrimSuffix(p, "*")) }) {
					kept = append(kept, r)
				}
			}
			spec.Repositories = kept
			if _, err := PlanShards(context.Background(), f.clients(), mustSpec(t, spec)); err != nil {
				t.Fatalf("round %d: plan with the suggested prefixes %v: %v", round, qerr.Prefixes, err)
			}
			t.Logf("round %d: %d repositories refused under %d attached policies (%d fit); prefixes %v plan", round, nRepos, attachQuota, qerr.Fit, qerr.Prefixes)
			continue
		}
		if err != nil {
			t.Fatalf("round %d (%d projects, %d repos, %s): %v", round, nProjects, nRepos, cond, err)
		}
		wantARNs := make([]string, len(repos))
		for i, r := range repos {
			wantARNs[i] = "arn:aws:ecr:us-east-1:123456789012:repository/" + r
		}
		slices.Sort(wantARNs)
		var trusts []policy.Document
		for _, p := range sp.Plans {
			if p.TrustPolicySize > DefaultTrustPolicyQuota || p.PermissionsPolicySize > DefaultRolePolicyQuota {
				t.Fatalf("round %d: %s documents %d/%d exceed the quotas", round, p.RoleName, p.TrustPolicySize, p.PermissionsPolicySize)
			}
			if len(p.ManagedPolicies) > int(attachQuota) {
				t.Fatalf("round %d: %s has %d managed policies, over the quota of %d", round, p.RoleName, len(p.ManagedPolicies), attachQuota)
			}
			docs := []policy.Document{p.PermissionsPolicy}
			for _, mp := range p.ManagedPolicies {
				if size, err := mp.Document.Size(); err != nil || size > DefaultManagedPolicyQuota || size != mp.Size {
					t.Fatalf("round %d: managed policy %s is %d characters (reported %d), quota %d", round, mp.Name, size, mp.Size, DefaultManagedPolicyQuota)
				}
				docs = append(docs, mp.Document)
			}
			var granted []string
			for _, d := range docs {
				for _, st := range d.Statement {
					if slices.Equal(st.Action, policy.Values{policy.ActionGetAuthorizationToken}) {
						continue
					}
					if !slices.Equal(st.Action, policy.RoleActions(policy.AccessPull)) {
						t.Fatalf("round %d: %s grants %v", round, p.RoleName, st.Action)
					}
					granted = append(granted, st.Resource...)
				}
			}
			slices.Sort(granted)
			if !slices.Equal(granted, wantARNs) {
				t.Fatalf("round %d: %s grants %d repositories, want exactly the %d requested", round, p.RoleName, len(granted), len(wantARNs))
			}
			trusts = append(trusts, p.TrustPolicy)
		}
		admitted := func(project string, v2 bool) int {
			sub := "org/" + testOrg + "/project/" + project + "/user/5f1e2d3c-4b5a-4697-8877-665544332211"
			if v2 {
				sub += "/vcs-origin/github.com/acme/app/vcs-ref/refs/heads/main"
			}
			claims := token.Claims{Subject: sub, Audience: []string{testOrg}}
			claims.CircleCI.ProjectID = project
			n := 0
			for _, d := range trusts {
				if policy.Evaluate(d, policy.Request{ProviderARN: providerARN, Keys: token.RequestKeys(claims, providerPath)}).Allowed {
					n++
				}
			}
			return n
		}
		for _, p := range projects {
			if admitted(p, false) != 1 || admitted(p, true) != 1 {
				t.Fatalf("round %d: project %s admitted by %d/%d roles (V1/V2), want exactly 1", round, p, admitted(p, false), admitted(p, true))
			}
		}
		if n := admitted("ffffffff-ffff-4fff-8fff-ffffffffffff", true); n != 0 {
			t.Fatalf("round %d: an unrequested project is admitted by %d roles", round, n)
		}
		t.Logf("round %d: %d projects (%s) over %d roles, %d repositories in 1+%d documents each", round, nProjects, cond, len(sp.Plans), nRepos, len(sp.Plans[0].ManagedPolicies))
	}
	if refused == 0 || refused == 16 {
		t.Fatalf("%d of 16 rounds refused; the rounds should cover both outcomes", refused)
	}
}

// TestShardedBranchPins: with branch pins the guard is part of every shard
// role's trust policy and of its size, so each stays within the quota, each
// project is admitted on a pinned ref by exactly one role, and a branch
// imitating the pin by none.
func TestShardedBranchPins(t *testing.T) {
	providerPath := policy.ProviderPath(testOrg)
	providerARN := policy.ProviderARN("aws", "123456789012", testOrg)
	for _, cond := range []policy.ProjectCondition{policy.ClaimKey, policy.Sub} {
		projects := make([]string, 90)
		for i := range projects {
			projects[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		}
		f := newFakeAWS()
		f.repos["app"] = true
		spec := mustSpec(t, Spec{OrgID: testOrg, Repositories: []string{"app"}, ProjectIDs: projects, ProjectCondition: cond,
			Branches: []string{"refs/heads/main", "refs/heads/release-*"}, Region: "us-east-1"})
		sp, err := PlanShards(context.Background(), f.clients(), spec)
		if err != nil {
			t.Fatal(err)
		}
		var trusts []policy.Document
		for _, p := range sp.Plans {
			if p.TrustPolicySize > DefaultTrustPolicyQuota {
				t.Fatalf("%s: %s trust policy is %d characters", cond, p.RoleName, p.TrustPolicySize)
			}
			if !policy.IsBranchPinGuard(p.TrustPolicy.Statement[0].Condition["StringNotLike"][providerPath+":sub"]) {
				t.Fatalf("%s: %s has no branch-pin guard", cond, p.RoleName)
			}
			trusts = append(trusts, p.TrustPolicy)
		}
		admitted := func(project, ref string) int {
			sub := token.Subject{OrgID: testOrg, ProjectID: project, UserID: "5f1e2d3c-4b5a-4697-8877-665544332211", VCSOrigin: "github.com/acme/app", VCSRef: ref}
			claims := token.Claims{Subject: sub.String(), Audience: []string{testOrg}}
			claims.CircleCI.ProjectID = project
			n := 0
			for _, d := range trusts {
				if policy.Evaluate(d, policy.Request{ProviderARN: providerARN, Keys: token.RequestKeys(claims, providerPath)}).Allowed {
					n++
				}
			}
			return n
		}
		for _, p := range projects {
			if admitted(p, "refs/heads/main") != 1 || admitted(p, "refs/heads/release-2") != 1 {
				t.Fatalf("%s: project %s is not admitted by exactly one role on a pinned ref", cond, p)
			}
			if n := admitted(p, "refs/heads/evil/vcs-ref/refs/heads/main") + admitted(p, "refs/heads/feature"); n != 0 {
				t.Fatalf("%s: project %s admitted %d times on unpinned refs", cond, p, n)
			}
		}
		t.Logf("%s: 90 projects with 2 pins over %d roles", cond, len(sp.Plans))
	}
}

// TestPlanShardsKeepsUnusedRolesClosed: with KeepUnusedRoles, a shard role
// whose projects were all removed is kept with a trust policy that admits no
// one (no token, not even one of a project it admitted), its policies stay,
// the rerun is clean, and adding projects again reopens it for them.
func TestPlanShardsKeepsUnusedRolesClosed(t *testing.T) {
	f, kept, removed := twoShardRoles(t)
	second := ShardRoleName(DefaultRoleName, 2)

	keep := shardSpec(kept)
	keep.KeepUnusedRoles = true
	shrunk, err := PlanShards(context.Background(), f.clients(), mustSpec(t, keep))
	if err != nil {
		t.Fatal(err)
	}
	if len(shrunk.Removals) != 0 || len(shrunk.Closed) != 1 || shrunk.Closed[0].RoleName != second || !shrunk.HasChanges() {
		t.Fatalf("removals %d, closed %+v", len(shrunk.Removals), shrunk.Closed)
	}
	if got := shrunk.Closed[0].Admitted; !slices.Equal(got, removed) {
		t.Errorf("closed role admitted %v, want %v", got, removed)
	}
	f.calls = nil
	if _, err := ApplyShards(context.Background(), f.clients(), shrunk, Options{}); err != nil {
		t.Fatal(err)
	}
	if w := f.writes(); !slices.Equal(w, []string{"UpdateAssumeRolePolicy"}) {
		t.Errorf("closing writes %v, want one UpdateAssumeRolePolicy", w)
	}
	role, ok := f.roles[second]
	if !ok {
		t.Fatalf("role %s was deleted", second)
	}
	if len(role.inline) == 0 {
		t.Errorf("the kept role lost its permissions policy")
	}
	doc, err := policy.Parse(role.trust)
	if err != nil {
		t.Fatal(err)
	}
	provider := policy.ProviderARN("aws", "123456789012", testOrg)
	for _, p := range append(slices.Clone(removed), kept[0]) {
		for _, action := range []string{policy.ActionAssumeRoleWithWebIdentity, "sts:AssumeRole"} {
			key := policy.ProviderPath(testOrg) + ":"
			req := policy.Request{Action: action, ProviderARN: provider, Keys: map[string][]string{
				key + "aud": {testOrg}, key + "oidc.circleci.com/project-id": {p},
				key + "sub": {"org/" + testOrg + "/project/" + p + "/user/u"},
			}}
			if d := policy.Evaluate(doc, req); d.Allowed {
				t.Errorf("the closed role admits %s for project %s: %+v", action, p, d)
			}
		}
	}
	for _, p := range removed {
		if roles := admittedBy(f)[p]; len(roles) > 0 {
			t.Errorf("removed project %s is still admitted by %v", p, roles)
		}
	}

	f.calls = nil
	again, err := PlanShards(context.Background(), f.clients(), mustSpec(t, keep))
	if err != nil {
		t.Fatal(err)
	}
	if again.HasChanges() || len(f.writes()) != 0 || len(again.Closed) != 1 || again.Closed[0].Step.IsChange() {
		t.Errorf("rerun plans changes or writes %v", f.writes())
	}

	grown, err := PlanShards(context.Background(), f.clients(), mustSpec(t, shardSpec(manyProjects(60))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ApplyShards(context.Background(), f.clients(), grown, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range removed {
		if roles := admittedBy(f)[p]; !slices.Equal(roles, []string{second}) {
			t.Errorf("project %s admitted by %v after adding it again, want %s", p, roles, second)
		}
	}
}

// TestShardRemovalsWaitForKeptRoles: a role that no longer serves a
// requested project is deleted, or closed with --keep-unused-roles, only
// once every kept role's changes succeeded. When a kept role's write
// fails, the unused role is left as it was: the run stops short, it never
// takes a role's trust away while the roles that stay are not yet what the
// plan said.
func TestShardRemovalsWaitForKeptRoles(t *testing.T) {
	for _, keepUnused := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep unused roles %v", keepUnused), func(t *testing.T) {
			f, kept, _ := twoShardRoles(t)
			f.repos["web"] = true
			second := ShardRoleName(DefaultRoleName, 2)
			trustBefore := f.roles[second].trust

			// Role 2's projects removed and one more repository: the kept
			// role's permissions policy changes, and that write fails.
			s := shardSpec(kept)
			s.Repositories = []string{"app", "web"}
			s.KeepUnusedRoles = keepUnused
			next, err := PlanShards(context.Background(), f.clients(), mustSpec(t, s))
			if err != nil {
				t.Fatal(err)
			}
			if len(next.Removals)+len(next.Closed) != 1 {
				t.Fatalf("removals %d, closed %d, want one of role 2", len(next.Removals), len(next.Closed))
			}
			f.calls = nil
			f.failures["PutRolePolicy"] = apiError("AccessDenied")
			if _, err := ApplyShards(context.Background(), f.clients(), next, Options{}); err == nil {
				t.Fatal("ApplyShards succeeded with a failing write")
			}
			for _, w := range f.writes() {
				if w != "PutRolePolicy" {
					t.Errorf("after the kept role's write failed, the run also made %s", w)
				}
			}
			if role, ok := f.roles[second]; !ok || role.trust != trustBefore {
				t.Errorf("role 2 was changed (exists %v) before the kept role was what the plan said", ok)
			}
		})
	}
}
