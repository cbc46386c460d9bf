package main

import (
	"fmt"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/spf13/cobra"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

func newCmdSnippet(io IOStreams) *cobra.Command {
	var roleARN, image, access string
	cmd := &cobra.Command{
		Use:   "snippet",
		Short: "Print the .circleci/config.yml snippet for a role and an image (no AWS calls)",
		Example: `  circleci-ecr-oidc snippet --role-arn arn:aws:iam::123456789012:role/circleci-ecr-pull \
    --image 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if roleARN == "" {
				return &provision.InputError{Flag: "--role-arn", Rule: "is required: the ARN of the role CircleCI assumes"}
			}
			if err := validateRoleARN(roleARN); err != nil {
				return err
			}
			if image == "" {
				return &provision.InputError{Flag: "--image", Rule: "is required: the ECR image URI the job runs in"}
			}
			img, err := provision.ParseImage("--image", image)
			if err != nil {
				return err
			}
			if a := policy.Access(access); a != policy.AccessPull && a != policy.AccessPush {
				return &provision.InputError{Flag: "--access", Value: access, Rule: "must be pull (a job that runs in the image) or push (a job that builds and pushes it)"}
			}
			s, err := snippetFor(img.String(), roleARN, img.Region, policy.Access(access))
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(io.Out, s)
			return err
		},
	}
	cmd.Flags().StringVar(&roleARN, "role-arn", "", "ARN of the IAM role CircleCI assumes")
	cmd.Flags().StringVar(&image, "image", "", "ECR image URI, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest")
	cmd.Flags().StringVar(&access, "access", string(policy.AccessPull), "pull: a job that runs in the image; push: a job that builds and pushes it with the aws-ecr orb")
	return cmd
}

// validateRoleARN checks an IAM role ARN, which may carry a path
// (role/path/name); the name is its last element.
func validateRoleARN(value string) error {
	a, err := arn.Parse(value)
	resource, isRole := strings.CutPrefix(a.Resource, "role/")
	if err != nil || a.Service != "iam" || !isRole || len(a.AccountID) != 12 {
		return &provision.InputError{Flag: "--role-arn", Value: value, Rule: "must be an IAM role ARN such as arn:aws:iam::123456789012:role/circleci-ecr-pull"}
	}
	return provision.ValidateRoleName("--role-arn", path.Base(resource))
}
