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
	// Region is the region for the commented aws-cli orb example.
	Region string
}

// RenderSnippet renders the config.yml snippet for a job that pulls its
// image from ECR with OIDC.
func RenderSnippet(s Snippet) (string, error) {
	if s.Image == "" || s.RoleARN == "" {
		return "", fmt.Errorf("render snippet: image and role ARN are required")
	}
	var buf bytes.Buffer
	if err := parsed.ExecuteTemplate(&buf, "snippet.yml.tmpl", s); err != nil {
		return "", fmt.Errorf("render snippet: %w", err)
	}
	return buf.String(), nil
}
