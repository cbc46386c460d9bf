// Package export writes what setup would create as infrastructure code
// instead of creating it: a Terraform configuration, a CloudFormation
// template, or a CloudFormation template for a StackSet that deploys to the
// accounts of organizational units, with the same OIDC provider, role,
// trust policy, inline pull policy, managed policies (when the repository
// grants do not all fit the inline policy) and tags. The tags mark what it declares as managed by
// Terraform or CloudFormation (provision.ExportTags), so that setup and
// destroy leave it to that tool while plan and verify compare it as usual.
//
// Export makes no AWS call. The account ID and partition (and, for a
// StackSet, the region) are resolved by the target when it is applied
// (Terraform data sources, CloudFormation pseudo parameters), so the output does not depend on the credentials of whoever
// exported it and can be reviewed, committed and applied elsewhere. The policy
// documents are the desired values of the plan setup would make in an empty
// account (provision.ExportPlan) with placeholder partition and account,
// rendered into the target's syntax with the placeholders replaced by the
// target's references; they are never written by hand in a template.
package export

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/templates"
)

// Format is an export target.
type Format string

// The export targets.
const (
	Terraform      Format = "terraform"
	CloudFormation Format = "cloudformation"
	// CloudFormationStackSet is the CloudFormation template made for a
	// StackSet with service-managed permissions, deployed to organizational
	// units: repositories given by name resolve in each stack instance's
	// account and region.
	CloudFormationStackSet Format = "cloudformation-stackset"
)

// Formats lists the export targets, for help and validation.
var Formats = []Format{Terraform, CloudFormation, CloudFormationStackSet}

// File is one generated file.
type File struct {
	// Name is the file's base name, e.g. "main.tf".
	Name    string
	Content string
}

// Placeholders for the values only the target knows. No validated input can
// contain them: a NUL byte is in no UUID, repository name or ARN, git ref or
// pattern.
const (
	partitionToken = "\x00PARTITION\x00"
	accountToken   = "\x00ACCOUNT\x00"
	// regionToken is the region of repositories named without an ARN in
	// a StackSet export: each stack instance's.
	regionToken = "\x00REGION\x00"
)

// Render returns the files of the export of a validated spec in format.
func Render(format Format, spec provision.Spec) ([]File, error) {
	if !slices.Contains(Formats, format) {
		return nil, fmt.Errorf("render export: unknown format %q; use %s", format, formatList())
	}
	// The permissions are packed as setup packs them with the default
	// quotas, for the longest partition (and region): the placeholders are
	// not of real length, so the plan decides the packing on stand-ins.
	planned := spec
	if format == CloudFormationStackSet {
		planned.Region = regionToken
	}
	plan, err := provision.ExportPlan(planned, partitionToken, accountToken)
	if err != nil {
		return nil, err
	}
	data := exportData(format, spec)
	// The organization ID and the spec's audiences, as setup creates the
	// provider.
	data.ClientIDs = plan.ProviderClientIDs()
	providerARN := policy.ProviderARN(partitionToken, accountToken, spec.OrgID)
	render := cfnRenderer{providerARN: providerARN}.document
	if format == Terraform {
		render = hclRenderer{providerARN: providerARN}.document
	}
	if err := renderDocuments(&data, plan, spec.RoleName, render); err != nil {
		return nil, err
	}
	var name, out string
	switch format {
	case Terraform:
		name = "main.tf"
		out, err = templates.RenderTerraform(data)
	case CloudFormation:
		data.ProviderARN = renderJSON(cfnRenderer{providerARN: providerARN}.providerRef(), 0, false)
		name = "stack.yaml"
		out, err = templates.RenderCloudFormation(data)
	default:
		data.ProviderARN = renderJSON(cfnRenderer{providerARN: providerARN}.providerRef(), 0, false)
		name = StackSetTemplateFile
		out, err = templates.RenderCloudFormationStackSet(data)
	}
	if err != nil {
		return nil, err
	}
	return []File{{Name: name, Content: out}}, nil
}

// exportData is the template data of an export but for its documents.
func exportData(format Format, spec provision.Spec) templates.Export {
	description := "CircleCI OIDC provider and ECR pull role for organization " + spec.OrgID + " (circleci-ecr-oidc)"
	if format == CloudFormationStackSet {
		description = "CircleCI OIDC provider and ECR pull role for organization " + spec.OrgID + " in each account of the StackSet (circleci-ecr-oidc)"
	}
	data := templates.Export{
		OrgID: spec.OrgID, ProjectIDs: spec.ProjectIDs, AllProjects: spec.AllProjects, Branches: spec.Branches,
		Repositories: spec.Repositories, Region: spec.Region, IssuerURL: policy.IssuerURL(spec.OrgID),
		RoleName: spec.RoleName, PolicyName: provision.PolicyName, RoleDescription: provision.RoleDescription,
		Description: description,
	}
	// The tags setup puts on what it creates (--tag values plus the
	// ownership tags), but with the managed tag naming the tool that
	// applies the export: setup and destroy then leave what it creates to
	// that tool instead of fighting its state.
	managedBy := provision.ManagedByCloudFormation
	if format == Terraform {
		managedBy = provision.ManagedByTerraform
	}
	tags := provision.ExportTags(spec, managedBy)
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		data.Tags = append(data.Tags, templates.Tag{Key: k, Value: tags[k]})
	}
	return data
}

// renderDocuments puts the plan's documents into data, rendered with render.
func renderDocuments(data *templates.Export, plan *provision.Plan, roleName string, render func(policy.Document) (string, error)) error {
	var err error
	if data.TrustPolicy, err = render(plan.TrustPolicy); err != nil {
		return err
	}
	if data.PermissionsPolicy, err = render(plan.PermissionsPolicy); err != nil {
		return err
	}
	for i, desired := range plan.ManagedPolicies {
		mp := templates.ManagedPolicy{
			N: i + 1, Name: desired.Name,
			Path: provision.ManagedPolicyPath(roleName), Description: provision.ManagedPolicyDescription,
		}
		if mp.Document, err = render(desired.Document); err != nil {
			return err
		}
		data.ManagedPolicies = append(data.ManagedPolicies, mp)
	}
	return nil
}

// FieldFormat is the export's format, the one input setup does not have.
const FieldFormat provision.Field = "format"

// ParseFormat checks a format value. The error is a *provision.InputError
// of FieldFormat, also when the value is missing.
func ParseFormat(s string) (Format, error) {
	if s == "" {
		return "", &provision.InputError{Field: FieldFormat, Rule: "is required: " + formatList()}
	}
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Formats, f) {
		return f, nil
	}
	return "", &provision.InputError{Field: FieldFormat, Value: s, Rule: "must be " + formatList()}
}

// formatList names the formats for messages: "a, b or c".
func formatList() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	last := len(names) - 1
	return strings.Join(names[:last], ", ") + " or " + names[last]
}
