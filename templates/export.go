package templates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Export is the data of the Terraform, CloudFormation and CloudFormation
// StackSet exports. The policy fields are expressions in the target's
// syntax, rendered by package export from the documents package policy
// builds; the templates only place them.
type Export struct {
	OrgID       string
	ProjectIDs  []string
	AllProjects bool
	// Branches are the git refs the role is pinned to, if any.
	Branches     []string
	Repositories []string
	// Region is where repositories named without an ARN are; for a
	// StackSet, the region its instances are deployed to.
	Region      string
	IssuerURL   string
	ClientIDs   []string
	RoleName    string
	PolicyName  string
	Description string
	// RoleDescription is the description setup puts on the role.
	RoleDescription string
	// Tags are the ownership tags, in a stable order.
	Tags []Tag
	// TrustPolicy and PermissionsPolicy are the documents as expressions:
	// an HCL object for jsonencode in Terraform, JSON (a YAML flow mapping)
	// in CloudFormation. Their first line is not indented; later lines are
	// indented relative to it.
	TrustPolicy, PermissionsPolicy string
	// ProviderARN is the expression for the provider's ARN (CloudFormation).
	ProviderARN string
	// ManagedPolicies hold the repository grants that do not fit the
	// inline policy, in order; none when all fit, and then the output has
	// no managed-policy resource at all.
	ManagedPolicies []ManagedPolicy
}

// ManagedPolicy is one customer managed policy attached to the role.
type ManagedPolicy struct {
	// N numbers the policy from 1: Terraform resources aws_iam_policy.ecr_N
	// and aws_iam_role_policy_attachment.ecr_N, CloudFormation logical ID
	// ManagedPolicyN.
	N int
	// Name, Path and Description are setup's for the policy.
	Name, Path, Description string
	// Document is the policy as an expression, as PermissionsPolicy.
	Document string
}

// Tag is one resource tag.
type Tag struct{ Key, Value string }

// RenderTerraform renders the Terraform configuration (main.tf).
func RenderTerraform(e Export) (string, error) {
	return render("main.tf.tmpl", "Terraform configuration", e)
}

// RenderCloudFormation renders the CloudFormation template (YAML).
func RenderCloudFormation(e Export) (string, error) {
	return render("stack.yaml.tmpl", "CloudFormation template", e)
}

// RenderCloudFormationStackSet renders the template of a StackSet with
// service-managed permissions (YAML): the CloudFormation template's
// parameters, resources and outputs under a header for StackSets. The
// documents must name the region as each stack instance's (AWS::Region).
func RenderCloudFormationStackSet(e Export) (string, error) {
	return render("stackset.yaml.tmpl", "CloudFormation StackSet template", e)
}

func render(name, what string, e Export) (string, error) {
	if e.OrgID == "" || e.RoleName == "" || e.TrustPolicy == "" || e.PermissionsPolicy == "" {
		return "", fmt.Errorf("render %s: organization, role name and both policies are required", what)
	}
	for i, mp := range e.ManagedPolicies {
		if mp.N != i+1 || mp.Name == "" || mp.Path == "" || mp.Document == "" {
			return "", fmt.Errorf("render %s: managed policy %d needs its number %d, a name, a path and a document", what, i+1, i+1)
		}
	}
	var buf bytes.Buffer
	if err := parsed.ExecuteTemplate(&buf, name, e); err != nil {
		return "", fmt.Errorf("render %s: %w", what, err)
	}
	return buf.String(), nil
}

// HCLString quotes s as an HCL string literal: JSON's escapes, which HCL
// shares, plus "$${" and "%%{" so that no input starts an interpolation or a
// template directive.
func HCLString(s string) string {
	q := JSONString(s)
	q = strings.ReplaceAll(q, "${", "$${")
	return strings.ReplaceAll(q, "%{", "%%{")
}

// JSONString quotes s as a JSON string, which is also a valid YAML
// double-quoted scalar, without HTML escaping.
func JSONString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(buf.String(), "\n")
}

// indent prefixes every line of s but the first with n spaces, so that a
// multi-line expression can follow a key in a template.
func indent(n int, s string) string {
	return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", n))
}

// RepositoryList is the repositories for the header comment: on one line,
// or, when there are many, wrapped at about 80 columns with the following
// lines continuing the comment under the first.
func (e Export) RepositoryList() string {
	if len(e.Repositories) <= repositoryListOneLine {
		return strings.Join(e.Repositories, ", ")
	}
	const (
		// continuation aligns the next lines under the first value of
		// "#   repositories  ".
		continuation = "\n#                 "
		width        = 80 - len("#                 ")
	)
	var b strings.Builder
	line := 0
	for i, r := range e.Repositories {
		item := r
		if i < len(e.Repositories)-1 {
			item += ","
		}
		switch {
		case i == 0:
		case line+1+len(item) > width:
			b.WriteString(continuation)
			line = 0
		default:
			b.WriteString(" ")
			line++
		}
		b.WriteString(item)
		line += len(item)
	}
	return b.String()
}

// repositoryListOneLine is how many repositories the header lists on one
// line, however long.
const repositoryListOneLine = 10
