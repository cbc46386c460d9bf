package awsconfig

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
)

// TestRetryerAttemptsAndRetryables checks the retryer the clients get:
// standard mode, ConcurrentModification retryable, the attempts from
// --max-attempts, else AWS_MAX_ATTEMPTS, else the profile's max_attempts,
// else the tool's default of 25, and backoff capped at MaxRetryWait.
func TestRetryerAttemptsAndRetryables(t *testing.T) {
	configFile := isolateAWSConfig(t)
	retryer := func(t *testing.T, profile, env, flag string) aws.Retryer {
		t.Helper()
		if err := os.WriteFile(configFile, []byte("[default]\n"+profile), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("AWS_MAX_ATTEMPTS", env)
		var v Attempts
		if flag != "" {
			if err := v.Set(flag); err != nil {
				t.Fatal(err)
			}
		}
		cfg, err := Load(context.Background(), "", "us-east-1", v.LoadOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		return iam.NewFromConfig(cfg).Options().Retryer
	}
	for _, tt := range []struct {
		name, profile, env, flag string
		want                     int
	}{
		{"default", "", "", "", DefaultAttempts},
		{"profile", "max_attempts = 4\n", "", "", 4},
		{"environment over profile", "max_attempts = 4\n", "7", "", 7},
		{"flag over environment", "max_attempts = 4\n", "7", "5", 5},
		{"flag below the default", "", "", "2", 2},
		{"flag at its maximum", "", "", "50", 50},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if n := retryer(t, tt.profile, tt.env, tt.flag).MaxAttempts(); n != tt.want {
				t.Errorf("profile %q, AWS_MAX_ATTEMPTS=%q, --max-attempts %q: %d attempts, want %d", tt.profile, tt.env, tt.flag, n, tt.want)
			}
		})
	}
	if DefaultAttempts != 25 {
		t.Errorf("DefaultAttempts = %d; the docs and the flag help say 25", DefaultAttempts)
	}

	r := retryer(t, "", "", "")
	for code, want := range map[string]bool{"ConcurrentModification": true, "Throttling": true, "AccessDenied": false, "NoSuchEntity": false, "EntityAlreadyExists": false} {
		if got := r.IsErrorRetryable(&smithy.GenericAPIError{Code: code}); got != want {
			t.Errorf("retryable(%s) = %v, want %v", code, got, want)
		}
	}
	// Waits grow, then stay under the cap, for throttling too.
	throttled := &smithy.GenericAPIError{Code: "Throttling"}
	var longest time.Duration
	for attempt := 1; attempt < DefaultAttempts; attempt++ {
		for range 20 {
			d, err := r.RetryDelay(attempt, throttled)
			if err != nil {
				t.Fatal(err)
			}
			longest = max(longest, d)
		}
	}
	if longest > MaxRetryWait || longest < MaxRetryWait/2 {
		t.Errorf("longest wait between attempts %s, want close to but at most %s", longest, MaxRetryWait)
	}
}

// TestRetryQuotaIsOff fails retries, the way a run through issue 11's fault
// matrix does, far past what the SDK's default quota (500 tokens, 14 per
// retry) allows one client: none is refused.
func TestRetryQuotaIsOff(t *testing.T) {
	isolateAWSConfig(t)
	cfg, err := Load(context.Background(), "", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	r := iam.NewFromConfig(cfg).Options().Retryer
	unavailable := &smithy.GenericAPIError{Code: "ServiceUnavailable"}
	for i := range 1000 {
		release, err := r.GetRetryToken(context.Background(), unavailable)
		if err != nil {
			t.Fatalf("retry %d refused: %v", i+1, err)
		}
		_ = release(unavailable) // the retry failed too: nothing is refunded
	}
}

// isolateAWSConfig points the SDK at empty shared config and credentials
// files and clears the AWS_* variables that would change the retryer; it
// returns the config file's path.
func isolateAWSConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, name := range []string{"AWS_PROFILE", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"} {
		t.Setenv(name, "")
	}
	return filepath.Join(dir, "config")
}

// TestCallTimeLimit ends an AWS call that keeps failing, or hangs, at the
// limit with CallTimeLimitError and its hint, while an interruption (the
// caller's context ending) stays an interruption. The limit is short here;
// the tool's is CallTimeLimit.
func TestCallTimeLimit(t *testing.T) {
	const limit = 400 * time.Millisecond
	throttling := awstest.NewProxy(t, "http://127.0.0.1:1") // every request answered by the proxy
	throttling.ThrottleEvery(1)
	hang := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer hanging.Close()
	defer close(hang)
	client := func(endpoint string) *iam.Client {
		cfg := awstest.Config(context.Background(), t, endpoint)
		cfg.Retryer = NewRetryer(0)
		cfg.APIOptions = append(cfg.APIOptions, LimitCallTime(limit))
		return iam.NewFromConfig(cfg)
	}
	for _, tt := range []struct {
		name, endpoint, message string
	}{
		{"always throttled", throttling.URL(), "stop retrying after 400ms; the last attempt failed: https response error StatusCode: 400"},
		{"never answers", hanging.URL, "stop after 400ms without an answer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := client(tt.endpoint).GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("circleci-ecr-oidc")})
			took := time.Since(start)
			var timedOut *CallTimeLimitError
			if !errors.As(err, &timedOut) {
				t.Fatalf("after %s: error %v, want the call time limit", took, err)
			}
			if took < limit || took > limit+2*time.Second {
				t.Errorf("the call took %s, want about %s", took, limit)
			}
			hint := Hint(err)
			if !strings.Contains(err.Error(), tt.message) || !strings.Contains(hint, "within 400ms") {
				t.Errorf("error %q, want it to contain %q; hint %q", err, tt.message, hint)
			}
			t.Logf("%s: ended after %s: %v", tt.name, took.Round(time.Millisecond), err)
		})
	}
	t.Run("interrupted", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), limit/4)
		defer cancel()
		_, err := client(hanging.URL).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("circleci-ecr-oidc")})
		var timedOut *CallTimeLimitError
		if errors.As(err, &timedOut) || err == nil {
			t.Errorf("the caller's own deadline ended the call: error %v, want no call time limit", err)
		}
	})
}

// TestAWSHintForRetriesGivenUp gives the hint for a call that used all its
// attempts or its time, and leaves other hints alone.
func TestAWSHintForRetriesGivenUp(t *testing.T) {
	throttled := &smithy.OperationError{ServiceID: "IAM", OperationName: "GetRole", Err: &retry.MaxAttemptsError{Attempt: 25, Err: &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}}}
	denied := &smithy.OperationError{ServiceID: "IAM", OperationName: "GetRole", Err: &smithy.GenericAPIError{Code: "AccessDenied"}}
	for _, tt := range []struct {
		name string
		err  error
		hint string
	}{
		{"attempts used up", fmt.Errorf("read role: %w", throttled), "through all its attempts"},
		{"time used up", fmt.Errorf("read role: %w", &CallTimeLimitError{Limit: CallTimeLimit, last: throttled.Err, err: context.DeadlineExceeded}), "within 2m0s of retrying"},
		{"access denied", denied, "not allowed iam:GetRole"},
		{"other", errors.New("something else"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Hint(tt.err)
			if tt.hint == "" && got != "" || !strings.Contains(got, tt.hint) {
				t.Errorf("hint %q, want one containing %q", got, tt.hint)
			}
		})
	}
}
