package awsconfig

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// Load loads the SDK's default configuration chain (environment,
// shared files, --profile, AWS_ENDPOINT_URL) without making any AWS call.
// extra options apply last (e.g. --max-attempts). Every client built from
// it gets the tool's retryer, with the attempts so resolved, and the call
// time limit; the SDK logs only with --debug (sdkLogging).
func Load(ctx context.Context, profile, region string, extra ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts := append([]func(*config.LoadOptions) error{config.WithRetryMode(aws.RetryModeStandard)}, sdkLogging(ctx)...)
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, append(opts, extra...)...)
	if err != nil {
		var missing config.SharedConfigProfileNotExistError
		if errors.As(err, &missing) {
			return aws.Config{}, &provision.InputError{Field: provision.FieldProfile, Value: profile, Rule: "no such profile in the AWS config or credentials file"}
		}
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	cfg.Retryer = NewRetryer(cfg.RetryMaxAttempts)
	cfg.APIOptions = append(cfg.APIOptions, LimitCallTime(CallTimeLimit))
	return cfg, nil
}

// loggerKey is the context key of the logger --debug gives the SDK.
type loggerKey struct{}

// WithLogger has the SDK log to l (--debug): see sdkLogging.
func WithLogger(ctx context.Context, l logging.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// sdkLogging are the load options for the SDK's own logging. The SDK logs
// to stderr by default, e.g. "WARN falling back to IMDSv1" when the
// credential chain reaches an instance metadata endpoint that refuses
// tokens, above the tool's error; so without --debug its logger drops
// everything and only the tool's error and hint reach the terminal. With
// --debug it logs its warnings and its retries (LogRetries: the operation,
// the attempt, the error), and nothing else: request, response and signing
// logs would carry the session token and signatures.
func sdkLogging(ctx context.Context) []func(*config.LoadOptions) error {
	l, ok := ctx.Value(loggerKey{}).(logging.Logger)
	if !ok {
		return []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{}), config.WithClientLogMode(0)}
	}
	return []func(*config.LoadOptions) error{config.WithLogger(l), config.WithClientLogMode(aws.LogRetries)}
}

// CredentialsAccount is the account the credentials name, when they name
// one without a call (AWS_ACCOUNT_ID, aws_account_id, SSO), so that the
// first reads can already use it; "" otherwise. The credentials are
// fetched here rather than by the first call, and cached for it; a failure
// is left for that call to report, with its hint.
func CredentialsAccount(ctx context.Context, cfg aws.Config) string {
	if cfg.Credentials == nil {
		return ""
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return ""
	}
	return creds.AccountID
}
