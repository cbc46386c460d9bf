package provision

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRegionPartition(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "aws", "eu-central-2": "aws", "ap-southeast-7": "aws", "mx-central-1": "aws", "il-central-1": "aws",
		"cn-north-1": "aws-cn", "cn-northwest-1": "aws-cn",
		"us-gov-west-1": "aws-us-gov", "us-gov-east-1": "aws-us-gov",
		"us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b", "eu-isoe-west-1": "aws-iso-e", "us-isof-south-1": "aws-iso-f",
		"eusc-de-east-1": "aws-eusc",
		// The SDK sends a region no partition claims to aws.
		"xx-nowhere-1": "aws",
	} {
		if got := RegionPartition(region); got != want {
			t.Errorf("RegionPartition(%q) = %q, want %q", region, got, want)
		}
	}
}

func TestCheckPartition(t *testing.T) {
	tests := []struct {
		name      string
		repos     []string
		image     string
		partition string
		flag      string // "" when the spec is fine
	}{
		{"names only", []string{"app", "team/*"}, "", "aws-cn", ""},
		{"arn in the account's partition", []string{"arn:aws:ecr:eu-west-1:210987654321:repository/app"}, "", "aws", ""},
		{"china arn in a china account", []string{"arn:aws-cn:ecr:cn-north-1:123456789012:repository/app"}, "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1", "aws-cn", ""},
		{"china arn in an aws account", []string{"app", "arn:aws-cn:ecr:cn-north-1:123456789012:repository/app"}, "", "aws", "--repo"},
		{"aws arn in a gov account", []string{"arn:aws:ecr:us-east-1:123456789012:repository/app"}, "", "aws-us-gov", "--repo"},
		{"china image in an aws account", []string{"app"}, "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1", "aws", "--image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			s.Repositories, s.Image = tt.repos, tt.image
			s, err := s.Validate()
			if err != nil {
				t.Fatal(err)
			}
			err = s.CheckPartition(tt.partition, "region somewhere-1")
			if tt.flag == "" {
				if err != nil {
					t.Fatalf("CheckPartition(%s) = %v, want nil", tt.partition, err)
				}
				return
			}
			inputError(t, err, tt.flag)
			// Both partitions, and where the account's comes from.
			msg := err.Error()
			other := map[string]string{"aws": "aws-cn", "aws-us-gov": "aws"}[tt.partition]
			for _, want := range []string{"partition " + other, "partition " + tt.partition + " (region somewhere-1)"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q spans several lines", msg)
			}
		})
	}
}

// TestObserveRefusesRepositoryInOtherPartition checks the engine's own
// guard, for a front end that did not check the region's partition (or
// an endpoint that answers for another partition than its region's): once
// the caller's partition is known, a --repo ARN in another one is refused
// before anything is planned.
func TestObserveRefusesRepositoryInOtherPartition(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	s := validSpec()
	s.Repositories = []string{"app", "arn:aws-cn:ecr:cn-north-1:123456789012:repository/app"}
	spec, err := s.Validate()
	if err != nil {
		t.Fatal(err)
	}
	obs, err := Observe(context.Background(), f.clients(), spec)
	var ie *InputError
	if !errors.As(err, &ie) || ie.Field != FieldRepo || obs != nil {
		t.Fatalf("Observe = %v, %v; want an *InputError for --repo", obs, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "partition aws-cn") || !strings.Contains(msg, "partition aws (caller arn:aws:iam::123456789012:user/admin)") {
		t.Errorf("error %q does not name both partitions and the caller", msg)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("writes %v", w)
	}
}
