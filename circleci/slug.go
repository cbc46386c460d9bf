package circleci

import (
	"fmt"
	"net/url"
	"strings"
)

// VCS prefixes of a slug. CircleCI's API v2 accepts both the short and the
// long spelling (gh and github, bb and bitbucket) and answers with the short
// one, so parsed slugs are normalised to the short one: comparing them with
// the slugs the API returns is then plain equality.
const (
	prefixGitHub    = "gh"
	prefixBitbucket = "bb"
	prefixCircleCI  = "circleci"
)

// maxSegmentLen bounds one slug segment; GitHub's and Bitbucket's names are
// at most 100 characters and CircleCI's IDs 36.
const maxSegmentLen = 100

// SlugError reports a malformed organization or project slug, or a malformed
// ID. Field names the value ("org", "project", "org-id", "project-id") so the
// command layer can name the matching flag and exit with status 2.
type SlugError struct {
	Field string
	Value string
	Rule  string
}

func (e *SlugError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, e.Rule)
}

// OrgSlug is an organization as CircleCI's API names it: gh/acme,
// bb/acme or circleci/<org-id>.
type OrgSlug struct {
	// Prefix is the normalised VCS prefix: "gh", "bb" or "circleci".
	Prefix string
	// Org is the VCS organization name, or CircleCI's organization ID for the
	// circleci prefix.
	Org string
}

// String renders the slug in the normalised form the API answers with.
func (s OrgSlug) String() string { return s.Prefix + "/" + s.Org }

// ProjectSlug is a project as CircleCI's API names it: gh/acme/app,
// bb/acme/app or circleci/<org-id>/<project-id>.
type ProjectSlug struct {
	// Prefix is the normalised VCS prefix: "gh", "bb" or "circleci".
	Prefix string
	// Org is the VCS organization, or CircleCI's organization ID.
	Org string
	// Project is the repository name, or CircleCI's project ID.
	Project string
}

// String renders the slug in the normalised form the API answers with.
func (s ProjectSlug) String() string { return s.Prefix + "/" + s.Org + "/" + s.Project }

// OrgSlug is the slug of the project's organization.
func (s ProjectSlug) OrgSlug() OrgSlug { return OrgSlug{Prefix: s.Prefix, Org: s.Org} }

// PathEscaped renders the slug for a URL path: every segment is escaped on
// its own and the separating slashes stay, as the API expects
// (/api/v2/project/gh/acme/app, not gh%2Facme%2Fapp).
func (s ProjectSlug) PathEscaped() string {
	return url.PathEscape(s.Prefix) + "/" + url.PathEscape(s.Org) + "/" + url.PathEscape(s.Project)
}

// normalisePrefix maps every spelling the API accepts to the short one.
func normalisePrefix(p string) (string, bool) {
	switch p {
	case "gh", "github":
		return prefixGitHub, true
	case "bb", "bitbucket":
		return prefixBitbucket, true
	case "circleci":
		return prefixCircleCI, true
	}
	return "", false
}

const prefixRule = "must start with gh/, github/, bb/, bitbucket/ or circleci/"

// ParseOrgSlug parses gh/acme, github/acme, bb/acme, bitbucket/acme or
// circleci/<org-id>. The prefix is case-sensitive, as the API's is. Each
// segment is 1-100 letters, digits, '-', '_' or '.', and not "." or "..".
func ParseOrgSlug(s string) (OrgSlug, error) {
	parts := strings.Split(s, "/")
	prefix, ok := normalisePrefix(parts[0])
	if !ok {
		return OrgSlug{}, &SlugError{Field: "org", Value: s, Rule: prefixRule + ", like gh/acme"}
	}
	if len(parts) != 2 {
		return OrgSlug{}, &SlugError{Field: "org", Value: s, Rule: "must have two parts, like gh/acme or circleci/<org-id>"}
	}
	if rule := segmentRule(parts[1]); rule != "" {
		return OrgSlug{}, &SlugError{Field: "org", Value: s, Rule: "organization " + rule}
	}
	return OrgSlug{Prefix: prefix, Org: parts[1]}, nil
}

// ParseProjectSlug parses gh/acme/app, github/acme/app, bb/acme/app,
// bitbucket/acme/app or circleci/<org-id>/<project-id>, with the segment
// rules of [ParseOrgSlug].
func ParseProjectSlug(s string) (ProjectSlug, error) {
	parts := strings.Split(s, "/")
	prefix, ok := normalisePrefix(parts[0])
	if !ok {
		return ProjectSlug{}, &SlugError{Field: "project", Value: s, Rule: prefixRule + ", like gh/acme/app"}
	}
	if len(parts) != 3 {
		return ProjectSlug{}, &SlugError{Field: "project", Value: s, Rule: "must have three parts, like gh/acme/app or circleci/<org-id>/<project-id>"}
	}
	if rule := segmentRule(parts[1]); rule != "" {
		return ProjectSlug{}, &SlugError{Field: "project", Value: s, Rule: "organization " + rule}
	}
	if rule := segmentRule(parts[2]); rule != "" {
		return ProjectSlug{}, &SlugError{Field: "project", Value: s, Rule: "project " + rule}
	}
	return ProjectSlug{Prefix: prefix, Org: parts[1], Project: parts[2]}, nil
}

// segmentRule returns the rule a slug segment breaks, or "". The allowed
// characters are those of GitHub and Bitbucket names and CircleCI IDs; "."
// and ".." are refused because they would change the URL path.
func segmentRule(seg string) string {
	switch {
	case seg == "":
		return "must not be empty"
	case len(seg) > maxSegmentLen:
		return fmt.Sprintf("must be at most %d characters", maxSegmentLen)
	case seg == "." || seg == "..":
		return `must not be "." or ".."`
	}
	for _, r := range seg {
		if !isSegmentChar(r) {
			return "may contain only letters, digits, '-', '_' and '.'"
		}
	}
	return ""
}

func isSegmentChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}

// LooksLikeUUID reports whether s has the 8-4-4-4-12 hexadecimal form of the
// organization and project IDs, so a caller can tell an ID from a slug or a
// name. It does not check the version or variant bits.
func LooksLikeUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !isHexDigit(r) {
				return false
			}
		}
	}
	return true
}

func isHexDigit(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'
}

// checkUUID returns a *SlugError for field unless id looks like a UUID.
func checkUUID(field, id string) error {
	if !LooksLikeUUID(id) {
		return &SlugError{Field: field, Value: id, Rule: "must be a UUID like 01234567-89ab-cdef-0123-456789abcdef"}
	}
	return nil
}

// CheckProjects checks, without a request, project values that wait for an
// organization still to be chosen: IDs pass; a slug must parse (else a
// *SlugError), and needs an API token to be looked up (else, when c is nil
// because no token was found, a *TokenRequiredError). As with Resolve, no
// error holds c's token, even where a value given is the token itself.
func CheckProjects(c *Client, projects []string) error {
	err := checkProjects(projects, c != nil)
	if err != nil && c != nil {
		return c.redactInputs(err)
	}
	return err
}

func checkProjects(projects []string, haveToken bool) error {
	for _, p := range projects {
		if LooksLikeUUID(strings.TrimSpace(p)) {
			continue
		}
		if _, err := ParseProjectSlug(strings.TrimSpace(p)); err != nil {
			return err
		}
		if !haveToken {
			return &TokenRequiredError{Field: "project", Value: p}
		}
	}
	return nil
}
