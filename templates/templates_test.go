package templates

import (
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/golden"
)

var example = Snippet{
	Image:   "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest",
	RoleARN: "arn:aws:iam::123456789012:role/circleci-ecr-pull",
	Region:  "us-east-1",
}

func TestSnippetGolden(t *testing.T) {
	got, err := RenderSnippet(example)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "snippet.yml"), []byte(got))
}

// TestSnippetIsValidYAML parses the snippet as CircleCI would read it under
// a job, and checks the aws_auth shape the config schema allows: only
// oidc_role_arn, no static keys.
func TestSnippetIsValidYAML(t *testing.T) {
	got, err := RenderSnippet(example)
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		Docker []struct {
			Image   string            `yaml:"image"`
			AWSAuth map[string]string `yaml:"aws_auth"`
		} `yaml:"docker"`
	}
	if err := yaml.Unmarshal([]byte(got), &job); err != nil {
		t.Fatalf("snippet is not valid YAML: %v\n%s", err, got)
	}
	if len(job.Docker) != 1 || job.Docker[0].Image != example.Image {
		t.Fatalf("docker image = %+v, want %s", job.Docker, example.Image)
	}
	if auth := job.Docker[0].AWSAuth; len(auth) != 1 || auth["oidc_role_arn"] != example.RoleARN {
		t.Errorf("aws_auth = %v, want only oidc_role_arn = %s", auth, example.RoleARN)
	}
}

// TestCommentedOrbBlockIsValidYAML uncomments the aws-cli orb example and
// checks that it parses with the same role, so a user who uncomments it gets
// a working block.
func TestCommentedOrbBlockIsValidYAML(t *testing.T) {
	got, err := RenderSnippet(example)
	if err != nil {
		t.Fatal(err)
	}
	var block []string
	started := false
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "# orbs:") {
			started = true
		}
		if started && strings.HasPrefix(line, "# ") {
			block = append(block, strings.TrimPrefix(line, "# "))
		}
	}
	var doc struct {
		Orbs  map[string]string `yaml:"orbs"`
		Steps []map[string]map[string]string
	}
	if err := yaml.Unmarshal([]byte(strings.Join(block, "\n")), &doc); err != nil {
		t.Fatalf("uncommented orb block is not valid YAML: %v\n%s", err, strings.Join(block, "\n"))
	}
	if doc.Orbs["aws-cli"] != "circleci/aws-cli@5.4.1" {
		t.Errorf("orbs = %v", doc.Orbs)
	}
	if len(doc.Steps) != 1 || doc.Steps[0]["aws-cli/setup"]["role_arn"] != example.RoleARN {
		t.Errorf("steps = %v", doc.Steps)
	}
}

func TestRenderSnippetRequiresValues(t *testing.T) {
	if _, err := RenderSnippet(Snippet{Image: example.Image}); err == nil {
		t.Error("RenderSnippet without a role ARN succeeded")
	}
}

var pushExample = Snippet{
	Image:      "210987654321.dkr.ecr.eu-west-1.amazonaws.com/shared/base:v1",
	RoleARN:    "arn:aws:iam::123456789012:role/circleci-ecr-push",
	Region:     "eu-west-1",
	Push:       true,
	Account:    "210987654321",
	Repository: "shared/base",
	Tag:        "v1",
}

func TestPushSnippetGolden(t *testing.T) {
	got, err := RenderSnippet(pushExample)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "snippet-push.yml"), []byte(got))
}

// TestPushSnippetIsValidYAML parses the push snippet as a config.yml and
// checks what makes it work: pinned orbs, the build_and_push_image job with
// an aws-cli/setup auth step that assumes the role, and the same
// profile_name in the step and the job (a mismatch logs in to ECR with no
// credentials).
func TestPushSnippetIsValidYAML(t *testing.T) {
	got, err := RenderSnippet(pushExample)
	if err != nil {
		t.Fatal(err)
	}
	var config struct {
		Version   any               `yaml:"version"`
		Orbs      map[string]string `yaml:"orbs"`
		Workflows map[string]struct {
			Jobs []map[string]struct {
				Auth        []map[string]map[string]string `yaml:"auth"`
				ProfileName string                         `yaml:"profile_name"`
				AccountID   string                         `yaml:"account_id"`
				Region      string                         `yaml:"region"`
				Repo        string                         `yaml:"repo"`
				Tag         string                         `yaml:"tag"`
			} `yaml:"jobs"`
		} `yaml:"workflows"`
	}
	if err := yaml.Unmarshal([]byte(got), &config); err != nil {
		t.Fatalf("push snippet is not valid YAML: %v\n%s", err, got)
	}
	if config.Orbs["aws-ecr"] != "circleci/aws-ecr@9.8.1" || config.Orbs["aws-cli"] != "circleci/aws-cli@5.4.1" {
		t.Errorf("orbs = %v", config.Orbs)
	}
	if len(config.Workflows) != 1 {
		t.Fatalf("workflows = %v", config.Workflows)
	}
	for _, wf := range config.Workflows {
		if len(wf.Jobs) != 1 {
			t.Fatalf("jobs = %v", wf.Jobs)
		}
		job, ok := wf.Jobs[0]["aws-ecr/build_and_push_image"]
		if !ok {
			t.Fatalf("no aws-ecr/build_and_push_image job: %v", wf.Jobs[0])
		}
		if len(job.Auth) != 1 {
			t.Fatalf("auth = %v", job.Auth)
		}
		setup, ok := job.Auth[0]["aws-cli/setup"]
		if !ok || setup["role_arn"] != pushExample.RoleARN {
			t.Errorf("auth step = %v, want aws-cli/setup with role_arn %s", job.Auth[0], pushExample.RoleARN)
		}
		if setup["profile_name"] == "" || setup["profile_name"] != job.ProfileName {
			t.Errorf("profile_name: auth step %q, job %q; they must be equal", setup["profile_name"], job.ProfileName)
		}
		if job.AccountID != pushExample.Account || job.Region != pushExample.Region || job.Repo != pushExample.Repository || job.Tag != pushExample.Tag {
			t.Errorf("job parameters = %+v", job)
		}
	}
	if !strings.Contains(got, "no context is needed") || strings.Contains(got, "context:") {
		t.Error("the push snippet does not say that no context is needed, or names one")
	}
	if _, err := RenderSnippet(Snippet{Image: pushExample.Image, RoleARN: pushExample.RoleARN, Push: true}); err == nil {
		t.Error("push snippet without account and repository rendered")
	}
}
