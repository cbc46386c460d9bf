package awsconfig

import (
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Hint is what a user can do about a common AWS failure, or "".
func Hint(err error) string {
	var (
		exhausted *retry.MaxAttemptsError
		timedOut  *CallTimeLimitError
	)
	switch {
	case errors.As(err, &timedOut):
		return "AWS did not complete this call within " + timedOut.Limit.String() + " of retrying (throttling, server errors or no answer); check the network and the AWS Health Dashboard, then run the same command again: it changes only what is still missing"
	case errors.As(err, &exhausted):
		return "AWS kept throttling or failing this call through all its attempts; wait a few minutes and run the same command again (it changes only what is still missing), or allow more attempts with --max-attempts or AWS_MAX_ATTEMPTS"
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch code := apiErr.ErrorCode(); {
		case code == "AccessDenied" || code == "AccessDeniedException" || strings.HasSuffix(code, "UnauthorizedOperation"):
			// Name the denied action: AWS's message does not always.
			var opErr *smithy.OperationError
			if errors.As(err, &opErr) && opErr.ServiceID != "" && opErr.OperationName != "" {
				action := strings.ToLower(opErr.ServiceID) + ":" + opErr.OperationName
				return "the AWS identity is not allowed " + action + "; grant it (docs/permissions.md lists the IAM actions each command uses) and run the same command again"
			}
			return "the AWS identity lacks a permission this step needs; docs/permissions.md lists the IAM actions each command uses"
		case code == "InvalidClientTokenId" || code == "ExpiredToken" || code == "ExpiredTokenException" || code == "SignatureDoesNotMatch":
			return "the AWS credentials are invalid or expired; refresh them (aws sso login, or new keys) and retry"
		}
		return ""
	}
	if strings.Contains(err.Error(), "credential") {
		return "no usable AWS credentials: pass --profile, set AWS_PROFILE, or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
	}
	return ""
}
