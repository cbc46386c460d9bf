package provision

import (
	"errors"
	"fmt"
	"maps"
)

// Values of ManagedTag. What setup creates is tagged ManagedByTool. What an
// export declares is tagged with the tool that applies it, so that setup
// and destroy leave it to that tool instead of fighting its state, while
// plan and verify compare it as usual. Exports of earlier versions wrote
// ManagedByTool; nothing in the account tells those apart from what setup
// created (docs/export.md says how to retag them).
const (
	ManagedByTool           = "true"
	ManagedByTerraform      = "terraform"
	ManagedByCloudFormation = "cloudformation"
)

// ErrManagedByIaC is wrapped by the refusal to change or delete what an
// export created, applied with Terraform or CloudFormation.
var ErrManagedByIaC = errors.New("managed by infrastructure as code")

// IaCName names the tool of an export's ManagedTag value for people:
// "Terraform" or "CloudFormation"; "" for any other value.
func IaCName(managedBy string) string {
	switch managedBy {
	case ManagedByTerraform:
		return "Terraform"
	case ManagedByCloudFormation:
		return "CloudFormation"
	}
	return ""
}

// iacSource says where a change to what the tool manages belongs.
func iacSource(managedBy string) string {
	if managedBy == ManagedByCloudFormation {
		return "CloudFormation template and update the stack"
	}
	return "Terraform configuration and apply it"
}

// iacRemoval says how to delete what the tool manages instead.
func iacRemoval(managedBy string) string {
	if managedBy == ManagedByCloudFormation {
		return "delete it with CloudFormation instead (remove it from the template and update the stack, or delete the stack)"
	}
	return "delete it with Terraform instead (remove it from the configuration and apply, or run terraform destroy)"
}

// IaCError refuses to change (or, with Delete, to delete) a resource that
// an export created: the tool named by ManagedBy owns it.
type IaCError struct {
	// What is the resource, such as "role ci-pull".
	What string
	// ManagedBy is the resource's ManagedTag value.
	ManagedBy string
	Delete    bool
}

func (e *IaCError) Error() string {
	tool := IaCName(e.ManagedBy)
	if e.Delete {
		return fmt.Sprintf("refuse to delete %s: it is managed by %s (tagged %s=%s); %s, or pass --adopt to delete it anyway",
			e.What, tool, ManagedTag, e.ManagedBy, iacRemoval(e.ManagedBy))
	}
	return fmt.Sprintf("refuse to change %s: it is managed by %s (tagged %s=%s); change the %s instead, or pass --adopt to take it over",
		e.What, tool, ManagedTag, e.ManagedBy, iacSource(e.ManagedBy))
}

// Unwrap lets errors.Is find ErrManagedByIaC.
func (e *IaCError) Unwrap() error { return ErrManagedByIaC }

// ownershipTags are the tags that mark what this tool created, and for
// which organization.
func ownershipTags(orgID string) map[string]string {
	return map[string]string{ManagedTag: ManagedByTool, OrgIDTag: orgID}
}

// iacOwner returns the ManagedTag value of an export, ManagedByTerraform or
// ManagedByCloudFormation, when tags mark the resource as declared by one
// for the organization orgID (or for no named organization); "" otherwise.
func iacOwner(tags map[string]string, orgID string) string {
	v := tags[ManagedTag]
	if IaCName(v) == "" {
		return ""
	}
	if owner := tags[OrgIDTag]; owner != "" && owner != orgID {
		return ""
	}
	return v
}

// managedPolicyOwner is iacOwner for a managed policy under the path of a
// role whose own value is roleManagedBy. CloudFormation cannot tag an
// AWS::IAM::ManagedPolicy, so an untagged policy under the path of a role
// CloudFormation manages is taken as that stack's.
func managedPolicyOwner(mp ObservedManagedPolicy, roleManagedBy, orgID string) string {
	if v := iacOwner(mp.Tags, orgID); v != "" {
		return v
	}
	if _, tagged := mp.Tags[ManagedTag]; !tagged && roleManagedBy == ManagedByCloudFormation {
		return ManagedByCloudFormation
	}
	return ""
}

// checkOwnership is the one rule deciding whether the tool may change an
// existing role: it must carry the managed tag and, if it names an
// organization, this one; --adopt overrides both. Planning and the re-read
// after a lost creation race both apply it, so a role that appears between
// plan and apply gets no more trust than one that was there all along.
func checkOwnership(role *ObservedRole, spec Spec) error {
	return checkTags("role "+spec.RoleName, role.Tags, spec, "choose another --role-name, or pass --adopt to take it over")
}

// checkTags is the ownership rule on the tags of what (a role, a managed
// policy): ManagedTag=true and, if it names an organization, this one;
// --adopt overrides both. A resource an export created for this
// organization gets an *IaCError: the caller decides whether that stops it
// (setup) or only marks the changes (plan). remedy says what the user can do
// instead of a refusal for a resource that is not the tool's.
func checkTags(what string, tags map[string]string, spec Spec, remedy string) error {
	if spec.Adopt {
		return nil
	}
	managed := tags[ManagedTag]
	if managed != ManagedByTool && IaCName(managed) == "" {
		return fmt.Errorf("refuse to change %s: %w (it has no %s=true tag); %s", what, ErrNotOwned, ManagedTag, remedy)
	}
	if owner := tags[OrgIDTag]; owner != "" && owner != spec.OrgID {
		return fmt.Errorf("refuse to change %s: %w for this organization (it was created for CircleCI organization %s); %s", what, ErrNotOwned, owner, remedy)
	}
	if managed != ManagedByTool {
		return &IaCError{What: what, ManagedBy: managed}
	}
	return nil
}

// checkTagCount fails when tagging the role with want would take it over
// IAM's limit of MaxTags, so the plan says so instead of TagRole failing
// half way through an apply. Tags with the aws: prefix do not count.
func checkTagCount(roleName string, has, want map[string]string) error {
	all := maps.Clone(has)
	if all == nil {
		all = map[string]string{}
	}
	for k, v := range want {
		if old, ok := lookupFold(all, k); ok {
			delete(all, old)
		}
		all[k] = v
	}
	n := 0
	for k := range all {
		if !hasPrefixFold(k, reservedTagPrefix) {
			n++
		}
	}
	if n > MaxTags {
		return fmt.Errorf("tag role %s: it would carry %d tags, over IAM's limit of %d; pass fewer --tag values or remove tags the role no longer needs", roleName, n, MaxTags)
	}
	return nil
}
