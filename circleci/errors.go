package circleci

import (
	"fmt"
	"strings"
	"time"
)

// AuthError says CircleCI rejected the token (401). It names where the token
// came from so the person knows which one to replace.
type AuthError struct {
	Host        string
	TokenSource string
	// Message is CircleCI's own message, e.g. "You must log in first.".
	Message string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("authenticate to %s: the token from %s was rejected (%s); create a personal API token at https://app.circleci.com/settings/user/tokens (project tokens are not accepted) and set CIRCLE_TOKEN",
		e.Host, e.TokenSource, orDefault(e.Message, "401 Unauthorized"))
}

// NotFoundError says CircleCI answered 404. CircleCI answers 404 both for
// what does not exist and for what the token may not see, so the message
// says both.
type NotFoundError struct {
	// Kind is what was looked up: "project", "organization".
	Kind string
	// Name is the slug or ID asked for.
	Name        string
	TokenSource string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("get %s %s: not found, or the token from %s cannot see it (CircleCI answers 404 for both); check the spelling and that the token's user has access",
		e.Kind, e.Name, e.TokenSource)
}

// OrgNotFoundError says no organization the token can see matches what was
// asked for. Visible lists the names of those it can see.
type OrgNotFoundError struct {
	Query       string
	TokenSource string
	Visible     []string
}

func (e *OrgNotFoundError) Error() string {
	visible := "none"
	if len(e.Visible) > 0 {
		visible = strings.Join(e.Visible, ", ")
	}
	return fmt.Sprintf("find CircleCI organization %q: the token from %s can see only these organizations: %s", e.Query, e.TokenSource, visible)
}

// AmbiguousOrgError says a name matched organizations on more than one VCS;
// Slugs lists them so the person can pass one.
type AmbiguousOrgError struct {
	Query string
	Slugs []string
}

func (e *AmbiguousOrgError) Error() string {
	return fmt.Sprintf("find CircleCI organization %q: the name matches %s; give the slug instead", e.Query, strings.Join(e.Slugs, " and "))
}

// APIError is any other answer that is not a success: 400, 403, or a 4xx
// the client does not retry.
type APIError struct {
	Method, Path string
	Host         string
	Status       int
	Message      string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s%s: CircleCI answered %d: %s", strings.ToLower(e.Method), e.Host, e.Path, e.Status, orDefault(e.Message, "no message"))
}

// UnavailableError says CircleCI kept answering 429 or 5xx until the retry
// attempts or time ran out.
type UnavailableError struct {
	Path     string
	Host     string
	Status   int
	Attempts int
	Elapsed  time.Duration
	// RetryAfter is the last Retry-After CircleCI asked for, when it asked
	// for a wait longer than the time left.
	RetryAfter time.Duration
}

func (e *UnavailableError) Error() string {
	what := fmt.Sprintf("%d", e.Status)
	if e.Status == 429 {
		what = "429 (rate limited)"
	}
	msg := fmt.Sprintf("get %s%s: CircleCI answered %s to %d attempts over %s", e.Host, e.Path, what, e.Attempts, e.Elapsed.Round(time.Millisecond))
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" and asked to wait %s more", e.RetryAfter)
	}
	return msg + "; try again later (status: https://status.circleci.com)"
}

// ConnectionError says CircleCI's host could not be reached or did not
// answer in time. Err is the transport's error.
type ConnectionError struct {
	Host    string
	Timeout bool
	Err     error
}

func (e *ConnectionError) Error() string {
	if e.Timeout {
		return fmt.Sprintf("reach CircleCI at %s: timed out: %v; check the host and your network", e.Host, e.Err)
	}
	return fmt.Sprintf("reach CircleCI at %s: %v; check the host and your network", e.Host, e.Err)
}

func (e *ConnectionError) Unwrap() error { return e.Err }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
