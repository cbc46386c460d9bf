package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

const (
	orgAudience     = "https://ci.example.com"
	projectAudience = "api://acme-ci"
	orgSource       = "organization gh/acme custom audience"
	projectSource   = "project gh/acme/app custom audience"
)

// audienceSpec is validSpec with an organization and a project audience.
func audienceSpec() Spec {
	s := validSpec()
	s.Audiences = []Audience{{Value: orgAudience, Source: orgSource}, {Value: projectAudience, Source: projectSource}}
	return s
}

// wantClientIDs are audienceSpec's client IDs: the organization ID first.
var wantClientIDs = []string{testOrg, projectAudience, orgAudience}

func TestValidateAudiences(t *testing.T) {
	tests := []struct {
		name      string
		audiences []Audience
		want      []Audience
		wantErr   string
	}{
		{name: "none", audiences: nil, want: nil},
		{name: "sorted, the organization ID dropped, sources of a repeat joined",
			audiences: []Audience{
				{Value: "b", Source: orgSource}, {Value: testOrg, Source: "organization gh/acme default audience"},
				{Value: "a", Source: projectSource}, {Value: "b", Source: projectSource}, {Value: "b", Source: orgSource},
			},
			want: []Audience{{Value: "a", Source: projectSource}, {Value: "b", Source: orgSource + ", " + projectSource}}},
		{name: "the organization ID in another case is another audience",
			audiences: []Audience{{Value: strings.ToUpper(testOrg), Source: orgSource}},
			want:      []Audience{{Value: strings.ToUpper(testOrg), Source: orgSource}}},
		{name: "empty", audiences: []Audience{{Value: "", Source: orgSource}}, wantErr: `audience from organization gh/acme custom audience is empty: IAM takes client IDs of 1 to 255 characters`},
		{name: "too long", audiences: []Audience{{Value: strings.Repeat("a", 256)}}, wantErr: "1 to 255 characters"},
		{name: "255 characters fit", audiences: []Audience{{Value: strings.Repeat("a", 255)}}, want: []Audience{{Value: strings.Repeat("a", 255)}}},
		{name: "a control character", audiences: []Audience{{Value: "a\nb"}}, wantErr: "without control characters"},
		{name: "invalid UTF-8", audiences: []Audience{{Value: "a\xffb"}}, wantErr: "valid UTF-8"},
		{name: "a policy variable", audiences: []Audience{{Value: "${aws:username}", Source: projectSource}}, wantErr: `invalid audience "${aws:username}": from project gh/acme/app custom audience: must not contain "${"`},
		{name: "more than the provider holds", audiences: numberedAudiences(100), wantErr: "at most 100 client IDs, the organization ID included"},
		{name: "as many as the provider holds", audiences: numberedAudiences(99), want: numberedAudiences(99)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			s.Audiences = tt.audiences
			got, err := s.Validate()
			if tt.wantErr != "" {
				var ie *InputError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Validate error %v, want an *InputError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Audiences, tt.want) {
				t.Errorf("Audiences = %q, want %q", got.Audiences, tt.want)
			}
		})
	}
}

// numberedAudiences returns n audiences aud-000, aud-001, ..., sorted.
func numberedAudiences(n int) []Audience {
	out := make([]Audience, n)
	for i := range out {
		out[i] = Audience{Value: fmt.Sprintf("aud-%03d", i), Source: orgSource}
	}
	return out
}

// auds returns the trust policy's aud values.
func auds(t *testing.T, trust string) []string {
	t.Helper()
	doc, err := policy.Parse(trust)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Statement[0].Condition["StringEquals"][policy.ProviderPath(testOrg)+":aud"]
}

func providerStep(t *testing.T, p *Plan) Step {
	t.Helper()
	for _, s := range p.Steps {
		if s.Kind == KindProvider {
			return s
		}
	}
	t.Fatal("no provider step")
	return Step{}
}

// TestPlanAndApplyAudiences plans against a fake account, applies, and
// checks the provider's client IDs and the trust policy's aud values, the
// writes (one AddClientIDToOpenIDConnectProvider per missing audience, and
// none for what the provider holds), and that a rerun writes nothing.
func TestPlanAndApplyAudiences(t *testing.T) {
	tests := []struct {
		name        string
		clientIDs   []string // the existing provider's; nil: no provider
		want        []string // the changes
		wantWrites  []string
		wantIDs     []string // the provider's client IDs after
		wantReason  string
		wantWarning bool
	}{
		{name: "a new provider is created with every audience", want: []string{"create iam-role", "create oidc-provider", "create role-policy"},
			wantWrites: []string{"CreateOpenIDConnectProvider", "CreateRole", "PutRolePolicy"}, wantIDs: wantClientIDs,
			wantReason: "; its audiences: the organization ID and audience " + projectAudience + " (" + projectSource + "), audience " + orgAudience + " (" + orgSource + ")"},
		{name: "a provider with the organization ID alone gets both audiences", clientIDs: []string{testOrg},
			want:       []string{"add-audience oidc-provider", "create iam-role", "create role-policy"},
			wantWrites: []string{"AddClientIDToOpenIDConnectProvider", "AddClientIDToOpenIDConnectProvider", "CreateRole", "PutRolePolicy"},
			wantIDs:    []string{testOrg, projectAudience, orgAudience},
			wantReason: "the existing provider's audiences [" + testOrg + "] lack audience " + projectAudience + " (" + projectSource + "), audience " + orgAudience + " (" + orgSource + ")"},
		{name: "only what a provider lacks is added, and nothing is removed", clientIDs: []string{"someone-elses", orgAudience},
			want:       []string{"add-audience oidc-provider", "create iam-role", "create role-policy"},
			wantWrites: []string{"AddClientIDToOpenIDConnectProvider", "AddClientIDToOpenIDConnectProvider", "CreateRole", "PutRolePolicy"},
			wantIDs:    []string{"someone-elses", orgAudience, testOrg, projectAudience},
			wantReason: "lack the organization ID, audience " + projectAudience + " (" + projectSource + ")", wantWarning: false},
		{name: "a provider holding every audience is left alone", clientIDs: []string{orgAudience, "x", projectAudience, testOrg},
			want:       []string{"create iam-role", "create role-policy"},
			wantWrites: []string{"CreateRole", "PutRolePolicy"}, wantIDs: []string{orgAudience, "x", projectAudience, testOrg},
			wantReason: "exists, and its audiences include the organization ID and audience " + projectAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWS()
			f.repos["app"] = true
			if tt.clientIDs != nil {
				f.providers[testProviderARN] = &fakeProvider{clientIDs: slices.Clone(tt.clientIDs)}
			}
			p, err := planFor(t, f, audienceSpec())
			if err != nil {
				t.Fatal(err)
			}
			if got := changeKeys(p); !slices.Equal(got, tt.want) {
				t.Errorf("changes %v, want %v", got, tt.want)
			}
			if r := providerStep(t, p).Reason; !strings.Contains(r, tt.wantReason) {
				t.Errorf("provider reason %q, want it to contain %q", r, tt.wantReason)
			}
			if got := auds(t, p.Steps[1].Desired.Document); !slices.Equal(got, wantClientIDs) {
				t.Errorf("trust policy aud %q, want %q", got, wantClientIDs)
			}
			if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
				t.Fatal(err)
			}
			if got := f.writes(); !slices.Equal(got, tt.wantWrites) {
				t.Errorf("writes %v, want %v", got, tt.wantWrites)
			}
			if got := f.providers[testProviderARN].clientIDs; !slices.Equal(got, tt.wantIDs) {
				t.Errorf("client IDs %q, want %q", got, tt.wantIDs)
			}
			f.calls = nil
			again, err := planFor(t, f, audienceSpec())
			if err != nil {
				t.Fatal(err)
			}
			if again.HasChanges() {
				t.Errorf("rerun plans %v", again.Changes)
			}
		})
	}
}

// TestPlanAudienceAddedLater: a converged account whose organization then
// sets an audience gets it added to the provider and to the trust policy's
// aud condition, each change saying why.
func TestPlanAudienceAddedLater(t *testing.T) {
	f := converged(t)
	s := validSpec()
	s.Audiences = []Audience{{Value: orgAudience, Source: orgSource}}
	p, err := planFor(t, f, s)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := changeKeys(p), []string{"add-audience oidc-provider", "update trust-policy"}; !slices.Equal(got, want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
	wantWhy := "audience " + orgAudience + " (" + orgSource + ")"
	for _, c := range p.Changes {
		if !strings.HasSuffix(c.Reason, wantWhy) {
			t.Errorf("%s reason %q, want it to end with %q", c, c.Reason, wantWhy)
		}
	}
	if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
		t.Fatal(err)
	}
	if got, want := f.writes(), []string{"AddClientIDToOpenIDConnectProvider", "UpdateAssumeRolePolicy"}; !slices.Equal(got, want) {
		t.Errorf("writes %v, want %v", got, want)
	}
	if got := auds(t, f.roles[DefaultRoleName].trust); !slices.Equal(got, []string{testOrg, orgAudience}) {
		t.Errorf("trust policy aud %q", got)
	}
}

// TestApplyAudienceFailureNamesIt: a failed AddClientID names the audience
// and its source, and what follows it is not written.
func TestApplyAudienceFailureNamesIt(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	f.providers[testProviderARN] = &fakeProvider{clientIDs: []string{testOrg}}
	p, err := planFor(t, f, audienceSpec())
	if err != nil {
		t.Fatal(err)
	}
	f.failures["AddClientIDToOpenIDConnectProvider"] = apiError("AccessDenied")
	_, err = Apply(context.Background(), f, p, Options{})
	want := "add audience " + projectAudience + " (" + projectSource + "): api error AccessDenied"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Apply error %v, want it to contain %q", err, want)
	}
	if n := strings.Count(strings.Join(f.writes(), " "), "AddClientID"); n != 1 {
		t.Errorf("%d AddClientID calls after the first failed, want 1", n)
	}
}

// TestApplyProviderRaceLostAddsTheMissingAudiences: another run created the
// provider, with the organization ID only, between the plan and the
// write: the audiences it lacks are added, one call each.
func TestApplyProviderRaceLostAddsTheMissingAudiences(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, audienceSpec())
	if err != nil {
		t.Fatal(err)
	}
	f.providers[testProviderARN] = &fakeProvider{clientIDs: []string{testOrg, orgAudience}}
	if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
		t.Fatal(err)
	}
	if got, want := f.providers[testProviderARN].clientIDs, []string{testOrg, orgAudience, projectAudience}; !slices.Equal(got, want) {
		t.Errorf("client IDs %q, want %q", got, want)
	}
	if n := strings.Count(strings.Join(f.writes(), " "), "AddClientID"); n != 1 {
		t.Errorf("%d AddClientID calls, want 1", n)
	}
}

func TestPlanRefusesMoreClientIDsThanAProviderHolds(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	var ids []string
	for i := range 98 {
		ids = append(ids, fmt.Sprintf("other-%02d", i))
	}
	f.providers[testProviderARN] = &fakeProvider{clientIDs: append(ids, testOrg)}
	_, err := planFor(t, f, audienceSpec())
	var qe *QuotaError
	if !errors.As(err, &qe) || qe.Size != 101 || qe.Quota != MaxClientIDs || !strings.Contains(err.Error(), "needs 2 more") {
		t.Fatalf("error %v, want a *QuotaError for 101 client IDs", err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("wrote %v", w)
	}
}

func TestPlanWarnsAboutSTSAudienceOnlyWhenNotConfigured(t *testing.T) {
	for _, configured := range []bool{false, true} {
		f := newFakeAWS()
		f.repos["app"] = true
		f.providers[testProviderARN] = &fakeProvider{clientIDs: []string{"sts.amazonaws.com"}}
		s := validSpec()
		if configured {
			s.Audiences = []Audience{{Value: "sts.amazonaws.com", Source: orgSource}}
		}
		p, err := planFor(t, f, s)
		if err != nil {
			t.Fatal(err)
		}
		warned := slices.ContainsFunc(p.Warnings, func(w string) bool { return strings.Contains(w, "sts.amazonaws.com") })
		if warned == configured {
			t.Errorf("sts.amazonaws.com configured %v: warned %v (%q)", configured, warned, p.Warnings)
		}
	}
}

func TestVerifyStateAudiences(t *testing.T) {
	tests := []struct {
		name    string
		state   func(*fakeAWS)
		failed  []string
		details []string
	}{
		{name: "converged", failed: []string{}},
		{name: "the provider lacks a configured audience",
			state:   func(f *fakeAWS) { f.providers[testProviderARN].clientIDs = []string{testOrg, orgAudience} },
			failed:  []string{CheckProviderAudience},
			details: []string{"client IDs [" + testOrg + ", " + orgAudience + "] lack audience " + projectAudience + " (" + projectSource + "), so STS rejects the tokens that carry it with \"Incorrect token audience\"; run setup to add audience " + projectAudience}},
		{name: "the provider lacks the organization ID and both audiences",
			state:  func(f *fakeAWS) { f.providers[testProviderARN].clientIDs = []string{"sts.amazonaws.com"} },
			failed: []string{CheckProviderAudience},
			details: []string{"lack the organization ID " + testOrg + ", so STS rejects every CircleCI token",
				"; they also lack audience " + projectAudience + " (" + projectSource + "), audience " + orgAudience + " (" + orgSource + "), so STS rejects the tokens that carry it with \"Incorrect token audience\"; run setup to add audiences " + projectAudience + " and " + orgAudience}},
		{name: "the trust policy lacks an audience",
			state: func(f *fakeAWS) {
				f.roles[DefaultRoleName].trust = strings.Replace(f.roles[DefaultRoleName].trust, `"`+orgAudience+`",`, "", 1)
				f.roles[DefaultRoleName].trust = strings.Replace(f.roles[DefaultRoleName].trust, `,"`+orgAudience+`"`, "", 1)
			},
			failed:  []string{CheckTrustPolicy},
			details: []string{"; its aud condition refuses audience " + orgAudience + " (" + orgSource + "), so STS denies the tokens that carry it; run setup to add audience " + orgAudience}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWS()
			f.repos["app"] = true
			applyPlan(t, f, audienceSpec())
			if tt.state != nil {
				tt.state(f)
			}
			f.calls = nil
			r, _ := verifyFake(t, f, audienceSpec())
			if w := f.writes(); len(w) != 0 {
				t.Errorf("verify wrote %v", w)
			}
			if got := failedItems(r); !slices.Equal(got, tt.failed) {
				t.Fatalf("failed items %v, want %v\n%+v", got, tt.failed, r.Checks)
			}
			for _, want := range tt.details {
				if !slices.ContainsFunc(r.Failed(), func(c Check) bool { return strings.Contains(c.Detail, want) }) {
					t.Errorf("no failed item says %q: %+v", want, r.Failed())
				}
			}
			if len(tt.failed) == 0 {
				want := "client IDs include the organization ID " + testOrg + " and audience " + projectAudience
				if !slices.ContainsFunc(r.Checks, func(c Check) bool { return c.Item == CheckProviderAudience && strings.HasPrefix(c.Detail, want) }) {
					t.Errorf("no provider-audience item says %q: %+v", want, r.Checks)
				}
			}
		})
	}
}

func TestWriteTextShowsAudiences(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	f.providers[testProviderARN] = &fakeProvider{clientIDs: []string{testOrg}}
	p, err := planFor(t, f, audienceSpec())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := p.WriteText(&b, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"               exists (shared): audience " + projectAudience + " (" + projectSource + "), audience " + orgAudience + " (" + orgSource + ") will be added\n",
		"Audiences      " + testOrg + " (the organization ID)\n               " + projectAudience + " (" + projectSource + ")\n               " + orgAudience + " (" + orgSource + ")\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, b.String())
		}
	}
	// Without audiences, the plan text is as it always was.
	plain, err := planFor(t, newFakeAWS(), Spec{OrgID: testOrg, Repositories: []string{"app"}, ProjectIDs: []string{testProject}, Region: "us-east-1", AllowMissingRepos: true})
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := plain.WriteText(&b, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "Audiences") {
		t.Errorf("a plan without audiences lists them:\n%s", b.String())
	}
}

// TestTrustQuotaHintCountsAudiences: the "k of n projects fit" hint is
// exact with audiences too: k projects fit the quota, k+1 do not.
func TestTrustQuotaHintCountsAudiences(t *testing.T) {
	s := audienceSpec()
	s.Audiences = append(s.Audiences, Audience{Value: strings.Repeat("x", 255), Source: orgSource})
	s.ProjectIDs = manyProjects(60)
	f := newFakeAWS()
	f.repos["app"] = true
	_, err := planFor(t, f, s)
	var qe *QuotaError
	if !errors.As(err, &qe) {
		t.Fatalf("error %v, want a *QuotaError", err)
	}
	var fit int
	if _, err := fmt.Sscanf(qe.Hint, "%d of the 60 projects fit", &fit); err != nil {
		t.Fatalf("hint %q: %v", qe.Hint, err)
	}
	size := func(n int) int {
		v := mustSpec(t, s)
		doc, err := policy.TrustPolicy(v.trust("aws", "123456789012", v.ProjectIDs[:n]))
		if err != nil {
			t.Fatal(err)
		}
		n, _ = doc.Size()
		return n
	}
	if size(fit) > DefaultTrustPolicyQuota || size(fit+1) <= DefaultTrustPolicyQuota {
		t.Errorf("hint says %d fit: %d projects take %d characters, %d take %d (quota %d)", fit, fit, size(fit), fit+1, size(fit+1), DefaultTrustPolicyQuota)
	}
}

// TestPlanShardsCountsAudiences: the shards are sized with the audiences in
// every trust policy, so each role's trust policy fits and admits them.
func TestPlanShardsCountsAudiences(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	s := shardSpec(manyProjects(60))
	s.Audiences = []Audience{{Value: strings.Repeat("a", 255), Source: orgSource}, {Value: strings.Repeat("b", 255), Source: projectSource}}
	sp, err := PlanShards(context.Background(), f.clients(), mustSpec(t, s))
	if err != nil {
		t.Fatal(err)
	}
	admitted := 0
	for _, p := range sp.Plans {
		if p.TrustPolicySize > p.TrustPolicyQuota {
			t.Errorf("role %s: trust policy %d characters, quota %d", p.RoleName, p.TrustPolicySize, p.TrustPolicyQuota)
		}
		trust, _ := p.TrustPolicy.JSON()
		if got := auds(t, trust); len(got) != 3 {
			t.Errorf("role %s admits audiences %q", p.RoleName, got)
		}
		admitted += len(p.Spec.ProjectIDs)
	}
	if admitted != 60 || len(sp.Plans) < 3 {
		t.Errorf("%d roles admit %d projects; want all 60 over at least 3 roles (two without audiences)", len(sp.Plans), admitted)
	}
}

func TestExportPlanCarriesAudiences(t *testing.T) {
	p, err := ExportPlan(mustSpec(t, audienceSpec()), "aws", "123456789012")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.ProviderClientIDs(); !slices.Equal(got, wantClientIDs) {
		t.Errorf("ProviderClientIDs = %q, want %q", got, wantClientIDs)
	}
	trust, _ := p.TrustPolicy.JSON()
	if got := auds(t, trust); !slices.Equal(got, wantClientIDs) {
		t.Errorf("trust policy aud %q, want %q", got, wantClientIDs)
	}
}
