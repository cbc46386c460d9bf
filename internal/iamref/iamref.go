// Package iamref holds IAM's documented matching rules written as plainly
// as possible, apart from the policy package's evaluator, so that tests can
// check the evaluator, and what the tool writes, against them.
package iamref

import (
	"regexp"
	"strings"
)

// StringLike reports whether value matches pattern as IAM's documentation
// writes StringLike: a case-sensitive match of the whole value, where *
// stands for any run of characters (the empty run and "/" included) and ?
// for exactly one character.
func StringLike(pattern, value string) bool {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String()).MatchString(value)
}
