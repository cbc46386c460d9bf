package provision

import (
	"strings"
	"testing"
)

func TestParseRoleARNAccepts(t *testing.T) {
	tests := []struct {
		in   string
		want RoleARN
	}{
		{"arn:aws:iam::123456789012:role/circleci-ecr-pull", RoleARN{"aws", "123456789012", "/", "circleci-ecr-pull"}},
		{"arn:aws:iam::123456789012:role/ci/circleci-ecr-pull", RoleARN{"aws", "123456789012", "/ci/", "circleci-ecr-pull"}},
		{"arn:aws-cn:iam::123456789012:role/a/b/c", RoleARN{"aws-cn", "123456789012", "/a/b/", "c"}},
		{"arn:aws-us-gov:iam::123456789012:role/r", RoleARN{"aws-us-gov", "123456789012", "/", "r"}},
		{"arn:aws-eusc:iam::123456789012:role/r", RoleARN{"aws-eusc", "123456789012", "/", "r"}},
		{"arn:aws-iso-b:iam::123456789012:role/r", RoleARN{"aws-iso-b", "123456789012", "/", "r"}},
		// Every character a name may hold, and a path of every printable
		// ASCII character IAM allows (including YAML's indicators).
		{"arn:aws:iam::123456789012:role/" + strings.Repeat("n", 57) + "_+=,.@-", RoleARN{"aws", "123456789012", "/", strings.Repeat("n", 57) + "_+=,.@-"}},
		{"arn:aws:iam::123456789012:role/!\"#$%&'()*+,-.:;<=>?@[\\]^_`{|}~/x", RoleARN{"aws", "123456789012", "/!\"#$%&'()*+,-.:;<=>?@[\\]^_`{|}~/", "x"}},
		{"arn:aws:iam::123456789012:role/" + strings.Repeat("p", 510) + "/x", RoleARN{"aws", "123456789012", "/" + strings.Repeat("p", 510) + "/", "x"}},
	}
	for _, tt := range tests {
		got, err := ParseRoleARN(FieldRoleARN, tt.in)
		if err != nil {
			t.Errorf("ParseRoleARN(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseRoleARN(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("String() = %q, want the input %q", got.String(), tt.in)
		}
	}
}

func TestParseRoleARNRejects(t *testing.T) {
	const ok = "arn:aws:iam::123456789012:role/p"
	tests := []struct{ name, in, rule string }{
		{"empty", "", "not an ARN"},
		{"not an arn", "circleci-ecr-pull", "not an ARN"},
		{"too few parts", "arn:aws:iam::123456789012", "not an ARN"},
		{"upper-case prefix", "ARN:aws:iam::123456789012:role/p", "not an ARN"},
		{"unknown partition", "arn:aws-moon:iam::123456789012:role/p", `unknown partition "aws-moon"`},
		{"partition with newline", "arn:aws\n:iam::123456789012:role/p", `unknown partition "aws\n"`},
		{"other service", "arn:aws:sts::123456789012:assumed-role/p/s", `service is "sts"`},
		{"region", "arn:aws:iam:us-east-1:123456789012:role/p", "no region"},
		{"account 11 digits", "arn:aws:iam::12345678901:role/p", "12 digits"},
		{"account 13 digits", "arn:aws:iam::1234567890123:role/p", "12 digits"},
		{"account with letter", "arn:aws:iam::12345678901x:role/p", "12 digits"},
		{"account non-ascii digit", "arn:aws:iam::１23456789012:role/p", "12 digits"},
		{"account empty", "arn:aws:iam:::role/p", "12 digits"},
		{"user", "arn:aws:iam::123456789012:user/bob", "role/"},
		{"role without slash", "arn:aws:iam::123456789012:role", "role/"},
		{"no name", "arn:aws:iam::123456789012:role/", "role name"},
		{"path without name", "arn:aws:iam::123456789012:role/ci/", "role name"},
		{"empty path element", "arn:aws:iam::123456789012:role//p", "path"},
		{"space in path", "arn:aws:iam::123456789012:role/a b/p", "path"},
		{"tab in path", "arn:aws:iam::123456789012:role/a\tb/p", "path"},
		{"non-ascii path", "arn:aws:iam::123456789012:role/é/p", "path"},
		{"path too long", "arn:aws:iam::123456789012:role/" + strings.Repeat("p", 511) + "/x", "path"},
		{"name too long", "arn:aws:iam::123456789012:role/" + strings.Repeat("n", 65), "role name"},
		{"name with colon", "arn:aws:iam::123456789012:role/a:b", "role name"},
		{"name with space", "arn:aws:iam::123456789012:role/a b", "role name"},
		{"trailing newline", ok + "\n", "role name"},
		{"leading space", " " + ok, "not an ARN"},
		{"injected image entry", "arn:aws:iam::12345678901x:role/p\n    - image: attacker/img", "12 digits"},
		{"injected entry, valid account", ok + "\n    - image: attacker/img", "path"},
		{"injected entry without a slash", ok + "\n    - image: img", "role name"},
		{"injected entry in the path", "arn:aws:iam::123456789012:role/a\n- image: x/p", "path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRoleARN(FieldRoleARN, tt.in)
			inputError(t, err, "--role-arn")
			if !strings.Contains(err.Error(), tt.rule) {
				t.Errorf("error %q does not state %q", err, tt.rule)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans several lines", err)
			}
		})
	}
}
