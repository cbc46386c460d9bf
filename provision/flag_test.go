package provision

import (
	"errors"
	"strings"
)

// dashed names a field as the command line's flag does, for tests written
// in flags.
func dashed(f Field) string { return "--" + string(f) }

// flagOf names an input error's fields as the command line's flags do.
func flagOf(e *InputError) string {
	subject := *e
	subject.Value = ""
	return strings.TrimSuffix(subject.Describe(dashed), " "+e.Rule)
}

// flagText is err's message as the command line prints it: its input
// error names flags.
func flagText(err error) string {
	msg := err.Error()
	var ie *InputError
	if errors.As(err, &ie) {
		msg = strings.Replace(msg, ie.Error(), ie.Describe(dashed), 1)
	}
	return msg
}
