package provision

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// DefaultPackLimits are the quotas Documents packs the permissions for: the
// defaults NewPlan uses when the account's own cannot be read, with no
// managed policy attached to the role by others.
func DefaultPackLimits() policy.PackLimits {
	return policy.PackLimits{Inline: DefaultRolePolicyQuota, Managed: DefaultManagedPolicyQuota, ManagedCount: DefaultAttachedPoliciesQuota}
}

// Documents returns the trust policy and the packed permissions (the inline
// policy and the managed policies, policy.Packed) that setup writes for a
// validated spec in the given partition and account with the default quotas
// (DefaultPackLimits), without reading the account. Repositories named
// without an ARN resolve to spec.Region, as Observe resolves them.
// permissions.Groups hold each document's repository ARNs as Documents
// built them, sorted.
//
// It is what export renders: partition and account may be placeholders that
// the export replaces with its target's own references (a Terraform data
// source, a CloudFormation pseudo parameter), so they are not validated
// here. Their length is not that of the real values, so the packing is
// decided on stand-in ARNs of real length, then applied to the given ARNs
// document by document: a partition that is not a known one stands for the
// longest known partition (PackingPartition, aws-us-gov), so that the
// documents fit in every partition; an account that is not 12 digits
// stands for a 12-digit one no repository ARN of the spec names. With a real
// partition and account the stand-ins are the ARNs themselves and the
// documents are exactly NewPlan's; TestDocumentsMatchPlan keeps them in
// step.
//
// When the repositories do not fit, the error is a *PermissionsQuotaError,
// as from NewPlan.
func Documents(spec Spec, partition, account string) (trust policy.Document, permissions policy.Packed, err error) {
	trust, err = policy.TrustPolicy(policy.Trust{
		Partition: partition, Account: account, OrgID: spec.OrgID,
		ProjectIDs: spec.ProjectIDs, AllProjects: spec.AllProjects, Condition: spec.ProjectCondition,
		Branches: spec.Branches,
	})
	if err != nil {
		return policy.Document{}, policy.Packed{}, err
	}
	repos := make([]Repository, 0, len(spec.Repositories))
	for _, input := range spec.Repositories {
		repo, err := ParseRepository(input)
		if err != nil {
			return policy.Document{}, policy.Packed{}, fmt.Errorf("resolve repository %s: %w", input, err)
		}
		repos = append(repos, repo)
	}
	standInPartition, standInAccount := partition, account
	if !knownPartitions[partition] {
		standInPartition = PackingPartition()
	}
	if !accountPattern.MatchString(account) {
		standInAccount = standInAccountFor(repos)
	}
	// Each stand-in ARN stands for the given ARNs of the repositories that
	// resolve to it; distinct given ARNs have distinct stand-ins, since the
	// stand-in account is one no ARN names.
	standIns := make([]string, 0, len(repos))
	given := map[string][]string{}
	for _, repo := range repos {
		s := repo.ARN(standInPartition, standInAccount, spec.Region)
		a := repo.ARN(partition, account, spec.Region)
		standIns = append(standIns, s)
		if !slices.Contains(given[s], a) {
			given[s] = append(given[s], a)
		}
	}
	packed, err := policy.PackPermissions(spec.Access, standIns, DefaultPackLimits())
	var packErr *policy.PackError
	if errors.As(err, &packErr) {
		return policy.Document{}, policy.Packed{}, &PermissionsQuotaError{Fit: packErr.Fit, Total: packErr.Total, Limits: DefaultPackLimits(),
			Prefixes: suggestPrefixes(spec.Repositories, packErr.Fit)}
	}
	if err != nil {
		return policy.Document{}, policy.Packed{}, err
	}
	if standInPartition == partition && standInAccount == account {
		return trust, packed, nil
	}
	permissions.Groups = make([][]string, len(packed.Groups))
	for i, group := range packed.Groups {
		var arns []string
		for _, s := range group {
			arns = append(arns, given[s]...)
		}
		slices.Sort(arns)
		permissions.Groups[i] = slices.Compact(arns)
	}
	if len(permissions.Groups[0]) == 0 {
		// Not even one repository fit inline (PackPermissions then puts
		// none there): the inline policy holds the token grant alone.
		permissions.Inline = packed.Inline
	} else if permissions.Inline, err = policy.PermissionsPolicy(spec.Access, permissions.Groups[0]); err != nil {
		return policy.Document{}, policy.Packed{}, err
	}
	for _, group := range permissions.Groups[1:] {
		doc, err := policy.ManagedPermissionsPolicy(spec.Access, group)
		if err != nil {
			return policy.Document{}, policy.Packed{}, err
		}
		permissions.Managed = append(permissions.Managed, doc)
	}
	return trust, permissions, nil
}

// PackingPartition is the partition whose ARN length Documents packs for
// when the partition is a placeholder: the longest known one (aws-us-gov),
// so that documents that fit there fit in every partition.
func PackingPartition() string {
	longest := ""
	for _, p := range slices.Sorted(maps.Keys(knownPartitions)) {
		if len(p) > len(longest) {
			longest = p
		}
	}
	return longest
}

// standInAccountFor returns a 12-digit account that no repository ARN of
// the spec names, so that no repository named without an ARN gets the
// stand-in ARN of one given with an ARN.
func standInAccountFor(repos []Repository) string {
	used := map[string]bool{}
	for _, r := range repos {
		used[r.Account] = true
	}
	for n := 999999999999; ; n-- {
		if a := fmt.Sprintf("%012d", n); !used[a] {
			return a
		}
	}
}
