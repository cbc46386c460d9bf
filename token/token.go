// Package token handles CircleCI OIDC tokens: decode claims, build synthetic
// ones.
//
// Parse decodes the claims of a token as found in $CIRCLE_OIDC_TOKEN or
// $CIRCLE_OIDC_TOKEN_V2 with github.com/golang-jwt/jwt/v5. It does NOT check
// the signature: doing so needs CircleCI's JWKS over the network, and STS
// checks it anyway when the token is presented. A decoded token therefore
// says what a job's token would claim, not that CircleCI issued it.
//
// RequestKeys turns claims into the condition keys STS exposes when it
// evaluates a role's trust policy, so that policy.Evaluate can explain a
// denial. FromKeyValues and Sign build synthetic tokens for "what if" checks
// and tests.
package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// Names of CircleCI's custom claims.
const (
	ClaimProjectID            = "oidc.circleci.com/project-id"
	ClaimOrgID                = "oidc.circleci.com/org-id"
	ClaimContextIDs           = "oidc.circleci.com/context-ids"
	ClaimVCSOrigin            = "oidc.circleci.com/vcs-origin"
	ClaimVCSRef               = "oidc.circleci.com/vcs-ref"
	ClaimSSHRerun             = "oidc.circleci.com/ssh-rerun"
	ClaimJobID                = "oidc.circleci.com/job-id"
	ClaimWorkflowID           = "oidc.circleci.com/workflow-id"
	ClaimPipelineID           = "oidc.circleci.com/pipeline-id"
	ClaimPipelineDefinitionID = "oidc.circleci.com/pipeline-definition-id"
)

// ErrMalformed is wrapped by every error Parse returns for a token that is
// not a well-formed JWT or whose claims have the wrong types. It is jwt's own
// sentinel, so errors.Is works with either name.
var ErrMalformed = jwt.ErrTokenMalformed

// Claims are the claims of a CircleCI OIDC token. Times are UTC and zero when
// the token does not carry them.
type Claims struct {
	Issuer string
	// Audience holds aud, which CircleCI sends as one string (the org ID
	// unless minted with a custom aud); JWT also allows a list.
	Audience  []string
	Subject   string
	ExpiresAt time.Time
	IssuedAt  time.Time
	NotBefore time.Time
	CircleCI  CircleCIClaims
}

// CircleCIClaims are CircleCI's custom oidc.circleci.com/* claims. Empty
// strings and a nil slice mean the token does not carry the claim.
type CircleCIClaims struct {
	ProjectID  string
	OrgID      string
	ContextIDs []string
	// VCSOrigin and VCSRef are absent for pipelines triggered by a custom
	// webhook.
	VCSOrigin string
	VCSRef    string
	// SSHRerun is nil when the token does not say; STS cannot check it.
	SSHRerun             *bool
	JobID                string
	WorkflowID           string
	PipelineID           string
	PipelineDefinitionID string
}

// Parse decodes the claims of a JWT without verifying its signature (see the
// package comment). Surrounding whitespace, such as the newline of a token
// file, is ignored. Errors describe what is wrong without quoting the token
// or its signature, so they are safe to print and log.
func Parse(raw string) (Claims, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Claims{}, fmt.Errorf("parse token: %w: the token is empty", ErrMalformed)
	}
	// Check the structure first so that errors are ours, phrased without
	// any part of the token, rather than the decoders' own messages.
	segments := strings.Split(raw, ".")
	if len(segments) != 3 {
		return Claims{}, fmt.Errorf("parse token: %w: found %d segments, a JWT has 3 (header, claims and signature, separated by dots)", ErrMalformed, len(segments))
	}
	for i, name := range []string{"header", "claims", "signature"} {
		data, err := base64.RawURLEncoding.DecodeString(segments[i])
		if err != nil {
			return Claims{}, fmt.Errorf("parse token: %w: the %s segment is not unpadded base64url", ErrMalformed, name)
		}
		if i < 2 && !isJSONObject(data) {
			return Claims{}, fmt.Errorf("parse token: %w: the %s segment is not a JSON object", ErrMalformed, name)
		}
	}

	m := jwt.MapClaims{}
	// Numbers stay json.Number so that times and type errors are decided
	// here, with messages that name the claim.
	if _, _, err := jwt.NewParser(jwt.WithJSONNumber()).ParseUnverified(raw, m); err != nil {
		switch {
		case errors.Is(err, jwt.ErrTokenUnverifiable):
			return Claims{}, fmt.Errorf("parse token: %w: the header names no signing algorithm jwt knows (CircleCI signs with RS256)", ErrMalformed)
		default:
			// The structure was checked above, so this is unexpected;
			// keep jwt's sentinel but none of its text, which could quote
			// decoder input.
			return Claims{}, fmt.Errorf("parse token: %w: the JWT library rejected it", ErrMalformed)
		}
	}
	c, err := fromMap(m)
	if err != nil {
		return Claims{}, fmt.Errorf("parse token: %w: %w", ErrMalformed, err)
	}
	return c, nil
}

// isJSONObject reports whether data is exactly one JSON object.
func isJSONObject(data []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(data, &m) == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{"))
}

// maxUnix bounds numeric dates to years 1970–9999: anything outside is not a
// plausible token time and would not survive float64 and time.Time round
// trips.
const maxUnix = 253402300799

func fromMap(m jwt.MapClaims) (Claims, error) {
	var c Claims
	var err error
	str := func(name string) string {
		if err != nil {
			return ""
		}
		v, ok := m[name]
		if !ok {
			return ""
		}
		s, isString := v.(string)
		if !isString {
			err = fmt.Errorf("claim %s must be a string, not %s", name, jsonType(v))
		}
		return s
	}
	strs := func(name string, single bool) []string {
		if err != nil {
			return nil
		}
		v, ok := m[name]
		if !ok {
			return nil
		}
		want := "a list of strings"
		if single {
			want = "a string or a list of strings"
		}
		switch t := v.(type) {
		case string:
			if single {
				return []string{t}
			}
		case []any:
			out := make([]string, 0, len(t))
			for _, item := range t {
				s, ok := item.(string)
				if !ok {
					err = fmt.Errorf("claim %s must be %s, but it lists %s", name, want, jsonType(item))
					return nil
				}
				out = append(out, s)
			}
			if len(out) == 0 {
				return nil
			}
			return out
		}
		err = fmt.Errorf("claim %s must be %s, not %s", name, want, jsonType(v))
		return nil
	}
	date := func(name string) time.Time {
		if err != nil {
			return time.Time{}
		}
		v, ok := m[name]
		if !ok {
			return time.Time{}
		}
		n, isNumber := v.(json.Number)
		if !isNumber {
			err = fmt.Errorf("claim %s must be a number of seconds since 1970, not %s", name, jsonType(v))
			return time.Time{}
		}
		f, perr := n.Float64()
		if perr != nil || math.IsNaN(f) || f < 0 || f > maxUnix {
			err = fmt.Errorf("claim %s is not a number of seconds between 1970 and 9999", name)
			return time.Time{}
		}
		// Whole seconds, as jwt's NumericDate keeps them.
		return time.Unix(int64(f), 0).UTC()
	}

	c.Issuer = str("iss")
	c.Subject = str("sub")
	c.Audience = strs("aud", true)
	c.ExpiresAt = date("exp")
	c.IssuedAt = date("iat")
	c.NotBefore = date("nbf")
	cc := &c.CircleCI
	cc.ProjectID = str(ClaimProjectID)
	cc.OrgID = str(ClaimOrgID)
	cc.ContextIDs = strs(ClaimContextIDs, false)
	cc.VCSOrigin = str(ClaimVCSOrigin)
	cc.VCSRef = str(ClaimVCSRef)
	cc.JobID = str(ClaimJobID)
	cc.WorkflowID = str(ClaimWorkflowID)
	cc.PipelineID = str(ClaimPipelineID)
	cc.PipelineDefinitionID = str(ClaimPipelineDefinitionID)
	if v, ok := m[ClaimSSHRerun]; ok && err == nil {
		b, isBool := v.(bool)
		if !isBool {
			err = fmt.Errorf("claim %s must be a boolean, not %s", ClaimSSHRerun, jsonType(v))
		}
		cc.SSHRerun = &b
	}
	if err != nil {
		return Claims{}, err
	}
	return c, nil
}

// jsonType names the JSON type of a decoded value for error messages; the
// value itself is never quoted.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	default:
		return "an object"
	}
}

// Expired reports whether the token's exp is at or before now. A token
// without exp never expires by this test.
func (c Claims) Expired(now time.Time) bool {
	return !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt)
}

// ProviderPath returns the issuer without its scheme, which is how IAM names
// the OIDC provider in ARNs and condition-key prefixes. It is empty when the
// issuer is not an https URL.
func (c Claims) ProviderPath() string {
	path, ok := strings.CutPrefix(c.Issuer, "https://")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(path, "/")
}

// RootIssuer reports whether the token came from CircleCI's root issuer
// (circleci run oidc get --root-issuer), which every CircleCI organization
// shares and can mint any aud from.
func (c Claims) RootIssuer() bool {
	return c.ProviderPath() == policy.IssuerHost
}

// OrgID returns the organization ID: the oidc.circleci.com/org-id claim,
// else the org segment of sub, else the last segment of a per-org issuer.
func (c Claims) OrgID() string {
	if c.CircleCI.OrgID != "" {
		return c.CircleCI.OrgID
	}
	if s, err := ParseSubject(c.Subject); err == nil {
		return s.OrgID
	}
	if org, ok := strings.CutPrefix(c.ProviderPath(), policy.IssuerHost+"/org/"); ok && org != "" && !strings.Contains(org, "/") {
		return org
	}
	return ""
}

// RequestKeys maps claims to the condition keys STS puts in the request
// context of AssumeRoleWithWebIdentity for a CircleCI token, each prefixed
// with providerPath (policy.ProviderPath(org), or the token's own
// ProviderPath):
//
//   - <provider>:aud from aud (several values if aud is a list),
//   - <provider>:sub from sub,
//   - <provider>:oidc.circleci.com/project-id from that claim, which STS
//     has evaluated for CircleCI since February 2026.
//
// Nothing else: STS does not propagate CircleCI's other custom claims
// (ssh-rerun, vcs-ref, context-ids, ...), so a trust policy cannot test
// them and a key built from them would make the evaluation lie. A claim the
// token lacks, or carries as an empty string, is left out: the key is
// missing. The project ID is taken only from the claim, never from sub,
// because that is what STS reads.
func RequestKeys(c Claims, providerPath string) map[string][]string {
	keys := map[string][]string{}
	if len(c.Audience) > 0 {
		keys[providerPath+":aud"] = append([]string(nil), c.Audience...)
	}
	if c.Subject != "" {
		keys[providerPath+":sub"] = []string{c.Subject}
	}
	if c.CircleCI.ProjectID != "" {
		keys[providerPath+":"+policy.ProjectIDClaim] = []string{c.CircleCI.ProjectID}
	}
	return keys
}
