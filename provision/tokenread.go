package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// maxTokenBytes bounds what --token reads: a CircleCI token is about 1 KB,
// so anything much larger is the wrong file.
const maxTokenBytes = 64 << 10

// ReadToken reads a token (field is its input) from a file or, for "-", stdin. Errors never
// quote the content.
func ReadToken(field Field, name string, stdin io.Reader) (string, error) {
	var r io.Reader
	if name == "-" {
		r = stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", &InputError{Field: field, Value: name, Rule: "no such file; save the job's $CIRCLE_OIDC_TOKEN_V2 to a file, or pass - to read stdin"}
			}
			return "", fmt.Errorf("read token file %s: %w", name, err)
		}
		// Read-only: a failed close loses nothing.
		defer func() { _ = f.Close() }()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxTokenBytes+1))
	if err != nil {
		return "", fmt.Errorf("read token from %s: %w", TokenSource(name), err)
	}
	if len(data) > maxTokenBytes {
		return "", &InputError{Field: field, Value: TokenSource(name), Rule: fmt.Sprintf("is larger than %d KiB; a CircleCI token is about 1 KB", maxTokenBytes>>10)}
	}
	return string(data), nil
}

// TokenSource names where a token was read from.
func TokenSource(name string) string {
	if name == "-" {
		return "stdin"
	}
	return name
}

// AssumeWithConfig presents the token to STS and logs in to ECR with the session.
// AssumeRoleWithWebIdentity is authorized by the token alone, so the call
// is unsigned: the tool's own credentials play no part, as in a CircleCI
// job.
func AssumeWithConfig(ctx context.Context, cfg aws.Config, roleARN, rawToken string) *AssumeReport {
	stsAPI := sts.NewFromConfig(cfg, func(o *sts.Options) { o.Credentials = aws.AnonymousCredentials{} })
	ecrFor := func(c aws.Credentials) AuthorizationTokenAPI {
		return ecr.NewFromConfig(cfg, func(o *ecr.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
		})
	}
	return AssumeAndLogin(ctx, stsAPI, ecrFor, roleARN, rawToken)
}
