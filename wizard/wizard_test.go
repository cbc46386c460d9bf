package wizard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

const (
	orgID    = "2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d"
	project1 = "8e7c4b1e-5a0d-4c3b-9f2e-1d6a7b8c9d0e"
	project2 = "0f1e2d3c-4b5a-4968-8776-655443322110"
	account  = "123456789012"
)

// lines feeds one answer per Read, as a terminal in canonical mode does.
// huh's accessible prompts start a new buffered scanner for every question,
// so a reader that returned everything at once would lose all but the first
// answer.
type lines struct{ queue []string }

func answers(a ...string) *lines { return &lines{queue: a} }

func (l *lines) Read(p []byte) (int, error) {
	if len(l.queue) == 0 {
		return 0, io.EOF
	}
	line := l.queue[0] + "\n"
	n := copy(p, line)
	if n < len(line) {
		l.queue[0] = line[n : len(line)-1]
	} else {
		l.queue = l.queue[1:]
	}
	return n, nil
}

type fakeAWS struct {
	repos   []string
	listErr error
	listed  []string // regions listed
}

func (f *fakeAWS) deps() Deps {
	return Deps{
		Identity: func(context.Context) (Identity, error) {
			return Identity{Account: account, Partition: "aws", ARN: "arn:aws:iam::" + account + ":user/alice"}, nil
		},
		ListRepositories: func(_ context.Context, region string) ([]string, error) {
			f.listed = append(f.listed, region)
			return f.repos, f.listErr
		},
	}
}

func fill(t *testing.T, aws *fakeAWS, spec provision.Spec, given Given, in *lines) (provision.Spec, string, error) {
	t.Helper()
	var out bytes.Buffer
	w := New(aws.deps(), Options{In: in, Out: &out, Accessible: true})
	got, err := w.Fill(context.Background(), spec, given)
	if err == nil && len(in.queue) > 0 {
		t.Errorf("answers left unread: %q\noutput:\n%s", in.queue, out.String())
	}
	return got, out.String(), err
}

func TestFillAccessibleAsksEveryQuestionInOrder(t *testing.T) {
	aws := &fakeAWS{repos: []string{"tools/builder", "app"}}
	got, out, err := fill(t, aws, provision.Spec{Region: "us-east-1"}, Given{}, answers(
		"",       // region: keep us-east-1
		orgID,    // organization ID
		"1", "0", // pick app (sorted first), confirm
		"team/*",               // typed pattern
		"2",                    // access: pull and push
		"",                     // who may assume: specific projects (default)
		project1+", "+project2, // project IDs
		"",                     // condition: claim (default)
		"",                     // role name: default
		"",                     // image: default
	))
	if err != nil {
		t.Fatalf("Fill: %v\n%s", err, out)
	}
	want := provision.Spec{
		OrgID: orgID, Repositories: []string{"app", "team/*"}, ProjectIDs: []string{project1, project2},
		ProjectCondition: policy.ClaimKey, RoleName: provision.DefaultRoleName, Region: "us-east-1", Access: policy.AccessPush,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("spec:\n got %+v\nwant %+v", got, want)
	}
	// The AWS context comes first, then the questions in the order.
	// In accessible mode a field's hint is printed just before its prompt.
	order := []string{"AWS account  123456789012 (partition aws)", "Acting as    arn:aws:iam::123456789012:user/alice",
		"AWS region", "Organization Settings → Overview", "CircleCI organization ID", "ECR repositories the role may pull from",
		"Other repositories", "What may CircleCI jobs do with these repositories?", "Who may assume the role?", "CircleCI project IDs", "Advanced: how the trust policy names the projects",
		"IAM role name", "Leave empty for 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest", "Image for the config.yml snippet"}
	pos := 0
	for _, s := range order {
		i := strings.Index(out[pos:], s)
		if i < 0 {
			t.Fatalf("output lacks %q after position %d:\n%s", s, pos, out)
		}
		pos += i
	}
	if !reflect.DeepEqual(aws.listed, []string{"us-east-1"}) {
		t.Errorf("listed regions %v, want [us-east-1]", aws.listed)
	}
}

func TestFillAccessibleRepromptsInvalidOrgID(t *testing.T) {
	aws := &fakeAWS{repos: []string{"app"}}
	given := Given{Access: true, Region: true, Repositories: true, Projects: true, ProjectCondition: true, RoleName: true, Image: true}
	spec := provision.Spec{Region: "eu-west-1", Repositories: []string{"app"}, AllProjects: true}
	got, out, err := fill(t, aws, spec, given, answers(
		"gh/acme",              // a VCS slug, not an ID
		strings.ToUpper(orgID), // valid; normalized to lowercase
	))
	if err != nil {
		t.Fatalf("Fill: %v\n%s", err, out)
	}
	if got.OrgID != orgID {
		t.Errorf("OrgID = %q, want %q", got.OrgID, orgID)
	}
	if n := strings.Count(out, "CircleCI organization ID"); n != 2 {
		t.Errorf("organization ID asked %d times, want 2 (asked again after the invalid answer):\n%s", n, out)
	}
	if !strings.Contains(out, "must be a UUID") || !strings.Contains(out, "not a project ID or the VCS slug") {
		t.Errorf("output lacks the UUID rule and its hint:\n%s", out)
	}
	if len(aws.listed) != 0 {
		t.Errorf("listed repositories although --repo was given: %v", aws.listed)
	}
	// Given flags are kept as they were.
	if !got.AllProjects || got.Region != "eu-west-1" || !reflect.DeepEqual(got.Repositories, []string{"app"}) {
		t.Errorf("given values changed: %+v", got)
	}
}

func TestFillAccessibleRepromptsEmptyRepositorySelection(t *testing.T) {
	aws := &fakeAWS{repos: []string{"app", "tools/builder"}}
	given := Given{Access: true, Region: true, OrgID: true, Projects: true, ProjectCondition: true, RoleName: true, Image: true}
	spec := provision.Spec{OrgID: orgID, Region: "us-east-1", ProjectIDs: []string{project1}}
	got, out, err := fill(t, aws, spec, given, answers(
		"0", "", // confirm an empty selection, type nothing
		"2", "0", "", // then pick tools/builder
	))
	if err != nil {
		t.Fatalf("Fill: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(got.Repositories, []string{"tools/builder"}) {
		t.Errorf("Repositories = %q, want [tools/builder]", got.Repositories)
	}
	if !strings.Contains(out, "Choose at least one repository.") {
		t.Errorf("no re-prompt after an empty selection:\n%s", out)
	}
	if n := strings.Count(out, "ECR repositories the role may pull from"); n != 2 {
		t.Errorf("repository list shown %d times, want 2:\n%s", n, out)
	}
}

func TestFillAccessibleRepromptsInvalidTypedRepositories(t *testing.T) {
	aws := &fakeAWS{repos: []string{"app"}}
	given := Given{Access: true, Region: true, OrgID: true, Projects: true, ProjectCondition: true, RoleName: true, Image: true}
	spec := provision.Spec{OrgID: orgID, Region: "us-east-1", ProjectIDs: []string{project1}}
	got, out, err := fill(t, aws, spec, given, answers(
		"0",
		"Bad_Name", // ECR names are lowercase
		"missing",  // not in the region
		"team/*, arn:aws:ecr:eu-west-1:210987654321:repository/shared", // a pattern and a cross-account ARN
	))
	if err != nil {
		t.Fatalf("Fill: %v\n%s", err, out)
	}
	want := []string{"team/*", "arn:aws:ecr:eu-west-1:210987654321:repository/shared"}
	if !reflect.DeepEqual(got.Repositories, want) {
		t.Errorf("Repositories = %q, want %q", got.Repositories, want)
	}
	for _, s := range []string{"Bad_Name: an ECR repository name", "missing: no such repository in us-east-1"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestFillAccessibleWholeOrganization(t *testing.T) {
	aws := &fakeAWS{repos: []string{"app"}}
	given := Given{Access: true, Region: true, OrgID: true, Repositories: true, RoleName: true, Image: true}
	spec := provision.Spec{OrgID: orgID, Region: "us-east-1", Repositories: []string{"app"}}
	got, out, err := fill(t, aws, spec, given, answers("2"))
	if err != nil {
		t.Fatalf("Fill: %v\n%s", err, out)
	}
	if !got.AllProjects || got.ProjectIDs != nil || got.ProjectCondition != "" {
		t.Errorf("got AllProjects=%v ProjectIDs=%v ProjectCondition=%q, want the whole organization", got.AllProjects, got.ProjectIDs, got.ProjectCondition)
	}
	if strings.Contains(out, "CircleCI project IDs") {
		t.Errorf("asked for project IDs after choosing the whole organization:\n%s", out)
	}
	for _, s := range []string{"only the projects you list", "every project, including future ones"} {
		if !strings.Contains(out, s) {
			t.Errorf("the choice lacks its consequence %q:\n%s", s, out)
		}
	}
}

func TestFillAccessibleProjectIDs(t *testing.T) {
	aws := &fakeAWS{}
	given := Given{Access: true, Region: true, OrgID: true, Repositories: true, RoleName: true, Image: true}
	spec := provision.Spec{OrgID: orgID, Region: "us-east-1", Repositories: []string{"app"}}
	got, out, err := fill(t, aws, spec, given, answers(
		"1",
		"",                     // none
		orgID,                  // the organization ID
		project1+" not-a-uuid", // one invalid
		project1+" "+project1+","+project2,
		"2", // sub
	))
	if err != nil {
		t.Fatalf("Fill: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(got.ProjectIDs, []string{project1, project2}) || got.ProjectCondition != policy.Sub {
		t.Errorf("got %q %q", got.ProjectIDs, got.ProjectCondition)
	}
	for _, s := range []string{"enter at least one project ID", "is the organization ID", "not-a-uuid: must be a UUID"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestFillAccessibleLongListIsTyped(t *testing.T) {
	aws := &fakeAWS{}
	for i := range 3000 {
		aws.repos = append(aws.repos, fmt.Sprintf("service-%04d", i))
	}
	given := Given{Access: true, Region: true, OrgID: true, Projects: true, ProjectCondition: true, RoleName: true, Image: true}
	spec := provision.Spec{OrgID: orgID, Region: "us-east-1", AllProjects: true}
	got, out, err := fill(t, aws, spec, given, answers("", "service-2999 service-0001"))
	if err != nil {
		t.Fatalf("Fill: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(got.Repositories, []string{"service-2999", "service-0001"}) {
		t.Errorf("Repositories = %q", got.Repositories)
	}
	if strings.Contains(out, "service-0000") || !strings.Contains(out, "Found 3000 repositories") {
		t.Errorf("a screen reader should not be read 3,000 options:\n%.2000s", out)
	}
}

func TestFillAccessibleListFailureFallsBackToTyping(t *testing.T) {
	aws := &fakeAWS{listErr: errors.New("AccessDeniedException: not authorized to perform ecr:DescribeRepositories")}
	given := Given{Access: true, Region: true, OrgID: true, Projects: true, ProjectCondition: true, RoleName: true, Image: true}
	spec := provision.Spec{OrgID: orgID, Region: "us-east-1", AllProjects: true}
	// Without a list nothing can be checked for existence: the plan does.
	got, out, err := fill(t, aws, spec, given, answers("", "anything"))
	if err != nil {
		t.Fatalf("Fill: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(got.Repositories, []string{"anything"}) {
		t.Errorf("Repositories = %q", got.Repositories)
	}
	if !strings.Contains(out, "Could not list the repositories (AccessDeniedException") {
		t.Errorf("the listing error is not shown:\n%s", out)
	}
}

// TestFillAccessibleRepromptsRepositoryInOtherPartition types a China
// repository ARN for an account in aws: the grant could never match, so it
// is refused with both partitions named, and the question asked again.
func TestFillAccessibleRepromptsRepositoryInOtherPartition(t *testing.T) {
	aws := &fakeAWS{repos: []string{"app"}}
	given := Given{Access: true, Region: true, OrgID: true, Projects: true, ProjectCondition: true, RoleName: true, Image: true}
	spec := provision.Spec{OrgID: orgID, Region: "us-east-1", ProjectIDs: []string{project1}}
	got, out, err := fill(t, aws, spec, given, answers(
		"0",
		"arn:aws-cn:ecr:cn-north-1:123456789012:repository/app",
		"app",
	))
	if err != nil {
		t.Fatalf("Fill: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(got.Repositories, []string{"app"}) {
		t.Errorf("Repositories = %q, want [app]", got.Repositories)
	}
	if want := "is in partition aws-cn, but the account is in partition aws (caller arn:aws:iam::123456789012:user/alice)"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

// TestFillRefusesGivenFlagsInOtherPartition gives the China ARN as a flag,
// checked before the caller was known: Fill refuses it once it is.
func TestFillRefusesGivenFlagsInOtherPartition(t *testing.T) {
	aws := &fakeAWS{repos: []string{"app"}}
	given := Given{Access: true, Region: true, OrgID: true, Repositories: true, Projects: true, ProjectCondition: true, RoleName: true, Image: true}
	spec := provision.Spec{OrgID: orgID, Region: "us-east-1", ProjectIDs: []string{project1},
		Repositories: []string{"app", "arn:aws-cn:ecr:cn-north-1:123456789012:repository/app"}}
	_, out, err := fill(t, aws, spec, given, answers())
	var ie *provision.InputError
	if !errors.As(err, &ie) || ie.Field != provision.FieldRepo || !strings.Contains(err.Error(), "partition aws-cn") {
		t.Fatalf("Fill = %v, want the --repo partition error\n%s", err, out)
	}
}

func TestFillAccessibleImageAndRoleName(t *testing.T) {
	aws := &fakeAWS{repos: []string{"app"}}
	given := Given{Access: true, Region: true, OrgID: true, Repositories: true, Projects: true, ProjectCondition: true}
	spec := provision.Spec{OrgID: orgID, Region: "us-east-1", Repositories: []string{"team/*"}, AllProjects: true}
	got, out, err := fill(t, aws, spec, given, answers(
		"bad role name",
		"ci-pull",
		"", // required: every repository is a pattern
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/other:1",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:1.2",
	))
	if err != nil {
		t.Fatalf("Fill: %v\n%s", err, out)
	}
	if got.RoleName != "ci-pull" || got.Image != "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:1.2" {
		t.Errorf("got role %q image %q", got.RoleName, got.Image)
	}
	for _, s := range []string{"an IAM role name is 1 to 64 characters", "name the image the snippet should pull", "the role could not pull it"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestFillAccessibleAccessDefaultsToPull(t *testing.T) {
	aws := &fakeAWS{repos: []string{"app"}}
	given := Given{Region: true, OrgID: true, Repositories: true, Projects: true, ProjectCondition: true, RoleName: true, Image: true}
	spec := provision.Spec{OrgID: orgID, Region: "us-east-1", Repositories: []string{"app"}, AllProjects: true}
	got, out, err := fill(t, aws, spec, given, answers(""))
	if err != nil {
		t.Fatalf("Fill: %v\n%s", err, out)
	}
	if got.Access != policy.AccessPull {
		t.Errorf("Access = %q after an empty answer, want pull", got.Access)
	}
	for _, s := range []string{"all a docker executor image needs (recommended)", "adds ECR's five push actions"} {
		if !strings.Contains(out, s) {
			t.Errorf("the choice lacks %q:\n%s", s, out)
		}
	}
}

func TestFillAccessibleEndOfInputAborts(t *testing.T) {
	aws := &fakeAWS{repos: []string{"app"}}
	_, out, err := fill(t, aws, provision.Spec{Region: "us-east-1"}, Given{}, answers("", orgID))
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("Fill = %v, want ErrAborted\n%s", err, out)
	}
}

func TestFillIdentityErrorAsksNothing(t *testing.T) {
	deps := (&fakeAWS{}).deps()
	deps.Identity = func(context.Context) (Identity, error) { return Identity{}, errors.New("no credentials") }
	var out bytes.Buffer
	_, err := New(deps, Options{In: answers(), Out: &out, Accessible: true}).Fill(context.Background(), provision.Spec{}, Given{})
	if err == nil || !strings.Contains(err.Error(), "read caller identity: no credentials") {
		t.Fatalf("Fill = %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("asked or printed before the identity was known:\n%s", out.String())
	}
}

func TestConfirmAccessibleDefaultsToNo(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   bool
	}{{"", false}, {"n", false}, {"y", true}, {"yes", true}} {
		var out bytes.Buffer
		w := New(Deps{}, Options{In: answers(tc.answer), Out: &out, Accessible: true})
		got, err := w.Confirm(context.Background(), "Apply?", "Yes, apply")
		if err != nil || got != tc.want {
			t.Errorf("answer %q: Confirm = %v, %v; want %v", tc.answer, got, err, tc.want)
		}
		if !strings.Contains(out.String(), "[y/N]") {
			t.Errorf("the prompt does not show No as the default: %q", out.String())
		}
	}
	w := New(Deps{}, Options{In: answers(), Out: io.Discard, Accessible: true})
	if _, err := w.Confirm(context.Background(), "Apply?", "Yes, apply"); !errors.Is(err, ErrAborted) {
		t.Errorf("Confirm at end of input = %v, want ErrAborted", err)
	}
}

func TestReviewShowsPlanAndDocuments(t *testing.T) {
	spec, err := provision.Spec{OrgID: orgID, Repositories: []string{"app"}, ProjectIDs: []string{project1}, Region: "us-east-1"}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	obs := &provision.Observed{
		Account: account, Partition: "aws", CallerARN: "arn:aws:iam::123456789012:user/alice",
		Provider:         &provision.ObservedProvider{ARN: policy.ProviderARN("aws", account, orgID), ClientIDs: []string{orgID}},
		Repositories:     []provision.RepositoryStatus{{Input: "app", ARN: "arn:aws:ecr:us-east-1:123456789012:repository/app", State: provision.RepoFound}},
		TrustPolicyQuota: provision.DefaultTrustPolicyQuota, RolePolicyQuota: provision.DefaultRolePolicyQuota,
	}
	p, err := provision.NewPlan(spec, obs)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ok, err := New(Deps{}, Options{In: answers(""), Out: &out, Accessible: true}).Review(context.Background(), &provision.SetupOperation{Plan: p})
	if err != nil || ok {
		t.Fatalf("Review = %v, %v; want false (the default), nil", ok, err)
	}
	for _, s := range []string{"Nothing has been written yet", "exists, matches (no change)", "will be created",
		"Trust policy of circleci-ecr-pull:", "sts:AssumeRoleWithWebIdentity", "Permissions policy circleci-ecr-oidc-pull:",
		"ecr:BatchGetImage", "Apply these 2 change(s) to account 123456789012?"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("review lacks %q:\n%s", s, out.String())
		}
	}
}
