package export

import (
	"errors"
	"strings"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// flagText is err's message as the command line prints it: its input
// error names flags.
func flagText(err error) string {
	msg := err.Error()
	var ie *provision.InputError
	if errors.As(err, &ie) {
		msg = strings.Replace(msg, ie.Error(), ie.Describe(func(f provision.Field) string { return "--" + string(f) }), 1)
	}
	return msg
}
