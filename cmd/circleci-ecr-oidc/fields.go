package main

import (
	"strings"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/fleet"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// The fields only the command line has: its own flags, and the pair a
// missing-flag error names together.
const (
	fieldOutput     provision.Field = "output"
	fieldFormat     provision.Field = "format"
	fieldConfigFile provision.Field = "config-file"
)

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
	fieldFormat:                           "--format",
	fieldConfigFile:                       "--config-file",
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
func errorText(err error) string {
	msg := err.Error()
	for _, in := range inputErrors(err) {
		msg = strings.Replace(msg, in.Error(), in.Describe(flagName), 1)
	}
	return msg
}

// inputErrors are the input errors in err's tree, outermost first.
func inputErrors(err error) []*provision.InputError {
	var found []*provision.InputError
	var walk func(error)
	walk = func(err error) {
		if in, ok := err.(*provision.InputError); ok {
			found = append(found, in)
			return
		}
		switch e := err.(type) {
		case interface{ Unwrap() error }:
			if inner := e.Unwrap(); inner != nil {
				walk(inner)
			}
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		}
	}
	walk(err)
	return found
}

// flagNamed returns err with its input errors naming flags, for a message
// printed elsewhere than run's, such as one account's in a multi-account
// report; errors.As still finds the input error.
func flagNamed(err error) error {
	if err == nil || len(inputErrors(err)) == 0 {
		return err
	}
	return &namedError{err: err, text: errorText(err)}
}

// namedError is an error whose message names flags.
type namedError struct {
	err  error
	text string
}

func (e *namedError) Error() string { return e.text }
func (e *namedError) Unwrap() error { return e.err }
