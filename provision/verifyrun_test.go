package provision

import (
	"errors"
	"strings"
	"testing"
)

func TestVerifyRequestCheckCombination(t *testing.T) {
	tests := []struct {
		name     string
		req      VerifyRequest
		wantFlag string
	}{
		{"token", VerifyRequest{TokenFile: "-"}, ""},
		{"token and assume", VerifyRequest{TokenFile: "t.jwt", Assume: true}, ""},
		{"claims", VerifyRequest{Claims: "aud=sts.amazonaws.com"}, ""},
		{"token and claims", VerifyRequest{TokenFile: "-", Claims: "aud=x"}, "--claims"},
		{"assume without token", VerifyRequest{Assume: true}, "--assume"},
		{"assume with claims", VerifyRequest{Claims: "aud=x", Assume: true}, "--assume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.CheckCombination()
			var input *InputError
			switch {
			case tt.wantFlag == "" && err != nil:
				t.Fatalf("CheckCombination() = %v, want nil", err)
			case tt.wantFlag != "" && (!errors.As(err, &input) || flagOf(input) != tt.wantFlag):
				t.Fatalf("CheckCombination() = %v, want an InputError for %s", err, tt.wantFlag)
			}
		})
	}
}

func TestVerifyRequestDecodeToken(t *testing.T) {
	const org = "2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d"
	tests := []struct {
		name     string
		req      VerifyRequest
		stdin    string
		wantFlag string
	}{
		{"nothing to decode", VerifyRequest{}, "", ""},
		{"claims get the organization", VerifyRequest{Claims: "aud=sts.amazonaws.com"}, "", ""},
		{"bad claims", VerifyRequest{Claims: "no-equals-sign"}, "", "--claims"},
		{"token that is no JWT", VerifyRequest{TokenFile: "-"}, "not-a-jwt\n", "--token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.DecodeToken(strings.NewReader(tt.stdin), org)
			var input *InputError
			switch {
			case tt.wantFlag == "" && err != nil:
				t.Fatalf("DecodeToken() = %v, want nil", err)
			case tt.wantFlag != "" && (!errors.As(err, &input) || flagOf(input) != tt.wantFlag):
				t.Fatalf("DecodeToken() = %v, want an InputError for %s", err, tt.wantFlag)
			}
			if tt.req.Claims != "" && tt.wantFlag == "" && tt.req.claims.OrgID() != org {
				t.Errorf("synthetic claims org = %q, want --org-id %q", tt.req.claims.OrgID(), org)
			}
		})
	}
}

func TestVerifyRequestSpec(t *testing.T) {
	cnRepo := "arn:aws-cn:ecr:cn-north-1:123456789012:repository/app"
	tests := []struct {
		name      string
		withState bool
		edit      func(*Spec)
		want      Spec
		wantField Field
	}{
		{"identity only", false, func(s *Spec) { s.OrgID = strings.ToUpper(testOrg); s.RoleName = "r" }, Spec{OrgID: testOrg, RoleName: "r", Region: "us-east-1"}, ""},
		{"identity only, no region", false, func(s *Spec) { s.Region = "" }, Spec{}, FieldRegion},
		{"identity only ignores the repositories", false, func(s *Spec) { s.Repositories = []string{cnRepo} }, Spec{OrgID: testOrg, Region: "us-east-1"}, ""},
		{"state, invalid spec", true, func(s *Spec) { s.Repositories = nil }, Spec{}, FieldRepo},
		{"state, repository in another partition", true, func(s *Spec) { s.Repositories = []string{cnRepo} }, Spec{}, FieldRepo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.edit(&s)
			r := &VerifyRequest{WithState: tt.withState}
			got, err := r.Spec(s)
			if tt.wantField != "" {
				var input *InputError
				if !errors.As(err, &input) || input.Field != tt.wantField {
					t.Fatalf("Spec() = %v, want an InputError for %s", err, tt.wantField)
				}
				return
			}
			if err != nil || got.OrgID != tt.want.OrgID || got.RoleName != tt.want.RoleName || got.Region != tt.want.Region || len(got.Repositories) != 0 {
				t.Errorf("Spec() = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	// With the state compared the spec is the validated whole.
	got, err := (&VerifyRequest{WithState: true}).Spec(validSpec())
	if err != nil || got.RoleName != DefaultRoleName || len(got.Repositories) != 1 {
		t.Errorf("Spec() = %+v, %v; want the validated spec", got, err)
	}
}
