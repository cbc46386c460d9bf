package provision

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// ExportPlan is the plan setup would make for a validated spec in an empty
// account of the given partition and account, with the default quotas
// (DefaultRolePolicyQuota, DefaultManagedPolicyQuota and
// DefaultAttachedPoliciesQuota, no managed policy attached to the role by
// others): every resource is to be created, and its desired value is what
// export renders. It reads no account. Repositories named without an ARN
// resolve to spec.Region, as Observe resolves them, and are taken to exist.
// The trust policy's size is not held to a quota (export warns instead),
// nor is an --image checked.
//
// Partition and account may be placeholders that the export replaces with
// its target's own references (a Terraform data source, a CloudFormation
// pseudo parameter), so they are not validated here; so may spec.Region
// (a StackSet's instances each resolve their own region). Their length is
// not that of the real values, so the permissions are packed as packGrants
// says, on stand-in ARNs of real length. With a real partition and account
// the plan's documents are exactly those of a plan against such an
// account.
//
// When the repositories do not fit, the error is a *PermissionsQuotaError,
// as from NewPlan.
func ExportPlan(spec Spec, partition, account string) (*Plan, error) {
	found := map[int]string{}
	for i := range spec.Repositories {
		found[i] = ""
	}
	obs := &Observed{
		Account: account, Partition: partition,
		Repositories:     repositoryStatuses(spec, partition, account, found),
		TrustPolicyQuota: math.MaxInt, RolePolicyQuota: DefaultRolePolicyQuota,
		ManagedPolicyQuota: DefaultManagedPolicyQuota, AttachedPoliciesQuota: DefaultAttachedPoliciesQuota,
	}
	return newPlan(spec, obs, planMode{export: true})
}

// ProviderClientIDs returns the client IDs the plan's provider step wants
// the provider to hold: for a new provider (and so for ExportPlan's) the
// organization ID and the spec's audiences; for an existing one also those
// it holds already, which are never removed. A plan without a provider step
// (a sharded setup's roles after the first) returns the spec's.
func (p *Plan) ProviderClientIDs() []string {
	for _, s := range p.Steps {
		if s.Kind == KindProvider && s.Desired != nil {
			return slices.Clone(s.Desired.ClientIDs)
		}
	}
	return p.Spec.ClientIDs()
}

// packGrants packs the repository grants of arns, the ARNs of
// spec.Repositories in order, into the inline policy and managed policies
// within limits. packed.Groups hold each document's ARNs.
//
// When partition, account or spec.Region is a placeholder (ExportPlan),
// the packing is decided on stand-in ARNs of real length, then applied to
// the given ARNs document by document: a partition that is not a known one
// stands for the longest known partition (PackingPartition, aws-us-gov),
// and a region that is not a region name for PackingRegion, so that the
// documents fit in every partition and region; an account that is not 12
// digits, or any account when the region is a placeholder, stands for a
// 12-digit one no repository ARN of the spec names. With a real partition,
// account and region the stand-ins are the ARNs themselves.
func packGrants(spec Spec, arns []string, partition, account string, limits policy.PackLimits) (policy.Packed, error) {
	realRegion := regionPattern.MatchString(spec.Region)
	if knownPartitions[partition] && accountPattern.MatchString(account) && realRegion {
		return policy.PackPermissions(spec.Access, arns, limits)
	}
	repos := make([]Repository, 0, len(spec.Repositories))
	for _, input := range spec.Repositories {
		repo, err := ParseRepository(input)
		if err != nil {
			return policy.Packed{}, fmt.Errorf("resolve repository %s: %w", input, err)
		}
		repos = append(repos, repo)
	}
	standInPartition, standInAccount, standInRegion := partition, account, spec.Region
	if !knownPartitions[partition] {
		standInPartition = PackingPartition()
	}
	// With a placeholder region, a repository given by name in the real
	// account would share its stand-in ARN with one given by an ARN in the
	// stand-in region: the stand-in account keeps them apart.
	if !accountPattern.MatchString(account) || !realRegion {
		standInAccount = standInAccountFor(repos)
	}
	if !realRegion {
		standInRegion = PackingRegion
	}
	// Each stand-in ARN stands for the given ARNs of the repositories that
	// resolve to it; distinct given ARNs have distinct stand-ins, since the
	// stand-in account is one no ARN names.
	standIns := make([]string, 0, len(repos))
	given := map[string][]string{}
	for i, repo := range repos {
		s := repo.ARN(standInPartition, standInAccount, standInRegion)
		standIns = append(standIns, s)
		if !slices.Contains(given[s], arns[i]) {
			given[s] = append(given[s], arns[i])
		}
	}
	packed, err := policy.PackPermissions(spec.Access, standIns, limits)
	if err != nil {
		return policy.Packed{}, err
	}
	return applyPacking(spec.Access, packed, given)
}

// applyPacking writes the documents of a packing decided on stand-in ARNs
// for the ARNs each stands for (given).
func applyPacking(access policy.Access, packed policy.Packed, given map[string][]string) (policy.Packed, error) {
	var out policy.Packed
	out.Groups = make([][]string, len(packed.Groups))
	for i, group := range packed.Groups {
		var arns []string
		for _, s := range group {
			arns = append(arns, given[s]...)
		}
		slices.Sort(arns)
		out.Groups[i] = slices.Compact(arns)
	}
	var err error
	if len(out.Groups[0]) == 0 {
		// Not even one repository fit inline (PackPermissions then puts
		// none there): the inline policy holds the token grant alone.
		out.Inline = packed.Inline
	} else if out.Inline, err = policy.PermissionsPolicy(access, out.Groups[0]); err != nil {
		return policy.Packed{}, err
	}
	for _, group := range out.Groups[1:] {
		doc, err := policy.ManagedPermissionsPolicy(access, group)
		if err != nil {
			return policy.Packed{}, err
		}
		out.Managed = append(out.Managed, doc)
	}
	return out, nil
}

// PackingPartition is the partition whose ARN length ExportPlan packs for
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

// PackingRegion is the region name ExportPlan packs for when the region is
// a placeholder: the longest region name aws-sdk-go-v2 knows
// (internal/endpoints/awsrulesfn/partitions.json; a test keeps it so), so
// that documents that fit for it fit in every region.
const PackingRegion = "us-isof-south-1"

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
