package circleci

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// FromEnvironment finds the credentials as [LoadCredentials] does, in the
// process's environment, home directory and $XDG_CONFIG_HOME, and returns
// a client for them. hostFlag is the tool's --circleci-host ("" when not
// given). Without a token it returns nil and no error: the caller then
// passes the nil client to [Resolve], which takes IDs as they are and asks
// for a token only where a slug or a name needs one.
func FromEnvironment(hostFlag string, opts ...Option) (*Client, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		// No home directory: the environment alone can give the token.
		home = ""
	}
	creds, err := LoadCredentials(os.Getenv, home, os.Getenv("XDG_CONFIG_HOME"), hostFlag)
	var missing *MissingTokenError
	if errors.As(err, &missing) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return New(creds, opts...), nil
}

// Host is the base URL the client calls, such as https://circleci.com.
func (c *Client) Host() string { return c.creds.Host }

// Cloud reports whether the client calls CircleCI cloud, the only host
// with API v3 and so with [Client.ListProjects].
func (c *Client) Cloud() bool { return c.creds.Host == DefaultHost }

// WriteTextSince writes, one line each, what Resolve looked up: "Resolved
// gh/acme/app → <id>" for every slug or name (with the slug CircleCI
// answered when it differs from the input), and the token audiences read,
// with their sources. It writes nothing when only IDs were given and there
// was no token. For a resolution that follows prev, of the same
// organization (from [Resolution.ResolveProjects]), it leaves out the lines
// prev's wrote already; prev is nil for a resolution that follows none.
func (r *Resolution) WriteTextSince(w io.Writer, prev *Resolution) error {
	var b strings.Builder
	if prev == nil && !LooksLikeUUID(strings.TrimSpace(r.Org.Input)) {
		fmt.Fprintf(&b, "Resolved %s → %s\n", inputAndSlug(r.Org.Input, r.Org.Slug), r.Org.ID)
	}
	for _, p := range r.Projects {
		if p.Slug != "" && !LooksLikeUUID(strings.TrimSpace(p.Input)) && (prev == nil || !slices.Contains(prev.Projects, p)) {
			fmt.Fprintf(&b, "Resolved %s → %s\n", inputAndSlug(p.Input, p.Slug), p.ID)
		}
	}
	if r.AudiencesRead && (prev == nil || !slices.Equal(prev.Audiences, r.Audiences)) {
		var auds []string
		for _, a := range r.Audiences {
			auds = append(auds, a.Value+" ("+a.Source+")")
		}
		fmt.Fprintf(&b, "Token audiences from CircleCI: %s\n", orDefault(strings.Join(auds, ", "), "none"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// inputAndSlug is the input, with the slug CircleCI answered after it when
// the two differ (github/acme → gh/acme, a name → its slug).
func inputAndSlug(input, slug string) string {
	input = strings.TrimSpace(input)
	if slug == "" || slug == input {
		return input
	}
	return input + " (" + slug + ")"
}
