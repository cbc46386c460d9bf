package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/golden"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

const (
	testOrg      = "2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d"
	testProject  = "8e7c4b1e-5a0d-4c3b-9f2e-1d6a7b8c9d0e"
	otherProject = "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b"
)

// goldenSpec exercises every kind of --repo (a name, a prefix pattern, and
// an ARN in another account and region, kept literally), a branch pin and an
// extra tag.
func goldenSpec(t *testing.T) provision.Spec {
	t.Helper()
	s, err := provision.Spec{
		OrgID:        testOrg,
		Repositories: []string{"app", "team/*", "arn:aws:ecr:eu-west-1:210987654321:repository/shared/base"},
		ProjectIDs:   []string{testProject, otherProject},
		Branches:     []string{"refs/heads/main"},
		Region:       "us-east-1",
		Tags:         map[string]string{"team": "platform"},
	}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// manySpec has 400 repositories, more than the inline policy holds, so its
// export has managed policies; --access push and a role name of its own.
func manySpec(t *testing.T) provision.Spec {
	t.Helper()
	repos := []string{"tools/*", "arn:aws:ecr:eu-west-1:210987654321:repository/shared/base"}
	for i := range 398 {
		repos = append(repos, fmt.Sprintf("team-%02d/service-%04d", i%7, i))
	}
	s, err := provision.Spec{
		OrgID: testOrg, Repositories: repos, ProjectIDs: []string{testProject},
		Region: "us-east-1", RoleName: "ci-many", Access: policy.AccessPush,
	}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// audienceSpec has token audiences besides the organization ID, from the
// organization's and a project's CircleCI token settings.
func audienceSpec(t *testing.T) provision.Spec {
	t.Helper()
	s, err := provision.Spec{
		OrgID: testOrg, Repositories: []string{"app"}, ProjectIDs: []string{testProject}, Region: "us-east-1",
		Audiences: []provision.Audience{
			{Value: "https://ci.example.com", Source: "organization gh/acme custom audience"},
			{Value: "api://acme-ci", Source: "project gh/acme/app custom audience"},
		},
	}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// goldenDirs are the golden files' directories and their specs.
var goldenDirs = map[string]func(*testing.T) provision.Spec{
	"testdata":           goldenSpec,
	"testdata/many":      manySpec,
	"testdata/audiences": audienceSpec,
}

func TestGolden(t *testing.T) {
	for dir, spec := range goldenDirs {
		for _, format := range Formats {
			t.Run(dir+"/"+string(format), func(t *testing.T) {
				testGolden(t, dir, format, spec(t))
			})
		}
	}
}

func testGolden(t *testing.T, dir string, format Format, spec provision.Spec) {
	files, err := Render(format, spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		golden.Check(t, filepath.Join(dir, f.Name), []byte(f.Content))
	}
}

// TestSpecFieldsAreExported fails when provision.Spec gains a field, so
// that whoever adds it decides whether the export must render it.
func TestSpecFieldsAreExported(t *testing.T) {
	handled := map[string]string{
		"OrgID":             "provider URL and audience, trust policy, tags",
		"Repositories":      "permissions policy",
		"ProjectIDs":        "trust policy",
		"AllProjects":       "trust policy",
		"ProjectCondition":  "trust policy",
		"Branches":          "trust policy",
		"RoleName":          "role name",
		"Region":            "repository ARNs, provider block",
		"Tags":              "tags of the provider and the role",
		"Image":             "not exported: only the snippet uses it",
		"Adopt":             "not exported: Terraform import / CloudFormation import instead",
		"AllowMissingRepos": "not exported: export does not look repositories up",
		"KeepUnusedRoles":   "not exported: an export declares one role and never shards, so no shard role is left unused",
		"Access":            "permissions policy (provision.ExportPlan)",
		"Audiences":         "provider client IDs and the trust policy's aud condition (provision.ExportPlan)",
		"AudiencesRead":     "not exported: only the plan text says whether CircleCI's token settings were read",
		"Names":             "not exported: the slugs are shown in the plan; the export holds the IDs they resolve to",
	}
	for f := range reflect.TypeFor[provision.Spec]().Fields() {
		if _, ok := handled[f.Name]; !ok {
			t.Errorf("provision.Spec has a new field %s: render it in export.Render (and provision.ExportPlan if it changes a policy), or say here why an export ignores it", f.Name)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"terraform": Terraform, "CloudFormation": CloudFormation, " cloudformation-StackSet": CloudFormationStackSet} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	for in, want := range map[string]string{
		"pulumi": `invalid format "pulumi": must be terraform, cloudformation or cloudformation-stackset`,
		"":       "format is required: terraform, cloudformation or cloudformation-stackset",
	} {
		_, err := ParseFormat(in)
		var input *provision.InputError
		if !errors.As(err, &input) || input.Field != FieldFormat || err.Error() != want {
			t.Errorf("ParseFormat(%q) error = %v, want an input error of the format: %s", in, err, want)
		}
	}
}

// TestCloudFormationDocumentsResolve resolves the intrinsic functions of the
// template's documents as CloudFormation would in account 123456789012, with
// and without creating the provider, and compares the result with the
// documents setup writes there. The inline policy and the managed policies
// are the packing Documents decides for the longest partition: each resolves
// to that packing's document, and together they grant exactly what setup
// grants (one by one equal to setup's when everything fits inline).
func TestCloudFormationDocumentsResolve(t *testing.T) {
	specs := map[string]provision.Spec{"golden": goldenSpec(t), "many": manySpec(t)}
	sub, err := provision.Spec{OrgID: testOrg, Repositories: []string{"app"}, AllProjects: true, ProjectCondition: policy.Sub, Region: "eu-central-1"}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	specs["all projects"] = sub
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			files, err := Render(CloudFormation, spec)
			if err != nil {
				t.Fatal(err)
			}
			var root yaml.Node
			if err := yaml.Unmarshal([]byte(files[0].Content), &root); err != nil {
				t.Fatalf("template is not YAML: %v", err)
			}
			setup, err := provision.ExportPlan(spec, "aws", "123456789012")
			if err != nil {
				t.Fatal(err)
			}
			wantTrust, wantPerms := setup.TrustPolicy, planDocuments(setup)
			packed := placeholderDocuments(t, spec, "aws", "123456789012")
			if name == "many" && len(packed) < 3 {
				t.Fatalf("the many spec exports %d permissions documents, want managed policies", len(packed))
			}
			paths := cfnPermissionsPaths(t, root.Content[0], len(packed)-1)
			for _, create := range []bool{true, false} {
				r := resolver{t: t, createProvider: create, partition: "aws", providerARN: policy.ProviderARN("aws", "123456789012", spec.OrgID)}
				gotTrust := resolveJSON(t, r, lookup(t, root.Content[0], "Resources", "Role", "Properties", "AssumeRolePolicyDocument"))
				if want, _ := wantTrust.JSON(); !policy.Equal(gotTrust, want) {
					t.Errorf("trust policy (CreateOIDCProvider=%v) resolves to\n%s\nwant\n%s", create, gotTrust, want)
				}
				var got []string
				for i, path := range paths {
					doc := resolveJSON(t, r, lookup(t, root.Content[0], path...))
					if !policy.Equal(doc, packed[i]) {
						t.Errorf("%v (CreateOIDCProvider=%v) resolves to\n%s\nwant\n%s", path, create, doc, packed[i])
					}
					got = append(got, doc)
				}
				want := []string{}
				for _, d := range wantPerms {
					j, _ := d.JSON()
					want = append(want, j)
				}
				if len(wantPerms) == 1 && len(got) == 1 && !policy.Equal(got[0], want[0]) {
					t.Errorf("the permissions policy differs from setup's:\n%s\nwant\n%s", got[0], want[0])
				}
				if g, w := grants(t, got), grants(t, want); !slices.Equal(g, w) {
					t.Errorf("the permissions documents grant %d repository ARNs, setup's %d:\n%v\nwant\n%v", len(g), len(w), g, w)
				}
			}
		})
	}
}

// planDocuments returns the permissions documents of a plan: the inline
// policy, then the managed policies.
func planDocuments(p *provision.Plan) []policy.Document {
	out := []policy.Document{p.PermissionsPolicy}
	for _, mp := range p.ManagedPolicies {
		out = append(out, mp.Document)
	}
	return out
}

// placeholderDocuments returns the permissions documents of the export
// (inline first, then the managed policies) with the placeholders replaced.
func placeholderDocuments(t *testing.T, spec provision.Spec, partition, account string) []string {
	t.Helper()
	p, err := provision.ExportPlan(spec, partitionToken, accountToken)
	if err != nil {
		t.Fatal(err)
	}
	// The NUL bytes of the placeholders are escaped in JSON.
	repl := strings.NewReplacer(`\u0000PARTITION\u0000`, partition, `\u0000ACCOUNT\u0000`, account)
	var out []string
	for _, d := range planDocuments(p) {
		j, err := d.JSON()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, repl.Replace(j))
	}
	return out
}

// cfnPermissionsPaths returns the paths of the template's permissions
// documents, inline first, and checks that there are exactly the n managed
// policies expected, each attached to the role and named as setup names it.
func cfnPermissionsPaths(t *testing.T, root *yaml.Node, n int) [][]string {
	t.Helper()
	paths := [][]string{{"Resources", "PullPolicy", "Properties", "PolicyDocument"}}
	resources := lookup(t, root, "Resources")
	count := 0
	for i := 0; i+1 < len(resources.Content); i += 2 {
		if lookup(t, resources.Content[i+1], "Type").Value == "AWS::IAM::ManagedPolicy" {
			count++
		}
	}
	if count != n {
		t.Fatalf("the template has %d managed policies, want %d", count, n)
	}
	role := lookup(t, root, "Resources", "Role", "Properties", "RoleName").Value
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("ManagedPolicy%d", i)
		props := lookup(t, root, "Resources", id, "Properties")
		if got, want := lookup(t, props, "ManagedPolicyName").Value, provision.ManagedPolicyName(role, i); got != want {
			t.Errorf("%s is named %q, want %q", id, got, want)
		}
		if got, want := lookup(t, props, "Path").Value, provision.ManagedPolicyPath(role); got != want {
			t.Errorf("%s has path %q, want %q", id, got, want)
		}
		if roles := lookup(t, props, "Roles"); len(roles.Content) != 1 || roles.Content[0].Tag != "!Ref" || roles.Content[0].Value != "Role" {
			t.Errorf("%s is not attached to the role (Roles: [!Ref Role])", id)
		}
		paths = append(paths, []string{"Resources", id, "Properties", "PolicyDocument"})
	}
	return paths
}

// resolveJSON resolves a document of the template and encodes it as IAM
// would receive it.
func resolveJSON(t *testing.T, r resolver, n *yaml.Node) string {
	t.Helper()
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r.value(n)); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(buf.String())
}

// grants lists the repository ARNs the documents grant, sorted, with
// duplicates kept: a repository granted twice shows up.
func grants(t *testing.T, docs []string) []string {
	t.Helper()
	out, err := policy.GrantedResources(docs...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExportedDocumentsFitQuotas checks that every permissions document of
// both exports, rendered and resolved for the longest partition and a
// 12-digit account, fits its quota: the inline policy the role's, each
// managed policy a managed policy's; and that there are no more managed
// policies than a role may have attached.
func TestExportedDocumentsFitQuotas(t *testing.T) {
	partition := provision.PackingPartition()
	for dir, specFor := range goldenDirs {
		spec := specFor(t)
		t.Run(dir, func(t *testing.T) {
			files, err := Render(CloudFormation, spec)
			if err != nil {
				t.Fatal(err)
			}
			var root yaml.Node
			if err := yaml.Unmarshal([]byte(files[0].Content), &root); err != nil {
				t.Fatal(err)
			}
			n := len(placeholderDocuments(t, spec, partition, "123456789012")) - 1
			if n > provision.DefaultAttachedPoliciesQuota {
				t.Fatalf("%d managed policies, over the %d a role may have", n, provision.DefaultAttachedPoliciesQuota)
			}
			r := resolver{t: t, createProvider: true, partition: partition, providerARN: policy.ProviderARN(partition, "123456789012", spec.OrgID)}
			cfn := map[int]string{}
			for i, path := range cfnPermissionsPaths(t, root.Content[0], n) {
				cfn[i] = resolveJSON(t, r, lookup(t, root.Content[0], path...))
			}
			tf := terraformDocuments(t, spec, partition, "123456789012", n)
			for i := 0; i <= n; i++ {
				quota, what := provision.DefaultManagedPolicyQuota, fmt.Sprintf("managed policy %d", i)
				if i == 0 {
					quota, what = provision.DefaultRolePolicyQuota, "inline policy"
				}
				for format, doc := range map[string]string{"cloudformation": cfn[i], "terraform": tf[i]} {
					if doc == "" {
						continue // terraform is not installed
					}
					if size := policy.Size(doc); size > quota {
						t.Errorf("%s: the %s is %d characters in %s, over its quota of %d", format, what, size, partition, quota)
					} else {
						t.Logf("%s: the %s is %d characters of %d", format, what, size, quota)
					}
				}
			}
		})
	}
}

func lookup(t *testing.T, n *yaml.Node, path ...string) *yaml.Node {
	t.Helper()
	for _, key := range path {
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				n, found = n.Content[i+1], true
				break
			}
		}
		if !found {
			t.Fatalf("template has no %s", strings.Join(path, "."))
		}
	}
	return n
}

// resolver evaluates the intrinsic functions the template uses.
type resolver struct {
	t              *testing.T
	createProvider bool
	// partition is AWS::Partition; the account is 123456789012.
	partition   string
	providerARN string
	// region is AWS::Region, which only the StackSet template may use:
	// "" fails the test on a reference to it.
	region string
}

func (r resolver) value(n *yaml.Node) any {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value
	case yaml.SequenceNode:
		out := []any{}
		for _, c := range n.Content {
			out = append(out, r.value(c))
		}
		return out
	case yaml.MappingNode:
		if len(n.Content) == 2 {
			arg := n.Content[1]
			switch n.Content[0].Value {
			case "Fn::Sub":
				return r.sub(arg.Value)
			case "Fn::GetAtt":
				if r.value(arg).([]any)[0] != "OIDCProvider" {
					r.t.Fatalf("unexpected Fn::GetAtt %v", r.value(arg))
				}
				return r.providerARN
			case "Fn::If":
				if arg.Content[0].Value != "CreateProvider" {
					r.t.Fatalf("unexpected condition %s", arg.Content[0].Value)
				}
				if r.createProvider {
					return r.value(arg.Content[1])
				}
				return r.value(arg.Content[2])
			}
		}
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			out[n.Content[i].Value] = r.value(n.Content[i+1])
		}
		return out
	}
	r.t.Fatalf("unexpected YAML node kind %v", n.Kind)
	return nil
}

// sub resolves a Fn::Sub string as CloudFormation does: ${!x} is the
// literal ${x}, and any other ${x} a reference, of which the template may
// only use the partition and the account.
func (r resolver) sub(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return b.String() + s
		}
		b.WriteString(s[:i])
		s = s[i+2:]
		if rest, ok := strings.CutPrefix(s, "!"); ok {
			b.WriteString("${")
			s = rest
			continue
		}
		name, rest, ok := strings.Cut(s, "}")
		switch {
		case ok && name == "AWS::Partition":
			b.WriteString(r.partition)
		case ok && name == "AWS::AccountId":
			b.WriteString("123456789012")
		case ok && name == "AWS::Region" && r.region != "":
			b.WriteString(r.region)
		default:
			r.t.Fatalf("Fn::Sub refers to ${%s}, which the template does not define", name)
		}
		s = rest
	}
}

// terraformDocuments evaluates the jsonencode(...) of each permissions
// document of the Terraform export with terraform itself, the partition,
// account and provider locals set as given: the documents Terraform would
// send to IAM, inline first. Without terraform on PATH it returns nil
// (outside CI; in CI that fails the test).
func terraformDocuments(t *testing.T, spec provision.Spec, partition, account string, managed int) map[int]string {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		if ci := strings.ToLower(os.Getenv("CI")); ci != "" && ci != "false" && ci != "0" {
			t.Fatalf("terraform is required in CI to evaluate the Terraform export: %v", err)
		}
		t.Logf("terraform is not on PATH: the Terraform documents are not evaluated")
		return nil
	}
	files, err := Render(Terraform, spec)
	if err != nil {
		t.Fatal(err)
	}
	main := files[0].Content
	var exprs []string
	for rest := main; ; {
		const open = "\n  policy = jsonencode("
		i := strings.Index(rest, open)
		if i < 0 {
			break
		}
		rest = rest[i+len(open):]
		j := strings.Index(rest, "\n  })\n")
		if j < 0 {
			t.Fatal("a jsonencode( in main.tf is not closed by a line \"  })\"")
		}
		exprs = append(exprs, rest[:j+len("\n  }")])
		rest = rest[j:]
	}
	if len(exprs) != managed+1 {
		t.Fatalf("main.tf has %d permissions documents, want %d", len(exprs), managed+1)
	}
	for i := 1; i <= managed; i++ {
		for _, want := range []string{
			fmt.Sprintf("resource \"aws_iam_policy\" \"ecr_%d\" {\n  name        = %q\n  path        = %q\n", i, provision.ManagedPolicyName(spec.RoleName, i), provision.ManagedPolicyPath(spec.RoleName)),
			fmt.Sprintf("resource \"aws_iam_role_policy_attachment\" \"ecr_%d\" {\n  role       = aws_iam_role.circleci.name\n  policy_arn = aws_iam_policy.ecr_%d.arn\n}", i, i),
		} {
			if !strings.Contains(main, want) {
				t.Errorf("main.tf lacks\n%s", want)
			}
		}
	}
	if strings.Contains(main, fmt.Sprintf("\"ecr_%d\"", managed+1)) {
		t.Errorf("main.tf has more than %d managed policies", managed)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "locals {\n  partition    = %q\n  account_id   = %q\n  provider_arn = %q\n}\n", partition, account, policy.ProviderARN(partition, account, spec.OrgID))
	for i, e := range exprs {
		fmt.Fprintf(&b, "\noutput \"doc_%d\" {\n  value = jsonencode(%s)\n}\n", i, e)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "eval.tf"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1",
		"TF_CLI_CONFIG_FILE="+filepath.Join(dir, "none.rc"), "TF_DATA_DIR="+filepath.Join(dir, ".terraform"))
	run := func(args ...string) []byte {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("terraform %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return out
	}
	run("init", "-input=false", "-no-color")
	run("apply", "-auto-approve", "-input=false", "-no-color", "-state="+filepath.Join(dir, "eval.tfstate"))
	var outputs map[string]struct{ Value string }
	if err := json.Unmarshal(run("output", "-json", "-state="+filepath.Join(dir, "eval.tfstate")), &outputs); err != nil {
		t.Fatal(err)
	}
	docs := map[int]string{}
	for i := range exprs {
		docs[i] = outputs[fmt.Sprintf("doc_%d", i)].Value
		if docs[i] == "" {
			t.Fatalf("terraform did not evaluate document %d", i)
		}
	}
	// Terraform's documents must be the packing's, resolved.
	for i, want := range placeholderDocuments(t, spec, partition, account) {
		if !policy.Equal(docs[i], want) {
			t.Errorf("terraform evaluates document %d to\n%s\nwant\n%s", i, docs[i], want)
		}
	}
	return docs
}

// TestExportTagsNameTheTool checks that every tag set in an export carries
// the managed tag with the tool that applies it, never "true": setup and
// destroy must not take what Terraform or CloudFormation created for
// their own.
func TestExportTagsNameTheTool(t *testing.T) {
	for _, tt := range []struct {
		format        Format
		want, wantNot string
		sets          int
	}{
		// Terraform: one local.tags map, used by the provider, the role and
		// each managed policy.
		{Terraform, `"circleci-ecr-oidc:managed" = "terraform"`, `"circleci-ecr-oidc:managed" = "true"`, 1},
		// CloudFormation: the provider's and the role's Tags lists.
		{CloudFormation, "- Key: \"circleci-ecr-oidc:managed\"\n          Value: \"cloudformation\"", `Value: "true"`, 2},
		// The StackSet's instances are CloudFormation stacks too.
		{CloudFormationStackSet, "- Key: \"circleci-ecr-oidc:managed\"\n          Value: \"cloudformation\"", `Value: "true"`, 2},
	} {
		files, err := Render(tt.format, manySpec(t))
		if err != nil {
			t.Fatal(err)
		}
		out := files[0].Content
		if n := strings.Count(out, tt.want); n != tt.sets || strings.Contains(out, tt.wantNot) {
			t.Errorf("%s: %d tag sets with %q (want %d), or one with %q", tt.format, n, tt.want, tt.sets, tt.wantNot)
		}
	}
}
