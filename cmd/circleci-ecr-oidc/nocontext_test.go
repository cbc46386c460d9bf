package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// contextClaim matches the sentences that told users a job needs a
// CircleCI context to get an OIDC token, which CircleCI's documentation no
// longer says (the rule was dropped in 2023; the aws-cli orb says no context
// is needed).
var contextClaim = regexp.MustCompile(`(?i)(run|runs|running) (the job |it )?with a context|` +
	`(issues?|gives?) (it )?(an )?OIDC tokens? (only )?to jobs|needs a context|must run with a context|give (the job|it) a context|` +
	`add context:|uncomment the context`)

// TestNoContextIsRequired checks that the snippets, in both kinds, and the
// user docs say that no context is needed, and that the troubleshooting
// page covers the causes that remain when a job gets no token.
func TestNoContextIsRequired(t *testing.T) {
	const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"
	for _, access := range []string{"pull", "push"} {
		r := runCmd(t, hermeticEnv(), "snippet", "--role-arn", "arn:aws:iam::123456789012:role/ci", "--image", image, "--access", access)
		if r.code != 0 {
			t.Fatalf("snippet --access %s: exit %d: %s", access, r.code, r.stderr)
		}
		// The comment wraps: match across its lines.
		comment := strings.Join(strings.Fields(strings.ReplaceAll(r.stdout, "\n#", "\n")), " ")
		if !strings.Contains(comment, "no context is needed") || contextClaim.MatchString(comment) || strings.Contains(r.stdout, "context:") {
			t.Errorf("the %s snippet does not say that no context is needed, or asks for one:\n%s", access, r.stdout)
		}
	}

	docs, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil || len(docs) < 5 {
		t.Fatalf("docs: %v, %v", docs, err)
	}
	for _, path := range append(docs, filepath.Join("..", "..", "README.md")) {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Markdown wraps sentences: match across line breaks.
		flat := strings.Join(strings.Fields(string(text)), " ")
		if m := contextClaim.FindString(flat); m != "" {
			t.Errorf("%s says a job needs a context: %q", path, m)
		}
	}

	page, err := os.ReadFile(filepath.Join("..", "..", "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(page), "\n## The job gets no OIDC token\n")
	if !ok {
		t.Fatal("docs/troubleshooting.md has no section \"The job gets no OIDC token\"")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	section = strings.Join(strings.Fields(section), " ")
	for _, cause := range []string{
		"No context is needed",
		`"Pass secrets to builds from forked pull requests"`, // forked pull requests
		"CircleCI server older than 4.4",
		"AWS_ACCESS_KEY_ID", // static keys shadowing OIDC
	} {
		if !strings.Contains(section, cause) {
			t.Errorf("the troubleshooting section on a missing token lacks %q", cause)
		}
	}
}
