// Package awstest is the shared test harness for running code in this
// repository against a local AWS emulator instead of real AWS.
//
// The tool under test provisions IAM OIDC providers, IAM roles and ECR
// repositories. Exercising that against a real account in tests is slow,
// costly and needs credentials, and no real AWS is reachable from CI. The
// package therefore starts moto_server (moto 5.x, which emulates IAM, STS and
// ECR) as a child process with [StartMoto], and points the AWS SDK at it
// through the SDK-native AWS_ENDPOINT_URL setting plus dummy credentials:
// [Moto.Env] and [Moto.Environ] build the environment for an exec'd binary,
// and [Config] builds an in-process aws.Config.
//
// Multi-account code runs against one moto_server too: [CreateOrganization]
// creates an AWS Organization with member accounts, whose
// OrganizationAccountAccessRole acts in the member ([AssumeRole]), and
// [WriteProfiles] writes a shared config file with profiles that reach moto
// (or a refused port, [RefusedEndpoint]) through their endpoint_url.
//
// Most interesting failures of a provisioning tool happen on the wire:
// throttling, 5xx responses, dropped connections, slow calls and the process
// being interrupted half way. [Proxy] is a reverse proxy placed between the
// SDK and moto that identifies the AWS operation of every request (for the
// AWS query protocol used by IAM and STS and the JSON 1.1 protocol used by
// ECR), counts requests per operation so tests can assert exactly which
// calls, and in particular which writes, were made, and injects faults in
// the same wire shape the real services use so that the SDK's own error
// handling and retry logic are exercised.
//
// When moto_server is not installed, tests using StartMoto are skipped on a
// developer machine but fail in CI (CI set to anything but "", "false" or
// "0"), so the integration tests can never silently stop running there.
package awstest
