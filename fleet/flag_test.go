package fleet

import (
	"strings"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// flagOf names an input error's fields as the command line's flags do,
// for tables written in flags.
func flagOf(e *provision.InputError) string {
	subject := *e
	subject.Value = ""
	return strings.TrimSuffix(subject.Describe(func(f provision.Field) string { return "--" + string(f) }), " "+e.Rule)
}
