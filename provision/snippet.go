package provision

import (
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
