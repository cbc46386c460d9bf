package provision

import (
	"errors"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

func TestSnippetRequest(t *testing.T) {
	const (
		role  = "arn:aws:iam::123456789012:role/circleci-ecr-pull"
		image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"
	)
	for _, tt := range []struct {
		name        string
		req         SnippetRequest
		field       Field
		rule        string
		wantSnippet string
	}{
		{name: "pull", req: SnippetRequest{RoleARN: role, Image: image, Access: policy.AccessPull}, wantSnippet: "oidc_role_arn: " + role},
		{name: "push", req: SnippetRequest{RoleARN: role, Image: image, Access: policy.AccessPush}, wantSnippet: "aws-ecr"},
		{name: "no role", req: SnippetRequest{Image: image, Access: policy.AccessPull}, field: FieldRoleARN, rule: "is required"},
		{name: "bad role", req: SnippetRequest{RoleARN: "arn:aws:iam::123456789012:user/bob", Image: image, Access: policy.AccessPull}, field: FieldRoleARN, rule: "role/"},
		{name: "no image", req: SnippetRequest{RoleARN: role, Access: policy.AccessPull}, field: FieldImage, rule: "is required"},
		{name: "bad image", req: SnippetRequest{RoleARN: role, Image: image + "\n- image: x", Access: policy.AccessPull}, field: FieldImage, rule: "tag"},
		{name: "partitions differ", req: SnippetRequest{RoleARN: "arn:aws-cn:iam::123456789012:role/p", Image: image, Access: policy.AccessPull}, field: FieldImage, rule: "partition aws, but --role-arn is in partition aws-cn"},
		{name: "unknown access", req: SnippetRequest{RoleARN: role, Image: image, Access: "admin"}, field: FieldAccess, rule: "must be pull"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.req.Snippet()
			if tt.field == "" {
				if err != nil || !strings.Contains(got, tt.wantSnippet) {
					t.Fatalf("Snippet() = %q, %v; want a snippet with %q", got, err, tt.wantSnippet)
				}
				return
			}
			var in *InputError
			if !errors.As(err, &in) || in.Field != tt.field || !strings.Contains(in.Rule, tt.rule) {
				t.Fatalf("Snippet() error = %v, want an input error of %s with %q", err, tt.field, tt.rule)
			}
			if got != "" {
				t.Errorf("Snippet() returned %q with an error", got)
			}
		})
	}
}
