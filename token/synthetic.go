package token

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// DefaultUserID is the user segment FromKeyValues puts in a sub it builds
// when no user-id is given: the trust policies this tool writes never test
// the user.
const DefaultUserID = "00000000-0000-0000-0000-000000000000"

// keyValueNames maps the names FromKeyValues accepts to claim names. The
// custom claims are accepted with or without their oidc.circleci.com/
// prefix. user-id is not a claim: it only feeds the sub FromKeyValues builds.
var keyValueNames = map[string]string{
	"iss": "iss", "aud": "aud", "sub": "sub", "exp": "exp", "iat": "iat", "nbf": "nbf",
	"user-id": "user-id",
}

func init() {
	for _, claim := range []string{
		ClaimProjectID, ClaimOrgID, ClaimContextIDs, ClaimVCSOrigin, ClaimVCSRef, ClaimSSHRerun,
		ClaimJobID, ClaimWorkflowID, ClaimPipelineID, ClaimPipelineDefinitionID,
	} {
		keyValueNames[claim] = claim
		keyValueNames[strings.TrimPrefix(claim, "oidc.circleci.com/")] = claim
	}
}

// listClaims may be given more than once; each occurrence adds a value.
var listClaims = []string{"aud", ClaimContextIDs}

// FromKeyValues builds synthetic claims from the --claims flag's
// "key=value,key=value" form, for "what if" checks without a real token.
//
// Keys are iss, aud, sub, exp, iat, nbf, user-id and CircleCI's custom claims
// with or without their oidc.circleci.com/ prefix (project-id, org-id,
// context-ids, vcs-origin, vcs-ref, ssh-rerun, job-id, workflow-id,
// pipeline-id, pipeline-definition-id). aud and context-ids may be repeated
// to give several values; any other key may appear once. Values cannot
// contain commas. Times are RFC 3339 or whole seconds since 1970; ssh-rerun
// is a boolean.
//
// Claims left out are filled in the way a real CircleCI token would carry
// them:
//
//   - org-id and project-id: from sub; org-id also from a per-org iss;
//   - sub: org/<org-id>/project/<project-id>/user/<user-id>, with user-id
//     defaulting to DefaultUserID, plus /vcs-origin/<vcs-origin>/vcs-ref/<vcs-ref>
//     (the V2 layout) when both of those are given;
//   - iss: https://oidc.circleci.com/org/<org-id>;
//   - aud: the org ID, CircleCI's default audience.
//
// An empty value ("aud=") leaves the claim out and stops its default, to
// ask what happens without it. exp, iat and nbf are never defaulted, so the
// result does not depend on the clock; a synthetic token without exp never
// expires.
func FromKeyValues(s string) (Claims, error) {
	if strings.TrimSpace(s) == "" {
		return Claims{}, errors.New("read claims: no key=value pairs given")
	}
	// JSON, and so a JWT, can only carry valid UTF-8; anything else would
	// be silently replaced when the claims are encoded.
	if !utf8.ValidString(s) {
		return Claims{}, errors.New("read claims: the text is not valid UTF-8")
	}
	given := map[string][]string{}
	for pair := range strings.SplitSeq(s, ",") {
		pair = strings.TrimSpace(pair)
		key, value, ok := strings.Cut(pair, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" {
			return Claims{}, fmt.Errorf("read claims: %q is not key=value", pair)
		}
		claim, known := keyValueNames[key]
		if !known {
			return Claims{}, fmt.Errorf("read claims: unknown claim %q; known: %s", key, knownKeys())
		}
		if prior, dup := given[claim]; dup && (!slices.Contains(listClaims, claim) || value == "" || slices.Contains(prior, "")) {
			return Claims{}, fmt.Errorf("read claims: %s is given more than once", key)
		}
		given[claim] = append(given[claim], value)
	}
	// one returns a single-valued key's value and whether it was given at
	// all; given-but-empty means "leave out, no default".
	one := func(claim string) (string, bool) {
		v, ok := given[claim]
		if !ok {
			return "", false
		}
		return v[0], true
	}

	var c Claims
	var err error
	setTime := func(claim string, dst *time.Time) {
		v, _ := one(claim)
		if v == "" || err != nil {
			return
		}
		*dst, err = parseTime(claim, v)
	}
	setTime("exp", &c.ExpiresAt)
	setTime("iat", &c.IssuedAt)
	setTime("nbf", &c.NotBefore)
	if err != nil {
		return Claims{}, err
	}

	cc := &c.CircleCI
	cc.VCSOrigin, _ = one(ClaimVCSOrigin)
	cc.VCSRef, _ = one(ClaimVCSRef)
	cc.JobID, _ = one(ClaimJobID)
	cc.WorkflowID, _ = one(ClaimWorkflowID)
	cc.PipelineID, _ = one(ClaimPipelineID)
	cc.PipelineDefinitionID, _ = one(ClaimPipelineDefinitionID)
	for _, id := range given[ClaimContextIDs] {
		if id != "" {
			cc.ContextIDs = append(cc.ContextIDs, id)
		}
	}
	if v, _ := one(ClaimSSHRerun); v != "" {
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return Claims{}, fmt.Errorf("read claims: ssh-rerun must be true or false")
		}
		cc.SSHRerun = &b
	}

	sub, subGiven := one("sub")
	iss, issGiven := one("iss")
	org, orgGiven := one(ClaimOrgID)
	project, projectGiven := one(ClaimProjectID)
	parsedSub, subErr := ParseSubject(sub)
	if !orgGiven {
		switch {
		case subErr == nil:
			org = parsedSub.OrgID
		case issGiven:
			org = Claims{Issuer: iss}.OrgID()
		}
	}
	if !projectGiven && subErr == nil {
		project = parsedSub.ProjectID
	}
	if !subGiven && org != "" && project != "" {
		user, _ := one("user-id")
		if user == "" {
			user = DefaultUserID
		}
		built := Subject{OrgID: org, ProjectID: project, UserID: user}
		if cc.VCSOrigin != "" && cc.VCSRef != "" {
			built.VCSOrigin, built.VCSRef = cc.VCSOrigin, cc.VCSRef
		}
		sub = built.String()
	}
	if !issGiven && org != "" {
		iss = policy.IssuerURL(org)
	}
	c.Subject, c.Issuer = sub, iss
	cc.OrgID, cc.ProjectID = org, project

	switch auds, ok := given["aud"]; {
	case !ok && org != "":
		c.Audience = []string{org}
	case ok && auds[0] != "":
		c.Audience = auds
	}
	return c, nil
}

func knownKeys() string {
	keys := make([]string, 0, len(keyValueNames))
	for k := range keyValueNames {
		if !strings.HasPrefix(k, "oidc.circleci.com/") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// parseTime reads RFC 3339 or whole seconds since 1970, in the range Parse
// accepts, truncated to whole seconds as JWT numeric dates are.
func parseTime(claim, v string) (time.Time, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > maxUnix {
			return time.Time{}, fmt.Errorf("read claims: %s must be between 1970 and 9999", claim)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("read claims: %s must be RFC 3339 (2026-01-02T15:04:05Z) or seconds since 1970", claim)
	}
	if t.Unix() < 0 || t.Unix() > maxUnix {
		return time.Time{}, fmt.Errorf("read claims: %s must be between 1970 and 9999", claim)
	}
	return time.Unix(t.Unix(), 0).UTC(), nil
}

// Sign mints an RS256 JWT carrying c, with kid in its header when not empty,
// shaped like CircleCI's: a single audience is a plain string, times are
// whole seconds, and claims that are empty are left out. It exists for tests
// and synthetic what-if tokens; STS would only accept it if key were the
// issuer's.
func Sign(c Claims, key *rsa.PrivateKey, kid string) (string, error) {
	if key == nil {
		return "", errors.New("sign token: no private key")
	}
	if !validUTF8(c) {
		return "", errors.New("sign token: a claim is not valid UTF-8, which JSON cannot carry")
	}
	m := jwt.MapClaims{}
	setString := func(name, v string) {
		if v != "" {
			m[name] = v
		}
	}
	setTime := func(name string, t time.Time) {
		if !t.IsZero() {
			m[name] = t.Unix()
		}
	}
	setString("iss", c.Issuer)
	setString("sub", c.Subject)
	switch len(c.Audience) {
	case 0:
	case 1:
		m["aud"] = c.Audience[0]
	default:
		m["aud"] = c.Audience
	}
	setTime("exp", c.ExpiresAt)
	setTime("iat", c.IssuedAt)
	setTime("nbf", c.NotBefore)
	cc := c.CircleCI
	setString(ClaimProjectID, cc.ProjectID)
	setString(ClaimOrgID, cc.OrgID)
	if len(cc.ContextIDs) > 0 {
		m[ClaimContextIDs] = cc.ContextIDs
	}
	setString(ClaimVCSOrigin, cc.VCSOrigin)
	setString(ClaimVCSRef, cc.VCSRef)
	if cc.SSHRerun != nil {
		m[ClaimSSHRerun] = *cc.SSHRerun
	}
	setString(ClaimJobID, cc.JobID)
	setString(ClaimWorkflowID, cc.WorkflowID)
	setString(ClaimPipelineID, cc.PipelineID)
	setString(ClaimPipelineDefinitionID, cc.PipelineDefinitionID)

	t := jwt.NewWithClaims(jwt.SigningMethodRS256, m)
	if kid != "" {
		t.Header["kid"] = kid
	}
	signed, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signed, nil
}

// validUTF8 reports whether every string claim is valid UTF-8.
func validUTF8(c Claims) bool {
	cc := c.CircleCI
	strs := []string{c.Issuer, c.Subject, cc.ProjectID, cc.OrgID, cc.VCSOrigin, cc.VCSRef,
		cc.JobID, cc.WorkflowID, cc.PipelineID, cc.PipelineDefinitionID}
	strs = append(strs, c.Audience...)
	strs = append(strs, cc.ContextIDs...)
	for _, s := range strs {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}
