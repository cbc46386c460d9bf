// Package provision is the engine of circleci-ecr-oidc. It turns a desired
// state (Spec, validated before any AWS call) and the observed state of an
// AWS account (Observe, reads only) into a Plan of typed changes, and applies
// a plan (Apply) in dependency order, running independent steps concurrently.
//
// A front end collects an Input (input.go), as given: Input.Check validates
// it before any call, Input.Resolve has CircleCI turn the organization's and
// the projects' slugs and names into IDs and token audiences, and
// Input.Spec gives the Spec for a region. Invalid input is an *InputError
// naming the Field at fault, which the front end names its own way.
//
// The Plan is the one contract between the engine and its front ends: the
// flags of setup and plan, the wizard's review screen and JSON output all
// consume the same value. The AWS clients it needs are the narrow interfaces
// in aws.go, satisfied by the aws-sdk-go-v2 clients and by test fakes.
//
// A front end runs every command's plan as an Operation: it shows the
// plan, asks its Confirmation, executes it and reports its outcome the same
// way whatever it writes. PlanSetup makes the setup of one role
// (SetupOperation) or of a sharded setup (ShardOperation), PlanDestroy a
// destroy (DestroyOperation); package circleciconfig's FilePatch and
// package fleet's Operation over many accounts are Operations too.
package provision

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// DefaultRoleName is the role name used when none is given.
const DefaultRoleName = "circleci-ecr-pull"

// Spec is the desired state: what a front end collected from flags or the
// wizard. Validate checks and normalizes it; the engine only accepts a
// validated Spec.
type Spec struct {
	// OrgID is the CircleCI organization ID (a UUID).
	OrgID string
	// Repositories are ECR repository names, full repository ARNs, or name
	// prefixes ending in "/*", in the order the user gave them.
	Repositories []string
	// ProjectIDs are the CircleCI project IDs allowed to assume the role.
	ProjectIDs []string
	// AllProjects admits every project of the organization instead.
	AllProjects bool
	// ProjectCondition selects the claim-key (default) or the sub form.
	ProjectCondition policy.ProjectCondition
	// Branches pin the role to git refs (StringLike patterns) through the
	// V2 token's sub; empty means any branch.
	Branches []string
	// RoleName is the IAM role's name.
	RoleName string
	// Region is where the named repositories live unless an ARN says otherwise.
	Region string
	// Image is the image URI for the config.yml snippet; empty means the
	// first named repository at :latest.
	Image string
	// Adopt allows taking over an existing role that this tool did not create.
	Adopt bool
	// AllowMissingRepos turns a repository that does not exist into a warning.
	AllowMissingRepos bool
	// KeepUnusedRoles keeps, in a sharded setup, the shard roles that no
	// longer admit any requested project, closing their trust policy,
	// instead of deleting them.
	KeepUnusedRoles bool
	// Tags are extra tags (--tag) put on the role and the provider when the
	// tool creates them, and on an existing role it owns. They never
	// replace the ownership tags.
	Tags map[string]string
	// Access is what the role may do with the repositories: pull (the
	// default) or push, which adds the push actions.
	Access policy.Access
	// Audiences are the token audiences the jobs carry besides the
	// organization ID, as CircleCI's token settings of the organization
	// and the projects give them (circleci.Resolve). The provider's client
	// IDs and the trust policy's aud condition hold each of them as well as
	// the organization ID, which they always hold.
	Audiences []Audience
	// AudiencesRead says that CircleCI's token settings of the
	// organization and the projects were read (with an API token), so
	// that Audiences holds every audience they set; false means they are
	// unknown, and the plan says nothing about them.
	AudiencesRead bool
	// Names are the CircleCI slugs of the organization and the projects,
	// when known, for people: the plan shows each next to its ID. They
	// change nothing that is written.
	Names Names
}

// Names are what CircleCI calls an organization and its projects, for
// people.
type Names struct {
	// Org is the organization's slug, such as gh/acme.
	Org string
	// Projects maps a project ID (lowercase) to the project's slug, such as
	// gh/acme/app, or to its name where the slug is not known.
	Projects map[string]string
}

// ProjectLabel returns a project ID with its slug, "gh/acme/app (<id>)",
// or the ID alone when no name is known.
func (s Spec) ProjectLabel(id string) string {
	if name := s.Names.Projects[id]; name != "" {
		return name + " (" + id + ")"
	}
	return id
}

// Audience is a token audience and the CircleCI setting that gives it, as
// CircleCI's answers give it.
type Audience = circleci.Audience

// MaxClientIDs is how many client IDs (audiences) IAM lets an OIDC provider
// hold.
const MaxClientIDs = 100

// maxClientIDLen is the longest client ID IAM accepts.
const maxClientIDLen = 255

// ClientIDs returns the audiences the provider and the trust policy must
// admit: the organization ID first, then the other audiences sorted. The
// spec must be validated.
func (s Spec) ClientIDs() []string {
	return policy.AudienceValues(s.OrgID, s.audienceValues())
}

func (s Spec) audienceValues() []string {
	out := make([]string, 0, len(s.Audiences))
	for _, a := range s.Audiences {
		out = append(out, a.Value)
	}
	return out
}

// audienceSource returns why value is an audience: "the organization ID",
// or the Source of the spec's audience.
func (s Spec) audienceSource(value string) string {
	if value == s.OrgID {
		return "the organization ID"
	}
	for _, a := range s.Audiences {
		if a.Value == value {
			return a.Source
		}
	}
	return ""
}

// trust describes the trust policy of a role admitting projects (all of
// them with AllProjects).
func (s Spec) trust(partition, account string, projects []string) policy.Trust {
	return policy.Trust{
		Partition: partition, Account: account, OrgID: s.OrgID,
		ProjectIDs: projects, AllProjects: s.AllProjects, Condition: s.ProjectCondition,
		Branches: s.Branches, Audiences: s.audienceValues(),
	}
}

// validateAudiences checks the audiences as IAM takes client IDs and as the
// aud condition compares them, and returns them sorted, without the
// organization ID (always admitted) and with the sources of a repeated
// value joined.
func validateAudiences(audiences []Audience, orgID string) ([]Audience, error) {
	var out []Audience
	for _, a := range audiences {
		rule := ""
		switch {
		case a.Value == "":
			rule = fmt.Sprintf("is empty: IAM takes client IDs of 1 to %d characters", maxClientIDLen)
		case len(a.Value) > maxClientIDLen:
			rule = fmt.Sprintf("IAM takes client IDs of 1 to %d characters", maxClientIDLen)
		case !utf8.ValidString(a.Value) || strings.ContainsFunc(a.Value, unicode.IsControl):
			rule = "must be valid UTF-8 without control characters"
		case strings.Contains(a.Value, "${"):
			rule = `must not contain "${": IAM would expand it in the trust policy as a policy variable instead of comparing it`
		}
		if rule != "" {
			switch {
			case a.Source != "" && a.Value == "":
				rule = "from " + a.Source + " " + rule
			case a.Source != "":
				rule = "from " + a.Source + ": " + rule
			}
			return nil, &InputError{Field: FieldAudience, Value: a.Value, Rule: rule}
		}
		if a.Value == orgID {
			continue
		}
		if i := slices.IndexFunc(out, func(o Audience) bool { return o.Value == a.Value }); i >= 0 {
			if a.Source != "" && !strings.Contains(out[i].Source, a.Source) {
				out[i].Source = strings.TrimPrefix(out[i].Source+", "+a.Source, ", ")
			}
			continue
		}
		out = append(out, a)
	}
	if 1+len(out) > MaxClientIDs {
		return nil, &InputError{Field: FieldAudience, Value: fmt.Sprintf("%d audiences", 1+len(out)), Rule: fmt.Sprintf("an IAM OIDC provider holds at most %d client IDs, the organization ID included", MaxClientIDs)}
	}
	slices.SortFunc(out, func(a, b Audience) int { return strings.Compare(a.Value, b.Value) })
	return out, nil
}

// Field names one input of a run, such as the organization ID. The engine
// reports invalid input by field; a front end names each field its own way
// (the command line by its flag, the wizard by its question).
type Field string

// The fields of a setup, plan, verify, destroy or export run, and of the
// permissions a run needs. The multi-account fields are fleet's.
const (
	FieldOrgID            Field = "org-id"
	FieldProjectID        Field = "project-id"
	FieldAllProjects      Field = "all-projects"
	FieldProjectCondition Field = "project-condition"
	FieldRepo             Field = "repo"
	FieldImage            Field = "image"
	FieldRegion           Field = "region"
	FieldRoleName         Field = "role-name"
	FieldRoleARN          Field = "role-arn"
	FieldBranch           Field = "branch"
	FieldTag              Field = "tag"
	FieldAccess           Field = "access"
	FieldAudience         Field = "audience"
	FieldShard            Field = "shard"
	FieldToken            Field = "token"
	FieldClaims           Field = "claims"
	FieldAssume           Field = "assume"
	FieldCommand          Field = "command"
	FieldAccountRole      Field = "account-role"
	FieldAccountID        Field = "account-id"
	FieldPartition        Field = "partition"
	FieldProfile          Field = "profile"
	FieldOU               Field = "ou"
)

// InputError is an invalid input, reported before any AWS call. Front ends
// map it to exit status 2.
type InputError struct {
	// Field is the input at fault.
	Field Field
	// With names the other fields of a rule about several inputs together,
	// as in "profiles and org-accounts cannot be combined"; Join ("and",
	// "or", or "," for a list) joins their names.
	With []Field
	Join string
	// Value is the offending value; empty when a value is missing.
	Value string
	// Rule says what a valid value looks like.
	Rule string
	// Err, when set, is what is wrong with the field, said by the package
	// that found it (such as circleci's "looking it up needs a token");
	// the message is the field's name, a colon, and Err's message, or
	// Err's message alone without a Field (an input from the environment
	// rather than from a field, such as the CircleCI host of CIRCLE_HOST).
	Err error
}

// Error names the fields by their own names.
func (e *InputError) Error() string {
	return e.Describe(func(f Field) string { return string(f) })
}

// Unwrap returns Err.
func (e *InputError) Unwrap() error { return e.Err }

// Describe renders the error with each field named by name, as a front end
// names its inputs.
func (e *InputError) Describe(name func(Field) string) string {
	if e.Err != nil {
		if e.Field == "" {
			return e.Err.Error()
		}
		return name(e.Field) + ": " + e.Err.Error()
	}
	names := []string{name(e.Field)}
	for _, f := range e.With {
		names = append(names, name(f))
	}
	sep := " " + e.Join + " "
	if e.Join == "," {
		sep = ", "
	}
	subject := strings.Join(names, sep)
	if e.Value == "" {
		return subject + " " + e.Rule
	}
	return fmt.Sprintf("invalid %s %q: %s", subject, e.Value, e.Rule)
}

var (
	uuidPattern     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	roleNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	// regionPattern matches AWS region codes such as us-east-1,
	// us-gov-west-1, cn-north-1, eu-central-2 and eusc-de-east-1.
	regionPattern = regexp.MustCompile(`^(?:[a-z]{2}|eusc)(-[a-z]+)+-[0-9]{1,2}$`)
	// repoNamePattern is ECR's repository name pattern (InitiateLayerUpload).
	repoNamePattern = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	// repoPrefixPattern is one or more name components followed by "/*".
	repoPrefixPattern = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)+\*$`)
	accountPattern    = regexp.MustCompile(`^[0-9]{12}$`)
	// parentIDPattern is AWS Organizations' pattern of a parent ID
	// (API_Parent: an OU "ou-" or a root "r-"), anchored as a whole: the
	// reference's ^(r-...)|(ou-...)$ anchors each alternative at one end
	// only. CreateStackInstances's OrganizationalUnitIds take the same.
	parentIDPattern = regexp.MustCompile(`^(?:r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$`)
)

// ValidateUUID checks a CircleCI organization or project ID and returns it
// in the lowercase form CircleCI puts in its tokens.
func ValidateUUID(field Field, value string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(value))
	if !uuidPattern.MatchString(v) {
		rule := "must be a UUID such as 2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d"
		if field == FieldOrgID {
			rule += " (CircleCI: Organization Settings → Overview; not a project ID or the VCS slug)"
		} else {
			rule += " (CircleCI: Project Settings → Overview)"
		}
		return "", &InputError{Field: field, Value: value, Rule: rule}
	}
	return v, nil
}

// ValidateRoleName checks an IAM role name: 1 to 64 characters of letters,
// digits and _+=,.@-.
func ValidateRoleName(field Field, name string) error {
	if !roleNamePattern.MatchString(name) || !isASCII(name) {
		return &InputError{Field: field, Value: name, Rule: "an IAM role name is 1 to 64 characters of letters, digits and _+=,.@-"}
	}
	return nil
}

// ValidateAccountID checks a 12-digit AWS account ID.
func ValidateAccountID(field Field, id string) error {
	if !accountPattern.MatchString(id) {
		return &InputError{Field: field, Value: id, Rule: "must be a 12-digit AWS account ID"}
	}
	return nil
}

// ValidateOU checks an organizational unit ID (ou-...) or a root ID
// (r-...) of AWS Organizations: the one rule of every --ou, whether it
// narrows the accounts of a multi-account run or names where a stack set
// deploys.
func ValidateOU(field Field, id string) error {
	if !parentIDPattern.MatchString(id) {
		return &InputError{Field: field, Value: id, Rule: "must be an organizational unit ID (ou- then 4 to 32 lowercase letters or digits, -, and 8 to 32 more) or a root ID (r- then 4 to 32 lowercase letters or digits)"}
	}
	return nil
}

// ValidateRegion checks the shape of an AWS region code.
func ValidateRegion(field Field, region string) error {
	if region == "" {
		return &InputError{Field: field, Rule: "is required: no region is configured; pass --region, or set AWS_REGION or a region in the profile"}
	}
	if !regionPattern.MatchString(region) {
		return &InputError{Field: field, Value: region, Rule: "must be an AWS region code such as us-east-1"}
	}
	return nil
}

// ValidateRepositoryName checks an ECR repository name: 2 to 256 characters
// matching ECR's pattern (lowercase components separated by "/").
func ValidateRepositoryName(field Field, name string) error {
	if len(name) < 2 || len(name) > 256 || !repoNamePattern.MatchString(name) {
		return &InputError{Field: field, Value: name, Rule: "an ECR repository name is 2 to 256 characters: lowercase letters and digits, separated by single '.', '_', '-' or '/'"}
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// ValidateBranch checks a --branch value: a full git ref such as
// refs/heads/main, as `git check-ref-format` accepts it, where * and ? are
// IAM StringLike wildcards (git forbids both, so they cannot clash with a
// real ref's characters). The rules, in git's order: no component starts
// with "." or ends with ".lock"; no ".."; no control character, space,
// ~ ^ : [ or \; no "//", no trailing "/" or "."; no "@{" and not "@".
// Non-ASCII is allowed, as git allows it. Beyond git's rules: the ref starts
// with refs/ (CircleCI's vcs-ref is a full ref), is valid UTF-8 (IAM
// documents are JSON), has no "${" (IAM would expand a policy variable
// instead of matching it), and has no /vcs-ref/ or /vcs-origin/ segment,
// which policy.BranchPinGuard makes unmatchable.
func ValidateBranch(field Field, ref string) error {
	rule := branchRule(ref)
	if rule == "" {
		return nil
	}
	return &InputError{Field: field, Value: ref, Rule: "must be a full git ref such as refs/heads/main or refs/tags/v* (* and ? are wildcards), " + rule}
}

// branchRule returns the first rule ref breaks, or "".
func branchRule(ref string) string {
	switch {
	case !strings.HasPrefix(ref, "refs/"):
		return "starting with refs/ (branch main is refs/heads/main)"
	case !utf8.ValidString(ref):
		return "in valid UTF-8"
	case strings.ContainsFunc(ref, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "without control characters"
	case strings.ContainsAny(ref, " ~^:[\\"):
		return `without spaces or any of ~ ^ : [ \`
	case strings.Contains(ref, ".."):
		return `without ".."`
	case strings.Contains(ref, "@{") || ref == "@":
		return `without "@{"`
	case strings.Contains(ref, "//") || strings.HasSuffix(ref, "/"):
		return `without empty components ("//" or a trailing "/")`
	case strings.HasSuffix(ref, "."):
		return `not ending in "."`
	case strings.Contains(ref, "${"):
		return `without "${" (IAM would expand it as a policy variable instead of matching it)`
	case strings.Contains(ref, "/vcs-ref/") || strings.Contains(ref, "/vcs-origin/"):
		return "without a /vcs-ref/ or /vcs-origin/ segment (the trust policy denies every token whose sub has a second one, so such a ref never matches)"
	}
	for _, c := range strings.Split(ref, "/") {
		if strings.HasPrefix(c, ".") || strings.HasSuffix(c, ".lock") {
			return `whose components neither start with "." nor end in ".lock"`
		}
	}
	return ""
}

// CheckRegionPartition refuses, before any AWS call, a --repo ARN or an
// --image in another partition than the region's, which is the partition of
// the account the credentials reach through it.
func (s Spec) CheckRegionPartition() error {
	return s.CheckPartition(RegionPartition(s.Region), "region "+s.Region)
}

// ValidateInRegion is the validated spec, whose partition must be its
// region's: a --repo ARN or an --image of another partition is refused
// before any AWS call.
func (s Spec) ValidateInRegion() (Spec, error) {
	spec, err := s.Validate()
	if err != nil {
		return Spec{}, err
	}
	return spec, spec.CheckRegionPartition()
}

// CheckPartition refuses a --repo ARN or an --image in another partition
// than the account's: the role lives in the account's partition, and a grant
// on a repository elsewhere can never match, nor can the role pull an image
// from there. source says how the account's partition is known, such as
// "region us-east-1" (credentials work only in their region's partition, so
// it is known before any AWS call) or "caller arn:aws:iam::...". The spec
// must be validated.
func (s Spec) CheckPartition(partition, source string) error {
	for _, r := range s.Repositories {
		repo, err := ParseRepository(r)
		if err != nil {
			return err
		}
		if repo.Partition != "" && repo.Partition != partition {
			return &InputError{Field: FieldRepo, Value: r, Rule: fmt.Sprintf("is in partition %s, but the account is in partition %s (%s): a role there can never pull from it", repo.Partition, partition, source)}
		}
	}
	if s.Image == "" {
		return nil
	}
	img, err := ParseImage(FieldImage, s.Image)
	if err != nil {
		return err
	}
	if img.Partition() != partition {
		return &InputError{Field: FieldImage, Value: s.Image, Rule: fmt.Sprintf("is in partition %s, but the account is in partition %s (%s): a role there can never pull it", img.Partition(), partition, source)}
	}
	return nil
}

// validateRepositories parses the --repo values and returns them without
// duplicates.
func validateRepositories(inputs []string) ([]string, error) {
	var out []string
	for _, r := range inputs {
		repo, err := ParseRepository(r)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, repo.Input) {
			out = append(out, repo.Input)
		}
	}
	return out, nil
}

// validateProjects checks the --project-id values and returns them
// normalized, without duplicates.
func validateProjects(ids []string, orgID string) ([]string, error) {
	var out []string
	for _, p := range ids {
		id, err := ValidateUUID(FieldProjectID, p)
		if err != nil {
			return nil, err
		}
		if id == orgID {
			return nil, &InputError{Field: FieldProjectID, Value: p, Rule: "is the organization ID; a project ID is on Project Settings → Overview"}
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// Validate checks every field exactly as AWS and CircleCI define it and
// returns the normalized spec (lowercased UUIDs, duplicates removed, the
// default role name and project condition filled in). The first problem is
// returned as an *InputError naming its field.
func (s Spec) Validate() (Spec, error) {
	out := s
	var err error
	if strings.TrimSpace(s.OrgID) == "" {
		return Spec{}, &InputError{Field: FieldOrgID, Rule: "is required: the CircleCI organization ID (Organization Settings → Overview)"}
	}
	if out.OrgID, err = ValidateUUID(FieldOrgID, s.OrgID); err != nil {
		return Spec{}, err
	}
	if len(s.Repositories) == 0 {
		return Spec{}, &InputError{Field: FieldRepo, Rule: "is required: at least one ECR repository name, ARN or prefix/*"}
	}
	if out.Repositories, err = validateRepositories(s.Repositories); err != nil {
		return Spec{}, err
	}
	switch {
	case s.AllProjects && len(s.ProjectIDs) > 0:
		return Spec{}, &InputError{Field: FieldAllProjects, Rule: "cannot be combined with --project-id; choose specific projects or the whole organization"}
	case !s.AllProjects && len(s.ProjectIDs) == 0:
		return Spec{}, &InputError{Field: FieldProjectID, Rule: "is required: at least one CircleCI project ID, or --all-projects to admit every project of the organization"}
	}
	if out.ProjectIDs, err = validateProjects(s.ProjectIDs, out.OrgID); err != nil {
		return Spec{}, err
	}
	// An unset condition stays empty: its default depends on the partition
	// (policy.DefaultProjectCondition), which only the account tells.
	switch s.ProjectCondition {
	case "", policy.ClaimKey, policy.Sub:
	default:
		return Spec{}, &InputError{Field: FieldProjectCondition, Value: string(s.ProjectCondition), Rule: "must be claim (the oidc.circleci.com/project-id claim, recommended) or sub"}
	}
	if s.AllProjects && s.ProjectCondition == policy.ClaimKey {
		return Spec{}, &InputError{Field: FieldProjectCondition, Value: string(s.ProjectCondition), Rule: "does not apply to --all-projects, which restricts sub to org/<ORG>/project/*"}
	}
	out.Branches = nil
	for _, b := range s.Branches {
		if err := ValidateBranch(FieldBranch, b); err != nil {
			return Spec{}, err
		}
		if !slices.Contains(out.Branches, b) {
			out.Branches = append(out.Branches, b)
		}
	}
	if out.RoleName == "" {
		out.RoleName = DefaultRoleName
	}
	if err := ValidateRoleName(FieldRoleName, out.RoleName); err != nil {
		return Spec{}, err
	}
	if err := ValidateRegion(FieldRegion, s.Region); err != nil {
		return Spec{}, err
	}
	switch s.Access {
	case "":
		out.Access = policy.AccessPull
	case policy.AccessPull, policy.AccessPush:
	default:
		return Spec{}, &InputError{Field: FieldAccess, Value: string(s.Access), Rule: "must be pull (the default) or push (pull plus the actions that push images)"}
	}
	if err := validateTags(FieldTag, s.Tags); err != nil {
		return Spec{}, err
	}
	out.Tags = maps.Clone(s.Tags)
	out.Names.Projects = maps.Clone(s.Names.Projects)
	if out.Audiences, err = validateAudiences(s.Audiences, out.OrgID); err != nil {
		return Spec{}, err
	}
	if s.Image != "" {
		if _, err := ParseImage(FieldImage, s.Image); err != nil {
			return Spec{}, err
		}
	} else if !slices.ContainsFunc(out.Repositories, func(r string) bool {
		repo, _ := ParseRepository(r)
		return !repo.Pattern
	}) {
		return Spec{}, &InputError{Field: FieldImage, Rule: "is required when every --repo is a prefix/* pattern: name the image the snippet should pull"}
	}
	return out, nil
}
