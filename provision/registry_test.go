package provision

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

const (
	registryAccount = "210987654321"
	sharedRepoARN   = "arn:aws:ecr:us-east-1:" + registryAccount + ":repository/shared/base"
	// othersStatement is a statement the registry's owner wrote, with its
	// own spacing, which a merge must keep byte for byte.
	othersStatement = `{"Sid": "TeamPull", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "ecr:BatchGetImage"}`
)

// fakeRegistry is ECR in the registry account: repository policies by
// repository name. It records its calls in the fakeAWS of the role's
// account too, so that tests see the order across both accounts.
type fakeRegistry struct {
	f        *fakeAWS
	policies map[string]*string // nil: the repository has no policy
	calls    []string
	// rejectPrincipal makes SetRepositoryPolicy fail this many times with
	// ECR's answer for a principal IAM has not propagated yet.
	rejectPrincipal int
}

func newFakeRegistry(f *fakeAWS) *fakeRegistry {
	return &fakeRegistry{f: f, policies: map[string]*string{}}
}

func (r *fakeRegistry) record(op string) error {
	if err := r.f.record(op); err != nil {
		return err
	}
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	r.calls = append(r.calls, op)
	return nil
}

func (r *fakeRegistry) writes() []string {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(r.calls), func(c string) bool { return strings.HasPrefix(c, "Get") })
}

func (r *fakeRegistry) GetRepositoryPolicy(_ context.Context, in *ecr.GetRepositoryPolicyInput, _ ...func(*ecr.Options)) (*ecr.GetRepositoryPolicyOutput, error) {
	if err := r.record("GetRepositoryPolicy"); err != nil {
		return nil, err
	}
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if aws.ToString(in.RegistryId) != registryAccount {
		return nil, apiError("RepositoryNotFoundException")
	}
	doc, ok := r.policies[aws.ToString(in.RepositoryName)]
	switch {
	case !ok:
		return nil, apiError("RepositoryNotFoundException")
	case doc == nil:
		return nil, apiError("RepositoryPolicyNotFoundException")
	}
	return &ecr.GetRepositoryPolicyOutput{PolicyText: aws.String(*doc), RegistryId: in.RegistryId, RepositoryName: in.RepositoryName}, nil
}

func (r *fakeRegistry) SetRepositoryPolicy(_ context.Context, in *ecr.SetRepositoryPolicyInput, _ ...func(*ecr.Options)) (*ecr.SetRepositoryPolicyOutput, error) {
	if err := r.record("SetRepositoryPolicy"); err != nil {
		return nil, err
	}
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if r.rejectPrincipal > 0 {
		r.rejectPrincipal--
		return nil, apiError("InvalidParameterException")
	}
	name := aws.ToString(in.RepositoryName)
	if _, ok := r.policies[name]; !ok || aws.ToString(in.RegistryId) != registryAccount {
		return nil, apiError("RepositoryNotFoundException")
	}
	doc := aws.ToString(in.PolicyText)
	r.policies[name] = &doc
	return &ecr.SetRepositoryPolicyOutput{}, nil
}

func (r *fakeRegistry) DeleteRepositoryPolicy(_ context.Context, in *ecr.DeleteRepositoryPolicyInput, _ ...func(*ecr.Options)) (*ecr.DeleteRepositoryPolicyOutput, error) {
	if err := r.record("DeleteRepositoryPolicy"); err != nil {
		return nil, err
	}
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	name := aws.ToString(in.RepositoryName)
	doc, ok := r.policies[name]
	switch {
	case !ok || aws.ToString(in.RegistryId) != registryAccount:
		return nil, apiError("RepositoryNotFoundException")
	case doc == nil:
		return nil, apiError("RepositoryPolicyNotFoundException")
	}
	r.policies[name] = nil
	return &ecr.DeleteRepositoryPolicyOutput{}, nil
}

func (r *fakeRegistry) clients() Clients {
	c := r.f.clients()
	c.Registry = func(string) RegistryAPI { return r }
	return c
}

func crossAccountSpec(access policy.Access) Spec {
	return Spec{OrgID: testOrg, Repositories: []string{"app", sharedRepoARN}, ProjectIDs: []string{testProject}, Region: "us-east-1", Access: access}
}

func registryPlan(t *testing.T, r *fakeRegistry, s Spec) *Plan {
	t.Helper()
	spec := mustSpec(t, s)
	obs, err := Observe(context.Background(), r.clients(), spec)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(spec, obs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func applyRegistry(t *testing.T, r *fakeRegistry, p *Plan) {
	t.Helper()
	if _, err := Apply(context.Background(), r.f, p, Options{Registry: func(string) RegistryAPI { return r }, PropagationWaits: []time.Duration{time.Millisecond, time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
}

func repositoryPolicyChanges(p *Plan) []Change {
	return slices.DeleteFunc(slices.Clone(p.Changes), func(c Change) bool { return c.Resource != ResourceRepositoryPolicy })
}

func TestRegistryPolicyMerge(t *testing.T) {
	roleARN := "arn:aws:iam::123456789012:role/" + DefaultRoleName
	others := `{"Version":"2012-10-17","Statement":[` + othersStatement + `]}`
	tests := []struct {
		name       string
		existing   *string
		access     policy.Access
		wantAction Action
	}{
		{name: "no policy yet: create", wantAction: ActionCreate},
		{name: "others' statements: merge", existing: &others, wantAction: ActionUpdate},
		{name: "others' statements, push: merge", existing: &others, access: policy.AccessPush, wantAction: ActionUpdate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWS()
			f.repos["app"] = true
			r := newFakeRegistry(f)
			r.policies["shared/base"] = tt.existing
			p := registryPlan(t, r, crossAccountSpec(tt.access))
			changes := repositoryPolicyChanges(p)
			if len(changes) != 1 || changes[0].Action != tt.wantAction || changes[0].Name != sharedRepoARN {
				t.Fatalf("repository-policy changes = %v, want one %s of %s", changes, tt.wantAction, sharedRepoARN)
			}
			if len(p.RegistryPolicyStatements) != 1 || !p.RegistryPolicyStatements[0].Managed {
				t.Errorf("registry statements = %+v, want one managed", p.RegistryPolicyStatements)
			}
			applyRegistry(t, r, p)

			// The role exists before ECR is asked to name it as principal.
			order := slices.Index(f.calls, "SetRepositoryPolicy")
			if created := slices.Index(f.calls, "CreateRole"); created < 0 || order < created {
				t.Errorf("SetRepositoryPolicy ran before CreateRole: %v", f.calls)
			}
			doc := *r.policies["shared/base"]
			if tt.existing != nil && !strings.Contains(doc, othersStatement) {
				t.Errorf("the registry owner's statement was not kept byte for byte:\n%s", doc)
			}
			parsed, err := policy.Parse(doc)
			if err != nil {
				t.Fatal(err)
			}
			ours := parsed.Statement[len(parsed.Statement)-1]
			want := policy.RepositoryStatement(roleARN, tt.access)
			if !slices.Equal(ours.Principal["AWS"], policy.Values{roleARN}) || !slices.Equal(ours.Action, want.Action) || ours.Sid != want.Sid {
				t.Errorf("our statement = %+v, want %+v", ours, want)
			}

			// A second run plans nothing and writes nothing in either account.
			f.calls, r.calls = nil, nil
			p2 := registryPlan(t, r, crossAccountSpec(tt.access))
			if p2.HasChanges() {
				t.Errorf("second plan: %v", p2.Changes)
			}
			applyRegistry(t, r, p2)
			if w := f.writes(); len(w) != 0 {
				t.Errorf("second run wrote %v", w)
			}
			if w := r.writes(); len(w) != 0 {
				t.Errorf("second run wrote %v in the registry", w)
			}
		})
	}
}

func TestRegistryPolicyDriftIsUpdated(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	r := newFakeRegistry(f)
	r.policies["shared/base"] = nil
	applyRegistry(t, r, registryPlan(t, r, crossAccountSpec("")))

	// Someone widened our statement and added their own.
	st := policy.RepositoryStatement("arn:aws:iam::123456789012:role/"+DefaultRoleName, policy.AccessPull)
	st.Action = policy.Values{"ecr:*"}
	drifted, _ := policy.Document{Version: policy.Version, Statement: []policy.Statement{st}}.JSON()
	drifted = strings.Replace(drifted, `"Statement":[`, `"Statement":[`+othersStatement+`,`, 1)
	r.policies["shared/base"] = &drifted

	p := registryPlan(t, r, crossAccountSpec(""))
	if got := changeKeys(p); !slices.Equal(got, []string{"update repository-policy"}) {
		t.Fatalf("changes = %v, want only the repository policy's update", got)
	}
	applyRegistry(t, r, p)
	doc := *r.policies["shared/base"]
	if !strings.Contains(doc, othersStatement) || strings.Contains(doc, `"ecr:*"`) {
		t.Errorf("after repair: %s", doc)
	}
	if n := strings.Count(doc, st.Sid); n != 1 {
		t.Errorf("our Sid appears %d times: %s", n, doc)
	}
	// Switching to push updates the same statement in place.
	p = registryPlan(t, r, crossAccountSpec(policy.AccessPush))
	if got := changeKeys(p); !slices.Equal(got, []string{"update repository-policy", "update role-policy"}) {
		t.Fatalf("push changes = %v", got)
	}
	applyRegistry(t, r, p)
	if doc := *r.policies["shared/base"]; strings.Count(doc, st.Sid) != 1 || !strings.Contains(doc, policy.ActionPutImage) {
		t.Errorf("after push: %s", doc)
	}
}

func TestRegistryWithoutProfilePrintsStatement(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, crossAccountSpec(""))
	if err != nil {
		t.Fatal(err)
	}
	if len(repositoryPolicyChanges(p)) != 0 {
		t.Errorf("changes without --registry-profile: %v", p.Changes)
	}
	if len(p.RegistryPolicyStatements) != 1 || p.RegistryPolicyStatements[0].Managed || p.RegistryPolicyStatements[0].Repository != sharedRepoARN {
		t.Fatalf("registry statements = %+v", p.RegistryPolicyStatements)
	}
	var text strings.Builder
	if err := p.WriteText(&text, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"must add this statement to the repository policy of " + sharedRepoARN, `"AWS": "arn:aws:iam::123456789012:role/circleci-ecr-pull"`, "--registry-profile"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text plan lacks %q:\n%s", want, text.String())
		}
	}
	if slices.Contains(f.calls, "GetRepositoryPolicy") {
		t.Error("the registry was read without --registry-profile")
	}
}

func TestRegistryMissingRepository(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	r := newFakeRegistry(f)
	spec := mustSpec(t, crossAccountSpec(""))
	obs, err := Observe(context.Background(), r.clients(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPlan(spec, obs); err == nil || !strings.Contains(err.Error(), "shared/base") {
		t.Fatalf("plan with a missing registry repository: err = %v", err)
	}
	spec.AllowMissingRepos = true
	p, err := NewPlan(spec, obs)
	if err != nil {
		t.Fatal(err)
	}
	if len(repositoryPolicyChanges(p)) != 0 || len(p.RegistryPolicyStatements) != 1 || p.RegistryPolicyStatements[0].Managed {
		t.Errorf("changes %v, statements %+v", p.Changes, p.RegistryPolicyStatements)
	}
}

func TestRegistryPolicyWaitsForNewRole(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	r := newFakeRegistry(f)
	r.policies["shared/base"] = nil
	r.rejectPrincipal = 2
	p := registryPlan(t, r, crossAccountSpec(""))
	var notes []string
	_, err := Apply(context.Background(), f, p, Options{
		Registry:         func(string) RegistryAPI { return r },
		PropagationWaits: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond},
		Progress: func(e Event) {
			if e.Message != "" {
				f.mu.Lock()
				notes = append(notes, e.Message)
				f.mu.Unlock()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := slices.Index(r.calls, "SetRepositoryPolicy"); n < 0 || len(notes) != 2 {
		t.Errorf("calls %v, notes %v", r.calls, notes)
	}

	// Without registry credentials the change fails and says what to pass.
	r.policies["shared/base"] = nil
	p = registryPlan(t, r, crossAccountSpec(""))
	_, err = Apply(context.Background(), f, p, Options{})
	var applyErr *ApplyError
	if !errors.As(err, &applyErr) || !strings.Contains(err.Error(), "--registry-profile") {
		t.Errorf("apply without a registry client: %v", err)
	}
}

func TestAccessPushGrantsPushActions(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, Spec{OrgID: testOrg, Repositories: []string{"app"}, ProjectIDs: []string{testProject}, Region: "us-east-1", Access: policy.AccessPush})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.PermissionsPolicy.Statement[0].Action; !slices.Contains(got, policy.ActionPutImage) || len(got) != 7 {
		t.Errorf("push actions = %v", got)
	}
	_, err = Spec{OrgID: testOrg, Repositories: []string{"app"}, ProjectIDs: []string{testProject}, Region: "us-east-1", Access: "admin"}.Validate()
	var in *InputError
	if !errors.As(err, &in) || in.Field != FieldAccess {
		t.Errorf("Validate with --access admin: %v", err)
	}
}

// TestDestroyRemovesRegistryStatements: destroy with the registry's
// credentials takes the role's statement out of each foreign repository's
// policy, keeping the owner's statements byte for byte, or deletes a policy
// that held only ours; without them it keeps the statements and says so.
func TestDestroyRemovesRegistryStatements(t *testing.T) {
	others := `{"Version":"2012-10-17","Statement":[` + othersStatement + `]}`
	const soleRepoARN = "arn:aws:ecr:us-east-1:" + registryAccount + ":repository/shared/sole"
	f := newFakeAWS()
	f.repos["app"] = true
	r := newFakeRegistry(f)
	r.policies["shared/base"] = &others
	r.policies["shared/sole"] = nil
	spec := crossAccountSpec(policy.AccessPull)
	spec.Repositories = append(spec.Repositories, soleRepoARN)
	applyRegistry(t, r, registryPlan(t, r, spec))
	if r.policies["shared/sole"] == nil || !strings.Contains(*r.policies["shared/base"], "CircleCIOIDC") {
		t.Fatalf("setup did not merge the statements: %v", r.policies)
	}

	// Without the registry's credentials: kept, with the reason.
	st, err := ObserveDestroy(context.Background(), f.clients(), testOrg, DefaultRoleName)
	if err != nil {
		t.Fatal(err)
	}
	p := NewDestroyPlan(testOrg, DefaultRoleName, st, false)
	kept := 0
	for _, k := range p.Keeps {
		if k.Resource == ResourceRepositoryPolicy && strings.Contains(k.Reason, "--registry-profile") {
			kept++
		}
	}
	if kept != 2 || slices.ContainsFunc(p.Deletes, func(c Change) bool { return c.Resource == ResourceRepositoryPolicy }) {
		t.Fatalf("without --registry-profile: %d kept, deletes %v", kept, p.Deletes)
	}

	st, err = ObserveDestroy(context.Background(), r.clients(), testOrg, DefaultRoleName)
	if err != nil {
		t.Fatal(err)
	}
	p = NewDestroyPlan(testOrg, DefaultRoleName, st, false)
	var order []string
	for _, c := range p.Deletes {
		order = append(order, string(c.Action)+" "+string(c.Resource))
	}
	want := []string{"delete role-policy", "remove-statement repository-policy", "remove-statement repository-policy", "delete iam-role", "delete oidc-provider"}
	if !slices.Equal(order, want) {
		t.Fatalf("destroy plans %v, want %v", order, want)
	}
	r.calls = nil
	if _, err := Destroy(context.Background(), r.clients(), p, nil); err != nil {
		t.Fatal(err)
	}
	if got := r.writes(); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"DeleteRepositoryPolicy", "SetRepositoryPolicy"}) {
		t.Errorf("registry writes %v", got)
	}
	if got := *r.policies["shared/base"]; got != others {
		t.Errorf("the owner's policy is not restored byte for byte:\n%s\nwant\n%s", got, others)
	}
	if r.policies["shared/sole"] != nil {
		t.Errorf("the policy that held only our statement is still there: %s", *r.policies["shared/sole"])
	}
	// Nothing left: a second destroy plans nothing and reads no registry.
	st, err = ObserveDestroy(context.Background(), r.clients(), testOrg, DefaultRoleName)
	if err != nil {
		t.Fatal(err)
	}
	if p := NewDestroyPlan(testOrg, DefaultRoleName, st, false); len(p.Deletes) > 0 {
		t.Errorf("second destroy plans %v", p.Deletes)
	}
}

// TestApplyMergesIntoTheCurrentRepositoryPolicy: a statement the registry's
// owner adds between the plan and the write is kept; the write merges into
// the policy as it is then, not as the plan read it.
func TestApplyMergesIntoTheCurrentRepositoryPolicy(t *testing.T) {
	others := `{"Version":"2012-10-17","Statement":[` + othersStatement + `]}`
	f := newFakeAWS()
	f.repos["app"] = true
	r := newFakeRegistry(f)
	r.policies["shared/base"] = &others
	p := registryPlan(t, r, crossAccountSpec(policy.AccessPull))
	const late = `{"Sid": "AddedAfterThePlan", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "ecr:BatchGetImage"}`
	now := `{"Version":"2012-10-17","Statement":[` + othersStatement + `,` + late + `]}`
	r.policies["shared/base"] = &now
	applyRegistry(t, r, p)
	doc := *r.policies["shared/base"]
	if !strings.Contains(doc, othersStatement) || !strings.Contains(doc, late) || !strings.Contains(doc, policy.RepositorySid("arn:aws:iam::123456789012:role/"+DefaultRoleName)) {
		t.Errorf("the write lost a statement:\n%s", doc)
	}
}

// TestConcurrentRolesMergeIntoOneRepositoryPolicy: two roles' plans (the
// shards of one setup) written at once with shared locks both end up in
// the repository policy.
func TestConcurrentRolesMergeIntoOneRepositoryPolicy(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	r := newFakeRegistry(f)
	r.policies["shared/base"] = nil
	var plans []*Plan
	for _, name := range []string{"shard-1", "shard-2", "shard-3"} {
		s := crossAccountSpec(policy.AccessPull)
		s.RoleName = name
		plans = append(plans, registryPlan(t, r, s))
	}
	locks := NewRepositoryLocks()
	errs := make(chan error, len(plans))
	for _, p := range plans {
		go func() {
			_, err := Apply(context.Background(), r.f, p, Options{Registry: func(string) RegistryAPI { return r }, RepositoryLocks: locks, PropagationWaits: []time.Duration{time.Millisecond}})
			errs <- err
		}()
	}
	for range plans {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	doc := *r.policies["shared/base"]
	for _, name := range []string{"shard-1", "shard-2", "shard-3"} {
		if !strings.Contains(doc, policy.RepositorySid("arn:aws:iam::123456789012:role/"+name)) {
			t.Errorf("the statement of %s is missing:\n%s", name, doc)
		}
	}
}

// TestDestroyReReadsTheRepositoryPolicy: when our statement was the only
// one at plan time but the owner added one since, destroy removes only ours
// instead of deleting the whole policy.
func TestDestroyReReadsTheRepositoryPolicy(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	r := newFakeRegistry(f)
	r.policies["shared/base"] = nil
	applyRegistry(t, r, registryPlan(t, r, crossAccountSpec(policy.AccessPull)))
	st, err := ObserveDestroy(context.Background(), r.clients(), testOrg, DefaultRoleName)
	if err != nil {
		t.Fatal(err)
	}
	p := NewDestroyPlan(testOrg, DefaultRoleName, st, false)
	i := slices.IndexFunc(p.Deletes, func(c Change) bool { return c.Resource == ResourceRepositoryPolicy })
	if i < 0 || !strings.Contains(p.Deletes[i].Reason, "is the only one") {
		t.Fatalf("plan: %v", p.Deletes)
	}
	withOwner := strings.Replace(*r.policies["shared/base"], `"Statement":[`, `"Statement":[`+othersStatement+`,`, 1)
	r.policies["shared/base"] = &withOwner
	if _, err := Destroy(context.Background(), r.clients(), p, nil); err != nil {
		t.Fatal(err)
	}
	got := r.policies["shared/base"]
	if got == nil || !strings.Contains(*got, othersStatement) || strings.Contains(*got, "CircleCIOIDC") {
		t.Errorf("after destroy the policy is %v; want the owner's statement alone", got)
	}
}

// TestDestroyKeepsAProviderTrustedSinceThePlan: a role that starts trusting
// the provider after the plan keeps it from being deleted.
func TestDestroyKeepsAProviderTrustedSinceThePlan(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
		t.Fatal(err)
	}
	st, err := ObserveDestroy(context.Background(), f.clients(), testOrg, DefaultRoleName)
	if err != nil {
		t.Fatal(err)
	}
	dp := NewDestroyPlan(testOrg, DefaultRoleName, st, false)
	if !slices.ContainsFunc(dp.Deletes, func(c Change) bool { return c.Resource == ResourceProvider }) {
		t.Fatalf("the plan keeps the provider: %v", dp.Keeps)
	}
	f.roles["newcomer"] = &fakeRole{trust: f.roles[DefaultRoleName].trust, inline: map[string]string{}}
	_, err = Destroy(context.Background(), f.clients(), dp, nil)
	if err == nil || !strings.Contains(err.Error(), "newcomer started trusting it") {
		t.Fatalf("destroy: %v", err)
	}
	if len(f.providers) != 1 {
		t.Errorf("%d providers left, want the provider kept", len(f.providers))
	}
	if _, ok := f.roles[DefaultRoleName]; ok {
		t.Error("the role was not deleted")
	}
}
