package main

import (
	"strings"
	"testing"
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
			r := runBinary(t, hermeticEnv(), "snippet", "--role-arn", tt.role, "--image", tt.image)
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
