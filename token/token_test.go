package token

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

const (
	testOrg     = "8e2a1b9c-1111-4a2b-9c3d-0123456789ab"
	testProject = "0d6c2f8e-2222-4b3c-8d4e-123456789abc"
	testOther   = "5f7e3a1d-3333-4c4d-9e5f-23456789abcd"
	testUser    = "a1b2c3d4-5555-4d5e-8f60-456789abcdef"
	testContext = "c0c0c0c0-6666-4777-8888-999999999999"
	testKid     = "test-key-1"
)

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
)

// testKey returns an RSA key generated once per test binary; tokens signed
// with it stand in for CircleCI's.
func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		key, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
	})
	return key
}

func subV1() string {
	return "org/" + testOrg + "/project/" + testProject + "/user/" + testUser
}

func subV2() string {
	return subV1() + "/vcs-origin/github.com/my-org/repo-1/vcs-ref/refs/heads/main"
}

// circleClaims returns claims shaped like a real CircleCI token.
func circleClaims(sub string) Claims {
	iat := time.Date(2026, 8, 20, 12, 0, 0, 0, time.UTC)
	ssh := false
	c := Claims{
		Issuer:    policy.IssuerURL(testOrg),
		Audience:  []string{testOrg},
		Subject:   sub,
		IssuedAt:  iat,
		NotBefore: iat,
		ExpiresAt: iat.Add(time.Hour),
		CircleCI: CircleCIClaims{
			ProjectID:            testProject,
			OrgID:                testOrg,
			ContextIDs:           []string{testContext},
			SSHRerun:             &ssh,
			JobID:                "11111111-aaaa-4bbb-8ccc-000000000001",
			WorkflowID:           "11111111-aaaa-4bbb-8ccc-000000000002",
			PipelineID:           "11111111-aaaa-4bbb-8ccc-000000000003",
			PipelineDefinitionID: "11111111-aaaa-4bbb-8ccc-000000000004",
		},
	}
	if s, err := ParseSubject(sub); err == nil && s.Version() == V2 {
		c.CircleCI.VCSOrigin, c.CircleCI.VCSRef = s.VCSOrigin, s.VCSRef
	}
	return c
}

func sign(t testing.TB, c Claims) string {
	t.Helper()
	raw, err := Sign(c, testKey(t), testKid)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestParseSignedTokens(t *testing.T) {
	tests := []struct {
		name    string
		claims  Claims
		version Version
	}{
		{"V1 ($CIRCLE_OIDC_TOKEN)", circleClaims(subV1()), V1},
		{"V2 ($CIRCLE_OIDC_TOKEN_V2)", circleClaims(subV2()), V2},
		{"V2 variable of a custom-webhook pipeline has the V1 layout", func() Claims {
			c := circleClaims(subV1())
			c.CircleCI.VCSOrigin, c.CircleCI.VCSRef = "", ""
			return c
		}(), V1},
		{"several audiences and contexts", func() Claims {
			c := circleClaims(subV2())
			c.Audience = []string{testOrg, "sts.amazonaws.com"}
			c.CircleCI.ContextIDs = []string{testContext, testOther}
			return c
		}(), V2},
		{"root issuer", func() Claims {
			c := circleClaims(subV1())
			c.Issuer = "https://" + policy.IssuerHost
			return c
		}(), V1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := sign(t, tc.claims)

			// The signature is real: it verifies with the public key.
			verified, err := jwt.Parse(raw, func(tok *jwt.Token) (any, error) {
				if tok.Header["kid"] != testKid {
					return nil, errors.New("wrong kid")
				}
				return &testKey(t).PublicKey, nil
			}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return tc.claims.IssuedAt }))
			if err != nil || !verified.Valid {
				t.Fatalf("signature does not verify: %v", err)
			}

			got, err := Parse(raw + "\n")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tc.claims) {
				t.Fatalf("claims differ:\ngot  %+v\nwant %+v", got, tc.claims)
			}
			if got.Version() != tc.version {
				t.Errorf("Version = %v, want %v", got.Version(), tc.version)
			}
			if got.OrgID() != testOrg {
				t.Errorf("OrgID = %q, want %q", got.OrgID(), testOrg)
			}
		})
	}
}

func TestParseAudienceForms(t *testing.T) {
	for _, aud := range []any{testOrg, []string{testOrg}, []string{testOrg, "x"}} {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"aud": aud, "sub": subV1()})
		raw, err := tok.SignedString(testKey(t))
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse(raw)
		if err != nil {
			t.Fatalf("aud %v: %v", aud, err)
		}
		want := aud
		if s, ok := aud.(string); ok {
			want = []string{s}
		}
		if !reflect.DeepEqual(c.Audience, want) {
			t.Errorf("aud %v parsed as %v", aud, c.Audience)
		}
	}
}

// segment base64url-encodes s without padding, as JWT segments are.
func segment(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestParseMalformed(t *testing.T) {
	header := segment(`{"alg":"RS256","typ":"JWT","kid":"k"}`)
	// A long signature-like segment that must never be echoed.
	sig := segment(strings.Repeat("secret-signature-bytes", 8))
	tok := func(payload string) string { return header + "." + segment(payload) + "." + sig }
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"empty", "  \n", "the token is empty"},
		{"two segments", header + "." + segment(`{"sub":"x"}`), "found 2 segments, a JWT has 3"},
		{"four segments", tok(`{}`) + ".extra", "found 4 segments"},
		{"bad base64 in the claims", header + ".e30$$." + sig, "the claims segment is not unpadded base64url"},
		{"padded base64", header + "." + segment(`{"a":1}`) + "=." + sig, "not unpadded base64url"},
		{"bad base64 in the signature", tok(`{}`)[:len(tok(`{}`))-len(sig)] + sig + "!", "the signature segment is not unpadded base64url"},
		{"header not JSON", segment("not json") + "." + segment(`{}`) + "." + sig, "the header segment is not a JSON object"},
		{"claims not JSON", tok("{sub: x}"), "the claims segment is not a JSON object"},
		{"claims a JSON array", tok(`["sub"]`), "the claims segment is not a JSON object"},
		{"claims null", tok(`null`), "not a JSON object"},
		{"aud as a number", tok(`{"aud": 12345}`), "claim aud must be a string or a list of strings, not a number"},
		{"aud list with a number", tok(`{"aud": ["a", 1]}`), "claim aud must be a string or a list of strings, but it lists a number"},
		{"sub as an object", tok(`{"sub": {"x": 1}}`), "claim sub must be a string, not an object"},
		{"exp as a string", tok(`{"exp": "tomorrow"}`), "claim exp must be a number of seconds since 1970, not a string"},
		{"exp negative", tok(`{"exp": -5}`), "claim exp is not a number of seconds between 1970 and 9999"},
		{"exp huge", tok(`{"exp": 1e300}`), "between 1970 and 9999"},
		{"ssh-rerun as a string", tok(`{"oidc.circleci.com/ssh-rerun": "false"}`), "claim oidc.circleci.com/ssh-rerun must be a boolean, not a string"},
		{"context-ids as a string", tok(`{"oidc.circleci.com/context-ids": "c"}`), "claim oidc.circleci.com/context-ids must be a list of strings, not a string"},
		{"project-id null", tok(`{"oidc.circleci.com/project-id": null}`), "must be a string, not null"},
		{"unknown algorithm", segment(`{"alg":"XX512"}`) + "." + segment(`{}`) + "." + sig, "no signing algorithm"},
		{"no algorithm", segment(`{"typ":"JWT"}`) + "." + segment(`{}`) + "." + sig, "no signing algorithm"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.raw)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not say %q", msg, tc.want)
			}
			if strings.Contains(msg, sig) || strings.Contains(msg, header) {
				t.Errorf("error echoes the token: %q", msg)
			}
			if trimmed := strings.TrimSpace(tc.raw); trimmed != "" && strings.Contains(msg, trimmed) {
				t.Errorf("error echoes the token: %q", msg)
			}
		})
	}
}

func TestParseSubject(t *testing.T) {
	tests := []struct {
		sub     string
		want    Subject
		wantErr bool
	}{
		{sub: subV1(), want: Subject{OrgID: testOrg, ProjectID: testProject, UserID: testUser}},
		{sub: subV2(), want: Subject{OrgID: testOrg, ProjectID: testProject, UserID: testUser, VCSOrigin: "github.com/my-org/repo-1", VCSRef: "refs/heads/main"}},
		{sub: "org/o/project/p/user/u/vcs-origin/bitbucket.org/w/r/vcs-ref/refs/tags/v1.2", want: Subject{OrgID: "o", ProjectID: "p", UserID: "u", VCSOrigin: "bitbucket.org/w/r", VCSRef: "refs/tags/v1.2"}},
		{sub: "", wantErr: true},
		{sub: "org/o/project/p", wantErr: true},
		{sub: "org//project/p/user/u", wantErr: true},
		{sub: "org/o/project/p/user/u/branch/main", wantErr: true},
		{sub: "org/o/project/p/user/u/vcs-origin/x", wantErr: true},
		{sub: "org/o/project/p/user/u/vcs-origin//vcs-ref/x", wantErr: true},
		{sub: "repo:my-org/repo:ref:refs/heads/main", wantErr: true}, // a GitHub Actions sub
	}
	for _, tc := range tests {
		got, err := ParseSubject(tc.sub)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseSubject(%q) = %+v, %v; want %+v, error %v", tc.sub, got, err, tc.want, tc.wantErr)
		}
		if err == nil && got.String() != tc.sub {
			t.Errorf("String() = %q, want %q", got.String(), tc.sub)
		}
		v := Claims{Subject: tc.sub}.Version()
		if tc.wantErr && v != VersionUnknown || !tc.wantErr && v != got.Version() {
			t.Errorf("Version(%q) = %v", tc.sub, v)
		}
	}
	if V1.String() != "V1" || V2.String() != "V2" || VersionUnknown.String() != "unknown" {
		t.Error("Version.String")
	}
}

func TestOrgFallbacks(t *testing.T) {
	tests := []struct {
		name         string
		c            Claims
		org          string
		providerPath string
		rootIssuer   bool
	}{
		{name: "custom claim wins", c: Claims{Subject: "org/a/project/b/user/u", CircleCI: CircleCIClaims{OrgID: "x", ProjectID: "y"}}, org: "x"},
		{name: "from sub", c: Claims{Subject: "org/a/project/b/user/u"}, org: "a"},
		{name: "org from the issuer", c: Claims{Issuer: "https://oidc.circleci.com/org/a/"}, org: "a", providerPath: "oidc.circleci.com/org/a"},
		{name: "root issuer has no org", c: Claims{Issuer: "https://oidc.circleci.com"}, providerPath: "oidc.circleci.com", rootIssuer: true},
		{name: "not https", c: Claims{Issuer: "http://oidc.circleci.com/org/a"}},
	}
	for _, tc := range tests {
		if tc.c.OrgID() != tc.org {
			t.Errorf("%s: OrgID = %q, want %q", tc.name, tc.c.OrgID(), tc.org)
		}
		if tc.c.ProviderPath() != tc.providerPath || tc.c.RootIssuer() != tc.rootIssuer {
			t.Errorf("%s: ProviderPath, RootIssuer = %q, %v", tc.name, tc.c.ProviderPath(), tc.c.RootIssuer())
		}
	}
}

func TestExpired(t *testing.T) {
	exp := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := Claims{ExpiresAt: exp}
	if c.Expired(exp.Add(-time.Second)) || !c.Expired(exp) || !c.Expired(exp.Add(time.Hour)) {
		t.Error("Expired around exp")
	}
	if (Claims{}).Expired(time.Now()) {
		t.Error("a token without exp expired")
	}
}

func TestRequestKeys(t *testing.T) {
	p := policy.ProviderPath(testOrg)
	c := circleClaims(subV2())
	got := RequestKeys(c, p)
	want := map[string][]string{
		p + ":aud":                          {testOrg},
		p + ":sub":                          {subV2()},
		p + ":oidc.circleci.com/project-id": {testProject},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RequestKeys = %v, want %v", got, want)
	}

	// A token without the project-id claim has no such key, even though
	// sub names the project: STS reads the claim.
	c.CircleCI.ProjectID = ""
	c.Audience = []string{"a", "b"}
	got = RequestKeys(c, p)
	if _, ok := got[p+":"+policy.ProjectIDClaim]; ok {
		t.Error("project-id key derived from sub")
	}
	if !reflect.DeepEqual(got[p+":aud"], []string{"a", "b"}) {
		t.Errorf("aud = %v", got[p+":aud"])
	}
	if len(RequestKeys(Claims{}, p)) != 0 {
		t.Error("empty claims gave keys")
	}
}

// TestTokensAgainstTrustPolicies runs signed tokens through RequestKeys and
// policy.Evaluate against the trust policies setup writes: the verify flow.
func TestTokensAgainstTrustPolicies(t *testing.T) {
	providerARN := policy.ProviderARN("aws", "123456789012", testOrg)
	claimKey, err := policy.TrustPolicy(policy.Trust{Partition: "aws", Account: "123456789012", OrgID: testOrg, ProjectIDs: []string{testProject}})
	if err != nil {
		t.Fatal(err)
	}
	branchPin := policy.Document{Version: policy.Version, Statement: []policy.Statement{{
		Effect:    "Allow",
		Principal: policy.Principals{"Federated": {providerARN}},
		Action:    policy.Values{policy.ActionAssumeRoleWithWebIdentity},
		Condition: map[string]policy.Conditions{
			"StringEquals": {policy.ProviderPath(testOrg) + ":aud": {testOrg}},
			"StringLike":   {policy.ProviderPath(testOrg) + ":sub": {"org/" + testOrg + "/project/*/user/*/vcs-origin/github.com/my-org/*/vcs-ref/refs/heads/main"}},
		},
	}}}
	wrongProject := circleClaims(subV1())
	wrongProject.CircleCI.ProjectID = testOther
	wrongAud := circleClaims(subV2())
	wrongAud.Audience = []string{"sts.amazonaws.com"}

	tests := []struct {
		name    string
		doc     policy.Document
		claims  Claims
		allowed bool
		failed  string
	}{
		{"matching V1 token", claimKey, circleClaims(subV1()), true, ""},
		{"matching V2 token", claimKey, circleClaims(subV2()), true, ""},
		{"wrong project", claimKey, wrongProject, false, "oidc.circleci.com/project-id " + testOther + " does not equal " + testProject},
		{"wrong audience", claimKey, wrongAud, false, "aud sts.amazonaws.com does not equal " + testOrg},
		{"V2 token on the pinned branch", branchPin, circleClaims(subV2()), true, ""},
		{"V1 token against a branch pin", branchPin, circleClaims(subV1()), false, "sub " + subV1() + " does not match"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(sign(t, tc.claims))
			if err != nil {
				t.Fatal(err)
			}
			d := policy.Evaluate(tc.doc, policy.Request{ProviderARN: providerARN, Keys: RequestKeys(c, c.ProviderPath())})
			if d.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v; reasons %q", d.Allowed, tc.allowed, d.Reasons)
			}
			if tc.failed != "" && (d.Failed == nil || !strings.Contains(d.Failed.String(), tc.failed)) {
				t.Errorf("Failed = %v, want %q", d.Failed, tc.failed)
			}
		})
	}
}

func TestFromKeyValues(t *testing.T) {
	tr := true
	tests := []struct {
		name string
		in   string
		want Claims
	}{
		{
			name: "org and project fill in sub, iss and aud",
			in:   "org-id=" + testOrg + ", project-id=" + testProject,
			want: Claims{
				Issuer: policy.IssuerURL(testOrg), Audience: []string{testOrg},
				Subject:  "org/" + testOrg + "/project/" + testProject + "/user/" + DefaultUserID,
				CircleCI: CircleCIClaims{OrgID: testOrg, ProjectID: testProject},
			},
		},
		{
			name: "sub fills in org and project",
			in:   "sub=" + subV1(),
			want: Claims{
				Issuer: policy.IssuerURL(testOrg), Audience: []string{testOrg}, Subject: subV1(),
				CircleCI: CircleCIClaims{OrgID: testOrg, ProjectID: testProject},
			},
		},
		{
			name: "vcs origin and ref build a V2 sub",
			in:   "org-id=o,project-id=p,user-id=u,vcs-origin=github.com/my-org/r,vcs-ref=refs/heads/main",
			want: Claims{
				Issuer: policy.IssuerURL("o"), Audience: []string{"o"},
				Subject:  "org/o/project/p/user/u/vcs-origin/github.com/my-org/r/vcs-ref/refs/heads/main",
				CircleCI: CircleCIClaims{OrgID: "o", ProjectID: "p", VCSOrigin: "github.com/my-org/r", VCSRef: "refs/heads/main"},
			},
		},
		{
			name: "explicit values win; full claim names; repeated aud and contexts",
			in: "iss=https://oidc.circleci.com,aud=a,aud=b,sub=org/o/project/p/user/u,oidc.circleci.com/project-id=q," +
				"context-ids=c1,context-ids=c2,ssh-rerun=true,job-id=j,workflow-id=w,pipeline-id=pi,pipeline-definition-id=pd," +
				"exp=2026-08-20T13:00:00+02:00,iat=1787223600,nbf=0",
			want: Claims{
				Issuer: "https://oidc.circleci.com", Audience: []string{"a", "b"}, Subject: "org/o/project/p/user/u",
				ExpiresAt: time.Date(2026, 8, 20, 11, 0, 0, 0, time.UTC),
				IssuedAt:  time.Unix(1787223600, 0).UTC(),
				NotBefore: time.Unix(0, 0).UTC(),
				CircleCI: CircleCIClaims{OrgID: "o", ProjectID: "q", ContextIDs: []string{"c1", "c2"}, SSHRerun: &tr,
					JobID: "j", WorkflowID: "w", PipelineID: "pi", PipelineDefinitionID: "pd"},
			},
		},
		{
			name: "an empty value leaves the claim out and stops its default",
			in:   "sub=" + subV1() + ",aud=,project-id=",
			want: Claims{Issuer: policy.IssuerURL(testOrg), Subject: subV1(), CircleCI: CircleCIClaims{OrgID: testOrg}},
		},
		{
			name: "org from a per-org issuer",
			in:   "iss=https://oidc.circleci.com/org/o",
			want: Claims{Issuer: "https://oidc.circleci.com/org/o", Audience: []string{"o"}, CircleCI: CircleCIClaims{OrgID: "o"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromKeyValues(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			back, err := Parse(sign(t, got))
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("signed round trip: %+v, %v", back, err)
			}
		})
	}

	for _, bad := range []struct{ in, want string }{
		{"", "no key=value pairs"},
		{"sub", `"sub" is not key=value`},
		{"=x", "is not key=value"},
		{"aud=a,,sub=b", `"" is not key=value`},
		{"color=blue", `unknown claim "color"; known: aud, context-ids,`},
		{"sub=a,sub=b", "sub is given more than once"},
		{"aud=a,aud=", "aud is given more than once"},
		{"exp=tomorrow", "exp must be RFC 3339"},
		{"iat=-1", "iat must be between 1970 and 9999"},
		{"nbf=1969-12-31T23:59:59Z", "nbf must be between 1970 and 9999"},
		{"ssh-rerun=maybe", "ssh-rerun must be true or false"},
		{"org-id=\xb1", "not valid UTF-8"}, // found by FuzzFromKeyValues
	} {
		if _, err := FromKeyValues(bad.in); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("FromKeyValues(%q) error = %v, want %q", bad.in, err, bad.want)
		}
	}
}

func TestSignRefuses(t *testing.T) {
	if _, err := Sign(Claims{}, nil, ""); err == nil {
		t.Error("Sign without a key succeeded")
	}
	if _, err := Sign(Claims{Audience: []string{"\xb1"}}, testKey(t), ""); err == nil {
		t.Error("Sign accepted invalid UTF-8, which JSON would silently replace")
	}
}
