package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
)

// documents are the trust and permissions policies the tool emits for the
// benchmark's inputs; the AWS CLI script and Terraform apply exactly these,
// so every peer does the same work.
type documents struct {
	Trust       json.RawMessage `json:"trust_policy"`
	Permissions json.RawMessage `json:"permissions_policy"`
	ProviderARN string          `json:"provider_arn"`
}

// toolArgs are the flags of setup and plan for the small case.
func toolArgs() []string {
	return []string{"--org-id", org, "--repo", repo, "--project-id", project}
}

// planDocuments asks the tool for its documents with `plan --output json`
// on the fresh world (read-only).
func planDocuments(b *testing.B, w *world, tool string) documents {
	b.Helper()
	w.fresh(b, repo)
	out, errOut, code, err := execIn("", w.env, tool, append([]string{"plan", "--output", "json"}, toolArgs()...)...)
	if err != nil || code != 0 {
		b.Fatalf("plan --output json: exit %d %v\n%s", code, err, errOut)
	}
	var d documents
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		b.Fatalf("plan --output json is not JSON: %v\n%s", err, out)
	}
	for _, doc := range []*json.RawMessage{&d.Trust, &d.Permissions} {
		var buf bytes.Buffer
		if err := json.Compact(&buf, *doc); err != nil {
			b.Fatal(err)
		}
		*doc = buf.Bytes()
	}
	if len(d.Trust) == 0 || len(d.Permissions) == 0 || d.ProviderARN == "" {
		b.Fatalf("plan --output json lacks trust_policy, permissions_policy or provider_arn:\n%s", out)
	}
	return d
}

// cliScript is the seed's AWS CLI script: the caller's account for the
// trust policy, then the provider, the role and its inline policy, one call
// after the other as a shell script runs them. It takes the endpoint as $1
// and fills the account into the trust policy as a hand-written script would.
const cliScript = `#!/usr/bin/env bash
set -euo pipefail
ep=$1 dir=$(dirname "$0")
account=$(aws sts get-caller-identity --endpoint-url "$ep" --query Account --output text)
sed "s/__ACCOUNT__/$account/g" "$dir/trust.json.tmpl" >"$dir/trust.json"
aws iam create-open-id-connect-provider --endpoint-url "$ep" \
	--url "https://oidc.circleci.com/org/{{ORG}}" --client-id-list "{{ORG}}" >/dev/null
aws iam create-role --endpoint-url "$ep" --role-name "{{ROLE}}" \
	--assume-role-policy-document "file://$dir/trust.json" >/dev/null
aws iam put-role-policy --endpoint-url "$ep" --role-name "{{ROLE}}" --policy-name "{{POLICY}}" \
	--policy-document "file://$dir/permissions.json"
`

// writeCLIScript writes the script and its documents into a new directory
// and returns the script's path.
func writeCLIScript(b *testing.B, d documents) string {
	b.Helper()
	dir := b.TempDir()
	script := strings.NewReplacer("{{ORG}}", org, "{{ROLE}}", roleName, "{{POLICY}}", policyName).Replace(cliScript)
	files := map[string]string{
		"setup.sh":         script,
		"trust.json.tmpl":  strings.ReplaceAll(string(d.Trust), awstest.AccountID, "__ACCOUNT__"),
		"permissions.json": string(d.Permissions),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	return filepath.Join(dir, "setup.sh")
}

// terraformConfig declares the same three resources. The trust policy
// references the provider's ARN, as every Terraform module for this does, so
// Terraform orders role creation after the provider.
const terraformConfig = `terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "{{VERSION}}"
    }
  }
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    iam = "{{ENDPOINT}}"
    sts = "{{ENDPOINT}}"
    ecr = "{{ENDPOINT}}"
  }
}

resource "aws_iam_openid_connect_provider" "circleci" {
  url            = "https://oidc.circleci.com/org/{{ORG}}"
  client_id_list = ["{{ORG}}"]
}

resource "aws_iam_role" "pull" {
  name               = "{{ROLE}}"
  assume_role_policy = templatefile("${path.module}/trust.json.tftpl", { provider_arn = aws_iam_openid_connect_provider.circleci.arn })
}

resource "aws_iam_role_policy" "pull" {
  name   = "{{POLICY}}"
  role   = aws_iam_role.pull.id
  policy = file("${path.module}/permissions.json")
}
`

// providerVersion is the hashicorp/aws provider the local mirror holds.
const providerVersion = "5.100.0"

// terraform runs Terraform against the world with the provider from the
// local filesystem mirror, so that it works offline.
type terraform struct {
	bin string
	env []string
	// template is a configuration directory initialised once; runs that
	// exclude init share its .terraform through TF_DATA_DIR and start from
	// an empty state of their own.
	template string
}

// terraformMirrorEnv overrides where the provider mirror is looked for.
const terraformMirrorEnv = "BENCH_TF_MIRROR"

// findMirror returns a filesystem mirror directory that holds
// hashicorp/aws providerVersion, or "" if none of the usual places does.
func findMirror() string {
	candidates := []string{os.Getenv(terraformMirrorEnv), "/opt/tf-plugins", "/usr/share/terraform/plugins",
		"/usr/local/share/terraform/plugins"}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".terraform.d", "plugins"),
			filepath.Join(home, ".local", "share", "terraform", "plugins"))
	}
	for _, dir := range candidates {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "registry.terraform.io", "hashicorp", "aws", providerVersion)); err == nil {
			return dir
		}
	}
	return ""
}

// newTerraform prepares the CLI configuration and the initialised template,
// or returns a reason to skip the Terraform peer.
func newTerraform(b *testing.B, w *world, d documents) (*terraform, string) {
	b.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		return nil, "terraform not found on PATH"
	}
	dir := b.TempDir()
	rc := filepath.Join(dir, "terraformrc")
	mirror := findMirror()
	rcText := "" // no mirror: the default installation (network) is tried
	if mirror != "" {
		rcText = fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path = %q\n  }\n}\n", mirror)
	}
	if err := os.WriteFile(rc, []byte(rcText), 0o644); err != nil {
		b.Fatal(err)
	}
	// A full slice expression, so that appending never writes into w.env;
	// later entries win in exec.Cmd.Env, which is how they override.
	env := append(w.env[:len(w.env):len(w.env)],
		"TF_CLI_CONFIG_FILE="+rc,
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
		// No version check against checkpoint-api.hashicorp.com: it would
		// need the network and add its round trip to every run.
		"CHECKPOINT_DISABLE=1",
		"TF_PLUGIN_CACHE_DIR=",
		"TF_DATA_DIR=",
		"TF_LOG=",
	)
	tf := &terraform{bin: bin, env: env}
	tf.template = tf.newConfigDir(b, w, d)
	_, errOut, code, err := execIn(tf.template, env, bin, "init", "-input=false", "-no-color")
	if err != nil || code != 0 {
		where := "the registry (no local mirror found; set " + terraformMirrorEnv + ")"
		if mirror != "" {
			where = "the mirror " + mirror
		}
		return nil, fmt.Sprintf("terraform init from %s failed: %s", where, terraformError(errOut))
	}
	return tf, ""
}

// newConfigDir writes the configuration and documents into a new directory.
func (tf *terraform) newConfigDir(b *testing.B, w *world, d documents) string {
	b.Helper()
	dir, err := os.MkdirTemp(b.TempDir(), "tf")
	if err != nil {
		b.Fatal(err)
	}
	main := strings.NewReplacer("{{VERSION}}", providerVersion, "{{ENDPOINT}}", w.endpoint(),
		"{{ORG}}", org, "{{ROLE}}", roleName, "{{POLICY}}", policyName).Replace(terraformConfig)
	files := map[string]string{
		"main.tf":          main,
		"trust.json.tftpl": strings.ReplaceAll(string(d.Trust), d.ProviderARN, "${provider_arn}"),
		"permissions.json": string(d.Permissions),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// applyArgs are the flags of every measured apply.
var applyArgs = []string{"apply", "-auto-approve", "-input=false", "-no-color"}

// applyPrepared applies in a fresh directory whose providers are the
// template's, i.e. with init already done: what a user pays on every change.
func (tf *terraform) applyPrepared(b *testing.B, w *world, d documents) (run, error) {
	dir := tf.newConfigDir(b, w, d)
	lock, err := os.ReadFile(filepath.Join(tf.template, ".terraform.lock.hcl"))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".terraform.lock.hcl"), lock, 0o644); err != nil {
		b.Fatal(err)
	}
	env := append(tf.env[:len(tf.env):len(tf.env)], "TF_DATA_DIR="+filepath.Join(tf.template, ".terraform"))
	return w.measure(func() (string, string, int, error) {
		return execIn(dir, env, tf.bin, applyArgs...)
	})
}

// initAndApply runs init then apply in a fresh directory: what a user pays
// the first time. From a filesystem mirror init links the provider rather
// than copying it, but still verifies the 700 MB binary's checksum.
func (tf *terraform) initAndApply(b *testing.B, w *world, d documents) (run, error) {
	dir := tf.newConfigDir(b, w, d)
	return w.measure(func() (string, string, int, error) {
		out, errOut, code, err := execIn(dir, tf.env, tf.bin, "init", "-input=false", "-no-color")
		if err != nil || code != 0 {
			return out, errOut, code, err
		}
		return execIn(dir, tf.env, tf.bin, applyArgs...)
	})
}

// terraformError picks the first "Error:" line out of Terraform's boxed
// diagnostics.
func terraformError(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if _, msg, ok := strings.Cut(l, "Error: "); ok {
			return strings.TrimSpace(msg)
		}
	}
	return lastLine(stderr)
}
