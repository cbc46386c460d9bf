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
	if spec.Adopt {
		return nil
	}
	if !role.Owned() {
		return fmt.Errorf("refuse to change role %s: %w (it has no %s=true tag); choose another --role-name, or pass --adopt to take it over", spec.RoleName, ErrNotOwned, ManagedTag)
	}
	if owner := role.Tags[OrgIDTag]; owner != "" && owner != spec.OrgID {
		return fmt.Errorf("refuse to change role %s: %w for this organization (it was created for CircleCI organization %s); choose another --role-name, or pass --adopt", spec.RoleName, ErrNotOwned, owner)
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
