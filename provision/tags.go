package provision

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Tag limits from the IAM API reference (Tag, TagRole) and the IAM User
// Guide's tagging rules.
const (
	// MaxTags is how many tags an IAM role or OIDC provider can carry.
	MaxTags        = 50
	maxTagKeyLen   = 128 // characters, not bytes
	maxTagValueLen = 256 // characters, not bytes
	// ownTagPrefix is the namespace of the ownership tags; --tag may not
	// set or shadow them.
	ownTagPrefix = "circleci-ecr-oidc:"
	// reservedTagPrefix is reserved for AWS in any letter case.
	reservedTagPrefix = "aws:"
)

// iamTagPattern is IAM's pattern for tag keys and values: Unicode letters,
// separators (white space) and numbers, and _ . : / = + - @.
var iamTagPattern = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// ParseTag parses one --tag value, KEY=VALUE, splitting at the first "="
// (so a value may contain "=", a key cannot). The value may be empty. The
// key and value must follow ValidateTag's rules.
func ParseTag(field Field, value string) (key, val string, err error) {
	key, val, ok := strings.Cut(value, "=")
	if !ok {
		return "", "", &InputError{Field: field, Value: value, Rule: "must be KEY=VALUE, such as team=platform"}
	}
	if err := ValidateTag(field, key, val); err != nil {
		return "", "", err
	}
	return key, val, nil
}

// ValidateTag checks one tag exactly as IAM does: a key of 1 to 128 and a
// value of 0 to 256 characters, each made of Unicode letters, digits,
// white space and _ . : / = + - @. It also refuses keys starting with
// "aws:" (reserved for AWS, in any letter case) and keys in this tool's own
// circleci-ecr-oidc: namespace, which mark ownership and must not be
// overridden. The prefix checks ignore case because IAM treats role tag
// keys case-insensitively: "Circleci-Ecr-Oidc:managed" would replace ours.
func ValidateTag(field Field, key, val string) error {
	shown := key + "=" + val
	switch {
	case !utf8.ValidString(key) || !utf8.ValidString(val):
		return &InputError{Field: field, Value: shown, Rule: "is not valid UTF-8"}
	case key == "":
		return &InputError{Field: field, Value: shown, Rule: "needs a key before the '=': KEY=VALUE"}
	case utf8.RuneCountInString(key) > maxTagKeyLen:
		return &InputError{Field: field, Value: shown, Rule: fmt.Sprintf("a tag key is at most %d characters", maxTagKeyLen)}
	case utf8.RuneCountInString(val) > maxTagValueLen:
		return &InputError{Field: field, Value: shown, Rule: fmt.Sprintf("a tag value is at most %d characters", maxTagValueLen)}
	case !iamTagPattern.MatchString(key) || !iamTagPattern.MatchString(val):
		return &InputError{Field: field, Value: shown, Rule: "tag keys and values may contain only letters, digits, spaces and _ . : / = + - @"}
	case hasPrefixFold(key, reservedTagPrefix):
		return &InputError{Field: field, Value: shown, Rule: "keys starting with aws: are reserved for AWS"}
	case hasPrefixFold(key, ownTagPrefix):
		return &InputError{Field: field, Value: shown, Rule: "keys starting with " + ownTagPrefix + " mark what circleci-ecr-oidc manages and cannot be set"}
	}
	return nil
}

// ParseTags parses repeated --tag values into a map. Two values for the
// same key (ignoring case, as IAM does for role tags) are an error rather
// than last-wins, because either choice would silently drop one.
func ParseTags(field Field, values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	tags := make(map[string]string, len(values))
	for _, v := range values {
		key, val, err := ParseTag(field, v)
		if err != nil {
			return nil, err
		}
		if prev, ok := lookupFold(tags, key); ok {
			return nil, &InputError{Field: field, Value: v, Rule: fmt.Sprintf("repeats the key %q; give each key once", prev)}
		}
		tags[key] = val
	}
	if err := validateTagCount(field, tags); err != nil {
		return nil, err
	}
	return tags, nil
}

// validateTags checks a tag map as Spec.Validate receives it (from flags or
// the wizard).
func validateTags(field Field, tags map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if err := ValidateTag(field, k, tags[k]); err != nil {
			return err
		}
	}
	seen := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if prev, ok := lookupFold(seen, k); ok {
			return &InputError{Field: field, Value: k, Rule: fmt.Sprintf("differs from the key %q only in letter case; IAM treats them as one key", prev)}
		}
		seen[k] = ""
	}
	return validateTagCount(field, tags)
}

func validateTagCount(field Field, tags map[string]string) error {
	if limit := MaxTags - len(ownershipTags("")); len(tags) > limit {
		return &InputError{Field: field, Value: fmt.Sprintf("%d tags", len(tags)), Rule: fmt.Sprintf("at most %d tags: IAM allows %d per role, and circleci-ecr-oidc adds its own %d", limit, MaxTags, MaxTags-limit)}
	}
	return nil
}

// missingTags returns the keys of want that have has lacks or holds with a
// different value, sorted. Keys are matched ignoring case, as IAM matches
// role tag keys.
func missingTags(has, want map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if v, ok := lookupValueFold(has, k); !ok || v != want[k] {
			out = append(out, k)
		}
	}
	return out
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// lookupFold returns the key of m equal to key ignoring case.
func lookupFold(m map[string]string, key string) (string, bool) {
	for k := range m {
		if strings.EqualFold(k, key) {
			return k, true
		}
	}
	return "", false
}

func lookupValueFold(m map[string]string, key string) (string, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	if k, ok := lookupFold(m, key); ok {
		return m[k], true
	}
	return "", false
}
