// Package templates holds the text a person pastes or applies somewhere else
// as embedded text/template files: the .circleci/config.yml snippet and the
// Terraform and CloudFormation exports. IAM documents are never written by a
// template: they are Go values (package policy), rendered into the target
// syntax before they reach one.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed *.tmpl export/*.tmpl
var files embed.FS

var funcs = template.FuncMap{
	"hcl":    HCLString,
	"json":   JSONString,
	"join":   strings.Join,
	"indent": indent,
	"tagWidth": func(tags []Tag) int {
		w := 0
		for _, t := range tags {
			w = max(w, len(HCLString(t.Key)))
		}
		return w
	},
}

var parsed = template.Must(template.New("").Funcs(funcs).Option("missingkey=error").ParseFS(files, "*.tmpl", "export/*.tmpl"))

// Snippet is the data of the config.yml snippet.
type Snippet struct {
	// Image is the ECR image URI the job runs in.
	Image string
	// RoleARN is the role CircleCI assumes with the job's OIDC token.
	RoleARN string
	// Region is the region for the commented aws-cli orb example; for Push,
	// the repository's region.
	Region string
	// Push selects the snippet for --access push: the circleci/aws-ecr
	// orb's build_and_push_image job, authenticated with the role, instead
	// of a job that pulls its image.
	Push bool
	// Account, Repository and Tag are the image's registry account,
	// repository name and tag; Push needs them.
	Account, Repository, Tag string
}

// PushProfileName is the AWS CLI profile the push snippet configures in its
// auth step and logs in to ECR with. One constant for both places, because
// the aws-ecr orb logs in with no credentials when they differ.
const PushProfileName = "circleci-ecr-oidc"

// RenderSnippet renders the config.yml snippet: for a job that pulls its
// image from ECR with OIDC, or with Push, a workflow whose job builds and
// pushes the image.
func RenderSnippet(s Snippet) (string, error) {
	if s.Image == "" || s.RoleARN == "" {
		return "", fmt.Errorf("render snippet: image and role ARN are required")
	}
	if s.Tag == "" {
		s.Tag = "latest"
	}
	name := "snippet.yml.tmpl"
	data := any(s)
	if s.Push {
		if s.Account == "" || s.Repository == "" || s.Region == "" {
			return "", fmt.Errorf("render push snippet: account, repository and region are required")
		}
		name = "snippet-push.yml.tmpl"
		data = struct {
			Snippet
			ProfileName string
		}{s, PushProfileName}
	}
	var buf bytes.Buffer
	if err := parsed.ExecuteTemplate(&buf, name, data); err != nil {
		return "", fmt.Errorf("render snippet: %w", err)
	}
	return buf.String(), nil
}
