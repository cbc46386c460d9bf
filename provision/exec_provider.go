package provision

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// runProvider creates the organization's OIDC provider, adds the
// audiences an existing one lacks (the organization ID and the configured
// ones), or deletes it.
func runProvider(x *execution, t *target, s *Step) error {
	switch s.Action {
	case ActionCreate:
		return createProvider(x, t, s)
	case ActionAddAudience:
		return addAudiences(x.calls, t, s.Desired.ARN, missingClientIDs(s.Observed.ClientIDs, s.Desired.ClientIDs))
	case ActionDelete:
		return deleteProvider(x.calls, t, s.Observed.ARN)
	}
	return unknownStep(s)
}

func createProvider(x *execution, t *target, s *Step) error {
	arn := s.Desired.ARN
	_, err := t.iam.CreateOpenIDConnectProvider(x.calls, &iam.CreateOpenIDConnectProviderInput{
		Url:          aws.String(policy.IssuerURL(t.spec.OrgID)),
		ClientIDList: s.Desired.ClientIDs,
		Tags:         iamTags(s.Desired.Tags),
	})
	if !isAlreadyExists(err) {
		return err
	}
	// Another run created it between our read and this write (or our own
	// earlier attempt landed and its answer was lost): re-read, and give it
	// the audiences it lacks, as the plan would have. Its tags are left
	// alone: the provider is shared.
	var out *iam.GetOpenIDConnectProviderOutput
	err = x.retryPropagation(t, s.Change, "OIDC provider "+arn, func() error {
		var err error
		out, err = t.iam.GetOpenIDConnectProvider(x.calls, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
		return err
	})
	if err != nil {
		return fmt.Errorf("re-read OIDC provider created concurrently: %w", err)
	}
	return addAudiences(x.calls, t, arn, missingClientIDs(out.ClientIDList, s.Desired.ClientIDs))
}

// addAudiences adds each of the client IDs the provider was read to lack,
// one call each, in order (IAM has no call that adds several). The call is
// idempotent, so a retried step adding one again is harmless.
func addAudiences(ctx context.Context, t *target, providerARN string, missing []string) error {
	for _, id := range missing {
		_, err := t.iam.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{
			OpenIDConnectProviderArn: aws.String(providerARN), ClientID: aws.String(id),
		})
		if err != nil {
			return fmt.Errorf("add audience %s (%s): %w", id, orNoSource(t.spec.audienceSource(id)), err)
		}
	}
	return nil
}

// deleteProvider deletes the organization's provider after checking again,
// just before the write, that no role but the one this plan deleted trusts
// it: a role may have started trusting it since the plan was shown.
func deleteProvider(ctx context.Context, t *target, providerARN string) error {
	users, err := rolesTrusting(ctx, t.iam, providerARN)
	if err != nil {
		return err
	}
	users = slices.DeleteFunc(users, func(name string) bool { return strings.EqualFold(name, t.spec.RoleName) })
	if len(users) > 0 {
		return fmt.Errorf("keep OIDC provider %s: role(s) %s started trusting it after the plan was made; run destroy again to see the new plan", providerARN, strings.Join(users, ", "))
	}
	_, err = t.iam.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)})
	return err
}
