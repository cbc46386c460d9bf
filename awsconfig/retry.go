// Package awsconfig builds the AWS SDK configuration every command's clients
// use: the profile and region, the retry policy (attempts, capped backoff, no
// retry quota), a time limit per call, the SDK's logging under --debug, and
// the hints that turn common AWS failures into something a user can act on;
// and from it the engine's clients, with those of the registry account's
// profile (Clients, LoadRegistry). It makes no AWS call itself.
package awsconfig

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
)

// Retry settings. IAM's control plane throttles hard in real accounts, and
// setup reads concurrently, so one call can draw several throttling errors
// in a row; the SDK's default of 3 attempts fails such runs. A user runs
// this tool once and expects it to finish, so each call gets as many
// attempts as Terraform's AWS provider gives it by default (max_retries
// 25), with the waits and the whole call bounded in time so that a run that
// can never succeed still ends within minutes.
const (
	// DefaultAttempts is the attempts per call, first try included, when
	// neither --max-attempts, AWS_MAX_ATTEMPTS nor the profile's
	// max_attempts says otherwise.
	DefaultAttempts = 25
	// Bounds of --max-attempts. By about 50 attempts the call time limit
	// ends a call that keeps being throttled anyway.
	MinAttempts = 1
	MaxAttempts = 50
	// MaxRetryWait caps one wait between attempts. The SDK backs off
	// exponentially with full jitter from 1 s for throttling (50 ms for
	// other errors) up to this cap; its own cap, 20 s, would let one call
	// of 25 attempts wait up to 7 minutes. With 5 s a call that is
	// throttled throughout waits about a minute in all (under 2 minutes at
	// worst), and still sends one attempt every 2.5 s on average, far
	// below any IAM rate limit.
	MaxRetryWait = 5 * time.Second
	// CallTimeLimit bounds one AWS call: all its attempts, the waits
	// between them, and any attempt that hangs (a dropped network waits
	// 30 s per attempt to connect). The call then fails with
	// CallTimeLimitError.
	CallTimeLimit = 2 * time.Minute
)

// Attempts is --max-attempts: the SDK retryer's attempts per call,
// first try included. Unset (zero) leaves the SDK's own resolution alone:
// AWS_MAX_ATTEMPTS, max_attempts in the profile, else DefaultAttempts.
type Attempts struct{ n int }

func (v *Attempts) String() string {
	if v.n == 0 {
		return ""
	}
	return strconv.Itoa(v.n)
}

func (v *Attempts) Type() string { return "int" }

// Set validates at parse time, so a bad value is a usage error (exit 2)
// whichever command carries the flag, before any AWS call.
func (v *Attempts) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < MinAttempts || n > MaxAttempts {
		return fmt.Errorf("must be a whole number from %d to %d (attempts per AWS call, first try included)", MinAttempts, MaxAttempts)
	}
	v.n = n
	return nil
}

// loadOptions are the SDK load options the flag asks for: none when it was
// not given, so the environment and the profile still decide.
func (v *Attempts) LoadOptions() []func(*config.LoadOptions) error {
	if v.n == 0 {
		return nil
	}
	return []func(*config.LoadOptions) error{config.WithRetryMaxAttempts(v.n)}
}

// NewRetryer returns the SDK's standard retryer (bounded attempts,
// exponential backoff with jitter capped at MaxRetryWait) that also
// retries IAM's ConcurrentModification, which IAM answers when two writes
// to one entity overlap (two setup runs, or a console edit): repeating the
// write is safe and is what IAM asks for. attempts <= 0 means
// DefaultAttempts.
//
// The client-side retry quota is off (ratelimit.None). It is a token bucket
// per client (500 tokens; a retry costs 14, or 5 after throttling, and only
// a retry that succeeds gets its cost back) meant to keep a long-lived
// service from amplifying an outage with retries. This tool is one run of
// tens to a few hundred calls, each already bounded by its attempts, the
// capped backoff and CallTimeLimit. When more than half of the requests
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
func NewRetryer(attempts int) func() aws.Retryer {
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	return func() aws.Retryer {
		std := retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.MaxBackoff = MaxRetryWait
			o.RateLimiter = ratelimit.None
		})
		return retry.AddWithErrorCodes(std, "ConcurrentModification")
	}
}

// CallTimeLimitError is an AWS call that CallTimeLimit ended.
type CallTimeLimitError struct {
	Limit time.Duration
	// last is how the last attempt that got an answer failed, if any did;
	// err is what the call returned when the limit struck.
	last, err error
}

func (e *CallTimeLimitError) Error() string {
	if e.last == nil {
		return fmt.Sprintf("stop after %s without an answer: %v", e.Limit, e.err)
	}
	return fmt.Sprintf("stop retrying after %s; the last attempt failed: %v", e.Limit, e.last)
}

func (e *CallTimeLimitError) Unwrap() []error {
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

// LimitCallTime is SDK middleware that gives each call, with all its
// attempts, at most limit. It runs first in the stack, so the deadline
// covers the retry loop, the waits and every attempt; a step inside the
// retry loop notes each failed attempt, so the error can say what AWS kept
// answering rather than only that time ran out.
func LimitCallTime(limit time.Duration) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("CallTimeLimit", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			last := &lastAttempt{}
			callCtx, cancel := context.WithTimeout(context.WithValue(ctx, lastAttemptKey{}, last), limit)
			defer cancel()
			out, md, err := next.HandleInitialize(callCtx, in)
			// Only this limit, not an interruption or a caller's deadline.
			if err != nil && ctx.Err() == nil && errors.Is(callCtx.Err(), context.DeadlineExceeded) {
				err = &CallTimeLimitError{Limit: limit, last: last.err, err: err}
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
