package provision

import (
	"context"
	"slices"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

func stepKeys(steps []Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, string(s.Action)+" "+string(s.Kind))
	}
	return out
}

// A converged account is planned resource by resource: every step is
// ActionNone, none is a change, and applying the plan writes nothing.
func TestPlanListsEveryResource(t *testing.T) {
	f := converged(t)
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"none provider", "none role", "none trust-policy", "none inline-policy", "none tags"}
	if got := stepKeys(p.Steps); !slices.Equal(got, want) {
		t.Errorf("steps = %v, want %v", got, want)
	}
	if p.HasChanges() || len(p.Changes) != 0 {
		t.Errorf("changes = %v, want none", p.Changes)
	}
	for _, s := range p.Steps {
		if s.Observed == nil || s.Desired == nil {
			t.Errorf("step %s: observed %v, desired %v; want both", s.Key(), s.Observed, s.Desired)
		}
	}
	if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
		t.Fatal(err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("apply of a plan without changes wrote %v", w)
	}
}

// A step carries what was observed and what is desired, and the executor
// writes the desired value it carries.
func TestStepCarriesObservedAndDesired(t *testing.T) {
	f := converged(t)
	role := f.roles[DefaultRoleName]
	role.trust = `{"Version":"2012-10-17","Statement":[]}`
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(p.Steps, func(s Step) bool { return s.Kind == KindTrustPolicy })
	if i < 0 {
		t.Fatalf("no trust-policy step in %v", stepKeys(p.Steps))
	}
	s := p.Steps[i]
	trust, _ := p.TrustPolicy.JSON()
	if s.Action != ActionUpdate || !policy.Equal(s.Observed.Document, role.trust) || s.Desired.Document != trust {
		t.Errorf("trust step = %+v, observed %+v, desired %+v", s.Change, s.Observed, s.Desired)
	}
	if got := changeKeys(p); !slices.Equal(got, []string{"update trust-policy"}) {
		t.Errorf("changes = %v", got)
	}
	if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
		t.Fatal(err)
	}
	if !policy.Equal(f.roles[DefaultRoleName].trust, trust) {
		t.Errorf("trust after apply = %s, want %s", f.roles[DefaultRoleName].trust, trust)
	}
}

// Every kind of step has its executor, registered in executorFor.
func TestExecutorForEveryKind(t *testing.T) {
	for _, k := range []Kind{KindProvider, KindRole, KindTrustPolicy, KindInlinePolicy, KindManagedPolicy, KindAttachment, KindTags, KindRepositoryPolicy} {
		if executorFor(k) == nil {
			t.Errorf("no executor for %s", k)
		}
	}
	if executorFor("unknown") != nil {
		t.Error("an unknown kind has an executor")
	}
}

// verify renders the plan's steps: a step that needs no change is an OK
// item, and a drifted document's item shows the step's own observed and
// desired values.
func TestVerifyRendersPlanSteps(t *testing.T) {
	f := converged(t)
	f.roles[DefaultRoleName].trust = `{"Version":"2012-10-17","Statement":[]}`
	spec := mustSpec(t, validSpec())
	r, obs := verifyFake(t, f, spec)
	p, err := NewPlan(spec, obs)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(p.Steps, func(s Step) bool { return s.Kind == KindTrustPolicy })
	if i < 0 {
		t.Fatalf("no trust-policy step in %v", stepKeys(p.Steps))
	}
	want := documentCheck(CheckTrustPolicy, DefaultRoleName, p.Steps[i].Observed.Document, p.Steps[i].Desired.Document, "the trust policy")
	j := slices.IndexFunc(r.Checks, func(c Check) bool { return c.Item == CheckTrustPolicy })
	if j < 0 || r.Checks[j].OK || !slices.Equal(r.Checks[j].Diff, want.Diff) || len(want.Diff) == 0 {
		t.Errorf("trust-policy item %+v, want the step's difference %v", r.Checks, want.Diff)
	}
	if got := failedItems(r); !slices.Equal(got, []string{CheckTrustPolicy}) {
		t.Errorf("failed items %v, want only the trust policy, the plan's one change %v", got, p.Changes)
	}
}
