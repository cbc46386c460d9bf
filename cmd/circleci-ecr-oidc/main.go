// Command circleci-ecr-oidc sets up an AWS account so that CircleCI jobs pull
// images from Amazon ECR with OpenID Connect instead of stored AWS keys: the
// IAM OIDC identity provider for the CircleCI organization, a role that only
// the named projects can assume, and a least-privilege ECR pull policy.
//
// main stays one line; Main owns error printing and exit codes so that the
// command tree can be tested in-process.
package main

import "os"

func main() { os.Exit(Main()) }
