package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/middleware"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// Retry settings. IAM's control plane throttles hard in real accounts, and
// setup reads concurrently, so one call can draw several throttling errors
// in a row; the SDK's default of 3 attempts fails such runs. A user runs
// this tool once and expects it to finish, so each call gets as many
// attempts as Terraform's AWS provider gives it by default (max_retries
// 25), with the waits and the whole call bounded in time so that a run that
// can never succeed still ends within minutes.
const (
	// defaultAttempts is the attempts per call, first try included, when
	// neither --max-attempts, AWS_MAX_ATTEMPTS nor the profile's
	// max_attempts says otherwise.
	defaultAttempts = 25
	// Bounds of --max-attempts. By about 50 attempts the call time limit
	// ends a call that keeps being throttled anyway.
	minAttempts = 1
	maxAttempts = 50
	// maxRetryWait caps one wait between attempts. The SDK backs off
	// exponentially with full jitter from 1 s for throttling (50 ms for
	// other errors) up to this cap; its own cap, 20 s, would let one call
	// of 25 attempts wait up to 7 minutes. With 5 s a call that is
	// throttled throughout waits about a minute in all (under 2 minutes at
	// worst), and still sends one attempt every 2.5 s on average, far
	// below any IAM rate limit.
	maxRetryWait = 5 * time.Second
	// callTimeLimit bounds one AWS call: all its attempts, the waits
	// between them, and any attempt that hangs (a dropped network waits
	// 30 s per attempt to connect). The call then fails with
	// callTimeLimitError.
	callTimeLimit = 2 * time.Minute
)

// attemptsValue is --max-attempts: the SDK retryer's attempts per call,
// first try included. Unset (zero) leaves the SDK's own resolution alone:
// AWS_MAX_ATTEMPTS, max_attempts in the profile, else defaultAttempts.
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
// exponential backoff with jitter capped at maxRetryWait) that also
// retries IAM's ConcurrentModification, which IAM answers when two writes
// to one entity overlap (two setup runs, or a console edit): repeating the
// write is safe and is what IAM asks for. attempts <= 0 means
// defaultAttempts.
//
// The client-side retry quota is off (ratelimit.None). It is a token bucket
// per client (500 tokens; a retry costs 14, or 5 after throttling, and only
// a retry that succeeds gets its cost back) meant to keep a long-lived
// service from amplifying an outage with retries. This tool is one run of
// tens to a few hundred calls, each already bounded by its attempts, the
// capped backoff and callTimeLimit. When more than half of the requests
// fail, the bucket runs dry within a run and then fails calls without
// retrying them at all, the very failure the attempts are there to
// prevent: with the quota on, a setup --shard of 200 projects and 1,000
// repositories (120 calls) through issue 11's fault matrix failed with
// "retry quota exceeded" after about 100 retries, and with it off it
// succeeded. Terraform's AWS provider turned the quota off for the same
// reason (hashicorp/terraform-provider-aws#36467).
//
// It is installed on the loaded aws.Config rather than passed as
// config.WithRetryer, because with WithRetryer the SDK skips resolving
// AWS_MAX_ATTEMPTS and the profile's max_attempts altogether.
func newRetryer(attempts int) func() aws.Retryer {
	if attempts <= 0 {
		attempts = defaultAttempts
	}
	return func() aws.Retryer {
		std := retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.MaxBackoff = maxRetryWait
			o.RateLimiter = ratelimit.None
		})
		return retry.AddWithErrorCodes(std, "ConcurrentModification")
	}
}

// callTimeLimitError is an AWS call that callTimeLimit ended.
type callTimeLimitError struct {
	limit time.Duration
	// last is how the last attempt that got an answer failed, if any did;
	// err is what the call returned when the limit struck.
	last, err error
}

func (e *callTimeLimitError) Error() string {
	if e.last == nil {
		return fmt.Sprintf("stop after %s without an answer: %v", e.limit, e.err)
	}
	return fmt.Sprintf("stop retrying after %s; the last attempt failed: %v", e.limit, e.last)
}

func (e *callTimeLimitError) Unwrap() []error {
	if e.last == nil {
		return []error{e.err}
	}
	return []error{e.err, e.last}
}

// lastAttemptKey is the context key of a call's *lastAttempt.
type lastAttemptKey struct{}

// lastAttempt keeps the error of a call's latest failed attempt. The SDK
// makes a call's attempts one after another on the caller's goroutine.
type lastAttempt struct{ err error }

// limitCallTime is SDK middleware that gives each call, with all its
// attempts, at most limit. It runs first in the stack, so the deadline
// covers the retry loop, the waits and every attempt; a step inside the
// retry loop notes each failed attempt, so the error can say what AWS kept
// answering rather than only that time ran out.
func limitCallTime(limit time.Duration) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("CallTimeLimit", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			last := &lastAttempt{}
			callCtx, cancel := context.WithTimeout(context.WithValue(ctx, lastAttemptKey{}, last), limit)
			defer cancel()
			out, md, err := next.HandleInitialize(callCtx, in)
			// Only this limit, not an interruption or a caller's deadline.
			if err != nil && ctx.Err() == nil && errors.Is(callCtx.Err(), context.DeadlineExceeded) {
				err = &callTimeLimitError{limit: limit, last: last.err, err: err}
			}
			return out, md, err
		}), middleware.Before)
		if err != nil {
			return err
		}
		return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("NoteFailedAttempt", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleFinalize(ctx, in)
			if last, ok := ctx.Value(lastAttemptKey{}).(*lastAttempt); ok && err != nil && ctx.Err() == nil {
				last.err = err
			}
			return out, md, err
		}), "Retry", middleware.After)
	}
}
