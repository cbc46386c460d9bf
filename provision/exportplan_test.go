package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// manyRepositories returns n repository names under a few prefixes: more
// than the inline policy holds, so the grants need managed policies.
func manyRepositories(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("team-%02d/service-%04d", i%7, i)
	}
	return out
}

// exportDocuments returns the documents of ExportPlan: the trust policy,
// the inline policy and the managed policies.
func exportDocuments(t *testing.T, s Spec, partition, account string) (trust, inline policy.Document, managed []policy.Document, err error) {
	t.Helper()
	p, err := ExportPlan(s, partition, account)
	if err != nil {
		return policy.Document{}, policy.Document{}, nil, err
	}
	for _, mp := range p.ManagedPolicies {
		managed = append(managed, mp.Document)
	}
	return p.TrustPolicy, p.PermissionsPolicy, managed, nil
}

// TestExportPlanMatchesPlan checks that the plan export renders, made for an
// empty account with a real partition and account, holds exactly the
// documents a plan against the account would write: the trust policy, the
// inline permissions policy and, for a spec with hundreds of repositories,
// each managed policy.
func TestExportPlanMatchesPlan(t *testing.T) {
	other := "arn:aws:ecr:eu-west-1:210987654321:repository/shared/base"
	many := append(manyRepositories(400), "tools/*", other)
	specs := map[string]Spec{
		"claim":        validSpec(),
		"sub":          {OrgID: testOrg, Repositories: []string{"app", "team/*", other}, ProjectIDs: []string{testProject}, ProjectCondition: policy.Sub, Region: "eu-central-1"},
		"all projects": {OrgID: testOrg, Repositories: []string{"app", "tools/builder"}, AllProjects: true, ProjectCondition: policy.Sub, Region: "us-east-1"},
		"push":         {OrgID: testOrg, Repositories: []string{"app", "team/*", "arn:aws:ecr:eu-west-1:210987654321:repository/shared/base"}, ProjectIDs: []string{testProject}, Region: "us-east-1", Access: policy.AccessPush},
		"branches":     {OrgID: testOrg, Repositories: []string{"app"}, ProjectIDs: []string{testProject}, Branches: []string{"refs/heads/main", "refs/tags/v*"}, Region: "us-east-1", Tags: map[string]string{"team": "platform"}},
		"many":         {OrgID: testOrg, Repositories: many, ProjectIDs: []string{testProject}, Region: "us-east-1"},
		"many push":    {OrgID: testOrg, Repositories: many, ProjectIDs: []string{testProject}, Region: "us-east-1", Access: policy.AccessPush},
	}
	for name, s := range specs {
		t.Run(name, func(t *testing.T) {
			f := newFakeAWS()
			f.repos["app"], f.repos["tools/builder"] = true, true
			for _, r := range s.Repositories {
				f.repos[r] = true
			}
			p, err := planFor(t, f, s)
			if err != nil {
				t.Fatal(err)
			}
			trust, inline, managed, err := exportDocuments(t, mustSpec(t, s), "aws", "123456789012")
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(name, "many") && len(p.ManagedPolicies) == 0 {
				t.Fatalf("the plan for %d repositories has no managed policies; the test needs a larger spec", len(s.Repositories))
			}
			c := []struct {
				name      string
				got, want policy.Document
			}{
				{"trust policy", trust, p.TrustPolicy},
				{"permissions policy", inline, p.PermissionsPolicy},
			}
			if len(managed) != len(p.ManagedPolicies) {
				t.Fatalf("the export plan packs %d managed policies, the plan %d", len(managed), len(p.ManagedPolicies))
			}
			for i, mp := range p.ManagedPolicies {
				c = append(c, struct {
					name      string
					got, want policy.Document
				}{"managed policy " + mp.Name, managed[i], mp.Document})
			}
			for _, c := range c {
				got, _ := c.got.JSON()
				want, _ := c.want.JSON()
				if got != want {
					t.Errorf("%s differs from the plan's:\n got %s\nwant %s", c.name, got, want)
				}
			}
		})
	}
}

// Placeholders as export uses them: not a partition, not an account.
const (
	testPartitionToken = "\x00PARTITION\x00"
	testAccountToken   = "\x00ACCOUNT\x00"
)

// substitute resolves the placeholders of a document.
func substitute(t *testing.T, doc policy.Document, partition, account string) string {
	t.Helper()
	s, err := doc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	// The NUL bytes are JSON-escaped in the document.
	return strings.NewReplacer(`\u0000PARTITION\u0000`, partition, `\u0000ACCOUNT\u0000`, account).Replace(s)
}

// TestExportPlanPlaceholders checks the packing ExportPlan decides for
// placeholder partition and account, as export renders them. It is decided
// for the longest partition (aws-us-gov), not for aws: an ARN there is
// seven characters longer, so each document holds fewer and the group
// boundaries differ from those of a plan in the aws partition. What must
// hold is that every document fits its quota in every partition and that
// together they grant exactly what the plan grants.
func TestExportPlanPlaceholders(t *testing.T) {
	if got := PackingPartition(); got != "aws-us-gov" {
		t.Errorf("PackingPartition() = %q, want the longest known partition aws-us-gov", got)
	}
	other := "arn:aws:ecr:eu-west-1:210987654321:repository/shared/base"
	s := Spec{OrgID: testOrg, Repositories: append(manyRepositories(400), "tools/*", other), ProjectIDs: []string{testProject}, Region: "us-east-1"}
	f := newFakeAWS()
	for _, r := range s.Repositories {
		f.repos[r] = true
	}
	p, err := planFor(t, f, s)
	if err != nil {
		t.Fatal(err)
	}
	_, inline, managed, err := exportDocuments(t, mustSpec(t, s), testPartitionToken, testAccountToken)
	if err != nil {
		t.Fatal(err)
	}
	if len(managed) == 0 {
		t.Fatalf("%d managed policies, want some", len(managed))
	}
	var granted, want []string
	for _, partition := range []string{"aws", "aws-cn", "aws-us-gov", "aws-iso-b", PackingPartition()} {
		for i, doc := range append([]policy.Document{inline}, managed...) {
			quota := DefaultManagedPolicyQuota
			if i == 0 {
				quota = DefaultRolePolicyQuota
			}
			if size := policy.Size(substitute(t, doc, partition, "123456789012")); size > quota {
				t.Errorf("in %s document %d is %d characters, over its quota of %d", partition, i, size, quota)
			}
		}
	}
	for i, doc := range append([]policy.Document{inline}, managed...) {
		resolved := substitute(t, doc, "aws", "123456789012")
		if i == 0 && !strings.Contains(resolved, policy.ActionGetAuthorizationToken) {
			t.Errorf("the inline policy lacks %s", policy.ActionGetAuthorizationToken)
		}
		if i > 0 && strings.Contains(resolved, policy.ActionGetAuthorizationToken) {
			t.Errorf("managed policy %d grants %s, which the inline policy carries", i, policy.ActionGetAuthorizationToken)
		}
		granted = append(granted, resources(t, resolved)...)
	}
	want = resources(t, mustJSON(t, p.PermissionsPolicy))
	for _, mp := range p.ManagedPolicies {
		want = append(want, resources(t, mustJSON(t, mp.Document))...)
	}
	slices.Sort(granted)
	slices.Sort(want)
	if !slices.Equal(granted, want) {
		t.Errorf("the placeholder documents grant\n%v\nthe plan\n%v", granted, want)
	}
	if len(granted) != len(slices.Compact(slices.Clone(granted))) {
		t.Error("a repository is granted in more than one document")
	}
	t.Logf("aws plan: inline + %d managed; placeholder packing: inline %d ARNs + %d managed", len(p.ManagedPolicies), len(resources(t, mustJSON(t, inline))), len(managed))
}

// resources lists the Resource values of a document, "*" aside.
func resources(t *testing.T, doc string) []string {
	t.Helper()
	canon, err := policy.Canonical(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, part := range strings.Split(canon, `"`) {
		if strings.HasPrefix(part, "arn:") && strings.Contains(part, ":repository/") {
			out = append(out, part)
		}
	}
	return out
}

func mustJSON(t *testing.T, doc policy.Document) string {
	t.Helper()
	s, err := doc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestExportPlanStandInAccount checks that a repository given by name and
// one given by an ARN that would share its stand-in ARN are both granted.
func TestExportPlanStandInAccount(t *testing.T) {
	s := mustSpec(t, Spec{OrgID: testOrg, ProjectIDs: []string{testProject}, Region: "us-gov-west-1",
		Repositories: []string{"app", "arn:aws-us-gov:ecr:us-gov-west-1:999999999999:repository/app"}})
	p, err := ExportPlan(s, testPartitionToken, testAccountToken)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"arn:" + testPartitionToken + ":ecr:us-gov-west-1:" + testAccountToken + ":repository/app", "arn:aws-us-gov:ecr:us-gov-west-1:999999999999:repository/app"}
	// The placeholders resolved to names JSON keeps as they are.
	got := resources(t, substitute(t, p.PermissionsPolicy, "PARTITION", "ACCOUNT"))
	slices.Sort(got)
	for i, w := range want {
		want[i] = strings.NewReplacer(testPartitionToken, "PARTITION", testAccountToken, "ACCOUNT").Replace(w)
	}
	slices.Sort(want)
	if len(p.ManagedPolicies) != 0 || !slices.Equal(got, want) {
		t.Errorf("inline grants %q and %d managed policies, want only the inline policy, with %q", got, len(p.ManagedPolicies), want)
	}
}

// TestExportPlanTooMany checks that repositories beyond what the inline
// policy and ten managed policies hold fail with the plan's error, which
// says how many fit and which prefix/* patterns would make them fit.
func TestExportPlanTooMany(t *testing.T) {
	s := mustSpec(t, Spec{OrgID: testOrg, ProjectIDs: []string{testProject}, Region: "us-east-1", Repositories: manyRepositories(1500)})
	for _, partition := range []string{"aws", testPartitionToken} {
		_, err := ExportPlan(s, partition, "123456789012")
		var qe *PermissionsQuotaError
		if !errors.As(err, &qe) {
			t.Fatalf("ExportPlan(%q) error %v, want a *PermissionsQuotaError", partition, err)
		}
		if qe.Total != 1500 || qe.Fit <= 0 || qe.Fit >= 1500 || len(qe.Prefixes) == 0 {
			t.Errorf("ExportPlan(%q): %+v", partition, qe)
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "team-00/*") {
			t.Errorf("ExportPlan(%q) error %q, want one line suggesting team-00/*", partition, msg)
		}
	}
}

// TestExportPlanCreatesEverything checks that export renders a plan for an
// empty account: every resource is to be created, each step carrying the
// desired value export renders, and nothing is observed.
func TestExportPlanCreatesEverything(t *testing.T) {
	s := mustSpec(t, Spec{OrgID: testOrg, ProjectIDs: []string{testProject}, Region: "us-east-1", Repositories: manyRepositories(400)})
	p, err := ExportPlan(s, testPartitionToken, testAccountToken)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[Kind]int{}
	for _, st := range p.Steps {
		kinds[st.Kind]++
		if st.Action != ActionCreate || st.Observed != nil || st.Desired == nil {
			t.Errorf("step %s: %s, observed %v, desired %v; want a creation", st.Key(), st.Action, st.Observed, st.Desired)
		}
	}
	if kinds[KindProvider] != 1 || kinds[KindRole] != 1 || kinds[KindInlinePolicy] != 1 || kinds[KindManagedPolicy] != len(p.ManagedPolicies) || len(p.ManagedPolicies) == 0 {
		t.Errorf("steps by kind %v, managed policies %d", kinds, len(p.ManagedPolicies))
	}
	trust, _ := p.TrustPolicy.JSON()
	if i := slices.IndexFunc(p.Steps, func(st Step) bool { return st.Kind == KindRole }); i < 0 || p.Steps[i].Desired.Document != trust {
		t.Error("the role's step does not carry the trust policy export renders")
	}
}

// testRegionToken is a placeholder region, as the StackSet export uses it.
const testRegionToken = "\x00REGION\x00"

// TestExportPlanRegionPlaceholder checks the packing ExportPlan decides
// when the region, too, is a placeholder (each stack instance of a StackSet
// resolves its own): every document fits its quota in every partition and
// in the longest region, repositories given by name are granted in the
// placeholder region, ARNs given in full keep theirs, and together the
// documents grant what a plan in a real region grants.
func TestExportPlanRegionPlaceholder(t *testing.T) {
	other := "arn:aws:ecr:eu-west-1:210987654321:repository/shared/base"
	s := mustSpec(t, Spec{OrgID: testOrg, Repositories: append(manyRepositories(400), "tools/*", other), ProjectIDs: []string{testProject}, Region: "us-east-1"})
	inRegion := s
	inRegion.Region = testRegionToken
	_, inline, managed, err := exportDocuments(t, inRegion, testPartitionToken, testAccountToken)
	if err != nil {
		t.Fatal(err)
	}
	if len(managed) == 0 {
		t.Fatalf("%d managed policies, want some", len(managed))
	}
	docs := append([]policy.Document{inline}, managed...)
	// The packing is decided for PackingRegion, neither shorter (documents
	// could exceed a quota there) nor longer (the JSON-escaped placeholder
	// is 18 characters, which would waste room): the documents hold the
	// same number of ARNs each as when the region is PackingRegion itself.
	longest := s
	longest.Region = PackingRegion
	_, wantInline, wantManaged, err := exportDocuments(t, longest, testPartitionToken, testAccountToken)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range append([]policy.Document{wantInline}, wantManaged...) {
		if i >= len(docs) || len(resources(t, mustJSON(t, docs[i]))) != len(resources(t, mustJSON(t, want))) {
			t.Fatalf("document %d of %d is not packed as for region %s (%d documents)", i, len(docs), PackingRegion, len(wantManaged)+1)
		}
	}
	resolve := func(doc policy.Document, partition, region string) string {
		return strings.ReplaceAll(substitute(t, doc, partition, "123456789012"), `\u0000REGION\u0000`, region)
	}
	for _, partition := range []string{"aws", "aws-us-gov", PackingPartition()} {
		for _, region := range []string{"us-east-1", "ap-southeast-5", PackingRegion} {
			for i, doc := range docs {
				quota := DefaultManagedPolicyQuota
				if i == 0 {
					quota = DefaultRolePolicyQuota
				}
				if size := policy.Size(resolve(doc, partition, region)); size > quota {
					t.Errorf("in %s, %s document %d is %d characters, over its quota of %d", partition, region, i, size, quota)
				}
			}
		}
	}
	var granted []string
	for _, doc := range docs {
		granted = append(granted, resources(t, resolve(doc, "aws", "eu-central-1"))...)
	}
	real := s
	real.Region = "eu-central-1"
	_, realInline, realManaged, err := exportDocuments(t, real, "aws", "123456789012")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, doc := range append([]policy.Document{realInline}, realManaged...) {
		want = append(want, resources(t, mustJSON(t, doc))...)
	}
	slices.Sort(granted)
	slices.Sort(want)
	if !slices.Equal(granted, want) {
		t.Errorf("resolved in eu-central-1 the documents grant\n%v\nwant\n%v", granted, want)
	}
	if !slices.Contains(granted, other) || !slices.Contains(granted, "arn:aws:ecr:eu-central-1:123456789012:repository/tools/*") {
		t.Errorf("grants lack %s (given in full) or tools/* in the instance's region: %v", other, granted)
	}
}

// TestPackingRegionIsLongest checks PackingRegion against the regions of
// the aws-sdk-go-v2 in go.mod: no region may be longer, or documents
// packed for it could exceed a quota there.
func TestPackingRegionIsLongest(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2").Output()
	if err != nil {
		t.Fatalf("find aws-sdk-go-v2: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "internal", "endpoints", "awsrulesfn", "partitions.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Partitions []struct {
			Regions map[string]any `json:"regions"`
		} `json:"partitions"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range file.Partitions {
		for region := range p.Regions {
			// aws-global and the like are endpoint aliases, not regions
			// a stack can be in.
			if !regionPattern.MatchString(region) {
				continue
			}
			n++
			if len(region) > len(PackingRegion) {
				t.Errorf("region %s is longer than PackingRegion %s", region, PackingRegion)
			}
		}
	}
	if n < 30 || !regionPattern.MatchString(PackingRegion) {
		t.Errorf("read %d regions, and PackingRegion %q is a region name: %v; want dozens, and true", n, PackingRegion, regionPattern.MatchString(PackingRegion))
	}
}
