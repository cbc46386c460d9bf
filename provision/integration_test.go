package provision_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

const (
	org     = "2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d"
	project = "8e7c4b1e-5a0d-4c3b-9f2e-1d6a7b8c9d0e"
	other   = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
)

// emulator starts moto behind a counting proxy and returns SDK clients
// pointed at the proxy, with the repositories created.
func emulator(t *testing.T, repos ...string) (*awstest.Proxy, aws.Config) {
	t.Helper()
	return awstest.Behind(t, awstest.StartMoto(t), repos...)
}

func run(t *testing.T, cfg aws.Config, spec provision.Spec) (*provision.Plan, error) {
	t.Helper()
	spec, err := spec.Validate()
	if err != nil {
		t.Fatal(err)
	}
	clients := provision.NewClients(cfg)
	obs, err := provision.Observe(context.Background(), clients, spec)
	if err != nil {
		t.Fatal(err)
	}
	p, err := provision.NewPlan(spec, obs)
	if err != nil {
		return nil, err
	}
	_, err = provision.Apply(context.Background(), clients.IAM, p, provision.Options{})
	return p, err
}

func specFor(repos ...string) provision.Spec {
	return provision.Spec{OrgID: org, Repositories: repos, ProjectIDs: []string{project}, Region: "us-east-1"}
}

func readRole(t *testing.T, cfg aws.Config, name string) (trust, perms string) {
	t.Helper()
	api := iam.NewFromConfig(cfg)
	role, err := api.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	trust, _ = url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	pol, err := api.GetRolePolicy(context.Background(), &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(provision.PolicyName)})
	if err != nil {
		t.Fatal(err)
	}
	perms, _ = url.QueryUnescape(aws.ToString(pol.PolicyDocument))
	return trust, perms
}

func TestFirstRunCreatesAndRerunWritesNothing(t *testing.T) {
	proxy, cfg := emulator(t, "app", "tools/builder")
	p, err := run(t, cfg, specFor("app", "tools/builder"))
	if err != nil {
		t.Fatal(err)
	}
	wantWrites := map[string]int{"CreateOpenIDConnectProvider": 1, "CreateRole": 1, "PutRolePolicy": 1}
	if got := proxy.Writes(); !mapsEqual(got, wantWrites) {
		t.Errorf("first run writes = %v, want %v", got, wantWrites)
	}
	t.Logf("first run: %d requests %v", proxy.Total(), proxy.Counts())

	// What was written is exactly the plan's documents.
	trust, perms := readRole(t, cfg, provision.DefaultRoleName)
	wantTrust, _ := p.TrustPolicy.JSON()
	wantPerms, _ := p.PermissionsPolicy.JSON()
	if !policy.Equal(trust, wantTrust) || !policy.Equal(perms, wantPerms) {
		t.Errorf("documents read back differ:\ntrust %s\nperms %s", trust, perms)
	}
	prov, err := iam.NewFromConfig(cfg).GetOpenIDConnectProvider(context.Background(), &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(p.ProviderARN)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(prov.ClientIDList, []string{org}) {
		t.Errorf("provider audiences = %v, want [%s]", prov.ClientIDList, org)
	}

	proxy.Reset()
	p2, err := run(t, cfg, specFor("app", "tools/builder"))
	if err != nil {
		t.Fatal(err)
	}
	if p2.HasChanges() {
		t.Errorf("rerun planned %v", p2.Changes)
	}
	if w := proxy.Writes(); len(w) != 0 {
		t.Errorf("rerun wrote %v", w)
	}
	t.Logf("rerun: %d requests %v", proxy.Total(), proxy.Counts())
}

func TestDriftIsRepaired(t *testing.T) {
	proxy, cfg := emulator(t, "app")
	if _, err := run(t, cfg, specFor("app")); err != nil {
		t.Fatal(err)
	}
	api := iam.NewFromConfig(cfg)
	ctx := context.Background()
	// By hand: trust another project, and add a push action.
	drifted, _ := policy.TrustPolicy(policy.Trust{Partition: "aws", Account: awstest.AccountID, OrgID: org, ProjectIDs: []string{other}})
	doc, _ := drifted.JSON()
	if _, err := api.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(provision.DefaultRoleName), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	wide := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:PutImage"],"Resource":"*"}]}`
	if _, err := api.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(provision.DefaultRoleName), PolicyName: aws.String(provision.PolicyName), PolicyDocument: aws.String(wide)}); err != nil {
		t.Fatal(err)
	}
	proxy.Reset()
	p, err := run(t, cfg, specFor("app"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"UpdateAssumeRolePolicy": 1, "PutRolePolicy": 1}
	if got := proxy.Writes(); !mapsEqual(got, want) {
		t.Errorf("repair writes = %v, want %v (plan %v)", got, want, p.Changes)
	}
	trust, perms := readRole(t, cfg, provision.DefaultRoleName)
	wantTrust, _ := p.TrustPolicy.JSON()
	wantPerms, _ := p.PermissionsPolicy.JSON()
	if !policy.Equal(trust, wantTrust) || !policy.Equal(perms, wantPerms) {
		t.Errorf("drift not repaired:\ntrust %s\nperms %s", trust, perms)
	}
}

func TestForeignRoleIsNotTouched(t *testing.T) {
	proxy, cfg := emulator(t, "app")
	api := iam.NewFromConfig(cfg)
	ctx := context.Background()
	foreign := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if _, err := api.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(provision.DefaultRoleName), AssumeRolePolicyDocument: aws.String(foreign)}); err != nil {
		t.Fatal(err)
	}
	before, _ := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(provision.DefaultRoleName)})
	proxy.Reset()
	_, err := run(t, cfg, specFor("app"))
	if !errors.Is(err, provision.ErrNotOwned) {
		t.Fatalf("run on a foreign role: err = %v, want ErrNotOwned", err)
	}
	if w := proxy.Writes(); len(w) != 0 {
		t.Errorf("refusal still wrote %v", w)
	}
	after, _ := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(provision.DefaultRoleName)})
	if aws.ToString(before.Role.AssumeRolePolicyDocument) != aws.ToString(after.Role.AssumeRolePolicyDocument) || len(after.Role.Tags) != 0 {
		t.Error("the foreign role changed")
	}
}

func TestExistingProviderIsReusedNotRetagged(t *testing.T) {
	proxy, cfg := emulator(t, "app")
	api := iam.NewFromConfig(cfg)
	ctx := context.Background()
	if _, err := api.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(policy.IssuerURL(org)), ClientIDList: []string{org}}); err != nil {
		t.Fatal(err)
	}
	proxy.Reset()
	if _, err := run(t, cfg, specFor("app")); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"CreateRole": 1, "PutRolePolicy": 1}
	if got := proxy.Writes(); !mapsEqual(got, want) {
		t.Errorf("writes = %v, want %v: the shared provider must not be written", got, want)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestAudiencesAreCreatedAndRerunWritesNothing: against the emulator, a
// provider is created holding the organization ID and the configured
// audiences, the trust policy admits them, and a rerun reads them back as
// matching. (moto does not implement AddClientIDToOpenIDConnectProvider; the
// fake IAM covers adding audiences to an existing provider.)
func TestAudiencesAreCreatedAndRerunWritesNothing(t *testing.T) {
	proxy, cfg := emulator(t, "app")
	spec := specFor("app")
	spec.Audiences = []provision.Audience{
		{Value: "https://ci.example.com", Source: "organization gh/acme custom audience"},
		{Value: "api://acme-ci", Source: "project gh/acme/app custom audience"},
	}
	p, err := run(t, cfg, spec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{org, "api://acme-ci", "https://ci.example.com"}
	prov, err := iam.NewFromConfig(cfg).GetOpenIDConnectProvider(context.Background(), &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(p.ProviderARN)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(prov.ClientIDList, want) {
		t.Errorf("provider audiences = %v, want %v", prov.ClientIDList, want)
	}
	trust, _ := readRole(t, cfg, provision.DefaultRoleName)
	doc, err := policy.Parse(trust)
	if err != nil {
		t.Fatal(err)
	}
	if aud := doc.Statement[0].Condition["StringEquals"][policy.ProviderPath(org)+":aud"]; !slices.Equal(aud, want) {
		t.Errorf("trust policy aud = %v, want %v", aud, want)
	}
	proxy.Reset()
	p2, err := run(t, cfg, spec)
	if err != nil {
		t.Fatal(err)
	}
	if p2.HasChanges() || len(proxy.Writes()) != 0 {
		t.Errorf("rerun planned %v and wrote %v", p2.Changes, proxy.Writes())
	}
}
