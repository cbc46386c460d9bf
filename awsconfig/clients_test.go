package awsconfig

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

func TestLoadRegistry(t *testing.T) {
	config := isolateAWSConfig(t)
	if err := os.WriteFile(config, []byte("[profile registry]\nregion = eu-west-1\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var attempts Attempts
	tests := []struct {
		name    string
		profile string
		want    bool
		wantErr string
	}{
		{"no profile, no registry", "", false, ""},
		{"a profile", "registry", true, ""},
		{"no such profile", "nope", false, `invalid registry-profile "nope": no such profile in the AWS config or credentials file (it holds the credentials of the registry account)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			registry, err := LoadRegistry(ctx, tt.profile, "", attempts)
			if tt.wantErr != "" {
				var input *provision.InputError
				if !errors.As(err, &input) || input.Field != provision.FieldRegistryProfile || err.Error() != tt.wantErr {
					t.Fatalf("LoadRegistry() = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || (registry != nil) != tt.want {
				t.Errorf("LoadRegistry() = %v, %v; want clients %v", registry != nil, err, tt.want)
			}
		})
	}
	cfg, err := Load(ctx, "", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	clients, err := Clients(ctx, cfg, "registry", "", attempts)
	if err != nil || clients.IAM == nil || clients.Registry == nil {
		t.Errorf("Clients() = %+v, %v; want the account's and the registry's clients", clients, err)
	}
	if _, err := Clients(ctx, cfg, "nope", "", attempts); err == nil {
		t.Error("Clients() with a profile that does not exist succeeded")
	}
}
