package policy

import (
	"strings"
	"testing"
)

const (
	evalOrg      = "8e2a1b9c-1111-4a2b-9c3d-0123456789ab"
	evalOtherOrg = "77777777-7777-4777-8777-777777777777"
	evalProjA    = "0d6c2f8e-2222-4b3c-8d4e-123456789abc"
	evalProjB    = "5f7e3a1d-3333-4c4d-9e5f-23456789abcd"
	evalProjC    = "9c8b7a6d-4444-4e5f-8a6b-3456789abcde"
	evalUser     = "a1b2c3d4-5555-4d5e-8f60-456789abcdef"
	evalAccount  = "123456789012"
)

var (
	evalProvider = ProviderPath(evalOrg)
	evalARN      = ProviderARN("aws", evalAccount, evalOrg)
	// rootARN is the provider for the shared root issuer
	// https://oidc.circleci.com, which every CircleCI org can mint for.
	rootARN = "arn:aws:iam::" + evalAccount + ":oidc-provider/" + IssuerHost
)

func subV1(project string) string {
	return "org/" + evalOrg + "/project/" + project + "/user/" + evalUser
}

func subV2(project, origin, ref string) string {
	return subV1(project) + "/vcs-origin/" + origin + "/vcs-ref/" + ref
}

// keys builds request keys under the per-org provider from short names.
func keys(kv ...string) map[string][]string {
	m := map[string][]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := evalProvider + ":" + kv[i]
		m[k] = append(m[k], kv[i+1])
	}
	return m
}

// trustJSON builds a one-statement trust policy; {P} in condition stands for
// the provider path and {ORG} for the org ID.
func trustJSON(condition string) string {
	return trustWith(`{"Federated": "`+evalARN+`"}`, `"sts:AssumeRoleWithWebIdentity"`, condition)
}

func trustWith(principal, action, condition string) string {
	doc := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": ` + principal +
		`, "Action": ` + action
	if condition != "" {
		doc += `, "Condition": ` + condition
	}
	doc += `}]}`
	return expand(doc)
}

func expand(s string) string {
	return strings.NewReplacer("{P}", evalProvider, "{ORG}", evalOrg, "{A}", evalProjA, "{B}", evalProjB, "{ARN}", evalARN).Replace(s)
}

// evalCase is one Evaluate table case.
type evalCase struct {
	name      string
	policy    string
	provider  string // defaults to evalARN
	action    string
	keys      map[string][]string
	allowed   bool
	deny      bool // explicit deny
	uncertain bool
	failed    string // substring of Decision.Failed.String(), "" for no check
	noFailed  bool   // Decision.Failed must be nil
}

func TestEvaluate(t *testing.T) {
	audOK := keys("aud", evalOrg)
	branchPin := `{"StringEquals": {"{P}:aud": "{ORG}"}, "StringLike": {"{P}:sub": "org/{ORG}/project/*/user/*/vcs-origin/github.com/my-org/*/vcs-ref/refs/heads/main"}}`
	tests := []evalCase{
		// StringEquals: exact and case-sensitive.
		{name: "StringEquals aud equals org ID", policy: trustJSON(`{"StringEquals": {"{P}:aud": "{ORG}"}}`), keys: audOK, allowed: true},
		{name: "trap: aud sts.amazonaws.com in the policy against a CircleCI token",
			policy: trustJSON(`{"StringEquals": {"{P}:aud": "sts.amazonaws.com"}}`), keys: audOK,
			failed: "aud " + evalOrg + " does not equal sts.amazonaws.com"},
		{name: "trap: token minted with aud sts.amazonaws.com against the org-ID policy",
			policy: trustJSON(`{"StringEquals": {"{P}:aud": "{ORG}"}}`), keys: keys("aud", "sts.amazonaws.com"),
			failed: "aud sts.amazonaws.com does not equal " + evalOrg},
		{name: "StringEquals value is case-sensitive", policy: trustJSON(`{"StringEquals": {"{P}:aud": "` + strings.ToUpper(evalOrg) + `"}}`), keys: audOK, failed: "does not equal"},
		{name: "StringEqualsIgnoreCase ignores value case", policy: trustJSON(`{"StringEqualsIgnoreCase": {"{P}:aud": "` + strings.ToUpper(evalOrg) + `"}}`), keys: audOK, allowed: true},
		{name: "StringNotEqualsIgnoreCase excludes a value of other case", policy: trustJSON(`{"StringNotEqualsIgnoreCase": {"{P}:aud": "` + strings.ToUpper(evalOrg) + `"}}`), keys: audOK, failed: "which StringNotEqualsIgnoreCase excludes"},
		{name: "condition key names are case-insensitive", policy: trustJSON(`{"StringEquals": {"` + strings.ToUpper(evalProvider) + `:AUD": "{ORG}"}}`), keys: audOK, allowed: true},
		{name: "request key names are case-insensitive", policy: trustJSON(`{"StringEquals": {"{P}:aud": "{ORG}"}}`), keys: map[string][]string{strings.ToUpper(evalProvider + ":aud"): {evalOrg}}, allowed: true},
		{name: "operator names are case-insensitive", policy: trustJSON(`{"stringequals": {"{P}:aud": "{ORG}"}}`), keys: audOK, allowed: true},
		{name: "trap: StringEquals on sub with a wildcard never matches",
			policy: trustJSON(`{"StringEquals": {"{P}:sub": "org/{ORG}/project/{A}/user/*"}}`), keys: keys("sub", subV1(evalProjA)),
			failed: "wildcards need StringLike"},
		{name: "StringEquals compares * literally", policy: trustJSON(`{"StringEquals": {"{P}:sub": "*"}}`), keys: keys("sub", "*"), allowed: true},

		// StringLike wildcards.
		{name: "StringLike * spans slashes: V1 sub", policy: trustJSON(`{"StringLike": {"{P}:sub": "org/{ORG}/project/{A}/user/*"}}`), keys: keys("sub", subV1(evalProjA)), allowed: true},
		{name: "StringLike * spans slashes: V2 sub", policy: trustJSON(`{"StringLike": {"{P}:sub": "org/{ORG}/project/{A}/user/*"}}`), keys: keys("sub", subV2(evalProjA, "github.com/my-org/repo", "refs/heads/main")), allowed: true},
		{name: "StringLike * matches the empty string", policy: trustJSON(`{"StringLike": {"{P}:sub": "abc*"}}`), keys: keys("sub", "abc"), allowed: true},
		{name: "StringLike ? matches one character", policy: trustJSON(`{"StringLike": {"{P}:sub": "ab?d"}}`), keys: keys("sub", "abcd"), allowed: true},
		{name: "StringLike ? does not match zero characters", policy: trustJSON(`{"StringLike": {"{P}:sub": "ab?d"}}`), keys: keys("sub", "abd"), failed: "sub abd does not match ab?d"},
		{name: "StringLike ? does not match two characters", policy: trustJSON(`{"StringLike": {"{P}:sub": "ab?d"}}`), keys: keys("sub", "abccd"), failed: "does not match"},
		{name: "StringLike ? matches one multibyte character", policy: trustJSON(`{"StringLike": {"{P}:sub": "a?c"}}`), keys: keys("sub", "aéc"), allowed: true},
		{name: "StringLike is case-sensitive", policy: trustJSON(`{"StringLike": {"{P}:sub": "ORG/*"}}`), keys: keys("sub", subV1(evalProjA)), failed: "does not match ORG/*"},
		{name: "StringLike without wildcards is an exact match", policy: trustJSON(`{"StringLike": {"{P}:sub": "org"}}`), keys: keys("sub", "org/x"), failed: "does not match"},
		{name: "StringNotLike excludes a matching value", policy: trustJSON(`{"StringNotLike": {"{P}:sub": "*/vcs-ref/refs/pull/*"}}`), keys: keys("sub", subV2(evalProjA, "github.com/o/r", "refs/pull/1/head")), failed: "matches */vcs-ref/refs/pull/*, which StringNotLike excludes"},

		// Several values, keys and operators.
		{name: "values of one key are OR-ed", policy: trustJSON(`{"StringEquals": {"{P}:oidc.circleci.com/project-id": ["{A}", "{B}"]}}`), keys: keys("oidc.circleci.com/project-id", evalProjB), allowed: true},
		{name: "no value of the key matches", policy: trustJSON(`{"StringEquals": {"{P}:oidc.circleci.com/project-id": ["{A}", "{B}"]}}`), keys: keys("oidc.circleci.com/project-id", evalProjC),
			failed: "oidc.circleci.com/project-id " + evalProjC + " does not equal any of " + evalProjA + ", " + evalProjB},
		{name: "negated operator NOR-s its values: equal to one is excluded", policy: trustJSON(`{"StringNotEquals": {"{P}:sub": ["x", "y"]}}`), keys: keys("sub", "y"), failed: "sub y equals y, which StringNotEquals excludes"},
		{name: "negated operator NOR-s its values: equal to none passes", policy: trustJSON(`{"StringNotEquals": {"{P}:sub": ["x", "y"]}}`), keys: keys("sub", "z"), allowed: true},
		{name: "trap: project-id claim mismatch, keys under one operator are AND-ed",
			policy: trustJSON(`{"StringEquals": {"{P}:aud": "{ORG}", "{P}:oidc.circleci.com/project-id": "{A}"}}`),
			keys:   keys("aud", evalOrg, "oidc.circleci.com/project-id", evalProjB),
			failed: "oidc.circleci.com/project-id " + evalProjB + " does not equal " + evalProjA},
		{name: "operators are AND-ed", policy: trustJSON(`{"StringEquals": {"{P}:aud": "{ORG}"}, "StringLike": {"{P}:sub": "org/{ORG}/project/{A}/user/*"}}`),
			keys: keys("aud", evalOrg, "sub", subV1(evalProjB)), failed: "does not match org/" + evalOrg + "/project/" + evalProjA + "/user/*"},

		// Missing keys.
		{name: "missing key makes a positive operator false", policy: trustJSON(`{"StringEquals": {"{P}:aud": "{ORG}"}}`), keys: keys("sub", subV1(evalProjA)), failed: "aud is missing from the token"},
		{name: "missing key makes StringNotEquals true", policy: trustJSON(`{"StringNotEquals": {"{P}:aud": "sts.amazonaws.com"}}`), keys: nil, allowed: true},
		{name: "missing key makes StringNotLike true", policy: trustJSON(`{"StringNotLike": {"{P}:sub": "*"}}`), keys: nil, allowed: true},
		{name: "key with no values counts as missing", policy: trustJSON(`{"StringLike": {"{P}:sub": "*"}}`), keys: map[string][]string{evalProvider + ":sub": {}}, failed: "sub is missing"},
		{name: "IfExists: missing key passes", policy: trustJSON(`{"StringEqualsIfExists": {"{P}:oidc.circleci.com/project-id": "{A}"}}`), keys: audOK, allowed: true},
		{name: "IfExists: present key is tested", policy: trustJSON(`{"StringEqualsIfExists": {"{P}:oidc.circleci.com/project-id": "{A}"}}`), keys: keys("oidc.circleci.com/project-id", evalProjB), failed: "does not equal " + evalProjA},
		{name: "IfExists: present matching key passes", policy: trustJSON(`{"StringLikeIfExists": {"{P}:sub": "org/{ORG}/*"}}`), keys: keys("sub", subV1(evalProjA)), allowed: true},
		{name: "Null true: absent key passes", policy: trustJSON(`{"Null": {"{P}:oidc.circleci.com/project-id": "true"}}`), keys: audOK, allowed: true},
		{name: "Null true: present key fails", policy: trustJSON(`{"Null": {"{P}:aud": "true"}}`), keys: audOK, failed: "aud is present in the token, but the policy requires it to be absent"},
		{name: "Null false: present key passes", policy: trustJSON(`{"Null": {"{P}:aud": false}}`), keys: audOK, allowed: true},
		{name: "Null false: absent key fails", policy: trustJSON(`{"Null": {"{P}:oidc.circleci.com/project-id": "false"}}`), keys: audOK, failed: "missing from the token, but the policy requires it"},

		// Set operators.
		{name: "ForAnyValue: missing key is false", policy: trustJSON(`{"ForAnyValue:StringEquals": {"{P}:aud": "{ORG}"}}`), keys: nil, failed: "aud is missing from the token"},
		{name: "ForAnyValue: negated operator on a missing key is false", policy: trustJSON(`{"ForAnyValue:StringNotEquals": {"{P}:aud": "x"}}`), keys: nil, failed: "missing"},
		{name: "ForAnyValue: one of several request values matches", policy: trustJSON(`{"ForAnyValue:StringEquals": {"{P}:aud": "{ORG}"}}`), keys: keys("aud", "other", "aud", evalOrg), allowed: true},
		{name: "ForAnyValue: no request value matches", policy: trustJSON(`{"ForAnyValue:StringLike": {"{P}:aud": "x*"}}`), keys: keys("aud", "a", "aud", "b"), failed: "no value of aud (a, b) is in x*"},
		{name: "ForAnyValue:StringNotEquals: one request value outside the list passes", policy: trustJSON(`{"ForAnyValue:StringNotEquals": {"{P}:aud": ["a"]}}`), keys: keys("aud", "a", "aud", "b"), allowed: true},
		{name: "trap: ForAllValues on a missing single-valued key passes vacuously",
			policy: trustJSON(`{"StringEquals": {"{P}:aud": "{ORG}"}, "ForAllValues:StringEquals": {"{P}:oidc.circleci.com/project-id": "{A}"}}`),
			keys:   audOK, allowed: true},
		{name: "ForAllValues: empty value set passes vacuously", policy: trustJSON(`{"ForAllValues:StringEquals": {"{P}:aud": "{ORG}"}}`), keys: map[string][]string{evalProvider + ":aud": nil}, allowed: true},
		{name: "ForAllValues on a present single-valued key is tested", policy: trustJSON(`{"ForAllValues:StringEquals": {"{P}:oidc.circleci.com/project-id": "{A}"}}`), keys: keys("oidc.circleci.com/project-id", evalProjB), failed: "does not equal " + evalProjA},
		{name: "ForAllValues: every request value matches some policy value", policy: trustJSON(`{"ForAllValues:StringEquals": {"{P}:aud": ["a", "b", "c"]}}`), keys: keys("aud", "a", "aud", "c"), allowed: true},
		{name: "ForAllValues: one request value matches none", policy: trustJSON(`{"ForAllValues:StringEquals": {"{P}:aud": ["a", "b"]}}`), keys: keys("aud", "a", "aud", "z"), failed: "not every value of aud (a, z) is in {a, b}"},
		{name: "ForAllValues:StringNotLike: no request value matches", policy: trustJSON(`{"ForAllValues:StringNotLike": {"{P}:aud": "x*"}}`), keys: keys("aud", "a", "aud", "b"), allowed: true},
		{name: "ForAllValues:StringNotLike: one request value matches", policy: trustJSON(`{"ForAllValues:StringNotLike": {"{P}:aud": "x*"}}`), keys: keys("aud", "a", "aud", "xy"), failed: "aud (a, xy) has a value that matches x*, which ForAllValues:StringNotLike excludes"},
		{name: "plain operator on a multivalued key is undecidable, so not allowed",
			policy: trustJSON(`{"StringEquals": {"{P}:aud": "{ORG}"}}`), keys: keys("aud", evalOrg, "aud", "other"), uncertain: true, failed: "does not document"},

		// Bool.
		{name: "Bool compares true/false without case", policy: trustJSON(`{"Bool": {"{P}:flag": true}}`), keys: keys("flag", "True"), allowed: true},
		{name: "Bool mismatch", policy: trustJSON(`{"Bool": {"{P}:flag": "true"}}`), keys: keys("flag", "false"), failed: "flag is false, but the policy requires true"},

		// Token version traps against the CircleCI branch pin.
		{name: "V2 token on the pinned branch", policy: trustJSON(branchPin), keys: keys("aud", evalOrg, "sub", subV2(evalProjA, "github.com/my-org/repo", "refs/heads/main")), allowed: true},
		{name: "V2 token on another branch", policy: trustJSON(branchPin), keys: keys("aud", evalOrg, "sub", subV2(evalProjA, "github.com/my-org/repo", "refs/heads/feature")), failed: "vcs-ref/refs/heads/feature does not match"},
		{name: "trap: V1 token against a branch-pinned V2 pattern", policy: trustJSON(branchPin), keys: keys("aud", evalOrg, "sub", subV1(evalProjA)),
			failed: "sub " + subV1(evalProjA) + " does not match org/" + evalOrg + "/project/*/user/*/vcs-origin/github.com/my-org/*/vcs-ref/refs/heads/main"},
		{name: "V2 token from a fork origin", policy: trustJSON(branchPin), keys: keys("aud", evalOrg, "sub", subV2(evalProjA, "github.com/attacker/repo", "refs/heads/main")), failed: "does not match"},

		// Principal.
		{name: "wrong principal: another org's provider", policy: trustJSON(`{"StringEquals": {"{P}:aud": "{ORG}"}}`), provider: ProviderARN("aws", evalAccount, evalOtherOrg), keys: audOK, noFailed: true},
		{name: "trap: root-issuer provider does not match a per-org trust", policy: trustJSON(`{"StringEquals": {"{P}:aud": "{ORG}"}}`), provider: rootARN, keys: audOK, noFailed: true},
		{name: `Principal "*" admits the provider`, policy: trustWith(`"*"`, `"sts:AssumeRoleWithWebIdentity"`, ""), allowed: true},
		{name: `Federated "*" admits the provider`, policy: trustWith(`{"Federated": "*"}`, `"sts:AssumeRoleWithWebIdentity"`, ""), allowed: true},
		{name: `one of several federated principals`, policy: trustWith(`{"Federated": ["`+rootARN+`", "{ARN}"]}`, `"sts:AssumeRoleWithWebIdentity"`, ""), allowed: true},
		{name: `AWS "*" is undecidable for a web-identity caller`, policy: trustWith(`{"AWS": "*"}`, `"sts:AssumeRoleWithWebIdentity"`, ""), uncertain: true},
		{name: "NotPrincipal excluding the provider", policy: strings.Replace(trustWith(`{"Federated": "{ARN}"}`, `"sts:AssumeRoleWithWebIdentity"`, ""), `"Principal"`, `"NotPrincipal"`, 1)},

		// Action.
		{name: "wrong action", policy: trustJSON(""), action: "sts:AssumeRole", noFailed: true},
		{name: "action wildcard", policy: trustWith(`{"Federated": "{ARN}"}`, `"sts:AssumeRoleWith*"`, ""), allowed: true},
		{name: "action names are case-insensitive", policy: trustWith(`{"Federated": "{ARN}"}`, `"STS:assumerolewithwebidentity"`, ""), allowed: true},
		{name: "action ? wildcard", policy: trustWith(`{"Federated": "{ARN}"}`, `"sts:AssumeRoleWithWebIdentit?"`, ""), allowed: true},
		{name: "NotAction not covering the action", policy: strings.Replace(trustWith(`{"Federated": "{ARN}"}`, `"sts:AssumeRole"`, ""), `"Action"`, `"NotAction"`, 1), allowed: true},
		{name: "NotAction covering the action", policy: strings.Replace(trustWith(`{"Federated": "{ARN}"}`, `"sts:*"`, ""), `"Action"`, `"NotAction"`, 1)},

		// Unknowns never allow.
		{name: "unsupported operator in an Allow is undecidable", policy: trustJSON(`{"NumericLessThan": {"{P}:exp": "5"}}`), keys: keys("exp", "1"), uncertain: true, failed: "not supported"},
		{name: "policy variable is undecidable", policy: trustJSON(`{"StringEquals": {"{P}:sub": "${aws:username}"}}`), keys: keys("sub", "x"), uncertain: true, failed: "policy variables"},
		{name: "Null with a set operator is undecidable", policy: trustJSON(`{"ForAnyValue:Null": {"{P}:aud": "true"}}`), keys: audOK, uncertain: true},
		{name: "lower-case effect is not Allow", policy: strings.Replace(trustJSON(""), `"Allow"`, `"allow"`, 1)},
		{name: "no statements", policy: `{"Version": "2012-10-17", "Statement": []}`, noFailed: true},
	}

	// Deny statements, added to an otherwise allowing policy.
	denyDoc := func(denyCondition string) string {
		return expand(`{"Version": "2012-10-17", "Statement": [
			{"Effect": "Allow", "Principal": {"Federated": "{ARN}"}, "Action": "sts:AssumeRoleWithWebIdentity",
			 "Condition": {"StringEquals": {"{P}:aud": "{ORG}"}}},
			{"Sid": "NoPullRequests", "Effect": "Deny", "Principal": {"Federated": "{ARN}"}, "Action": "sts:AssumeRoleWithWebIdentity",
			 "Condition": ` + denyCondition + `}]}`)
	}
	tests = append(tests, []evalCase{
		{name: "explicit Deny wins over Allow", policy: denyDoc(`{"StringLike": {"{P}:sub": "*/vcs-ref/refs/pull/*"}}`),
			keys: keys("aud", evalOrg, "sub", subV2(evalProjA, "github.com/o/r", "refs/pull/7/head")), deny: true, noFailed: true},
		{name: "Deny whose condition fails leaves the Allow", policy: denyDoc(`{"StringLike": {"{P}:sub": "*/vcs-ref/refs/pull/*"}}`),
			keys: keys("aud", evalOrg, "sub", subV2(evalProjA, "github.com/o/r", "refs/heads/main")), allowed: true},
		{name: "Deny with a negated operator applies on a missing key", policy: denyDoc(`{"StringNotLike": {"{P}:sub": "org/{ORG}/*"}}`),
			keys: audOK, deny: true},
		{name: "undecidable Deny is treated as denying", policy: denyDoc(`{"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}`),
			keys: audOK, deny: true, uncertain: true},
		{name: "Deny with a plain operator on a multivalued key is treated as denying", policy: denyDoc(`{"StringEquals": {"{P}:aud": "x"}}`),
			keys: keys("aud", evalOrg, "aud", "x"), deny: true, uncertain: true},
	}...)

	if len(tests) < 40 {
		t.Fatalf("only %d cases; the issue asks for at least 40", len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse(tc.policy)
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, tc.policy)
			}
			provider := tc.provider
			if provider == "" {
				provider = evalARN
			}
			d := Evaluate(doc, Request{ProviderARN: provider, Action: tc.action, Keys: tc.keys})
			if d.Allowed != tc.allowed || d.ExplicitDeny != tc.deny || d.Uncertain != tc.uncertain {
				t.Fatalf("got allowed=%v deny=%v uncertain=%v, want allowed=%v deny=%v uncertain=%v\nreasons: %q",
					d.Allowed, d.ExplicitDeny, d.Uncertain, tc.allowed, tc.deny, tc.uncertain, d.Reasons)
			}
			if d.Allowed && d.ExplicitDeny {
				t.Fatal("allowed and explicitly denied at once")
			}
			if len(d.Reasons) != max(len(doc.Statement), 1) {
				t.Errorf("got %d reasons for %d statements", len(d.Reasons), len(doc.Statement))
			}
			if tc.failed != "" {
				if d.Failed == nil {
					t.Fatalf("Failed is nil, want %q; reasons: %q", tc.failed, d.Reasons)
				}
				if got := d.Failed.String(); !strings.Contains(got, tc.failed) {
					t.Errorf("Failed = %q, want it to contain %q", got, tc.failed)
				}
			}
			if tc.noFailed && d.Failed != nil {
				t.Errorf("Failed = %q, want nil", d.Failed)
			}
			if d.Allowed && d.Failed != nil {
				t.Errorf("allowed, yet Failed = %q", d.Failed)
			}
		})
	}
	t.Logf("%d evaluator cases", len(tests))
}

func TestEvaluateDecisionDetails(t *testing.T) {
	doc, err := Parse(trustJSON(`{"StringEquals": {"{P}:aud": "{ORG}", "{P}:oidc.circleci.com/project-id": "{A}"}}`))
	if err != nil {
		t.Fatal(err)
	}
	d := Evaluate(doc, Request{ProviderARN: evalARN, Keys: keys("aud", "sts.amazonaws.com")})
	if d.Statement != 0 {
		t.Errorf("Statement = %d, want 0 (the closest Allow)", d.Statement)
	}
	if len(d.Failures) != 2 {
		t.Fatalf("Failures = %v, want aud and project-id", d.Failures)
	}
	if d.Failed != &d.Failures[0] {
		t.Error("Failed is not the first of Failures")
	}
	want := []string{
		"aud sts.amazonaws.com does not equal " + evalOrg,
		"oidc.circleci.com/project-id is missing from the token",
	}
	for i, f := range d.Failures {
		if f.String() != want[i] {
			t.Errorf("Failures[%d] = %q, want %q", i, f.String(), want[i])
		}
		if f.Statement != 0 || f.Operator != "StringEquals" {
			t.Errorf("Failures[%d] = %+v", i, f)
		}
	}
	if !strings.Contains(d.Reasons[0], "does not apply") {
		t.Errorf("reason = %q", d.Reasons[0])
	}

	wrong := Evaluate(doc, Request{ProviderARN: rootARN, Keys: keys("aud", evalOrg)})
	if wrong.Statement != -1 || !strings.Contains(wrong.Reasons[0], "does not include the provider "+rootARN) {
		t.Errorf("root issuer: statement %d, reasons %q", wrong.Statement, wrong.Reasons)
	}
}

func TestShortKey(t *testing.T) {
	for in, want := range map[string]string{
		evalProvider + ":sub":                          "sub",
		evalProvider + ":oidc.circleci.com/project-id": "oidc.circleci.com/project-id",
		"aws:SourceIp":                                 "aws:SourceIp",
		"accounts.google.com:aud":                      "aud",
		"plain":                                        "plain",
	} {
		if got := ShortKey(in); got != want {
			t.Errorf("ShortKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"**", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"*a", "aaaa", true},
		{"?", "", false},
		{"?*", "x", true},
		{"a?c", "a/c", true},
		{"a*", "A", false},
		{"*/user/*", "org/o/project/p/user/u/vcs-origin/x", true},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 200), false},
	}
	for _, tc := range tests {
		if got := glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

// TestTrustPolicyAdmitsIntendedProjects checks the documents TrustPolicy
// builds against V1 and V2 tokens of named, other and foreign projects.
func TestTrustPolicyAdmitsIntendedProjects(t *testing.T) {
	otherOrgSub := "org/" + evalOtherOrg + "/project/" + evalProjA + "/user/" + evalUser
	token := func(project, sub string) map[string][]string {
		k := keys("aud", evalOrg, "sub", sub)
		if project != "" {
			k[evalProvider+":"+ProjectIDClaim] = []string{project}
		}
		return k
	}
	v2 := func(p string) string { return subV2(p, "github.com/my-org/repo", "refs/heads/main") }
	type tok struct {
		name string
		keys map[string][]string
		want bool
	}
	forms := []struct {
		name   string
		trust  Trust
		tokens []tok
	}{
		{
			name:  "claim-key form",
			trust: Trust{Partition: "aws", Account: evalAccount, OrgID: evalOrg, ProjectIDs: []string{evalProjB, evalProjA}},
			tokens: []tok{
				{"A V1", token(evalProjA, subV1(evalProjA)), true},
				{"A V2", token(evalProjA, v2(evalProjA)), true},
				{"B V1", token(evalProjB, subV1(evalProjB)), true},
				{"B V2", token(evalProjB, v2(evalProjB)), true},
				{"C V1", token(evalProjC, subV1(evalProjC)), false},
				{"C V2", token(evalProjC, v2(evalProjC)), false},
				{"A without the project-id claim", token("", subV1(evalProjA)), false},
				{"A with aud sts.amazonaws.com", func() map[string][]string {
					k := token(evalProjA, subV1(evalProjA))
					k[evalProvider+":aud"] = []string{"sts.amazonaws.com"}
					return k
				}(), false},
			},
		},
		{
			name:  "sub form",
			trust: Trust{Partition: "aws", Account: evalAccount, OrgID: evalOrg, ProjectIDs: []string{evalProjA, evalProjB}, Condition: Sub},
			tokens: []tok{
				{"A V1", token(evalProjA, subV1(evalProjA)), true},
				{"A V2", token(evalProjA, v2(evalProjA)), true},
				{"B V2", token(evalProjB, v2(evalProjB)), true},
				{"C V1", token(evalProjC, subV1(evalProjC)), false},
				{"C V2", token(evalProjC, v2(evalProjC)), false},
				{"A of another org", token(evalProjA, otherOrgSub), false},
				{"A without aud", func() map[string][]string {
					k := token(evalProjA, subV1(evalProjA))
					delete(k, evalProvider+":aud")
					return k
				}(), false},
			},
		},
		{
			name:  "all-projects form",
			trust: Trust{Partition: "aws", Account: evalAccount, OrgID: evalOrg, AllProjects: true},
			tokens: []tok{
				{"A V1", token(evalProjA, subV1(evalProjA)), true},
				{"C V2", token(evalProjC, v2(evalProjC)), true},
				{"another org's sub", token(evalProjA, otherOrgSub), false},
				{"no sub", keys("aud", evalOrg), false},
			},
		},
	}
	for _, form := range forms {
		doc, err := TrustPolicy(form.trust)
		if err != nil {
			t.Fatalf("%s: %v", form.name, err)
		}
		// Evaluate what IAM would store: the JSON, read back.
		text, err := doc.JSON()
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range form.tokens {
			for _, provider := range []string{evalARN, rootARN} {
				d := Evaluate(parsed, Request{ProviderARN: provider, Keys: tk.keys})
				want := tk.want && provider == evalARN
				if d.Allowed != want || d.Uncertain {
					t.Errorf("%s, token %s, provider %s: allowed=%v uncertain=%v, want %v; reasons %q",
						form.name, tk.name, provider, d.Allowed, d.Uncertain, want, d.Reasons)
				}
			}
		}
	}
}

func TestPrincipalsJSON(t *testing.T) {
	doc, err := Parse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if !doc.Statement[0].Principal.IsWildcard() {
		t.Fatalf("Principal = %v, want the wildcard", doc.Statement[0].Principal)
	}
	out, err := doc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}]}`; out != want {
		t.Errorf("JSON = %s\nwant   %s", out, want)
	}
	if _, err := Parse(`{"Statement":{"Effect":"Allow","Principal":"someone","Action":"x"}}`); err == nil {
		t.Error("a principal string other than * parsed")
	}
}
