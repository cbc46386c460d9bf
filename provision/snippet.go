package provision

import (
	"fmt"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/templates"
)

// Snippet renders the plan's config.yml snippet.
func (p *Plan) Snippet() (string, error) {
	return SnippetFor(p.Image, p.RoleARN, p.Region, p.Spec.Access)
}

// SnippetFor renders the config.yml snippet for an access level: a job that
// pulls image, or with push a job that builds and pushes to image's
// repository (in its account and region).
func SnippetFor(image, roleARN, region string, access policy.Access) (string, error) {
	s := templates.Snippet{Image: image, RoleARN: roleARN, Region: region}
	if access == policy.AccessPush {
		img, err := ParseImage(FieldImage, image)
		if err != nil {
			return "", err
		}
		s.Push, s.Account, s.Region, s.Repository, s.Tag = true, img.Account, img.Region, img.Repository, img.Tag
	}
	return templates.RenderSnippet(s)
}

// SnippetRequest is the snippet command's input: a role and an image given
// as they are, without reading the account.
type SnippetRequest struct {
	RoleARN, Image string
	Access         policy.Access
}

// Snippet checks the request and renders its snippet. The role and the
// image must be in one partition: a role can only pull from registries in
// its own.
func (r SnippetRequest) Snippet() (string, error) {
	if r.RoleARN == "" {
		return "", &InputError{Field: FieldRoleARN, Rule: "is required: the ARN of the role CircleCI assumes"}
	}
	role, err := ParseRoleARN(FieldRoleARN, r.RoleARN)
	if err != nil {
		return "", err
	}
	if r.Image == "" {
		return "", &InputError{Field: FieldImage, Rule: "is required: the ECR image URI the job runs in"}
	}
	img, err := ParseImage(FieldImage, r.Image)
	if err != nil {
		return "", err
	}
	if img.Partition() != role.Partition {
		return "", &InputError{Field: FieldImage, Value: r.Image, Rule: fmt.Sprintf("is in partition %s, but --role-arn is in partition %s: a role can only pull from registries in its own partition", img.Partition(), role.Partition)}
	}
	if r.Access != policy.AccessPull && r.Access != policy.AccessPush {
		return "", &InputError{Field: FieldAccess, Value: string(r.Access), Rule: "must be pull (a job that runs in the image) or push (a job that builds and pushes it)"}
	}
	return SnippetFor(img.String(), role.String(), img.Region, r.Access)
}
