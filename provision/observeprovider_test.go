package provision

import (
	"slices"
	"testing"
)

// TestObserveProvider checks the StackSet export's read of one account:
// with the account known the provider is read by its ARN, without it it is
// found by listing; a wrong guess, which IAM refuses to read (another
// account's provider), falls back to the listing; no provider is
// nil, not an error; and nothing else is read.
func TestObserveProvider(t *testing.T) {
	for _, tt := range []struct {
		name     string
		account  string // Clients.Account
		exists   bool
		wantRead []string
	}{
		{"known account, provider exists", "123456789012", true, []string{"GetCallerIdentity", "GetOpenIDConnectProvider"}},
		{"known account, no provider", "123456789012", false, []string{"GetCallerIdentity", "GetOpenIDConnectProvider"}},
		{"unknown account, provider exists", "", true, []string{"GetCallerIdentity", "GetOpenIDConnectProvider", "ListOpenIDConnectProviders"}},
		{"unknown account, no provider", "", false, []string{"GetCallerIdentity", "ListOpenIDConnectProviders"}},
		{"wrong guess", "210987654321", true, []string{"GetCallerIdentity", "GetOpenIDConnectProvider", "GetOpenIDConnectProvider", "ListOpenIDConnectProviders"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWS()
			if tt.exists {
				f.providers[testProviderARN] = &fakeProvider{url: "https://oidc.circleci.com/org/" + testOrg, clientIDs: []string{testOrg}}
			}
			c := f.clients()
			c.Account = tt.account
			id, p, err := ObserveProvider(t.Context(), c, "us-east-1", testOrg)
			if err != nil {
				t.Fatal(err)
			}
			if id.Account != "123456789012" || (p != nil) != tt.exists || (p != nil && p.ARN != testProviderARN) {
				t.Errorf("account %s, provider %+v, want 123456789012 and exists %v", id.Account, p, tt.exists)
			}
			calls := slices.Sorted(slices.Values(f.calls))
			if !slices.Equal(calls, tt.wantRead) {
				t.Errorf("calls %v, want %v", calls, tt.wantRead)
			}
		})
	}
}

// TestObserveAfterAWrongGuess: when the credentials name another account
// than the caller's, IAM refuses the guessed read, and Observe finds the
// provider by listing, so that a converged account plans no change.
func TestObserveAfterAWrongGuess(t *testing.T) {
	f := converged(t)
	c := f.clients()
	c.Account = "210987654321"
	spec := mustSpec(t, validSpec())
	obs, err := Observe(t.Context(), c, spec)
	if err != nil {
		t.Fatal(err)
	}
	if obs.Provider == nil || obs.Provider.ARN != testProviderARN {
		t.Fatalf("provider %+v, want %s", obs.Provider, testProviderARN)
	}
	p, err := NewPlan(spec, obs)
	if err != nil {
		t.Fatal(err)
	}
	if p.HasChanges() {
		t.Errorf("a converged account plans changes after a wrong guess: %+v", p.Changes)
	}
}
