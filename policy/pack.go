package policy

import (
	"fmt"
	"strings"
)

// PackLimits are the quotas the role's permissions documents must fit, in
// characters as IAM counts them (Size).
type PackLimits struct {
	// Inline is what the inline policy may use: the role's aggregate
	// inline quota (RolePolicySizeQuota) less the other inline policies.
	Inline int
	// Managed is the size quota of one managed policy (PolicySizeQuota).
	Managed int
	// ManagedCount is how many more managed policies may be attached to the
	// role (AttachedPoliciesPerRoleQuota less those attached by others).
	ManagedCount int
}

// Packed is the role's permissions spread over documents that each fit
// their quota: the inline policy, which always carries
// ecr:GetAuthorizationToken and the first repositories, then managed
// policies, each with the next repositories. A role whose repositories fit
// inline has no managed policies, so small setups keep the single inline
// policy they always had.
type Packed struct {
	Inline  Document
	Managed []Document
	// Groups are the repository ARNs of each document, sorted: Groups[0]
	// the inline policy's (possibly empty), Groups[i] those of Managed[i-1].
	Groups [][]string
}

// PackError says the repositories do not fit in the documents the quotas
// allow. Fit is how many of the Total (sorted, distinct) ARNs did.
type PackError struct {
	Fit, Total int
	Limits     PackLimits
}

func (e *PackError) Error() string {
	return fmt.Sprintf("pack permissions: %d of %d repository ARNs fit in the inline policy (%d characters) and %d managed policies of %d characters",
		e.Fit, e.Total, e.Limits.Inline, e.Limits.ManagedCount, e.Limits.Managed)
}

// PackPermissions grants access on exactly the given repository ARNs (or
// ARN patterns ending in "/*") in as few documents as the limits allow,
// filling the inline policy first and then one managed policy after
// another, each to its quota, in sorted ARN order. It never widens a grant:
// when the ARNs do not fit it returns a *PackError, and the caller offers
// prefix/* patterns.
func PackPermissions(access Access, repositoryARNs []string, lim PackLimits) (Packed, error) {
	sid, err := repositorySid(access)
	if err != nil {
		return Packed{}, err
	}
	if len(repositoryARNs) == 0 {
		return Packed{}, fmt.Errorf("build permissions policy: no repositories")
	}
	for _, a := range repositoryARNs {
		if a == "*" || !strings.Contains(a, ":repository/") {
			return Packed{}, fmt.Errorf("build permissions policy: %q is not a repository ARN", a)
		}
	}
	arns := sortedUnique(repositoryARNs)
	inline := func(group []string) Document { return permissionsDocument(access, sid, group, true) }
	managed := func(group []string) Document { return permissionsDocument(access, sid, group, false) }

	k, err := fill(inline, arns, lim.Inline)
	if err != nil {
		return Packed{}, err
	}
	if k < 0 {
		return Packed{}, &PackError{Fit: 0, Total: len(arns), Limits: lim}
	}
	out := Packed{Inline: inline(arns[:k]), Groups: [][]string{arns[:k]}}
	rest := arns[k:]
	for len(rest) > 0 && len(out.Managed) < lim.ManagedCount {
		k, err := fill(managed, rest, lim.Managed)
		if err != nil {
			return Packed{}, err
		}
		if k <= 0 {
			break
		}
		out.Managed = append(out.Managed, managed(rest[:k]))
		out.Groups = append(out.Groups, rest[:k])
		rest = rest[k:]
	}
	if len(rest) > 0 {
		return Packed{}, &PackError{Fit: len(arns) - len(rest), Total: len(arns), Limits: lim}
	}
	return out, nil
}

// ManagedPermissionsPolicy is one managed policy of a packing: the access
// level's repository actions on the given ARNs, without the token grant,
// which the inline policy carries.
func ManagedPermissionsPolicy(access Access, repositoryARNs []string) (Document, error) {
	sid, err := repositorySid(access)
	if err != nil {
		return Document{}, err
	}
	if len(repositoryARNs) == 0 {
		return Document{}, fmt.Errorf("build managed permissions policy: no repositories")
	}
	return permissionsDocument(access, sid, sortedUnique(repositoryARNs), false), nil
}

// repositorySid names the repository statement. It differs per level so
// that a role switched between levels shows the change at a glance.
func repositorySid(access Access) (string, error) {
	switch access {
	case AccessPull, "":
		return "PullNamedRepositories", nil
	case AccessPush:
		return "PushAndPullNamedRepositories", nil
	}
	return "", fmt.Errorf("build permissions policy: unknown access level %q", access)
}

// permissionsDocument holds the repository statement for arns (none when
// arns is empty) and, when withToken, the ecr:GetAuthorizationToken grant.
func permissionsDocument(access Access, sid string, arns []string, withToken bool) Document {
	doc := Document{Version: Version, Statement: []Statement{}}
	if len(arns) > 0 {
		doc.Statement = append(doc.Statement, Statement{
			Sid: sid, Effect: "Allow", Action: RoleActions(access), Resource: Values(arns),
		})
	}
	if withToken {
		doc.Statement = append(doc.Statement, Statement{
			Sid: "GetRegistryLoginToken", Effect: "Allow",
			Action: Values{ActionGetAuthorizationToken}, Resource: Values{"*"},
		})
	}
	return doc
}

// fill returns how many of the leading arns fit in the document build
// makes, measured as IAM measures it, or -1 when not even the document
// without repositories fits. Each ARN beyond the second adds exactly its
// quoted length and a comma, so fill measures two documents and adds up
// the rest, then re-measures the result: a packing of thousands of ARNs
// costs a few encodings instead of one per ARN.
func fill(build func([]string) Document, arns []string, limit int) (int, error) {
	measure := func(k int) (int, error) {
		if k == 0 && len(build(nil).Statement) == 0 {
			return 0, nil
		}
		return build(arns[:k]).Size()
	}
	empty, err := measure(0)
	if err != nil {
		return 0, err
	}
	if empty > limit {
		return -1, nil
	}
	k := 0
	for k < min(2, len(arns)) {
		size, err := measure(k + 1)
		if err != nil {
			return 0, err
		}
		if size > limit {
			return k, nil
		}
		k++
	}
	if k < 2 {
		return k, nil
	}
	size, err := measure(2)
	if err != nil {
		return 0, err
	}
	for k < len(arns) && size+len(arns[k])+3 <= limit {
		size += len(arns[k]) + 3
		k++
	}
	// The estimate is exact for ARNs that need no JSON escaping; re-measure
	// so that one that does can never push a document over its quota.
	for k > 0 {
		size, err := measure(k)
		if err != nil {
			return 0, err
		}
		if size <= limit {
			break
		}
		k--
	}
	return k, nil
}
