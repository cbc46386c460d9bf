package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// Bounds of --max-attempts. Twenty attempts with the SDK's backoff (capped
// at 20 s a wait) is already minutes of retrying; more only hides an outage.
const (
	minAttempts = 1
	maxAttempts = 20
)

// attemptsValue is --max-attempts: the SDK retryer's attempts per call,
// first try included. Unset (zero) leaves the SDK's own resolution alone:
// AWS_MAX_ATTEMPTS, max_attempts in the profile, else the SDK default 3.
type attemptsValue struct{ n int }

func (v *attemptsValue) String() string {
	if v.n == 0 {
		return ""
	}
	return strconv.Itoa(v.n)
}

func (v *attemptsValue) Type() string { return "int" }

// Set validates at parse time, so a bad value is a usage error (exit 2)
// whichever command carries the flag, before any AWS call.
func (v *attemptsValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < minAttempts || n > maxAttempts {
		return fmt.Errorf("must be a whole number from %d to %d (attempts per AWS call, first try included)", minAttempts, maxAttempts)
	}
	v.n = n
	return nil
}

// loadOptions are the SDK load options the flag asks for: none when it was
// not given, so the environment and the profile still decide.
func (v *attemptsValue) loadOptions() []func(*config.LoadOptions) error {
	if v.n == 0 {
		return nil
	}
	return []func(*config.LoadOptions) error{config.WithRetryMaxAttempts(v.n)}
}

// tagsValue is the repeatable --tag KEY=VALUE. Each value is checked
// against IAM's tag rules as it is parsed, so every command that takes the
// flag refuses a bad tag before any AWS call, with the flag named.
type tagsValue struct {
	raw  []string
	tags map[string]string
}

func (v *tagsValue) String() string { return "[" + strings.Join(v.raw, ",") + "]" }

func (v *tagsValue) Type() string { return "stringArray" }

func (v *tagsValue) Set(s string) error {
	tags, err := provision.ParseTags("--tag", append(v.raw[:len(v.raw):len(v.raw)], s))
	if err != nil {
		var ie *provision.InputError
		if errors.As(err, &ie) {
			return fmt.Errorf("%s", ie.Rule)
		}
		return err
	}
	v.raw, v.tags = append(v.raw, s), tags
	return nil
}

// newRetryer returns the SDK's standard retryer (bounded attempts,
// exponential backoff with jitter, client-side retry quota) that also
// retries IAM's ConcurrentModification, which IAM answers when two writes
// to one entity overlap (two setup runs, or a console edit): repeating the
// write is safe and is what IAM asks for. attempts <= 0 means the SDK
// default.
//
// It is installed on the loaded aws.Config rather than passed as
// config.WithRetryer, because with WithRetryer the SDK skips resolving
// AWS_MAX_ATTEMPTS and the profile's max_attempts altogether.
func newRetryer(attempts int) func() aws.Retryer {
	return func() aws.Retryer {
		std := retry.NewStandard(func(o *retry.StandardOptions) {
			if attempts > 0 {
				o.MaxAttempts = attempts
			}
		})
		return retry.AddWithErrorCodes(std, "ConcurrentModification")
	}
}
