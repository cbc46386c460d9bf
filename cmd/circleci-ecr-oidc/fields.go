package main

import (
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// fieldOutput is the one field only the command line has: the output
// format of its commands.
const fieldOutput provision.Field = "output"

// flagName is the flag of a field. Each field is named as its flag is, so
// the flag is "--" and the field's name (TestEveryFieldHasAFlag checks that
// every field of the engine is a flag of some command), but for the fields
// in fieldsNamedOtherwise.
func flagName(field provision.Field) string {
	if name, ok := fieldsNamedOtherwise[field]; ok {
		return name
	}
	return "--" + string(field)
}

// fieldsNamedOtherwise are the fields that are not one flag.
var fieldsNamedOtherwise = map[provision.Field]string{
	// The audiences come from CircleCI, not from a flag.
	provision.FieldAudience: "audience",
	// A missing-flag error names the pair together.
	provision.FieldProjectIDOrAllProjects: "--project-id or --all-projects",
}

// errorText is err's message with every input error in it naming flags
// rather than fields.
func errorText(err error) string { return provision.DescribeInputs(err, flagName) }

// flagNamed returns err with its input errors naming flags, for a message
// printed elsewhere than run's, such as one account's in a multi-account
// report; errors.As still finds the input error.
func flagNamed(err error) error { return provision.NameInputs(err, flagName) }
