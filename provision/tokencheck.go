package provision

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/token"
)

// StepStatus is the outcome of one step of the token check.
type StepStatus string

// Step outcomes. A skipped step could not be evaluated because an earlier
// one failed (no provider, so no client IDs to compare aud with).
const (
	StepPass StepStatus = "pass"
	StepFail StepStatus = "fail"
	StepSkip StepStatus = "skip"
)

// Steps of the token check, in the order STS takes them.
const (
	StepIssuer      = "issuer"
	StepExpiry      = "expiry"
	StepAudience    = "audience"
	StepTrustPolicy = "trust-policy"
)

// TokenStep is one step of the token check.
type TokenStep struct {
	Name   string     `json:"name"`
	Status StepStatus `json:"status"`
	Detail string     `json:"detail"`
}

// TokenClaims are the claims the check used, for people to compare. They
// never include the raw token or its signature.
type TokenClaims struct {
	Issuer    string     `json:"iss"`
	Subject   string     `json:"sub"`
	Audience  []string   `json:"aud"`
	ProjectID string     `json:"project_id,omitempty"`
	OrgID     string     `json:"org_id,omitempty"`
	VCSOrigin string     `json:"vcs_origin,omitempty"`
	VCSRef    string     `json:"vcs_ref,omitempty"`
	Layout    string     `json:"sub_layout"`
	IssuedAt  *time.Time `json:"iat,omitempty"`
	ExpiresAt *time.Time `json:"exp,omitempty"`
}

// TokenReport is the outcome of CheckToken.
type TokenReport struct {
	// Synthetic is true for claims built with --claims rather than decoded
	// from a token.
	Synthetic bool `json:"synthetic"`
	// SignatureVerified is always false: the check runs offline.
	SignatureVerified bool        `json:"signature_verified"`
	Claims            TokenClaims `json:"claims"`
	ProviderARN       string      `json:"provider_arn"`
	RoleARN           string      `json:"role_arn"`
	Steps             []TokenStep `json:"steps"`
	// Allowed is true when every step passed: STS would let the token
	// assume the role (signature aside).
	Allowed bool `json:"allowed"`
	// Verdict is one sentence naming the first failing step, its condition
	// and the claim value that failed it.
	Verdict string `json:"verdict"`
	// Uncertain is true when the trust policy has something the offline
	// evaluator cannot decide; the verdict then errs towards denied.
	Uncertain bool `json:"uncertain,omitempty"`
	// Traps names known mistakes the token or the role fell into, with
	// what to do about each.
	Traps []string `json:"traps"`
}

// Trap hints, matched by tests and referenced in docs/troubleshooting.md.
const (
	TrapAudienceSTS = "aud is sts.amazonaws.com, the audience of GitHub's examples and of CircleCI's docs before August 2026; CircleCI tokens carry the organization ID as aud unless minted with a custom one: use the default token (or `circleci run oidc get --claims '{\"aud\":\"<ORG_ID>\"}'`), and keep the provider's client ID and the :aud condition at the organization ID, as setup writes them"
	TrapV1BranchPin = "this is a V1 token (its sub has no vcs-origin/vcs-ref), but the role pins branches through the V2 sub layout (.../vcs-ref/<ref>); V1 tokens ($CIRCLE_OIDC_TOKEN) and pipelines triggered by a custom webhook never match a pin: present $CIRCLE_OIDC_TOKEN_V2, or restrict the role by project only (setup without --branch), which is what aws_auth image pulls need"
	TrapExpired     = "the token has expired, and STS answers ExpiredTokenException: mint a fresh one in the job (CircleCI tokens live at least an hour), assume the role early in long jobs, or raise the TTL with CircleCI's oidc-custom-claims API"
	TrapRootIssuer  = "the token comes from CircleCI's root issuer https://oidc.circleci.com (circleci run oidc get --root-issuer), which every CircleCI organization shares and can mint any aud from; the role trusts the per-organization issuer https://oidc.circleci.com/org/<ORG_ID>: use a token without --root-issuer"
)

// CheckToken evaluates claims against the live provider and the role's live
// trust policy the way STS evaluates AssumeRoleWithWebIdentity: the issuer
// must resolve to an OIDC provider in the account, the token must not have
// expired, its aud must be one of the provider's client IDs, and the trust
// policy must allow the provider with the request's condition keys
// (token.RequestKeys). Every step is evaluated, so the report shows all that
// is wrong; the verdict names the first failure in STS's order.
//
// obs is the state Observe read for the role and the organization's
// provider; a token from another issuer has its provider looked up with api.
// The signature is not checked (see package token).
func CheckToken(ctx context.Context, api IAMAPI, obs *Observed, claims token.Claims, synthetic bool, now time.Time) (*TokenReport, error) {
	r := &TokenReport{Synthetic: synthetic, Claims: summarize(claims), Steps: []TokenStep{}, Traps: []string{}}
	if obs.Role != nil {
		r.RoleARN = obs.Role.ARN
	}
	prov, err := r.checkIssuer(ctx, api, obs, claims)
	if err != nil {
		return nil, err
	}
	r.checkExpiry(claims, now)
	r.checkAudience(prov, claims)
	if err := r.checkTrust(obs, claims); err != nil {
		return nil, err
	}
	r.decide()
	return r, nil
}

// trap notes a trap once.
func (r *TokenReport) trap(t string) {
	if !slices.Contains(r.Traps, t) {
		r.Traps = append(r.Traps, t)
	}
}

// checkIssuer maps the issuer to the provider ARN, which must exist in this
// account, and returns the provider; nil when there is none.
func (r *TokenReport) checkIssuer(ctx context.Context, api IAMAPI, obs *Observed, claims token.Claims) (*ObservedProvider, error) {
	path := claims.ProviderPath()
	var prov *ObservedProvider
	switch {
	case claims.Issuer == "":
		r.step(StepIssuer, StepFail, "the token has no iss claim, so STS cannot find an OIDC provider for it")
	case path == "":
		r.step(StepIssuer, StepFail, fmt.Sprintf("iss %s is not an https URL, so no IAM OIDC provider can match it", claims.Issuer))
	default:
		r.ProviderARN = fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", obs.Partition, obs.Account, path)
		if obs.Provider != nil && obs.Provider.ARN == r.ProviderARN {
			prov = obs.Provider
		} else {
			var err error
			if prov, err = observeProvider(ctx, api, r.ProviderARN); err != nil {
				return nil, err
			}
		}
		if prov == nil {
			r.step(StepIssuer, StepFail, fmt.Sprintf("iss %s has no OIDC provider in account %s (STS: \"No OpenIDConnect provider found in your account for %s\")", claims.Issuer, obs.Account, claims.Issuer))
		} else {
			r.step(StepIssuer, StepPass, fmt.Sprintf("iss %s is the OIDC provider %s, which exists in account %s", claims.Issuer, r.ProviderARN, obs.Account))
		}
		if claims.RootIssuer() {
			r.trap(TrapRootIssuer)
		}
	}

	return prov, nil
}

// checkExpiry checks exp and nbf against now.
func (r *TokenReport) checkExpiry(claims token.Claims, now time.Time) {
	switch {
	case claims.ExpiresAt.IsZero():
		r.step(StepExpiry, StepPass, "the token has no exp claim; a real CircleCI token always has one")
	case claims.Expired(now):
		r.step(StepExpiry, StepFail, fmt.Sprintf("exp %s has passed (%s ago; STS: ExpiredTokenException)", claims.ExpiresAt.Format(time.RFC3339), now.Sub(claims.ExpiresAt).Round(time.Second)))
		r.trap(TrapExpired)
	case !claims.NotBefore.IsZero() && now.Before(claims.NotBefore):
		r.step(StepExpiry, StepFail, fmt.Sprintf("nbf %s is in the future: the token is not valid yet", claims.NotBefore.Format(time.RFC3339)))
	default:
		r.step(StepExpiry, StepPass, fmt.Sprintf("valid until %s (%s left)", claims.ExpiresAt.Format(time.RFC3339), claims.ExpiresAt.Sub(now).Round(time.Second)))
	}
}

// checkAudience checks aud against the provider's client IDs.
func (r *TokenReport) checkAudience(prov *ObservedProvider, claims token.Claims) {
	if slices.Contains(claims.Audience, "sts.amazonaws.com") {
		r.trap(TrapAudienceSTS)
	}
	switch {
	case prov == nil:
		r.step(StepAudience, StepSkip, "not checked: there is no provider whose client IDs aud could match")
	case len(claims.Audience) == 0:
		r.step(StepAudience, StepFail, "aud is missing from the token (STS: \"Incorrect token audience\")")
	case slices.ContainsFunc(claims.Audience, func(a string) bool { return slices.Contains(prov.ClientIDs, a) }):
		r.step(StepAudience, StepPass, fmt.Sprintf("aud %s is a client ID of the provider", strings.Join(claims.Audience, ", ")))
	default:
		r.step(StepAudience, StepFail, fmt.Sprintf("aud %s is not among the provider's client IDs %s (STS: \"Incorrect token audience\")", strings.Join(claims.Audience, ", "), listOrNone(prov.ClientIDs)))
	}
}

// checkTrust evaluates the role's live trust policy for the token.
func (r *TokenReport) checkTrust(obs *Observed, claims token.Claims) error {
	path := claims.ProviderPath()
	pinned := false
	switch {
	case obs.Role == nil:
		r.step(StepTrustPolicy, StepFail, "the role does not exist, so there is no trust policy to allow the token")
	case r.ProviderARN == "":
		r.step(StepTrustPolicy, StepSkip, "not evaluated: without an https issuer there is no federated principal")
	default:
		doc, err := policy.Parse(obs.Role.TrustPolicy)
		if err != nil {
			return fmt.Errorf("read the trust policy of role %s: %w", obs.Role.Name, err)
		}
		pinned = pinsBranches(doc)
		d := policy.Evaluate(doc, policy.Request{ProviderARN: r.ProviderARN, Keys: token.RequestKeys(claims, path)})
		r.Uncertain = d.Uncertain
		switch {
		case d.Allowed:
			r.step(StepTrustPolicy, StepPass, fmt.Sprintf("statement %d of the role's trust policy allows the token", d.Statement))
		case d.ExplicitDeny:
			r.step(StepTrustPolicy, StepFail, reasonAt(d, "an explicit Deny applies"))
		case d.Failed != nil:
			detail := describeFailure(*d.Failed)
			if len(d.Failures) > 1 {
				others := make([]string, 0, len(d.Failures)-1)
				for _, f := range d.Failures[1:] {
					others = append(others, describeFailure(f))
				}
				detail += "; also: " + strings.Join(others, "; ")
			}
			r.step(StepTrustPolicy, StepFail, detail)
			if claims.Version() == token.V1 && strings.EqualFold(policy.ShortKey(d.Failed.Key), "sub") && pinned {
				r.trap(TrapV1BranchPin)
			}
		default:
			r.step(StepTrustPolicy, StepFail, reasonAt(d, "no statement allows "+policy.ActionAssumeRoleWithWebIdentity+" for the provider "+r.ProviderARN))
		}
	}
	if pinned && claims.Version() == token.V1 {
		r.trap(TrapV1BranchPin)
	}
	return nil
}

// decide sets Allowed and the verdict from the steps.
func (r *TokenReport) decide() {
	r.Allowed = true
	for _, s := range r.Steps {
		if s.Status != StepPass {
			r.Allowed = false
			break
		}
	}
	switch {
	case r.Allowed:
		r.Verdict = "allowed: STS would accept this token for " + cmp.Or(r.RoleARN, "the role") + " (signature not verified offline)"
	default:
		for _, s := range r.Steps {
			if s.Status == StepFail {
				r.Verdict = "denied at " + s.Name + ": " + s.Detail
				break
			}
		}
	}
	if r.Uncertain {
		r.Verdict += " (uncertain: the trust policy uses something the offline evaluator cannot decide)"
	}
}

func (r *TokenReport) step(name string, status StepStatus, detail string) {
	r.Steps = append(r.Steps, TokenStep{Name: name, Status: status, Detail: detail})
}

// reasonAt returns the evaluator's sentence for the deciding statement, or
// fallback.
func reasonAt(d policy.Decision, fallback string) string {
	if d.Statement >= 0 && d.Statement < len(d.Reasons) {
		return d.Reasons[d.Statement]
	}
	if len(d.Reasons) == 1 {
		return d.Reasons[0]
	}
	return fallback
}

// describeFailure is the evaluator's sentence for a failed condition, but
// for the branch-pin guard (policy.BranchPinGuard) it names the guard and
// why it exists: the token's sub has a second /vcs-ref/ or /vcs-origin/
// segment, the mark of a branch name that imitates a pinned ref.
func describeFailure(f policy.ConditionFailure) string {
	base, _, _ := strings.Cut(f.Operator, "IfExists")
	if !strings.EqualFold(base, "StringNotLike") || !strings.EqualFold(policy.ShortKey(f.Key), "sub") || !policy.IsBranchPinGuard(f.Patterns) || f.Missing {
		return f.String()
	}
	return fmt.Sprintf("the branch-pin guard denies it: sub %s has a second /vcs-ref/ or /vcs-origin/ segment, as a branch named like evil/vcs-ref/refs/heads/main has, so its ref cannot be told from a pinned one (StringNotLike sub %s)",
		strings.Join(f.Values, ", "), strings.Join(f.Patterns, ", "))
}

// pinsBranches reports whether an Allow statement tests sub against the V2
// layout's vcs-ref, which a V1 token cannot match.
func pinsBranches(doc policy.Document) bool {
	for _, st := range doc.Statement {
		if st.Effect != "Allow" {
			continue
		}
		for _, conds := range st.Condition {
			for key, values := range conds {
				if !strings.EqualFold(policy.ShortKey(key), "sub") {
					continue
				}
				for _, v := range values {
					if strings.Contains(v, "/vcs-ref/") {
						return true
					}
				}
			}
		}
	}
	return false
}

func summarize(c token.Claims) TokenClaims {
	s := TokenClaims{
		Issuer: c.Issuer, Subject: c.Subject, Audience: c.Audience,
		ProjectID: c.CircleCI.ProjectID, OrgID: c.OrgID(),
		VCSOrigin: c.CircleCI.VCSOrigin, VCSRef: c.CircleCI.VCSRef,
		Layout: c.Version().String(),
	}
	if !c.IssuedAt.IsZero() {
		t := c.IssuedAt
		s.IssuedAt = &t
	}
	if !c.ExpiresAt.IsZero() {
		t := c.ExpiresAt
		s.ExpiresAt = &t
	}
	return s
}
