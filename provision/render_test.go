package provision

import (
	"strings"
	"testing"
)

func TestWriteTextSaysWhatHappensToEachResource(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T) *fakeAWS
		provider string
		role     string
	}{
		{"empty account", func(*testing.T) *fakeAWS { f := newFakeAWS(); f.repos["app"] = true; return f }, "will be created", "will be created"},
		{"converged", converged, "exists, matches (no change)", "exists, matches (no change)"},
		{"drifted role", func(t *testing.T) *fakeAWS {
			f := converged(t)
			delete(f.roles[DefaultRoleName].inline, PolicyName)
			return f
		}, "exists, matches (no change)", "exists, will be updated"},
		{"shared provider without our audience", func(t *testing.T) *fakeAWS {
			f := converged(t)
			f.providers[testProviderARN].clientIDs = []string{"other"}
			return f
		}, "the organization ID will be added as an audience", "exists, matches (no change)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := planFor(t, tt.setup(t), validSpec())
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := p.WriteText(&b, false); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(b.String(), "\n")
			for i, l := range lines {
				if strings.HasPrefix(l, "OIDC provider") && !strings.Contains(lines[i+1], tt.provider) {
					t.Errorf("provider state %q, want %q", lines[i+1], tt.provider)
				}
				if strings.HasPrefix(l, "IAM role") && !strings.Contains(lines[i+1], tt.role) {
					t.Errorf("role state %q, want %q", lines[i+1], tt.role)
				}
			}
		})
	}
}
