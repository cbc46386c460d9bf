package templates

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Role ARNs, images and their parts that are valid but hard on a YAML
// template: a role path of every character IAM allows (YAML's indicators
// among them), names and tags that a YAML reader would take for a number,
// a boolean or null, and digests.
const (
	digest      = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	oddRoleARN  = "arn:aws:iam::123456789012:role/!\"#$%&'()*+,-.:;<=>?@[\\]^_`{|}~/a_+=,.@-b"
	chinaImage  = "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app:v1"
	chinaRole   = "arn:aws-cn:iam::123456789012:role/ci/pull"
	numericRepo = "1e3"
)

// TestSnippetRoundTrip renders the pull snippet for adversarial but valid
// values and parses it back: it must hold exactly the given image and role,
// as strings, in exactly the shape CircleCI's schema allows, and so must
// the commented aws-cli orb block once uncommented.
func TestSnippetRoundTrip(t *testing.T) {
	tests := []Snippet{
		example,
		{Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@" + digest, RoleARN: oddRoleARN, Region: "us-east-1"},
		{Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/null/true:1.10@" + digest, RoleARN: "arn:aws:iam::123456789012:role/a=b,c@d", Region: "us-east-1"},
		{Image: "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com/" + numericRepo + ":0x1F", RoleARN: "arn:aws-us-gov:iam::123456789012:role/p", Region: "us-gov-west-1"},
		{Image: chinaImage, RoleARN: chinaRole, Region: "cn-north-1"},
	}
	for _, s := range tests {
		t.Run(s.Image, func(t *testing.T) {
			got, err := RenderSnippet(s)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"docker": []any{map[string]any{
				"image":    s.Image,
				"aws_auth": map[string]any{"oidc_role_arn": s.RoleARN},
			}}}
			if doc := parseStrings(t, got); !reflect.DeepEqual(doc, want) {
				t.Errorf("snippet parses to\n%#v\nwant\n%#v\n%s", doc, want, got)
			}
			orb := map[string]any{
				"orbs":  map[string]any{"aws-cli": "circleci/aws-cli@5.4.1"},
				"steps": []any{map[string]any{"aws-cli/setup": map[string]any{"role_arn": s.RoleARN, "region": s.Region}}},
			}
			if doc := parseStrings(t, uncommentOrbBlock(got)); !reflect.DeepEqual(doc, orb) {
				t.Errorf("the uncommented orb block parses to\n%#v\nwant\n%#v", doc, orb)
			}
		})
	}
}

// TestPushSnippetRoundTrip does the same for the push snippet, whose
// repository and tag are free-form: 1.10 must not become the number 1.1,
// nor null, true or 1e3 anything but those strings.
func TestPushSnippetRoundTrip(t *testing.T) {
	tests := []Snippet{
		pushExample,
		{RoleARN: oddRoleARN, Account: "012345678901", Region: "us-east-1", Repository: "null", Tag: "1.10"},
		{RoleARN: "arn:aws:iam::123456789012:role/p", Account: "123456789012", Region: "eu-west-1", Repository: "true/on", Tag: "yes"},
		{RoleARN: "arn:aws:iam::123456789012:role/p", Account: "123456789012", Region: "eu-west-1", Repository: numericRepo, Tag: "0o17"},
		{RoleARN: "arn:aws:iam::123456789012:role/p", Account: "123456789012", Region: "eu-west-1", Repository: "a.b_c-d/e", Tag: "_"},
		{RoleARN: chinaRole, Account: "123456789012", Region: "cn-north-1", Repository: "app", Tag: "v1"},
	}
	for _, s := range tests {
		s.Push = true
		s.Image = cmpOr(s.Image, s.Account+".dkr.ecr."+s.Region+".amazonaws.com/"+s.Repository+":"+s.Tag)
		t.Run(s.Repository+":"+s.Tag, func(t *testing.T) {
			got, err := RenderSnippet(s)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"version": "2.1",
				"orbs":    map[string]any{"aws-cli": "circleci/aws-cli@5.4.1", "aws-ecr": "circleci/aws-ecr@9.8.1"},
				"workflows": map[string]any{"build-and-push": map[string]any{"jobs": []any{map[string]any{
					"aws-ecr/build_and_push_image": map[string]any{
						"auth": []any{map[string]any{"aws-cli/setup": map[string]any{
							"role_arn": s.RoleARN, "profile_name": PushProfileName, "region": s.Region,
						}}},
						"profile_name": PushProfileName,
						"account_id":   s.Account,
						"region":       s.Region,
						"repo":         s.Repository,
						"tag":          s.Tag,
					},
				}}}},
			}
			if doc := parseStrings(t, got); !reflect.DeepEqual(doc, want) {
				t.Errorf("push snippet parses to\n%#v\nwant\n%#v\n%s", doc, want, got)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// uncommentOrbBlock returns the snippet's commented aws-cli orb example,
// uncommented.
func uncommentOrbBlock(snippet string) string {
	var block []string
	started := false
	for _, line := range strings.Split(snippet, "\n") {
		started = started || strings.HasPrefix(line, "# orbs:")
		if started && strings.HasPrefix(line, "# ") {
			block = append(block, strings.TrimPrefix(line, "# "))
		}
	}
	return strings.Join(block, "\n")
}

// parseStrings parses a YAML document into maps, lists and strings. Every
// scalar but the config's version must be a string both as yaml.v3 reads it
// (YAML 1.2) and, when it is not quoted, as a YAML 1.1 reader such as
// CircleCI's would: yes, on, 0o17 or 1_000 are strings to the one and not
// to the other.
func parseStrings(t *testing.T, src string) any {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, src)
	}
	if len(doc.Content) != 1 {
		t.Fatalf("not one document:\n%s", src)
	}
	var walk func(n *yaml.Node, key string) any
	walk = func(n *yaml.Node, key string) any {
		switch n.Kind {
		case yaml.MappingNode:
			m := map[string]any{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if _, dup := m[k]; dup {
					t.Errorf("key %q appears twice", k)
				}
				m[k] = walk(n.Content[i+1], k)
			}
			return m
		case yaml.SequenceNode:
			l := []any{}
			for _, c := range n.Content {
				l = append(l, walk(c, key))
			}
			return l
		case yaml.ScalarNode:
			if key != "version" {
				if n.Tag != "!!str" {
					t.Errorf("%s: %q is a %s, not a string", key, n.Value, n.Tag)
				}
				if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 && yaml11NonString(n.Value) {
					t.Errorf("%s: plain %q is not a string in YAML 1.1", key, n.Value)
				}
			}
			return n.Value
		}
		t.Errorf("%s: unexpected %v node", key, n.Kind)
		return nil
	}
	return walk(doc.Content[0], "")
}

// yaml11Types are YAML 1.1's implicit types other than str
// (yaml.org/type: bool, int, float, null, plus merge and value keys).
var yaml11Types = regexp.MustCompile(`^(?:` + strings.Join([]string{
	`y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF`,
	`[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+`,
	`[-+]?(?:[0-9][0-9_]*)?\.[0-9.]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)`,
	`~|null|Null|NULL|`,
	`<<|=`,
}, "|") + `)$`)

func yaml11NonString(s string) bool { return yaml11Types.MatchString(s) }

func TestYAML11NonString(t *testing.T) {
	for s, want := range map[string]bool{
		"yes": true, "on": true, "Off": true, "1.10": true, "010": true, "0x1F": true, "1_000": true, "1:20": true, ".5": true, "null": true, "~": true, "": true,
		"1e3": false, "0o17": false, "latest": false, "v1": false, "us-east-1": false, "arn:aws:iam::123456789012:role/p": false,
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1": false,
	} {
		if got := yaml11NonString(s); got != want {
			t.Errorf("yaml11NonString(%q) = %v, want %v", s, got, want)
		}
	}
}
