// Package templates holds the text a person pastes somewhere else, such as
// the .circleci/config.yml snippet, as embedded text/template files. IAM
// documents are never rendered here: they are Go values (package policy).
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"text/template"
)

//go:embed *.tmpl
var files embed.FS

var parsed = template.Must(template.New("").Option("missingkey=error").ParseFS(files, "*.tmpl"))

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
