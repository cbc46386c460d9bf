package main

import (
	"fmt"

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
			s, err := provision.SnippetRequest{RoleARN: roleARN, Image: image, Access: policy.Access(access)}.Snippet()
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
