package main

import (
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleciconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/export"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/fleet"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// fieldOutput is the one field only the command line has: the output
// format of its commands.
const fieldOutput provision.Field = "output"

// flagNames maps each field to the flag that carries it: the one place
// where the engine's fields become the command line's flags.
var flagNames = map[provision.Field]string{
	provision.FieldOrgID:            "--org-id",
	provision.FieldProjectID:        "--project-id",
	provision.FieldAllProjects:      "--all-projects",
	provision.FieldProjectCondition: "--project-condition",
	provision.FieldRepo:             "--repo",
	provision.FieldImage:            "--image",
	provision.FieldRegion:           "--region",
	provision.FieldRoleName:         "--role-name",
	provision.FieldRoleARN:          "--role-arn",
	provision.FieldBranch:           "--branch",
	provision.FieldTag:              "--tag",
	provision.FieldAccess:           "--access",
	// The audiences come from CircleCI, not from a flag.
	provision.FieldAudience:    "audience",
	provision.FieldShard:       "--shard",
	provision.FieldToken:       "--token",
	provision.FieldClaims:      "--claims",
	provision.FieldAssume:      "--assume",
	provision.FieldCommand:     "--command",
	provision.FieldAccountRole: "--account-role",
	provision.FieldAccountID:   "--account-id",
	provision.FieldPartition:   "--partition",
	provision.FieldProfile:     "--profile",
	provision.FieldOU:          "--ou",

	fleet.FieldProfiles:        "--profiles",
	fleet.FieldOrgAccounts:     "--org-accounts",
	fleet.FieldAccounts:        "--accounts",
	fleet.FieldExcludeAccounts: "--exclude-accounts",
	fleet.FieldParallel:        "--parallel",

	fieldOutput:                           "--output",
	export.FieldFormat:                    "--format",
	circleciconfig.FieldConfigFile:        "--config-file",
	provision.FieldKeepUnusedRoles:        "--keep-unused-roles",
	provision.FieldCircleCIHost:           "--circleci-host",
	provision.FieldRegistryProfile:        "--registry-profile",
	provision.FieldProjectIDOrAllProjects: "--project-id or --all-projects",
}

// flagName is the flag of a field; a field without one keeps its own name.
func flagName(field provision.Field) string {
	if flag, ok := flagNames[field]; ok {
		return flag
	}
	return string(field)
}

// errorText is err's message with every input error in it naming flags
// rather than fields.
func errorText(err error) string { return provision.DescribeInputs(err, flagName) }

// flagNamed returns err with its input errors naming flags, for a message
// printed elsewhere than run's, such as one account's in a multi-account
// report; errors.As still finds the input error.
func flagNamed(err error) error { return provision.NameInputs(err, flagName) }
