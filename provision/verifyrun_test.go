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
