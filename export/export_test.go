package export

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

var update = flag.Bool("update", false, "rewrite golden files")

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

func TestGolden(t *testing.T) {
	for _, format := range Formats {
		t.Run(string(format), func(t *testing.T) {
			files, err := Render(format, goldenSpec(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				path := filepath.Join("testdata", f.Name)
				if *update {
					if err := os.WriteFile(path, []byte(f.Content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("read golden file (go test ./export -update writes it): %v", err)
				}
				if f.Content != string(want) {
					t.Errorf("%s differs from %s (go test ./export -update rewrites it):\n%s", f.Name, path, f.Content)
				}
			}
		})
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
		"Access":            "permissions policy (provision.Documents)",
	}
	for f := range reflect.TypeFor[provision.Spec]().Fields() {
		if _, ok := handled[f.Name]; !ok {
			t.Errorf("provision.Spec has a new field %s: render it in export.Render (and provision.Documents if it changes a policy), or say here why an export ignores it", f.Name)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"terraform": Terraform, "CloudFormation": CloudFormation} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("pulumi"); err == nil {
		t.Error("ParseFormat(pulumi) succeeded")
	}
}

// TestCloudFormationDocumentsResolve resolves the intrinsic functions of the
// template's two documents as CloudFormation would in account 123456789012,
// with and without creating the provider, and compares the result with the
// documents setup writes there.
func TestCloudFormationDocumentsResolve(t *testing.T) {
	specs := map[string]provision.Spec{"golden": goldenSpec(t)}
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
			wantTrust, wantPerms, err := provision.Documents(spec, "aws", "123456789012")
			if err != nil {
				t.Fatal(err)
			}
			for _, create := range []bool{true, false} {
				r := resolver{t: t, createProvider: create, providerARN: policy.ProviderARN("aws", "123456789012", spec.OrgID)}
				for _, c := range []struct {
					path []string
					want policy.Document
				}{
					{[]string{"Resources", "Role", "Properties", "AssumeRolePolicyDocument"}, wantTrust},
					{[]string{"Resources", "PullPolicy", "Properties", "PolicyDocument"}, wantPerms},
				} {
					got, err := json.Marshal(r.value(lookup(t, root.Content[0], c.path...)))
					if err != nil {
						t.Fatal(err)
					}
					want, _ := c.want.JSON()
					if !policy.Equal(string(got), want) {
						t.Errorf("%v (CreateOIDCProvider=%v) resolves to\n%s\nwant\n%s", c.path, create, got, want)
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
	providerARN    string
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
				return strings.NewReplacer("${AWS::Partition}", "aws", "${AWS::AccountId}", "123456789012", "${!", "${").Replace(arg.Value)
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
