package policy

import (
	"net/url"
	"testing"
)

func TestEqual(t *testing.T) {
	base := `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":["arn:r1","arn:r2"]},{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}`
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:p"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"p:aud":"o","p:oidc.circleci.com/project-id":["a","b"]}}}]}`
	tests := []struct {
		name  string
		a, b  string
		equal bool
	}{
		{"identical", base, base, true},
		{"keys reordered", base, `{"Statement":[{"Resource":["arn:r1","arn:r2"],"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Effect":"Allow","Sid":"A"},{"Resource":"*","Action":"ecr:GetAuthorizationToken","Effect":"Allow"}],"Version":"2012-10-17"}`, true},
		{"statements reordered", base, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"},{"Sid":"A","Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":["arn:r1","arn:r2"]}]}`, true},
		{"values reordered", base, `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["ecr:GetDownloadUrlForLayer","ecr:BatchGetImage"],"Resource":["arn:r2","arn:r1"]},{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}`, true},
		{"string vs one-item list", base, `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":["arn:r1","arn:r2"]},{"Effect":"Allow","Action":["ecr:GetAuthorizationToken"],"Resource":["*"]}]}`, true},
		{"single statement object", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"a:b","Resource":"*"}}`, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["a:b"],"Resource":"*"}]}`, true},
		{"whitespace", base, "{\n \"Version\": \"2012-10-17\",\n \"Statement\": [ {\"Sid\":\"A\",\"Effect\":\"Allow\",\"Action\":[\"ecr:BatchGetImage\", \"ecr:GetDownloadUrlForLayer\"],\"Resource\":[\"arn:r1\",\"arn:r2\"]},{\"Effect\":\"Allow\",\"Action\":\"ecr:GetAuthorizationToken\",\"Resource\":\"*\"} ]\n}", true},
		{"url-encoded", base, url.QueryEscape(base), true},
		{"action case", base, `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["ecr:batchgetimage","ecr:GetDownloadUrlForLayer"],"Resource":["arn:r1","arn:r2"]},{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}`, true},
		{"duplicate values", base, `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchGetImage"],"Resource":["arn:r1","arn:r2"]},{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}`, true},
		{"condition values reordered and key case", trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":["arn:p"]},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"p:oidc.circleci.com/project-id":["b","a"],"P:AUD":["o"]}}}]}`, true},
		{"action added by hand", base, `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:PutImage"],"Resource":["arn:r1","arn:r2"]},{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}`, false},
		{"resource widened", base, `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":"*"},{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}`, false},
		{"resource case matters", base, `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":["arn:R1","arn:r2"]},{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}`, false},
		{"statement added", base, `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":["arn:r1","arn:r2"]},{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"},{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, false},
		{"effect changed", `{"Statement":{"Effect":"Allow","Action":"a:b"}}`, `{"Statement":{"Effect":"Deny","Action":"a:b"}}`, false},
		{"condition removed", trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:p"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"p:aud":"o"}}}]}`, false},
		{"condition value case matters", trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:p"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"p:aud":"O","p:oidc.circleci.com/project-id":["a","b"]}}}]}`, false},
		{"operator changed", trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:p"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"p:aud":"o","p:oidc.circleci.com/project-id":["a","b"]}}}]}`, false},
		{"NotAction added by hand", `{"Statement":{"Effect":"Allow","Action":"a:b"}}`, `{"Statement":{"Effect":"Allow","Action":"a:b","NotAction":"c:d"}}`, false},
		{"unparseable equals nothing", `{`, `{`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(tt.a, tt.b); got != tt.equal {
				ca, errA := Canonical(tt.a)
				cb, errB := Canonical(tt.b)
				t.Errorf("Equal = %v, want %v\n a: %s (%v)\n b: %s (%v)", got, tt.equal, ca, errA, cb, errB)
			}
		})
	}
}

func TestCanonicalErrors(t *testing.T) {
	for _, bad := range []string{``, `[]`, `"x"`, `{"Statement":5}`, `{"Statement":[5]}`, `{"Statement":{"Action":{"a":1}}}`, `{"Statement":{"Condition":"x"}}`, `{} {}`, `%zz`} {
		if _, err := Canonical(bad); err == nil {
			t.Errorf("Canonical(%q) succeeded; want an error", bad)
		}
	}
}

func TestParseRoundTrip(t *testing.T) {
	doc, err := TrustPolicy(Trust{Partition: "aws", Account: account, OrgID: org, ProjectIDs: []string{project1, project2}})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := doc.JSON()
	parsed, err := Parse(url.QueryEscape(s))
	if err != nil {
		t.Fatal(err)
	}
	back, _ := parsed.JSON()
	if back != s {
		t.Errorf("round trip changed the document:\n%s\n%s", s, back)
	}
}
