package provision

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// runRepositoryPolicy merges the role's statement into the repository
// policy of a repository in another account, or takes it out, with the
// registry's credentials. Either way the policy is re-read right before
// the write.
func runRepositoryPolicy(x *execution, t *target, s *Step) error {
	if t.registry == nil {
		return fmt.Errorf("no credentials for the registry account: pass --registry-profile")
	}
	repo, err := ParseRepository(s.Name)
	if err != nil {
		return err
	}
	api := t.registry(cmp.Or(repo.Region, t.region))
	switch s.Action {
	case ActionCreate, ActionUpdate:
		return setRepositoryPolicy(x, t, s, api, repo)
	case ActionRemoveStatement:
		return removeRegistryStatement(x.calls, t, api, repo, s.Name)
	}
	return unknownStep(s)
}

// setRepositoryPolicy writes the desired statement into the repository
// policy. Apply starts it only after the role exists, but ECR checks the
// principals of a policy against IAM, which may not show a role created a
// moment ago: a fresh role's rejection is retried like IAM's own
// propagation delays.
func setRepositoryPolicy(x *execution, t *target, s *Step, api RegistryAPI, repo Repository) error {
	if s.Desired == nil || s.Desired.Statement == nil {
		return fmt.Errorf("the plan holds no repository policy for %s", s.Name)
	}
	// The plan merged the statement into the policy it read before the
	// confirmation; the owner (or another shard's statement) may have
	// changed it since. So the write merges into the policy as it is now.
	set := func() error {
		unlock := t.opts.RepositoryLocks.lock(s.Name)
		defer unlock()
		current, err := readRepositoryPolicy(x.calls, api, repo, s.Name)
		if err != nil {
			return err
		}
		if !current.Found {
			return fmt.Errorf("repository %s no longer exists in its registry", s.Name)
		}
		merged, changed, err := policy.MergeStatement(current.Policy, *s.Desired.Statement)
		if err != nil || !changed {
			return err
		}
		_, err = api.SetRepositoryPolicy(x.calls, &ecr.SetRepositoryPolicyInput{
			RegistryId: aws.String(repo.Account), RepositoryName: aws.String(repo.Name), PolicyText: aws.String(merged),
		})
		return err
	}
	rejected := func(err error) bool { return t.roleIsNew() && isPrincipalRejected(err) }
	return x.retry(t, s.Change, rejected, func(wait time.Duration) string {
		return fmt.Sprintf("ECR does not accept role %s as a principal yet (IAM propagation); retrying in %s", t.spec.RoleName, wait)
	}, "stop waiting for role "+t.spec.RoleName+" to propagate", set)
}

// removeRegistryStatement takes the role's statement out of the repository
// policy as it is now, re-read just before the write: the owner may have
// added statements since the plan, which are kept, and the policy is
// deleted only when the role's statement is still its only one. A
// repository or policy already gone counts as done.
func removeRegistryStatement(ctx context.Context, t *target, api RegistryAPI, repo Repository, arn string) error {
	current, err := readRepositoryPolicy(ctx, api, repo, arn)
	if err != nil || !current.Found || current.Policy == "" {
		return err
	}
	updated, removed, remaining, err := policy.RemoveStatement(current.Policy, policy.RepositorySid(t.roleARN))
	if err != nil || !removed {
		return err
	}
	if remaining == 0 {
		_, err = api.DeleteRepositoryPolicy(ctx, &ecr.DeleteRepositoryPolicyInput{RegistryId: aws.String(repo.Account), RepositoryName: aws.String(repo.Name)})
	} else {
		_, err = api.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RegistryId: aws.String(repo.Account), RepositoryName: aws.String(repo.Name), PolicyText: aws.String(updated)})
	}
	switch errorCode(err) {
	case "RepositoryNotFoundException", "RepositoryPolicyNotFoundException":
		return nil
	}
	return err
}

// isPrincipalRejected reports whether ECR refused the policy as invalid. Its
// message ("Invalid repository policy provided") does not say why; for a
// document that names a role created a moment ago, and whose other
// statements ECR accepted before, the likely cause is that IAM has not
// propagated the role, so the caller retries only then.
func isPrincipalRejected(err error) bool {
	return errorCode(err) == "InvalidParameterException"
}
