package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stackSetGoldenArgs are the flags of export's golden StackSet template
// (export/testdata/stackset.yaml): a name, a prefix and an ARN in another
// account, two projects, a branch pin and an extra tag.
var stackSetGoldenArgs = []string{"--org-id", testOrg,
	"--repo", "app,team/*,arn:aws:ecr:eu-west-1:210987654321:repository/shared/base",
	"--project-id", testProject + "," + exportOtherProject, "--branch", "refs/heads/main",
	"--tag", "team=platform", "--region", "us-east-1"}

// TestExportStackSet runs export --format cloudformation-stackset: the
// template on stdout (or in --out) is the golden one, and stderr carries
// the commands that deploy it to every --ou, reading it where it is.
func TestExportStackSet(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "export", "testdata", "stackset.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"export", "--format", "cloudformation-stackset", "--ou", "ou-ab12-cd34ef56", "--ou", "r-ab12"}, stackSetGoldenArgs...)
	r := runBinary(t, hermeticEnv(), args...)
	if r.code != 0 || r.stdout != string(want) {
		t.Fatalf("exit %d, stdout is the golden template: %v\nstderr: %s", r.code, r.stdout == string(want), r.stderr)
	}
	for _, line := range []string{
		"aws cloudformation create-stack-set \\\n  --region us-east-1 \\\n  --stack-set-name circleci-ecr-oidc \\\n  --template-body file://stackset.yaml \\\n  --permission-model SERVICE_MANAGED \\\n",
		"  --auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false \\\n",
		"  --capabilities CAPABILITY_NAMED_IAM \\\n",
		"aws cloudformation create-stack-instances \\\n  --region us-east-1 \\\n  --stack-set-name circleci-ecr-oidc \\\n  --deployment-targets OrganizationalUnitIds=ou-ab12-cd34ef56,r-ab12 \\\n  --regions us-east-1\n",
	} {
		if !strings.Contains(r.stderr, line) {
			t.Errorf("stderr lacks\n%s\nstderr:\n%s", line, r.stderr)
		}
	}

	// One --ou with a space after the comma, as --org-accounts takes it.
	spaced := runBinary(t, hermeticEnv(), append([]string{"export", "--format", "cloudformation-stackset", "--ou", "ou-ab12-cd34ef56, r-ab12"}, stackSetGoldenArgs...)...)
	if spaced.code != 0 || !strings.Contains(spaced.stderr, "--deployment-targets OrganizationalUnitIds=ou-ab12-cd34ef56,r-ab12 \\\n") {
		t.Errorf("--ou 'ou-ab12-cd34ef56, r-ab12': exit %d, stderr:\n%s", spaced.code, spaced.stderr)
	}

	dir := filepath.Join(t.TempDir(), "infra")
	files := runBinary(t, hermeticEnv(), append(args, "--out", dir)...)
	written, err := os.ReadFile(filepath.Join(dir, "stackset.yaml"))
	if files.code != 0 || files.stdout != "" || err != nil || string(written) != string(want) {
		t.Fatalf("--out: exit %d, stdout %q, read %v, the golden template: %v; stderr %s", files.code, files.stdout, err, string(written) == string(want), files.stderr)
	}
	if !strings.Contains(files.stderr, "Wrote "+filepath.Join(dir, "stackset.yaml")) || !strings.Contains(files.stderr, "--template-body file://"+filepath.Join(dir, "stackset.yaml")+" \\\n") {
		t.Errorf("--out: stderr does not name the written template in create-stack-set:\n%s", files.stderr)
	}
}

// TestExportStackSetRejects checks that --ou is required by the StackSet
// format only, validated, and refused elsewhere: exit 2, one line naming
// --ou, nothing on stdout.
func TestExportStackSetRejects(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no --ou", []string{"--format", "cloudformation-stackset"}, "--ou is required with --format cloudformation-stackset"},
		{"bad --ou", []string{"--format", "cloudformation-stackset", "--ou", "ou-ab12-cd34ef56,ou-123"}, `invalid --ou "ou-123"`},
		{"account as --ou", []string{"--format", "cloudformation-stackset", "--ou", "123456789012"}, `invalid --ou "123456789012"`},
		{"--ou for terraform", []string{"--format", "terraform", "--ou", "ou-ab12-cd34ef56"}, "--ou applies only to --format cloudformation-stackset"},
		{"--ou for cloudformation", []string{"--format", "cloudformation", "--ou", "r-ab12"}, "--ou applies only to --format cloudformation-stackset"},
	} {
		r := runBinary(t, hermeticEnv(), append(append([]string{"export"}, c.args...), stackSetGoldenArgs...)...)
		line, _, _ := strings.Cut(strings.TrimSpace(r.stderr), "\n")
		if r.code != exitUsage || r.stdout != "" || !strings.Contains(line, c.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d and a first line with %q", c.name, r.code, r.stdout, r.stderr, exitUsage, c.want)
		}
	}
}
