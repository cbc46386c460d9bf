package provision

import "github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"

// ActionNone marks a step whose resource already matches: the plan lists
// it, with what was observed, but it is no change and applying it writes
// nothing.
const ActionNone Action = "none"

// Kind is the kind of resource a step acts on, which decides the executor
// that makes it (executorFor). It is finer than Resource, the name a change
// has in the JSON contract: a role's tags are a kind of their own, and so
// is a managed policy's attachment.
type Kind string

// The kinds of resource a plan holds steps for.
const (
	KindProvider         Kind = "provider"
	KindRole             Kind = "role"
	KindTrustPolicy      Kind = "trust-policy"
	KindInlinePolicy     Kind = "inline-policy"
	KindManagedPolicy    Kind = "managed-policy"
	KindAttachment       Kind = "attachment"
	KindTags             Kind = "tags"
	KindRepositoryPolicy Kind = "repository-policy"
)

// Value is a resource's value as observed or as desired: the parts of it a
// plan compares and an executor writes. What a kind does not have is left
// empty.
type Value struct {
	// ARN names the resource (the provider, a managed policy, a policy
	// attached to the role); PolicyName names an inline policy.
	ARN        string `json:"arn,omitempty"`
	PolicyName string `json:"policy_name,omitempty"`
	// Document is the policy document, as JSON: the trust policy, the
	// inline or a managed policy, a repository policy.
	Document string `json:"document,omitempty"`
	// ClientIDs are a provider's audiences.
	ClientIDs []string          `json:"client_ids,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	// Attached says whether a managed policy is attached to the role.
	Attached bool `json:"attached,omitempty"`
	// Statement is the role's statement in a repository policy, merged
	// into the policy as it is when written.
	Statement *policy.Statement `json:"statement,omitempty"`
}

// Step is one resource of a plan, typed: what it is (Kind and the Change's
// resource and name), what applying the plan does to it (the Change's
// action, ActionNone when it already matches), its value as observed
// (nil when it does not exist) and as desired (nil when it is to be
// deleted), and the steps that must have succeeded before it starts.
type Step struct {
	Change
	Kind     Kind   `json:"kind"`
	Observed *Value `json:"observed"`
	Desired  *Value `json:"desired"`
	// After are the keys (Key) of the steps of the same plan this one
	// waits for.
	After []string `json:"after,omitempty"`
}

// Key identifies the step within its plan.
func (s Step) Key() string {
	return string(s.Kind) + " " + s.Name
}

// IsChange reports whether applying the step writes anything.
func (s Step) IsChange() bool { return s.Action != ActionNone }

// changesOf returns the changes of the steps that write, in order.
func changesOf(steps []Step) []Change {
	out := []Change{}
	for _, s := range steps {
		if s.IsChange() {
			out = append(out, s.Change)
		}
	}
	return out
}
