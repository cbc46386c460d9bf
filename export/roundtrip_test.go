package export

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// roundTrip is a spec of valid values that are hard on the exports'
// syntaxes, and what its exports must hold, written out literally: the
// exports are parsed back (CloudFormation as YAML with its intrinsic
// functions resolved, Terraform evaluated by terraform) and compared with
// these, never with what the code under test computes.
type roundTrip struct {
	spec provision.Spec
	// grants are the repository ARNs the permissions must grant in
	// account 123456789012, partition aws, sorted.
	grants []string
	// audiences are the provider's client IDs and the trust policy's aud
	// values, in order; nil means the organization ID alone.
	audiences []string
}

const roundTripAccount = "123456789012"

func roundTrips(t *testing.T) map[string]roundTrip {
	t.Helper()
	mk := func(s provision.Spec) provision.Spec {
		t.Helper()
		v, err := s.Validate()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return map[string]roundTrip{
		"odd values": {
			spec: mk(provision.Spec{
				OrgID:      testOrg,
				ProjectIDs: []string{testProject, otherProject},
				Repositories: []string{
					"app", "1e3", "null/true", "team-a/sub.ns/my_app-1", "ns/*",
					"arn:aws:ecr:eu-west-1:210987654321:repository/shared/base",
					"arn:aws:ecr:us-west-2:012345678901:repository/x/*",
				},
				// $ and %{ start interpolations; " needs an escape.
				Branches: []string{"refs/heads/$x{y}", "refs/heads/%{x}", `refs/heads/a"b'c`, "refs/heads/ünï", "refs/tags/v?.*"},
				RoleName: "a_+=,.@-b",
				Region:   "us-east-1",
				Tags:     map[string]string{"Cost Center": "1.10", "null": "true", "k:x/y": "a=b+c@d", "équipe": "plate-forme"},
			}),
			grants: []string{
				"arn:aws:ecr:eu-west-1:210987654321:repository/shared/base",
				"arn:aws:ecr:us-east-1:123456789012:repository/1e3",
				"arn:aws:ecr:us-east-1:123456789012:repository/app",
				"arn:aws:ecr:us-east-1:123456789012:repository/ns/*",
				"arn:aws:ecr:us-east-1:123456789012:repository/null/true",
				"arn:aws:ecr:us-east-1:123456789012:repository/team-a/sub.ns/my_app-1",
				"arn:aws:ecr:us-west-2:012345678901:repository/x/*",
			},
		},
		"custom audiences": {
			spec: mk(provision.Spec{
				OrgID: testOrg, ProjectIDs: []string{testProject}, Repositories: []string{"app"}, Region: "us-east-1",
				// $ and %{ start interpolations; " and \ need escapes; *
				// must stay literal.
				Audiences: []provision.Audience{
					{Value: "api://acme-ci", Source: "organization gh/acme custom audience"},
					{Value: `$x{y} %{z} a"b\c *`, Source: "project gh/acme/app custom audience"},
					{Value: testOrg, Source: "organization gh/acme default audience (the organization ID)"},
				},
			}),
			grants:    []string{"arn:aws:ecr:us-east-1:123456789012:repository/app"},
			audiences: []string{testOrg, `$x{y} %{z} a"b\c *`, "api://acme-ci"},
		},
		"push, every project": {
			spec: mk(provision.Spec{
				OrgID: testOrg, AllProjects: true, ProjectCondition: policy.Sub,
				Repositories: []string{"0o17", "arn:aws:ecr:eu-west-1:210987654321:repository/yes"},
				RoleName:     "1.10", Region: "eu-west-1", Access: policy.AccessPush,
			}),
			grants: []string{
				"arn:aws:ecr:eu-west-1:123456789012:repository/0o17",
				"arn:aws:ecr:eu-west-1:210987654321:repository/yes",
			},
		},
	}
}

// exported is what an export declares, resolved for one account.
type exported struct {
	RoleName     string
	ProviderURL  string
	ClientIDs    []string
	Trust        string
	Permissions  []string
	Tags         map[string]string
	ProviderTags map[string]string
}

// check compares an export with the values the spec was given; owner is
// the ownership tag's value for the export's format (terraform or
// cloudformation: the tool that applies it owns what it creates).
func (rt roundTrip) check(t *testing.T, got exported, owner string) {
	t.Helper()
	s := rt.spec
	if got.RoleName != s.RoleName {
		t.Errorf("role name %q, want %q", got.RoleName, s.RoleName)
	}
	if want := "https://oidc.circleci.com/org/" + s.OrgID; got.ProviderURL != want {
		t.Errorf("provider URL %q, want %q", got.ProviderURL, want)
	}
	audiences := rt.audiences
	if audiences == nil {
		audiences = []string{s.OrgID}
	}
	if !slices.Equal(got.ClientIDs, audiences) {
		t.Errorf("client IDs %q, want %q", got.ClientIDs, audiences)
	}
	tags := maps.Clone(s.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags["circleci-ecr-oidc:managed"], tags["circleci-ecr-oidc:org-id"] = owner, s.OrgID
	if !reflect.DeepEqual(got.Tags, tags) || !reflect.DeepEqual(got.ProviderTags, tags) {
		t.Errorf("tags: role %q, provider %q; want %q", got.Tags, got.ProviderTags, tags)
	}
	granted, err := policy.GrantedResources(got.Permissions...)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(granted, rt.grants) {
		t.Errorf("the permissions grant\n%q\nwant\n%q", granted, rt.grants)
	}

	var trust struct {
		Statement []struct {
			Principal struct{ Federated string }
			Condition map[string]map[string]any
		}
	}
	if err := json.Unmarshal([]byte(got.Trust), &trust); err != nil || len(trust.Statement) == 0 {
		t.Fatalf("trust policy %s: %v", got.Trust, err)
	}
	issuer := "oidc.circleci.com/org/" + s.OrgID
	values := map[string][]string{}
	for _, st := range trust.Statement {
		if want := "arn:aws:iam::" + roundTripAccount + ":oidc-provider/" + issuer; st.Principal.Federated != want {
			t.Errorf("principal %q, want %q", st.Principal.Federated, want)
		}
		for _, keys := range st.Condition {
			for k, v := range keys {
				switch v := v.(type) {
				case string:
					values[k] = append(values[k], v)
				case []any:
					for _, e := range v {
						values[k] = append(values[k], fmt.Sprint(e))
					}
				}
			}
		}
	}
	if aud := values[issuer+":aud"]; !slices.Equal(aud, audiences) {
		t.Errorf("aud %q, want %q", aud, audiences)
	}
	if len(s.ProjectIDs) > 0 {
		if p := slices.Sorted(slices.Values(values[issuer+":oidc.circleci.com/project-id"])); !slices.Equal(p, slices.Sorted(slices.Values(s.ProjectIDs))) {
			t.Errorf("project IDs %q, want %q", p, s.ProjectIDs)
		}
	}
	for _, b := range s.Branches {
		if !slices.ContainsFunc(values[issuer+":sub"], func(sub string) bool { return strings.HasSuffix(sub, "/vcs-ref/"+b) }) {
			t.Errorf("no sub pattern ends in /vcs-ref/%s: %q", b, values[issuer+":sub"])
		}
	}
}

// TestCloudFormationRoundTrip parses the template back and resolves it as
// CloudFormation would in account 123456789012.
func TestCloudFormationRoundTrip(t *testing.T) {
	for name, rt := range roundTrips(t) {
		t.Run(name, func(t *testing.T) {
			files, err := Render(CloudFormation, rt.spec)
			if err != nil {
				t.Fatal(err)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(files[0].Content), &doc); err != nil {
				t.Fatalf("template is not YAML: %v", err)
			}
			root := doc.Content[0]
			r := resolver{t: t, createProvider: true, partition: "aws", providerARN: policy.ProviderARN("aws", roundTripAccount, rt.spec.OrgID)}
			var got exported
			str := func(path ...string) string {
				n := lookup(t, root, path...)
				if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
					t.Errorf("%s is a %s, not a string", strings.Join(path, "."), n.Tag)
				}
				return n.Value
			}
			tags := func(path ...string) map[string]string {
				m := map[string]string{}
				for _, item := range lookup(t, root, path...).Content {
					m[lookup(t, item, "Key").Value] = lookup(t, item, "Value").Value
				}
				return m
			}
			got.RoleName = str("Resources", "Role", "Properties", "RoleName")
			got.ProviderURL = str("Resources", "OIDCProvider", "Properties", "Url")
			for _, c := range lookup(t, root, "Resources", "OIDCProvider", "Properties", "ClientIdList").Content {
				got.ClientIDs = append(got.ClientIDs, c.Value)
			}
			got.Tags = tags("Resources", "Role", "Properties", "Tags")
			got.ProviderTags = tags("Resources", "OIDCProvider", "Properties", "Tags")
			got.Trust = resolveJSON(t, r, lookup(t, root, "Resources", "Role", "Properties", "AssumeRolePolicyDocument"))
			resources := lookup(t, root, "Resources")
			for i := 0; i+1 < len(resources.Content); i += 2 {
				props := resources.Content[i+1]
				if typ := lookup(t, props, "Type").Value; typ == "AWS::IAM::Policy" || typ == "AWS::IAM::ManagedPolicy" {
					got.Permissions = append(got.Permissions, resolveJSON(t, r, lookup(t, props, "Properties", "PolicyDocument")))
				}
			}
			rt.check(t, got, "cloudformation")
		})
	}
}

// TestTerraformRoundTrip evaluates the configuration's values with
// terraform, its partition and account locals set to aws and 123456789012.
func TestTerraformRoundTrip(t *testing.T) {
	bin := terraformBinary(t)
	if bin == "" {
		return
	}
	for name, rt := range roundTrips(t) {
		t.Run(name, func(t *testing.T) {
			files, err := Render(Terraform, rt.spec)
			if err != nil {
				t.Fatal(err)
			}
			main := files[0].Content
			const (
				role     = `resource "aws_iam_role" "circleci" {`
				provider = `resource "aws_iam_openid_connect_provider" "circleci" {`
			)
			exprs := map[string]string{
				"role_name":     hclAttribute(t, main, role, "name"),
				"role_tags":     hclAttribute(t, main, role, "tags"),
				"trust":         hclAttribute(t, main, role, "assume_role_policy"),
				"url":           hclAttribute(t, main, provider, "url"),
				"client_ids":    hclAttribute(t, main, provider, "client_id_list"),
				"provider_tags": hclAttribute(t, main, provider, "tags"),
				"permissions_0": hclAttribute(t, main, `resource "aws_iam_role_policy" "pull" {`, "policy"),
			}
			for i := 1; strings.Contains(main, fmt.Sprintf(`resource "aws_iam_policy" "ecr_%d" {`, i)); i++ {
				exprs[fmt.Sprintf("permissions_%d", i)] = hclAttribute(t, main, fmt.Sprintf(`resource "aws_iam_policy" "ecr_%d" {`, i), "policy")
			}
			locals := fmt.Sprintf("partition = %q\naccount_id = %q\nprovider_arn = %q\ntags = %s",
				"aws", roundTripAccount, policy.ProviderARN("aws", roundTripAccount, rt.spec.OrgID), hclAttribute(t, main, "locals {", "tags"))
			out := evalTerraform(t, bin, locals, exprs)
			var got exported
			decode := func(name string, v any) {
				if err := json.Unmarshal(out[name], v); err != nil {
					t.Fatalf("output %s = %s: %v", name, out[name], err)
				}
			}
			decode("role_name", &got.RoleName)
			decode("role_tags", &got.Tags)
			decode("provider_tags", &got.ProviderTags)
			decode("trust", &got.Trust)
			decode("url", &got.ProviderURL)
			decode("client_ids", &got.ClientIDs)
			for i := 0; ; i++ {
				if _, ok := out[fmt.Sprintf("permissions_%d", i)]; !ok {
					break
				}
				var doc string
				decode(fmt.Sprintf("permissions_%d", i), &doc)
				got.Permissions = append(got.Permissions, doc)
			}
			rt.check(t, got, "terraform")
		})
	}
}

// terraformBinary returns terraform's path, or "" outside CI when it is not
// installed; in CI its absence fails the test.
func terraformBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		if ci := strings.ToLower(os.Getenv("CI")); ci != "" && ci != "false" && ci != "0" {
			t.Fatalf("terraform is required in CI to evaluate the Terraform export: %v", err)
		}
		t.Logf("terraform is not on PATH: the Terraform export is not evaluated")
		return ""
	}
	return bin
}

// hclAttribute returns the expression of attribute name, as written, in
// the top-level block that starts with the line header: to the end of its
// line, or to its closing bracket when it opens one.
func hclAttribute(t *testing.T, src, header, name string) string {
	t.Helper()
	start := strings.Index(src, "\n"+header+"\n")
	if start < 0 {
		t.Fatalf("no block %s", header)
	}
	block := src[start+len(header)+2:]
	block = block[:strings.Index(block, "\n}\n")+1]
	var expr string
	for _, line := range strings.SplitAfter(block, "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") && strings.TrimSpace(key) == name {
			at := strings.Index(block, line) + strings.Index(line, "=") + 1
			expr = block[at:]
			_ = value
			break
		}
	}
	if expr == "" {
		t.Fatalf("block %s has no attribute %s", header, name)
	}
	depth, inString := 0, false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == '\n' && depth == 0:
			return strings.TrimSpace(expr[:i])
		}
	}
	t.Fatalf("attribute %s of %s does not end", name, header)
	return ""
}

// evalTerraform applies a configuration of the given locals and one output
// per expression, and returns the outputs' values as JSON.
func evalTerraform(t *testing.T, bin, locals string, exprs map[string]string) map[string]json.RawMessage {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "locals {\n%s\n}\n", locals)
	for _, name := range slices.Sorted(maps.Keys(exprs)) {
		fmt.Fprintf(&b, "\noutput %q {\n  value = %s\n}\n", name, exprs[name])
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
			t.Fatalf("terraform %s: %v\n%s%s\n%s", strings.Join(args, " "), err, out, stderr, b.String())
		}
		return out
	}
	state := "-state=" + filepath.Join(dir, "eval.tfstate")
	run("init", "-input=false", "-no-color")
	run("apply", "-auto-approve", "-input=false", "-no-color", state)
	var outputs map[string]struct{ Value json.RawMessage }
	if err := json.Unmarshal(run("output", "-json", state), &outputs); err != nil {
		t.Fatal(err)
	}
	values := map[string]json.RawMessage{}
	for name, o := range outputs {
		values[name] = o.Value
	}
	return values
}
