package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// tagsValue is the repeatable --tag KEY=VALUE. Each value is checked
// against IAM's tag rules as it is parsed, so every command that takes the
// flag refuses a bad tag before any AWS call, with the flag named.
type tagsValue struct {
	raw []string
	// tags is where the parsed tags go: the provision.Input's.
	tags *map[string]string
}

func (v *tagsValue) String() string { return "[" + strings.Join(v.raw, ",") + "]" }

func (v *tagsValue) Type() string { return "stringArray" }

func (v *tagsValue) Set(s string) error {
	tags, err := provision.ParseTags(provision.FieldTag, append(v.raw[:len(v.raw):len(v.raw)], s))
	if err != nil {
		var ie *provision.InputError
		if errors.As(err, &ie) {
			return fmt.Errorf("%s", ie.Rule)
		}
		return err
	}
	v.raw, *v.tags = append(v.raw, s), tags
	return nil
}
