package provision

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/token"
)

func verifyFake(t *testing.T, f *fakeAWS, s Spec) (*StateReport, *Observed) {
	t.Helper()
	spec := mustSpec(t, s)
	obs, err := Observe(context.Background(), f.clients(), spec)
	if err != nil {
		t.Fatal(err)
	}
	r, err := VerifyState(spec, obs)
	if err != nil {
		t.Fatal(err)
	}
	return r, obs
}

func failedItems(r *StateReport) []string {
	out := []string{}
	for _, c := range r.Failed() {
		out = append(out, c.Item)
	}
	return out
}

func TestVerifyState(t *testing.T) {
	tests := []struct {
		name   string
		state  func(t *testing.T) *fakeAWS
		spec   func(*Spec)
		failed []string
		detail string
		// warning, when set, is said by exactly one of the warnings.
		warning string
	}{
		{name: "converged", state: converged, failed: []string{}},
		{name: "empty account", state: func(*testing.T) *fakeAWS {
			f := newFakeAWS()
			f.repos["app"] = true
			return f
		}, failed: []string{CheckProvider, CheckRole}},
		{name: "audience sts.amazonaws.com", state: func(t *testing.T) *fakeAWS {
			f := converged(t)
			f.providers[testProviderARN].clientIDs = []string{"sts.amazonaws.com"}
			return f
		}, failed: []string{CheckProviderAudience}, detail: "copied from GitHub examples"},
		{name: "foreign role", state: func(t *testing.T) *fakeAWS {
			f := converged(t)
			f.roles[DefaultRoleName].tags = nil
			return f
		}, failed: []string{CheckOwnership, CheckTags}, detail: "setup refuses to change it without --adopt"},
		{name: "permissions drift", state: func(t *testing.T) *fakeAWS {
			f := converged(t)
			f.roles[DefaultRoleName].inline[PolicyName] = strings.ReplaceAll(f.roles[DefaultRoleName].inline[PolicyName], "repository/app", "repository/other")
			return f
		}, failed: []string{CheckPermissionsPolicy}},
		{name: "permissions policy deleted", state: func(t *testing.T) *fakeAWS {
			f := converged(t)
			delete(f.roles[DefaultRoleName].inline, PolicyName)
			return f
		}, failed: []string{CheckPermissionsPolicy}, detail: "missing"},
		{name: "different flags: another project", state: converged, spec: func(s *Spec) { s.ProjectIDs = []string{otherProj} }, failed: []string{CheckTrustPolicy}},
		{name: "missing repository", state: converged, spec: func(s *Spec) { s.Repositories = []string{"app", "gone"} }, failed: []string{CheckPermissionsPolicy, CheckRepositories}, detail: "not found in us-east-1: gone"},
		{name: "wrong org tag", state: func(t *testing.T) *fakeAWS {
			f := converged(t)
			f.roles[DefaultRoleName].tags = ownedTags(otherProj)
			return f
		}, failed: []string{CheckOwnership, CheckTags}},
		{name: "reordered trust policy is not drift", state: func(t *testing.T) *fakeAWS {
			f := converged(t)
			doc, _ := policy.Parse(f.roles[DefaultRoleName].trust)
			b, _ := doc.Indented()
			f.roles[DefaultRoleName].trust = b
			return f
		}, failed: []string{}},
		{name: "other policies on the role", state: func(t *testing.T) *fakeAWS {
			f := converged(t)
			f.roles[DefaultRoleName].attached = []string{"arn:aws:iam::aws:policy/AdministratorAccess"}
			return f
		}, failed: []string{}, warning: "AdministratorAccess"},
		{name: "other policies on a foreign role", state: func(t *testing.T) *fakeAWS {
			f := converged(t)
			f.roles[DefaultRoleName].tags = nil
			f.roles[DefaultRoleName].attached = []string{"arn:aws:iam::aws:policy/AdministratorAccess"}
			return f
		}, failed: []string{CheckOwnership, CheckTags}, warning: "AdministratorAccess"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.state(t)
			f.calls = nil
			s := validSpec()
			if tt.spec != nil {
				tt.spec(&s)
			}
			r, _ := verifyFake(t, f, s)
			if w := f.writes(); len(w) != 0 {
				t.Errorf("verify wrote %v", w)
			}
			if got := failedItems(r); !slices.Equal(got, tt.failed) {
				t.Errorf("failed items %v, want %v\n%+v", got, tt.failed, r.Checks)
			}
			if r.OK() != (len(tt.failed) == 0) {
				t.Errorf("OK() = %v", r.OK())
			}
			if n := len(slices.DeleteFunc(slices.Clone(r.Warnings), func(w string) bool { return !strings.Contains(w, tt.warning) })); tt.warning != "" && n != 1 {
				t.Errorf("%d warnings say %q, want 1: %q", n, tt.warning, r.Warnings)
			}
			if tt.detail != "" && !slices.ContainsFunc(r.Failed(), func(c Check) bool { return strings.Contains(c.Detail, tt.detail) }) {
				t.Errorf("no failed item says %q: %+v", tt.detail, r.Failed())
			}
			for _, c := range r.Failed() {
				if (c.Item == CheckTrustPolicy || c.Item == CheckPermissionsPolicy) && !strings.Contains(c.Detail, "missing") && len(c.Diff) == 0 {
					t.Errorf("%s differs but has no diff", c.Item)
				}
			}
		})
	}
}

func TestVerifyStateDiffNamesTheProjects(t *testing.T) {
	s := validSpec()
	s.ProjectIDs = []string{otherProj}
	r, _ := verifyFake(t, converged(t), s)
	diff := strings.Join(r.Failed()[0].Diff, "\n")
	if !strings.Contains(diff, `- `) || !strings.Contains(diff, testProject) || !strings.Contains(diff, otherProj) {
		t.Errorf("diff:\n%s", diff)
	}
	for _, l := range r.Failed()[0].Diff {
		if strings.HasPrefix(l, "- ") && strings.Contains(l, otherProj) || strings.HasPrefix(l, "+ ") && strings.Contains(l, testProject) {
			t.Errorf("diff direction wrong (- is live, + is setup): %q", l)
		}
	}
}

func TestLineDiff(t *testing.T) {
	tests := []struct {
		a, b, want []string
	}{
		{[]string{"x", "y"}, []string{"x", "y"}, nil},
		{[]string{"a", "b", "c"}, []string{"a", "B", "c"}, []string{"  a", "- b", "+ B", "  c"}},
		{[]string{}, []string{"n"}, []string{"+ n"}},
		{[]string{"1", "2", "3", "4", "5", "6", "7", "8"}, []string{"1", "2", "3", "4", "5", "6", "7", "X"},
			[]string{"  ...", "  6", "  7", "- 8", "+ X"}},
	}
	for _, tt := range tests {
		if got := LineDiff(tt.a, tt.b); !slices.Equal(got, tt.want) {
			t.Errorf("LineDiff(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestCheckToken(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	good := func() token.Claims {
		c, err := token.FromKeyValues("org-id=" + testOrg + ",project-id=" + testProject + ",exp=" + now.Add(time.Hour).Format(time.RFC3339))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	otherOrg := "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
	tests := []struct {
		name    string
		state   func(t *testing.T) *fakeAWS
		claims  func(token.Claims) token.Claims
		allowed bool
		verdict string
		trap    string
	}{
		{name: "allowed", state: converged, allowed: true, verdict: "allowed"},
		{name: "wrong project", state: converged, claims: func(c token.Claims) token.Claims {
			c.CircleCI.ProjectID = otherProj
			return c
		}, verdict: "denied at trust-policy: oidc.circleci.com/project-id " + otherProj + " does not equal " + testProject},
		{name: "project claim missing", state: converged, claims: func(c token.Claims) token.Claims {
			c.CircleCI.ProjectID = ""
			return c
		}, verdict: "oidc.circleci.com/project-id is missing from the token"},
		{name: "aud sts", state: converged, claims: func(c token.Claims) token.Claims {
			c.Audience = []string{"sts.amazonaws.com"}
			return c
		}, verdict: "denied at audience: aud sts.amazonaws.com is not among the provider's client IDs", trap: TrapAudienceSTS},
		{name: "provider lists only sts", state: func(t *testing.T) *fakeAWS {
			f := converged(t)
			f.providers[testProviderARN].clientIDs = []string{"sts.amazonaws.com"}
			return f
		}, verdict: "denied at audience: aud " + testOrg + " is not among the provider's client IDs [sts.amazonaws.com]"},
		{name: "expired", state: converged, claims: func(c token.Claims) token.Claims {
			c.ExpiresAt = now.Add(-time.Minute)
			return c
		}, verdict: "denied at expiry: exp 2026-11-01T11:59:00Z has passed (1m0s ago", trap: TrapExpired},
		{name: "root issuer", state: converged, claims: func(c token.Claims) token.Claims {
			c.Issuer = "https://oidc.circleci.com"
			return c
		}, verdict: "denied at issuer: iss https://oidc.circleci.com has no OIDC provider in account 123456789012", trap: TrapRootIssuer},
		{name: "token of another org", state: converged, claims: func(c token.Claims) token.Claims {
			c.Issuer = policy.IssuerURL(otherOrg)
			return c
		}, verdict: "No OpenIDConnect provider found in your account for https://oidc.circleci.com/org/" + otherOrg},
		{name: "no role", state: func(t *testing.T) *fakeAWS {
			f := converged(t)
			delete(f.roles, DefaultRoleName)
			return f
		}, verdict: "denied at trust-policy: the role does not exist"},
		{name: "role trusts another provider", state: func(t *testing.T) *fakeAWS {
			f := converged(t)
			f.roles[DefaultRoleName].trust = strings.ReplaceAll(f.roles[DefaultRoleName].trust, "arn:aws:iam::123456789012:oidc-provider/", "arn:aws:iam::999999999999:oidc-provider/")
			return f
		}, verdict: "does not include the provider " + testProviderARN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.state(t)
			spec := mustSpec(t, validSpec())
			obs, err := Observe(context.Background(), f.clients(), spec)
			if err != nil {
				t.Fatal(err)
			}
			c := good()
			if tt.claims != nil {
				c = tt.claims(c)
			}
			r, err := CheckToken(context.Background(), f, obs, c, true, now)
			if err != nil {
				t.Fatal(err)
			}
			if r.Allowed != tt.allowed || !strings.Contains(r.Verdict, tt.verdict) {
				t.Errorf("allowed %v, verdict %q; want %v, %q\n%+v", r.Allowed, r.Verdict, tt.allowed, tt.verdict, r.Steps)
			}
			if tt.trap != "" && !slices.Contains(r.Traps, tt.trap) {
				t.Errorf("traps %q lack %q", r.Traps, tt.trap)
			}
			if tt.trap == "" && len(r.Traps) > 0 {
				t.Errorf("unexpected traps %q", r.Traps)
			}
		})
	}
}

func TestCheckTokenV1AgainstBranchPin(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	s := validSpec()
	s.Branches = []string{"refs/heads/main"}
	p, err := planFor(t, f, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
		t.Fatal(err)
	}
	obs, err := Observe(context.Background(), f.clients(), mustSpec(t, s))
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := token.FromKeyValues("org-id=" + testOrg + ",project-id=" + testProject)
	r, err := CheckToken(context.Background(), f, obs, v1, true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r.Allowed || !strings.Contains(r.Verdict, "denied at trust-policy: sub org/"+testOrg+"/project/"+testProject+"/user/") || !slices.Contains(r.Traps, TrapV1BranchPin) {
		t.Errorf("verdict %q, traps %q", r.Verdict, r.Traps)
	}
	v2, _ := token.FromKeyValues("org-id=" + testOrg + ",project-id=" + testProject + ",vcs-origin=github.com/acme/app,vcs-ref=refs/heads/main")
	if r, _ := CheckToken(context.Background(), f, obs, v2, true, time.Now()); !r.Allowed || len(r.Traps) != 0 {
		t.Errorf("V2 on main: verdict %q, traps %q", r.Verdict, r.Traps)
	}
}

// TestCheckTokenNamesTheBranchPinGuard: verify explains a token from a
// branch that imitates the pinned ref as denied, and names the guard.
func TestCheckTokenNamesTheBranchPinGuard(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	for _, cond := range []policy.ProjectCondition{policy.ClaimKey, policy.Sub} {
		s := validSpec()
		s.ProjectCondition = cond
		s.Branches = []string{"refs/heads/main"}
		p, err := planFor(t, f, s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
			t.Fatal(err)
		}
		obs, err := Observe(context.Background(), f.clients(), mustSpec(t, s))
		if err != nil {
			t.Fatal(err)
		}
		evil, err := token.FromKeyValues("org-id=" + testOrg + ",project-id=" + testProject + ",vcs-origin=github.com/acme/app,vcs-ref=refs/heads/evil/vcs-ref/refs/heads/main")
		if err != nil {
			t.Fatal(err)
		}
		r, err := CheckToken(context.Background(), f, obs, evil, true, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if r.Allowed || !strings.Contains(r.Verdict, "denied at trust-policy: the branch-pin guard denies it") || !strings.Contains(r.Verdict, "/vcs-ref/refs/heads/evil/vcs-ref/refs/heads/main") {
			t.Errorf("%s: verdict %q", cond, r.Verdict)
		}
	}
}

// TestVerifyReportProblem checks the one-line reason a multi-account verify
// gives for an account: what differs and where a token fails.
func TestVerifyReportProblem(t *testing.T) {
	state := &StateReport{Checks: []Check{
		{Item: CheckProvider, OK: true}, {Item: CheckTrustPolicy}, {Item: CheckManagedPolicy}, {Item: CheckManagedPolicy}, {Item: CheckTags, OK: true},
	}}
	token := &TokenReport{Steps: []TokenStep{{Name: StepIssuer, Status: StepPass}, {Name: StepAudience, Status: StepFail}, {Name: StepTrustPolicy, Status: StepFail}}}
	assume := &AssumeReport{Steps: []TokenStep{{Name: StepAssume, Status: StepFail}, {Name: StepECRLogin, Status: StepSkip}}}
	for _, tt := range []struct {
		name   string
		report VerifyReport
		want   string
	}{
		{"ok", VerifyReport{OK: true, State: state}, ""},
		{"state", VerifyReport{State: state}, "verify: differs from setup's flags: trust-policy, managed-policy"},
		{"token", VerifyReport{Token: token}, "verify: the token fails at audience"},
		{"all", VerifyReport{State: state, Token: token, Assume: assume}, "verify: differs from setup's flags: trust-policy, managed-policy; the token fails at audience; presenting the token fails at sts:AssumeRoleWithWebIdentity"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.report.Problem()
			if (err == nil) != (tt.want == "") || (err != nil && err.Error() != tt.want) {
				t.Errorf("Problem() = %v, want %q", err, tt.want)
			}
		})
	}
}
