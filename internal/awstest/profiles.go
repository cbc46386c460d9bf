package awstest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// Profile is one profile of the shared config file WriteProfiles writes.
type Profile struct {
	Name string
	// Endpoint is the profile's endpoint_url: moto's or a proxy's URL, or
	// RefusedEndpoint's. Empty means none, for a profile that only lends
	// its credentials to others (a source_profile).
	Endpoint string
	// RoleARN and SourceProfile make the profile assume RoleARN with
	// SourceProfile's credentials. Without RoleARN the profile has the
	// dummy static credentials.
	RoleARN, SourceProfile string
}

// SharedConfig is a shared config file and credentials file written by
// WriteProfiles.
type SharedConfig struct {
	ConfigFile, CredentialsFile string
}

// WriteProfiles writes a shared config file holding profiles (region
// Region), and a credentials file with the dummy static credentials of
// those without a role, into a temporary directory.
//
// The AWS SDK for Go builds the STS client of a role_arn profile before it
// reads the profile's endpoint_url, so that AssumeRole would go to the real
// STS; a [services] section naming the endpoint for STS is read in time,
// and every profile with an Endpoint gets one. For the same reason the SDK
// ignores that section while AWS_ENDPOINT_URL is set in the environment
// (then only AWS_ENDPOINT_URL_STS would do), so WriteProfiles fails the
// test when AWS_ENDPOINT_URL or a service-specific variable is set.
func WriteProfiles(tb testing.TB, profiles ...Profile) SharedConfig {
	tb.Helper()
	for _, name := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_ORGANIZATIONS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"} {
		if v, ok := os.LookupEnv(name); ok {
			tb.Fatalf("awstest: %s=%s is set and would override the profiles' endpoints; unset it", name, v)
		}
	}
	var conf, creds strings.Builder
	for _, p := range profiles {
		fmt.Fprintf(&conf, "[profile %s]\nregion = %s\n", p.Name, Region)
		if p.RoleARN != "" {
			fmt.Fprintf(&conf, "role_arn = %s\nsource_profile = %s\n", p.RoleARN, p.SourceProfile)
		} else {
			fmt.Fprintf(&creds, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n", p.Name, AccessKeyID, SecretAccessKey)
		}
		if p.Endpoint != "" {
			fmt.Fprintf(&conf, "endpoint_url = %s\nservices = %s-endpoints\n\n[services %s-endpoints]\nsts =\n  endpoint_url = %s\n", p.Endpoint, p.Name, p.Name, p.Endpoint)
		}
		conf.WriteString("\n")
	}
	dir := tb.TempDir()
	sc := SharedConfig{ConfigFile: filepath.Join(dir, "config"), CredentialsFile: filepath.Join(dir, "credentials")}
	for file, text := range map[string]string{sc.ConfigFile: conf.String(), sc.CredentialsFile: creds.String()} {
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			tb.Fatalf("awstest: write %s: %v", file, err)
		}
	}
	return sc
}

// Load loads a profile of the files as a command's --profile does, with
// the files in place of ~/.aws, IMDS off, and Config's fast retryer. It is
// a profile loader for code that takes one: its error is the SDK's (a
// profile that does not exist, a bad source_profile).
func (sc SharedConfig) Load(ctx context.Context, profile string) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx,
		config.WithSharedConfigFiles([]string{sc.ConfigFile}),
		config.WithSharedCredentialsFiles([]string{sc.CredentialsFile}),
		config.WithSharedConfigProfile(profile),
		config.WithEC2IMDSClientEnableState(imds.ClientDisabled),
		config.WithRetryer(fastRetryer),
	)
}

// RefusedEndpoint returns the URL of a loopback port nothing listens on,
// so that every connection to it is refused at once.
func RefusedEndpoint(tb testing.TB) string {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		tb.Fatalf("awstest: pick a free port: %v", err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}
