package fleet

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// TestFindTargets checks what FindTargets adds to Targets: a mistyped
// profile ends the run, another load failure is its account's, and the
// organization's base configuration is loaded only for --org-accounts.
func TestFindTargets(t *testing.T) {
	mistyped := &provision.InputError{Field: FieldProfiles, Value: "typo", Rule: "names no profile"}
	load := func(_ context.Context, profile string) (aws.Config, error) {
		switch profile {
		case "typo":
			return aws.Config{}, mistyped
		case "broken":
			return aws.Config{}, errors.New("source_profile loop")
		}
		return aws.Config{Region: "eu-west-1"}, nil
	}
	baseFailed := errors.New("no credentials")
	base := func(context.Context) (aws.Config, error) { return aws.Config{}, baseFailed }
	tests := []struct {
		name        string
		sel         Selection
		wantErr     error
		wantTargets int
	}{
		{"profiles", profileSel(func(s *Selection) { s.Profiles = []string{"prod", "broken"} }), nil, 2},
		{"mistyped profile", profileSel(func(s *Selection) { s.Profiles = []string{"prod", "typo"} }), mistyped, 0},
		{"organization without base", orgSel(func(*Selection) {}), baseFailed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			targets, err := FindTargets(t.Context(), base, load, tt.sel)
			if !errors.Is(err, tt.wantErr) || len(targets) != tt.wantTargets {
				t.Fatalf("FindTargets() = %d target(s), %v; want %d, %v", len(targets), err, tt.wantTargets, tt.wantErr)
			}
		})
	}
}
