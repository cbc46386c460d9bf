package provision

import "strings"

// DescribeInputs is err's message with every input error in its tree
// rendered by Describe(name): the engine's errors as a front end shows
// them, naming its own inputs (flags, form fields) rather than fields.
func DescribeInputs(err error, name func(Field) string) string {
	msg := err.Error()
	for _, in := range inputErrors(err) {
		msg = strings.Replace(msg, in.Error(), in.Describe(name), 1)
	}
	return msg
}

// NameInputs returns err with the message DescribeInputs gives it, for a
// message printed elsewhere than where the front end prints its errors,
// such as one account's in a multi-account report. errors.As still finds
// the input errors; err without any is returned as it is.
func NameInputs(err error, name func(Field) string) error {
	if err == nil || len(inputErrors(err)) == 0 {
		return err
	}
	return &namedInputsError{err: err, text: DescribeInputs(err, name)}
}

// inputErrors are the input errors in err's tree, outermost first.
func inputErrors(err error) []*InputError {
	var found []*InputError
	var walk func(error)
	walk = func(err error) {
		if in, ok := err.(*InputError); ok {
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

// namedInputsError is an error whose message names a front end's inputs.
type namedInputsError struct {
	err  error
	text string
}

func (e *namedInputsError) Error() string { return e.text }
func (e *namedInputsError) Unwrap() error { return e.err }
