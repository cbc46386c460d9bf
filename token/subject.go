package token

import (
	"errors"
	"fmt"
	"strings"
)

// Version is the layout of a token's sub claim.
type Version int

// Sub layouts. CircleCI documents $CIRCLE_OIDC_TOKEN as V1 and
// $CIRCLE_OIDC_TOKEN_V2 as V2, except that a V2 token of a pipeline
// triggered by a custom webhook has the V1 layout: the layout, not the
// environment variable, is what trust policies see.
const (
	// VersionUnknown: sub is missing or has neither layout.
	VersionUnknown Version = iota
	// V1: org/<org>/project/<project>/user/<user>.
	V1
	// V2: V1 followed by /vcs-origin/<origin>/vcs-ref/<ref>.
	V2
)

// String returns "V1", "V2" or "unknown".
func (v Version) String() string {
	switch v {
	case V1:
		return "V1"
	case V2:
		return "V2"
	default:
		return "unknown"
	}
}

// Subject is a parsed CircleCI sub claim.
type Subject struct {
	OrgID     string
	ProjectID string
	UserID    string
	// VCSOrigin (e.g. github.com/my-org/repo) and VCSRef (e.g.
	// refs/heads/main) are set only for the V2 layout.
	VCSOrigin string
	VCSRef    string
}

// Version returns V2 when the subject carries the vcs-origin/vcs-ref suffix,
// else V1.
func (s Subject) Version() Version {
	if s.VCSOrigin != "" || s.VCSRef != "" {
		return V2
	}
	return V1
}

// String writes the subject back in its layout.
func (s Subject) String() string {
	out := "org/" + s.OrgID + "/project/" + s.ProjectID + "/user/" + s.UserID
	if s.Version() == V2 {
		out += "/vcs-origin/" + s.VCSOrigin + "/vcs-ref/" + s.VCSRef
	}
	return out
}

var errNoSubject = errors.New("the token has no sub claim")

// ParseSubject parses a sub claim of either layout. The org, project and
// user segments must be non-empty; the origin and ref may themselves contain
// slashes (github.com/o/r, refs/heads/main), so the first "/vcs-ref/" after
// the origin ends it.
func ParseSubject(sub string) (Subject, error) {
	if sub == "" {
		return Subject{}, errNoSubject
	}
	parts := strings.SplitN(sub, "/", 7)
	if len(parts) < 6 || parts[0] != "org" || parts[2] != "project" || parts[4] != "user" {
		return Subject{}, fmt.Errorf("sub does not start with org/<org>/project/<project>/user/<user>")
	}
	s := Subject{OrgID: parts[1], ProjectID: parts[3], UserID: parts[5]}
	if s.OrgID == "" || s.ProjectID == "" || s.UserID == "" {
		return Subject{}, fmt.Errorf("sub has an empty org, project or user segment")
	}
	if len(parts) == 6 {
		return s, nil
	}
	rest, ok := strings.CutPrefix(parts[6], "vcs-origin/")
	if !ok {
		return Subject{}, fmt.Errorf("sub continues after the user segment without vcs-origin/")
	}
	origin, ref, ok := strings.Cut(rest, "/vcs-ref/")
	if !ok || origin == "" || ref == "" {
		return Subject{}, fmt.Errorf("sub has a vcs-origin but no non-empty vcs-origin and vcs-ref")
	}
	s.VCSOrigin, s.VCSRef = origin, ref
	return s, nil
}

// Version classifies the token by the layout of its sub claim. A V1 result
// can still come from $CIRCLE_OIDC_TOKEN_V2: V2 tokens of pipelines triggered
// by a custom webhook have the V1 layout, so a branch-pinned sub pattern
// rejects them.
func (c Claims) Version() Version {
	s, err := ParseSubject(c.Subject)
	if err != nil {
		return VersionUnknown
	}
	return s.Version()
}
