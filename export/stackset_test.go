package export

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/golden"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

const (
	testOU      = "ou-ab12-cd34ef56"
	testOtherOU = "ou-ab12-0987zyxw"
	testRoot    = "r-ab12"
)

// stackSetDeployment is the deployment of the golden notes: two OUs, the
// template where export --out infra would write it.
func stackSetDeployment(bytes int) StackSetDeployment {
	return StackSetDeployment{Region: "us-east-1", OUs: []string{testOU, testOtherOU, testOU}, TemplatePath: "infra/stackset.yaml", TemplateBytes: bytes}
}

// TestStackSetNotesGolden checks the commands export prints after the
// StackSet template: with a template --template-body takes, and with the
// 400-repository one, which must go through S3.
func TestStackSetNotesGolden(t *testing.T) {
	for dir, spec := range goldenDirs {
		t.Run(dir, func(t *testing.T) {
			files, err := Render(CloudFormationStackSet, spec(t))
			if err != nil {
				t.Fatal(err)
			}
			notes, err := StackSetNotes(stackSetDeployment(len(files[0].Content)))
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join(dir, "stackset-commands.txt"), []byte(notes))
			if large := len(files[0].Content) > MaxTemplateBody; large != strings.Contains(notes, "--template-url https://BUCKET.s3.us-east-1.amazonaws.com/circleci-ecr-oidc/stackset.yaml") ||
				large == strings.Contains(notes, "--template-body file://infra/stackset.yaml") {
				t.Errorf("a template of %d bytes is created with the wrong option:\n%s", len(files[0].Content), notes)
			}
		})
	}
}

// TestStackSetNotesForReadAccounts checks the notes when export read the
// accounts: per-account overrides for those with the provider, and no
// advice to find them by hand.
func TestStackSetNotesForReadAccounts(t *testing.T) {
	d := stackSetDeployment(1000)
	d.HasProvider = map[string]bool{"222222222222": true, "111111111111": false, "333333333333": true}
	notes, err := StackSetNotes(d)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "stackset-commands-read.txt"), []byte(notes))
	for _, want := range []string{
		"OrganizationalUnitIds=ou-ab12-cd34ef56,ou-ab12-0987zyxw,Accounts=222222222222,333333333333,AccountFilterType=INTERSECTION",
		"ParameterKey=CreateOIDCProvider,ParameterValue=false",
		"OrganizationalUnitIds=ou-ab12-cd34ef56,ou-ab12-0987zyxw,Accounts=222222222222,333333333333,AccountFilterType=DIFFERENCE",
		"Of the 3 account(s) read, 2 have the organization's OIDC provider",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if strings.Contains(notes, "<their IDs>") {
		t.Errorf("notes still ask for the accounts with the provider:\n%s", notes)
	}
}

// validated is d as StackSetNotes takes it, validated, with hasProvider.
func validated(t *testing.T, d StackSetDeployment, hasProvider map[string]bool) StackSetDeployment {
	t.Helper()
	d.HasProvider = hasProvider
	d, err := d.validate()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestStackSetInstanceCommandsGolden shows the per-account commands for
// accounts of which some have the organization's provider.
func TestStackSetInstanceCommandsGolden(t *testing.T) {
	cmds, err := validated(t, stackSetDeployment(1000), map[string]bool{
		"222222222222": true, "111111111111": true, "333333333333": false,
	}).instanceCommands()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range cmds {
		b.WriteString(c.String() + "\n")
	}
	golden.Check(t, filepath.Join("testdata", "stackset-instances.txt"), []byte(b.String()))
}

func TestStackSetInstanceCommands(t *testing.T) {
	const ous = "OrganizationalUnitIds=" + testOU + "," + testOtherOU
	override := "ParameterKey=CreateOIDCProvider,ParameterValue=false"
	type want struct{ targets, overrides string }
	for _, tt := range []struct {
		name        string
		hasProvider map[string]bool
		want        []want
	}{
		{"nothing read", nil, []want{{ous, ""}}},
		{"no account has the provider", map[string]bool{"111111111111": false}, []want{{ous, ""}}},
		{"some have it", map[string]bool{"333333333333": true, "111111111111": true, "222222222222": false}, []want{
			{ous + ",Accounts=111111111111,333333333333,AccountFilterType=INTERSECTION", override},
			{ous + ",Accounts=111111111111,333333333333,AccountFilterType=DIFFERENCE", ""},
		}},
		{"all read have it", map[string]bool{"111111111111": true}, []want{
			{ous + ",Accounts=111111111111,AccountFilterType=INTERSECTION", override},
			{ous + ",Accounts=111111111111,AccountFilterType=DIFFERENCE", ""},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmds, err := validated(t, stackSetDeployment(1000), tt.hasProvider).instanceCommands()
			if err != nil {
				t.Fatal(err)
			}
			if len(cmds) != len(tt.want) {
				t.Fatalf("%d commands, want %d:\n%v", len(cmds), len(tt.want), cmds)
			}
			for i, c := range cmds {
				targets, _ := optionValue(c, "--deployment-targets")
				overrides, _ := optionValue(c, "--parameter-overrides")
				name, _ := optionValue(c, "--stack-set-name")
				regions, _ := optionValue(c, "--regions")
				if got := (want{targets, overrides}); got != tt.want[i] {
					t.Errorf("command %d targets %q with overrides %q, want %q with %q", i, got.targets, got.overrides, tt.want[i].targets, tt.want[i].overrides)
				}
				if !slices.Equal(c.Args, []string{"aws", "cloudformation", "create-stack-instances"}) || name != "circleci-ecr-oidc" || regions != "us-east-1" {
					t.Errorf("command %d is %q for stack set %q in regions %q", i, c.Args, name, regions)
				}
				if _, ok := optionValue(c, "--accounts"); ok {
					t.Errorf("command %d uses --accounts, which service-managed stack sets refuse", i)
				}
			}
		})
	}
}

func TestStackSetInstanceCommandsRejects(t *testing.T) {
	good := stackSetDeployment(1000)
	for _, tt := range []struct {
		name        string
		d           StackSetDeployment
		hasProvider map[string]bool
		want        string
	}{
		{"short account", good, map[string]bool{"12345": true}, `account "12345" is not a 12-digit account ID`},
		{"account with letters", good, map[string]bool{"12345678901a": false}, `account "12345678901a"`},
		{"no OU", StackSetDeployment{Region: "us-east-1", TemplatePath: "t.yaml"}, nil, "--ou is required"},
		{"bad OU", StackSetDeployment{Region: "us-east-1", OUs: []string{"ou-AB12-cd34ef56"}, TemplatePath: "t.yaml"}, nil, `invalid --ou "ou-AB12-cd34ef56"`},
		{"bad region", StackSetDeployment{Region: "moon-1", OUs: []string{testOU}, TemplatePath: "t.yaml"}, nil, "--region"},
		{"bad name", StackSetDeployment{Name: "1st", Region: "us-east-1", OUs: []string{testOU}, TemplatePath: "t.yaml"}, nil, `stack set name "1st"`},
		{"no template", StackSetDeployment{Region: "us-east-1", OUs: []string{testOU}}, nil, "the template's path is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.d
			d.HasProvider = tt.hasProvider
			_, err := StackSetNotes(d)
			if err == nil || !strings.Contains(flagText(err), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// optionValue returns the value of c's option name, and whether c has it.
func optionValue(c Command, name string) (string, bool) {
	i := slices.IndexFunc(c.Options, func(o Option) bool { return o.Name == name })
	if i < 0 {
		return "", false
	}
	return c.Options[i].Value, true
}

// TestStackSetCommands checks the create-stack-set command option by
// option, as the AWS CLI reference names them.
func TestStackSetCommands(t *testing.T) {
	cmds, err := validated(t, StackSetDeployment{Region: "eu-west-1", OUs: []string{testRoot}, TemplatePath: "my dir/stackset.yaml", TemplateBytes: 100}, nil).commands()
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 2 {
		t.Fatalf("%d commands, want create-stack-set and create-stack-instances", len(cmds))
	}
	want := []Option{
		{"--region", "eu-west-1"},
		{"--stack-set-name", "circleci-ecr-oidc"},
		{"--template-body", "file://my dir/stackset.yaml"},
		{"--permission-model", "SERVICE_MANAGED"},
		{"--auto-deployment", "Enabled=true,RetainStacksOnAccountRemoval=false"},
		{"--managed-execution", "Active=true"},
		{"--capabilities", "CAPABILITY_NAMED_IAM"},
		{"--parameters", "ParameterKey=CreateOIDCProvider,ParameterValue=true"},
	}
	if !slices.Equal(cmds[0].Args, []string{"aws", "cloudformation", "create-stack-set"}) || !slices.Equal(cmds[0].Options, want) {
		t.Errorf("create-stack-set is\n%v\nwant options\n%v", cmds[0], want)
	}
	if got, _ := optionValue(cmds[1], "--deployment-targets"); got != "OrganizationalUnitIds="+testRoot {
		t.Errorf("create-stack-instances targets %q", got)
	}
	if got := cmds[0].String(); !strings.Contains(got, "--template-body 'file://my dir/stackset.yaml' \\\n") {
		t.Errorf("the template path is not quoted for the shell:\n%s", got)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"OrganizationalUnitIds=ou-ab12-cd34ef56,Accounts=111111111111": "OrganizationalUnitIds=ou-ab12-cd34ef56,Accounts=111111111111",
		"file://infra/stackset.yaml":                                   "file://infra/stackset.yaml",
		"a b":                                                          "'a b'",
		"it's":                                                         `'it'\''s'`,
		"$HOME":                                                        "'$HOME'",
		"":                                                             "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCheckOUs(t *testing.T) {
	many := make([]string, MaxOUs+1)
	for i := range many {
		many[i] = fmt.Sprintf("ou-ab12-%08d", i)
	}
	for _, tt := range []struct {
		name   string
		format Format
		ous    []string
		want   string // "" for valid
		// normalized are the OUs returned when valid; nil means ous.
		normalized []string
	}{
		{"OU", CloudFormationStackSet, []string{testOU}, "", nil},
		{"spaces around values, as --ou 'ou-..., r-...' gives", CloudFormationStackSet, []string{testOU, " " + testRoot + " "}, "", []string{testOU, testRoot}},
		{"empty entry", CloudFormationStackSet, []string{testOU, ""}, "--ou has an empty entry", nil},
		{"root and OUs", CloudFormationStackSet, []string{testRoot, testOU, "ou-0123456789abcdefghijklmnopqrstuv-0123456789abcdefghijklmnopqrstuv"}, "", nil},
		{"repeated OUs count once", CloudFormationStackSet, append(slices.Clone(many[:MaxOUs]), many[0]), "", many[:MaxOUs]},
		{"missing", CloudFormationStackSet, nil, "--ou is required with --format cloudformation-stackset", nil},
		{"other format", CloudFormation, []string{testOU}, "--ou applies only to --format cloudformation-stackset", nil},
		{"uppercase", CloudFormationStackSet, []string{"ou-AB12-cd34ef56"}, `invalid --ou "ou-AB12-cd34ef56"`, nil},
		{"short first part", CloudFormationStackSet, []string{"ou-ab1-cd34ef56"}, "invalid --ou", nil},
		{"short second part", CloudFormationStackSet, []string{"ou-ab12-cd34ef5"}, "invalid --ou", nil},
		{"short root", CloudFormationStackSet, []string{"r-ab1"}, "invalid --ou", nil},
		{"account ID", CloudFormationStackSet, []string{"123456789012"}, "invalid --ou", nil},
		{"ARN", CloudFormationStackSet, []string{"arn:aws:organizations::123456789012:ou/o-abcdefghij/" + testOU}, "invalid --ou", nil},
		{"too many", CloudFormationStackSet, many, "names 51 organizational units; a stack set operation takes at most 50", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckOUs(tt.format, tt.ous)
			if tt.want == "" {
				want := tt.normalized
				if want == nil {
					want = tt.ous
				}
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("CheckOUs() = %q, %v; want %q", got, err, want)
				}
				return
			}
			var input *provision.InputError
			if !errors.As(err, &input) || input.Field != provision.FieldOU || !strings.Contains(flagText(err), tt.want) {
				t.Errorf("error %v, want an input error for --ou containing %q", err, tt.want)
			}
		})
	}
	if _, err := CheckOUs(Terraform, nil); err != nil {
		t.Errorf("terraform without --ou: %v", err)
	}
}

// TestStackSetDocumentsResolve resolves the StackSet template as
// CloudFormation would for a stack instance in account 123456789012 and
// region eu-central-1, creating the provider and using an existing one,
// and compares its documents with those setup writes there.
func TestStackSetDocumentsResolve(t *testing.T) {
	for dir, specFor := range goldenDirs {
		t.Run(dir, func(t *testing.T) {
			spec := specFor(t)
			files, err := Render(CloudFormationStackSet, spec)
			if err != nil {
				t.Fatal(err)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(files[0].Content), &doc); err != nil {
				t.Fatalf("template is not YAML: %v", err)
			}
			root := doc.Content[0]
			inRegion := spec
			inRegion.Region = "eu-central-1"
			setup, err := provision.ExportPlan(inRegion, "aws", "123456789012")
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, d := range planDocuments(setup) {
				j, _ := d.JSON()
				want = append(want, j)
			}
			managed := len(setup.ManagedPolicies)
			if dir == "testdata/many" && managed == 0 {
				t.Fatal("the many spec needs managed policies")
			}
			for _, create := range []bool{true, false} {
				r := resolver{t: t, createProvider: create, partition: "aws", region: "eu-central-1", providerARN: policy.ProviderARN("aws", "123456789012", spec.OrgID)}
				trust := resolveJSON(t, r, lookup(t, root, "Resources", "Role", "Properties", "AssumeRolePolicyDocument"))
				if w, _ := setup.TrustPolicy.JSON(); !policy.Equal(trust, w) {
					t.Errorf("trust policy (CreateOIDCProvider=%v) resolves to\n%s\nwant setup's\n%s", create, trust, w)
				}
				var got []string
				for _, path := range cfnPermissionsPaths(t, root, countManaged(t, root)) {
					got = append(got, resolveJSON(t, r, lookup(t, root, path...)))
				}
				if g, w := grants(t, got), grants(t, want); !slices.Equal(g, w) {
					t.Errorf("the permissions grant\n%v\nwant setup's\n%v", g, w)
				}
			}
			checkStackSetQuotas(t, root, spec.OrgID)
		})
	}
}

// countManaged counts the template's managed policies.
func countManaged(t *testing.T, root *yaml.Node) int {
	t.Helper()
	resources := lookup(t, root, "Resources")
	n := 0
	for i := 0; i+1 < len(resources.Content); i += 2 {
		if lookup(t, resources.Content[i+1], "Type").Value == "AWS::IAM::ManagedPolicy" {
			n++
		}
	}
	return n
}

// checkStackSetQuotas checks that every permissions document of the
// template, resolved in the longest partition and the longest region, fits
// its quota, and that there are no more managed policies than a role takes.
func checkStackSetQuotas(t *testing.T, root *yaml.Node, orgID string) {
	t.Helper()
	n := countManaged(t, root)
	if n > provision.DefaultAttachedPoliciesQuota {
		t.Fatalf("%d managed policies, over the %d a role may have", n, provision.DefaultAttachedPoliciesQuota)
	}
	partition := provision.PackingPartition()
	r := resolver{t: t, createProvider: true, partition: partition, region: provision.PackingRegion, providerARN: policy.ProviderARN(partition, "123456789012", orgID)}
	for i, path := range cfnPermissionsPaths(t, root, n) {
		quota := provision.DefaultManagedPolicyQuota
		if i == 0 {
			quota = provision.DefaultRolePolicyQuota
		}
		if size := policy.Size(resolveJSON(t, r, lookup(t, root, path...))); size > quota {
			t.Errorf("document %d is %d characters in %s %s, over its quota of %d", i, size, partition, provision.PackingRegion, quota)
		}
	}
}

// TestStackSetTemplateLints runs cfn-lint, the AWS CloudFormation linter,
// on StackSet templates: the golden ones and one for every project with
// the sub condition and push access. It fails on errors; warnings are
// logged. Without cfn-lint it skips, but fails under CI.
func TestStackSetTemplateLints(t *testing.T) {
	lint := requireTool(t, "cfn-lint", "lint the CloudFormation StackSet export")
	sub, err := provision.Spec{OrgID: testOrg, Repositories: []string{"app", "tools/*"}, AllProjects: true, ProjectCondition: policy.Sub,
		Region: "eu-central-1", Access: policy.AccessPush, RoleName: "ci-push"}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	files, err := Render(CloudFormationStackSet, sub)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sub.yaml")
	if err := os.WriteFile(path, []byte(files[0].Content), 0o644); err != nil {
		t.Fatal(err)
	}
	paths := []string{path, filepath.Join("testdata", StackSetTemplateFile), filepath.Join("testdata", "many", StackSetTemplateFile)}
	cmd := exec.Command(lint, paths...)
	out, err := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("run cfn-lint: %v", err)
	}
	// cfn-lint's exit status is a bit mask: 1 fatal, 2 error, 4 warning,
	// 8 informational.
	if code&3 != 0 {
		t.Fatalf("cfn-lint found errors (exit %d):\n%s", code, out)
	}
	t.Logf("cfn-lint exit %d on %d templates; output: %q", code, len(paths), out)
}

// requireTool returns the path of an external tool the test needs. Outside
// CI a missing tool skips the test, saying so; in CI it fails it.
func requireTool(t *testing.T, name, why string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if ci := strings.ToLower(strings.TrimSpace(os.Getenv("CI"))); ci != "" && ci != "false" && ci != "0" {
			t.Fatalf("%s is required in CI (%s) but is not on PATH: %v", name, why, err)
		}
		t.Skipf("skipping: %s is not on PATH (needed to %s); CI never skips this test", name, why)
	}
	return path
}
