package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// IssuerHost is the host of CircleCI's OIDC issuer; the per-organization
// issuer is https://oidc.circleci.com/org/<ORG_ID>.
const IssuerHost = "oidc.circleci.com"

// ProjectIDClaim is the CircleCI custom claim STS evaluates as a condition
// key (prefixed with the provider) since February 2026.
const ProjectIDClaim = "oidc.circleci.com/project-id"

// Pull actions granted on the named repositories, and the one action that
// IAM only accepts on "*".
const (
	ActionBatchGetImage          = "ecr:BatchGetImage"
	ActionGetDownloadURLForLayer = "ecr:GetDownloadUrlForLayer"
	ActionGetAuthorizationToken  = "ecr:GetAuthorizationToken"
)

// Push actions, which ECR's documentation lists for pushing an image, and
// ecr:BatchCheckLayerAvailability, which a registry owner usually grants with
// pulls too.
const (
	ActionBatchCheckLayerAvailability = "ecr:BatchCheckLayerAvailability"
	ActionInitiateLayerUpload         = "ecr:InitiateLayerUpload"
	ActionUploadLayerPart             = "ecr:UploadLayerPart"
	ActionCompleteLayerUpload         = "ecr:CompleteLayerUpload"
	ActionPutImage                    = "ecr:PutImage"
)

// Access is what the role may do with the named repositories.
type Access string

// The access levels (--access).
const (
	// AccessPull allows pulling images, the default.
	AccessPull Access = "pull"
	// AccessPush allows pushing images as well as pulling them.
	AccessPush Access = "push"
)

// pushActions are the actions ECR's documentation adds for pushing.
var pushActions = []string{ActionBatchCheckLayerAvailability, ActionInitiateLayerUpload, ActionUploadLayerPart, ActionCompleteLayerUpload, ActionPutImage}

// RoleActions returns the repository actions the role's permissions policy
// grants for an access level (the empty level is pull): the two pull
// actions, plus exactly the five push actions for push.
func RoleActions(access Access) Values {
	actions := Values{ActionBatchGetImage, ActionGetDownloadURLForLayer}
	if access == AccessPush {
		actions = append(actions, pushActions...)
	}
	return actions
}

// RepositoryActions returns the actions a repository policy in a registry
// account must allow the role for an access level. Pull adds
// BatchCheckLayerAvailability to the role's two actions, as ECR's
// cross-account examples do: docker checks layers before it pulls them.
func RepositoryActions(access Access) Values {
	if access == AccessPush {
		return RoleActions(AccessPush)
	}
	return Values{ActionBatchGetImage, ActionGetDownloadURLForLayer, ActionBatchCheckLayerAvailability}
}

// ProjectCondition selects how the trust policy restricts projects.
type ProjectCondition string

// The project restriction forms. ClaimKey is CircleCI's recommendation where
// AWS documents the key; the empty condition means the partition's default
// (DefaultProjectCondition).
const (
	// ClaimKey uses StringEquals on <provider>:oidc.circleci.com/project-id.
	ClaimKey ProjectCondition = "claim"
	// Sub uses StringLike on <provider>:sub = org/<ORG>/project/<P>/user/*,
	// which matches both V1 and V2 token layouts.
	Sub ProjectCondition = "sub"
)

// claimKeyUndocumented lists the partitions where AWS does not document the
// provider-specific claim validation behind the oidc.circleci.com/project-id
// condition key: its announcement (What's New, January 2026) and the IAM
// User Guide name no partition but the commercial one, and a StringEquals
// on a key STS does not supply never holds, which would leave the role
// unassumable. Unknown partition strings (export's placeholders, resolved
// when the output is applied) keep the claim form.
var claimKeyUndocumented = map[string]bool{
	"aws-cn": true, "aws-us-gov": true, "aws-iso": true, "aws-iso-b": true,
	"aws-iso-e": true, "aws-iso-f": true, "aws-eusc": true,
}

// ClaimKeyDocumented reports whether AWS documents the
// oidc.circleci.com/project-id condition key in partition. It is false for
// the China, GovCloud, ISO and European Sovereign Cloud partitions.
func ClaimKeyDocumented(partition string) bool {
	return !claimKeyUndocumented[partition]
}

// DefaultProjectCondition is the form used when none is chosen: ClaimKey
// where AWS documents the key, Sub elsewhere, so that a role is never
// written with a condition its partition may not evaluate.
func DefaultProjectCondition(partition string) ProjectCondition {
	if ClaimKeyDocumented(partition) {
		return ClaimKey
	}
	return Sub
}

// BranchPinGuard are the sub patterns a branch-pinned statement excludes
// with StringNotLike: a sub with a second /vcs-ref/ or /vcs-origin/ segment
// (the "x/x" forms catch two occurrences sharing their slash). In
// StringLike, * also matches "/", so without the guard the pin
// .../vcs-origin/*/vcs-ref/refs/heads/main also admits the branch
// evil/vcs-ref/refs/heads/main: its sub ends in
// .../vcs-ref/refs/heads/evil/vcs-ref/refs/heads/main. With exactly one of
// each segment, the pattern's literal /vcs-ref/ can only stand where
// CircleCI put it, so the pin is tested against the whole ref. A ref that
// itself contains /vcs-ref/ or /vcs-origin/ is never admitted.
var BranchPinGuard = Values{
	"*/vcs-origin/*/vcs-origin/*",
	"*/vcs-origin/vcs-origin/*",
	"*/vcs-ref/*/vcs-ref/*",
	"*/vcs-ref/vcs-ref/*",
}

// IsBranchPinGuard reports whether patterns are exactly BranchPinGuard, in
// any order: what a StringNotLike on sub of TrustPolicy's holds.
func IsBranchPinGuard(patterns []string) bool {
	return slices.Equal(sortedUnique(patterns), []string(BranchPinGuard))
}

// ProviderPath returns the provider's identifier without scheme, as it
// appears in ARNs and condition keys: oidc.circleci.com/org/<ORG_ID>.
func ProviderPath(orgID string) string {
	return IssuerHost + "/org/" + orgID
}

// IssuerURL returns the per-organization issuer URL, which is also the OIDC
// provider's URL in IAM.
func IssuerURL(orgID string) string {
	return "https://" + ProviderPath(orgID)
}

// ProviderARN returns the ARN IAM gives the provider for orgID.
func ProviderARN(partition, account, orgID string) string {
	return fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", partition, account, ProviderPath(orgID))
}

// Trust describes who may assume the role.
type Trust struct {
	Partition string
	Account   string
	OrgID     string
	// ProjectIDs are the projects allowed; ignored when AllProjects is set.
	ProjectIDs []string
	// AllProjects admits every project of the organization (sub org/<ORG>/project/*).
	AllProjects bool
	// Condition selects the claim-key or the sub form for ProjectIDs; empty
	// means DefaultProjectCondition(Partition).
	Condition ProjectCondition
	// Branches, if any, pin the role to these git refs (StringLike patterns
	// such as refs/heads/main) through the V2 sub layout
	// org/<ORG>/project/<P>/user/*/vcs-origin/*/vcs-ref/<REF>. V1 tokens and
	// custom-webhook pipelines carry no vcs-ref and never match a pin. The
	// statement then also excludes BranchPinGuard, so that a pin matches
	// the token's whole vcs-ref and nothing a branch name can imitate.
	Branches []string
	// Audiences are the token audiences the aud condition admits besides
	// the organization ID, which it always admits: those an organization's
	// or a project's CircleCI token settings give its jobs' tokens. Each is
	// compared exactly (StringEquals), so none may be empty or hold "${",
	// which IAM would expand as a policy variable instead of comparing.
	Audiences []string
}

// AudienceValues returns the values the aud condition admits: the
// organization ID first, then the other audiences sorted, without repeats.
func AudienceValues(orgID string, audiences []string) Values {
	out := Values{orgID}
	for _, a := range sortedUnique(audiences) {
		if a != orgID {
			out = append(out, a)
		}
	}
	return out
}

// checkAudiences refuses audiences the aud condition could not compare
// exactly.
func checkAudiences(audiences []string) error {
	for _, a := range audiences {
		if a == "" || strings.Contains(a, "${") {
			return fmt.Errorf("build trust policy: audience %q must be non-empty and without \"${\" (a policy variable)", a)
		}
	}
	return nil
}

// TrustPolicy builds the role's trust policy: the provider as federated
// principal, sts:AssumeRoleWithWebIdentity, the audience pinned to the
// organization ID and the extra Audiences (StringEquals, so exactly those
// values), and a project restriction. It refuses to build a policy
// without a project restriction unless AllProjects says so explicitly.
// Branch pins come with the BranchPinGuard in the same statement.
func TrustPolicy(t Trust) (Document, error) {
	if t.OrgID == "" || t.Account == "" || t.Partition == "" {
		return Document{}, fmt.Errorf("build trust policy: organization, account and partition are required")
	}
	if err := checkAudiences(t.Audiences); err != nil {
		return Document{}, err
	}
	provider := ProviderPath(t.OrgID)
	org := "org/" + t.OrgID + "/project/"
	branches := sortedUnique(t.Branches)
	// subPatterns lists sub patterns for the given project patterns, pinned
	// to the branches when there are any.
	subPatterns := func(projects []string, suffix string) Values {
		var out []string
		for _, p := range projects {
			if len(branches) == 0 {
				out = append(out, org+p+suffix)
				continue
			}
			for _, b := range branches {
				out = append(out, org+p+"/user/*/vcs-origin/*/vcs-ref/"+b)
			}
		}
		return sortedUnique(out)
	}
	conditions := map[string]Conditions{
		"StringEquals": {provider + ":aud": AudienceValues(t.OrgID, t.Audiences)},
	}
	condition := cmp.Or(t.Condition, DefaultProjectCondition(t.Partition))
	switch {
	case t.AllProjects:
		conditions["StringLike"] = Conditions{provider + ":sub": subPatterns([]string{"*"}, "")}
	case len(t.ProjectIDs) == 0:
		return Document{}, fmt.Errorf("build trust policy: no project restriction; name projects or choose all projects explicitly")
	case condition == Sub:
		conditions["StringLike"] = Conditions{provider + ":sub": subPatterns(sortedUnique(t.ProjectIDs), "/user/*")}
	case condition == ClaimKey:
		conditions["StringEquals"][provider+":"+ProjectIDClaim] = sortedUnique(t.ProjectIDs)
		if len(branches) > 0 {
			// The claim restricts projects; sub only needs to pin the branch.
			conditions["StringLike"] = Conditions{provider + ":sub": subPatterns([]string{"*"}, "")}
		}
	default:
		return Document{}, fmt.Errorf("build trust policy: unknown project condition %q", t.Condition)
	}
	if len(branches) > 0 {
		conditions["StringNotLike"] = Conditions{provider + ":sub": slices.Clone(BranchPinGuard)}
	}
	return Document{
		Version: Version,
		Statement: []Statement{{
			Effect:    "Allow",
			Principal: map[string]Values{"Federated": {ProviderARN(t.Partition, t.Account, t.OrgID)}},
			Action:    Values{"sts:AssumeRoleWithWebIdentity"},
			Condition: conditions,
		}},
	}, nil
}

// PermissionsPolicy builds the role's permissions policy for an access
// level: the level's repository actions on exactly the given repository
// ARNs (or ARN patterns ending in "/*"), and ecr:GetAuthorizationToken
// alone on "*", which IAM requires and which grants nothing on its own.
func PermissionsPolicy(access Access, repositoryARNs []string) (Document, error) {
	if len(repositoryARNs) == 0 {
		return Document{}, fmt.Errorf("build permissions policy: no repositories")
	}
	for _, a := range repositoryARNs {
		if a == "*" || !strings.Contains(a, ":repository/") {
			return Document{}, fmt.Errorf("build permissions policy: %q is not a repository ARN", a)
		}
	}
	sid, err := repositorySid(access)
	if err != nil {
		return Document{}, err
	}
	return permissionsDocument(access, sid, sortedUnique(repositoryARNs), true), nil
}

// AdmitNoOne is the trust policy of a role kept but closed: it allows no
// one, and denies every way of assuming a role to everyone, so that not even
// a later Allow added by hand beside it opens the role by mistake.
func AdmitNoOne() Document {
	return Document{Version: Version, Statement: []Statement{{
		Sid: "AdmitsNoOne", Effect: "Deny", Principal: Principals{Wildcard: {Wildcard}},
		Action: Values{"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"},
	}}}
}
