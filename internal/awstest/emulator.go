package awstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// Behind puts a new counting proxy in front of moto, returns it with an
// SDK configuration pointed at it, creates the named ECR repositories
// through it, and then resets its counts, so that a test's first count is
// of the tool's own requests.
func Behind(tb testing.TB, moto *Moto, repos ...string) (*Proxy, aws.Config) {
	tb.Helper()
	proxy := NewProxy(tb, moto.URL())
	cfg := Config(context.Background(), tb, proxy.URL())
	CreateRepositories(tb, cfg, repos...)
	proxy.Reset()
	return proxy, cfg
}

// CreateRepositories creates the named ECR repositories in cfg's account
// and region.
func CreateRepositories(tb testing.TB, cfg aws.Config, names ...string) {
	tb.Helper()
	api := ecr.NewFromConfig(cfg)
	for _, name := range names {
		if _, err := api.CreateRepository(context.Background(), &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)}); err != nil {
			tb.Fatalf("create ECR repository %s: %v", name, err)
		}
	}
}
