package provision

import (
	"fmt"
	"maps"
)

// ownershipTags are the tags that mark what this tool created, and for
// which organization.
func ownershipTags(orgID string) map[string]string {
	return map[string]string{ManagedTag: "true", OrgIDTag: orgID}
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
// --adopt overrides both. remedy says what the user can do instead.
func checkTags(what string, tags map[string]string, spec Spec, remedy string) error {
	if spec.Adopt {
		return nil
	}
	if tags[ManagedTag] != "true" {
		return fmt.Errorf("refuse to change %s: %w (it has no %s=true tag); %s", what, ErrNotOwned, ManagedTag, remedy)
	}
	if owner := tags[OrgIDTag]; owner != "" && owner != spec.OrgID {
		return fmt.Errorf("refuse to change %s: %w for this organization (it was created for CircleCI organization %s); %s", what, ErrNotOwned, owner, remedy)
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
