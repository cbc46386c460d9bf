package main

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/templates"
)

// TestSnippetRejectsInputs runs snippet with values that cannot be right:
// exit 2, one line naming the flag, and nothing on stdout, so that no
// injected line reaches a config.yml.
func TestSnippetRejectsInputs(t *testing.T) {
	const (
		role  = "arn:aws:iam::123456789012:role/circleci-ecr-pull"
		image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"
	)
	tests := []struct{ name, role, image, flag, rule string }{
		{"injected image entry", "arn:aws:iam::12345678901x:role/p\n    - image: attacker/img", image, "--role-arn", "12 digits"},
		{"injected entry after a valid ARN", role + "\n    - image: attacker/img", image, "--role-arn", "path"},
		{"trailing newline", role + "\n", image, "--role-arn", "role name"},
		{"account with a letter", "arn:aws:iam::12345678901x:role/p", image, "--role-arn", "12 digits"},
		{"account of 13 digits", "arn:aws:iam::1234567890123:role/p", image, "--role-arn", "12 digits"},
		{"unknown partition", "arn:aws-moon:iam::123456789012:role/p", image, "--role-arn", "partition"},
		{"region in an IAM ARN", "arn:aws:iam:us-east-1:123456789012:role/p", image, "--role-arn", "no region"},
		{"not a role", "arn:aws:iam::123456789012:user/bob", image, "--role-arn", "role/"},
		{"space in the path", "arn:aws:iam::123456789012:role/a b/p", image, "--role-arn", "path"},
		{"image with an injected line", role, image + "\n    - image: attacker/img", "--image", "tag"},
		{"china image on .com", role, "123456789012.dkr.ecr.cn-north-1.amazonaws.com/app:1", "--image", "amazonaws.com.cn"},
		{"image in another partition than the role", "arn:aws-cn:iam::123456789012:role/p", image, "--image", "partition aws, but --role-arn is in partition aws-cn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCmd(t, hermeticEnv(), "snippet", "--role-arn", tt.role, "--image", tt.image)
			if r.code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", r.code, exitUsage, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout is not empty:\n%s", r.stdout)
			}
			if !strings.Contains(r.stderr, tt.flag) || !strings.Contains(r.stderr, tt.rule) {
				t.Errorf("stderr %q does not name %s and %q", r.stderr, tt.flag, tt.rule)
			}
			if lines := strings.Count(strings.TrimSpace(r.stderr), "\n") + 1; lines != 1 {
				t.Errorf("error takes %d lines, want 1: %q", lines, r.stderr)
			}
		})
	}
}

// TestSnippetRoundTrip runs snippet with valid values that are hard on a
// YAML document and parses what it prints: the role ARN, image, repository
// and tag must come back exactly, as strings.
func TestSnippetRoundTrip(t *testing.T) {
	const (
		digest  = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		oddRole = "arn:aws:iam::123456789012:role/!\"#$%&'()*+,-.:;<=>?@[\\]^_`{|}~/a_+=,.@-b"
	)
	pulls := []struct{ role, image string }{
		{oddRole, "123456789012.dkr.ecr.us-east-1.amazonaws.com/null/true:1.10@" + digest},
		{"arn:aws-cn:iam::123456789012:role/ci/p", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/1e3:yes"},
		{"arn:aws-us-gov:iam::123456789012:role/p", "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app@" + digest},
	}
	for _, tt := range pulls {
		r := runCmd(t, hermeticEnv(), "snippet", "--role-arn", tt.role, "--image", tt.image)
		if r.code != 0 {
			t.Fatalf("snippet %s %s: exit %d: %s", tt.role, tt.image, r.code, r.stderr)
		}
		var job struct {
			Docker []map[string]any `yaml:"docker"`
		}
		if err := yaml.Unmarshal([]byte(r.stdout), &job); err != nil {
			t.Fatalf("snippet is not YAML: %v\n%s", err, r.stdout)
		}
		want := []map[string]any{{"image": tt.image, "aws_auth": map[string]any{"oidc_role_arn": tt.role}}}
		if !reflect.DeepEqual(job.Docker, want) {
			t.Errorf("docker = %#v, want %#v", job.Docker, want)
		}
	}

	pushes := []struct{ image, account, repo, tag string }{
		{"210987654321.dkr.ecr.eu-west-1.amazonaws.com/1e3:0o17", "210987654321", "1e3", "0o17"},
		{"012345678901.dkr.ecr.eu-west-1.amazonaws.com/null:1.10", "012345678901", "null", "1.10"},
		{"012345678901.dkr.ecr.eu-west-1.amazonaws.com/on/off@" + digest, "012345678901", "on/off", "latest"},
	}
	for _, tt := range pushes {
		r := runCmd(t, hermeticEnv(), "snippet", "--role-arn", oddRole, "--image", tt.image, "--access", "push")
		if r.code != 0 {
			t.Fatalf("snippet --access push %s: exit %d: %s", tt.image, r.code, r.stderr)
		}
		var config struct {
			Workflows map[string]struct {
				Jobs []map[string]map[string]any `yaml:"jobs"`
			} `yaml:"workflows"`
		}
		if err := yaml.Unmarshal([]byte(r.stdout), &config); err != nil {
			t.Fatalf("push snippet is not YAML: %v\n%s", err, r.stdout)
		}
		job := config.Workflows["build-and-push"].Jobs[0]["aws-ecr/build_and_push_image"]
		want := map[string]any{
			"auth":         []any{map[string]any{"aws-cli/setup": map[string]any{"role_arn": oddRole, "profile_name": templates.PushProfileName, "region": "eu-west-1"}}},
			"profile_name": templates.PushProfileName,
			"account_id":   tt.account, "region": "eu-west-1", "repo": tt.repo, "tag": tt.tag,
		}
		if !reflect.DeepEqual(job, want) {
			t.Errorf("build_and_push_image = %#v\nwant %#v\n%s", job, want, r.stdout)
		}
	}
}
